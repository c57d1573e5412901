"""Trigger: how contacts enter a flow (an event, a segment change, a schedule, or the API)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.jsonlogic import Rule, RuleError
from flows.outcomes import Go, Outcome, TriggerSpec
from flows.timecalc import TimeError, parse_instant

On = Literal["event", "segment_entered", "segment_exited", "schedule", "api"]


class TriggerConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    on: Annotated[On, msgspec.Meta(title="Start when", description="What makes a contact enter")]
    event: Annotated[str | None, msgspec.Meta(title="Event name")] = None
    where: Annotated[Any, msgspec.Meta(title="Only events where", description="JsonLogic")] = None
    segment: Annotated[str | None, msgspec.Meta(title="Segment")] = None
    include_current: Annotated[
        bool, msgspec.Meta(title="Also enrol current members when published")
    ] = False
    at: Annotated[str | None, msgspec.Meta(title="At (date and time)")] = None
    cron: Annotated[str | None, msgspec.Meta(title="Repeat (cron)")] = None
    rule: Annotated[Any, msgspec.Meta(title="Only contacts who", description="JsonLogic")] = None


# Which fields each way of entering uses; any other field set is a mistake worth reporting.
_FIELDS: dict[str, frozenset[str]] = {
    "event": frozenset({"event", "where"}),
    "segment_entered": frozenset({"segment", "include_current"}),
    "segment_exited": frozenset({"segment"}),
    "schedule": frozenset({"at", "cron", "segment", "rule"}),
    "api": frozenset(),
}


class TriggerProgram(Program):
    def __init__(self, spec: TriggerSpec, where: Rule | None, audience: Rule | None) -> None:
        self.trigger: TriggerSpec | None = spec
        self.where = where
        self.audience = audience
        self.filters = (where if spec.on == "event" else audience) is not None

    def accepts(self, ctx: StepContext) -> bool:
        """An event trigger's `where`, or a schedule's audience `rule`."""
        spec = self.trigger
        rule = self.where if spec is not None and spec.on == "event" else self.audience
        if rule is None:
            return True
        try:
            return rule.test(ctx.data())
        except RuleError:
            return False  # a condition that cannot be evaluated for this contact is not met

    def step(self, ctx: StepContext) -> Outcome:
        return Go("next")


def build(config: TriggerConfig, check: ConfigCheck) -> TriggerProgram:
    allowed = _FIELDS[config.on]
    for name in ("event", "where", "segment", "at", "cron", "rule"):
        if getattr(config, name) is not None and name not in allowed:
            check.problem(f"'{name}' does not apply to a trigger on {config.on!r}; remove it.")
    if config.include_current and "include_current" not in allowed:
        check.problem(f"'include_current' does not apply to a trigger on {config.on!r}.")
    where = audience = None
    at = None
    if config.on == "event":
        if not config.event:
            check.problem("say which event starts the flow ('event', e.g. \"signed_up\").")
        if config.where is not None:
            where = check.rule("where", config.where)
    elif config.on in ("segment_entered", "segment_exited") and not config.segment:
        check.problem("say which segment ('segment', a segment key).")
    elif config.on == "schedule":
        if (config.at is None) == (config.cron is None):
            check.problem("a schedule needs exactly one of 'at' (a date and time) or 'cron'.")
        if config.at is not None:
            try:
                at = parse_instant(config.at)
            except TimeError as exc:
                check.problem(f"at: {exc}")
        if config.cron is not None:
            _check_cron(config.cron, check)
        if config.segment is not None and config.rule is not None:
            check.problem("choose the audience by 'segment' or by 'rule', not both.")
        if config.rule is not None:
            audience = check.rule("rule", config.rule)
    spec = TriggerSpec(
        on=config.on, event=config.event, segment=config.segment,
        include_current=config.include_current, at=at, cron=config.cron,
    )
    return TriggerProgram(spec, where, audience)


def _check_cron(expression: str, check: ConfigCheck) -> None:
    from croniter import croniter  # imported here: only schedules need it

    # croniter also takes seconds and years fields; a broadcast every second is never meant.
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        check.problem(
            f"cron: {expression!r} is not a cron expression "
            "(five fields: minute hour day-of-month month weekday, e.g. \"0 9 * * mon\")."
        )


KIND = NodeKind(
    type="trigger",
    label="Trigger",
    description="Starts the flow for a contact: on an event, a segment change, a schedule or an "
    "API call.",
    config=TriggerConfig,
    ports=lambda config: ("next",),
    build=build,
    is_trigger=True,
    fixed_ports=("next",),
)
