"""Template filters for dates, times, money and numbers, in the contact's language and time zone.

`{{ event.properties.date | format_date }}` writes "5 Mar 2026" for an English contact and
"5 mar 2026" for an Italian one. The locale is the contact's `attributes.locale` ("it", "it_IT" or
"it-IT"), else English; a filter's `locale=` argument overrides it. Times are shown in the
contact's `timezone`, else UTC; `tz=` overrides it. The formats are Babel's (CLDR): "short",
"medium" (the default), "long", "full", or a CLDR pattern such as "d MMMM y".

Pure and deterministic: the output depends on the arguments, the contact and the installed CLDR
data only. Missing values (undefined or null) render as empty text, like any other lookup; a value
that is present but is not a date or a number is an error naming the filter and the value.
"""

from __future__ import annotations

import decimal
import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel.dates
import babel.numbers
from babel import Locale, UnknownLocaleError
from jinja2 import Undefined

DEFAULT_LOCALE = "en"
_WIDTHS = frozenset({"short", "medium", "long", "full"})
_CURRENCY = re.compile(r"[A-Z]{3}")
# Room for every digit of the numbers `_number` accepts (up to 10**100), so rounding is exact.
_WIDE = decimal.Context(prec=250)


class FilterError(ValueError):
    """A value a filter cannot format; the message names the filter and the value."""


@functools.lru_cache(maxsize=256)
def _locale(name: str) -> Locale | None:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_locale(contact: Any, override: Any = None) -> Locale:
    """The locale to write for this contact: `override`, else `attributes.locale`, else en."""
    for name in (override, _attribute(contact, "locale")):
        if isinstance(name, str) and name:
            found = _locale(name)
            if found is not None:
                return found
    fallback = _locale(DEFAULT_LOCALE)
    assert fallback is not None
    return fallback


def contact_zone(contact: Any, override: Any = None) -> ZoneInfo:
    """The time zone to show times in: `override`, else the contact's `timezone`, else UTC."""
    contact_tz = contact.get("timezone") if isinstance(contact, dict) else None
    for name in (override, contact_tz):
        if isinstance(name, str) and name:
            found = _zone(name)
            if found is not None:
                return found
    return ZoneInfo("UTC")


def _attribute(contact: Any, name: str) -> Any:
    if not isinstance(contact, dict):
        return None
    attributes = contact.get("attributes")
    return attributes.get(name) if isinstance(attributes, dict) else None


def _missing(value: Any) -> bool:
    return value is None or isinstance(value, Undefined)


def _instant(value: Any, filter_name: str) -> datetime | date:
    """A date (kept as a calendar date) or an aware datetime (naive ones are taken as UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise FilterError(
        f"{filter_name}: {_show(value)} is not a date; write it as 2026-03-05 or as an ISO 8601 "
        "time such as 2026-03-05T09:30:00Z"
    )


def _number(value: Any, filter_name: str) -> Decimal:
    """The value as a Decimal: floats through their shortest text, so 2.675 stays 2.675."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = Decimal("nan")
    else:
        number = Decimal("nan")
    if not number.is_finite():
        raise FilterError(f"{filter_name}: {_show(value)} is not a number")
    if number and abs(number.adjusted()) > 100:  # "1e999999999" would print a billion digits
        raise FilterError(f"{filter_name}: {_show(value)} is too large or too small to write")
    return number


def _round_half_up(number: Decimal, digits: int) -> Decimal:
    """Rounded the way people (and shop receipts) do: 2.5 -> 3; Babel alone would make it 2."""
    return number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _width(format: Any, filter_name: str) -> str:
    if not isinstance(format, str) or not format:
        raise FilterError(f"{filter_name}: the format must be short, medium, long, full or a "
                          f"CLDR pattern such as 'd MMMM y', not {_show(format)}")
    return format


def format_date(contact: Any, value: Any, format: Any = "medium", locale: Any = None,
                tz: Any = None) -> str:
    """A calendar day. A time is first moved into the contact's time zone: 23:30 UTC on the 5th
    is already the 6th in Rome."""
    if _missing(value):
        return ""
    when = _instant(value, "format_date")
    if isinstance(when, datetime):
        when = when.astimezone(contact_zone(contact, tz)).date()
    return str(babel.dates.format_date(when, _width(format, "format_date"),
                                       locale=contact_locale(contact, locale)))


def format_datetime(contact: Any, value: Any, format: Any = "medium", locale: Any = None,
                    tz: Any = None) -> str:
    """A moment, in the contact's time zone (a bare date is midnight there)."""
    if _missing(value):
        return ""
    when = _instant(value, "format_datetime")
    zone = contact_zone(contact, tz)
    moment = when if isinstance(when, datetime) else datetime.combine(when, time(), zone)
    return str(babel.dates.format_datetime(moment, _width(format, "format_datetime"), tzinfo=zone,
                                           locale=contact_locale(contact, locale)))


def format_time(contact: Any, value: Any, format: Any = "short", locale: Any = None,
                tz: Any = None) -> str:
    """The time of day of a moment, in the contact's time zone."""
    if _missing(value):
        return ""
    when = _instant(value, "format_time")
    if not isinstance(when, datetime):
        raise FilterError(f"format_time: {_show(value)} is a day without a time")
    zone = contact_zone(contact, tz)
    return str(babel.dates.format_time(when.astimezone(zone), _width(format, "format_time"),
                                       tzinfo=zone, locale=contact_locale(contact, locale)))


def format_money(contact: Any, value: Any, currency: Any = None, locale: Any = None) -> str:
    """An amount in a currency (an ISO 4217 code such as EUR), written the contact's way:
    "€1,234.50" in English, "1.234,50 €" in Italian."""
    if _missing(value):
        return ""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise FilterError("format_money: name the currency as a three-letter ISO code, e.g. "
                          f"format_money('EUR'); got {_show(currency)}")
    with decimal.localcontext(_WIDE):
        amount = _round_half_up(_number(value, "format_money"),
                                babel.numbers.get_currency_precision(currency))
        return str(babel.numbers.format_currency(amount, currency,
                                                 locale=contact_locale(contact, locale)))


def format_number(contact: Any, value: Any, decimals: Any = None, locale: Any = None) -> str:
    """A number with the contact's separators; `decimals` fixes the digits after the point."""
    if _missing(value):
        return ""
    number = _number(value, "format_number")
    chosen = contact_locale(contact, locale)
    if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool)
                                 or not 0 <= decimals <= 10):
        raise FilterError(f"format_number: decimals must be 0 to 10, not {_show(decimals)}")
    with decimal.localcontext(_WIDE):
        if decimals is None:
            return str(babel.numbers.format_decimal(number, locale=chosen))
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
        return str(babel.numbers.format_decimal(_round_half_up(number, decimals), pattern,
                                                locale=chosen))


def _explained(name: str, function: Callable[..., str]) -> Callable[..., str]:
    """Babel's own errors (a pattern field that needs a time, a bad argument) as FilterErrors."""

    @functools.wraps(function)
    def explained(contact: Any, value: Any, *args: Any, **kwargs: Any) -> str:
        try:
            return function(contact, value, *args, **kwargs)
        except FilterError:
            raise
        except (AttributeError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise FilterError(f"{name}: these arguments do not work ({exc})") from None

    return explained


_FILTERS: dict[str, Callable[..., str]] = {
    name: _explained(name, function) for name, function in (
        ("format_date", format_date),
        ("format_datetime", format_datetime),
        ("format_time", format_time),
        ("format_money", format_money),
        ("format_number", format_number),
    )
}


@functools.lru_cache(maxsize=8192)
def _remembered(name: str, kind: str, value: Any, args: tuple[Any, ...],
                kwargs: tuple[tuple[str, Any], ...], locale: Any, zone: Any) -> str:
    # The filters read nothing of the contact but these two fields.
    contact = {"attributes": {"locale": locale}, "timezone": zone}
    return _FILTERS[name](contact, value, *args, **dict(kwargs))


def _memoized(name: str) -> Callable[..., str]:
    """The filter, remembering recent answers: Babel takes ~50 µs to write a date, and a send
    to many contacts writes the same few dates in the same few locales again and again. The
    answer depends only on the key (the value's type too: True and 1 are equal keys otherwise)."""
    direct = _FILTERS[name]

    @functools.wraps(direct)
    def memoized(contact: Any, value: Any, *args: Any, **kwargs: Any) -> str:
        if value is None or isinstance(value, Undefined):
            return ""
        locale = zone = None
        if type(contact) is dict:
            zone = contact.get("timezone")
            attributes = contact.get("attributes")
            if type(attributes) is dict:
                locale = attributes.get("locale")
        named = tuple(sorted(kwargs.items())) if kwargs else ()
        try:
            return _remembered(name, type(value).__name__, value, args, named, locale, zone)
        except TypeError as exc:  # a list or a dict as the value or an argument: unhashable
            if "unhashable" not in str(exc):
                raise
            return direct(contact, value, *args, **kwargs)

    return memoized


# name -> function(contact, value, *args, **kwargs); the templating module hands each the
# contact of the render.
LOCALE_FILTERS: Mapping[str, Callable[..., str]] = {name: _memoized(name) for name in _FILTERS}
