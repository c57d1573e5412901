"""Bad input and how it is answered: always JSON that says what is wrong, never a traceback.

Every error body has the same shape: `{"error": "plain words", "detail": ...}`, and for flow
problems `{"error": ..., "problems": [{"message", "node"?, "edge"?}]}`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from litestar.types import ExceptionHandlersMap

from flows.document import explain
from flows.problems import FlowProblems, Problem

log = logging.getLogger("castflow.api")

T = TypeVar("T")

MAX_BODY_ITEMS = 10_000
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit serials; larger numbers name nothing


class ApiError(Exception):
    """An answer other than success, with the words the caller sees."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        detail: Any = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.problems = problems


def bad_request(error: str, detail: Any = None) -> ApiError:
    return ApiError(HTTP_400_BAD_REQUEST, error, detail=detail)


def not_found(error: str) -> ApiError:
    return ApiError(HTTP_404_NOT_FOUND, error)


def conflict(error: str) -> ApiError:
    return ApiError(HTTP_409_CONFLICT, error)


def flow_problems(error: str, problems: list[Problem]) -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, error, problems=problems)


def error_body(error: str, detail: Any = None, problems: list[Problem] | None = None) -> Any:
    body: dict[str, Any] = {"error": error}
    if detail is not None:
        body["detail"] = detail
    if problems is not None:
        body["problems"] = [msgspec.to_builtins(problem) for problem in problems]
    return body


# --- reading request bodies -------------------------------------------------------------------


async def read_json(request: Request[Any, Any, Any], *, optional: bool = False) -> Any:
    """The request body parsed as JSON, or a 400 saying why it is not JSON we can take.

    An empty body is an error, or None when the body is `optional`.
    """
    body = await request.body()
    if not body.strip():
        if optional:
            return None
        raise bad_request("The request body is empty: send JSON.")
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {_lower_first(str(exc))}.") \
            from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None
    if b"\\u0000" in body and _has_nul(data):
        # PostgreSQL cannot store it in text or JSON, and no real name or address holds one.
        raise bad_request("Text in the request may not contain the NUL character (\\u0000).")
    return data


def json_body(description: str) -> type[Operation]:
    """OpenAPI for a handler that reads its JSON body itself (to phrase its own errors)."""

    @dataclass
    class JsonBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=Schema())},
                description=description, required=True,
            )

    return JsonBodyOperation


def valid_id(value: int) -> bool:
    """Whether a number from a path or query could be a row id at all."""
    return 1 <= value <= MAX_ROW_ID


# What a key (of a segment or a template: what flows refer to them by) may look like.
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_key(key: str | None, missing: str, max_length: int) -> str:
    """A key as given, or a 400 saying what is wrong with it; `missing` says how to name one."""
    if not key:
        raise bad_request(f"'key' is missing: {missing}")
    if len(key) > max_length:
        raise bad_request(f"'key' is too long (at most {max_length} characters).")
    if not KEY_PATTERN.fullmatch(key):
        raise bad_request(f"'key' {key!r} may hold only letters, digits, '_', '.' and '-', "
                          "and starts with a letter or digit.")
    return key


def check_name(name: str, max_length: int) -> str:
    if not name.strip():
        raise bad_request("'name' is empty.")
    if len(name) > max_length:
        raise bad_request(f"'name' is too long (at most {max_length} characters).")
    return name


def convert(data: Any, type_: type[T], where: str) -> T:
    """`data` as `type_`, strictly (unknown keys are errors); a 400 naming `where` otherwise."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise bad_request(f"{where}: {explain(exc)}") from None


def items_of(data: Any, what: str) -> tuple[list[Any], bool]:
    """A body holding one object or an array of them: (the objects, whether it was an array)."""
    if isinstance(data, dict):
        return [data], False
    if isinstance(data, list):
        if len(data) > MAX_BODY_ITEMS:
            raise bad_request(f"At most {MAX_BODY_ITEMS} {what} per request; this one has "
                              f"{len(data)}. Send them in several requests.")
        return data, True
    raise bad_request(f"Send one {what[:-1]} as a JSON object, or several as a JSON array.")


def item_label(index: int, batch: bool) -> str:
    return f"Item {index}" if batch else "The body"


async def refuse_nul_characters(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: a NUL character in the path or the query names nothing we
    store (and PostgreSQL refuses to compare text with one)."""
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise bad_request(f"{key!r} may not contain the NUL character (%00).")
    if "\x00" in request.scope["path"]:
        raise bad_request("The address may not contain the NUL character (%00).")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- exception handlers -----------------------------------------------------------------------


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, headers=headers)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _answer(exc.status, error_body(exc.error, exc.detail, exc.problems))


def _flow_problems(_: Request[Any, Any, Any], exc: FlowProblems) -> Response[Any]:
    return _answer(HTTP_422_UNPROCESSABLE_ENTITY,
                   error_body("The flow has problems.", problems=exc.problems))


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's own checks (query and path parameters), phrased for people."""
    details = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key, message = item.get("key"), str(item.get("message", "")).replace("`", "'")
            source = item.get("source") or "request"
            details.append(f"{source} parameter {key!r}: {message}" if key else message)
    error = "; ".join(details) if details else str(exc.detail)
    return _answer(HTTP_400_BAD_REQUEST, error_body(f"Bad request: {error}."))


_PLAIN_WORDS = {
    401: "Sign in or send an API key (Authorization: Bearer ...).",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address.",
    413: "The request body is too large.",
}


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    error = str(exc.detail) if exc.detail else ""
    if not error or error == _default_phrase(exc.status_code):
        error = _PLAIN_WORDS.get(exc.status_code, error or "The request failed.")
    if exc.status_code == HTTP_405_METHOD_NOT_ALLOWED:
        error = f"{request.method} is not allowed here."
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("HTTP %s on %s %s: %s", exc.status_code, request.method, request.url.path,
                  exc.detail)
        error = "Something went wrong on the server; it has been logged."
    return _answer(exc.status_code, error_body(error), exc.headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _answer(HTTP_500_INTERNAL_SERVER_ERROR,
                   error_body("Something went wrong on the server; it has been logged."))


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    FlowProblems: _flow_problems,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
