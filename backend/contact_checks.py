"""The checks a contact's fields must pass before they are stored (backend policy, no I/O).

Shared by `POST /api/contacts` and the bulk import, so both refuse the same things with the
same words. Each problem carries a short code (for reports and tests) and a plain message.

Email addresses are checked for syntax only (no DNS) with `email-validator`; phone numbers must
be valid numbers in international form, checked with `phonenumbers`. Both checks are on the
import's hot path, so each has a fast path that gives the same answer as the library for the
common case (see `valid_email` and `valid_phone`) and asks the library for everything else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT

from flows.contacts import Contact
from flows.timecalc import TimeError, zone

# The widest value each stored column takes (PostgreSQL refuses longer ones).
MAX_LENGTHS: Final = {"id": 200, "email": 320, "phone": 32, "timezone": 64}
EMAIL_MAX_LENGTH: Final = 254  # RFC 5321, as email-validator counts it for ASCII addresses
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}\Z")


class ContactProblem(ValueError):
    """A field that cannot be stored: `code` names the kind, the message says what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@lru_cache(maxsize=4096)
def _domain_problem(domain: str) -> str | None:
    """Why email-validator refuses addresses at `domain`, or None; few domains, many rows."""
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def valid_email(value: str) -> str:
    """`value` if it is a syntactically valid email address, else ContactProblem `bad_email`.

    The fast path takes an ASCII dot-atom before the @ (which email-validator accepts as is)
    and asks the library about the domain once per distinct domain; anything else (quoted or
    international local parts, display names, ...) goes to the library whole.
    """
    local, at, domain = value.rpartition("@")
    if at and len(value) <= EMAIL_MAX_LENGTH and domain.isascii() and DOT_ATOM_TEXT.match(local):
        problem = _domain_problem(domain)
    else:
        try:
            validate_email(value, check_deliverability=False)
            problem = None
        except EmailNotValidError as exc:
            problem = str(exc)
    if problem is not None:
        raise ContactProblem("bad_email", f"email {value!r} is not a valid address: "
                                          f"{problem[:1].lower()}{problem[1:]}")
    return value


# phonenumbers' own validity test (is_valid_number) spends most of its time looking compiled
# patterns up again for every number; this is the same test with each region's patterns
# compiled once. tests/backend/test_contact_import.py holds it to the library's answers.
# Valid means: matches the general pattern and the pattern of at least one type (order does not
# matter for that, so the common types go first).
_TYPES = ("mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip",
          "personal_number", "pager", "uan", "voicemail")
_Desc = tuple[frozenset[int], "re.Pattern[str] | None"]


def _desc(desc: Any) -> _Desc | None:
    if desc is None:
        return None
    pattern = desc.national_number_pattern
    return frozenset(desc.possible_length), re.compile(pattern) if pattern else None


def _matches(national: str, desc: _Desc | None) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(national) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(national) is not None


@lru_cache(maxsize=512)
def _region_patterns(code: int, region: str) -> tuple[
        _Desc | None, tuple[_Desc | None, ...], re.Pattern[str] | None] | None:
    """(general pattern, one per number type, leading digits) of a region's numbers."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return None
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    types = (_desc(getattr(metadata, name)) for name in _TYPES)
    return (_desc(metadata.general_desc),
            tuple(desc for desc in types if desc is not None and desc[1] is not None), leading)


def _valid_in(national: str, patterns: Any) -> bool:
    general, types, _ = patterns
    if not _matches(national, general):
        return False
    size = len(national)
    for lengths, pattern in types:
        if (not lengths or size in lengths) and pattern.fullmatch(national) is not None:
            return True
    return False


def _valid_number(code: int, national: str) -> bool:
    """phonenumbers.is_valid_number for +<code><national>, read literally."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return False
    if len(regions) == 1:
        patterns = _region_patterns(code, regions[0])
        return patterns is not None and _valid_in(national, patterns)
    for region in regions:  # the region the number belongs to, as the library picks it
        patterns = _region_patterns(code, region)
        if patterns is None:
            continue
        leading = patterns[2]
        if leading is not None:
            if leading.match(national):
                return _valid_in(national, patterns)
        elif _valid_in(national, patterns):
            return True
    return False


def _valid_literal(value: str) -> bool:
    """Whether `+<country code><national number>` is a valid number, read as E.164 says."""
    digits = value[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:  # country codes are prefix-free
            national = digits[size:]
            return bool(national) and _valid_number(code, national)
    return False


def valid_phone(value: str) -> str:
    """The number in E.164 (`+393401234567`), else ContactProblem `bad_phone`.

    Spaces, dashes, dots, slashes and brackets between digits are dropped (spreadsheets write
    `+39 340 123 4567`); the number must start with `+` and the country code, and be a valid
    number for that country by phonenumbers' metadata.
    """
    compact = value if _E164.match(value) else _PHONE_SEPARATORS.sub("", value)
    if _E164.match(compact) and _valid_literal(compact):
        return compact
    if not compact.startswith("+"):
        raise ContactProblem("bad_phone", f"phone {value!r} must be in international form, "
                                          "starting with + and the country code "
                                          "(e.g. +393401234567)")
    try:  # the library's reading also drops a trunk prefix written by mistake (+44 0 20 ...)
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ContactProblem("bad_phone", f"phone {value!r} is not a valid phone number "
                                          "(E.164, e.g. +393401234567)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1024)
def _timezone_problem(name: str) -> str | None:
    try:
        zone(name)
    except TimeError as exc:
        return str(exc)
    return None


def check_timezone(name: str) -> None:
    problem = _timezone_problem(name)
    if problem is not None:
        raise ContactProblem("bad_timezone", f"{problem} (use an IANA name, e.g. Europe/Rome)")


def check_lengths(contact: Contact) -> None:
    values = (contact.id, contact.email, contact.phone, contact.timezone)
    for value, (field, longest) in zip(values, MAX_LENGTHS.items(), strict=True):
        if value is not None and len(value) > longest:
            raise ContactProblem("too_long",
                                 f"'{field}' is too long (at most {longest} characters)")


def check_addresses(contact: Contact) -> Contact:
    """The contact with its email checked and its phone checked and written in E.164."""
    if contact.email is not None:
        valid_email(contact.email)
    if contact.phone is not None:
        contact.phone = valid_phone(contact.phone)
    return contact


def check_contact(contact: Contact) -> Contact:
    """Every field check a typed contact needs before it is stored (the id is not empty, the
    time zone exists, values fit their columns, addresses are valid)."""
    if not contact.id:
        raise ContactProblem("missing_id", "the contact has an empty 'id'")
    if contact.timezone is not None:
        check_timezone(contact.timezone)
    check_addresses(contact)
    check_lengths(contact)
    return contact
