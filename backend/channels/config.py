"""Provider settings from URLs: parsing (strict, errors that never show a secret) and precedence.

Every channel is configured by one URL (docs/channels.md lists every form), from the environment
(`CASTFLOW_EMAIL_URL`, `CASTFLOW_SMS_URL`, `CASTFLOW_VOICE_URL`, `CASTFLOW_CHAT_URL`,
`CASTFLOW_PUSH_URL`), else from the workspace's settings, else the sandbox. Secrets (passwords,
API keys, tokens, webhook and VAPID keys) are wrapped in `Secret`, whose repr is `***`, and the
redacted view shown by the API masks them in the URL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

import msgspec
from py_vapid import Vapid

CHANNEL_NAMES: tuple[str, ...] = ("email", "sms", "voice", "chat", "push")
Source = Literal["environment", "workspace", "default"]
MASK = "***"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 10.0


class ChannelUrlError(ValueError):
    """A provider URL that cannot be used; the message names the bad part, never a secret."""


class Secret:
    """A credential: compares by value, prints as *** (repr, str, f-strings, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: Secret | None = None
    starttls: bool = False  # plain smtp://, upgraded only when asked
    implicit_tls: bool = False  # smtps://
    ca_file: str | None = None  # trust this CA (self-signed relays) instead of the system's
    timeout: float = DEFAULT_TIMEOUT
    track_opens: bool = True
    track_clicks: bool = True
    unsubscribe_mailto: str | None = None
    connections: int = 1  # SMTP connections kept open; sends spread over them


@dataclass(frozen=True)
class InfobipConfig:
    base_url: str
    api_key: Secret
    sender: str | None = None
    viber_sender: str | None = None
    language: str = "en"  # text-to-speech voice language
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class TwilioConfig:
    base_url: str
    account_sid: str
    auth_token: Secret
    sender: str
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class WebhookConfig:
    url: Secret  # the URL itself may carry a token in its path or query
    secret: Secret | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class WebPushConfig:
    vapid_private_key: Secret
    subject: str
    ttl: int = 86400
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class FcmConfig:
    project: str
    credentials: str  # path to the service-account JSON file
    endpoint: str = "https://fcm.googleapis.com"
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class WebPushAndFcmConfig:
    """Push to browsers and to apps: each token goes where its shape says."""

    webpush: WebPushConfig
    fcm: FcmConfig


@dataclass(frozen=True)
class SandboxConfig:
    pass


ProviderConfig = (
    SmtpConfig
    | InfobipConfig
    | TwilioConfig
    | WebhookConfig
    | WebPushConfig
    | FcmConfig
    | WebPushAndFcmConfig
    | SandboxConfig
)

# Which providers each channel can use, by URL scheme.
SCHEMES: dict[str, tuple[str, ...]] = {
    "email": ("smtp", "smtps", "sandbox"),
    "sms": ("infobip", "infobip+http", "twilio", "twilio+http", "webhook+https", "webhook+http",
            "sandbox"),
    "voice": ("infobip", "infobip+http", "webhook+https", "webhook+http", "sandbox"),
    "chat": ("infobip", "infobip+http", "twilio", "twilio+http", "webhook+https", "webhook+http",
             "sandbox"),
    "push": ("webpush", "fcm", "webhook+https", "webhook+http", "sandbox"),
}

# Query parameters whose values are secrets: masked in the redacted view.
SECRET_PARAMS = frozenset({"secret", "vapid_private_key"})


class RedactedChannel(msgspec.Struct, frozen=True):
    """What the API shows: where the setting comes from and the URL with secrets masked."""

    channel: str
    provider: str
    source: Source
    url: str


@dataclass(frozen=True)
class ChannelSettings:
    channel: str
    provider: str  # smtp, infobip, twilio, webhook, webpush, fcm, sandbox
    source: Source
    config: ProviderConfig
    url: str = field(repr=False)  # as given, secrets included: never shown

    def redacted(self) -> RedactedChannel:
        return RedactedChannel(self.channel, self.provider, self.source, redact_url(self.url))


class _Query:
    """The URL's query parameters, consumed one by one so leftovers can be reported."""

    def __init__(self, where: str, query: str) -> None:
        self.where = where
        self.values: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name in self.values:
                raise ChannelUrlError(f"{where}: parameter '{name}' is given twice")
            self.values[name] = value

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.values.pop(name, None)
        if value is None or value == "":
            if required:
                raise ChannelUrlError(f"{self.where}: parameter '{name}' is required")
            return default
        return value

    def secret(self, name: str, *, required: bool = False) -> Secret | None:
        value = self.text(name, required=required)
        return None if value is None else Secret(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.values.pop(name, None)
        if value is None:
            return default
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ChannelUrlError(f"{self.where}: parameter '{name}' must be 0 or 1, not {value!r}")

    def number(self, name: str, default: float) -> float:
        value = self.values.pop(name, None)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0 < number <= 3600:
            raise ChannelUrlError(
                f"{self.where}: parameter '{name}' must be a number of seconds, not {value!r}"
            )
        return number

    def done(self) -> None:
        if self.values:
            names = ", ".join(sorted(self.values))
            raise ChannelUrlError(f"{self.where}: unknown parameter(s): {names}")


def parse_provider_url(channel: str, url: str, where: str | None = None) -> ProviderConfig:
    """The provider configuration a URL describes. `where` names the setting in errors
    (default: the environment variable's name)."""
    where = where or env_name(channel)
    if channel not in SCHEMES:
        raise ChannelUrlError(f"unknown channel {channel!r}: one of {', '.join(CHANNEL_NAMES)}")
    url = url.strip()
    if channel == "push" and len(url.split()) > 1:
        return _push_pair(where, url.split())
    scheme, _, _ = url.partition(":")
    scheme = scheme.lower()
    if not url or ":" not in url:
        raise ChannelUrlError(f"{where}: not a provider URL (expected e.g. 'sandbox:')")
    if scheme not in SCHEMES[channel]:
        raise ChannelUrlError(
            f"{where}: '{scheme}' is not a provider for {channel}; "
            f"use one of {', '.join(SCHEMES[channel])}"
        )
    parts = urlsplit(url)
    query = _Query(where, parts.query)
    if parts.fragment:
        raise ChannelUrlError(f"{where}: a provider URL has no #fragment")
    config: ProviderConfig
    if scheme in ("smtp", "smtps"):
        config = _smtp(where, scheme, parts, query)
    elif scheme.startswith("infobip"):
        config = _infobip(where, scheme, parts, query)
    elif scheme.startswith("twilio"):
        config = _twilio(where, scheme, parts, query)
    elif scheme.startswith("webhook+"):
        config = _webhook(where, scheme, parts, query)
    elif scheme == "webpush":
        _no_authority(where, scheme, parts)
        config = WebPushConfig(
            vapid_private_key=_vapid_key(where, query.text("vapid_private_key", required=True)),
            subject=_subject(where, query.text("subject", required=True)),
            ttl=_count(where, query, "ttl", 86400, 2_419_200, least=0),  # Web Push: 28 days
            timeout=query.number("timeout", DEFAULT_TIMEOUT),
        )
    elif scheme == "fcm":
        _no_authority(where, scheme, parts)
        endpoint = query.text("endpoint", "https://fcm.googleapis.com") or ""
        if not endpoint.startswith(("https://", "http://")):
            raise ChannelUrlError(f"{where}: parameter 'endpoint' must be an http(s) URL")
        config = FcmConfig(
            project=_path_safe(where, "parameter 'project'", query.text("project", required=True)),
            credentials=query.text("credentials", required=True) or "",
            endpoint=endpoint.rstrip("/"),
            timeout=query.number("timeout", DEFAULT_TIMEOUT),
        )
    else:
        _no_authority(where, scheme, parts)
        config = SandboxConfig()
    query.done()
    return config


def _push_pair(where: str, urls: list[str]) -> WebPushAndFcmConfig:
    configs = [parse_provider_url("push", u, where) for u in urls]
    webpush = [c for c in configs if isinstance(c, WebPushConfig)]
    fcm = [c for c in configs if isinstance(c, FcmConfig)]
    if len(configs) != 2 or len(webpush) != 1 or len(fcm) != 1:
        raise ChannelUrlError(
            f"{where}: several push URLs must be one webpush: and one fcm:, "
            "separated by a space"
        )
    return WebPushAndFcmConfig(webpush[0], fcm[0])


def _host_port(where: str, parts: SplitResult, default_port: int | None) -> tuple[str, int | None]:
    host = parts.hostname
    if not host:
        raise ChannelUrlError(f"{where}: the host is missing")
    try:
        port = parts.port
    except ValueError:
        raise ChannelUrlError(f"{where}: the port must be a number from 1 to 65535") from None
    return host, port if port is not None else default_port


def _no_authority(where: str, scheme: str, parts: SplitResult) -> None:
    if parts.netloc or parts.path:
        raise ChannelUrlError(f"{where}: write '{scheme}:?parameters', with no host or path")


def _vapid_key(where: str, key: str | None) -> Secret:
    assert key is not None
    try:
        Vapid.from_string(private_key=key)
    except (ValueError, TypeError):
        raise ChannelUrlError(
            f"{where}: parameter 'vapid_private_key' is not a VAPID private key "
            "(base64url, raw 32 bytes or DER)"
        ) from None
    return Secret(key)


def _subject(where: str, subject: str | None) -> str:
    assert subject is not None
    if not subject.startswith(("mailto:", "https://")):
        raise ChannelUrlError(f"{where}: parameter 'subject' must be a mailto: or https: URL")
    return subject


def _smtp(where: str, scheme: str, parts: SplitResult, query: _Query) -> SmtpConfig:
    implicit = scheme == "smtps"
    starttls = query.flag("starttls", False)
    if implicit and starttls:
        raise ChannelUrlError(f"{where}: smtps:// is already TLS; drop 'starttls'")
    host, port = _host_port(where, parts, 465 if implicit else (587 if starttls else 25))
    if parts.path not in ("", "/"):
        raise ChannelUrlError(f"{where}: an SMTP URL has no path")
    username = parts.username
    password = parts.password
    if password is not None and not username:
        raise ChannelUrlError(f"{where}: a password needs a user name (smtp://user:pass@host)")
    sender = query.text("from", required=True) or ""
    address = parseaddr(sender)[1]
    if "@" not in address or not address.isascii() or any(c in address for c in " <>\r\n"):
        raise ChannelUrlError(f"{where}: parameter 'from' must be an email address")
    mailto = query.text("unsubscribe_mailto")
    if mailto is not None and (
        "@" not in mailto or not mailto.isascii() or any(c in mailto for c in " <>,?\r\n")
    ):
        raise ChannelUrlError(f"{where}: parameter 'unsubscribe_mailto' must be an email address")
    return SmtpConfig(
        host=host,
        port=port or 25,
        sender=sender,
        username=unquote(username) if username else None,
        password=Secret(unquote(password)) if password is not None else None,
        starttls=starttls,
        implicit_tls=implicit,
        ca_file=query.text("ca"),
        timeout=query.number("timeout", DEFAULT_TIMEOUT),
        track_opens=query.flag("track_opens", True),
        track_clicks=query.flag("track_clicks", True),
        unsubscribe_mailto=mailto,
        connections=_count(where, query, "connections", 1, 20),
    )


def _count(
    where: str, query: _Query, name: str, default: int, most: int, least: int = 1
) -> int:
    value = query.text(name)
    if value is None:
        return default
    if not value.isdigit() or not least <= int(value) <= most:
        raise ChannelUrlError(
            f"{where}: parameter '{name}' must be a whole number from {least} to {most}, "
            f"not {value!r}"
        )
    return int(value)


def _path_safe(where: str, name: str, value: str | None) -> str:
    """A value that goes into an API path: letters, digits, '-', '_' and '.' only."""
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value):
        raise ChannelUrlError(f"{where}: {name} may only hold letters, digits, '-', '_', '.'")
    return value


def _base_url(where: str, scheme: str, parts: SplitResult) -> str:
    host, port = _host_port(where, parts, None)
    if parts.path not in ("", "/"):
        raise ChannelUrlError(f"{where}: give the API host only, without a path")
    http = "http" if scheme.endswith("+http") else "https"
    netloc = f"[{host}]" if ":" in host else host
    return f"{http}://{netloc}" + (f":{port}" if port else "")


def _infobip(where: str, scheme: str, parts: SplitResult, query: _Query) -> InfobipConfig:
    key = parts.username
    if not key or parts.password is not None:
        raise ChannelUrlError(f"{where}: write the API key as infobip://APIKEY@BASE_HOST")
    return InfobipConfig(
        base_url=_base_url(where, scheme, parts),
        api_key=Secret(unquote(key)),
        sender=query.text("from"),
        viber_sender=query.text("viber_from"),
        language=query.text("language", "en") or "en",
        timeout=query.number("timeout", DEFAULT_TIMEOUT),
    )


def _twilio(where: str, scheme: str, parts: SplitResult, query: _Query) -> TwilioConfig:
    sid = parts.username
    token = parts.password
    if not sid or not token:
        raise ChannelUrlError(
            f"{where}: write the credentials as twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com"
        )
    return TwilioConfig(
        base_url=_base_url(where, scheme, parts),
        account_sid=_path_safe(where, "the account SID", unquote(sid)),
        auth_token=Secret(unquote(token)),
        sender=query.text("from", required=True) or "",
        timeout=query.number("timeout", DEFAULT_TIMEOUT),
    )


def _webhook(where: str, scheme: str, parts: SplitResult, query: _Query) -> WebhookConfig:
    _host_port(where, parts, None)
    if parts.username or parts.password:
        raise ChannelUrlError(f"{where}: put the webhook secret in '?secret=', not before the host")
    secret = query.secret("secret")
    timeout = query.number("timeout", DEFAULT_TIMEOUT)
    # Parameters other than ours belong to the receiver's URL.
    rest = urlencode(list(query.values.items()))
    query.values.clear()
    target = urlunsplit(
        (scheme.removeprefix("webhook+"), parts.netloc,
         parts.path or "/", rest, "")
    )
    return WebhookConfig(url=Secret(target), secret=secret, timeout=timeout)


def provider_name(config: ProviderConfig) -> str:
    return {
        SmtpConfig: "smtp",
        InfobipConfig: "infobip",
        TwilioConfig: "twilio",
        WebhookConfig: "webhook",
        WebPushConfig: "webpush",
        FcmConfig: "fcm",
        WebPushAndFcmConfig: "webpush+fcm",
        SandboxConfig: "sandbox",
    }[type(config)]


def redact_url(url: str) -> str:
    """The URL with its secrets masked: passwords, key-like user names (Infobip), secret
    parameters. A URL that does not parse is masked whole."""
    if len(url.split()) > 1:
        return " ".join(redact_url(part) for part in url.split())
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            if scheme.startswith("infobip"):
                user = MASK
            netloc = f"{user}{':' + MASK if colon else ''}@{hostport}"
        query = urlencode(
            [(k, MASK if k in SECRET_PARAMS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)],
            safe=":/@*",
        )
        path = parts.path
        if scheme.startswith("webhook+") and (path.strip("/") or query):
            # Receivers often put a token in the path: show the host only.
            path = "/" + MASK if path.strip("/") else path
        return urlunsplit((parts.scheme, netloc, path, query, ""))
    except ValueError:
        return MASK


def env_name(channel: str) -> str:
    return f"CASTFLOW_{channel.upper()}_URL"


def resolve_channel(
    channel: str, env: Mapping[str, str], workspace_url: str | None = None
) -> ChannelSettings:
    """The settings in force for `channel`: environment URL > workspace setting > sandbox."""
    env_url = (env.get(env_name(channel)) or "").strip()
    if env_url:
        url, source = env_url, "environment"
        where = env_name(channel)
    elif workspace_url and workspace_url.strip():
        url, source = workspace_url.strip(), "workspace"
        where = f"the workspace's {channel} provider"
    else:
        url, source, where = "sandbox:", "default", channel
    config = parse_provider_url(channel, url, where)
    return ChannelSettings(channel, provider_name(config), source, config, url)  # type: ignore[arg-type]


def resolve_channels(
    env: Mapping[str, str] | None = None, workspace_urls: Mapping[str, str] | None = None
) -> dict[str, ChannelSettings]:
    env = os.environ if env is None else env
    stored = workspace_urls or {}
    return {c: resolve_channel(c, env, stored.get(c)) for c in CHANNEL_NAMES}


@dataclass(frozen=True)
class LinkSettings:
    """Where recipients' links point (`CASTFLOW_PUBLIC_URL`) and the key that signs them."""

    public_url: str
    signing_key: bytes = field(repr=False)


def load_link_settings(env: Mapping[str, str] | None = None, var_dir: Path | None = None) -> (
    LinkSettings
):
    """`CASTFLOW_PUBLIC_URL` (default http://127.0.0.1:8000) and `CASTFLOW_SECRET_KEY`; without
    the latter, a random key kept in `var_dir/link-signing.key` (made on first use), so links
    in emails already sent stay valid across restarts."""
    env = os.environ if env is None else env
    public = (env.get("CASTFLOW_PUBLIC_URL") or DEFAULT_PUBLIC_URL).strip().rstrip("/")
    if not public.startswith(("http://", "https://")):
        raise ChannelUrlError("CASTFLOW_PUBLIC_URL must start with http:// or https://")
    key_text = env.get("CASTFLOW_SECRET_KEY")
    if key_text:
        if len(key_text) < 16:
            raise ChannelUrlError("CASTFLOW_SECRET_KEY must be at least 16 characters long")
        return LinkSettings(public, key_text.encode())
    if var_dir is None:
        raise ChannelUrlError("set CASTFLOW_SECRET_KEY (no var directory to keep a key in)")
    path = var_dir / "link-signing.key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together keep whichever key was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    key = path.read_text().strip()
    if not key:
        raise ChannelUrlError(f"{path} is empty: delete it to make a new link signing key")
    return LinkSettings(public, key.encode())


def quote_part(text: str) -> str:
    """Percent-encodes a user name or password for use in a provider URL."""
    return quote(text, safe="")
