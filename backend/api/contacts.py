"""Contacts: upsert one or a batch (partial updates merge), list and search, and one contact's
timeline of events, runs and messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK

from backend.api import Db, WorkspaceId, instant
from backend.api.errors import bad_request, convert, items_of, json_body, not_found, read_json
from backend.api.messages import message_out
from backend.api.paging import Page, Paging, listing, paged, provide_page
from backend.db import Database
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


async def _search(db: Database, workspace: int, q: str | None, page: Page
                  ) -> list[dict[str, Any]]:
    where, args = page.keyset()
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        where += (" AND (LOWER(key) LIKE {} ESCAPE '\\' OR LOWER(email) LIKE {} ESCAPE '\\' "
                  "OR phone LIKE {} ESCAPE '\\')")
        args += [pattern, pattern, pattern]
    return await db.fetch(
        f"SELECT * FROM contacts WHERE workspace = {{}}{where}{page.order()}", workspace, *args
    )


class ContactController(Controller):
    path = "/api/contacts"
    tags = ["contacts"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=HTTP_200_OK, operation_class=json_body(
        "One contact (an object) or several (an array); only the fields sent change."))
    async def upsert(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        items, batch = items_of(await read_json(request), "contacts")
        updates = []
        for index, item in enumerate(items):
            contact, _ = parse_contact(item, item_where(index, batch))
            updates.append((contact, set(item)))
        stored = await store.upsert(db, workspace, updates, datetime.now(UTC)) if updates else []
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
    ) -> dict[str, Any]:
        if q is not None and len(q) > MAX_QUERY_LENGTH:
            raise bad_request(f"'q' is too long (at most {MAX_QUERY_LENGTH} characters).")
        rows, next_cursor = paged(await _search(db, workspace, q, page), page,
                                  lambda row: int(row["id"]))
        return listing([store.row_to_data(row) for row in rows], next_cursor)

    @get("/{key:str}")
    async def get_contact(
        self, db: Db, workspace: WorkspaceId, key: FromPath[str]
    ) -> dict[str, Any]:
        found = await store.load_contacts(db, workspace, [key])
        if key not in found:
            raise not_found(f"There is no contact with id {key!r}.")
        events = await event_store.for_contact(db, workspace, key, TIMELINE_LENGTH)
        runs = await flow_store.runs_for_contact(db, workspace, key, TIMELINE_LENGTH)
        messages = await message_store.for_contact(db, workspace, key, TIMELINE_LENGTH)
        return {**found[key], "timeline": {
            "events": [_timeline_event(row) for row in events],
            "runs": [_timeline_run(run) for run in runs],
            "messages": [message_out(row) for row in messages],
        }}
