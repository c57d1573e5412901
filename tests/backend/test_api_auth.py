"""Every /api route needs an API key or a session; people sign in and out with a cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_api_support import Api, running_api

ROUTES = [
    ("GET", "/api/flows"), ("POST", "/api/flows"), ("GET", "/api/flows/1"),
    ("PUT", "/api/flows/1"), ("DELETE", "/api/flows/1"), ("POST", "/api/flows/import"),
    ("GET", "/api/flows/1/export"), ("POST", "/api/flows/1/publish"),
    ("POST", "/api/flows/1/pause"), ("POST", "/api/flows/1/resume"),
    ("POST", "/api/flows/1/enrol"), ("POST", "/api/flows/1/simulate"),
    ("GET", "/api/flows/1/stats"), ("GET", "/api/node-types"), ("GET", "/api/contacts"),
    ("POST", "/api/contacts"), ("GET", "/api/contacts/c-1"), ("POST", "/api/events"),
    ("GET", "/api/messages"), ("GET", "/api/auth/me"), ("POST", "/api/auth/logout"),
]


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


async def test_every_api_route_needs_credentials(api: Api) -> None:
    for method, path in ROUTES:
        response = await api.anonymous(method, path, json={"name": "x"})
        assert response.status_code == 401, (method, path)
        body = response.json()
        assert "API key" in body["error"], (method, path)
    assert api.sql("SELECT COUNT(*) AS n FROM flows")[0]["n"] == 0


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwdw==", "cf_abc",
                                    "Bearer cf_not-a-real-key", "Bearer not-even-the-prefix",
                                    "Token whatever"])
async def test_a_bad_authorization_header_is_401(api: Api, header: str) -> None:
    response = await api.client.get("/api/flows", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]


async def test_an_api_key_works(api: Api) -> None:
    response = await api.client.get("/api/auth/me")
    assert response.status_code == 200
    me = response.json()
    assert me["user"] is None
    assert isinstance(me["api_key"], int)
    lower = await api.client.get("/api/flows", headers={"Authorization": f"bearer {api.key}"})
    assert lower.status_code == 200


async def test_sign_in_session_and_sign_out(api: Api) -> None:
    user = api.user("ada@example.com", "correct horse")
    response = await api.anonymous("POST", "/api/auth/login",
                                   json={"email": "Ada@Example.com", "password": "correct horse"})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == {"id": user, "email": "ada@example.com"}
    cookie = response.headers["set-cookie"]
    assert "castflow_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=1209600" in cookie
    assert "Secure" not in cookie

    me = await api.anonymous("GET", "/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "ada@example.com"
    assert (await api.anonymous("GET", "/api/flows")).status_code == 200

    out = await api.anonymous("POST", "/api/auth/logout")
    assert out.status_code == 200
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert (await api.anonymous("GET", "/api/auth/me")).status_code == 401
    assert api.sql("SELECT COUNT(*) AS n FROM sessions")[0]["n"] == 0


async def test_a_stale_session_cookie_is_401(api: Api) -> None:
    api.client.cookies.set("castflow_session", "made-up-token")
    response = await api.anonymous("GET", "/api/flows")
    assert response.status_code == 401
    assert "sign in again" in response.json()["error"]


@pytest.mark.parametrize(("email", "password"), [
    ("ada@example.com", "wrong horse"),
    ("bob@example.com", "correct horse"),
    ("ada@example.com", ""),
])
async def test_wrong_credentials_are_401_without_a_cookie(
    api: Api, email: str, password: str
) -> None:
    api.user("ada@example.com", "correct horse")
    response = await api.anonymous("POST", "/api/auth/login",
                                   json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json() == {"error": "Wrong email or password."}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"email": "a@b.c"}',
                                  b'{"email": 1, "password": "x"}',
                                  b'{"email": "a@b.c", "password": "x", "remember": true}'])
async def test_a_malformed_sign_in_is_400(api: Api, body: bytes) -> None:
    response = await api.anonymous("POST", "/api/auth/login", content=body,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]


async def test_secure_cookies_when_asked(database_url: str, tmp_path: Path) -> None:
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from backend.api.app import create_app
    from backend.runtime.queue import RecordingQueue

    async with running_api(database_url, tmp_path) as first:
        first.user("ada@example.com", "correct horse")
        settings = replace(first.app.state.settings, secure_cookies=True)
    app = create_app(settings, queue=RecordingQueue())
    async with AsyncTestClient(app) as client:
        response = await client.post("/api/auth/login", json={
            "email": "ada@example.com", "password": "correct horse"})
        assert response.status_code == 200
        assert "Secure" in response.headers["set-cookie"]


async def test_the_schema_is_open(api: Api) -> None:
    schema = await api.anonymous("GET", "/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/flows", "/api/flows/{flow_id}", "/api/contacts", "/api/events",
            "/api/messages", "/api/node-types", "/api/auth/login"} <= set(paths)
    assert "requestBody" in paths["/api/flows"]["post"]
