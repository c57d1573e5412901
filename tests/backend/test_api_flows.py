"""Flows over HTTP: drafts, problems, import and export, deletion, paging, dry runs, and the
checks made before the runtime is asked to publish, pause, resume or enrol."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_api_support import EXAMPLES, ROOT, T0, Api, example, jsonl, running_api

from backend.security import digest

NAMES = ("welcome_series", "abandoned_cart", "re_engagement", "discount_by_preference",
         "ab_subject_lines")


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


def broken_flow() -> dict[str, Any]:
    """Compiles with problems: an unknown node type, a dangling edge and a bad wait."""
    return {
        "format": "castflow.flow/1", "name": "Broken",
        "nodes": [
            {"id": "start", "type": "trigger", "config": {"on": "event", "event": "x"}},
            {"id": "mystery", "type": "teleport", "config": {}},
            {"id": "pause", "type": "wait", "config": {"for": "eventually"}},
        ],
        "edges": [{"from": "start", "to": "pause"}, {"from": "pause", "to": "nowhere"}],
    }


def flow_count(api: Api) -> int:
    return int(api.sql("SELECT COUNT(*) AS n FROM flows")[0]["n"])


# --- drafts ---------------------------------------------------------------------------------


async def test_a_draft_is_saved_even_when_it_does_not_compile(api: Api) -> None:
    response = await api.client.post("/api/flows", json=broken_flow())
    assert response.status_code == 201, response.text
    flow = response.json()
    assert flow["name"] == "Broken"
    assert flow["status"] == "draft"
    assert flow["description"] == ""
    assert flow["created_at"].endswith("Z")
    named = {p.get("node") for p in flow["problems"]} | {p.get("edge") for p in flow["problems"]}
    assert {"mystery", "pause"} <= named
    assert any("nowhere" in (p.get("edge") or "") for p in flow["problems"])

    got = (await api.client.get(f"/api/flows/{flow['id']}")).json()
    assert got["document"] == broken_flow()
    assert got["problems"] == flow["problems"]
    assert got["version"] is None
    assert got["runs"] == {}


async def test_a_valid_draft_has_no_problems(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    assert flow["problems"] == []
    assert flow["description"] == example("welcome_series").get("description", "")


@pytest.mark.parametrize(("body", "words"), [
    ([], "JSON object"),
    ("a flow", "JSON object"),
    ({}, "'name'"),
    ({"name": ""}, "'name'"),
    ({"name": 7}, "'name'"),
    ({"name": "x" * 201}, "too long"),
    ({"name": "ok", "description": ["no"]}, "'description'"),
])
async def test_a_draft_needs_an_object_with_a_name(api: Api, body: Any, words: str) -> None:
    response = await api.client.post("/api/flows", json=body)
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert flow_count(api) == 0


@pytest.mark.parametrize("body", [b"", b"{", b"{'name': 'x'}", b"nul", b'{"name": "a"} x'])
async def test_malformed_json_is_a_bad_request(api: Api, body: bytes) -> None:
    response = await api.client.post("/api/flows", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


async def test_saving_a_draft_replaces_it(api: Api) -> None:
    created = (await api.client.post("/api/flows", json=broken_flow())).json()
    fixed = example("welcome_series") | {"name": "Fixed"}
    response = await api.client.put(f"/api/flows/{created['id']}", json=fixed)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["name"] == "Fixed"
    assert saved["problems"] == []
    assert saved["updated_at"] >= created["updated_at"]
    assert saved["created_at"] == created["created_at"]

    bad = await api.client.put(f"/api/flows/{created['id']}", json={"nodes": []})
    assert bad.status_code == 400
    kept = (await api.client.get(f"/api/flows/{created['id']}")).json()
    assert kept["name"] == "Fixed"  # a refused save loses nothing


@pytest.mark.parametrize("path", ["/api/flows/999", "/api/flows/0", "/api/flows/-4",
                                  "/api/flows/99999999999999", "/api/flows/abc"])
async def test_unknown_flows_are_404(api: Api, path: str) -> None:
    for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
        response = await api.client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]
    for action in ("export", "publish", "pause", "resume", "simulate", "stats"):
        method = "GET" if action in ("export", "stats") else "POST"
        response = await api.client.request(method, f"{path}/{action}")
        assert response.status_code == 404, (action, path)


async def test_flows_of_another_workspace_are_invisible(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=broken_flow())).json()
    other = api.sql("INSERT INTO workspaces (name, created_at) VALUES ('Other', {}) RETURNING id",
                    T0)[0]["id"]
    key = "cf_other-workspace-key"
    api.sql("INSERT INTO api_keys (workspace, name, prefix, key_hash, created_at) "
            "VALUES ({}, 'other', 'cf_other', {}, {})", other, digest(key), T0)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get(f"/api/flows/{flow['id']}", headers=headers)).status_code == 404
    listed = (await api.client.get("/api/flows", headers=headers)).json()
    assert listed == {"items": [], "next": None}
    response = await api.client.delete(f"/api/flows/{flow['id']}", headers=headers)
    assert response.status_code == 404
    assert flow_count(api) == 1


# --- lists ------------------------------------------------------------------------------------


async def test_listing_pages_through_every_flow_newest_first(api: Api) -> None:
    ids = [(await api.client.post("/api/flows", json={"name": f"f{n}"})).json()["id"]
           for n in range(5)]
    seen: list[int] = []
    url = "/api/flows?limit=2"
    pages = 0
    while True:
        page = (await api.client.get(url)).json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        assert all(set(item) == {"id", "name", "status", "updated_at", "runs"}
                   for item in page["items"])
        if page["next"] is None:
            break
        url = f"/api/flows?limit=2&cursor={page['next']}"
    assert seen == list(reversed(ids))
    assert pages == 3
    default = (await api.client.get("/api/flows")).json()
    assert len(default["items"]) == 5
    assert default["next"] is None


async def test_the_list_counts_runs_by_status(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    version = insert_version(api, flow["id"])
    for contact, status in (("a", "waiting"), ("b", "waiting"), ("c", "completed")):
        insert_run(api, flow["id"], version, contact, status)
    listed = (await api.client.get("/api/flows")).json()["items"]
    assert listed[0]["runs"] == {"waiting": 2, "completed": 1}
    detail = (await api.client.get(f"/api/flows/{flow['id']}")).json()
    assert detail["runs"] == {"waiting": 2, "completed": 1}
    assert detail["version"]["number"] == 1


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=-1", "limit=abc",
                                   "limit=2.5", "cursor=nonsense", "cursor=aWQ6MA",
                                   "cursor=aWQ6eHl6", "cursor=%00", "cursor=aWQ6OTk5OTk5OTk5OTk"])
async def test_bad_paging_is_a_bad_request(api: Api, query: str) -> None:
    for path in ("/api/flows", "/api/contacts", "/api/messages"):
        response = await api.client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.text)
        assert "limit" in response.json()["error"] or "cursor" in response.json()["error"]


async def test_the_largest_page_is_allowed(api: Api) -> None:
    response = await api.client.get("/api/flows?limit=1000")
    assert response.status_code == 200


# --- import and export ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
async def test_export_import_export_is_byte_identical(api: Api, name: str) -> None:
    imported = await api.client.post("/api/flows/import", json=example(name))
    assert imported.status_code == 201, imported.text
    flow = imported.json()
    assert flow["status"] == "draft"
    assert flow["problems"] == []
    first = await api.client.get(f"/api/flows/{flow['id']}/export")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    again = await api.client.post("/api/flows/import", content=first.content,
                                  headers={"Content-Type": "application/json"})
    assert again.status_code == 201
    second = await api.client.get(f"/api/flows/{again.json()['id']}/export")
    assert second.content == first.content
    assert json.loads(first.content) == json.loads((EXAMPLES / f"{name}.json").read_text())


async def test_an_invalid_import_stores_nothing_and_names_the_problems(api: Api) -> None:
    response = await api.client.post("/api/flows/import", json=broken_flow())
    assert response.status_code == 422
    body = response.json()
    assert "nothing was imported" in body["error"]
    assert {p.get("node") for p in body["problems"]} >= {"mystery", "pause"}
    assert all(p["message"] for p in body["problems"])
    assert flow_count(api) == 0


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("format"),
    lambda d: d.update(format="castflow.flow/9"),
    lambda d: d.update(surprise=True),
    lambda d: d["nodes"][0].update(colour="red"),
    lambda d: d["edges"].append({"from": "tips", "to": "start"}),
    lambda d: d.update(name=""),
    lambda d: d.update(nodes="none"),
])
async def test_import_refuses_every_kind_of_broken_document(api: Api, mutate: Any) -> None:
    document = example("welcome_series")
    mutate(document)
    response = await api.client.post("/api/flows/import", json=document)
    assert response.status_code == 422, response.text
    assert response.json()["problems"]
    assert flow_count(api) == 0


async def test_a_cycle_is_reported_with_the_nodes_in_it(api: Api) -> None:
    document = example("welcome_series")
    document["edges"].append({"from": "tips", "to": "pick"})
    body = (await api.client.post("/api/flows/import", json=document)).json()
    text = json.dumps(body["problems"])
    assert "pick" in text
    assert "tips" in text


async def test_import_of_something_that_is_not_a_document(api: Api) -> None:
    for body in (b"[1, 2]", b'"text"', b"42", b"null"):
        response = await api.client.post("/api/flows/import", content=body)
        assert response.status_code == 422
        assert "JSON object" in response.json()["problems"][0]["message"]
    assert flow_count(api) == 0


async def test_exporting_a_draft_that_is_not_a_document_yet(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json={"name": "Half done"})).json()
    response = await api.client.get(f"/api/flows/{flow['id']}/export")
    assert response.status_code == 422
    assert response.json()["problems"]


async def test_export_of_a_draft_with_problems_still_works(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=broken_flow())).json()
    response = await api.client.get(f"/api/flows/{flow['id']}/export")
    assert response.status_code == 200
    assert json.loads(response.content)["name"] == "Broken"


# --- deletion ---------------------------------------------------------------------------------


def insert_version(api: Api, flow_id: int) -> int:
    document = api.sql("SELECT document FROM flows WHERE id = {}", flow_id)[0]["document"]
    return int(api.sql(
        "INSERT INTO flow_versions (flow, number, document, content_hash, published_at, "
        "current) VALUES ({}, 1, {}, 'hash', {}, {}) RETURNING id",
        flow_id, document, T0, True)[0]["id"])


def insert_run(api: Api, flow_id: int, version: int, contact: str, status: str) -> int:
    workspace = api.sql("SELECT workspace FROM flows WHERE id = {}", flow_id)[0]["workspace"]
    return int(api.sql(
        "INSERT INTO runs (workspace, flow, version, contact, trigger, node, status, step, "
        "state, started_at, updated_at) VALUES ({}, {}, {}, {}, 'start', 'later', {}, 3, {}, "
        "{}, {}) RETURNING id",
        workspace, flow_id, version, contact, status, "{}", T0, T0)[0]["id"])


def insert_message(api: Api, workspace: int, contact: str, *, run: int | None = None,
                   flow: int | None = None, channel: str = "sms", status: str = "sent",
                   key: str | None = None) -> int:
    return int(api.sql(
        'INSERT INTO messages (workspace, key, run, flow, node, contact, channel, "to", topic, '
        "content, status, reason, created_at, updated_at) VALUES ({}, {}, {}, {}, 'hello', {}, "
        "{}, '+39340', 'onboarding', {}, {}, {}, {}, {}) RETURNING id",
        workspace, key or f"{run}:{contact}:{channel}:{status}", run, flow, contact, channel,
        json.dumps({"text": "Ciao!"}), status, "no_address" if status == "failed" else None,
        T0, T0)[0]["id"])


async def test_deleting_a_flow_removes_its_versions_runs_and_steps(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    version = insert_version(api, flow["id"])
    run = insert_run(api, flow["id"], version, "c-1", "completed")
    api.sql("INSERT INTO run_steps (run, seq, flow, version, node, at, port) "
            "VALUES ({}, 1, {}, {}, 'start', {}, 'next')", run, flow["id"], version, T0)
    workspace = api.sql("SELECT workspace FROM flows")[0]["workspace"]
    message = insert_message(api, workspace, "c-1", run=run, flow=flow["id"])

    response = await api.client.delete(f"/api/flows/{flow['id']}")
    assert response.status_code == 204
    assert response.content == b""
    for table in ("flows", "flow_versions", "runs", "run_steps"):
        assert api.sql(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"] == 0, table
    kept = api.sql("SELECT flow, run FROM messages WHERE id = {}", message)
    assert kept == [{"flow": None, "run": None}]  # what was sent stays in the history
    assert (await api.client.get(f"/api/flows/{flow['id']}")).status_code == 404
    assert (await api.client.delete(f"/api/flows/{flow['id']}")).status_code == 404


async def test_a_live_flow_cannot_be_deleted(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    api.sql("UPDATE flows SET status = 'live' WHERE id = {}", flow["id"])
    response = await api.client.delete(f"/api/flows/{flow['id']}")
    assert response.status_code == 409
    assert "pause it" in response.json()["error"]
    assert flow_count(api) == 1


# --- checks before the runtime is involved ----------------------------------------------------


async def test_only_a_live_flow_can_be_paused_and_only_a_paused_one_resumed(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    paused = await api.client.post(f"/api/flows/{flow['id']}/pause")
    assert paused.status_code == 409
    assert "not live" in paused.json()["error"]
    resumed = await api.client.post(f"/api/flows/{flow['id']}/resume")
    assert resumed.status_code == 409
    assert "not paused" in resumed.json()["error"]


@pytest.mark.parametrize("body", [{}, {"contacts": "c-1"}, {"contacts": [1]}, {"contacts": [""]},
                                  {"contacts": ["c-1"], "extra": 1}, [], "c-1"])
async def test_enrol_needs_a_list_of_contact_ids(api: Api, body: Any) -> None:
    flow = (await api.client.post("/api/flows", json=api_flow())).json()
    response = await api.client.post(f"/api/flows/{flow['id']}/enrol", json=body)
    assert response.status_code == 400
    assert "contacts" in response.json()["error"]


async def test_enrol_needs_a_live_flow_with_an_api_trigger(api: Api) -> None:
    draft = (await api.client.post("/api/flows", json=api_flow())).json()
    response = await api.client.post(f"/api/flows/{draft['id']}/enrol", json={"contacts": ["a"]})
    assert response.status_code == 409
    assert "not live" in response.json()["error"]

    welcome = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    insert_version(api, welcome["id"])
    api.sql("UPDATE flows SET status = 'live' WHERE id = {}", welcome["id"])
    response = await api.client.post(f"/api/flows/{welcome['id']}/enrol",
                                     json={"contacts": ["a"]})
    assert response.status_code == 409
    assert "API trigger" in response.json()["error"]


def api_flow() -> dict[str, Any]:
    return {
        "format": "castflow.flow/1", "name": "By API",
        "nodes": [
            {"id": "start", "type": "trigger", "config": {"on": "api"}},
            {"id": "hello", "type": "send", "config": {
                "channel": "sms", "content": {"sms": {"text": "Hi {{ contact.id }}"}}}},
        ],
        "edges": [{"from": "start", "to": "hello"}],
    }


# --- dry runs ---------------------------------------------------------------------------------

MAKE_RUN_START = "2026-03-02T08:00:00Z"
DATA = EXAMPLES / "data"


def cli_report(name: str, start: str, horizon: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "simulate", f"flows/examples/{name}.json",
         "--contacts", "flows/examples/data/contacts.jsonl",
         "--events", f"flows/examples/data/{name}.events.jsonl",
         "--start", start, "--horizon", horizon],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout)


async def test_simulate_gives_the_same_report_as_the_command(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    body = {"contacts": jsonl(DATA / "contacts.jsonl"),
            "events": jsonl(DATA / "welcome_series.events.jsonl"),
            "start": MAKE_RUN_START, "horizon": "P7D", "seed": 0}
    response = await api.client.post(f"/api/flows/{flow['id']}/simulate", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == cli_report("welcome_series", MAKE_RUN_START, "P7D")


async def test_simulate_over_stored_contacts(api: Api) -> None:
    contacts = jsonl(DATA / "contacts.jsonl")
    assert (await api.client.post("/api/contacts", json=contacts)).status_code == 200
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    events = jsonl(DATA / "welcome_series.events.jsonl")
    expected = cli_report("welcome_series", MAKE_RUN_START, "P7D")

    everyone = await api.client.post(f"/api/flows/{flow['id']}/simulate", json={
        "events": events, "start": MAKE_RUN_START, "horizon": "P7D"})
    assert everyone.status_code == 200, everyone.text
    assert everyone.json() == expected

    some = await api.client.post(f"/api/flows/{flow['id']}/simulate", json={
        "contact_ids": ["c-anna"], "start": MAKE_RUN_START, "horizon": "P7D",
        "events": [e for e in events if e["contact"] == "c-anna"]})
    assert [run["contact"] for run in some.json()["runs"]] == ["c-anna"] * len(
        [r for r in expected["runs"] if r["contact"] == "c-anna"])


async def test_simulate_with_no_body_runs_over_nothing(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    response = await api.client.post(f"/api/flows/{flow['id']}/simulate")
    assert response.status_code == 200
    assert response.json()["runs"] == []


@pytest.mark.parametrize(("body", "words"), [
    ({"contacts": [{"id": "a", "colour": "red"}]}, "contacts[0]"),
    ({"contacts": [{"id": "a"}, {"email": "x@y"}]}, "contacts[1]"),
    ({"contacts": [], "contact_ids": []}, "not both"),
    ({"contact_ids": ["ghost"]}, "ghost"),
    ({"events": [{"contact": "a"}]}, "events[0]"),
    ({"events": [{"contact": "a", "name": "x", "at": "2026-01-01T09:00:00"}]}, "time zone"),
    ({"horizon": "forever"}, "horizon"),
    ({"start": "yesterday"}, "start"),
    ({"seed": "one"}, "seed"),
    ({"surprise": 1}, "surprise"),
    ({"segments": [{"key": "vip", "rule": {"nope": []}}]}, "segments[0]"),
    ([], "simulation request"),
])
async def test_simulate_rejects_bad_requests(api: Api, body: Any, words: str) -> None:
    flow = (await api.client.post("/api/flows", json=example("welcome_series"))).json()
    response = await api.client.post(f"/api/flows/{flow['id']}/simulate", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


async def test_simulate_names_an_undefined_segment(api: Api) -> None:
    document = copy.deepcopy(api_flow())
    document["nodes"].insert(1, {"id": "vip", "type": "segment_filter",
                                 "config": {"segment": "vip"}})
    document["edges"] = [{"from": "start", "to": "vip"},
                         {"from": "vip", "port": "yes", "to": "hello"}]
    flow = (await api.client.post("/api/flows", json=document)).json()
    assert flow["problems"] == []
    body: dict[str, Any] = {"contacts": [{"id": "a", "phone": "+12125550100",
                                          "attributes": {"v": 1}}],
                            "start": MAKE_RUN_START}
    missing = await api.client.post(f"/api/flows/{flow['id']}/simulate", json=body)
    assert missing.status_code == 400
    assert "vip" in missing.json()["error"]
    body["segments"] = [{"key": "vip", "rule": {"==": [{"var": "contact.attributes.v"}, 1]}}]
    given = await api.client.post(f"/api/flows/{flow['id']}/simulate", json=body)
    assert given.status_code == 200, given.text
    assert given.json()["messages"] == {"sms": 1}


async def test_simulating_a_draft_with_problems_is_422(api: Api) -> None:
    flow = (await api.client.post("/api/flows", json=broken_flow())).json()
    response = await api.client.post(f"/api/flows/{flow['id']}/simulate", json={})
    assert response.status_code == 422
    assert {p.get("node") for p in response.json()["problems"]} >= {"mystery"}


# --- node types -------------------------------------------------------------------------------


async def test_node_types_describe_the_catalogue(api: Api) -> None:
    body = (await api.client.get("/api/node-types")).json()
    assert body["next"] is None
    labels = {item["type"]: item["label"] for item in body["items"]}
    assert labels == {
        "trigger": "Trigger", "segment_filter": "Segment filter",
        "channel_choice": "Channel choice", "wait": "Wait", "send": "Send", "split": "Split",
        "update_contact": "Update contact", "exit": "Exit",
    }
    for item in body["items"]:
        assert {"type", "label", "description", "ports", "ports_from", "schema"} <= set(item)
        assert item["schema"]
