"""POST /api/events through the group commit: each request still gets its own answer, and a
repeated id counts once. (The test client runs requests one at a time; the sharing itself is
tested on `EventIngest` in tests/backend/runtime/test_event_ingest.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_api_support import Api, running_api


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


async def test_concurrent_requests_share_jobs_and_count_repeats_once(api: Api) -> None:
    async def post(n: int) -> dict[str, int]:
        # Every request sends its own event plus one event id that every request repeats.
        response = await api.client.post("/api/events", json=[
            {"id": f"own-{n}", "contact": f"c-{n % 7}", "name": "clicked"},
            {"id": "shared", "contact": "c-0", "name": "clicked"},
        ])
        assert response.status_code == 202, response.text
        body: dict[str, int] = response.json()
        return body

    answers = await asyncio.gather(*(post(n) for n in range(40)))
    assert all(a["accepted"] == 2 for a in answers)
    assert sorted(a["new"] for a in answers) == [1] * 39 + [2]  # "shared" is new once
    stored = api.sql("SELECT key FROM events ORDER BY key")
    assert sorted(r["key"] for r in stored) == sorted([f"own-{n}" for n in range(40)] + ["shared"])
    jobs = api.queue.take()
    assert {job.job for job in jobs} == {"events"}
    queued = sorted(event_id for job in jobs for event_id in job.args[0])
    assert queued == sorted(int(r["id"]) for r in api.sql("SELECT id FROM events"))
    assert api.sql("SELECT COUNT(*) AS n FROM contacts")[0]["n"] == 7


async def test_a_bad_request_in_the_crowd_stores_nothing_of_its_own(api: Api) -> None:
    good = [api.client.post("/api/events", json={"contact": "c-1", "name": "ok", "id": f"g{n}"})
            for n in range(10)]
    bad = api.client.post("/api/events", json=[{"contact": "c-1", "name": "ok", "id": "b1"},
                                               {"contact": "c-1"}])
    responses = await asyncio.gather(*good, bad)
    assert [r.status_code for r in responses] == [202] * 10 + [400]
    keys = {r["key"] for r in api.sql("SELECT key FROM events")}
    assert keys == {f"g{n}" for n in range(10)}
