"""Events not matched yet are rows of `events_pending`, added by the database on every insert
into `events` (whatever stores them) and deleted by the worker with what the events did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend import migrations
from backend.db import Database
from backend.runtime import engine, store
from backend.runtime.engine import Runtime
from backend.runtime.queue import RecordingQueue
from backend.runtime.sender import SandboxSender
from flows.contacts import Event

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def workspace(db: Database) -> int:
    rows = await db.fetch("INSERT INTO workspaces (name, created_at) VALUES ({}, {}) "
                          "RETURNING id", "test", T0)
    return int(rows[0]["id"])


async def pending(db: Database) -> list[int]:
    return [int(r["id"]) for r in await db.fetch("SELECT id FROM events_pending ORDER BY id")]


async def test_every_stored_event_is_pending_until_processed(database: Database) -> None:
    db = database
    ws = await workspace(db)
    queue = RecordingQueue()
    events = [Event("c-1", "clicked", "a", T0), Event("c-2", "clicked", None, T0)]
    assert await engine.ingest_events(db, queue, ws, events + events[:1], T0) == 2
    async with store.writing(db):  # the bulk path segments use for their own events
        await store.insert_events(db, [[ws, "b", "c-3", "segment_entered:vip", T0, T0, {}]])
    await db.execute("INSERT INTO events (workspace, key, contact, name, at, received_at, "
                     "properties) VALUES ({}, {}, {}, {}, {}, {}, {})",
                     ws, "c", "c-4", "raw", T0, T0, "{}")
    stored = [int(r["id"]) for r in await db.fetch("SELECT id FROM events ORDER BY id")]
    assert len(stored) == 4 and await pending(db) == stored  # the repeat of "a" is not there
    assert await store.unprocessed_events(db, T0 - timedelta(seconds=1), 10) == []
    assert await store.unprocessed_events(db, T0, 3) == stored[:3]
    runtime = Runtime(db, queue, SandboxSender(db))
    await engine.process_events(runtime, stored[:2], T0)
    assert await pending(db) == stored[2:]
    await engine.process_events(runtime, stored, T0)
    assert await pending(db) == []


async def test_the_migration_makes_unprocessed_events_pending(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [m for m in migrations.MIGRATIONS if m[0] != "0013_events_pending"]
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    db = Database(database_url)
    await db.start()
    try:
        await migrations.migrate(db)
        ws = await workspace(db)
        for key, processed in (("done", T0), ("waiting", None)):
            await db.execute("INSERT INTO events (workspace, key, contact, name, at, "
                             "received_at, properties, processed_at) VALUES "
                             "({}, {}, 'c-1', 'x', {}, {}, {}, {})",
                             ws, key, T0, T0, "{}", processed)
        monkeypatch.undo()
        assert await migrations.migrate(db) == ["0013_events_pending"]
        waiting = await db.fetch("SELECT id FROM events WHERE key = 'waiting'")
        assert await pending(db) == [int(waiting[0]["id"])]
    finally:
        await db.close()
