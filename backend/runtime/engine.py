"""The live shell around `flows.interpreter`: the database is the truth, jobs are wake-ups.

A job names runs (or events, or a page of a broadcast); the engine loads the runs, their contacts
and their versions' plans, drives the interpreter exactly as `flows.simulator` does (same node
code, so the same paths and messages), and writes everything back in ONE write transaction:

- runs already stored are updated with a compare-and-set on their step counter
  (`WHERE id = .. AND step = ..`); a run whose CAS fails lost to another job, and all of its
  changes (steps, messages, attribute updates) are dropped. A duplicate or late job therefore
  does nothing;
- new runs get their ids up front (message keys need them) after the entry rules are checked
  again inside the transaction;
- path entries go to `run_steps`, unique per (run, seq); an entry left open by a wait or a send
  is completed in place when the run leaves, so per-node counts never double;
- a run that reaches a send is written in status `sending`, and its message row is inserted under
  the key `run:node:step` (status `queued`) in the same transaction, BEFORE the sender is called
  with that key; the sender's answer (`sent`, or `failed` and why) goes on the message row in
  the next transaction, where `delivered` moves the run on. A crash in between leaves the run in
  `sending`: the sweeper re-drives the send under the same key, which a provider (and the
  sandbox) accepts once only;
- `update_contact` values are merged into the contact's attributes in the same transaction.

Run state (`runs.state`, JSON) holds what the interpreter needs beyond the run's columns (node,
status, step, wake_at, awaiting, exit_reason, trigger, started_at):

    {"seq": 7,                       # number of path entries so far (the next entry's seq)
     "entered": "2026-03-02T09:00:00Z",  # when the run entered its current node, while
                                     # it waits or sends (that entry is still open: seq - 1)
     "vars": {...},                  # run variables (an awaited event as vars.<node id>)
     "event": {...},                 # the triggering event, as rules and templates see it
     "chosen": "sms",                # the last channel choice's pick
     "resume": "next",               # the port a timed wait leaves by
     "pending": {"channel", "to", "content", "topic"},  # the message of a `sending` run
     "eid": 42}                      # the stored event that started the run: an event job
                                     # that runs twice starts nobody twice

Only the open entry is rebuilt when a run is loaded: `wake`, `receive` and `delivered` look at
nothing else of the path. Empty fields are left out.

Waits: a run waking within `short_wait` gets a deferred `advance` job at its wake-up time; the
sweeper (see `sweep`) re-enqueues every run whose time has come (and runs stuck in `active` or
`sending`), so waits survive a lost job or a Redis restart. An event wait is resumed by the event
(`process_events`) or by its timeout (`advance_runs`), whichever wins the compare-and-set; an
event counts only if it was received after the run reached the wait and before the timeout.

Every function takes `now`, so shells (and tests) can run due work at chosen virtual times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from asyncpg.exceptions import DeadlockDetectedError  # type: ignore[import-untyped]

from backend.db import Database
from backend.runtime import store
from backend.runtime.ingest import ingest_events  # noqa: F401 - part of the engine's interface
from backend.runtime.queue import Queue
from backend.runtime.sender import DeliveryResult, OutgoingMessage, Sender
from backend.segments.lookup import Memberships
from backend.store import messages as message_store
from backend.store import policy as policy_store
from backend.store import templates as template_store
from backend.store.contacts import load_contacts, row_to_data
from flows.catalogue import StepContext
from flows.compiler import Plan, compile_flow
from flows.contacts import Event, event_to_data
from flows.interpreter import (
    FINISHED,
    Deliver,
    Effect,
    Environment,
    PathEntry,
    Refused,
    Run,
    SetAttributes,
    advance,
    delivered,
    receive,
    start,
    wake,
)
from flows.outcomes import MessageDraft, TriggerSpec
from flows.policy import RecordedFacts
from flows.problems import FlowProblems
from nodes import CATALOGUE

log = logging.getLogger("castflow.runtime")

CHUNK = 500  # runs or contacts per job
SHORT_WAIT = timedelta(minutes=15)  # waits shorter than this get a deferred job
OPEN = frozenset({"waiting", "sending"})  # statuses whose last path entry is still open
T = TypeVar("T")


class FlowNotFound(LookupError):
    pass


class EnrolError(ValueError):
    """The flow cannot take enrolments: not published, or no `api` trigger."""


@dataclass
class Runtime:
    """What jobs share: the database, the queue, the sender, and compiled plans by version."""

    db: Database
    queue: Queue
    sender: Sender
    env: Environment = field(default_factory=Environment)
    short_wait: timedelta = SHORT_WAIT
    plans: dict[int, Plan] = field(default_factory=dict)

    async def plans_for(self, versions: Iterable[int]) -> dict[int, Plan]:
        wanted = set(versions)
        missing = wanted - self.plans.keys()
        if missing:
            for version, document in (await store.version_documents(self.db, missing)).items():
                self.plans[version] = compile_flow(msgspec.json.encode(document), CATALOGUE)
        return {v: self.plans[v] for v in wanted if v in self.plans}


@dataclass(eq=False)
class Moving:
    """A run being driven in this batch, with what is needed to write it back."""

    run: Run
    plan: Plan
    workspace: int
    flow: int
    version: int
    contact: dict[str, Any]
    base_step: int | None  # its step in the database; None for a run not written yet
    seq: int  # seq of run.path[0]
    row: int = 0  # its id (allocated when a new run is written)
    occurrence: datetime | None = None  # a schedule's broadcast time, for new runs
    event_row: int | None = None  # the stored event that started it (state "eid")
    # What to record of the send: key, sent|failed, reason, the provider's id for the message.
    delivery: tuple[str, str, str | None, str | None] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # The workspace's segments, delivery policy and facts for this batch (see _environments).
    env: Environment = field(default_factory=Environment)
    refusals: list[Refused] = field(default_factory=list)  # to record as `refused` messages

    @property
    def moved(self) -> bool:
        return self.base_step is None or self.run.step != self.base_step

    def apply(self, step: Callable[..., list[Effect] | None], *args: Any) -> bool:
        """Run one interpreter call on this run (`step(plan, run, contact, *args)`); a node that
        fails ends the run (exited, reason `error`)."""
        try:
            effects = step(self.plan, self.run, self.contact, *args)
        except Exception as exc:
            log.exception("run %s failed at node %s", self.row or "(new)", self.run.node)
            run = self.run
            run.status, run.exit_reason = "exited", f"error: {exc}"
            run.step += 1
            if run.path and run.path[-1].node == run.node and run.path[-1].port is None:
                run.path[-1].reason = "error"
            return True
        for effect in effects or ():
            if type(effect) is SetAttributes:
                self.attributes.update(effect.values)
            elif type(effect) is Refused:
                self.refusals.append(effect)
            elif (type(effect) is Deliver and isinstance(self.env.facts, RecordedFacts)
                  and not self.env.policy.is_transactional(effect.message.topic)):
                # Later sends of this batch count this one against the frequency caps.
                self.env.facts.record(self.run.contact_id, effect.message.channel, effect.at)
        return effects is not None

    def key(self) -> str:
        return f"{self.row}:{self.run.node}:{self.run.step}"

    def settle(self) -> None:
        """After a successful write: the database now holds this state."""
        run = self.run
        self.base_step = run.step
        if run.status in OPEN and run.path:
            self.seq += len(run.path) - 1
            run.path = [run.path[-1]]
        else:
            self.seq += len(run.path)
            run.path = []
        self.attributes = {}
        self.occurrence = None
        self.delivery = None
        self.refusals = []


async def _breathe(index: int) -> None:
    """Yield to the event loop now and then in a long computing loop, so that a job holding
    the write lock gets its next statement out promptly (the database works meanwhile)."""
    if index % 50 == 49:
        await asyncio.sleep(0)


# --- run state <-> rows -------------------------------------------------------------------------


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def revive(row: dict[str, Any], plan: Plan, contact: dict[str, Any]) -> Moving:
    """A stored run, as the interpreter's Run (with its open path entry, if any)."""
    state = store.loads(row["state"]) or {}
    entered = _utc(state.get("entered"))
    status = row["status"]
    path = [PathEntry(row["node"], entered)] if status in OPEN and entered else []
    pending = state.get("pending")
    run = Run(
        id=str(row["id"]), contact_id=row["contact"], trigger=row["trigger"], node=row["node"],
        started_at=_utc(row["started_at"]) or datetime.now(UTC), event=state.get("event"),
        status=status, step=int(row["step"]), wake_at=_utc(row["wake_at"]),
        awaiting=row["awaiting"], resume_port=state.get("resume"), vars=state.get("vars") or {},
        chosen_channel=state.get("chosen"), exit_reason=row["exit_reason"],
        pending=msgspec.convert(pending, MessageDraft) if pending else None, path=path,
    )
    seq = int(state.get("seq", 0)) - len(path)
    return Moving(run, plan, int(row["workspace"]), int(row["flow"]), int(row["version"]),
                  contact, int(row["step"]), seq, row=int(row["id"]), event_row=state.get("eid"))


def _state(m: Moving) -> dict[str, Any]:
    run = m.run
    path = run.path
    state: dict[str, Any] = {"seq": m.seq + len(path)}
    if path and run.status in OPEN:
        state["entered"] = path[-1].at  # encoded by msgspec as ISO 8601 (UTC, "Z")
    if run.vars:
        state["vars"] = run.vars
    if run.event:
        state["event"] = run.event
    if run.chosen_channel:
        state["chosen"] = run.chosen_channel
    if run.resume_port:
        state["resume"] = run.resume_port
    if m.event_row is not None:
        state["eid"] = m.event_row
    if run.pending is not None and run.status == "sending":
        state["pending"] = run.pending  # a msgspec struct: encoded as an object
    return state


def _step_rows(m: Moving) -> list[list[Any]]:
    row, seq, flow, version = m.row, m.seq, m.flow, m.version
    rows = []
    for entry in m.run.path:
        detail: dict[str, Any] | None = None
        if entry.reasons or entry.reason is not None or entry.deferred is not None:
            detail = {}
            if entry.reasons:
                detail["reasons"] = entry.reasons
            if entry.reason is not None:
                detail["reason"] = entry.reason
            if entry.deferred is not None:  # why the send waited (quiet hours, a cap)
                detail["deferred"] = entry.deferred
        rows.append([row, seq, flow, version, entry.node, entry.at, entry.port, entry.left,
                     detail])
        seq += 1
    return rows


def _run_row(m: Moving, now: datetime) -> list[Any]:
    run = m.run
    awaiting = run.awaiting if run.status == "waiting" else None
    wake_at = run.wake_at if run.status == "waiting" else None
    if m.base_step is not None:
        return [m.row, m.base_step, run.node, run.status, run.step, wake_at, awaiting,
                _state(m), run.exit_reason, now]
    return [m.row, m.workspace, m.flow, m.version, run.contact_id, run.trigger, run.node,
            run.status, run.step, wake_at, awaiting, _state(m), run.exit_reason,
            run.started_at, now]


def _message_row(m: Moving, now: datetime) -> list[Any]:
    draft = m.run.pending
    assert draft is not None
    return [m.workspace, m.key(), m.row, m.flow, m.run.node, m.run.contact_id, draft.channel,
            draft.to, draft.topic, draft.content, "queued", now, now]


# --- entry rules --------------------------------------------------------------------------------


def admits(entry: str, statuses: Iterable[str]) -> bool:
    """May a contact with runs in these statuses (of this flow) enter it again?"""
    if entry == "always":
        return True
    if entry == "single_active":
        return all(status in FINISHED for status in statuses)
    return not any(True for _ in statuses)  # once


def _blocked(m: Moving, stored: Sequence[dict[str, Any]]) -> bool:
    """Do the stored runs (of its flow and contact) forbid this new run? An event starts a
    trigger once, however often its job runs; a broadcast enrols once per occurrence."""
    if not stored:
        return False
    if not admits(m.plan.entry, (row["status"] for row in stored)):
        return True
    if m.event_row is not None and any(
        row["trigger"] == m.run.trigger and (store.loads(row["state"]) or {}).get("eid")
        == m.event_row for row in stored
    ):
        return True
    occurrence = m.occurrence  # a broadcast enrols a contact once per occurrence
    return occurrence is not None and any(
        row["trigger"] == m.run.trigger and (_utc(row["started_at"]) or occurrence) >= occurrence
        for row in stored
    )


# --- writing back -------------------------------------------------------------------------------


async def _save(rt: Runtime, movers: list[Moving], now: datetime,
                processed: Sequence[int] = ()) -> list[Moving]:
    """Write moved runs in one transaction, marking the events `processed` there too; returns
    the runs written (CAS winners, admitted)."""
    movers = [m for m in movers if m.moved]
    if not movers and not processed:
        return []
    for attempt in range(3):
        try:
            winners = await _write(rt.db, movers, now, processed)
            break
        except DeadlockDetectedError:  # PostgreSQL: two jobs crossed; the CAS makes retrying safe
            if attempt == 2:
                raise
            log.warning("deadlock while writing runs; trying again")
    dropped = len(movers) - len(winners)
    if dropped:
        log.info("%d run(s) moved on elsewhere or may not enter; their changes were dropped",
                 dropped)
    for m in winners:
        m.settle()
    await _schedule_wakes(rt, winners, now)
    return winners


async def _write(db: Database, movers: list[Moving], now: datetime,
                 processed: Sequence[int] = ()) -> list[Moving]:
    old = [m for m in movers if m.base_step is not None]
    new = [m for m in movers if m.base_step is None]
    async with store.writing(db):
        if new:  # first, so that every transaction takes its locks in the same order
            await store.lock_enrolments(db, {m.flow for m in new})
        won = await store.update_runs(db, [_run_row(m, now) for m in old])
        winners = [m for m in old if m.row in won]
        await store.upsert_steps(db, [row for m in winners for row in _step_rows(m)])
        if new:
            new = await _admit(db, new)
            for m, row_id in zip(new, await store.allocate_run_ids(db, len(new)), strict=True):
                m.row = row_id
                m.run.id = str(row_id)
            await store.insert_runs(db, [_run_row(m, now) for m in new])
            await store.insert_steps(db, [row for m in new for row in _step_rows(m)])
            winners += new
        await store.insert_messages(
            db, [_message_row(m, now) for m in winners if m.run.status == "sending"]
        )
        await message_store.insert_refused(db, [
            [m.workspace, f"{m.row}:{r.node}:{r.step}", m.row, m.flow, r.node, m.run.contact_id,
             r.message.channel, r.message.to or None, r.message.topic, r.message.content,
             r.reason, now]
            for m in winners for r in m.refusals
        ])
        patches: dict[tuple[int, str], dict[str, Any]] = {}
        for m in winners:
            if m.attributes:
                patches.setdefault((m.workspace, m.run.contact_id), {}).update(m.attributes)
        await store.merge_attributes(
            db, [[ws, key, patch, now] for (ws, key), patch in patches.items()]
        )
        await store.record_deliveries(
            db, [[*m.delivery, now] for m in winners if m.delivery is not None]
        )
        if processed:  # last: the enrolment locks above are always taken first
            await store.mark_events_processed(db, processed)
    return winners


async def _admit(db: Database, new: list[Moving]) -> list[Moving]:
    """Check entry rules again against the stored runs (under the flows' enrolment locks)."""
    by_flow: dict[int, list[Moving]] = {}
    for m in new:
        by_flow.setdefault(m.flow, []).append(m)
    admitted: list[Moving] = []
    for flow_id, group in by_flow.items():
        stored: dict[str, list[dict[str, Any]]] = {}
        for row in await store.runs_of_contacts(db, flow_id, {m.run.contact_id for m in group}):
            stored.setdefault(row["contact"], []).append(row)
        admitted += [m for m in group if not _blocked(m, stored.get(m.run.contact_id, []))]
    return admitted


async def _schedule_wakes(rt: Runtime, movers: Iterable[Moving], now: datetime) -> None:
    due: dict[datetime, list[list[int]]] = {}
    for m in movers:
        run = m.run
        if run.status == "waiting" and run.wake_at is not None and (
            run.wake_at - now <= rt.short_wait
        ):
            due.setdefault(run.wake_at, []).append([m.row, run.step])
    for at, pairs in sorted(due.items()):
        for chunk in chunks(pairs, CHUNK):
            await rt.queue.enqueue("advance", chunk, defer_until=at)


async def _deliver(rt: Runtime, movers: list[Moving], now: datetime) -> None:
    """Hand the messages of `sending` runs to the sender, then move the runs on; repeat while
    runs reach further sends."""
    pending = [m for m in movers if m.run.status == "sending" and m.run.pending is not None]
    while pending:
        outgoing = []
        for m in pending:
            draft = m.run.pending
            assert draft is not None
            outgoing.append(OutgoingMessage(m.key(), m.workspace, m.run.contact_id,
                                            draft.channel, draft.to, draft.content, draft.topic))
        try:
            results = {r.key: r for r in await rt.sender.send(outgoing)}
        except Exception:  # the runs stay `sending`; the sweeper tries again later
            log.exception("the sender failed; %d message(s) will be retried", len(outgoing))
            return
        handed: list[Moving] = []
        for index, m in enumerate(pending):
            await _breathe(index)
            key = m.key()
            result = results.get(key)
            if result is None:
                continue
            failure = None if result.status == "sent" else (result.reason or "failed")
            m.delivery = (key, result.status, failure, result.provider_id)
            m.apply(delivered, now, m.env, failure)
            handed.append(m)
        winners = await _save(rt, handed, now)
        pending = [m for m in winners if m.run.status == "sending"]


async def _commit(rt: Runtime, movers: list[Moving], now: datetime,
                  resend: Sequence[Moving] = (), processed: Sequence[int] = ()) -> int:
    winners = await _save(rt, movers, now, processed)
    await _deliver(rt, [*winners, *resend], now)
    return len(winners)


# --- loading ------------------------------------------------------------------------------------


async def _contacts(db: Database, wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Any]:
    """Contacts as data, one dict per contact (shared by its runs in the batch, as in a dry
    run); an unknown one is a bare profile."""
    by_ws: dict[int, set[str]] = {}
    for ws, key in wanted:
        by_ws.setdefault(ws, set()).add(key)
    found: dict[tuple[int, str], Any] = {}
    for ws, keys in by_ws.items():
        loaded = await load_contacts(db, ws, sorted(keys))
        for key in keys:
            found[(ws, key)] = loaded.get(key) or {"id": key}
    return found


async def _revive_all(
    rt: Runtime, rows: list[dict[str, Any]], now: datetime,
    contacts: Mapping[tuple[int, str], dict[str, Any]] | None = None,
    envs: Mapping[int, Environment] | None = None,
) -> list[Moving]:
    """Runs from their rows, with their contacts and environments (loaded here unless the
    caller has them already)."""
    plans = await rt.plans_for(int(r["version"]) for r in rows)
    if contacts is None:
        contacts = await _contacts(rt.db, ((int(r["workspace"]), r["contact"]) for r in rows))
    if envs is None:
        envs = await _environments(rt, contacts, now)
    movers = [revive(r, plans[int(r["version"])], contacts[(int(r["workspace"]), r["contact"])])
              for r in rows if int(r["version"]) in plans]
    for m in movers:
        m.env = envs[m.workspace]
    return movers


async def _environments(rt: Runtime, contacts: Mapping[tuple[int, str], dict[str, Any]],
                        now: datetime) -> dict[int, Environment]:
    """Per workspace: what its steps may consult for these contacts, loaded in bulk: segment
    memberships, the delivery policy, and the facts the policy needs (recent sends within the
    caps' windows, suppressed addresses). Runs of one batch share them, so two sends in one
    batch count against each other's caps."""
    by_ws: dict[int, list[dict[str, Any]]] = {}
    for (ws, _), contact in contacts.items():
        by_ws.setdefault(ws, []).append(contact)
    envs: dict[int, Environment] = {}
    for ws, group in by_ws.items():
        policy = await policy_store.load_policy(rt.db, ws)
        envs[ws] = replace(
            rt.env,
            segments=(await Memberships.load(rt.db, ws, (c["id"] for c in group))).lookup,
            policy=policy,
            facts=await policy_store.load_facts(rt.db, ws, policy, group, now),
        )
    return envs


def _context(plan: Plan, node: str, contact: dict[str, Any], event: dict[str, Any] | None,
             now: datetime, env: Environment) -> StepContext:
    return StepContext(node, contact, event, {}, now, plan.timezone, None, env.seed, env.segments,
                       env.policy, env.facts)


def _new_run(plan: Plan, trigger: str, version: dict[str, Any], contact: dict[str, Any],
             now: datetime, event: dict[str, Any] | None = None, event_row: int | None = None,
             occurrence: datetime | None = None) -> Moving:
    """A run at its trigger, not moved yet (`apply(advance, ...)` moves it)."""
    run = start(plan, trigger, "new", contact, now, event)
    return Moving(run, plan, int(version["workspace"]), int(version["flow"]),
                  int(version["version"]), contact, None, 0, occurrence=occurrence,
                  event_row=event_row)


# --- jobs ---------------------------------------------------------------------------------------


async def advance_runs(rt: Runtime, pairs: Iterable[Sequence[int]], now: datetime) -> int:
    """Job `advance`: move the named runs if they are still at the named step and due: active
    runs advance, due waits wake (an event wait by `timeout`), `sending` runs re-drive their
    send. Returns the runs moved."""
    expected = {int(run_id): int(step) for run_id, step in pairs}
    rows = [r for r in await store.load_runs(rt.db, expected)
            if r["flow_status"] == "live" and expected.get(int(r["id"])) == int(r["step"])]
    movers: list[Moving] = []
    resend: list[Moving] = []
    for index, m in enumerate(await _revive_all(rt, rows, now)):
        await _breathe(index)
        run = m.run
        if run.status == "active":
            m.apply(advance, now, m.env)
        elif run.status == "waiting" and run.wake_at is not None and run.wake_at <= now:
            m.apply(wake, now, m.env)
        elif run.status == "sending":
            resend.append(m)
            continue
        movers.append(m)
    return await _commit(rt, movers, now, resend)


async def process_events(rt: Runtime, event_ids: Iterable[int], now: datetime) -> int:
    """Job `events`: offer stored events to the runs waiting for them, then enter them into
    live flows' event triggers, per contact in the order they happened. Returns runs moved."""
    events = await store.load_events(rt.db, event_ids)
    by_ws: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        by_ws.setdefault(int(event["workspace"]), []).append(event)
    # Each workspace's events are marked processed in the transaction that writes what they did:
    # a job lost before it leaves them to the sweeper, and processing them again is harmless
    # (waiting runs have moved on; a run remembers its trigger event).
    return sum([await _events_of_workspace(rt, ws, evs, now) for ws, evs in by_ws.items()])


async def _events_of_workspace(
    rt: Runtime, workspace: int, events: list[dict[str, Any]], now: datetime
) -> int:
    db = rt.db
    keys = {e["contact"] for e in events}
    names = {e["name"] for e in events}
    versions = await store.live_versions(db, workspace)
    plans = await rt.plans_for(int(v["version"]) for v in versions)
    triggered = [(v, plans[int(v["version"])]) for v in versions
                 if any(plans[int(v["version"])].triggers_on(n) for n in names)]
    contacts = await _contacts(db, ((workspace, k) for k in keys))
    envs = await _environments(rt, contacts, now)
    per_contact: dict[str, list[Moving]] = {}
    waiting = await store.waiting_runs(db, workspace, keys, names)
    for m in await _revive_all(rt, waiting, now, contacts, envs):  # one profile per contact
        per_contact.setdefault(m.run.contact_id, []).append(m)
    stored: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for version, _ in triggered:
        flow = int(version["flow"])
        for row in await store.runs_of_contacts(db, flow, keys):
            stored.setdefault((flow, row["contact"]), []).append(row)
    for index, event in enumerate(events):
        await _breathe(index)
        cid = event["contact"]
        contact = contacts[(workspace, cid)]
        received = _utc(event["received_at"])
        assert received is not None
        at = _utc(event["at"])
        assert at is not None
        data = event_to_data(Event(cid, event["name"], event["key"], at,
                                   store.loads(event["properties"]) or {}), at)
        runs = per_contact.setdefault(cid, [])
        for m in list(runs):  # runs already waiting see the event first, as in a dry run
            run = m.run
            if (run.status == "waiting" and run.awaiting == data["name"] and run.path
                    and run.path[-1].at < received
                    and (run.wake_at is None or received < run.wake_at)):
                m.apply(receive, data, now, m.env)
        for version, plan in triggered:
            for trigger in plan.triggers_on(data["name"]):
                program = plan.nodes[trigger].program
                if program.filters and not program.accepts(
                    _context(plan, trigger, contact, data, now, envs[workspace])
                ):
                    continue
                flow = int(version["flow"])
                mine = {m.row for m in runs if m.row}
                earlier = [row for row in stored.get((flow, cid), [])
                           if int(row["id"]) not in mine]
                statuses = [m.run.status for m in runs if m.flow == flow]
                new = _new_run(plan, trigger, version, contact, now, data, int(event["id"]))
                new.env = envs[workspace]
                if admits(plan.entry, statuses) and not _blocked(new, earlier):
                    new.apply(advance, now, new.env)
                    runs.append(new)
    return await _commit(rt, [m for ms in per_contact.values() for m in ms], now,
                         processed=[int(e["id"]) for e in events])


async def broadcast(
    rt: Runtime, version_id: int, trigger: str, occurrence: datetime,
    after: str | None, now: datetime,
) -> int:
    """Job `broadcast`: enrol the next page of contacts (in id order, after `after`) into a
    schedule trigger, and queue the page after it. Idempotent per occurrence: a contact with a
    run from this trigger started at or after `occurrence` is skipped. Returns runs created."""
    db = rt.db
    current = [v for v in await store.live_versions(db) if int(v["version"]) == version_id]
    if not current:
        return 0  # paused, or published again since: `resume`/`publish` schedule anew
    version = current[0]
    plan = (await rt.plans_for([version_id]))[version_id]
    spec = plan.trigger_spec(trigger)
    page = await store.contacts_page(db, int(version["workspace"]), after, CHUNK)
    if len(page) == CHUNK:
        last = page[-1]["key"]
        await rt.queue.enqueue("broadcast", version_id, trigger, occurrence.isoformat(), last,
                               job_id=broadcast_job_id(version_id, trigger, occurrence, last))
    if after is None and spec.cron:
        following = next_occurrence(spec, plan, occurrence)
        if following is not None:
            await rt.queue.enqueue(
                "broadcast", version_id, trigger, following.isoformat(), None,
                defer_until=following,
                job_id=broadcast_job_id(version_id, trigger, following),
            )
    contacts = [row_to_data(row) for row in page]
    keys = [c["id"] for c in contacts]
    workspace = int(version["workspace"])
    env = (await _environments(rt, {(workspace, c["id"]): c for c in contacts}, now)).get(
        workspace, rt.env)
    stored: dict[str, list[dict[str, Any]]] = {}
    for row in await store.runs_of_contacts(db, int(version["flow"]), keys):
        stored.setdefault(row["contact"], []).append(row)
    movers = []
    for index, contact in enumerate(contacts):
        await _breathe(index)
        if not _in_audience(env, plan, trigger, spec, contact, now):
            continue
        m = _new_run(plan, trigger, version, contact, now, occurrence=occurrence)
        if _blocked(m, stored.get(contact["id"], [])):
            continue
        m.env = env
        m.apply(advance, now, env)
        movers.append(m)
    return await _commit(rt, movers, now)


def _in_audience(env: Environment, plan: Plan, trigger: str, spec: TriggerSpec,
                 contact: dict[str, Any], now: datetime) -> bool:
    ctx = _context(plan, trigger, contact, None, now, env)
    try:
        if spec.segment is not None:
            return env.segments(spec.segment, ctx.data())
        return plan.nodes[trigger].program.accepts(ctx)
    except LookupError:
        log.warning("schedule %s: segment %r is not defined", trigger, spec.segment)
        return False


def broadcast_job_id(version: int, trigger: str, occurrence: datetime,
                     after: str | None = None) -> str:
    stamp = int(occurrence.timestamp() * 1000)
    return f"bc:{version}:{trigger}:{stamp}" + ("" if after is None else f":{after}")


def next_occurrence(spec: TriggerSpec, plan: Plan, after: datetime) -> datetime | None:
    """The schedule's next time strictly after `after` (`at` only once; cron in the flow's
    time zone)."""
    if spec.at is not None:
        return spec.at if spec.at > after else None
    if spec.cron is None:
        return None
    from croniter import croniter

    following: datetime = croniter(spec.cron, after.astimezone(plan.timezone)).get_next(datetime)
    return following.astimezone(UTC)


def last_occurrence(spec: TriggerSpec, plan: Plan, now: datetime) -> datetime | None:
    """The schedule's latest time at or before `now`."""
    if spec.at is not None:
        return spec.at if spec.at <= now else None
    if spec.cron is None:
        return None
    from croniter import croniter

    previous: datetime = croniter(
        spec.cron, (now + timedelta(seconds=1)).astimezone(plan.timezone)
    ).get_prev(datetime)
    return previous.astimezone(UTC)


@dataclass(frozen=True)
class SweepPolicy:
    grace: timedelta = timedelta(seconds=5)  # let deferred jobs wake their runs first
    stuck_after: timedelta = timedelta(seconds=30)  # active/sending this long: a lost job
    limit: int = 50_000  # runs re-enqueued per sweep at most
    broadcast_window: timedelta = timedelta(days=1)  # schedules older than this are done


async def sweep(rt: Runtime, now: datetime, policy: SweepPolicy = SweepPolicy(),
                runs: bool = True) -> int:
    """The periodic sweeper: re-enqueue due and stuck runs of live flows (unless `runs` is
    False: the queue is busy anyway), and any schedule occurrence whose broadcast job is not
    known to the queue (the job id makes that a no-op when it is). Returns runs enqueued."""
    count = 0
    if runs:
        due = await store.due_runs(rt.db, now - policy.grace, policy.limit)
        stuck = await store.stuck_runs(rt.db, now - policy.stuck_after, policy.limit)
        count = await _enqueue_runs(rt.queue, [*due, *stuck])
        lost = await store.unprocessed_events(rt.db, now - policy.stuck_after, policy.limit)
        for chunk in chunks(lost, CHUNK):
            await rt.queue.enqueue("events", chunk)
    await _schedule_broadcasts(rt, now, policy.broadcast_window)
    return count


async def schedule_exact_wakes(rt: Runtime, after: datetime, until: datetime,
                               limit: int = 50_000) -> int:
    """Queue deferred jobs at the exact wake-up times of the long waits (those longer than
    `short_wait` when they began: no job was queued for them then) that wake in (after, until].
    The sweeper calls it for its next period, so a long wait ends on time instead of at the
    first sweep after it (up to a period plus the grace late). Returns the runs queued."""
    due: dict[datetime, list[list[int]]] = {}
    for run_id, step, wake_at, updated_at in await store.runs_waking(rt.db, after, until, limit):
        if wake_at - updated_at > rt.short_wait:
            due.setdefault(wake_at, []).append([run_id, step])
    for at, pairs in sorted(due.items()):
        for chunk in chunks(pairs, CHUNK):
            await rt.queue.enqueue("advance", chunk, defer_until=at)
    return sum(len(pairs) for pairs in due.values())


async def run_due(rt: Runtime, now: datetime) -> int:
    """Move every run due at `now` (and every run left active or sending), in this process:
    for shells on a fake clock. Returns runs moved."""
    pairs = [*await store.due_runs(rt.db, now, 10**9),
             *await store.stuck_runs(rt.db, now, 10**9)]
    return sum([await advance_runs(rt, chunk, now) for chunk in chunks(pairs, CHUNK)])


async def _enqueue_runs(queue: Queue, pairs: Sequence[tuple[int, int]]) -> int:
    for chunk in chunks([[run_id, step] for run_id, step in pairs], CHUNK):
        await queue.enqueue("advance", chunk)
    return len(pairs)


async def _schedule_broadcasts(rt: Runtime, now: datetime, window: timedelta,
                               flow_id: int | None = None, fresh: bool = False) -> None:
    versions = [v for v in await store.live_versions(rt.db)
                if flow_id is None or int(v["flow"]) == flow_id]
    plans = await rt.plans_for(int(v["version"]) for v in versions)
    for version in versions:
        plan = plans[int(version["version"])]
        for trigger in plan.triggers:
            spec = plan.trigger_spec(trigger)
            if spec.on != "schedule":
                continue
            occurrence = last_occurrence(spec, plan, now)
            published = _utc(version["published_at"]) or now
            if occurrence is None or occurrence < now - window or (
                spec.cron and occurrence < published
            ):
                continue
            job_id = broadcast_job_id(int(version["version"]), trigger, occurrence)
            if fresh:
                job_id += f":again:{int(now.timestamp() * 1000)}"
            await rt.queue.enqueue("broadcast", int(version["version"]), trigger,
                                   occurrence.isoformat(), None, job_id=job_id)


# --- what the API and the CLI call --------------------------------------------------------------


async def publish(db: Database, queue: Queue, flow_id: int, now: datetime) -> dict[str, Any]:
    """Compile the draft (raising `FlowProblems` as is), freeze it as the flow's new current
    version, set the flow live, and schedule its schedule triggers. Returns the version row."""
    flow = await store.flow_row(db, flow_id)
    if flow is None:
        raise FlowNotFound(f"flow {flow_id} does not exist")
    # Templates named by send nodes are written into the version at their current versions:
    # editing a template later never changes what a running contact gets.
    resolved = await template_store.resolve_document(
        db, int(flow["workspace"]), store.loads(flow["document"]))
    if resolved.problems:
        raise FlowProblems(resolved.problems)
    document = msgspec.json.encode(resolved.document)
    plan = compile_flow(document, CATALOGUE)
    async with store.writing(db):
        version = await store.insert_version(
            db, flow_id, document.decode(), plan.content_hash, now
        )
        await store.set_flow_status(db, flow_id, "live", now)
    for trigger in plan.triggers:  # `include_current`: today's members enter at publish
        spec = plan.trigger_spec(trigger)
        if spec.on == "segment_entered" and spec.include_current and spec.segment:
            members = await db.fetch(
                "SELECT m.contact FROM segment_members m JOIN segments s ON s.id = m.segment "
                "WHERE s.workspace = {} AND s.key = {} ORDER BY m.contact",
                int(flow["workspace"]), spec.segment,
            )
            await _enter(db, queue, int(flow["workspace"]), flow_id, version, plan, trigger,
                         [row["contact"] for row in members], now)
    for trigger in plan.triggers:
        spec = plan.trigger_spec(trigger)
        if spec.on != "schedule":
            continue
        occurrence = spec.at if spec.at is not None else next_occurrence(spec, plan, now)
        if occurrence is not None:
            await queue.enqueue(
                "broadcast", int(version["id"]), trigger, occurrence.isoformat(), None,
                defer_until=occurrence,
                job_id=broadcast_job_id(int(version["id"]), trigger, occurrence),
            )
    return version


async def pause(db: Database, flow_id: int, now: datetime | None = None) -> None:
    """A paused flow enrols nobody and its runs do not move (they keep their place)."""
    flow = await store.flow_row(db, flow_id)
    if flow is None:
        raise FlowNotFound(f"flow {flow_id} does not exist")
    if flow["status"] == "live":
        async with store.writing(db):
            await store.set_flow_status(db, flow_id, "paused", now or datetime.now(UTC))


async def resume(db: Database, queue: Queue, flow_id: int, now: datetime | None = None) -> None:
    """Live again: runs whose time came while paused move now, and a schedule that fell due
    while paused broadcasts."""
    now = now or datetime.now(UTC)
    flow = await store.flow_row(db, flow_id)
    if flow is None:
        raise FlowNotFound(f"flow {flow_id} does not exist")
    if flow["status"] != "paused":
        return
    async with store.writing(db):
        await store.set_flow_status(db, flow_id, "live", now)
    pairs = [*await store.due_runs(db, now, 10**9, flow_id),
             *await store.stuck_runs(db, now, 10**9, flow_id)]
    await _enqueue_runs(queue, pairs)
    rt = Runtime(db, queue, _NoSender())
    await _schedule_broadcasts(rt, now, SweepPolicy().broadcast_window, flow_id, fresh=True)


class _NoSender(Sender):
    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        raise RuntimeError("this runtime does not send")


async def enrol(
    db: Database, queue: Queue, flow_id: int, contact_keys: list[str], now: datetime
) -> int:
    """Enter contacts into a live flow through its `api` trigger (entry rules applied; unknown
    contact ids are skipped). The runs are created here and moved by the worker. Returns the
    number of runs created; 0 while the flow is paused."""
    flow = await store.flow_row(db, flow_id)
    if flow is None:
        raise FlowNotFound(f"flow {flow_id} does not exist")
    if flow["status"] == "paused":
        return 0
    version = await store.current_version(db, flow_id)
    if flow["status"] != "live" or version is None:
        raise EnrolError("the flow is not published: publish it before enrolling contacts")
    plan = compile_flow(msgspec.json.encode(store.loads(version["document"])), CATALOGUE)
    triggers = [t for t in plan.triggers if plan.trigger_spec(t).on == "api"]
    if not triggers:
        raise EnrolError("the flow has no API trigger (a Trigger node with on: api)")
    return await _enter(db, queue, int(flow["workspace"]), flow_id, version, plan, triggers[0],
                        contact_keys, now)


async def _enter(db: Database, queue: Queue, workspace: int, flow_id: int,
                 version: dict[str, Any], plan: Plan, trigger: str, contact_keys: list[str],
                 now: datetime) -> int:
    """Create runs at `trigger` for the known contacts the entry rules admit; queue them."""
    created = 0
    for chunk in chunks(list(dict.fromkeys(contact_keys)), CHUNK):
        async with store.writing(db):
            await store.lock_enrolments(db, [flow_id])
            known = await load_contacts(db, workspace, chunk)
            stored: dict[str, list[str]] = {}
            for row in await store.runs_of_contacts(db, flow_id, chunk):
                stored.setdefault(row["contact"], []).append(row["status"])
            keys = [k for k in chunk if k in known and admits(plan.entry, stored.get(k, []))]
            ids = await store.allocate_run_ids(db, len(keys))
            await store.insert_runs(db, [
                [run_id, workspace, flow_id, int(version["id"]), key, trigger, trigger,
                 "active", 0, None, None, {"seq": 0}, None, now, now]
                for run_id, key in zip(ids, keys, strict=True)
            ])
        await queue.enqueue("advance", [[run_id, 0] for run_id in ids])
        created += len(ids)
    return created


async def flow_stats(db: Database, flow_id: int) -> dict[str, Any]:
    """`{"nodes": {node: {"entered": n, "ports": {port: n}}}, "runs": {status: n}}`."""
    return await store.flow_stats(db, flow_id)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for begin in range(0, len(items), size):
        yield list(items[begin:begin + size])
