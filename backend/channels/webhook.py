"""The generic webhook provider: POSTs each message as a documented, versioned JSON body.

Body (`castflow.message/1`, docs/channels.md): version, id (the idempotency key), workspace,
contact, channel, to, topic, content. Headers: `Idempotency-Key` (the key again) and, when the
URL has a `secret`, `Castflow-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is
HMAC-SHA256(secret, "{t}." + raw body). The body is the same bytes on every retry of a message.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from backend.channels.base import Accepted, SendOutcome
from backend.channels.config import WebhookConfig
from backend.channels.http_providers import (
    classify_failure,
    json_or_none,
    new_client,
    transport_failure,
)
from backend.runtime.sender import OutgoingMessage

FORMAT = "castflow.message/1"
SIGNATURE_HEADER = "Castflow-Signature"


class WebhookBody(msgspec.Struct, frozen=True):
    version: str
    id: str
    workspace: int
    contact: str
    channel: str
    to: str
    topic: str | None
    content: dict[str, Any]


def webhook_body(message: OutgoingMessage) -> bytes:
    return msgspec.json.encode(
        WebhookBody(
            FORMAT, message.key, message.workspace, message.contact, message.channel,
            message.to, message.topic, message.content,
        )
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Castflow-Signature` header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, now: float, tolerance: float = 300.0
) -> bool:
    """For receivers (and tests): the header matches the body and is at most `tolerance`
    seconds old."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    fresh = abs(now - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookProvider:
    name = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = client or new_client(config.timeout)
        self.clock = clock

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        body = webhook_body(message)
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.key}
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = signature(
                self.config.secret.reveal(), int(self.clock()), body
            )
        try:
            response = await self.client.post(
                self.config.url.reveal(), content=body, headers=headers
            )
        except httpx.TransportError as error:
            return transport_failure(error)
        data = json_or_none(response)
        if not response.is_success:
            return classify_failure(response, _error_text(data, response.text))
        given = data.get("id") if isinstance(data, dict) else None
        return Accepted(str(given) if given else message.key)

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_text(data: Any, fallback: str) -> str:
    if isinstance(data, dict):
        for name in ("error", "message", "detail"):
            if isinstance(data.get(name), str):
                return str(data[name])
    return fallback
