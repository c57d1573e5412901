"""Accounts and credentials: users with argon2 passwords, API keys, login sessions.

Secrets never reach the database as they are: passwords are argon2 hashes; API keys and session
tokens are long random strings, so a sha256 of them is enough to look them up safely.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.db import Database
from backend.workspace import default_workspace

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320
MAX_KEY_NAME_LENGTH = 200
API_KEY_START = "cf_"
SESSION_LIFETIME = timedelta(days=14)
# How stale `api_keys.last_used_at` may get: refreshing it on every request would turn every
# read into a write.
LAST_USED_PRECISION = timedelta(minutes=5)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown: a wrong email takes as long as a wrong
    password, so sign-in does not tell which emails have accounts."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """Something the person can fix (an email already taken, a short password...)."""


class UserExists(AccountError):
    """The email address belongs to a user already."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a signed-in person or an API key, and the workspace they act in."""

    workspace: int
    user: int | None = None
    email: str | None = None
    api_key: int | None = None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_new_account(email: str, password: str) -> None:
    local, at, domain = email.partition("@")
    if not at or not local or not domain or not email.isprintable() or " " in email:
        raise AccountError(f"{email!r} is not an email address")
    if len(email) > MAX_EMAIL_LENGTH:
        raise AccountError(f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} "
                           "characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")


async def create_user(db: Database, email: str, password: str) -> int:
    """A person who can sign in, in the default workspace; returns the user id."""
    email = normalise_email(email)
    _check_new_account(email, password)
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    workspace = await default_workspace(db)
    async with db.write():
        rows = await db.fetch(
            "INSERT INTO users (workspace, email, password_hash, created_at) "
            "VALUES ({}, {}, {}, {}) ON CONFLICT (email) DO NOTHING RETURNING id",
            workspace, email, password_hash, datetime.now(UTC),
        )
    if not rows:
        raise UserExists(f"a user with the email {email} already exists")
    return int(rows[0]["id"])


async def check_password(db: Database, email: str, password: str) -> int | None:
    """The user id when the email and password match, else None."""
    rows = await db.fetch(
        "SELECT id, password_hash FROM users WHERE email = {}", normalise_email(email)
    )
    stored = rows[0]["password_hash"] if rows else _dummy_hash()
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if not rows:
        return None
    user_id = int(rows[0]["id"])
    if _hasher.check_needs_rehash(stored):  # the hashing parameters were raised since
        new_hash = await asyncio.to_thread(_hasher.hash, password)
        await db.execute("UPDATE users SET password_hash = {} WHERE id = {}", new_hash, user_id)
    return user_id


async def create_api_key(db: Database, name: str) -> str:
    """A new API key for the default workspace. The key is shown only now; we keep its hash."""
    name = name.strip()
    if not name:
        raise AccountError("give the API key a name (what or who uses it)")
    if not name.isprintable():
        raise AccountError("an API key name is plain text on one line")
    if len(name) > MAX_KEY_NAME_LENGTH:
        raise AccountError(f"an API key name has at most {MAX_KEY_NAME_LENGTH} characters")
    key = API_KEY_START + secrets.token_urlsafe(32)
    workspace = await default_workspace(db)
    async with db.write():
        await db.execute(
            "INSERT INTO api_keys (workspace, name, prefix, key_hash, created_at) "
            "VALUES ({}, {}, {}, {}, {})",
            workspace, name, key[:len(API_KEY_START) + 8], digest(key), datetime.now(UTC),
        )
    return key


async def caller_for_api_key(db: Database, key: str, now: datetime) -> Caller | None:
    if not key.startswith(API_KEY_START):
        return None
    rows = await db.fetch(
        "SELECT id, workspace, last_used_at FROM api_keys WHERE key_hash = {}", digest(key)
    )
    if not rows:
        return None
    row = rows[0]
    last_used: datetime | None = row["last_used_at"]
    if last_used is None or now - last_used > LAST_USED_PRECISION:
        await db.execute("UPDATE api_keys SET last_used_at = {} WHERE id = {}", now, row["id"])
    return Caller(workspace=int(row["workspace"]), api_key=int(row["id"]))


async def start_session(db: Database, user_id: int, now: datetime) -> tuple[str, datetime]:
    """A new session for the user: (token for the cookie, when it expires)."""
    token = secrets.token_urlsafe(32)
    expires_at = now + SESSION_LIFETIME
    async with db.write():
        await db.execute("DELETE FROM sessions WHERE expires_at < {}", now)
        await db.execute(
            'INSERT INTO sessions (token_hash, "user", created_at, expires_at) '
            "VALUES ({}, {}, {}, {})",
            digest(token), user_id, now, expires_at,
        )
    return token, expires_at


async def caller_for_session(db: Database, token: str, now: datetime) -> Caller | None:
    rows = await db.fetch(
        'SELECT users.id, users.email, users.workspace FROM sessions '
        'JOIN users ON users.id = sessions."user" '
        "WHERE sessions.token_hash = {} AND sessions.expires_at > {}",
        digest(token), now,
    )
    if not rows:
        return None
    row = rows[0]
    return Caller(workspace=int(row["workspace"]), user=int(row["id"]), email=row["email"])


async def end_session(db: Database, token: str) -> None:
    await db.execute("DELETE FROM sessions WHERE token_hash = {}", digest(token))
