"""`POST /api/contacts/import`: contacts from a CSV or JSON-lines file, streamed.

The file is the raw request body (`Content-Type: text/csv` or `application/x-ndjson`), or the
`file` field of a multipart form (the web app's upload). The body is read as it arrives and
stored a batch at a time, so a file of any size goes through in bounded memory. The answer is
the import report (`backend.contact_import.ImportReport.to_json`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from litestar import Controller, Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK
from multipart import (  # type: ignore[import-untyped]
    MultipartSegment,
    ParserError,
    PushMultipartParser,
)

from backend.api import Db, WorkspaceId
from backend.api.contacts import refresh_segments
from backend.api.errors import ApiError, bad_request
from backend.contact_import import FORMATS, Format, ImportFileError, format_for_name
from backend.store.contacts import import_contacts

# The body streams (nothing holds it whole), so the cap only stops a runaway upload.
MAX_IMPORT_BYTES: Final = 8 * 1024**3
_CSV_TYPES: Final = frozenset({"text/csv", "application/csv", "text/x-csv",
                               "application/vnd.ms-excel", "text/tab-separated-values"})
_JSONL_TYPES: Final = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                                 "application/x-jsonl", "application/jsonlines",
                                 "application/x-jsonlines", "application/json-lines",
                                 "application/json"})
_HOW = ("Send the file as the body with Content-Type text/csv or application/x-ndjson, or as "
        "the 'file' field of a multipart/form-data form; ?format=csv|jsonl also says which.")


def format_for_type(media_type: str | None) -> Format | None:
    if media_type in _CSV_TYPES:
        return "csv"
    if media_type in _JSONL_TYPES:
        return "jsonl"
    return None


def _unsupported(what: str) -> ApiError:
    return ApiError(415, f"{what}. {_HOW}")


class _FormFile:
    """The `file` field of a multipart/form-data body, read as the body streams in."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: str) -> None:
        self._stream = stream
        self._parser = PushMultipartParser(boundary)
        self._events: deque[MultipartSegment | bytes | None] = deque()
        self._ended = False

    async def _event(self) -> MultipartSegment | bytes | bool | None:
        """The next parser event; False once the body has ended."""
        while not self._events:
            if self._ended:
                return False
            chunk = await anext(self._stream, b"")
            self._ended = not chunk
            try:
                self._events.extend(self._parser.parse(chunk))
            except ParserError as exc:
                raise bad_request(f"The form data cannot be read: {exc}.") from None
        return self._events.popleft()

    async def open(self) -> MultipartSegment:
        """Skip to the `file` field's headers."""
        while True:
            event = await self._event()
            if event is False:
                raise bad_request(f"The form has no 'file' field. {_HOW}")
            if isinstance(event, MultipartSegment) and event.name == "file":
                return event

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._event()
            if not isinstance(event, bytes):
                return  # the end of the field (None) or of the body (False)
            yield event


@dataclass
class _ImportOperation(Operation):
    """OpenAPI for the import: the handler streams its body itself."""

    def __post_init__(self) -> None:
        text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description="the file"))
        self.request_body = RequestBody(content={
            "text/csv": text, "application/x-ndjson": text,
            "multipart/form-data": OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, description="the file as the 'file' field")),
        }, description=_HOW, required=True)


class ImportController(Controller):
    path = "/api/contacts/import"
    tags = ["contacts"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", status_code=HTTP_200_OK, request_max_body_size=MAX_IMPORT_BYTES,
          operation_class=_ImportOperation,
          description="Import contacts from a CSV or JSON-lines file (docs/import.md): good "
                      "rows are stored, bad rows are listed with their line and why.")
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        workspace: WorkspaceId,
        file_format: Annotated[str | None, QueryParameter(
            name="format", description="csv or jsonl (default: from the Content-Type or, "
                                        "in a form, from the file name)")] = None,
    ) -> dict[str, Any]:
        if file_format is not None and file_format not in FORMATS:
            raise bad_request(f"format must be csv or jsonl, not {file_format!r}.")
        media_type, options = request.content_type
        chunks: AsyncIterator[bytes] = request.stream()
        fmt: Format | None = file_format  # type: ignore[assignment]  # checked just above
        if media_type == "multipart/form-data":
            boundary = options.get("boundary")
            if not boundary:
                raise bad_request("The multipart/form-data body has no boundary.")
            form = _FormFile(chunks, boundary)
            segment = await form.open()
            fmt = fmt or format_for_name(segment.filename or "") or \
                format_for_type(segment.content_type)
            if fmt is None:
                raise _unsupported(f"Cannot tell the format of {segment.filename or 'the file'!r}"
                                   " (name it .csv or .jsonl)")
            chunks = form.chunks()
        elif fmt is None:
            fmt = format_for_type(media_type)
            if fmt is None:
                raise _unsupported(f"Content-Type {media_type or '(none)'!r} is not a file "
                                   "format this takes")
        state = request.app.state

        async def on_stored(workspace: int, keys: list[str]) -> None:
            await refresh_segments(state, db, workspace, keys)  # as POST /api/contacts does

        try:
            report = await import_contacts(db, workspace, chunks, fmt, on_stored=on_stored)
        except ImportFileError as exc:
            raise bad_request(str(exc)) from None
        return report.to_json()
