"""Segment rules compiled to a SQL condition over `contacts c`, for SQLite and PostgreSQL.

Pure string building (no I/O). The condition selects exactly the contacts for which
`flows.segments.evaluate_segment` is true, including JsonLogic's loose typing: every value read
from a contact's JSON is examined by its JSON type at run time (json_type() on SQLite,
jsonb_typeof() on PostgreSQL), and each type gets the engine's own behaviour: strings compared
with numbers are parsed as numbers, `null` counts as 0 in `<`, a comparison that makes the engine
fail makes the whole rule false, and so on. Results for null, true, false and missing values are
taken from the engine itself at compile time. What cannot be compiled faithfully (arithmetic,
string operators, two contact values compared with each other, ...) is refused with a
SegmentRuleError naming the part.

Generated SQL holds no brace characters: backend/db.py passes the text through str.format, so
`{}` must mean a placeholder. Every string from the rule travels as a parameter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from flows.jsonlogic import RuleError, compile_rule, truthy
from flows.segments import (
    EVENT_OPERATORS,
    Aggregate,
    SegmentRule,
    SegmentRuleError,
    parse_aggregate,
)

__all__ = ["Dialect", "SqlCondition", "compile_segment"]

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class SqlCondition:
    """A boolean SQL expression over the contacts table aliased `c`, used as

        SELECT ... FROM contacts c {joins} WHERE c.workspace = {} AND ({sql})

    with the parameters `join_params`, the workspace, then `params` (backend/db.py style).
    `joins` is empty unless compiled with ``bulk=True``."""

    sql: str
    params: list[Any]  # for the `{}` placeholders of `sql`, in order
    joins: str = ""  # LEFT JOINs to write right after `FROM contacts c`
    join_params: list[Any] = field(default_factory=list)  # for the placeholders of `joins`


def compile_segment(
    rule: SegmentRule,
    dialect: Dialect,
    now: datetime,
    segments: Callable[[str], SegmentRule] | None = None,
    bulk: bool = False,
) -> SqlCondition:
    """The SQL condition for ``rule`` at ``now``; SegmentRuleError names a part it cannot
    compile (and an unknown or cyclic ``in_segment``).

    ``bulk=True`` is for queries over many contacts (counting, the periodic refresh): each
    event aggregate becomes one grouped pass over `events` joined to the contacts (in
    `joins`) instead of one correlated subquery per contact, which only pays off for a few
    contacts (`refresh_contacts`)."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    out = _Compiler(dialect, now.astimezone(UTC), segments, bulk)
    sql = out.segment(rule, ())
    joins = " ".join(out.joins)
    # joins come first in the query text, so their markers are numbered apart
    condition, join_params = out.finish(sql), out.finish(joins)
    return SqlCondition(condition.sql, condition.params, join_params.sql, join_params.params)


# --------------------------------------------------------------------------- values

# The JSON classes a value can have at run time. Missing, null, true and false hold one value
# each, so the engine itself says what an operator does with them.
_FINITE: Final = {"missing": None, "null": None, "true": True, "false": False}
_ORDER: Final = ("missing", "null", "true", "false", "number", "string", "array", "object")
_TRUE, _FALSE = "TRUE", "FALSE"
_GUARDED: Final = frozenset({"number", "string"})  # their SQL never fails on other classes
_COMPARISONS: Final = frozenset({"==", "!=", "===", "!==", "<", "<=", ">", ">="})
_FLIP: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=",
                "===": "===", "!==": "!=="}
_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_ -]*|[A-Za-z0-9_ -]*[A-Za-z_ -][A-Za-z0-9_ -]*")
# A string the engine reads as a number (besides "", which counts as 0 in <, <=, >, >=).
_NUMERIC_TEXT: Final = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9][0-9]?[0-9]?)?")
_MARKER: Final = re.compile("\x00([0-9]+)\x00")
_PG_NUMERIC: Final = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9][0-9]?[0-9]?)?$"


@dataclass(frozen=True)
class _Val:
    """A value computed per contact: the classes it can have and SQL to read each class."""

    classes: tuple[str, ...]
    is_: dict[str, str] = field(default_factory=dict)  # class -> SQL "has this class"
    num: str = ""  # SQL number, when the class is number
    text: str = ""  # SQL text, when the class is string
    nonempty: dict[str, str] = field(default_factory=dict)  # array/object -> SQL "not empty"
    has: Callable[[str], str] | None = None  # array: SQL "holds this JSON scalar" (given SQL)
    err: str | None = None  # SQL "evaluating it fails" (None: never)
    # PostgreSQL, indexed column: SQL "the column holds this JSON value at this path"
    # (`@>`, which the GIN jsonb_path_ops index serves), given the value as jsonb SQL
    holds: Callable[[str], str] | None = None


@dataclass(frozen=True)
class _Const:
    value: Any


@dataclass(frozen=True)
class _Bool:
    sql: str  # never NULL
    err: str | None = None


_Compiled = _Val | _Const | _Bool


def _and(*parts: str) -> str:
    kept = [p for p in parts if p != _TRUE]
    if _FALSE in kept:
        return _FALSE
    return " AND ".join(f"({p})" for p in kept) if kept else _TRUE


def _or(*parts: str | None) -> str | None:
    kept = [p for p in parts if p is not None and p != _FALSE]
    if _TRUE in kept:
        return _TRUE
    return " OR ".join(f"({p})" for p in kept) if kept else None


def _not(sql: str) -> str:
    return {_TRUE: _FALSE, _FALSE: _TRUE}.get(sql, f"NOT ({sql})")


def _engine(op: str, args: list[Any]) -> tuple[bool, Any]:
    """(failed, result) of the engine on literal arguments (scalars, lists of scalars)."""
    return _engine_on(op, _frozen(args))


def _frozen(value: Any) -> Any:
    """A hashable stand-in that keeps 1, 1.0 and True apart (they hash alike)."""
    if isinstance(value, list):
        return ("list", tuple(_frozen(item) for item in value))
    return (type(value).__name__, value)


def _thawed(value: Any) -> Any:
    kind, inner = value
    return [_thawed(item) for item in inner] if kind == "list" else inner


@functools.lru_cache(maxsize=4096)
def _engine_on(op: str, args: Any) -> tuple[bool, Any]:
    # Compiling a rule asks the engine about the same few literals again and again, and
    # segments are compiled on every incremental re-evaluation: remember the answers.
    try:
        return False, compile_rule({op: _thawed(args)}).evaluate({})
    except RuleError:
        return True, None


def _parse_number(text: str) -> float | None:
    return float(text) if _NUMERIC_TEXT.fullmatch(text) else None


# --------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(
        self, dialect: Dialect, now: datetime, segments: Callable[[str], SegmentRule] | None,
        bulk: bool = False,
    ) -> None:
        self.pg = dialect == "postgresql"
        self.now = now
        self.resolve = segments
        self.bulk = bulk
        self.params: list[Any] = []
        self.joins: list[str] = []  # bulk mode: one grouped pass over events per aggregate

    # -- parameters and literals

    def param(self, value: Any) -> str:
        """A marker for a parameter; :meth:`finish` turns markers into `{}` in text order."""
        self.params.append(value)
        return f"\x00{len(self.params) - 1}\x00"

    def finish(self, sql: str) -> SqlCondition:
        """``sql`` with its markers as `{}` and their parameters in text order."""
        params: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            params.append(self.params[int(match.group(1))])
            return "{}"

        return SqlCondition(_MARKER.sub(placeholder, sql), params)

    def text_param(self, value: str) -> str:
        return f"CAST({self.param(value)} AS TEXT)" if self.pg else self.param(value)

    def time_param(self, value: datetime) -> str:
        if self.pg:
            return f"CAST({self.param(value)} AS TIMESTAMPTZ)"
        return self.param(str(value.astimezone(UTC)))  # as events.at is stored (text)

    @staticmethod
    def number(value: float) -> str:
        if isinstance(value, bool):
            value = int(value)
        return repr(value) if isinstance(value, int) else repr(float(value))

    # -- segments

    def segment(self, rule: SegmentRule, stack: tuple[str, ...]) -> str:
        compiled = self.node(rule.source, "", stack, self.contact_var)
        result = self.truth(compiled, "")
        if result.err is None:
            return result.sql
        return _and(_not(result.err), result.sql)

    # -- the tree

    def node(
        self,
        node: Any,
        where: str,
        stack: tuple[str, ...],
        var: Callable[[Any, str], _Compiled],
    ) -> _Compiled:
        if isinstance(node, list):
            items = [self.node(item, f"{where}/{i}", stack, var) for i, item in enumerate(node)]
            if all(isinstance(item, _Const) for item in items):
                return _Const([item.value for item in items if isinstance(item, _Const)])
            raise SegmentRuleError(f"{_at(where)}: SQL takes lists of fixed values only")
        if not isinstance(node, dict) or len(node) != 1:
            return _Const(node)
        ((op, args),) = node.items()
        inner = f"{where}/{_token(op)}"
        if op in EVENT_OPERATORS or op == "in_segment":
            if var != self.contact_var:
                raise SegmentRuleError(f"{_at(inner)}: aggregates cannot nest in 'where'")
            return self.aggregate(parse_aggregate(op, args, where), inner, stack)
        items = args if isinstance(args, list) else [args]

        def sub(i: int) -> _Compiled:
            return self.node(items[i], f"{inner}/{i}", stack, var)

        if op == "var":
            return var(args, inner)
        if op in _COMPARISONS:
            if op in ("<", "<=") and len(items) == 3:
                first = self.compare(op, sub(0), sub(1), inner)
                second = self.compare(op, sub(1), sub(2), inner)
                return _Bool(_and(first.sql, second.sql),
                             _or(first.err, _and(first.sql, second.err) if second.err else None))
            if len(items) != 2:
                raise SegmentRuleError(f"{_at(inner)}: {op!r} takes two values in SQL")
            return self.compare(op, sub(0), sub(1), inner)
        if op in ("!", "!!"):
            if not items:
                raise SegmentRuleError(f"{_at(inner)}: {op!r} needs a value")
            truth = self.truth(sub(0), f"{inner}/0")
            return _Bool(_not(truth.sql) if op == "!" else truth.sql, truth.err)
        if op in ("and", "or"):
            return self.logic(op, [sub(i) for i in range(len(items))], inner)
        if op in ("if", "?:"):
            return self.branch([sub(i) for i in range(len(items))], inner)
        if op == "in":
            if len(items) != 2:
                raise SegmentRuleError(f"{_at(inner)}: 'in' takes two values")
            return self.contains(sub(0), sub(1), inner)
        if op == "missing":
            return self.missing(items, inner, var)
        if op == "missing_some":
            return self.missing_some(items, inner, var)
        raise SegmentRuleError(
            f"{_at(inner)}: {op!r} cannot be evaluated in SQL; segment rules can use var, "
            "==, !=, ===, !==, <, <=, >, >=, !, !!, and, or, if, in, missing and the "
            "aggregate operators"
        )

    # -- booleans

    def truth(self, value: _Compiled, where: str) -> _Bool:
        """JsonLogic truthiness as SQL that is never NULL."""
        if isinstance(value, _Bool):
            return value
        if isinstance(value, _Const):
            return _Bool(_TRUE if truthy(value.value) else _FALSE)

        def by_class(cls: str) -> tuple[str, str | None]:
            if cls in _FINITE:
                return (_TRUE if cls == "true" else _FALSE), None
            if cls == "number":
                return f"{value.num} <> 0", None
            if cls == "string":
                return f"{value.text} <> ''", None
            return value.nonempty[cls], None

        return self.cases(value, by_class)

    def logic(self, op: str, items: list[_Compiled], where: str) -> _Bool:
        if not items:
            raise SegmentRuleError(f"{_at(where)}: {op!r} needs at least one value")
        truths = [self.truth(item, f"{where}/{i}") for i, item in enumerate(items)]
        sql = truths[-1].sql
        err = truths[-1].err
        for truth in reversed(truths[:-1]):  # lazy: a later part runs only if reached
            goes_on = truth.sql if op == "and" else _not(truth.sql)
            err = _or(truth.err, _and(goes_on, err) if err else None)
            sql = _and(truth.sql, sql) if op == "and" else _not(_and(_not(truth.sql), _not(sql)))
        return _Bool(sql, err)

    def branch(self, items: list[_Compiled], where: str) -> _Bool:
        if len(items) < 2:
            raise SegmentRuleError(f"{_at(where)}: 'if' needs a condition and a value")
        if len(items) % 2 == 0:
            items = [*items, _Const(None)]
        result = self.truth(items[-1], where)
        for i in range(len(items) - 3, -1, -2):
            cond = self.truth(items[i], f"{where}/{i}")
            then = self.truth(items[i + 1], f"{where}/{i + 1}")
            sql = f"CASE WHEN {cond.sql} THEN {then.sql} ELSE {result.sql} END"
            err = _or(cond.err,
                      f"CASE WHEN {cond.sql} THEN {then.err or _FALSE} "
                      f"ELSE {result.err or _FALSE} END" if then.err or result.err else None)
            result = _Bool(sql, err)
        return result

    def cases(self, value: _Val, by_class: Callable[[str], tuple[str, str | None]]) -> _Bool:
        """A boolean decided per run-time class of ``value``: the most common outcome is the
        default, the others are tested for."""
        results = {cls: by_class(cls) for cls in value.classes}
        outcomes = list(results.values())
        default = max(dict.fromkeys(outcomes), key=outcomes.count)
        others = [(cls, result) for cls, result in results.items() if result != default]
        if not others:
            return _Bool(default[0], _or(value.err, default[1]))
        if default == (_FALSE, None) and len(others) == 1 and others[0][0] in _GUARDED:
            cls, (sql, err) = others[0]  # numbers and strings read safely under AND
            if err is None:
                # a class test is NULL where the value is absent: make it FALSE
                return _Bool(_and(f"COALESCE({value.is_[cls]}, FALSE)", sql), value.err)
        sql = ("CASE " + " ".join(f"WHEN {value.is_[cls]} THEN {result[0]}"
                                  for cls, result in others) + f" ELSE {default[0]} END")
        err = None
        if default[1] is not None or any(result[1] is not None for _, result in others):
            err = ("CASE " + " ".join(f"WHEN {value.is_[cls]} THEN {result[1] or _FALSE}"
                                      for cls, result in others)
                   + f" ELSE {default[1] or _FALSE} END")
        return _Bool(sql, _or(value.err, err))

    # -- comparisons

    def compare(self, op: str, left: _Compiled, right: _Compiled, where: str) -> _Bool:
        if isinstance(left, _Const) and isinstance(right, _Const):
            for literal in (left.value, right.value):
                self.scalar(literal, where)
            failed, result = _engine(op, [left.value, right.value])
            return _Bool(_FALSE, _TRUE) if failed else _Bool(_TRUE if result else _FALSE)
        if isinstance(left, _Const):
            left, right, op = right, left, _FLIP[op]
        if not isinstance(right, _Const):
            raise SegmentRuleError(
                f"{_at(where)}: SQL can compare a value with a fixed value only, "
                "not two values read from the contact"
            )
        literal = self.scalar(right.value, where)
        value = self.as_value(left)

        def by_class(cls: str) -> tuple[str, str | None]:
            if cls in _FINITE:
                failed, result = _engine(op, [_FINITE[cls], literal])
                return (_FALSE, _TRUE) if failed else (_TRUE if result else _FALSE, None)
            if cls == "number":
                return self.number_vs(op, value.num, literal)
            if cls == "string":
                return self.string_vs(op, value.text, literal)
            if op in ("==", "==="):
                return _FALSE, None
            if op in ("!=", "!=="):
                return _TRUE, None
            return _FALSE, _TRUE  # the engine cannot order arrays and objects

        result = self.cases(value, by_class)
        if (value.holds is not None and op in ("==", "===") and isinstance(literal, str)
                and all(by_class(cls) == (_FALSE, None) for cls in value.classes
                        if cls != "string")):
            # Only the JSON string itself equals this literal, so the contact holds it: a
            # containment test the GIN index answers, ahead of the exact test it implies.
            return _Bool(_and(value.holds(f"to_jsonb({self.text_param(literal)})"),
                              result.sql), result.err)
        return result

    def scalar(self, literal: Any, where: str) -> Any:
        if isinstance(literal, list | dict):
            raise SegmentRuleError(f"{_at(where)}: SQL compares with numbers, strings, "
                                   "true, false or null only, not a list or an object")
        return literal

    def number_vs(self, op: str, num: str, literal: Any) -> tuple[str, str | None]:
        strict = op in ("===", "!==")
        target: float | None
        if strict:
            target = literal if _is_number(literal) else None
        elif op in ("==", "!="):
            if isinstance(literal, str):
                target = _parse_number(literal) if literal else None
            else:
                target = 0 if literal is None else literal
        else:
            if isinstance(literal, str):
                target = 0 if literal == "" else _parse_number(literal)
                if target is None:
                    return _FALSE, _TRUE
            else:
                target = 0 if literal is None else literal
        if op in ("==", "===", "!=", "!=="):
            equal = _FALSE if target is None else f"{num} = {self.number(target)}"
            return (equal if op in ("==", "===") else _not(equal)), None
        assert target is not None
        return f"{num} {op} {self.number(target)}", None

    def string_vs(self, op: str, text: str, literal: Any) -> tuple[str, str | None]:
        if op in ("===", "!=="):
            equal = (f"{text} = {self.text_param(literal)}" if isinstance(literal, str)
                     else _FALSE)
            return (equal if op == "===" else _not(equal)), None
        if op in ("==", "!="):
            if isinstance(literal, str):
                equal = f"{text} = {self.text_param(literal)}"
            elif literal is None:
                equal = f"{text} = ''"
            elif isinstance(literal, bool):
                equal = _FALSE
            else:
                # CASE, not AND: PostgreSQL may evaluate AND's operands in any order
                equal = (f"CASE WHEN {text} <> '' AND {self.is_numeric(text)} THEN "
                         f"{self.to_number(text)} = {self.number(literal)} ELSE FALSE END")
            return (equal if op == "==" else _not(equal)), None
        if isinstance(literal, str):
            collate = ' COLLATE "C"' if self.pg else ""
            return f"{text}{collate} {op} {self.text_param(literal)}{collate}", None
        target = self.number(0 if literal is None else literal)
        numeric = self.is_numeric(text)
        sql = (f"CASE WHEN {text} = '' THEN 0 {op} {target} "
               f"WHEN {numeric} THEN {self.to_number(text)} {op} {target} ELSE FALSE END")
        if isinstance(literal, bool) or literal is None:
            return sql, None  # the engine answers false for a non-number here
        return sql, f"{text} <> '' AND NOT ({numeric})"

    def is_numeric(self, text: str) -> str:
        if self.pg:
            return f"{text} ~ '{_PG_NUMERIC}'"
        # SQLite has no regular expressions: take the sign, mantissa and exponent apart.
        return (
            "(SELECT m NOT IN ('', '.') AND m NOT GLOB '*[^0-9.]*' "
            "AND length(m) - length(replace(m, '.', '')) <= 1 "
            "AND (x IS NULL OR (length(x) BETWEEN 1 AND 3 AND x NOT GLOB '*[^0-9]*')) FROM "
            "(SELECT CASE WHEN p > 0 THEN substr(s, 1, p - 1) ELSE s END AS m, "
            "CASE WHEN p = 0 THEN NULL WHEN substr(s, p + 1, 1) IN ('+', '-') "
            "THEN substr(s, p + 2) ELSE substr(s, p + 1) END AS x FROM "
            "(SELECT s, instr(lower(s), 'e') AS p FROM "
            "(SELECT CASE WHEN substr(t, 1, 1) IN ('+', '-') THEN substr(t, 2) ELSE t END AS s "
            f"FROM (SELECT {text} AS t)))))"
        )

    def to_number(self, text: str) -> str:
        return f"CAST({text} AS NUMERIC)" if self.pg else f"CAST({text} AS REAL)"

    def as_value(self, compiled: _Compiled) -> _Val:
        if isinstance(compiled, _Val):
            return compiled
        if isinstance(compiled, _Bool):
            return _Val(("true", "false"), {"true": compiled.sql, "false": _not(compiled.sql)},
                        err=compiled.err)
        raise AssertionError("constants are handled by the caller")

    # -- in

    def contains(self, needle: _Compiled, haystack: _Compiled, where: str) -> _Bool:
        if isinstance(needle, _Const) and isinstance(haystack, _Const):
            failed, result = _engine("in", [needle.value, haystack.value])
            return _Bool(_FALSE, _TRUE) if failed else _Bool(_TRUE if result else _FALSE)
        if isinstance(haystack, _Const):
            items = haystack.value
            value = self.as_value(needle)
            if isinstance(items, str):
                def in_text(cls: str) -> tuple[str, str | None]:
                    if cls in _FINITE:
                        failed, result = _engine("in", [_FINITE[cls], items])
                        return (_FALSE, _TRUE) if failed else (_TRUE if result else _FALSE, None)
                    if cls == "string":
                        return self.text_in(self.text_param(items), value.text), None
                    return _FALSE, None
                return self.cases(value, in_text)
            if not isinstance(items, list) or any(isinstance(i, list | dict) for i in items):
                raise SegmentRuleError(f"{_at(where)}/1: SQL can look for a value in a text "
                                       "or in a list of numbers, strings, true, false, null")

            def in_list(cls: str) -> tuple[str, str | None]:
                if cls in _FINITE:
                    failed, result = _engine("in", [_FINITE[cls], items])
                    return (_FALSE, _TRUE) if failed else (_TRUE if result else _FALSE, None)
                if cls == "number":
                    nums = [self.number(i) for i in items if _is_number(i)]
                    return (f"{value.num} IN ({', '.join(nums)})" if nums else _FALSE), None
                if cls == "string":
                    texts = [self.text_param(i) for i in items if isinstance(i, str)]
                    return (f"{value.text} IN ({', '.join(texts)})" if texts else _FALSE), None
                return _FALSE, None
            return self.cases(value, in_list)
        if not isinstance(needle, _Const):
            raise SegmentRuleError(f"{_at(where)}: SQL can look for a fixed value only, "
                                   "not a value read from the contact")
        target = needle.value
        if isinstance(target, list | dict):
            raise SegmentRuleError(f"{_at(where)}/0: SQL can look for a number, a string, "
                                   "true, false or null only")
        value = self.as_value(haystack)

        def holds(cls: str) -> tuple[str, str | None]:
            if cls in _FINITE:
                failed, result = _engine("in", [target, _FINITE[cls]])
                return (_FALSE, _TRUE) if failed else (_TRUE if result else _FALSE, None)
            if cls == "string":
                if not isinstance(target, str):
                    return _FALSE, None  # the engine finds only strings in a string
                return self.text_in(value.text, self.text_param(target)), None
            if cls == "array" and value.has is not None:
                return value.has(self.json_scalar(target)), None
            return _FALSE, None

        return self.cases(value, holds)

    def text_in(self, haystack: str, needle: str) -> str:
        return f"instr({haystack}, {needle}) > 0" if not self.pg else \
            f"strpos({haystack}, {needle}) > 0"

    def json_scalar(self, value: Any) -> str:
        """A JSON scalar as SQL comparable with an array element (see ``_json_value.has``)."""
        if self.pg:
            if isinstance(value, str):
                return f"to_jsonb({self.text_param(value)})"
            if value is None:
                return "'null'::jsonb"
            if isinstance(value, bool):
                return "'true'::jsonb" if value else "'false'::jsonb"
            return f"to_jsonb({self.number(value)})"
        if isinstance(value, str):
            return f"'text' = type AND value = {self.text_param(value)}"
        if value is None:
            return "type = 'null'"
        if isinstance(value, bool):
            return f"type = '{'true' if value else 'false'}'"
        return f"type IN ('integer', 'real') AND value = {self.number(value)}"

    # -- missing

    def missing(self, items: list[Any], where: str, var: Callable[[Any, str], _Compiled]) -> _Bool:
        found = _or(*self.absent(items, where, var))
        return _Bool(found or _FALSE)

    def missing_some(
        self, items: list[Any], where: str, var: Callable[[Any, str], _Compiled]
    ) -> _Bool:
        """True when fewer than the needed number are present (and so some are missing)."""
        if len(items) != 2 or not _is_number(items[0]) or not isinstance(items[1], list):
            raise SegmentRuleError(f"{_at(where)}: write [how many, [names...]]")
        absent = self.absent(items[1], f"{where}/1", var)
        if not absent:
            return _Bool(_FALSE)
        missing_count = " + ".join(f"(CASE WHEN {a} THEN 1 ELSE 0 END)" for a in absent)
        return _Bool(f"{len(absent)} - ({missing_count}) < {self.number(items[0])} "
                     f"AND ({missing_count}) > 0")

    def absent(
        self, items: list[Any], where: str, var: Callable[[Any, str], _Compiled]
    ) -> list[str]:
        """SQL "this variable is absent" per name (the engine's `missing`)."""
        if len(items) == 1 and isinstance(items[0], list):
            items = items[0]
        conditions = []
        for i, path in enumerate(items):
            if not isinstance(path, str):
                raise SegmentRuleError(f"{_at(where)}/{i}: SQL needs a fixed variable name here")
            value = var(path, f"{where}/{i}")
            if isinstance(value, _Const):
                conditions.append(_FALSE if value.value is not None else _TRUE)
            elif isinstance(value, _Val):
                conditions.append(value.is_.get("missing", _FALSE) if "missing" in value.classes
                                  else _FALSE)
        return conditions

    # -- variables

    def contact_var(self, args: Any, where: str) -> _Compiled:
        path = self.var_path(args, where)
        if path == "":
            raise SegmentRuleError(f"{_at(where)}: SQL cannot read the whole data")
        parts = path.split(".")
        if parts[0] != "contact" or len(parts) == 1:
            raise SegmentRuleError(f"{_at(where)}: SQL reads contact fields only "
                                   "(contact.attributes.country, contact.email, ...)")
        column, keys = parts[1] if len(parts) > 1 else "", parts[2:]
        if column in ("id", "email", "phone", "timezone"):
            sql_column = "c.key" if column == "id" else f"c.{column}"
            if keys:
                return _Const(None)  # a text has no fields: the engine reads null
            if column == "id":
                return _Val(("string",), text=sql_column)
            return _Val(("missing", "string"), {"missing": f"{sql_column} IS NULL",
                                                "string": f"{sql_column} IS NOT NULL"},
                        text=sql_column)
        if column in ("attributes", "consent", "preferences", "chat", "push_tokens"):
            return self.json_value(f"c.{column}", keys, where,
                                   nullable=column in ("chat", "push_tokens"))
        return _Const(None)  # not a contact field: the engine reads null

    def event_var(self, args: Any, where: str) -> _Compiled:
        path = self.var_path(args, where)
        parts = path.split(".")
        if parts == ["name"]:
            return _Val(("string",), text="e.name")
        if parts[0] == "properties":
            return self.json_value("e.properties", parts[1:], where, nullable=False)
        if parts[0] in ("at", ""):
            raise SegmentRuleError(f"{_at(where)}: SQL can read the event's name and "
                                   "properties in 'where', not {path!r}")
        return _Const(None)

    def var_path(self, args: Any, where: str) -> str:
        if isinstance(args, list):
            if len(args) != 1:
                raise SegmentRuleError(f"{_at(where)}: SQL does not take a default value here")
            args = args[0]
        if isinstance(args, int) and not isinstance(args, bool):
            args = str(args)
        if not isinstance(args, str):
            raise SegmentRuleError(f"{_at(where)}: SQL needs a fixed variable name here")
        return args

    def json_value(self, column: str, keys: Sequence[str], where: str, nullable: bool) -> _Val:
        for key in keys:
            if not _KEY.fullmatch(key) or key.strip() != key:
                raise SegmentRuleError(
                    f"{_at(where)}: SQL reads field names made of letters, digits, '_', '-' "
                    f"and inner spaces, not {key!r}"
                )
        classes: tuple[str, ...] = _ORDER
        if not keys:  # a whole column: attributes, consent, ... are objects, never absent
            classes = ("array",) if column == "c.push_tokens" else ("object",)
            if nullable:
                classes = ("missing", *classes)
        if self.pg:
            ref = column + "".join(f" -> '{k}'" for k in keys)
            text = (column + "".join(f" -> '{k}'" for k in keys[:-1]) + f" ->> '{keys[-1]}'"
                    if keys else "NULL")
            kind = f"jsonb_typeof({ref})"
            is_ = {"missing": f"{ref} IS NULL", "null": f"{kind} = 'null'",
                   "true": f"{ref} = 'true'::jsonb", "false": f"{ref} = 'false'::jsonb",
                   "number": f"{kind} = 'number'", "string": f"{kind} = 'string'",
                   "array": f"{kind} = 'array'", "object": f"{kind} = 'object'"}
            holds = None
            if column == "c.attributes" and keys:  # the column 0007_segment_indexes indexes

                def holds(value: str) -> str:
                    for key in reversed(keys):
                        value = f"jsonb_build_object('{key}', {value})"
                    return f"{column} @> {value}"

            return _Val(
                # guarded: PostgreSQL may evaluate AND's operands in any order
                classes, is_, num=f"(CASE WHEN {kind} = 'number' THEN CAST({text} AS NUMERIC) END)",
                holds=holds,
                text=text,
                nonempty={"array": f"jsonb_array_length({ref}) > 0",
                          "object": f"{ref} <> jsonb_build_object()"},
                has=lambda scalar: f"EXISTS (SELECT 1 FROM jsonb_array_elements({ref}) AS el(x)"
                                   f" WHERE el.x = {scalar})",
            )
        path = "'$" + "".join(f'."{k}"' for k in keys) + "'"
        kind = f"json_type({column}, {path})"
        got = f"json_extract({column}, {path})"
        is_ = {"missing": f"{kind} IS NULL", "null": f"{kind} = 'null'",
               "true": f"{kind} = 'true'", "false": f"{kind} = 'false'",
               "number": f"{kind} IN ('integer', 'real')", "string": f"{kind} = 'text'",
               "array": f"{kind} = 'array'", "object": f"{kind} = 'object'"}
        return _Val(
            classes, is_, num=got, text=got,
            nonempty={"array": f"json_array_length({column}, {path}) > 0",
                      "object": f"length({got}) > 2"},
            has=lambda scalar: f"EXISTS (SELECT 1 FROM json_each({column}, {path}) "
                               f"WHERE {scalar})",
        )

    # -- aggregates

    def aggregate(self, aggregate: Aggregate, where: str, stack: tuple[str, ...]) -> _Compiled:
        if aggregate.operator == "in_segment":
            key = aggregate.segment
            if key in stack:
                raise SegmentRuleError(
                    f"{_at(where)}: segments include each other in a cycle: "
                    f"{' -> '.join((*stack, key))}"
                )
            if self.resolve is None:
                raise SegmentRuleError(f"{_at(where)}: segment {key!r} is not defined")
            try:
                other = self.resolve(key)
            except LookupError as exc:
                raise SegmentRuleError(f"{_at(where)}: {exc}") from None
            return _Bool(self.segment(other, (*stack, key)))
        conditions = [f"e.name = {self.text_param(aggregate.name)}",
                      f"e.at <= {self.time_param(self.now)}"]
        if aggregate.days:
            since = self.now - timedelta(days=aggregate.days)
            conditions.append(f"e.at >= {self.time_param(since)}")
        if aggregate.filter is not None:
            test = self.node(aggregate.filter.source, f"{where}/where", (), self.event_var)
            truth = self.truth(test, f"{where}/where")
            conditions.append(truth.sql if truth.err is None else
                              _and(_not(truth.err), truth.sql))
        if self.bulk:
            # One grouped pass over the events for all contacts; a contact without events
            # has no row (count 0, no last time). The workspace reaches the grouped query
            # through the join's equality with c.workspace.
            alias = f"a{len(self.joins)}"
            self.joins.append(
                f"LEFT JOIN (SELECT e.workspace, e.contact, count(*) AS n, max(e.at) AS last "
                f"FROM events e WHERE {' AND '.join(conditions)} "
                f"GROUP BY e.workspace, e.contact) {alias} "
                f"ON {alias}.workspace = c.workspace AND {alias}.contact = c.key")
            count, last = f"COALESCE({alias}.n, 0)", f"{alias}.last"

            def read(expression: str) -> str:
                return f"({expression})"
        else:
            scope = (f"FROM events e WHERE e.workspace = c.workspace AND e.contact = c.key "
                     f"AND {' AND '.join(conditions)}")
            count, last = "count(*)", "max(e.at)"

            def read(expression: str) -> str:
                return f"(SELECT {expression} {scope})"
        if aggregate.operator == "event_count":
            return _Val(("number",), num=read(count))
        if aggregate.operator == "days_since_event":
            if self.pg:
                now = self.time_param(self.now)
                got = read(f"floor((extract(epoch FROM {now}) - extract(epoch FROM "
                           f"{last})) / 86400)")
            else:
                now_us = int(self.now.timestamp()) * 1_000_000 + self.now.microsecond
                got = read(f"({now_us} - (unixepoch(substr({last}, 1, 19)) * 1000000 + "
                           f"CASE WHEN substr({last}, 20, 1) = '.' THEN "
                           f"CAST(substr({last}, 21, 6) AS INTEGER) ELSE 0 END)) / 86400000000")
            return _Val(("null", "number"), {"null": f"{got} IS NULL",
                                             "number": f"{got} IS NOT NULL"}, num=got)
        if self.pg:
            utc = f"{last} AT TIME ZONE 'UTC'"
            got = read(f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
                       f"date_trunc('second', {utc}) = {utc} THEN '' ELSE to_char({utc}, '.US') "
                       f"END || 'Z'")
        else:
            got = read(f"replace(replace({last}, ' ', 'T'), '+00:00', 'Z')")
        return _Val(("null", "string"), {"null": f"{got} IS NULL",
                                         "string": f"{got} IS NOT NULL"}, text=got)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _at(where: str) -> str:
    return f"at {where}" if where else "at the top of the rule"


def _token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
