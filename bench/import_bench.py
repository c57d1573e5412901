"""Contact import throughput (issue 5): rows/s for a generated CSV, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--db sqlite,postgresql] [--http]

Generates `bench/out/contacts_<rows>.csv` once (deterministic: id, email, phone, timezone,
consent.email, consent.sms, preferences.newsletter, first_name, country, plan, 1% bad rows),
then times, in one run:
- the ceiling: reading and checking every row (`backend.contact_import.read_contacts`), no DB;
- `backend.store.contacts.import_contacts` (what the API and the CLI call) into a fresh
  database of each kind, then a second import of the same file (every row an update);
- with --http, `POST /api/contacts/import` on a running app (Litestar's test client) on SQLite.
Peak RSS of the process is reported at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.contact_import import ImportRow, read_contacts  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.migrations import migrate  # noqa: E402
from backend.store.contacts import import_contacts  # noqa: E402
from backend.workspace import default_workspace  # noqa: E402

OUT = ROOT / "bench" / "out"
CHUNK = 256 * 1024
PG_ADMIN = os.environ.get("CASTFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
HEADER = ("id,email,phone,timezone,consent.email,consent.sms,preferences.newsletter,first_name,"
          "country,plan\n")
PEOPLE = [("Bill", "US", "+1212555", "America/New_York"),
          ("Anna", "IT", "+3934012", "Europe/Rome"),
          ("Chiara", "IT", "+3933311", "Europe/Rome"),
          ("Hans", "DE", "+491511234", "Europe/Berlin")]


def generate(rows: int) -> Path:
    path = OUT / f"contacts_{rows}.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            name, country, prefix, zone = PEOPLE[n % len(PEOPLE)]
            email = f"{name.lower()}.{n}@example.com"
            phone = f"{prefix}{n % 10000:04d}"
            if country == "US":
                phone = f"+1212555{n % 10000:04d}"
            if rng.random() < 0.01:  # a bad row: a typo in the email or the consent
                email = email.replace("@", "") if n % 2 else email
                consent = "maybe" if not n % 2 else "yes"
            else:
                consent = "yes" if n % 3 else "no"
            out.write(f"c-{n},{email},{phone},{zone},{consent},opted_in,email,{name},{country},"
                      f"{'pro' if n % 5 == 0 else 'free'}\n")
    tmp.rename(path)
    return path


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


async def async_chunks(path: Path) -> AsyncIterator[bytes]:
    for chunk in file_chunks(path):
        yield chunk


def rate(rows: int, wall: float, cpu: float) -> str:
    """Wall time, and this process's CPU time: the machine is shared, so wall time includes
    waiting for a core; CPU time is what the work itself took (not counting a database
    server's own process)."""
    return (f"{wall:.2f} s wall = {rows / wall:,.0f} rows/s; {cpu:.2f} s CPU = "
            f"{rows / cpu:,.0f} rows per CPU-second")


def ceiling(path: Path) -> tuple[float, float, int, int]:
    started, cpu = time.perf_counter(), time.process_time()
    good = bad = 0
    for parsed in read_contacts(file_chunks(path), "csv"):
        if isinstance(parsed, ImportRow):
            good += 1
        else:
            bad += 1
    return time.perf_counter() - started, time.process_time() - cpu, good, bad


async def pg_database() -> tuple[str, str]:
    import asyncpg

    name = f"castflow_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", name


async def drop_pg(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def through_store(url: str, path: Path, rows: int) -> list[str]:
    db = Database(url)
    await db.start()
    lines = []
    try:
        await migrate(db)
        workspace = await default_workspace(db)
        for label in ("first import (creates)", "re-import (updates)"):
            started, cpu = time.perf_counter(), time.process_time()
            report = await import_contacts(db, workspace, async_chunks(path), "csv")
            took, used = time.perf_counter() - started, time.process_time() - cpu
            lines.append(f"  {label}: {rate(rows, took, used)} (created {report.created:,}, "
                         f"updated {report.updated:,}, refused {report.refused:,})")
    finally:
        await db.close()
    return lines


def through_http(path: Path, rows: int) -> str:
    from litestar.testing import TestClient

    from backend.api.app import create_app
    from backend.runtime.queue import RecordingQueue
    from backend.security import create_api_key
    from backend.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"

        async def prepare() -> None:
            db = Database(url)
            await db.start()
            await migrate(db)
            await db.close()

        asyncio.run(prepare())
        settings = Settings(database_url=url, redis_url=None, var_dir=Path(tmp) / "var")
        app = create_app(settings, queue=RecordingQueue())
        with TestClient(app) as client:
            key = client.blocking_portal.call(create_api_key, app.state.db, "bench")
            started, cpu = time.perf_counter(), time.process_time()
            response = client.post("/api/contacts/import", content=file_chunks(path),
                                    headers={"Authorization": f"Bearer {key}",
                                             "Content-Type": "text/csv"}, timeout=3600)
            took, used = time.perf_counter() - started, time.process_time() - cpu
        body = response.json()
        return (f"  HTTP POST /api/contacts/import (SQLite): {rate(rows, took, used)} "
                f"(status {response.status_code}, imported {body.get('imported')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
    path = generate(args.rows)
    print(f"{args.rows:,} rows, {path.stat().st_size / 2**20:.1f} MiB: {path}")
    took, used, good, bad = ceiling(path)
    print(f"  ceiling (read + check, no DB): {rate(args.rows, took, used)} "
          f"({good:,} good, {bad:,} refused)")
    for kind in args.db.split(","):
        print(f"{kind}:")
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                lines = asyncio.run(through_store(f"sqlite:///{tmp}/bench.db", path, args.rows))
        else:
            url, name = asyncio.run(pg_database())
            try:
                lines = asyncio.run(through_store(url, path, args.rows))
            finally:
                asyncio.run(drop_pg(name))
        print("\n".join(lines))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS after the database runs: {peak:.0f} MiB")
    if args.http:  # the test client holds the whole request and answer: RSS is not ours here
        print(through_http(path, args.rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process: {peak:.0f} MiB; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
