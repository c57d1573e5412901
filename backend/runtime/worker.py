"""The worker: arq in this process (no children), running the engine's jobs and the sweeper.

`castflow worker` and `python -m backend.runtime.worker` read DATABASE_URL, REDIS_URL (or start
the private Redis) and CASTFLOW_REDIS_PREFIX. Jobs (names as enqueued by the engine):

- `advance(pairs)`: move runs [(id, step), ...] (new, due, or stuck in `sending`);
- `events(ids)`: match stored events against waiting runs and event triggers (a bulk job: the
  queued calls wait on a Redis list and run together, see `queue.BULK_JOBS`);
- `broadcast(version, trigger, occurrence, after)`: one page of a schedule's broadcast;
- the sweeper (a cron job every CASTFLOW_SWEEP_SECONDS, default 5, and at start-up):
  re-enqueues due runs and runs stuck in `active`/`sending` for CASTFLOW_STUCK_SECONDS
  (default 30), and schedule occurrences the queue lost. While the queue holds a backlog of due
  jobs it leaves runs alone (the backlog will move them), but never for more than a minute.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import RedisSettings
from arq.cron import cron
from arq.worker import func

from backend.channels import WorkspaceSender, load_link_settings
from backend.db import Database
from backend.redis import redis_url
from backend.runtime import engine
from backend.runtime.batching import Batcher
from backend.runtime.engine import Runtime, SweepPolicy
from backend.runtime.queue import ArqQueue, bulk_key, queue_name, wake_channel
from backend.runtime.waking import WakingWorker
from backend.segments import jobs as segment_jobs
from backend.settings import Settings, load_settings
from backend.store.channel_settings import RefreshingSender, StoredChannels, settings_cipher

log = logging.getLogger("castflow.worker")

JOB_TIMEOUT_SECONDS = 120
BACKLOG = 50  # due jobs waiting in the queue beyond which the sweeper leaves runs alone
MAX_SWEEP_SKIP = timedelta(minutes=1)
EVENTS_PER_BATCH = 2000
BROADCAST_RESULT_SECONDS = 86_400  # a broadcast job's id stays taken a day: no re-broadcast


def _now() -> datetime:
    return datetime.now(UTC)


def _policy(env: Mapping[str, str]) -> tuple[int, SweepPolicy]:
    every = max(1, min(30, int(env.get("CASTFLOW_SWEEP_SECONDS", "5"))))
    stuck = float(env.get("CASTFLOW_STUCK_SECONDS", "30"))
    grace = float(env.get("CASTFLOW_SWEEP_GRACE_SECONDS", str(every)))
    return every, SweepPolicy(grace=timedelta(seconds=grace), stuck_after=timedelta(seconds=stuck))


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    db: Database | None = ctx.get("db")
    if db is None:
        db = ctx["own_db"] = Database(settings.database_url)
        await db.start()
    queue = ArqQueue.from_pool(ctx["redis"], settings.redis_prefix)
    # Each workspace's providers (environment > Settings -> Channels > sandbox), rebuilt
    # within seconds of a change to its settings.
    stored = StoredChannels(db, settings_cipher(os.environ, settings.var_dir))
    links = load_link_settings(os.environ, settings.var_dir)
    sender = ctx["sender"] = RefreshingSender(WorkspaceSender(stored.load_urls, links), stored)
    runtime = ctx["runtime"] = Runtime(db, queue, sender)

    async def process(event_ids: list[int]) -> list[None]:
        # Segments first: the events are marked processed last, so a lost job redoes both.
        await segment_jobs.after_events(runtime.db, runtime.queue, event_ids, _now())
        await engine.process_events(runtime, event_ids, _now())
        return [None] * len(event_ids)

    # `events` jobs running at once (one is queued per group commit of the API) are processed
    # together: one load of runs, contacts and flows, one transaction.
    ctx["events"] = Batcher(process, max_items=EVENTS_PER_BATCH)
    ctx["last_sweep"] = datetime.min.replace(tzinfo=UTC)


async def _shutdown(ctx: dict[str, Any]) -> None:
    sender = ctx.get("sender")
    if sender is not None:  # SMTP connections are closed with a QUIT, not dropped
        await sender.aclose()
    db: Database | None = ctx.get("own_db")
    if db is not None:
        await db.close()


async def advance_job(ctx: dict[str, Any], pairs: list[list[int]]) -> int:
    return await engine.advance_runs(ctx["runtime"], pairs, _now())


async def events_job(ctx: dict[str, Any], event_ids: list[int]) -> int:
    await ctx["events"].submit(event_ids)
    return len(event_ids)


async def segments_job(ctx: dict[str, Any]) -> int:
    """Cron: re-evaluate time-window segments ("not in the last 21 days") in bulk."""
    runtime: Runtime = ctx["runtime"]
    return len((await segment_jobs.time_based(runtime.db, runtime.queue, _now())).changes)


async def broadcast_job(
    ctx: dict[str, Any], version_id: int, trigger: str, occurrence: str, after: str | None
) -> int:
    return await engine.broadcast(
        ctx["runtime"], version_id, trigger, datetime.fromisoformat(occurrence), after, _now()
    )


async def sweep_job(ctx: dict[str, Any]) -> int:
    now = _now()
    runtime: Runtime = ctx["runtime"]
    backlog = await ctx["redis"].zcount(
        ctx["queue_name"], "-inf", int(now.timestamp() * 1000)
    )
    sweep_runs = backlog <= BACKLOG or now - ctx["last_sweep"] > MAX_SWEEP_SKIP
    if sweep_runs:
        ctx["last_sweep"] = now
    count = await engine.sweep(runtime, now, ctx["policy"], runs=sweep_runs)
    # Long waits ending before the next sweep get a deferred job at their exact time; windows
    # follow each other without gaps (a restarted worker queues some again: harmless).
    until = now + timedelta(seconds=ctx["sweep_every"]) + ctx["policy"].grace
    after = ctx.get("wakes_until") or now - ctx["policy"].grace
    count += await engine.schedule_exact_wakes(runtime, after, until)
    ctx["wakes_until"] = until
    if count:
        log.info("sweeper: %d run(s) re-enqueued", count)
    return count


def _segment_schedule(env: Mapping[str, str]) -> dict[str, Any]:
    """When time-window segments are swept: every CASTFLOW_SEGMENT_SECONDS (default 60)."""
    every = max(1, min(3600, int(env.get("CASTFLOW_SEGMENT_SECONDS", "60"))))
    if every < 60:
        return {"second": set(range(0, 60, every))}
    return {"minute": set(range(0, 60, min(every // 60, 60))), "second": {0}}


def worker_settings(
    settings: Settings, env: Mapping[str, str] | None = None, db: Database | None = None
) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` (add `burst=True` to drain and stop).

    `db`: a database already open in this process (tests): tables are bound to one engine per
    process, so a second `Database` for the same URL would take them over."""
    every, policy = _policy(os.environ if env is None else env)
    name = queue_name(settings.redis_prefix)
    return {
        "functions": [
            func(advance_job, name="advance"),
            func(events_job, name="events"),  # as queued before events became a bulk job
            func(broadcast_job, name="broadcast", keep_result=BROADCAST_RESULT_SECONDS),
        ],
        "cron_jobs": [
            # arq keys cron jobs by name across queues: the prefix keeps installs apart.
            cron(sweep_job, name=f"{settings.redis_prefix}:sweep",
                 second=set(range(0, 60, every)), run_at_startup=True, microsecond=0),
            cron(segments_job, name=f"{settings.redis_prefix}:segments",
                 **_segment_schedule(os.environ if env is None else env),
                 run_at_startup=True, microsecond=0),
        ],
        "redis_settings": RedisSettings.from_dsn(redis_url(settings)),
        "queue_name": name,
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {"settings": settings, "policy": policy, "queue_name": name, "db": db,
                "sweep_every": every},
        "max_jobs": 10,
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "keep_result": 0,
        # What a plain arq Worker polls at; `run_worker`'s WakingWorker is woken instead.
        "poll_delay": 0.1,
        "log_results": False,
    }


def make_worker(settings: Settings, env: Mapping[str, str] | None = None,
                db: Database | None = None, **overrides: Any) -> WakingWorker:
    """The worker `castflow worker` runs (`overrides`: more `arq.worker.Worker` arguments,
    e.g. `burst=True` to drain the queue and stop)."""
    return WakingWorker(wake_channel(settings.redis_prefix),
                        bulk={bulk_key(settings.redis_prefix, "events"): events_job},
                        bulk_size=EVENTS_PER_BATCH,
                        **{**worker_settings(settings, env, db), **overrides})


async def run_worker(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM (what `castflow worker` does)."""
    worker = make_worker(settings)
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        pass
    finally:
        await worker.close()


def serve(settings: Settings) -> None:
    """Run the worker in this process on uvloop when it is installed (a faster event loop for
    the same code), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_worker(settings))
    else:
        uvloop.run(run_worker(settings))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(load_settings())


if __name__ == "__main__":
    main()
