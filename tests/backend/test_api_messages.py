"""Messages over HTTP: newest first, filtered by contact, flow, channel and status, in pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_api_flows import insert_message
from test_api_support import Api, running_api


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


@pytest.fixture
async def flows(api: Api) -> tuple[int, int]:
    first = (await api.client.post("/api/flows", json={"name": "First"})).json()["id"]
    second = (await api.client.post("/api/flows", json={"name": "Second"})).json()["id"]
    workspace = api.sql("SELECT workspace FROM flows LIMIT 1")[0]["workspace"]
    for n, (contact, flow, channel, status) in enumerate([
        ("c-1", first, "sms", "sent"), ("c-1", first, "email", "failed"),
        ("c-2", second, "sms", "delivered"), ("c-2", first, "push", "refused"),
        ("c-3", second, "email", "sent"),
    ]):
        insert_message(api, workspace, contact, flow=flow, channel=channel, status=status,
                       key=f"k-{n}")
    return first, second


async def test_messages_are_listed_newest_first_with_every_field(
    api: Api, flows: tuple[int, int]
) -> None:
    body = (await api.client.get("/api/messages")).json()
    assert body["next"] is None
    assert [(m["contact"], m["channel"]) for m in body["items"]] == [
        ("c-3", "email"), ("c-2", "push"), ("c-2", "sms"), ("c-1", "email"), ("c-1", "sms")]
    failed = body["items"][3]
    assert set(failed) >= {"id", "contact", "flow", "node", "channel", "to", "topic", "content",
                           "status", "reason", "created_at"}
    assert failed["status"] == "failed"
    assert failed["reason"] == "no_address"
    assert failed["to"] == "+39340"
    assert failed["created_at"].endswith("Z")


async def test_filters_combine(api: Api, flows: tuple[int, int]) -> None:
    first, second = flows

    async def listed(**params: str | int) -> list[tuple[str, str]]:
        response = await api.client.get("/api/messages", params=params)
        assert response.status_code == 200, response.text
        return [(m["contact"], m["channel"]) for m in response.json()["items"]]

    assert await listed(contact="c-1") == [("c-1", "email"), ("c-1", "sms")]
    assert await listed(flow=second) == [("c-3", "email"), ("c-2", "sms")]
    assert await listed(channel="sms") == [("c-2", "sms"), ("c-1", "sms")]
    assert await listed(status="refused") == [("c-2", "push")]
    assert await listed(contact="c-2", flow=first) == [("c-2", "push")]
    assert await listed(contact="nobody") == []
    assert await listed(flow=99999999999) == []


async def test_pages_of_messages(api: Api, flows: tuple[int, int]) -> None:
    first = (await api.client.get("/api/messages?limit=2&channel=sms")).json()
    assert len(first["items"]) == 2
    assert first["next"] is None
    page = (await api.client.get("/api/messages?limit=2")).json()
    seen = [m["id"] for m in page["items"]]
    while page["next"]:
        page = (await api.client.get(f"/api/messages?limit=2&cursor={page['next']}")).json()
        seen += [m["id"] for m in page["items"]]
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(("query", "words"), [
    ("channel=fax", "'channel'"), ("status=lost", "'status'"), ("flow=first", "'flow'"),
])
async def test_bad_filters_are_400(api: Api, query: str, words: str) -> None:
    response = await api.client.get(f"/api/messages?{query}")
    assert response.status_code == 400
    assert words in response.json()["error"]
