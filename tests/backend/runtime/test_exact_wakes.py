"""Long waits (no deferred job when they began) get one from the sweeper at their exact time."""

from __future__ import annotations

from datetime import timedelta

from test_runtime import Clock, add_contacts, create_flow, event, flow, workspace

from backend.db import Database
from backend.runtime import engine


async def test_the_sweeper_queues_long_waits_at_their_exact_time(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [{"id": "c-long"}, {"id": "c-short"}])
    document = flow(
        [{"id": "start", "type": "trigger", "on": "event", "event": "go"},
         {"id": "pick", "type": "segment_filter",
          "rule": {"==": [{"var": "event.properties.plan"}, "long"]}},
         {"id": "long", "type": "wait", "for": "PT1H"},
         {"id": "short", "type": "wait", "for": "PT10M"},
         {"id": "done", "type": "exit"}],
        [("start", "pick", None), ("pick", "long", "yes"), ("pick", "short", "no"),
         ("long", "done", None), ("short", "done", None)],
    )
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-long", "go", id="a", plan="long"),
                       event("c-short", "go", id="b", plan="short"))
    started = clock.now
    # The short wait got its deferred job when it began; the long one did not.
    assert [(j.job, j.defer_until) for j in clock.queue.take()] == [
        ("advance", started + timedelta(minutes=10))]
    runs = {r["contact"]: int(r["id"]) for r in await db.fetch(
        "SELECT id, contact FROM runs WHERE flow = {}", flow_id)}

    sweep_at = started + timedelta(minutes=59, seconds=57)  # 3 s before the long wait ends
    window_end = sweep_at + timedelta(seconds=10)
    assert await engine.schedule_exact_wakes(clock.rt, sweep_at - timedelta(seconds=5),
                                             window_end) == 1
    jobs = clock.queue.take()
    assert [(j.job, j.defer_until) for j in jobs] == [("advance", started + timedelta(hours=1))]
    step = (await db.fetch("SELECT step FROM runs WHERE id = {}", runs["c-long"]))[0]["step"]
    assert jobs[0].args[0] == [[runs["c-long"], int(step)]]
    # The next window starts where this one ended: nothing is queued twice.
    assert await engine.schedule_exact_wakes(clock.rt, window_end,
                                             window_end + timedelta(seconds=10)) == 0
