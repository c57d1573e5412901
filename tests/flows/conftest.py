"""Shared fixtures for the flow-language tests (document, compiler, properties, CLI).

Helpers are handed out as fixtures rather than imported: several test folders have a
`conftest.py`, so `from conftest import ...` could pick up the wrong one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.compiler import compile_flow
from flows.document import FORMAT
from flows.problems import FlowProblems, Problem
from nodes import CATALOGUE

Doc = dict[str, Any]

# The example from DESIGN.md, plus labels: a valid flow using positions, labels and settings.
WELCOME: Doc = {
    "format": FORMAT,
    "name": "Welcome series",
    "description": "Greets new sign-ups on their preferred channel",
    "settings": {"entry": "once", "timezone": "UTC"},
    "nodes": [
        {"id": "start", "type": "trigger", "position": {"x": 0, "y": 0},
         "config": {"on": "event", "event": "signed_up"}},
        {"id": "italian", "type": "segment_filter", "position": {"x": 0, "y": 120},
         "label": "Italians only",
         "config": {"rule": {"==": [{"var": "contact.attributes.country"}, "IT"]}}},
        {"id": "pick", "type": "channel_choice", "position": {"x": 0, "y": 240},
         "config": {"topic": "onboarding", "channels": ["push", "sms", "email"]}},
        {"id": "later", "type": "wait", "position": {"x": 0, "y": 360}, "config": {"for": "P1D"}},
        {"id": "hello", "type": "send", "position": {"x": 0, "y": 480},
         "config": {"channel": "chosen", "topic": "onboarding",
                    "content": {
                        "sms": {"text": "Ciao {{ contact.attributes.first_name }}!"},
                        "email": {"subject": "Benvenuto",
                                  "text": "Ciao {{ contact.attributes.first_name }}!"},
                        "push": {"title": "Benvenuto", "body": "Ciao!"}}}},
    ],
    "edges": [
        {"from": "start", "to": "italian"},
        {"from": "italian", "port": "yes", "to": "pick"},
        {"from": "pick", "port": "sms", "to": "later"},
        {"from": "later", "to": "hello"},
    ],
}


def build_doc(nodes: list[Doc], edges: list[Doc], **top: Any) -> Doc:
    """A flow document around `nodes` and `edges`; `top` adds or overrides top-level keys."""
    return {"format": FORMAT, "name": "Test flow", "nodes": nodes, "edges": edges, **top}


def node(node_id: str, node_type: str, **config: Any) -> Doc:
    """A node; `for_` stands for the `for` key (a Python keyword)."""
    if "for_" in config:
        config["for"] = config.pop("for_")
    return {"id": node_id, "type": node_type, "config": config}


def edge(source: str, target: str, port: str | None = None) -> Doc:
    result: Doc = {"from": source, "to": target}
    if port is not None:
        result["port"] = port
    return result


def trigger(node_id: str = "t", event: str = "signed_up") -> Doc:
    return node(node_id, "trigger", on="event", event=event)


def problems_of(source: Doc | str | bytes) -> list[Problem]:
    """The problems the compiler reports for `source` (fails the test if it compiles)."""
    text = source if isinstance(source, (str, bytes)) else json.dumps(source)
    with pytest.raises(FlowProblems) as caught:
        compile_flow(text, CATALOGUE)
    problems = caught.value.problems
    assert problems, "FlowProblems raised without any problem"
    return problems


class Kit:
    """The helpers above, as one fixture."""

    FORMAT = FORMAT
    doc = staticmethod(build_doc)
    node = staticmethod(node)
    edge = staticmethod(edge)
    trigger = staticmethod(trigger)
    problems = staticmethod(problems_of)

    @staticmethod
    def welcome() -> Doc:
        return copy.deepcopy(WELCOME)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under the test's temporary folder and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write
