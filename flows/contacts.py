"""Contacts and events as they arrive (JSON), checked strictly with messages naming the problem."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

Consent = Literal["opted_in", "opted_out"]


class Contact(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    email: str | None = None
    phone: str | None = None
    push_tokens: list[str] | None = None
    chat: dict[str, str] | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    consent: dict[str, Consent] = msgspec.field(default_factory=dict)
    preferences: dict[str, str] = msgspec.field(default_factory=dict)
    timezone: str | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    contact: str
    name: str
    id: str | None = None
    at: datetime | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)


class InputError(ValueError):
    """A contact or event line is malformed; the message names the line and the problem."""


_contact_decoder = msgspec.json.Decoder(Contact)
_event_decoder = msgspec.json.Decoder(Event)


def decode_contact(data: bytes | str, where: str = "contact") -> dict[str, Any]:
    """One contact as the plain mapping rules and templates see."""
    try:
        contact = _contact_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InputError(f"{where}: {_phrase(exc)}") from None
    return contact_to_data(contact)


def contact_to_data(contact: Contact) -> dict[str, Any]:
    if not contact.id:
        raise InputError("a contact has an empty 'id'")
    if contact.timezone is not None:
        from flows.timecalc import TimeError, zone

        try:
            zone(contact.timezone)
        except TimeError as exc:
            raise InputError(f"contact {contact.id!r}: {exc}") from None
    data: dict[str, Any] = msgspec.to_builtins(contact)
    return data


def decode_event(data: bytes | str, where: str = "event") -> Event:
    try:
        event = _event_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InputError(f"{where}: {_phrase(exc)}") from None
    if event.at is not None:
        if event.at.tzinfo is None:
            raise InputError(f"{where}: 'at' needs a time zone, e.g. 2026-01-01T09:00:00Z")
        if event.at.tzinfo is not UTC:
            event.at = event.at.astimezone(UTC)  # reports and rules speak UTC
    return event


def event_to_data(event: Event, at: datetime) -> dict[str, Any]:
    """The event as rules and templates see it (`event.properties.total`, ...)."""
    from flows.timecalc import format_instant

    data: dict[str, Any] = {
        "name": event.name, "at": format_instant(at), "properties": event.properties
    }
    if event.id is not None:
        data["id"] = event.id
    return data


def _phrase(exc: Exception) -> str:
    text, _, where = str(exc).partition(" - at ")
    text = text.replace("`", "'")
    location = where.strip("`").removeprefix("$").lstrip(".")
    return f"{text} (at {location})" if location else text
