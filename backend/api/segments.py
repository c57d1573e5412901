"""Segments: named rules over contacts and their events, with live counts and members.

A rule is checked before anything is stored: it must parse, name only segments that exist,
include no segment that includes it back, and compile to SQL (counting a segment over a million
contacts is one query). Counts and member lists are evaluated in SQL at request time; the
membership table (who entered when, and why) is kept current by the worker and shown on
contact profiles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from backend.api import Db, WorkspaceId, instant
from backend.api.errors import (
    bad_request,
    check_key,
    check_name,
    conflict,
    json_body,
    not_found,
    read_json,
)
from backend.api.paging import Page, Paging, listing, paged, provide_page
from backend.db import Database
from backend.segments import store
from backend.segments.refresh import after_segment_saved
from backend.segments.sql import compile_segment
from backend.segments.store import Definitions, Segment, dialect
from backend.store.contacts import row_to_data
from flows.segments import SegmentRule, SegmentRuleError, parse_segment_rule

SAMPLE_SIZE = 10


class SegmentBody(msgspec.Struct, forbid_unknown_fields=True):
    key: str | None = None
    name: str | None = None
    rule: Any = msgspec.UNSET


def _body(data: Any) -> SegmentBody:
    if not isinstance(data, dict):
        raise bad_request('Send a segment as a JSON object: {"key", "name", "rule"}.')
    unknown = sorted(set(data) - {"key", "name", "rule"})
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}: a segment has 'key', 'name' and "
                          "'rule'.")
    for field in ("key", "name"):
        if field in data and not isinstance(data[field], str):
            raise bad_request(f"'{field}' must be text.")
    return SegmentBody(key=data.get("key"), name=data.get("name"),
                       rule=data.get("rule", msgspec.UNSET))


def _check_rule(rule: Any, defs: Definitions, key: str | None, db: Database) -> SegmentRule:
    """Parse and compile a rule against the workspace's other segments; 400 naming the part."""
    if rule is msgspec.UNSET or rule is None:
        raise bad_request("'rule' is missing: give a JsonLogic condition over the contact.")
    try:
        parsed = parse_segment_rule(rule)
    except SegmentRuleError as exc:
        raise bad_request(f"The rule cannot be used: {exc}") from None

    def resolve(other: str) -> SegmentRule:
        if other == key:
            return parsed  # the rule as it will be: a self-reference is a cycle
        return defs.resolve(other)

    try:
        compile_segment(parsed, dialect(db), datetime.now(UTC), resolve)
    except SegmentRuleError as exc:
        raise bad_request(f"The rule cannot be used: {exc}") from None
    except LookupError as exc:
        raise bad_request(f"The rule cannot be used: {exc.args[0] if exc.args else exc}. "
                          "Create that segment first.") from None
    return parsed


def _out(segment: Segment, count: int | None = None) -> dict[str, Any]:
    deps = segment.rule.dependencies
    out: dict[str, Any] = {
        "key": segment.key, "name": segment.name, "rule": segment.rule.source,
        "created_at": instant(segment.created_at), "updated_at": instant(segment.updated_at),
        "dependencies": {"contact": deps.contact, "events": sorted(deps.events),
                         "segments": sorted(deps.segments), "time_based": deps.time_based},
    }
    if count is not None:
        out["count"] = count
    return out


async def _count(db: Database, defs: Definitions, key: str, now: datetime) -> int:
    condition = defs.condition(key, dialect(db), now)
    rows = await db.fetch(
        f"SELECT count(*) AS n FROM contacts c WHERE c.workspace = {{}} AND ({condition.sql})",
        defs.workspace, *condition.params,
    )
    return int(rows[0]["n"])


async def _matching(db: Database, defs: Definitions, key: str, now: datetime, page: Page
                    ) -> list[dict[str, Any]]:
    """Contacts matching segment `key` now (a page of them, newest first), with since when and
    why they are members when the membership table knows."""
    condition = defs.condition(key, dialect(db), now)
    where, args = page.keyset("c.id")
    return await db.fetch(
        "SELECT c.*, m.since AS member_since, m.reason AS member_reason FROM contacts c "
        "LEFT JOIN segment_members m ON m.contact = c.key AND m.segment = "
        "(SELECT id FROM segments WHERE workspace = {} AND key = {}) "
        f"WHERE c.workspace = {{}} AND ({condition.sql}){where}{page.order('c.id')}",
        defs.workspace, key, defs.workspace, *condition.params, *args,
    )


async def _refresh(state: State, db: Database, workspace: int, key: str, reason: str) -> None:
    result = await after_segment_saved(db, workspace, key, datetime.now(UTC), reason)
    if result.events:
        await state.queue.enqueue("events", result.events)


async def _existing(db: Database, workspace: int, key: str) -> tuple[Definitions, Segment]:
    defs = await store.definitions(db, workspace)
    segment = defs.by_key.get(key)
    if segment is None:
        raise not_found(f"There is no segment with key {key!r}.")
    return defs, segment


class SegmentController(Controller):
    path = "/api/segments"
    tags = ["segments"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def list_segments(self, db: Db, workspace: WorkspaceId, page: Paging
                            ) -> dict[str, Any]:
        where, args = page.keyset("s.id")
        rows = await db.fetch(
            "SELECT s.id, s.key, (SELECT count(*) FROM segment_members m "
            "WHERE m.segment = s.id) AS members FROM segments s "
            f"WHERE s.workspace = {{}}{where}{page.order('s.id')}",
            workspace, *args,
        )
        rows, next_cursor = paged(rows, page, lambda row: int(row["id"]))
        defs = await store.definitions(db, workspace)
        items = [_out(defs.by_key[row["key"]], int(row["members"]))
                 for row in rows if row["key"] in defs.by_key]
        return listing(items, next_cursor)

    @post("/", status_code=HTTP_201_CREATED, operation_class=json_body(
        'A segment: {"key": "vip", "name": "VIP customers", "rule": {JsonLogic}}'))
    async def create_segment(
        self, request: Request[Any, Any, Any], state: State, db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        body = _body(await read_json(request))
        key = check_key(body.key, "name the segment with a short key, e.g. 'vip'.",
                        store.MAX_KEY_LENGTH)
        name = check_name(body.name if body.name is not None else key, store.MAX_NAME_LENGTH)
        defs = await store.definitions(db, workspace)
        if key in defs.by_key:
            raise conflict(f"A segment with key {key!r} exists already; change it with "
                           f"PUT /api/segments/{key}.")
        _check_rule(body.rule, defs, key, db)
        now = datetime.now(UTC)
        try:
            await store.insert(db, workspace, key, name, body.rule, now)
        except Exception as exc:  # a concurrent create of the same key
            if "unique" in str(exc).lower():
                raise conflict(f"A segment with key {key!r} exists already.") from None
            raise
        await _refresh(state, db, workspace, key, "segment created")
        return await self._detail(db, workspace, key)

    @get("/{key:str}")
    async def get_segment(self, db: Db, workspace: WorkspaceId, key: FromPath[str]
                          ) -> dict[str, Any]:
        return await self._detail(db, workspace, key)

    async def _detail(self, db: Database, workspace: int, key: str) -> dict[str, Any]:
        defs, segment = await _existing(db, workspace, key)
        return _out(segment, await _count(db, defs, key, datetime.now(UTC)))

    @put("/{key:str}", status_code=HTTP_200_OK, operation_class=json_body(
        'Changes: {"name": ..., "rule": ...} (either or both)'))
    async def update_segment(
        self, request: Request[Any, Any, Any], state: State, db: Db, workspace: WorkspaceId,
        key: FromPath[str],
    ) -> dict[str, Any]:
        body = _body(await read_json(request))
        defs, segment = await _existing(db, workspace, key)
        if body.key is not None and body.key != key:
            raise bad_request("A segment's key cannot change (flows name it); create a new "
                              "segment instead.")
        name = (check_name(body.name, store.MAX_NAME_LENGTH) if body.name is not None
                else segment.name)
        rule = segment.rule.source if body.rule is msgspec.UNSET else body.rule
        if body.rule is not msgspec.UNSET:
            _check_rule(rule, defs, key, db)
        await store.update(db, segment.id, name, rule, datetime.now(UTC))
        if body.rule is not msgspec.UNSET and body.rule != segment.rule.source:
            await _refresh(state, db, workspace, key, "segment rule changed")
        return await self._detail(db, workspace, key)

    @delete("/{key:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_segment(self, db: Db, workspace: WorkspaceId, key: FromPath[str]) -> None:
        defs, segment = await _existing(db, workspace, key)
        users = sorted(other for other, s in defs.by_key.items()
                       if key in s.rule.dependencies.segments and other != key)
        if users:
            raise conflict(f"Segment {key!r} is used by segment {users[0]!r}: change that "
                           "rule first.")
        async with db.write():
            await store.delete(db, segment.id)

    @get("/{key:str}/members")
    async def members(self, db: Db, workspace: WorkspaceId, key: FromPath[str], page: Paging
                      ) -> dict[str, Any]:
        defs, _ = await _existing(db, workspace, key)
        rows, next_cursor = paged(
            await _matching(db, defs, key, datetime.now(UTC), page), page,
            lambda row: int(row["id"]),
        )
        items = [{"contact": row_to_data(row), "since": instant(row["member_since"]),
                  "reason": row["member_reason"]} for row in rows]
        return listing(items, next_cursor)

    @post("/preview", status_code=HTTP_200_OK, operation_class=json_body(
        'A rule to try: {"rule": {JsonLogic}}; nothing is saved'))
    async def preview(self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
                      ) -> dict[str, Any]:
        data = await read_json(request)
        if not isinstance(data, dict) or "rule" not in data:
            raise bad_request('Send {"rule": ...}: the condition to count contacts with.')
        defs = (await store.definitions(db, workspace)).copy()
        parsed = _check_rule(data["rule"], defs, None, db)
        key = "#preview"  # cannot clash: stored keys match errors.KEY_PATTERN
        defs.by_key[key] = Segment(0, key, "preview", parsed, datetime.now(UTC),
                                   datetime.now(UTC))
        now = datetime.now(UTC)
        rows = await _matching(db, defs, key, now, Page(limit=SAMPLE_SIZE))
        return {"count": await _count(db, defs, key, now),
                "sample": [row_to_data(row) for row in rows[:SAMPLE_SIZE]]}
