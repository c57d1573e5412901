"""Who is calling: API keys for machines (`Authorization: Bearer cf_...`), session cookies for
people. Every /api route needs one of them, except signing in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.status_codes import HTTP_200_OK, HTTP_401_UNAUTHORIZED

from backend.api import Db
from backend.api.errors import ApiError, convert, json_body, read_json
from backend.db import Database
from backend.security import (
    SESSION_LIFETIME,
    Caller,
    caller_for_api_key,
    caller_for_session,
    check_password,
    digest,
    end_session,
    start_session,
)
from backend.settings import Settings

SESSION_COOKIE = "castflow_session"
PUBLIC = {"exclude_from_auth": True}  # route `opt` for the few routes open to anyone
# Verified credentials are remembered in the process this long: looking a key up cost a query
# per request (2.7 ms of CPU on SQLite, a quarter of a small request). The price: a key deleted
# from the database, or a session ended or expired in ANOTHER process, keeps working here for
# up to this long (signing out in this process forgets the session at once).
CREDENTIAL_CACHE_SECONDS = 15.0
CREDENTIAL_CACHE_SIZE = 10_000


class CredentialCache:
    """digest of an API key or session token -> (Caller, monotonic expiry)."""

    def __init__(self, ttl: float = CREDENTIAL_CACHE_SECONDS,
                 size: int = CREDENTIAL_CACHE_SIZE) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[Caller, float]] = {}

    def get(self, secret: str) -> Caller | None:
        entry = self._entries.get(digest(secret))
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            self._entries.pop(digest(secret), None)
            return None
        return entry[0]

    def put(self, secret: str, caller: Caller) -> None:
        if len(self._entries) >= self.size:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[1] >= now}
            if len(self._entries) >= self.size:
                self._entries.clear()
        self._entries[digest(secret)] = (caller, time.monotonic() + self.ttl)

    def forget(self, secret: str) -> None:
        self._entries.pop(digest(secret), None)


credentials = CredentialCache()


class CallerAuthentication(AbstractAuthenticationMiddleware):
    """Finds the caller from an API key or a session cookie; 401 when there is neither."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        db: Database = connection.app.state.db
        now = datetime.now(UTC)
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _, key = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise NotAuthorizedException("Send the API key as 'Authorization: Bearer <key>'.")
            key = key.strip()
            caller = credentials.get(key)
            if caller is None:  # not cached (or expired there): ask the database
                caller = await caller_for_api_key(db, key, now)
                if caller is None:
                    raise NotAuthorizedException("The API key is not valid.")
                credentials.put(key, caller)
            return AuthenticationResult(user=caller, auth=None)
        token = connection.cookies.get(SESSION_COOKIE)
        if token:
            caller = credentials.get(token)
            if caller is None:
                caller = await caller_for_session(db, token, now)
                if caller is None:
                    raise NotAuthorizedException("Your session has ended; sign in again.")
                credentials.put(token, caller)
            return AuthenticationResult(user=caller, auth=token)
        raise NotAuthorizedException(
            "Sign in, or send an API key ('Authorization: Bearer <key>')."
        )


def provide_caller(request: Request[Caller, Any, Any]) -> Caller:
    return request.user


def provide_workspace(request: Request[Caller, Any, Any], db: Db) -> int:
    """The workspace the caller acts in: every query is scoped to it.

    It takes `db` only to come after it: Litestar resolves the dependencies of one level
    together in an anyio task group, which cost 0.2 ms a request (a third of storing an event);
    one dependency per level is resolved inline."""
    del db
    return request.user.workspace


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


def _session_cookie(settings: Settings, token: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value=token, path="/", max_age=max_age, httponly=True,
        samesite="lax", secure=settings.secure_cookies,
    )


def _me(caller: Caller) -> dict[str, Any]:
    user = {"id": caller.user, "email": caller.email} if caller.user is not None else None
    return {"workspace": caller.workspace, "user": user, "api_key": caller.api_key}


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/login", status_code=HTTP_200_OK, opt=PUBLIC,
          operation_class=json_body('{"email": "...", "password": "..."}'))
    async def login(
        self, request: Request[Any, Any, Any], state: State, db: Db
    ) -> Response[Any]:
        login = convert(await read_json(request), Login, "The sign-in request")
        user_id = await check_password(db, login.email, login.password)
        if user_id is None:
            raise ApiError(HTTP_401_UNAUTHORIZED, "Wrong email or password.")
        token, _ = await start_session(db, user_id, datetime.now(UTC))
        caller = await caller_for_session(db, token, datetime.now(UTC))
        assert caller is not None
        max_age = int(SESSION_LIFETIME.total_seconds())
        return Response(_me(caller), cookies=[_session_cookie(state.settings, token, max_age)])

    @post("/logout", status_code=HTTP_200_OK)
    async def logout(
        self, request: Request[Caller, Any, Any], state: State, db: Db
    ) -> Response[Any]:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            credentials.forget(token)
            await end_session(db, token)
        return Response({"signed_out": True},
                        cookies=[_session_cookie(state.settings, "", max_age=0)])

    @get("/me")
    async def me(self, caller: NamedDependency[Caller]) -> dict[str, Any]:
        return _me(caller)


# --- the sign-in page until the web app has its own ---------------------------------------------

LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Castflow</title>
<style>
  body { font-family: system-ui, sans-serif; display: grid; place-items: center;
         min-height: 100vh; margin: 0; background: #f5f6f8; }
  form { background: #fff; padding: 2rem; border-radius: 8px; width: 20rem;
         box-shadow: 0 1px 4px rgba(0, 0, 0, .1); display: grid; gap: .75rem; }
  h1 { margin: 0 0 .5rem; font-size: 1.25rem; }
  input, button { font: inherit; padding: .5rem; }
  #error { color: #b00020; min-height: 1.2em; margin: 0; }
</style>
</head>
<body>
<form id="login">
  <h1>Sign in to Castflow</h1>
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <label>Password
    <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
  <p id="error" role="alert"></p>
</form>
<script>
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("error");
  error.textContent = "";
  try {
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({email: form.get("email"), password: form.get("password")}),
    });
    if (response.ok) { window.location.assign("/"); return; }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.error || "Could not sign in.";
  } catch (e) {
    error.textContent = "The server cannot be reached.";
  }
});
</script>
</body>
</html>
"""


@get("/login", media_type="text/html", include_in_schema=False)
async def login_page() -> str:
    return LOGIN_PAGE
