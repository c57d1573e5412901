"""send: renders the message for the channel (explicit or `chosen`) and hands it over, or leaves
by `failed` with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from flows.outcomes import Go, MessageDraft, Retry, Send
from flows.policy import RecordedFacts, compile_policy, parse_settings
from nodes.send import KIND

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # make_ctx's default time

BILL: dict[str, Any] = {
    "id": "c-1",
    "email": "bill@example.com",
    "phone": "+393401234567",
    "push_tokens": ["tok-1", "tok-2"],
    "chat": {"whatsapp": "+393401234567"},
    "attributes": {"first_name": "Bill", "country": "IT"},
}

ALL_CONTENT: dict[str, Any] = {
    "email": {"subject": "Hi {{ contact.attributes.first_name }}", "text": "Welcome",
              "html": "<p>Welcome</p>"},
    "sms": {"text": "Ciao {{ contact.attributes.first_name }}!"},
    "push": {"title": "Benvenuto", "body": "Ciao!", "url": "https://example.com/x"},
    "voice": {"text": "Hello"},
    "chat": {"text": "Hey"},
}


def refused(reason: str, channel: str, to: str, topic: str | None = None) -> Go:
    """A refusal: leaves by `failed` with the reason, carrying the message it would have been
    (not rendered; `to` empty when there is no address) for the shell's record."""
    return Go("failed", reason=reason, refused=MessageDraft(channel, to, {}, topic))


def send_config(channel: str = "chosen", content: dict[str, Any] | None = None,
                **extra: Any) -> dict[str, Any]:
    return {"channel": channel, "content": ALL_CONTENT if content is None else content, **extra}


# --- config ------------------------------------------------------------------------------------


def test_ports(ports_of):
    assert ports_of(KIND, send_config("sms")) == ("sent", "failed")
    assert KIND.describe()["ports"] == ["sent", "failed"]


def test_valid_configs_have_no_problems(config_problems):
    assert config_problems(KIND, send_config("chosen")) == []
    assert config_problems(KIND, send_config("sms", {"sms": {"text": "x"}}, topic="t")) == []


def test_explicit_channel_needs_its_content(config_problems):
    problems = config_problems(KIND, send_config("sms", {"email": {"subject": "s", "text": "t"}}))
    assert problems == ["write the sms message: content.sms is missing."]


def test_a_message_or_a_template_is_needed(config_problems):
    assert config_problems(KIND, {"channel": "sms"}) == [
        "write the message in 'content', or choose a saved 'template'."
    ]


def test_a_template_key_is_filled_in_by_the_shell_before_compiling(config_problems):
    # Publish writes the template's content into the node; compiled as is, it is a problem.
    problems = config_problems(KIND, {"channel": "sms", "template": "welcome"})
    assert problems == ["the template(s) it names are filled in when the flow is published; "
                        "this check had no templates at hand."]


def test_chosen_channel_needs_some_content(config_problems):
    assert config_problems(KIND, send_config("chosen", {})) == [
        "write a message for at least one channel in 'content'."
    ]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"email": {"subject": "Hi {{ name", "text": "ok"}}, "content.email.subject"),
        ({"email": {"subject": "ok", "text": "{% if %}"}}, "content.email.text"),
        ({"email": {"subject": "ok", "text": "ok", "html": "{{ }}"}}, "content.email.html"),
        ({"sms": {"text": "{% for x in %}"}}, "content.sms.text"),
        ({"push": {"title": "ok", "body": "{{ a b }}"}}, "content.push.body"),
        ({"push": {"title": "ok", "body": "ok", "url": "{{ x"}}, "content.push.url"),
        ({"voice": {"text": "{% endif %}"}}, "content.voice.text"),
        ({"chat": {"text": "{{ 'x' }"}}, "content.chat.text"),
    ],
)
def test_a_template_that_does_not_parse_is_a_problem_naming_the_field(config_problems, content,
                                                                       field):
    problems = config_problems(KIND, send_config("chosen", content))
    assert len(problems) == 1
    assert problems[0].startswith(f"{field}: the template does not parse (line 1)")


def test_every_bad_template_is_reported(config_problems):
    content = {"email": {"subject": "{{", "text": "{{"}, "sms": {"text": "{%"}}
    problems = config_problems(KIND, send_config("chosen", content))
    assert [p.split(":")[0] for p in problems] == [
        "content.email.subject", "content.email.text", "content.sms.text"
    ]


@pytest.mark.parametrize(
    "config",
    [
        {"channel": "fax", "content": {}},
        {"channel": "sms", "template": 3},
        {"channel": "sms", "content": {"sms": {}}},
        {"channel": "sms", "content": {"sms": {"text": "x", "subject": "y"}}},
        {"channel": "email", "content": {"email": {"text": "no subject"}}},
        {"channel": "sms", "content": {"sms": {"text": "x"}}, "unknown": 1},
    ],
)
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)


# --- sending -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "to", "content"),
    [
        ("email", "bill@example.com",
         {"subject": "Hi Bill", "text": "Welcome", "html": "<p>Welcome</p>"}),
        ("sms", "+393401234567", {"text": "Ciao Bill!"}),
        ("push", "tok-1", {"title": "Benvenuto", "body": "Ciao!", "url": "https://example.com/x"}),
        ("voice", "+393401234567", {"text": "Hello"}),
        ("chat", "whatsapp:+393401234567", {"text": "Hey"}),
    ],
)
def test_explicit_channel(build_node, make_ctx, channel, to, content):
    program = build_node(KIND, send_config(channel, topic="onboarding"))
    # An explicit channel wins over the last channel choice's pick.
    outcome = program.step(make_ctx(BILL, chosen_channel="sms" if channel != "sms" else "email"))
    assert outcome == Send(MessageDraft(channel, to, content, "onboarding"))


def test_chosen_channel_uses_the_last_pick(build_node, make_ctx):
    program = build_node(KIND, send_config("chosen"))
    outcome = program.step(make_ctx(BILL, chosen_channel="sms"))
    assert outcome == Send(MessageDraft("sms", "+393401234567", {"text": "Ciao Bill!"}, None))


def test_optional_fields_left_out_are_not_rendered(build_node, make_ctx):
    program = build_node(KIND, send_config("email", {"email": {"subject": "S", "text": "T"}}))
    outcome = program.step(make_ctx(BILL))
    assert isinstance(outcome, Send)
    assert outcome.message.content == {"subject": "S", "text": "T"}


def test_failed_no_channel_chosen(build_node, make_ctx):
    program = build_node(KIND, send_config("chosen"))
    assert program.step(make_ctx(BILL, chosen_channel=None)) == Go(
        "failed", reason="no_channel_chosen"
    )


def test_failed_no_content_for_the_chosen_channel(build_node, make_ctx):
    program = build_node(KIND, send_config("chosen", {"sms": {"text": "x"}}))
    assert program.step(make_ctx(BILL, chosen_channel="email")) == Go(
        "failed", reason="no_content"
    )


@pytest.mark.parametrize("channel", ["email", "sms", "push", "voice", "chat"])
def test_failed_opted_out(build_node, make_ctx, channel):
    program = build_node(KIND, send_config(channel))
    contact = {**BILL, "consent": {channel: "opted_out"}}
    to = {"email": "bill@example.com", "sms": "+393401234567", "push": "tok-1",
          "voice": "+393401234567", "chat": "whatsapp:+393401234567"}[channel]
    assert program.step(make_ctx(contact)) == refused("opted_out", channel, to)


def test_voice_consent_is_its_own(build_node, make_ctx):
    program = build_node(KIND, send_config("voice"))
    outcome = program.step(make_ctx({**BILL, "consent": {"sms": "opted_out"}}))
    assert isinstance(outcome, Send)
    assert outcome.message.channel == "voice"


@pytest.mark.parametrize(
    ("channel", "drop"),
    [("email", "email"), ("sms", "phone"), ("voice", "phone"), ("push", "push_tokens"),
     ("chat", "chat")],
)
def test_failed_no_address(build_node, make_ctx, channel, drop):
    program = build_node(KIND, send_config(channel))
    contact = {k: v for k, v in BILL.items() if k != drop}
    assert program.step(make_ctx(contact)) == refused("no_address", channel, "")


def test_opt_out_is_reported_before_no_address(build_node, make_ctx):
    program = build_node(KIND, send_config("sms"))
    contact = {"id": "c", "consent": {"sms": "opted_out"}}
    assert program.step(make_ctx(contact)) == refused("opted_out", "sms", "")


def test_failed_opted_out_with_chosen_channel(build_node, make_ctx):
    program = build_node(KIND, send_config("chosen"))
    contact = {**BILL, "consent": {"email": "opted_out"}}
    assert program.step(make_ctx(contact, chosen_channel="email")) == refused(
        "opted_out", "email", "bill@example.com"
    )


# --- rendering ---------------------------------------------------------------------------------


def test_renders_contact_event_and_vars(build_node, make_ctx):
    text = (
        "{{ contact.attributes.first_name }} ({{ contact.id }}): "
        "{{ event.name }} {{ event.properties.total }} / {{ vars.coupon }} "
        "{{ contact.attributes.first_name | upper }}"
    )
    program = build_node(KIND, send_config("sms", {"sms": {"text": text}}))
    ctx = make_ctx(
        BILL,
        event={"name": "purchased", "properties": {"total": 42}},
        vars={"coupon": "SAVE10"},
    )
    outcome = program.step(ctx)
    assert isinstance(outcome, Send)
    assert outcome.message.content == {"text": "Bill (c-1): purchased 42 / SAVE10 BILL"}


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ contact.attributes.nickname }}!",
        "Hi {{ contact.attributes.nickname.first }}!",
        "Hi {{ event.properties.name }}!",  # no event at all
        "Hi {{ vars.missing }}!",
        "Hi {{ nothing }}!",
    ],
)
def test_missing_variables_render_empty(build_node, make_ctx, text):
    program = build_node(KIND, send_config("sms", {"sms": {"text": text}}))
    outcome = program.step(make_ctx(BILL, event=None))
    assert isinstance(outcome, Send)
    assert outcome.message.content == {"text": "Hi !"}


def test_default_filter_fills_a_missing_variable(build_node, make_ctx):
    text = "Hi {{ contact.attributes.nickname | default('friend') }}!"
    program = build_node(KIND, send_config("sms", {"sms": {"text": text}}))
    outcome = program.step(make_ctx(BILL))
    assert isinstance(outcome, Send)
    assert outcome.message.content == {"text": "Hi friend!"}


def test_no_html_escaping_in_text(build_node, make_ctx):
    program = build_node(KIND, send_config("sms", {"sms": {"text": "{{ contact.attributes.x }}"}}))
    outcome = program.step(make_ctx({**BILL, "attributes": {"x": "Tom & <Jerry>"}}))
    assert isinstance(outcome, Send)
    assert outcome.message.content == {"text": "Tom & <Jerry>"}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ contact.attributes.update({'first_name': 'Mallory'}) }}",
        "{{ contact.attributes.pop('first_name') }}",
        "{{ ''.format.__globals__ }}",
    ],
)
def test_sandbox_blocks_escapes(build_node, make_ctx, text):
    program = build_node(KIND, send_config("sms", {"sms": {"text": "x" + text + "y"}}))
    contact = {**BILL, "attributes": dict(BILL["attributes"])}
    outcome = program.step(make_ctx(contact))
    if isinstance(outcome, Go):
        assert outcome == Go("failed", reason="render_error")
    else:
        assert isinstance(outcome, Send)
        # Rendered, but with nothing from Python internals in it.
        assert outcome.message.content == {"text": "xy"}
    assert contact["attributes"] == BILL["attributes"]  # the contact was not changed


def test_unsafe_call_fails_with_render_error(build_node, make_ctx):
    text = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    program = build_node(KIND, send_config("sms", {"sms": {"text": text}}))
    assert program.step(make_ctx(BILL)) == Go("failed", reason="render_error")


@pytest.mark.parametrize(
    "text",
    [
        "{{ contact.attributes.first_name + 1 }}",  # str + int: TypeError
        "{{ 100 / vars.count }}",  # vars.count == 0: ZeroDivisionError
        "{{ range(1000000) | list | length }}",  # sandbox MAX_RANGE: OverflowError
    ],
)
def test_python_errors_while_rendering_fail_with_render_error(build_node, make_ctx, text):
    # Python errors raised inside Jinja (not jinja2.TemplateError) must not escape the step.
    program = build_node(KIND, send_config("sms", {"sms": {"text": text}}))
    assert program.step(make_ctx(BILL, vars={"count": 0})) == Go("failed", reason="render_error")


# --- the delivery policy's gate ----------------------------------------------------------------


def gated(make_ctx, contact: dict[str, Any], rules: dict[str, Any] | None = None,
          facts: Any = None, **kwargs: Any) -> Any:
    ctx = make_ctx(contact, **kwargs)
    if rules is not None:
        ctx.policy = compile_policy(parse_settings(rules))
    if facts is not None:
        ctx.facts = facts
    return ctx


def test_when_capped_defaults_to_fail_and_is_left_out_of_exports():
    config = msgspec.convert(send_config("sms"), KIND.config)
    assert config.when_capped == "fail"
    assert "when_capped" not in msgspec.to_builtins(config)
    schema = KIND.json_schema()
    fields = schema["$defs"]["SendConfig"]["properties"]
    assert fields["when_capped"]["enum"] == ["fail", "wait"]


def test_refused_topic_opt_out_carries_the_topic(build_node, make_ctx):
    program = build_node(KIND, send_config("email", topic="newsletter"))
    contact = {**BILL, "consent": {"email:newsletter": "opted_out"}}
    assert program.step(make_ctx(contact)) == refused(
        "topic_opt_out", "email", "bill@example.com", "newsletter")
    # Another topic still goes by email.
    other = build_node(KIND, send_config("email", topic="receipts"))
    assert isinstance(other.step(make_ctx(contact)), Send)


def test_refused_suppressed(build_node, make_ctx):
    program = build_node(KIND, send_config("email"))
    ctx = gated(make_ctx, BILL, facts=RecordedFacts([("email", "Bill@Example.com")]))
    assert program.step(ctx) == refused("suppressed", "email", "bill@example.com")


CAPPED_RULES = {"caps": {"sms": {"day": 1}}, "transactional_topics": ["otp"]}


def test_capped_fails_by_default(build_node, make_ctx):
    program = build_node(KIND, send_config("sms", topic="promos"))
    facts = RecordedFacts()
    facts.record("c-1", "sms", NOW - timedelta(hours=2))
    ctx = gated(make_ctx, BILL, CAPPED_RULES, facts, now=NOW)
    assert program.step(ctx) == refused("capped", "sms", "+393401234567", "promos")


def test_capped_waits_until_the_cap_frees_up(build_node, make_ctx):
    program = build_node(KIND, send_config("sms", topic="promos", when_capped="wait"))
    facts = RecordedFacts()
    facts.record("c-1", "sms", NOW - timedelta(hours=2))
    ctx = gated(make_ctx, BILL, CAPPED_RULES, facts, now=NOW)
    assert program.step(ctx) == Retry(NOW + timedelta(hours=22), "capped")


def test_transactional_send_ignores_the_cap(build_node, make_ctx):
    program = build_node(KIND, send_config("sms", topic="otp"))
    facts = RecordedFacts()
    facts.record("c-1", "sms", NOW - timedelta(hours=2))
    outcome = program.step(gated(make_ctx, BILL, CAPPED_RULES, facts, now=NOW))
    assert outcome == Send(MessageDraft("sms", "+393401234567", {"text": "Ciao Bill!"}, "otp"))


def test_quiet_hours_defer_the_send_in_the_contact_zone(build_node, make_ctx):
    program = build_node(KIND, send_config("sms"))
    rules = {"quiet_hours": {"start": "21:00", "end": "08:00"}}
    night = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)  # 23:30 in Rome, 17:30 in New York
    rome = {**BILL, "timezone": "Europe/Rome"}
    assert program.step(gated(make_ctx, rome, rules, now=night)) == Retry(
        datetime(2026, 1, 6, 7, 0, tzinfo=UTC), "quiet_hours")
    new_york = {**BILL, "timezone": "America/New_York"}
    assert isinstance(program.step(gated(make_ctx, new_york, rules, now=night)), Send)
