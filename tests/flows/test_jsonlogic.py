"""Tests for flows.jsonlogic: the official JsonLogic suite, validation, truthiness, errors."""

from __future__ import annotations

import copy
import datetime
import json
import re
from pathlib import Path
from typing import Any

import datalogic_py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.jsonlogic import KNOWN_OPERATORS, Rule, RuleError, compile_rule, truthy

SUITE = Path(__file__).resolve().parent.parent / "data" / "jsonlogic-tests.json"


def _load_suite() -> list[Any]:
    cases: list[Any] = []
    seen: set[str] = set()
    section, index = "start", 0
    for entry in json.loads(SUITE.read_text(encoding="utf-8")):
        if isinstance(entry, str):
            section = re.sub(r"[^a-z0-9]+", "-", entry.lower()).strip("-") or "section"
            index = 0
            continue
        case_id = f"{section}-{index}"
        assert case_id not in seen, case_id
        seen.add(case_id)
        index += 1
        rule, data, expected = entry
        cases.append(pytest.param(rule, data, expected, id=case_id))
    return cases


SUITE_CASES = _load_suite()


def same_json(a: Any, b: Any) -> bool:
    """Equality under JSON semantics: unlike ==, true is not 1 (but 1 is 1.0)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------- conformance


def test_suite_is_complete() -> None:
    assert len(SUITE_CASES) == 278


@pytest.mark.parametrize(("rule", "data", "expected"), SUITE_CASES)
def test_official_suite(rule: Any, data: Any, expected: Any) -> None:
    result = compile_rule(rule).evaluate(data)
    assert result == expected
    assert same_json(result, expected), f"{result!r} is not JSON-equal to {expected!r}"


# --------------------------------------------------------------------------- compile


def test_source_is_the_original_rule_unchanged() -> None:
    rule = {"if": [{"var": "a"}, {"x": 1, "$y": {"var": "b"}}, {}]}
    before = copy.deepcopy(rule)
    compiled = compile_rule(rule)
    compiled.evaluate({"a": True})
    assert compiled.source is rule
    assert rule == before


def test_marketing_rule() -> None:
    rule = compile_rule(
        {
            "and": [
                {"==": [{"var": "contact.attributes.country"}, "IT"]},
                {">=": [{"var": "contact.attributes.orders"}, 3]},
            ]
        }
    )
    contact = {"email": "a@example.it", "attributes": {"country": "IT", "orders": 3, "x": [1]}}
    assert rule.test({"contact": contact, "event": None, "vars": {}}) is True
    contact["attributes"]["orders"] = 2
    assert rule.test({"contact": contact, "event": None, "vars": {}}) is False
    assert rule.test({"contact": {}, "event": None, "vars": {}}) is False
    assert isinstance(rule, Rule)


def test_unknown_operator_is_named() -> None:
    with pytest.raises(RuleError) as info:
        compile_rule({"foo": [1, 2]})
    assert "unknown operator 'foo'" in str(info.value)


def test_every_unknown_operator_is_named() -> None:
    rule = {
        "and": [
            {"foo": 1},
            {"or": [{"bar": [{"var": "x"}]}, {"==": [{"baz": []}, 1]}]},
            {"==": [1, 1]},
        ]
    }
    with pytest.raises(RuleError) as info:
        compile_rule(rule)
    message = str(info.value)
    for name, where in [("foo", "/and/0"), ("bar", "/and/1/or/0"), ("baz", "/and/1/or/1/==/0")]:
        assert f"unknown operator '{name}' at {where}" in message
    assert "'and'" not in message and "'or'" not in message


@pytest.mark.parametrize("name", ["log", "val", "upper", "now", "exists", "Var", "", "a/b~c"])
def test_non_standard_operators_are_unknown(name: str) -> None:
    with pytest.raises(RuleError, match=re.escape(f"unknown operator {name!r}")):
        compile_rule({"!": {name: ["x"]}})


@pytest.mark.parametrize("name", sorted(KNOWN_OPERATORS))
def test_known_operators_compile_and_run(name: str) -> None:
    args: list[Any] = (
        [[1, 2], {"var": ""}] if name in {"map", "filter", "all", "none", "some"} else []
    )
    if name == "reduce":
        args = [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]
    rule = compile_rule({name: args})
    try:
        rule.evaluate({})
    except RuleError as exc:  # an argument error is fine; an unknown operator is not
        assert "unknown operator" not in str(exc)


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"in": ["a", ("a", "b")]}, "type tuple at /in/1 is not JSON"),
        ({"==": [{"var": "d"}, datetime.date(2024, 1, 1)]}, "type date at /==/1"),
        ({"==": [1, float("nan")]}, "nan at /==/1 is not allowed"),
        ({"<": [1, float("inf")]}, "inf at /</1 is not allowed"),
        ({"in": [1, {1, 2}]}, "type set at /in/1"),
        ({"if": [{1: "x"}, 1, 2]}, "object key 1 at /if/0 is not a string"),
        ({"cat": [{"a": b"x", "b": 1}]}, "type bytes at /cat/0/a"),
        (object(), "at the top of the rule"),
    ],
)
def test_non_json_values_are_rejected(rule: Any, fragment: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(rule)
    assert fragment in str(info.value)


def test_all_problems_reported_together() -> None:
    with pytest.raises(RuleError) as info:
        compile_rule({"and": [{"nope": 1}, {"==": [1, (2,)]}]})
    message = str(info.value)
    assert "unknown operator 'nope' at /and/0" in message
    assert "tuple at /and/1/==/1" in message


def test_too_deep_rule_is_a_rule_error() -> None:
    rule: Any = 1
    for _ in range(100_000):
        rule = [rule]
    with pytest.raises(RuleError, match="nested too deeply"):
        compile_rule(rule)


# --------------------------------------------------------------------------- literals


def test_object_with_several_keys_is_a_literal() -> None:
    literal = {"tier": "gold", "$price": {"var": "x"}, "nested": [{"foo": 1}, {}], "": 0}
    rule = compile_rule({"if": [{"var": "vip"}, literal, {}]})
    assert rule.evaluate({"vip": True, "x": 9}) == literal
    assert rule.evaluate({"vip": False}) == {}


def test_string_rule_is_a_string() -> None:
    assert compile_rule("apple").evaluate({}) == "apple"
    assert compile_rule('{"var": "a"}').evaluate({"a": 1}) == '{"var": "a"}'


# --------------------------------------------------------------------------- truthiness


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (float("nan"), False),
        (1, True),
        (-1, True),
        (0.5, True),
        ("", False),
        ("0", True),
        ("false", True),
        (" ", True),
        ([], False),
        ([0], True),
        ([[]], True),
        ({}, False),  # as the engine: the JavaScript reference would say true
        ({"a": 0}, True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)

NOT_NOT = compile_rule({"!!": [{"var": "v"}]})
IF_VAR = compile_rule({"if": [{"var": "v"}, "yes", "no"]})


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_truthy_agrees_with_the_engine(value: Any) -> None:
    data = {"v": value}
    assert truthy(value) is NOT_NOT.evaluate(data)
    assert IF_VAR.evaluate(data) == ("yes" if truthy(value) else "no")
    assert compile_rule({"var": "v"}).test(data) is truthy(value)


def test_test_returns_a_bool() -> None:
    rule = compile_rule({"var": "n"})
    assert rule.test({"n": 5}) is True
    assert rule.test({"n": "0"}) is True
    assert rule.test({"n": []}) is False
    assert rule.test({}) is False


# --------------------------------------------------------------------------- runtime errors


@pytest.mark.parametrize(
    ("rule", "data", "fragment"),
    [
        ({">": [{"var": "s"}, 3]}, {"s": "abc"}, "in operator '>'"),
        ({"+": [{"var": "s"}, 1]}, {"s": "abc"}, "in operator '+'"),
        ({"/": [1, {"var": "z"}]}, {"z": 0}, "division by zero"),
        ({"-": []}, {}, "in operator '-'"),
        ({"var": "d"}, {"d": datetime.datetime(2024, 1, 1)}, "cannot use"),
        ({"var": "n"}, {"n": 2**80}, "cannot use"),
        ({"var": "o"}, {"o": {"x": object()}}, "cannot use"),
        ({"var": "b"}, {"b": b"bytes"}, "cannot use"),
    ],
)
def test_runtime_errors_are_rule_errors(rule: Any, data: Any, fragment: str) -> None:
    compiled = compile_rule(rule)
    with pytest.raises(RuleError) as info:
        compiled.evaluate(data)
    assert not isinstance(info.value, datalogic_py.DataLogicError)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)
    assert "datalogic" not in str(info.value).lower()
    with pytest.raises(RuleError):
        compiled.test(data)


def test_unread_bad_data_is_ignored() -> None:
    # Only the paths a rule reads are handed to the engine.
    rule = compile_rule({"==": [{"var": "contact.country"}, "IT"]})
    data = {"contact": {"country": "IT", "born": datetime.date(1990, 1, 1)}, "event": object()}
    assert rule.evaluate(data) is True


def test_loose_equality_between_incomparable_values_is_false() -> None:
    assert compile_rule({"==": [{"var": "zip"}, 20100]}).evaluate({"zip": "MI-20100"}) is False
    assert compile_rule({"!=": [{"var": "zip"}, 20100]}).evaluate({"zip": "MI-20100"}) is True
    assert compile_rule({"==": [{"var": "zip"}, 20100]}).evaluate({"zip": "20100"}) is True


# --------------------------------------------------------------------------- data pruning

PRUNE_RULES: list[Any] = [
    {"var": "a"},
    {"var": "a.b"},
    {"var": ["a.b.c", "dflt"]},
    {"var": "xs.1"},
    {"var": "a.0"},
    {"var": "p.q.r.s.t.u.v.w"},
    {"and": [{"var": "a.b"}, {"var": "a"}, {"var": "c"}]},
    {"missing": ["a.b", "c", "p.q"]},
    {"missing_some": [1, ["a.b.c", "c"]]},
    {"map": [{"var": "xs"}, {"var": "b"}]},
    {"filter": [{"var": "xs"}, {"var": "b"}]},
    {"reduce": [{"var": "xs"}, {"cat": [{"var": "accumulator"}, {"var": "current"}]}, ""]},
    {"some": [{"var": "a.b"}, {"==": [{"var": "c"}, 1]}]},
    {"in": [{"var": "c"}, {"var": "a.b"}]},
    {"cat": [{"var": "a.b"}, {"var": "c"}, {"var": "p.q"}]},
    {"merge": [{"var": "xs"}, {"var": "a"}]},
    {"var": {"cat": ["a", ".b"]}},
    {"var": ""},
    {"if": [True, 1, {"var": "c"}]},
]

KEYS = st.sampled_from(["a", "b", "c", "p", "q", "r", "s", "t", "u", "v", "w", "xs", "0", "1"])
DATA_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet="ab0", max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
DATA = st.dictionaries(KEYS, DATA_VALUES, max_size=5)
PRUNE_COMPILED = [compile_rule(rule) for rule in PRUNE_RULES]


def _outcome(evaluate: Any, data: Any) -> tuple[str, Any]:
    try:
        return ("ok", evaluate(data))
    except Exception as exc:
        return ("error", type(exc).__name__)


@settings(max_examples=300, deadline=None)
@given(DATA)
def test_pruned_data_gives_the_same_result(data: dict[str, Any]) -> None:
    for rule in PRUNE_COMPILED:
        # White box: _compiled is the engine's rule, evaluated on the whole data.
        unpruned = _outcome(rule._compiled.evaluate, data)
        pruned = _outcome(rule.evaluate, data)
        if unpruned[0] == "error":
            assert pruned[0] == "error", (rule.source, data)
        else:
            assert pruned == unpruned, (rule.source, data)


def test_pruning_is_used_for_plain_paths() -> None:
    assert compile_rule({"var": "contact.attributes.country"})._prune is not None
    assert compile_rule({"var": ""})._prune is None
    assert compile_rule({"var": {"cat": ["a", "b"]}})._prune is None
    deep = compile_rule({"var": "a.b.c.d.e.f.g.h.i.j"})
    data = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 7}}}}}}}}}}
    assert deep.evaluate(data) == 7


def test_pruning_keeps_odd_keys() -> None:
    key = "we'ird\"\\key\n'''"
    rule = compile_rule({"var": f"x.{key}"})
    assert rule.evaluate({"x": {key: 1, "other": 2}}) == 1


def test_non_dict_data_is_accepted() -> None:
    assert compile_rule({"var": 1}).evaluate(["apple", "banana"]) == "banana"  # type: ignore[arg-type]
    assert compile_rule({"var": "a"}).evaluate(None) is None  # type: ignore[arg-type]


def test_rule_repr_is_json() -> None:
    assert "contact.x" in repr(compile_rule({"var": "contact.x"}))
