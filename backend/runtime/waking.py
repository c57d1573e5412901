"""An arq worker that is woken when a job is queued, instead of polling Redis every 100 ms.

arq looks for due jobs every `poll_delay` seconds, so a job waited 0-100 ms before it started
(most of the 136 ms an event took to become a message). `ArqQueue.enqueue` publishes on the
queue's wake channel (`queue.wake_channel`); this worker subscribes to it and polls at once when
told, when one of its jobs ends (a slot is free for a queued job), or at the time of the earliest
deferred job it knows of, and at least every `IDLE_POLL` seconds: the message is a hint only, so
a lost one (or a Redis restart) costs one idle period, never a job.

It also runs the bulk jobs (`queue.BULK_JOBS`, kept on plain Redis lists rather than as arq
jobs): one task pops every queued call of a list in one round trip and runs them as one call of
at most `bulk_size` ids, again and again while calls are waiting, woken like the arq loop.

It relies on two arq internals (`_poll_iteration`, `_release_sem_dec_counter_on_complete`):
arq is in maintenance mode upstream and pinned, and `queue.py` keeps it behind an interface.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from typing import Any

import msgspec
from arq.worker import Worker

from backend.runtime.queue import BULK_WAKE

log = logging.getLogger("castflow.worker")

IDLE_POLL = 0.5  # seconds: the longest an idle worker waits before looking at the queue again
RESUBSCRIBE_SECONDS = 1.0
BULK_POP = 200  # queued calls of a bulk job taken in one round trip

# A bulk job's function: (the worker's ctx, ids) -> anything.
BulkFunction = Callable[[dict[Any, Any], list[int]], Awaitable[Any]]


class WakingWorker(Worker):
    """`arq.worker.Worker`, taking the same arguments plus the channel to listen on, and the
    bulk jobs to run: {Redis list: function}."""

    def __init__(self, wake_channel: str, *args: Any, idle_poll: float = IDLE_POLL,
                 bulk: Mapping[str, BulkFunction] | None = None, bulk_size: int = 2000,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poll_delay_s = 0.0  # arq's loop does not sleep: `_poll_iteration` waits instead
        self.wake_channel = wake_channel
        self.idle_poll = idle_poll
        self.bulk = dict(bulk or {})
        self.bulk_size = bulk_size
        self._wake = asyncio.Event()
        self._bulk_wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._bulk_runner: asyncio.Task[None] | None = None

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake.set()  # a slot is free: a queued job may start now

    async def _poll_iteration(self) -> None:
        self._wake.clear()  # before looking: a wake-up from now on is not missed
        await super()._poll_iteration()
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        if self.burst:  # drained here, before arq looks whether its queue is empty
            while await self._run_bulk():
                pass
        elif self.bulk and (self._bulk_runner is None or self._bulk_runner.done()):
            self._bulk_runner = asyncio.create_task(self._bulk_loop())
        timeout = await self._until_next_job()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _until_next_job(self) -> float:
        """Seconds until the earliest queued job that is not ours becomes due (at most
        `idle_poll`). One already due is running in another worker: its end wakes nobody
        here, so wait the idle period."""
        if self.job_counter >= self.max_jobs:
            return self.idle_poll  # full: a job ending wakes us
        first = await self.pool.zrange(
            self.queue_name, 0, len(self.tasks), withscores=True
        )
        for job_id, score in first:
            if job_id.decode() in self.tasks:
                continue
            due_in = float(score) / 1000 - time.time()
            if due_in > 0:
                return max(0.001, min(self.idle_poll, due_in))
            break
        return self.idle_poll

    async def _bulk_loop(self) -> None:
        while True:
            self._bulk_wake.clear()  # before looking, as in `_poll_iteration`
            try:
                busy = await self._run_bulk()
            except asyncio.CancelledError:
                raise
            except Exception:  # the calls are lost; the sweeper finds their events again
                log.exception("bulk job failed")
                busy = False
            if not busy:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._bulk_wake.wait(), self.idle_poll)

    async def _run_bulk(self) -> bool:
        """Pop the waiting calls of every bulk job and run them, `bulk_size` ids at a time.
        Returns whether there were any."""
        found = False
        for key, function in self.bulk.items():
            # LRANGE + LTRIM in one transaction: what `LPOP key count` does, on any Redis
            # (that form needs 6.2).
            async with self.pool.pipeline(transaction=True) as pipe:
                pipe.lrange(key, 0, BULK_POP - 1)
                pipe.ltrim(key, BULK_POP, -1)
                calls, _ = await pipe.execute()
            if not calls:
                continue
            found = True
            ids = [item for call in calls for item in msgspec.json.decode(call)]
            for begin in range(0, len(ids), self.bulk_size):
                await function(self.ctx, ids[begin:begin + self.bulk_size])
        return found

    async def _listen(self) -> None:
        """Set the wake flag on every message of the wake channel, resubscribing after errors."""
        while True:
            try:
                pubsub = self.pool.pubsub()
                try:
                    await pubsub.subscribe(self.wake_channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            if message.get("data") == BULK_WAKE:
                                self._bulk_wake.set()
                            else:
                                self._wake.set()
                finally:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: polling goes on meanwhile
                log.warning("wake-up channel lost (%s); listening again in %.0f s", exc,
                            RESUBSCRIBE_SECONDS)
                await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def close(self) -> None:
        for task in (self._listener, self._bulk_runner):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await task
        self._listener = self._bulk_runner = None
        if not self._handle_signals:
            # arq's close() then cancels the jobs still running and gathers them: the first
            # one's CancelledError would escape and skip the rest of its shutdown (on_shutdown,
            # which closes the providers, included). Cancel and wait for them here instead; a
            # cancelled job is not lost (its run is still due, and the sweeper finds it).
            running = [task for task in self.tasks.values() if not task.done()]
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for job_id in [job for job, task in self.tasks.items() if task.cancelled()]:
                del self.tasks[job_id]
        await super().close()
