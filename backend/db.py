"""Database engines from DATABASE_URL, bound to the piccolo tables.

SQLite (the default) runs in WAL mode with a busy timeout. piccolo's SQLite engine opens a new
connection (and aiosqlite thread) for every query outside a transaction and for every
transaction, which cost 2.4 ms each; `PooledSQLiteEngine` keeps them open instead: ONE writer
connection, serialised by an asyncio lock, runs every transaction and every statement that is not
a plain read, and a few reader connections run the reads (WAL lets them read while the writer
writes). Writes take an immediate transaction so two processes' writers queue instead of failing
half-way; processes take turns at it through file locks (`WriterQueue`). PostgreSQL uses a pool.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from string import Formatter
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiosqlite
import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

from backend.tables import ALL_TABLES

BUSY_TIMEOUT_SECONDS = 30.0
# Page cache per connection, in KiB (SQLite's default is 2 MiB): index pages of a growing
# events table stay in memory instead of being read back from the OS for each insert.
SQLITE_CACHE_KIB = 32 * 1024
SQLITE_READERS = 3  # reader connections per process; each is one aiosqlite thread

# Statements a reader connection may run: anything else (writes, DDL, PRAGMAs that change the
# file) goes to the writer, so it never waits in SQLite's busy handler behind our own writer.
_READS = ("select", "with")


T = TypeVar("T")


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
        return PooledSQLiteEngine(path=str(path), timeout=BUSY_TIMEOUT_SECONDS)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresEngine(config={"dsn": url})
    raise DatabaseUrlError(
        f"DATABASE_URL {url!r}: use sqlite:///file.db or postgresql://user:pass@host:port/db"
    )


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class WriterQueue:
    """Processes take turns at SQLite's write lock: exclusive `flock`s on `<database>.writer`,
    held around each write of this process, and `<database>.writer-turn`, held while waiting.

    A process that finds the lock taken waits for it in the kernel (in a thread), holding the
    turn; the holder, done and wanting to write again, must first take the turn, so it queues
    behind the waiter instead of taking the lock back at once. SQLite's own busy handler
    sleeps 1, 2, 5 ... 100 ms between tries: the worker slept through every gap between the
    API's back-to-back commits of events. SQLite's locking still decides (a process without
    this queue, such as the sqlite3 shell, waits in the busy handler as before). Uncontended,
    it costs three system calls."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}.writer"
        self._fds: tuple[int, int] | None = None
        # One waiting thread: this process's writers already take turns (`write_lock`).
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    def _files(self) -> tuple[int, int]:
        if self._fds is None:
            flags = os.O_RDWR | os.O_CREAT
            self._fds = (os.open(self.path, flags, 0o600),
                         os.open(f"{self.path}-turn", flags, 0o600))
        return self._fds

    async def acquire(self) -> None:
        lock, turn = self._files()
        if _try_flock(turn):
            got = _try_flock(lock)
            fcntl.flock(turn, fcntl.LOCK_UN)
            if got:
                return
        guard = threading.Lock()
        state = {"abandoned": False, "held": False}

        def wait() -> None:
            fcntl.flock(turn, fcntl.LOCK_EX)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            finally:
                fcntl.flock(turn, fcntl.LOCK_UN)
            with guard:
                if state["abandoned"]:  # the waiter gave up or was cancelled meanwhile
                    fcntl.flock(lock, fcntl.LOCK_UN)
                else:
                    state["held"] = True

        waiting = asyncio.get_running_loop().run_in_executor(self._waiter, wait)
        try:
            await asyncio.wait_for(waiting, BUSY_TIMEOUT_SECONDS)
        except BaseException as exc:
            with guard:
                if state["held"]:
                    fcntl.flock(lock, fcntl.LOCK_UN)
                state["abandoned"] = True
            if isinstance(exc, TimeoutError):
                raise sqlite3.OperationalError(
                    f"database is locked: no turn to write within {BUSY_TIMEOUT_SECONDS:.0f} s "
                    f"({self.path})") from None
            raise

    def release(self) -> None:
        if self._fds is not None:
            fcntl.flock(self._fds[0], fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None


class _WriterTransaction(SQLiteTransaction):
    """A transaction on the engine's one writer connection, held under its lock until the end.
    Nested transactions join the outer one (as piccolo's do)."""

    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self.engine.acquire_writer()
        try:
            self.connection = await self.engine.writer()
            await self.begin()  # type: ignore[no-untyped-call]
        except BaseException:
            self.engine.release_writer()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()  # type: ignore[no-untyped-call]
                except BaseException:
                    await self.engine.reset_writer()
                    raise
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine.release_writer()
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """piccolo's SQLite engine on long-lived connections (see the module docstring).

    Every connection runs `PRAGMA synchronous = NORMAL`: under WAL a commit then no longer waits
    for an fsync of the log (2.5 ms -> 0.03 ms a commit). The database cannot be corrupted by a
    crash of the process or of the machine; what a power loss or an OS crash can take is the last
    transactions committed before it (an application crash loses nothing). An event answered
    202 just before a power cut may therefore be lost; nothing already synced is.
    """

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.write_lock = asyncio.Lock()
        self.writer_queue = WriterQueue(path)
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []  # every reader opened
        self._idle: list[aiosqlite.Connection] = []  # readers not running a query now
        self._reader_freed = asyncio.Condition()

    async def _connect(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # A daemon thread: a process that exits without `Database.close()` must not hang on
        # it (SQLite survives a thread stopped mid-write, as it survives a crash).
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        for pragma in ("foreign_keys = 1", "synchronous = NORMAL",
                       f"busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}",
                       f"cache_size = -{SQLITE_CACHE_KIB}"):
            await connection.execute(f"PRAGMA {pragma}")
        return connection

    async def acquire_writer(self) -> None:
        """This process's turn to write (`write_lock`), then the machine's (`writer_queue`)."""
        await self.write_lock.acquire()
        try:
            await self.writer_queue.acquire()
        except BaseException:
            self.write_lock.release()
            raise

    def release_writer(self) -> None:
        self.writer_queue.release()
        self.write_lock.release()

    async def write_in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in one immediate transaction on the writer connection, run from
        BEGIN to COMMIT in the writer's thread. A transaction through `transaction()` comes
        back to the event loop after each statement, and holds SQLite's write lock meanwhile:
        in a busy API process (decoding batches of events) that was most of the lock's time,
        which the worker spent waiting for its turn. `work` must not touch asyncio."""
        await self.acquire_writer()
        try:
            writer = await self.writer()
            connection = writer._conn  # aiosqlite's own: its thread is the only one using it

            def transaction() -> T:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result

            result: T = await writer._execute(transaction)  # type: ignore[no-untyped-call]
            return result
        finally:
            self.release_writer()

    async def writer(self) -> aiosqlite.Connection:
        """The writer connection (call with `write_lock` held)."""
        if self._writer is None:
            self._writer = await self._connect()
        return self._writer

    async def reset_writer(self) -> None:
        """Drop the writer connection after a failed commit: it may still be inside its
        transaction, and the next one must start clean."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(sqlite3.Error, ValueError):
                await writer.close()

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._reader_freed:
            while not self._idle and len(self._readers) >= SQLITE_READERS:
                await self._reader_freed.wait()
            if self._idle:
                connection = self._idle.pop()
            else:
                connection = await self._connect()
                self._readers.append(connection)
        try:
            yield connection
        finally:
            async with self._reader_freed:
                self._idle.append(connection)
                self._reader_freed.notify()

    async def close(self) -> None:
        """Close every connection (the engine reopens them on next use)."""
        async with self.write_lock:
            await self.reset_writer()
            self.writer_queue.close()
        readers, self._readers, self._idle = self._readers, [], []
        for connection in readers:
            await connection.close()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _WriterTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """Outside a transaction: a read on a reader, anything else alone on the writer."""
        if query.lstrip()[:6].lower().startswith(_READS):
            async with self._reader() as connection:
                return await _fetch_all(connection, query, args)
        await self.acquire_writer()
        try:
            return await _fetch_all(await self.writer(), query, args)
        finally:
            self.release_writer()

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None,
        query_type: str = "generic", table: Any = None,
    ) -> Any:
        """Inside a transaction (piccolo would first repeat `PRAGMA foreign_keys` every time)."""
        return await _fetch_all(connection, query, args)


async def _fetch_all(connection: aiosqlite.Connection, query: str, args: list[Any] | None) -> Any:
    async with connection.execute(query, args or []) as cursor:
        return await cursor.fetchall()


@functools.lru_cache(maxsize=4096)
def _pieces(sql: str) -> tuple[str, ...]:
    """The text before each `{}` placeholder (and after the last), split as piccolo splits it."""
    return tuple(literal for literal, *_ in Formatter().parse(sql))


class _Compiled(QueryString):
    """A statement already in the driver's form: `run_querystring` runs it as it is."""

    def __init__(self, query: str, args: list[Any]) -> None:  # no piccolo argument processing
        self.template, self.args, self.columns = query, args, []
        self.query_type, self.table, self._alias = "generic", None, None
        self._frozen_compiled_strings = (query, args)


def _compiled(sql: str, args: tuple[Any, ...], sqlite: bool) -> QueryString:
    """`sql` with `{}` placeholders and plain values (never piccolo columns or nested queries),
    compiled for the driver exactly as piccolo's `QueryString(sql, *args)` compiles it, but from
    a cached split: piccolo's per-argument bundling cost more than the database's own work for
    statements with hundreds of arguments (2 ms of Python for a list of 500 ids)."""
    pieces = _pieces(sql)
    used = min(len(args), len(pieces))  # piccolo puts argument i after piece i
    if sqlite:
        query = "".join(f"{piece}?" for piece in pieces[:used])
    else:
        query = "".join(f"{piece}${index}" for index, piece in enumerate(pieces[:used], 1))
    return _Compiled(query + "".join(pieces[used:]), list(args[:used]))


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
        elif isinstance(self.engine, PooledSQLiteEngine):
            await self.engine.close()

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
        """Raw SQL with `{}` placeholders (piccolo turns them into ? or $n). Runs on this
        database's own engine, whichever engine the tables were bound to last."""
        results = await self.engine.run_querystring(_compiled(sql, args, self.is_sqlite))
        if not results:
            return []
        rows: list[dict[str, Any]] = self.engine.transform_response_to_dicts(results)
        return rows

    async def execute(self, sql: str, *args: Any) -> None:
        await self.fetch(sql, *args)


_ARRAY_TYPES = {"int": "bigint", "text": "text"}


def any_of(db: Database, column: str, kind: str) -> str:
    """The condition "`column` is one of the values of ONE `{}` parameter" (`list_param`);
    `kind`: int or text. A JSON text read by `json_each` on SQLite, a typed array on
    PostgreSQL: one parameter whatever the number of values, so the statement's text, and the
    plan the driver prepares and keeps for it, stays the same. With one placeholder per value
    every batch size was a new statement for PostgreSQL to parse and plan (the worker's contact
    lookup was its largest cost at 1,000 events/s)."""
    if db.is_sqlite:
        return f"{column} IN (SELECT value FROM json_each({{}}))"
    return f"{column} = ANY({{}}::{_ARRAY_TYPES[kind]}[])"


def list_param(db: Database, values: Iterable[Any]) -> Any:
    """The parameter for `any_of`: JSON text on SQLite, a list (an array) on PostgreSQL."""
    return msgspec.json.encode(list(values)).decode() if db.is_sqlite else list(values)


def driver_connection(db: Database) -> Any:
    """The driver's connection (aiosqlite or asyncpg) of the write transaction under way.

    Bulk statements go to it directly: building a statement through piccolo costs Python work
    per argument, more than the database's own work for thousands of rows.
    """
    transaction = db.engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk writes run inside db.write()")
    return transaction.connection


async def in_writer_thread(db: Database, work: Callable[[sqlite3.Connection], T]) -> T:
    """Inside a write transaction on SQLite: `work(connection)` in the writer's thread, its
    statements one after the other without a trip through the event loop between them."""
    connection = driver_connection(db)
    result: T = await connection._execute(work, connection._conn)
    return result


async def fresh_sqlite_ids(db: Database, table: str, count: int) -> list[int]:
    """`count` ids for new rows of `table` that no row of it ever had. Call in a write.

    SQLite gives a new row MAX(id) + 1, so deleting the newest rows gave their ids again; but
    ids outlive rows: message keys are built from run ids, and a worker keeps compiled plans
    by version id. A counter per table (`id_counters`, migration 0012) only goes up; MAX(id)
    covers rows written before it existed. PostgreSQL's sequences never go back."""
    bump = (f"UPDATE id_counters SET value = max(value, (SELECT COALESCE(MAX(id), 0) "
            f"FROM {table})) + {{}} WHERE name = '{table}' RETURNING value")
    rows = await db.fetch(bump, count)
    if not rows:  # the table's first id since the counter exists
        await db.execute(f"INSERT OR IGNORE INTO id_counters (name, value) VALUES ('{table}', 0)")
        rows = await db.fetch(bump, count)
    top = int(rows[0]["value"]) - count
    return list(range(top + 1, top + 1 + count))


async def id_for_insert(db: Database, table: str) -> tuple[str, str, list[int]]:
    """For an INSERT of one row into `table`: the id column, its placeholder and its value
    (`fresh_sqlite_ids`), to put before the other columns; all empty on PostgreSQL, where the
    column's sequence gives it."""
    if not db.is_sqlite:
        return "", "", []
    return "id, ", "{}, ", await fresh_sqlite_ids(db, table, 1)
