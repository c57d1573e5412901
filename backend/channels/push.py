"""Push: Web Push with VAPID (pywebpush) and Firebase Cloud Messaging HTTP v1.

Web Push: the contact's push token is the browser's subscription JSON (`{"endpoint": ...,
"keys": {"p256dh": ..., "auth": ...}}`); the payload, encrypted by pywebpush (aes128gcm), is
`{"title", "body", "url", "key"}` for the service worker to show. pywebpush is blocking, so
its call runs in a worker thread, on one `requests.Session` (connection reuse).

FCM: the push token is the app's registration token. An OAuth2 access token comes from the
service account's key: a JWT signed with it (RS256, PyJWT) is exchanged at the account's
`token_uri`, and the token is kept until a minute before it expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from backend.channels.base import Accepted, Permanent, SendOutcome, Transient, short_reason
from backend.channels.config import FcmConfig, WebPushConfig
from backend.channels.http_providers import (
    classify_failure,
    is_transient_status,
    json_or_none,
    new_client,
    transport_failure,
)
from backend.runtime.sender import OutgoingMessage

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TOKEN_MARGIN = 60.0  # renew an access token this many seconds before it expires


def push_payload(message: OutgoingMessage) -> dict[str, str]:
    content = message.content
    payload = {
        "title": str(content.get("title") or ""),
        "body": str(content.get("body") or ""),
        "key": message.key,
    }
    if content.get("url"):
        payload["url"] = str(content["url"])
    return payload


def parse_subscription(token: str) -> dict[str, Any] | None:
    """The Web Push subscription a push token holds, or None when it is not one."""
    try:
        data = json.loads(token)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str):
        return None
    keys = data.get("keys")
    if not isinstance(keys, dict) or not keys.get("p256dh") or not keys.get("auth"):
        return None
    if not data["endpoint"].startswith(("https://", "http://")):
        return None
    return data


class WebPushProvider:
    name = "webpush"

    def __init__(self, config: WebPushConfig) -> None:
        self.config = config
        self._vapid: Vapid | None = None
        self._session = requests.Session()

    def _key(self) -> Vapid:
        if self._vapid is None:
            self._vapid = Vapid.from_string(private_key=self.config.vapid_private_key.reveal())
        return self._vapid

    def _push(self, subscription: dict[str, Any], data: str) -> int:
        """The blocking part: encrypt, sign and POST; answers the push service's status."""
        try:
            response = webpush(
                subscription,
                data=data,
                vapid_private_key=self._key(),
                vapid_claims={"sub": self.config.subject},  # aud and exp are filled in
                ttl=self.config.ttl,
                timeout=self.config.timeout,
                requests_session=self._session,
            )
        except WebPushException as error:
            if error.response is None:
                raise
            return int(error.response.status_code)
        assert isinstance(response, requests.Response)
        return response.status_code

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        subscription = parse_subscription(message.to)
        if subscription is None:
            return Permanent("the push token is not a Web Push subscription (JSON with "
                             "endpoint and keys)")
        data = json.dumps(push_payload(message), separators=(",", ":"))
        host = urlsplit(subscription["endpoint"]).netloc
        try:
            status = await asyncio.to_thread(self._push, subscription, data)
        except requests.RequestException as error:
            return Transient(short_reason(f"push service {host} unreachable: {error}"))
        except (WebPushException, ValueError) as error:
            return Permanent(short_reason(f"Web Push: {error}"))
        if 200 <= status < 300:
            return Accepted(message.key)
        if status in (404, 410):
            return Permanent(f"HTTP {status}: the push subscription has expired or was removed")
        reason = f"HTTP {status} from push service {host}"
        return Transient(reason) if is_transient_status(status) else Permanent(reason)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._session.close)


class FcmProvider:
    name = "fcm"

    def __init__(
        self,
        config: FcmConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = client or new_client(config.timeout)
        self.clock = clock
        self.url = f"{config.endpoint}/v1/projects/{config.project}/messages:send"
        self._account: dict[str, str] | None = None
        self._token: tuple[str, float] | None = None  # (access token, expiry time)
        self._token_lock = asyncio.Lock()
        self.tokens_fetched = 0

    def _service_account(self) -> dict[str, str]:
        if self._account is None:
            path = Path(self.config.credentials)
            try:
                data = json.loads(path.read_text())
            except FileNotFoundError:
                raise CredentialsError(f"FCM credentials file {path} not found") from None
            except (OSError, ValueError) as error:
                raise CredentialsError(f"FCM credentials file {path}: {error}") from None
            needed = ("client_email", "private_key", "token_uri")
            if not isinstance(data, dict) or any(not data.get(k) for k in needed):
                raise CredentialsError(
                    f"FCM credentials file {path} is not a service-account key "
                    f"(needs {', '.join(needed)})"
                )
            self._account = data
        return self._account

    async def access_token(self) -> str | SendOutcome:
        """A valid OAuth2 access token (cached), or the outcome that explains why there is none."""
        async with self._token_lock:
            now = self.clock()
            if self._token is not None and now < self._token[1] - TOKEN_MARGIN:
                return self._token[0]
            try:
                account = self._service_account()
                assertion = jwt.encode(
                    {
                        "iss": account["client_email"],
                        "scope": FCM_SCOPE,
                        "aud": account["token_uri"],
                        "iat": int(now),
                        "exp": int(now) + 3600,
                    },
                    account["private_key"],
                    algorithm="RS256",
                )
            except CredentialsError as error:
                return Permanent(str(error))
            except (ValueError, jwt.PyJWTError) as error:
                return Permanent(short_reason(f"FCM credentials: bad private key ({error})"))
            try:
                response = await self.client.post(
                    account["token_uri"],
                    data={
                        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                        "assertion": assertion,
                    },
                )
            except httpx.TransportError as error:
                return transport_failure(error)
            data = json_or_none(response)
            if not response.is_success:
                reason = response.text
                if isinstance(data, dict):
                    reason = str(data.get("error_description") or data.get("error") or reason)
                return classify_failure(response, f"FCM token refused: {reason}")
            if not isinstance(data, dict) or not data.get("access_token"):
                return Transient("the token endpoint answered without an access token")
            self.tokens_fetched += 1
            token = str(data["access_token"])
            try:
                lifetime = float(data.get("expires_in", 3600))
            except (TypeError, ValueError):
                lifetime = 3600.0
            self._token = (token, now + lifetime)
            return token

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        if message.to.lstrip().startswith("{"):
            return Permanent("the push token is a Web Push subscription, not an FCM token")
        token = await self.access_token()
        if not isinstance(token, str):
            return token
        payload = push_payload(message)
        notification = {"title": payload["title"], "body": payload["body"]}
        body: dict[str, Any] = {
            "message": {
                "token": message.to,
                "notification": notification,
                "data": payload,  # for apps that draw their own notification
            }
        }
        if "url" in payload:
            body["message"]["webpush"] = {"fcm_options": {"link": payload["url"]}}
        try:
            response = await self.client.post(
                self.url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TransportError as error:
            return transport_failure(error)
        data = json_or_none(response)
        if response.is_success and isinstance(data, dict):
            return Accepted(str(data.get("name") or message.key))
        if response.status_code == 401:
            self._token = None  # revoked or expired early: fetch a new one on the retry
            return Transient("HTTP 401: FCM refused the access token; a new one will be used")
        return classify_failure(response, fcm_error(data, response.text))

    async def aclose(self) -> None:
        await self.client.aclose()


class CredentialsError(Exception):
    pass


def fcm_error(data: Any, fallback: str) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return fallback
    code = error.get("status") or ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            code = detail["errorCode"]
    return f"{code} {error.get('message', '')}".strip()


class PushRouter:
    """Web Push and FCM side by side: a subscription JSON goes to Web Push, any other token to
    FCM."""

    name = "push"

    def __init__(self, webpush: WebPushProvider, fcm: FcmProvider) -> None:
        self.webpush = webpush
        self.fcm = fcm

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        if message.to.lstrip().startswith("{"):
            return await self.webpush.send(message)
        return await self.fcm.send(message)

    async def aclose(self) -> None:
        await self.webpush.aclose()
        await self.fcm.aclose()
