"""segment_filter: `yes` for contacts matching a JsonLogic rule or a segment, else `no`."""

from __future__ import annotations

import msgspec
import pytest

from flows.outcomes import Go
from nodes.segment_filter import KIND

IT_RULE = {"==": [{"var": "contact.attributes.country"}, "IT"]}


def test_ports(ports_of):
    assert ports_of(KIND, {"rule": IT_RULE}) == ("yes", "no")
    assert KIND.describe()["ports"] == ["yes", "no"]


@pytest.mark.parametrize("config", [{"rule": IT_RULE}, {"segment": "vip"}, {"rule": True}])
def test_valid_configs_have_no_problems(config_problems, config):
    assert config_problems(KIND, config) == []


@pytest.mark.parametrize(
    "config",
    [{}, {"rule": None, "segment": None}, {"rule": IT_RULE, "segment": "vip"}],
)
def test_exactly_one_of_rule_or_segment(config_problems, config):
    assert config_problems(KIND, config) == [
        "give either a condition ('rule') or a segment ('segment'), not both."
    ]


def test_empty_segment_is_a_problem(config_problems):
    assert config_problems(KIND, {"segment": ""}) == ["'segment' is empty: choose a segment."]


def test_bad_rule_is_a_problem(config_problems):
    assert config_problems(KIND, {"rule": {"nope": [1]}}) == [
        "rule: unknown operator 'nope' at the top of the rule"
    ]


@pytest.mark.parametrize("config", [{"segment": 5}, {"rule": IT_RULE, "colour": "red"}])
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


def test_rule_yes_and_no(build_node, make_ctx):
    program = build_node(KIND, {"rule": IT_RULE})
    assert program.step(make_ctx({"id": "c", "attributes": {"country": "IT"}})) == Go("yes")
    assert program.step(make_ctx({"id": "c", "attributes": {"country": "FR"}})) == Go("no")
    assert program.step(make_ctx({"id": "c"})) == Go("no")


def test_rule_sees_contact_event_and_vars(build_node, make_ctx):
    rule = {"and": [IT_RULE, {">=": [{"var": "event.properties.total"}, 100]},
                    {"==": [{"var": "vars.tier"}, "gold"]}]}
    program = build_node(KIND, {"rule": rule})
    contact = {"id": "c", "attributes": {"country": "IT"}}
    event = {"name": "purchased", "properties": {"total": 120}}
    assert program.step(make_ctx(contact, event=event, vars={"tier": "gold"})).port == "yes"
    assert program.step(make_ctx(contact, event=event, vars={"tier": "tin"})).port == "no"
    low = {"name": "purchased", "properties": {"total": 10}}
    assert program.step(make_ctx(contact, event=low, vars={"tier": "gold"})).port == "no"


def test_segment_uses_the_context_lookup(build_node, make_ctx, segments):
    program = build_node(KIND, {"segment": "vip"})
    lookup = segments({"vip": {"c-in"}})
    assert program.step(make_ctx({"id": "c-in"}, segments=lookup)) == Go("yes")
    assert program.step(make_ctx({"id": "c-out"}, segments=lookup)) == Go("no")


def test_segment_lookup_gets_the_key_and_the_rule_data(build_node, make_ctx):
    seen = []

    def lookup(key, data):
        seen.append((key, dict(data)))
        return True

    program = build_node(KIND, {"segment": "vip"})
    contact = {"id": "c"}
    event = {"name": "e"}
    ctx = make_ctx(contact, event=event, vars={"v": 1}, segments=lookup)
    assert program.step(ctx).port == "yes"
    assert seen == [("vip", {"contact": contact, "event": event, "vars": {"v": 1}})]


def test_unknown_segment_raises_lookup_error(build_node, make_ctx):
    program = build_node(KIND, {"segment": "vip"})
    with pytest.raises(LookupError, match="vip"):
        program.step(make_ctx({"id": "c"}))  # the default lookup knows no segments
