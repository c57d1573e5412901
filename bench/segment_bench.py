"""Segment benchmark on PostgreSQL: 1,000,000 contacts and 10,000,000 events.

    .venv/bin/python bench/segment_bench.py [--admin postgresql://postgres@127.0.0.1:5432/postgres]

Builds the database `castflow_bench_segments` once (generate_series inside PostgreSQL; reused
when it already holds the data), then times, best of --repeat runs:

1. counting a segment with three attribute conditions and one event aggregate, through
   backend.segments.sql.compile_segment, against the same count written by hand;
2. the periodic bulk refresh of a time-window segment ("email_opened not in the last 21 days")
   into a scratch membership table: one INSERT ... SELECT for entries and one UPDATE for exits.

Indexes the queries need beyond the schema's events_contact_at are created here and proposed
in bench/RESULTS.md (the lead owns migrations).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from backend.db import Database
from backend.migrations import migrate
from backend.segments.sql import compile_segment
from flows.segments import parse_segment_rule

NAME = "castflow_bench_segments"
CONTACTS = 1_000_000
EVENTS = 10_000_000
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)

RULE = {"and": [
    {"==": [{"var": "contact.attributes.country"}, "IT"]},
    {">=": [{"var": "contact.attributes.age"}, 30]},
    {"==": [{"var": "contact.consent.email"}, "opted_in"]},
    {">=": [{"event_count": {"name": "purchased", "days": 90,
                             "where": {">": [{"var": "properties.total"}, 50]}}}, 2]},
]}
HAND = """
SELECT count(*) FROM contacts c
WHERE c.workspace = $1 AND c.attributes ->> 'country' = 'IT'
  AND jsonb_typeof(c.attributes -> 'age') = 'number' AND (c.attributes ->> 'age')::numeric >= 30
  AND c.consent ->> 'email' = 'opted_in'
  AND (SELECT count(*) FROM events e WHERE e.workspace = c.workspace AND e.contact = c.key
       AND e.name = 'purchased' AND e.at <= $2 AND e.at >= $2 - interval '90 days'
       AND jsonb_typeof(e.properties -> 'total') = 'number'
       AND (e.properties ->> 'total')::numeric > 50) >= 2
"""
WINDOW_RULE = {"==": [{"event_count": {"name": "email_opened", "days": 21}}, 0]}
INDEXES = [
    # proposed: attribute equality through containment (@>) and the GIN operator class
    "CREATE INDEX IF NOT EXISTS contacts_attributes_gin ON contacts "
    "USING gin (attributes jsonb_path_ops)",
    # proposed: aggregates filter on the event name; the name in the index saves heap visits
    "CREATE INDEX IF NOT EXISTS events_contact_name_at ON events (workspace, contact, name, at)",
]
GENERATE = [
    f"""INSERT INTO contacts (workspace, key, email, attributes, consent, consent_changed,
        preferences, created_at, updated_at)
    SELECT 1, 'c-' || i, 'u' || i || '@example.com',
        jsonb_build_object('country', (ARRAY['IT','FR','DE','ES','US'])[1 + i % 5],
                           'age', 18 + i % 60, 'plan', (ARRAY['free','pro'])[1 + i % 2]),
        jsonb_build_object('email', (ARRAY['opted_in','opted_out'])[1 + (i / 7) % 2]),
        jsonb_build_object(), jsonb_build_object(), now(), now()
    FROM generate_series(1, {CONTACTS}) AS i""",
    f"""INSERT INTO events (workspace, contact, name, at, received_at, properties, processed_at)
    SELECT 1, 'c-' || (1 + (i::bigint * 7919) % {CONTACTS}),
        (ARRAY['purchased','email_opened','viewed','email_opened','viewed'])[1 + i % 5],
        TIMESTAMPTZ '2026-03-01 12:00:00+00' - (i % 180) * interval '1 day'
            - (i % 86400) * interval '1 second',
        now(), jsonb_build_object('total', i % 120), now()
    FROM generate_series(1, {EVENTS}) AS i""",
]


async def admin(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def prepare(admin_url: str) -> str:
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{NAME}"
    exists = await admin(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{NAME}'")
    if not exists:
        await admin(admin_url, f'CREATE DATABASE "{NAME}"')
    db = Database(url)
    await db.start()
    try:
        await migrate(db)
        rows = await db.fetch("SELECT count(*) AS n FROM events")
        if rows[0]["n"] != EVENTS:
            print("generating 1,000,000 contacts and 10,000,000 events ...", flush=True)
            started = time.perf_counter()
            await db.execute("TRUNCATE contacts, events")
            await db.execute("INSERT INTO workspaces (id, name, created_at) VALUES (1, 'bench', "
                             "now()) ON CONFLICT DO NOTHING")
            # Indexes are rebuilt after the load: maintaining them row by row takes far longer.
            indexes = await db.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                "('contacts', 'events') AND indexname NOT LIKE '%pkey'")
            for index in indexes:
                await db.execute(f'DROP INDEX "{index["indexname"]}"')
            for sql in GENERATE:
                await db.execute(sql)
            for index in indexes:
                await db.execute(index["indexdef"])
            print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
        for sql in INDEXES:
            await db.execute(sql)
        await db.execute("ANALYZE contacts")
        await db.execute("ANALYZE events")
        await db.execute(
            "CREATE TABLE IF NOT EXISTS bench_membership (workspace integer, segment text, "
            "contact text, entered_at timestamptz, exited_at timestamptz, "
            "PRIMARY KEY (workspace, segment, contact))"
        )
    finally:
        await db.close()
    return url


async def best(conn: asyncpg.Connection, repeat: int, sql: str, *args: Any) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await conn.fetchval(sql, *args)
        times.append(time.perf_counter() - started)
    return min(times), result


def to_asyncpg(sql: str) -> str:
    parts = sql.split("{}")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = await prepare(args.admin)
    conn = await asyncpg.connect(url)
    try:
        condition = compile_segment(parse_segment_rule(RULE), "postgresql", NOW)
        compiled_sql = to_asyncpg(
            f"SELECT count(*) FROM contacts c WHERE c.workspace = {{}} AND ({condition.sql})")
        compiled_time, compiled_count = await best(conn, args.repeat, compiled_sql, 1,
                                                   *condition.params)
        hand_time, hand_count = await best(conn, args.repeat, HAND, 1, NOW)
        assert compiled_count == hand_count, (compiled_count, hand_count)
        print(f"count, compiled rule: {compiled_time * 1000:.0f} ms ({compiled_count} members)")
        print(f"count, written by hand: {hand_time * 1000:.0f} ms")

        window = compile_segment(parse_segment_rule(WINDOW_RULE), "postgresql", NOW)
        n = len(window.params)
        enter = to_asyncpg(
            "INSERT INTO bench_membership (workspace, segment, contact, entered_at) "
            f"SELECT c.workspace, 'lapsed', c.key, {{}} FROM contacts c WHERE c.workspace = {{}} "
            f"AND ({window.sql}) ON CONFLICT (workspace, segment, contact) DO UPDATE SET "
            "entered_at = excluded.entered_at, exited_at = NULL "
            "WHERE bench_membership.exited_at IS NOT NULL")
        leave = to_asyncpg(
            "UPDATE bench_membership m SET exited_at = {} FROM contacts c "
            "WHERE m.workspace = {} AND m.segment = 'lapsed' AND m.exited_at IS NULL "
            f"AND c.workspace = m.workspace AND c.key = m.contact AND NOT ({window.sql})")
        times = []
        for _ in range(args.repeat):
            await conn.execute("TRUNCATE bench_membership")
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(enter, NOW, 1, *window.params)
                await conn.execute(leave, NOW, 1, *window.params)
            times.append(time.perf_counter() - started)
        members = await conn.fetchval(
            "SELECT count(*) FROM bench_membership WHERE exited_at IS NULL")
        print(f"bulk refresh of a 21-day window segment (from empty): {min(times):.2f} s "
              f"({members} members)")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(enter, NOW, 1, *window.params)
            await conn.execute(leave, NOW, 1, *window.params)
        print(f"bulk refresh again (steady state): {time.perf_counter() - started:.2f} s")
        assert n == len(window.params)
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
