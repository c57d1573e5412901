"""Signed links for click tracking, open tracking and unsubscribing: pure functions, no I/O.

A token is `base64url(payload) "." base64url(mac)`: the payload is a small JSON array, the mac
an HMAC-SHA256 (cut to 128 bits) over a purpose label and the payload, so a click token cannot
be replayed as an unsubscribe token. Tokens carry what the endpoint needs (no database lookup to
verify) and never expire: people click on old emails.

The endpoints that read them (built elsewhere) live under the public base URL:
`{base}/t/click/{token}` (redirects to the signed URL), `{base}/t/open/{token}.gif` (the pixel)
and `{base}/unsubscribe/{token}` (GET: a page; POST: RFC 8058 one-click opt-out).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
from collections.abc import Callable
from typing import TypeVar

import msgspec

CLICK_PATH = "/t/click/"
OPEN_PATH = "/t/open/"
OPEN_SUFFIX = ".gif"
UNSUBSCRIBE_PATH = "/unsubscribe/"
MAC_BYTES = 16


class BadToken(ValueError):
    """The token was not made with this key for this purpose, or was altered or cut."""


class ClickLink(msgspec.Struct, frozen=True, array_like=True):
    url: str
    message: str  # the message key (run:node:step)


class OpenPixel(msgspec.Struct, frozen=True, array_like=True):
    message: str


class Unsubscribe(msgspec.Struct, frozen=True, array_like=True):
    workspace: int
    contact: str
    message: str
    topic: str | None = None


T = TypeVar("T", ClickLink, OpenPixel, Unsubscribe)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, payload: bytes) -> bytes:
    return hmac.new(key, purpose.encode() + b"\x00" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def _seal(key: bytes, purpose: str, claims: msgspec.Struct) -> str:
    payload = msgspec.json.encode(claims)
    return f"{_b64(payload)}.{_b64(_mac(key, purpose, payload))}"


def _open(key: bytes, purpose: str, token: str, kind: type[T]) -> T:
    body, dot, mac = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken(f"malformed {purpose} token") from None
    if not dot or not hmac.compare_digest(given, _mac(key, purpose, payload)):
        raise BadToken(f"{purpose} token has a bad signature")
    try:
        return msgspec.json.decode(payload, type=kind)
    except msgspec.DecodeError:
        raise BadToken(f"malformed {purpose} token") from None


def sign_link(key: bytes, url: str, message: str) -> str:
    """A click token: the endpoint redirects to `url` and records a click on `message`."""
    return _seal(key, "click", ClickLink(url, message))


def verify_link(key: bytes, token: str) -> ClickLink:
    """The link a click token was made for; raises BadToken for anything not signed by `key`."""
    return _open(key, "click", token, ClickLink)


def open_token(key: bytes, message: str) -> str:
    return _seal(key, "open", OpenPixel(message))


def read_open_token(key: bytes, token: str) -> OpenPixel:
    return _open(key, "open", token, OpenPixel)


def unsubscribe_token(
    key: bytes, *, workspace: int, contact: str, message: str, topic: str | None
) -> str:
    """Who unsubscribes, from which message and topic: the unsubscribe endpoint's argument."""
    return _seal(key, "unsubscribe", Unsubscribe(workspace, contact, message, topic))


def read_unsubscribe_token(key: bytes, token: str) -> Unsubscribe:
    return _open(key, "unsubscribe", token, Unsubscribe)


def click_url(base: str, key: bytes, url: str, message: str) -> str:
    return f"{base.rstrip('/')}{CLICK_PATH}{sign_link(key, url, message)}"


def open_url(base: str, key: bytes, message: str) -> str:
    return f"{base.rstrip('/')}{OPEN_PATH}{open_token(key, message)}{OPEN_SUFFIX}"


def unsubscribe_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"


# href="..." or href='...' inside an <a ...> tag; the URL group excludes its quote character.
_ANCHOR_HREF = re.compile(
    r"""(<a\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE | re.DOTALL
)


def rewrite_links(markup: str, rewrite: Callable[[str], str]) -> str:
    """`markup` with every http(s) link of an <a> tag passed through `rewrite`. Other links
    (mailto:, tel:, #anchors, template leftovers) stay as they are."""

    def replace(match: re.Match[str]) -> str:
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        url = html.unescape(raw).strip()
        if not url.lower().startswith(("http://", "https://")):
            return match.group(0)
        return f'{match.group(1)}"{html.escape(rewrite(url), quote=True)}"'

    return _ANCHOR_HREF.sub(replace, markup)


def add_pixel(markup: str, pixel_url: str) -> str:
    """`markup` with a 1x1 image at the end of its body (or at the very end without one)."""
    tag = (
        f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    closing = markup.lower().rfind("</body>")
    if closing < 0:
        return markup + tag
    return markup[:closing] + tag + markup[closing:]
