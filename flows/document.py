"""The flow document: Castflow's import/export format, version 1 (`castflow.flow/1`).

Decoding is strict: unknown keys, wrong types and a wrong `format` are problems the user can fix,
never silently dropped. A node's `config` stays a plain mapping here; each node kind decodes it
against its own schema in the compiler, so a new kind never needs a change in this module.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from flows.problems import Problem

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
    """The bytes are not a valid flow document; `problems` names each node or edge at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _Outline(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The document's top level, with nodes and edges left for one-by-one decoding."""

    format: str
    name: str
    nodes: list[Any]
    edges: list[Any]
    description: str = ""
    settings: Settings = msgspec.field(default_factory=Settings)


_encoder = msgspec.json.Encoder(order="deterministic")


def decode_document(data: bytes | str) -> FlowDocument:
    """Decode a flow document strictly, reporting every broken node and edge by its id."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise DocumentError([Problem(f"The file is not valid JSON: {exc}.")]) from None
    return document_from_builtins(raw)


def document_from_builtins(raw: Any) -> FlowDocument:
    """Same as `decode_document`, for a document already parsed into Python objects."""
    if not isinstance(raw, dict):
        raise DocumentError([Problem("A flow document is a JSON object ({\"format\": ...}).")])
    # The format first: a document from another version is reported as such, not by the first
    # key this version does not know.
    if "format" not in raw:
        raise DocumentError([Problem(f"'format' is missing: a flow document starts with "
                                     f"\"format\": \"{FORMAT}\".")])
    if raw["format"] != FORMAT:
        raise DocumentError([Problem(
            f"Unknown format {raw['format']!r}: this version of Castflow reads {FORMAT!r}."
        )])
    try:
        outline = msgspec.convert(raw, _Outline)
    except msgspec.ValidationError as exc:
        raise DocumentError([Problem(f"The document: {explain(exc)}")]) from None
    problems: list[Problem] = []
    nodes: list[Node] = []
    for index, item in enumerate(outline.nodes):
        try:
            nodes.append(msgspec.convert(item, Node))
        except msgspec.ValidationError as exc:
            node_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(node_id, str) and node_id:
                problems.append(Problem(explain(exc), node=node_id))
            else:
                problems.append(Problem(f"Node number {index + 1}: {explain(exc)}"))
    edges: list[Edge] = []
    for index, item in enumerate(outline.edges):
        try:
            edges.append(msgspec.convert(item, Edge))
        except msgspec.ValidationError as exc:
            label = _edge_label(item)
            if label is not None:
                problems.append(Problem(explain(exc), edge=label))
            else:
                problems.append(Problem(f"Edge number {index + 1}: {explain(exc)}"))
    if problems:
        raise DocumentError(problems)
    return FlowDocument(
        format=outline.format, name=outline.name, nodes=nodes, edges=edges,
        description=outline.description, settings=outline.settings,
    )


def _edge_label(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    source, target, port = item.get("from"), item.get("to"), item.get("port")
    if not isinstance(source, str) or not isinstance(target, str):
        return None
    return f"{source}.{port} -> {target}" if isinstance(port, str) else f"{source} -> {target}"


def encode_document(document: FlowDocument) -> bytes:
    """Export: pretty JSON that `decode_document` turns back into an equal document."""
    return msgspec.json.format(_encoder.encode(document), indent=2) + b"\n"


def to_builtins(document: FlowDocument) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(document)
    return result


def explain(exc: msgspec.ValidationError) -> str:
    """msgspec's precise message, phrased for people: "Expected 'str', got 'int' (at for)"."""
    text, _, where = str(exc).partition(" - at ")
    text = text.replace("`", "'")
    location = where.strip("`").removeprefix("$").lstrip(".")
    return f"{text} (at {location})." if location else f"{text}."
