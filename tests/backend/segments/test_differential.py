"""Differential test: generated rules over generated contacts and events select the same
contacts in Python (flows.segments) and in SQL (backend.segments.sql), on SQLite and PostgreSQL,
in both compilation modes (correlated subqueries per contact, and bulk: grouped joins).

Each example stores a batch of contacts and events in a new workspace of one database, then
compares the member sets. Values lean on JsonLogic's loose typing (numeric strings, "", null,
booleans, lists) and times on the window edges, where a SQL translation would go wrong.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.db import Database
from backend.migrations import migrate
from flows.segments import SegmentRule, SegmentRuleError, evaluate_segment, parse_segment_rule
from segments.support import T0, members, store_contacts, store_events, workspace

NOW = T0 + timedelta(days=60, hours=7, microseconds=250)
TEXTS = ["", "1", "0", "-0", "+1", "1.5", ".5", "5.", "1e2", " 1", "1 ", "abc", "IT", "it",
         "10", "9", "a b", "é", "0x1", "NaN", "2026-03-01T00:00:00Z"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([0.5, -1.5, 2.0, 10.0]),
    st.sampled_from(TEXTS),
)
json_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["x", "y"]), scalars, max_size=2),
)
KEYS = ["a", "b", "c"]
PATHS = [*(f"contact.attributes.{k}" for k in KEYS), "contact.attributes.a.x", "contact.email",
         "contact.consent.sms", "contact.id", "contact.timezone", "contact.preferences.news",
         "contact.nothing"]
EVENT_NAMES = ["p", "q"]
# Offsets from NOW, including the window edges of 7 and 21 days and a future event.
OFFSETS = [timedelta(days=d) for d in (0, 1, 7, 21)] + [
    timedelta(days=7, microseconds=1), timedelta(days=21, microseconds=-1),
    timedelta(days=2, hours=23, minutes=59, seconds=59, microseconds=999_999),
    timedelta(hours=5), timedelta(days=30), timedelta(days=-1), timedelta(seconds=0.5),
]


@st.composite
def contact_batch(draw: st.DrawFn) -> list[dict[str, Any]]:
    size = draw(st.integers(1, 8))
    out = []
    for i in range(size):
        contact: dict[str, Any] = {"id": f"c{i}"}
        contact["attributes"] = draw(st.dictionaries(st.sampled_from(KEYS), json_values,
                                                     max_size=3))
        email = draw(st.sampled_from([None, "x@gmail.com", "", "y@example.com"]))
        if email is not None:
            contact["email"] = email
        consent = draw(st.sampled_from([None, "opted_in", "opted_out"]))
        if consent is not None:
            contact["consent"] = {"sms": consent}
        if draw(st.booleans()):
            contact["preferences"] = {"news": draw(st.sampled_from(["email", "sms"]))}
        if draw(st.booleans()):
            contact["timezone"] = "Europe/Rome"
        out.append(contact)
    return out


@st.composite
def event_batch(draw: st.DrawFn, ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for _ in range(draw(st.integers(0, 12))):
        props = draw(st.dictionaries(st.just("total"), scalars, max_size=1))
        events.append((draw(st.sampled_from(ids)), {
            "name": draw(st.sampled_from(EVENT_NAMES)),
            "at": NOW - draw(st.sampled_from(OFFSETS)), "properties": props}))
    return events


def comparison(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    ops = st.sampled_from(["==", "!=", "===", "!==", "<", "<=", ">", ">="])
    return st.one_of(
        st.builds(lambda op, v, lit: {op: [v, lit]}, ops, value, scalars),
        st.builds(lambda op, v, lit: {op: [lit, v]}, ops, value, scalars),
        st.builds(lambda op, lo, v, hi: {op: [lo, v, hi]}, st.sampled_from(["<", "<="]),
                  scalars, value, scalars),
    )


event_where = comparison(st.just({"var": "properties.total"}))
aggregates = st.one_of(
    st.builds(lambda n, d, w: {"event_count": {"name": n, **d, **w}},
              st.sampled_from(EVENT_NAMES), st.sampled_from([{}, {"days": 7}, {"days": 21}]),
              st.one_of(st.just({}), event_where.map(lambda r: {"where": r}))),
    st.builds(lambda n: {"days_since_event": {"name": n}}, st.sampled_from(EVENT_NAMES)),
    st.builds(lambda n: {"last_event_at": {"name": n}}, st.sampled_from(EVENT_NAMES)),
)
values = st.one_of(st.sampled_from(PATHS).map(lambda p: {"var": p}), aggregates)
leaves = st.one_of(
    comparison(values),
    values,
    st.builds(lambda lit, v: {"in": [lit, v]}, st.sampled_from(["", "a", "gmail", "x", "1"]),
              values),
    st.builds(lambda v, items: {"in": [v, items]}, values, st.lists(scalars, max_size=3)),
    st.builds(lambda v, text: {"in": [v, text]}, values, st.sampled_from(["abc1", "IT", ""])),
    st.builds(lambda p: {"missing": [p]}, st.sampled_from(PATHS)),
    st.just({"in_segment": "other"}),
)
rules = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda op, xs: {op: xs}, st.sampled_from(["and", "or"]),
                  st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda op, x: {op: [x]}, st.sampled_from(["!", "!!"]), inner),
        st.builds(lambda c, a, b: {"if": [c, a, b]}, inner, inner, inner),
        comparison(st.builds(lambda x: {"!!": [x]}, inner)),
    ),
    max_leaves=6,
)
OTHER = parse_segment_rule({"and": [{">=": [{"var": "contact.attributes.a"}, 1]},
                                    {"<": [{"event_count": {"name": "q", "days": 21}}, 2]}]})


def resolve(key: str) -> SegmentRule:
    if key != "other":
        raise LookupError(f"segment {key!r} is not defined")
    return OTHER


@pytest.fixture
def db_loop(database_url: str) -> Iterator[tuple[Database, asyncio.AbstractEventLoop]]:
    """A migrated database driven from a loop of our own (hypothesis examples are sync)."""
    loop = asyncio.new_event_loop()
    db = Database(database_url)
    loop.run_until_complete(db.start())
    loop.run_until_complete(migrate(db))
    try:
        yield db, loop
    finally:
        loop.run_until_complete(db.close())
        loop.close()


@settings(max_examples=int(os.environ.get("SEGMENT_EXAMPLES", "50")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_python_and_sql_select_the_same_contacts(
    db_loop: tuple[Database, asyncio.AbstractEventLoop], data: st.DataObject
) -> None:
    db, loop = db_loop
    contacts = data.draw(contact_batch(), label="contacts")
    events = data.draw(event_batch([c["id"] for c in contacts]), label="events")
    source = data.draw(rules, label="rule")
    rule = parse_segment_rule(source)
    expected = {
        c["id"] for c in contacts
        if evaluate_segment(rule, _as_loaded(c), [e for who, e in events if who == c["id"]],
                            NOW, resolve)
    }

    async def in_sql() -> tuple[set[str], set[str]]:
        ws = await workspace(db)
        await store_contacts(db, ws, contacts)
        await store_events(db, ws, events)
        return (await members(db, ws, rule, NOW, resolve),
                await members(db, ws, rule, NOW, resolve, bulk=True))

    try:
        got, got_in_bulk = loop.run_until_complete(in_sql())
    except SegmentRuleError:
        return  # refused before anything is stored: allowed, tested in test_sql.py
    assert got == expected
    assert got_in_bulk == expected


def _as_loaded(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as the store gives it back (flows.contacts fills in the empty maps)."""
    return {"attributes": {}, "consent": {}, "preferences": {}, **contact}
