"""Messages the flows sent or tried to send, newest first, filtered by contact, flow, channel
or status.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from backend.api import Db, WorkspaceId, instant
from backend.api.errors import bad_request, valid_id
from backend.api.paging import Paging, listing, paged, provide_page
from backend.store import messages as store


def message_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "contact": row["contact"], "flow": row["flow"], "node": row["node"],
        "channel": row["channel"], "to": row["to"], "topic": row["topic"],
        "content": row["content"], "status": row["status"], "reason": row["reason"],
        "provider_id": row["provider_id"],  # the provider's id for it: what its support asks for
        "created_at": instant(row["created_at"]), "updated_at": instant(row["updated_at"]),
    }


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise bad_request(f"'{name}' must be one of {', '.join(allowed)}; not {value!r}.")
    return value


def _flow_filter(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        flow_id = int(value)
    except ValueError:
        raise bad_request(f"'flow' must be a flow id (a whole number), not {value!r}.") from None
    return flow_id if valid_id(flow_id) else 0  # 0 matches nothing: an unknown flow


class MessageController(Controller):
    path = "/api/messages"
    tags = ["messages"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"page": Provide(provide_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def list_messages(
        self,
        db: Db,
        workspace: WorkspaceId,
        page: Paging,
        contact: Annotated[str | None, Parameter(description="A contact id")] = None,
        flow: Annotated[str | None, Parameter(description="A flow id")] = None,
        channel: Annotated[str | None, Parameter(description="|".join(store.CHANNELS))] = None,
        status: Annotated[str | None, Parameter(description="|".join(store.STATUSES))] = None,
    ) -> dict[str, Any]:
        which = store.MessageFilter(
            contact=contact, flow=_flow_filter(flow),
            channel=_one_of("channel", channel, store.CHANNELS),
            status=_one_of("status", status, store.STATUSES),
        )
        rows = await store.list_page(db, workspace, which, page.keyset(), page.order())
        items, next_cursor = paged(rows, page, lambda row: int(row["id"]))
        return listing([message_out(row) for row in items], next_cursor)
