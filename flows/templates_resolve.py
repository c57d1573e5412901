"""Send nodes that name a reusable template, resolved into the content they send.

A send node may say `"template": "welcome"` (a template's key) instead of writing `content`; for a
`chosen` channel it may name one template per channel: `"template": {"sms": "welcome_sms",
"email": "welcome_email"}`. Templates live in the database, and the flow language is pure, so the
compiler never looks them up: before compiling, the shell hands `inline_templates` a lookup (key ->
the template's current version), and gets back the document with each such node's `content`
written out from its templates and the `template` key gone.

Publishing stores that resolved document as the flow's version, so a run keeps the template
version that was current when the flow was published, whatever is edited later; publishing again
picks up the new versions. The draft keeps its `template` keys (export shows them as written).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from flows.problems import Problem

CHANNELS = ("email", "sms", "push", "voice", "chat")


class TemplateVersion(msgspec.Struct, frozen=True):
    """One version of a template: what a send node using it sends."""

    key: str
    version: int
    channel: str
    content: dict[str, str]  # field -> Jinja source, as a send node's content for the channel


TemplateLookup = Callable[[str], TemplateVersion | None]


@dataclass(frozen=True)
class Resolved:
    document: Any  # the document with templates written out (the input when nothing changed)
    problems: list[Problem] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)  # key -> version used


def template_keys(document: Any) -> set[str]:
    """Every template key the document's send nodes name (to load them in one query)."""
    keys: set[str] = set()
    for _, reference in _send_references(document):
        if isinstance(reference, str):
            keys.add(reference)
        elif isinstance(reference, dict):
            keys.update(value for value in reference.values() if isinstance(value, str))
    return keys


def lookup_from(templates: Mapping[str, TemplateVersion]) -> TemplateLookup:
    return templates.get


def inline_templates(document: Any, lookup: TemplateLookup) -> Resolved:
    """`document` (JSON data) with every send node's `template` replaced by its content.

    Problems name the node: an unknown key, a template of another channel than the node sends
    on, or a node with both `content` and `template`. A document that is not a flow document's
    shape is returned as it is: the compiler says what is wrong with it.
    """
    references = _send_references(document)
    if not references:
        return Resolved(document)
    problems: list[Problem] = []
    versions: dict[str, int] = {}
    nodes = list(document["nodes"])
    for index, reference in references:
        node = nodes[index]
        node_id = str(node.get("id", ""))
        config = node["config"]
        content = _content_for(node_id, config, reference, lookup, problems, versions)
        if content is None:
            continue
        resolved = {name: value for name, value in config.items() if name != "template"}
        resolved["content"] = content
        nodes[index] = {**node, "config": resolved}
    return Resolved({**document, "nodes": nodes}, problems, versions)


def _send_references(document: Any) -> list[tuple[int, Any]]:
    """(index, the `template` value) of each send node naming one."""
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        return []
    found = []
    for index, node in enumerate(document["nodes"]):
        if not isinstance(node, dict) or node.get("type") != "send":
            continue
        config = node.get("config")
        if isinstance(config, dict) and config.get("template") is not None:
            found.append((index, config["template"]))
    return found


def _content_for(
    node_id: str,
    config: dict[str, Any],
    reference: Any,
    lookup: TemplateLookup,
    problems: list[Problem],
    versions: dict[str, int],
) -> dict[str, dict[str, str]] | None:
    def problem(message: str) -> None:
        problems.append(Problem(message, node=node_id))

    if config.get("content") is not None:
        problem("write the message in 'content' or name a 'template', not both.")
        return None
    wanted: dict[str | None, Any]
    if isinstance(reference, str):
        wanted = {None: reference}
    elif isinstance(reference, dict) and reference:
        wanted = dict(reference)
    else:
        problem("'template' names a template by its key, e.g. \"welcome\", or one per channel, "
                "e.g. {\"sms\": \"welcome_sms\", \"email\": \"welcome_email\"}.")
        return None
    sends_on = config.get("channel")
    content: dict[str, dict[str, str]] = {}
    for channel, key in wanted.items():
        where = "template" if channel is None else f"template.{channel}"
        if channel is not None and channel not in CHANNELS:
            problem(f"{where}: {channel!r} is not a channel; use {', '.join(CHANNELS)}.")
            continue
        if not isinstance(key, str) or not key:
            problem(f"{where}: name a template by its key.")
            continue
        template = lookup(key)
        if template is None:
            problem(f"{where}: there is no template {key!r}; create it on the Templates page "
                    "or pick another.")
            continue
        if channel is not None and template.channel != channel:
            problem(f"{where}: template {key!r} is a {template.channel} template, not {channel}.")
            continue
        if sends_on not in (None, "chosen", template.channel):
            problem(f"{where}: template {key!r} is a {template.channel} template, but this node "
                    f"sends {sends_on}.")
            continue
        if template.channel in content:
            problem(f"{where}: two templates for {template.channel}; name one per channel.")
            continue
        content[template.channel] = dict(template.content)
        versions[key] = template.version
    return content if len(content) == len(wanted) else None
