"""Events in: stored (a repeated id is ignored) and handed to the worker, in bulk.

`ingest_events` stores one caller's events in one transaction and queues `events` jobs for the
new ones. `EventIngest` is what the API uses: a group commit (`batching.Batcher`) in front of
the same thing, so that concurrent `POST /api/events` requests share one transaction and one
job instead of paying one each (a single-event request cost a transaction with its commit and
a job of about ten queries in the worker). Storing and queueing are two group commits in a
row: while one batch's job goes to Redis, the next batch's transaction runs.
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
    stored = await store_arrivals(db, arrivals)
    await queue_events(queue, [event_id for event_id in stored if event_id is not None])
    return [event_id is not None for event_id in stored]


async def queue_events(queue: Queue, event_ids: list[int]) -> None:
    for chunk in chunks(event_ids, CHUNK):
        await queue.enqueue("events", chunk)


async def store_arrivals(db: Database, arrivals: list[Arrival]) -> list[int | None]:
    """Store events of any workspaces in one transaction. Returns, per event, its new id, or
    None when it is not new: its id is already stored, or appears earlier in the call."""
    if not arrivals:
        return []
    rows = [[ws, e.id, e.contact, e.name, e.at or now, now, e.properties]
            for ws, e, now in arrivals]
    contacts: dict[int, set[str]] = {}
    for ws, event, _ in arrivals:
        contacts.setdefault(ws, set()).add(event.contact)
    inserted = await store.store_events(db, contacts, rows, arrivals[0][2])
    keyed = {(ws, key): event_id for event_id, ws, key in inserted if key is not None}
    unkeyed = iter([event_id for event_id, _, key in inserted if key is None])
    ids: list[int | None] = []
    for ws, event, _ in arrivals:
        # A repeat later in the call finds its id taken by the first: it is not new.
        ids.append(next(unkeyed) if event.id is None else keyed.pop((ws, event.id), None))
    return ids


class EventIngest:
    """Group commit of concurrent callers' events (see the module docstring)."""

    def __init__(self, db: Database, queue: Queue, max_events: int = 5000) -> None:
        self.db, self.queue = db, queue
        self._stores: Batcher[Arrival, int | None] = Batcher(self._store, max_events)
        self._jobs: Batcher[int, None] = Batcher(self._queue, max_events)

    async def _store(self, arrivals: list[Arrival]) -> list[int | None]:
        return await store_arrivals(self.db, arrivals)

    async def _queue(self, event_ids: list[int]) -> list[None]:
        await queue_events(self.queue, event_ids)
        return [None] * len(event_ids)

    async def ingest(self, workspace: int, events: list[Event], now: datetime) -> int:
        """Like `ingest_events`, sharing the transaction and the job with concurrent callers."""
        stored = await self._stores.submit([(workspace, e, now) for e in events])
        new = [event_id for event_id in stored if event_id is not None]
        await self._jobs.submit(new)
        return len(new)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for begin in range(0, len(items), size):
        yield list(items[begin:begin + size])

