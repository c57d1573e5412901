"""Shared by the segment SQL tests: store contacts and events, count and list members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.db import Database
from backend.runtime import store as runtime_store
from backend.segments.sql import Dialect, compile_segment
from backend.store import contacts as contact_store
from backend.tables import Workspace
from flows.contacts import Contact
from flows.segments import SegmentRule

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def dialect(db: Database) -> Dialect:
    return "sqlite" if db.is_sqlite else "postgresql"


async def workspace(db: Database, name: str = "w") -> int:
    rows = await Workspace.insert(Workspace(name=name, created_at=T0)).run()
    return int(rows[0]["id"])


async def store_contacts(db: Database, ws: int, contacts: Sequence[Mapping[str, Any]]) -> None:
    """Contacts as given (the DESIGN.md shape), through the contact store."""
    updates = [(msgspec.convert(dict(c), Contact), list(c)) for c in contacts]
    await contact_store.upsert(db, ws, updates, T0)


async def store_events(
    db: Database, ws: int, events: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """Events as (contact id, {"name", "at", "properties"}), through the runtime's ingestion."""
    rows = [[ws, None, contact, e["name"], e["at"], T0, e.get("properties") or {}]
            for contact, e in events]
    for start in range(0, len(rows), 500):
        async with db.write():
            await runtime_store.insert_events(db, rows[start:start + 500])


async def members(
    db: Database, ws: int, rule: SegmentRule, now: datetime, segments: Any = None,
    bulk: bool = False,
) -> set[str]:
    condition = compile_segment(rule, dialect(db), now, segments, bulk=bulk)
    rows = await db.fetch(
        f"SELECT c.key FROM contacts c {condition.joins} "
        f"WHERE c.workspace = {{}} AND ({condition.sql})",
        *condition.join_params, ws, *condition.params,
    )
    return {row["key"] for row in rows}


async def count(db: Database, ws: int, rule: SegmentRule, now: datetime,
                bulk: bool = False) -> int:
    condition = compile_segment(rule, dialect(db), now, bulk=bulk)
    rows = await db.fetch(
        f"SELECT count(*) AS n FROM contacts c {condition.joins} "
        f"WHERE c.workspace = {{}} AND ({condition.sql})",
        *condition.join_params, ws, *condition.params,
    )
    return int(rows[0]["n"])
