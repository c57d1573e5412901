"""Verified API keys and sessions are remembered for a short while, then checked again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_api_support import Api, running_api

from backend.api import auth


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's monotonic clock, moved by the test."""
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    return now


async def test_a_deleted_key_works_until_the_cache_expires(api: Api, clock: list[float]) -> None:
    assert (await api.client.get("/api/auth/me")).status_code == 200
    api.sql("DELETE FROM api_keys")
    # Within the cache period the key is still taken (the documented price of the cache)...
    clock[0] += auth.CREDENTIAL_CACHE_SECONDS - 1
    assert (await api.client.get("/api/auth/me")).status_code == 200
    # ...after it, the database is asked again and says no.
    clock[0] += 2
    response = await api.client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"] == "The API key is not valid."


async def test_a_cached_key_is_not_renewed_by_use(api: Api, clock: list[float]) -> None:
    assert (await api.client.get("/api/auth/me")).status_code == 200
    api.sql("DELETE FROM api_keys")
    for _ in range(4):  # used every few seconds, it must still expire on time
        clock[0] += auth.CREDENTIAL_CACHE_SECONDS / 4 + 0.01
        await api.client.get("/api/auth/me")
    assert (await api.client.get("/api/auth/me")).status_code == 401


async def test_signing_out_forgets_the_session_at_once(api: Api, clock: list[float]) -> None:
    api.user("ada@example.com", "correct horse")
    login = await api.anonymous("POST", "/api/auth/login",
                                json={"email": "ada@example.com", "password": "correct horse"})
    assert login.status_code == 200
    assert (await api.anonymous("GET", "/api/auth/me")).status_code == 200
    assert (await api.anonymous("POST", "/api/auth/logout")).status_code == 200
    api.client.cookies.set("castflow_session", login.cookies["castflow_session"])
    assert (await api.anonymous("GET", "/api/auth/me")).status_code == 401


def test_the_cache_stays_bounded() -> None:
    cache = auth.CredentialCache(ttl=60, size=10)
    caller = auth.Caller(workspace=1, api_key=1)
    for n in range(25):
        cache.put(f"key-{n}", caller)
    assert len(cache._entries) <= 10
    assert cache.get("key-24") == caller
