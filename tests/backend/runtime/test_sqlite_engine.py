"""SQLite on long-lived connections: one writer under a lock, readers beside it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from backend.db import Database, PooledSQLiteEngine, WriterQueue


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'pool.db'}")
    await database.start()
    await database.execute("PRAGMA journal_mode = WAL")
    await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return database


async def test_connections_are_kept_and_commits_do_not_fsync(db: Database) -> None:
    engine = db.engine
    assert isinstance(engine, PooledSQLiteEngine)
    await db.fetch("SELECT 1 AS one")
    await db.fetch("SELECT 1 AS one")
    assert len(engine._readers) == 1  # the same reader served both reads
    async with db.write():
        await db.execute("INSERT INTO t (v) VALUES ({})", "a")
    writer = await engine.writer()
    async with db.write():
        await db.execute("INSERT INTO t (v) VALUES ({})", "b")
    assert await engine.writer() is writer
    for pragma, expected in (("synchronous", 1), ("foreign_keys", 1)):  # 1 = NORMAL, on
        assert (await db.fetch(f"PRAGMA {pragma}"))[0][pragma] == expected
    await db.close()


async def test_write_transactions_of_one_process_take_turns(db: Database) -> None:
    async def add(n: int) -> None:
        async with db.write():
            rows = await db.fetch("SELECT COUNT(*) AS n FROM t")
            await asyncio.sleep(0.001)  # another task's transaction would interleave here
            await db.execute("INSERT INTO t (id, v) VALUES ({}, {})", rows[0]["n"] + 1, str(n))

    await asyncio.gather(*(add(n) for n in range(30)))
    assert (await db.fetch("SELECT COUNT(*) AS n FROM t"))[0]["n"] == 30
    await db.close()


async def test_readers_see_committed_rows_only_while_a_write_is_open(db: Database) -> None:
    await db.execute("INSERT INTO t (v) VALUES ({})", "kept")
    entered, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.write():
            await db.execute("INSERT INTO t (v) VALUES ({})", "pending")
            entered.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await entered.wait()
    # Reads do not wait for the open transaction, and do not see it.
    assert [r["v"] for r in await db.fetch("SELECT v FROM t ORDER BY id")] == ["kept"]
    release.set()
    await task
    assert [r["v"] for r in await db.fetch("SELECT v FROM t ORDER BY id")] == ["kept", "pending"]
    await db.close()


async def test_a_failed_transaction_rolls_back_and_the_next_one_works(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write():
            await db.execute("INSERT INTO t (v) VALUES ({})", "lost")
            raise RuntimeError("boom")
    with pytest.raises(Exception, match="UNIQUE"):
        async with db.write():
            await db.execute("INSERT INTO t (id, v) VALUES (1, 'x')")
            await db.execute("INSERT INTO t (id, v) VALUES (1, 'y')")
    async with db.write(), db.write():  # nested: joins the outer transaction
        await db.execute("INSERT INTO t (v) VALUES ({})", "kept")
    assert [r["v"] for r in await db.fetch("SELECT v FROM t")] == ["kept"]
    await db.close()


async def test_a_write_outside_a_transaction_waits_for_the_writer(db: Database) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.write():
            await db.execute("INSERT INTO t (id, v) VALUES (1, 'first')")
            entered.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await entered.wait()
    alone = asyncio.create_task(db.execute("INSERT INTO t (id, v) VALUES (2, 'second')"))
    await asyncio.sleep(0.05)
    assert not alone.done()  # queued behind the open transaction, not failing in busy waits
    release.set()
    await asyncio.gather(task, alone)
    assert [r["v"] for r in await db.fetch("SELECT v FROM t ORDER BY id")] == ["first", "second"]
    await db.close()


# --- processes take turns at SQLite's write lock (two queues on one file stand for two processes)


async def test_a_process_writing_again_queues_behind_the_one_waiting(tmp_path: Path) -> None:
    path = str(tmp_path / "turns.db")
    api, worker = WriterQueue(path), WriterQueue(path)
    await api.acquire()
    worker_turn = asyncio.create_task(worker.acquire())
    await asyncio.sleep(0.1)
    assert not worker_turn.done()  # waiting in the kernel, holding the turn
    api.release()
    api_again = asyncio.create_task(api.acquire())  # the API's next commit, at once
    await asyncio.wait_for(worker_turn, 2)  # the worker goes first
    await asyncio.sleep(0.1)
    assert not api_again.done()
    worker.release()
    await asyncio.wait_for(api_again, 2)
    api.release()


async def test_a_waiter_gives_up_after_the_busy_timeout_and_leaves_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.db.BUSY_TIMEOUT_SECONDS", 0.2)
    path = str(tmp_path / "stuck.db")
    holder, waiter = WriterQueue(path), WriterQueue(path)
    await holder.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await waiter.acquire()
    cancelled = asyncio.create_task(waiter.acquire())  # gives up another way: cancelled
    await asyncio.sleep(0.05)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    holder.release()
    await asyncio.sleep(0.1)  # the abandoned waits take the lock and let it go at once
    await asyncio.wait_for(holder.acquire(), 1)
    holder.release()
    await asyncio.wait_for(waiter.acquire(), 1)
    waiter.release()


async def test_a_write_in_the_writers_thread_is_one_transaction(db: Database) -> None:
    engine = db.engine
    assert isinstance(engine, PooledSQLiteEngine)

    def add_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t (v) VALUES ('lost')")
        raise ValueError("half-way")

    with pytest.raises(ValueError, match="half-way"):
        await engine.write_in_thread(add_then_fail)
    assert await db.fetch("SELECT v FROM t") == []  # rolled back
    added = await engine.write_in_thread(
        lambda connection: connection.execute("INSERT INTO t (v) VALUES ('kept')").lastrowid)
    assert await db.fetch("SELECT id, v FROM t") == [{"id": added, "v": "kept"}]
    async with db.write():  # the writer is usable as before
        await db.execute("INSERT INTO t (v) VALUES ({})", "after")
    assert len(await db.fetch("SELECT v FROM t")) == 2
    await db.close()
