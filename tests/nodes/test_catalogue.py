"""The node catalogue: exactly the v1 kinds, with their labels and JSON schemas."""

from __future__ import annotations

import msgspec
import pytest

import nodes
from nodes import CATALOGUE

LABELS = {
    "trigger": "Trigger",
    "segment_filter": "Segment filter",
    "channel_choice": "Channel choice",
    "wait": "Wait",
    "send": "Send",
    "split": "Split",
    "update_contact": "Update contact",
    "exit": "Exit",
}


def test_catalogue_lists_exactly_the_v1_kinds_with_their_labels():
    assert CATALOGUE.types() == list(LABELS)
    assert len(CATALOGUE) == 8
    assert {kind.type: kind.label for kind in CATALOGUE} == LABELS
    assert nodes.__all__ == ["CATALOGUE"]


@pytest.mark.parametrize("type_name", list(LABELS))
def test_each_kind_describes_itself_with_a_json_schema(type_name):
    kind = CATALOGUE.get(type_name)
    assert kind is not None
    described = kind.describe()
    assert described["type"] == type_name
    assert described["label"] == LABELS[type_name]
    assert isinstance(described["description"], str) and described["description"]
    schema = msgspec.json.schema(kind.config)
    assert isinstance(schema, dict)
    assert described["schema"] == schema
    msgspec.json.encode(described)  # the whole description is JSON


def test_only_trigger_is_a_trigger():
    assert [kind.type for kind in CATALOGUE if kind.is_trigger] == ["trigger"]


def test_unknown_type_is_not_in_the_catalogue():
    assert CATALOGUE.get("webhook") is None
