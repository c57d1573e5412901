"""Schema migrations: numbered steps, applied in order, each recorded once.

`castflow migrate` runs them; it is safe to run again (applied steps are skipped) and from two
processes at once (the bookkeeping table's primary key lets only one record a step).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from backend.db import Database
from backend.tables import ALL_TABLES

Migration = Callable[[Database], Awaitable[None]]


async def _initial_schema(db: Database) -> None:
    for table in ALL_TABLES:
        await table.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    # Indexes piccolo's column options cannot express (composite and partial ones).
    statements = [
        "CREATE UNIQUE INDEX IF NOT EXISTS contacts_workspace_key ON contacts (workspace, key)",
        "CREATE UNIQUE INDEX IF NOT EXISTS events_workspace_key ON events (workspace, key) "
        "WHERE key IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS events_contact_at ON events (workspace, contact, at)",
        "CREATE UNIQUE INDEX IF NOT EXISTS flow_versions_number ON flow_versions (flow, number)",
        "CREATE INDEX IF NOT EXISTS runs_due ON runs (status, wake_at)",
        "CREATE INDEX IF NOT EXISTS runs_contact ON runs (workspace, contact, status)",
        "CREATE INDEX IF NOT EXISTS runs_flow ON runs (flow, contact)",
        "CREATE UNIQUE INDEX IF NOT EXISTS run_steps_seq ON run_steps (run, seq)",
        "CREATE INDEX IF NOT EXISTS run_steps_version ON run_steps (version, node)",
        "CREATE INDEX IF NOT EXISTS messages_contact ON messages (workspace, contact)",
        "CREATE INDEX IF NOT EXISTS messages_flow ON messages (flow, status)",
    ]
    for sql in statements:
        await db.execute(sql)


async def _events_processed_at(db: Database) -> None:
    # 0001 databases predate the column; new ones got it from the table definition.
    columns = await db.fetch(
        "SELECT name FROM pragma_table_info('events')" if db.is_sqlite else
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_name = 'events'"
    )
    if "processed_at" not in {row["name"] for row in columns}:
        kind = "TIMESTAMP" if db.is_sqlite else "TIMESTAMPTZ"
        await db.execute(f"ALTER TABLE events ADD COLUMN processed_at {kind} NULL")
    await db.execute(
        "CREATE INDEX IF NOT EXISTS events_unprocessed ON events (received_at) "
        "WHERE processed_at IS NULL"
    )


async def _segments(db: Database) -> None:
    from backend.tables import Segment, SegmentChange, SegmentMember

    for table in (Segment, SegmentMember, SegmentChange):
        await table.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    for sql in (
        "CREATE UNIQUE INDEX IF NOT EXISTS segments_workspace_key ON segments (workspace, key)",
        "CREATE UNIQUE INDEX IF NOT EXISTS segment_members_contact "
        "ON segment_members (segment, contact)",
        "CREATE INDEX IF NOT EXISTS segment_members_of_contact "
        "ON segment_members (workspace, contact)",
        "CREATE INDEX IF NOT EXISTS segment_changes_contact "
        "ON segment_changes (workspace, contact, at)",
        # Event aggregates of segment rules count a contact's events of one name since a time.
        "CREATE INDEX IF NOT EXISTS events_contact_name_at "
        "ON events (workspace, contact, name, at)",
    ):
        await db.execute(sql)


async def _delivery_policy(db: Database) -> None:
    from backend.tables import PolicySettingsRow, SuppressionRow

    for table in (PolicySettingsRow, SuppressionRow):
        await table.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    for sql in (
        "CREATE UNIQUE INDEX IF NOT EXISTS suppressions_address "
        "ON suppressions (workspace, channel, address)",
        # Frequency caps count a contact's recent messages on a channel.
        "CREATE INDEX IF NOT EXISTS messages_contact_channel_at "
        "ON messages (workspace, contact, channel, created_at)",
    ):
        await db.execute(sql)


async def _templates(db: Database) -> None:
    from backend.tables import MessageTemplate, MessageTemplateVersion

    for table in (MessageTemplate, MessageTemplateVersion):
        await table.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    for sql in (
        "CREATE UNIQUE INDEX IF NOT EXISTS templates_workspace_key ON templates (workspace, key)",
        "CREATE UNIQUE INDEX IF NOT EXISTS template_versions_number "
        "ON template_versions (template, number)",
    ):
        await db.execute(sql)


async def _channel_settings(db: Database) -> None:
    from backend.tables import ChannelSettingRow

    await ChannelSettingRow.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    await db.execute("CREATE UNIQUE INDEX IF NOT EXISTS channel_settings_channel "
                     "ON channel_settings (workspace, channel)")


async def _message_provider_id(db: Database) -> None:
    # Twilio's status callbacks name a message only by its SID: keep it, indexed, to find it.
    columns = await db.fetch(
        "SELECT name FROM pragma_table_info('messages')" if db.is_sqlite else
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_name = 'messages'"
    )
    if "provider_id" not in {row["name"] for row in columns}:
        await db.execute("ALTER TABLE messages ADD COLUMN provider_id VARCHAR(200) NULL")
    await db.execute("CREATE INDEX IF NOT EXISTS messages_provider_id ON messages (provider_id) "
                     "WHERE provider_id IS NOT NULL")


async def _segment_indexes(db: Database) -> None:
    """Segment evaluation over a whole workspace (backend/segments/sql.py): attribute string
    equality is also compiled as `attributes @> ...`, which the GIN index answers; the bulk
    mode's grouped pass over one event name in a time window reads (workspace, name, at)
    and the contact from the index alone. PostgreSQL only (SQLite has no GIN, INCLUDE)."""
    if db.is_sqlite:
        return
    await db.execute("CREATE INDEX IF NOT EXISTS contacts_attributes_gin ON contacts "
                     "USING gin (attributes jsonb_path_ops)")
    await db.execute("CREATE INDEX IF NOT EXISTS events_name_at ON events "
                     "(workspace, name, at) INCLUDE (contact)")


async def _lean_runtime_indexes(db: Database) -> None:
    """What every run step or message paid for and nothing used. Indexes no query reads:
    `run_steps_version` (version, node): nothing reads run_steps by version (stats read by flow,
    paths by run). `messages_contact` (workspace, contact): a prefix of
    `messages_contact_channel_at` (0006), which answers every lookup it answered."""
    for name in ("run_steps_version", "messages_contact"):
        await db.execute(f"DROP INDEX IF EXISTS {name}")
    if db.is_sqlite:
        return
    # PostgreSQL: run_steps.flow and .version copy their run's (the engine writes them from
    # it) and are checked through run_steps.run -> runs, whose own keys reference the flow and
    # its version; deleting a flow deletes its steps explicitly. Their checks took each
    # inserted step's flow and version rows FOR KEY SHARE: every concurrent transaction of a
    # broadcast locking the same two rows (multixacts), 45% of a step insert and the server's
    # largest cost. SQLite has no row locks (one writer) and would need the table rebuilt.
    await db.execute("ALTER TABLE run_steps DROP CONSTRAINT IF EXISTS run_steps_flow_fkey, "
                     "DROP CONSTRAINT IF EXISTS run_steps_version_fkey")


async def _drop_events_contact_at(db: Database) -> None:
    """Every query by contact also names the event (segment aggregates, their evaluation in
    Python) or reads a few rows to sort (a contact's timeline), so (workspace, contact, name,
    at) serves them all; keeping (workspace, contact, at) as well cost 40% of an event insert
    on SQLite (its entries land at random places, one per event)."""
    await db.execute("DROP INDEX IF EXISTS events_contact_at")


async def _run_id_counter(db: Database) -> None:
    """SQLite: the largest id ever given per table (runs, flows, flow versions), kept apart
    from the tables (`backend.db.fresh_sqlite_ids`). MAX(id) + 1 gave a deleted flow's ids
    again: a new run's send collided with an old message's key (run:node:step) and was never
    recorded, and a worker ran a deleted flow's cached plan for a new version. (PostgreSQL's
    sequences never go back.)"""
    if not db.is_sqlite:
        return
    await db.execute("CREATE TABLE IF NOT EXISTS id_counters "
                     "(name VARCHAR(50) PRIMARY KEY, value INTEGER NOT NULL)")


async def _events_pending(db: Database) -> None:
    """Events not matched yet are rows of a narrow table, added by the database itself on every
    insert into `events` (whichever code path stores them) and deleted by the worker in the
    transaction that writes what they did. Marking a wide `events` row processed rewrote it
    and, since `processed_at` decides the partial index `events_unprocessed`, every index of
    the table with it: 22 us of PostgreSQL's CPU per event against 2 us for deleting a pending
    row. `processed_at` is no longer written; the rows it marked unprocessed move here."""
    kind = "TIMESTAMP" if db.is_sqlite else "TIMESTAMPTZ"
    await db.execute("CREATE TABLE IF NOT EXISTS events_pending "
                     f"(id INTEGER PRIMARY KEY, received_at {kind} NOT NULL)")
    await db.execute("INSERT INTO events_pending (id, received_at) SELECT id, received_at "
                     "FROM events WHERE processed_at IS NULL")
    if db.is_sqlite:
        await db.execute(
            "CREATE TRIGGER IF NOT EXISTS events_pending_add AFTER INSERT ON events BEGIN "
            "INSERT INTO events_pending (id, received_at) VALUES (NEW.id, NEW.received_at); END")
    else:  # once per statement, from the rows it inserted (a repeat skipped is not there)
        await db.execute(
            "CREATE OR REPLACE FUNCTION events_pending_add() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN INSERT INTO events_pending (id, received_at) SELECT id, received_at "
            "FROM inserted; RETURN NULL; END $$")
        await db.execute("DROP TRIGGER IF EXISTS events_pending_add ON events")
        await db.execute(
            "CREATE TRIGGER events_pending_add AFTER INSERT ON events REFERENCING NEW TABLE AS "
            "inserted FOR EACH STATEMENT EXECUTE FUNCTION events_pending_add()")
    await db.execute("DROP INDEX IF EXISTS events_unprocessed")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial_schema", _initial_schema),
    ("0002_events_processed_at", _events_processed_at),
    ("0003_segments", _segments),
    ("0006_delivery_policy", _delivery_policy),
    ("0004_templates", _templates),
    ("0009_channel_settings", _channel_settings),
    ("0008_message_provider_id", _message_provider_id),
    ("0007_segment_indexes", _segment_indexes),
    ("0010_lean_runtime_indexes", _lean_runtime_indexes),
    ("0011_drop_events_contact_at", _drop_events_contact_at),
    ("0012_run_id_counter", _run_id_counter),
    ("0013_events_pending", _events_pending),
]


async def migrate(db: Database) -> list[str]:
    """Apply every migration not applied yet; returns the names applied now."""
    if db.is_sqlite:
        # WAL lets readers (the API) work while the worker writes; it is stored in the file.
        await db.execute("PRAGMA journal_mode = WAL")
    await db.execute(
        "CREATE TABLE IF NOT EXISTS castflow_migrations (name VARCHAR(200) PRIMARY KEY, "
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
    )
    done = {row["name"] for row in await db.fetch("SELECT name FROM castflow_migrations")}
    applied: list[str] = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        async with db.write():
            await step(db)
            await db.execute("INSERT INTO castflow_migrations (name) VALUES ({})", name)
        applied.append(name)
    return applied
