"""The contract between the flow language and node kinds.

`flows` knows nothing about particular kinds: the catalogue is handed to the compiler, so the
language is testable with a fake catalogue and a new kind is one module in `nodes/`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from flows.jsonlogic import Rule, RuleError, compile_rule
from flows.outcomes import Outcome, TriggerSpec
from flows.policy import NO_FACTS, NO_POLICY, DeliveryFacts, Policy
from flows.templating import Template, TemplateError, compile_template
from flows.timecalc import Duration, TimeError, parse_duration, zone

ConfigT = TypeVar("ConfigT", bound=msgspec.Struct)

# Decides whether a contact (as JsonLogic data `{contact, event, vars}`) belongs to a segment.
SegmentLookup = Callable[[str, Mapping[str, Any]], bool]


def no_segments(key: str, data: Mapping[str, Any]) -> bool:
    raise LookupError(f"segment {key!r} is not defined")


class StepContext(msgspec.Struct, gc=False):
    """Everything a step may look at. Steps read it; they never change it."""

    node_id: str
    contact: dict[str, Any]
    event: dict[str, Any] | None
    vars: dict[str, Any]
    now: datetime
    timezone: ZoneInfo  # the flow's time zone: the fallback for contacts without one
    chosen_channel: str | None
    seed: int
    segments: SegmentLookup = no_segments
    # The delivery policy and what the shell knows for it (sends so far, suppressions). The
    # defaults allow everything that has consent and an address.
    policy: Policy = NO_POLICY
    facts: DeliveryFacts = NO_FACTS

    def data(self) -> dict[str, Any]:
        """The variables rules and templates see."""
        return {"contact": self.contact, "event": self.event, "vars": self.vars}

    def contact_zone(self) -> ZoneInfo:
        name = self.contact.get("timezone")
        if isinstance(name, str) and name:
            try:
                return zone(name)
            except TimeError:
                return self.timezone
        return self.timezone


class NodeProgram(Protocol):
    """A node's config compiled for fast, repeated steps."""

    def step(self, ctx: StepContext) -> Outcome: ...

    def accepts(self, ctx: StepContext) -> bool:
        """For triggers and event waits: does `ctx.event` qualify?"""
        ...

    @property
    def trigger(self) -> TriggerSpec | None: ...

    @property
    def filters(self) -> bool:
        """False when `accepts` is always true: shells then skip building a context for it."""
        ...


class Program:
    """Base for node programs: accepts everything and is not a trigger."""

    trigger: TriggerSpec | None = None
    filters: bool = False

    def step(self, ctx: StepContext) -> Outcome:
        raise NotImplementedError

    def accepts(self, ctx: StepContext) -> bool:
        return True


class ConfigCheck:
    """Collects every problem in one node's config, so users see them all at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def rule(self, where: str, rule: Any) -> Rule | None:
        try:
            return compile_rule(rule)
        except RuleError as exc:
            self.problem(f"{where}: {exc}")
            return None

    def template(self, where: str, source: str) -> Template | None:
        try:
            return compile_template(source)
        except TemplateError as exc:
            self.problem(f"{where}: {exc}")
            return None

    def duration(self, where: str, text: str) -> Duration | None:
        try:
            return parse_duration(text)
        except TimeError as exc:
            self.problem(f"{where}: {exc}")
            return None

    def zone(self, where: str, name: str) -> ZoneInfo | None:
        try:
            return zone(name)
        except TimeError as exc:
            self.problem(f"{where}: {exc}")
            return None


@dataclass(frozen=True)
class NodeKind(Generic[ConfigT]):
    type: str
    label: str
    description: str
    config: builtins.type[ConfigT]  # `type` is also a field name here
    # The output ports for a given config (e.g. one per candidate channel).
    ports: Callable[[ConfigT], tuple[str, ...]]
    # Compile the config; record problems on the check instead of raising.
    build: Callable[[ConfigT, ConfigCheck], NodeProgram]
    is_trigger: bool = False
    # For editors that compute ports before compiling: fixed ports, and the config field whose
    # values add one port each (`channels`, `variants[].name`).
    fixed_ports: tuple[str, ...] = ()
    ports_from: str | None = None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = msgspec.json.schema(self.config)
        return schema

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "label": self.label,
            "description": self.description,
            "ports": list(self.fixed_ports),
            "ports_from": self.ports_from,
            "is_trigger": self.is_trigger,
            "schema": self.json_schema(),
        }


class Catalogue:
    """The node kinds a compiler accepts, by type name."""

    def __init__(self, kinds: Iterable[NodeKind[Any]]) -> None:
        self._kinds: dict[str, NodeKind[Any]] = {}
        for kind in kinds:
            if kind.type in self._kinds:
                raise ValueError(f"node type {kind.type!r} is declared twice")
            self._kinds[kind.type] = kind

    def get(self, type_name: str) -> NodeKind[Any] | None:
        return self._kinds.get(type_name)

    def __iter__(self) -> Iterator[NodeKind[Any]]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)

    def types(self) -> list[str]:
        return list(self._kinds)
