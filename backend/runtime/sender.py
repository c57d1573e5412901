"""Channel providers, behind one interface: hand over messages, keyed by idempotency key.

The engine writes each message row (status `queued`) under its key `run:node:step` before it calls
`send`, and calls `send` again with the same key after a crash. A provider must therefore treat a
key it has already accepted as accepted: the key is the idempotency key real providers get.

The engine records each result on the message row (`sent`, or `failed` with the reason) in the
same transaction that moves the run on, so a message's status and its run never disagree.

`SandboxSender` is the default: it accepts every message and delivers nothing, so its rows
become `sent` (visible through the API). Real providers arrive later behind the same `Sender`
protocol.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

from backend.db import Database


class OutgoingMessage(msgspec.Struct, frozen=True):
    key: str  # run:node:step, the idempotency key
    workspace: int
    contact: str
    channel: str
    to: str
    content: dict[str, Any]
    topic: str | None = None


class DeliveryResult(msgspec.Struct, frozen=True):
    key: str
    status: Literal["sent", "failed"]
    reason: str | None = None  # why it failed, in the delivery policy's words
    provider_id: str | None = None  # the provider's own id (e.g. Twilio's SID), for its reports


class Sender(Protocol):
    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        """One result per message (any order, matched by key). Raising means: try again later."""
        ...


class SandboxSender(Sender):
    """Records messages without delivering them: every one is accepted, so its row (written by
    the engine before this call) becomes `sent`. Idempotent per key, as providers must be."""

    def __init__(self, db: Database | None = None) -> None:
        self.db = db  # kept for providers' shape; the sandbox needs nothing but the rows

    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        return [DeliveryResult(m.key, "sent") for m in messages]
