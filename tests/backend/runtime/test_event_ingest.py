"""Group commit of events: concurrent callers share one transaction and one `events` job."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from backend.db import Database
from backend.runtime import store
from backend.runtime.ingest import EventIngest
from backend.runtime.queue import RecordingQueue
from flows.contacts import Event

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_concurrent_callers_share_a_transaction_and_a_job(database: Database) -> None:
    db = database
    ws = int((await db.fetch("INSERT INTO workspaces (name, created_at) VALUES ({}, {}) "
                             "RETURNING id", "test", T0))[0]["id"])
    queue = RecordingQueue()
    ingest = EventIngest(db, queue)
    transactions = 0
    real_insert = store.store_events

    async def counting_insert(db: Database, contacts: object, rows: list[list[object]],
                              now: datetime) -> object:
        nonlocal transactions
        transactions += 1
        return await real_insert(db, contacts, rows, now)  # type: ignore[arg-type]

    store.store_events = counting_insert  # type: ignore[assignment]
    try:
        answers = await asyncio.gather(*(
            ingest.ingest(ws, [Event(f"c-{n % 5}", "clicked", f"own-{n}", T0),
                               Event("c-0", "clicked", "shared", T0)], T0)
            for n in range(50)))
    finally:
        store.store_events = real_insert  # type: ignore[assignment]
    assert sorted(answers) == [1] * 49 + [2]  # the repeated id is new for one caller only
    assert transactions == 1  # everyone arrived before the first commit: one transaction
    jobs = queue.take()
    assert [job.job for job in jobs] == ["events"]
    stored = await db.fetch("SELECT id, key, received_at FROM events ORDER BY id")
    assert jobs[0].args[0] == [int(r["id"]) for r in stored]
    assert len(stored) == 51

    # A caller arriving while a commit runs goes into the next one, not a later one each.
    first = asyncio.create_task(ingest.ingest(ws, [Event("c-1", "x", "a1", T0)], T0))
    await asyncio.sleep(0)
    rest = await asyncio.gather(*(ingest.ingest(ws, [Event("c-1", "x", f"b{n}", T0)], T0)
                                  for n in range(20)))
    assert await first == 1 and rest == [1] * 20
    assert len(queue.take()) <= 2


async def test_the_next_transaction_does_not_wait_for_the_queue(database: Database) -> None:
    """Storing and queueing are two group commits in a row: while one batch's job is on its way
    to Redis, the next batch is stored; the answer still waits for its own job."""
    db = database
    ws = int((await db.fetch("INSERT INTO workspaces (name, created_at) VALUES ({}, {}) "
                             "RETURNING id", "test", T0))[0]["id"])
    log: list[str] = []

    class SlowQueue(RecordingQueue):
        async def enqueue(self, job: str, *args: object, **kwargs: object) -> None:
            log.append(f"queue {args[0]}")
            await asyncio.sleep(0.3)
            await super().enqueue(job, *args)

    queue = SlowQueue()
    ingest = EventIngest(db, queue)
    real_insert = store.store_events

    async def logging_insert(db: Database, contacts: object, rows: list[list[object]],
                             now: datetime) -> object:
        log.append(f"store {[row[1] for row in rows]}")
        return await real_insert(db, contacts, rows, now)  # type: ignore[arg-type]

    store.store_events = logging_insert  # type: ignore[assignment]
    try:
        first = asyncio.create_task(ingest.ingest(ws, [Event("c-1", "x", "a", T0)], T0))
        while not any(line.startswith("queue") for line in log):
            await asyncio.sleep(0.001)
        second = asyncio.create_task(ingest.ingest(ws, [Event("c-1", "x", "b", T0)], T0))
        await asyncio.sleep(0.1)
        assert not first.done()  # its job is still on its way
        assert log[-1] == "store ['b']"  # stored meanwhile
        assert (await first, await second) == (1, 1)
    finally:
        store.store_events = real_insert  # type: ignore[assignment]
    ids = [int(r["id"]) for r in await db.fetch("SELECT id FROM events ORDER BY id")]
    assert [job.args[0] for job in queue.take()] == [[ids[0]], [ids[1]]]
