"""Who may post delivery reports: the per-workspace hook token and the providers' signatures.
Pure functions, no I/O.

A hook URL is `{PUBLIC_URL}/hooks/{provider}/{TOKEN}`, TOKEN = `{workspace}.{MAC}` with MAC an
HMAC-SHA256 (cut to 128 bits, base64url) of the workspace id under the link signing key. The
token is the workspace's secret: Infobip and the email feedback carry no signature of their own;
Twilio and the webhook provider's reports are also checked against their signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from backend.channels.webhook import verify_signature

_PURPOSE = b"hook\x00"


class BadHookToken(ValueError):
    """The token in a hook URL was not made with this key."""


def _mac(key: bytes, workspace: int) -> str:
    digest = hmac.new(key, _PURPOSE + str(workspace).encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hook_token(key: bytes, workspace: int) -> str:
    return f"{workspace}.{_mac(key, workspace)}"


def read_hook_token(key: bytes, token: str) -> int:
    """The workspace a hook token names; raises BadHookToken for anything else."""
    number, dot, mac = token.partition(".")
    if not dot or not number.isdigit() or len(number) > 10:
        raise BadHookToken("malformed hook token")
    workspace = int(number)
    if not hmac.compare_digest(mac.encode(), _mac(key, workspace).encode()):
        raise BadHookToken("hook token has a bad signature")
    return workspace


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str] | Iterable[
        tuple[str, str]]) -> str:
    """Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, of the full
    URL followed by every POST parameter's name and value, sorted by name."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    data = url + "".join(name + value for name, value in sorted(pairs))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def twilio_signed(auth_tokens: Iterable[str], urls: Iterable[str],
                  params: list[tuple[str, str]], header: str) -> bool:
    """Whether `header` is Twilio's signature of these params at one of the URLs we may be
    reached at (the public URL, or the one the request came in on) with one of the tokens."""
    urls = list(urls)
    return any(hmac.compare_digest(twilio_signature(token, url, params), header)
               for token in auth_tokens for url in urls)


def webhook_signed(secrets: Iterable[str], header: str, body: bytes, now: float) -> bool:
    """A `Castflow-Signature` (as the webhook provider sends) made with one of the secrets."""
    return any(verify_signature(secret, header, body, now) for secret in secrets)
