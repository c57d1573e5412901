"""Split: sends each contact down one weighted variant, always the same one for that contact."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from itertools import accumulate
from typing import Annotated

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.outcomes import Go, Outcome


class Variant(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(title="Name")]
    weight: Annotated[int, msgspec.Meta(title="Weight", ge=0)]


class SplitConfig(msgspec.Struct, forbid_unknown_fields=True):
    variants: Annotated[list[Variant], msgspec.Meta(title="Variants")]


class SplitProgram(Program):
    def __init__(self, names: tuple[str, ...], weights: tuple[int, ...]) -> None:
        self.goes = tuple(Go(name) for name in names)
        self.bounds = tuple(accumulate(weights))
        self.total = self.bounds[-1] if self.bounds else 0

    def step(self, ctx: StepContext) -> Outcome:
        # Sticky and independent of run order: a hash of the contact, this node and the seed.
        key = f"{ctx.seed}:{ctx.node_id}:{ctx.contact.get('id')}".encode()
        bucket = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest()) % self.total
        return self.goes[bisect_right(self.bounds, bucket)]


def build(config: SplitConfig, check: ConfigCheck) -> SplitProgram:
    names = [v.name for v in config.variants]
    if len(names) < 2:
        check.problem("a split needs at least two variants.")
    if len(set(names)) != len(names):
        check.problem("two variants share a name: give each variant its own name.")
    if any(not name for name in names):
        check.problem("a variant has no name.")
    weights = [v.weight for v in config.variants]
    if config.variants and sum(weights) <= 0:
        check.problem("the weights add up to zero: give at least one variant a weight.")
    return SplitProgram(tuple(names), tuple(weights))


KIND = NodeKind(
    type="split",
    label="Split",
    description="Divides contacts between variants by weight (A/B tests). A contact always "
    "gets the same variant.",
    config=SplitConfig,
    ports=lambda config: tuple(dict.fromkeys(v.name for v in config.variants)),
    build=build,
    ports_from="variants[].name",
)
