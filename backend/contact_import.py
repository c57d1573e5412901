"""Contacts from a CSV or JSON-lines file, read as a stream of byte chunks (no I/O here).

A reader is fed chunks as they arrive (`feed`, then `finish`) and hands back, in file order,
each row as a contact to store (`ImportRow`) or as a refusal naming its line and what is wrong
(`Refusal`). It keeps at most one unfinished record in memory, so a file of any length streams.
File-level problems (no `id` column, a duplicate column, ...) raise `ImportFileError` before any
row is produced. The column convention is documented in docs/import.md.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import msgspec

from backend.contact_checks import ContactProblem, check_contact
from backend.contact_columns import (
    MAX_CELL_LENGTH,
    CsvColumns,
    ImportFileError,
    ImportRow,
    Refusal,
    columns_from_header,
    contact_from_cells,
)
from flows.contacts import Contact

__all__ = ["FORMATS", "MAX_ERRORS", "CsvReader", "Format", "ImportFileError", "ImportReport",
           "ImportRow", "JsonLinesReader", "Parsed", "Refusal", "format_for_name",
           "read_contacts", "reader_for"]

Format = Literal["csv", "jsonl"]
FORMATS: Final = ("csv", "jsonl")
MAX_LINE_BYTES: Final = 1024 * 1024  # one physical line, or one CSV record over several lines
MAX_ERRORS: Final = 1000  # refusals listed in a report; the rest are only counted
_BOM: Final = b"\xef\xbb\xbf"
CONSENT_VALUES: Final = ("opted_in", "opted_out")


@dataclass
class ImportReport:
    """What an import did: rows stored (created or updated) and rows refused, with the first
    `max_errors` refusals listed."""

    created: int = 0
    updated: int = 0
    refused: int = 0
    errors: list[Refusal] = field(default_factory=list)
    max_errors: int = MAX_ERRORS

    def refuse(self, refusal: Refusal) -> None:
        self.refused += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(refusal)

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.created + self.updated, "created": self.created,
            "updated": self.updated, "refused": self.refused,
            "errors": [refusal.to_json() for refusal in self.errors],
            "errors_truncated": self.refused > len(self.errors),
        }


Parsed = ImportRow | Refusal


class _Lines:
    """Splits byte chunks into physical lines (numbered from 1), dropping a leading BOM.

    A line longer than MAX_LINE_BYTES is not kept: it comes out as None, once, and its bytes
    are skipped up to the next newline.
    """

    def __init__(self) -> None:
        self._rest = b""
        self._number = 0
        self._skipping = False
        self._started = False

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes | None]]:
        if not self._started:
            self._rest += chunk
            if len(self._rest) < len(_BOM) and _BOM.startswith(self._rest):
                return  # wait for enough bytes to tell whether the file opens with a BOM
            self._started = True
            chunk, self._rest = self._rest.removeprefix(_BOM), b""
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            self._grow(pieces[0])
            return
        first = self._rest + pieces[0]
        self._rest = b""
        yield from self._end_line(first)
        for piece in pieces[1:-1]:
            yield from self._end_line(piece)
        self._grow(pieces[-1])

    def finish(self) -> Iterator[tuple[int, bytes | None]]:
        if not self._started:
            self._started = True
            self._rest = self._rest.removeprefix(_BOM)
        if self._rest or self._skipping:
            rest, self._rest = self._rest, b""
            yield from self._end_line(rest)

    def _grow(self, piece: bytes) -> None:
        if self._skipping:
            return
        self._rest += piece
        if len(self._rest) > MAX_LINE_BYTES:
            self._rest = b""
            self._skipping = True

    def _end_line(self, line: bytes) -> Iterator[tuple[int, bytes | None]]:
        self._number += 1
        if self._skipping or len(line) > MAX_LINE_BYTES:
            self._skipping = False
            yield self._number, None
        else:
            yield self._number, line


def _too_long(line: int) -> Refusal:
    return Refusal(line, None, "line_too_long",
                   f"the line is longer than {MAX_LINE_BYTES // 1024} KiB")


def _not_utf8(line: int) -> Refusal:
    return Refusal(line, None, "bad_encoding",
                   "the line is not UTF-8 text (save the file as CSV UTF-8 or JSON lines)")


class JsonLinesReader:
    """One contact per line, in the contact shape of DESIGN.md; blank lines are skipped."""

    def __init__(self) -> None:
        self._lines = _Lines()

    def feed(self, chunk: bytes) -> list[Parsed]:
        return [self._row(number, line) for number, line in self._lines.feed(chunk)
                if line is None or line.strip()]

    def finish(self) -> list[Parsed]:
        return [self._row(number, line) for number, line in self._lines.finish()
                if line is None or line.strip()]

    def _row(self, number: int, line: bytes | None) -> Parsed:
        if line is None:
            return _too_long(number)
        try:
            item = msgspec.json.decode(line)
        except UnicodeDecodeError:
            return _not_utf8(number)
        except msgspec.DecodeError as exc:
            if not _is_utf8(line):
                return _not_utf8(number)
            return Refusal(number, None, "bad_json", f"the line is not valid JSON: {exc}")
        return contact_from_json(number, item)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def contact_from_json(line: int, item: Any) -> Parsed:
    """A JSON line's contact, checked like `POST /api/contacts` checks one."""
    if not isinstance(item, dict):
        return Refusal(line, None, "bad_json", "each line must be a JSON object (a contact)")
    key = item.get("id")
    ident = key if isinstance(key, str) and key else None
    if key is None or key == "":
        return Refusal(line, None, "missing_id", "the contact has no 'id'")
    if not isinstance(key, str):
        return Refusal(line, None, "bad_field", "'id' must be a string")
    consent = item.get("consent")
    if isinstance(consent, dict):
        for channel, value in consent.items():
            if value not in CONSENT_VALUES:
                return Refusal(line, ident, "bad_consent",
                               f"consent for {channel!r} must be 'opted_in' or 'opted_out', "
                               f"not {msgspec.json.encode(value).decode()}")
    if _has_nul(item):
        return Refusal(line, ident, "nul_character", "a value holds the NUL character")
    try:
        contact = msgspec.convert(item, Contact)
    except msgspec.ValidationError as exc:
        return Refusal(line, ident, "bad_field", _phrase(exc))
    try:
        check_contact(contact)
    except ContactProblem as problem:
        return Refusal(line, ident, problem.code, problem.message)
    return ImportRow(line, contact, frozenset(item))


def _phrase(exc: msgspec.ValidationError) -> str:
    text, _, where = str(exc).partition(" - at ")
    location = where.strip("`").removeprefix("$").lstrip(".")
    text = text.replace("`", "'")
    return f"{text} (at {location})" if location else text


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class _Records:
    """Lines for a csv.reader that only ever sees whole records.

    A record may span lines (a quoted cell with newlines); it is complete when the quotes seen
    so far pair up, since a quote inside a quoted cell is written twice. Complete records are
    queued for the reader; a record is never handed over half, so the reader never stops mid-
    record for want of input. A record that grows past MAX_LINE_BYTES is dropped (refused).
    """

    def __init__(self) -> None:
        self.ready: deque[str] = deque()
        self._open: list[str] = []
        self._open_size = 0
        self._open_quotes = 0
        self._open_start = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.ready:
            raise StopIteration
        return self.ready.popleft()

    def add(self, number: int, text: str) -> Refusal | None:
        """Queue a line (with its newline); a refusal when an unclosed record had to go."""
        quotes = text.count('"')
        if not self._open:
            if quotes % 2 == 0:
                self.ready.append(text)
                return None
            self._open_start = number
        self._open.append(text)
        self._open_size += len(text)
        self._open_quotes += quotes
        if self._open_quotes % 2 == 0:
            self.ready.extend(self._open)
            self._reset()
        elif self._open_size > MAX_LINE_BYTES:
            start, dropped = self._open_start, len(self._open)
            self._reset()
            self.ready.extend("\n" for _ in range(dropped))  # blank lines keep the numbering
            return Refusal(start, None, "unclosed_quote",
                           f"a quoted cell opened on line {start} is not closed within "
                           f"{MAX_LINE_BYTES // 1024} KiB")
        return None

    def flush(self) -> Refusal | None:
        """At the end of the file: an unclosed record is refused."""
        if not self._open:
            return None
        start = self._open_start
        self._reset()
        return Refusal(start, None, "unclosed_quote",
                       f"a quoted cell opened on line {start} is never closed")

    def _reset(self) -> None:
        self._open = []
        self._open_size = 0
        self._open_quotes = 0


class CsvReader:
    """A spreadsheet export: a header row naming the columns, then one contact per row."""

    def __init__(self) -> None:
        self._lines = _Lines()
        self._records = _Records()
        self._reader: Any = None
        self._columns: CsvColumns | None = None
        self._header: list[str] = []
        self._bad_lines: dict[int, Refusal] = {}  # lines that spoil the record holding them
        self._long_lines: set[int] = set()  # lines that may hold a cell too long to store
        self._consumed = 0  # lines the csv reader has taken so far

    def feed(self, chunk: bytes) -> list[Parsed]:
        return self._take(self._lines.feed(chunk), end=False)

    def finish(self) -> list[Parsed]:
        out = self._take(self._lines.finish(), end=True)
        if self._columns is None:
            raise ImportFileError("The file is empty: the first line must name the columns, "
                                  "including 'id'.")
        return out

    def _take(self, lines: Iterable[tuple[int, bytes | None]], end: bool) -> list[Parsed]:
        out: list[Parsed] = []
        for number, raw in lines:
            if raw is None:
                self._bad_lines[number] = _too_long(number)
                text = "\n"
            else:
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    text = raw.decode(errors="replace")
                    self._bad_lines[number] = _not_utf8(number)
                text += "\n"
                if len(text) > MAX_CELL_LENGTH:
                    self._long_lines.add(number)
                if "\x00" in text:
                    self._bad_lines[number] = Refusal(number, None, "nul_character",
                                                      "the row holds the NUL character")
            dropped = self._records.add(number, text)
            if dropped is not None:
                out.append(dropped)
            self._drain(out)
        if end:
            dropped = self._records.flush()
            if dropped is not None:
                out.append(dropped)
            self._drain(out)
        return out

    def _drain(self, out: list[Parsed]) -> None:
        while self._records.ready:
            if self._reader is None:
                self._start(self._records.ready[0])
            start = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                out.append(Refusal(start, None, "bad_csv", f"the row cannot be read: {exc}"))
                continue
            end = self._reader.line_num
            bad = self._spoiled(start, end)
            careful = end > start or start in self._long_lines
            if self._long_lines:
                self._long_lines.difference_update(range(start, end + 1))
            if self._columns is None:
                if bad is not None:
                    raise ImportFileError(f"The header line cannot be read: {bad.reason}.")
                self._header = cells
                self._columns = columns_from_header(cells)
                continue
            if bad is not None:
                out.append(Refusal(start, None, bad.code, bad.reason))
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            out.append(contact_from_cells(start, cells, self._columns, careful))

    def _spoiled(self, start: int, end: int) -> Refusal | None:
        """Why lines start..end cannot be imported, if one of them could not be read."""
        if not self._bad_lines:
            return None
        found = [self._bad_lines.pop(n) for n in range(start, end + 1) if n in self._bad_lines]
        if not found:
            return None
        too_long = [r for r in found if r.code == "line_too_long"]
        return (too_long or found)[0]

    def _start(self, first_line: str) -> None:
        self._reader = csv.reader(self._records, delimiter=_delimiter(first_line),
                                  strict=False)


def _delimiter(header: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale exports with."""
    counts = {mark: header.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=lambda mark: counts[mark])
    return best if counts[best] else ","


def reader_for(fmt: Format) -> CsvReader | JsonLinesReader:
    return CsvReader() if fmt == "csv" else JsonLinesReader()


def read_contacts(chunks: Iterable[bytes], fmt: Format) -> Iterator[Parsed]:
    """Every row of the file made of `chunks`, in order: contacts to store and refusals."""
    reader = reader_for(fmt)
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.finish()


def format_for_name(name: str) -> Format | None:
    """The format a file name's extension says (`.csv`, `.jsonl` / `.ndjson`), if any."""
    lowered = name.lower()
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return None
