"""Real local servers for the provider tests: an SMTP server (aiosmtpd, with STARTTLS or TLS
and AUTH when asked) and a self-signed certificate made with `cryptography`."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend.channels.config import LinkSettings

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-pa55"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "castflow test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


@dataclass
class Inbox:
    """What the SMTP server received; `refuse` maps a recipient to the reply it gets."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)  # kept alive so ids stay distinct
    logins: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    tls: list[bool] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.sessions.append(session)
        implicit = server.transport.get_extra_info("ssl_object") is not None
        self.tls.append(session.ssl is not None or implicit)
        return "250 2.0.0 Message accepted"

    @property
    def connections(self) -> int:
        """Connections that delivered at least one message."""
        return len({id(s) for s in self.sessions})


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    controller: Controller


def _authenticator(inbox: Inbox) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if isinstance(data, LoginPassword) and (
            data.login.decode(), data.password.decode()
        ) == (SMTP_USER, SMTP_PASSWORD):
            inbox.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate


def start_smtp(mode: str, certificate: Certificate | None = None) -> SmtpServer:
    """mode: 'plain' (no TLS, no auth), 'offer' (STARTTLS offered, nothing required),
    'starttls' (STARTTLS and AUTH required), 'tls' (implicit TLS, AUTH required)."""
    inbox = Inbox()
    port = free_port()
    options: dict[str, Any] = {}
    if mode == "starttls":
        assert certificate is not None
        options = {
            "tls_context": certificate.server_context(),
            "require_starttls": True,
            "auth_required": True,
            "auth_require_tls": True,
            "authenticator": _authenticator(inbox),
        }
    elif mode == "offer":
        assert certificate is not None
        options = {"tls_context": certificate.server_context()}  # STARTTLS offered, not required
    elif mode == "tls":
        assert certificate is not None
        options = {
            "ssl_context": certificate.server_context(),
            "auth_required": True,
            "auth_require_tls": False,  # the whole connection is TLS already
            "authenticator": _authenticator(inbox),
        }
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return SmtpServer("127.0.0.1", port, inbox, controller)


@pytest.fixture
def plain_smtp() -> Iterator[SmtpServer]:
    server = start_smtp("plain")
    yield server
    server.controller.stop()


@pytest.fixture
def starttls_smtp(certificate: Certificate) -> Iterator[SmtpServer]:
    server = start_smtp("starttls", certificate)
    yield server
    server.controller.stop()


@pytest.fixture
def tls_smtp(certificate: Certificate) -> Iterator[SmtpServer]:
    server = start_smtp("tls", certificate)
    yield server
    server.controller.stop()


@pytest.fixture
def links() -> LinkSettings:
    return LinkSettings("https://castflow.example.com", b"test-signing-key-0123456789")
