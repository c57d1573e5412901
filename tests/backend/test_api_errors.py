"""No bad input gets a 500 or a traceback: every answer to a bad request is a 4xx with a JSON body
that says what is wrong. Also: unexpected failures, unknown routes, and the web app's pages."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from test_api_support import Api, example, running_api

from backend.api import app as app_module
from backend.api.app import create_app
from backend.runtime.queue import RecordingQueue
from backend.store import flows as flow_store


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


BAD_BODIES: list[bytes] = [
    b"", b" ", b"{", b"[", b"}", b"null", b"0", b"-1", b"true", b'"text"', b"[]", b"{}",
    b"[null]", b"[[]]", b"[{}]", b'{"a":', b"\xff\xfe\x00", b"\x00", b"NaN", b"1e999",
    b"[" * 5000 + b"]" * 5000, b'{"x": ' * 3000 + b"1" + b"}" * 3000,
    b'{"name": "\\u0000"}', b'{"id": "a\\u0000b"}', b'{"name": "\\ud800"}',
    b'{"id": 99999999999999999999999999}', b'{"name": 1e999}',
    b'{"id": "c", "attributes": {"big": 123456789012345678901234567890}}',
    b'{"id": "c", "email": ["x"]}', b'{"contact": "c", "name": "n", "at": 5}',
    b'{"contact": "c", "name": "n", "at": "2026-02-30T00:00:00Z"}',
    b'{"contacts": [null]}', b'{"contacts": [' + b'"c",' * 10 + b'"c"]}',
    b'{"email": "a@b.c", "password": null}', b'{"email": "a@b.c", "password": 12345678}',
    b'{"name": "x", "nodes": {}, "edges": "none", "format": "castflow.flow/1"}',
    b'{"format": "castflow.flow/1", "name": "x", "nodes": [null, 1, "a"], "edges": [null]}',
    b'{"format": "castflow.flow/1", "name": "x", "nodes": [{"id": "t", "type": "trigger", '
    b'"config": {"on": "api", "where": {"var": ' + b"[" * 400 + b"]" * 400 + b'}}}], "edges": []}',
    b'{"format": "castflow.flow/1", "name": "x", "nodes": [{"id": "t", "type": "wait", '
    b'"config": {"for": "P99999999Y"}}], "edges": []}',
    b'{"horizon": "P99999Y"}', b'{"start": "0001-01-01T00:00:00Z", "horizon": "-P1D"}',
    b'{"start": "9999-12-31T23:59:59Z", "horizon": "P1D"}', b'{"seed": 1e400}',
    b'{"seed": 99999999999999999999999}', b'{"contact_ids": ["' + b"x" * 5000 + b'"]}',
    json.dumps({"name": "x" * 100_000}).encode(),
    json.dumps([{"id": f"c-{n}", "phone": "9" * 33} for n in range(3)]).encode(),
]

ROUTES = [
    ("POST", "/api/flows"), ("PUT", "/api/flows/{flow}"), ("POST", "/api/flows/import"),
    ("POST", "/api/flows/{flow}/simulate"), ("POST", "/api/flows/{flow}/enrol"),
    ("POST", "/api/flows/{flow}/publish"), ("POST", "/api/contacts"), ("POST", "/api/events"),
    ("POST", "/api/auth/login"),
]


async def test_no_bad_body_gets_a_500(api: Api) -> None:
    flow = (await api.client.post("/api/flows/import", json=example("welcome_series"))).json()
    for method, template in ROUTES:
        path = template.format(flow=flow["id"])
        for body in BAD_BODIES:
            response = await api.client.request(
                method, path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code < 500, (method, path, body[:80], response.text)
            if response.status_code >= 400:
                assert response.json()["error"], (method, path, body[:80])
                assert "Traceback" not in response.text


BAD_QUERIES = [
    "/api/flows?limit=", "/api/flows?limit=%00", "/api/flows?limit=1e3", "/api/flows?cursor=%FF",
    "/api/flows?cursor=" + "A" * 5000, "/api/flows?limit=99999999999999999999999",
    "/api/flows/4294967296", "/api/flows/2147483648/export", "/api/flows/%00",
    "/api/contacts?q=%00", "/api/contacts?q=%25%5F%5C", "/api/contacts/%00",
    "/api/contacts/" + "x" * 3000, "/api/contacts/%F0%9F%98%80", "/api/contacts/a%2Fb",
    "/api/messages?flow=-1", "/api/messages?flow=2147483648", "/api/messages?contact=%00",
    "/api/messages?status=&channel=", "/api/nope", "/api/flows/1/nope", "/nope/../api/flows",
]


async def test_no_bad_query_or_path_gets_a_500(api: Api) -> None:
    for path in BAD_QUERIES:
        response = await api.client.get(path)
        assert response.status_code < 500, (path, response.text)
        if response.status_code >= 400:
            assert response.json()["error"], path


async def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    missing = await api.client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "There is nothing at this address."}
    wrong = await api.client.patch("/api/flows")
    assert wrong.status_code == 405
    assert "PATCH" in wrong.json()["error"]


async def test_an_unexpected_failure_is_a_500_without_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(flow_store, "list_page", explode)
    with caplog.at_level(logging.ERROR, logger="castflow.api"):
        response = await api.client.get("/api/flows")
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong on the server; it has been logged."}
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text  # the operator sees it in the log


async def test_nothing_is_stored_by_a_refused_write(api: Api) -> None:
    def count(table: str) -> int:
        return int(api.sql(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])

    for path, table in (("/api/contacts", "contacts"), ("/api/events", "events"),
                        ("/api/flows/import", "flows"), ("/api/flows", "flows")):
        for body in BAD_BODIES:
            before = count(table)
            response = await api.client.post(path, content=body)
            if response.status_code >= 400:
                assert count(table) == before, (path, body[:80])


# --- pages ------------------------------------------------------------------------------------


async def test_without_a_build_the_root_explains_and_login_is_served(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "ROOT", tmp_path / "unbuilt")
    async with running_api(database_url, tmp_path) as api:
        root = await api.anonymous("GET", "/")
        assert root.status_code == 200
        assert "not built" in root.text
        login = await api.anonymous("GET", "/login")
        assert login.status_code == 200
        assert "text/html" in login.headers["content-type"]
        assert "/api/auth/login" in login.text


async def test_the_built_web_app_is_served_with_deep_links(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "site" / "frontend" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app-1234.js").write_text("console.log('castflow')")
    (tmp_path / "site" / "secret.txt").write_text("not for the web")
    monkeypatch.setattr(app_module, "ROOT", tmp_path / "site")
    async with running_api(database_url, tmp_path) as api:
        assert api.app  # the running app above migrated the database
    app = create_app(api.app.state.settings, queue=RecordingQueue())
    async with AsyncTestClient(app) as client:
        index = await client.get("/")
        assert index.status_code == 200
        assert "id=root" in index.text
        for deep in ("/flows/12", "/contacts/c-1/timeline", "/login"):
            page = await client.get(deep)
            assert page.status_code == 200, deep
            assert "id=root" in page.text
        asset = await client.get("/assets/app-1234.js")
        assert asset.text == "console.log('castflow')"
        assert "immutable" in asset.headers["cache-control"]
        escape = await client.get("/%2E%2E/secret.txt")
        assert "not for the web" not in escape.text
        api_missing = await client.get("/api/nothing-here")
        assert api_missing.status_code in (401, 404)
        assert api_missing.json()["error"]
        assert (await client.get("/api/flows")).status_code == 401
        assert (await client.get("/schema/openapi.json")).json()["info"]["title"] == "Castflow"


async def test_without_a_queue_the_app_uses_arq_on_the_settings_redis(
    database_url: str, tmp_path: Path
) -> None:
    from dataclasses import replace

    from backend.runtime.queue import ArqQueue

    async with running_api(database_url, tmp_path) as api:
        settings = replace(api.app.state.settings, redis_url="redis://127.0.0.1:9/0",
                           redis_prefix="castflow-test")
    app = create_app(settings)
    async with AsyncTestClient(app) as client:
        queue = app.state.queue
        assert isinstance(queue, ArqQueue)
        assert queue.url == "redis://127.0.0.1:9/0"
        assert queue.prefix == "castflow-test"
        assert (await client.get("/api/flows")).status_code == 401  # no Redis needed to answer
