"""Channel facts shared by the channel choice and send kinds: addresses and consent."""

from __future__ import annotations

from typing import Any, Literal

Channel = Literal["email", "sms", "push", "voice", "chat"]
CHANNELS: tuple[str, ...] = ("email", "sms", "push", "voice", "chat")


def address_for(contact: dict[str, Any], channel: str) -> str | None:
    """Where a message on `channel` goes for this contact, or None when there is nowhere."""
    if channel == "email":
        value = contact.get("email")
    elif channel in ("sms", "voice"):
        value = contact.get("phone")
    elif channel == "push":
        tokens = contact.get("push_tokens")
        # The first usable token: the most recently registered device comes first.
        value = next((t for t in tokens if t), None) if isinstance(tokens, list) else None
    elif channel == "chat":
        apps = contact.get("chat")
        if isinstance(apps, dict):
            # The first app listed is the contact's main chat app: "whatsapp:+39340...".
            for app, handle in apps.items():
                if isinstance(handle, str) and handle:
                    return f"{app}:{handle}"
        value = None
    else:
        value = None
    return value if isinstance(value, str) and value else None


def reach(contact: dict[str, Any], channel: str) -> tuple[str | None, str | None]:
    """(address, None) when `channel` can be used for this contact, else (None, reason)."""
    consent = contact.get("consent")
    if consent and consent.get(channel) == "opted_out":
        return None, "opted_out"
    to = address_for(contact, channel)
    return (to, None) if to is not None else (None, "no_address")


def unreachable_reason(contact: dict[str, Any], channel: str) -> str | None:
    """Why `channel` cannot be used for this contact (`opted_out`, `no_address`), or None.

    An opt-out is reported before a missing address: it is the answer that matters to the
    marketer, and it stays true when an address is added later.
    """
    consent = contact.get("consent")
    if isinstance(consent, dict) and consent.get(channel) == "opted_out":
        return "opted_out"
    if address_for(contact, channel) is None:
        return "no_address"
    return None
