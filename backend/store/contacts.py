"""Contacts: upsert by id (partial updates merge), load as the data rules and templates see."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from backend.db import Database
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
                row["consent_changed"][channel] = now.isoformat()
    return row


async def load_rows(db: Database, workspace: int, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start:start + CHUNK])
        marks = ", ".join("{}" for _ in chunk)
        for row in await db.fetch(
            f"SELECT * FROM contacts WHERE workspace = {{}} AND key IN ({marks})",
            workspace, *chunk,
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
