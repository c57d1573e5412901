"""The SMTP provider against a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from backend.channels import (
    Accepted,
    Permanent,
    ProviderSet,
    SmtpProvider,
    Transient,
    key_from_message_id,
    message_id,
    parse_provider_url,
    read_open_token,
    read_unsubscribe_token,
    verify_link,
)
from backend.channels.config import LinkSettings, SmtpConfig
from backend.runtime.sender import DeliveryResult, OutgoingMessage
from channels.servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    Certificate,
    SmtpServer,
    free_port,
    start_smtp,
)

HTML = (
    '<html><body><p>Hi Bill, see <a href="https://shop.example.com/sale?a=1&amp;b=2">the sale</a>'
    " or <a href='mailto:help@example.com'>write to us</a>.</p></body></html>"
)


def outgoing(key: str = "41:hello:3", to: str = "bill@example.com", **content: Any) -> (
    OutgoingMessage
):
    body = {"subject": "Benvenuto Bill", "text": "Ciao Bill! https://shop.example.com/sale"}
    body.update(content)
    return OutgoingMessage(key, 7, "c-1", "email", to, body, topic="onboarding")


def provider(server: SmtpServer, links: LinkSettings, query: str = "", auth: str = "") -> (
    SmtpProvider
):
    url = f"smtp://{auth}{server.host}:{server.port}?from=news@example.com{query}"
    config = parse_provider_url("email", url)
    assert isinstance(config, SmtpConfig)
    return SmtpProvider(config, links)


def received(server: SmtpServer, index: int = -1) -> EmailMessage:
    content = server.inbox.messages[index][2]
    parsed = email.message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_mime_structure_headers_and_tracking(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links, "&unsubscribe_mailto=unsubscribe@example.com")
    outcome = await smtp.send(outgoing(html=HTML))
    await smtp.aclose()

    assert outcome == Accepted(message_id("41:hello:3", "example.com").strip("<>"))
    mail_from, rcpt_tos, _ = plain_smtp.inbox.messages[0]
    assert (mail_from, rcpt_tos) == ("news@example.com", ["bill@example.com"])
    mail = received(plain_smtp)
    assert mail.get_content_type() == "multipart/alternative"
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert mail["From"] == "news@example.com"
    assert mail["To"] == "bill@example.com"
    assert mail["Subject"] == "Benvenuto Bill"
    assert mail["Message-ID"] == message_id("41:hello:3", "example.com")
    assert key_from_message_id(mail["Message-ID"]) == "41:hello:3"

    # RFC 8058: an https URL (and here a mailto), plus the one-click POST marker.
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    targets = re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])
    assert len(targets) == 2
    https, mailto = targets
    assert https.startswith("https://castflow.example.com/unsubscribe/")
    claims = read_unsubscribe_token(links.signing_key, https.rsplit("/", 1)[1])
    assert (claims.workspace, claims.contact, claims.message, claims.topic) == (
        7, "c-1", "41:hello:3", "onboarding",
    )
    assert mailto.startswith("mailto:unsubscribe@example.com?subject=unsubscribe%20")

    text = parts[0].get_content()
    assert text.strip() == "Ciao Bill! https://shop.example.com/sale"  # text links untouched
    markup = parts[1].get_content()
    hrefs = re.findall(r'href="([^"]+)"', markup) + re.findall(r"href='([^']+)'", markup)
    click, kept = hrefs
    assert kept == "mailto:help@example.com"
    assert click.startswith("https://castflow.example.com/t/click/")
    link = verify_link(links.signing_key, click.rsplit("/", 1)[1])
    assert (link.url, link.message) == ("https://shop.example.com/sale?a=1&b=2", "41:hello:3")
    pixels = re.findall(r'<img src="([^"]+)" width="1" height="1"', markup)
    assert len(pixels) == 1
    assert markup.index(pixels[0]) < markup.index("</body>")
    token = pixels[0].removeprefix("https://castflow.example.com/t/open/").removesuffix(".gif")
    assert read_open_token(links.signing_key, token).message == "41:hello:3"


async def test_tracking_off_leaves_the_html_alone(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links, "&track_opens=0&track_clicks=0")
    assert isinstance(await smtp.send(outgoing(html=HTML)), Accepted)
    await smtp.aclose()
    mail = received(plain_smtp)
    markup = list(mail.iter_parts())[1].get_content()
    assert 'href="https://shop.example.com/sale?a=1&amp;b=2"' in markup
    assert "<img" not in markup and "/t/click/" not in markup and "/t/open/" not in markup
    assert "List-Unsubscribe" in mail  # unsubscribing is not tracking: always there
    assert len(re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])) == 1  # no mailto configured


async def test_html_made_from_text_when_missing(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links, "&track_opens=0")
    await smtp.send(outgoing(text="Line <1>\nline 2\n\nSecond paragraph"))
    await smtp.aclose()
    markup = list(received(plain_smtp).iter_parts())[1].get_content()
    assert "<p>Line &lt;1&gt;<br>line 2</p><p>Second paragraph</p>" in markup


async def test_one_connection_for_many_sends(plain_smtp: SmtpServer, links: LinkSettings) -> None:
    smtp = provider(plain_smtp, links)
    sender = ProviderSet({"email": smtp})
    batch = [outgoing(key=f"1:n:{i}", to=f"c{i}@example.com") for i in range(25)]
    results = await sender.send(batch)
    results += await sender.send([outgoing(key="1:n:99")])
    await sender.aclose()
    assert all(r.status == "sent" for r in results) and len(results) == 26
    assert len(plain_smtp.inbox.messages) == 26
    assert plain_smtp.inbox.connections == 1
    assert smtp.connections_opened == 1


async def test_reconnects_after_the_server_drops_the_connection(links: LinkSettings) -> None:
    first = start_smtp("plain")
    smtp = provider(first, links)
    assert isinstance(await smtp.send(outgoing(key="1:a:1")), Accepted)
    first.controller.stop()
    second = start_smtp("plain")
    try:
        # The same provider, now pointed at a new server: its kept connection is dead.
        smtp.config = SmtpConfig(second.host, second.port, "news@example.com")
        assert isinstance(await smtp.send(outgoing(key="1:a:2")), Accepted)
        assert smtp.connections_opened == 2
        assert len(second.inbox.messages) == 1
    finally:
        await smtp.aclose()
        second.controller.stop()


async def test_starttls_only_when_asked(certificate: Certificate, links: LinkSettings) -> None:
    server = start_smtp("offer", certificate)
    try:
        plain = provider(server, links)
        assert isinstance(await plain.send(outgoing(key="1:p:1")), Accepted)
        await plain.aclose()
        upgraded = provider(server, links, f"&starttls=1&ca={certificate.cert}")
        assert isinstance(await upgraded.send(outgoing(key="1:p:2")), Accepted)
        await upgraded.aclose()
        assert server.inbox.tls == [False, True]
    finally:
        server.controller.stop()


async def test_starttls_with_auth(
    starttls_smtp: SmtpServer, certificate: Certificate, links: LinkSettings
) -> None:
    smtp = provider(
        starttls_smtp, links, f"&starttls=1&ca={certificate.cert}",
        auth=f"{SMTP_USER}:{SMTP_PASSWORD}@",
    )
    assert isinstance(await smtp.send(outgoing()), Accepted)
    await smtp.aclose()
    assert starttls_smtp.inbox.tls == [True]
    assert starttls_smtp.inbox.logins == [SMTP_USER]


# aiosmtpd cannot tell that an implicit-TLS connection is encrypted, hence its warning.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_with_auth(
    tls_smtp: SmtpServer, certificate: Certificate, links: LinkSettings
) -> None:
    url = (
        f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@{tls_smtp.host}:{tls_smtp.port}"
        f"?from=News%20%3Cnews@example.com%3E&ca={certificate.cert}"
    )
    config = parse_provider_url("email", url)
    assert isinstance(config, SmtpConfig)
    smtp = SmtpProvider(config, links)
    assert isinstance(await smtp.send(outgoing()), Accepted)
    await smtp.aclose()
    assert tls_smtp.inbox.tls == [True]
    assert tls_smtp.inbox.messages[0][0] == "news@example.com"  # envelope: the bare address
    assert received(tls_smtp)["From"] == "News <news@example.com>"


async def test_wrong_password_is_permanent_and_secret_free(
    starttls_smtp: SmtpServer, certificate: Certificate, links: LinkSettings
) -> None:
    smtp = provider(
        starttls_smtp, links, f"&starttls=1&ca={certificate.cert}",
        auth=f"{SMTP_USER}:not-the-password@",
    )
    outcome = await smtp.send(outgoing())
    await smtp.aclose()
    assert isinstance(outcome, Permanent)
    assert "authentication failed" in outcome.reason and "535" in outcome.reason
    assert "not-the-password" not in outcome.reason
    assert starttls_smtp.inbox.messages == []


async def test_refused_recipients(plain_smtp: SmtpServer, links: LinkSettings) -> None:
    plain_smtp.inbox.refuse = {
        "gone@example.com": "550 5.1.1 No such user",
        "full@example.com": "452 4.2.2 Mailbox full",
    }
    smtp = provider(plain_smtp, links)
    gone = await smtp.send(outgoing(key="1:r:1", to="gone@example.com"))
    full = await smtp.send(outgoing(key="1:r:2", to="full@example.com"))
    fine = await smtp.send(outgoing(key="1:r:3"))
    await smtp.aclose()
    assert gone == Permanent("recipient refused: 550 5.1.1 No such user")
    assert full == Transient("recipient deferred: 452 4.2.2 Mailbox full")
    assert isinstance(fine, Accepted)
    assert smtp.connections_opened == 1  # a refusal does not cost the connection


async def test_server_down_is_transient_and_provider_set_defers(links: LinkSettings) -> None:
    config = SmtpConfig("127.0.0.1", free_port(), "news@example.com", timeout=2)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sender = ProviderSet({"email": SmtpProvider(config, links)}, sleep=sleep, draw=lambda: 1.0)
    outcome = await sender.send_one(outgoing())
    assert isinstance(outcome, Transient)
    assert waits == [0.5, 1.0, 2.0]  # 4 attempts, exponential backoff
    with pytest.raises(Exception, match="deferred"):
        await sender.send([outgoing()])
    await sender.aclose()


async def test_recipient_must_be_one_bare_address(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links)
    bad_addresses = (
        "bill@example.com\r\nRCPT TO:<x@y.z>", "Bill <bill@example.com>", "bill", "a@b, c@d",
    )
    for bad in bad_addresses:
        outcome = await smtp.send(outgoing(to=bad))
        assert outcome == Permanent(
            "not an email address: the recipient must be one bare address"
        )
    utf8 = await smtp.send(outgoing(to="zoë@example.com"))
    assert utf8 == Permanent("internationalised addresses (SMTPUTF8) are not supported yet")
    await smtp.aclose()
    assert plain_smtp.inbox.messages == []


async def test_provider_set_reports_permanent_failures(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    plain_smtp.inbox.refuse = {"gone@example.com": "550 5.1.1 No such user"}
    sender = ProviderSet({"email": provider(plain_smtp, links)})
    results = await sender.send([outgoing(key="k1", to="gone@example.com"), outgoing(key="k2")])
    await sender.aclose()
    assert sorted(results, key=lambda r: r.key) == [
        DeliveryResult("k1", "failed", "smtp: recipient refused: 550 5.1.1 No such user"),
        DeliveryResult("k2", "sent", provider_id=message_id("k2", "example.com").strip("<>")),
    ]


async def test_non_ascii_long_lines_and_header_injection(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links, "&track_opens=0&track_clicks=0")
    smtp.options = replace(smtp.options, sender="Caffè Team <news@example.com>")
    subject = "Benvenuto, il caffè ☕ è pronto! " * 4
    text = "Ciao Zoë,\r\n" + "una riga molto lunga con accenti àèìòù " * 10 + "\n.\n.fine"
    markup = "<p>Zoë ☕</p>"
    outcome = await smtp.send(
        outgoing(subject=subject + "\r\nBcc: victim@example.com", text=text, html=markup)
    )
    await smtp.aclose()
    assert isinstance(outcome, Accepted)
    raw = plain_smtp.inbox.messages[0][2]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.isascii()
    mail = received(plain_smtp)
    assert mail["Subject"] == subject + " Bcc: victim@example.com"  # one header, flattened
    assert "Bcc" not in mail
    assert mail["From"].addresses[0].display_name == "Caffè Team"
    plain, rich = mail.iter_parts()
    # Line breaks travel as CRLF; leading dots survive SMTP's dot-stuffing.
    assert plain.get_content() == text.replace("\r\n", "\n").replace("\n", "\r\n")
    assert rich.get_content() == markup


async def test_connection_pool_spreads_concurrent_sends(
    plain_smtp: SmtpServer, links: LinkSettings
) -> None:
    smtp = provider(plain_smtp, links, "&connections=3")
    sender = ProviderSet({"email": smtp})
    for round_ in range(3):
        batch = [outgoing(key=f"{round_}:n:{i}", to=f"c{i}@example.com") for i in range(20)]
        assert all(r.status == "sent" for r in await sender.send(batch))
    await sender.aclose()
    assert len(plain_smtp.inbox.messages) == 60
    assert smtp.connections_opened == plain_smtp.inbox.connections == 3
