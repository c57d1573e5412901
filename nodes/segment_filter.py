"""Segment filter: contacts who match a condition go on by `yes`, the others by `no`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.jsonlogic import Rule, RuleError
from flows.outcomes import Go, Outcome

_YES = Go("yes")
_NO = Go("no")


class SegmentFilterConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    rule: Annotated[Any, msgspec.Meta(title="Only contacts who", description="JsonLogic")] = None
    segment: Annotated[str | None, msgspec.Meta(title="Members of segment")] = None


class SegmentFilterProgram(Program):
    def __init__(self, rule: Rule | None, segment: str | None) -> None:
        self.rule = rule
        self.segment = segment

    def step(self, ctx: StepContext) -> Outcome:
        data = ctx.data()
        if self.rule is None:
            assert self.segment is not None
            return _YES if ctx.segments(self.segment, data) else _NO
        try:
            matched = self.rule.test(data)
        except RuleError as exc:
            # e.g. comparing a text attribute with a number: JsonLogic says "no", and the
            # run's path says why, so "why didn't this contact get it" has an answer.
            return Go("no", reason=f"condition could not be evaluated: {exc}")
        # Go is treated as read-only by the interpreter, so two shared instances suffice.
        return _YES if matched else _NO


def build(config: SegmentFilterConfig, check: ConfigCheck) -> SegmentFilterProgram:
    rule = None
    if (config.rule is None) == (config.segment is None):
        check.problem("give either a condition ('rule') or a segment ('segment'), not both.")
    elif config.rule is not None:
        rule = check.rule("rule", config.rule)
    elif not config.segment:
        check.problem("'segment' is empty: choose a segment.")
    return SegmentFilterProgram(rule, config.segment)


KIND = NodeKind(
    type="segment_filter",
    label="Segment filter",
    description="Lets through (yes) only the contacts who match a condition or a segment; the "
    "others leave by no.",
    config=SegmentFilterConfig,
    ports=lambda config: ("yes", "no"),
    build=build,
    fixed_ports=("yes", "no"),
)
