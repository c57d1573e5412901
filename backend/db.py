"""Database engines from DATABASE_URL, bound to the piccolo tables.

SQLite (the default) runs in WAL mode with a busy timeout, and writes take an immediate
transaction so two writers queue instead of failing half-way; PostgreSQL uses a pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from backend.tables import ALL_TABLES

BUSY_TIMEOUT_SECONDS = 30.0


class DatabaseUrlError(ValueError):
    pass


def engine_for(url: str) -> Engine[Any]:
    """`sqlite:///relative.db`, `sqlite:////absolute/path.db` or `postgresql://user:pass@h:p/db`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = unquote(url[len("sqlite://"):])
        if not raw.startswith("/") or raw == "/":
            raise DatabaseUrlError(
                f"DATABASE_URL {url!r}: write sqlite:///relative.db or sqlite:////absolute.db"
            )
        path = Path(raw[1:]).resolve()  # "/rel.db" -> rel.db (cwd); "//abs.db" -> /abs.db
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=BUSY_TIMEOUT_SECONDS)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresEngine(config={"dsn": url})
    raise DatabaseUrlError(
        f"DATABASE_URL {url!r}: use sqlite:///file.db or postgresql://user:pass@host:port/db"
    )


class Database:
    """The connected database: one engine, bound to every table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        self.is_sqlite = isinstance(self.engine, SQLiteEngine)
        for table in ALL_TABLES:
            table._meta.db = self.engine

    async def start(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool(min_size=1, max_size=10)

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.close_connection_pool()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """A write transaction (IMMEDIATE on SQLite: take the write lock up front)."""
        if isinstance(self.engine, SQLiteEngine):
            async with self.engine.transaction(transaction_type=TransactionType.immediate):
                yield
        else:
            async with self.engine.transaction():
                yield

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Raw SQL with `{}` placeholders (piccolo turns them into ? or $n)."""
        rows: list[dict[str, Any]] = await ALL_TABLES[0].raw(sql, *args).run()
        return rows

    async def execute(self, sql: str, *args: Any) -> None:
        await ALL_TABLES[0].raw(sql, *args).run()
