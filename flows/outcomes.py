"""What a node's step returns: an outcome, as plain data (msgspec structs: cheap to build).

A step never sends, sleeps or writes. It says what should happen, and the interpreter (driven by the
live runtime or by the simulator) makes it happen. This is what lets a dry run predict a live run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class MessageDraft(msgspec.Struct, gc=False):
    channel: str
    to: str
    content: dict[str, str]
    topic: str | None = None


class Go(msgspec.Struct, gc=False):
    """Leave by `port` now."""

    port: str
    # Why candidates were skipped (channel choice) or why a send failed: shown in the run's path.
    reasons: dict[str, str] | None = None
    reason: str | None = None
    chosen_channel: str | None = None
    set_attributes: dict[str, Any] | None = None
    # A send the delivery policy refused: the message it would have been (`to` may be empty),
    # so the shell can keep a record of it (status `refused`, with `reason`).
    refused: MessageDraft | None = None


class Sleep(msgspec.Struct, gc=False):
    """Wait until `until`, then leave by `port`."""

    until: datetime
    port: str = "next"


class Await(msgspec.Struct, gc=False):
    """Wait for the event `event` (as filtered by the node's `accepts`) until `until`.

    The run leaves by `event` when a matching event arrives after it reached the node, else by
    `timeout` at `until`.
    """

    event: str
    until: datetime


class Send(msgspec.Struct, gc=False):
    """Hand `message` to the channel; the run leaves by `sent`, or by `failed` with the reason."""

    message: MessageDraft


class Retry(msgspec.Struct, gc=False):
    """Step this node again at `until` (the delivery policy deferred a send: `reason` is
    `quiet_hours` or `capped`). The run waits on the node meanwhile."""

    until: datetime
    reason: str


class Exit(msgspec.Struct, gc=False):
    reason: str | None = None


Outcome = Go | Sleep | Await | Send | Retry | Exit


class TriggerSpec(msgspec.Struct, frozen=True):
    """How contacts enter the flow through a trigger node (read by the shells, not by steps)."""

    on: str  # event | segment_entered | segment_exited | schedule | api
    event: str | None = None
    segment: str | None = None
    include_current: bool = False
    at: datetime | None = None
    cron: str | None = None
