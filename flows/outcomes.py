"""What a node's step returns: an outcome, as plain data.

A step never sends, sleeps or writes. It says what should happen, and the interpreter (driven by the
live runtime or by the simulator) makes it happen. This is what lets a dry run predict a live run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Go:
    """Leave by `port` now."""

    port: str
    # Why candidates were skipped (channel choice) or why a send failed: shown in the run's path.
    reasons: dict[str, str] | None = None
    reason: str | None = None
    chosen_channel: str | None = None
    set_attributes: dict[str, Any] | None = None


@dataclass(slots=True)
class Sleep:
    """Wait until `until`, then leave by `port`."""

    until: datetime
    port: str = "next"


@dataclass(slots=True)
class Await:
    """Wait for the event `event` (as filtered by the node's `accepts`) until `until`.

    The run leaves by `event` when a matching event arrives after it reached the node, else by
    `timeout` at `until`.
    """

    event: str
    until: datetime


@dataclass(slots=True)
class MessageDraft:
    channel: str
    to: str
    content: dict[str, str]
    topic: str | None = None


@dataclass(slots=True)
class Send:
    """Hand `message` to the channel; the run leaves by `sent`, or by `failed` with the reason."""

    message: MessageDraft


@dataclass(slots=True)
class Exit:
    reason: str | None = None


Outcome = Go | Sleep | Await | Send | Exit


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """How contacts enter the flow through a trigger node (read by the shells, not by steps)."""

    on: str  # event | segment_entered | segment_exited | schedule | api
    event: str | None = None
    segment: str | None = None
    include_current: bool = False
    at: datetime | None = None
    cron: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
