"""Tests for flows.timecalc: durations, zones, DST gaps and folds, schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.timecalc import (
    WEEKDAYS,
    Duration,
    TimeError,
    add_duration,
    format_instant,
    next_time_of_day,
    parse_duration,
    parse_instant,
    parse_time_of_day,
    zone,
)

ROME = zone("Europe/Rome")
NEW_YORK = zone("America/New_York")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEKDAYS_MON_FRI = frozenset({0, 1, 2, 3, 4})


def utc(text: str) -> datetime:
    return parse_instant(text)


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    """A local wall time in ``tz`` (fold=0: the first one when it is ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def add(start: datetime, text: str, tz: ZoneInfo = ROME) -> datetime:
    return add_duration(start, parse_duration(text), tz)


# --------------------------------------------------------------------------- parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT30M", Duration(0, 0, 0, 0, 1800.0)),
        ("P1D", Duration(0, 0, 0, 1, 0.0)),
        ("P1W", Duration(0, 0, 1, 0, 0.0)),
        ("P1DT12H", Duration(0, 0, 0, 1, 43200.0)),
        ("P1Y2M3W4DT5H6M7S", Duration(1, 2, 3, 4, 5 * 3600 + 6 * 60 + 7.0)),
        ("P2Y", Duration(2, 0, 0, 0, 0.0)),
        ("P18M", Duration(0, 18, 0, 0, 0.0)),
        ("PT24H", Duration(0, 0, 0, 0, 86400.0)),
        ("PT90M", Duration(0, 0, 0, 0, 5400.0)),
        ("PT1.5S", Duration(0, 0, 0, 0, 1.5)),
        ("PT0,25S", Duration(0, 0, 0, 0, 0.25)),
        ("PT1H0.5S", Duration(0, 0, 0, 0, 3600.5)),
        ("P0DT1S", Duration(0, 0, 0, 0, 1.0)),
        ("  P1D ", Duration(0, 0, 0, 1, 0.0)),
        ("p1dt2h", Duration(0, 0, 0, 1, 7200.0)),
    ],
)
def test_parse_duration_accepts(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_seconds_is_float_and_result_is_cached() -> None:
    parsed = parse_duration("PT30M")
    assert isinstance(parsed.seconds, float)
    assert parse_duration("PT30M") is parsed
    with pytest.raises(AttributeError):
        parsed.days = 3  # type: ignore[misc]


def test_parse_duration_example_message() -> None:
    with pytest.raises(TimeError) as info:
        parse_duration("P1X")
    assert str(info.value) == (
        "'P1X' is not an ISO 8601 duration (examples: PT30M, P1D, P1W, P1DT12H)"
    )
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("P", "'P' is not an ISO 8601 duration"),
        ("PT", "'PT' is not an ISO 8601 duration"),
        ("P1DT", "'P1DT' is not an ISO 8601 duration"),
        ("", "'' is not an ISO 8601 duration"),
        ("1D", "'1D' is not an ISO 8601 duration"),
        ("30 minutes", "'30 minutes' is not an ISO 8601 duration"),
        ("2026-01-01", "'2026-01-01' is not an ISO 8601 duration"),
        ("PT1S1M", "'PT1S1M' is not an ISO 8601 duration"),
        ("P1D1Y", "'P1D1Y' is not an ISO 8601 duration"),
        ("PT1e3S", "'PT1e3S' is not an ISO 8601 duration"),
        ("P１D", "'P１D' is not an ISO 8601 duration"),  # full-width digit  # noqa: RUF001
        ("P1H", "go after a 'T'"),
        ("PT1.5H", "only seconds may have a fraction"),
        ("P1.5D", "only seconds may have a fraction"),
        ("PT0.5M", "only seconds may have a fraction"),
        ("-P1D", "'-P1D' must be longer than zero"),
        ("P-1D", "'P-1D' must be longer than zero"),
        ("PT-30M", "'PT-30M' must be longer than zero"),
        ("PT0S", "'PT0S' must be longer than zero"),
        ("P0D", "'P0D' must be longer than zero"),
        ("P0Y0M0W0DT0H0M0.0S", "must be longer than zero"),
        ("P10001Y", "'P10001Y' is too long"),
        ("PT" + "9" * 40 + "S", "is too long"),
        ("P" + "9" * 5000 + "D", "is too long"),
    ],
)
def test_parse_duration_rejects(text: str, fragment: str) -> None:
    with pytest.raises(TimeError) as info:
        parse_duration(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("P1D", "1 day"),
        ("P2D", "2 days"),
        ("PT30M", "30 minutes"),
        ("PT1M", "1 minute"),
        ("P2WT3H", "2 weeks and 3 hours"),
        ("P1Y2M3D", "1 year, 2 months and 3 days"),
        ("P2Y1M1W", "2 years, 1 month and 1 week"),
        ("PT90M", "1 hour and 30 minutes"),
        ("PT24H", "24 hours"),
        ("PT1S", "1 second"),
        ("PT1.5S", "1.5 seconds"),
        ("PT3661S", "1 hour, 1 minute and 1 second"),
        ("P1DT12H", "1 day and 12 hours"),
        ("PT0.0001S", "0.0001 seconds"),
    ],
)
def test_describe(text: str, description: str) -> None:
    assert parse_duration(text).describe() == description


# --------------------------------------------------------------------------- zone, time of day


def test_zone_is_cached_zoneinfo() -> None:
    assert zone("Europe/Rome") is zone("Europe/Rome")
    assert isinstance(zone("UTC"), ZoneInfo)


def test_unknown_zone_message() -> None:
    with pytest.raises(TimeError) as info:
        zone("Mars/Base")
    assert str(info.value) == "unknown time zone 'Mars/Base'"


@pytest.mark.parametrize("name", ["", "Europe", "/etc/passwd", "../zoneinfo", "Europe/Rome\0"])
def test_bad_zone_names_are_time_errors(name: str) -> None:
    with pytest.raises(TimeError, match="unknown time zone"):
        zone(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", (9, 0)),
        ("9:05", (9, 5)),
        ("00:00", (0, 0)),
        ("23:59", (23, 59)),
        (" 7:30 ", (7, 30)),
    ],
)
def test_parse_time_of_day(text: str, expected: tuple[int, int]) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("24:00", "the hour must be 0 to 23"),
        ("12:60", "the minutes must be 00 to 59"),
        ("9:5", "'9:5' is not a time of day"),
        ("900", "'900' is not a time of day"),
        ("09:00:00", "'09:00:00' is not a time of day"),
        ("9am", "'9am' is not a time of day"),
        ("", "'' is not a time of day"),
        ("-1:00", "'-1:00' is not a time of day"),
    ],
)
def test_parse_time_of_day_rejects(text: str, fragment: str) -> None:
    with pytest.raises(TimeError) as info:
        parse_time_of_day(text)
    assert fragment in str(info.value)
    assert "HH:MM" in str(info.value)


def test_weekdays() -> None:
    assert WEEKDAYS == {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
    assert date(2026, 3, 2).weekday() == WEEKDAYS["mon"]


# --------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T09:00:00Z", datetime(2026, 1, 1, 9, tzinfo=UTC)),
        ("2026-01-01T10:00:00+01:00", datetime(2026, 1, 1, 9, tzinfo=UTC)),
        ("2026-01-01T04:00:00-05:00", datetime(2026, 1, 1, 9, tzinfo=UTC)),
        ("2026-01-01T09:00Z", datetime(2026, 1, 1, 9, tzinfo=UTC)),
        ("2026-01-01T09:00:00.250Z", datetime(2026, 1, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        ("2026-01-01T00:30:00+05:30", datetime(2025, 12, 31, 19, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


def test_parse_instant_rejects_naive() -> None:
    with pytest.raises(TimeError) as info:
        parse_instant("2026-01-01T09:00:00")
    message = str(info.value)
    assert "'2026-01-01T09:00:00'" in message
    assert "add a time zone, e.g. 2026-01-01T09:00:00Z" in message


@pytest.mark.parametrize("text", ["tomorrow", "", "2026-13-01T09:00:00Z", "2026-01-01T25:00Z"])
def test_parse_instant_rejects_garbage(text: str) -> None:
    with pytest.raises(TimeError, match="is not an ISO 8601 date and time"):
        parse_instant(text)


def test_format_instant() -> None:
    assert format_instant(datetime(2026, 1, 1, 9, tzinfo=UTC)) == "2026-01-01T09:00:00Z"
    assert format_instant(datetime(2026, 1, 1, 9, 0, 0, 5, tzinfo=UTC)) == (
        "2026-01-01T09:00:00.000005Z")
    assert format_instant(datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(0)))) == (
        "2026-01-01T09:00:00Z")
    assert format_instant(local(ROME, 2026, 1, 1, 10)) == "2026-01-01T09:00:00Z"
    assert format_instant(local(ROME, 2026, 7, 1, 11)) == "2026-07-01T09:00:00Z"
    with_micro = datetime(2026, 1, 1, 9, 0, 0, 5, tzinfo=UTC)
    assert format_instant(with_micro) == "2026-01-01T09:00:00.000005Z"
    assert parse_instant(format_instant(with_micro)) == with_micro
    with pytest.raises(TimeError, match="add a time zone"):
        format_instant(datetime(2026, 1, 1, 9))


# --------------------------------------------------------------------------- add_duration: DST


def test_p1d_across_rome_spring_change_is_23_hours() -> None:
    start = local(ROME, 2026, 3, 28, 9)  # Saturday 09:00 CET
    result = add(start, "P1D")
    assert result == local(ROME, 2026, 3, 29, 9)  # Sunday 09:00 CEST
    assert result == utc("2026-03-29T07:00:00Z")
    assert result - start == 23 * HOUR


def test_pt24h_across_rome_spring_change_is_24_hours() -> None:
    start = local(ROME, 2026, 3, 28, 9)
    result = add(start, "PT24H")
    assert result - start == 24 * HOUR
    assert result.astimezone(ROME).time() == time(10)


def test_p1d_across_rome_autumn_change_is_25_hours() -> None:
    start = local(ROME, 2026, 10, 24, 9)  # Saturday 09:00 CEST
    result = add(start, "P1D")
    assert result == utc("2026-10-25T08:00:00Z")  # Sunday 09:00 CET
    assert result - start == 25 * HOUR
    assert add(start, "PT24H") - start == 24 * HOUR
    assert add(start, "PT24H").astimezone(ROME).time() == time(8)


def test_p1d_across_new_york_changes() -> None:
    spring = local(NEW_YORK, 2026, 3, 7, 9)  # Saturday 09:00 EST
    assert add(spring, "P1D", NEW_YORK) == utc("2026-03-08T13:00:00Z")  # 09:00 EDT
    assert add(spring, "P1D", NEW_YORK) - spring == 23 * HOUR
    autumn = local(NEW_YORK, 2026, 10, 31, 9)  # Saturday 09:00 EDT
    assert add(autumn, "P1D", NEW_YORK) == utc("2026-11-01T14:00:00Z")  # 09:00 EST
    assert add(autumn, "P1D", NEW_YORK) - autumn == 25 * HOUR
    assert add(autumn, "PT24H", NEW_YORK) - autumn == 24 * HOUR


def test_week_across_dst_keeps_wall_clock() -> None:
    start = local(ROME, 2026, 3, 25, 9)
    result = add(start, "P1W")
    assert result == local(ROME, 2026, 4, 1, 9)
    assert result - start == 7 * DAY - HOUR


def test_calendar_then_exact() -> None:
    start = local(ROME, 2026, 3, 28, 9)
    # P1D -> Sunday 09:00 CEST (07:00Z), then 1 real hour.
    assert add(start, "P1DT1H") == utc("2026-03-29T08:00:00Z")
    # The exact part is real time even when it crosses the change itself.
    assert add(local(ROME, 2026, 3, 29, 1, 45), "PT30M") == local(ROME, 2026, 3, 29, 3, 15)


def test_zone_decides_calendar_not_start_tzinfo() -> None:
    start = utc("2026-03-28T08:00:00Z")  # 09:00 in Rome, 04:00 in New York
    assert add(start, "P1D", ROME) == utc("2026-03-29T07:00:00Z")
    assert add(start, "P1D", NEW_YORK) == utc("2026-03-29T08:00:00Z")  # no change that day
    assert add(start.astimezone(NEW_YORK), "P1D", ROME) == utc("2026-03-29T07:00:00Z")


def test_result_is_utc() -> None:
    for text in ("PT5M", "P1D", "P1M"):
        result = add(local(ROME, 2026, 5, 5, 5), text)
        assert result.tzinfo is UTC


# ---------------------------------------------------------------- add_duration: gaps, folds


def test_gap_shifts_forward_rome() -> None:
    start = local(ROME, 2026, 3, 28, 2, 30)  # exists on Saturday (CET)
    result = add(start, "P1D")  # Sunday 02:30 does not exist
    assert result.astimezone(ROME).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)
    assert result == utc("2026-03-29T01:30:00Z")


def test_gap_shifts_forward_new_york() -> None:
    start = local(NEW_YORK, 2026, 3, 7, 2, 30)
    result = add(start, "P1D", NEW_YORK)
    assert result.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_fold_takes_first_occurrence() -> None:
    start = local(ROME, 2026, 10, 24, 2, 30)  # CEST
    result = add(start, "P1D")
    assert result == utc("2026-10-25T00:30:00Z")  # 02:30 CEST, the first one
    assert result.astimezone(ROME).fold == 0
    ny = add(local(NEW_YORK, 2026, 10, 31, 1, 30), "P1D", NEW_YORK)
    assert ny == utc("2026-11-01T05:30:00Z")  # 01:30 EDT, the first one


def test_from_second_occurrence_keeps_wall_clock() -> None:
    second = utc("2026-10-25T01:30:00Z")  # 02:30 CET, the second 02:30
    assert second.astimezone(ROME).fold == 1
    assert add(second, "P1D") == utc("2026-10-26T01:30:00Z")  # Monday 02:30 CET
    assert add(second, "PT1H") == utc("2026-10-25T02:30:00Z")


# --------------------------------------------------------------------------- add_duration: months


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        ((2026, 1, 31), "P1M", (2026, 2, 28)),
        ((2028, 1, 31), "P1M", (2028, 2, 29)),
        ((2026, 3, 31), "P1M", (2026, 4, 30)),
        ((2026, 1, 31), "P2M", (2026, 3, 31)),
        ((2026, 1, 31), "P1M1D", (2026, 3, 1)),
        ((2026, 10, 31), "P4M", (2027, 2, 28)),
        ((2026, 12, 15), "P1M", (2027, 1, 15)),
        ((2026, 5, 31), "P13M", (2027, 6, 30)),
        ((2028, 2, 29), "P1Y", (2029, 2, 28)),
        ((2028, 2, 29), "P4Y", (2032, 2, 29)),
        ((2026, 1, 1), "P1Y6M2W3D", (2027, 7, 18)),
    ],
)
def test_month_end_clamping(
    start: tuple[int, int, int], text: str, expected: tuple[int, int, int]
) -> None:
    result = add(local(ROME, *start, 10, 15), text)
    assert result == local(ROME, *expected, 10, 15)


def test_months_use_the_local_date() -> None:
    start = utc("2026-01-30T23:30:00Z")  # already 31 January, 00:30, in Rome
    assert add(start, "P1M") == local(ROME, 2026, 2, 28, 0, 30)
    assert add(start, "P1M", zone("UTC")) == utc("2026-02-28T23:30:00Z")  # 30th -> 28th in UTC


def test_month_into_dst_keeps_wall_clock() -> None:
    start = local(ROME, 2026, 2, 28, 9)
    result = add(start, "P1M")
    assert result == local(ROME, 2026, 3, 28, 9)
    assert add(result, "P1M") == local(ROME, 2026, 4, 28, 9)
    assert add(result, "P1M") - result == 31 * DAY - HOUR


def test_add_duration_errors() -> None:
    with pytest.raises(TimeError, match="has no time zone"):
        add_duration(datetime(2026, 1, 1, 9), parse_duration("PT1H"), ROME)
    with pytest.raises(TimeError, match="has no time zone"):
        add_duration(datetime(2026, 1, 1, 9), parse_duration("P1D"), ROME)
    with pytest.raises(TimeError, match="supported dates"):
        add_duration(utc("9999-12-20T00:00:00Z"), parse_duration("P1M"), ROME)
    with pytest.raises(TimeError, match="supported dates"):
        add_duration(utc("9999-12-31T00:00:00Z"), parse_duration("PT48H"), ROME)


def test_add_duration_accepts_fixed_offset_input() -> None:
    start = datetime(2026, 3, 28, 17, tzinfo=timezone(timedelta(hours=9)))  # 08:00Z
    assert add(start, "P1D") == utc("2026-03-29T07:00:00Z")


# --------------------------------------------------------------------------- next_time_of_day


def test_next_time_same_day() -> None:
    after = local(ROME, 2026, 3, 2, 8)  # Monday 08:00
    assert next_time_of_day(after, "09:00", None, ROME) == local(ROME, 2026, 3, 2, 9)


def test_next_time_is_strictly_after() -> None:
    monday_nine = local(ROME, 2026, 3, 2, 9)
    assert next_time_of_day(monday_nine, "09:00", None, ROME) == local(ROME, 2026, 3, 3, 9)
    just_before = monday_nine - timedelta(microseconds=1)
    assert next_time_of_day(just_before, "09:00", None, ROME) == monday_nine
    just_after = monday_nine + timedelta(microseconds=1)
    assert next_time_of_day(just_after, "09:00", None, ROME) == local(ROME, 2026, 3, 3, 9)


def test_next_time_weekdays() -> None:
    friday = local(ROME, 2026, 3, 6, 10)
    assert next_time_of_day(friday, "09:00", WEEKDAYS_MON_FRI, ROME) == local(ROME, 2026, 3, 9, 9)
    assert next_time_of_day(friday, "9:00", None, ROME) == local(ROME, 2026, 3, 7, 9)
    monday_nine = local(ROME, 2026, 3, 2, 9)
    mondays = frozenset({WEEKDAYS["mon"]})
    assert next_time_of_day(monday_nine, "09:00", mondays, ROME) == local(ROME, 2026, 3, 9, 9)
    weekend = frozenset({WEEKDAYS["sat"], WEEKDAYS["sun"]})
    assert next_time_of_day(monday_nine, "18:30", weekend, ROME) == local(ROME, 2026, 3, 7, 18, 30)


def test_next_time_across_dst() -> None:
    saturday = local(ROME, 2026, 3, 28, 10)
    result = next_time_of_day(saturday, "09:00", None, ROME)
    assert result == utc("2026-03-29T07:00:00Z")  # 09:00 CEST
    assert result - saturday == 22 * HOUR  # 23 wall-clock hours, one of them skipped
    autumn = local(ROME, 2026, 10, 24, 10)
    assert next_time_of_day(autumn, "09:00", None, ROME) == utc("2026-10-25T08:00:00Z")
    ny = local(NEW_YORK, 2026, 3, 7, 10)
    assert next_time_of_day(ny, "09:00", None, NEW_YORK) == utc("2026-03-08T13:00:00Z")


def test_next_time_in_gap_shifts_forward() -> None:
    midnight = local(ROME, 2026, 3, 29, 0)
    result = next_time_of_day(midnight, "02:30", None, ROME)
    assert result == utc("2026-03-29T01:30:00Z")
    assert result.astimezone(ROME).time() == time(3, 30)
    # 03:10 CEST is after the gap but before the shifted 03:30: still today.
    assert next_time_of_day(local(ROME, 2026, 3, 29, 3, 10), "02:30", None, ROME) == result
    # Once past it, tomorrow's ordinary 02:30.
    later = local(ROME, 2026, 3, 29, 3, 45)
    assert next_time_of_day(later, "02:30", None, ROME) == local(ROME, 2026, 3, 30, 2, 30)
    ny = next_time_of_day(local(NEW_YORK, 2026, 3, 8, 0), "02:30", None, NEW_YORK)
    assert ny.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_next_time_gap_before_midnight_is_still_found() -> None:
    # America/Scoresbysund springs forward from 23:00 straight to 00:00, so
    # Saturday's 23:30 happens on Sunday at 00:30.
    tz = zone("America/Scoresbysund")
    saturday_gap = datetime(2026, 3, 28, 23, 30, tzinfo=tz)
    shifted = saturday_gap.astimezone(UTC)
    assert shifted.astimezone(tz).replace(tzinfo=None) == datetime(2026, 3, 29, 0, 30)
    after = datetime(2026, 3, 29, 0, 10, tzinfo=tz)
    assert next_time_of_day(after, "23:30", None, tz) == shifted
    saturdays = frozenset({WEEKDAYS["sat"]})
    assert next_time_of_day(after, "23:30", saturdays, tz) == shifted
    sundays = frozenset({WEEKDAYS["sun"]})
    assert next_time_of_day(after, "23:30", sundays, tz) == datetime(2026, 3, 29, 23, 30, tzinfo=tz)


def test_next_time_fold_fires_once_at_first_occurrence() -> None:
    before = local(ROME, 2026, 10, 25, 0)
    first = next_time_of_day(before, "02:30", None, ROME)
    assert first == utc("2026-10-25T00:30:00Z")  # 02:30 CEST
    # Not again at the second 02:30 (CET): the next one is Monday's.
    assert next_time_of_day(first, "02:30", None, ROME) == utc("2026-10-26T01:30:00Z")
    in_between = utc("2026-10-25T01:00:00Z")  # 02:00 CET, between the two 02:30s
    assert next_time_of_day(in_between, "02:30", None, ROME) == utc("2026-10-26T01:30:00Z")


def test_next_time_input_in_any_zone_and_result_utc() -> None:
    after = local(NEW_YORK, 2026, 3, 2, 2)  # 08:00 in Rome
    result = next_time_of_day(after, "09:00", None, ROME)
    assert result == local(ROME, 2026, 3, 2, 9)
    assert result.tzinfo is UTC


def test_next_time_errors() -> None:
    after = utc("2026-03-02T08:00:00Z")
    with pytest.raises(TimeError, match="'25:00' is not a time of day"):
        next_time_of_day(after, "25:00", None, ROME)
    with pytest.raises(TimeError, match="pick at least one day"):
        next_time_of_day(after, "09:00", frozenset(), ROME)
    with pytest.raises(TimeError, match=r"0 \(Monday\) to 6 \(Sunday\), got \[7\]"):
        next_time_of_day(after, "09:00", frozenset({1, 7}), ROME)
    with pytest.raises(TimeError, match="has no time zone"):
        next_time_of_day(datetime(2026, 3, 2, 8), "09:00", None, ROME)
    with pytest.raises(TimeError, match="supported dates"):
        next_time_of_day(utc("9999-12-31T23:00:00Z"), "09:00", None, ROME)


# --------------------------------------------------------------------------- properties

ZONE_NAMES = [
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "America/Scoresbysund",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Europe/Dublin",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
]
zones = st.sampled_from(ZONE_NAMES).map(zone)
instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
times_of_day = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(
    lambda hm: f"{hm[0]:02d}:{hm[1]:02d}"
)
weekday_sets = st.none() | st.frozensets(st.integers(0, 6), min_size=1)


@st.composite
def exact_durations(draw: st.DrawFn) -> str:
    hours = draw(st.integers(0, 24 * 400))
    minutes = draw(st.integers(0, 600))
    seconds = draw(st.integers(0, 100_000))
    fraction = draw(st.sampled_from(["", ".5", ".25", ".000001", ",75"]))
    text = f"PT{hours}H{minutes}M{seconds}{fraction}S"
    if not (hours or minutes or seconds or fraction):
        text = "PT1S"
    return text


@given(start=instants, text=exact_durations(), tz=zones)
@example(start=local(ROME, 2026, 3, 29, 1, 30), text="PT1H", tz=ROME)
@example(start=local(ROME, 2026, 10, 25, 2, 30), text="PT24H", tz=ROME)
def test_exact_durations_are_elapsed_time(start: datetime, text: str, tz: ZoneInfo) -> None:
    duration = parse_duration(text)
    assert (duration.years, duration.months, duration.weeks, duration.days) == (0, 0, 0, 0)
    result = add_duration(start, duration, tz)
    assert result - start == timedelta(seconds=duration.seconds)
    assert abs((result - start).total_seconds() - duration.seconds) < 1e-6
    assert result.tzinfo is UTC


@given(start=instants, days=st.integers(1, 400), tz=zones)
def test_calendar_days_keep_wall_clock(start: datetime, days: int, tz: ZoneInfo) -> None:
    result = add_duration(start, parse_duration(f"P{days}D"), tz)
    start_local = start.astimezone(tz)
    wall = datetime.combine(start_local.date() + timedelta(days=days), start_local.time())
    result_local = result.astimezone(tz).replace(tzinfo=None)
    exists = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    if exists:
        assert result_local == wall
        assert result.astimezone(tz).fold == 0  # first occurrence when ambiguous
    else:
        assert result_local > wall  # shifted forward out of the gap
        assert result_local - wall <= DAY


@given(after=instants, time_of_day=times_of_day, weekdays=weekday_sets, tz=zones)
@settings(max_examples=300)
def test_next_time_of_day_properties(
    after: datetime, time_of_day: str, weekdays: frozenset[int] | None, tz: ZoneInfo
) -> None:
    result = next_time_of_day(after, time_of_day, weekdays, tz)
    assert result.tzinfo is UTC
    assert result > after
    assert result - after <= 8 * DAY + HOUR
    hour, minute = parse_time_of_day(time_of_day)
    result_local = result.astimezone(tz)
    if (result_local.hour, result_local.minute) == (hour, minute):
        assert weekdays is None or result_local.weekday() in weekdays
        assert result_local.fold == 0
        assert result_local.second == result_local.microsecond == 0
    else:
        # A shifted-forward firing: the wall time on its day (or the day
        # before, for gaps running past midnight) does not exist.
        candidates = [result_local.date(), result_local.date() - DAY]
        missing = [
            day
            for day in candidates
            if (weekdays is None or day.weekday() in weekdays)
            and datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC) == result
        ]
        assert missing
    # Nothing earlier qualifies: just before the result, it is the answer again.
    assert next_time_of_day(result - timedelta(microseconds=1), time_of_day, weekdays, tz) == result
