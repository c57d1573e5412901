"""Provider URLs: every form, every bad form with its message, and secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.channels import (
    ChannelUrlError,
    Secret,
    load_link_settings,
    parse_provider_url,
    redact_url,
    resolve_channel,
    resolve_channels,
)
from backend.channels.config import (
    FcmConfig,
    InfobipConfig,
    SandboxConfig,
    SmtpConfig,
    TwilioConfig,
    WebhookConfig,
    WebPushAndFcmConfig,
    WebPushConfig,
)

# A valid P-256 private key (the scalar 0x0102...20), base64url: made for tests.
VAPID = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
SECRETS = ("hunter2", "IBKEY123", "TWTOKEN", "whsec_zzz", VAPID, "tok3n")


def test_smtp_forms() -> None:
    config = parse_provider_url(
        "email", "smtp://user:hunter2@mail.example.com:587?from=news@example.com&starttls=1"
    )
    assert config == SmtpConfig(
        host="mail.example.com", port=587, sender="news@example.com", username="user",
        password=Secret("hunter2"), starttls=True,
    )
    plain = parse_provider_url("email", "smtp://relay.local?from=a@b.c")
    assert isinstance(plain, SmtpConfig)
    assert (plain.port, plain.starttls, plain.implicit_tls, plain.username) == (25, False, False,
                                                                               None)
    tls = parse_provider_url(
        "email",
        "smtps://u%40x:p%3Aw@smtp.example.com?from=News%20%3Cn@example.com%3E&track_opens=0"
        "&track_clicks=false&unsubscribe_mailto=unsub@example.com&ca=/etc/ca.pem&timeout=5"
        "&connections=4",
    )
    assert tls == SmtpConfig(
        host="smtp.example.com", port=465, sender="News <n@example.com>", username="u@x",
        password=Secret("p:w"), implicit_tls=True, ca_file="/etc/ca.pem", timeout=5.0,
        track_opens=False, track_clicks=False, unsubscribe_mailto="unsub@example.com",
        connections=4,
    )


def test_http_provider_forms() -> None:
    infobip = parse_provider_url("sms", "infobip://IBKEY123@xyz.api.infobip.com?from=Castflow")
    assert infobip == InfobipConfig("https://xyz.api.infobip.com", Secret("IBKEY123"), "Castflow")
    local = parse_provider_url("voice", "infobip+http://K@127.0.0.1:8080?language=de")
    assert local == InfobipConfig("http://127.0.0.1:8080", Secret("K"), language="de")
    twilio = parse_provider_url("sms", "twilio://AC1:TWTOKEN@api.twilio.com?from=+15550001111")
    # A literal '+' in a query decodes to a space: say %2B; the parser keeps what it is given.
    assert isinstance(twilio, TwilioConfig)
    assert (twilio.base_url, twilio.account_sid, twilio.auth_token) == (
        "https://api.twilio.com", "AC1", Secret("TWTOKEN"))
    hook = parse_provider_url("chat", "webhook+https://hooks.example.com/in/tok3n?secret=whsec_zzz&x=1")
    assert hook == WebhookConfig(Secret("https://hooks.example.com/in/tok3n?x=1"),
                                 Secret("whsec_zzz"))
    bare = parse_provider_url("push", "webhook+http://localhost:9000")
    assert bare == WebhookConfig(Secret("http://localhost:9000/"))


def test_push_and_sandbox_forms() -> None:
    webpush = parse_provider_url(
        "push", f"webpush:?vapid_private_key={VAPID}&subject=mailto:ops@example.com&ttl=60"
    )
    assert webpush == WebPushConfig(Secret(VAPID), "mailto:ops@example.com", ttl=60)
    fcm = parse_provider_url(
        "push", "fcm:?project=my-app&credentials=/run/sa.json&endpoint=http://127.0.0.1:9/"
    )
    assert fcm == FcmConfig("my-app", "/run/sa.json", "http://127.0.0.1:9")
    for channel in ("email", "sms", "voice", "chat", "push"):
        assert parse_provider_url(channel, "sandbox:") == SandboxConfig()
    both = parse_provider_url(
        "push", f"webpush:?vapid_private_key={VAPID}&subject=mailto:ops@example.com "
        " fcm:?project=my-app&credentials=/run/sa.json"
    )
    assert both == WebPushAndFcmConfig(
        WebPushConfig(Secret(VAPID), "mailto:ops@example.com"),
        FcmConfig("my-app", "/run/sa.json"),
    )


@pytest.mark.parametrize(
    ("channel", "url", "message"),
    [
        ("email", "", "not a provider URL"),
        ("email", "mail.example.com", "not a provider URL"),
        ("email", "infobip://IBKEY123@h", "'infobip' is not a provider for email; use one of "
                                          "smtp, smtps, sandbox"),
        ("voice", "twilio://AC1:TWTOKEN@api.twilio.com?from=1", "'twilio' is not a provider for"),
        ("email", "smtp://user:hunter2@h:99999?from=a@b.c", "the port must be a number"),
        ("email", "smtp://user:hunter2@h:abc?from=a@b.c", "the port must be a number"),
        ("email", "smtp://user:hunter2@?from=a@b.c", "the host is missing"),
        ("email", "smtp://user:hunter2@h", "parameter 'from' is required"),
        ("email", "smtp://h?from=nobody", "parameter 'from' must be an email address"),
        ("email", "smtp://h?from=zo%C3%AB@example.com", "'from' must be an email address"),
        ("email", "smtp://h?from=a@b.c&unsubscribe_mailto=x%3E@y", "'unsubscribe_mailto' must"),
        ("email", "smtp://h?from=a@b.c&starttls=yes please", "'starttls' must be 0 or 1"),
        ("email", "smtps://h?from=a@b.c&starttls=1", "smtps:// is already TLS"),
        ("email", "smtp://h?from=a@b.c&form=x&hunter2=1", "unknown parameter(s): form, hunter2"),
        ("email", "smtp://h?from=a@b.c&from=d@e.f", "parameter 'from' is given twice"),
        ("email", "smtp://h/path?from=a@b.c", "an SMTP URL has no path"),
        ("email", "smtp://:hunter2@h?from=a@b.c", "a password needs a user name"),
        ("email", "smtp://h?from=a@b.c&timeout=-1", "'timeout' must be a number of seconds"),
        ("email", "smtp://h?from=a@b.c#frag", "no #fragment"),
        ("email", "smtp://h?from=a@b.c&connections=0", "'connections' must be a whole number"),
        ("email", "smtp://h?from=a@b.c&connections=many", "from 1 to 20, not 'many'"),
        ("sms", "infobip://h.example.com", "infobip://APIKEY@BASE_HOST"),
        ("sms", "infobip://IBKEY123:hunter2@h", "infobip://APIKEY@BASE_HOST"),
        ("sms", "infobip://IBKEY123@h/sms/2", "without a path"),
        ("sms", "twilio://AC1@api.twilio.com?from=1", "twilio://ACCOUNT_SID:AUTH_TOKEN@"),
        ("sms", "twilio://AC1:TWTOKEN@api.twilio.com", "parameter 'from' is required"),
        ("sms", "webhook+https://u:hunter2@h/x", "put the webhook secret in '?secret='"),
        ("sms", "webhook+https:///x?secret=whsec_zzz", "the host is missing"),
        ("push", "webpush:?subject=mailto:a@b.c", "parameter 'vapid_private_key' is required"),
        ("push", "webpush:?vapid_private_key=hunter2&subject=mailto:a@b.c",
         "'vapid_private_key' is not a VAPID private key"),
        ("push", f"webpush:?vapid_private_key={VAPID}&subject=ops", "'subject' must be a mailto:"),
        ("push", f"webpush://host?vapid_private_key={VAPID}&subject=mailto:a@b",
         "write 'webpush:?parameters'"),
        ("push", "fcm:?credentials=/x.json", "parameter 'project' is required"),
        ("push", "fcm:?project=../admin&credentials=/x.json", "'project' may only hold letters"),
        ("sms", "twilio://AC%2F..:TWTOKEN@h?from=1", "the account SID may only hold letters"),
        ("push", f"webpush:?vapid_private_key={VAPID}&subject=mailto:a@b&ttl=-1",
         "'ttl' must be a whole number from 0 to 2419200"),
        ("push", "fcm:?project=p&credentials=/x&endpoint=ftp://x", "'endpoint' must be an http"),
        ("push", "sandbox://x", "write 'sandbox:?parameters'"),
        ("push", "fcm:?project=a&credentials=b fcm:?project=c&credentials=d",
         "one webpush: and one fcm:"),
        ("push", "sandbox: fcm:?project=c&credentials=d", "one webpush: and one fcm:"),
        ("sms", "sandbox: sandbox:", "write 'sandbox:?parameters'"),
        ("push", "sandbox:?x=1", "unknown parameter(s): x"),
    ],
)
def test_bad_urls_name_the_bad_part_and_hide_secrets(channel: str, url: str, message: str) -> None:
    with pytest.raises(ChannelUrlError) as error:
        parse_provider_url(channel, url)
    text = str(error.value)
    assert message in text
    assert text.startswith(f"CASTFLOW_{channel.upper()}_URL: ")
    for secret in SECRETS:
        if secret != "hunter2" or "hunter2=1" not in url:  # a parameter *name* may be shown
            assert secret not in text


def test_unknown_channel() -> None:
    with pytest.raises(ChannelUrlError, match="unknown channel 'fax'"):
        parse_provider_url("fax", "sandbox:")


def test_secrets_never_in_repr() -> None:
    urls = {
        "email": "smtp://user:hunter2@h:587?from=a@b.c&starttls=1",
        "sms": "infobip://IBKEY123@h?from=X",
        "chat": "twilio://AC1:TWTOKEN@api.twilio.com?from=1",
        "voice": "webhook+https://hooks.example.com/in/tok3n?secret=whsec_zzz",
        "push": f"webpush:?vapid_private_key={VAPID}&subject=mailto:a@b.c",
    }
    settings = resolve_channels({}, urls)
    for item in settings.values():
        shown = repr(item) + str(item) + repr(item.config) + repr(item.redacted())
        for secret in SECRETS:
            assert secret not in shown, (item.channel, secret)
    assert settings["email"].redacted().url == "smtp://user:***@h:587?from=a@b.c&starttls=1"
    assert settings["sms"].redacted().url == "infobip://***@h?from=X"
    assert settings["chat"].redacted().url == "twilio://AC1:***@api.twilio.com?from=1"
    assert settings["voice"].redacted().url == "webhook+https://hooks.example.com/***?secret=***"
    assert settings["push"].redacted().url == (
        "webpush:?vapid_private_key=***&subject=mailto:a@b.c"
    )
    assert redact_url("smtp://u:p@h:bad").startswith("smtp://u:***@")
    assert redact_url(f"webpush:?vapid_private_key={VAPID}&subject=mailto:a@b.c fcm:?project=p") \
        == "webpush:?vapid_private_key=***&subject=mailto:a@b.c fcm:?project=p"


def test_precedence_environment_then_workspace_then_sandbox() -> None:
    env = {"CASTFLOW_EMAIL_URL": "smtp://h?from=a@b.c", "CASTFLOW_SMS_URL": "  "}
    stored = {"email": "smtps://h?from=x@y.z", "sms": "infobip://K@h"}
    settings = resolve_channels(env, stored)
    assert {c: (s.provider, s.source) for c, s in settings.items()} == {
        "email": ("smtp", "environment"),
        "sms": ("infobip", "workspace"),
        "voice": ("sandbox", "default"),
        "chat": ("sandbox", "default"),
        "push": ("sandbox", "default"),
    }
    redacted = settings["email"].redacted()
    assert (redacted.channel, redacted.provider, redacted.source) == ("email", "smtp",
                                                                      "environment")


def test_bad_workspace_setting_is_named_as_such() -> None:
    with pytest.raises(ChannelUrlError, match="the workspace's sms provider: 'smtp' is not"):
        resolve_channel("sms", {}, "smtp://h?from=a@b.c")


def test_link_settings(tmp_path: Path) -> None:
    env = {"CASTFLOW_PUBLIC_URL": "https://mail.example.com/", "CASTFLOW_SECRET_KEY": "k" * 32}
    links = load_link_settings(env)
    assert (links.public_url, links.signing_key) == ("https://mail.example.com", b"k" * 32)
    assert "kkkk" not in repr(links)
    made = load_link_settings({}, tmp_path)
    assert made.public_url == "http://127.0.0.1:8000"
    assert len(made.signing_key) >= 32
    assert load_link_settings({}, tmp_path).signing_key == made.signing_key  # kept on disk
    assert (tmp_path / "link-signing.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ChannelUrlError, match="CASTFLOW_PUBLIC_URL must start with http"):
        load_link_settings({"CASTFLOW_PUBLIC_URL": "castflow.example.com"}, tmp_path)
    with pytest.raises(ChannelUrlError, match="at least 16 characters"):
        load_link_settings({"CASTFLOW_SECRET_KEY": "short"}, tmp_path)
