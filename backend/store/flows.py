"""Flows as stored: the draft document (saved freely, even when it does not compile), the status,
the published versions, and what their runs are doing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.db import Database, id_for_insert
from backend.workspace import default_workspace
from flows.compiler import compile_flow
from flows.document import (
    DocumentError,
    decode_document,
    document_from_builtins,
    encode_document,
    to_builtins,
)
from flows.problems import FlowProblems, Problem
from nodes import CATALOGUE

MAX_NAME_LENGTH = 200
MAX_ID = 2**31 - 1  # flow ids are 32-bit serials
_FLOW_COLUMNS = "id, name, description, status, created_at, updated_at"


class FlowNotFound(LookupError):
    """No flow with this id in the workspace."""


class FlowIsLive(Exception):
    """A live flow cannot be deleted: contacts are running through it."""


def json_column(value: Any) -> Any:
    """A JSON column's value: text on SQLite (and from asyncpg), already parsed elsewhere."""
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def name_problem(name: object) -> str | None:
    """What is wrong with a flow's name, if anything."""
    if not isinstance(name, str) or not name.strip():
        return "The flow needs a 'name' (text that is not empty)."
    if len(name) > MAX_NAME_LENGTH:
        return f"The flow's 'name' is too long: at most {MAX_NAME_LENGTH} characters."
    return None


async def import_document(
    db: Database,
    source: bytes | dict[str, Any],
    *,
    workspace: int | None = None,
    now: datetime | None = None,
    filled: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a flow document as a new draft, only if it compiles (else `FlowProblems`, and
    nothing is stored). Returns the stored flow's row. Without `workspace`: the default one.
    `filled`: the same document with the saved templates it names written in, compiled in its
    place (the draft keeps naming the templates)."""
    try:
        if isinstance(source, bytes):
            document = decode_document(source)
        else:
            document = document_from_builtins(source)
    except DocumentError as exc:
        raise FlowProblems(exc.problems) from None
    compile_flow(document if filled is None else document_from_builtins(filled), CATALOGUE)
    problem = name_problem(document.name)
    if problem is not None:
        raise FlowProblems([Problem(problem)])
    if workspace is None:
        workspace = await default_workspace(db)
    flow_id = await create(db, workspace, document.name, document.description,
                           to_builtins(document), now or datetime.now(UTC))
    row = await get(db, workspace, flow_id)
    assert row is not None
    return row


async def export_document(db: Database, flow_id: int, *, workspace: int | None = None) -> bytes:
    """The draft as the import/export format; `FlowNotFound`, or `FlowProblems` when the draft
    is not a valid document yet."""
    if workspace is None:
        workspace = await default_workspace(db)
    row = await get(db, workspace, flow_id, with_document=True)
    if row is None:
        raise FlowNotFound(flow_id)
    try:
        return encode_document(document_from_builtins(row["document"]))
    except DocumentError as exc:
        raise FlowProblems(exc.problems) from None


async def create(
    db: Database,
    workspace: int,
    name: str,
    description: str,
    document: dict[str, Any],
    now: datetime,
) -> int:
    async with db.write():
        # Never a deleted flow's id: links and API clients keep flow ids.
        id_column, id_mark, ids = await id_for_insert(db, "flows")
        rows = await db.fetch(
            f"INSERT INTO flows ({id_column}workspace, name, description, document, status, "
            f"created_at, updated_at) VALUES ({id_mark}{{}}, {{}}, {{}}, {{}}, 'draft', {{}}, "
            "{}) RETURNING id",
            *ids, workspace, name, description, _json_text(document), now, now,
        )
    return int(rows[0]["id"])


async def save_draft(
    db: Database,
    workspace: int,
    flow_id: int,
    name: str,
    description: str,
    document: dict[str, Any],
    now: datetime,
) -> bool:
    """Replace the draft; False when there is no such flow in the workspace."""
    async with db.write():
        rows = await db.fetch(
            "UPDATE flows SET name = {}, description = {}, document = {}, updated_at = {} "
            "WHERE id = {} AND workspace = {} RETURNING id",
            name, description, _json_text(document), now, flow_id, workspace,
        )
    return bool(rows)


async def get(
    db: Database, workspace: int, flow_id: int, *, with_document: bool = False
) -> dict[str, Any] | None:
    if not 1 <= flow_id <= MAX_ID:
        return None
    columns = _FLOW_COLUMNS + (", document" if with_document else "")
    rows = await db.fetch(
        f"SELECT {columns} FROM flows WHERE id = {{}} AND workspace = {{}}", flow_id, workspace
    )
    if not rows:
        return None
    row = rows[0]
    if with_document:
        row["document"] = json_column(row["document"])
    return row


async def list_page(
    db: Database, workspace: int, keyset: tuple[str, list[Any]], order: str
) -> list[dict[str, Any]]:
    where, args = keyset
    return await db.fetch(
        f"SELECT {_FLOW_COLUMNS} FROM flows WHERE workspace = {{}}{where}{order}",
        workspace, *args,
    )


async def run_counts(db: Database, flow_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each flow, how many of its runs are in each status (`waiting`, `completed`...)."""
    counts: dict[int, dict[str, int]] = {flow_id: {} for flow_id in flow_ids}
    if not flow_ids:
        return counts
    marks = ", ".join("{}" for _ in flow_ids)
    for row in await db.fetch(
        f"SELECT flow, status, COUNT(*) AS n FROM runs WHERE flow IN ({marks}) "
        "GROUP BY flow, status",
        *flow_ids,
    ):
        counts[int(row["flow"])][row["status"]] = int(row["n"])
    return counts


async def current_version(db: Database, flow_id: int) -> dict[str, Any] | None:
    """The version new runs start on: the latest published one."""
    rows = await db.fetch(
        "SELECT id, number, document, content_hash, published_at FROM flow_versions "
        "WHERE flow = {} ORDER BY number DESC LIMIT 1",
        flow_id,
    )
    if not rows:
        return None
    row = rows[0]
    row["document"] = json_column(row["document"])
    return row


async def delete(db: Database, workspace: int, flow_id: int) -> bool:
    """Delete a flow that is not live, with its versions, runs and their steps.

    Messages already sent stay in the contacts' history, no longer tied to the flow. Returns
    False when there is no such flow; raises `FlowIsLive` for a live one.
    """
    async with db.write():
        lock = "" if db.is_sqlite else " FOR UPDATE"  # SQLite's write lock is already held
        rows = await db.fetch(
            f"SELECT status FROM flows WHERE id = {{}} AND workspace = {{}}{lock}",
            flow_id, workspace,
        )
        if not rows:
            return False
        if rows[0]["status"] == "live":
            raise FlowIsLive(flow_id)
        runs = "SELECT id FROM runs WHERE flow = {}"
        await db.execute(
            f"UPDATE messages SET flow = NULL, run = NULL WHERE flow = {{}} OR run IN ({runs})",
            flow_id, flow_id,
        )
        await db.execute(f"DELETE FROM run_steps WHERE flow = {{}} OR run IN ({runs})",
                         flow_id, flow_id)
        await db.execute("DELETE FROM runs WHERE flow = {}", flow_id)
        await db.execute("DELETE FROM flow_versions WHERE flow = {}", flow_id)
        await db.execute("DELETE FROM flows WHERE id = {}", flow_id)
    return True


async def runs_for_contact(
    db: Database, workspace: int, contact: str, limit: int
) -> list[dict[str, Any]]:
    """A contact's latest runs, newest first, each with its flow's name and its path so far."""
    runs = await db.fetch(
        "SELECT runs.id, runs.flow, flows.name AS flow_name, runs.status, runs.node, "
        "runs.wake_at, runs.awaiting, runs.exit_reason, runs.started_at, runs.updated_at "
        "FROM runs JOIN flows ON flows.id = runs.flow "
        "WHERE runs.workspace = {} AND runs.contact = {} "
        f"ORDER BY runs.id DESC LIMIT {int(limit)}",
        workspace, contact,
    )
    if not runs:
        return runs
    paths: dict[int, list[dict[str, Any]]] = {int(run["id"]): [] for run in runs}
    marks = ", ".join("{}" for _ in paths)
    for step in await db.fetch(
        f"SELECT run, node, at, port, left_at, detail FROM run_steps WHERE run IN ({marks}) "
        "ORDER BY run, seq",
        *paths,
    ):
        step["detail"] = json_column(step["detail"])
        paths[int(step.pop("run"))].append(step)
    for run in runs:
        run["path"] = paths[int(run["id"])]
    return runs
