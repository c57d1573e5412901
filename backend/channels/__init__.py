"""Channel providers: real delivery of email, SMS, voice, chat and push behind one interface.

- `base`: `Provider` (`async send(OutgoingMessage) -> SendOutcome`), the outcomes `Accepted`,
  `Transient`, `Permanent`, and `Retrying` / `RetryPolicy` (backoff with jitter, same key).
- `config`: provider URLs (`CASTFLOW_EMAIL_URL=smtp://...`, docs/channels.md), `Secret`,
  `ChannelSettings` with its `source` and `redacted()` view, `resolve_channels` (environment >
  workspace > sandbox), `LinkSettings` (`CASTFLOW_PUBLIC_URL`, link signing key).
- `email` (SMTP), `http_providers` (Infobip, Twilio), `webhook`, `push` (Web Push, FCM),
  `sandbox`: the providers.
- `tracking`: signed click / open / unsubscribe tokens (pure).
- `delivery`: `ProviderSet` (one workspace) and `WorkspaceSender` (all of them), both the
  runtime's `Sender`.

Wiring into the worker (in place of `SandboxSender`):

    links = load_link_settings(var_dir=settings.var_dir)
    sender = WorkspaceSender(load_urls, links)  # load_urls(workspace) -> {channel: url}
    runtime = Runtime(db, queue, sender)
    ...
    await sender.aclose()  # on shutdown: closes SMTP connections and HTTP clients

`send` raises `DeliveryDeferred` when a message met only transient errors after its retries
(the job is tried again later); call `await sender.forget(workspace)` after a workspace's
channel settings change. Settings -> Channels: `resolve_channels(os.environ, stored_urls)`
gives each channel's `ChannelSettings` (`.redacted()` for the API); `parse_provider_url` checks
a URL before it is saved; `ProviderSet.send_one(sample_message(...))` sends a test message.
"""

from backend.channels.base import (
    Accepted,
    Permanent,
    Provider,
    Retrying,
    RetryPolicy,
    SendOutcome,
    Transient,
)
from backend.channels.config import (
    CHANNEL_NAMES,
    ChannelSettings,
    ChannelUrlError,
    LinkSettings,
    RedactedChannel,
    Secret,
    load_link_settings,
    parse_provider_url,
    redact_url,
    resolve_channel,
    resolve_channels,
)
from backend.channels.delivery import (
    DeliveryDeferred,
    ProviderSet,
    WorkspaceSender,
    build_provider,
    sample_message,
)
from backend.channels.email import SmtpProvider, build_email, key_from_message_id, message_id
from backend.channels.http_providers import InfobipProvider, TwilioProvider
from backend.channels.push import FcmProvider, PushRouter, WebPushProvider
from backend.channels.sandbox import SandboxProvider
from backend.channels.tracking import (
    BadToken,
    read_open_token,
    read_unsubscribe_token,
    sign_link,
    unsubscribe_token,
    verify_link,
)
from backend.channels.webhook import WebhookProvider, verify_signature

__all__ = [
    "CHANNEL_NAMES",
    "Accepted",
    "BadToken",
    "ChannelSettings",
    "ChannelUrlError",
    "DeliveryDeferred",
    "FcmProvider",
    "InfobipProvider",
    "LinkSettings",
    "Permanent",
    "Provider",
    "ProviderSet",
    "PushRouter",
    "RedactedChannel",
    "RetryPolicy",
    "Retrying",
    "SandboxProvider",
    "Secret",
    "SendOutcome",
    "SmtpProvider",
    "Transient",
    "TwilioProvider",
    "WebPushProvider",
    "WebhookProvider",
    "WorkspaceSender",
    "build_email",
    "build_provider",
    "key_from_message_id",
    "load_link_settings",
    "message_id",
    "parse_provider_url",
    "read_open_token",
    "read_unsubscribe_token",
    "redact_url",
    "resolve_channel",
    "resolve_channels",
    "sample_message",
    "sign_link",
    "unsubscribe_token",
    "verify_link",
    "verify_signature",
]
