"""The SQL compiler: text per dialect, refusals naming the part, and counts on both databases
for the rules documented in docs/segments.md."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.db import Database
from backend.segments.sql import compile_segment
from flows.segments import SegmentRule, SegmentRuleError, evaluate_segment, parse_segment_rule
from segments.support import count, members, store_contacts, store_events, workspace

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DOCS = Path(__file__).parents[3] / "docs" / "segments.md"
VIP = parse_segment_rule({">=": [{"var": "contact.attributes.age"}, 30]})


def resolve(key: str) -> SegmentRule:
    if key != "vip":
        raise LookupError(f"segment {key!r} is not defined")
    return VIP


def test_sqlite_text() -> None:
    rule = parse_segment_rule({"and": [
        {"==": [{"var": "contact.attributes.country"}, "IT"]},
        {">=": [{"event_count": {"name": "purchased", "days": 90}}, 3]}]})
    got = compile_segment(rule, "sqlite", NOW)
    assert got.sql == (
        "((COALESCE(json_type(c.attributes, '$.\"country\"') = 'text', FALSE)) AND "
        "(json_extract(c.attributes, '$.\"country\"') = {})) AND ((SELECT count(*) FROM events e "
        "WHERE e.workspace = c.workspace AND e.contact = c.key AND e.name = {} AND e.at <= {} "
        "AND e.at >= {}) >= 3)"
    )
    # times as events.at is stored on SQLite, so text comparison is time comparison
    assert got.params == ["IT", "purchased", "2026-03-01 12:00:00+00:00",
                          "2025-12-01 12:00:00+00:00"]


def test_postgresql_text() -> None:
    rule = parse_segment_rule({"in": ["gmail", {"var": "contact.email"}]})
    got = compile_segment(rule, "postgresql", NOW)
    assert got.sql == ("(COALESCE(c.email IS NOT NULL, FALSE)) AND "
                       "(strpos(c.email, CAST({} AS TEXT)) > 0)")
    assert got.params == ["gmail"]
    assert "{" not in got.sql.replace("{}", "")  # backend/db.py formats the text


def test_loose_typing_is_compiled_by_json_type() -> None:
    rule = parse_segment_rule({">": [{"var": "contact.attributes.age"}, 3]})
    got = compile_segment(rule, "postgresql", NOW)
    assert "jsonb_typeof(c.attributes -> 'age') = 'string'" in got.sql  # "40" > 3 is true
    assert "NOT (" in got.sql  # "abc" > 3 fails: the whole rule is false


@pytest.mark.parametrize(("rule", "message"), [
    ({"and": [True, {">": [{"+": [{"var": "contact.attributes.a"}, 1]}, 2]}]},
     "at /and/1/>/0/+: '+' cannot be evaluated in SQL"),
    ({"==": [{"var": "contact.attributes.a"}, {"var": "contact.attributes.b"}]},
     "at /==: SQL can compare a value with a fixed value only"),
    ({"==": [{"var": ["contact.attributes.a", 1]}, 1]},
     "at /==/0/var: SQL does not take a default value here"),
    ({"==": [{"var": "contact.attributes.a.b'c"}, 1]},
     "at /==/0/var: SQL reads field names made of letters"),
    ({"in_segment": "nope"}, "at /in_segment: segment 'nope' is not defined"),
    ({">": [{"event_count": {"name": "p", "where": {"==": [{"var": "at"}, "x"]}}}, 0]},
     "at />/0/event_count/where/==/0/var: SQL can read the event's name and properties"),
])
def test_refusals_name_the_part(rule: Any, message: str) -> None:
    with pytest.raises(SegmentRuleError) as caught:
        compile_segment(parse_segment_rule(rule), "sqlite", NOW, resolve)
    assert message in str(caught.value)


def test_cycles_are_refused() -> None:
    rules = {"a": parse_segment_rule({"in_segment": "b"}),
             "b": parse_segment_rule({"or": [False, {"in_segment": "a"}]})}
    with pytest.raises(SegmentRuleError, match="cycle: b -> a -> b"):  # the top has no key
        compile_segment(rules["a"], "postgresql", NOW, lambda k: rules[k])


def documented_rules() -> list[Any]:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    return [json.loads(block) for block in blocks]


BILL = {"id": "bill", "attributes": {"country": "IT", "age": 40}, "consent": {"sms": "opted_in"}}
ANNA = {"id": "anna", "attributes": {"country": "FR"}}
PURCHASES = ((1, 60), (10, 75), (80, 90), (100, 99))  # (days ago, total)
EVENTS = [("bill", {"name": "purchased", "at": NOW - timedelta(days=d),
                    "properties": {"total": t}}) for d, t in PURCHASES]
EVENTS.append(("bill", {"name": "email_opened", "at": NOW - timedelta(days=30), "properties": {}}))
EXPECTED = [{"bill"}, {"bill", "anna"}, {"bill"}, {"anna"}, {"bill"}]  # as docs/segments.md says


async def test_documented_examples_on_both_databases(database: Database) -> None:
    rules = documented_rules()
    assert len(rules) == len(EXPECTED)
    ws = await workspace(database)
    await store_contacts(database, ws, [BILL, ANNA])
    await store_events(database, ws, EVENTS)
    for source, expected in zip(rules, EXPECTED, strict=True):
        rule = parse_segment_rule(source)
        python = {c["id"] for c in (BILL, ANNA) if evaluate_segment(
            rule, {"attributes": {}, "consent": {}, "preferences": {}, **c},
            [e for who, e in EVENTS if who == c["id"]], NOW, resolve)}
        assert python == expected, source
        assert await members(database, ws, rule, NOW, resolve) == expected, source
        assert await members(database, ws, rule, NOW, resolve, bulk=True) == expected, source


async def test_count_is_per_workspace(database: Database) -> None:
    mine, theirs = await workspace(database, "a"), await workspace(database, "b")
    await store_contacts(database, mine, [BILL, ANNA])
    await store_contacts(database, theirs, [BILL])
    await store_events(database, theirs, EVENTS)
    rule = parse_segment_rule({">": [{"event_count": {"name": "purchased"}}, 0]})
    for bulk in (False, True):
        assert await count(database, mine, rule, NOW, bulk) == 0
        assert await count(database, theirs, rule, NOW, bulk) == 1


def test_string_equality_on_attributes_is_also_a_containment_test() -> None:
    rule = parse_segment_rule({"==": [{"var": "contact.attributes.address.country"}, "IT"]})
    got = compile_segment(rule, "postgresql", NOW)
    assert got.sql.startswith("(c.attributes @> jsonb_build_object('address', "
                              "jsonb_build_object('country', to_jsonb(CAST({} AS TEXT)))))")
    assert "jsonb_typeof(c.attributes -> 'address' -> 'country') = 'string'" in got.sql
    assert got.params == ["IT", "IT"]


@pytest.mark.parametrize("literal", ["1", "", "1e2", "-0", ".5"])
def test_literals_a_number_can_equal_are_not_containment_tests(literal: str) -> None:
    # "1" == 1 under JsonLogic: the JSON number 1 must match too, which `@>` would miss
    rule = parse_segment_rule({"==": [{"var": "contact.attributes.a"}, literal]})
    assert "@>" not in compile_segment(rule, "postgresql", NOW).sql


def test_bulk_mode_joins_one_grouped_pass_per_aggregate() -> None:
    rule = parse_segment_rule({"and": [
        {"==": [{"event_count": {"name": "email_opened", "days": 21}}, 0]},
        {">": [{"days_since_event": {"name": "purchased"}}, 3]}]})
    got = compile_segment(rule, "postgresql", NOW, bulk=True)
    assert got.joins.count("LEFT JOIN (SELECT e.workspace, e.contact, count(*) AS n") == 2
    assert "GROUP BY e.workspace, e.contact) a1 ON a1.workspace = c.workspace" in got.joins
    assert "SELECT" not in got.sql  # no correlated subquery left
    assert "COALESCE(a0.n, 0)" in got.sql
    assert got.join_params[:2] == ["email_opened", NOW]
    assert "{" not in (got.sql + got.joins).replace("{}", "")
