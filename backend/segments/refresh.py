"""When memberships are re-evaluated, and for which segments: the entry points the API and the
worker call. Only the segments that depend on what changed are evaluated, for the contacts that
changed; time-window segments are swept in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from backend.db import Database
from backend.segments.membership import Refresh, refresh_contacts, refresh_segment
from backend.segments.store import definitions, workspaces_with_segments

REASON_PROFILE = "profile updated"
REASON_TIME = "time passed (periodic re-evaluation)"


async def after_contacts_changed(
    db: Database, workspace: int, keys: Sequence[str], now: datetime
) -> Refresh:
    defs = await definitions(db, workspace)
    return await refresh_contacts(db, defs, keys, defs.affected(contact=True), now,
                                  REASON_PROFILE)


async def after_events(
    db: Database, workspace: int, events: Iterable[tuple[str, str]], now: datetime
) -> Refresh:
    """`events`: (contact key, event name) pairs that were just stored."""
    by_name: dict[str, list[str]] = {}
    for contact, name in events:
        by_name.setdefault(name, []).append(contact)
    result = Refresh()
    if not by_name:
        return result
    defs = await definitions(db, workspace)
    for name, keys in by_name.items():
        segments = defs.affected(events=[name])
        if segments:
            result.add(await refresh_contacts(db, defs, keys, segments, now,
                                              f"event {name!r} received"))
    return result


async def after_segment_saved(
    db: Database, workspace: int, key: str, now: datetime, reason: str
) -> Refresh:
    """A segment was created or its rule changed: evaluate it, and the segments that include
    it, over every contact."""
    defs = await definitions(db, workspace)
    result = Refresh()
    for other_key, segment in defs.by_key.items():
        if key in defs.closure(other_key):
            result.add(await refresh_segment(db, defs, segment, now, reason))
    return result


async def time_based(db: Database, now: datetime) -> Refresh:
    """Re-evaluate, in bulk, every segment whose rule changes with the passing of time."""
    result = Refresh()
    for workspace in await workspaces_with_segments(db):
        defs = await definitions(db, workspace)
        for segment in defs.time_based():
            result.add(await refresh_segment(db, defs, segment, now, REASON_TIME))
    return result
