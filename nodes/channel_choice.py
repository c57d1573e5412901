"""Channel choice: picks the contact's preferred reachable channel among candidates.

A channel is skipped for the lasting reasons the delivery policy would refuse a send on it:
consent, no address, an opt-out of the node's topic on that channel, a suppressed address.
Caps and quiet hours pass with time, so they never steer the choice (the send waits or fails).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.outcomes import Go, Outcome
from flows.policy import blocked
from nodes._channels import Channel


class ChannelChoiceConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    channels: Annotated[
        list[Channel],
        msgspec.Meta(title="Channels, in order", description="Candidates, most wanted first"),
    ]
    topic: Annotated[
        str | None,
        msgspec.Meta(title="Topic", description="Its preferred channel goes first"),
    ] = None


class ChannelChoiceProgram(Program):
    def __init__(self, channels: tuple[str, ...], topic: str | None) -> None:
        self.channels = channels
        self.topic = topic
        # The candidate order for each possible preference, computed once.
        self.orders = {
            preferred: (preferred, *(c for c in channels if c != preferred))
            for preferred in channels
        }

    def step(self, ctx: StepContext) -> Outcome:
        order = self.channels
        if self.topic is not None:
            preferences = ctx.contact.get("preferences")
            if preferences:
                order = self.orders.get(preferences.get(self.topic), order)
        reasons: dict[str, str] = {}
        for channel in order:
            reason = blocked(ctx.contact, channel, self.topic, ctx.facts)
            if reason is None:
                return Go(channel, reasons=reasons or None, chosen_channel=channel)
            reasons[channel] = reason
        return Go("none", reasons=reasons)


def build(config: ChannelChoiceConfig, check: ConfigCheck) -> ChannelChoiceProgram:
    if not config.channels:
        check.problem("choose at least one channel.")
    if len(set(config.channels)) != len(config.channels):
        check.problem("a channel is listed twice: list each channel once.")
    return ChannelChoiceProgram(tuple(dict.fromkeys(config.channels)), config.topic)


KIND = NodeKind(
    type="channel_choice",
    label="Channel choice",
    description="Goes on by the contact's preferred channel for the topic, else the first "
    "candidate they can be reached on; 'none' when no candidate works.",
    config=ChannelChoiceConfig,
    ports=lambda config: (*dict.fromkeys(config.channels), "none"),
    build=build,
    fixed_ports=("none",),
    ports_from="channels",
)
