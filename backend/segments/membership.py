"""Dynamic membership: who is in each segment now, kept current in SQL.

Three ways a membership changes, one mechanism:
- a contact's data or its events change: `refresh_contacts` re-evaluates, for those contacts
  only, the segments that depend on what changed (one query for all of them);
- time passes ("not in the last 21 days"): `refresh_segment` re-evaluates a whole segment in
  bulk (one INSERT ... SELECT for entries and one DELETE for exits), periodically;
- a segment is created or its rule edited: `refresh_segment` too.

Each entry and exit is written to `segment_changes` with its time and reason, in the same
transaction as the membership row: `INSERT ... ON CONFLICT DO NOTHING RETURNING` and
`DELETE ... RETURNING` say which rows really changed, so an entry is recorded once even when two
refreshes race. When a live flow listens for a segment's entries or exits, each change also
becomes an event (`segment_entered:KEY` / `segment_exited:KEY`, keyed by the change so it is
stored once) that the worker's event matching enters into the flow: the same exactly-once path
as every other event.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from backend.db import Database, any_of, list_param
from backend.segments.sql import compile_segment
from backend.segments.store import Definitions, Segment, dialect
from backend.store.contacts import load_contacts
from flows.compiler import membership_event as flow_membership_event
from flows.segments import SegmentRuleError, evaluate_segment

Kind = Literal["entered", "exited"]
CHUNK = 500
LISTENERS_TTL_SECONDS = 2.0


@dataclass(frozen=True)
class Change:
    segment: Segment
    contact: str
    kind: Kind
    reason: str


@dataclass
class Refresh:
    """What a refresh changed, and the ids of the events to hand to the worker's matching."""

    changes: list[Change] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def add(self, other: Refresh) -> None:
        self.changes += other.changes
        self.events += other.events


def membership_event(kind: Kind, segment_key: str) -> str:
    """The event name a membership change becomes (what segment triggers listen for)."""
    return flow_membership_event(f"segment_{kind}", segment_key)


async def _lock(db: Database, workspace: int) -> None:
    """Serialise refreshes of one workspace (SQLite's write lock already does)."""
    if not db.is_sqlite:
        await db.execute("SELECT pg_advisory_xact_lock(7405, {})", workspace)
        # Segment conditions look costly to the planner, which then JIT-compiles them: ~15 ms
        # spent before evaluating a rule for a handful of contacts.
        await db.execute("SET LOCAL jit = off")


async def refresh_contacts(
    db: Database, defs: Definitions, keys: Sequence[str], segments: Sequence[Segment],
    now: datetime, reason: str,
) -> Refresh:
    """Re-evaluate `segments` for the contacts `keys`; record and return the changes."""
    result = Refresh()
    if not segments or not keys:
        return result
    for begin in range(0, len(keys), CHUNK):
        chunk = list(dict.fromkeys(keys[begin:begin + CHUNK]))
        async with db.write():
            await _lock(db, defs.workspace)
            matched = await _evaluate(db, defs, chunk, segments, now)
            current = await _members(db, [s.id for s in segments], chunk)
            entered = [(s, k) for s in segments for k in chunk
                       if k in matched and s.key in matched[k] and (s.id, k) not in current]
            exited = [(s, k) for s in segments for k in chunk
                      if (s.id, k) in current and s.key not in matched.get(k, set())]
            result.add(await _apply(db, defs.workspace, entered, exited, now, reason))
    return result


async def _evaluate(db: Database, defs: Definitions, keys: list[str],
                    segments: Sequence[Segment], now: datetime) -> dict[str, set[str]]:
    """contact key -> keys of the given segments it matches.

    For a few contacts the rules are evaluated in Python (flows.segments, the evaluator the
    simulator uses; the differential tests hold it equal to the SQL) over the contacts and
    their events of the names the rules count, read in two queries: a 50-segment rule set
    compiled to SQL is ~50 KB of text that PostgreSQL plans on every call (~17 ms)."""
    contacts = await load_contacts(db, defs.workspace, keys)
    names = sorted({name for segment in segments for part in defs.closure(segment.key)
                    for name in defs.by_key[part].rule.dependencies.events})
    history: dict[str, list[dict[str, Any]]] = {key: [] for key in contacts}
    if names and contacts:
        for row in await db.fetch(
            f"SELECT contact, name, at, properties FROM events WHERE workspace = {{}} "
            f"AND {any_of(db, 'contact', 'text')} AND {any_of(db, 'name', 'text')} "
            "AND at <= {}",
            defs.workspace, list_param(db, contacts), list_param(db, names), now,
        ):
            at = row["at"]
            at = datetime.fromisoformat(at) if isinstance(at, str) else at
            properties = row["properties"]
            if isinstance(properties, str | bytes):
                properties = msgspec.json.decode(properties)
            history[row["contact"]].append(
                {"name": row["name"], "at": at.astimezone(UTC), "properties": properties or {}})
    matched: dict[str, set[str]] = {}
    for key, contact in contacts.items():
        matched[key] = set()
        for segment in segments:
            try:
                if evaluate_segment(segment.rule, contact, history[key], now, defs.resolve):
                    matched[key].add(segment.key)
            except (LookupError, SegmentRuleError):
                continue  # a segment it names was deleted meanwhile: not a member
    return matched


async def _members(db: Database, segment_ids: list[int], keys: list[str]
                   ) -> set[tuple[int, str]]:
    rows = await db.fetch(
        f"SELECT segment, contact FROM segment_members WHERE {any_of(db, 'segment', 'int')} "
        f"AND {any_of(db, 'contact', 'text')}", list_param(db, segment_ids), list_param(db, keys),
    )
    return {(int(row["segment"]), row["contact"]) for row in rows}


async def _apply(
    db: Database, workspace: int, entered: list[tuple[Segment, str]],
    exited: list[tuple[Segment, str]], now: datetime, reason: str,
) -> Refresh:
    changes: list[Change] = []
    by_id = {segment.id: segment for segment, _ in (*entered, *exited)}
    # One statement each for entries and exits: RETURNING says which rows really changed.
    for begin in range(0, len(entered), CHUNK):
        part = entered[begin:begin + CHUNK]
        args: list[Any] = []
        for segment, key in part:
            args += [workspace, segment.id, key, now, reason]
        rows = await db.fetch(
            "INSERT INTO segment_members (workspace, segment, contact, since, reason) VALUES "
            + ", ".join("({}, {}, {}, {}, {})" for _ in part)
            + " ON CONFLICT (segment, contact) DO NOTHING RETURNING segment, contact", *args,
        )
        done = {(int(row["segment"]), row["contact"]) for row in rows}
        changes += [Change(segment, key, "entered", reason) for segment, key in part
                    if (segment.id, key) in done]
    for begin in range(0, len(exited), CHUNK):
        part = exited[begin:begin + CHUNK]
        args = []
        for segment, key in part:
            args += [segment.id, key]
        rows = await db.fetch(
            "DELETE FROM segment_members WHERE "
            + " OR ".join("(segment = {} AND contact = {})" for _ in part)
            + " RETURNING segment, contact", *args,
        )
        changes += [Change(by_id[int(row["segment"])], row["contact"], "exited", reason)
                    for row in rows]
    return Refresh(changes, await _record(db, workspace, changes, now))


async def refresh_segment(
    db: Database, defs: Definitions, segment: Segment, now: datetime, reason: str
) -> Refresh:
    """Re-evaluate one segment over every contact of the workspace, in bulk, in SQL."""
    # bulk: each event aggregate is one grouped pass over the events, not one subquery per
    # contact
    condition = compile_segment(defs.resolve(segment.key), dialect(db), now, defs.resolve,
                                bulk=True)
    matched = (f"SELECT c.key FROM contacts c {condition.joins} "
               f"WHERE c.workspace = {{}} AND ({condition.sql})")
    matched_params = [*condition.join_params, defs.workspace, *condition.params]
    async with db.write():
        await _lock(db, defs.workspace)
        if db.is_sqlite:
            return await _refresh_sqlite(db, defs.workspace, segment, matched, matched_params,
                                         now, reason)
        # The row estimate of a few JSON conditions is often 1 row, for which PostgreSQL would
        # re-run a grouped pass over the events per contact (a nested loop); hash joins keep
        # it one pass whatever the estimate.
        await db.execute("SET LOCAL enable_nestloop = off")
        # One statement: the rule is evaluated once, exits and entries are both worked out
        # from that result, and their history rows are written by the same statement.
        rows = await db.fetch(
            f"WITH matched AS MATERIALIZED ({matched}), "
            "gone AS (DELETE FROM segment_members m WHERE m.segment = {} AND NOT EXISTS ("
            "SELECT 1 FROM matched x WHERE x.key = m.contact) RETURNING m.contact), "
            "came AS (INSERT INTO segment_members (workspace, segment, contact, since, reason) "
            "SELECT {}, {}, x.key, {}, {} FROM matched x WHERE NOT EXISTS ("
            "SELECT 1 FROM segment_members m WHERE m.segment = {} AND m.contact = x.key) "
            "ON CONFLICT (segment, contact) DO NOTHING RETURNING contact), "
            "changed AS (SELECT 1 AS step, 'exited' AS kind, contact FROM gone "
            "UNION ALL SELECT 2, 'entered', contact FROM came), "
            "logged AS (INSERT INTO segment_changes (workspace, segment, contact, kind, at, "
            "reason) SELECT {}, {}, contact, kind, {}, {} FROM changed ORDER BY step, contact "
            "RETURNING id, contact, kind) "
            "SELECT id, contact, kind FROM logged ORDER BY id",
            *matched_params, segment.id,
            defs.workspace, segment.id, now, reason, segment.id,
            defs.workspace, segment.id, now, reason,
        )
        logged = [(int(row["id"]), Change(segment, row["contact"], row["kind"], reason))
                  for row in rows]
        events = await _listened_events(db, defs.workspace, logged, now)
    return Refresh([change for _, change in logged], events)


async def _refresh_sqlite(
    db: Database, workspace: int, segment: Segment, matched: str, params: list[Any],
    now: datetime, reason: str,
) -> Refresh:
    """SQLite has no data-modifying CTEs: exits, then entries, then the history rows."""
    exits = await db.fetch(
        f"DELETE FROM segment_members WHERE segment = {{}} AND contact NOT IN ({matched}) "
        "RETURNING contact", segment.id, *params,
    )
    entries = await db.fetch(
        "INSERT INTO segment_members (workspace, segment, contact, since, reason) "
        f"SELECT {{}}, {{}}, x.key, {{}}, {{}} FROM ({matched}) x WHERE true "
        "ON CONFLICT (segment, contact) DO NOTHING RETURNING contact",
        workspace, segment.id, now, reason, *params,
    )
    changes = [Change(segment, row["contact"], "exited", reason) for row in exits]
    changes += [Change(segment, row["contact"], "entered", reason) for row in entries]
    return Refresh(changes, await _record(db, workspace, changes, now))


async def _record(db: Database, workspace: int, changes: list[Change], now: datetime
                  ) -> list[int]:
    """History rows for the changes, and events for the ones a live flow listens for (their
    ids are returned)."""
    if not changes:
        return []
    logged: list[tuple[int, Change]] = []
    for begin in range(0, len(changes), CHUNK):
        part = changes[begin:begin + CHUNK]
        ids = await _insert_changes(db, workspace, part, now)
        logged += zip(ids, part, strict=True)
    return await _listened_events(db, workspace, logged, now)


async def _listened_events(db: Database, workspace: int, logged: list[tuple[int, Change]],
                           now: datetime) -> list[int]:
    """Events for the logged changes (change id, change) a live flow listens for; their ids."""
    if not logged:
        return []
    listened = await listened_events(db, workspace)
    events = [(change_id, change) for change_id, change in logged
              if membership_event(change.kind, change.segment.key) in listened]
    event_ids: list[int] = []
    for begin in range(0, len(events), CHUNK):
        event_ids += await _insert_events(db, workspace, events[begin:begin + CHUNK], now)
    return event_ids


async def _insert_changes(db: Database, workspace: int, changes: list[Change],
                          now: datetime) -> list[int]:
    groups = ", ".join("({}, {}, {}, {}, {}, {})" for _ in changes)
    args: list[Any] = []
    for change in changes:
        args += [workspace, change.segment.id, change.contact, change.kind, now, change.reason]
    rows = await db.fetch(
        f"INSERT INTO segment_changes (workspace, segment, contact, kind, at, reason) "
        f"VALUES {groups} RETURNING id", *args,
    )
    # RETURNING gives rows in insertion order on both databases for a single VALUES insert.
    return sorted(int(row["id"]) for row in rows)


async def _insert_events(db: Database, workspace: int, events: list[tuple[int, Change]],
                         now: datetime) -> list[int]:
    groups = ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in events)
    args: list[Any] = []
    for change_id, change in events:
        properties = {"segment": change.segment.key, "reason": change.reason}
        args += [workspace, f"segment-change:{change_id}", change.contact,
                 membership_event(change.kind, change.segment.key), now, now,
                 msgspec.json.encode(properties).decode()]
    rows = await db.fetch(
        f"INSERT INTO events (workspace, key, contact, name, at, received_at, properties) "
        f"VALUES {groups} ON CONFLICT DO NOTHING RETURNING id", *args,
    )
    return [int(row["id"]) for row in rows]


_listeners: dict[tuple[int, int], tuple[float, frozenset[str]]] = {}


async def listened_events(db: Database, workspace: int) -> frozenset[str]:
    """Membership event names that live flows of the workspace have triggers for (cached for
    a couple of seconds: a flow published meanwhile enrols current members by
    `include_current`, not by these events)."""
    cache_key = (id(db), workspace)
    cached = _listeners.get(cache_key)
    if cached is not None and time.monotonic() - cached[0] < LISTENERS_TTL_SECONDS:
        return cached[1]
    rows = await db.fetch(
        "SELECT v.document FROM flow_versions v JOIN flows f ON f.id = v.flow "
        "WHERE f.workspace = {} AND f.status = 'live' AND v.current = {}",
        workspace, True,
    )
    names: set[str] = set()
    for row in rows:
        document = msgspec.json.decode(row["document"]) if isinstance(
            row["document"], str | bytes) else row["document"]
        names.update(_segment_listeners(document))
    result = frozenset(names)
    _listeners[cache_key] = (time.monotonic(), result)
    return result


def _segment_listeners(document: Any) -> Iterable[str]:
    for node in document.get("nodes", []) if isinstance(document, dict) else []:
        config = node.get("config") if isinstance(node, dict) else None
        if node.get("type") != "trigger" or not isinstance(config, dict):
            continue
        on, key = config.get("on"), config.get("segment")
        if on in ("segment_entered", "segment_exited") and isinstance(key, str):
            yield membership_event("entered" if on == "segment_entered" else "exited", key)

