"""The Litestar application: the JSON API under /api, OpenAPI at /schema, and the web app.

The database and the queue live on `app.state` for the application's lifetime; handlers get the
database as the `db` dependency, the caller's workspace as `workspace`, and the queue as
`state.queue`.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath
from litestar.response import File

from backend.api.auth import (
    AuthController,
    CallerAuthentication,
    login_page,
    provide_caller,
    provide_workspace,
)
from backend.api.callbacks import HookController, hook_urls
from backend.api.channels import ChannelController
from backend.api.contacts import ContactController
from backend.api.errors import EXCEPTION_HANDLERS, refuse_nul_characters
from backend.api.events import EventController
from backend.api.flows import FlowController
from backend.api.imports import ImportController
from backend.api.messages import MessageController
from backend.api.node_types import node_types
from backend.api.policy import PolicyController
from backend.api.segments import SegmentController
from backend.api.templates import TemplateController
from backend.api.tracking import TRACKING_ROUTES
from backend.db import Database
from backend.settings import ROOT, Settings

if TYPE_CHECKING:
    from backend.runtime.queue import ArqQueue, Queue

MAX_BODY_BYTES = 32 * 1024 * 1024  # a batch of 10,000 contacts with attributes fits


def _provide_db(state: State) -> Database:
    db: Database = state.db
    return db


def api_router() -> Router:
    """Every /api route, behind authentication (except signing in)."""
    return Router(
        path="/",
        route_handlers=[AuthController, FlowController, ContactController, EventController,
                        MessageController, SegmentController, node_types, ImportController,
                        PolicyController,
                        ChannelController,
                        TemplateController, hook_urls],
        middleware=[DefineMiddleware(CallerAuthentication)],
        before_request=refuse_nul_characters,
        dependencies={
            "caller": Provide(provide_caller, sync_to_thread=False),
            "workspace": Provide(provide_workspace, sync_to_thread=False),
        },
    )


NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Castflow</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem;">
<h1>Castflow is running</h1>
<p>The web app is not built yet (<code>make run</code> builds it). Meanwhile:
<a href="/login">sign in</a>, or read the API at <a href="/schema">/schema</a>.</p>
</body></html>
"""


def page_routes(dist: Path) -> list[HTTPRouteHandler]:
    """The built web app (any unknown page is one of its deep links), else a sign-in page."""
    index = dist / "index.html"
    if not index.is_file():

        @get("/", media_type="text/html", include_in_schema=False)
        async def not_built() -> str:
            return NOT_BUILT_PAGE

        return [login_page, not_built]

    root = dist.resolve()

    def index_page() -> File:
        return File(index, content_disposition_type="inline", media_type="text/html",
                    headers={"Cache-Control": "no-cache"})

    @get("/", include_in_schema=False)
    async def web_app_root() -> File:
        return index_page()

    @get("/{path:path}", include_in_schema=False)
    async def web_app(path: FromPath[str]) -> File:
        relative = path.lstrip("/")
        if relative == "api" or relative.startswith("api/"):
            raise NotFoundException()  # an unknown API route is not a page
        candidate = (root / relative).resolve()
        if relative and candidate.is_file() and candidate.is_relative_to(root):
            immutable = relative.startswith("assets/")  # Vite names these by content hash
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            # Say the type: File would otherwise answer application/octet-stream for some.
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            return File(candidate, content_disposition_type="inline", media_type=media_type,
                        headers={"Cache-Control": cache})
        return index_page()  # a deep link: the web app routes it

    return [web_app_root, web_app]


async def _default_queue(settings: Settings) -> ArqQueue:
    """arq on REDIS_URL, or on the private Redis (started on first use, hence the thread)."""
    from backend.redis import redis_url
    from backend.runtime.queue import ArqQueue

    return ArqQueue(await asyncio.to_thread(redis_url, settings), settings.redis_prefix)


def create_app(settings: Settings, *, queue: Queue | None = None) -> Litestar:
    """The application; without `queue`, jobs go to arq on the settings' Redis."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        await db.start()
        try:
            app.state.db = db
            owned = await _default_queue(settings) if queue is None else None
            app.state.queue = queue if queue is not None else owned
            try:
                yield
            finally:
                if owned is not None:  # a queue handed in belongs to the caller
                    await owned.close()
        finally:
            await db.close()

    return Litestar(
        route_handlers=[api_router(), HookController, *TRACKING_ROUTES,
                        *page_routes(ROOT / "frontend" / "dist")],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        dependencies={"db": Provide(_provide_db, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(title="Castflow", version="1", path="/schema"),
        request_max_body_size=MAX_BODY_BYTES,
    )
