"""Events over HTTP, and the live runtime driven through the API: publish, enrol, pause,
resume, stats, with the queued jobs run in-process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_api_flows import api_flow, broken_flow
from test_api_support import Api, example, running_api

from backend.runtime import engine
from backend.runtime.engine import Runtime
from backend.runtime.sender import SandboxSender


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


def event_count(api: Api) -> int:
    return int(api.sql("SELECT COUNT(*) AS n FROM events")[0]["n"])


def drain(api: Api) -> None:
    """Run the queued `advance` and `events` jobs as the worker would, until none are left."""
    runtime = Runtime(api.db, api.queue, SandboxSender(api.db))
    while jobs := [job for job in api.queue.take() if job.job in ("advance", "events")]:
        for job in jobs:
            now = datetime.now(UTC)
            if job.job == "advance":
                api.call(engine.advance_runs, runtime, job.args[0], now)
            else:
                api.call(engine.process_events, runtime, job.args[0], now)


# --- events -----------------------------------------------------------------------------------


async def test_one_event_is_accepted_stored_and_queued(api: Api) -> None:
    response = await api.client.post("/api/events", json={
        "id": "evt-1", "contact": "c-1", "name": "signed_up",
        "at": "2026-03-01T10:00:00+01:00", "properties": {"plan": "solo"}})
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "new": 1}
    stored = api.sql("SELECT key, contact, name, at FROM events")
    assert stored == [{"key": "evt-1", "contact": "c-1", "name": "signed_up",
                       "at": datetime(2026, 3, 1, 9, tzinfo=UTC)}]
    assert [job.job for job in api.queue.jobs] == ["events"]
    again = await api.client.post("/api/events", json={
        "id": "evt-1", "contact": "c-1", "name": "signed_up"})
    assert again.json() == {"accepted": 1, "new": 0}  # a repeated id is ignored


async def test_a_batch_of_500_is_taken_in_one_call(api: Api) -> None:
    batch = [{"id": f"e-{n}", "contact": f"c-{n % 50}", "name": "viewed",
              "properties": {"n": n}} for n in range(500)]
    started = time.perf_counter()
    response = await api.client.post("/api/events", json=batch)
    elapsed = time.perf_counter() - started
    assert response.status_code == 202
    assert response.json() == {"accepted": 500, "new": 500}
    assert event_count(api) == 500
    assert elapsed < 10, f"500 events took {elapsed:.1f}s"


@pytest.mark.parametrize(("bad", "words"), [
    ({"contact": "c-1"}, "name"),
    ({"name": "x"}, "contact"),
    ({"contact": "c-1", "name": "x", "colour": "red"}, "colour"),
    ({"contact": "c-1", "name": "x", "at": "yesterday"}, "at"),
    ({"contact": "c-1", "name": "x", "at": "2026-03-01T09:00:00"}, "time zone"),
    ({"contact": "c-1", "name": "x", "properties": [1]}, "properties"),
    ({"contact": "", "name": "x"}, "'contact' is empty"),
    ({"contact": "c-1", "name": "x" * 201}, "too long"),
    ({"contact": 5, "name": "x"}, "contact"),
    ("signed_up", "JSON object"),
])
async def test_a_bad_event_is_named_and_nothing_is_stored(
    api: Api, bad: Any, words: str
) -> None:
    good = {"contact": "c-1", "name": "ok"}
    response = await api.client.post("/api/events", json=[good, bad])
    assert response.status_code == 400
    error = response.json()["error"]
    if isinstance(bad, dict):
        assert error.startswith("Item at index 1"), error
        assert words in error
    assert event_count(api) == 0
    assert api.queue.jobs == []


async def test_an_empty_batch_is_fine(api: Api) -> None:
    response = await api.client.post("/api/events", json=[])
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "new": 0}


# --- the live runtime through the API ---------------------------------------------------------


async def test_publishing_a_flow_with_problems_is_422(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=broken_flow())).json()
    response = await api.client.post(f"/api/flows/{flow['id']}/publish")
    assert response.status_code == 422
    assert {p.get("node") for p in response.json()["problems"]} >= {"mystery", "pause"}
    assert (await api.client.get(f"/api/flows/{flow['id']}")).json()["status"] == "draft"


async def test_publish_enrol_run_pause_resume_and_stats(api: Api) -> None:
    await api.client.post("/api/contacts", json=[
        {"id": "c-1", "phone": "+12125550001"}, {"id": "c-2", "phone": "+12125550002"}])
    flow = (await api.client.post("/api/flows", json=api_flow())).json()
    fid = flow["id"]

    published = await api.client.post(f"/api/flows/{fid}/publish")
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["id"] == fid
    assert body["status"] == "live"
    assert body["version"]["number"] == 1
    assert len(body["version"]["content_hash"]) == 64
    assert body["version"]["published_at"].endswith("Z")
    detail = (await api.client.get(f"/api/flows/{fid}")).json()
    assert detail["status"] == "live"
    assert detail["version"] == body["version"]

    enrolled = await api.client.post(f"/api/flows/{fid}/enrol",
                                     json={"contacts": ["c-1", "ghost"]})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json() == {"enrolled": 1}  # unknown ids are skipped
    drain(api)

    messages = (await api.client.get("/api/messages", params={"flow": fid})).json()["items"]
    assert [(m["contact"], m["channel"], m["to"], m["status"]) for m in messages] == [
        ("c-1", "sms", "+12125550001", "sent")]
    assert messages[0]["content"] == {"text": "Hi c-1"}
    assert messages[0]["node"] == "hello"
    stats = (await api.client.get(f"/api/flows/{fid}/stats")).json()
    assert stats["nodes"]["start"]["entered"] == 1
    assert stats["nodes"]["hello"]["ports"] == {"sent": 1}
    assert stats["runs"] == {"completed": 1}
    listed = (await api.client.get("/api/flows")).json()["items"]
    assert listed[0]["runs"] == {"completed": 1}
    timeline = (await api.client.get("/api/contacts/c-1")).json()["timeline"]
    assert [step["node"] for step in timeline["runs"][0]["path"]] == ["start", "hello"]
    assert timeline["runs"][0]["status"] == "completed"
    assert timeline["messages"][0]["id"] == messages[0]["id"]

    refused = await api.client.delete(f"/api/flows/{fid}")
    assert refused.status_code == 409
    paused = await api.client.post(f"/api/flows/{fid}/pause")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert (await api.client.get(f"/api/flows/{fid}")).json()["status"] == "paused"
    not_live = await api.client.post(f"/api/flows/{fid}/enrol", json={"contacts": ["c-2"]})
    assert not_live.status_code == 409
    resumed = await api.client.post(f"/api/flows/{fid}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "live"

    again = (await api.client.post(f"/api/flows/{fid}/publish")).json()
    assert again["version"]["number"] == 2
    assert again["version"]["content_hash"] == body["version"]["content_hash"]


async def test_an_event_enters_a_live_event_triggered_flow(api: Api) -> None:
    await api.client.post("/api/contacts", json={
        "id": "c-anna", "email": "anna@example.it", "attributes": {"first_name": "Anna"}})
    flow = (await api.client.post("/api/flows/import", json=example("welcome_series"))).json()
    assert (await api.client.post(f"/api/flows/{flow['id']}/publish")).status_code == 200
    response = await api.client.post("/api/events", json={
        "id": "evt-1", "contact": "c-anna", "name": "signed_up"})
    assert response.status_code == 202
    drain(api)
    runs = (await api.client.get("/api/contacts/c-anna")).json()["timeline"]["runs"]
    assert len(runs) == 1
    assert runs[0]["flow"]["id"] == flow["id"]
    assert [step["node"] for step in runs[0]["path"]][:3] == ["start", "pick", "welcome"]
    messages = (await api.client.get("/api/messages?contact=c-anna&channel=email")).json()
    assert len(messages["items"]) == 1
