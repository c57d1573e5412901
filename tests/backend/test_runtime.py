"""The live runtime on SQLite and PostgreSQL, with real Redis where a queue is involved.

Most tests drive the engine's job functions directly on a fake clock (a `RecordingQueue` stands in
for Redis); the arq tests run the real worker (arq) in burst mode against Redis at
127.0.0.1:6379, under a key prefix of their own (only that prefix's keys are deleted).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from backend.db import Database
from backend.runtime import engine, store
from backend.runtime.engine import Runtime
from backend.runtime.queue import ArqQueue, RecordingQueue
from backend.runtime.sender import DeliveryResult, OutgoingMessage, SandboxSender
from backend.settings import Settings
from backend.store.contacts import upsert
from flows.contacts import Contact, Event, decode_contact, decode_event
from flows.problems import FlowProblems

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "flows" / "examples"
REDIS = "redis://127.0.0.1:6379/0"
REFUSAL_REASONS = {"no_address", "opted_out", "topic_opt_out", "suppressed", "capped",
                   "quiet_hours"}
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------------


async def workspace(db: Database) -> int:
    rows = await db.fetch(
        "INSERT INTO workspaces (name, created_at) VALUES ({}, {}) RETURNING id", "test", T0
    )
    return int(rows[0]["id"])


async def create_flow(db: Database, ws: int, document: dict[str, Any]) -> int:
    rows = await db.fetch(
        "INSERT INTO flows (workspace, name, description, document, status, created_at, "
        "updated_at) VALUES ({}, {}, '', {}, 'draft', {}, {}) RETURNING id",
        ws, document["name"], json.dumps(document), T0, T0,
    )
    return int(rows[0]["id"])


async def add_contacts(db: Database, ws: int, contacts: list[dict[str, Any]]) -> None:
    await upsert(db, ws, [(msgspec.convert(c, Contact), list(c)) for c in contacts], T0)


def flow(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str | None]],
         entry: str = "once", name: str = "test") -> dict[str, Any]:
    return {
        "format": "castflow.flow/1", "name": name, "settings": {"entry": entry},
        "nodes": [{"id": n.pop("id"), "type": n.pop("type"), "config": n} for n in nodes],
        "edges": [{"from": a, "to": b, **({"port": p} if p else {})} for a, b, p in edges],
    }


def sms(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "send", "channel": "sms", "content": {"sms": {"text": text}}}


def event(contact: str, name: str, at: datetime | None = None, id: str | None = None,
          **properties: Any) -> Event:
    return Event(contact=contact, name=name, id=id, at=at, properties=properties)


class Clock:
    """A runtime on a fake clock: jobs land in a RecordingQueue and run when told to."""

    def __init__(self, db: Database, now: datetime = T0) -> None:
        self.db = db
        self.queue = RecordingQueue()
        self.rt = Runtime(db, self.queue, SandboxSender(db))
        self.now = now

    async def drain(self) -> None:
        """Run every queued job that is due now (and those they queue)."""
        while True:
            due = [j for j in self.queue.jobs if j.defer_until is None or j.defer_until <= self.now]
            if not due:
                return
            self.queue.jobs = [j for j in self.queue.jobs if j not in due]
            for job in due:
                await self.run(job.job, *job.args)

    async def run(self, job: str, *args: Any) -> int:
        if job == "advance":
            return await engine.advance_runs(self.rt, args[0], self.now)
        if job == "events":
            return await engine.process_events(self.rt, args[0], self.now)
        if job == "broadcast":
            version, trigger, occurrence, after = args
            return await engine.broadcast(self.rt, version, trigger,
                                          datetime.fromisoformat(occurrence), after, self.now)
        raise AssertionError(job)

    async def events(self, ws: int, *events: Event) -> int:
        stored = await engine.ingest_events(self.db, self.queue, ws, list(events), self.now)
        await self.drain()
        return stored

    async def until(self, when: datetime) -> None:
        """Advance the clock to `when`, waking runs at their exact times on the way."""
        while True:
            wake = await store.next_wake(self.db)
            if wake is None or wake > when:
                break
            self.now = max(self.now, wake)
            await engine.run_due(self.rt, self.now)
            await self.drain()
        self.now = when
        await self.drain()


async def runs_of(db: Database, flow_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        'SELECT id, contact, status, node, step, exit_reason, "trigger" FROM runs '
        "WHERE flow = {} ORDER BY id", flow_id,
    )
    paths = await store.run_paths(db, [int(r["id"]) for r in rows])
    messages = await store.run_messages(db, [int(r["id"]) for r in rows])
    for row in rows:
        row["path"] = paths.get(int(row["id"]), [])
        row["messages"] = messages.get(int(row["id"]), [])
    return rows


def ports(run: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["node"], e.get("port")) for e in run["path"]]


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys (and arq's keys for its job ids) go at the end."""
    prefix = f"cftest-{uuid.uuid4().hex[:10]}"
    yield prefix
    await delete_prefix(prefix)


async def delete_prefix(prefix: str) -> None:
    client = Redis.from_url(REDIS)
    try:
        for pattern in (f"{prefix}:*", f"arq:*:{prefix}:*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            for begin in range(0, len(keys), 500):
                await client.delete(*keys[begin:begin + 500])
    finally:
        await client.aclose()


WELCOME = flow(
    [{"id": "start", "type": "trigger", "on": "event", "event": "signed_up"},
     sms("hello", "Hi {{ contact.attributes.first_name }} ({{ event.properties.plan }})"),
     {"id": "later", "type": "wait", "for": "PT1H"},
     {"id": "tag", "type": "update_contact", "set": {"welcomed": "yes"}},
     sms("tips", "Tips for {{ contact.attributes.first_name }}, "
                 "{{ contact.attributes.welcomed }}")],
    [("start", "hello", None), ("hello", "later", "sent"), ("later", "tag", None),
     ("tag", "tips", None)],
)
ANNA = {"id": "c-anna", "phone": "+390001", "attributes": {"first_name": "Anna"}}
BILL = {"id": "c-bill", "phone": "+390002", "attributes": {"first_name": "Bill"},
        "consent": {"sms": "opted_out"}}


# --- the engine on a fake clock -----------------------------------------------------------------


async def test_event_flow_end_to_end_on_a_fake_clock(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, BILL])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    version = await engine.publish(db, clock.queue, flow_id, clock.now)
    assert version["number"] == 1 and version["current"] is True
    stored = await clock.events(ws, event("c-anna", "signed_up", id="e1", plan="solo"),
                                event("c-bill", "signed_up", id="e2"),
                                event("c-new", "signed_up", id="e3"))
    assert stored == 3
    runs = await runs_of(db, flow_id)
    assert [(r["contact"], r["status"], r["node"]) for r in runs] == [
        ("c-anna", "waiting", "later"), ("c-bill", "completed", "hello"),
        ("c-new", "completed", "hello")]
    assert runs[1]["path"][-1] == {"node": "hello", "at": T0, "port": "failed",
                                   "reason": "opted_out"}
    assert runs[2]["path"][-1]["reason"] == "no_address"
    assert [m["content"] for m in runs[0]["messages"]] == [{"text": "Hi Anna (solo)"}]
    assert runs[0]["messages"][0]["status"] == "sent"
    assert runs[0]["messages"][0]["key"] == f"{runs[0]['id']}:hello:1"
    # The hour passes: the run wakes at its exact time, updates the profile and sends again.
    await clock.until(T0 + timedelta(hours=2))
    anna = (await runs_of(db, flow_id))[0]
    assert anna["status"] == "completed"
    assert ports(anna) == [("start", "next"), ("hello", "sent"), ("later", "next"),
                           ("tag", "next"), ("tips", "sent")]
    assert anna["path"][2]["left"] == T0 + timedelta(hours=1)
    assert [m["content"]["text"] for m in anna["messages"]] == [
        "Hi Anna (solo)", "Tips for Anna, yes"]
    profile = await db.fetch("SELECT attributes FROM contacts WHERE \"key\" = 'c-anna'")
    assert store.loads(profile[0]["attributes"]) == {"first_name": "Anna", "welcomed": "yes"}
    stats = await engine.flow_stats(db, flow_id)
    assert stats["runs"] == {"completed": 3}
    assert stats["nodes"]["hello"] == {"entered": 3, "ports": {"sent": 1, "failed": 2}}
    assert stats["nodes"]["later"] == {"entered": 1, "ports": {"next": 1}}


async def test_publish_freezes_versions_and_rejects_problems(database: Database) -> None:
    db = database
    ws = await workspace(db)
    flow_id = await create_flow(db, ws, WELCOME)
    queue = RecordingQueue()
    first = await engine.publish(db, queue, flow_id, T0)
    second = await engine.publish(db, queue, flow_id, T0 + timedelta(minutes=1))
    assert (first["number"], second["number"]) == (1, 2)
    assert second["content_hash"] == first["content_hash"]
    versions = await db.fetch(
        "SELECT number, current FROM flow_versions WHERE flow = {} ORDER BY number", flow_id)
    assert [(v["number"], bool(v["current"])) for v in versions] == [(1, False), (2, True)]
    broken = await create_flow(db, ws, {**WELCOME, "edges": [{"from": "start", "to": "nowhere"}]})
    with pytest.raises(FlowProblems):
        await engine.publish(db, queue, broken, T0)
    assert (await store.flow_row(db, broken) or {})["status"] == "draft"
    assert await db.fetch("SELECT id FROM flow_versions WHERE flow = {}", broken) == []


WAIT_FOR_BUY = flow(
    [{"id": "start", "type": "trigger", "on": "event", "event": "cart"},
     {"id": "buy", "type": "wait", "event": "purchased", "timeout": "PT1H"},
     {"id": "bought", "type": "exit", "reason": "purchased"},
     sms("nudge", "Still thinking?")],
    [("start", "buy", None), ("buy", "bought", "event"), ("buy", "nudge", "timeout")],
    entry="always",
)


async def waiting_cart(db: Database) -> tuple[Clock, int, int]:
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    flow_id = await create_flow(db, ws, WAIT_FOR_BUY)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "cart", id="cart-1"))
    return clock, ws, flow_id


async def test_duplicate_and_late_jobs_do_nothing(database: Database) -> None:
    clock, _, flow_id = await waiting_cart(database)
    [run] = await runs_of(database, flow_id)
    assert (run["status"], run["step"]) == ("waiting", 1)
    clock.now += timedelta(hours=2)
    # Five copies of the wake-up job at once, and one naming a step the run has left.
    jobs = [engine.advance_runs(clock.rt, [[run["id"], 1]], clock.now) for _ in range(5)]
    moved = await asyncio.gather(*jobs)
    assert sum(moved) == 1
    assert await engine.advance_runs(clock.rt, [[run["id"], 1]], clock.now) == 0
    assert await engine.advance_runs(clock.rt, [[run["id"], 0]], clock.now) == 0
    [run] = await runs_of(database, flow_id)
    assert run["status"] == "completed"
    assert ports(run) == [("start", "next"), ("buy", "timeout"), ("nudge", "sent")]
    assert [m["status"] for m in run["messages"]] == ["sent"]
    stats = await engine.flow_stats(database, flow_id)
    assert stats["nodes"]["buy"] == {"entered": 1, "ports": {"timeout": 1}}


async def test_event_wins_over_a_later_timeout(database: Database) -> None:
    clock, ws, flow_id = await waiting_cart(database)
    clock.now += timedelta(minutes=30)
    await clock.events(ws, event("c-anna", "purchased", id="p-1"))
    clock.now += timedelta(hours=1)
    assert await engine.run_due(clock.rt, clock.now) == 0  # the timeout job finds nothing
    [run] = await runs_of(database, flow_id)
    assert (run["status"], run["exit_reason"]) == ("exited", "purchased")
    assert run["path"][1]["left"] == T0 + timedelta(minutes=30)


async def test_timeout_wins_when_it_moves_first(database: Database) -> None:
    clock, ws, flow_id = await waiting_cart(database)
    # The purchase is received in time, but the timeout job runs before the event job.
    clock.now += timedelta(minutes=59)
    await engine.ingest_events(database, clock.queue, ws, [event("c-anna", "purchased")],
                               clock.now)
    clock.now += timedelta(minutes=2)
    assert await engine.run_due(clock.rt, clock.now) == 1
    await clock.drain()  # the event job: the run is no longer waiting for it
    [run] = await runs_of(database, flow_id)
    assert run["status"] == "completed"
    assert ports(run)[1:] == [("buy", "timeout"), ("nudge", "sent")]


async def test_events_count_only_when_received_after_the_wait_and_before_the_timeout(
    database: Database,
) -> None:
    clock, ws, flow_id = await waiting_cart(database)
    # Received at the moment the run reached the wait: too early. After the timeout: too late.
    await clock.events(ws, event("c-anna", "purchased", id="p-0"))
    clock.now += timedelta(hours=1, minutes=1)
    await engine.ingest_events(database, clock.queue, ws, [event("c-anna", "purchased")],
                               clock.now)
    await clock.drain()
    [run] = await runs_of(database, flow_id)
    assert run["status"] == "waiting"
    await engine.run_due(clock.rt, clock.now)
    [run] = await runs_of(database, flow_id)
    assert ports(run)[1] == ("buy", "timeout")


@pytest.mark.parametrize("entry, expected", [
    ("once", ["completed"]),
    ("single_active", ["completed", "waiting"]),
    ("always", ["completed", "waiting", "waiting"]),
])
async def test_entry_rules(database: Database, entry: str, expected: list[str]) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    document = flow(
        [{"id": "start", "type": "trigger", "on": "event", "event": "go"},
         {"id": "pause", "type": "wait", "for": "PT1H"}],
        [("start", "pause", None)], entry=entry)
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "go", id="g1"))
    await clock.until(T0 + timedelta(hours=2))  # the first run completes
    await clock.events(ws, event("c-anna", "go", id="g2"))  # single_active: may enter again
    clock.now += timedelta(minutes=1)
    await clock.events(ws, event("c-anna", "go", id="g3"))  # single_active: one is active
    assert [r["status"] for r in await runs_of(db, flow_id)] == expected


async def test_every_event_delivered_twice_and_every_job_run_twice(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, {**ANNA, "id": "c-2"}])
    flow_id = await create_flow(db, ws, WAIT_FOR_BUY)  # entry "always"
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    carts = [event("c-anna", "cart", id="a"), event("c-2", "cart", id="b")]
    assert await engine.ingest_events(db, clock.queue, ws, carts + carts, clock.now) == 2
    assert await engine.ingest_events(db, clock.queue, ws, carts, clock.now) == 0
    jobs = clock.queue.take()
    for job in jobs + jobs:  # an event job that runs twice (e.g. retried after a crash)
        await clock.run(job.job, *job.args)
    clock.now += timedelta(minutes=5)
    buys = [event("c-anna", "purchased", id="p")]
    await engine.ingest_events(db, clock.queue, ws, buys + buys, clock.now)
    jobs = clock.queue.take()
    for job in jobs + jobs:
        await clock.run(job.job, *job.args)
    await clock.until(T0 + timedelta(hours=3))
    runs = await runs_of(db, flow_id)
    assert [(r["contact"], r["status"]) for r in runs] == [
        ("c-anna", "exited"), ("c-2", "completed")]
    assert [len(r["messages"]) for r in runs] == [0, 1]


async def test_api_enrol(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, BILL])
    document = flow([{"id": "start", "type": "trigger", "on": "api"}, sms("hi", "Hi!")],
                    [("start", "hi", None)])
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    with pytest.raises(engine.EnrolError):
        await engine.enrol(db, clock.queue, flow_id, ["c-anna"], clock.now)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    keys = ["c-anna", "c-bill", "c-anna", "nobody"]
    assert await engine.enrol(db, clock.queue, flow_id, keys, clock.now) == 2
    assert [r["status"] for r in await runs_of(db, flow_id)] == ["active", "active"]
    await clock.drain()
    runs = await runs_of(db, flow_id)
    assert [(r["contact"], r["status"], ports(r)) for r in runs] == [
        ("c-anna", "completed", [("start", "next"), ("hi", "sent")]),
        ("c-bill", "completed", [("start", "next"), ("hi", "failed")])]
    assert await engine.enrol(db, clock.queue, flow_id, keys, clock.now) == 0  # entry: once
    await engine.pause(db, flow_id)
    assert await engine.enrol(db, clock.queue, flow_id, ["c-new"], clock.now) == 0
    event_flow = await create_flow(db, ws, WELCOME)
    await engine.publish(db, clock.queue, event_flow, clock.now)
    with pytest.raises(engine.EnrolError):
        await engine.enrol(db, clock.queue, event_flow, ["c-anna"], clock.now)


async def test_schedule_broadcast_in_pages_once_per_occurrence(database: Database) -> None:
    db = database
    ws = await workspace(db)
    people = [{"id": f"c-{i:04d}", "phone": f"+39{i:07d}", "attributes": {"n": i}}
              for i in range(1203)]
    await add_contacts(db, ws, people)
    at = T0 + timedelta(hours=1)
    document = flow(
        [{"id": "start", "type": "trigger", "on": "schedule", "at": "2026-03-02T09:00:00Z",
          "rule": {"==": [{"%": [{"var": "contact.attributes.n"}, 2]}, 0]}},
         sms("hi", "Hi {{ contact.attributes.n }}")],
        [("start", "hi", None)], entry="always")
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    version = await engine.publish(db, clock.queue, flow_id, clock.now)
    [job] = clock.queue.jobs
    assert (job.job, job.defer_until) == ("broadcast", at)
    await clock.drain()
    assert await runs_of(db, flow_id) == []  # not yet
    await clock.until(at)
    runs = await runs_of(db, flow_id)
    assert len(runs) == 602 and {r["status"] for r in runs} == {"completed"}
    assert runs[-1]["messages"][0]["content"] == {"text": "Hi 1202"}
    # The broadcast job again (a lost result, a sweep after a Redis restart): nobody twice.
    assert await clock.run("broadcast", version["id"], "start", at.isoformat(), None) == 0
    await clock.drain()
    assert len(await runs_of(db, flow_id)) == 602


async def test_cron_schedule_and_a_lost_broadcast_job(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, BILL])
    document = flow([{"id": "start", "type": "trigger", "on": "schedule", "cron": "0 9 * * *"},
                     sms("hi", "Morning!")], [("start", "hi", None)], entry="always")
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    nine = T0 + timedelta(hours=1)
    assert [(j.job, j.defer_until) for j in clock.queue.jobs] == [("broadcast", nine)]
    clock.queue.flush()  # Redis loses the job
    clock.now = nine + timedelta(seconds=10)
    await engine.sweep(clock.rt, clock.now)  # the sweeper queues the due occurrence again
    await clock.drain()
    assert [r["status"] for r in await runs_of(db, flow_id)] == ["completed", "completed"]
    [following] = clock.queue.jobs  # and the broadcast queued the next morning's
    assert following.defer_until == nine + timedelta(days=1)
    await engine.sweep(clock.rt, clock.now)  # known to the queue: not queued twice
    assert len(clock.queue.jobs) == 1
    await clock.until(nine + timedelta(days=1))
    assert len(await runs_of(db, flow_id)) == 4


async def test_pause_and_resume(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, {**ANNA, "id": "c-2"}])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "signed_up"))
    await engine.pause(db, flow_id, clock.now)
    await clock.events(ws, event("c-2", "signed_up"))  # enrols nobody
    await clock.until(T0 + timedelta(hours=3))  # the waiting run does not move
    assert [(r["contact"], r["status"]) for r in await runs_of(db, flow_id)] == [
        ("c-anna", "waiting")]
    await engine.resume(db, clock.queue, flow_id, clock.now)
    await clock.drain()
    [run] = await runs_of(db, flow_id)
    assert run["status"] == "completed"
    assert run["path"][2]["left"] == T0 + timedelta(hours=3)


class FlakySender(SandboxSender):
    """Fails the first call outright (a provider outage), then records as the sandbox does."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.calls: list[list[str]] = []

    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        self.calls.append([m.key for m in messages])
        if len(self.calls) == 1:
            raise ConnectionError("provider unreachable")
        return await super().send(messages)


async def test_a_failed_hand_over_is_retried_under_the_same_key(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    sender = FlakySender(db)
    clock.rt.sender = sender
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "signed_up"))
    [run] = await runs_of(db, flow_id)
    assert run["status"] == "sending"
    assert [m["status"] for m in run["messages"]] == ["queued"]
    # The sweeper finds it stuck in `sending` and drives the send again, same key.
    assert await engine.sweep(clock.rt, clock.now + timedelta(minutes=1)) == 1
    await clock.drain()
    [run] = await runs_of(db, flow_id)
    assert sender.calls[0] == sender.calls[1] == [f"{run['id']}:hello:1"]
    assert run["status"] == "waiting"
    assert [m["status"] for m in run["messages"]] == ["sent"]


# --- live == simulated, for every example flow --------------------------------------------------


def example_contacts() -> list[dict[str, Any]]:
    lines = (EXAMPLES / "data" / "contacts.jsonl").read_text(encoding="utf-8").splitlines()
    return [decode_contact(line) for line in lines]


def example_events(name: str) -> list[Event]:
    lines = (EXAMPLES / "data" / f"{name}.events.jsonl").read_text(encoding="utf-8")
    return [decode_event(line) for line in lines.splitlines()]


def as_report_run(run: dict[str, Any]) -> dict[str, Any]:
    """A live run in the shape of a simulation report's run."""
    from flows.timecalc import format_instant

    def instant(value: datetime) -> str:
        return format_instant(value)

    path = []
    for entry in run["path"]:
        entry = dict(entry)
        entry["at"] = instant(entry["at"])
        if "left" in entry:
            entry["left"] = instant(entry["left"])
        path.append(entry)
    messages = [{"node": m["node"], "channel": m["channel"], "to": m["to"],
                 "at": instant(m["created_at"]), "content": m["content"],
                 **({"topic": m["topic"]} if m["topic"] is not None else {})}
                for m in run["messages"] if m["status"] != "refused"]
    # A refused send is a path entry (with its reason) in a dry run; live it is also a message
    # row with status `refused`, so the timeline can say why nothing went out.
    refused = [m["reason"] for m in run["messages"] if m["status"] == "refused"]
    assert refused == [e["reason"] for e in path if e.get("port") == "failed"
                       and e.get("reason") in REFUSAL_REASONS]
    report: dict[str, Any] = {"contact": run["contact"], "status": run["status"], "path": path,
                              "messages": messages}
    if run["exit_reason"] is not None:
        report["reason"] = run["exit_reason"]
    if run["status"] == "waiting":
        report["waiting_until"] = instant(run["wake_at"])
        if run["awaiting"] is not None:
            report["awaiting"] = run["awaiting"]
    return report


EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
async def test_live_runs_match_the_simulation(database: Database, name: str) -> None:
    from itertools import groupby

    from flows.compiler import compile_flow
    from flows.simulator import report_to_json, simulate
    from nodes import CATALOGUE

    db = database
    source = (EXAMPLES / f"{name}.json").read_bytes()
    plan = compile_flow(source, CATALOGUE)
    schedules = [plan.trigger_spec(t).at for t in plan.triggers if plan.trigger_spec(t).at]
    start = schedules[0] if schedules else T0  # the simulator enrols schedules at its start
    end = start + timedelta(days=30)
    script = example_events(name)
    expected = json.loads(report_to_json(simulate(plan, example_contacts(), script, start, end)))

    ws = await workspace(db)
    await add_contacts(db, ws, [json.loads(line) for line in
                                (EXAMPLES / "data" / "contacts.jsonl").read_text().splitlines()])
    flow_id = await create_flow(db, ws, json.loads(source))
    clock = Clock(db, start)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.drain()
    timed = sorted((e for e in script if e.at is not None and start <= e.at <= end),
                   key=lambda e: e.at or start)
    for at, group in groupby(timed, key=lambda e: e.at):
        assert at is not None
        await clock.until(at)  # wake-ups due by then go first, as in the simulator
        await clock.events(ws, *group)
    await clock.until(end)

    rows = await runs_of(db, flow_id)
    details = {int(r["id"]): r for r in await db.fetch(
        "SELECT id, wake_at, awaiting FROM runs WHERE flow = {}", flow_id)}
    for row in rows:
        row.update(wake_at=details[int(row["id"])]["wake_at"],
                   awaiting=details[int(row["id"])]["awaiting"])
    live = [as_report_run(row) for row in rows]

    def order(run: dict[str, Any]) -> tuple[str, str]:
        return run["contact"], run["path"][0]["at"]

    assert sorted(live, key=order) == sorted(expected["runs"], key=order)
    assert (await engine.flow_stats(db, flow_id))["nodes"] == {
        node: count for node, count in expected["nodes"].items() if count["entered"]}


# --- through arq and Redis ----------------------------------------------------------------------


def settings_for(db: Database, prefix: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db.url, redis_url=REDIS, var_dir=tmp_path, redis_prefix=prefix)


async def burst(settings: Settings, db: Database) -> None:
    """Run the real worker (arq) in this process until its queue is empty."""
    from backend.runtime.worker import make_worker

    worker = make_worker(settings, {}, db, burst=True, handle_signals=False)
    try:
        await worker.run_check()
    finally:
        await worker.close()


async def test_event_flow_through_an_arq_worker(
    database: Database, redis_prefix: str, tmp_path: Path
) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA, BILL])
    document = flow(
        [{"id": "start", "type": "trigger", "on": "event", "event": "signed_up",
          "where": {"==": [{"var": "event.properties.plan"}, "solo"]}},
         sms("hello", "Hi {{ contact.attributes.first_name }}"),
         {"id": "click", "type": "wait", "event": "clicked", "timeout": "P1D"},
         {"id": "done", "type": "exit", "reason": "clicked"}],
        [("start", "hello", None), ("hello", "click", "sent"), ("click", "done", "event")])
    flow_id = await create_flow(db, ws, document)
    queue = ArqQueue(REDIS, redis_prefix)
    try:
        await engine.publish(db, queue, flow_id, datetime.now(UTC))
        signups = [event("c-anna", "signed_up", id="s1", plan="solo"),
                   event("c-bill", "signed_up", id="s2", plan="family"),
                   event("c-new", "signed_up", id="s3", plan="solo")]
        assert await engine.ingest_events(db, queue, ws, signups + signups,
                                          datetime.now(UTC)) == 3
        await burst(settings_for(db, redis_prefix, tmp_path), db)
        runs = await runs_of(db, flow_id)
        assert [(r["contact"], r["status"], r["node"]) for r in runs] == [
            ("c-anna", "waiting", "click"), ("c-new", "completed", "hello")]
        assert [m["content"] for m in runs[0]["messages"]] == [{"text": "Hi Anna"}]
        await engine.ingest_events(db, queue, ws, [event("c-anna", "clicked")],
                                   datetime.now(UTC))
        await burst(settings_for(db, redis_prefix, tmp_path), db)
    finally:
        await queue.close()
    runs = await runs_of(db, flow_id)
    assert (runs[0]["status"], runs[0]["exit_reason"]) == ("exited", "clicked")
    assert ports(runs[0]) == [("start", "next"), ("hello", "sent"), ("click", "event"),
                              ("done", None)]
    assert [m["status"] for m in runs[0]["messages"]] == ["sent"]


# --- faults: a worker killed mid-flow, Redis losing its keys ------------------------------------

def two_steps(first_wait: str) -> dict[str, Any]:
    return flow(
        [{"id": "start", "type": "trigger", "on": "api"},
         {"id": "w1", "type": "wait", "for": first_wait},
         sms("one", "One for {{ contact.id }}"),
         {"id": "w2", "type": "wait", "for": "PT2S"},
         sms("two", "Two for {{ contact.id }}")],
        [("start", "w1", None), ("w1", "one", None), ("one", "w2", "sent"),
         ("w2", "two", None)])


def start_worker(db: Database, prefix: str, log: Path) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": db.url, "REDIS_URL": REDIS,
           "CASTFLOW_REDIS_PREFIX": prefix, "CASTFLOW_SWEEP_SECONDS": "1",
           "CASTFLOW_STUCK_SECONDS": "2", "CASTFLOW_SWEEP_GRACE_SECONDS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "backend.runtime.worker"], cwd=ROOT,
                                env=env, stdout=out, stderr=out)


def stop(process: Any) -> None:
    import signal

    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except Exception:
            process.kill()
            process.wait()


async def count(db: Database, sql: str, *args: Any) -> int:
    return int((await db.fetch(f"SELECT COUNT(*) AS n FROM {sql}", *args))[0]["n"])


async def eventually(check: Any, timeout: float, log: Path, step: float = 0.02) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; worker log:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(step)


async def two_step_runs(
    db: Database, prefix: str, contacts: int, first_wait: str = "PT2S"
) -> tuple[int, ArqQueue]:
    ws = await workspace(db)
    await add_contacts(db, ws, [{"id": f"c-{i:04d}", "phone": f"+39{i:07d}"}
                                for i in range(contacts)])
    flow_id = await create_flow(db, ws, two_steps(first_wait))
    queue = ArqQueue(REDIS, prefix)
    await engine.publish(db, queue, flow_id, datetime.now(UTC))
    keys = [f"c-{i:04d}" for i in range(contacts)]
    assert await engine.enrol(db, queue, flow_id, keys, datetime.now(UTC)) == contacts
    return flow_id, queue


async def assert_all_finished_once(db: Database, flow_id: int, contacts: int) -> None:
    assert await count(db, "runs WHERE flow = {} AND status = 'completed'", flow_id) == contacts
    rows = await db.fetch(
        "SELECT run, node, COUNT(*) AS n, MIN(status) AS low, MAX(status) AS high "
        "FROM messages WHERE flow = {} GROUP BY run, node", flow_id)
    assert len(rows) == 2 * contacts
    assert {(int(r["n"]), r["low"], r["high"]) for r in rows} == {(1, "sent", "sent")}
    stats = await engine.flow_stats(db, flow_id)
    assert stats["runs"] == {"completed": contacts}
    assert {node: c["entered"] for node, c in stats["nodes"].items()} == dict.fromkeys(
        ("start", "w1", "one", "w2", "two"), contacts)


async def test_worker_killed_among_a_thousand_waiting_runs(
    database: Database, redis_prefix: str, tmp_path: Path
) -> None:
    db = database
    log = tmp_path / "worker.log"
    flow_id, queue = await two_step_runs(db, redis_prefix, 1000)
    await queue.close()
    worker = start_worker(db, redis_prefix, log)
    try:
        async def some_sent() -> bool:
            return await count(db, "messages WHERE flow = {}", flow_id) > 0

        await eventually(some_sent, 30, log, step=0.005)
        worker.kill()  # SIGKILL, in the middle of the first sends
        worker.wait()
        assert await count(db, "runs WHERE flow = {} AND status = 'completed'", flow_id) < 1000
        worker = start_worker(db, redis_prefix, log)

        async def all_done() -> bool:
            return await count(
                db, "runs WHERE flow = {} AND status = 'completed'", flow_id) == 1000

        await eventually(all_done, 45, log, step=0.2)
    finally:
        stop(worker)
    await assert_all_finished_once(db, flow_id, 1000)


async def test_redis_losing_every_key_mid_flow(
    database: Database, redis_prefix: str, tmp_path: Path
) -> None:
    db = database
    log = tmp_path / "worker.log"
    flow_id, queue = await two_step_runs(db, redis_prefix, 200, "PT4S")
    await queue.close()
    worker = start_worker(db, redis_prefix, log)
    try:
        async def all_waiting() -> bool:
            return await count(db, "runs WHERE flow = {} AND status = 'waiting'", flow_id) == 200

        await eventually(all_waiting, 30, log)
        await delete_prefix(redis_prefix)  # the deferred wake-ups are gone
        assert await count(db, "messages WHERE flow = {}", flow_id) == 0

        async def all_done() -> bool:
            return await count(
                db, "runs WHERE flow = {} AND status = 'completed'", flow_id) == 200

        await eventually(all_done, 45, log, step=0.2)
    finally:
        stop(worker)
    assert "run(s) re-enqueued" in log.read_text()  # the sweeper's doing
    await assert_all_finished_once(db, flow_id, 200)


def test_a_private_redis_is_started_once_and_reused(tmp_path: Path) -> None:
    import os
    import signal

    from backend.redis import redis_url

    settings = Settings(database_url="sqlite:///x.db", redis_url=None, var_dir=tmp_path)
    url = redis_url(settings)
    pid = int((tmp_path / "redis" / "redis.pid").read_text())
    try:
        assert url.startswith("redis://127.0.0.1:")
        assert redis_url(settings) == url
        import backend.redis

        backend.redis._started.clear()  # another process: finds the port file, reuses it
        assert redis_url(settings) == url
        assert redis_url(Settings("sqlite:///x.db", REDIS, tmp_path)) == REDIS
    finally:
        os.kill(pid, signal.SIGTERM)


class RefusingSender(SandboxSender):
    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        return [DeliveryResult(m.key, "failed", "invalid_number") for m in messages]


async def test_a_refused_message_takes_the_failed_port(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    clock.rt.sender = RefusingSender(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "signed_up"))
    [run] = await runs_of(db, flow_id)
    assert run["status"] == "completed"
    assert run["path"][-1] == {"node": "hello", "at": T0, "port": "failed",
                               "reason": "invalid_number"}
    assert [(m["status"], m["reason"]) for m in run["messages"]] == [("failed", "invalid_number")]


class SidSender(SandboxSender):
    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        return [DeliveryResult(m.key, "sent", provider_id=f"SM-{m.contact}") for m in messages]


async def test_the_providers_id_for_a_message_is_stored_with_it(database: Database) -> None:
    """Delivery reports that name a message only by the provider's id (Twilio's SID) find it."""
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    clock.rt.sender = SidSender(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-anna", "signed_up"))
    rows = await db.fetch("SELECT status, provider_id FROM messages WHERE workspace = {}", ws)
    assert rows == [{"status": "sent", "provider_id": "SM-c-anna"}]


async def test_an_event_whose_job_is_lost_is_processed_by_the_sweeper(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    flow_id = await create_flow(db, ws, WELCOME)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    assert await engine.ingest_events(db, clock.queue, ws, [event("c-anna", "signed_up")],
                                      clock.now) == 1
    clock.queue.flush()  # Redis loses the event job before any worker takes it
    await clock.drain()
    assert await runs_of(db, flow_id) == []
    await engine.sweep(clock.rt, clock.now)  # too recent: its job may still be on its way
    assert [j.job for j in clock.queue.jobs] == []
    clock.now += timedelta(minutes=1)
    await engine.sweep(clock.rt, clock.now)
    await clock.drain()
    assert [r["contact"] for r in await runs_of(db, flow_id)] == ["c-anna"]
    await engine.sweep(clock.rt, clock.now)  # processed now: never queued again
    assert [j.job for j in clock.queue.jobs if j.job == "events"] == []
