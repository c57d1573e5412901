"""SQL for the live runtime: runs, run steps, messages, events, flow versions. Bulk by design.

Writes of many rows pass ONE parameter, a JSON array of row arrays, unpacked by the database
(`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL): one statement per table per batch,
no parameter limits, no per-row round trips, and the ORM stays off the per-contact path. The
exception: on PostgreSQL the two batch UPDATEs (run compare-and-set, deliveries) join typed
arrays (`_unnest`), so that the planner knows how many rows they name (see `_bulk`). Lists of
ids are matched with `= ANY($1::type[])` on PostgreSQL, whose length the planner knows too.

Timestamps are written as piccolo writes them on SQLite (`str()` of a UTC datetime:
`2026-03-02 08:00:00+00:00`), so comparisons as text agree with comparisons as times, and
piccolo's TIMESTAMPTZ converter reads them back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.db import (
    Database,
    PooledSQLiteEngine,
    any_of,
    driver_connection,
    fresh_sqlite_ids,
    id_for_insert,
    in_writer_thread,
    list_param,
)

Columns = Sequence[tuple[str, str]]  # (name, kind): kind is int | text | ts | json

# An empty JSON object in SQL, per dialect (a '{}' literal would read as a placeholder).
_EMPTY = ("json_object()", "jsonb_build_object()")
_ENROL_LOCK = 1_701_209_716  # PostgreSQL advisory lock class for "enrolments into a flow"


def loads(value: Any) -> Any:
    """A JSON column's value (text on SQLite and from asyncpg, already decoded elsewhere)."""
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def _pack(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as one JSON text; datetimes (always UTC here) encode as `2026-03-02T08:00:00Z`."""
    return msgspec.json.encode(rows if isinstance(rows, list) else list(rows)).decode()


def _source(db: Database, columns: Columns) -> str:
    """A subquery with one row per element of the JSON array passed as its `{}` parameter."""
    if db.is_sqlite:  # timestamps: 2026-03-02T08:00:00Z -> 2026-03-02 08:00:00+00:00
        picks = [
            f"replace(replace(json_extract(value, '$[{i}]'), 'T', ' '), 'Z', '+00:00') "
            f'AS "{name}"' if kind == "ts" else f"json_extract(value, '$[{i}]') AS \"{name}\""
            for i, (name, kind) in enumerate(columns)
        ]
        return f"(SELECT {', '.join(picks)} FROM json_each({{}}))"
    casts = {"int": "::bigint", "text": "", "ts": "::timestamptz"}
    picks = [
        f"NULLIF(value -> {i}, 'null'::jsonb) AS \"{name}\"" if kind == "json"
        else f"(value ->> {i}){casts[kind]} AS \"{name}\""
        for i, (name, kind) in enumerate(columns)
    ]
    return f"(SELECT {', '.join(picks)} FROM jsonb_array_elements({{}}::jsonb) AS j(value))"


_PG_TYPES = {"int": "bigint", "text": "text", "ts": "timestamptz", "json": "jsonb"}
_KEY_COLUMN = '"key"'  # quoted: a keyword in some dialects


def _unnest(columns: Columns) -> str:
    """PostgreSQL: a row source over one array parameter per column ($1, $2, ... in order).

    An UPDATE joining it to its table also names the target rows by key, `key = ANY($1)`:
    joined with the arrays alone, the planner hash-joins a batch of 500 rows with a scan of the
    whole table once its statistics say the table is large (quadratic over a broadcast)."""
    arrays = ", ".join(f"${n}::{_PG_TYPES[kind]}[]" for n, (_, kind) in enumerate(columns, 1))
    return f"unnest({arrays}) AS v({_names(columns)})"


def _arrays(columns: Columns, rows: list[list[Any]]) -> list[list[Any]]:
    """Rows as one list per column, for `_unnest`; JSON values as JSON text."""
    arrays = [list(values) for values in zip(*rows, strict=True)]
    encode = msgspec.json.encode
    for index, (_, kind) in enumerate(columns):
        if kind == "json":
            arrays[index] = [None if v is None else encode(v).decode() for v in arrays[index]]
    return arrays


async def _bulk(db: Database, sql: str, columns: Columns, rows: list[list[Any]],
                join: bool = False) -> list[Any]:
    """PostgreSQL: run `sql` (written over `_unnest(columns)`) with the rows as arrays.

    A `join` (an UPDATE .. FROM the arrays) is prepared afresh each time, so that it is planned
    for these arrays: from its sixth run a cached statement may get a generic plan, which takes
    every array for 10 elements and rescans the arrays for each row updated (8 -> 65 ms a page
    for the deliveries). Not `SET LOCAL plan_cache_mode`: that re-plans the foreign-key checks
    of every row inserted in the transaction too."""
    connection = driver_connection(db)
    arrays = _arrays(columns, rows)
    if join:
        return list(await (await connection.prepare(sql)).fetch(*arrays))
    return list(await connection.fetch(sql, *arrays))


def _names(columns: Columns) -> str:
    return ", ".join(f'"{name}"' for name, _ in columns)


@asynccontextmanager
async def writing(db: Database) -> AsyncIterator[None]:
    """A write transaction. On SQLite the engine runs every write transaction of this process on
    its one writer connection, in turn (`backend.db.PooledSQLiteEngine`)."""
    async with db.write():
        yield


async def lock_enrolments(db: Database, flow_ids: Iterable[int]) -> None:
    """Inside a write: serialise enrolments into these flows (SQLite's write lock already does)."""
    if db.is_sqlite:
        return
    for flow_id in sorted(set(flow_ids)):
        await db.fetch("SELECT pg_advisory_xact_lock({}, {})", _ENROL_LOCK, flow_id)


# --- flows and versions -------------------------------------------------------------------------


async def flow_row(db: Database, flow_id: int) -> dict[str, Any] | None:
    rows = await db.fetch(
        "SELECT id, workspace, name, status, document FROM flows WHERE id = {}", flow_id
    )
    return rows[0] if rows else None


async def set_flow_status(db: Database, flow_id: int, status: str, now: datetime) -> None:
    await db.execute(
        "UPDATE flows SET status = {}, updated_at = {} WHERE id = {}", status, now, flow_id
    )


_VERSION = "id, flow, number, content_hash, published_at, current"


async def insert_version(
    db: Database, flow_id: int, document: str, content_hash: str, now: datetime
) -> dict[str, Any]:
    """A new current version (number = previous + 1); the previous one stops being current."""
    top = await db.fetch(
        "SELECT COALESCE(MAX(number), 0) AS n FROM flow_versions WHERE flow = {}", flow_id
    )
    number = int(top[0]["n"]) + 1
    await db.execute("UPDATE flow_versions SET current = {} WHERE flow = {}", False, flow_id)
    # Never a deleted version's id: workers cache compiled plans by version id.
    id_column, id_mark, ids = await id_for_insert(db, "flow_versions")
    await db.execute(
        f"INSERT INTO flow_versions ({id_column}flow, number, document, content_hash, "
        f"published_at, current) VALUES ({id_mark}{{}}, {{}}, {{}}, {{}}, {{}}, {{}})",
        *ids, flow_id, number, document, content_hash, now, True,
    )
    rows = await db.fetch(
        f"SELECT {_VERSION} FROM flow_versions WHERE flow = {{}} AND number = {{}}",
        flow_id, number,
    )
    return _version(rows[0])


def _version(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "current": bool(row["current"])}


async def current_version(db: Database, flow_id: int) -> dict[str, Any] | None:
    rows = await db.fetch(
        f"SELECT {_VERSION}, document FROM flow_versions WHERE flow = {{}} AND current = {{}}",
        flow_id, True,
    )
    return _version(rows[0]) if rows else None


async def version_documents(db: Database, ids: Iterable[int]) -> dict[int, Any]:
    rows = await db.fetch(
        f"SELECT id, document FROM flow_versions WHERE {any_of(db, 'id', 'int')}",
        list_param(db, ids),
    )
    return {int(row["id"]): loads(row["document"]) for row in rows}


async def live_versions(db: Database, workspace: int | None = None) -> list[dict[str, Any]]:
    """The current version of every live flow (of one workspace, or all)."""
    where = "" if workspace is None else "AND f.workspace = {}"
    return await db.fetch(
        "SELECT f.id AS flow, f.workspace, v.id AS version, v.published_at FROM flows f "
        "JOIN flow_versions v ON v.flow = f.id AND v.current = {} "
        f"WHERE f.status = 'live' {where} ORDER BY f.id",
        True, *(() if workspace is None else (workspace,)),
    )


# --- runs ---------------------------------------------------------------------------------------

_RUN = (
    'r.id, r.workspace, r.flow, r.version, r.contact, r."trigger", r.node, r.status, r.step, '
    "r.wake_at, r.awaiting, r.state, r.exit_reason, r.started_at, f.status AS flow_status"
)


async def load_runs(db: Database, ids: Iterable[int]) -> list[dict[str, Any]]:
    return await db.fetch(
        f"SELECT {_RUN} FROM runs r JOIN flows f ON f.id = r.flow "
        f"WHERE {any_of(db, 'r.id', 'int')} ORDER BY r.id",
        list_param(db, ids),
    )


async def runs_of_contacts(
    db: Database, flow_id: int, contacts: Iterable[str]
) -> list[dict[str, Any]]:
    """What entry rules look at: every run of the flow for these contacts."""
    columns = 'id, contact, status, "trigger", started_at, state'
    if db.is_sqlite:
        return await db.fetch(
            f"SELECT {columns} FROM runs WHERE flow = {{}} AND {any_of(db, 'contact', 'text')} "
            "ORDER BY id", flow_id, list_param(db, contacts),
        )
    # One index probe of (flow, contact) per contact. Given `contact = ANY(..)`, a planner whose
    # statistics predate the flow's runs (a first broadcast; autovacuum off) expects a handful of
    # runs for the flow and reads them ALL for every page: quadratic. OFFSET 0 keeps the
    # subquery per contact, so the plan does not depend on the statistics.
    return await db.fetch(
        f"SELECT r.* FROM unnest({{}}::text[]) AS k(contact) CROSS JOIN LATERAL "
        f"(SELECT {columns} FROM runs WHERE flow = {{}} AND contact = k.contact OFFSET 0) AS r "
        "ORDER BY r.id", list(dict.fromkeys(contacts)), flow_id,
    )


async def waiting_runs(
    db: Database, workspace: int, contacts: Iterable[str], events: Iterable[str]
) -> list[dict[str, Any]]:
    """Runs of live flows waiting for one of these events, for these contacts."""
    return await db.fetch(
        f"SELECT {_RUN} FROM runs r JOIN flows f ON f.id = r.flow "
        f"WHERE r.workspace = {{}} AND {any_of(db, 'r.contact', 'text')} AND r.status = 'waiting' "
        f"AND {any_of(db, 'r.awaiting', 'text')} AND f.status = 'live' ORDER BY r.id",
        workspace, list_param(db, contacts), list_param(db, events),
    )


async def due_runs(
    db: Database, before: datetime, limit: int, flow_id: int | None = None
) -> list[tuple[int, int]]:
    """(id, step) of waiting runs of live flows whose wake-up time is at or before `before`."""
    extra = "" if flow_id is None else "AND r.flow = {}"
    rows = await db.fetch(
        "SELECT r.id, r.step FROM runs r JOIN flows f ON f.id = r.flow "
        f"WHERE r.status = 'waiting' AND r.wake_at <= {{}} AND f.status = 'live' {extra} "
        "ORDER BY r.wake_at, r.id LIMIT {}",
        before, *(() if flow_id is None else (flow_id,)), limit,
    )
    return [(int(row["id"]), int(row["step"])) for row in rows]


async def runs_waking(
    db: Database, after: datetime, until: datetime, limit: int
) -> list[tuple[int, int, datetime, datetime]]:
    """(id, step, wake_at, updated_at) of waiting runs of live flows waking in (after, until]."""
    rows = await db.fetch(
        "SELECT r.id, r.step, r.wake_at, r.updated_at FROM runs r JOIN flows f ON f.id = r.flow "
        "WHERE r.status = 'waiting' AND r.wake_at > {} AND r.wake_at <= {} "
        "AND f.status = 'live' ORDER BY r.wake_at, r.id LIMIT {}",
        after, until, limit,
    )
    return [(int(row["id"]), int(row["step"]), _as_utc(row["wake_at"]),
             _as_utc(row["updated_at"])) for row in rows]


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


async def stuck_runs(
    db: Database, before: datetime, limit: int, flow_id: int | None = None
) -> list[tuple[int, int]]:
    """(id, step) of runs of live flows left `active` or `sending` since before `before`."""
    extra = "" if flow_id is None else "AND r.flow = {}"
    rows = await db.fetch(
        "SELECT r.id, r.step FROM runs r JOIN flows f ON f.id = r.flow "
        "WHERE r.status IN ('active', 'sending') AND r.updated_at <= {} "
        f"AND f.status = 'live' {extra} ORDER BY r.id LIMIT {{}}",
        before, *(() if flow_id is None else (flow_id,)), limit,
    )
    return [(int(row["id"]), int(row["step"])) for row in rows]


async def next_wake(db: Database) -> datetime | None:
    """The earliest wake-up time of a waiting run of a live flow (for shells on a fake clock)."""
    rows = await db.fetch(
        "SELECT MIN(r.wake_at) AS at FROM runs r JOIN flows f ON f.id = r.flow "
        "WHERE r.status = 'waiting' AND f.status = 'live'"
    )
    at = rows[0]["at"] if rows else None
    if isinstance(at, str):  # SQLite: an aggregate has no declared type to convert by
        at = datetime.fromisoformat(at)
    return None if at is None else at.astimezone(UTC)


async def allocate_run_ids(db: Database, count: int) -> list[int]:
    """Ids for new runs, known before they are written (messages are keyed by them).
    Call inside a write transaction."""
    if count == 0:
        return []
    if db.is_sqlite:  # never a deleted run's id: messages keep keys made of them
        return await fresh_sqlite_ids(db, "runs", count)
    rows = await db.fetch(
        "SELECT nextval(pg_get_serial_sequence('runs', 'id')) AS id FROM generate_series(1, {})",
        count,
    )
    return [int(row["id"]) for row in rows]


RUN_UPDATE: Columns = (
    ("rid", "int"), ("old_step", "int"), ("node", "text"), ("status", "text"), ("step", "int"),
    ("wake_at", "ts"), ("awaiting", "text"), ("state", "json"), ("exit_reason", "text"),
    ("updated_at", "ts"),
)


async def update_runs(db: Database, rows: list[list[Any]]) -> set[int]:
    """Compare-and-set: a row is written only if the run's step is still `old_step`.
    Returns the ids written (the others lost to another job and must drop their changes)."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda row: int(row[0]))  # locks in id order: no deadlock cycles
    sets = ", ".join(f'"{n}" = v."{n}"' for n, _ in RUN_UPDATE[2:])
    match = "runs.id = v.rid AND runs.step = v.old_step"
    if db.is_sqlite:
        written = await db.fetch(
            f"UPDATE runs SET {sets} FROM {_source(db, RUN_UPDATE)} AS v WHERE {match} "
            "RETURNING id", _pack(rows),
        )
    else:  # `runs.id = ANY($1)`: see _unnest
        written = await _bulk(
            db, f"UPDATE runs SET {sets} FROM {_unnest(RUN_UPDATE)} "
            f"WHERE runs.id = ANY($1) AND {match} RETURNING runs.id", RUN_UPDATE, rows, join=True,
        )
    return {int(row["id"]) for row in written}


RUN_INSERT: Columns = (
    ("id", "int"), ("workspace", "int"), ("flow", "int"), ("version", "int"),
    ("contact", "text"), ("trigger", "text"), ("node", "text"), ("status", "text"),
    ("step", "int"), ("wake_at", "ts"), ("awaiting", "text"), ("state", "json"),
    ("exit_reason", "text"), ("started_at", "ts"), ("updated_at", "ts"),
)


async def insert_runs(db: Database, rows: list[list[Any]]) -> None:
    await _insert(db, "runs", RUN_INSERT, rows)


async def _insert(db: Database, table: str, columns: Columns, rows: list[list[Any]],
                  conflict: str = "") -> None:
    """Insert rows (lists in the order of `columns`), then `conflict` (an ON CONFLICT clause).
    (`WHERE true` tells SQLite's parser that ON CONFLICT is not a join's ON.) The rows travel as
    JSON on PostgreSQL too: typed arrays (`_unnest`) saved the server a tenth of its CPU here
    but cost the worker as much again in asyncpg's per-element checks."""
    if rows:
        names = _names(columns)
        await db.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {_source(db, columns)} AS v "
            f"WHERE true {conflict}",
            _pack(rows),
        )


STEP: Columns = (
    ("run", "int"), ("seq", "int"), ("flow", "int"), ("version", "int"), ("node", "text"),
    ("at", "ts"), ("port", "text"), ("left_at", "ts"), ("detail", "json"),
)


async def upsert_steps(db: Database, rows: list[list[Any]]) -> None:
    """Path entries, unique per (run, seq): an entry written open (a wait, a send) is completed
    in place when the run leaves it, so counts never double."""
    await _insert(db, "run_steps", STEP, rows, "ON CONFLICT (run, seq) DO UPDATE SET "
                  "port = excluded.port, left_at = excluded.left_at, detail = excluded.detail")


async def insert_steps(db: Database, rows: list[list[Any]]) -> None:
    """Path entries of runs inserted in this transaction: none can be stored already, so no
    ON CONFLICT (whose speculative insertion cost PostgreSQL a fifth more per row); a
    conflict would be a bug, and fails the transaction instead of overwriting a path."""
    await _insert(db, "run_steps", STEP, rows)


MESSAGE: Columns = (
    ("workspace", "int"), ("key", "text"), ("run", "int"), ("flow", "int"), ("node", "text"),
    ("contact", "text"), ("channel", "text"), ("to", "text"), ("topic", "text"),
    ("content", "json"), ("status", "text"), ("created_at", "ts"), ("updated_at", "ts"),
)


async def insert_messages(db: Database, rows: list[list[Any]]) -> None:
    """Message rows under their idempotency keys; a key already written is left as it is."""
    await _insert(db, "messages", MESSAGE, rows, 'ON CONFLICT ("key") DO NOTHING')


_DELIVERY: Columns = (
    ("key", "text"), ("status", "text"), ("reason", "text"), ("provider_id", "text"), ("at", "ts"),
)


async def record_deliveries(db: Database, rows: list[list[Any]]) -> None:
    """What the sender said, rows of (key, status, reason, provider id, now): `queued` messages
    only. The provider's id lets its delivery reports find the message when they name only it."""
    if not rows:
        return
    sets = ("status = v.status, reason = v.reason, updated_at = v.at, "
            "provider_id = COALESCE(v.provider_id, messages.provider_id)")
    match = "messages.\"key\" = v.\"key\" AND messages.status = 'queued'"
    if db.is_sqlite:
        await db.execute(
            f"UPDATE messages SET {sets} FROM {_source(db, _DELIVERY)} AS v WHERE {match}",
            _pack(rows),
        )
    else:  # `"key" = ANY($1)`: see _unnest
        await _bulk(db, f"UPDATE messages SET {sets} FROM {_unnest(_DELIVERY)} "
                        f'WHERE messages."key" = ANY($1) AND {match}', _DELIVERY, rows, join=True)


async def load_messages(db: Database, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = await db.fetch(
        f'SELECT "key", status, reason FROM messages WHERE {any_of(db, "key", "text")}',
        list_param(db, keys),
    )
    return {row["key"]: row for row in rows}


_PATCH: Columns = (("workspace", "int"), ("key", "text"), ("patch", "json"), ("at", "ts"))


async def merge_attributes(db: Database, rows: list[list[Any]]) -> None:
    """Merge attribute values into contacts: rows of (workspace, key, {name: value}, now).
    A value of None is stored as null, on both databases. Call inside a write transaction."""
    if not rows:
        return
    if not db.is_sqlite:
        await db.execute(
            f"UPDATE contacts SET attributes = COALESCE(contacts.attributes, {_EMPTY[1]}) "
            f"|| v.patch, updated_at = v.at FROM {_source(db, _PATCH)} AS v "
            'WHERE contacts.workspace = v.workspace AND contacts."key" = v."key"',
            _pack(rows),
        )
        return
    # SQLite's json_patch (RFC 7396) would DELETE an attribute set to null. So read, merge and
    # write here: the transaction holds SQLite's write lock, nothing changes in between.
    merged: list[list[Any]] = []
    by_ws: dict[int, list[list[Any]]] = {}
    for row in rows:
        by_ws.setdefault(int(row[0]), []).append(row)
    for ws, group in by_ws.items():
        current = {
            row["key"]: loads(row["attributes"]) or {}
            for row in await db.fetch(
                f'SELECT "key", attributes FROM contacts WHERE workspace = {{}} '
                f"AND {any_of(db, _KEY_COLUMN, 'text')}", ws, list_param(db, (r[1] for r in group)))
        }
        for _, key, patch, at in group:
            if key in current:
                current[key].update(patch)
                merged.append([ws, key, current[key], at])
    await db.execute(
        f"UPDATE contacts SET attributes = v.patch, updated_at = v.at "
        f'FROM {_source(db, _PATCH)} AS v '
        'WHERE contacts.workspace = v.workspace AND contacts."key" = v."key"',
        _pack(merged),
    )


# --- contacts and events ------------------------------------------------------------------------


async def insert_bare_contacts(
    db: Database, workspace: int, keys: Iterable[str], now: datetime
) -> None:
    """A contact for each unknown id (as the simulator does for events of unknown contacts)."""
    rows = [[workspace, key, now] for key in keys]
    if rows:
        columns: Columns = (("workspace", "int"), ("key", "text"), ("at", "ts"))
        empty = _EMPTY[0] if db.is_sqlite else _EMPTY[1]
        await db.execute(
            'INSERT INTO contacts (workspace, "key", attributes, consent, consent_changed, '
            f'preferences, created_at, updated_at) SELECT v.workspace, v."key", {empty}, '
            f"{empty}, {empty}, {empty}, v.at, v.at FROM {_source(db, columns)} AS v WHERE true "
            'ON CONFLICT (workspace, "key") DO NOTHING',
            _pack(rows),
        )


async def contacts_page(
    db: Database, workspace: int, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Contacts in id order, after the id `after` (a broadcast walks them in pages)."""
    return await db.fetch(
        'SELECT * FROM contacts WHERE workspace = {} AND "key" > {} ORDER BY "key" LIMIT {}',
        workspace, after or "", limit,
    )


EVENT: Columns = (
    ("workspace", "int"), ("key", "text"), ("contact", "text"), ("name", "text"), ("at", "ts"),
    ("received_at", "ts"), ("properties", "json"),
)


async def store_events(
    db: Database, contacts: Mapping[int, Iterable[str]], rows: list[list[Any]], now: datetime
) -> list[tuple[int, int, str | None]]:
    """One transaction: a bare profile for each unknown contact ({workspace: contact ids}) and
    the events (`insert_events`). Returns the new events as (id, workspace, key), by id."""
    if db.is_sqlite:
        engine = db.engine
        assert isinstance(engine, PooledSQLiteEngine)
        contact_rows = [(ws, key, now, now) for ws, keys in contacts.items() for key in keys]
        event_rows = _sqlite_event_rows(rows)  # built before taking the write lock
        return await engine.write_in_thread(
            lambda connection: _store_events_sqlite(connection, contact_rows, event_rows))
    async with writing(db):
        for ws, keys in contacts.items():
            await insert_bare_contacts(db, ws, keys, now)
        return await insert_events(db, rows)


async def insert_events(db: Database, rows: list[list[Any]]) -> list[tuple[int, int, str | None]]:
    """Store events; one whose (workspace, key) is already stored is ignored. Returns the new
    ones as (id, workspace, key), by id. Call inside a write transaction."""
    if not rows:
        return []
    if db.is_sqlite:
        event_rows = _sqlite_event_rows(rows)
        return await in_writer_thread(
            db, lambda connection: _insert_events_sqlite(connection, event_rows))
    inserted = await db.fetch(
        f"INSERT INTO events ({_names(EVENT)}) SELECT {_names(EVENT)} "
        f"FROM {_source(db, EVENT)} AS v WHERE true "
        'ON CONFLICT (workspace, "key") WHERE "key" IS NOT NULL DO NOTHING '
        'RETURNING id, workspace, "key"',
        _pack(rows),
    )
    return sorted((int(row["id"]), int(row["workspace"]), row["key"]) for row in inserted)


_SQLITE_EVENT_INSERT = (
    f"INSERT INTO events ({_names(EVENT)}) VALUES ({', '.join('?' for _ in EVENT)}) "
    'ON CONFLICT (workspace, "key") WHERE "key" IS NOT NULL DO NOTHING'
)
_SQLITE_BARE_CONTACT = (
    'INSERT INTO contacts (workspace, "key", attributes, consent, consent_changed, preferences, '
    "created_at, updated_at) VALUES (?, ?, '{}', '{}', '{}', '{}', ?, ?) "
    'ON CONFLICT (workspace, "key") DO NOTHING'
)


def _sqlite_event_rows(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    return [(ws, key, contact, name, at, received, msgspec.json.encode(properties).decode())
            for ws, key, contact, name, at, received, properties in rows]


def _store_events_sqlite(
    connection: sqlite3.Connection, contact_rows: list[tuple[Any, ...]],
    event_rows: list[tuple[Any, ...]],
) -> list[tuple[int, int, str | None]]:
    connection.executemany(_SQLITE_BARE_CONTACT, contact_rows)
    return _insert_events_sqlite(connection, event_rows)


def _insert_events_sqlite(
    connection: sqlite3.Connection, event_rows: list[tuple[Any, ...]]
) -> list[tuple[int, int, str | None]]:
    """In the writer's thread: `executemany`, half the CPU of `INSERT ... SELECT FROM
    json_each(...) RETURNING` for a batch of 500. SQLite has no RETURNING for executemany, but
    this is the only writer and ids are given as max(id) + 1, so the new events are the rows
    above the largest id seen before the insert: top+1, top+2 ... when none was a repeat."""
    top = connection.execute("SELECT coalesce(max(id), 0) AS top FROM events").fetchone()["top"]
    # rowcount: the rows this statement inserted (total_changes would count the trigger's too)
    inserted = connection.executemany(_SQLITE_EVENT_INSERT, event_rows).rowcount
    if inserted == len(event_rows):
        return [(top + 1 + index, int(row[0]), row[1]) for index, row in enumerate(event_rows)]
    found = connection.execute(
        'SELECT id, workspace, "key" FROM events WHERE id > ? ORDER BY id', (top,)).fetchall()
    return [(int(r["id"]), int(r["workspace"]), r["key"]) for r in found]


async def mark_events_processed(db: Database, ids: Iterable[int]) -> None:
    """Inside the transaction that writes what the events did: they are no longer pending
    (migration 0013: a database trigger makes every stored event pending)."""
    await db.execute(f"DELETE FROM events_pending WHERE {any_of(db, 'id', 'int')}",
                     list_param(db, ids))


async def unprocessed_events(db: Database, before: datetime, limit: int) -> list[int]:
    """Events received before `before` that no job has processed yet (a lost job)."""
    rows = await db.fetch(
        "SELECT id FROM events_pending WHERE received_at <= {} ORDER BY id LIMIT {}",
        before, limit,
    )
    return [int(row["id"]) for row in rows]


async def load_events(db: Database, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Events by id, in the order they happened (then as received)."""
    return await db.fetch(
        'SELECT id, workspace, "key", contact, name, at, received_at, properties FROM events '
        f"WHERE {any_of(db, 'id', 'int')} ORDER BY at, id",
        list_param(db, ids),
    )


# --- reading back: stats, paths, messages -------------------------------------------------------


async def flow_stats(db: Database, flow_id: int) -> dict[str, Any]:
    """Per node: runs that entered it and the port each left by (from the unique run steps);
    runs by status."""
    nodes: dict[str, dict[str, Any]] = {}
    for row in await db.fetch(
        "SELECT node, port, COUNT(*) AS n FROM run_steps WHERE flow = {} GROUP BY node, port",
        flow_id,
    ):
        count = nodes.setdefault(row["node"], {"entered": 0, "ports": {}})
        count["entered"] += int(row["n"])
        if row["port"] is not None:
            count["ports"][row["port"]] = int(row["n"])
    runs = {
        row["status"]: int(row["n"])
        for row in await db.fetch(
            "SELECT status, COUNT(*) AS n FROM runs WHERE flow = {} GROUP BY status", flow_id
        )
    }
    return {"nodes": nodes, "runs": runs}


async def run_paths(db: Database, run_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each run's path as the simulator reports it: node, at, port, reasons/reason, left."""
    paths: dict[int, list[dict[str, Any]]] = {}
    for row in await db.fetch(
        "SELECT run, seq, node, at, port, left_at, detail FROM run_steps "
        f"WHERE {any_of(db, 'run', 'int')} ORDER BY run, seq",
        list_param(db, run_ids),
    ):
        entry: dict[str, Any] = {"node": row["node"], "at": row["at"]}
        if row["port"] is not None:
            entry["port"] = row["port"]
        entry.update(loads(row["detail"]) or {})
        if row["left_at"] is not None:
            entry["left"] = row["left_at"]
        paths.setdefault(int(row["run"]), []).append(entry)
    return paths


async def run_messages(db: Database, run_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    messages: dict[int, list[dict[str, Any]]] = {}
    for row in await db.fetch(
        'SELECT id, run, "key", node, channel, "to", topic, content, status, reason, created_at '
        f"FROM messages WHERE {any_of(db, 'run', 'int')} ORDER BY id",
        list_param(db, run_ids),
    ):
        row["content"] = loads(row["content"])
        messages.setdefault(int(row["run"]), []).append(row)
    return messages
