"""Events: one (an object) or a batch (an array), checked strictly, stored and handed to the
runtime (concurrent requests share one transaction: `runtime.ingest.EventIngest`), which
matches them against triggers and waiting runs. Answered 202: the matching
happens in the worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_202_ACCEPTED

from backend.api.errors import bad_request, convert, items_of, json_body, read_json
from backend.db import Database
from backend.runtime.ingest import EventIngest
from backend.security import Caller
from flows.contacts import Event

MAX_TEXT_LENGTH = 200  # contact ids, event names and event ids are stored in 200 characters


def parse_event(item: Any, where: str) -> Event:
    """One event from JSON, strictly, with its time in UTC."""
    event = convert(item, Event, where)
    for field in ("contact", "name", "id"):
        value = getattr(event, field)
        if value is not None and not value:
            raise bad_request(f"{where}: '{field}' is empty.")
        if value is not None and len(value) > MAX_TEXT_LENGTH:
            raise bad_request(f"{where}: '{field}' is too long "
                              f"(at most {MAX_TEXT_LENGTH} characters).")
    if event.at is not None:
        if event.at.tzinfo is None:
            raise bad_request(f"{where}: 'at' needs a time zone, e.g. 2026-01-01T09:00:00Z.")
        event.at = event.at.astimezone(UTC)
    return event


def item_where(index: int, batch: bool) -> str:
    return f"Item at index {index}" if batch else "The event"


class Accepted(msgspec.Struct):
    accepted: int  # events in the request
    new: int  # of which stored now (the others' ids were already stored)


class EventController(Controller):
    path = "/api/events"
    tags = ["events"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", status_code=HTTP_202_ACCEPTED, operation_class=json_body(
        "One event (an object) or several (an array): "
        '{"contact", "name", "id"?, "at"?, "properties"?}'))
    async def ingest(self, request: Request[Caller, Any, Any]) -> Accepted:
        # The API's busiest route takes the request alone: Litestar's injection of `db` and
        # `workspace` cost as much as the rest of the framework's work on a one-event request.
        items, batch = items_of(await read_json(request), "events")
        events = [parse_event(item, item_where(index, batch)) for index, item in enumerate(items)]
        state = request.app.state
        stored = await _ingest(state, state.db).ingest(
            request.user.workspace, events, datetime.now(UTC))
        return Accepted(accepted=len(events), new=stored)


def _ingest(state: State, db: Database) -> EventIngest:
    """The app's group commit for events (concurrent requests share a transaction and a job),
    made on first use for the app's database and queue."""
    ingest: EventIngest | None = state.get("event_ingest")
    if ingest is None or ingest.db is not db or ingest.queue is not state.queue:
        ingest = state.event_ingest = EventIngest(db, state.queue)
    return ingest
