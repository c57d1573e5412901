"""Flows: drafts (saved freely), import and export, publishing, and what is running.

A draft may be any JSON object with a name: people save half-built flows. The compiler's
problems come back with every draft, so the editor can show them on the canvas. Import is
stricter: only a flow that compiles is stored, so an import never half-succeeds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from backend.api import Db, WorkspaceId, instant
from backend.api.contacts import parse_contact
from backend.api.errors import (
    MAX_BODY_ITEMS,
    bad_request,
    conflict,
    convert,
    flow_problems,
    json_body,
    not_found,
    read_json,
    valid_id,
)
from backend.api.events import parse_event
from backend.api.paging import Paging, listing, paged, provide_page
from backend.db import Database
from backend.runtime import engine
from backend.segments import store as segment_store
from backend.store import contacts as contact_store
from backend.store import flows as store
from backend.store import templates as template_store
from flows.compiler import Plan, compile_flow
from flows.contacts import Event
from flows.document import DocumentError, FlowDocument, document_from_builtins
from flows.problems import FlowProblems, Problem
from flows.segments import SegmentRule, SegmentRuleError, parse_segment_rule
from flows.simulator import SimulationError, report_to_json, simulate
from flows.timecalc import TimeError, add_duration, parse_duration, parse_instant
from nodes import CATALOGUE

FLOW_DOCUMENT = json_body("A flow document (format castflow.flow/1); a draft needs only a name.")


def _draft_fields(data: Any) -> tuple[str, str]:
    """The name and description of a draft; a draft must be an object with a name."""
    if not isinstance(data, dict):
        raise bad_request("A flow is a JSON object (a flow document with at least a 'name').")
    name = data.get("name")
    problem = store.name_problem(name)
    if problem is not None or not isinstance(name, str):
        raise bad_request(problem or "The flow needs a 'name'.")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise bad_request("The flow's 'description' must be text.")
    return name, description


def _compiled(document: Any) -> tuple[FlowDocument | None, Plan | None, list[Problem]]:
    """The document decoded and compiled, as far as it goes, and its problems."""
    try:
        decoded = document_from_builtins(document)
    except DocumentError as exc:
        return None, None, exc.problems
    try:
        return decoded, compile_flow(decoded, CATALOGUE), []
    except FlowProblems as exc:
        return decoded, None, exc.problems


def problems_of(document: Any) -> list[Problem]:
    return _compiled(document)[2]


async def _with_templates(db: Database, workspace: int, document: Any) -> tuple[Any, list[Problem]]:
    """The draft with the saved templates its send nodes name written in (as publish does), and
    the problems of templates that do not exist or do not fit the channel."""
    resolved = await template_store.resolve_document(db, workspace, document)
    return resolved.document, list(resolved.problems)


async def compiled_draft(db: Database, workspace: int, document: Any
                         ) -> tuple[FlowDocument | None, Plan | None, list[Problem]]:
    """`_compiled` over the draft as it would be published (templates filled in)."""
    filled, template_problems = await _with_templates(db, workspace, document)
    decoded, plan, problems = _compiled(filled)
    return decoded, None if template_problems else plan, template_problems + problems


def _version_out(version: dict[str, Any] | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"number": version["number"], "content_hash": version["content_hash"],
            "published_at": instant(version["published_at"])}


def _flow_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "description": row["description"],
        "status": row["status"], "created_at": instant(row["created_at"]),
        "updated_at": instant(row["updated_at"]),
    }


async def _load(db: Database, workspace: int, flow_id: int, *, document: bool = False
                ) -> dict[str, Any]:
    row = None
    if valid_id(flow_id):
        row = await store.get(db, workspace, flow_id, with_document=document)
    if row is None:
        raise not_found(f"There is no flow {flow_id}.")
    return row


async def _detail(db: Database, workspace: int, flow_id: int) -> dict[str, Any]:
    row = await _load(db, workspace, flow_id, document=True)
    return {
        **_flow_out(row),
        "document": row["document"],
        "problems": [msgspec.to_builtins(p)
                     for p in (await compiled_draft(db, workspace, row["document"]))[2]],
        "version": _version_out(await store.current_version(db, flow_id)),
        "runs": (await store.run_counts(db, [flow_id]))[flow_id],
    }


async def _unknown_segments(db: Database, workspace: int, document: Any) -> list[Problem]:
    """Nodes naming a segment the workspace does not have (a draft may; a live flow may not)."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    named = [(node["id"], node["config"]["segment"]) for node in nodes or []
             if isinstance(node, dict) and isinstance(node.get("config"), dict)
             and isinstance(node["config"].get("segment"), str) and isinstance(node.get("id"), str)]
    if not named:
        return []
    known = (await segment_store.definitions(db, workspace)).by_key
    return [Problem(f"segment {key!r} does not exist: create it on the Segments page, or choose "
                    "another.", node=node_id) for node_id, key in named if key not in known]


@asynccontextmanager
async def _runtime_errors(flow_id: int) -> AsyncIterator[None]:
    """The runtime's refusals as answers: a flow deleted meanwhile, an enrolment refused."""
    try:
        yield
    except engine.FlowNotFound:
        raise not_found(f"There is no flow {flow_id}.") from None
    except engine.EnrolError as exc:
        raise conflict(f"Flow {flow_id}: {exc}.") from None


class FlowController(Controller):
    path = "/api/flows"
    tags = ["flows"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def list_flows(self, db: Db, workspace: WorkspaceId, page: Paging) -> dict[str, Any]:
        keyset = page.keyset()
        rows, next_cursor = paged(await store.list_page(db, workspace, keyset, page.order()),
                                  page, lambda row: int(row["id"]))
        counts = await store.run_counts(db, [int(row["id"]) for row in rows])
        items = [{"id": row["id"], "name": row["name"], "status": row["status"],
                  "updated_at": instant(row["updated_at"]), "runs": counts[int(row["id"])]}
                 for row in rows]
        return listing(items, next_cursor)

    @post("/", status_code=HTTP_201_CREATED, operation_class=FLOW_DOCUMENT)
    async def create_flow(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        data = await read_json(request)
        name, description = _draft_fields(data)
        flow_id = await store.create(db, workspace, name, description, data, datetime.now(UTC))
        return await _detail(db, workspace, flow_id)

    @get("/{flow_id:int}")
    async def get_flow(
        self, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]
    ) -> dict[str, Any]:
        return await _detail(db, workspace, flow_id)

    @put("/{flow_id:int}", operation_class=FLOW_DOCUMENT)
    async def save_flow(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        workspace: WorkspaceId,
        flow_id: FromPath[int],
    ) -> dict[str, Any]:
        await _load(db, workspace, flow_id)
        data = await read_json(request)
        name, description = _draft_fields(data)
        if not await store.save_draft(db, workspace, flow_id, name, description, data,
                                      datetime.now(UTC)):
            raise not_found(f"There is no flow {flow_id}.")
        return await _detail(db, workspace, flow_id)

    @delete("/{flow_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_flow(self, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]) -> None:
        await _load(db, workspace, flow_id)
        try:
            deleted = await store.delete(db, workspace, flow_id)
        except store.FlowIsLive:
            raise conflict(f"Flow {flow_id} is live: pause it before deleting it.") from None
        if not deleted:
            raise not_found(f"There is no flow {flow_id}.")

    @post("/import", status_code=HTTP_201_CREATED, operation_class=json_body(
        "A flow document (format castflow.flow/1) that compiles."))
    async def import_flow(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        data = await read_json(request)
        filled = None
        if isinstance(data, dict):
            filled, template_problems = await _with_templates(db, workspace, data)
            if template_problems:
                raise flow_problems("The flow has problems; nothing was imported.",
                                    template_problems)
        try:
            row = await store.import_document(db, data, workspace=workspace, filled=filled)
        except FlowProblems as exc:
            raise flow_problems("The flow has problems; nothing was imported.",
                                exc.problems) from None
        return await _detail(db, workspace, int(row["id"]))

    @get("/{flow_id:int}/export", media_type="application/json")
    async def export_flow(
        self, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]
    ) -> Response[bytes]:
        row = await _load(db, workspace, flow_id)
        try:
            exported = await store.export_document(db, flow_id, workspace=workspace)
        except FlowProblems as exc:
            raise flow_problems("The draft is not a valid flow document yet, so it cannot be "
                                "exported; fix these problems first.", exc.problems) from None
        except store.FlowNotFound:
            raise not_found(f"There is no flow {flow_id}.") from None
        filename = re.sub(r"[^A-Za-z0-9_-]+", "_", row["name"]).strip("_") or "flow"
        return Response(
            exported, media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}.json"'},
        )

    @post("/{flow_id:int}/publish", status_code=HTTP_200_OK)
    async def publish_flow(
        self, state: State, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]
    ) -> dict[str, Any]:
        row = await _load(db, workspace, flow_id, document=True)
        unknown = await _unknown_segments(db, workspace, row["document"])
        if unknown:
            raise flow_problems("The flow has problems; it was not published.", unknown)
        try:
            async with _runtime_errors(flow_id):
                version = await engine.publish(db, state.queue, flow_id, datetime.now(UTC))
        except FlowProblems as exc:
            raise flow_problems("The flow has problems; it was not published.",
                                exc.problems) from None
        return {"id": flow_id, "status": "live", "version": _version_out(version)}

    @post("/{flow_id:int}/pause", status_code=HTTP_200_OK)
    async def pause_flow(
        self, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]
    ) -> dict[str, Any]:
        row = await _load(db, workspace, flow_id)
        if row["status"] != "live":
            raise conflict(f"Flow {flow_id} is not live (it is {row['status']}); only a live "
                           "flow can be paused.")
        async with _runtime_errors(flow_id):
            await engine.pause(db, flow_id)
        return _flow_out(await _load(db, workspace, flow_id))

    @post("/{flow_id:int}/resume", status_code=HTTP_200_OK)
    async def resume_flow(
        self, state: State, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]
    ) -> dict[str, Any]:
        row = await _load(db, workspace, flow_id)
        if row["status"] != "paused":
            raise conflict(f"Flow {flow_id} is not paused (it is {row['status']}); only a "
                           "paused flow can be resumed.")
        async with _runtime_errors(flow_id):
            await engine.resume(db, state.queue, flow_id)
        return _flow_out(await _load(db, workspace, flow_id))

    @post("/{flow_id:int}/enrol", status_code=HTTP_200_OK, operation_class=json_body(
        'Contacts to enter the flow: {"contacts": ["c-1", ...]}'))
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: Db,
        workspace: WorkspaceId,
        flow_id: FromPath[int],
    ) -> dict[str, Any]:
        row = await _load(db, workspace, flow_id)
        keys = _contact_keys(await read_json(request))
        if row["status"] != "live":
            raise conflict(f"Flow {flow_id} is not live (it is {row['status']}); publish it "
                           "before enrolling contacts.")
        async with _runtime_errors(flow_id):
            enrolled = await engine.enrol(db, state.queue, flow_id, keys, datetime.now(UTC))
        return {"enrolled": enrolled}

    @post("/{flow_id:int}/simulate", status_code=HTTP_200_OK, operation_class=json_body(
        'A dry run: {"contacts"?, "contact_ids"?, "events"?, "segments"?, "start"?, '
        '"horizon"?, "seed"?}'))
    async def simulate(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        workspace: WorkspaceId,
        flow_id: FromPath[int],
    ) -> Response[bytes]:
        row = await _load(db, workspace, flow_id, document=True)
        data = await read_json(request, optional=True)
        _, plan, problems = await compiled_draft(db, workspace, row["document"])
        if plan is None:
            raise flow_problems("The flow has problems; fix them to simulate it.", problems)
        report = await _simulate(db, workspace, plan, data)
        return Response(report, media_type="application/json")

    @get("/{flow_id:int}/stats")
    async def stats(self, db: Db, workspace: WorkspaceId, flow_id: FromPath[int]) -> Any:
        await _load(db, workspace, flow_id)
        return await engine.flow_stats(db, flow_id)


def _contact_keys(data: Any) -> list[str]:
    if not isinstance(data, dict) or set(data) != {"contacts"}:
        raise bad_request('Send {"contacts": ["contact id", ...]}.')
    keys = data["contacts"]
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise bad_request("'contacts' must be a list of contact ids (text).")
    if len(keys) > MAX_BODY_ITEMS:
        raise bad_request(f"At most {MAX_BODY_ITEMS} contacts per request; send several "
                          "requests.")
    return keys


# --- dry runs ---------------------------------------------------------------------------------

MAX_SIMULATED_CONTACTS = 100_000


class SegmentDefinition(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    rule: Any
    name: str | None = None


class SimulationRequest(msgspec.Struct, forbid_unknown_fields=True):
    contacts: list[Any] | None = None  # inline contacts; else the stored ones
    contact_ids: list[str] | None = None  # which stored contacts (default: all)
    events: list[Any] = msgspec.field(default_factory=list)
    segments: list[SegmentDefinition] = msgspec.field(default_factory=list)
    start: str | None = None
    horizon: str = "P30D"
    seed: int = 0


async def _simulate(db: Database, workspace: int, plan: Plan, data: Any) -> bytes:
    """The same report as `castflow simulate`, for the draft, over given or stored contacts."""
    if data is None:
        data = {}
    ask = convert(data, SimulationRequest, "The simulation request")
    if ask.contacts is not None and ask.contact_ids is not None:
        raise bad_request("Give either 'contacts' (inline) or 'contact_ids' (stored), not both.")
    if ask.contacts is not None:
        contacts = [parse_contact(item, f"contacts[{index}]")[1]
                    for index, item in enumerate(ask.contacts)]
    else:
        contacts = await _stored_contacts(db, workspace, ask.contact_ids)
    events = [parse_event(item, f"events[{index}]") for index, item in enumerate(ask.events)]
    # The workspace's segments, and any given with the request (which take their place).
    rules: dict[str, SegmentRule] = {
        key: segment.rule for key, segment in
        (await segment_store.definitions(db, workspace)).by_key.items()
    }
    for index, segment in enumerate(ask.segments):
        try:
            rules[segment.key] = parse_segment_rule(segment.rule)
        except SegmentRuleError as exc:
            raise bad_request(f"segments[{index}] ({segment.key!r}): {exc}") from None
    try:
        start_at = parse_instant(ask.start) if ask.start else _default_start(events)
        end_at = add_duration(start_at, parse_duration(ask.horizon), plan.timezone)
    except TimeError as exc:
        raise bad_request(f"'start' / 'horizon': {exc}") from None
    extra: dict[str, Any] = {"segments": rules}
    try:
        report = await asyncio.to_thread(
            simulate, plan, contacts, events, start_at, end_at, seed=ask.seed, **extra
        )
    except SimulationError as exc:
        raise bad_request(f"The dry run cannot go on: {exc}. Create the segment, or give it in "
                          "'segments'.") from None
    return report_to_json(report)


async def _stored_contacts(
    db: Database, workspace: int, keys: list[str] | None
) -> list[dict[str, Any]]:
    if keys is not None:
        found = await contact_store.load_contacts(db, workspace, keys)
        missing = [key for key in keys if key not in found]
        if missing:
            shown = ", ".join(repr(key) for key in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise bad_request(f"'contact_ids': no contact with id {shown}{more}.")
        return [found[key] for key in dict.fromkeys(keys)]
    rows = await db.fetch(
        f"SELECT * FROM contacts WHERE workspace = {{}} ORDER BY id "
        f"LIMIT {MAX_SIMULATED_CONTACTS + 1}",
        workspace,
    )
    if len(rows) > MAX_SIMULATED_CONTACTS:
        raise bad_request(f"There are more than {MAX_SIMULATED_CONTACTS} contacts; choose some "
                          "with 'contact_ids' or send them in 'contacts'.")
    return [contact_store.row_to_data(row) for row in rows]


def _default_start(events: list[Event]) -> datetime:
    times = [event.at for event in events if event.at is not None]
    return min(times) if times else datetime.now(UTC).replace(microsecond=0)
