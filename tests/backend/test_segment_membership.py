"""Dynamic membership on both databases: incremental re-evaluation after events and profile
changes (only the segments that depend on them), periodic bulk re-evaluation of time-window
segments, and entries/exits recorded and turned into events exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from backend.db import Database
from backend.runtime.queue import RecordingQueue
from backend.segments import jobs
from backend.segments import store as segments
from backend.segments.membership import listened_events
from backend.segments.refresh import after_contacts_changed, after_segment_saved
from backend.store import contacts as contact_store
from flows.contacts import Contact

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
WS = 1

BUYERS = {">=": [{"event_count": {"name": "purchased", "days": 90}}, 2]}
DORMANT = {"==": [{"event_count": {"name": "email_opened", "days": 21}}, 0]}
ITALIANS = {"==": [{"var": "contact.attributes.country"}, "IT"]}


async def _workspace(db: Database) -> None:
    await db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ({}, {}, {}) "
                     "ON CONFLICT DO NOTHING", WS, "default", NOW)


async def _contacts(db: Database, *contacts: dict[str, Any]) -> None:
    updates = [(msgspec.convert(c, Contact), set(c)) for c in contacts]
    await contact_store.upsert(db, WS, updates, NOW)


async def _event(db: Database, contact: str, name: str, at: datetime) -> int:
    rows = await db.fetch(
        "INSERT INTO events (workspace, key, contact, name, at, received_at, properties) "
        "VALUES ({}, NULL, {}, {}, {}, {}, {}) RETURNING id",
        WS, contact, name, at, at, "{}",
    )
    return int(rows[0]["id"])


async def _segment(db: Database, key: str, rule: Any, at: datetime = NOW) -> None:
    async with db.write():
        await segments.insert(db, WS, key, key, rule, at)
    await after_segment_saved(db, WS, key, at, "segment created")


async def _members(db: Database, key: str) -> dict[str, str]:
    rows = await db.fetch(
        "SELECT m.contact, m.reason FROM segment_members m JOIN segments s ON s.id = m.segment "
        "WHERE s.key = {}", key)
    return {row["contact"]: row["reason"] for row in rows}


async def _history(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetch("SELECT contact, kind FROM segment_changes ORDER BY id")
    return [(row["contact"], row["kind"]) for row in rows]


async def test_an_event_moves_only_its_contact_into_event_segments(database: Database) -> None:
    await _workspace(database)
    await _contacts(database, {"id": "a"}, {"id": "b"})
    await _segment(database, "buyers", BUYERS)
    await _segment(database, "italians", ITALIANS)
    first = await _event(database, "a", "purchased", NOW - timedelta(days=3))
    queue = RecordingQueue()
    result = await jobs.after_events(database, queue, [first], NOW)
    assert result.changes == []
    second = await _event(database, "a", "purchased", NOW - timedelta(days=1))
    other = await _event(database, "b", "page_view", NOW)
    result = await jobs.after_events(database, queue, [second, other], NOW)
    assert [(c.segment.key, c.contact, c.kind) for c in result.changes] == [
        ("buyers", "a", "entered")]
    assert await _members(database, "buyers") == {"a": "event 'purchased' received"}
    again = await jobs.after_events(database, queue, [second], NOW)  # a job delivered twice
    assert again.changes == []
    assert await _history(database) == [("a", "entered")]
    assert queue.take() == []  # no live flow listens: no events


async def test_time_passing_moves_contacts_in_bulk(database: Database) -> None:
    await _workspace(database)
    await _contacts(database, {"id": "a"}, {"id": "b"}, {"id": "c"})
    await _event(database, "a", "email_opened", NOW - timedelta(days=20))
    await _event(database, "b", "email_opened", NOW - timedelta(days=2))
    await _segment(database, "dormant", DORMANT)
    assert await _members(database, "dormant") == {"c": "segment created"}
    later = NOW + timedelta(days=2)  # a's open is now 22 days old
    result = await jobs.time_based(database, RecordingQueue(), later)
    assert [(c.contact, c.kind) for c in result.changes] == [("a", "entered")]
    assert (await _members(database, "dormant"))["a"] == "time passed (periodic re-evaluation)"
    opened = await _event(database, "a", "email_opened", later)
    result = await jobs.after_events(database, RecordingQueue(), [opened], later)
    assert [(c.contact, c.kind) for c in result.changes] == [("a", "exited")]
    assert set(await _members(database, "dormant")) == {"c"}
    assert (await jobs.time_based(database, RecordingQueue(), later)).changes == []


async def test_profile_changes_touch_only_contact_segments(database: Database) -> None:
    await _workspace(database)
    await _contacts(database, {"id": "a", "attributes": {"country": "FR"}})
    await _segment(database, "italians", ITALIANS)
    await _segment(database, "both", {"and": [{"in_segment": "italians"}, BUYERS]})
    defs = await segments.definitions(database, WS)
    assert {s.key for s in defs.affected(contact=True)} == {"italians", "both"}
    assert {s.key for s in defs.affected(events=["purchased"])} == {"both"}
    assert {s.key for s in defs.time_based()} == {"both"}
    await _contacts(database, {"id": "a", "attributes": {"country": "IT"}})
    result = await after_contacts_changed(database, WS, ["a"], NOW)
    assert [(c.segment.key, c.kind) for c in result.changes] == [("italians", "entered")]


async def test_changes_become_events_only_for_listened_segments(database: Database) -> None:
    await _workspace(database)
    await _contacts(database, {"id": "a", "attributes": {"country": "FR"}})
    await _segment(database, "italians", ITALIANS)
    document = {"format": "castflow.flow/1", "name": "f", "nodes": [
        {"id": "t", "type": "trigger", "config": {"on": "segment_exited", "segment": "italians"}}
    ], "edges": []}
    flow = await database.fetch(
        "INSERT INTO flows (workspace, name, description, document, status, created_at, "
        "updated_at) VALUES ({}, 'f', '', {}, 'live', {}, {}) RETURNING id",
        WS, msgspec.json.encode(document).decode(), NOW, NOW)
    await database.execute(
        "INSERT INTO flow_versions (flow, number, document, content_hash, published_at, current) "
        "VALUES ({}, 1, {}, 'h', {}, {})",
        flow[0]["id"], msgspec.json.encode(document).decode(), NOW, True)
    assert await listened_events(database, WS + 1000) == frozenset()
    await _contacts(database, {"id": "a", "attributes": {"country": "IT"}})
    entered = await after_contacts_changed(database, WS, ["a"], NOW)
    assert entered.events == []  # nobody listens for entries
    await _contacts(database, {"id": "a", "attributes": {"country": "DE"}})
    exited = await after_contacts_changed(database, WS, ["a"], NOW)
    assert len(exited.events) == 1
    [event] = await database.fetch("SELECT name, contact, key FROM events")
    assert event["name"] == "segment_exited:italians" and event["contact"] == "a"
