"""The worker's side of segments: re-evaluate memberships after events, and sweep time-window
segments periodically. Entries and exits that live flows listen for come back as events, which
are queued for the worker's event matching like any other event."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from backend.db import Database, any_of, list_param
from backend.runtime.queue import Queue
from backend.segments import refresh
from backend.segments.membership import Refresh

log = logging.getLogger("castflow.segments")


async def after_events(db: Database, queue: Queue, event_ids: Iterable[int], now: datetime
                       ) -> Refresh:
    """Re-evaluate, for the events' contacts, the segments that count events of their names.

    Runs before the events are marked processed: a job lost half-way is redone by the sweeper,
    and a second refresh changes nothing that the first already changed."""
    ids = [int(i) for i in event_ids]
    result = Refresh()
    if not ids:
        return result
    rows = await db.fetch(
        f"SELECT workspace, contact, name FROM events WHERE {any_of(db, 'id', 'int')}",
        list_param(db, ids),
    )
    by_workspace: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        by_workspace.setdefault(int(row["workspace"]), []).append((row["contact"], row["name"]))
    for workspace, pairs in by_workspace.items():
        result.add(await refresh.after_events(db, workspace, pairs, now))
    await _queue(queue, result)
    return result


async def time_based(db: Database, queue: Queue, now: datetime) -> Refresh:
    result = await refresh.time_based(db, now)
    if result.changes:
        log.info("segments: %d membership change(s) from the passing of time",
                 len(result.changes))
    await _queue(queue, result)
    return result


async def _queue(queue: Queue, result: Refresh) -> None:
    if result.events:
        await queue.enqueue("events", result.events)
