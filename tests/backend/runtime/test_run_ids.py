"""Run ids are never given twice: message keys (run:node:step) are built from them, so a reused
id would make a new send collide with a message of a deleted flow's run."""

from __future__ import annotations

from test_runtime import ANNA, Clock, add_contacts, create_flow, event, flow, sms, workspace

from backend.db import Database
from backend.runtime import engine
from backend.store import flows as flow_store

GREET = flow([{"id": "start", "type": "trigger", "on": "event", "event": "signed_up"},
              sms("hello", "Hi {{ contact.attributes.first_name }}")],
             [("start", "hello", None)])


async def test_a_deleted_flows_run_ids_are_not_given_again(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    clock = Clock(db)
    first = await create_flow(db, ws, GREET)
    await engine.publish(db, clock.queue, first, clock.now)
    await clock.events(ws, event("c-anna", "signed_up", id="one"))
    [old] = await db.fetch('SELECT "key", run FROM messages WHERE workspace = {}', ws)
    await engine.pause(db, first, clock.now)
    assert await flow_store.delete(db, ws, first)  # its runs go; its message stays

    second = await create_flow(db, ws, GREET)
    await engine.publish(db, clock.queue, second, clock.now)
    await clock.events(ws, event("c-anna", "signed_up", id="two"))
    rows = await db.fetch('SELECT "key", flow, status FROM messages WHERE workspace = {} '
                          "ORDER BY id", ws)
    assert [(r["flow"], r["status"]) for r in rows] == [(None, "sent"), (second, "sent")]
    assert rows[1]["key"] != old["key"]


BYE = flow([{"id": "start", "type": "trigger", "on": "event", "event": "signed_up"},
            sms("hello", "Bye {{ contact.attributes.first_name }}")],
           [("start", "hello", None)])


async def test_a_new_flow_never_runs_a_deleted_flows_plan(database: Database) -> None:
    """The worker keeps compiled plans by version id: a version id given again would make a
    new flow send what a deleted flow said."""
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [ANNA])
    clock = Clock(db)  # one runtime, one plan cache, as a long-running worker has
    first = await flow_store.create(db, ws, "Greet", "", GREET, clock.now)  # as the API does
    await engine.publish(db, clock.queue, first, clock.now)
    await clock.events(ws, event("c-anna", "signed_up", id="one"))
    await engine.pause(db, first, clock.now)
    assert await flow_store.delete(db, ws, first)

    second = await flow_store.create(db, ws, "Bye", "", BYE, clock.now)
    assert second != first  # ids are never given twice (the plan cache is keyed by them)
    await engine.publish(db, clock.queue, second, clock.now)
    await clock.events(ws, event("c-anna", "signed_up", id="two"))
    rows = await db.fetch("SELECT content FROM messages WHERE workspace = {} ORDER BY id", ws)
    assert "Bye Anna" in str(rows[-1]["content"])
