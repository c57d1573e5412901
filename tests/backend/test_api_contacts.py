"""Contacts over HTTP: strict upserts that merge, batches that store all or nothing, search,
paging, and a contact's timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_api_support import T0, Api, running_api

BILL = {"id": "c-1", "email": "bill@example.com", "phone": "+393401234567",
        "chat": {"whatsapp": "+393401234567"}, "push_tokens": ["fcm:bill"],
        "attributes": {"first_name": "Bill", "country": "IT", "lifecycle": "paying"},
        "consent": {"email": "opted_in", "sms": "opted_in", "push": "opted_out"},
        "preferences": {"newsletter": "email", "discounts": "sms"},
        "timezone": "Europe/Rome"}


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


def contact_count(api: Api) -> int:
    return int(api.sql("SELECT COUNT(*) AS n FROM contacts")[0]["n"])


async def test_one_contact_is_stored_and_answered_in_the_design_shape(api: Api) -> None:
    response = await api.client.post("/api/contacts", json=BILL)
    assert response.status_code == 200, response.text
    assert response.json() == BILL
    got = await api.client.get("/api/contacts/c-1")
    assert got.status_code == 200
    body = got.json()
    assert body.pop("timeline") == {"segments": [], "events": [], "runs": [], "messages": []}
    assert body.pop("segments") == []
    assert set(body.pop("consent_changed")) == {"email", "sms", "push"}
    assert body == BILL


async def test_partial_updates_merge(api: Api) -> None:
    await api.client.post("/api/contacts", json=BILL)
    response = await api.client.post("/api/contacts", json={
        "id": "c-1", "attributes": {"lifecycle": "churned"}, "consent": {"sms": "opted_out"}})
    merged = response.json()
    assert merged["email"] == BILL["email"]  # not sent: kept
    assert merged["attributes"] == {"first_name": "Bill", "country": "IT", "lifecycle": "churned"}
    assert merged["consent"] == {"email": "opted_in", "sms": "opted_out", "push": "opted_out"}
    cleared = (await api.client.post("/api/contacts", json={"id": "c-1", "email": None})).json()
    assert "email" not in cleared  # sent as null: cleared
    assert cleared["phone"] == BILL["phone"]


async def test_a_batch_is_stored_in_one_go(api: Api) -> None:
    batch = [{"id": f"c-{n}", "attributes": {"n": n}} for n in range(1200)]
    response = await api.client.post("/api/contacts", json=batch)
    assert response.status_code == 200
    body = response.json()
    assert body["upserted"] == 1200
    assert body["items"][5] == {"id": "c-5", "attributes": {"n": 5}, "consent": {},
                                "preferences": {}}
    assert contact_count(api) == 1200
    assert (await api.client.post("/api/contacts", json=[])).json() == {"upserted": 0,
                                                                       "items": []}


@pytest.mark.parametrize(("bad", "words"), [
    ({"id": "c-9", "colour": "red"}, "colour"),
    ({"id": "c-9", "consent": {"sms": "maybe"}}, "consent for 'sms'"),
    ({"id": "c-9", "consent": {"sms": True}}, "consent for 'sms'"),
    ({"id": "c-9", "consent": ["sms"]}, "consent"),
    ({"email": "x@example.com"}, "'id'"),
    ({"id": ""}, "empty 'id'"),
    ({"id": 9}, "id"),
    ({"id": "c-9", "attributes": []}, "attributes"),
    ({"id": "c-9", "push_tokens": "one"}, "push_tokens"),
    ({"id": "c-9", "timezone": "Mars/Olympus"}, "Mars/Olympus"),
    ({"id": "c-9", "phone": "1" * 40}, "'phone' is too long"),
    ({"id": "x" * 201}, "'id' is too long"),
    ("c-9", "JSON object"),
    (7, "JSON object"),
])
async def test_a_bad_item_is_named_and_nothing_is_stored(
    api: Api, bad: Any, words: str
) -> None:
    response = await api.client.post("/api/contacts", json=[{"id": "good"}, {"id": "good-2"}, bad])
    if isinstance(bad, dict):
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error.startswith("Item at index 2"), error
        assert words in error
        single = await api.client.post("/api/contacts", json=bad)
        assert single.status_code == 400
        assert words in single.json()["error"]
    else:
        assert response.status_code == 400
    assert contact_count(api) == 0


async def test_the_body_must_be_an_object_or_an_array(api: Api) -> None:
    for body in (b'"c-1"', b"3", b"null", b"true"):
        response = await api.client.post("/api/contacts", content=body)
        assert response.status_code == 400
        assert "JSON object" in response.json()["error"]


async def test_too_big_a_batch_is_refused(api: Api) -> None:
    response = await api.client.post("/api/contacts", json=[{"id": "a"}] * 10_001)
    assert response.status_code == 400
    assert "10000" in response.json()["error"]


async def test_listing_pages_and_searches(api: Api) -> None:
    await api.client.post("/api/contacts", json=[
        {"id": f"c-{n}", "email": f"person{n}@Example.com", "phone": f"+3934000{n:04d}"}
        for n in range(7)
    ] + [{"id": "odd_one%", "email": "odd@else.org"}])
    page = (await api.client.get("/api/contacts?limit=3")).json()
    assert [c["id"] for c in page["items"]] == ["odd_one%", "c-6", "c-5"]
    seen = [c["id"] for c in page["items"]]
    while page["next"]:
        page = (await api.client.get(f"/api/contacts?limit=3&cursor={page['next']}")).json()
        seen += [c["id"] for c in page["items"]]
    assert len(seen) == 8
    assert len(set(seen)) == 8

    async def search(q: str) -> list[str]:
        response = await api.client.get("/api/contacts", params={"q": q})
        assert response.status_code == 200
        return [c["id"] for c in response.json()["items"]]

    assert await search("PERSON3@") == ["c-3"]  # email, any case
    assert await search("+39340000005") == ["c-5"]  # phone
    assert await search("c-2") == ["c-2"]  # id
    assert await search("%") == ["odd_one%"]  # wildcards are plain characters
    assert await search("_") == ["odd_one%"]
    assert await search("nobody") == []
    too_long = await api.client.get("/api/contacts", params={"q": "x" * 201})
    assert too_long.status_code == 400


async def test_an_unknown_contact_is_404(api: Api) -> None:
    response = await api.client.get("/api/contacts/ghost")
    assert response.status_code == 404
    assert "ghost" in response.json()["error"]


async def test_the_timeline_shows_events_runs_and_messages(api: Api) -> None:
    from test_api_flows import insert_message, insert_run, insert_version

    await api.client.post("/api/contacts", json=BILL)
    flow = (await api.client.post("/api/flows", json={"name": "Timeline"})).json()
    version = insert_version(api, flow["id"])
    run = insert_run(api, flow["id"], version, "c-1", "waiting")
    api.sql("INSERT INTO run_steps (run, seq, flow, version, node, at, port, left_at, detail) "
            "VALUES ({}, 1, {}, {}, 'pick', {}, 'sms', {}, {})",
            run, flow["id"], version, T0, T0, '{"reasons": {"push": "opted_out"}}')
    workspace = api.sql("SELECT workspace FROM contacts")[0]["workspace"]
    insert_message(api, workspace, "c-1", run=run, flow=flow["id"])
    api.sql("INSERT INTO events (workspace, key, contact, name, at, received_at, properties) "
            "VALUES ({}, 'e-1', 'c-1', 'signed_up', {}, {}, {})", workspace,
            T0 - timedelta(hours=1), T0 - timedelta(minutes=59, seconds=59), '{"plan": "solo"}')

    timeline = (await api.client.get("/api/contacts/c-1")).json()["timeline"]
    assert timeline["events"] == [{"id": "e-1", "name": "signed_up", "at": "2026-03-01T08:00:00Z",
                                   "received_at": "2026-03-01T08:00:01Z",
                                   "properties": {"plan": "solo"}}]
    [listed] = timeline["runs"]
    assert listed["flow"] == {"id": flow["id"], "name": "Timeline"}
    assert listed["status"] == "waiting"
    assert listed["path"] == [{"node": "pick", "at": "2026-03-01T09:00:00Z", "port": "sms",
                               "reasons": {"push": "opted_out"},
                               "left": "2026-03-01T09:00:00Z"}]
    [message] = timeline["messages"]
    assert message["channel"] == "sms"
    assert message["flow"] == flow["id"]
    assert message["content"] == {"text": "Ciao!"}
