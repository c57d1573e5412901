"""What the API tests share: a running app on a fresh database, with an API key.

Litestar's test client runs the app (lifespan and requests) on an event loop of its own, in a
thread; `Api.call` runs database work for a test on that same loop, where the app's connection
pool lives. (Helpers are imported by the API test modules; this module holds no tests.)
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.api.app import create_app
from backend.db import Database
from backend.migrations import migrate
from backend.runtime.queue import RecordingQueue
from backend.security import create_api_key, create_user
from backend.settings import Settings

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "flows" / "examples"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return document


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Api:
    app: Litestar
    client: AsyncTestClient[Litestar]
    queue: RecordingQueue
    key: str

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    def call(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run `await function(*args, **kwargs)` on the app's event loop."""
        portal = self.client.blocking_portal
        return portal.call(functools.partial(function, *args, **kwargs))

    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        return self.call(self.db.fetch, query, *args)

    def user(self, email: str = "ada@example.com", password: str = "correct horse") -> int:
        return self.call(create_user, self.db, email, password)

    async def anonymous(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request without the API key (cookies still apply)."""
        request = self.client.build_request(method, url, **kwargs)
        del request.headers["authorization"]
        return await self.client.send(request)


def without_provider_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider URLs, secret key or public URL from the machine's environment: each test
    sets what it needs (environment settings take precedence over the workspace's)."""
    for channel in ("EMAIL", "SMS", "VOICE", "CHAT", "PUSH"):
        monkeypatch.delenv(f"CASTFLOW_{channel}_URL", raising=False)
    for name in ("CASTFLOW_SECRET_KEY", "CASTFLOW_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def running_api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    db = Database(database_url)
    await db.start()
    try:
        await migrate(db)
    finally:
        await db.close()
    settings = Settings(database_url=database_url, redis_url=None, var_dir=tmp_path / "var")
    queue = RecordingQueue()
    app = create_app(settings, queue=queue)
    async with AsyncTestClient(app) as client:
        key = client.blocking_portal.call(create_api_key, app.state.db, "tests")
        client.headers["Authorization"] = f"Bearer {key}"
        yield Api(app, client, queue, key)
