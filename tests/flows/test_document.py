"""The flow document (castflow.flow/1): strict decoding, defaults and lossless export/import."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from flows.document import (
    FORMAT,
    DocumentError,
    Edge,
    FlowDocument,
    Node,
    Position,
    Settings,
    decode_document,
    document_from_builtins,
    encode_document,
    to_builtins,
)
from flows.problems import Problem

MINIMAL: dict[str, Any] = {
    "format": FORMAT,
    "name": "Minimal",
    "nodes": [{"id": "t", "type": "trigger", "config": {"on": "event", "event": "signed_up"}}],
    "edges": [],
}


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(MINIMAL)), **changes}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in MINIMAL.items() if k != key}


def decode_problems(value: Any) -> list[Problem]:
    text = value if isinstance(value, (str, bytes)) else json.dumps(value)
    with pytest.raises(DocumentError) as caught:
        decode_document(text)
    problems = caught.value.problems
    assert problems, "DocumentError raised without any problem"
    assert str(caught.value) == "\n".join(str(p) for p in problems)
    return problems


def decode_error(value: Any) -> str:
    return "\n".join(str(p) for p in decode_problems(value))


# --- defaults ------------------------------------------------------------------------------


def test_minimal_document_gets_the_documented_defaults() -> None:
    document = decode_document(json.dumps(MINIMAL))
    assert document.format == FORMAT
    assert document.description == ""
    assert document.settings == Settings(entry="once", timezone="UTC")
    assert document.settings.entry == "once"
    assert document.settings.timezone == "UTC"
    (only,) = document.nodes
    assert only.position is None
    assert only.label is None
    assert only.config == {"on": "event", "event": "signed_up"}


def test_partial_settings_keep_the_other_default() -> None:
    document = decode_document(json.dumps(with_changes(settings={"entry": "always"})))
    assert document.settings == Settings(entry="always", timezone="UTC")
    document = decode_document(json.dumps(with_changes(settings={"timezone": "Europe/Rome"})))
    assert document.settings == Settings(entry="once", timezone="Europe/Rome")


@pytest.mark.parametrize("entry", ["once", "single_active", "always"])
def test_every_entry_rule_is_accepted(entry: str) -> None:
    document = decode_document(json.dumps(with_changes(settings={"entry": entry})))
    assert document.settings.entry == entry


def test_edge_port_is_optional() -> None:
    document = decode_document(json.dumps(with_changes(edges=[{"from": "t", "to": "x"}])))
    assert document.edges == [Edge(from_="t", to="x", port=None)]


# --- the `from` key of edges ------------------------------------------------------------------


def test_edges_are_written_with_a_from_key() -> None:
    raw = with_changes(edges=[{"from": "gate", "port": "maybe", "to": "s"}])
    document = decode_document(json.dumps(raw))
    (only,) = document.edges
    assert (only.from_, only.port, only.to) == ("gate", "maybe", "s")
    exported = json.loads(encode_document(document))
    assert exported["edges"] == [{"from": "gate", "port": "maybe", "to": "s"}]
    assert b"from_" not in encode_document(document)


def test_the_python_attribute_name_from_underscore_is_not_a_document_key() -> None:
    message = decode_error(with_changes(edges=[{"from_": "t", "to": "x"}]))
    assert "unknown field 'from_'" in message


def test_edge_describes_itself_as_users_see_it() -> None:
    assert Edge(from_="gate", to="s", port="maybe").describe() == "gate.maybe -> s"
    assert Edge(from_="start", to="pick").describe() == "start -> pick"


# --- strict decoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            with_changes(colour="red"),
            Problem("The document: Object contains unknown field 'colour'."),
            id="top-level",
        ),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "colour": "red"}]),
            Problem("Object contains unknown field 'colour'.", node="t"),
            id="node",
        ),
        pytest.param(
            with_changes(edges=[{"from": "t", "to": "x", "colour": "red"}]),
            Problem("Object contains unknown field 'colour'.", edge="t -> x"),
            id="edge",
        ),
        pytest.param(
            with_changes(settings={"entry": "once", "colour": "red"}),
            Problem("The document: Object contains unknown field 'colour' (at settings)."),
            id="settings",
        ),
        pytest.param(
            with_changes(
                nodes=[{**MINIMAL["nodes"][0], "position": {"x": 1, "y": 2, "colour": 3}}]
            ),
            Problem("Object contains unknown field 'colour' (at position).", node="t"),
            id="position",
        ),
    ],
)
def test_unknown_keys_are_problems_not_dropped(raw: dict[str, Any], expected: Problem) -> None:
    # One problem, naming the node or edge by its id and the key, located within it.
    assert decode_problems(raw) == [expected]


@pytest.mark.parametrize(
    ("raw", "mentions"),
    [
        pytest.param(with_changes(name=5), ["name", "str", "int"], id="name-int"),
        pytest.param(with_changes(description=["x"]), ["description"], id="description-list"),
        pytest.param(with_changes(nodes={"t": {}}), ["nodes", "array"], id="nodes-object"),
        pytest.param(with_changes(edges="t -> x"), ["edges", "array"], id="edges-string"),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "id": 7}]),
            ["Node number 1: ", "(at id)", "'str'", "'int'"],
            id="node-id",
        ),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "config": ["on", "event"]}]),
            ["node 't': ", "(at config)", "'object'"],
            id="config-list",
        ),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "position": {"x": "1", "y": 2}}]),
            ["node 't': ", "(at position.x)"],
            id="position-x-string",
        ),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "label": 3}]),
            ["node 't': ", "(at label)"],
            id="label-int",
        ),
        pytest.param(
            with_changes(edges=[{"from": "t", "to": "x", "port": 1}]),
            ["edge t -> x: ", "(at port)"],
            id="port-int",
        ),
        pytest.param(
            with_changes(settings={"entry": "sometimes"}), ["sometimes", "entry"], id="entry-enum"
        ),
        pytest.param(with_changes(settings={"timezone": 1}), ["timezone"], id="timezone-int"),
        pytest.param(with_changes(settings="once"), ["settings", "object"], id="settings-string"),
        pytest.param(with_changes(format=1), ["format"], id="format-int"),
    ],
)
def test_wrong_types_are_problems(raw: dict[str, Any], mentions: list[str]) -> None:
    (problem,) = decode_problems(raw)
    message = str(problem)
    for word in mentions:
        assert word in message
    assert "$" not in message and "`" not in message  # no JSON-path or msgspec jargon


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(without("name"), "The document: Object missing required field 'name'.",
                     id="name"),
        pytest.param(without("nodes"), "The document: Object missing required field 'nodes'.",
                     id="nodes"),
        pytest.param(without("edges"), "The document: Object missing required field 'edges'.",
                     id="edges"),
        # Without an id a node can only be named by its position (counted from 1).
        pytest.param(
            with_changes(nodes=[MINIMAL["nodes"][0], {"type": "trigger", "config": {}}]),
            "Node number 2: Object missing required field 'id'.", id="node-id",
        ),
        pytest.param(
            with_changes(nodes=[{"id": "t", "config": {}}]),
            "node 't': Object missing required field 'type'.", id="node-type",
        ),
        pytest.param(
            with_changes(nodes=[{"id": "t", "type": "trigger"}]),
            "node 't': Object missing required field 'config'.", id="node-config",
        ),
        # Without both ends an edge can only be named by its position.
        pytest.param(
            with_changes(edges=[{"from": "t", "to": "x"}, {"to": "x"}]),
            "Edge number 2: Object missing required field 'from'.", id="edge-from",
        ),
        pytest.param(
            with_changes(edges=[{"from": "t"}]),
            "Edge number 1: Object missing required field 'to'.", id="edge-to",
        ),
        pytest.param(
            with_changes(nodes=[{**MINIMAL["nodes"][0], "position": {"x": 1}}]),
            "node 't': Object missing required field 'y' (at position).", id="position-y",
        ),
    ],
)
def test_missing_required_fields_are_problems(raw: dict[str, Any], expected: str) -> None:
    (problem,) = decode_problems(raw)
    assert str(problem) == expected


def test_a_missing_format_is_a_problem_naming_the_format_to_use() -> None:
    (problem,) = decode_problems(without("format"))
    assert problem.message.startswith("'format' is missing")
    assert f'"format": "{FORMAT}"' in problem.message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"format": "castflow.flow/1", "name": ', id="truncated"),
        pytest.param("", id="empty"),
        pytest.param("   \n", id="blank"),
        pytest.param("{'format': 'castflow.flow/1'}", id="single-quotes"),
        pytest.param('{"format": "castflow.flow/1",}', id="trailing-comma"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
    ],
)
def test_bad_json_is_a_problem_saying_so(text: str | bytes) -> None:
    message = decode_error(text)
    assert "not valid JSON" in message


@pytest.mark.parametrize("text", ["[]", "null", '"castflow.flow/1"', "42"])
def test_a_json_value_that_is_not_an_object_is_a_problem(text: str) -> None:
    (problem,) = decode_problems(text)
    assert problem.message.startswith("A flow document is a JSON object")


@pytest.mark.parametrize("value", ["castflow.flow/2", "castflow.flow/0", "", "CASTFLOW.FLOW/1"])
def test_wrong_format_is_a_problem_naming_both_formats(value: str) -> None:
    message = decode_error(with_changes(format=value))
    assert "Unknown format" in message
    assert repr(value) in message
    assert FORMAT in message


def test_wrong_format_is_reported_even_when_the_rest_is_not_v1() -> None:
    # What a future v2 export might look like: new keys that v1 does not know.
    raw = {"format": "castflow.flow/2", "name": "n", "steps": [], "links": []}
    (problem,) = decode_problems(raw)
    assert "Unknown format 'castflow.flow/2'" in problem.message
    assert FORMAT in problem.message
    assert "steps" not in problem.message


def test_every_broken_node_and_edge_is_reported_by_its_id() -> None:
    raw = with_changes(
        nodes=[
            MINIMAL["nodes"][0],
            {"id": "x", "type": "exit", "config": {}, "colour": "red"},
            {"id": 3, "type": "exit", "config": {}},
            {"id": "w", "type": "wait", "config": [1]},
            {"id": "fine", "type": "exit", "config": {}},
        ],
        edges=[
            {"from": "t", "to": "x", "weight": 2},
            {"from": "t", "port": "next", "to": "w", "weight": 2},
            {"from": "t"},
            {"from": "x", "to": "fine"},
        ],
    )
    problems = decode_problems(raw)
    assert [(p.node, p.edge) for p in problems] == [
        ("x", None), (None, None), ("w", None),
        (None, "t -> x"), (None, "t.next -> w"), (None, None),
    ]
    colour, number_3, config, weight, port_weight, edge_3 = problems
    assert colour.message == "Object contains unknown field 'colour'."
    assert number_3.message == "Node number 3: Expected 'str', got 'int' (at id)."
    assert config.message == "Expected 'object', got 'array' (at config)."
    assert weight.message == port_weight.message == "Object contains unknown field 'weight'."
    assert edge_3.message == "Edge number 3: Object missing required field 'to'."


def test_builtins_go_through_the_same_strict_decoding() -> None:
    assert document_from_builtins(MINIMAL) == decode_document(json.dumps(MINIMAL))
    with pytest.raises(DocumentError, match="colour"):
        document_from_builtins(with_changes(colour="red"))


# --- export and import -----------------------------------------------------------------------


def test_export_then_import_gives_an_equal_document(kit: Any) -> None:
    original = decode_document(json.dumps(kit.welcome()))
    exported = encode_document(original)
    again = decode_document(exported)
    assert again == original
    assert encode_document(again) == exported


def test_export_keeps_every_field(kit: Any) -> None:
    raw = kit.welcome()
    raw["settings"] = {"entry": "single_active", "timezone": "Europe/Rome"}
    document = decode_document(json.dumps(raw))
    exported = json.loads(encode_document(document))
    assert exported["format"] == FORMAT
    assert exported["name"] == raw["name"]
    assert exported["description"] == raw["description"]
    assert exported["settings"] == raw["settings"]
    by_id = {n["id"]: n for n in exported["nodes"]}
    assert [n["id"] for n in exported["nodes"]] == [n["id"] for n in raw["nodes"]]
    assert by_id["italian"]["label"] == "Italians only"
    assert by_id["later"]["position"] == {"x": 0, "y": 360}
    assert by_id["hello"]["config"] == raw["nodes"][4]["config"]
    assert exported["edges"] == raw["edges"]


def test_export_of_a_minimal_document_reimports_with_the_same_defaults() -> None:
    document = decode_document(json.dumps(MINIMAL))
    again = decode_document(encode_document(document))
    assert again == document
    assert again.description == ""
    assert again.settings == Settings()


def test_explicit_defaults_and_omitted_defaults_give_equal_documents() -> None:
    explicit = with_changes(description="", settings={"entry": "once", "timezone": "UTC"})
    assert decode_document(json.dumps(explicit)) == decode_document(json.dumps(MINIMAL))


def test_export_is_pretty_deterministic_json_ending_in_a_newline(kit: Any) -> None:
    raw = kit.welcome()
    document = decode_document(json.dumps(raw))
    exported = encode_document(document)
    assert exported.endswith(b"\n")
    assert b'\n  "name": "Welcome series"' in exported
    # Config key order in the input does not change the export.
    raw["nodes"][2]["config"] = dict(reversed(list(raw["nodes"][2]["config"].items())))
    assert encode_document(decode_document(json.dumps(raw))) == exported


def test_round_trip_keeps_unicode_and_odd_config_values() -> None:
    raw = with_changes(
        name="Benvenuti à tutti 🎉",
        description="Line one\nline \"two\"",
        nodes=[
            {"id": "t", "type": "trigger", "label": "Départ",
             "position": {"x": -12.5, "y": 1e6},
             "config": {"on": "event", "event": "signed_up",
                        "where": {"in": [{"var": "event.properties.tier"}, ["gold", None, 1.5]]}}},
        ],
    )
    document = decode_document(json.dumps(raw))
    assert document.nodes[0].position == Position(x=-12.5, y=1e6)
    again = decode_document(encode_document(document))
    assert again == document
    assert encode_document(again) == encode_document(document)


def test_to_builtins_and_back_is_lossless(kit: Any) -> None:
    document = decode_document(json.dumps(kit.welcome()))
    plain = to_builtins(document)
    assert plain["edges"][1] == {"from": "italian", "port": "yes", "to": "pick"}
    assert document_from_builtins(plain) == document


def test_documents_are_immutable_values() -> None:
    document = decode_document(json.dumps(MINIMAL))
    with pytest.raises(AttributeError):
        document.name = "changed"  # type: ignore[misc]
    assert isinstance(document, FlowDocument)
    assert isinstance(document.nodes[0], Node)
    assert hash(Edge(from_="a", to="b")) == hash(Edge(from_="a", to="b"))


def test_decoding_errors_are_document_errors_not_msgspec_errors() -> None:
    # The caller (CLI, API) only needs to handle DocumentError.
    assert issubclass(DocumentError, ValueError)
    with pytest.raises(DocumentError) as caught:
        decode_document("{")
    assert not isinstance(caught.value, msgspec.MsgspecError)
    assert caught.value.__cause__ is None
