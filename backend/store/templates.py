"""Reusable message templates: one row per template, one per saved version of its content.

A template's `version` is its current version's number; saving new content adds a version and
moves `version` to it, so the versions of a template are never changed or lost. Publishing a flow
resolves the templates its send nodes name to their current versions (`resolve_document`) and
stores the result: later edits reach a flow only when it is published again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from backend.db import Database
from backend.store.flows import json_column
from flows.templates_resolve import (
    Resolved,
    TemplateVersion,
    inline_templates,
    lookup_from,
    template_keys,
)

_COLUMNS = ("t.id, t.key, t.name, t.channel, t.version, t.created_at, t.updated_at, "
            "v.content, v.created_at AS version_created_at")
_CURRENT = ("FROM templates t JOIN template_versions v "
            "ON v.template = t.id AND v.number = t.version")


class TemplateExists(Exception):
    pass


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["content"] = json_column(row["content"]) or {}
    return row


async def list_page(
    db: Database, workspace: int, keyset: tuple[str, list[Any]], order: str,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """Templates with their current content; `keyset` and `order` page over `t.id`."""
    after, after_args = keyset
    where, args = (" AND t.channel = {}", [channel]) if channel else ("", [])
    rows = await db.fetch(
        f"SELECT {_COLUMNS} {_CURRENT} WHERE t.workspace = {{}}{where}{after}{order}",
        workspace, *args, *after_args,
    )
    return [_decoded(row) for row in rows]


async def get(db: Database, workspace: int, key: str) -> dict[str, Any] | None:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} {_CURRENT} WHERE t.workspace = {{}} AND t.key = {{}}", workspace, key
    )
    return _decoded(rows[0]) if rows else None


async def versions(db: Database, template_id: int) -> list[dict[str, Any]]:
    """Every saved version of a template, newest first."""
    rows = await db.fetch(
        "SELECT number, content, created_at FROM template_versions WHERE template = {} "
        "ORDER BY number DESC", template_id,
    )
    return [_decoded(row) for row in rows]


async def version(db: Database, template_id: int, number: int) -> dict[str, Any] | None:
    rows = await db.fetch(
        "SELECT number, content, created_at FROM template_versions "
        "WHERE template = {} AND number = {}", template_id, number,
    )
    return _decoded(rows[0]) if rows else None


async def create(
    db: Database, workspace: int, key: str, name: str, channel: str,
    content: dict[str, str], now: datetime,
) -> dict[str, Any]:
    """A new template at version 1; TemplateExists when the workspace has one with this key."""
    async with db.write():
        if await db.fetch("SELECT id FROM templates WHERE workspace = {} AND key = {}",
                          workspace, key):
            raise TemplateExists(key)
        rows = await db.fetch(
            "INSERT INTO templates (workspace, key, name, channel, version, created_at, "
            "updated_at) VALUES ({}, {}, {}, {}, 1, {}, {}) RETURNING id",
            workspace, key, name, channel, now, now,
        )
        await _insert_version(db, int(rows[0]["id"]), 1, content, now)
    created = await get(db, workspace, key)
    assert created is not None
    return created


async def save(
    db: Database, workspace: int, key: str, name: str | None, content: dict[str, str] | None,
    now: datetime,
) -> dict[str, Any] | None:
    """New content becomes a new version (the same content makes none); a new name replaces
    the old one. None when there is no such template."""
    async with db.write():
        current = await get(db, workspace, key)
        if current is None:
            return None
        template_id = int(current["id"])
        number = int(current["version"])
        if content is not None and content != current["content"]:
            number += 1
            await _insert_version(db, template_id, number, content, now)
        await db.execute(
            "UPDATE templates SET name = {}, version = {}, updated_at = {} WHERE id = {}",
            name if name is not None else current["name"], number, now, template_id,
        )
    return await get(db, workspace, key)


async def _insert_version(
    db: Database, template_id: int, number: int, content: dict[str, str], now: datetime
) -> None:
    await db.execute(
        "INSERT INTO template_versions (template, number, content, created_at) "
        "VALUES ({}, {}, {}, {})",
        template_id, number, msgspec.json.encode(content).decode(), now,
    )


async def current_versions(
    db: Database, workspace: int, keys: Iterable[str]
) -> dict[str, TemplateVersion]:
    """The current version of each named template that exists."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    marks = ", ".join("{}" for _ in wanted)
    rows = await db.fetch(
        f"SELECT {_COLUMNS} {_CURRENT} WHERE t.workspace = {{}} AND t.key IN ({marks})",
        workspace, *wanted,
    )
    return {
        row["key"]: TemplateVersion(row["key"], int(row["version"]), row["channel"],
                                    _decoded(row)["content"])
        for row in rows
    }


async def resolve_document(db: Database, workspace: int, document: Any) -> Resolved:
    """The flow document with the templates its send nodes name written out, at their current
    versions (see flows.templates_resolve); for publish, validation and dry runs."""
    keys = template_keys(document)
    if not keys:
        return Resolved(document)
    return inline_templates(document, lookup_from(await current_versions(db, workspace, keys)))
