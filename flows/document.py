"""The flow document: Castflow's import/export format, version 1 (`castflow.flow/1`).

Decoding is strict: unknown keys, wrong types and a wrong `format` are problems the user can fix,
never silently dropped. A node's `config` stays a plain mapping here; each node kind decodes it
against its own schema in the compiler, so a new kind never needs a change in this module.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

FORMAT = "castflow.flow/1"

EntryRule = Literal["once", "single_active", "always"]


class Position(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    x: float
    y: float


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    entry: EntryRule = "once"
    timezone: str = "UTC"


class Node(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    id: str
    type: str
    config: dict[str, Any]
    position: Position | None = None
    label: str | None = None


class Edge(
    msgspec.Struct,
    forbid_unknown_fields=True,
    frozen=True,
    omit_defaults=True,
    rename={"from_": "from"},
):
    from_: str
    to: str
    port: str | None = None

    def describe(self) -> str:
        """The edge as users see it in problems: `gate.maybe -> s`."""
        source = f"{self.from_}.{self.port}" if self.port is not None else self.from_
        return f"{source} -> {self.to}"


class FlowDocument(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    format: str
    name: str
    nodes: list[Node]
    edges: list[Edge]
    description: str = ""
    settings: Settings = msgspec.field(default_factory=Settings)


class DocumentError(ValueError):
    """The bytes are not a flow document at all (bad JSON, wrong shape, wrong format)."""


_decoder = msgspec.json.Decoder(FlowDocument)
_encoder = msgspec.json.Encoder(order="deterministic")


def decode_document(data: bytes | str) -> FlowDocument:
    """Decode a flow document strictly, with messages a marketer can act on."""
    try:
        document = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise DocumentError(_explain_validation(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise DocumentError(f"The file is not valid JSON: {exc}.") from None
    if document.format != FORMAT:
        raise DocumentError(
            f"Unknown format {document.format!r}: this version of Castflow reads {FORMAT!r}."
        )
    return document


def document_from_builtins(value: Any) -> FlowDocument:
    """Same as `decode_document`, for a document already parsed into Python objects."""
    return decode_document(msgspec.json.encode(value))


def encode_document(document: FlowDocument) -> bytes:
    """Export: pretty JSON that `decode_document` turns back into an equal document."""
    return msgspec.json.format(_encoder.encode(document), indent=2) + b"\n"


def to_builtins(document: FlowDocument) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(document)
    return result


def _explain_validation(message: str) -> str:
    # msgspec says e.g. "Object contains unknown field `colour` - at `$.nodes[0]`"; keep its
    # precise location but phrase it for people.
    text, _, where = message.partition(" - at ")
    location = where.strip("`") if where else "$"
    return f"{text} (at {location})."
