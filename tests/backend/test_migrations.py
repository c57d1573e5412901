"""Migrations create the schema on both databases and can run again safely."""

from __future__ import annotations

from backend.db import Database
from backend.migrations import MIGRATIONS, migrate
from backend.tables import ALL_TABLES


async def test_schema_exists_and_migrate_is_idempotent(database: Database) -> None:
    assert await migrate(database) == []
    for table in ALL_TABLES:
        assert await table.count().run() == 0
    names = [row["name"] for row in await database.fetch("SELECT name FROM castflow_migrations")]
    assert names == [name for name, _ in MIGRATIONS]


async def test_contact_keys_are_unique_per_workspace(database: Database) -> None:
    from datetime import UTC, datetime

    import pytest

    from backend.tables import Contact, Workspace

    now = datetime.now(UTC)
    workspace = (await Workspace.insert(Workspace(name="w", created_at=now)).run())[0]["id"]

    def contact() -> Contact:
        return Contact(workspace=workspace, key="c-1", attributes={}, consent={},
                       consent_changed={}, preferences={}, created_at=now, updated_at=now)

    await Contact.insert(contact()).run()
    with pytest.raises(Exception, match=r"(?i)unique"):
        await Contact.insert(contact()).run()
