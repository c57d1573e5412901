"""The HTTP API (Litestar): `backend.api.app.create_app(settings)` builds it (DESIGN.md, "HTTP
API"). Handlers name what they need by parameter name; these are the shared injected types, and
how answers write times.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from litestar.di import NamedDependency

from backend.db import Database
from flows.timecalc import format_instant

Db: TypeAlias = NamedDependency[Database]  # the connected database
WorkspaceId: TypeAlias = NamedDependency[int]  # the caller's workspace: every query is scoped


def instant(value: datetime | str | None) -> str | None:
    """A time as answers write it: UTC ISO 8601 with `Z`, like the simulation report."""
    return format_instant(value) if isinstance(value, datetime) else value
