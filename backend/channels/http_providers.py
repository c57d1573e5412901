"""HTTP providers for SMS, voice and chat: Infobip (SMS, text-to-speech, WhatsApp, Viber) and
Twilio (SMS, WhatsApp). The generic webhook lives in webhook.py.

Each provider keeps one `httpx.AsyncClient` (connection reuse, timeouts from its URL). Replies
are classified the same way everywhere: 2xx accepted; 408, 409, 425, 429 and 5xx transient
(`Retry-After` honoured); other statuses permanent, with the provider's own error text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from backend.channels.base import Accepted, Permanent, SendOutcome, Transient, short_reason
from backend.channels.config import InfobipConfig, TwilioConfig
from backend.runtime.sender import OutgoingMessage

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
USER_AGENT = "Castflow"


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def classify_failure(response: httpx.Response, reason: str) -> SendOutcome:
    """A non-2xx reply as an outcome; `reason` is the provider's error text."""
    text = short_reason(f"HTTP {response.status_code}: {reason or response.reason_phrase}")
    if is_transient_status(response.status_code):
        return Transient(text, retry_after(response))
    return Permanent(text)


def transport_failure(error: httpx.TransportError) -> Transient:
    kind = "timeout" if isinstance(error, httpx.TimeoutException) else "connection failed"
    return Transient(short_reason(f"{kind}: {type(error).__name__} {error}".strip()))


def new_client(timeout: float, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT},
        **options,
    )


def split_chat_address(to: str) -> tuple[str, str]:
    """`whatsapp:+39340...` -> ("whatsapp", "+39340..."); a bare number is a WhatsApp one."""
    app, colon, handle = to.partition(":")
    return (app.lower(), handle) if colon else ("whatsapp", to)


class InfobipProvider:
    """Infobip's JSON API. Our idempotency key goes out as Infobip's `messageId`, so delivery
    reports name our message and a repeated key is recognisable on Infobip's side."""

    name = "infobip"

    def __init__(
        self, config: InfobipConfig, channel: str, client: httpx.AsyncClient | None = None
    ) -> None:
        self.config = config
        self.channel = channel
        self.client = client or new_client(config.timeout)
        self.headers = {
            "Authorization": f"App {config.api_key.reveal()}",
            "Accept": "application/json",
        }

    def request(self, message: OutgoingMessage) -> tuple[str, dict[str, Any]] | Permanent:
        """The endpoint path and JSON body for a message (pure)."""
        text = str(message.content.get("text") or "")
        sender = self.config.sender
        if self.channel == "sms":
            return "/sms/2/text/advanced", {"messages": [{
                "destinations": [{"to": _msisdn(message.to), "messageId": message.key}],
                "text": text, **({"from": sender} if sender else {}),
            }]}
        if self.channel == "voice":
            return "/tts/3/advanced", {"messages": [{
                "destinations": [{"to": _msisdn(message.to), "messageId": message.key}],
                "text": text, "language": self.config.language,
                **({"from": sender} if sender else {}),
            }]}
        if self.channel == "chat":
            app, handle = split_chat_address(message.to)
            if app == "whatsapp":
                if not sender:
                    return Permanent("Infobip WhatsApp needs a sender: add ?from= to the URL")
                return "/whatsapp/1/message/text", {
                    "from": sender, "to": _msisdn(handle), "messageId": message.key,
                    "content": {"text": text},
                }
            if app == "viber":
                viber_sender = self.config.viber_sender or sender
                if not viber_sender:
                    return Permanent("Infobip Viber needs a sender: add ?viber_from= to the URL")
                return "/viber/2/messages", {"messages": [{
                    "sender": viber_sender,
                    "destinations": [{"to": _msisdn(handle), "messageId": message.key}],
                    "content": {"text": text, "type": "TEXT"},
                }]}
            return Permanent(f"Infobip does not deliver to chat app {app!r}")
        return Permanent(f"Infobip is not set up for the {self.channel} channel")

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        request = self.request(message)
        if isinstance(request, Permanent):
            return request
        path, body = request
        try:
            response = await self.client.post(
                self.config.base_url + path, json=body, headers=self.headers
            )
        except httpx.TransportError as error:
            return transport_failure(error)
        data = json_or_none(response)
        if not response.is_success:
            return classify_failure(response, infobip_error(data, response.text))
        return infobip_accepted(data, message.key)

    async def aclose(self) -> None:
        await self.client.aclose()


def _msisdn(number: str) -> str:
    """Infobip wants international numbers without the leading + or 00."""
    digits = number.strip().replace(" ", "")
    if digits.startswith("+"):
        return digits[1:]
    return digits[2:] if digits.startswith("00") else digits


def infobip_error(data: Any, fallback: str) -> str:
    if isinstance(data, dict):
        request_error = data.get("requestError")
        if isinstance(request_error, dict):
            for exception in request_error.values():
                if isinstance(exception, dict) and exception.get("text"):
                    return f"{exception.get('messageId', '')} {exception['text']}".strip()
        if data.get("description"):  # the newer APIs' error shape
            return f"{data.get('errorCode', '')} {data['description']}".strip()
    return fallback


def infobip_accepted(data: Any, key: str) -> SendOutcome:
    """A 2xx reply: accepted unless Infobip rejected the destination (status group REJECTED)."""
    entry = data
    if isinstance(data, dict) and isinstance(data.get("messages"), list) and data["messages"]:
        entry = data["messages"][0]
    if not isinstance(entry, dict):
        return Accepted(key)
    status = entry.get("status")
    if isinstance(status, dict) and str(status.get("groupName", "")).upper() == "REJECTED":
        reason = status.get("description") or status.get("name") or "rejected"
        return Permanent(short_reason(f"Infobip rejected the message: {reason}"))
    return Accepted(str(entry.get("messageId") or key))


class TwilioProvider:
    """Twilio's Messages API (SMS, and WhatsApp for chat), form-encoded with basic auth.

    Twilio takes no idempotency key, so a retry could send twice. What prevents it: an attempt
    whose fate is unknown (the request went out, but the reply was a timeout, a dropped
    connection or a 5xx) is remembered by key; before that key is posted again, the provider
    lists the recent messages to the same number from the same sender and, when one has the
    same body and was created since the first attempt, takes its SID as the answer instead of
    sending again. Attempts known not to have reached Twilio (connection refused, 429) are
    simply retried. The memory is per process: a crash between Twilio's acceptance and the
    engine's record can still repeat a message, as with any API without idempotency keys.
    """

    name = "twilio"
    MEMORY = 10_000  # unknown-fate attempts remembered
    CLOCK_SLACK = 120.0  # seconds of clock difference tolerated against Twilio's date_created

    def __init__(
        self,
        config: TwilioConfig,
        channel: str,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.channel = channel
        self.client = client or new_client(config.timeout)
        self.auth = httpx.BasicAuth(config.account_sid, config.auth_token.reveal())
        self.url = f"{config.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        self.clock = clock
        self.uncertain: dict[str, float] = {}  # key -> when its first unknown-fate attempt began

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        to, sender = message.to, self.config.sender
        if self.channel == "chat":
            app, handle = split_chat_address(message.to)
            to = f"{app}:{handle}"
            sender = sender if sender.startswith(f"{app}:") else f"{app}:{sender}"
        return {"To": to, "From": sender, "Body": str(message.content.get("text") or "")}

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        if self.channel == "chat" and split_chat_address(message.to)[0] != "whatsapp":
            return Permanent("Twilio delivers chat messages on WhatsApp only")
        form = self.form(message)
        if message.key in self.uncertain:
            found = await self._find_sent(form, self.uncertain[message.key])
            if isinstance(found, Accepted):
                self.uncertain.pop(message.key, None)
            if found is not None:  # Twilio has it, or cannot say: do not risk a second send
                return found
        started = self.clock()
        try:
            response = await self.client.post(self.url, data=form, auth=self.auth)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return transport_failure(error)  # never reached Twilio: safe to post again
        except httpx.TransportError as error:
            self._remember(message.key, started)
            return transport_failure(error)
        data = json_or_none(response)
        if response.is_success:
            self.uncertain.pop(message.key, None)
            sid = data.get("sid") if isinstance(data, dict) else None
            return Accepted(str(sid or message.key))
        if response.status_code >= 500:
            self._remember(message.key, started)
        elif not is_transient_status(response.status_code):
            self.uncertain.pop(message.key, None)
        return classify_failure(response, twilio_error(data, response.text))

    def _remember(self, key: str, started: float) -> None:
        self.uncertain.setdefault(key, started)
        while len(self.uncertain) > self.MEMORY:
            self.uncertain.pop(next(iter(self.uncertain)))

    async def _find_sent(self, form: dict[str, str], since: float) -> SendOutcome | None:
        """The earlier attempt's message, if Twilio has it; Transient if Twilio cannot say."""
        params = {"To": form["To"], "From": form["From"], "PageSize": "50"}
        try:
            response = await self.client.get(self.url, params=params, auth=self.auth)
        except httpx.TransportError as error:
            return transport_failure(error)
        data = json_or_none(response)
        if not response.is_success:
            reason = f"checking for an earlier send: {twilio_error(data, response.text)}"
            return Transient(short_reason(reason), retry_after(response))
        items = data.get("messages") if isinstance(data, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("body") != form["Body"]:
                continue
            created = _twilio_time(item.get("date_created"))
            if created is None or created.timestamp() >= since - self.CLOCK_SLACK:
                return Accepted(str(item.get("sid")))
        return None

    async def aclose(self) -> None:
        await self.client.aclose()


def _twilio_time(value: Any) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if isinstance(value, str) else None
    except (TypeError, ValueError):
        return None


def twilio_error(data: Any, fallback: str) -> str:
    if isinstance(data, dict) and data.get("message"):
        code = data.get("code")
        return f"{code} {data['message']}" if code else str(data["message"])
    return fallback
