"""The delivery policy over HTTP: the workspace's settings (caps, transactional topics, quiet
hours) and its suppression list. How the gate uses them: docs/policy.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from backend.api import Db, WorkspaceId, instant
from backend.api.errors import bad_request, json_body, not_found, read_json
from backend.api.paging import Paging, listing, paged, provide_page
from backend.store import policy as store
from flows.policy import CHANNELS, PolicyError, PolicySettings, parse_settings

MAX_ADDRESS_LENGTH = 320
MAX_REASON_LENGTH = 200
_SUPPRESSION_FIELDS = ("channel", "address", "reason")


def settings_out(settings: PolicySettings) -> dict[str, Any]:
    """Every field, defaults included, so a settings form always gets the same shape."""
    return {
        "caps": {channel: msgspec.to_builtins(cap) for channel, cap in settings.caps.items()},
        "transactional_topics": list(settings.transactional_topics),
        "quiet_hours": msgspec.to_builtins(settings.quiet_hours),
    }


def suppression_out(row: dict[str, Any]) -> dict[str, Any]:
    entry = store.suppression_out(row)
    return {**entry, "created_at": instant(entry["created_at"])}


def _channel(value: Any) -> str:
    if value not in CHANNELS:
        shown = msgspec.json.encode(value).decode()
        raise bad_request(f"'channel' must be one of {', '.join(CHANNELS)}; not {shown}.")
    return str(value)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("'address' must be the address to suppress (an e-mail address, a "
                          "phone number, a push token or a chat handle), as non-empty text.")
    if len(value.strip()) > MAX_ADDRESS_LENGTH:
        raise bad_request(f"'address' is too long (at most {MAX_ADDRESS_LENGTH} characters).")
    return value


def _parse_suppression(body: Any) -> tuple[str, str, str]:
    if not isinstance(body, dict):
        raise bad_request('Send the suppression as a JSON object: {"channel": "email", '
                          '"address": "x@example.com", "reason": "hard_bounce"}.')
    unknown = sorted(set(body) - set(_SUPPRESSION_FIELDS))
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}; a suppression has "
                          f"{', '.join(_SUPPRESSION_FIELDS)}.")
    reason = body.get("reason", "manual")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("'reason' must be non-empty text, e.g. hard_bounce, complaint or "
                          "manual (the default).")
    if len(reason) > MAX_REASON_LENGTH:
        raise bad_request(f"'reason' is too long (at most {MAX_REASON_LENGTH} characters).")
    if "channel" not in body or "address" not in body:
        raise bad_request("A suppression needs 'channel' and 'address'.")
    return _channel(body["channel"]), _address(body["address"]), reason.strip()


def _raw_address(request: Request[Any, Any, Any], channel: str) -> str | None:
    """The address as sent: routing merges repeated slashes, which push endpoints (URLs) have,
    so it is read from the raw path (its percent-escapes decoded) when the server gives one."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return None
    prefix = f"/api/suppressions/{channel}/".encode()
    path = raw.split(b"?", 1)[0]
    if not path.startswith(prefix):
        return None
    return unquote(path[len(prefix):].decode("utf-8", "replace"))


class PolicyController(Controller):
    path = "/api"
    tags = ["delivery policy"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/settings/policy")
    async def get_policy(self, db: Db, workspace: WorkspaceId) -> dict[str, Any]:
        return settings_out(await store.get_settings(db, workspace))

    @put("/settings/policy", operation_class=json_body(
        'The whole policy: {"caps": {"email": {"day": 2, "week": 5}}, '
        '"transactional_topics": ["receipts"], '
        '"quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Rome"}}'))
    async def put_policy(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise bad_request("Send the policy as a JSON object (an empty one {} removes every "
                              "cap and quiet hours).")
        try:
            settings = parse_settings(body)
        except PolicyError as exc:
            raise bad_request(f"The policy has a problem: {exc}") from None
        await store.put_settings(db, workspace, settings, datetime.now(UTC))
        return settings_out(settings)

    @get("/suppressions")
    async def list_suppressions(
        self,
        db: Db,
        workspace: WorkspaceId,
        page: Paging,
        channel: Annotated[str | None, Parameter(description="|".join(CHANNELS))] = None,
    ) -> dict[str, Any]:
        rows = await store.list_suppressions(
            db, workspace, page.keyset(), page.order(),
            _channel(channel) if channel is not None else None,
        )
        items, next_cursor = paged(rows, page, lambda row: int(row["id"]))
        return listing([suppression_out(row) for row in items], next_cursor)

    @post("/suppressions", status_code=HTTP_201_CREATED, operation_class=json_body(
        '{"channel": "email", "address": "x@example.com", "reason": "hard_bounce"}; '
        "201 when new, 200 when the address was already suppressed on that channel"))
    async def add_suppression(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId
    ) -> Response[dict[str, Any]]:
        channel, address, reason = _parse_suppression(await read_json(request))
        row, created = await store.add_suppression(db, workspace, channel, address, reason,
                                                   datetime.now(UTC))
        return Response(suppression_out(row),
                        status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @delete("/suppressions/{channel:str}/{address:path}", status_code=HTTP_204_NO_CONTENT)
    async def remove_suppression(
        self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId,
        channel: FromPath[str], address: FromPath[str],
    ) -> None:
        address = _raw_address(request, channel) or address.lstrip("/")
        if not await store.remove_suppression(db, workspace, _channel(channel),
                                              _address(address)):
            raise not_found(f"{address!r} is not suppressed on {channel}.")
