"""Segments over HTTP: rules checked before they are stored, live counts, members, previews,
and memberships that follow contact changes (with entries and exits recorded once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_api_support import Api, running_api

ITALIANS = {"==": [{"var": "contact.attributes.country"}, "IT"]}
PAYING = {"==": [{"var": "contact.attributes.lifecycle"}, "paying"]}


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


async def _contacts(api: Api, *contacts: dict[str, Any]) -> None:
    response = await api.client.post("/api/contacts", json=list(contacts))
    assert response.status_code == 200, response.text


async def _segment(api: Api, key: str, rule: Any, name: str | None = None) -> dict[str, Any]:
    body = {"key": key, "rule": rule, **({"name": name} if name else {})}
    response = await api.client.post("/api/segments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _people() -> list[dict[str, Any]]:
    return [
        {"id": "c-1", "attributes": {"country": "IT", "lifecycle": "paying"}},
        {"id": "c-2", "attributes": {"country": "IT", "lifecycle": "trial"}},
        {"id": "c-3", "attributes": {"country": "FR", "lifecycle": "paying"}},
    ]


async def test_a_segment_counts_and_lists_its_members_now(api: Api) -> None:
    await _contacts(api, *_people())
    created = await _segment(api, "italians", ITALIANS, "Italians")
    assert created["key"] == "italians" and created["name"] == "Italians"
    assert created["count"] == 2
    assert created["rule"] == ITALIANS
    assert created["dependencies"]["contact"] is True
    got = (await api.client.get("/api/segments/italians")).json()
    assert got["count"] == 2
    members = (await api.client.get("/api/segments/italians/members")).json()
    assert sorted(item["contact"]["id"] for item in members["items"]) == ["c-1", "c-2"]
    assert {item["reason"] for item in members["items"]} == {"segment created"}
    assert members["next"] is None
    listed = (await api.client.get("/api/contacts", params={"segment": "italians"})).json()
    assert sorted(item["id"] for item in listed["items"]) == ["c-1", "c-2"]
    searched = (await api.client.get("/api/contacts",
                                     params={"segment": "italians", "q": "c-2"})).json()
    assert [item["id"] for item in searched["items"]] == ["c-2"]


async def test_members_page_through_with_cursors(api: Api) -> None:
    await _contacts(api, *({"id": f"c-{n}", "attributes": {"country": "IT"}} for n in range(7)))
    await _segment(api, "italians", ITALIANS)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/segments/italians/members", params=params)).json()
        seen += [item["contact"]["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"c-{n}" for n in range(7))


async def test_preview_counts_without_saving(api: Api) -> None:
    await _contacts(api, *_people())
    response = await api.client.post("/api/segments/preview", json={"rule": PAYING})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2
    assert sorted(c["id"] for c in body["sample"]) == ["c-1", "c-3"]
    assert api.sql("SELECT COUNT(*) AS n FROM segments")[0]["n"] == 0


@pytest.mark.parametrize(("body", "words"), [
    ({"key": "x", "rule": {"no_such_op": [1]}}, "no_such_op"),
    ({"key": "x", "rule": {"in_segment": "ghosts"}}, "ghosts"),
    ({"key": "x", "rule": {"in_segment": "x"}}, "x"),
    ({"key": "", "rule": ITALIANS}, "'key'"),
    ({"key": "has space", "rule": ITALIANS}, "'key'"),
    ({"key": "x"}, "'rule'"),
    ({"key": "x", "rule": ITALIANS, "colour": "red"}, "colour"),
    ([1, 2], "JSON object"),
])
async def test_bad_segments_are_refused_naming_the_problem(
    api: Api, body: Any, words: str
) -> None:
    response = await api.client.post("/api/segments", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    assert api.sql("SELECT COUNT(*) AS n FROM segments")[0]["n"] == 0


async def test_keys_are_unique_and_deleting_a_used_segment_is_refused(api: Api) -> None:
    await _segment(api, "italians", ITALIANS)
    again = await api.client.post("/api/segments", json={"key": "italians", "rule": PAYING})
    assert again.status_code == 409
    await _segment(api, "paying_italians", {"and": [{"in_segment": "italians"}, PAYING]})
    refused = await api.client.delete("/api/segments/italians")
    assert refused.status_code == 409
    assert "paying_italians" in refused.json()["error"]
    assert (await api.client.delete("/api/segments/paying_italians")).status_code == 204
    assert (await api.client.delete("/api/segments/italians")).status_code == 204
    assert (await api.client.get("/api/segments/italians")).status_code == 404
    listed = (await api.client.get("/api/segments")).json()
    assert listed == {"items": [], "next": None}


async def test_a_cycle_through_an_edit_is_refused(api: Api) -> None:
    await _segment(api, "a", ITALIANS)
    await _segment(api, "b", {"in_segment": "a"})
    response = await api.client.put("/api/segments/a", json={"rule": {"in_segment": "b"}})
    assert response.status_code == 400, response.text
    assert (await api.client.get("/api/segments/a")).json()["rule"] == ITALIANS


async def test_memberships_follow_contact_changes_with_since_and_why(api: Api) -> None:
    await _contacts(api, *_people())
    await _segment(api, "italians", ITALIANS, "Italians")
    profile = (await api.client.get("/api/contacts/c-3")).json()
    assert profile["segments"] == []
    await _contacts(api, {"id": "c-3", "attributes": {"country": "IT"}})
    profile = (await api.client.get("/api/contacts/c-3")).json()
    [membership] = profile["segments"]
    assert membership["key"] == "italians" and membership["name"] == "Italians"
    assert membership["reason"] == "profile updated"
    assert membership["since"].endswith("Z")
    await _contacts(api, {"id": "c-3", "attributes": {"country": "IT", "note": "same"}})
    await _contacts(api, {"id": "c-1", "attributes": {"country": "DE"}})
    assert (await api.client.get("/api/contacts/c-1")).json()["segments"] == []
    history = api.sql("SELECT contact, kind, reason FROM segment_changes ORDER BY id")
    assert history == [
        {"contact": "c-1", "kind": "entered", "reason": "segment created"},
        {"contact": "c-2", "kind": "entered", "reason": "segment created"},
        {"contact": "c-3", "kind": "entered", "reason": "profile updated"},
        {"contact": "c-1", "kind": "exited", "reason": "profile updated"},
    ]
    timeline = (await api.client.get("/api/contacts/c-1")).json()["timeline"]["segments"]
    assert [(t["key"], t["kind"]) for t in timeline] == [("italians", "exited"),
                                                        ("italians", "entered")]


async def test_a_rule_change_re_evaluates_everyone(api: Api) -> None:
    await _contacts(api, *_people())
    await _segment(api, "s", ITALIANS)
    response = await api.client.put("/api/segments/s", json={"rule": PAYING, "name": "Paying"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Paying" and response.json()["count"] == 2
    members = {row["contact"] for row in api.sql("SELECT contact FROM segment_members")}
    assert members == {"c-1", "c-3"}


ENTRY_FLOW = {
    "format": "castflow.flow/1", "name": "Welcome to Italy",
    "nodes": [
        {"id": "start", "type": "trigger",
         "config": {"on": "segment_entered", "segment": "italians"}},
        {"id": "hello", "type": "send",
         "config": {"channel": "email",
                    "content": {"email": {"subject": "Ciao", "text": "Ciao!"}}}},
    ],
    "edges": [{"from": "start", "to": "hello"}],
}


async def test_entries_become_events_for_live_flows_once(api: Api) -> None:
    await _segment(api, "italians", ITALIANS)
    flow = (await api.client.post("/api/flows/import", json=ENTRY_FLOW)).json()
    published = await api.client.post(f"/api/flows/{flow['id']}/publish")
    assert published.status_code == 200, published.text
    api.queue.take()
    await _contacts(api, {"id": "c-9", "email": "nove@example.com",
                          "attributes": {"country": "IT"}})
    await _contacts(api, {"id": "c-9", "attributes": {"country": "IT", "again": True}})
    events = api.sql("SELECT id, name, contact, properties FROM events")
    assert [(e["name"], e["contact"]) for e in events] == [("segment_entered:italians", "c-9")]
    jobs = [job for job in api.queue.take() if job.job == "events"]
    assert [job.args[0] for job in jobs] == [[events[0]["id"]]]


async def test_publishing_a_flow_that_names_a_missing_segment_is_refused(api: Api) -> None:
    flow = (await api.client.post("/api/flows/import", json=ENTRY_FLOW)).json()
    refused = await api.client.post(f"/api/flows/{flow['id']}/publish")
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["problems"]
    assert problem["node"] == "start" and "'italians' does not exist" in problem["message"]
    assert (await api.client.get(f"/api/flows/{flow['id']}")).json()["status"] == "draft"
    await _segment(api, "italians", ITALIANS)
    assert (await api.client.post(f"/api/flows/{flow['id']}/publish")).status_code == 200


async def test_include_current_enters_todays_members_at_publish(api: Api) -> None:
    await _contacts(api, *_people())
    await _segment(api, "italians", ITALIANS)
    document = {**ENTRY_FLOW, "nodes": [
        {**ENTRY_FLOW["nodes"][0], "config": {"on": "segment_entered", "segment": "italians",
                                              "include_current": True}},
        ENTRY_FLOW["nodes"][1]]}
    flow = (await api.client.post("/api/flows/import", json=document)).json()
    assert (await api.client.post(f"/api/flows/{flow['id']}/publish")).status_code == 200
    runs = api.sql("SELECT contact, trigger FROM runs ORDER BY contact")
    assert runs == [{"contact": "c-1", "trigger": "start"}, {"contact": "c-2", "trigger": "start"}]
