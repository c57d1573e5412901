"""Dry runs with segment rules: filters, audiences and segment triggers evaluated against each
contact and its scripted events up to the virtual time."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.compiler import compile_flow
from flows.contacts import Event
from flows.segments import parse_segment_rule
from flows.simulator import simulate
from nodes import CATALOGUE

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
BUYERS = parse_segment_rule({">=": [{"event_count": {"name": "purchased", "days": 30}}, 2]})


def _flow(trigger: dict[str, Any], *more: dict[str, Any]) -> Any:
    nodes = [{"id": "start", "type": "trigger", "config": trigger}, *more]
    edges = [{"from": a["id"], "to": b["id"], **({"port": "yes"} if a["type"] ==
                                                  "segment_filter" else {})}
             for a, b in itertools.pairwise(nodes)]
    return compile_flow(json.dumps({"format": "castflow.flow/1", "name": "f", "nodes": nodes,
                                    "edges": edges}), CATALOGUE)


SEND = {"id": "hi", "type": "send",
        "config": {"channel": "sms", "content": {"sms": {"text": "Thanks!"}}}}
ANNA = {"id": "anna", "phone": "+393401234567"}


def _bought(day: int) -> Event:
    return Event("anna", "purchased", at=T0 + timedelta(days=day))


def test_an_entry_trigger_fires_when_the_second_purchase_arrives() -> None:
    plan = _flow({"on": "segment_entered", "segment": "buyers"}, SEND)
    report = simulate(plan, [ANNA], [_bought(1), _bought(3)], T0, T0 + timedelta(days=10),
                      segments={"buyers": BUYERS})
    [run] = report.runs
    assert run.path[0].at == T0 + timedelta(days=3)
    assert [m.content for m in run.messages] == [{"text": "Thanks!"}]


def test_an_exit_trigger_fires_when_a_purchase_leaves_the_window() -> None:
    plan = _flow({"on": "segment_exited", "segment": "buyers"}, SEND)
    report = simulate(plan, [ANNA], [_bought(1), _bought(3)], T0, T0 + timedelta(days=40),
                      segments={"buyers": BUYERS})
    [run] = report.runs
    # In from day 3; the day-1 purchase leaves the 30-day window just after day 31.
    assert run.path[0].at == T0 + timedelta(days=31, seconds=1)


def test_include_current_enters_members_at_the_start() -> None:
    plan = _flow({"on": "segment_entered", "segment": "buyers", "include_current": True}, SEND)
    history = [_bought(-5), _bought(-2)]
    report = simulate(plan, [ANNA], history, T0, T0 + timedelta(days=1),
                      segments={"buyers": BUYERS})
    assert [run.path[0].at for run in report.runs] == [T0]
    without = _flow({"on": "segment_entered", "segment": "buyers"}, SEND)
    assert simulate(without, [ANNA], history, T0, T0 + timedelta(days=1),
                    segments={"buyers": BUYERS}).runs == []


def test_a_segment_filter_sees_the_events_so_far() -> None:
    plan = _flow({"on": "event", "event": "visited"},
                 {"id": "gate", "type": "segment_filter", "config": {"segment": "buyers"}}, SEND)
    visits = [Event("anna", "visited", at=T0 + timedelta(days=d)) for d in (2, 5)]
    report = simulate(plan, [ANNA], [_bought(1), *visits, _bought(4)], T0,
                      T0 + timedelta(days=10), segments={"buyers": BUYERS})
    ports = [[(e.node, e.port) for e in run.path] for run in report.runs]
    assert ports == [[("start", "next"), ("gate", "no")]]  # entry "once": the first visit only
