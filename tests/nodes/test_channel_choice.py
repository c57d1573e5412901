"""channel_choice: preferred channel for the topic first, then candidates in order; skip a
channel the contact opted out of (reported before a missing address) or has no address for."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from flows.outcomes import Go
from nodes._channels import address_for
from nodes.channel_choice import KIND

EVERYWHERE: dict[str, Any] = {
    "id": "c-1",
    "email": "bill@example.com",
    "phone": "+393401234567",
    "push_tokens": ["tok-1"],
    "chat": {"whatsapp": "+393401234567"},
}


def reachable(**changes: Any) -> dict[str, Any]:
    contact = {**EVERYWHERE, **changes}
    return {k: v for k, v in contact.items() if v is not None}


# --- config ------------------------------------------------------------------------------------


def test_ports_are_the_candidates_in_order_then_none(ports_of):
    ports = ports_of(KIND, {"channels": ["push", "sms", "email"]})
    assert ports == ("push", "sms", "email", "none")
    assert ports_of(KIND, {"channels": ["chat"], "topic": "x"}) == ("chat", "none")


def test_describe_names_the_dynamic_ports():
    described = KIND.describe()
    assert described["ports"] == ["none"]
    assert described["ports_from"] == "channels"


def test_valid_config_has_no_problems(config_problems):
    assert config_problems(KIND, {"channels": ["email", "sms", "push", "voice", "chat"]}) == []


def test_no_channels_is_a_problem(config_problems):
    assert config_problems(KIND, {"channels": []}) == ["choose at least one channel."]


def test_a_channel_listed_twice_is_a_problem(config_problems):
    problems = config_problems(KIND, {"channels": ["sms", "email", "sms"]})
    assert problems == ["a channel is listed twice: list each channel once."]


@pytest.mark.parametrize(
    "config",
    [
        {"channels": ["fax"]},
        {},
        {"channels": ["sms"], "colour": "red"},
        {"channels": "sms"},
    ],
)
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "contact", "expected"),
    [
        ("email", {"id": "c", "email": "a@b.c"}, "a@b.c"),
        ("sms", {"id": "c", "phone": "+391"}, "+391"),
        ("voice", {"id": "c", "phone": "+391"}, "+391"),
        ("push", {"id": "c", "push_tokens": ["t1", "t2"]}, "t1"),
        ("chat", {"id": "c", "chat": {"whatsapp": "+391"}}, "whatsapp:+391"),
    ],
)
def test_each_channel_is_reachable_through_its_address(build_node, make_ctx, channel, contact,
                                                       expected):
    program = build_node(KIND, {"channels": [channel]})
    outcome = program.step(make_ctx(contact))
    assert outcome == Go(channel, reasons=None, chosen_channel=channel)
    # The address the send node would use is the one the choice looked at.
    assert address_for(contact, channel) == expected


@pytest.mark.parametrize(
    ("channel", "contact"),
    [
        ("email", {"id": "c"}),
        ("email", {"id": "c", "email": ""}),
        ("email", {"id": "c", "phone": "+391"}),
        ("sms", {"id": "c", "email": "a@b.c"}),
        ("sms", {"id": "c", "phone": ""}),
        ("voice", {"id": "c"}),
        ("push", {"id": "c"}),
        ("push", {"id": "c", "push_tokens": []}),
        ("chat", {"id": "c"}),
        ("chat", {"id": "c", "chat": {}}),
        ("chat", {"id": "c", "chat": {"whatsapp": ""}}),
    ],
)
def test_a_channel_without_an_address_is_skipped(build_node, make_ctx, channel, contact):
    program = build_node(KIND, {"channels": [channel]})
    assert program.step(make_ctx(contact)) == Go("none", reasons={channel: "no_address"})


def test_chat_uses_the_first_app_with_a_handle(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["chat"]})
    outcome = program.step(make_ctx({"id": "c", "chat": {"telegram": "", "whatsapp": "+391"}}))
    assert outcome == Go("chat", chosen_channel="chat")


# --- walking the candidates --------------------------------------------------------------------


def test_first_reachable_candidate_in_order(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"]})
    outcome = program.step(make_ctx(reachable()))
    assert outcome == Go("push", reasons=None, chosen_channel="push")


def test_preferred_channel_for_the_topic_goes_first(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"], "topic": "onboarding"})
    contact = reachable(preferences={"onboarding": "email", "discounts": "sms"})
    outcome = program.step(make_ctx(contact))
    assert outcome == Go("email", reasons=None, chosen_channel="email")


def test_preference_for_another_topic_is_ignored(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"], "topic": "onboarding"})
    outcome = program.step(make_ctx(reachable(preferences={"discounts": "email"})))
    assert outcome.port == "push"


def test_preference_is_ignored_without_a_topic(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"]})
    outcome = program.step(make_ctx(reachable(preferences={"onboarding": "email"})))
    assert outcome.port == "push"


def test_preference_for_a_channel_that_is_not_a_candidate_is_ignored(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms"], "topic": "onboarding"})
    outcome = program.step(make_ctx(reachable(preferences={"onboarding": "email"})))
    assert outcome == Go("push", reasons=None, chosen_channel="push")


def test_unreachable_preferred_channel_falls_back_to_candidate_order(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"], "topic": "onboarding"})
    contact = reachable(preferences={"onboarding": "email"}, consent={"email": "opted_out"})
    outcome = program.step(make_ctx(contact))
    assert outcome == Go("push", reasons={"email": "opted_out"}, chosen_channel="push")


def test_opted_out_channel_is_skipped(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email"]})
    contact = reachable(consent={"push": "opted_out", "sms": "opted_in"})
    outcome = program.step(make_ctx(contact))
    assert outcome == Go("sms", reasons={"push": "opted_out"}, chosen_channel="sms")


def test_opted_in_or_missing_consent_may_be_used(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["sms", "email"]})
    assert program.step(make_ctx(reachable(consent={"sms": "opted_in"}))).port == "sms"
    assert program.step(make_ctx(reachable(consent={"email": "opted_out"}))).port == "sms"


def test_opt_out_is_reported_before_a_missing_address(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["sms", "email"]})
    contact = {"id": "c", "email": "a@b.c", "consent": {"sms": "opted_out"}}  # no phone either
    outcome = program.step(make_ctx(contact))
    assert outcome == Go("email", reasons={"sms": "opted_out"}, chosen_channel="email")


def test_reasons_list_exactly_the_skipped_channels(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["email", "push", "sms", "voice", "chat"]})
    contact = {"id": "c", "phone": "+391", "consent": {"email": "opted_out"}}
    outcome = program.step(make_ctx(contact))
    assert isinstance(outcome, Go)
    assert outcome.port == "sms"
    assert outcome.chosen_channel == "sms"
    assert outcome.reasons == {"email": "opted_out", "push": "no_address"}
    assert list(outcome.reasons) == ["email", "push"]  # in the order they were tried


def test_none_when_no_candidate_works_with_every_reason(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["push", "sms", "email", "chat"], "topic": "t"})
    contact = {
        "id": "c",
        "email": "a@b.c",
        "phone": "+391",
        "consent": {"email": "opted_out", "sms": "opted_out"},
        "preferences": {"t": "sms"},
    }
    outcome = program.step(make_ctx(contact))
    assert outcome == Go(
        "none",
        reasons={"sms": "opted_out", "push": "no_address", "email": "opted_out",
                 "chat": "no_address"},
    )
    assert outcome.chosen_channel is None


def test_step_does_not_change_the_contact(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["sms", "email"], "topic": "t"})
    contact = reachable(preferences={"t": "email"}, consent={"email": "opted_out"})
    snapshot = msgspec.json.encode(contact)
    program.step(make_ctx(contact))
    assert msgspec.json.encode(contact) == snapshot


# --- what the delivery policy blocks for good --------------------------------------------------


def test_skips_a_channel_whose_topic_the_contact_left(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["email", "sms"], "topic": "newsletter"})
    contact = reachable(consent={"email:newsletter": "opted_out"})
    assert program.step(make_ctx(contact)) == Go(
        "sms", reasons={"email": "topic_opt_out"}, chosen_channel="sms")
    # Another topic (or no topic) may still use email.
    other = build_node(KIND, {"channels": ["email", "sms"], "topic": "receipts"})
    assert other.step(make_ctx(contact)).port == "email"


def test_a_preferred_channel_left_for_the_topic_is_skipped(build_node, make_ctx):
    program = build_node(KIND, {"channels": ["sms", "email"], "topic": "newsletter"})
    contact = reachable(preferences={"newsletter": "email"},
                        consent={"email:newsletter": "opted_out"})
    assert program.step(make_ctx(contact)) == Go(
        "sms", reasons={"email": "topic_opt_out"}, chosen_channel="sms")


def test_skips_a_suppressed_address(build_node, make_ctx):
    from flows.policy import RecordedFacts

    program = build_node(KIND, {"channels": ["email", "push"]})
    ctx = make_ctx(EVERYWHERE)
    ctx.facts = RecordedFacts([("email", "bill@example.com")])
    assert program.step(ctx) == Go("push", reasons={"email": "suppressed"}, chosen_channel="push")


def test_caps_and_quiet_hours_never_steer_the_choice(build_node, make_ctx):
    from flows.policy import RecordedFacts, compile_policy, parse_settings

    program = build_node(KIND, {"channels": ["email", "sms"]})
    ctx = make_ctx(EVERYWHERE)
    ctx.policy = compile_policy(parse_settings({
        "caps": {"email": {"day": 1}}, "quiet_hours": {"start": "00:00", "end": "23:59"}}))
    facts = RecordedFacts()
    facts.record("c-1", "email", ctx.now)
    ctx.facts = facts
    assert program.step(ctx) == Go("email", chosen_channel="email")
