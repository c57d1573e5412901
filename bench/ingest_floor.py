"""Benchmark: what storing events costs the database itself, without HTTP, Redis or a worker.

    .venv/bin/python bench/ingest_floor.py [--db sqlite|postgresql] [--events 200000]

The bulk target of issue 3 is 50,000 events/s stored AND matched on this 2-core machine: 40 us
of CPU per event for everything (decoding, storing, loading, matching, marking processed). This
measures the storing part alone, on a fresh migrated database (every index the app has), in
transactions of 500 events for 10,000 contacts (90% page_view), as the API's group commit writes
them:

  app path   `backend.runtime.ingest.store_arrivals` in this process: the bare-contact upsert and
             the event insert, exactly what `POST /api/events` runs after decoding;
  floor      the database's own work with nearly no Python: SQLite, the same two statements
             through the sqlite3 module's executemany on prebuilt tuples; PostgreSQL, asyncpg's
             binary COPY of prebuilt records into `events` (no upsert, no contact rows: less
             than the app must do).

CPU is this process's (on SQLite that includes SQLite's own work, which runs in-process) and,
on PostgreSQL, the server backend's of each connection (psutil). "per core" is events per
CPU-second: the most one core could store if it did nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.db import Database  # noqa: E402
from backend.migrations import migrate  # noqa: E402
from backend.runtime.ingest import store_arrivals  # noqa: E402
from flows.contacts import Event  # noqa: E402

BATCH = 500
CONTACTS = 10_000
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def make_events(count: int) -> list[Event]:
    names = ["page_view"] * 18 + ["purchased", "app_open"]
    return [Event(f"b-{n % CONTACTS}", names[n % 20], f"e-{n}", T0 + timedelta(seconds=n),
                  {"path": "/pricing" if n % 7 == 0 else "/home", "n": n})
            for n in range(count)]


class Cpu:
    """CPU seconds of this process and of the given PostgreSQL backends."""

    def __init__(self, backends: list[int]) -> None:
        self.procs = [psutil.Process(os.getpid())] + [psutil.Process(p) for p in backends]

    def read(self) -> list[float]:
        return [sum(p.cpu_times()[:2]) for p in self.procs]


def line(label: str, events: int, wall: float, cpu: list[float]) -> dict[str, Any]:
    total = sum(cpu)
    result = {"case": label, "events": events, "wall_s": round(wall, 2),
              "events_per_s": round(events / wall), "cpu_us_per_event": round(
                  1e6 * total / events, 1),
              "events_per_cpu_s": round(events / total),
              "cpu_split": [round(c, 2) for c in cpu]}
    print(result, flush=True)
    return result


async def workspace(db: Database) -> int:
    rows = await db.fetch("INSERT INTO workspaces (name, created_at) VALUES ({}, {}) "
                          "RETURNING id", "bench", T0)
    return int(rows[0]["id"])


async def app_path(db: Database, events: list[Event], backends: list[int]) -> dict[str, Any]:
    ws = await workspace(db)
    cpu = Cpu(backends)
    before, start = cpu.read(), time.perf_counter()
    for begin in range(0, len(events), BATCH):
        await store_arrivals(db, [(ws, e, T0) for e in events[begin:begin + BATCH]])
    wall = time.perf_counter() - start
    return line("app path: store_arrivals", len(events), wall,
                [b - a for a, b in zip(before, cpu.read(), strict=True)])


def sqlite_floor(path: str, events: list[Event]) -> dict[str, Any]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA cache_size = -32768")
    ws = connection.execute("INSERT INTO workspaces (name, created_at) VALUES ('floor', ?) "
                            "RETURNING id", (T0.isoformat(),)).fetchone()[0]
    now = T0.isoformat(" ")
    rows = [(ws, e.id, e.contact, e.name, e.at.isoformat(" ") if e.at else now, now,
             '{"path": "/home", "n": 1}') for e in events]
    contacts = [(ws, e.contact, now, now) for e in events]
    cpu = Cpu([])
    before, start = cpu.read(), time.perf_counter()
    for begin in range(0, len(rows), BATCH):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            'INSERT INTO contacts (workspace, "key", attributes, consent, consent_changed, '
            "preferences, created_at, updated_at) VALUES (?, ?, '{}', '{}', '{}', '{}', ?, ?) "
            'ON CONFLICT (workspace, "key") DO NOTHING', contacts[begin:begin + BATCH])
        connection.executemany(
            'INSERT INTO events (workspace, "key", contact, name, at, received_at, properties) '
            'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace, "key") WHERE "key" IS NOT NULL '
            "DO NOTHING", rows[begin:begin + BATCH])
        connection.execute("COMMIT")
    wall = time.perf_counter() - start
    connection.close()
    return line("floor: sqlite3 executemany, same statements", len(rows), wall,
                [b - a for a, b in zip(before, cpu.read(), strict=True)])


async def pg_floor(url: str, events: list[Event]) -> dict[str, Any]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url)
    try:
        backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
        ws = int(await connection.fetchval(
            "INSERT INTO workspaces (name, created_at) VALUES ('floor', $1) RETURNING id", T0))
        records = [(ws, f"f-{e.id}", e.contact, e.name, e.at, T0, '{"path": "/home", "n": 1}')
                   for e in events]
        cpu = Cpu([backend])
        before, start = cpu.read(), time.perf_counter()
        for begin in range(0, len(records), BATCH):
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "events", records=records[begin:begin + BATCH],
                    columns=["workspace", "key", "contact", "name", "at", "received_at",
                             "properties"])
        wall = time.perf_counter() - start
        return line("floor: asyncpg binary COPY into events", len(records), wall,
                    [b - a for a, b in zip(before, cpu.read(), strict=True)])
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    events = make_events(args.events)
    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            path = str(Path(tmp) / "floor.db")
            url = f"sqlite:///{path}"
        else:
            import asyncpg

            name = f"castflow_floor_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await admin.execute(f'CREATE DATABASE "{name}"')
            url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        try:
            db = Database(url)
            await db.start()
            try:
                await migrate(db)
                backends: list[int] = []
                if not db.is_sqlite:
                    pids = await db.fetch("SELECT pid FROM pg_stat_activity "
                                          "WHERE datname = current_database()")
                    backends = [int(r["pid"]) for r in pids]
                await app_path(db, events, backends)
            finally:
                await db.close()
            if args.db == "sqlite":
                sqlite_floor(path, events)
            else:
                await pg_floor(url, events)
        finally:
            if admin is not None:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
