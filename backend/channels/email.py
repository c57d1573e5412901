"""Email over SMTP (aiosmtplib): one connection kept open and reused, reconnecting on failure.

Each message is multipart/alternative (text, then HTML; HTML made from the text when the send
node has none), with a `Message-ID` derived from the idempotency key (so a retried send carries
the same id and bounces name the message), `List-Unsubscribe` (signed https URL, optional
mailto) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), and, unless turned
off in the URL, an open-tracking pixel and click-tracked links in the HTML part.

`build_email` is pure (tests and the "send a test message" button use it); `SmtpProvider` is
the shell around it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import html
import secrets
import ssl
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from backend.channels.base import Accepted, Permanent, SendOutcome, Transient, short_reason
from backend.channels.config import LinkSettings, SmtpConfig
from backend.channels.tracking import (
    add_pixel,
    click_url,
    open_url,
    rewrite_links,
    unsubscribe_token,
    unsubscribe_url,
)
from backend.runtime.sender import OutgoingMessage

MESSAGE_ID_PREFIX = "cf-"


def message_id(key: str, domain: str) -> str:
    """`<cf-{base64url(key)}@domain>`: the same key always gives the same id, and the key can
    be read back from a bounce (`key_from_message_id`)."""
    encoded = base64.urlsafe_b64encode(key.encode()).rstrip(b"=").decode()
    return f"<{MESSAGE_ID_PREFIX}{encoded}@{domain}>"


def key_from_message_id(value: str) -> str | None:
    local = value.strip().strip("<>").partition("@")[0]
    if not local.startswith(MESSAGE_ID_PREFIX):
        return None
    encoded = local.removeprefix(MESSAGE_ID_PREFIX)
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def html_from_text(text: str) -> str:
    """A plain HTML rendering of the text part: paragraphs on blank lines, <br> on newlines."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


@dataclass(frozen=True)
class EmailOptions:
    """What shapes an email besides its content: the provider URL's switches and the links."""

    sender: str
    links: LinkSettings
    track_opens: bool = True
    track_clicks: bool = True
    unsubscribe_mailto: str | None = None

    # Parsed once: address parsing is the slowest step of building a message.
    @functools.cached_property
    def from_header(self) -> str:
        return header_value(self.sender, address=True)

    @functools.cached_property
    def domain(self) -> str:
        return parseaddr(self.sender)[1].rpartition("@")[2] or "castflow.invalid"


def build_email(message: OutgoingMessage, options: EmailOptions) -> bytes:
    """The message as sent on the wire (CRLF line endings).

    Written out directly rather than through `email.message.EmailMessage`, whose header
    objects cost about 4 ms of CPU per message (a quarter of the 500/s budget, alone): the
    structure is fixed, and tests parse the result with the email package to hold it to the
    standards.
    """
    content = message.content
    text = str(content.get("text") or "")
    markup = content.get("html") or html_from_text(text)
    base, key = options.links.public_url, options.links.signing_key
    if options.track_clicks:
        markup = rewrite_links(markup, lambda url: click_url(base, key, url, message.key))
    if options.track_opens:
        markup = add_pixel(markup, open_url(base, key, message.key))
    to = message.to if is_plain_address(message.to) else header_value(message.to, address=True)
    # "=_" never occurs in quoted-printable text, so the parts cannot contain the boundary.
    boundary = f"=_cf_{secrets.token_hex(12)}"
    head = [
        f"From: {options.from_header}",
        f"To: {to}",
        f"Subject: {header_value(str(content.get('subject') or ''))}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {message_id(message.key, options.domain)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    return b"".join(
        [
            _list_headers(message, options),
            "\r\n".join(head).encode("ascii"),
            b"\r\n\r\n",
            _part(boundary, "text/plain", text),
            _part(boundary, "text/html", markup),
            f"--{boundary}--\r\n".encode("ascii"),
        ]
    )


def header_value(value: str, *, address: bool = False) -> str:
    """A header value in ASCII: line breaks removed (no header injection), non-ASCII text as
    RFC 2047 encoded words folded at 76 columns; for an address, only its display name is
    encoded."""
    flat = " ".join(value.splitlines()).strip()
    if address:
        name, addr = parseaddr(flat)
        if not addr:
            return flat.encode("ascii", "replace").decode()
        return formataddr((name, addr), charset="utf-8")
    if flat.isascii() and len(flat) <= 900:
        return flat
    return Header(flat, "utf-8", header_name="Subject").encode(linesep="\r\n")


def _part(boundary: str, content_type: str, body: str) -> bytes:
    encoded = binascii.b2a_qp(body.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return (
        f"--{boundary}\r\nContent-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii") + encoded.replace(b"\n", b"\r\n") + b"\r\n"


def _list_headers(message: OutgoingMessage, options: EmailOptions) -> bytes:
    """The RFC 2369 / RFC 8058 headers. A URL is never folded or encoded (mail clients would
    not read it back as a URL): a long one stays on its own line, which SMTP allows up to 998
    characters."""
    token = unsubscribe_token(
        options.links.signing_key,
        workspace=message.workspace,
        contact=message.contact,
        message=message.key,
        topic=message.topic,
    )
    targets = [f"<{unsubscribe_url(options.links.public_url, token)}>"]
    if options.unsubscribe_mailto:
        targets.append(f"<mailto:{options.unsubscribe_mailto}?subject=unsubscribe%20{token}>")
    return (
        b"List-Unsubscribe: "
        + ",\r\n ".join(targets).encode("ascii")
        + b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )


class SmtpProvider:
    """Sends over kept SMTP connections: one by default (`connections=N` in the URL for more),
    opened on first use and reused by the next sends.

    An SMTP connection carries one conversation at a time, so each send borrows a connection
    and gives it back; building the message happens before. A connection the server dropped
    (idle timeout, restart) is replaced and the send tried once more on the new one.
    """

    name = "smtp"

    def __init__(self, config: SmtpConfig, links: LinkSettings) -> None:
        self.config = config
        self.options = EmailOptions(
            sender=config.sender,
            links=links,
            track_opens=config.track_opens,
            track_clicks=config.track_clicks,
            unsubscribe_mailto=config.unsubscribe_mailto,
        )
        self.envelope_from = parseaddr(config.sender)[1]
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(config.connections)
        self.connections_opened = 0  # for tests and benchmarks: reuse is observable

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        context = None
        if c.starttls or c.implicit_tls:
            context = ssl.create_default_context(cafile=c.ca_file)
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password.reveal() if c.password else None,
            use_tls=c.implicit_tls,
            start_tls=c.starttls,  # False, not None: never upgrade unless the URL says so
            tls_context=context,
            timeout=c.timeout,
            local_hostname="castflow.localdomain",  # skips a reverse DNS lookup per connection
        )

    async def _borrow(self) -> aiosmtplib.SMTP:
        while self._idle:
            smtp = self._idle.pop()
            if smtp.is_connected:
                return smtp
        smtp = self._client()
        await smtp.connect()
        self.connections_opened += 1
        return smtp

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        if not is_plain_address(message.to):
            return Permanent("not an email address: the recipient must be one bare address")
        if not message.to.isascii():
            return Permanent("internationalised addresses (SMTPUTF8) are not supported yet")
        raw = build_email(message, self.options)
        async with self._slots:
            for attempt in (1, 2):
                smtp: aiosmtplib.SMTP | None = None
                try:
                    smtp = await self._borrow()
                    await smtp.sendmail(self.envelope_from, [message.to], raw)
                except aiosmtplib.SMTPServerDisconnected as error:
                    _close(smtp)
                    if attempt == 2:
                        return Transient(short_reason(f"SMTP server disconnected: {error}"))
                    continue
                except Exception as error:  # classified: nothing escapes as a traceback
                    # A refusal leaves a healthy conversation; anything else may not have.
                    refused = aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPResponseException
                    if smtp is not None and isinstance(error, refused) and not isinstance(
                        error, aiosmtplib.SMTPAuthenticationError
                    ):
                        self._idle.append(smtp)
                    else:
                        _close(smtp)
                    return classify_smtp_error(error)
                self._idle.append(smtp)
                return Accepted(message_id(message.key, self._domain).strip("<>"))
        raise AssertionError("unreachable")

    @property
    def _domain(self) -> str:
        return self.envelope_from.rpartition("@")[2] or "castflow.invalid"

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            if smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await smtp.quit()
            _close(smtp)


def is_plain_address(value: str) -> bool:
    """One bare address (`bill@example.com`): no display name, spaces, line breaks or
    brackets, which would end up in SMTP commands and headers."""
    local, at, domain = value.rpartition("@")
    forbidden = set(" \t\r\n<>,;\"()")
    return bool(at and local and domain) and not forbidden.intersection(value)


def _close(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def classify_smtp_error(error: BaseException) -> SendOutcome:
    """5xx replies are permanent, 4xx and network trouble transient; the reply is the reason."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refusals = error.recipients
        codes = [r.code for r in refusals]
        reason = short_reason("; ".join(f"{r.code} {r.message}" for r in refusals))
        if any(code >= 500 for code in codes):
            return Permanent(f"recipient refused: {reason}")
        return Transient(f"recipient deferred: {reason}")
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return Permanent(short_reason(f"SMTP server: {error}"))
    if isinstance(error, aiosmtplib.SMTPResponseException):
        reason = short_reason(f"{error.code} {error.message}")
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            reason = f"SMTP authentication failed: {reason}"
        return Permanent(reason) if error.code >= 500 else Transient(reason)
    if isinstance(error, ssl.SSLCertVerificationError):
        return Permanent(short_reason(f"SMTP server certificate not trusted: {error}"))
    if isinstance(error, aiosmtplib.SMTPException | OSError | TimeoutError):
        return Transient(short_reason(f"{type(error).__name__}: {error}"))
    raise error
