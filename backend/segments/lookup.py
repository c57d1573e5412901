"""Segment membership for the live runtime's steps, read from the membership table.

Steps are pure and synchronous: a `segment_filter` node or a schedule audience asks
`segments(key, data)` in the middle of a step, where no query can run. So the engine loads the
memberships of a batch's contacts up front, with the contacts themselves, and this lookup
answers from memory. The membership table is what the profile shows and what segment triggers
fire on, so a filter and a trigger never disagree about a contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.db import Database, any_of, list_param

CHUNK = 500


class Memberships:
    """Memberships of some contacts of one workspace, loaded for one batch."""

    def __init__(self, defined: Iterable[str] = (),
                 members: Mapping[str, Iterable[str]] | None = None) -> None:
        self.defined = frozenset(defined)
        self.members = {key: frozenset(keys) for key, keys in (members or {}).items()}

    @classmethod
    async def load(cls, db: Database, workspace: int, contacts: Iterable[str]) -> Memberships:
        rows = await db.fetch("SELECT key FROM segments WHERE workspace = {}", workspace)
        defined = [row["key"] for row in rows]
        keys = sorted(set(contacts))
        found: dict[str, set[str]] = {}
        for start in range(0, len(keys) if defined else 0, CHUNK):
            for row in await db.fetch(
                "SELECT m.contact, s.key FROM segment_members m JOIN segments s ON s.id = "
                f"m.segment WHERE m.workspace = {{}} AND {any_of(db, 'm.contact', 'text')}",
                workspace, list_param(db, keys[start:start + CHUNK]),
            ):
                found.setdefault(row["contact"], set()).add(row["key"])
        return cls(defined, found)

    def lookup(self, key: str, data: Mapping[str, Any]) -> bool:
        """The engine's `SegmentLookup`: is the contact of `data` in segment `key`?

        A segment deleted since the flow was published has no members."""
        contact = data.get("contact")
        contact_id = contact.get("id") if isinstance(contact, Mapping) else None
        if key not in self.defined:
            return False
        return key in self.members.get(str(contact_id), frozenset())
