"""What providers and recipients tell us back, parsed into plain data: pure, no I/O.

Each provider's report format becomes `StatusReport`s (a message's new status) and `InboundText`s
(a reply from a phone); the generic email feedback becomes `EmailFeedback` (bounce, complaint).
The HTTP endpoints (backend/api/callbacks.py) apply them; the formats are in docs/channels.md.
A malformed body raises `ReportError` with a message naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from backend.channels.email import key_from_message_id

# Forward order of a message's life; `failed` and `refused` sit outside it (see `may_become`).
PROGRESS = ("queued", "sent", "delivered", "opened", "clicked")

ReportedStatus = Literal["sent", "delivered", "opened", "clicked", "failed"]

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET",
                        "STOPP"})
START_WORDS = frozenset({"START", "UNSTOP"})


class ReportError(ValueError):
    """A report body that cannot be read; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A provider's word on one message, named by our key or by the provider's id."""

    status: ReportedStatus | None  # None: nothing we track changed (e.g. "pending")
    key: str | None = None
    provider_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class InboundText:
    """A message a contact sent us (an SMS reply)."""

    channel: str
    sender: str  # the phone number as the provider wrote it
    text: str


@dataclass(frozen=True, slots=True)
class EmailFeedback:
    """A bounce or a complaint about an email address."""

    kind: Literal["hard_bounce", "soft_bounce", "complaint"]
    address: str
    key: str | None = None
    reason: str | None = None


def may_become(current: str) -> tuple[str, ...]:
    """The statuses a message in `current` may move to: only forward, and `failed` only before
    delivery. `failed` and `refused` are final. A queued message may be reported delivered
    (the report can overtake the provider's answer) but not opened: nobody saw it yet."""
    if current not in PROGRESS:
        return ()
    later = PROGRESS[PROGRESS.index(current) + 1:]
    if current == "queued":
        return ("sent", "delivered", "failed")
    return (*later, "failed") if current == "sent" else later


def sources_of(status: str) -> tuple[str, ...]:
    """The statuses a message may be in for a report of `status` to apply (SQL `IN` list)."""
    return tuple(current for current in (*PROGRESS, "failed", "refused")
                 if status in may_become(current))


def consent_keyword(text: str) -> Literal["opted_out", "opted_in"] | None:
    """What an SMS reply asks for: STOP and its variants opt out, START / UNSTOP opt back in.
    Only a reply that is the keyword alone counts ("stop " yes, "don't stop" no)."""
    word = text.strip().strip(".!").upper()
    if word in STOP_WORDS:
        return "opted_out"
    if word in START_WORDS:
        return "opted_in"
    return None


def phone_forms(number: str) -> list[str]:
    """How a number from a report may be stored on a contact: providers drop the `+` (Infobip
    writes 393401234567), contacts keep E.164 (+393401234567)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not digits:
        return []
    return [f"+{digits}", digits]


def _json(body: bytes, what: str) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ReportError(f"{what}: the body is not JSON ({error})") from None


def _text(item: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise ReportError(f"{where}: '{name}' must be a non-empty string")
    return str(value)


# --- Infobip ------------------------------------------------------------------------------------

_INFOBIP_GROUPS: dict[str, ReportedStatus | None] = {
    "PENDING": None, "ACCEPTED": None, "DELIVERED": "delivered", "UNDELIVERABLE": "failed",
    "EXPIRED": "failed", "REJECTED": "failed",
}


def parse_infobip(body: bytes) -> tuple[list[StatusReport], list[InboundText]]:
    """Infobip's delivery reports and inbound SMS: `{"results": [...]}`, one entry per message.
    A report has `messageId` (our key: we send it as Infobip's messageId) and `status`; an
    inbound message has `from` and `text` (or `cleanText`)."""
    data = _json(body, "Infobip report")
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ReportError("Infobip report: expected a JSON object with a 'results' list")
    reports: list[StatusReport] = []
    inbound: list[InboundText] = []
    for index, item in enumerate(results):
        where = f"Infobip report: results[{index}]"
        if not isinstance(item, dict):
            raise ReportError(f"{where} must be an object")
        if "status" in item:
            reports.append(_infobip_report(item, where))
        elif "from" in item:
            text = item.get("text") if item.get("text") is not None else item.get("cleanText")
            if not isinstance(text, str):
                raise ReportError(f"{where}: an inbound message needs 'text'")
            inbound.append(InboundText("sms", str(_text(item, "from", where)), text))
        else:
            raise ReportError(f"{where}: neither a delivery report ('status') nor an inbound "
                              "message ('from', 'text')")
    return reports, inbound


def _infobip_report(item: Mapping[str, Any], where: str) -> StatusReport:
    key = _text(item, "messageId", where)
    status = item["status"]
    group = status.get("groupName") if isinstance(status, dict) else None
    if not isinstance(group, str):
        raise ReportError(f"{where}: 'status.groupName' must be a string")
    if group.upper() not in _INFOBIP_GROUPS:
        raise ReportError(f"{where}: unknown status group {group!r}; expected one of "
                          + ", ".join(_INFOBIP_GROUPS))
    new = _INFOBIP_GROUPS[group.upper()]
    reason = None
    if new == "failed":
        parts = [str(status.get("name") or group)]
        error = item.get("error")
        if isinstance(error, dict) and error.get("name") not in (None, "NO_ERROR"):
            parts.append(str(error.get("description") or error.get("name")))
        reason = "infobip: " + ": ".join(parts)
    return StatusReport(new, key=key, reason=reason)


# --- Twilio -------------------------------------------------------------------------------------

_TWILIO_STATUSES: dict[str, ReportedStatus | None] = {
    "accepted": None, "scheduled": None, "queued": None, "sending": None, "sent": "sent",
    "delivered": "delivered", "read": "opened", "undelivered": "failed", "failed": "failed",
    "canceled": "failed", "receiving": None, "received": None,
}


def parse_twilio(params: Mapping[str, str]) -> StatusReport | InboundText:
    """A Twilio webhook (form fields): a status callback (`MessageSid`, `MessageStatus`,
    `ErrorCode`) or an incoming message (`From`, `Body`)."""
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if "Body" in params and status in (None, "received", "receiving"):
        sender = _text(params, "From", "Twilio message")
        assert sender is not None
        channel = "chat" if ":" in sender else "sms"  # whatsapp:+39...
        return InboundText(channel, sender, params["Body"])
    sid = _text(params, "MessageSid", "Twilio status callback")
    if status is None:
        raise ReportError("Twilio status callback: 'MessageStatus' is missing")
    if status not in _TWILIO_STATUSES:
        raise ReportError(f"Twilio status callback: unknown MessageStatus {status!r}")
    new = _TWILIO_STATUSES[status]
    reason = None
    if new == "failed":
        code = params.get("ErrorCode")
        reason = f"twilio: {status}" + (f" (error {code})" if code else "")
    return StatusReport(new, provider_id=sid, reason=reason)


# --- the generic webhook provider ---------------------------------------------------------------

REPORT_FORMAT = "castflow.report/1"
INBOUND_FORMAT = "castflow.inbound/1"
_WEBHOOK_STATUSES = ("sent", "delivered", "failed", "opened", "clicked")


def parse_webhook(body: bytes) -> tuple[list[StatusReport], list[InboundText]]:
    """The webhook provider's reports: one object or an array of them, each either
    `{"version": "castflow.report/1", "id": KEY, "status": ..., "reason"?}` or
    `{"version": "castflow.inbound/1", "channel": "sms", "from": ..., "text": ...}`."""
    data = _json(body, "webhook report")
    items = data if isinstance(data, list) else [data]
    reports: list[StatusReport] = []
    inbound: list[InboundText] = []
    for index, item in enumerate(items):
        where = "webhook report" + (f"[{index}]" if isinstance(data, list) else "")
        if not isinstance(item, dict):
            raise ReportError(f"{where} must be an object")
        version = item.get("version")
        if version == REPORT_FORMAT:
            status = item.get("status")
            if status not in _WEBHOOK_STATUSES:
                raise ReportError(f"{where}: 'status' must be one of "
                                  + ", ".join(_WEBHOOK_STATUSES) + f", not {status!r}")
            reason = _text(item, "reason", where, required=False)
            reports.append(StatusReport(status, key=_text(item, "id", where),
                                        reason=f"webhook: {reason}" if reason else None))
        elif version == INBOUND_FORMAT:
            channel = _text(item, "channel", where)
            text = item.get("text")
            if not isinstance(text, str):
                raise ReportError(f"{where}: 'text' must be a string")
            inbound.append(InboundText(str(channel), str(_text(item, "from", where)), text))
        else:
            raise ReportError(f"{where}: 'version' must be {REPORT_FORMAT!r} or "
                              f"{INBOUND_FORMAT!r}, not {version!r}")
    return reports, inbound


# --- email bounces and complaints ---------------------------------------------------------------

EMAIL_FORMAT = "castflow.email-feedback/1"
_EMAIL_KINDS = ("hard_bounce", "soft_bounce", "complaint")


def parse_email_feedback(body: bytes) -> list[EmailFeedback]:
    """Bounces and complaints (SMTP has no standard callback, so a relay or a bounce processor
    posts them): one object or an array, each
    `{"type": "hard_bounce" | "soft_bounce" | "complaint", "email": ADDRESS,
      "message_id"?: "<cf-...@domain>" or "message"?: KEY, "reason"?: TEXT}`."""
    data = _json(body, "email feedback")
    items = data if isinstance(data, list) else [data]
    found: list[EmailFeedback] = []
    for index, item in enumerate(items):
        where = "email feedback" + (f"[{index}]" if isinstance(data, list) else "")
        if not isinstance(item, dict):
            raise ReportError(f"{where} must be an object")
        unknown = set(item) - {"version", "type", "email", "message_id", "message", "reason"}
        if unknown:
            raise ReportError(f"{where}: unknown field(s) " + ", ".join(sorted(unknown)))
        if item.get("version", EMAIL_FORMAT) != EMAIL_FORMAT:
            raise ReportError(f"{where}: 'version' must be {EMAIL_FORMAT!r}")
        kind = item.get("type")
        if kind not in _EMAIL_KINDS:
            raise ReportError(f"{where}: 'type' must be one of " + ", ".join(_EMAIL_KINDS)
                              + f", not {kind!r}")
        address = str(_text(item, "email", where)).strip()
        if "@" not in address:
            raise ReportError(f"{where}: 'email' {address!r} is not an email address")
        key = _text(item, "message", where, required=False)
        header = _text(item, "message_id", where, required=False)
        if key is None and header is not None:
            key = key_from_message_id(header)
        found.append(EmailFeedback(kind, address, key, _text(item, "reason", where,
                                                             required=False)))
    return found
