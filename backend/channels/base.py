"""The provider interface: one message in, one outcome out; and the retry wrapper around it.

A provider never raises for a delivery problem: it answers `Accepted` (with the provider's own
message id), `Transient` (worth trying again: timeouts, refused connections, 429, 5xx) or
`Permanent` (trying again cannot help: the provider's reason says why). `Retrying` turns
transient errors into a bounded number of attempts with exponential backoff and full jitter,
always with the same message, hence the same idempotency key (`message.key`, `run:node:step`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from backend.runtime.sender import OutgoingMessage

__all__ = [
    "Accepted",
    "OutgoingMessage",
    "Permanent",
    "Provider",
    "RetryPolicy",
    "Retrying",
    "SendOutcome",
    "Transient",
]

# Provider reasons end up on message rows and in the app: long HTML error pages are cut.
MAX_REASON_LENGTH = 500


class Accepted(msgspec.Struct, frozen=True):
    """The provider took the message; `provider_id` is its id for it (for delivery reports)."""

    provider_id: str


class Transient(msgspec.Struct, frozen=True):
    """Not delivered this time, worth another try. `retry_after`: seconds the provider asked for."""

    reason: str
    retry_after: float | None = None


class Permanent(msgspec.Struct, frozen=True):
    """Refused for good (bad address, rejected content, bad credentials): the provider's reason."""

    reason: str


SendOutcome = Accepted | Transient | Permanent


def short_reason(text: str) -> str:
    """A reason fit for a message row: one line, bounded length."""
    flat = " ".join(text.split())
    if len(flat) <= MAX_REASON_LENGTH:
        return flat
    return flat[: MAX_REASON_LENGTH - 3] + "..."


class Provider(Protocol):
    """Delivers messages of one channel. Implementations keep their connections open between
    sends (`aclose` releases them) and pass `message.key` on as the idempotency key where the
    provider's API accepts one."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendOutcome: ...

    async def aclose(self) -> None: ...


class RetryPolicy(msgspec.Struct, frozen=True):
    """`attempts` in all (the first included); the n-th retry waits a random time in
    [0, min(cap, base * 2**(n-1))] ("full jitter"), or what the provider asked for if longer
    (bounded by `cap`)."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 30.0

    def delay(self, retry: int, draw: float, asked: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based); `draw` is uniform in [0, 1)."""
        ceiling = min(self.cap, self.base * 2.0 ** (retry - 1))
        wait = ceiling * draw
        if asked is not None:
            wait = max(wait, min(asked, self.cap))
        return wait


Sleep = Callable[[float], Awaitable[None]]


class Retrying:
    """Wraps a provider: transient outcomes are retried with backoff, up to the policy's bound.

    The same `OutgoingMessage` goes to every attempt, so the idempotency key never changes. A
    network error escaping the provider counts as transient; any other exception (a bug)
    propagates, so the caller's job fails and is tried again later: the message is not lost.
    """

    def __init__(
        self,
        provider: Provider,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self.name = provider.name
        self._sleep = sleep
        self._draw = draw

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        outcome: SendOutcome = Transient("not attempted")
        for attempt in range(1, max(1, self.policy.attempts) + 1):
            if attempt > 1:
                asked = outcome.retry_after if isinstance(outcome, Transient) else None
                await self._sleep(self.policy.delay(attempt - 1, self._draw(), asked))
            try:
                outcome = await self.provider.send(message)
            except (OSError, TimeoutError) as error:
                outcome = Transient(short_reason(f"{type(error).__name__}: {error}"))
            if not isinstance(outcome, Transient):
                return outcome
        return outcome

    async def aclose(self) -> None:
        await self.provider.aclose()
