"""Messages as stored by the runtime's sends: read side for the API (lists and timelines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from backend.db import Database
from backend.store.flows import json_column

CHANNELS = ("email", "sms", "push", "voice", "chat")
STATUSES = ("queued", "sent", "delivered", "failed", "refused", "opened", "clicked")

_COLUMNS = ('id, contact, flow, node, channel, "to", topic, content, status, reason, '
            "provider_id, created_at, updated_at")


@dataclass(frozen=True, slots=True)
class MessageFilter:
    contact: str | None = None
    flow: int | None = None
    channel: str | None = None
    status: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column in ("contact", "flow", "channel", "status"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f" AND {column} = {{}}")
                args.append(value)
        return "".join(clauses), args


async def list_page(
    db: Database,
    workspace: int,
    which: MessageFilter,
    keyset: tuple[str, list[Any]],
    order: str,
) -> list[dict[str, Any]]:
    where, args = which.where()
    after, after_args = keyset
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM messages WHERE workspace = {{}}{where}{after}{order}",
        workspace, *args, *after_args,
    )
    return [_decoded(row) for row in rows]


async def for_contact(
    db: Database, workspace: int, contact: str, limit: int
) -> list[dict[str, Any]]:
    """A contact's latest messages, newest first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM messages WHERE workspace = {{}} AND contact = {{}} "
        f"ORDER BY id DESC LIMIT {int(limit)}",
        workspace, contact,
    )
    return [_decoded(row) for row in rows]


async def insert_refused(db: Database, rows: list[list[Any]]) -> None:
    """Messages the delivery policy refused, kept so that a contact's timeline says why it got
    nothing. Rows: (workspace, key, run, flow, node, contact, channel, to, topic, content,
    reason, now); a key already written is left as it is (a retried job)."""
    for start in range(0, len(rows), 200):
        part = rows[start:start + 200]
        groups = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'refused', {}, {}, {})"
                           for _ in part)
        args: list[Any] = []
        for (ws, key, run, flow, node, contact, channel, to, topic, content, reason,
             now) in part:
            args += [ws, key, run, flow, node, contact, channel, to, topic,
                     msgspec.json.encode(content).decode(), reason, now, now]
        await db.execute(
            'INSERT INTO messages (workspace, key, run, flow, node, contact, channel, "to", '
            "topic, content, status, reason, created_at, updated_at) "
            f"VALUES {groups} ON CONFLICT (key) DO NOTHING", *args,
        )


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["content"] = json_column(row["content"]) or {}
    return row
