"""The compiler: every problem names its node or edge and says what is wrong; valid plans."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from flows.catalogue import Catalogue, ConfigCheck, NodeKind, Program, StepContext
from flows.compiler import Plan, compile_flow, content_hash
from flows.contacts import Event
from flows.document import decode_document
from flows.outcomes import Go, Outcome, TriggerSpec
from flows.problems import FlowProblems, Problem
from flows.simulator import simulate
from nodes import CATALOGUE

KNOWN_TYPES = (
    "trigger", "segment_filter", "channel_choice", "wait", "send", "split", "update_contact", "exit"
)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def for_node(problems: list[Problem], node_id: str) -> list[Problem]:
    return [p for p in problems if p.node == node_id]


def for_edge(problems: list[Problem], described: str) -> list[Problem]:
    return [p for p in problems if p.edge == described]


def loop_members(problem: Problem) -> set[str]:
    """The node ids a loop problem names, as "a -> b -> a" or as "a, b, c"."""
    prefix, suffix = "These nodes form a loop: ", ". Flows cannot loop back"
    assert problem.message.startswith(prefix), problem.message
    named = problem.message.removeprefix(prefix).partition(suffix)[0]
    return set(re.split(r" -> |, ", named))


# --- documents that are not flow documents ---------------------------------------------------


def test_unknown_format(kit: Any) -> None:
    problem = only(kit.problems(kit.doc([kit.trigger()], [], format="castflow.flow/9")))
    assert "Unknown format 'castflow.flow/9'" in problem.message
    assert "castflow.flow/1" in problem.message
    assert problem.node is None and problem.edge is None


def test_malformed_json(kit: Any) -> None:
    problem = only(kit.problems('{"format": "castflow.flow/1", "name": "x", "nodes": ['))
    assert "not valid JSON" in problem.message


# --- nodes ---------------------------------------------------------------------------------


def test_unknown_node_type_suggests_the_closest_type(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("s", "sned")], [kit.edge("t", "s")])
    problem = only(kit.problems(doc))
    assert problem.node == "s"
    assert "unknown node type 'sned'" in problem.message
    assert "Did you mean 'send'?" in problem.message
    for known in KNOWN_TYPES:
        assert known in problem.message


def test_unknown_node_type_without_a_close_match_lists_the_known_types(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("q", "quantum_entangle")], [kit.edge("t", "q")])
    problem = only(kit.problems(doc))
    assert problem.node == "q"
    assert "Did you mean" not in problem.message
    assert "Known types: trigger" in problem.message


@pytest.mark.parametrize(
    ("config", "mentions"),
    [
        pytest.param({"for": 5}, ["for", "str", "int"], id="wrong-type"),
        pytest.param({"fro": "P1D"}, ["unknown field", "fro"], id="unknown-key"),
        pytest.param({"until": {"time": "09:00", "weekdays": ["funday"]}}, ["funday", "weekdays"],
                     id="bad-enum"),
    ],
)
def test_config_that_does_not_match_its_schema(
    kit: Any, config: dict[str, Any], mentions: list[str]
) -> None:
    doc = kit.doc([kit.trigger(), {"id": "w", "type": "wait", "config": config}],
                  [kit.edge("t", "w")])
    problem = only(kit.problems(doc))
    assert problem.node == "w"
    assert problem.message.startswith("settings of this Wait:")
    for word in mentions:
        assert word in problem.message
    assert "$" not in problem.message  # no JSON-path jargon
    assert "`" not in problem.message


def test_an_unknown_weekday_lists_the_weekdays(kit: Any) -> None:
    config = {"until": {"time": "09:00", "weekdays": ["funday"]}}
    doc = kit.doc([kit.trigger(), {"id": "w", "type": "wait", "config": config}],
                  [kit.edge("t", "w")])
    problem = only(kit.problems(doc))
    assert problem.node == "w"
    assert "Invalid enum value 'funday' (at until.weekdays[0])." in problem.message
    assert "Choose one of: fri, mon, sat, sun, thu, tue, wed." in problem.message


def test_config_missing_a_required_field(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("s", "send", content={"sms": {"text": "x"}})],
                  [kit.edge("t", "s")])
    problem = only(kit.problems(doc))
    assert problem.node == "s"
    assert "missing required field 'channel'" in problem.message


def test_config_out_of_range(kit: Any) -> None:
    variants = [{"name": "a", "weight": -1}, {"name": "b", "weight": 1}]
    doc = kit.doc([kit.trigger(), kit.node("ab", "split", variants=variants)],
                  [kit.edge("t", "ab")])
    problem = only(kit.problems(doc))
    assert problem.node == "ab"
    assert "weight" in problem.message
    assert ">= 0" in problem.message


@pytest.mark.parametrize(
    ("config", "given"),
    [
        pytest.param({"for": "P1D", "until": {"time": "09:00"}}, "'for' and 'until'",
                     id="for+until"),
        pytest.param({"for": "P1D", "event": "clicked", "timeout": "P1D"}, "'for' and 'event'",
                     id="for+event"),
        pytest.param({"until": {"time": "09:00"}, "event": "clicked", "timeout": "P1D"},
                     "'until' and 'event'", id="until+event"),
        pytest.param({"for": "P1D", "until": {"time": "09:00"}, "event": "clicked",
                      "timeout": "P1D"}, "'for' and 'until' and 'event'", id="all-three"),
        pytest.param({}, "none", id="none"),
    ],
)
def test_wait_needs_exactly_one_of_for_until_event(
    kit: Any, config: dict[str, Any], given: str
) -> None:
    doc = kit.doc([kit.trigger(), {"id": "w", "type": "wait", "config": config}],
                  [kit.edge("t", "w")])
    problem = only(kit.problems(doc))
    assert problem.node == "w"
    assert "exactly one of 'for', 'until' or 'event'" in problem.message
    assert f"(given: {given})" in problem.message


def test_unknown_channel_in_channel_choice(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("pick", "channel_choice", channels=["email", "fax"])],
                  [kit.edge("t", "pick")])
    problem = only(kit.problems(doc))
    assert problem.node == "pick"
    assert "Invalid enum value 'fax' (at channels[1])." in problem.message
    assert problem.message.endswith(" Choose one of: chat, email, push, sms, voice.")


def test_unknown_channel_in_send(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("s", "send", channel="fax", content={"sms": {"text": "hi"}})],
        [kit.edge("t", "s")],
    )
    problem = only(kit.problems(doc))
    assert problem.node == "s"
    assert "Invalid enum value 'fax' (at channel)." in problem.message
    assert problem.message.endswith(" Choose one of: chat, email, push, sms, voice, chosen.")


def test_unknown_channel_in_send_content(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("s", "send", channel="sms",
                                 content={"sms": {"text": "hi"}, "fax": {"text": "hi"}})],
        [kit.edge("t", "s")],
    )
    problem = only(kit.problems(doc))
    assert problem.node == "s"
    assert "'fax'" in problem.message
    assert "content" in problem.message


def test_template_that_does_not_parse(kit: Any) -> None:
    content = {"sms": {"text": "Hi {{ contact.attributes.first_name "}}
    doc = kit.doc([kit.trigger(), kit.node("s", "send", channel="sms", content=content)],
                  [kit.edge("t", "s")])
    problem = only(kit.problems(doc))
    assert problem.node == "s"
    assert "content.sms.text" in problem.message
    assert "the template does not parse (line 1)" in problem.message


def test_template_that_does_not_parse_in_update_contact(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("u", "update_contact", set={"tier": "{% if %}"})],
                  [kit.edge("t", "u")])
    problem = only(kit.problems(doc))
    assert problem.node == "u"
    assert "set.tier" in problem.message
    assert "does not parse" in problem.message


def test_jsonlogic_rule_with_an_unknown_operator(kit: Any) -> None:
    rule = {"and": [{"==": [1, 1]}, {"regex_match": [{"var": "contact.email"}, ".*"]}]}
    doc = kit.doc([kit.trigger(), kit.node("gate", "segment_filter", rule=rule)],
                  [kit.edge("t", "gate")])
    problem = only(kit.problems(doc))
    assert problem.node == "gate"
    assert problem.message.startswith("rule:")
    assert "unknown operator 'regex_match'" in problem.message


def test_jsonlogic_rule_with_an_unknown_operator_in_a_trigger_where(kit: Any) -> None:
    doc = kit.doc([kit.node("t", "trigger", on="event", event="e", where={"like": [1, 2]})], [])
    problem = only(kit.problems(doc))
    assert problem.node == "t"
    assert "where:" in problem.message
    assert "unknown operator 'like'" in problem.message


@pytest.mark.parametrize(
    ("config", "field", "text"),
    [
        pytest.param({"for": "one day"}, "for", "one day", id="for"),
        pytest.param({"for": "P1H"}, "for", "P1H", id="hours-without-T"),
        pytest.param({"event": "clicked", "timeout": "soon"}, "timeout", "soon", id="timeout"),
    ],
)
def test_iso_duration_that_does_not_parse(
    kit: Any, config: dict[str, Any], field: str, text: str
) -> None:
    doc = kit.doc([kit.trigger(), {"id": "w", "type": "wait", "config": config}],
                  [kit.edge("t", "w")])
    problem = only(kit.problems(doc))
    assert problem.node == "w"
    assert problem.message.startswith(f"{field}: '{text}' is not an ISO 8601 duration")
    assert "P1D" in problem.message  # an example of what works


def test_duplicate_node_ids(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("x", "exit"), kit.node("x", "exit")],
                  [kit.edge("t", "x")])
    problem = only(kit.problems(doc))
    assert problem.node == "x"
    assert "two nodes share this id" in problem.message


def test_empty_node_id(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("", "exit")], [])
    problems = kit.problems(doc)
    assert any("empty id" in p.message for p in problems)


# --- edges ---------------------------------------------------------------------------------


def test_edge_from_a_port_the_node_does_not_have(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("gate", "segment_filter", rule=True), kit.node("s", "exit")],
        [kit.edge("t", "gate"), kit.edge("gate", "s", "maybe"), kit.edge("gate", "s", "yes")],
    )
    problem = only(kit.problems(doc))
    assert problem.edge == "gate.maybe -> s"
    assert problem.node is None
    assert "has no port 'maybe'" in problem.message
    assert "yes, no" in problem.message


def test_edge_from_a_port_that_depends_on_config(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("pick", "channel_choice", channels=["sms"]),
         kit.node("x", "exit")],
        [kit.edge("t", "pick"), kit.edge("pick", "x", "email"), kit.edge("pick", "x", "none")],
    )
    problem = only(kit.problems(doc))
    assert problem.edge == "pick.email -> x"
    assert "sms, none" in problem.message


def test_edge_from_a_node_without_outputs(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("bye", "exit"), kit.node("x", "exit")],
        [kit.edge("t", "bye"), kit.edge("bye", "x"), kit.edge("t", "x", "next")],
    )
    problems = kit.problems(doc)
    (problem,) = for_edge(problems, "bye -> x")
    assert problem.message == "'bye' (Exit) has no outputs: remove this edge."


def test_edge_from_a_port_of_a_node_without_outputs(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("bye", "exit"), kit.node("x", "exit")],
                  [kit.edge("t", "bye"), kit.edge("bye", "x", "next")])
    problem = only(kit.problems(doc))
    assert problem.edge == "bye.next -> x"
    assert problem.message == "'bye' (Exit) has no outputs: remove this edge."


def test_edge_to_a_node_that_does_not_exist(kit: Any) -> None:
    doc = kit.doc([kit.trigger()], [kit.edge("t", "ghost")])
    problem = only(kit.problems(doc))
    assert problem.edge == "t -> ghost"
    assert "it leads to 'ghost', which is not a node" in problem.message


def test_edge_from_a_node_that_does_not_exist(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("x", "exit")],
                  [kit.edge("t", "x"), kit.edge("ghost", "x", "next")])
    problem = only(kit.problems(doc))
    assert problem.edge == "ghost.next -> x"
    assert "it starts at 'ghost', which is not a node" in problem.message


def test_edge_into_a_trigger(kit: Any) -> None:
    doc = kit.doc([kit.trigger("t"), kit.trigger("t2")], [kit.edge("t", "t2")])
    problem = only(kit.problems(doc))
    assert problem.edge == "t -> t2"
    assert "leads into a trigger" in problem.message


def test_edge_without_port_from_a_multi_port_node(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("gate", "segment_filter", rule=True), kit.node("s", "exit"),
         kit.node("n", "exit")],
        [kit.edge("t", "gate"), kit.edge("gate", "s"), kit.edge("gate", "n", "no")],
    )
    problems = kit.problems(doc)
    (problem,) = for_edge(problems, "gate -> s")
    assert "say which port it leaves from: one of yes, no" in problem.message


def test_edge_without_port_from_a_single_port_node_is_fine(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("x", "exit")], [kit.edge("t", "x")])
    plan = compile_flow(json.dumps(doc), CATALOGUE)
    assert dict(plan.nodes["t"].next) == {"next": "x"}


def test_two_edges_from_one_port(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("a", "exit"), kit.node("b", "exit")],
        [kit.edge("t", "a"), kit.edge("t", "b", "next"), kit.edge("a", "b", "x")],
    )
    problems = kit.problems(doc)
    (problem,) = for_edge(problems, "t.next -> b")
    assert "port 'next' of 't' already leads to 'a'" in problem.message
    assert "one node only" in problem.message


# --- the graph -----------------------------------------------------------------------------


def test_cycle_names_all_its_nodes(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("a", "wait", for_="P1D"), kit.node("b", "wait", for_="P1D"),
         kit.node("c", "wait", for_="P1D")],
        [kit.edge("t", "a"), kit.edge("a", "b"), kit.edge("b", "c"), kit.edge("c", "a")],
    )
    problem = only(kit.problems(doc))
    assert problem.node in {"a", "b", "c"}
    assert "These nodes form a loop: a -> b -> c -> a." in problem.message
    assert "remove one of its edges" in problem.message


def test_self_loop(kit: Any) -> None:
    doc = kit.doc([kit.trigger(), kit.node("a", "wait", for_="P1D")],
                  [kit.edge("t", "a"), kit.edge("a", "a")])
    problem = only(kit.problems(doc))
    assert problem.node == "a"
    assert "a -> a" in problem.message


def test_two_separate_cycles_are_both_reported(kit: Any) -> None:
    gate = kit.node("g", "segment_filter", rule=True)
    doc = kit.doc(
        [kit.trigger(), gate, kit.node("a", "wait", for_="P1D"), kit.node("b", "wait", for_="P1D"),
         kit.node("c", "wait", for_="P1D"), kit.node("d", "wait", for_="P1D")],
        [kit.edge("t", "g"), kit.edge("g", "a", "yes"), kit.edge("a", "b"), kit.edge("b", "a"),
         kit.edge("g", "c", "no"), kit.edge("c", "d"), kit.edge("d", "c")],
    )
    loops = [p.message for p in kit.problems(doc) if "loop" in p.message]
    assert len(loops) == 2
    assert any("a -> b -> a" in m for m in loops)
    assert any("c -> d -> c" in m for m in loops)


def loops_through_a_b_c(kit: Any) -> dict[str, Any]:
    # Two loops, a -> b -> a and a -> b -> c -> a: one group of three nodes.
    doc: dict[str, Any] = kit.doc(
        [kit.trigger(), kit.node("a", "wait", for_="P1D"),
         kit.node("b", "segment_filter", rule=True), kit.node("c", "wait", for_="P1D")],
        [kit.edge("t", "a"), kit.edge("a", "b"), kit.edge("b", "a", "yes"),
         kit.edge("b", "c", "no"), kit.edge("c", "a")],
    )
    return doc


def test_every_node_on_a_loop_is_named(kit: Any) -> None:
    problem = only(kit.problems(loops_through_a_b_c(kit)))
    assert problem.node in {"a", "b", "c"}
    assert loop_members(problem) == {"a", "b", "c"}
    assert "remove one of its edges" in problem.message


def test_a_loop_through_every_member_of_a_group_is_named_as_a_path(kit: Any) -> None:
    problem = only(kit.problems(loops_through_a_b_c(kit)))
    assert "These nodes form a loop: a -> b -> c -> a." in problem.message


def test_loops_with_no_single_path_through_all_their_nodes_are_listed(kit: Any) -> None:
    # b and c each loop back to g, but no one loop passes through b, c and g.
    doc = kit.doc(
        [kit.trigger(), kit.node("g", "segment_filter", rule=True),
         kit.node("b", "wait", for_="P1D"), kit.node("c", "wait", for_="P1D")],
        [kit.edge("t", "g"), kit.edge("g", "b", "yes"), kit.edge("b", "g"),
         kit.edge("g", "c", "no"), kit.edge("c", "g")],
    )
    problem = only(kit.problems(doc))
    assert problem.node in {"b", "c", "g"}
    assert "These nodes form a loop: b, c, g." in problem.message
    assert "remove one of its edges" in problem.message


def test_node_no_trigger_reaches(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("x", "exit"), kit.node("orphan", "wait", for_="P1D"),
         kit.node("after", "exit")],
        [kit.edge("t", "x"), kit.edge("orphan", "after")],
    )
    problems = kit.problems(doc)
    assert {p.node for p in problems} == {"orphan", "after"}
    for problem in problems:
        assert "no trigger leads here" in problem.message


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"id": "w", "type": "wiat", "config": {"for": "P1D"}}, id="unknown-type"),
        pytest.param({"id": "w", "type": "wait", "config": {"for": 1}}, id="bad-config"),
    ],
)
def test_a_broken_node_does_not_disconnect_the_nodes_after_it(
    kit: Any, broken: dict[str, Any]
) -> None:
    doc = kit.doc([kit.trigger(), broken, kit.node("x", "exit")],
                  [kit.edge("t", "w"), kit.edge("w", "x")])
    problem = only(kit.problems(doc))
    assert problem.node == "w"
    assert "no trigger leads here" not in problem.message


def test_an_edge_with_a_bad_port_still_connects_the_nodes_after_it(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("gate", "segment_filter", rule=True), kit.node("x", "exit")],
        [kit.edge("t", "gate"), kit.edge("gate", "x", "maybe")],
    )
    problem = only(kit.problems(doc))
    assert problem.edge == "gate.maybe -> x"
    assert "has no port 'maybe'" in problem.message


def test_no_trigger_at_all(kit: Any) -> None:
    doc = kit.doc([kit.node("w", "wait", for_="P1D"), kit.node("x", "exit")], [kit.edge("w", "x")])
    problem = only(kit.problems(doc))
    assert problem.node is None and problem.edge is None
    assert "The flow has no trigger" in problem.message
    assert "Trigger node" in problem.message


def test_no_nodes_at_all(kit: Any) -> None:
    problem = only(kit.problems(kit.doc([], [])))
    assert "no nodes" in problem.message


def test_bad_timezone_in_settings(kit: Any) -> None:
    doc = kit.doc([kit.trigger()], [], settings={"timezone": "Mars/Olympus_Mons"})
    problem = only(kit.problems(doc))
    assert problem.message.startswith("settings.timezone:")
    assert "unknown time zone 'Mars/Olympus_Mons'" in problem.message


def test_a_document_with_many_problems_reports_all_of_them(kit: Any) -> None:
    nodes = [
        kit.trigger(),
        kit.node("gate", "segment_filter", rule={"regex": ["a", "b"]}),
        kit.node("pick", "channel_choice", channels=["pigeon"]),
        kit.node("typo", "sned"),
        kit.node("w2", "wait", for_="P1D", until={"time": "09:00"}),
        kit.node("w3", "wait", for_="tomorrow"),
        kit.node("s", "send", channel="sms", content={"sms": {"text": "{{ oops"}}),
        kit.node("lonely", "exit"),
        kit.node("dup", "exit"),
        kit.node("dup", "exit"),
        kit.node("loop1", "wait", for_="PT1H"),
        kit.node("loop2", "wait", for_="PT1H"),
        kit.node("f", "segment_filter", rule=True),
    ]
    edges = [
        kit.edge("t", "f"),
        kit.edge("f", "gate", "yes"),
        kit.edge("f", "ghost", "no"),
        kit.edge("gate", "pick", "maybe"),
        kit.edge("w2", "w3"),
        kit.edge("w3", "s"),
        kit.edge("loop1", "loop2"),
        kit.edge("loop2", "loop1"),
    ]
    problems = kit.problems(kit.doc(nodes, edges, settings={"timezone": "Atlantis/Capital"}))
    text = "\n".join(str(p) for p in problems)

    assert for_node(problems, "gate") and "unknown operator 'regex'" in text
    assert for_node(problems, "pick") and "'pigeon'" in text
    assert any("unknown node type 'sned'" in p.message for p in for_node(problems, "typo"))
    assert any("exactly one of" in p.message for p in for_node(problems, "w2"))
    assert any("'tomorrow'" in p.message for p in for_node(problems, "w3"))
    assert any("does not parse" in p.message for p in for_node(problems, "s"))
    assert any("no trigger leads here" in p.message for p in for_node(problems, "lonely"))
    assert any("share this id" in p.message for p in for_node(problems, "dup"))
    assert any("loop" in p.message for p in problems if p.node in {"loop1", "loop2"})
    assert for_edge(problems, "f.no -> ghost")
    assert for_edge(problems, "gate.maybe -> pick")
    assert any("Atlantis/Capital" in p.message for p in problems)
    # Every problem names a node, an edge, or is about the whole flow (settings).
    for problem in problems:
        assert problem.node or problem.edge or problem.message.startswith("settings.")


def test_flow_problems_read_well_as_text(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger(), kit.node("gate", "segment_filter", rule=True), kit.node("s", "exit")],
        [kit.edge("t", "gate"), kit.edge("gate", "s", "maybe")],
    )
    with pytest.raises(FlowProblems) as caught:
        compile_flow(json.dumps(doc), CATALOGUE)
    assert str(caught.value).startswith("edge gate.maybe -> s: 'gate' has no port 'maybe'")
    assert str(Problem("m", node="n")) == "node 'n': m"
    assert str(Problem("whole flow")) == "whole flow"


def test_unknown_keys_in_nodes_and_edges_name_them_and_are_all_reported(kit: Any) -> None:
    nodes = [kit.trigger(), {**kit.node("x", "exit"), "colour": "red"}]
    edges = [{**kit.edge("t", "x"), "weight": 2}]
    problems = kit.problems(kit.doc(nodes, edges))
    assert problems == [
        Problem("Object contains unknown field 'colour'.", node="x"),
        Problem("Object contains unknown field 'weight'.", edge="t -> x"),
    ]


# --- valid plans ----------------------------------------------------------------------------


@pytest.fixture
def plan(kit: Any) -> Plan:
    return compile_flow(json.dumps(kit.welcome()), CATALOGUE)


def test_plan_exposes_nodes_ports_and_routes(plan: Plan) -> None:
    assert list(plan.nodes) == ["start", "italian", "pick", "later", "hello"]
    assert plan.nodes["start"].ports == ("next",)
    assert plan.nodes["italian"].ports == ("yes", "no")
    assert plan.nodes["pick"].ports == ("push", "sms", "email", "none")
    assert plan.nodes["later"].ports == ("next",)
    assert plan.nodes["hello"].ports == ("sent", "failed")
    assert dict(plan.nodes["start"].next) == {"next": "italian"}
    assert dict(plan.nodes["italian"].next) == {"yes": "pick"}
    assert dict(plan.nodes["pick"].next) == {"sms": "later"}
    assert dict(plan.nodes["hello"].next) == {}
    assert plan.nodes["pick"].kind.type == "channel_choice"
    assert plan.nodes["later"].id == "later"


def test_plan_exposes_triggers(plan: Plan) -> None:
    assert plan.triggers == ("start",)
    assert plan.triggers_on("signed_up") == ("start",)
    assert plan.triggers_on("purchased") == ()
    assert plan.awaited_events() == frozenset({"signed_up"})
    spec = plan.trigger_spec("start")
    assert (spec.on, spec.event) == ("event", "signed_up")
    assert plan.entry == "once"
    assert plan.timezone.key == "UTC"


def test_plan_with_several_triggers_and_an_event_wait(kit: Any) -> None:
    doc = kit.doc(
        [kit.trigger("a", "signed_up"), kit.trigger("b", "signed_up"),
         kit.node("api", "trigger", on="api"),
         kit.node("w", "wait", event="clicked", timeout="P2D"), kit.node("x", "exit")],
        [kit.edge("a", "w"), kit.edge("b", "w"), kit.edge("api", "x"),
         kit.edge("w", "x", "timeout")],
        settings={"entry": "always", "timezone": "Europe/Rome"},
    )
    plan = compile_flow(json.dumps(doc), CATALOGUE)
    assert plan.triggers == ("a", "b", "api")
    assert plan.triggers_on("signed_up") == ("a", "b")
    assert plan.nodes["w"].ports == ("event", "timeout")
    assert dict(plan.nodes["w"].next) == {"timeout": "x"}
    assert plan.entry == "always"
    assert plan.timezone.key == "Europe/Rome"


def test_plan_is_read_only(plan: Plan) -> None:
    with pytest.raises(TypeError):
        plan.nodes["x"] = plan.nodes["start"]  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.nodes["start"].next["none"] = "x"  # type: ignore[index]


def test_compile_accepts_a_document_object_text_or_bytes(kit: Any) -> None:
    text = json.dumps(kit.welcome())
    by_text = compile_flow(text, CATALOGUE)
    by_bytes = compile_flow(text.encode(), CATALOGUE)
    by_document = compile_flow(decode_document(text), CATALOGUE)
    assert by_text.content_hash == by_bytes.content_hash == by_document.content_hash
    assert by_text.document == by_document.document


def hash_of(raw: dict[str, Any]) -> str:
    return compile_flow(json.dumps(raw), CATALOGUE).content_hash


def test_content_hash_ignores_positions_labels_and_names(kit: Any) -> None:
    raw = kit.welcome()
    before = hash_of(raw)
    assert len(before) == 64 and int(before, 16) >= 0
    for n in raw["nodes"]:
        n["position"] = {"x": 999, "y": -5}
        n["label"] = "moved"
    raw["nodes"][0].pop("position")
    raw["name"] = "Renamed"
    raw["description"] = "Something else"
    raw["nodes"].reverse()
    raw["edges"].reverse()
    raw["nodes"][1]["config"] = dict(reversed(list(raw["nodes"][1]["config"].items())))
    assert hash_of(raw) == before
    assert content_hash(decode_document(json.dumps(raw))) == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["nodes"][3]["config"].update({"for": "P2D"}), id="wait-config"),
        pytest.param(lambda d: d["nodes"][2]["config"]["channels"].reverse(), id="channel-order"),
        pytest.param(
            lambda d: d["nodes"][4]["config"]["content"]["sms"].update({"text": "Ciao!"}),
            id="template",
        ),
        pytest.param(lambda d: d["edges"][2].update({"port": "email"}), id="edge-port"),
        pytest.param(lambda d: d["settings"].update({"entry": "always"}), id="settings-entry"),
        pytest.param(
            lambda d: d["settings"].update({"timezone": "Europe/Rome"}), id="settings-timezone"
        ),
        pytest.param(
            lambda d: (d["nodes"].append({"id": "bye", "type": "exit", "config": {}}),
                       d["edges"].append({"from": "italian", "port": "no", "to": "bye"})),
            id="new-node",
        ),
    ],
)
def test_content_hash_changes_when_behaviour_changes(kit: Any, change: Any) -> None:
    raw = kit.welcome()
    before = hash_of(raw)
    change(raw)
    assert hash_of(raw) != before


# --- the compiler does not depend on nodes/ ----------------------------------------------------


class BeepConfig(msgspec.Struct, forbid_unknown_fields=True):
    loud: bool = False


class StartConfig(msgspec.Struct, forbid_unknown_fields=True):
    event: str


class StartProgram(Program):
    def __init__(self, event: str) -> None:
        self.trigger: TriggerSpec | None = TriggerSpec(on="event", event=event)

    def step(self, ctx: StepContext) -> Outcome:
        return Go("next")


class BeepProgram(Program):
    def __init__(self, loud: bool) -> None:
        self.loud = loud

    def step(self, ctx: StepContext) -> Outcome:
        return Go("loud" if self.loud else "quiet")


def build_start(config: StartConfig, check: ConfigCheck) -> StartProgram:
    if not config.event:
        check.problem("name the event.")
    return StartProgram(config.event)


def build_beep(config: BeepConfig, check: ConfigCheck) -> BeepProgram:
    return BeepProgram(config.loud)


FAKE = Catalogue([
    NodeKind(type="start", label="Start", description="fake trigger", config=StartConfig,
             ports=lambda config: ("next",), build=build_start, is_trigger=True),
    NodeKind(type="beep", label="Beep", description="fake step", config=BeepConfig,
             ports=lambda config: ("loud", "quiet"), build=build_beep),
])


def test_compile_with_a_fake_catalogue(kit: Any) -> None:
    doc = kit.doc(
        [kit.node("s", "start", event="go"), kit.node("b1", "beep"),
         kit.node("b2", "beep", loud=True)],
        [kit.edge("s", "b1"), kit.edge("b1", "b2", "quiet")],
    )
    plan = compile_flow(json.dumps(doc), FAKE)
    assert plan.triggers == ("s",)
    assert plan.triggers_on("go") == ("s",)
    assert plan.nodes["b1"].ports == ("loud", "quiet")
    assert dict(plan.nodes["b1"].next) == {"quiet": "b2"}

    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    report = simulate(plan, [{"id": "c"}], [Event(contact="c", name="go", at=start)],
                      start, start + timedelta(days=1))
    (run,) = report.runs
    assert [(e.node, e.port) for e in run.path] == [("s", "next"), ("b1", "quiet"), ("b2", "loud")]
    assert run.status == "completed"


def test_fake_catalogue_problems(kit: Any) -> None:
    doc = kit.doc(
        [kit.node("s", "start", event=""), kit.node("t", "trigger", on="event", event="x"),
         kit.node("b", "beep", volume=11)],
        [kit.edge("s", "b")],
    )
    with pytest.raises(FlowProblems) as caught:
        compile_flow(json.dumps(doc), FAKE)
    problems = caught.value.problems
    # ("t" is also unreachable: with this catalogue it is not a trigger.)
    assert [p.node for p in problems][:3] == ["s", "t", "b"]
    assert problems[0].message == "name the event."
    assert "Known types: start, beep." in problems[1].message
    assert "settings of this Beep" in problems[2].message and "volume" in problems[2].message


def test_flows_imports_neither_nodes_nor_backend() -> None:
    code = (
        "import sys\n"
        "import flows.document, flows.compiler, flows.interpreter, flows.simulator\n"
        "import flows.catalogue, flows.problems\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('nodes', 'backend'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == ""
