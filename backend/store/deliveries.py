"""What delivery reports and tracking change on stored messages and contacts.

Status updates are one conditional UPDATE each (`WHERE status IN (...)`), so a repeated or
late report, or two at once, can only move a message forward (backend.inbound.may_become).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from backend.db import Database
from backend.inbound import phone_forms, sources_of
from backend.store import contacts as contact_store
from flows.contacts import Contact

Outcome = Literal["updated", "unchanged", "unknown"]


async def advance_status(db: Database, status: str, now: datetime, *, key: str | None = None,
                         provider_id: str | None = None, workspace: int | None = None,
                         reason: str | None = None) -> Outcome:
    """Move the message named by our `key` or by the provider's id to `status`, if that is
    forward for it. `reason` is kept only with `failed`. Workspace-less calls (tracking links)
    name the message by its key, which is unique across workspaces."""
    if key is None and provider_id is None:
        return "unknown"
    column, value = ("key", key) if key is not None else ("provider_id", provider_id)
    scope, scope_args = ("", []) if workspace is None else (" AND workspace = {}", [workspace])
    sources = sources_of(status)
    marks = ", ".join("{}" for _ in sources)
    set_reason = ", reason = {}" if status == "failed" else ""
    reason_args = [reason] if status == "failed" else []
    async with db.write():
        rows = await db.fetch(
            f"SELECT id, status FROM messages WHERE {column} = {{}}{scope}", value, *scope_args)
        if not rows:
            return "unknown"
        changed = await db.fetch(
            f"UPDATE messages SET status = {{}}{set_reason}, updated_at = {{}} "
            f"WHERE id = {{}} AND status IN ({marks}) RETURNING id",
            status, *reason_args, now, rows[0]["id"], *sources,
        )
    return "updated" if changed else "unchanged"


async def message_by_key(db: Database, key: str) -> dict[str, Any] | None:
    rows = await db.fetch(
        'SELECT workspace, key, contact, channel, "to", topic, status FROM messages '
        "WHERE key = {}", key)
    return rows[0] if rows else None


async def contacts_with_phone(db: Database, workspace: int, number: str) -> list[str]:
    """Ids of the contacts whose phone is this number (with or without its `+`)."""
    forms = phone_forms(number)
    if not forms:
        return []
    marks = ", ".join("{}" for _ in forms)
    rows = await db.fetch(
        f"SELECT key FROM contacts WHERE workspace = {{}} AND phone IN ({marks}) ORDER BY key",
        workspace, *forms)
    return [row["key"] for row in rows]


async def set_consent(db: Database, workspace: int, keys: Sequence[str],
                      consent: dict[str, Literal["opted_in", "opted_out"]],
                      now: datetime) -> list[dict[str, Any]]:
    """Merge consent entries into existing contacts, timestamped as `POST /api/contacts` does
    (an entry already at that value keeps its time). Unknown ids are skipped, never created."""
    existing = await contact_store.load_rows(db, workspace, keys)
    updates = [(Contact(id=key, consent=dict(consent)), ("consent",))
               for key in keys if key in existing]
    if not updates:
        return []
    return await contact_store.upsert(db, workspace, updates, now)


async def email_topics(db: Database, workspace: int, contact: str) -> list[str]:
    """Topics of the emails this contact was sent: what the unsubscribe page offers to leave."""
    rows = await db.fetch(
        "SELECT DISTINCT topic FROM messages WHERE workspace = {} AND contact = {} "
        "AND channel = 'email' AND topic IS NOT NULL ORDER BY topic", workspace, contact)
    return [row["topic"] for row in rows]
