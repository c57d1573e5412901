"""Wait: for a duration, until a time of day, or for an event (with a timeout)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.jsonlogic import Rule, RuleError
from flows.outcomes import Await, Outcome, Sleep
from flows.timecalc import (
    WEEKDAYS,
    Duration,
    TimeError,
    add_duration,
    next_time_of_day,
    parse_time_of_day,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Until(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    time: Annotated[str, msgspec.Meta(title="Time of day", examples=["09:00"])]
    weekdays: Annotated[list[Weekday] | None, msgspec.Meta(title="On these days")] = None
    timezone: Annotated[
        str, msgspec.Meta(title="Time zone", description="'contact' or an IANA name")
    ] = "contact"


class EventWait(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(title="Event name")]
    timeout: Annotated[str, msgspec.Meta(title="Give up after", examples=["P1D"])]
    where: Annotated[Any, msgspec.Meta(title="Only events where")] = None


class WaitConfig(
    msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, rename={"for_": "for"}
):
    for_: Annotated[str | None, msgspec.Meta(title="Wait for", examples=["P1D", "PT2H"])] = None
    until: Annotated[Until | None, msgspec.Meta(title="Wait until")] = None
    # An event wait is written flat, like an event trigger ({"event": "purchased",
    # "timeout": "PT24H", "where": ...}); the nested form {"event": {"name", "timeout",
    # "where"}} is accepted too.
    event: Annotated[str | EventWait | None, msgspec.Meta(title="Wait for event")] = None
    timeout: Annotated[str | None, msgspec.Meta(title="Give up after", examples=["P1D"])] = None
    where: Annotated[Any, msgspec.Meta(title="Only events where")] = None


class ForProgram(Program):
    def __init__(self, duration: Duration) -> None:
        self.duration = duration

    def step(self, ctx: StepContext) -> Outcome:
        return Sleep(add_duration(ctx.now, self.duration, ctx.contact_zone()))


class UntilProgram(Program):
    def __init__(self, time: str, weekdays: frozenset[int] | None, tz: ZoneInfo | None) -> None:
        self.time = time
        self.weekdays = weekdays
        self.tz = tz  # None: the contact's own time zone

    def step(self, ctx: StepContext) -> Outcome:
        tz = self.tz if self.tz is not None else ctx.contact_zone()
        return Sleep(next_time_of_day(ctx.now, self.time, self.weekdays, tz))


class EventProgram(Program):
    def __init__(self, event: str, timeout: Duration, where: Rule | None) -> None:
        self.event = event
        self.timeout = timeout
        self.where = where
        self.filters = where is not None

    def step(self, ctx: StepContext) -> Outcome:
        return Await(self.event, add_duration(ctx.now, self.timeout, ctx.contact_zone()))

    def accepts(self, ctx: StepContext) -> bool:
        if self.where is None:
            return True
        try:
            return self.where.test(ctx.data())
        except RuleError:
            return False  # a condition that cannot be evaluated for this event is not met


def ports(config: WaitConfig) -> tuple[str, ...]:
    return ("event", "timeout") if config.event is not None else ("next",)


def build(config: WaitConfig, check: ConfigCheck) -> Program:
    chosen = [name for name, value in (("for", config.for_), ("until", config.until),
                                       ("event", config.event)) if value is not None]
    if len(chosen) != 1:
        given = " and ".join(repr(c) for c in chosen) if chosen else "none"
        check.problem(
            f"a wait needs exactly one of 'for', 'until' or 'event' (given: {given})."
        )
        return Program()
    if config.event is None and (config.timeout is not None or config.where is not None):
        check.problem("'timeout' and 'where' only apply to a wait for an event.")
    if config.for_ is not None:
        duration = check.duration("for", config.for_)
        return ForProgram(duration) if duration else Program()
    if config.until is not None:
        return _build_until(config.until, check)
    return _build_event(config, check)


def _build_until(until: Until, check: ConfigCheck) -> Program:
    try:
        parse_time_of_day(until.time)
    except TimeError as exc:
        check.problem(f"until.time: {exc}")
    tz = None if until.timezone == "contact" else check.zone("until.timezone", until.timezone)
    if until.weekdays is not None and not until.weekdays:
        check.problem("until.weekdays is empty: choose at least one day, or leave it out.")
    weekdays = frozenset(WEEKDAYS[d] for d in until.weekdays) if until.weekdays else None
    return UntilProgram(until.time, weekdays, tz)


def _build_event(config: WaitConfig, check: ConfigCheck) -> Program:
    if isinstance(config.event, EventWait):
        if config.timeout is not None or config.where is not None:
            check.problem("put 'timeout' and 'where' inside 'event', or all three side by side.")
        event = config.event
        name = event.name
        timeout_text: str | None = event.timeout
        where_source = event.where
    else:
        assert config.event is not None
        name = config.event
        timeout_text, where_source = config.timeout, config.where
    if not name:
        check.problem("say which event to wait for.")
    if timeout_text is None:
        check.problem("a wait for an event needs a 'timeout' (how long to wait, e.g. \"P1D\").")
        return Program()
    timeout = check.duration("timeout", timeout_text)
    where = check.rule("where", where_source) if where_source is not None else None
    return EventProgram(name, timeout, where) if timeout else Program()


KIND = NodeKind(
    type="wait",
    label="Wait",
    description="Holds the contact for a while, until a time of day, or until an event happens "
    "(leaving by 'timeout' if it does not).",
    config=WaitConfig,
    ports=ports,
    build=build,
    fixed_ports=("next",),
)
