"""Delivery report and inbound message webhooks: `POST /hooks/{provider}/{TOKEN}`.

TOKEN names the workspace and is its secret (backend/hook_auth.py); `GET /api/hooks` gives a
signed-in user the URLs to paste into each provider's console. Twilio's requests must carry a
valid `X-Twilio-Signature`, and the webhook provider's a `Castflow-Signature` when its URL has a
`secret`: anything else is 403. Providers retry, so everything here is idempotent: a report
moves a message's status only forward, a repeated STOP or bounce changes nothing more.
Answers are JSON counts (`updated`, `unchanged`, `unknown`, `ignored`, ...), or TwiML for
Twilio's incoming messages. The formats: docs/channels.md, "Delivery reports".
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_403_FORBIDDEN

from backend.api import Db, WorkspaceId
from backend.api.contacts import refresh_segments
from backend.api.errors import ApiError, bad_request
from backend.api.tracking import link_settings
from backend.channels.config import (
    CHANNEL_NAMES,
    ChannelUrlError,
    ProviderConfig,
    TwilioConfig,
    WebhookConfig,
    resolve_channel,
)
from backend.channels.webhook import SIGNATURE_HEADER
from backend.db import Database
from backend.hook_auth import (
    BadHookToken,
    hook_token,
    read_hook_token,
    twilio_signed,
    webhook_signed,
)
from backend.inbound import (
    EmailFeedback,
    InboundText,
    ReportError,
    StatusReport,
    consent_keyword,
    parse_email_feedback,
    parse_infobip,
    parse_twilio,
    parse_webhook,
)
from backend.settings import Settings
from backend.store import deliveries
from backend.store.channel_settings import ChannelSettingsError, readable_urls, settings_cipher
from backend.store.policy import add_suppression

PROVIDERS = ("infobip", "twilio", "webhook", "email")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

def forbidden(error: str) -> ApiError:
    return ApiError(HTTP_403_FORBIDDEN, error)


def _workspace(state: State, token: str) -> int:
    try:
        return read_hook_token(link_settings(state).signing_key, token)
    except BadHookToken:
        raise forbidden("This hook URL is not valid for any workspace: copy it again from "
                        "GET /api/hooks.") from None


async def _providers(state: State, db: Database, workspace: int) -> list[ProviderConfig]:
    """The provider configuration in force on each channel: the environment's, else the one
    saved in Settings -> Channels. A setting that cannot be read is left out (its channel
    cannot send, so it has nothing to report)."""
    settings: Settings = state.settings
    try:
        cipher = settings_cipher(os.environ, settings.var_dir)
    except ChannelSettingsError:
        stored: dict[str, str] = {}
    else:
        stored, _ = await readable_urls(db, cipher, workspace)
    found = []
    for channel in CHANNEL_NAMES:
        try:
            found.append(resolve_channel(channel, os.environ, stored.get(channel)).config)
        except ChannelUrlError:
            continue
    return found


class Tally:
    """What a batch of reports did, for the answer (providers log it; tests read it)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, what: str, count: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + count


async def _apply(state: State, db: Database, workspace: int, reports: list[StatusReport],
                 inbound: list[InboundText]) -> dict[str, int]:
    tally = Tally()
    now = datetime.now(UTC)
    for report in reports:
        if report.status is None:
            tally.add("ignored")
            continue
        tally.add(await deliveries.advance_status(
            db, report.status, now, key=report.key, provider_id=report.provider_id,
            workspace=workspace, reason=report.reason))
    for text in inbound:
        await _inbound(state, db, workspace, text, now, tally)
    return tally.counts


async def _inbound(state: State, db: Database, workspace: int, text: InboundText,
                   now: datetime, tally: Tally) -> None:
    """STOP and its variants opt the sender's contacts out of SMS, START / UNSTOP back in;
    other replies are not acted on (yet)."""
    wanted = consent_keyword(text.text)
    if text.channel != "sms" or wanted is None:
        tally.add("ignored")
        return
    keys = await deliveries.contacts_with_phone(db, workspace, text.sender)
    stored = await deliveries.set_consent(db, workspace, keys, {"sms": wanted}, now)
    if stored:
        await refresh_segments(state, db, workspace, keys)
    tally.add(wanted, len(stored))
    if not stored:
        tally.add("unknown")


async def _feedback(db: Database, workspace: int, items: list[EmailFeedback]) -> dict[str, int]:
    tally = Tally()
    now = datetime.now(UTC)
    for item in items:
        if item.kind == "soft_bounce":  # the next message may well arrive
            tally.add("ignored")
            continue
        reason = item.kind + (f": {item.reason}" if item.reason else "")
        _, new = await add_suppression(db, workspace, "email", item.address, reason, now)
        tally.add("suppressed" if new else "already_suppressed")
        if item.kind == "hard_bounce" and item.key is not None:
            tally.add(await deliveries.advance_status(db, "failed", now, key=item.key,
                                                      workspace=workspace, reason=reason))
    return tally.counts


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("Expected a form-encoded (application/x-www-form-urlencoded) "
                          "UTF-8 body") from None


def _public_url(state: State, request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return (link_settings(state).public_url + request.url.path
            + (f"?{query}" if query else ""))


class HookController(Controller):
    """Public: providers call these without a session; the token in the path authenticates."""

    path = "/hooks"
    include_in_schema = False

    @post("/infobip/{token:str}", status_code=HTTP_200_OK)
    async def infobip(self, token: FromPath[str], request: Request[Any, Any, Any], state: State,
                      db: Db) -> dict[str, int]:
        workspace = _workspace(state, token)
        try:
            reports, inbound = parse_infobip(await request.body())
        except ReportError as error:
            raise bad_request(str(error)) from None
        return await _apply(state, db, workspace, reports, inbound)

    @post("/twilio/{token:str}", status_code=HTTP_200_OK)
    async def twilio(self, token: FromPath[str], request: Request[Any, Any, Any], state: State,
                     db: Db) -> Response[Any]:
        workspace = _workspace(state, token)
        params = _form(await request.body())
        tokens = [config.auth_token.reveal() for config in await _providers(state, db, workspace)
                  if isinstance(config, TwilioConfig)]
        if not tokens:
            raise forbidden("No Twilio provider is set up for this workspace, so Twilio's "
                            "signature cannot be checked.")
        header = request.headers.get("X-Twilio-Signature", "")
        urls = {_public_url(state, request), str(request.url)}
        if not header or not twilio_signed(tokens, urls, params, header):
            raise forbidden("X-Twilio-Signature is missing or does not match this request.")
        fields = dict(params)
        try:
            parsed = parse_twilio(fields)
        except ReportError as error:
            raise bad_request(str(error)) from None
        if isinstance(parsed, InboundText):
            await _apply(state, db, workspace, [], [parsed])
            return Response(EMPTY_TWIML, media_type="text/xml")
        # Our own key, when the status callback URL carries it (`?message=KEY`), wins over
        # the SID: it works before the engine records provider ids.
        report = parsed
        if request.query_params.get("message"):
            report = StatusReport(parsed.status, key=request.query_params["message"],
                                  reason=parsed.reason)
        return Response(await _apply(state, db, workspace, [report], []))

    @post("/webhook/{token:str}", status_code=HTTP_200_OK)
    async def webhook(self, token: FromPath[str], request: Request[Any, Any, Any], state: State,
                      db: Db) -> dict[str, int]:
        workspace = _workspace(state, token)
        body = await request.body()
        secrets = [config.secret.reveal() for config in await _providers(state, db, workspace)
                   if isinstance(config, WebhookConfig) and config.secret is not None]
        if secrets and not webhook_signed(secrets, request.headers.get(SIGNATURE_HEADER, ""),
                                          body, time.time()):
            raise forbidden(f"{SIGNATURE_HEADER} is missing, stale or does not match the body "
                            "(sign it with the webhook provider's secret).")
        try:
            reports, inbound = parse_webhook(body)
        except ReportError as error:
            raise bad_request(str(error)) from None
        return await _apply(state, db, workspace, reports, inbound)

    @post("/email/{token:str}", status_code=HTTP_200_OK)
    async def email(self, token: FromPath[str], request: Request[Any, Any, Any], state: State,
                    db: Db) -> dict[str, int]:
        workspace = _workspace(state, token)
        try:
            items = parse_email_feedback(await request.body())
        except ReportError as error:
            raise bad_request(str(error)) from None
        return await _feedback(db, workspace, items)


@get("/api/hooks", tags=["channels"])
async def hook_urls(state: State, workspace: WorkspaceId) -> dict[str, str]:
    """The URLs to give each provider for its delivery reports and incoming messages (they
    carry this workspace's secret: treat them like passwords)."""
    links = link_settings(state)
    token = hook_token(links.signing_key, workspace)
    return {provider: f"{links.public_url}/hooks/{provider}/{token}" for provider in PROVIDERS}
