"""Contacts: upsert by id (partial updates merge), load as the data rules and templates see,
and bulk import from a CSV or JSON-lines stream."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec

from backend.contact_import import (
    MAX_ERRORS,
    Format,
    ImportReport,
    ImportRow,
    Refusal,
    reader_for,
)
from backend.db import Database, any_of, driver_connection, list_param
from flows.contacts import Contact

_COLUMNS = ("email", "phone", "push_tokens", "chat", "timezone")
_MERGED = ("attributes", "consent", "preferences")
_JSON = frozenset({"push_tokens", "chat", "attributes", "consent", "consent_changed",
                   "preferences"})
CHUNK = 500


def _loads(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def row_to_data(row: dict[str, Any]) -> dict[str, Any]:
    """A contacts row as the contact shape of DESIGN.md (what rules and templates see)."""
    data: dict[str, Any] = {"id": row["key"]}
    for name in _COLUMNS:
        value = _loads(row[name]) if name in _JSON else row[name]
        if value is not None:
            data[name] = value
    for name in _MERGED:
        data[name] = _loads(row[name]) or {}
    return data


@lru_cache(maxsize=8)
def _iso(moment: datetime) -> str:
    return moment.isoformat()  # a bulk import stamps thousands of rows with one moment


def merge(
    existing: dict[str, Any] | None, update: Contact, fields_set: Iterable[str], now: datetime
) -> dict[str, Any]:
    """The stored row values after applying `update`; only fields the caller sent change.

    Attributes, consent and preferences merge key by key; consent changes are timestamped.
    """
    row: dict[str, Any] = dict(existing) if existing else {
        "key": update.id, "email": None, "phone": None, "push_tokens": None, "chat": None,
        "timezone": None, "attributes": {}, "consent": {}, "consent_changed": {},
        "preferences": {},
    }
    for name in (*_MERGED, "consent_changed"):
        row[name] = dict(_loads(row[name]) or {})
    for name in ("push_tokens", "chat"):
        row[name] = _loads(row[name])
    given = set(fields_set)
    for name in _COLUMNS:
        if name in given:
            row[name] = getattr(update, name)
    if "attributes" in given:
        row["attributes"].update(update.attributes)
    if "preferences" in given:
        row["preferences"].update(update.preferences)
    if "consent" in given:
        for channel, value in update.consent.items():
            if row["consent"].get(channel) != value:
                row["consent"][channel] = value
                row["consent_changed"][channel] = _iso(now)
    return row


async def load_rows(db: Database, workspace: int, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        for row in await db.fetch(
            f"SELECT * FROM contacts WHERE workspace = {{}} AND {any_of(db, 'key', 'text')}",
            workspace, list_param(db, keys[start:start + CHUNK]),
        ):
            rows[row["key"]] = row
    return rows


async def load_contacts(
    db: Database, workspace: int, keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Contacts by id, as data; unknown ids are absent."""
    return {key: row_to_data(row) for key, row in (await load_rows(db, workspace, keys)).items()}


async def upsert(
    db: Database,
    workspace: int,
    updates: Sequence[tuple[Contact, Iterable[str]]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Insert or merge contacts (each with the names of the fields its JSON carried)."""
    stored: list[dict[str, Any]] = []
    async with db.write():
        existing = await load_rows(db, workspace, [c.id for c, _ in updates])
        merged: dict[str, dict[str, Any]] = {}
        for update, fields_set in updates:
            merged[update.id] = merge(merged.get(update.id) or existing.get(update.id),
                                      update, fields_set, now)
        rows = list(merged.values())
        for start in range(0, len(rows), CHUNK):
            await _write(db, workspace, rows[start:start + CHUNK], now)
        stored = rows
    return [row_to_data(row) for row in stored]


_WRITE_COLUMNS = ("key", "email", "phone", "push_tokens", "chat", "timezone", "attributes",
                  "consent", "consent_changed", "preferences")


async def _write(db: Database, workspace: int, rows: list[dict[str, Any]], now: datetime) -> None:
    columns = ("workspace", *_WRITE_COLUMNS, "created_at", "updated_at")
    values: list[Any] = []
    groups = []
    for row in rows:
        groups.append("(" + ", ".join("{}" for _ in columns) + ")")
        values.append(workspace)
        for name in _WRITE_COLUMNS:
            value = row[name]
            if name in _JSON and value is not None:
                value = msgspec.json.encode(value).decode()
            values.append(value)
        values.extend((now, now))
    updates = ", ".join(f"{name} = excluded.{name}" for name in (*_WRITE_COLUMNS[1:], "updated_at"))
    await db.execute(
        f"INSERT INTO contacts ({', '.join(columns)}) VALUES {', '.join(groups)} "
        f"ON CONFLICT (workspace, key) DO UPDATE SET {updates}",
        *values,
    )


IMPORT_BATCH = 2000  # contacts written per transaction by an import
OnStored = Callable[[int, list[str]], Awaitable[None]]  # (workspace, contact ids) after a commit


def _merge_chat(
    before: dict[str, Any] | None, given: dict[str, str | None]
) -> dict[str, str] | None:
    chat: dict[str, str] = dict(_loads(before["chat"]) or {}) if before else {}
    for service, address in given.items():
        if address is None:
            chat.pop(service, None)
        else:
            chat[service] = address
    return chat or None


async def upsert_rows(
    db: Database, workspace: int, rows: Sequence[ImportRow], now: datetime
) -> list[bool]:
    """Store imported rows in one transaction, merging each into the stored contact like
    `upsert` does (rows for the same id apply in order). Per row: whether it created the
    contact."""
    created: list[bool] = []
    async with db.write():
        existing = await _load_for_update(db, workspace, list({r.contact.id: None for r in rows}))
        merged: dict[str, dict[str, Any]] = {}
        for row in rows:
            key = row.contact.id
            before = merged.get(key) or existing.get(key)
            created.append(before is None)
            fields: Iterable[str] = row.fields
            if row.chat is not None:  # CSV chat columns add to the addresses already stored
                row.contact.chat = _merge_chat(before, row.chat)
                fields = row.fields | {"chat"}
            merged[key] = merge(before, row.contact, fields, now)
        await _write_many(db, workspace, list(merged.values()), now)
    return created


_UPDATE_SET = ", ".join(f"{name} = excluded.{name}" for name in (*_WRITE_COLUMNS[1:], "updated_at"))
_SQLITE_INSERT = (
    f"INSERT INTO contacts (workspace, {', '.join(_WRITE_COLUMNS)}, created_at, updated_at) "
    f"VALUES ({', '.join('?' for _ in range(len(_WRITE_COLUMNS) + 3))}) "
    f"ON CONFLICT (workspace, key) DO UPDATE SET {_UPDATE_SET}"
)
# One statement for the whole batch: each column travels as one array.
_POSTGRES_INSERT = (
    f"INSERT INTO contacts (workspace, {', '.join(_WRITE_COLUMNS)}, created_at, updated_at) "
    "SELECT $1, " + ", ".join(f"u.{name}::jsonb" if name in _JSON else f"u.{name}"
                              for name in _WRITE_COLUMNS) + ", $2, $2 "
    "FROM unnest(" + ", ".join(f"${n}::text[]" for n in range(3, len(_WRITE_COLUMNS) + 3))
    + f") AS u({', '.join(_WRITE_COLUMNS)}) "
    f"ON CONFLICT (workspace, key) DO UPDATE SET {_UPDATE_SET}"
)


async def _load_for_update(
    db: Database, workspace: int, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """The stored rows of these contacts, read in the write transaction (and locked on
    PostgreSQL, so a concurrent import of the same contacts waits instead of losing a merge)."""
    connection = driver_connection(db)
    found: list[dict[str, Any]] = []
    if db.is_sqlite:
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            found.extend(await connection.execute_fetchall(
                f"SELECT * FROM contacts WHERE workspace = ? AND key IN ({marks})",
                [workspace, *chunk]))
    else:
        records = await connection.fetch(
            "SELECT * FROM contacts WHERE workspace = $1 AND key = ANY($2::text[]) FOR UPDATE",
            workspace, keys)
        found = [dict(record) for record in records]
    return {row["key"]: row for row in found}


def _column_values(row: dict[str, Any]) -> list[Any]:
    values = []
    for name in _WRITE_COLUMNS:
        value = row[name]
        if name in _JSON and value is not None:
            value = msgspec.json.encode(value).decode()
        values.append(value)
    return values


async def _write_many(
    db: Database, workspace: int, rows: list[dict[str, Any]], now: datetime
) -> None:
    """Write merged rows (distinct keys) within the caller's write transaction."""
    connection = driver_connection(db)
    if db.is_sqlite:
        await connection.executemany(
            _SQLITE_INSERT, [(workspace, *_column_values(row), now, now) for row in rows])
        return
    columns: list[list[Any]] = [[] for _ in _WRITE_COLUMNS]
    for row in rows:
        for values, value in zip(columns, _column_values(row), strict=True):
            values.append(value)
    await connection.execute(_POSTGRES_INSERT, workspace, now, *columns)


async def import_contacts(
    db: Database,
    workspace: int,
    chunks: AsyncIterable[bytes],
    fmt: Format,
    *,
    on_stored: OnStored | None = None,
    batch_size: int = IMPORT_BATCH,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Read a CSV or JSON-lines file as it streams in and upsert its good rows, `batch_size`
    at a time (one transaction each); refused rows are counted and listed in the report.

    Raises ImportFileError (before anything is stored) when the file cannot be imported at all.
    `on_stored` is awaited after each committed batch with the ids it wrote.
    """
    reader = reader_for(fmt)
    report = ImportReport(max_errors=max_errors)
    pending: list[ImportRow] = []

    async def store(rows: list[ImportRow]) -> None:
        created = await upsert_rows(db, workspace, rows, datetime.now(UTC))
        fresh = sum(created)
        report.created += fresh
        report.updated += len(created) - fresh
        if on_stored is not None:
            await on_stored(workspace, list({row.contact.id: None for row in rows}))

    def take(parsed: list[ImportRow | Refusal]) -> None:
        for item in parsed:
            if isinstance(item, ImportRow):
                pending.append(item)
            else:
                report.refuse(item)

    async for chunk in chunks:
        take(reader.feed(chunk))
        while len(pending) >= batch_size:
            await store(pending[:batch_size])
            del pending[:batch_size]
    take(reader.finish())
    for start in range(0, len(pending), batch_size):
        await store(pending[start:start + batch_size])
    return report
