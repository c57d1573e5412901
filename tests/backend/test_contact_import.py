"""Contact import: reading CSV and JSON lines as a stream (every refusal code, BOM, CRLF, quoted
newlines, any chunking), the address checks against their libraries, the bulk upsert on both
databases (re-imports update, batches merge in order), the CLI, and bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.contact_checks import ContactProblem, _valid_literal, valid_email, valid_phone
from backend.contact_import import (
    MAX_LINE_BYTES,
    ImportFileError,
    ImportRow,
    Parsed,
    Refusal,
    format_for_name,
    read_contacts,
)
from backend.db import Database
from backend.store.contacts import import_contacts, load_contacts, load_rows

ROOT = Path(__file__).resolve().parents[2]


def read(data: bytes, fmt: str = "csv", size: int | None = None) -> list[Parsed]:
    chunks = [data] if size is None else [data[i:i + size] for i in range(0, len(data), size)]
    return list(read_contacts(chunks, fmt))  # type: ignore[arg-type]


def refusals(parsed: list[Parsed]) -> dict[int, Refusal]:
    return {item.line: item for item in parsed if isinstance(item, Refusal)}


def rows(parsed: list[Parsed]) -> dict[int, ImportRow]:
    return {item.line: item for item in parsed if isinstance(item, ImportRow)}


# --- CSV ------------------------------------------------------------------------------------

SPREADSHEET = (
    "\ufeffID,Email,phone,timezone,consent.email,consent.sms,preferences.newsletter,first_name,"
    "country,age:number,vip:boolean,notes,chat.whatsapp\r\n"
    "c-1,bill@example.com,+39 340 123 4567,Europe/Rome,yes,opted_out,Email,Bill,IT,42,yes,"
    "\"two\r\nlines, and \"\"quotes\"\"\",+393401234567\r\n"
    "c-2,,,,,,,,,,,,\r\n"
    "\r\n"
    "c-3,ann@example.org,[clear],,,,,Ann,,3.5,no,,[clear]\r\n"
).encode()


def test_a_spreadsheet_export_reads_with_bom_crlf_and_quoted_newlines() -> None:
    parsed = read(SPREADSHEET)
    assert refusals(parsed) == {}
    got = rows(parsed)
    assert sorted(got) == [2, 4, 6]  # the line each record starts on
    bill = got[2]
    assert msgspec.to_builtins(bill.contact) == {
        "id": "c-1", "email": "bill@example.com", "phone": "+393401234567",
        "timezone": "Europe/Rome", "consent": {"email": "opted_in", "sms": "opted_out"},
        "preferences": {"newsletter": "email"},
        "attributes": {"first_name": "Bill", "country": "IT", "age": 42, "vip": True,
                       "notes": 'two\nlines, and "quotes"'},
    }
    assert bill.fields == {"email", "phone", "timezone", "consent", "preferences", "attributes"}
    assert bill.chat == {"whatsapp": "+393401234567"}
    assert got[4].fields == frozenset()  # empty cells: nothing given, nothing changes
    ann = got[6]
    assert ann.contact.phone is None and "phone" in ann.fields  # [clear] clears
    assert ann.contact.attributes == {"first_name": "Ann", "age": 3.5, "vip": False}
    assert ann.chat == {"whatsapp": None}


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096])
def test_any_chunking_gives_the_same_rows(size: int) -> None:
    assert read(SPREADSHEET, size=size) == read(SPREADSHEET)


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_random_chunk_boundaries_give_the_same_rows(cuts: list[int]) -> None:
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(SPREADSHEET[at:at + cut])
        at += cut
    chunks.append(SPREADSHEET[at:])
    assert list(read_contacts(chunks, "csv")) == read(SPREADSHEET)


def test_the_documented_example_file_imports_cleanly() -> None:
    parsed = read((ROOT / "docs" / "import-example.csv").read_bytes())
    assert refusals(parsed) == {}
    got = rows(parsed)
    assert sorted(got) == [2, 3, 5, 6]
    assert got[2].contact.phone == "+12125550143"
    assert got[2].contact.attributes["lifetime_value"] == 1250.5
    assert got[3].contact.attributes["notes"] == "Prefers SMS;\ncall after 18:00"
    assert got[6].contact.email is None and "email" in got[6].fields
    assert got[6].contact.consent == {"email": "opted_out"}


def test_a_semicolon_export_and_a_tab_export_read_too() -> None:
    for mark in (";", "\t"):
        data = f"id{mark}email{mark}city\nc-1{mark}a@example.com{mark}Roma, Lazio\n".encode()
        [row] = read(data)
        assert isinstance(row, ImportRow)
        assert row.contact.attributes == {"city": "Roma, Lazio"}


BAD_CSV_ROWS = [  # (row, code, words in the reason)
    (",a@example.com", "missing_id", "no id"),
    ("c-2,bill@,,,,,", "bad_email", "'bill@'"),
    ("c-3,a@b,,,,,", "bad_email", "period"),
    ("c-4,,3401234567,,,,", "bad_phone", "international form"),
    ("c-5,,+1555,,,,", "bad_phone", "'+1555'"),
    ("c-6,,,Mars/Olympus,,,", "bad_timezone", "Mars/Olympus"),
    ("c-7,,,,maybe,,", "bad_consent", "column E ('consent.sms') is 'maybe'"),
    ("c-8,,,,,fax,", "bad_preference", "'fax'"),
    ("c-9,,,,,,many", "bad_number", "column G ('age:number')"),
    ("x" * 201 + ",,,,,,", "too_long", "'id'"),
    ("c-11,,,,,,1,extra", "too_many_cells", "8 cells"),
    ("c-12,,,,,,\x00", "nul_character", "NUL"),
    ("c-13,,,,,,\"" + "1" * 10_001 + "\"", "too_long", "at most 10000"),
    ("c-14,,,,,,\"" + "1" * 140_000 + "\"", "bad_csv", "field"),
    ("c-15,,,,[clear],,", "bad_consent", "[clear]"),
]


def test_a_file_full_of_bad_rows_names_each_line_and_reason() -> None:
    header = "id,email,phone,timezone,consent.sms,preferences.news,age:number\n"
    lines = [header] + [row + "\n" for row, _, _ in BAD_CSV_ROWS] + ["c-ok,ok@example.com\n"]
    data = "".join(lines).encode()
    data += b"c-latin,caf\xe9@example.com\n"  # Latin-1, not UTF-8
    parsed = read(data)
    refused = refusals(parsed)
    for number, (_, code, words) in enumerate(BAD_CSV_ROWS, start=2):
        assert refused[number].code == code, (number, refused[number])
        assert words in refused[number].reason, refused[number]
    assert refused[3].id == "c-2"
    assert refused[len(lines) + 1].code == "bad_encoding"
    assert "UTF-8" in refused[len(lines) + 1].reason
    assert [row.contact.id for row in rows(parsed).values()] == ["c-ok"]


def test_unnamed_columns_are_ignored_unless_they_hold_a_value() -> None:
    parsed = read(b"id,,email,\nc-1,,a@example.com,\nc-2,oops,,\n")
    assert rows(parsed)[2].contact.email == "a@example.com"
    assert refusals(parsed)[3].code == "unnamed_column"


def test_an_unclosed_quote_is_refused_and_reading_goes_on() -> None:
    data = b'id,notes\nc-1,"never closed\nc-2,x\n'
    parsed = read(data)
    assert refusals(parsed)[2].code == "unclosed_quote"
    long_open = b'id,notes\nc-1,"' + b"y\n" * (MAX_LINE_BYTES // 2 + 10) + b'c-3,"z"\nc-4,w\n'
    later = read(long_open, size=65536)
    assert refusals(later)[2].code == "unclosed_quote"
    assert [row.contact.id for row in rows(later).values()][-1] == "c-4"


def test_a_line_too_long_is_refused_without_keeping_it() -> None:
    data = b"id,notes\nc-1," + b"x" * (MAX_LINE_BYTES + 5) + b"\nc-2,ok\n"
    parsed = read(data, size=50_000)
    assert refusals(parsed)[2].code == "line_too_long"
    assert rows(parsed)[3].contact.id == "c-2"


@pytest.mark.parametrize(("header", "words"), [
    ("email,first_name", "no 'id' column"),
    ("", "no 'id' column"),
    ("id,email,EMAIL", "column B ('email') and column C ('EMAIL')"),
    ("id,first_name,attributes.first_name", "same thing twice"),
    ("id,consent.fax", "'fax' is not a channel"),
    ("id,consent.", "names no consent"),
])
def test_a_header_that_cannot_be_used_refuses_the_file(header: str, words: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        read(f"{header}\nc-1,a,b\n".encode())
    assert words in str(caught.value)


def test_an_empty_file_is_refused() -> None:
    for data in (b"", b"\xef\xbb\xbf"):
        with pytest.raises(ImportFileError, match="empty"):
            read(data)


# --- JSON lines -----------------------------------------------------------------------------

def test_json_lines_take_the_contact_shape() -> None:
    data = (b'\xef\xbb\xbf{"id": "c-1", "email": "a@example.com", "phone": "+39 340 123 4567",'
            b' "chat": {"whatsapp": "+393401234567"}, "consent": {"sms": "opted_in"}}\r\n\r\n'
            b'{"id": "c-2", "email": null}\n')
    parsed = read(data, "jsonl")
    assert refusals(parsed) == {}
    first, second = rows(parsed)[1], rows(parsed)[3]
    assert first.contact.phone == "+393401234567"
    assert first.fields == {"id", "email", "phone", "chat", "consent"}
    assert second.fields == {"id", "email"} and second.contact.email is None


def test_bad_json_lines_name_each_line_and_reason() -> None:
    lines = [
        (b'{"id": "c-1", "email": "nope"}', "bad_email"),
        (b'{"id": "c-2"', "bad_json"),
        (b'["c-3"]', "bad_json"),
        (b'{"email": "a@example.com"}', "missing_id"),
        (b'{"id": 7}', "bad_field"),
        (b'{"id": "c-6", "colour": "red"}', "bad_field"),
        (b'{"id": "c-7", "consent": {"sms": "maybe"}}', "bad_consent"),
        (b'{"id": "c-8", "timezone": "Mars/Olympus"}', "bad_timezone"),
        (b'{"id": "c-9", "phone": "+1555"}', "bad_phone"),
        (b'{"id": "c-10", "attributes": {"x": "\\u0000"}}', "nul_character"),
        (b'{"id": "caf\xe9"}', "bad_encoding"),
        (b'{"id": "' + b"x" * 201 + b'"}', "too_long"),
        (b'{"id": "c-13", "attributes": {"n": 1}}', ""),
    ]
    parsed = read(b"\n".join(line for line, _ in lines), "jsonl", size=7)
    refused = refusals(parsed)
    for number, (_, code) in enumerate(lines, start=1):
        if code:
            assert refused[number].code == code, (number, refused[number])
        else:
            assert number in rows(parsed)
    assert "colour" in refused[6].reason
    assert refused[7].id == "c-7"


def test_format_from_the_file_name() -> None:
    assert format_for_name("Export.CSV") == "csv"
    assert format_for_name("contacts.ndjson") == "jsonl"
    assert format_for_name("contacts.jsonl") == "jsonl"
    assert format_for_name("contacts.xlsx") is None


# --- the address checks agree with their libraries ------------------------------------------

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@st.composite
def phone_strings(draw: st.DrawFn) -> str:
    """Example numbers of every region, with digits changed, added or dropped."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE,
                                 phonenumbers.PhoneNumberType.FIXED_LINE,
                                 phonenumbers.PhoneNumberType.TOLL_FREE]))
    example = phonenumbers.example_number_for_type(region, kind) or \
        phonenumbers.example_number(region)
    if example is None:
        return "+" + draw(st.text("0123456789", min_size=2, max_size=15))
    digits = list(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:])
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(digits)))
        change = draw(st.sampled_from(["set", "add", "drop"]))
        digit = draw(st.sampled_from("0123456789"))
        if change == "add" or at == len(digits):
            digits.insert(at, digit)
        elif change == "set":
            digits[at] = digit
        elif len(digits) > 2:
            del digits[at]
    return "+" + "".join(digits)


@given(phone_strings())
@settings(max_examples=1500, deadline=None)
def test_the_fast_phone_check_agrees_with_phonenumbers(value: str) -> None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return
    literal = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == value
    if literal:  # the library read the digits as written (no trunk prefix dropped)
        assert _valid_literal(value) == phonenumbers.is_valid_number(number), value
    try:
        stored = valid_phone(value)
    except ContactProblem:
        assert not phonenumbers.is_valid_number(number)
    else:
        assert phonenumbers.is_valid_number(phonenumbers.parse(stored, None))


def test_phone_numbers_are_stored_in_e164() -> None:
    assert valid_phone("+39 (340) 123-4567") == "+393401234567"
    assert valid_phone("+44 020 7946 0000") == "+442079460000"  # a trunk 0 written by mistake
    assert valid_phone("+390612345678") == "+390612345678"  # Italy keeps its leading 0
    for bad in ("", "+", "+0", "00393401234567", "+39 abc", "+3934012345678901"):
        with pytest.raises(ContactProblem):
            valid_phone(bad)


EMAIL_PARTS = st.sampled_from(["a", "Bill", "x.y", ".", "..", "@", "+", "-", "_", "é", " ",
                               '"', "example", "com", "localhost", "test", "co.uk", "1", "xn--",
                               "ü", "<", ">", "a" * 70, "(", "!", "#"])


@given(st.lists(EMAIL_PARTS, min_size=1, max_size=8).map("".join))
@settings(max_examples=1500, deadline=None)
def test_the_fast_email_check_agrees_with_email_validator(value: str) -> None:
    try:
        validate_email(value, check_deliverability=False)
        expected = True
    except EmailNotValidError:
        expected = False
    try:
        valid_email(value)
        got = True
    except ContactProblem:
        got = False
    assert got == expected, value


def test_email_refusals_say_why() -> None:
    for bad, words in (("bill", "@-sign"), ("a@localhost", "localhost"), ("a..b@x.com", "period"),
                       ("a@x.123", "")):
        with pytest.raises(ContactProblem) as caught:
            valid_email(bad)
        assert caught.value.code == "bad_email" and words in caught.value.message
    assert valid_email("Bill.O'Neil+news@Example.co.uk") == "Bill.O'Neil+news@Example.co.uk"
    assert valid_email("josé@example.com") == "josé@example.com"


# --- storing: both databases ----------------------------------------------------------------

async def chunks_of(data: bytes, size: int = 17) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def workspace_of(db: Database) -> int:
    from backend.workspace import default_workspace

    return await default_workspace(db)


async def consent_changed(db: Database, ws: int, key: str) -> dict[str, str]:
    value = (await load_rows(db, ws, [key]))[key]["consent_changed"]
    decoded: dict[str, str] = msgspec.json.decode(value) if isinstance(value, str) else value
    return decoded


async def test_import_stores_good_rows_and_a_reimport_updates(database: Database) -> None:
    ws = await workspace_of(db=database)
    stored_batches: list[list[str]] = []

    async def on_stored(workspace: int, keys: list[str]) -> None:
        assert workspace == ws
        stored_batches.append(keys)

    data = (b"id,email,consent.sms,first_name\n" + b"".join(
        f"c-{n},p{n}@example.com,yes,P{n}\n".encode() for n in range(7))
        + b"c-bad,nope,,\nc-3,,no,\n")  # c-3 again: its second row applies after the first
    report = await import_contacts(database, ws, chunks_of(data), "csv", batch_size=3,
                                   on_stored=on_stored)
    assert report.to_json() == {
        "imported": 8, "created": 7, "updated": 1, "refused": 1, "errors_truncated": False,
        "errors": [{"line": 9, "id": "c-bad", "code": "bad_email",
                    "reason": "email 'nope' is not a valid address: an email address must "
                              "have an @-sign."}],
    }
    assert [len(keys) for keys in stored_batches] == [3, 3, 2]
    assert stored_batches[2] == ["c-6", "c-3"]
    found = await load_contacts(database, ws, ["c-3", "c-4"])
    assert found["c-3"]["consent"] == {"sms": "opted_out"}  # the later row won
    assert found["c-3"]["email"] == "p3@example.com"  # its empty cell changed nothing
    first_change = await consent_changed(database, ws, "c-4")

    again = await import_contacts(database, ws, chunks_of(
        b"id,first_name,consent.sms\nc-4,Paula,yes\nc-new,New,\n"), "csv")
    assert (again.created, again.updated, again.refused) == (1, 1, 0)
    count = await database.fetch("SELECT COUNT(*) AS n FROM contacts")
    assert int(count[0]["n"]) == 8
    c4 = (await load_contacts(database, ws, ["c-4"]))["c-4"]
    assert c4["attributes"] == {"first_name": "Paula"}
    assert c4["email"] == "p4@example.com"
    assert await consent_changed(database, ws, "c-4") == first_change  # same value: no change

    await import_contacts(database, ws, chunks_of(b"id,consent.sms\nc-4,no\n"), "csv")
    changed = await consent_changed(database, ws, "c-4")
    assert changed["sms"] > first_change["sms"]  # a consent change is timestamped


async def test_csv_clears_and_chat_columns_merge(database: Database) -> None:
    ws = await workspace_of(db=database)
    await import_contacts(database, ws, chunks_of(
        b'{"id": "c-1", "email": "a@example.com", "phone": "+393401234567", '
        b'"chat": {"telegram": "@bill"}, "push_tokens": ["fcm:1"], "attributes": {"x": 1}}\n'),
        "jsonl")
    await import_contacts(database, ws, chunks_of(
        b"id,email,chat.whatsapp,push_tokens,x\nc-1,[clear],+393401234567,fcm:2 apns:3,[CLEAR]\n"),
        "csv")
    bill = (await load_contacts(database, ws, ["c-1"]))["c-1"]
    assert "email" not in bill
    assert bill["phone"] == "+393401234567"
    assert bill["chat"] == {"telegram": "@bill", "whatsapp": "+393401234567"}
    assert bill["push_tokens"] == ["fcm:2", "apns:3"]
    assert bill["attributes"] == {"x": None}
    await import_contacts(database, ws, chunks_of(
        b"id,chat.telegram,chat.whatsapp\nc-1,[clear],[clear]\n"), "csv")
    assert "chat" not in (await load_contacts(database, ws, ["c-1"]))["c-1"]


async def test_a_bad_header_stores_nothing(database: Database) -> None:
    ws = await workspace_of(db=database)
    with pytest.raises(ImportFileError):
        await import_contacts(database, ws, chunks_of(b"email\na@example.com\n"), "csv")
    assert int((await database.fetch("SELECT COUNT(*) AS n FROM contacts"))[0]["n"]) == 0


async def test_refusals_listed_are_capped_and_counted(database: Database) -> None:
    ws = await workspace_of(db=database)
    data = b"id,email\n" + b"".join(f"c-{n},bad\n".encode() for n in range(30)) + b"c-ok,\n"
    report = await import_contacts(database, ws, chunks_of(data, 100), "csv", max_errors=10)
    body = report.to_json()
    assert (body["refused"], len(body["errors"]), body["errors_truncated"]) == (30, 10, True)
    assert body["errors"][0]["line"] == 2 and body["imported"] == 1


# --- the command line -----------------------------------------------------------------------

def castflow(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database_url}, cwd=ROOT, check=False, timeout=120,
    )


def test_cli_imports_and_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    good = tmp_path / "people.csv"
    good.write_bytes(b"id,email,phone\nc-1,a@example.com,+393401234567\nc-2,bad,\n")
    result = castflow(url, "contacts", "import", str(good))
    assert result.returncode == 0, result.stderr
    report = msgspec.json.decode(result.stdout)
    assert (report["created"], report["refused"]) == (1, 1)
    assert report["errors"][0]["line"] == 3
    assert "refused 1 rows" in result.stderr

    lines = tmp_path / "people.txt"
    lines.write_bytes(b'{"id": "c-1", "attributes": {"vip": true}}\n')
    again = castflow(url, "contacts", "import", str(lines), "--format", "jsonl")
    assert again.returncode == 0, again.stderr
    assert msgspec.json.decode(again.stdout)["updated"] == 1

    no_format = tmp_path / "people.xlsx"
    no_format.write_bytes(b"PK")
    for args, words in (
        ((str(tmp_path / "missing.csv"),), "no such file"),
        ((str(tmp_path),), "cannot read"),
        ((str(tmp_path / "people.csv"), "--format", "xlsx"), "invalid choice"),
        ((str(no_format),), "--format csv|jsonl"),
    ):
        failed = castflow(url, "contacts", "import", *args)
        assert failed.returncode == 2 and words in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr
    no_id = tmp_path / "no_id.csv"
    no_id.write_bytes(b"email\na@example.com\n")
    refused = castflow(url, "contacts", "import", str(no_id))
    assert refused.returncode == 2 and "no 'id' column" in refused.stderr


# --- memory ---------------------------------------------------------------------------------

MEMORY_PROBE = """
import asyncio, resource, sys
from backend.db import Database
from backend.migrations import migrate
from backend.store.contacts import import_contacts
from backend.workspace import default_workspace

def csv(first, count):
    yield b"id,email,phone,country,plan\\n"
    for start in range(first, first + count, 2000):
        yield "".join(f"c-{n},person{n}@example.com,+39340{n:07d},IT,pro\\n"
                      for n in range(start, min(start + 2000, first + count))).encode()

async def chunks(first, count):
    for chunk in csv(first, count):
        yield chunk

async def main():
    db = Database(sys.argv[1])
    await db.start()
    await migrate(db)
    ws = await default_workspace(db)
    await import_contacts(db, ws, chunks(0, 10_000), "csv")  # warm: code, caches, pages
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = await import_contacts(db, ws, chunks(10_000, int(sys.argv[2])), "csv")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await db.close()
    print(report.created, report.refused, (after - before) * 1024)

asyncio.run(main())
"""


def test_a_200000_row_import_keeps_memory_bounded(tmp_path: Path) -> None:
    """The peak memory of a fresh process grows by a small, fixed amount over the import, far
    below what holding the file (~11 MB) or its contacts (hundreds of MB) would take."""
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, f"sqlite:///{tmp_path / 'big.db'}", "200000"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    created, refused, growth = (int(word) for word in result.stdout.split())
    assert (created, refused) == (200_000, 0)
    assert growth < 24 * 1024 * 1024, f"peak RSS grew by {growth / 2**20:.1f} MiB"
