"""Helpers for node-kind unit tests: build a kind's program from a config dict, make a context.

Both helpers are fixtures (this directory is not a package, so tests do not import from here):

    def test_x(build_node, make_ctx):
        program = build_node(KIND, {"for": "P1D"})
        outcome = program.step(make_ctx({"id": "c-1"}))

`build_node` asserts the config has no problems; `config_problems` returns the problem list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
import pytest

from flows.catalogue import ConfigCheck, NodeKind, NodeProgram, SegmentLookup, StepContext

# A Monday, 09:00 UTC.
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def compile_config(kind: NodeKind[Any], config: Mapping[str, Any]) -> tuple[NodeProgram, list[str]]:
    """The program for `config` and the problems found in it (the compiler's own steps)."""
    cfg = msgspec.convert(config, kind.config)
    check = ConfigCheck()
    program = kind.build(cfg, check)
    return program, check.problems


class BuildNode(Protocol):
    def __call__(self, kind: NodeKind[Any], config: Mapping[str, Any]) -> Any: ...


class ConfigProblems(Protocol):
    def __call__(self, kind: NodeKind[Any], config: Mapping[str, Any]) -> list[str]: ...


class PortsOf(Protocol):
    def __call__(self, kind: NodeKind[Any], config: Mapping[str, Any]) -> tuple[str, ...]: ...


class MakeCtx(Protocol):
    def __call__(
        self,
        contact: dict[str, Any] | None = None,
        *,
        event: dict[str, Any] | None = None,
        vars: dict[str, Any] | None = None,
        now: datetime = NOW,
        timezone: str = "UTC",
        chosen_channel: str | None = None,
        seed: int = 0,
        node_id: str = "node",
        segments: SegmentLookup | None = None,
    ) -> StepContext: ...


def _build_node(kind: NodeKind[Any], config: Mapping[str, Any]) -> Any:
    program, problems = compile_config(kind, config)
    assert problems == [], f"unexpected problems in {config!r}: {problems}"
    return program


def _config_problems(kind: NodeKind[Any], config: Mapping[str, Any]) -> list[str]:
    return compile_config(kind, config)[1]


def _ports_of(kind: NodeKind[Any], config: Mapping[str, Any]) -> tuple[str, ...]:
    return kind.ports(msgspec.convert(config, kind.config))


def _make_ctx(
    contact: dict[str, Any] | None = None,
    *,
    event: dict[str, Any] | None = None,
    vars: dict[str, Any] | None = None,
    now: datetime = NOW,
    timezone: str = "UTC",
    chosen_channel: str | None = None,
    seed: int = 0,
    node_id: str = "node",
    segments: SegmentLookup | None = None,
) -> StepContext:
    ctx = StepContext(
        node_id=node_id,
        contact=contact if contact is not None else {"id": "c-1"},
        event=event,
        vars=vars if vars is not None else {},
        now=now,
        timezone=ZoneInfo(timezone),
        chosen_channel=chosen_channel,
        seed=seed,
    )
    if segments is not None:
        ctx.segments = segments
    return ctx


@pytest.fixture
def build_node() -> BuildNode:
    """Build a kind's program from a config dict; fails the test if the config has problems."""
    return _build_node


@pytest.fixture
def config_problems() -> ConfigProblems:
    """The problems (plain-words messages) a kind's build reports for a config dict."""
    return _config_problems


@pytest.fixture
def ports_of() -> PortsOf:
    """A kind's output ports for a config dict."""
    return _ports_of


@pytest.fixture
def make_ctx() -> MakeCtx:
    """A StepContext with sensible defaults (contact c-1, UTC flow, NOW, seed 0)."""
    return _make_ctx


def segment_lookup(members: dict[str, set[str]]) -> Callable[[str, Mapping[str, Any]], bool]:
    """A SegmentLookup from segment key -> contact ids; unknown keys raise LookupError."""

    def lookup(key: str, data: Mapping[str, Any]) -> bool:
        if key not in members:
            raise LookupError(f"segment {key!r} is not defined")
        return str(data["contact"]["id"]) in members[key]

    return lookup


@pytest.fixture
def segments() -> Callable[[dict[str, set[str]]], SegmentLookup]:
    return segment_lookup
