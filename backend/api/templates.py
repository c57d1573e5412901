"""Reusable message templates, per channel and versioned, and their previews for a contact.

- `GET /api/templates` lists them (current content; `channel` filters), in pages.
- `POST /api/templates` `{"key", "name", "channel", "content"}` creates one at version 1.
- `GET /api/templates/{key}` gives the current content and every version, newest first.
- `PUT /api/templates/{key}` `{"name"?, "content"?}`: new content becomes a new version.
- `POST /api/templates/{key}/preview` `{"contact": id or object, "event"?, "vars"?, "content"?,
  "version"?}` renders it (or unsaved `content`) for a contact: the message as it would go out,
  with the SMS length and segments. `POST /api/templates/preview` does the same for a template not
  saved yet (`channel` and `content` in the body).

Content is per channel as in a send node (`email`: subject, text, html?; `sms`: text; `push`:
title, body, url?; `voice`, `chat`: text). Every field must compile: a 400 names the field that
does not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.api import Db, WorkspaceId, instant
from backend.api.contacts import parse_contact
from backend.api.errors import (
    bad_request,
    check_key,
    check_name,
    conflict,
    json_body,
    not_found,
    read_json,
)
from backend.api.paging import Paging, listing, paged, provide_page
from backend.db import Database
from backend.store import contacts as contact_store
from backend.store import templates as store
from flows.sms import sms_length
from flows.templating import Template, TemplateError, compile_template, render_message

MAX_KEY_LENGTH = 100
MAX_NAME_LENGTH = 200

# The fields of each channel's content: required, then optional (as in nodes/send.py).
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": (("subject", "text"), ("html",)),
    "sms": (("text",), ()),
    "push": (("title", "body"), ("url",)),
    "voice": (("text",), ()),
    "chat": (("text",), ()),
}
CHANNELS = tuple(FIELDS)


def _object(data: Any, shape: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_request(f"Send a JSON object: {shape}.")
    return data


def _only(data: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}: {what} has "
                          f"{', '.join(repr(a) for a in allowed)}.")


def _text(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{field}' must be text.")
    return value


def _check_channel(channel: Any) -> str:
    if channel not in FIELDS:
        shown = msgspec.json.encode(channel).decode() if channel is not None else "missing"
        raise bad_request(f"'channel' must be one of {', '.join(CHANNELS)}; it is {shown}.")
    return str(channel)


def compile_content(channel: str, content: Any) -> dict[str, Template]:
    """Each field of `content` compiled; a 400 names a missing, unknown or broken field."""
    required, optional = FIELDS[channel]
    if not isinstance(content, dict):
        raise bad_request(f"'content' must be an object with the {channel} message's fields: "
                          f"{', '.join(required + optional)}.")
    for field in required:
        if field not in content:
            raise bad_request(f"'content.{field}' is missing: a {channel} message needs "
                              f"{' and '.join(required)}.")
    compiled: dict[str, Template] = {}
    for field, source in content.items():
        if field not in required + optional:
            raise bad_request(f"'content.{field}' is not a field of a {channel} message; it has "
                              f"{', '.join(required + optional)}.")
        if source is None and field in optional:
            continue
        if not isinstance(source, str):
            raise bad_request(f"'content.{field}' must be text (a template).")
        try:
            compiled[field] = compile_template(source)
        except TemplateError as exc:
            raise bad_request(f"'content.{field}': {exc}.") from None
    return compiled


def _stored_content(compiled: dict[str, Template]) -> dict[str, str]:
    return {field: template.source for field, template in compiled.items()}


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": row["key"], "name": row["name"], "channel": row["channel"],
        "version": row["version"], "content": row["content"],
        "created_at": instant(row["created_at"]), "updated_at": instant(row["updated_at"]),
    }


def _version_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"number": row["number"], "content": row["content"],
            "created_at": instant(row["created_at"])}


async def _existing(db: Database, workspace: int, key: str) -> dict[str, Any]:
    row = await store.get(db, workspace, key)
    if row is None:
        raise not_found(f"There is no template with key {key!r}.")
    return row


# --- previews ------------------------------------------------------------------------------------

_PREVIEW_FIELDS = ("contact", "event", "vars", "content", "version", "channel")


async def _preview_contact(db: Database, workspace: int, given: Any) -> dict[str, Any]:
    if isinstance(given, str):
        found = await contact_store.load_contacts(db, workspace, [given])
        if given not in found:
            raise bad_request(f"'contact': there is no contact with id {given!r}.")
        return found[given]
    if isinstance(given, dict):
        return parse_contact(given, "'contact'")[1]
    raise bad_request("'contact' is missing: give a contact id, or a contact as an object "
                      '(e.g. {"id": "c-1", "attributes": {"first_name": "Bill"}}).')


def _optional_object(data: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = data.get(field)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"'{field}' must be an object.")
    return value


def render_preview(channel: str, fields: dict[str, Template], variables: dict[str, Any]
                   ) -> dict[str, Any]:
    """The rendered message, and for SMS its length; a 400 names a field that fails."""
    try:
        content = render_message(channel, fields, variables)
    except TemplateError:
        for field, template in fields.items():  # find the field, to name it
            try:
                template.render(variables)
            except TemplateError as exc:
                raise bad_request(f"'content.{field}': {exc}.") from None
        raise  # only the email's CSS inlining can fail after every field rendered
    out: dict[str, Any] = {"channel": channel, "content": content}
    if channel == "sms":
        out["sms"] = sms_length(content.get("text", "")).to_dict()
    return out


async def _preview(db: Database, workspace: int, data: dict[str, Any], channel: str,
                   content: Any) -> dict[str, Any]:
    fields = compile_content(channel, content)
    variables = {
        "contact": await _preview_contact(db, workspace, data.get("contact")),
        "event": _optional_object(data, "event"),
        "vars": _optional_object(data, "vars") or {},
    }
    try:
        return render_preview(channel, fields, variables)
    except TemplateError as exc:
        raise bad_request(f"'content.html': {exc}.") from None


class TemplateController(Controller):
    path = "/api/templates"
    tags = ["templates"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def list_templates(
        self, db: Db, workspace: WorkspaceId, page: Paging,
        channel: Annotated[str | None, Parameter(description="|".join(CHANNELS))] = None,
    ) -> dict[str, Any]:
        if channel is not None:
            _check_channel(channel)
        rows = await store.list_page(db, workspace, page.keyset("t.id"), page.order("t.id"),
                                     channel)
        items, next_cursor = paged(rows, page, lambda row: int(row["id"]))
        return listing([_out(row) for row in items], next_cursor)

    @post("/", status_code=HTTP_201_CREATED, operation_class=json_body(
        'A template: {"key": "welcome_sms", "name": "Welcome", "channel": "sms", '
        '"content": {"text": "Hi {{ contact.attributes.first_name }}!"}}'))
    async def create_template(self, request: Request[Any, Any, Any], db: Db,
                              workspace: WorkspaceId) -> dict[str, Any]:
        data = _object(await read_json(request), '{"key", "name", "channel", "content"}')
        _only(data, ("key", "name", "channel", "content"), "a template")
        key = check_key(_text(data, "key"), "name the template with a short key, e.g. "
                        "'welcome_sms'; send nodes refer to it by this key.", MAX_KEY_LENGTH)
        name = check_name(_text(data, "name") or key, MAX_NAME_LENGTH)
        channel = _check_channel(data.get("channel"))
        content = _stored_content(compile_content(channel, data.get("content")))
        try:
            row = await store.create(db, workspace, key, name, channel, content,
                                     datetime.now(UTC))
        except store.TemplateExists:
            raise conflict(f"A template with key {key!r} exists already; save a new version "
                           f"with PUT /api/templates/{key}.") from None
        except Exception as exc:  # a concurrent create of the same key
            if "unique" in str(exc).lower():
                raise conflict(f"A template with key {key!r} exists already.") from None
            raise
        return await self._detail(db, workspace, row)

    @post("/preview", status_code=HTTP_200_OK, operation_class=json_body(
        'A template not saved yet: {"channel", "content", "contact": id or object, '
        '"event"?, "vars"?}'))
    async def preview_unsaved(self, request: Request[Any, Any, Any], db: Db,
                              workspace: WorkspaceId) -> dict[str, Any]:
        data = _object(await read_json(request), '{"channel", "content", "contact"}')
        _only(data, _PREVIEW_FIELDS, "a preview")
        return await _preview(db, workspace, data, _check_channel(data.get("channel")),
                              data.get("content"))

    @get("/{key:str}")
    async def get_template(self, db: Db, workspace: WorkspaceId, key: FromPath[str]
                           ) -> dict[str, Any]:
        return await self._detail(db, workspace, await _existing(db, workspace, key))

    async def _detail(self, db: Database, workspace: int, row: dict[str, Any]
                      ) -> dict[str, Any]:
        history = await store.versions(db, int(row["id"]))
        return {**_out(row), "versions": [_version_out(v) for v in history]}

    @put("/{key:str}", status_code=HTTP_200_OK, operation_class=json_body(
        'Changes: {"name"?, "content"?}; new content becomes a new version'))
    async def save_template(self, request: Request[Any, Any, Any], db: Db,
                            workspace: WorkspaceId, key: FromPath[str]) -> dict[str, Any]:
        data = _object(await read_json(request), '{"name"?, "content"?}')
        _only(data, ("key", "name", "channel", "content"), "a template")
        current = await _existing(db, workspace, key)
        if data.get("key") not in (None, key):
            raise bad_request("A template's key cannot change (send nodes name it); create a "
                              "new template instead.")
        if data.get("channel") not in (None, current["channel"]):
            raise bad_request(f"A template's channel cannot change: {key!r} is a "
                              f"{current['channel']} template; create a new one instead.")
        name = _text(data, "name")
        if name is not None:
            check_name(name, MAX_NAME_LENGTH)
        content = None
        if "content" in data:
            content = _stored_content(compile_content(current["channel"], data["content"]))
        row = await store.save(db, workspace, key, name, content, datetime.now(UTC))
        if row is None:
            raise not_found(f"There is no template with key {key!r}.")
        return await self._detail(db, workspace, row)

    @post("/{key:str}/preview", status_code=HTTP_200_OK, operation_class=json_body(
        '{"contact": id or object, "event"?, "vars"?, "content"? (unsaved edits), '
        '"version"? (an earlier one)}'))
    async def preview(self, request: Request[Any, Any, Any], db: Db, workspace: WorkspaceId,
                      key: FromPath[str]) -> dict[str, Any]:
        data = _object(await read_json(request), '{"contact": id or object, "event"?, "vars"?}')
        _only(data, _PREVIEW_FIELDS, "a preview")
        current = await _existing(db, workspace, key)
        if data.get("channel") not in (None, current["channel"]):
            raise bad_request(f"{key!r} is a {current['channel']} template.")
        content, number = current["content"], current["version"]
        if data.get("content") is not None:
            content, number = data["content"], None  # unsaved edits: no version yet
        elif data.get("version") is not None:
            number = data["version"]
            if not isinstance(number, int) or isinstance(number, bool):
                raise bad_request("'version' must be a version number.")
            found = await store.version(db, int(current["id"]), number)
            if found is None:
                raise bad_request(f"Template {key!r} has no version {number}; it has 1 to "
                                  f"{current['version']}.")
            content = found["content"]
        result = await _preview(db, workspace, data, current["channel"], content)
        return {"key": key, "version": number, **result}
