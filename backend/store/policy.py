"""The delivery policy's data: a workspace's settings, its suppression list, and the facts the
gate needs for a batch of contacts (recent sends, suppressed addresses), loaded in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from backend.db import Database
from flows.policy import (
    CHANNELS,
    NO_POLICY,
    Policy,
    PolicySettings,
    RecordedFacts,
    address_for,
    compile_policy,
    normalize_address,
)

CHUNK = 500
# Messages that did not go out do not count towards caps.
_NOT_SENT = ("failed", "refused")


def _loads(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


# --- settings -----------------------------------------------------------------------------------


async def get_settings(db: Database, workspace: int) -> PolicySettings:
    """The workspace's settings; a workspace that never set any has no caps, no quiet hours."""
    rows = await db.fetch("SELECT settings FROM policy_settings WHERE workspace = {}", workspace)
    if not rows:
        return PolicySettings()
    return msgspec.convert(_loads(rows[0]["settings"]), PolicySettings)


async def put_settings(db: Database, workspace: int, settings: PolicySettings,
                       now: datetime) -> None:
    """Replace the workspace's settings (they were checked by flows.policy.parse_settings)."""
    document = msgspec.json.encode(settings).decode()
    async with db.write():
        await db.execute(
            "INSERT INTO policy_settings (workspace, settings, updated_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (workspace) DO UPDATE SET settings = excluded.settings, "
            "updated_at = excluded.updated_at",
            workspace, document, now,
        )


async def load_policy(db: Database, workspace: int) -> Policy:
    """The workspace's settings, compiled for the gate."""
    settings = await get_settings(db, workspace)
    if settings == PolicySettings():
        return NO_POLICY
    return compile_policy(settings)


# --- the suppression list -----------------------------------------------------------------------


def suppression_out(row: Mapping[str, Any]) -> dict[str, Any]:
    at = row["created_at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return {"channel": row["channel"], "address": row["address"], "reason": row["reason"],
            "created_at": at}


async def list_suppressions(db: Database, workspace: int, keyset: tuple[str, list[Any]],
                            order: str, channel: str | None = None) -> list[dict[str, Any]]:
    """A page of the list (newest first), as rows with their `id` for the cursor."""
    after, after_args = keyset
    where, args = ("", []) if channel is None else (" AND channel = {}", [channel])
    return await db.fetch(
        "SELECT id, channel, address, reason, created_at FROM suppressions "
        f"WHERE workspace = {{}}{where}{after}{order}",
        workspace, *args, *after_args,
    )


async def add_suppression(db: Database, workspace: int, channel: str, address: str,
                          reason: str, now: datetime) -> tuple[dict[str, Any], bool]:
    """Suppress an address on a channel: (the entry, whether it is new). Suppressing it again
    keeps the first entry and its time, and takes the latest reason."""
    address = normalize_address(channel, address)
    async with db.write():
        existing = await _find(db, workspace, channel, address)
        if existing:
            await db.execute("UPDATE suppressions SET reason = {} WHERE id = {}",
                             reason, existing["id"])
        else:
            await db.execute(
                "INSERT INTO suppressions (workspace, channel, address, reason, created_at) "
                "VALUES ({}, {}, {}, {}, {})", workspace, channel, address, reason, now,
            )
        row = await _find(db, workspace, channel, address)
    assert row is not None
    return row, existing is None


async def remove_suppression(db: Database, workspace: int, channel: str, address: str) -> bool:
    """Lift a suppression; False when the address was not suppressed on that channel."""
    address = normalize_address(channel, address)
    async with db.write():
        existing = await _find(db, workspace, channel, address)
        if existing is None:
            return False
        await db.execute("DELETE FROM suppressions WHERE id = {}", existing["id"])
    return True


async def _find(db: Database, workspace: int, channel: str, address: str
                ) -> dict[str, Any] | None:
    rows = await db.fetch(
        "SELECT id, channel, address, reason, created_at FROM suppressions "
        "WHERE workspace = {} AND channel = {} AND address = {}", workspace, channel, address,
    )
    return rows[0] if rows else None


# --- facts for a batch of runs ------------------------------------------------------------------


async def load_facts(db: Database, workspace: int, policy: Policy,
                     contacts: Iterable[Mapping[str, Any]], now: datetime) -> RecordedFacts:
    """What the gate needs about these contacts, in a few queries per 500 contacts: their
    suppressed addresses on every channel, and (when the policy has caps) the times of their
    non-transactional messages on capped channels within the longest window.

    A shell records the sends it makes while the batch runs into the result (`record`), so
    several sends in one batch count against each other."""
    contacts = list(contacts)
    facts = RecordedFacts()
    # Reading every contact's addresses costs more than asking whether there is anything to
    # find (an indexed probe), and many workspaces have no suppressions at all.
    if await db.fetch("SELECT 1 AS one FROM suppressions WHERE workspace = {} LIMIT 1",
                      workspace):
        addresses = {(channel, normalize_address(channel, to))
                     for contact in contacts for channel in CHANNELS
                     if (to := address_for(contact, channel)) is not None}
        for channel, address in await _suppressed(db, workspace, addresses):
            facts.suppress(channel, address)
    if policy.caps:
        since = now - max(cap.window for cap in policy.caps.values())
        keys = sorted({str(contact.get("id", "")) for contact in contacts})
        for row in await _recent_sends(db, workspace, keys, sorted(policy.caps), since,
                                       policy.transactional):
            at = row["created_at"]
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            facts.record(row["contact"], row["channel"], at)
    return facts


async def _suppressed(db: Database, workspace: int, wanted: set[tuple[str, str]]
                      ) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    addresses = sorted({address for _, address in wanted})
    for start in range(0, len(addresses), CHUNK):
        chunk = addresses[start:start + CHUNK]
        marks = ", ".join("{}" for _ in chunk)
        for row in await db.fetch(
            f"SELECT channel, address FROM suppressions WHERE workspace = {{}} "
            f"AND address IN ({marks})", workspace, *chunk,
        ):
            if (row["channel"], row["address"]) in wanted:
                found.append((row["channel"], row["address"]))
    return found


async def _recent_sends(db: Database, workspace: int, keys: Sequence[str],
                        channels: Sequence[str], since: datetime,
                        transactional: frozenset[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    channel_marks = ", ".join("{}" for _ in channels)
    skipped = ", ".join("{}" for _ in _NOT_SENT)
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start:start + CHUNK])
        marks = ", ".join("{}" for _ in chunk)
        found = await db.fetch(
            f"SELECT contact, channel, topic, created_at FROM messages WHERE workspace = {{}} "
            f"AND contact IN ({marks}) AND channel IN ({channel_marks}) "
            f"AND created_at > {{}} AND status NOT IN ({skipped}) ORDER BY created_at",
            workspace, *chunk, *channels, since, *_NOT_SENT,
        )
        rows += [row for row in found if row["topic"] not in transactional]
    return rows
