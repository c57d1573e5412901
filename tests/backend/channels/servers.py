"""Real local servers for the provider tests (conftest.py registers the fixtures): an SMTP
server (aiosmtpd, with STARTTLS or TLS and AUTH when asked), a self-signed certificate made
with `cryptography`, and a tiny HTTP server that answers what each test scripts."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

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
    # A generous start-up wait: the machine running the tests may be heavily shared.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=30, **options)
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


@dataclass
class HttpRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int  # which TCP connection carried it

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class HttpReply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[HttpRequest], HttpReply]


class HttpServer:
    """A tiny HTTP/1.1 server (keep-alive, Content-Length bodies) on a free local port, run on
    the test's own event loop. `replies` are served in order, then `default`; every request is
    recorded."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.replies: list[HttpReply | Handler] = []
        self.default: HttpReply | Handler = HttpReply(200, {})
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = HttpRequest(method, path, headers, body, connection)
                self.requests.append(request)
                reply = self.replies.pop(0) if self.replies else self.default
                if callable(reply):
                    reply = reply(request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                payload = (
                    reply.body if isinstance(reply.body, bytes)
                    else json.dumps(reply.body).encode()
                )
                out = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
                       f"Content-Length: {len(payload)}", "Content-Type: application/json"]
                out += [f"{k}: {v}" for k, v in reply.headers.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    server = await HttpServer().start()
    yield server
    await server.stop()


class Sleeps:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
