"""The live runtime: published flows executed per contact by arq workers.

The database is the truth: a run is a row, advanced only by a compare-and-set on its step
counter; queue jobs are merely wake-ups, so a duplicate or late job does nothing, and a periodic
sweeper re-enqueues due runs (waits survive a Redis restart or a lost job).

Public interface used by the API and the CLI (implemented in the modules of this package):

- `publish(db, flow_id, now) -> FlowVersion row dict` compiles the draft (raising
  `flows.problems.FlowProblems`), freezes a version, sets the flow live, schedules its
  schedule triggers and enrols current segment members where asked.
- `pause(db, flow_id)` / `resume(db, queue, flow_id)`.
- `enrol(db, queue, flow_id, contact_keys, now) -> int` for `api` triggers.
- `ingest_events(db, queue, workspace_id, events, now) -> int` stores events (a repeated
  id is ignored) and hands them to the worker to match against triggers and waiting runs.
- `queue.Queue`: the small queue interface (arq behind it).
- `worker.make_worker(settings)`: what `castflow worker` runs.

As built (issue 3), the exact signatures:

- `engine.publish(db, queue, flow_id, now) -> dict` (the version row: id, flow, number,
  content_hash, published_at, current); `engine.pause(db, flow_id, now=None)`;
  `engine.resume(db, queue, flow_id, now=None)`; `engine.enrol(db, queue, flow_id,
  contact_keys, now) -> int`; `engine.ingest_events(db, queue, workspace, events, now) -> int`;
  `engine.flow_stats(db, flow_id) -> {"nodes": {node: {"entered", "ports"}}, "runs": {...}}`.
  Errors: `flows.problems.FlowProblems` (publish), `engine.FlowNotFound` (LookupError),
  `engine.EnrolError` (ValueError: not published, or no `api` trigger).
- Jobs (`engine.advance_runs`, `process_events`, `broadcast`, `sweep`, and `run_due` for shells
  on a fake clock) take a `engine.Runtime(db, queue, sender)` and `now`.
- `queue.Queue` / `ArqQueue(url, prefix)` / `RecordingQueue`; `sender.Sender` /
  `SandboxSender`; `worker.worker_settings(settings)`, `worker.make_worker(settings, ...)`
  (the `WakingWorker` with its bulk jobs), `worker.run_worker(settings)`;
  `backend.redis.redis_url(settings)`. `events` is a bulk job (`queue.BULK_JOBS`): its calls
  wait on a Redis list, not in arq's queue, and the worker runs every waiting call as one.
- `ingest.ingest_events(db, queue, workspace, events, now) -> int` (also re-exported as
  `engine.ingest_events`); `ingest.EventIngest(db, queue).ingest(workspace, events, now) -> int`:
  the same behind a group commit (concurrent callers share one transaction and one `events`
  job; what `POST /api/events` uses); `batching.Batcher(process, max_items).submit(items)`.
- `engine.schedule_exact_wakes(rt, after, until) -> int`: deferred jobs at the exact times of
  long waits ending in (after, until] (the sweeper calls it for its next period).
- `waking.WakingWorker(wake_channel, bulk={list: function}, **worker_settings(...))`: arq's
  Worker, woken over Redis pub/sub when a job is queued (`queue.wake_channel(prefix)`) instead
  of polling every 100 ms, and running the bulk jobs; `worker.serve(settings)` runs it (on
  uvloop when installed).
- Module docstrings say how: `engine` (the batch protocol and the run state JSON), `store`
  (bulk SQL), `queue`, `sender`, `worker` (jobs and the sweeper), `ingest`, `batching`,
  `waking`; `backend.db` (SQLite on long-lived connections, writers taking turns).
"""
