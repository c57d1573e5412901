"""Settings -> Channels over HTTP, on SQLite and PostgreSQL: secrets never answered and encrypted
at rest, environment precedence, bad URLs refused with the bad part named, a test message through
a real SMTP server; and the worker's sender picking up a changed setting."""

from __future__ import annotations

import email
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from channels.servers import SMTP_PASSWORD, SMTP_USER, Certificate, SmtpServer, start_smtp
from channels.servers import certificate as certificate  # the fixture, for this module
from test_api_support import Api, running_api, without_provider_settings

from backend.channels import LinkSettings, WorkspaceSender
from backend.db import Database
from backend.runtime.sender import OutgoingMessage
from backend.store import channel_settings as store

PASSWORD = "hunter2-very-secret"
SMS_KEY = "infobip-key-0123456789abcdef"


@pytest.fixture
async def api(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[Api]:
    without_provider_settings(monkeypatch)
    async with running_api(database_url, tmp_path) as running:
        yield running


@pytest.fixture
def smtp(certificate: Certificate) -> Iterator[SmtpServer]:
    server = start_smtp("starttls", certificate)
    yield server
    server.controller.stop()


def smtp_url(server: SmtpServer, certificate: Certificate, password: str = SMTP_PASSWORD) -> str:
    return (f"smtp://{SMTP_USER}:{quote(password, safe='')}@{server.host}:{server.port}"
            f"?from=news@example.com&starttls=1&ca={quote(str(certificate.cert))}")


async def channels(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.client.get("/api/settings/channels")
    assert response.status_code == 200, response.text
    assert PASSWORD not in response.text and SMS_KEY not in response.text
    return {item["channel"]: item for item in response.json()["items"]}


async def put(api: Api, channel: str, url: str) -> Any:
    return await api.client.put(f"/api/settings/channels/{channel}", json={"url": url})


async def test_new_workspace_uses_the_sandbox_everywhere(api: Api) -> None:
    listed = await channels(api)
    assert list(listed) == ["email", "sms", "voice", "chat", "push"]
    for item in listed.values():
        assert (item["provider"], item["source"], item["stored"]) == ("sandbox", "default", False)
        assert "redacted_url" not in item
    assert listed["sms"]["env_var"] == "CASTFLOW_SMS_URL"


async def test_secrets_are_never_answered_and_are_encrypted_at_rest(api: Api) -> None:
    url = f"smtps://mailer:{PASSWORD}@mail.example.com?from=news@example.com"
    response = await put(api, "email", url)
    assert response.status_code == 200, response.text
    assert PASSWORD not in response.text
    saved = response.json()
    assert (saved["provider"], saved["source"], saved["stored"]) == ("smtp", "workspace", True)
    assert saved["redacted_url"] == "smtps://mailer:***@mail.example.com?from=news@example.com"
    assert saved["settings"]["host"] == "mail.example.com"
    assert saved["settings"]["implicit_tls"] is True
    assert "password" not in saved["settings"]
    sms = await put(api, "sms", f"infobip://{SMS_KEY}@api.infobip.com?from=Castflow")
    assert sms.status_code == 200 and SMS_KEY not in sms.text
    assert "api_key" not in sms.json()["settings"]

    listed = await channels(api)  # checks every answer for the secrets
    assert listed["email"]["provider"] == "smtp" and listed["sms"]["provider"] == "infobip"
    rows = api.sql("SELECT channel, url_encrypted FROM channel_settings ORDER BY channel")
    assert [r["channel"] for r in rows] == ["email", "sms"]
    for row in rows:
        assert PASSWORD not in row["url_encrypted"] and SMS_KEY not in row["url_encrypted"]
        assert "mail.example.com" not in row["url_encrypted"]
    # The stored value is the URL, encrypted under the server's key (kept under var/).
    cipher = store.settings_cipher({}, api.app.state.settings.var_dir)
    assert cipher.decrypt(rows[0]["url_encrypted"].encode()).decode() == url


async def test_the_environment_takes_precedence(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASTFLOW_SMS_URL", f"infobip://{SMS_KEY}@sms.example.com?from=Env")
    listed = await channels(api)
    assert (listed["sms"]["provider"], listed["sms"]["source"]) == ("infobip", "environment")
    assert listed["sms"]["redacted_url"] == "infobip://***@sms.example.com?from=Env"

    response = await put(api, "sms", "twilio://AC123:tok-" + PASSWORD + "@api.twilio.com?from=%2B1")
    assert response.status_code == 200, response.text
    assert PASSWORD not in response.text
    saved = response.json()
    assert saved["source"] == "environment" and saved["provider"] == "infobip"
    assert saved["stored"] is True
    assert "CASTFLOW_SMS_URL" in saved["note"] and "precedence" in saved["note"]

    monkeypatch.delenv("CASTFLOW_SMS_URL")
    listed = await channels(api)
    assert (listed["sms"]["provider"], listed["sms"]["source"]) == ("twilio", "workspace")
    deleted = await api.client.delete("/api/settings/channels/sms")
    assert deleted.status_code == 200
    assert (deleted.json()["provider"], deleted.json()["source"]) == ("sandbox", "default")
    assert api.sql("SELECT channel FROM channel_settings") == []


@pytest.mark.parametrize(("channel", "url", "words"), [
    ("email", f"smtp://mailer:{PASSWORD}@mail.example.com", "parameter 'from' is required"),
    ("email", f"smtp://mailer:{PASSWORD}@mail.example.com:99999?from=a@b.co", "port"),
    ("email", f"smtp://mailer:{PASSWORD}@mail.example.com?from=a@b.co&stattls=1",
     "unknown parameter(s): stattls"),
    ("sms", f"smtp://mailer:{PASSWORD}@mail.example.com?from=a@b.co",
     "'smtp' is not a provider for sms"),
    ("push", f"webhook+https://hooks.example.com/x?secret={PASSWORD}&timeout=0",
     "parameter 'timeout'"),
    ("email", "not a url", "not a provider URL"),
])
async def test_bad_urls_are_refused_naming_the_bad_part(
    api: Api, channel: str, url: str, words: str
) -> None:
    response = await put(api, channel, url)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    assert f"the {channel} provider URL" in response.json()["error"]
    assert PASSWORD not in response.text
    assert api.sql("SELECT channel FROM channel_settings") == []  # nothing saved


@pytest.mark.parametrize("body", [None, [], {"url": ""}, {"url": 5}, {"url": "sandbox:", "x": 1}])
async def test_bad_bodies_and_channels(api: Api, body: Any) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    response = await api.client.put("/api/settings/channels/email", content=content,
                                    headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]
    unknown = await put(api, "fax", "sandbox:")
    assert unknown.status_code == 404 and "fax" in unknown.json()["error"]
    test = await api.client.post("/api/settings/channels/email/test", json={"to": ""})
    assert test.status_code == 400 and "'to'" in test.json()["error"]


async def test_a_test_message_goes_through_the_real_smtp_server(
    api: Api, smtp: SmtpServer, certificate: Certificate
) -> None:
    assert (await put(api, "email", smtp_url(smtp, certificate))).status_code == 200
    response = await api.client.post("/api/settings/channels/email/test",
                                     json={"to": "ada@example.com"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "accepted", answer
    assert (answer["provider"], answer["source"]) == ("smtp", "workspace")
    assert answer["provider_id"]
    assert SMTP_PASSWORD not in response.text
    [(mail_from, to, raw)] = smtp.inbox.messages
    assert (mail_from, to) == ("news@example.com", ["ada@example.com"])
    message = email.message_from_bytes(raw)
    assert message["Subject"] == "Castflow test message"
    assert smtp.inbox.logins == [SMTP_USER] and smtp.inbox.tls == [True]

    # A wrong password: the provider's refusal, in words, without the password.
    wrong = "not-the-" + PASSWORD
    assert (await put(api, "email", smtp_url(smtp, certificate, wrong))).status_code == 200
    refused = await api.client.post("/api/settings/channels/email/test",
                                    json={"to": "ada@example.com"})
    assert refused.status_code == 200
    assert refused.json()["status"] == "failed" and refused.json()["error"]
    assert wrong not in refused.text
    assert len(smtp.inbox.messages) == 1


async def test_the_sandbox_accepts_a_test_message(api: Api) -> None:
    response = await api.client.post("/api/settings/channels/sms/test", json={"to": "+3934012"})
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response.json()["provider_id"].startswith("sandbox:")


async def test_a_setting_under_another_key_is_shown_not_fatal(api: Api) -> None:
    assert (await put(api, "email", "smtp://mail.example.com?from=a@b.co")).status_code == 200
    other = store.settings_cipher({"CASTFLOW_SECRET_KEY": "another key, long enough"})
    workspace = api.sql("SELECT id FROM workspaces")[0]["id"]
    api.call(store.put_url, api.db, other, workspace, "sms", "sandbox:", _now())
    listed = await channels(api)
    assert "cannot be decrypted" in listed["sms"]["problem"] and listed["sms"]["stored"]
    assert listed["email"]["provider"] == "smtp"
    test = await api.client.post("/api/settings/channels/sms/test", json={"to": "+3934012"})
    assert test.status_code == 409 and "set it again" in test.json()["error"]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_the_worker_sender_picks_up_changed_settings(
    database: Database, tmp_path: Path, smtp: SmtpServer, certificate: Certificate
) -> None:
    workspace = (await database.fetch(
        "INSERT INTO workspaces (name, created_at) VALUES ({}, {}) RETURNING id", "w", _now()
    ))[0]["id"]
    cipher = store.settings_cipher({}, tmp_path)
    clock = [0.0]
    stored = store.StoredChannels(database, cipher, recheck=2.0, clock=lambda: clock[0])
    links = LinkSettings("https://castflow.example.com", b"test-signing-key-0123456789")
    sender = store.RefreshingSender(WorkspaceSender(stored.load_urls, links, env={}), stored)

    def message(n: int) -> OutgoingMessage:
        return OutgoingMessage(f"r:{n}:1", workspace, "c-1", "email", "ada@example.com",
                               {"subject": "Hi", "text": "Hello"})

    try:
        [result] = await sender.send([message(1)])  # nothing stored: the sandbox
        assert result.status == "sent" and smtp.inbox.messages == []
        await store.put_url(database, cipher, workspace, "email", smtp_url(smtp, certificate),
                            _now())
        clock[0] = 1.0  # checked a moment ago: the providers in use stay
        await sender.send([message(2)])
        assert smtp.inbox.messages == []
        clock[0] = 3.0
        [result] = await sender.send([message(3)])
        assert result.status == "sent" and len(smtp.inbox.messages) == 1
        assert await store.delete_url(database, workspace, "email")
        clock[0] = 6.0
        await sender.send([message(4)])
        assert len(smtp.inbox.messages) == 1  # back to the sandbox
    finally:
        await sender.aclose()
