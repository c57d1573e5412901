"""Events as stored by the runtime's ingestion: read side for the API (contact timelines).

Writing events belongs to `backend.runtime.engine.ingest_events`, which also hands them on.
"""

from __future__ import annotations

from typing import Any

from backend.db import Database
from backend.store.flows import json_column


async def for_contact(
    db: Database, workspace: int, contact: str, limit: int
) -> list[dict[str, Any]]:
    """A contact's latest events by their time, newest first."""
    rows = await db.fetch(
        "SELECT id, key, name, at, received_at, properties FROM events "
        "WHERE workspace = {} AND contact = {} "
        f"ORDER BY at DESC, id DESC LIMIT {int(limit)}",
        workspace, contact,
    )
    for row in rows:
        row["properties"] = json_column(row["properties"]) or {}
    return rows
