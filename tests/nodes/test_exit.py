"""exit: ends the run, with an optional reason."""

from __future__ import annotations

import msgspec
import pytest

from flows.outcomes import Exit
from nodes.exit import KIND


def test_no_ports(ports_of):
    assert ports_of(KIND, {}) == ()
    assert KIND.describe()["ports"] == []
    assert KIND.describe()["ports_from"] is None


def test_exit_with_reason(build_node, make_ctx):
    program = build_node(KIND, {"reason": "unsubscribed"})
    assert program.step(make_ctx()) == Exit("unsubscribed")


def test_exit_without_reason(build_node, make_ctx):
    program = build_node(KIND, {})
    assert program.step(make_ctx()) == Exit(None)


def test_config_has_no_problems(config_problems):
    assert config_problems(KIND, {}) == []
    assert config_problems(KIND, {"reason": "done"}) == []


@pytest.mark.parametrize("config", [{"reason": 5}, {"why": "x"}])
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)
