"""Send nodes naming templates: resolved into content before compiling, with problems that
name the node."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from flows.compiler import compile_flow
from flows.templates_resolve import TemplateVersion, inline_templates, lookup_from, template_keys
from flows.templating import compile_template
from nodes import CATALOGUE

TEMPLATES = {
    "welcome_sms": TemplateVersion("welcome_sms", 3, "sms",
                                   {"text": "Ciao {{ contact.attributes.first_name }}!"}),
    "welcome_email": TemplateVersion("welcome_email", 1, "email",
                                     {"subject": "Benvenuto", "text": "Ciao!"}),
}
LOOKUP = lookup_from(TEMPLATES)


def flow(send_config: dict[str, Any]) -> dict[str, Any]:
    return {"format": "castflow.flow/1", "name": "f", "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "hello", "type": "send", "position": {"x": 0, "y": 0},
         "config": send_config},
    ], "edges": [{"from": "start", "to": "hello"}]}


def test_a_template_key_becomes_the_nodes_content() -> None:
    document = flow({"channel": "sms", "topic": "onboarding", "template": "welcome_sms"})
    before = copy.deepcopy(document)
    resolved = inline_templates(document, LOOKUP)
    assert resolved.problems == [] and resolved.versions == {"welcome_sms": 3}
    assert resolved.document["nodes"][1] == {
        "id": "hello", "type": "send", "position": {"x": 0, "y": 0},
        "config": {"channel": "sms", "topic": "onboarding",
                   "content": {"sms": {"text": "Ciao {{ contact.attributes.first_name }}!"}}}}
    assert document == before  # the draft is not changed
    plan = compile_flow(msgspec.json.encode(resolved.document), CATALOGUE)
    assert "hello" in plan.nodes


def test_one_template_per_channel_for_a_chosen_channel() -> None:
    document = flow({"channel": "chosen",
                     "template": {"sms": "welcome_sms", "email": "welcome_email"}})
    resolved = inline_templates(document, LOOKUP)
    assert resolved.problems == []
    assert resolved.document["nodes"][1]["config"]["content"] == {
        "sms": TEMPLATES["welcome_sms"].content, "email": TEMPLATES["welcome_email"].content}
    assert template_keys(document) == {"welcome_sms", "welcome_email"}


def test_documents_without_templates_are_returned_as_they_are() -> None:
    document = flow({"channel": "sms", "content": {"sms": {"text": "x"}}})
    assert inline_templates(document, LOOKUP).document is document
    for odd in (None, [], {"nodes": "x"}, {"nodes": [None, {"type": "send"}]}):
        assert inline_templates(odd, LOOKUP).document is odd
        assert template_keys(odd) == set()


def test_problems_name_the_node_and_say_what_to_do() -> None:
    cases = {
        "nope": "template: there is no template 'nope'; create it on the Templates page or "
                "pick another.",
    }
    for key, message in cases.items():
        resolved = inline_templates(flow({"channel": "sms", "template": key}), LOOKUP)
        assert [(p.node, p.message) for p in resolved.problems] == [("hello", message)]
    wrong_channel = inline_templates(flow({"channel": "email", "template": "welcome_sms"}),
                                     LOOKUP)
    assert wrong_channel.problems[0].message == (
        "template: template 'welcome_sms' is a sms template, but this node sends email.")
    both = inline_templates(flow({"channel": "sms", "template": "welcome_sms",
                                  "content": {"sms": {"text": "x"}}}), LOOKUP)
    assert "not both" in both.problems[0].message
    mislabelled = inline_templates(flow({"channel": "chosen",
                                         "template": {"email": "welcome_sms"}}), LOOKUP)
    assert mislabelled.problems[0].message == (
        "template.email: template 'welcome_sms' is a sms template, not email.")
    for bad in (5, {}, {"fax": "welcome_sms"}, {"sms": 3}):
        assert inline_templates(flow({"channel": "chosen", "template": bad}), LOOKUP).problems


def test_resolved_content_renders_like_written_content() -> None:
    resolved = inline_templates(flow({"channel": "sms", "template": "welcome_sms"}), LOOKUP)
    text = resolved.document["nodes"][1]["config"]["content"]["sms"]["text"]
    assert compile_template(text).render(
        {"contact": {"attributes": {"first_name": "Bill"}}}) == "Ciao Bill!"
