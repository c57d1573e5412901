"""Segment rules in Python: aggregates, in_segment, dependencies and errors naming the part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flows.segments import (
    Dependencies,
    SegmentRule,
    SegmentRuleError,
    evaluate_segment,
    parse_segment_rule,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
BILL = {"id": "c-1", "email": "bill@example.com", "attributes": {"country": "IT", "age": 30},
        "consent": {"sms": "opted_in"}, "preferences": {"newsletter": "email"},
        "timezone": "Europe/Rome"}


def ago(days: float, name: str = "purchased", **properties: Any) -> dict[str, Any]:
    return {"name": name, "at": NOW - timedelta(days=days), "properties": properties}


def check(rule: Any, contact: dict[str, Any] = BILL, events: list[Any] | None = None,
          segments: Any = None) -> bool:
    return evaluate_segment(parse_segment_rule(rule), contact, events or [], NOW, segments)


def test_contact_fields_read_like_segment_filter_rules() -> None:
    assert check({"==": [{"var": "contact.attributes.country"}, "IT"]})
    assert check({"==": [{"var": "contact.consent.sms"}, "opted_in"]})
    assert check({"in": ["example", {"var": "contact.email"}]})
    assert check({"==": [{"var": "contact.preferences.newsletter"}, "email"]})
    assert not check({"missing": ["contact.timezone"]})
    assert check({"missing": ["contact.phone"]})
    assert check({"<": [18, {"var": "contact.attributes.age"}, 65]})


def test_event_count_with_window_and_property_filter() -> None:
    events = [ago(1, total=60), ago(30, total=80), ago(89, total=51), ago(91, total=99),
              ago(2, total=10), ago(3, "viewed", total=100), ago(-1, total=100)]
    rule = {"event_count": {"name": "purchased", "days": 90,
                            "where": {">": [{"var": "properties.total"}, 50]}}}
    assert check({"==": [rule, 3]}, events=events)  # not: older than 90 days, 10, viewed, future
    assert check({"==": [{"event_count": {"name": "purchased"}}, 5]}, events=events)


def test_window_edges() -> None:
    exactly = [ago(21, "email_opened")]
    assert check({"==": [{"event_count": {"name": "email_opened", "days": 21}}, 1]},
                 events=exactly)
    just_outside = [{**exactly[0], "at": exactly[0]["at"] - timedelta(microseconds=1)}]
    assert check({"==": [{"event_count": {"name": "email_opened", "days": 21}}, 0]},
                 events=just_outside)


def test_days_since_and_last_event() -> None:
    events = [ago(3.5, "email_opened"), ago(10, "email_opened")]
    assert check({"==": [{"days_since_event": {"name": "email_opened"}}, 3]}, events=events)
    assert check({"==": [{"days_since_event": {"name": "email_clicked"}}, None]}, events=events)
    assert check({"==": [{"last_event_at": {"name": "email_opened"}}, "2026-02-26T00:00:00Z"]},
                 events=events)
    assert check({"!": {"last_event_at": {"name": "email_clicked"}}}, events=events)


def test_a_failing_rule_or_filter_does_not_match() -> None:
    weird = {**BILL, "attributes": {"age": "abc"}}
    assert not check({">": [{"var": "contact.attributes.age"}, 3]}, contact=weird)
    assert not check({"!": {">": [{"var": "contact.attributes.age"}, 3]}}, contact=weird)
    events = [ago(1, total="abc"), ago(1, total=60)]
    assert check({"==": [{"event_count": {"name": "purchased",
                                          "where": {">": [{"var": "properties.total"}, 50]}}},
                         1]}, events=events)


def test_in_segment_resolves_and_detects_cycles() -> None:
    rules = {"italians": parse_segment_rule({"==": [{"var": "contact.attributes.country"},
                                                    "IT"]}),
             "a": parse_segment_rule({"in_segment": "b"}),
             "b": parse_segment_rule({"in_segment": "a"})}

    def resolve(key: str) -> SegmentRule:
        if key not in rules:
            raise LookupError(f"segment {key!r} is not defined")
        return rules[key]

    assert check({"in_segment": "italians"}, segments=resolve)
    assert not check({"!": {"in_segment": "italians"}}, segments=resolve)
    with pytest.raises(SegmentRuleError, match="cycle: a -> b -> a"):
        check({"in_segment": "a"}, segments=resolve)
    with pytest.raises(LookupError, match="'nope'"):
        check({"in_segment": "nope"}, segments=resolve)
    with pytest.raises(LookupError, match="'italians'"):
        check({"in_segment": "italians"})


def test_dependencies() -> None:
    rule = parse_segment_rule({"and": [
        {"==": [{"var": "contact.attributes.country"}, "IT"]},
        {">=": [{"event_count": {"name": "purchased", "days": 90}}, 3]},
        {"in_segment": "vip"}]})
    assert rule.dependencies == Dependencies(True, frozenset({"purchased"}),
                                             frozenset({"vip"}), True)
    timeless = parse_segment_rule({">": [{"event_count": {"name": "signed_up"}}, 0]})
    assert timeless.dependencies == Dependencies(False, frozenset({"signed_up"}), frozenset(),
                                                 False)
    assert parse_segment_rule({"==": [{"days_since_event": {"name": "x"}}, 3]}
                              ).dependencies.time_based


@pytest.mark.parametrize(("rule", "message"), [
    ({"and": [True, {"event_count": {"name": "x", "days": 0}}]},
     "at /and/1/event_count: 'days' must be a positive whole number, not 0"),
    ({"event_count": {"name": ""}}, "at /event_count: 'name' must be the event name"),
    ({"event_count": "purchased"}, "at /event_count: give an object"),
    ({"days_since_event": {"name": "x", "days": 3}}, "at /days_since_event: unknown key 'days'"),
    ({"event_count": {"name": "x", "where": {"nope": []}}},
     "at /event_count/where: unknown operator 'nope'"),
    ({"in_segment": 3}, "at /in_segment: give a segment key"),
    ({"==": [{"var": "event.name"}, "x"]}, "at /==/0/var: a segment rule reads the contact only"),
    ({"or": [{"foo": 1}]}, "unknown operator 'foo' at /or/0"),
])
def test_bad_rules_are_refused_naming_the_part(rule: Any, message: str) -> None:
    with pytest.raises(SegmentRuleError) as caught:
        parse_segment_rule(rule)
    assert message in str(caught.value)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate_segment(parse_segment_rule(True), BILL, [], datetime(2026, 1, 1))
