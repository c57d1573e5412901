"""The job queue, behind a small interface: jobs are wake-ups, never the truth.

The runtime only ever enqueues a job by name with plain arguments (ints, strings, lists), maybe
deferred, maybe under an id that makes it unique while it is queued. `ArqQueue` does that with arq
(in maintenance mode upstream, hence this seam); `RecordingQueue` keeps the jobs in a list for
unit tests and for shells that run due work themselves.

Every job id is namespaced by the install's key prefix: arq keeps job, in-progress and result keys
under global names (`arq:job:<id>`), so two installs (or two test runs) sharing a Redis must not
pick the same ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool


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
        await pool.enqueue_job(
            job,
            *args,
            _job_id=f"{self.prefix}:{job_id or uuid.uuid4().hex}",
            _queue_name=self.queue_name,
            _defer_until=defer_until,
        )
        # Deferred jobs too: a waiting worker sleeps until its earliest known job, and this one
        # may be earlier. Nobody listening costs nothing; a lost message costs one poll period.
        await pool.publish(self.wake_channel, b"1")

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
