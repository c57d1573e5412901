"""Time arithmetic for flows: ISO 8601 durations, time zones and schedules.

Pure functions, standard library only. Every datetime this module returns is
timezone-aware and in UTC (``datetime.UTC``); every datetime it is
given must be timezone-aware.

Two kinds of time are kept apart on purpose:

* the *calendar* part of a duration (years, months, weeks, days) moves the
  local date in a time zone and keeps the local wall-clock time of day, so
  "P1D" across a daylight-saving change is 23 or 25 real hours;
* the *exact* part (hours, minutes, seconds) is real elapsed time, so "PT24H"
  is always 24 hours.

Local times that do not exist (spring-forward gaps) are shifted forward by the
length of the gap; local times that happen twice (fall-back) resolve to the
first occurrence. Both rules come from resolving the wall time with
``fold=0`` (PEP 495).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WEEKDAYS",
    "Duration",
    "TimeError",
    "add_duration",
    "format_instant",
    "next_time_of_day",
    "parse_duration",
    "parse_instant",
    "parse_time_of_day",
    "zone",
]

WEEKDAYS: dict[str, int] = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}

_ALL_WEEKDAYS = frozenset(range(7))

# Anything longer than this cannot be added to any datetime anyway (years
# stop at 9999), so it is rejected up front with a clear message.
_MAX_YEARS = 10_000
_MAX_DAYS = _MAX_YEARS * 366
_MAX_DIGITS = 18

_DURATION_EXAMPLES = "examples: PT30M, P1D, P1W, P1DT12H"
_TIME_OF_DAY_EXAMPLES = "use 24-hour HH:MM, e.g. 09:00 or 17:30"
_INSTANT_EXAMPLE = "2026-01-01T09:00:00Z"


def _duration_pattern(number: str, seconds: str) -> re.Pattern[str]:
    return re.compile(
        rf"P(?:(?P<years>{number})Y)?(?:(?P<months>{number})M)?"
        rf"(?:(?P<weeks>{number})W)?(?:(?P<days>{number})D)?"
        rf"(?:T(?:(?P<hours>{number})H)?(?:(?P<minutes>{number})M)?(?:{seconds}S)?)?",
        re.ASCII,
    )


_DURATION_RE = _duration_pattern("[0-9]+", r"(?P<seconds>[0-9]+)(?:[.,](?P<fraction>[0-9]+))?")
# Same shape with a fraction allowed on every part: only used to explain errors.
_FRACTION_ANYWHERE_RE = _duration_pattern(r"[0-9]+(?:[.,][0-9]+)?", r"[0-9]+(?:[.,][0-9]+)?")
_TIME_WITHOUT_T_RE = re.compile(r"P(?:[0-9]+[YMWD])*[0-9]+[HS]", re.ASCII)
_TIME_OF_DAY_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)


class TimeError(ValueError):
    """A duration, time zone, time of day or instant that cannot be used.

    The message is written for the person who typed the value.
    """


def _plural(count: int | str, unit: str) -> str:
    return f"{count} {unit}" if count in (1, "1") else f"{count} {unit}s"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed ISO 8601 duration.

    ``years``, ``months``, ``weeks`` and ``days`` are calendar steps (they keep
    the local time of day); ``seconds`` is real elapsed time and holds the
    hours, minutes and seconds of the original text.
    """

    years: int
    months: int
    weeks: int
    days: int
    seconds: float

    def describe(self) -> str:
        """Plain English, e.g. "1 day", "2 weeks and 3 hours", "30 minutes"."""
        parts: list[str] = []
        for count, unit in (
            (self.years, "year"),
            (self.months, "month"),
            (self.weeks, "week"),
            (self.days, "day"),
        ):
            if count:
                parts.append(_plural(count, unit))
        if self.seconds:
            sign = "minus " if self.seconds < 0 else ""
            millis = round(abs(self.seconds) * 1000)
            hours, millis = divmod(millis, 3_600_000)
            minutes, millis = divmod(millis, 60_000)
            exact: list[str] = []
            if hours:
                exact.append(_plural(hours, "hour"))
            if minutes:
                exact.append(_plural(minutes, "minute"))
            if millis:
                secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
                exact.append(_plural(secs, "second"))
            if not exact:  # shorter than a millisecond
                exact.append(_plural(f"{abs(self.seconds):g}", "second"))
            exact[0] = sign + exact[0]
            parts.extend(exact)
        return _join(parts) if parts else "0 seconds"


def _duration_error(text: str) -> TimeError:
    stripped = text.strip().upper()
    if stripped.startswith("-P") or (stripped.startswith("P") and "-" in stripped):
        return TimeError(f"{text!r} must be longer than zero (negative durations are not allowed)")
    if _TIME_WITHOUT_T_RE.fullmatch(stripped):
        return TimeError(
            f"{text!r} is not an ISO 8601 duration: hours, minutes and seconds go "
            f"after a 'T', e.g. PT1H or P1DT12H ({_DURATION_EXAMPLES})"
        )
    if ("." in stripped or "," in stripped) and _FRACTION_ANYWHERE_RE.fullmatch(stripped):
        return TimeError(
            f"{text!r} is not an ISO 8601 duration this engine accepts: only seconds "
            f"may have a fraction (write PT1H30M rather than PT1.5H; {_DURATION_EXAMPLES})"
        )
    return TimeError(f"{text!r} is not an ISO 8601 duration ({_DURATION_EXAMPLES})")


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as ``PT30M``, ``P1D`` or ``P1W2DT3H``.

    Any subset of ``PnYnMnWnDTnHnMnS`` is accepted (at least one component);
    only the seconds may be fractional (``PT1.5S``, comma or dot). Negative
    and all-zero durations are rejected. Results are cached.
    """
    candidate = text.strip().upper()
    match = _DURATION_RE.fullmatch(candidate)
    if match is None or candidate in ("P", "PT") or candidate.endswith("T"):
        raise _duration_error(text)
    groups = match.groupdict()
    if all(value is None for value in groups.values()):
        raise _duration_error(text)
    for key, value in groups.items():
        if key != "fraction" and value is not None and len(value.lstrip("0")) > _MAX_DIGITS:
            raise TimeError(f"{text!r} is too long (durations can be at most {_MAX_YEARS} years)")

    def number(key: str) -> int:
        value = groups[key]
        return int(value) if value is not None else 0

    years = number("years")
    months = number("months")
    weeks = number("weeks")
    days = number("days")
    whole_seconds = number("hours") * 3600 + number("minutes") * 60 + number("seconds")
    fraction = groups["fraction"]
    seconds = float(whole_seconds) + (float("0." + fraction) if fraction else 0.0)

    if not (years or months or weeks or days or seconds):
        raise TimeError(f"{text!r} must be longer than zero")
    approx_days = years * 366 + months * 31 + weeks * 7 + days + seconds / 86_400
    if approx_days > _MAX_DAYS:
        raise TimeError(f"{text!r} is too long (durations can be at most {_MAX_YEARS} years)")
    return Duration(years=years, months=months, weeks=weeks, days=days, seconds=seconds)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Europe/Rome``). Results are cached."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimeError(f"unknown time zone {name!r}") from None


def _require_aware(value: datetime, what: str) -> None:
    if value.utcoffset() is None:
        raise TimeError(
            f"{what} {value.isoformat()} has no time zone; add a time zone, e.g. {_INSTANT_EXAMPLE}"
        )


# timedelta(seconds=<float>) is surprisingly slow, and a simulation adds the
# same few durations over and over. Bounded: cleared when full.
_DELTA_CACHE: dict[float, timedelta] = {}
_DELTA_CACHE_SIZE = 4096


def _exact_delta(seconds: float) -> timedelta:
    delta = _DELTA_CACHE.get(seconds)
    if delta is None:
        delta = timedelta(seconds=seconds)
        if len(_DELTA_CACHE) >= _DELTA_CACHE_SIZE:
            _DELTA_CACHE.clear()
        _DELTA_CACHE[seconds] = delta
    return delta


@lru_cache(maxsize=8192)
def _resolve_local(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the local clock in ``tz`` shows ``day wall``.

    ``wall`` must have ``fold=0``, which gives exactly the product rules: a
    time inside a spring-forward gap is read with the offset from before the
    gap (so it lands after the gap, shifted forward by the gap's length) and
    an ambiguous fall-back time is the first occurrence (PEP 495). Cached:
    schedules resolve the same (day, time of day, zone) again and again.
    """
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def add_duration(start: datetime, duration: Duration, tz: ZoneInfo) -> datetime:
    """``start`` plus ``duration``, calendar part in local time of ``tz``.

    Years and months move the local date (clamping the day to the month's
    length), then weeks and days; the local time of day is kept (gap times
    shift forward, ambiguous times take the first occurrence). The exact
    ``seconds`` are then added as real elapsed time. Returns UTC.
    """
    start_tz = start.tzinfo
    if start_tz is not UTC and (start_tz is None or start.utcoffset() is None):
        _require_aware(start, "start time")
    try:
        if not (duration.years or duration.months or duration.weeks or duration.days):
            return start.astimezone(UTC) + _exact_delta(duration.seconds)
        local = start.astimezone(tz)
        if duration.years or duration.months:
            month_index = local.year * 12 + local.month - 1 + duration.years * 12 + duration.months
            year, month0 = divmod(month_index, 12)
            last_day = calendar.monthrange(year, month0 + 1)[1]
            ordinal = date(year, month0 + 1, min(local.day, last_day)).toordinal()
        else:
            ordinal = local.toordinal()
        new_date = date.fromordinal(ordinal + duration.weeks * 7 + duration.days)
        # A fresh datetime has fold=0: gap times shift forward, ambiguous
        # times are the first occurrence (same rule as _resolve_local; not
        # cached here because start times rarely repeat).
        result = datetime(
            new_date.year,
            new_date.month,
            new_date.day,
            local.hour,
            local.minute,
            local.second,
            local.microsecond,
            tz,
        ).astimezone(UTC)
        if duration.seconds:
            result += _exact_delta(duration.seconds)
        return result
    except (OverflowError, ValueError) as exc:
        raise TimeError(
            f"adding {duration.describe()} to {start.isoformat()} goes outside "
            f"the supported dates (years 1 to 9999)"
        ) from exc


@lru_cache(maxsize=1024)
def parse_time_of_day(text: str) -> tuple[int, int]:
    """``"09:00"`` or ``"9:05"`` -> ``(hour, minute)``, 24-hour clock."""
    match = _TIME_OF_DAY_RE.fullmatch(text.strip())
    if match is None:
        raise TimeError(f"{text!r} is not a time of day ({_TIME_OF_DAY_EXAMPLES})")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise TimeError(
            f"{text!r} is not a time of day: the hour must be 0 to 23 ({_TIME_OF_DAY_EXAMPLES})"
        )
    if minute > 59:
        raise TimeError(
            f"{text!r} is not a time of day: the minutes must be 00 to 59 ({_TIME_OF_DAY_EXAMPLES})"
        )
    return hour, minute


@lru_cache(maxsize=1024)
def _wall_time(time_of_day: str) -> time:
    hour, minute = parse_time_of_day(time_of_day)
    return time(hour, minute)


# Weekday sets already checked (at most 127 distinct valid sets exist).
_CHECKED_WEEKDAYS: set[frozenset[int]] = set()


def _check_weekdays(weekdays: frozenset[int]) -> None:
    if not weekdays:
        raise TimeError("no weekdays chosen; pick at least one day, or none to mean every day")
    if not weekdays <= _ALL_WEEKDAYS:
        bad = sorted(day for day in weekdays if day not in _ALL_WEEKDAYS)
        raise TimeError(f"weekday numbers must be 0 (Monday) to 6 (Sunday), got {bad}")
    _CHECKED_WEEKDAYS.add(weekdays)


_ONE_DAY = timedelta(days=1)


def next_time_of_day(
    after: datetime,
    time_of_day: str,
    weekdays: frozenset[int] | None,
    tz: ZoneInfo,
) -> datetime:
    """The first moment strictly after ``after`` when the local clock in ``tz``
    shows ``time_of_day`` on one of ``weekdays`` (0 = Monday; None = every day).

    On a day when that time does not exist it fires at the shifted-forward
    moment (02:30 on a spring-forward day -> 03:30); when it exists twice it
    fires only at the first occurrence. Returns UTC.
    """
    after_tz = after.tzinfo
    if after_tz is not UTC and (after_tz is None or after.utcoffset() is None):
        _require_aware(after, "time")
    wall = _wall_time(time_of_day)
    if weekdays is not None and weekdays not in _CHECKED_WEEKDAYS:
        _check_weekdays(weekdays)
    try:
        after_utc = after.astimezone(UTC)
        local = after_utc.astimezone(tz)
        day = local.date()
        # Yesterday's time can still be ahead of us when it fell into a
        # spring-forward gap that runs past midnight (e.g. 23:00 -> 00:00 in
        # America/Scoresbysund) and was shifted into today. That needs the
        # local time now to be earlier than the time of day.
        if local.time() < wall:
            day -= _ONE_DAY
        # Eight consecutive days hold every weekday and today's again a week
        # later, so the loop returns within 9 steps; the bound is a guard.
        for _ in range(16):
            if weekdays is None or day.weekday() in weekdays:
                candidate = _resolve_local(day, wall, tz)
                if candidate > after_utc:
                    return candidate
            day += _ONE_DAY
    except (OverflowError, ValueError) as exc:
        raise TimeError(
            f"no {time_of_day} after {after.isoformat()} "
            "within the supported dates (years 1 to 9999)"
        ) from exc
    # Unreachable with real zone data (see the loop comment above).
    raise TimeError(f"no {time_of_day} in the two weeks after {after.isoformat()}")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date and time with ``Z`` or an offset -> aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeError(
            f"{text!r} is not an ISO 8601 date and time (example: {_INSTANT_EXAMPLE})"
        ) from None
    if parsed.utcoffset() is None:
        raise TimeError(f"{text!r} has no time zone; add a time zone, e.g. {_INSTANT_EXAMPLE}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise TimeError(f"{text!r} is outside the supported dates (years 1 to 9999)") from None


def format_instant(dt: datetime) -> str:
    """UTC ISO 8601 with ``Z``: ``2026-01-01T09:00:00Z`` (microseconds only if non-zero)."""
    if dt.tzinfo is UTC:  # most times here: isoformat() ends in +00:00 (a third of the cost)
        return dt.isoformat()[:-6] + "Z"
    _require_aware(dt, "time")
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
