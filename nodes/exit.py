"""Exit: ends the contact's run here, with an optional reason shown in reports."""

from __future__ import annotations

from typing import Annotated

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.outcomes import Exit, Outcome


class ExitConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    reason: Annotated[str | None, msgspec.Meta(title="Reason")] = None


class ExitProgram(Program):
    def __init__(self, reason: str | None) -> None:
        self.outcome = Exit(reason)

    def step(self, ctx: StepContext) -> Outcome:
        return self.outcome


def build(config: ExitConfig, check: ConfigCheck) -> ExitProgram:
    return ExitProgram(config.reason)


KIND = NodeKind(
    type="exit",
    label="Exit",
    description="Ends the flow for the contact here.",
    config=ExitConfig,
    ports=lambda config: (),
    build=build,
)
