"""split: weighted variants, sticky per (contact, node, seed), independent of call order."""

from __future__ import annotations

import random
from collections import Counter

import msgspec
import pytest

from flows.outcomes import Go
from nodes.split import KIND

ABC = {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 30},
                    {"name": "c", "weight": 20}]}
IDS = [f"contact-{i}" for i in range(10_000)]


# --- config ------------------------------------------------------------------------------------


def test_ports_are_the_variant_names(ports_of):
    assert ports_of(KIND, ABC) == ("a", "b", "c")
    assert KIND.describe()["ports_from"] == "variants[].name"
    assert KIND.describe()["ports"] == []


def test_valid_config_has_no_problems(config_problems):
    assert config_problems(KIND, ABC) == []
    assert config_problems(KIND, {"variants": [{"name": "x", "weight": 0},
                                               {"name": "y", "weight": 1}]}) == []


@pytest.mark.parametrize("variants", [[], [{"name": "only", "weight": 100}]])
def test_fewer_than_two_variants_is_a_problem(config_problems, variants):
    assert "a split needs at least two variants." in config_problems(KIND, {"variants": variants})


def test_duplicate_names_is_a_problem(config_problems):
    config = {"variants": [{"name": "a", "weight": 1}, {"name": "a", "weight": 1}]}
    assert config_problems(KIND, config) == [
        "two variants share a name: give each variant its own name."
    ]


def test_empty_name_is_a_problem(config_problems):
    config = {"variants": [{"name": "", "weight": 1}, {"name": "b", "weight": 1}]}
    assert config_problems(KIND, config) == ["a variant has no name."]


def test_zero_total_weight_is_a_problem(config_problems):
    config = {"variants": [{"name": "a", "weight": 0}, {"name": "b", "weight": 0}]}
    assert config_problems(KIND, config) == [
        "the weights add up to zero: give at least one variant a weight."
    ]


@pytest.mark.parametrize(
    "config",
    [
        {"variants": [{"name": "a", "weight": -1}, {"name": "b", "weight": 1}]},
        {"variants": [{"name": "a"}, {"name": "b", "weight": 1}]},
        {"variants": [{"name": "a", "weight": 1.5}, {"name": "b", "weight": 1}]},
        {"variants": [{"name": "a", "weight": 1, "colour": "red"}]},
        {},
    ],
)
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


# --- assignment --------------------------------------------------------------------------------


def ports_for(program, make_ctx, ids, *, seed=0, node_id="ab"):
    return {cid: program.step(make_ctx({"id": cid}, seed=seed, node_id=node_id)).port
            for cid in ids}


def test_step_goes_by_a_variant_port(build_node, make_ctx):
    program = build_node(KIND, ABC)
    outcome = program.step(make_ctx({"id": "c-1"}))
    assert isinstance(outcome, Go)
    assert outcome.port in {"a", "b", "c"}


def test_sticky_regardless_of_call_order(build_node, make_ctx):
    program = build_node(KIND, ABC)
    ids = IDS[:500]
    first = ports_for(program, make_ctx, ids, seed=7)
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    again = ports_for(build_node(KIND, ABC), make_ctx, shuffled, seed=7)
    assert again == first
    # The rest of the context does not matter, only contact id, node id and seed.
    ctx = make_ctx({"id": ids[0], "attributes": {"x": 1}}, seed=7, node_id="ab",
                   vars={"y": 2}, timezone="Europe/Rome")
    assert program.step(ctx).port == first[ids[0]]


def test_different_seeds_may_differ(build_node, make_ctx):
    program = build_node(KIND, ABC)
    ids = IDS[:500]
    one = ports_for(program, make_ctx, ids, seed=1)
    two = ports_for(program, make_ctx, ids, seed=2)
    assert one != two
    changed = sum(one[c] != two[c] for c in ids)
    assert changed > 100  # independent draws: about 62% differ


def test_different_nodes_split_independently(build_node, make_ctx):
    program = build_node(KIND, ABC)
    ids = IDS[:500]
    assert ports_for(program, make_ctx, ids, node_id="x") != ports_for(
        program, make_ctx, ids, node_id="y"
    )


@pytest.mark.parametrize("seed", [0, 42])
def test_weights_are_respected_over_10000_contacts(build_node, make_ctx, seed):
    program = build_node(KIND, ABC)
    counts = Counter(ports_for(program, make_ctx, IDS, seed=seed).values())
    assert set(counts) == {"a", "b", "c"}
    for name, share in (("a", 0.50), ("b", 0.30), ("c", 0.20)):
        assert abs(counts[name] / len(IDS) - share) < 0.025, counts


def test_equal_weights_split_evenly(build_node, make_ctx):
    program = build_node(KIND, {"variants": [{"name": "control", "weight": 1},
                                             {"name": "test", "weight": 1}]})
    counts = Counter(ports_for(program, make_ctx, IDS).values())
    assert abs(counts["control"] / len(IDS) - 0.5) < 0.025, counts


@pytest.mark.parametrize("zero_at", [0, 1, 2])
def test_weight_zero_is_never_chosen(build_node, make_ctx, zero_at):
    variants = [{"name": n, "weight": 50} for n in ("a", "b", "c")]
    variants[zero_at]["weight"] = 0
    program = build_node(KIND, {"variants": variants})
    counts = Counter(ports_for(program, make_ctx, IDS).values())
    zero_name = variants[zero_at]["name"]
    assert counts[zero_name] == 0
    assert sum(counts.values()) == len(IDS)
    for v in variants:
        if v["name"] != zero_name:
            assert abs(counts[v["name"]] / len(IDS) - 0.5) < 0.025, counts


def test_only_variant_with_weight_takes_everyone(build_node, make_ctx):
    program = build_node(KIND, {"variants": [{"name": "a", "weight": 0},
                                             {"name": "b", "weight": 3},
                                             {"name": "c", "weight": 0}]})
    assert set(ports_for(program, make_ctx, IDS[:2000]).values()) == {"b"}
