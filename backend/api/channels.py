"""Settings -> Channels: the provider each channel uses, where that comes from, and a test send.

- `GET /api/settings/channels` lists every channel: `channel`, `provider`, `source`
  (`environment` | `workspace` | `default`), `env_var`, `stored` (a workspace setting is
  saved, even if the environment overrides it), `redacted_url` (secrets masked; not for the
  sandbox), `settings` (the provider's non-secret parameters) and `problem` when a setting
  cannot be used. Never a secret: passwords, API keys and tokens are neither shown nor masked
  in `settings`, and the URL as saved is never answered.
- `PUT /api/settings/channels/{channel}` `{"url": "smtp://..."}` checks the URL
  (docs/channels.md) and saves it encrypted; a 400 names the bad part, without the secrets.
  When the environment sets the channel, the answer's `note` says the saved URL waits.
- `DELETE /api/settings/channels/{channel}` goes back to the environment or the sandbox.
- `POST /api/settings/channels/{channel}/test` `{"to": address}` sends a sample message through
  the provider in force now and answers what the provider said.

The worker notices changed settings within seconds (backend/store/channel_settings.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from backend.api import Db, WorkspaceId
from backend.api.errors import ApiError, bad_request, json_body, not_found, read_json
from backend.channels import (
    CHANNEL_NAMES,
    Accepted,
    ChannelSettings,
    ChannelUrlError,
    Permanent,
    ProviderSet,
    RetryPolicy,
    Secret,
    load_link_settings,
    parse_provider_url,
    resolve_channel,
    sample_message,
)
from backend.channels.config import env_name
from backend.settings import Settings
from backend.store import channel_settings as store

MAX_URL_LENGTH = 4000
MAX_ADDRESS_LENGTH = 500  # push endpoints are URLs
# A settings page waits for the answer: a short retry, a bounded wait.
TEST_RETRY = RetryPolicy(attempts=2, base=0.5, cap=2.0)
TEST_TIMEOUT_SECONDS = 30.0


def public_settings(config: Any) -> dict[str, Any]:
    """A provider configuration's parameters without its secrets (leaving them out, rather
    than masking them, says nothing about their length either)."""
    shown: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if isinstance(value, Secret):
            continue
        shown[item.name] = public_settings(value) if dataclasses.is_dataclass(value) else value
    return shown


def channel_out(
    channel: str, stored_url: str | None, stored: bool, problem: str | None
) -> dict[str, Any]:
    """One channel as the page shows it. `stored_url` is the decrypted workspace setting."""
    base: dict[str, Any] = {"channel": channel, "env_var": env_name(channel), "stored": stored}
    try:
        settings = resolve_channel(channel, os.environ, stored_url)
    except ChannelUrlError as error:  # an environment URL the server cannot use
        source = "environment" if os.environ.get(env_name(channel), "").strip() else "workspace"
        return {**base, "source": source, "provider": None, "settings": {},
                "problem": str(error)}
    answer = {**base, "source": settings.source, "provider": settings.provider,
              "settings": public_settings(settings.config)}
    if settings.provider != "sandbox":
        answer["redacted_url"] = settings.redacted().url
    if problem is not None and settings.source != "environment":
        answer["problem"] = problem
    return answer


def _cipher(request: Request[Any, Any, Any]) -> Fernet:
    settings: Settings = request.app.state.settings
    try:
        return store.settings_cipher(os.environ, settings.var_dir)
    except store.ChannelSettingsError as error:
        raise ApiError(503, f"Channel settings are unavailable: {error}.") from None


def _channel(channel: str) -> str:
    if channel not in CHANNEL_NAMES:
        raise not_found(f"There is no channel {channel!r}; channels are "
                        f"{', '.join(CHANNEL_NAMES)}.")
    return channel


async def _one(db: Db, cipher: Fernet, workspace: int, channel: str) -> dict[str, Any]:
    urls, problems = await store.readable_urls(db, cipher, workspace)
    return channel_out(channel, urls.get(channel), channel in urls or channel in problems,
                       problems.get(channel))


def _field(body: Any, name: str, example: str, most: int) -> str:
    if not isinstance(body, dict):
        raise bad_request(f'Send a JSON object: {{"{name}": "{example}"}}.')
    unknown = sorted(set(body) - {name})
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}; send only {name!r}.")
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{name}' is required, as non-empty text (e.g. {example!r}).")
    if len(value) > most:
        raise bad_request(f"'{name}' is too long (at most {most} characters).")
    return value.strip()


class ChannelController(Controller):
    path = "/api/settings/channels"
    tags = ["channels"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/")
    async def list_channels(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        urls, problems = await store.readable_urls(db, _cipher(request), workspace)
        items = [
            channel_out(c, urls.get(c), c in urls or c in problems, problems.get(c))
            for c in CHANNEL_NAMES
        ]
        return {"items": items, "next": None}

    @put("/{channel:str}", status_code=HTTP_200_OK, operation_class=json_body(
        '{"url": "smtp://user:pass@mail.example.com:587?from=news@example.com&starttls=1"} '
        "(every form: docs/channels.md)"))
    async def put_channel(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId,
        channel: FromPath[str],
    ) -> dict[str, Any]:
        channel = _channel(channel)
        url = _field(await read_json(request), "url", "sandbox:", MAX_URL_LENGTH)
        try:
            parse_provider_url(channel, url, where=f"the {channel} provider URL")
        except ChannelUrlError as error:
            raise bad_request(f"{error}.") from None
        cipher = _cipher(request)
        await store.put_url(db, cipher, workspace, channel, url, datetime.now(UTC))
        answer = await _one(db, cipher, workspace, channel)
        if answer["source"] == "environment":
            answer["note"] = (
                f"Saved, but {env_name(channel)} is set on the server and takes precedence: "
                "this setting applies once that variable is removed."
            )
        return answer

    @delete("/{channel:str}", status_code=HTTP_200_OK)
    async def delete_channel(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId,
        channel: FromPath[str],
    ) -> dict[str, Any]:
        channel = _channel(channel)
        await store.delete_url(db, workspace, channel)
        return await _one(db, _cipher(request), workspace, channel)

    @post("/{channel:str}/test", status_code=HTTP_200_OK, operation_class=json_body(
        '{"to": "you@example.com"}: the address the sample message goes to'))
    async def test_channel(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId,
        channel: FromPath[str],
    ) -> dict[str, Any]:
        channel = _channel(channel)
        to = _field(await read_json(request), "to", "you@example.com", MAX_ADDRESS_LENGTH)
        urls, problems = await store.readable_urls(db, _cipher(request), workspace)
        if channel in problems and not os.environ.get(env_name(channel), "").strip():
            raise ApiError(409, f"Cannot send: {problems[channel]}.")
        try:
            settings = resolve_channel(channel, os.environ, urls.get(channel))
        except ChannelUrlError as error:
            raise ApiError(409, f"Cannot send: {error}.") from None
        return await _send_test(request, workspace, settings, to)


async def _send_test(
    request: Request[Any, Any, Any], workspace: int, settings: ChannelSettings, to: str
) -> dict[str, Any]:
    app_settings: Settings = request.app.state.settings
    try:
        links = load_link_settings(os.environ, app_settings.var_dir)
    except ChannelUrlError as error:
        raise ApiError(503, f"Cannot send: {error}.") from None
    providers = ProviderSet.from_settings({settings.channel: settings}, links, policy=TEST_RETRY)
    message = sample_message(workspace, settings.channel, to, f"test:{uuid.uuid4().hex}")
    answer: dict[str, Any] = {"channel": settings.channel, "provider": settings.provider,
                              "source": settings.source, "to": to}
    try:
        outcome = await asyncio.wait_for(providers.send_one(message), TEST_TIMEOUT_SECONDS)
    except TimeoutError:
        return {**answer, "status": "failed",
                "error": f"the provider did not answer within {TEST_TIMEOUT_SECONDS:.0f} s"}
    finally:
        await providers.aclose()
    if isinstance(outcome, Accepted):
        return {**answer, "status": "accepted", "provider_id": outcome.provider_id}
    kind = "failed" if isinstance(outcome, Permanent) else "transient"
    return {**answer, "status": kind, "error": outcome.reason}
