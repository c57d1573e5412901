"""Segment benchmark on PostgreSQL: 1,000,000 contacts and 10,000,000 events.

    .venv/bin/python bench/segment_bench.py [--admin postgresql://postgres@127.0.0.1:5432/postgres]

Builds the database `castflow_bench_segments` once (generate_series inside PostgreSQL; reused
when it already holds the data; indexes come from the migrations, 0007_segment_indexes), then
times, best of --repeat runs:

1. counting a segment with three attribute conditions and one event aggregate, through
   backend.segments.sql.compile_segment (per-contact mode, as the API counts, and bulk mode),
   against the same count written by hand; the segment matches about 1.4% of the contacts;
2. the periodic bulk refresh of a time-window segment ("email_opened not in the last 21 days",
   about 60% of the contacts) through backend.segments.membership.refresh_segment itself: from
   empty (every member enters, with its history row) and again (steady state, no change).

Data: each contact's 10 events share one name (the event index modulo 5 fixes both), so the
country is drawn from the contact number divided by 5, independent of the purchases; a database
built with the earlier `i % 5` countries (no Italian ever purchased) is updated in place.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from backend.db import Database
from backend.migrations import migrate
from backend.segments import store as segment_store
from backend.segments.membership import refresh_segment
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
COUNTRY = "(ARRAY['IT','FR','DE','ES','US'])[1 + ({number} / 5) % 5]"
# The first generator drew the country from i % 5 like the event names: no buyer was Italian.
FIX_COUNTRIES = (
    "UPDATE contacts SET attributes = attributes || jsonb_build_object('country', "
    + COUNTRY.format(number="CAST(substr(key, 3) AS INTEGER)") + ") WHERE workspace = 1"
)
GENERATE = [
    f"""INSERT INTO contacts (workspace, key, email, attributes, consent, consent_changed,
        preferences, created_at, updated_at)
    SELECT 1, 'c-' || i, 'u' || i || '@example.com',
        jsonb_build_object('country', {COUNTRY.format(number="i")},
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
        old = await db.fetch("SELECT 1 FROM contacts WHERE workspace = 1 AND key = 'c-5' "
                             "AND attributes ->> 'country' = 'IT'")
        if old:
            print("updating the countries in place ...", flush=True)
            await db.execute(FIX_COUNTRIES)
        await db.execute("VACUUM ANALYZE contacts")
        await db.execute("VACUUM ANALYZE events")
        await db.execute("DROP TABLE IF EXISTS bench_membership")  # the earlier scratch table
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


async def count_query(conn: asyncpg.Connection, repeat: int, bulk: bool) -> tuple[float, Any]:
    condition = compile_segment(parse_segment_rule(RULE), "postgresql", NOW, bulk=bulk)
    sql = to_asyncpg(f"SELECT count(*) FROM contacts c {condition.joins} "
                     f"WHERE c.workspace = {{}} AND ({condition.sql})")
    async with conn.transaction():
        if bulk:  # as refresh_segment runs it (see there)
            await conn.execute("SET LOCAL enable_nestloop = off")
        return await best(conn, repeat, sql, *condition.join_params, 1, *condition.params)


async def refresh(url: str, repeat: int) -> None:
    db = Database(url)
    await db.start()
    try:
        await db.execute("DELETE FROM segments WHERE workspace = 1 AND key = 'lapsed'")
        await segment_store.insert(db, 1, "lapsed", "lapsed", WINDOW_RULE, NOW)
        defs = await segment_store.definitions(db, 1)
        segment = defs.by_key["lapsed"]
        from_empty, again = [], []
        for _ in range(repeat):
            await db.execute("DELETE FROM segment_members WHERE segment = {}", segment.id)
            started = time.perf_counter()
            entered = await refresh_segment(db, defs, segment, NOW, "bench")
            from_empty.append(time.perf_counter() - started)
            started = time.perf_counter()
            steady = await refresh_segment(db, defs, segment, NOW, "bench")
            again.append(time.perf_counter() - started)
            assert not steady.changes
        print(f"bulk refresh of a 21-day window segment, from empty: {min(from_empty):.2f} s "
              f"({len(entered.changes)} entries recorded)")
        print(f"bulk refresh again (steady state, no change): {min(again):.2f} s")
    finally:
        # members and history go with it (cascade): the incremental benchmark shares workspace 1
        await db.execute("DELETE FROM segments WHERE workspace = 1 AND key = 'lapsed'")
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = await prepare(args.admin)
    conn = await asyncpg.connect(url)
    try:
        hand_time, hand_count = await best(conn, args.repeat, HAND, 1, NOW)
        print(f"count, written by hand: {hand_time * 1000:.0f} ms ({hand_count} members)")
        for bulk in (False, True):
            took, got = await count_query(conn, args.repeat, bulk)
            assert got == hand_count, (got, hand_count)
            mode = "bulk mode" if bulk else "per-contact mode"
            print(f"count, compiled rule ({mode}): {took * 1000:.0f} ms")
    finally:
        await conn.close()
    await refresh(url, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
