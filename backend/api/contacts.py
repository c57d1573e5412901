"""Contacts: upsert one or a batch (partial updates merge), list and search, and one contact's
timeline of events, runs and messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK

from backend.api import Db, WorkspaceId, instant
from backend.api.errors import bad_request, convert, items_of, json_body, not_found, read_json
from backend.api.messages import message_out
from backend.api.paging import Page, Paging, listing, paged, provide_page
from backend.contact_checks import ContactProblem, check_addresses
from backend.db import Database
from backend.segments import store as segment_store
from backend.segments.refresh import after_contacts_changed
from backend.store import contacts as store
from backend.store import events as event_store
from backend.store import flows as flow_store
from backend.store import messages as message_store
from flows.contacts import Contact, InputError, contact_to_data

TIMELINE_LENGTH = 50
CONSENT_VALUES = ("opted_in", "opted_out")
MAX_QUERY_LENGTH = 200
# The widest value each stored column takes (PostgreSQL refuses longer ones).
_MAX_LENGTHS = {"id": 200, "email": 320, "phone": 32, "timezone": 64}


def parse_contact(item: Any, where: str) -> tuple[Contact, dict[str, Any]]:
    """One contact from JSON, strictly: (the contact, its data as rules and templates see it)."""
    consent = item.get("consent") if isinstance(item, dict) else None
    if isinstance(consent, dict):
        for channel, value in consent.items():
            if value not in CONSENT_VALUES:
                raise bad_request(f"{where}: consent for {channel!r} must be 'opted_in' or "
                                  f"'opted_out', not {msgspec.json.encode(value).decode()}.")
    contact = convert(item, Contact, where)
    try:
        data = contact_to_data(contact)
    except InputError as exc:
        raise bad_request(f"{where}: {exc}.") from None
    for field, longest in _MAX_LENGTHS.items():
        value = getattr(contact, field)
        if isinstance(value, str) and len(value) > longest:
            raise bad_request(f"{where}: '{field}' is too long (at most {longest} characters).")
    try:
        check_addresses(contact)  # the same checks as the bulk import
    except ContactProblem as problem:
        raise bad_request(f"{where}: {problem.message}.") from None
    if contact.phone is not None:
        data["phone"] = contact.phone  # as stored: E.164
    return contact, data


def item_where(index: int, batch: bool) -> str:
    return f"Item at index {index}" if batch else "The contact"


def _timeline_run(run: dict[str, Any]) -> dict[str, Any]:
    path = []
    for step in run["path"]:
        entry: dict[str, Any] = {"node": step["node"], "at": instant(step["at"])}
        if step["port"] is not None:
            entry["port"] = step["port"]
        if isinstance(step["detail"], dict):
            entry.update(step["detail"])
        if step["left_at"] is not None:
            entry["left"] = instant(step["left_at"])
        path.append(entry)
    return {
        "id": run["id"], "flow": {"id": run["flow"], "name": run["flow_name"]},
        "status": run["status"], "node": run["node"], "started_at": instant(run["started_at"]),
        "updated_at": instant(run["updated_at"]), "waiting_until": instant(run["wake_at"]),
        "awaiting": run["awaiting"], "reason": run["exit_reason"], "path": path,
    }


def _timeline_event(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["key"], "name": row["name"], "at": instant(row["at"]),
            "received_at": instant(row["received_at"]), "properties": row["properties"]}


async def _search(db: Database, workspace: int, q: str | None, segment: str | None,
                  page: Page) -> list[dict[str, Any]]:
    where, args = page.keyset("c.id")
    if segment is not None:
        defs = await segment_store.definitions(db, workspace)
        if segment not in defs.by_key:
            raise not_found(f"There is no segment with key {segment!r}.")
        condition = defs.condition(segment, segment_store.dialect(db), datetime.now(UTC))
        where += f" AND ({condition.sql})"
        args += condition.params
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        where += (" AND (LOWER(c.key) LIKE {} ESCAPE '\\' OR LOWER(c.email) LIKE {} "
                  "ESCAPE '\\' OR c.phone LIKE {} ESCAPE '\\')")
        args += [pattern, pattern, pattern]
    return await db.fetch(
        f"SELECT c.* FROM contacts c WHERE c.workspace = {{}}{where}{page.order('c.id')}",
        workspace, *args,
    )


async def refresh_segments(state: State, db: Database, workspace: int, keys: list[str]) -> None:
    """Re-evaluate the segments that read contact data for these contacts, now: a profile
    shows its memberships as soon as the change is stored. Entries and exits that live flows
    listen for go to the worker as events."""
    result = await after_contacts_changed(db, workspace, keys, datetime.now(UTC))
    if result.events:
        await state.queue.enqueue("events", result.events)


class ContactController(Controller):
    path = "/api/contacts"
    tags = ["contacts"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=HTTP_200_OK, operation_class=json_body(
        "One contact (an object) or several (an array); only the fields sent change."))
    async def upsert(
        self, request: Request[Any, Any, Any], state: State, db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        items, batch = items_of(await read_json(request), "contacts")
        updates = []
        for index, item in enumerate(items):
            contact, _ = parse_contact(item, item_where(index, batch))
            updates.append((contact, set(item)))
        stored = await store.upsert(db, workspace, updates, datetime.now(UTC)) if updates else []
        await refresh_segments(state, db, workspace, [contact["id"] for contact in stored])
        if not batch:
            return stored[0]
        return {"upserted": len(stored), "items": stored}

    @get("/")
    async def list_contacts(
        self,
        db: Db,
        workspace: WorkspaceId,
        page: Paging,
        q: Annotated[str | None, Parameter(
            description="Only contacts whose id, email or phone contains this")] = None,
        segment: Annotated[str | None, Parameter(
            description="Only contacts in this segment (by key), evaluated now")] = None,
    ) -> dict[str, Any]:
        if q is not None and len(q) > MAX_QUERY_LENGTH:
            raise bad_request(f"'q' is too long (at most {MAX_QUERY_LENGTH} characters).")
        rows, next_cursor = paged(await _search(db, workspace, q, segment, page), page,
                                  lambda row: int(row["id"]))
        return listing([store.row_to_data(row) for row in rows], next_cursor)

    @get("/{key:str}")
    async def get_contact(
        self, db: Db, workspace: WorkspaceId, key: FromPath[str]
    ) -> dict[str, Any]:
        rows = await store.load_rows(db, workspace, [key])
        if key not in rows:
            raise not_found(f"There is no contact with id {key!r}.")
        contact = store.row_to_data(rows[key])
        consent_changed = rows[key]["consent_changed"]
        if isinstance(consent_changed, str | bytes):
            consent_changed = msgspec.json.decode(consent_changed)
        events = await event_store.for_contact(db, workspace, key, TIMELINE_LENGTH)
        runs = await flow_store.runs_for_contact(db, workspace, key, TIMELINE_LENGTH)
        messages = await message_store.for_contact(db, workspace, key, TIMELINE_LENGTH)
        memberships = await segment_store.memberships_of(db, workspace, key)
        changes = await segment_store.changes_of(db, workspace, key, TIMELINE_LENGTH)
        return {**contact, "consent_changed": consent_changed or {}, "segments": [
            {"key": row["key"], "name": row["name"], "since": instant(row["since"]),
             "reason": row["reason"]} for row in memberships
        ], "timeline": {
            "segments": [{"key": row["key"], "name": row["name"], "kind": row["kind"],
                          "at": instant(row["at"]), "reason": row["reason"]}
                         for row in changes],
            "events": [_timeline_event(row) for row in events],
            "runs": [_timeline_run(run) for run in runs],
            "messages": [message_out(row) for row in messages],
        }}
