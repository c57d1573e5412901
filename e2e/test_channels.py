"""Settings -> Channels: configure the SMTP provider in the app, send a test message, and see it
arrive at a real SMTP server (aiosmtpd, started here, with a login); the password is never
shown back."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from playwright.sync_api import Page, expect

from castflow_e2e import shot

USER = "mailer"
PASSWORD = "e2e-pa55-word"


@dataclass
class Inbox:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = Inbox()
    # A local relay without TLS that still wants a login (auth over plain text is allowed
    # here only because it never leaves the machine).
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=30,
                            auth_required=True, auth_require_tls=False,
                            authenticator=_authenticate)
    controller.start()
    yield port, inbox
    controller.stop()


def test_configure_smtp_and_send_a_test_message(signed_in: Page, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    page = signed_in
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Channels").click()
    card = page.get_by_role("region", name="Email")
    expect(card.get_by_test_id("channel-email-provider")).to_have_text("Sandbox (delivers nothing)")
    expect(card.get_by_test_id("channel-email-source")).to_contain_text("The default")

    url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}?from=news@example.com"
    card.get_by_label("Provider URL").fill(url)
    card.get_by_role("button", name="Save Email provider").click()
    expect(card.get_by_test_id("channel-email-provider")).to_have_text("SMTP")
    expect(card.get_by_test_id("channel-email-source")).to_contain_text("Set for this workspace")
    expect(card.get_by_text(f"smtp://{USER}:***@127.0.0.1:{port}")).to_be_visible()
    expect(card.get_by_label("Replace the provider URL")).to_have_value("")

    card.get_by_label("Send a test message to").fill("ada@example.com")
    card.get_by_role("button", name="Send a test message").click()
    answer = card.get_by_test_id("channel-email-answer")
    expect(answer).to_contain_text("SMTP accepted the message to ada@example.com", timeout=30_000)
    shot(page, "70-channel-test-sent")

    assert len(inbox.messages) == 1
    mail_from, to, raw = inbox.messages[0]
    assert (mail_from, to) == ("news@example.com", ["ada@example.com"])
    message = email.message_from_bytes(raw)
    assert message["Subject"] == "Castflow test message"
    assert message["Message-ID"].strip("<>") in answer.inner_text()  # the provider's id
    assert "your email provider works" in raw.decode()

    # After a reload, nothing on the page holds the password.
    page.reload()
    expect(page.get_by_role("region", name="Email").get_by_test_id("channel-email-provider")
           ).to_have_text("SMTP")
    assert PASSWORD not in page.content()

    # A wrong password: the server's refusal, in words, and nothing arrives.
    card = page.get_by_role("region", name="Email")
    card.get_by_label("Replace the provider URL").fill(url.replace(PASSWORD, "wrong-one"))
    card.get_by_role("button", name="Save Email provider").click()
    expect(card.get_by_role("button", name="Save Email provider")).to_be_disabled()
    card.get_by_label("Send a test message to").fill("ada@example.com")
    card.get_by_role("button", name="Send a test message").click()
    expect(card.get_by_test_id("channel-email-answer")).to_contain_text(
        "SMTP refused the message", timeout=30_000)
    assert len(inbox.messages) == 1

    # Back to the sandbox.
    card.get_by_role("button", name="Remove the workspace setting").click()
    expect(card.get_by_test_id("channel-email-provider")).to_have_text("Sandbox (delivers nothing)")
