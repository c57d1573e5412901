"""The job queue, behind a small interface: jobs are wake-ups, never the truth.

The runtime only ever enqueues a job by name with plain arguments (ints, strings, lists), maybe
deferred, maybe under an id that makes it unique while it is queued. `ArqQueue` does that with arq
(in maintenance mode upstream, hence this seam); `RecordingQueue` keeps the jobs in a list for
unit tests and for shells that run due work themselves.

Every job id is namespaced by the install's key prefix: arq keeps job, in-progress and result keys
under global names (`arq:job:<id>`), so two installs (or two test runs) sharing a Redis must not
pick the same ids.

Bulk jobs (`BULK_JOBS`: `events`) are not arq jobs: each call is pushed on a plain Redis list
that the worker (`waking.WakingWorker`) pops many at a time and runs as one call. arq spends
about 2.5 ms of the worker's CPU on each job (five round trips to claim, run and finish it), and
the API queues an `events` job per group commit: at a few thousand single-event requests a
second that bookkeeping was most of the worker's time. Like every job they are wake-ups only:
events a lost call would have named are still unprocessed in the database, and the sweeper
queues them again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import msgspec
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms

# Jobs taking one list whose calls the worker may merge (ids to look at), queued on a list.
BULK_JOBS = frozenset({"events"})
BULK_WAKE = b"bulk"  # the wake-up message for them: arq's own loop need not look at its queue


class Queue(Protocol):
    async def enqueue(
        self,
        job: str,
        *args: Any,
        defer_until: datetime | None = None,
        job_id: str | None = None,
    ) -> None:
        """Queue `job(*args)`, maybe for later; a `job_id` already queued is not queued again."""
        ...


def queue_name(prefix: str) -> str:
    return f"{prefix}:queue"


def bulk_key(prefix: str, job: str) -> str:
    """The Redis list holding the queued calls of bulk job `job` (JSON arrays)."""
    return f"{prefix}:bulk:{job}"


def wake_channel(prefix: str) -> str:
    """The Redis pub/sub channel on which `ArqQueue` tells idle workers that a job was queued,
    so they pick it up now instead of at their next poll."""
    return f"{prefix}:wake"


class ArqQueue(Queue):
    """Jobs in Redis for arq workers reading `queue_name(prefix)`."""

    def __init__(self, url: str, prefix: str, pool: ArqRedis | None = None) -> None:
        self.url = url
        self.prefix = prefix
        self.queue_name = queue_name(prefix)
        self.wake_channel = wake_channel(prefix)
        self._pool = pool
        self._owned = pool is None

    @classmethod
    def from_pool(cls, pool: ArqRedis, prefix: str) -> ArqQueue:
        """Share an open connection pool (the worker's own)."""
        return cls("", prefix, pool)

    async def pool(self) -> ArqRedis:
        if self._pool is None:
            self._pool = await create_pool(
                RedisSettings.from_dsn(self.url), default_queue_name=self.queue_name
            )
        return self._pool

    async def enqueue(
        self,
        job: str,
        *args: Any,
        defer_until: datetime | None = None,
        job_id: str | None = None,
    ) -> None:
        pool = await self.pool()
        if job in BULK_JOBS:
            if len(args) != 1 or defer_until is not None or job_id is not None:
                raise ValueError(f"bulk job {job!r} takes one list, now, without a job id")
            async with pool.pipeline(transaction=False) as pipe:
                pipe.rpush(bulk_key(self.prefix, job), msgspec.json.encode(args[0]))
                pipe.publish(self.wake_channel, BULK_WAKE)
                await pipe.execute()
            return
        if job_id is None:
            await self._enqueue_new(pool, job, args, defer_until)
            return
        await pool.enqueue_job(
            job,
            *args,
            _job_id=f"{self.prefix}:{job_id}",
            _queue_name=self.queue_name,
            _defer_until=defer_until,
        )
        # Deferred jobs too: a waiting worker sleeps until its earliest known job, and this one
        # may be earlier. Nobody listening costs nothing; a lost message costs one poll period.
        await pool.publish(self.wake_channel, b"1")

    async def _enqueue_new(self, pool: ArqRedis, job: str, args: tuple[Any, ...],
                           defer_until: datetime | None) -> None:
        """What `enqueue_job` stores, in one round trip: a fresh random id cannot be queued
        already, so arq's WATCH and existence check (two more round trips) have nothing to
        guard against."""
        job_id = f"{self.prefix}:{uuid.uuid4().hex}"
        now = timestamp_ms()
        score = now if defer_until is None else to_unix_ms(defer_until)
        data = serialize_job(job, args, {}, None, now, serializer=pool.job_serializer)
        async with pool.pipeline(transaction=True) as pipe:
            pipe.psetex(job_key_prefix + job_id, score - now + pool.expires_extra_ms, data)
            pipe.zadd(self.queue_name, {job_id: score})
            pipe.publish(self.wake_channel, b"1")
            await pipe.execute()

    async def close(self) -> None:
        if self._pool is not None and self._owned:
            await self._pool.aclose()
        self._pool = None


@dataclass
class Enqueued:
    job: str
    args: tuple[Any, ...]
    defer_until: datetime | None = None
    job_id: str | None = None


@dataclass
class RecordingQueue(Queue):
    """In-process queue: records jobs for tests and fake-clock shells to run. A job id is taken
    for good once used (as arq keeps a broadcast's result), until `flush` (Redis lost its keys)."""

    jobs: list[Enqueued] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    async def enqueue(
        self,
        job: str,
        *args: Any,
        defer_until: datetime | None = None,
        job_id: str | None = None,
    ) -> None:
        if job_id is not None:
            if job_id in self.ids:
                return
            self.ids.add(job_id)
        self.jobs.append(Enqueued(job, args, defer_until, job_id))

    def take(self) -> list[Enqueued]:
        """The recorded jobs, emptying the queue."""
        jobs, self.jobs = self.jobs, []
        return jobs

    def flush(self) -> None:
        """Forget every job and id, as a Redis that lost its keys."""
        self.jobs, self.ids = [], set()
