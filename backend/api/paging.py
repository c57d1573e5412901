"""Lists in pages: `{"items": [...], "next": CURSOR or null}`, newest first.

Pages are keyset pages over a row id: the cursor is the (opaque, base64) id of the last item
given, and the next page starts below it, so items added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import Parameter

from backend.api.errors import bad_request, valid_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
_CURSOR_PREFIX = "id:"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    after: int | None = None  # the id of the last item of the previous page

    def keyset(self, column: str = "id") -> tuple[str, list[Any]]:
        """SQL to add to a WHERE clause (starting with AND), and its arguments."""
        if self.after is None:
            return "", []
        return f" AND {column} < {{}}", [self.after]

    def order(self, column: str = "id") -> str:
        """ORDER BY and LIMIT: one row more than the page, to know whether another follows."""
        return f" ORDER BY {column} DESC LIMIT {self.limit + 1}"


Paging: TypeAlias = NamedDependency[Page]  # a handler parameter `page: Paging` gets the page


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        value = int(text.removeprefix(_CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request(f"'cursor' {cursor!r} is not a cursor this list gave out; use the "
                          "'next' value of the previous page as it is.") from None
    if not valid_id(value):
        raise bad_request(f"'cursor' {cursor!r} is not a cursor this list gave out.")
    return value


def provide_page(
    limit: Annotated[str | None, Parameter(
        description=f"How many items (1 to {MAX_LIMIT}, default {DEFAULT_LIMIT})")] = None,
    cursor: Annotated[str | None, Parameter(
        description="The 'next' value of the previous page")] = None,
) -> Page:
    """The `limit` and `cursor` query parameters, checked (a Litestar dependency)."""
    size = DEFAULT_LIMIT
    if limit is not None:
        try:
            size = int(limit)
        except ValueError:
            raise bad_request(f"'limit' must be a whole number from 1 to {MAX_LIMIT}, "
                              f"not {limit!r}.") from None
        if not 1 <= size <= MAX_LIMIT:
            raise bad_request(f"'limit' must be from 1 to {MAX_LIMIT}, not {size}.")
    return Page(limit=size, after=decode_cursor(cursor) if cursor else None)


def paged(rows: Sequence[T], page: Page, id_of: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The rows of this page and the cursor of the next (None on the last page)."""
    items = list(rows[:page.limit])
    more = len(rows) > page.limit
    return items, (encode_cursor(id_of(items[-1])) if more and items else None)


def listing(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next": next_cursor}
