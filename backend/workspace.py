"""The default workspace: where users, API keys and data live until workspaces can be chosen."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.db import Database

DEFAULT_NAME = "Default"

# Any constant works; it only has to be the same in every process that creates the workspace.
_ADVISORY_LOCK = 0x43617374  # "Cast"


async def default_workspace(db: Database) -> int:
    """The id of the "Default" workspace, created on first use.

    Two processes asking at once (`castflow user create` next to a starting server) get the
    same workspace: creation runs in a write transaction, serialised on SQLite by the write
    lock and on PostgreSQL by an advisory lock held until the transaction ends.
    """
    found = await _find(db)
    if found is not None:
        return found
    async with db.write():
        if not db.is_sqlite:
            await db.execute("SELECT pg_advisory_xact_lock({})", _ADVISORY_LOCK)
        found = await _find(db)
        if found is not None:
            return found
        rows = await db.fetch(
            "INSERT INTO workspaces (name, created_at) VALUES ({}, {}) RETURNING id",
            DEFAULT_NAME, datetime.now(UTC),
        )
        return int(rows[0]["id"])


async def _find(db: Database) -> int | None:
    rows = await db.fetch(
        "SELECT id FROM workspaces WHERE name = {} ORDER BY id LIMIT 1", DEFAULT_NAME
    )
    return int(rows[0]["id"]) if rows else None
