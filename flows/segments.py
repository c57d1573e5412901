"""Segment rules: JsonLogic over the contact, plus named operators for event aggregates.

A segment rule is JsonLogic (see :mod:`flows.jsonlogic`) that reads ``contact.*`` and may use
these operators (docs/segments.md has examples):

* ``{"event_count": {"name": "purchased", "days": 90, "where": RULE}}``: how many events of
  that name happened in the last ``days`` days (``days`` optional: ever), counting only events
  whose ``where`` rule (JsonLogic over ``{"name", "at", "properties"}``) is truthy;
* ``{"days_since_event": {"name": "email_opened", "where": RULE}}``: whole days since the last
  such event (``floor((now - at) / 1 day)``), ``null`` if it never happened;
* ``{"last_event_at": {"name": "email_opened", "where": RULE}}``: when it last happened, as UTC
  ISO 8601 text (``2026-01-01T09:00:00Z``), ``null`` if never;
* ``{"in_segment": "vip"}``: whether the contact belongs to segment ``vip``.

"Never in the last 21 days" is ``{"==": [{"event_count": {..., "days": 21}}, 0]}``. Only events
at or before ``now`` count (a dry run at a virtual time ignores later ones).

Evaluation computes every aggregate first and hands its value to the JsonLogic engine as a
variable, so the rest of the rule keeps exactly flows.jsonlogic's semantics. A rule that fails
on a contact's data (``"abc" > 3``) does not match that contact; an event whose ``where`` fails
is not counted. The SQL compiler (backend/segments/sql.py) agrees with both.

This module is pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from flows.jsonlogic import Rule, RuleError, compile_rule, truthy
from flows.timecalc import format_instant

__all__ = [
    "AGGREGATE_OPERATORS",
    "EVENT_OPERATORS",
    "Aggregate",
    "Dependencies",
    "SegmentResolver",
    "SegmentRule",
    "SegmentRuleError",
    "evaluate_segment",
    "parse_aggregate",
    "parse_segment_rule",
]

EventOperator = Literal["event_count", "days_since_event", "last_event_at"]
EVENT_OPERATORS: Final[frozenset[str]] = frozenset(
    {"event_count", "days_since_event", "last_event_at"}
)
AGGREGATE_OPERATORS: Final[frozenset[str]] = EVENT_OPERATORS | {"in_segment"}
# The data key under which aggregate values reach the engine; rules only see "contact".
_SLOT: Final = "__segment_aggregates__"
_DAY: Final = timedelta(days=1)
# Operators whose later arguments read the current element, not the contact.
_SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})


class SegmentRuleError(ValueError):
    """A segment rule is invalid or cannot be compiled; the message names the part,
    e.g. ``at /and/1/event_count: 'days' must be a positive whole number``."""


@dataclass(frozen=True)
class Dependencies:
    """What a rule's result depends on: membership maintenance re-evaluates on these."""

    contact: bool  # reads contact fields (attributes, email, consent, ...)
    events: frozenset[str]  # event names its aggregates read
    segments: frozenset[str]  # other segment keys it reads (in_segment)
    time_based: bool  # result can change with the mere passing of time


@dataclass(frozen=True)
class Aggregate:
    """One aggregate operator of a rule, parsed."""

    operator: str  # event_count | days_since_event | last_event_at | in_segment
    where: str  # JSON pointer of the operator in the rule, e.g. /and/1/>=/0
    name: str = ""  # the event name (event operators)
    days: int | None = None  # event_count's window
    filter: Rule | None = None  # the `where` rule over the event
    segment: str = ""  # in_segment's key


SegmentResolver = Callable[[str], "SegmentRule"]


class SegmentRule:
    """A validated segment rule, compiled once for fast repeated evaluation."""

    __slots__ = ("_rule", "aggregates", "dependencies", "source")

    source: Any
    """The JSON rule as given."""
    dependencies: Dependencies
    aggregates: tuple[Aggregate, ...]
    """Its aggregate operators, in rule order (index i is variable ``a{i}``)."""

    def __init__(
        self, source: Any, rule: Rule, aggregates: tuple[Aggregate, ...], deps: Dependencies
    ) -> None:
        self.source = source
        self._rule = rule
        self.aggregates = aggregates
        self.dependencies = deps

    def __repr__(self) -> str:
        return f"SegmentRule({self.source!r})"


def parse_segment_rule(rule: Any) -> SegmentRule:
    """Validate ``rule``; :class:`SegmentRuleError` names the first bad part."""
    aggregates: list[Aggregate] = []
    reads_contact = [False]
    try:
        engine_source = _replace(rule, "", aggregates, reads_contact, scoped=False)
    except RecursionError:
        raise SegmentRuleError("the rule is nested too deeply") from None
    try:
        compiled = compile_rule(engine_source)
    except RuleError as exc:
        raise SegmentRuleError(str(exc)) from None
    deps = Dependencies(
        contact=reads_contact[0],
        events=frozenset(a.name for a in aggregates if a.operator in EVENT_OPERATORS),
        segments=frozenset(a.segment for a in aggregates if a.operator == "in_segment"),
        time_based=any(
            a.operator == "days_since_event" or (a.operator == "event_count" and a.days)
            for a in aggregates
        ),
    )
    return SegmentRule(rule, compiled, tuple(aggregates), deps)


def parse_aggregate(operator: str, args: Any, where: str) -> Aggregate:
    """One aggregate operator's arguments, checked (``where``: its place, for messages)."""
    at = f"at {where}/{operator}"
    if operator == "in_segment":
        if isinstance(args, list) and len(args) == 1:
            args = args[0]
        if not isinstance(args, str) or not args:
            raise SegmentRuleError(f'{at}: give a segment key, e.g. {{"in_segment": "vip"}}')
        return Aggregate(operator, where, segment=args)
    if not isinstance(args, dict):
        raise SegmentRuleError(
            f'{at}: give an object, e.g. {{"{operator}": {{"name": "purchased"}}}}'
        )
    allowed = {"name", "where", "days"} if operator == "event_count" else {"name", "where"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise SegmentRuleError(
            f"{at}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise SegmentRuleError(f"{at}: 'name' must be the event name, a non-empty string")
    days = args.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise SegmentRuleError(f"{at}: 'days' must be a positive whole number, not {days!r}")
    event_filter = None
    if "where" in args:
        try:
            event_filter = compile_rule(args["where"])
        except RuleError as exc:
            raise SegmentRuleError(f"{at}/where: {exc}") from None
    return Aggregate(operator, where, name=name, days=days, filter=event_filter)


def _replace(
    node: Any, where: str, aggregates: list[Aggregate], reads_contact: list[bool], scoped: bool
) -> Any:
    """The rule with each aggregate swapped for a variable; checks variables read the contact."""
    if isinstance(node, list):
        return [
            _replace(item, f"{where}/{i}", aggregates, reads_contact, scoped)
            for i, item in enumerate(node)
        ]
    if not isinstance(node, dict) or len(node) != 1:
        return node  # a literal (flows.jsonlogic checks it is JSON)
    ((op, args),) = node.items()
    if op in AGGREGATE_OPERATORS:
        aggregates.append(parse_aggregate(op, args, where))
        return {"var": f"{_SLOT}.a{len(aggregates) - 1}"}
    inner = f"{where}/{_token(op)}"
    if op == "var" and not scoped:
        path = args[0] if isinstance(args, list) and args else args
        if isinstance(path, str) and path != "contact" and not path.startswith("contact."):
            raise SegmentRuleError(
                f"at {inner}: a segment rule reads the contact only "
                f"(e.g. contact.attributes.country), not {path!r}"
            )
        reads_contact[0] = True
    if op in _SCOPED and isinstance(args, list) and args:
        first = _replace(args[0], f"{inner}/0", aggregates, reads_contact, scoped)
        rest = [
            _replace(item, f"{inner}/{i}", aggregates, reads_contact, True)
            for i, item in enumerate(args[1:], start=1)
        ]
        return {op: [first, *rest]}
    return {op: _replace(args, inner, aggregates, reads_contact, scoped)}


def _token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


# --------------------------------------------------------------------------- evaluation


def evaluate_segment(
    rule: SegmentRule,
    contact: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    segments: SegmentResolver | None = None,
) -> bool:
    """Whether ``contact`` (with its ``events``: ``{"name", "at", "properties"}``, ``at``
    aware) belongs to the segment at ``now``. ``segments`` resolves ``in_segment`` keys
    (raising LookupError for an unknown key); a cycle of segments raises SegmentRuleError."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return _evaluate(rule, contact, events, now, segments, ())


def _evaluate(
    rule: SegmentRule,
    contact: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    segments: SegmentResolver | None,
    stack: tuple[str, ...],
) -> bool:
    values: dict[str, Any] = {}
    for index, aggregate in enumerate(rule.aggregates):
        if aggregate.operator == "in_segment":
            key = aggregate.segment
            if key in stack:
                raise SegmentRuleError(
                    f"segments include each other in a cycle: {' -> '.join((*stack, key))}"
                )
            if segments is None:
                raise LookupError(f"segment {key!r} is not defined (no segments were given)")
            other = segments(key)
            value: Any = _evaluate(other, contact, events, now, segments, (*stack, key))
        else:
            value = _event_aggregate(aggregate, events, now)
        values[f"a{index}"] = value
    data = {"contact": contact, _SLOT: values}
    try:
        return truthy(rule._rule.evaluate(data))
    except RuleError:
        return False  # the rule fails on this contact's data: not a member (SQL agrees)


def _event_aggregate(
    aggregate: Aggregate, events: Sequence[Mapping[str, Any]], now: datetime
) -> Any:
    since = now - timedelta(days=aggregate.days) if aggregate.days else None
    count = 0
    last: datetime | None = None
    for event in events:
        if event.get("name") != aggregate.name:
            continue
        at = event["at"]
        if at > now or (since is not None and at < since):
            continue
        if aggregate.filter is not None and not _matches(aggregate.filter, event, at):
            continue
        count += 1
        if last is None or at > last:
            last = at
    if aggregate.operator == "event_count":
        return count
    if last is None:
        return None
    if aggregate.operator == "days_since_event":
        return (now - last) // _DAY
    return format_instant(last.astimezone(UTC))


def _matches(event_filter: Rule, event: Mapping[str, Any], at: datetime) -> bool:
    data = {"name": event.get("name"), "at": format_instant(at),
            "properties": event.get("properties") or {}}
    try:
        return event_filter.test(data)
    except RuleError:
        return False  # an event the filter fails on does not count (SQL agrees)
