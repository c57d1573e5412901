"""`update_contact` setting an attribute to null stores null on both databases (SQLite's
json_patch would have deleted it), and leaves the other attributes as they are."""

from __future__ import annotations

from test_runtime import Clock, add_contacts, create_flow, event, flow, workspace

from backend.db import Database
from backend.runtime import engine
from backend.runtime.store import loads


async def test_setting_an_attribute_to_null_keeps_it_as_null(database: Database) -> None:
    db = database
    ws = await workspace(db)
    await add_contacts(db, ws, [{"id": "c-1", "attributes": {
        "first_name": "Anna", "coupon": "X1", "tier": "gold"}}])
    document = flow(
        [{"id": "start", "type": "trigger", "on": "event", "event": "redeemed"},
         {"id": "clear", "type": "update_contact", "set": {"coupon": None, "tier": "silver",
                                                          "redeemed": "yes"}}],
        [("start", "clear", None)],
    )
    flow_id = await create_flow(db, ws, document)
    clock = Clock(db)
    await engine.publish(db, clock.queue, flow_id, clock.now)
    await clock.events(ws, event("c-1", "redeemed", id="r1"))
    rows = await db.fetch('SELECT attributes FROM contacts WHERE "key" = {}', "c-1")
    assert loads(rows[0]["attributes"]) == {
        "first_name": "Anna", "coupon": None, "tier": "silver", "redeemed": "yes"}
