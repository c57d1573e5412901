"""Incremental segment re-evaluation on PostgreSQL: one contact's segments after an event or a
profile change, with 50 live segments, over 1,000,000 contacts and 10,000,000 events.

    .venv/bin/python bench/segment_incremental_bench.py [--samples 500]

Uses the database `castflow_bench_segments` that `bench/segment_bench.py` builds (run that
first). Adds 50 segments to workspace 1 (30 over attributes and consent, 20 with event
aggregates over `purchased` / `email_opened` / `viewed`, some including others), then times, per
contact, exactly what the worker and the API call:

- `after_events(db, 1, [(contact, "purchased")], now)`: the segments that count `purchased`
  events (transitively), evaluated for that contact in one query, diffed against the membership
  table, entries/exits written with their history rows, in one transaction;
- `after_contacts_changed(db, 1, [contact], now)`: every segment that reads contact data.

Each is run twice per contact: the first run writes the contact's entries (the worst case),
the second finds nothing to change (the steady state). The segments and their memberships are
removed at the end. Target: p95 under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from backend.db import Database
from backend.segments import store as segment_store
from backend.segments.refresh import after_contacts_changed, after_events

URL = "postgresql://postgres@127.0.0.1:5432/castflow_bench_segments"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PREFIX = "bench-inc-"
COUNTRIES = ["IT", "FR", "DE", "ES", "US"]


def segments() -> list[tuple[str, Any]]:
    rules: list[tuple[str, Any]] = []
    for i in range(30):  # attribute and consent conditions
        rules.append((f"{PREFIX}attr-{i}", {"and": [
            {"==": [{"var": "contact.attributes.country"}, COUNTRIES[i % 5]]},
            {">=": [{"var": "contact.attributes.age"}, 18 + i]},
            {"==": [{"var": "contact.consent.email"}, "opted_in" if i % 2 else "opted_out"]},
        ]}))
    names = ["purchased", "email_opened", "viewed"]
    for i in range(20):  # event aggregates, some including an attribute segment
        aggregate: Any = {">=": [{"event_count": {"name": names[i % 3], "days": 30 + 10 * i}},
                                 1 + i % 4]}
        if i % 5 == 0:
            aggregate = {"==": [{"event_count": {"name": names[i % 3], "days": 21}}, 0]}
        if i % 4 == 0:
            aggregate = {"and": [{"in_segment": f"{PREFIX}attr-{i}"}, aggregate]}
        rules.append((f"{PREFIX}agg-{i}", aggregate))
    return rules


async def timed(samples: list[str], call: Callable[[str], Awaitable[Any]]) -> list[float]:
    durations = []
    for contact in samples:
        start = time.perf_counter()
        await call(contact)
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def summary(label: str, durations: list[float]) -> str:
    ordered = sorted(durations)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (f"| {label} | {len(ordered)} | {statistics.median(ordered):.2f} | {p95:.2f} | "
            f"{ordered[-1]:.2f} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=URL)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    db = Database(args.url)
    await db.start()
    try:
        count = (await db.fetch("SELECT count(*) AS n FROM contacts"))[0]["n"]
        if count < 1_000:
            raise SystemExit("run bench/segment_bench.py first: it builds the data")
        await cleanup(db)
        async with db.write():
            for key, rule in segments():
                await segment_store.insert(db, 1, key, key, rule, NOW)
        defs = await segment_store.definitions(db, 1)
        print(f"{count:,} contacts; {len(defs.by_key)} segments in workspace 1; "
              f"{len(defs.affected(events=['purchased']))} depend on 'purchased', "
              f"{len(defs.affected(contact=True))} on contact data")
        rng = random.Random(7)
        picked = [f"c-{rng.randint(1, count)}" for _ in range(args.samples)]
        print("| call | samples | p50 ms | p95 ms | max ms |")
        print("|---|---|---|---|---|")
        for round_name in ("first (writes entries)", "again (no change)"):
            durations = await timed(picked, lambda c: after_events(
                db, 1, [(c, "purchased")], NOW))
            print(summary(f"after_events, {round_name}", durations))
        await db.execute("DELETE FROM segment_members WHERE segment IN "
                         "(SELECT id FROM segments WHERE key LIKE {})", PREFIX + "%")
        for round_name in ("first (writes entries)", "again (no change)"):
            durations = await timed(picked, lambda c: after_contacts_changed(db, 1, [c], NOW))
            print(summary(f"after_contacts_changed, {round_name}", durations))
    finally:
        await cleanup(db)
        await db.close()


async def cleanup(db: Database) -> None:
    for table in ("segment_members", "segment_changes"):
        await db.execute(f"DELETE FROM {table} WHERE segment IN "
                         "(SELECT id FROM segments WHERE key LIKE {})", PREFIX + "%")
    await db.execute("DELETE FROM segments WHERE key LIKE {}", PREFIX + "%")


if __name__ == "__main__":
    asyncio.run(main())
