"""The worker is woken by the queue: a job starts at once, not at the next poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import RedisSettings
from arq.worker import func
from redis.asyncio import Redis

from backend.runtime.queue import ArqQueue, bulk_key, queue_name, wake_channel
from backend.runtime.waking import WakingWorker

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    prefix = f"cftest-wake-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = Redis.from_url(REDIS)
    try:
        for pattern in (f"{prefix}:*", f"arq:*:{prefix}:*"):
            keys = [key async for key in client.scan_iter(match=pattern)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


async def test_a_queued_job_starts_at_once_and_a_deferred_one_on_time(prefix: str) -> None:
    started: dict[str, float] = {}

    async def job(ctx: dict[str, Any], name: str) -> None:
        started[name] = time.monotonic()

    # Polling alone would take up to 5 s: only the wake-up can make these figures.
    worker = WakingWorker(
        wake_channel(prefix), functions=[func(job, name="job")],
        redis_settings=RedisSettings.from_dsn(REDIS), queue_name=queue_name(prefix),
        handle_signals=False, keep_result=0, idle_poll=5.0,
    )
    queue = ArqQueue(REDIS, prefix)
    running = asyncio.create_task(worker.async_run())
    try:
        await asyncio.sleep(1.0)  # subscribed and idle
        for name in ("first", "second"):
            sent = time.monotonic()
            await queue.enqueue("job", name)
            while name not in started:
                await asyncio.sleep(0.002)
                assert time.monotonic() - sent < 4, f"job {name} did not start within 4 s"
            # Far below the 5 s poll, with room for a loaded CI machine.
            assert started[name] - sent < 1.5
            await asyncio.sleep(0.2)
        sent = time.monotonic()
        await queue.enqueue("job", "later", defer_until=datetime.now(UTC) + timedelta(seconds=0.3))
        while "later" not in started:
            await asyncio.sleep(0.005)
            assert time.monotonic() - sent < 6
        assert 0.25 < started["later"] - sent < 2.5  # at its time, not at the 5 s poll
    finally:
        running.cancel()
        await queue.close()
        await worker.close()


async def test_closing_while_a_job_task_is_starting_finishes_the_shutdown(prefix: str) -> None:
    """arq's close() cancels the job tasks still running and gathers them; a task cancelled
    before its job's own error handling (run_job's first Redis round trip) re-raised
    CancelledError from close() and skipped on_shutdown, which closes the providers."""
    shut: list[bool] = []

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        shut.append(True)

    async def job(ctx: dict[str, Any]) -> None:
        return None

    worker = WakingWorker(
        wake_channel(prefix), functions=[func(job, name="job")],
        redis_settings=RedisSettings.from_dsn(REDIS),
        queue_name=queue_name(prefix), handle_signals=False, keep_result=0, idle_poll=5.0,
        on_shutdown=on_shutdown,
    )
    running = asyncio.create_task(worker.async_run())
    await asyncio.sleep(0.5)  # started and idle
    running.cancel()
    worker.tasks["starting"] = asyncio.create_task(asyncio.sleep(30))  # a job task mid-start
    await worker.close()
    assert shut == [True]


async def test_bulk_calls_wait_on_a_list_and_run_together_at_once(prefix: str) -> None:
    """`events` calls are not arq jobs: the calls queued meanwhile run as one call, and a new
    call starts at once (the wake-up), not at the idle poll."""
    calls: list[tuple[list[int], float]] = []

    async def events(ctx: dict[str, Any], ids: list[int]) -> None:
        calls.append((ids, time.monotonic()))

    async def other(ctx: dict[str, Any]) -> None:
        return None

    queue = ArqQueue(REDIS, prefix)
    for chunk in ([1, 2], [3], [4, 5, 6]):  # queued before the worker runs
        await queue.enqueue("events", chunk)
    client = Redis.from_url(REDIS)
    try:
        assert await client.llen(bulk_key(prefix, "events")) == 3
        assert await client.zcard(queue_name(prefix)) == 0  # no arq job
    finally:
        await client.aclose()
    worker = WakingWorker(
        wake_channel(prefix), functions=[func(other, name="other")],
        redis_settings=RedisSettings.from_dsn(REDIS), queue_name=queue_name(prefix),
        handle_signals=False, keep_result=0, idle_poll=5.0,
        bulk={bulk_key(prefix, "events"): events}, bulk_size=4,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        for _ in range(200):
            if calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert [ids for ids, _ in calls] == [[1, 2, 3, 4], [5, 6]]  # merged, at most bulk_size
        await asyncio.sleep(0.5)  # idle and subscribed
        sent = time.monotonic()
        await queue.enqueue("events", [7])
        while len(calls) < 3:
            await asyncio.sleep(0.002)
            assert time.monotonic() - sent < 4, "the call did not run within 4 s"
        assert calls[2][0] == [7] and calls[2][1] - sent < 1.5  # woken, not the 5 s poll
    finally:
        running.cancel()
        await queue.close()
        await worker.close()


async def test_a_bulk_job_takes_one_list_and_no_id(prefix: str) -> None:
    queue = ArqQueue(REDIS, prefix)
    try:
        with pytest.raises(ValueError, match="bulk job 'events'"):
            await queue.enqueue("events", [1], job_id="x")
    finally:
        await queue.close()
