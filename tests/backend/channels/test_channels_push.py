"""Web Push (VAPID, aes128gcm) and FCM HTTP v1 against local endpoints."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from backend.channels import (
    Accepted,
    FcmProvider,
    LinkSettings,
    Permanent,
    Retrying,
    Transient,
    WebPushProvider,
    build_provider,
    parse_provider_url,
    resolve_channel,
)
from backend.channels.config import FcmConfig, WebPushConfig
from backend.runtime.sender import OutgoingMessage
from channels.servers import HttpReply, HttpRequest, HttpServer, Sleeps


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A push subscriber: its keys, and the subscription JSON it would hand to the app."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = b"0123456789abcdef"
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.subscription = json.dumps(
            {"endpoint": endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}
        )

    def decrypt(self, body: bytes) -> Any:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                 version="aes128gcm")
        return json.loads(plain)


def vapid_key() -> tuple[str, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return b64(raw), key.public_key()


def push_message(to: str, key: str = "5:push:1") -> OutgoingMessage:
    content = {"title": "Benvenuto", "body": "Ciao!", "url": "https://shop.example.com"}
    return OutgoingMessage(key, 1, "c-1", "push", to, content)


def webpush_provider(private: str) -> WebPushProvider:
    config = parse_provider_url(
        "push", f"webpush:?vapid_private_key={private}&subject=mailto:ops@example.com&ttl=120"
    )
    assert isinstance(config, WebPushConfig)
    return WebPushProvider(config)


async def test_web_push_sends_an_encrypted_signed_request(http_server: HttpServer) -> None:
    http_server.default = HttpReply(201, b"")
    browser = Browser(f"{http_server.url}/push/sub-1")
    private, public = vapid_key()
    provider = webpush_provider(private)
    assert await provider.send(push_message(browser.subscription)) == Accepted("5:push:1")
    await provider.aclose()

    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/push/sub-1")
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["ttl"] == "120"
    assert browser.decrypt(request.body) == {
        "title": "Benvenuto", "body": "Ciao!", "key": "5:push:1",
        "url": "https://shop.example.com",
    }
    scheme, _, params = request.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    sent_public = unb64(fields["k"])
    assert sent_public == public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=http_server.url)
    assert claims["sub"] == "mailto:ops@example.com"


async def test_web_push_outcomes(http_server: HttpServer) -> None:
    browser = Browser(f"{http_server.url}/push/sub-2")
    private, _ = vapid_key()
    http_server.replies = [HttpReply(410, b""), HttpReply(429, b""), HttpReply(400, b"bad")]
    provider = webpush_provider(private)
    gone = await provider.send(push_message(browser.subscription))
    busy = await provider.send(push_message(browser.subscription))
    bad = await provider.send(push_message(browser.subscription))
    not_a_subscription = await provider.send(push_message("fcm-registration-token"))
    await provider.aclose()
    assert gone == Permanent("HTTP 410: the push subscription has expired or was removed")
    assert busy == Transient(f"HTTP 429 from push service 127.0.0.1:{http_server.port}")
    assert bad == Permanent(f"HTTP 400 from push service 127.0.0.1:{http_server.port}")
    assert isinstance(not_a_subscription, Permanent)
    assert "not a Web Push subscription" in not_a_subscription.reason


async def test_web_push_unreachable_is_transient() -> None:
    from channels.servers import free_port

    browser = Browser(f"http://127.0.0.1:{free_port()}/push/x")
    provider = webpush_provider(vapid_key()[0])
    outcome = await provider.send(push_message(browser.subscription))
    await provider.aclose()
    assert isinstance(outcome, Transient) and "unreachable" in outcome.reason


# --- FCM ------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def service_account(tmp_path: Path, token_uri: str) -> tuple[Path, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "my-app", "private_key": pem,
        "client_email": "castflow@my-app.iam.gserviceaccount.com", "token_uri": token_uri,
    }))
    return path, key.public_key()


class FakeGoogle:
    """Token endpoint and FCM endpoint on one local server."""

    def __init__(self, public: rsa.RSAPublicKey, token_uri: str) -> None:
        self.public = public
        self.token_uri = token_uri
        self.tokens = 0
        self.fcm_replies: list[HttpReply] = []

    def __call__(self, request: HttpRequest) -> HttpReply:
        if request.path == "/token":
            form = request.form()
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            # The provider's clock runs ahead of the real one in the test: hence the leeway.
            claims = jwt.decode(form["assertion"], self.public, algorithms=["RS256"],
                                audience=self.token_uri, leeway=7200)
            assert claims["iss"] == "castflow@my-app.iam.gserviceaccount.com"
            assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
            self.tokens += 1
            return HttpReply(200, {"access_token": f"ya29.token-{self.tokens}",
                                   "expires_in": 3599, "token_type": "Bearer"})
        if self.fcm_replies:
            return self.fcm_replies.pop(0)
        return HttpReply(200, {"name": "projects/my-app/messages/0:1234"})


async def test_fcm_token_cache_request_shape_and_errors(
    http_server: HttpServer, tmp_path: Path
) -> None:
    token_uri = f"{http_server.url}/token"
    credentials, public = service_account(tmp_path, token_uri)
    google = FakeGoogle(public, token_uri)
    http_server.default = google
    config = parse_provider_url(
        "push", f"fcm:?project=my-app&credentials={credentials}&endpoint={http_server.url}"
    )
    assert isinstance(config, FcmConfig)
    clock = Clock(time.time())
    fcm = FcmProvider(config, clock=clock)

    first = await fcm.send(push_message("device-token-1", key="a"))
    second = await fcm.send(push_message("device-token-2", key="b"))
    assert first == second == Accepted("projects/my-app/messages/0:1234")
    assert google.tokens == 1  # cached
    send = http_server.requests[1]
    assert send.path == "/v1/projects/my-app/messages:send"
    assert send.headers["authorization"] == "Bearer ya29.token-1"
    assert send.json() == {"message": {
        "token": "device-token-1",
        "notification": {"title": "Benvenuto", "body": "Ciao!"},
        "data": {"title": "Benvenuto", "body": "Ciao!", "key": "a",
                 "url": "https://shop.example.com"},
        "webpush": {"fcm_options": {"link": "https://shop.example.com"}},
    }}

    clock.now += 3599 - 30  # inside the renewal margin: a new token
    await fcm.send(push_message("device-token-1", key="c"))
    assert google.tokens == 2
    assert http_server.requests[-1].headers["authorization"] == "Bearer ya29.token-2"

    # 401: the token is dropped and the retry fetches a new one.
    google.fcm_replies = [HttpReply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED",
                                                    "message": "Request had invalid credentials"}})]
    retrying = Retrying(fcm, sleep=Sleeps())
    assert isinstance(await retrying.send(push_message("device-token-1", key="d")), Accepted)
    assert google.tokens == 3

    google.fcm_replies = [HttpReply(404, {"error": {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                     "errorCode": "UNREGISTERED"}]}})]
    gone = await retrying.send(push_message("stale-token", key="e"))
    assert gone == Permanent("HTTP 404: UNREGISTERED Requested entity was not found.")
    await fcm.aclose()


async def test_fcm_credential_problems_are_permanent(tmp_path: Path) -> None:
    missing = FcmProvider(FcmConfig("p", str(tmp_path / "nope.json")))
    outcome = await missing.send(push_message("t"))
    assert outcome == Permanent(f"FCM credentials file {tmp_path / 'nope.json'} not found")
    (tmp_path / "bad.json").write_text(json.dumps({"client_email": "x"}))
    bad = FcmProvider(FcmConfig("p", str(tmp_path / "bad.json")))
    outcome = await bad.send(push_message("t"))
    assert isinstance(outcome, Permanent) and "not a service-account key" in outcome.reason
    await missing.aclose()
    await bad.aclose()


async def test_push_router_sends_each_token_where_it_belongs(
    http_server: HttpServer, tmp_path: Path
) -> None:
    token_uri = f"{http_server.url}/token"
    credentials, public = service_account(tmp_path, token_uri)
    google = FakeGoogle(public, token_uri)
    http_server.default = google
    private, _ = vapid_key()
    browser = Browser(f"{http_server.url}/push/browser")
    settings = resolve_channel("push", {}, (
        f"webpush:?vapid_private_key={private}&subject=mailto:ops@example.com "
        f"fcm:?project=my-app&credentials={credentials}&endpoint={http_server.url}"
    ))
    assert (settings.provider, settings.source) == ("webpush+fcm", "workspace")
    router = build_provider(settings, LinkSettings("http://x", b"k" * 16))
    assert isinstance(await router.send(push_message(browser.subscription, key="w")), Accepted)
    assert isinstance(await router.send(push_message("app-token", key="f")), Accepted)
    await router.aclose()
    paths = [r.path for r in http_server.requests]
    assert paths == ["/push/browser", "/token", "/v1/projects/my-app/messages:send"]
    assert browser.decrypt(http_server.requests[0].body)["key"] == "w"
