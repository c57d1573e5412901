"""The node catalogue for the canvas: each kind's label, ports and the JSON Schema of its config."""

from __future__ import annotations

from typing import Any

from litestar import get

from backend.api.paging import listing
from nodes import CATALOGUE


@get("/api/node-types", tags=["flows"])
async def node_types() -> dict[str, Any]:
    """Every node kind: type, label, description, ports, ports_from, is_trigger, schema."""
    return listing([kind.describe() for kind in CATALOGUE], None)
