"""wait: `for` a duration (calendar days keep local time), `until` a time of day, or an
`event` with a timeout (flat or nested form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from flows.outcomes import Await, Sleep
from nodes.wait import KIND


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ROME = {"id": "c-rome", "timezone": "Europe/Rome"}
NO_ZONE = {"id": "c-nozone"}
NEW_YORK = {"id": "c-ny", "timezone": "America/New_York"}

# Europe/Rome: CET (+01) -> CEST (+02) on 2026-03-29 at 02:00 local; back on 2026-10-25 at 03:00.
SAT_BEFORE_SPRING = utc(2026, 3, 28, 8, 0)  # 09:00 CET, Saturday
SAT_BEFORE_AUTUMN = utc(2026, 10, 24, 7, 0)  # 09:00 CEST, Saturday


# --- ports and config --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "ports"),
    [
        ({"for": "P1D"}, ("next",)),
        ({"until": {"time": "09:00"}}, ("next",)),
        ({"event": "purchased", "timeout": "PT24H"}, ("event", "timeout")),
        ({"event": {"name": "purchased", "timeout": "PT24H"}}, ("event", "timeout")),
    ],
)
def test_ports(ports_of, config, ports):
    assert ports_of(KIND, config) == ports


@pytest.mark.parametrize(
    "config",
    [
        {"for": "P1D"},
        {"for": "PT5S"},
        {"for": "P1W2DT3H"},
        {"until": {"time": "09:00"}},
        {"until": {"time": "9:05", "weekdays": ["mon", "fri"], "timezone": "contact"}},
        {"until": {"time": "23:59", "timezone": "America/New_York"}},
        {"event": "purchased", "timeout": "P1D"},
        {"event": "purchased", "timeout": "P1D", "where": {"==": [{"var": "event.name"}, "x"]}},
        {"event": {"name": "purchased", "timeout": "P1D", "where": {"!!": [1]}}},
    ],
)
def test_valid_configs_have_no_problems(config_problems, config):
    assert config_problems(KIND, config) == []


def test_none_of_for_until_event_is_a_problem(config_problems):
    assert config_problems(KIND, {}) == [
        "a wait needs exactly one of 'for', 'until' or 'event' (given: none)."
    ]


@pytest.mark.parametrize(
    ("config", "given"),
    [
        ({"for": "P1D", "until": {"time": "09:00"}}, "'for' and 'until'"),
        ({"for": "P1D", "event": "x", "timeout": "P1D"}, "'for' and 'event'"),
        ({"until": {"time": "09:00"}, "event": "x"}, "'until' and 'event'"),
        ({"for": "P1D", "until": {"time": "09:00"}, "event": "x"}, "'for' and 'until' and 'event'"),
    ],
)
def test_two_of_for_until_event_is_a_problem(config_problems, config, given):
    assert config_problems(KIND, config) == [
        f"a wait needs exactly one of 'for', 'until' or 'event' (given: {given})."
    ]


def test_event_wait_without_timeout_is_a_problem(config_problems):
    assert config_problems(KIND, {"event": "purchased"}) == [
        "a wait for an event needs a 'timeout' (how long to wait, e.g. \"P1D\")."
    ]


def test_nested_event_wait_without_timeout_is_rejected_by_the_schema():
    with pytest.raises(msgspec.ValidationError, match="timeout"):
        msgspec.convert({"event": {"name": "purchased"}}, KIND.config)


def test_event_wait_without_a_name_is_a_problem(config_problems):
    assert config_problems(KIND, {"event": "", "timeout": "P1D"}) == [
        "say which event to wait for."
    ]
    assert config_problems(KIND, {"event": {"name": "", "timeout": "P1D"}}) == [
        "say which event to wait for."
    ]


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"for": "1 day"}, "for", "is not an ISO 8601 duration"),
        ({"for": "P1H"}, "for", "hours, minutes and seconds go after a 'T'"),
        ({"for": "PT0S"}, "for", "must be longer than zero"),
        ({"for": "-P1D"}, "for", "negative durations are not allowed"),
        ({"for": "PT1.5H"}, "for", "only seconds may have a fraction"),
        ({"event": "x", "timeout": "soon"}, "timeout", "is not an ISO 8601 duration"),
        ({"event": {"name": "x", "timeout": "P"}}, "timeout", "is not an ISO 8601 duration"),
    ],
)
def test_bad_duration_is_a_problem_naming_the_field(config_problems, config, field, words):
    problems = config_problems(KIND, config)
    assert len(problems) == 1
    assert problems[0].startswith(f"{field}: ")
    assert words in problems[0]


@pytest.mark.parametrize(
    ("time", "words"),
    [
        ("9am", "is not a time of day"),
        ("24:00", "the hour must be 0 to 23"),
        ("09:60", "the minutes must be 00 to 59"),
        ("", "is not a time of day"),
    ],
)
def test_bad_time_of_day_is_a_problem(config_problems, time, words):
    problems = config_problems(KIND, {"until": {"time": time}})
    assert len(problems) == 1
    assert problems[0].startswith("until.time: ")
    assert words in problems[0]


def test_bad_zone_is_a_problem(config_problems):
    assert config_problems(KIND, {"until": {"time": "09:00", "timezone": "Mars/Olympus"}}) == [
        "until.timezone: unknown time zone 'Mars/Olympus'"
    ]


def test_empty_weekdays_is_a_problem(config_problems):
    assert config_problems(KIND, {"until": {"time": "09:00", "weekdays": []}}) == [
        "until.weekdays is empty: choose at least one day, or leave it out."
    ]


def test_unknown_weekday_is_rejected_by_the_schema():
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"until": {"time": "09:00", "weekdays": ["monday"]}}, KIND.config)


@pytest.mark.parametrize(
    "config",
    [
        {"for": "P1D", "timeout": "P1D"},
        {"for": "P1D", "where": {"!!": [1]}},
        {"until": {"time": "09:00"}, "timeout": "P1D"},
        {"until": {"time": "09:00"}, "where": {"!!": [1]}},
    ],
)
def test_timeout_or_where_without_event_is_a_problem(config_problems, config):
    assert config_problems(KIND, config) == [
        "'timeout' and 'where' only apply to a wait for an event."
    ]


def test_nested_event_with_flat_timeout_is_a_problem(config_problems):
    config = {"event": {"name": "x", "timeout": "P1D"}, "timeout": "P2D"}
    assert config_problems(KIND, config) == [
        "put 'timeout' and 'where' inside 'event', or all three side by side."
    ]


def test_bad_where_rule_is_a_problem(config_problems):
    problems = config_problems(KIND, {"event": "x", "timeout": "P1D", "where": {"nope": [1]}})
    assert problems == ["where: unknown operator 'nope' at the top of the rule"]


@pytest.mark.parametrize(
    "config",
    [{"for": 5}, {"wait": "P1D"}, {"until": {"time": "09:00", "zone": "UTC"}},
     {"event": {"name": "x", "timeout": "P1D", "extra": 1}}],
)
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


# --- for ---------------------------------------------------------------------------------------


def test_for_exact_duration(build_node, make_ctx):
    program = build_node(KIND, {"for": "PT2H30M5S"})
    now = utc(2026, 1, 5, 9, 0)
    assert program.step(make_ctx(ROME, now=now)) == Sleep(now + timedelta(hours=2, minutes=30,
                                                                          seconds=5))


def test_for_one_day_keeps_local_time_across_spring_forward(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1D"})
    outcome = program.step(make_ctx(ROME, now=SAT_BEFORE_SPRING))
    # 09:00 CET Saturday -> 09:00 CEST Sunday: 23 real hours.
    assert outcome == Sleep(utc(2026, 3, 29, 7, 0))
    assert outcome.until - SAT_BEFORE_SPRING == timedelta(hours=23)


def test_for_one_day_keeps_local_time_across_fall_back(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1D"})
    outcome = program.step(make_ctx(ROME, now=SAT_BEFORE_AUTUMN))
    # 09:00 CEST Saturday -> 09:00 CET Sunday: 25 real hours.
    assert outcome == Sleep(utc(2026, 10, 25, 8, 0))
    assert outcome.until - SAT_BEFORE_AUTUMN == timedelta(hours=25)


def test_for_one_week_keeps_local_time(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1W"})
    outcome = program.step(make_ctx(ROME, now=utc(2026, 3, 25, 8, 0)))  # Wed 09:00 CET
    assert outcome == Sleep(utc(2026, 4, 1, 7, 0))  # Wed 09:00 CEST


@pytest.mark.parametrize("now", [SAT_BEFORE_SPRING, SAT_BEFORE_AUTUMN])
def test_for_pt24h_is_exact_across_dst(build_node, make_ctx, now):
    program = build_node(KIND, {"for": "PT24H"})
    assert program.step(make_ctx(ROME, now=now)) == Sleep(now + timedelta(hours=24))


def test_for_days_and_hours_mix_calendar_and_exact(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1DT1H"})
    outcome = program.step(make_ctx(ROME, now=SAT_BEFORE_SPRING))
    assert outcome == Sleep(utc(2026, 3, 29, 8, 0))  # 09:00 CEST Sunday + 1 exact hour


def test_for_falls_back_to_the_flow_time_zone(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1D"})
    outcome = program.step(make_ctx(NO_ZONE, now=SAT_BEFORE_SPRING, timezone="Europe/Rome"))
    assert outcome == Sleep(utc(2026, 3, 29, 7, 0))
    # With a UTC flow, the same contact waits exactly 24 hours.
    outcome = program.step(make_ctx(NO_ZONE, now=SAT_BEFORE_SPRING, timezone="UTC"))
    assert outcome == Sleep(SAT_BEFORE_SPRING + timedelta(days=1))


def test_for_unknown_contact_zone_falls_back_to_the_flow_time_zone(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1D"})
    contact = {"id": "c", "timezone": "Nowhere/Special"}
    outcome = program.step(make_ctx(contact, now=SAT_BEFORE_AUTUMN, timezone="Europe/Rome"))
    assert outcome == Sleep(utc(2026, 10, 25, 8, 0))


def test_for_contact_zone_wins_over_the_flow_zone(build_node, make_ctx):
    program = build_node(KIND, {"for": "P1D"})
    outcome = program.step(make_ctx(ROME, now=SAT_BEFORE_SPRING, timezone="America/New_York"))
    assert outcome == Sleep(utc(2026, 3, 29, 7, 0))


# --- until -------------------------------------------------------------------------------------

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def test_until_later_today(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00"}})
    now = utc(2026, 1, 2, 7, 59)  # Friday 08:59 in Rome (CET)
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 1, 2, 8, 0))


def test_until_is_strictly_after_arrival(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00"}})
    now = utc(2026, 1, 2, 8, 0)  # exactly 09:00 in Rome
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 1, 3, 8, 0))


def test_until_weekdays_skip_the_weekend(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00", "weekdays": WEEKDAYS,
                                          "timezone": "contact"}})
    now = utc(2026, 1, 2, 9, 0)  # Friday 10:00 in Rome
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 1, 5, 8, 0))  # Monday


def test_until_on_one_weekday(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "18:30", "weekdays": ["wed"]}})
    now = utc(2026, 1, 7, 17, 31)  # Wednesday 18:31 in Rome: just missed it
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 1, 14, 17, 30))


def test_until_contact_zone_falls_back_to_the_flow_zone(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00"}})
    now = utc(2026, 1, 2, 0, 0)
    assert program.step(make_ctx(NO_ZONE, now=now, timezone="Europe/Rome")) == Sleep(
        utc(2026, 1, 2, 8, 0)
    )
    assert program.step(make_ctx(NO_ZONE, now=now, timezone="UTC")) == Sleep(
        utc(2026, 1, 2, 9, 0)
    )


def test_until_named_zone_ignores_the_contact_zone(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00", "timezone": "America/New_York"}})
    now = utc(2026, 1, 2, 0, 0)
    outcome = program.step(make_ctx(ROME, now=now, timezone="Asia/Tokyo"))
    assert outcome == Sleep(utc(2026, 1, 2, 14, 0))  # 09:00 EST


def test_until_across_spring_forward(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00"}})
    now = utc(2026, 3, 28, 20, 0)  # Saturday 21:00 CET
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 3, 29, 7, 0))  # 09:00 CEST


def test_until_across_fall_back(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "09:00"}})
    now = utc(2026, 10, 24, 19, 0)  # Saturday 21:00 CEST
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 10, 25, 8, 0))  # 09:00 CET


def test_until_a_time_in_the_spring_forward_gap_is_shifted_forward(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "02:30"}})
    now = utc(2026, 3, 28, 20, 0)
    # 02:30 does not exist in Rome on 2026-03-29: it fires at 03:30 CEST.
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 3, 29, 1, 30))


def test_until_a_repeated_time_fires_at_the_first_occurrence(build_node, make_ctx):
    program = build_node(KIND, {"until": {"time": "02:30"}})
    now = utc(2026, 10, 24, 20, 0)
    # 02:30 happens twice in Rome on 2026-10-25: first at 02:30 CEST (00:30Z).
    assert program.step(make_ctx(ROME, now=now)) == Sleep(utc(2026, 10, 25, 0, 30))


# --- event -------------------------------------------------------------------------------------

WHERE_BIG_ORDER: dict[str, Any] = {
    "and": [
        {">": [{"var": "event.properties.total"}, 100]},
        {"==": [{"var": "contact.attributes.country"}, "IT"]},
        {"==": [{"var": "vars.campaign"}, "spring"]},
    ]
}
FLAT = {"event": "purchased", "timeout": "PT24H", "where": WHERE_BIG_ORDER}
NESTED = {"event": {"name": "purchased", "timeout": "PT24H", "where": WHERE_BIG_ORDER}}


@pytest.mark.parametrize("config", [FLAT, NESTED], ids=["flat", "nested"])
def test_event_wait_awaits_until_now_plus_timeout(build_node, make_ctx, config):
    program = build_node(KIND, config)
    now = SAT_BEFORE_SPRING
    assert program.step(make_ctx(ROME, now=now)) == Await("purchased", now + timedelta(hours=24))


def test_event_wait_calendar_timeout_keeps_local_time(build_node, make_ctx):
    program = build_node(KIND, {"event": "purchased", "timeout": "P1D"})
    outcome = program.step(make_ctx(ROME, now=SAT_BEFORE_SPRING))
    assert outcome == Await("purchased", utc(2026, 3, 29, 7, 0))


@pytest.mark.parametrize("config", [FLAT, NESTED], ids=["flat", "nested"])
def test_event_wait_accepts_honours_where(build_node, make_ctx, config):
    program = build_node(KIND, config)
    contact = {"id": "c", "attributes": {"country": "IT"}}

    def accepts(total: int, country: str = "IT", campaign: str = "spring") -> bool:
        ctx = make_ctx(
            {**contact, "attributes": {"country": country}},
            event={"name": "purchased", "properties": {"total": total}},
            vars={"campaign": campaign},
        )
        return bool(program.accepts(ctx))

    assert accepts(150)
    assert not accepts(50)
    assert not accepts(150, country="FR")
    assert not accepts(150, campaign="autumn")


def test_event_wait_without_where_accepts_any_event_of_that_name(build_node, make_ctx):
    program = build_node(KIND, {"event": "purchased", "timeout": "P1D"})
    assert program.accepts(make_ctx(event={"name": "purchased", "properties": {}}))


def test_for_and_until_waits_accept_everything(build_node, make_ctx):
    # accepts only matters for event waits; the others keep the Program default.
    assert build_node(KIND, {"for": "P1D"}).accepts(make_ctx())
    assert build_node(KIND, {"until": {"time": "09:00"}}).accepts(make_ctx())
    assert build_node(KIND, {"for": "P1D"}).trigger is None
