"""The delivery policy's gate (flows.policy.decide): every reason code, in order; caps counted
across flows; transactional topics; quiet hours in the contact's time zone, over daylight-saving
changes and across midnight; settings and policy files rejected with plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.compiler import compile_flow
from flows.interpreter import Deliver, Environment, Refused, Run, advance, delivered, start
from flows.policy import (
    NO_FACTS,
    NO_POLICY,
    Allow,
    Defer,
    DeliveryFacts,
    Policy,
    PolicyError,
    PolicySettings,
    RecordedFacts,
    Refuse,
    blocked,
    compile_policy,
    decide,
    load_policy_file,
    parse_settings,
)
from nodes import CATALOGUE

UTC_ZONE = ZoneInfo("UTC")
ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, 13:00 in Rome

ANNA: dict[str, Any] = {
    "id": "c-anna", "email": "anna@example.it", "phone": "+393401111111",
    "consent": {"email": "opted_in"}, "timezone": "Europe/Rome",
}


def policy(**data: Any) -> Policy:
    return compile_policy(parse_settings(data))


def gate(contact: dict[str, Any] = ANNA, channel: str = "email", topic: str | None = "news",
         *, rules: Policy = NO_POLICY, facts: DeliveryFacts = NO_FACTS, now: datetime = NOW,
         flow_zone: ZoneInfo = UTC_ZONE, when_capped: str = "fail") -> Any:
    return decide(rules, facts, contact, channel, topic, now, flow_zone,
                  "wait" if when_capped == "wait" else "fail")


def sent(*times: datetime, contact: str = "c-anna", channel: str = "email") -> RecordedFacts:
    facts = RecordedFacts()
    for at in times:
        facts.record(contact, channel, at)
    return facts


# --- the lasting checks, in order ---------------------------------------------------------------


def test_a_new_workspace_allows_every_send_with_consent_and_an_address() -> None:
    assert gate() == Allow("anna@example.it")
    assert gate(channel="sms") == Allow("+393401111111")


def test_opted_out() -> None:
    contact = {**ANNA, "consent": {"email": "opted_out"}}
    assert gate(contact) == Refuse("opted_out", "anna@example.it")
    assert gate(contact, "sms") == Allow("+393401111111")  # consent is per channel


def test_no_address() -> None:
    assert gate(ANNA, "push") == Refuse("no_address")


def test_opt_out_is_named_before_a_missing_address() -> None:
    assert gate({"id": "c", "consent": {"push": "opted_out"}}, "push") == Refuse("opted_out")


def test_topic_opt_out_blocks_that_topic_on_that_channel_only() -> None:
    contact = {**ANNA, "consent": {"email": "opted_in", "email:newsletter": "opted_out"}}
    assert gate(contact, "email", "newsletter") == Refuse("topic_opt_out", "anna@example.it")
    assert gate(contact, "email", "receipts") == Allow("anna@example.it")
    assert gate(contact, "email", None) == Allow("anna@example.it")
    assert gate(contact, "sms", "newsletter") == Allow("+393401111111")


def test_topic_opt_in_does_not_override_a_channel_opt_out() -> None:
    contact = {**ANNA, "consent": {"email": "opted_out", "email:newsletter": "opted_in"}}
    assert gate(contact, "email", "newsletter") == Refuse("opted_out", "anna@example.it")


def test_topic_preferences_steer_but_never_block() -> None:
    contact = {**ANNA, "preferences": {"newsletter": "sms"}}
    assert gate(contact, "email", "newsletter") == Allow("anna@example.it")


def test_suppressed_address_on_its_channel() -> None:
    facts = RecordedFacts([("email", "  ANNA@Example.IT "), ("sms", "+390000")])
    assert gate(facts=facts) == Refuse("suppressed", "anna@example.it")
    assert gate(channel="sms", facts=facts) == Allow("+393401111111")
    # The same number suppressed for SMS does not suppress it for voice.
    voice = RecordedFacts([("sms", "+393401111111")])
    assert gate(channel="voice", facts=voice) == Allow("+393401111111")


def test_topic_opt_out_is_named_before_a_suppression() -> None:
    contact = {**ANNA, "consent": {"email:news": "opted_out"}}
    facts = RecordedFacts([("email", "anna@example.it")])
    assert gate(contact, facts=facts) == Refuse("topic_opt_out", "anna@example.it")


def test_blocked_is_the_lasting_part_of_the_gate() -> None:
    rules = policy(caps={"email": {"day": 1}}, quiet_hours={"start": "00:00", "end": "23:59"})
    facts = sent(NOW - timedelta(hours=1))
    assert gate(rules=rules, facts=facts).reason == "capped"
    assert blocked(ANNA, "email", "news", facts) is None  # caps and quiet hours pass with time
    assert blocked(ANNA, "push", None) == "no_address"


# --- frequency caps -------------------------------------------------------------------------------


CAPS = {"caps": {"email": {"day": 2, "week": 5}}}


def test_capped_by_the_day_limit_in_a_rolling_24_hours() -> None:
    rules = policy(**CAPS)
    one = sent(NOW - timedelta(hours=30), NOW - timedelta(hours=3))
    assert gate(rules=rules, facts=one) == Allow("anna@example.it")
    two = sent(NOW - timedelta(hours=20), NOW - timedelta(hours=3))
    assert gate(rules=rules, facts=two) == Refuse("capped", "anna@example.it")
    # Exactly 24 hours ago no longer counts.
    aged = sent(NOW - timedelta(hours=24), NOW - timedelta(hours=3))
    assert gate(rules=rules, facts=aged) == Allow("anna@example.it")


def test_capped_by_the_week_limit() -> None:
    rules = policy(**CAPS)
    days = [NOW - timedelta(days=d) for d in (6, 5, 4, 3, 2)]
    assert gate(rules=rules, facts=sent(*days)) == Refuse("capped", "anna@example.it")
    assert gate(rules=rules, facts=sent(*days[1:])) == Allow("anna@example.it")


def test_caps_are_per_channel_and_per_contact() -> None:
    rules = policy(**CAPS)
    facts = sent(NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    assert gate(rules=rules, facts=facts).reason == "capped"
    assert gate(channel="sms", rules=rules, facts=facts) == Allow("+393401111111")
    other = {**ANNA, "id": "c-other"}
    assert gate(other, rules=rules, facts=facts) == Allow("anna@example.it")


def test_waiting_for_a_cap_defers_until_the_oldest_counted_send_ages_out() -> None:
    rules = policy(**CAPS)
    first, second = NOW - timedelta(hours=20), NOW - timedelta(hours=3)
    assert gate(rules=rules, facts=sent(first, second), when_capped="wait") == Defer(
        first + timedelta(days=1), "capped")
    week = [NOW - timedelta(days=d, hours=1) for d in (6, 5, 4, 3, 2)]
    assert gate(rules=rules, facts=sent(*week), when_capped="wait") == Defer(
        week[0] + timedelta(days=7), "capped")


def test_when_both_limits_are_reached_the_later_release_wins() -> None:
    rules = policy(caps={"email": {"day": 1, "week": 2}})
    facts = sent(NOW - timedelta(days=3), NOW - timedelta(hours=2))
    assert gate(rules=rules, facts=facts, when_capped="wait") == Defer(
        NOW - timedelta(days=3) + timedelta(days=7), "capped")


def test_transactional_topics_bypass_caps_and_quiet_hours() -> None:
    rules = policy(caps={"email": {"day": 1}}, transactional_topics=["receipts"],
                   quiet_hours={"start": "00:00", "end": "23:00"})
    facts = sent(NOW - timedelta(hours=1))
    assert gate(topic="receipts", rules=rules, facts=facts) == Allow("anna@example.it")
    assert gate(topic="news", rules=rules, facts=facts).reason == "capped"
    # ... but never consent, topic opt-outs or suppressions.
    opted = {**ANNA, "consent": {"email:receipts": "opted_out"}}
    assert gate(opted, topic="receipts", rules=rules) == Refuse("topic_opt_out",
                                                               "anna@example.it")


FLOW_A = {
    "format": "castflow.flow/1", "name": "Flow A",
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "mail", "type": "send", "config": {
            "channel": "email", "topic": "news",
            "content": {"email": {"subject": "A", "text": "From A"}}}},
    ],
    "edges": [{"from": "start", "to": "mail"}],
}
FLOW_B = {**FLOW_A, "name": "Flow B", "nodes": [
    FLOW_A["nodes"][0],
    {"id": "promo", "type": "send", "config": {
        "channel": "email", "topic": "promos",
        "content": {"email": {"subject": "B", "text": "From B"}}}},
], "edges": [{"from": "start", "to": "promo"}]}


def test_caps_count_the_sends_of_every_flow() -> None:
    """Two flows, one shell: what flow A sent counts against flow B's send (facts are per
    contact and channel, not per flow)."""
    import json

    plans = [compile_flow(json.dumps(doc), CATALOGUE) for doc in (FLOW_A, FLOW_A, FLOW_B)]
    facts = RecordedFacts()
    env = Environment(policy=policy(caps={"email": {"day": 2}}), facts=facts)
    outcomes = []
    for number, plan in enumerate(plans):
        now = NOW + timedelta(hours=number)
        contact = dict(ANNA)
        run: Run = start(plan, "start", f"r{number}", contact, now)
        effects = advance(plan, run, contact, now, env)
        for effect in effects:
            if isinstance(effect, Deliver):  # the shell records what it hands over
                facts.record(run.contact_id, effect.message.channel, effect.at)
                delivered(plan, run, contact, now, env)
        outcomes.append((run.path[-1].port, run.path[-1].reason,
                         [type(e).__name__ for e in effects]))
    assert outcomes == [
        ("sent", None, ["Deliver"]),
        ("sent", None, ["Deliver"]),
        ("failed", "capped", ["Refused"]),
    ]
    refused = advance_refusal(plans[2], env)
    assert refused.key == "r9:promo:1" and refused.reason == "capped"
    assert refused.message.channel == "email" and refused.message.topic == "promos"


def advance_refusal(plan: Any, env: Environment) -> Refused:
    contact = dict(ANNA)
    run = start(plan, "start", "r9", contact, NOW + timedelta(hours=3))
    [effect] = advance(plan, run, contact, NOW + timedelta(hours=3), env)
    assert isinstance(effect, Refused)
    return effect


# --- quiet hours --------------------------------------------------------------------------------


NIGHT = {"quiet_hours": {"start": "21:00", "end": "08:00"}}


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone", "at", "until"),
    [
        # Europe/Rome springs forward on 2026-03-29 (02:00 -> 03:00): 9 real hours to 08:00.
        (ROME, (2026, 3, 28, 22, 0), (2026, 3, 29, 6, 0)),
        # ... and falls back on 2026-10-25 (03:00 -> 02:00): 11 real hours.
        (ROME, (2026, 10, 24, 22, 0), (2026, 10, 25, 7, 0)),
        # America/New_York springs forward on 2026-03-08, falls back on 2026-11-01.
        (NEW_YORK, (2026, 3, 7, 23, 0), (2026, 3, 8, 12, 0)),
        (NEW_YORK, (2026, 10, 31, 22, 0), (2026, 11, 1, 13, 0)),
        # After midnight, inside the same night's window.
        (NEW_YORK, (2026, 11, 1, 1, 30), (2026, 11, 1, 13, 0)),
    ],
)
def test_quiet_hours_defer_to_the_local_end_over_a_daylight_saving_change(
    zone: ZoneInfo, at: tuple[int, ...], until: tuple[int, ...]
) -> None:
    contact = {**ANNA, "timezone": str(zone)}
    decision = gate(contact, rules=policy(**NIGHT), now=local(zone, *at))
    assert decision == Defer(datetime(*until, tzinfo=UTC), "quiet_hours")  # type: ignore[misc]
    assert decision.until.astimezone(zone).strftime("%H:%M") == "08:00"


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 59, True), (0, 0, True), (7, 59, True),
     (8, 0, False), (12, 0, False)],
)
def test_a_window_crossing_midnight(hour: int, minute: int, quiet: bool) -> None:
    now = local(ROME, 2026, 1, 6, hour, minute)
    decision = gate(rules=policy(**NIGHT), now=now)
    if quiet:
        assert isinstance(decision, Defer) and decision.reason == "quiet_hours"
        assert decision.until.astimezone(ROME).strftime("%H:%M") == "08:00"
        assert timedelta(0) < decision.until - now <= timedelta(hours=11)
    else:
        assert decision == Allow("anna@example.it")


def test_a_window_within_one_day() -> None:
    rules = policy(quiet_hours={"start": "12:00", "end": "14:00"})
    assert gate(rules=rules, now=local(ROME, 2026, 1, 6, 11, 59)) == Allow("anna@example.it")
    assert gate(rules=rules, now=local(ROME, 2026, 1, 6, 13, 0)) == Defer(
        local(ROME, 2026, 1, 6, 14, 0), "quiet_hours")
    assert gate(rules=rules, now=local(ROME, 2026, 1, 6, 14, 0)) == Allow("anna@example.it")


def test_a_window_ending_in_a_spring_forward_gap_opens_when_the_clocks_jump() -> None:
    rules = policy(quiet_hours={"start": "22:00", "end": "02:30"})
    decision = gate(rules=rules, now=local(ROME, 2026, 3, 28, 23, 0))
    # 02:30 does not exist on 2026-03-29 in Rome: the clocks go from 02:00 to 03:00.
    assert decision == Defer(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "quiet_hours")
    assert decision.until.astimezone(ROME).strftime("%H:%M") == "03:00"


def test_quiet_hours_use_the_contact_zone_then_the_settings_then_the_flow() -> None:
    now = datetime(2026, 1, 6, 22, 0, tzinfo=UTC)  # 23:00 in Rome, 17:00 in New York
    rules = policy(**NIGHT)
    assert gate({**ANNA, "timezone": "America/New_York"}, rules=rules, now=now) == Allow(
        "anna@example.it")
    nowhere = {k: v for k, v in ANNA.items() if k != "timezone"}
    assert gate(nowhere, rules=rules, now=now, flow_zone=NEW_YORK) == Allow("anna@example.it")
    assert isinstance(gate(nowhere, rules=rules, now=now, flow_zone=ROME), Defer)
    with_zone = policy(quiet_hours={**NIGHT["quiet_hours"], "timezone": "Europe/Rome"})
    assert isinstance(gate(nowhere, rules=with_zone, now=now, flow_zone=NEW_YORK), Defer)


def test_caps_are_checked_before_quiet_hours() -> None:
    rules = policy(caps={"email": {"day": 1}}, **NIGHT)
    night = local(ROME, 2026, 1, 6, 23, 0)
    facts = sent(night - timedelta(hours=1))
    assert gate(rules=rules, facts=facts, now=night) == Refuse("capped", "anna@example.it")


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(0, 366 * 24 * 60),
    start=st.integers(0, 23 * 60 + 59),
    end=st.integers(0, 23 * 60 + 59),
    zone_name=st.sampled_from(["Europe/Rome", "America/New_York", "Asia/Tokyo",
                               "Australia/Lord_Howe"]),
)
def test_a_deferral_lands_on_the_first_allowed_minute(minutes: int, start: int, end: int,
                                                      zone_name: str) -> None:
    if start == end:
        return
    rules = policy(quiet_hours={"start": f"{start // 60:02}:{start % 60:02}",
                                "end": f"{end // 60:02}:{end % 60:02}"})
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    contact = {**ANNA, "timezone": zone_name}
    decision = gate(contact, rules=rules, now=now)
    if isinstance(decision, Allow):
        return
    assert isinstance(decision, Defer) and decision.until > now
    # Allowed when it lands; still quiet one minute before (unless that is before `now`).
    assert isinstance(gate(contact, rules=rules, now=decision.until), Allow)
    before = decision.until - timedelta(minutes=1)
    if before > now:
        assert isinstance(gate(contact, rules=rules, now=before), Defer)


# --- settings and policy files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"caps": {"fax": {"day": 1}}}, "caps: 'fax' is not a channel"),
        ({"caps": {"email": {"day": 0}}}, "caps.email: Expected 'int' >= 1 (at day)"),
        ({"caps": {"email": {}}}, "caps.email: give a 'day' or a 'week' limit"),
        ({"caps": {"sms": {"day": 3, "week": 2}}}, "the week limit (2) is lower than the day"),
        ({"quiet_hours": {"start": "9pm", "end": "08:00"}}, "quiet_hours.start: '9pm' is not"),
        ({"quiet_hours": {"start": "21:00", "end": "24:00"}}, "quiet_hours.end: '24:00' is not"),
        ({"quiet_hours": {"start": "21:00", "end": "21:00"}}, "are the same time"),
        ({"quiet_hours": {"start": "21:00"}}, "missing required field 'end'"),
        ({"quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Mars/Base"}},
         "quiet_hours.timezone: unknown time zone 'Mars/Base'"),
        ({"transactional_topics": [""]}, "transactional_topics: a topic is empty"),
        ({"limits": {}}, "unknown field 'limits'"),
    ],
)
def test_bad_settings_are_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_settings(data)
    assert message in str(caught.value)


def test_settings_round_trip_through_json() -> None:
    data = {"caps": {"email": {"day": 2, "week": 5}, "sms": {"week": 3}},
            "transactional_topics": ["receipts"],
            "quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Rome"}}
    import msgspec

    assert msgspec.to_builtins(parse_settings(data)) == data
    assert msgspec.to_builtins(PolicySettings()) == {}


def test_policy_file_with_suppressions() -> None:
    dry = load_policy_file(b'{"caps": {"email": {"day": 1}}, "suppressions": '
                           b'[{"channel": "email", "address": "x@example.com", '
                           b'"reason": "hard_bounce"}]}')
    assert dry.policy.caps["email"].day == 1
    assert dry.suppressions == (("email", "x@example.com"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "a policy file is a JSON object"),
        (b'{"suppressions": [{"channel": "email"}]}', "missing required field 'address'"),
        (b'{"suppressions": [{"channel": "email", "address": " "}]}', "is empty"),
        (b'{"caps": {"email": {"day": "two"}}}', "Expected 'int | null', got 'str'"),
    ],
)
def test_bad_policy_files_are_named(text: bytes, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_file(text)
    assert message in str(caught.value)


def test_a_deferred_send_waits_on_its_node_and_every_wake_is_a_move() -> None:
    """The live runtime writes a run back only when its step changed (compare-and-set): waking
    a deferred send must change it even when the send then just goes out."""
    import json

    from flows.interpreter import AGAIN, wake

    plan = compile_flow(json.dumps(FLOW_A), CATALOGUE)
    env = Environment(policy=policy(quiet_hours={"start": "21:00", "end": "08:00"}))
    night = local(ROME, 2026, 3, 28, 22, 0)
    contact = dict(ANNA)
    run = start(plan, "start", "r1", contact, night)
    assert advance(plan, run, contact, night, env) == []
    assert (run.status, run.node, run.resume_port) == ("waiting", "mail", AGAIN)
    assert run.wake_at == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    step = run.step
    [deliver] = wake(plan, run, contact, run.wake_at, env)
    assert isinstance(deliver, Deliver) and run.status == "sending"
    assert run.step == step + 1 and deliver.key == f"r1:mail:{step + 1}"
    assert len(run.path) == 2 and run.path[-1].deferred == "quiet_hours"
