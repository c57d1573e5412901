"""Events in: stored (a repeated id is ignored) and handed to the worker, in bulk.

`ingest_events` stores one caller's events in one transaction and queues `events` jobs for the
new ones. `EventIngest` is what the API uses: a group commit (`batching.Batcher`) in front of
the same thing, so that concurrent `POST /api/events` requests share one transaction and one
job instead of paying one each (a single-event request cost a transaction with its commit and
a job of about ten queries in the worker).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from backend.db import Database
from backend.runtime import store
from backend.runtime.batching import Batcher
from backend.runtime.queue import Queue
from flows.contacts import Event

CHUNK = 500  # event ids per `events` job
T = TypeVar("T")

Arrival = tuple[int, Event, datetime]  # (workspace, event, when it was received)


async def ingest_events(
    db: Database, queue: Queue, workspace: int, events: list[Event], now: datetime
) -> int:
    """Store events (a repeated id is ignored; no `at` means now; an unknown contact gets a bare
    profile) and queue them for the worker. Returns the number of new events stored."""
    return sum(await ingest_arrivals(db, queue, [(workspace, e, now) for e in events]))


async def ingest_arrivals(db: Database, queue: Queue, arrivals: list[Arrival]) -> list[bool]:
    """Store events of any workspaces in one transaction, then queue their jobs. Returns, per
    event, whether it is new: an event whose id is already stored, or appears earlier in the
    same call, is not."""
    if not arrivals:
        return []
    rows = [[ws, e.id, e.contact, e.name, e.at or now, now, e.properties]
            for ws, e, now in arrivals]
    contacts: dict[int, set[str]] = {}
    for ws, event, _ in arrivals:
        contacts.setdefault(ws, set()).add(event.contact)
    async with store.writing(db):
        for ws, keys in contacts.items():
            await store.insert_bare_contacts(db, ws, keys, arrivals[0][2])
        inserted = await store.insert_events(db, rows)
    fresh = {(ws, key) for _, ws, key in inserted if key is not None}
    new = []
    for ws, event, _ in arrivals:
        if event.id is None:
            new.append(True)
        else:
            new.append((ws, event.id) in fresh)
            fresh.discard((ws, event.id))  # a repeat later in the batch is not new
    for chunk in chunks([event_id for event_id, _, _ in inserted], CHUNK):
        await queue.enqueue("events", chunk)
    return new


class EventIngest:
    """Group commit of concurrent callers' events (see the module docstring)."""

    def __init__(self, db: Database, queue: Queue, max_events: int = 5000) -> None:
        self.db, self.queue = db, queue
        self._batcher: Batcher[Arrival, bool] = Batcher(self._store, max_events)

    async def _store(self, arrivals: list[Arrival]) -> list[bool]:
        return await ingest_arrivals(self.db, self.queue, arrivals)

    async def ingest(self, workspace: int, events: list[Event], now: datetime) -> int:
        """Like `ingest_events`, sharing the transaction with concurrent callers."""
        return sum(await self._batcher.submit([(workspace, e, now) for e in events]))


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for begin in range(0, len(items), size):
        yield list(items[begin:begin + size])

