"""Accounts and credentials on both databases: users, API keys, sessions, the default workspace."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from backend.db import Database
from backend.security import (
    SESSION_LIFETIME,
    AccountError,
    UserExists,
    caller_for_api_key,
    caller_for_session,
    check_password,
    create_api_key,
    create_user,
    end_session,
    start_session,
)
from backend.workspace import default_workspace

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


async def test_the_default_workspace_is_created_once(database: Database) -> None:
    first = await default_workspace(database)
    assert await default_workspace(database) == first
    rows = await database.fetch("SELECT name FROM workspaces")
    assert rows == [{"name": "Default"}]


async def test_the_default_workspace_is_created_once_under_concurrency(
    database: Database,
) -> None:
    ids = await asyncio.gather(*(default_workspace(database) for _ in range(8)))
    assert len(set(ids)) == 1
    count = await database.fetch("SELECT COUNT(*) AS n FROM workspaces")
    assert count[0]["n"] == 1


async def test_a_user_signs_in_with_the_right_password_only(database: Database) -> None:
    user = await create_user(database, "  Ada@Example.com ", "correct horse")
    stored = await database.fetch("SELECT email, password_hash, workspace FROM users")
    assert stored[0]["email"] == "ada@example.com"
    assert stored[0]["password_hash"].startswith("$argon2")
    assert "correct horse" not in stored[0]["password_hash"]
    assert stored[0]["workspace"] == await default_workspace(database)
    assert await check_password(database, "ADA@example.com", "correct horse") == user
    assert await check_password(database, "ada@example.com", "wrong horse") is None
    assert await check_password(database, "bob@example.com", "correct horse") is None


@pytest.mark.parametrize(("email", "password", "words"), [
    ("ada@example.com", "short", "at least 8"),
    ("not-an-email", "long enough", "not an email"),
    ("ada @example.com", "long enough", "not an email"),
    ("@example.com", "long enough", "not an email"),
    ("ada@example.com", "x" * 2000, "too long"),
])
async def test_bad_accounts_are_refused_in_plain_words(
    database: Database, email: str, password: str, words: str
) -> None:
    with pytest.raises(AccountError, match=words):
        await create_user(database, email, password)
    assert await database.fetch("SELECT id FROM users") == []


async def test_an_email_is_taken_once(database: Database) -> None:
    await create_user(database, "ada@example.com", "correct horse")
    with pytest.raises(UserExists, match="already exists"):
        await create_user(database, "ADA@example.com", "another horse")


async def test_api_keys_are_shown_once_and_stored_hashed(database: Database) -> None:
    key = await create_api_key(database, "  shop backend ")
    assert key.startswith("cf_")
    assert len(key) > 40
    rows = await database.fetch("SELECT name, prefix, key_hash FROM api_keys")
    assert rows == [{"name": "shop backend", "prefix": key[:11],
                     "key_hash": hashlib.sha256(key.encode()).hexdigest()}]
    caller = await caller_for_api_key(database, key, NOW)
    assert caller is not None
    assert caller.workspace == await default_workspace(database)
    assert caller.user is None
    assert await caller_for_api_key(database, key + "x", NOW) is None
    assert await caller_for_api_key(database, "not-a-key", NOW) is None
    assert (await create_api_key(database, "second")) != key


async def test_an_api_key_records_when_it_was_last_used(database: Database) -> None:
    key = await create_api_key(database, "tests")
    await caller_for_api_key(database, key, NOW)
    used = await database.fetch("SELECT last_used_at FROM api_keys")
    assert used[0]["last_used_at"] == NOW
    await caller_for_api_key(database, key, NOW + timedelta(seconds=5))  # not worth a write
    assert (await database.fetch("SELECT last_used_at FROM api_keys"))[0]["last_used_at"] == NOW


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_an_api_key_needs_a_sensible_name(database: Database, name: str) -> None:
    with pytest.raises(AccountError):
        await create_api_key(database, name)


async def test_sessions_last_fourteen_days_and_end_on_logout(database: Database) -> None:
    user = await create_user(database, "ada@example.com", "correct horse")
    token, expires = await start_session(database, user, NOW)
    assert expires == NOW + SESSION_LIFETIME == NOW + timedelta(days=14)
    stored = await database.fetch("SELECT token_hash FROM sessions")
    assert stored == [{"token_hash": hashlib.sha256(token.encode()).hexdigest()}]
    caller = await caller_for_session(database, token, NOW + timedelta(days=13))
    assert caller is not None
    assert (caller.user, caller.email) == (user, "ada@example.com")
    assert await caller_for_session(database, token, NOW + timedelta(days=15)) is None
    assert await caller_for_session(database, "made-up", NOW) is None
    await end_session(database, token)
    assert await caller_for_session(database, token, NOW) is None


async def test_expired_sessions_are_cleared_at_the_next_sign_in(database: Database) -> None:
    user = await create_user(database, "ada@example.com", "correct horse")
    await start_session(database, user, NOW)
    await start_session(database, user, NOW + timedelta(days=30))
    assert len(await database.fetch("SELECT id FROM sessions")) == 1
