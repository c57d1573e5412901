"""trigger: how contacts enter (event, segment_entered, segment_exited, schedule, api)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from flows.outcomes import Go, TriggerSpec
from nodes.trigger import KIND

IT_RULE = {"==": [{"var": "contact.attributes.country"}, "IT"]}
BIG_ORDER = {">": [{"var": "event.properties.total"}, 100]}


def test_kind_is_a_trigger_with_one_port(ports_of):
    assert KIND.is_trigger
    assert ports_of(KIND, {"on": "api"}) == ("next",)
    assert KIND.describe()["ports"] == ["next"]
    assert KIND.describe()["is_trigger"] is True


@pytest.mark.parametrize(
    "config",
    [
        {"on": "event", "event": "signed_up"},
        {"on": "event", "event": "purchased", "where": BIG_ORDER},
        {"on": "segment_entered", "segment": "vip"},
        {"on": "segment_entered", "segment": "vip", "include_current": True},
        {"on": "segment_exited", "segment": "vip"},
        {"on": "schedule", "at": "2026-01-01T09:00:00Z"},
        {"on": "schedule", "at": "2026-01-01T10:00:00+01:00", "segment": "vip"},
        {"on": "schedule", "cron": "0 9 * * mon", "rule": IT_RULE},
        {"on": "api"},
    ],
)
def test_valid_configs_have_no_problems_and_step_goes_next(build_node, make_ctx, config):
    program = build_node(KIND, config)
    assert program.step(make_ctx()) == Go("next")


# --- trigger spec ------------------------------------------------------------------------------


def test_spec_event(build_node):
    program = build_node(KIND, {"on": "event", "event": "signed_up", "where": BIG_ORDER})
    assert program.trigger == TriggerSpec(on="event", event="signed_up")


def test_spec_segment_entered(build_node):
    program = build_node(KIND, {"on": "segment_entered", "segment": "vip",
                                "include_current": True})
    assert program.trigger == TriggerSpec(on="segment_entered", segment="vip",
                                          include_current=True)


def test_spec_segment_exited(build_node):
    program = build_node(KIND, {"on": "segment_exited", "segment": "vip"})
    assert program.trigger == TriggerSpec(on="segment_exited", segment="vip")


def test_spec_schedule_at_is_parsed_to_utc(build_node):
    program = build_node(KIND, {"on": "schedule", "at": "2026-01-01T10:00:00+01:00",
                                "segment": "vip"})
    spec = program.trigger
    assert spec == TriggerSpec(on="schedule", segment="vip",
                               at=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    assert spec.at.utcoffset().total_seconds() == 0


def test_spec_schedule_cron(build_node):
    program = build_node(KIND, {"on": "schedule", "cron": "0 9 * * mon", "rule": IT_RULE})
    assert program.trigger == TriggerSpec(on="schedule", cron="0 9 * * mon")


def test_spec_api(build_node):
    assert build_node(KIND, {"on": "api"}).trigger == TriggerSpec(on="api")


# --- required fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", [{"on": "event"}, {"on": "event", "event": ""}])
def test_event_trigger_needs_an_event_name(config_problems, config):
    assert config_problems(KIND, config) == [
        "say which event starts the flow ('event', e.g. \"signed_up\")."
    ]


@pytest.mark.parametrize("on", ["segment_entered", "segment_exited"])
@pytest.mark.parametrize("segment", [None, ""])
def test_segment_triggers_need_a_segment(config_problems, on, segment):
    config = {"on": on} if segment is None else {"on": on, "segment": segment}
    assert config_problems(KIND, config) == ["say which segment ('segment', a segment key)."]


@pytest.mark.parametrize(
    "config",
    [
        {"on": "schedule"},
        {"on": "schedule", "at": "2026-01-01T09:00:00Z", "cron": "0 9 * * *"},
    ],
)
def test_schedule_needs_exactly_one_of_at_or_cron(config_problems, config):
    assert config_problems(KIND, config) == [
        "a schedule needs exactly one of 'at' (a date and time) or 'cron'."
    ]


def test_schedule_audience_by_segment_or_rule_not_both(config_problems):
    config = {"on": "schedule", "cron": "0 9 * * *", "segment": "vip", "rule": IT_RULE}
    assert config_problems(KIND, config) == [
        "choose the audience by 'segment' or by 'rule', not both."
    ]


@pytest.mark.parametrize("cron", ["bogus", "61 * * * *", "0 9 * *", "0 25 * * *", ""])
def test_bad_cron_is_a_problem(config_problems, cron):
    assert config_problems(KIND, {"on": "schedule", "cron": cron}) == [
        f"cron: {cron!r} is not a cron expression "
        "(five fields: minute hour day-of-month month weekday, e.g. \"0 9 * * mon\")."
    ]


@pytest.mark.parametrize("cron", ["* * * * * *", "0 9 * * mon 0", "* * * * * * *"])
def test_cron_with_more_than_five_fields_is_a_problem(config_problems, cron):
    problems = config_problems(KIND, {"on": "schedule", "cron": cron})
    assert len(problems) == 1
    assert problems[0].startswith("cron: ")


@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("tomorrow", "is not an ISO 8601 date and time"),
        ("2026-13-01T09:00:00Z", "is not an ISO 8601 date and time"),
        ("2026-01-01T09:00:00", "has no time zone"),
    ],
)
def test_bad_instant_is_a_problem(config_problems, at, words):
    problems = config_problems(KIND, {"on": "schedule", "at": at})
    assert len(problems) == 1
    assert problems[0].startswith("at: ")
    assert words in problems[0]


def test_bad_where_rule_is_a_problem(config_problems):
    assert config_problems(KIND, {"on": "event", "event": "x", "where": {"nope": [1]}}) == [
        "where: unknown operator 'nope' at the top of the rule"
    ]


def test_bad_audience_rule_is_a_problem(config_problems):
    assert config_problems(KIND, {"on": "schedule", "cron": "0 9 * * *",
                                  "rule": {"nope": [1]}}) == [
        "rule: unknown operator 'nope' at the top of the rule"
    ]


# --- forbidden fields --------------------------------------------------------------------------

VALUES = {
    "event": "signed_up",
    "where": BIG_ORDER,
    "segment": "vip",
    "at": "2026-01-01T09:00:00Z",
    "cron": "0 9 * * *",
    "rule": IT_RULE,
}
BASE = {
    "event": {"on": "event", "event": "signed_up"},
    "segment_entered": {"on": "segment_entered", "segment": "vip"},
    "segment_exited": {"on": "segment_exited", "segment": "vip"},
    "schedule": {"on": "schedule", "cron": "0 9 * * *"},
    "api": {"on": "api"},
}
FORBIDDEN = [
    ("event", "segment"), ("event", "at"), ("event", "cron"), ("event", "rule"),
    ("segment_entered", "event"), ("segment_entered", "where"), ("segment_entered", "at"),
    ("segment_entered", "cron"), ("segment_entered", "rule"),
    ("segment_exited", "event"), ("segment_exited", "where"), ("segment_exited", "at"),
    ("segment_exited", "cron"), ("segment_exited", "rule"),
    ("schedule", "event"), ("schedule", "where"),
    ("api", "event"), ("api", "where"), ("api", "segment"), ("api", "at"), ("api", "cron"),
    ("api", "rule"),
]


@pytest.mark.parametrize(("on", "field"), FORBIDDEN)
def test_a_field_that_does_not_apply_is_a_problem(config_problems, on, field):
    config = {**BASE[on], field: VALUES[field]}
    assert f"'{field}' does not apply to a trigger on '{on}'; remove it." in config_problems(
        KIND, config
    )


@pytest.mark.parametrize("on", ["event", "segment_exited", "schedule", "api"])
def test_include_current_only_applies_to_segment_entered(config_problems, on):
    config = {**BASE[on], "include_current": True}
    assert config_problems(KIND, config) == [
        f"'include_current' does not apply to a trigger on '{on}'."
    ]


@pytest.mark.parametrize(
    "config",
    [{}, {"on": "webhook"}, {"on": "api", "colour": "red"}, {"on": "event", "event": 5}],
)
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


# --- accepts -----------------------------------------------------------------------------------


def test_event_trigger_accepts_honours_where(build_node, make_ctx):
    program = build_node(KIND, {"on": "event", "event": "purchased", "where": BIG_ORDER})
    assert program.accepts(make_ctx(event={"name": "purchased", "properties": {"total": 150}}))
    assert not program.accepts(make_ctx(event={"name": "purchased", "properties": {"total": 5}}))


def test_event_where_sees_contact_and_vars(build_node, make_ctx):
    where = {"and": [IT_RULE, {"==": [{"var": "event.properties.plan"}, "pro"]}]}
    program = build_node(KIND, {"on": "event", "event": "upgraded", "where": where})
    event = {"name": "upgraded", "properties": {"plan": "pro"}}
    assert program.accepts(make_ctx({"id": "c", "attributes": {"country": "IT"}}, event=event))
    assert not program.accepts(make_ctx({"id": "c", "attributes": {"country": "FR"}},
                                        event=event))


def test_event_trigger_without_where_accepts_everything(build_node, make_ctx):
    program = build_node(KIND, {"on": "event", "event": "purchased"})
    assert program.accepts(make_ctx(event={"name": "purchased", "properties": {}}))


def test_schedule_rule_is_the_audience(build_node, make_ctx):
    program = build_node(KIND, {"on": "schedule", "cron": "0 9 * * *", "rule": IT_RULE})
    assert program.accepts(make_ctx({"id": "c", "attributes": {"country": "IT"}}))
    assert not program.accepts(make_ctx({"id": "c", "attributes": {"country": "FR"}}))
    assert not program.accepts(make_ctx({"id": "c"}))


@pytest.mark.parametrize(
    "config",
    [
        {"on": "schedule", "cron": "0 9 * * *"},
        {"on": "schedule", "at": "2026-01-01T09:00:00Z", "segment": "vip"},
        {"on": "segment_entered", "segment": "vip"},
        {"on": "api"},
    ],
)
def test_triggers_without_a_rule_accept_everyone(build_node, make_ctx, config):
    assert build_node(KIND, config).accepts(make_ctx({"id": "anyone"}))
