"""Segment definitions: stored rules, parsed once, with what each depends on.

A workspace's segments form a small graph (`in_segment` names other segments). `Definitions`
holds them parsed, resolves keys for the evaluator and the SQL compiler, and answers which
segments a change can affect: a contact's own data, events of a name, or the passing of time.
Dependencies are transitive: a segment that includes one counting `purchased` events changes
when a `purchased` event arrives too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from backend.db import Database, id_for_insert
from backend.segments.sql import Dialect, SqlCondition, compile_segment
from flows.segments import SegmentRule, SegmentRuleError, parse_segment_rule

MAX_KEY_LENGTH = 200
MAX_NAME_LENGTH = 200


def _loads(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class Segment:
    id: int
    key: str
    name: str
    rule: SegmentRule
    created_at: datetime
    updated_at: datetime


@dataclass
class Definitions:
    """A workspace's segments, by key, with transitive dependencies."""

    workspace: int
    by_key: dict[str, Segment] = field(default_factory=dict)
    # Compiled conditions for the current second: refreshes that run within one second share
    # them (compiling a rule costs more than evaluating it for a contact).
    _compiled: dict[tuple[str, str, datetime], SqlCondition] = field(default_factory=dict)

    def resolve(self, key: str) -> SegmentRule:
        segment = self.by_key.get(key)
        if segment is None:
            raise LookupError(f"segment {key!r} is not defined")
        return segment.rule

    def closure(self, key: str) -> set[str]:
        """The segment and every segment it reads, directly or not."""
        seen: set[str] = set()
        todo = [key]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.by_key:
                continue
            seen.add(current)
            todo.extend(self.by_key[current].rule.dependencies.segments)
        return seen

    def affected(self, *, contact: bool = False, events: Iterable[str] = ()) -> list[Segment]:
        """Segments whose membership may change when a contact's data (`contact`) or its events
        of these names change."""
        names = set(events)
        out = []
        for key, segment in self.by_key.items():
            for part in self.closure(key):
                deps = self.by_key[part].rule.dependencies
                if (contact and deps.contact) or (names & deps.events):
                    out.append(segment)
                    break
        return out

    def time_based(self) -> list[Segment]:
        return [segment for key, segment in self.by_key.items()
                if any(self.by_key[p].rule.dependencies.time_based for p in self.closure(key))]

    def condition(self, key: str, dialect: Dialect, now: datetime) -> SqlCondition:
        """`key`'s rule in SQL, evaluated at `now` to the second."""
        now = now.replace(microsecond=0)
        cache_key = (key, dialect, now)
        found = self._compiled.get(cache_key)
        if found is None:
            if any(second != now for _, _, second in self._compiled):
                self._compiled.clear()
            found = self._compiled[cache_key] = compile_segment(
                self.resolve(key), dialect, now, self.resolve)
        return found

    def copy(self) -> Definitions:
        """A copy whose segments can be added to (a preview) without touching the cache."""
        return Definitions(self.workspace, dict(self.by_key))


def dialect(db: Database) -> Dialect:
    return "sqlite" if db.is_sqlite else "postgresql"


def _segment(row: dict[str, Any]) -> Segment:
    return Segment(
        id=int(row["id"]), key=row["key"], name=row["name"],
        rule=parse_segment_rule(_loads(row["rule"])),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


_cache: dict[tuple[int, int], tuple[tuple[Any, ...], Definitions]] = {}


async def definitions(db: Database, workspace: int) -> Definitions:
    """The workspace's segments, parsed. Kept while the segments table is unchanged for the
    workspace (one small query says so): parsing 50 rules on every event costs ~30 ms."""
    [mark] = await db.fetch(
        "SELECT count(*) AS n, max(updated_at) AS changed, sum(id) AS ids FROM segments "
        "WHERE workspace = {}", workspace)
    fingerprint = (mark["n"], str(mark["changed"]), mark["ids"])
    cached = _cache.get((id(db), workspace))
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    rows = await db.fetch("SELECT * FROM segments WHERE workspace = {} ORDER BY key", workspace)
    defs = Definitions(workspace)
    for row in rows:
        try:
            defs.by_key[row["key"]] = _segment(row)
        except SegmentRuleError:
            continue  # stored before a rule change in the language: leave it out, never crash
    _cache[(id(db), workspace)] = (fingerprint, defs)
    return defs


async def workspaces_with_segments(db: Database) -> list[int]:
    rows = await db.fetch("SELECT DISTINCT workspace FROM segments")
    return [int(row["workspace"]) for row in rows]


async def insert(db: Database, workspace: int, key: str, name: str, rule: Any,
                 now: datetime) -> int:
    # Never a deleted segment's id: memberships, changes and caches are keyed by it.
    id_column, id_mark, ids = await id_for_insert(db, "segments")
    rows = await db.fetch(
        f"INSERT INTO segments ({id_column}workspace, key, name, rule, created_at, updated_at) "
        f"VALUES ({id_mark}{{}}, {{}}, {{}}, {{}}, {{}}, {{}}) RETURNING id",
        *ids, workspace, key, name, msgspec.json.encode(rule).decode(), now, now,
    )
    return int(rows[0]["id"])


async def update(db: Database, segment_id: int, name: str, rule: Any, now: datetime) -> None:
    await db.execute(
        "UPDATE segments SET name = {}, rule = {}, updated_at = {} WHERE id = {}",
        name, msgspec.json.encode(rule).decode(), now, segment_id,
    )


async def delete(db: Database, segment_id: int) -> None:
    await db.execute("DELETE FROM segment_members WHERE segment = {}", segment_id)
    await db.execute("DELETE FROM segment_changes WHERE segment = {}", segment_id)
    await db.execute("DELETE FROM segments WHERE id = {}", segment_id)


async def memberships_of(db: Database, workspace: int, contact: str) -> list[dict[str, Any]]:
    """The segments a contact is in now, with since when and why."""
    return await db.fetch(
        "SELECT s.key, s.name, m.since, m.reason FROM segment_members m "
        "JOIN segments s ON s.id = m.segment "
        "WHERE m.workspace = {} AND m.contact = {} ORDER BY s.key",
        workspace, contact,
    )


async def changes_of(db: Database, workspace: int, contact: str, limit: int
                     ) -> list[dict[str, Any]]:
    """A contact's latest segment entries and exits, newest first."""
    return await db.fetch(
        "SELECT s.key, s.name, ch.kind, ch.at, ch.reason FROM segment_changes ch "
        "JOIN segments s ON s.id = ch.segment "
        f"WHERE ch.workspace = {{}} AND ch.contact = {{}} ORDER BY ch.id DESC LIMIT {int(limit)}",
        workspace, contact,
    )
