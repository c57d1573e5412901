"""The live runtime already carries a deferred send through the database: the run waits on its
send node (resume port `@again`), and when its time comes the gate runs again and the message
goes. The policy is the workspace's, as stored through /api/settings/policy."""

from __future__ import annotations

from datetime import UTC, datetime

from test_runtime import Clock, add_contacts, create_flow, flow, ports, runs_of, sms, workspace

from backend.db import Database
from backend.runtime import engine
from backend.store import policy as policy_store
from flows.policy import parse_settings

NIGHT = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 in Rome; clocks change at 02:00
MORNING = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 in Rome, summer time


async def test_a_send_deferred_by_quiet_hours_goes_when_the_window_opens(
    database: Database,
) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [{"id": "c-rome", "phone": "+39340", "timezone": "Europe/Rome"}])
    document = flow([{"id": "start", "type": "trigger", "on": "api"}, sms("hi", "Hi!")],
                    [("start", "hi", None)])
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db, NIGHT)
    await policy_store.put_settings(db, ws, parse_settings(
        {"quiet_hours": {"start": "21:00", "end": "08:00"}}), NIGHT)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    assert await engine.enrol(db, clock.queue, flow_id, ["c-rome"], clock.now) == 1
    await clock.drain()

    [run] = await runs_of(db, flow_id)
    assert (run["status"], run["node"]) == ("waiting", "hi")
    [row] = await db.fetch("SELECT wake_at FROM runs WHERE id = {}", run["id"])
    wake_at = row["wake_at"]
    wake_at = datetime.fromisoformat(wake_at) if isinstance(wake_at, str) else wake_at
    assert wake_at.astimezone(UTC) == MORNING
    assert await db.fetch("SELECT id FROM messages") == []

    await clock.until(MORNING)
    [run] = await runs_of(db, flow_id)
    assert run["status"] == "completed"
    assert ports(run) == [("start", "next"), ("hi", "sent")]
    [message] = await db.fetch('SELECT "to", status, created_at FROM messages')
    assert (message["to"], message["status"]) == ("+39340", "sent")
