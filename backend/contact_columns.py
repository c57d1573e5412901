"""The CSV column convention for contact imports (docs/import.md), and the rows it produces.

A header names each column: `id`, `email`, `phone`, `timezone`, `push_tokens`,
`consent.<channel>`, `preferences.<topic>`, `chat.<service>`, `attributes.<name>`, and any other
name is an attribute. Attribute columns may carry a type, `age:number` or `vip:boolean`;
otherwise cells stay text. An empty cell means "not given" (no change); `[clear]` clears.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from typing import Any, Final, Literal

from backend.contact_checks import ContactProblem, check_contact
from flows.contacts import Contact

CHANNELS: Final = ("email", "sms", "push", "voice", "chat")
CLEAR: Final = "[clear]"
MAX_CELL_LENGTH: Final = 10_000
_SIMPLE: Final = ("id", "email", "phone", "timezone", "push_tokens")
_PREFIXES: Final = {"consent.": "consent", "preferences.": "preference", "chat.": "chat",
                    "attributes.": "attribute"}
_TYPES: Final = {"number": "number", "boolean": "boolean", "text": "text", "string": "text"}
_CONSENT: Final = {
    **dict.fromkeys(("opted_in", "opted-in", "opted in", "optin", "opt_in", "opt-in", "in",
                     "yes", "y", "true", "1", "subscribed"), "opted_in"),
    **dict.fromkeys(("opted_out", "opted-out", "opted out", "optout", "opt_out", "opt-out",
                     "out", "no", "n", "false", "0", "unsubscribed"), "opted_out"),
}
_BOOLEAN: Final = {**dict.fromkeys(("true", "yes", "y", "1"), True),
                   **dict.fromkeys(("false", "no", "n", "0"), False)}
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}\Z")

Kind = Literal["id", "email", "phone", "timezone", "push_tokens", "consent", "preference",
               "chat", "attribute", "unnamed"]


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (the message says why); no row was read."""


@dataclass(slots=True)
class ImportRow:
    """A contact to upsert: `fields` are the fields the row gave (the others stay unchanged);
    `chat` holds chat addresses to merge into the stored ones (None values remove one)."""

    line: int
    contact: Contact
    fields: frozenset[str]
    chat: dict[str, str | None] | None = None


@dataclass(slots=True)
class Refusal:
    """A row that was not imported: its first line, its id when known, a code and why."""

    line: int
    id: str | None
    code: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "id": self.id, "code": self.code, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Column:
    kind: Kind
    key: str  # the channel, topic, chat service or attribute name
    type: str  # "text", "number" or "boolean" (attributes only)
    label: str  # how messages name it: column C ("First name")


@dataclass(frozen=True, slots=True)
class CsvColumns:
    columns: tuple[Column, ...]


def column_letters(index: int) -> str:
    """Spreadsheet letters for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_uppercase[rest] + letters
    return letters


def _column(index: int, header: str) -> Column:
    name = header.strip()
    label = f"column {column_letters(index)} ({name!r})" if name else \
        f"column {column_letters(index)}"
    lowered = name.lower()
    if not name:
        return Column("unnamed", "", "text", label)
    if lowered in _SIMPLE:
        return Column(lowered, lowered, "text", label)  # type: ignore[arg-type]
    kind: Kind = "attribute"
    key = name
    for prefix, prefixed_kind in _PREFIXES.items():
        if lowered.startswith(prefix):
            kind, key = prefixed_kind, name[len(prefix):].strip()  # type: ignore[assignment]
            break
    type_ = "text"
    if kind == "attribute" and ":" in key:
        base, _, suffix = key.rpartition(":")
        if suffix.strip().lower() in _TYPES:
            key, type_ = base.strip(), _TYPES[suffix.strip().lower()]
    if not key:
        raise ImportFileError(f"The header's {label} names no {kind}: write e.g. "
                              f"'consent.email', 'preferences.newsletter' or 'first_name'.")
    if kind == "consent":
        key = key.lower()
        if key not in CHANNELS:
            raise ImportFileError(f"The header's {label}: {key!r} is not a channel; consent "
                                  f"columns are {', '.join('consent.' + c for c in CHANNELS)}.")
    return Column(kind, key, type_, label)


def columns_from_header(cells: list[str]) -> CsvColumns:
    """The columns a header row names; ImportFileError when it cannot be used."""
    columns = tuple(_column(index, cell) for index, cell in enumerate(cells))
    seen: dict[tuple[str, str], Column] = {}
    for column in columns:
        if column.kind == "unnamed":
            continue
        target = (column.kind, column.key)
        if target in seen:
            raise ImportFileError(f"The header names the same thing twice: {seen[target].label} "
                                  f"and {column.label}. Keep one of them.")
        seen[target] = column
    if ("id", "id") not in seen:
        raise ImportFileError("The file has no 'id' column. The first line must name the "
                              "columns, and one of them must be 'id': the contact's own id, "
                              "which a re-import matches on.")
    return CsvColumns(columns)


class _Refuse(Exception):
    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason


def _typed(column: Column, value: str) -> Any:
    if column.type == "number":
        if _INTEGER.match(value):
            return int(value)
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _Refuse("bad_number", f"{column.label} is {value!r}, not a number")
        return number
    if column.type == "boolean":
        flag = _BOOLEAN.get(value.lower())
        if flag is None:
            raise _Refuse("bad_boolean", f"{column.label} is {value!r}: write true or false "
                                         "(yes/no and 1/0 also work)")
        return flag
    return value


def _careful(cells: list[str], columns: CsvColumns) -> list[str]:
    """Cells of a row that spans lines or is long: line breaks as LF, lengths checked."""
    checked = []
    for column, cell in zip(columns.columns, cells, strict=False):
        if len(cell) > MAX_CELL_LENGTH and len(cell.strip()) > MAX_CELL_LENGTH:
            raise _Refuse("too_long", f"{column.label} is too long "
                                      f"(at most {MAX_CELL_LENGTH} characters)")
        checked.append(cell.replace("\r\n", "\n") if "\r" in cell else cell)
    return checked


def _cells_to_fields(cells: list[str], columns: CsvColumns) -> tuple[
        str | None, dict[str, Any], dict[str, str | None]]:
    """(id, Contact keyword arguments, chat addresses) from a row's non-empty cells.

    The hot loop of an import: cells that may be too long or hold CRLF line breaks went
    through `_careful` first, and the reader refused lines holding NUL characters."""
    ident: str | None = None
    given: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    consent: dict[str, str] = {}
    preferences: dict[str, str] = {}
    chat: dict[str, str | None] = {}
    for column, cell in zip(columns.columns, cells, strict=False):
        if not cell:
            continue
        value = cell.strip()
        if not value:
            continue
        clear = value[0] == "[" and value.lower() == CLEAR
        kind = column.kind
        if kind == "attribute":  # the most common kind first
            if clear:
                attributes[column.key] = None
            elif column.type == "text":
                attributes[column.key] = value
            else:
                attributes[column.key] = _typed(column, value)
        elif kind == "id":
            if clear:
                raise _Refuse("missing_id", "the id cannot be cleared")
            ident = value
        elif kind in ("email", "phone", "timezone"):
            given[kind] = None if clear else value
        elif kind == "consent":
            choice = _CONSENT.get(value.lower())
            if choice is None:
                raise _Refuse("bad_consent", f"{column.label} is {value!r}: write opted_in or "
                                             "opted_out (yes/no, true/false, 1/0 and "
                                             "subscribed/unsubscribed also work)")
            consent[column.key] = choice
        elif kind == "preference":
            channel = value.lower()
            if channel not in CHANNELS:
                raise _Refuse("bad_preference", f"{column.label} is {value!r}, not a channel "
                                                f"({', '.join(CHANNELS)})")
            preferences[column.key] = channel
        elif kind == "chat":
            chat[column.key] = None if clear else value
        elif kind == "push_tokens":
            given[kind] = None if clear else value.split()
        else:
            raise _Refuse("unnamed_column", f"{column.label} has a value but no name in the "
                                            "header")
    if attributes:
        given["attributes"] = attributes
    if consent:
        given["consent"] = consent
    if preferences:
        given["preferences"] = preferences
    return ident, given, chat


def contact_from_cells(
    line: int, cells: list[str], columns: CsvColumns, careful: bool = True
) -> ImportRow | Refusal:
    """The row starting on `line` as a contact to upsert, or why it cannot be.

    `careful=False` is for a row on one line of at most MAX_CELL_LENGTH characters with no NUL
    character (the reader knows): no cell can be too long or hold a line break."""
    width = len(columns.columns)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return Refusal(line, _id_of(cells, columns), "too_many_cells",
                       f"the row has {len(cells)} cells but the header names {width} columns")
    try:
        if careful:
            if any("\x00" in cell for cell in cells):
                raise _Refuse("nul_character", "the row holds the NUL character")
            cells = _careful(cells, columns)
        ident, given, chat = _cells_to_fields(cells, columns)
    except _Refuse as refusal:
        return Refusal(line, _id_of(cells, columns), refusal.code, refusal.reason)
    if ident is None:
        return Refusal(line, None, "missing_id", "the row has no id")
    contact = Contact(id=ident, **given)
    try:
        check_contact(contact)
    except ContactProblem as problem:
        return Refusal(line, ident, problem.code, problem.message)
    return ImportRow(line, contact, frozenset(given), chat or None)


def _id_of(cells: list[str], columns: CsvColumns) -> str | None:
    for column, cell in zip(columns.columns, cells, strict=False):
        if column.kind == "id":
            value = cell.strip()
            return value if value and len(value) <= 200 else None
    return None
