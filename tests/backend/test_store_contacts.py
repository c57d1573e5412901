"""Contact upserts merge partial updates and timestamp consent changes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from backend.db import Database
from backend.store import contacts
from backend.tables import Workspace
from flows.contacts import Contact

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 9, tzinfo=UTC)


def parsed(raw: dict[str, object]) -> tuple[Contact, list[str]]:
    return msgspec.convert(raw, Contact), list(raw)


async def test_upsert_merges_and_timestamps_consent(database: Database) -> None:
    ws = (await Workspace.insert(Workspace(name="w", created_at=T0)).run())[0]["id"]
    await contacts.upsert(database, ws, [parsed({
        "id": "c-1", "email": "bill@example.com", "attributes": {"first_name": "Bill"},
        "consent": {"email": "opted_in"}, "timezone": "Europe/Rome"})], T0)
    await contacts.upsert(database, ws, [parsed({
        "id": "c-1", "phone": "+393401234567", "attributes": {"country": "IT"},
        "consent": {"email": "opted_out", "sms": "opted_in"}})], T1)
    got = (await contacts.load_contacts(database, ws, ["c-1", "nobody"]))
    assert list(got) == ["c-1"]
    assert got["c-1"] == {
        "id": "c-1", "email": "bill@example.com", "phone": "+393401234567",
        "timezone": "Europe/Rome", "attributes": {"first_name": "Bill", "country": "IT"},
        "consent": {"email": "opted_out", "sms": "opted_in"}, "preferences": {},
    }
    rows = await contacts.load_rows(database, ws, ["c-1"])
    changed = msgspec.json.decode(rows["c-1"]["consent_changed"]) if isinstance(
        rows["c-1"]["consent_changed"], str) else rows["c-1"]["consent_changed"]
    assert changed == {"email": T1.isoformat(), "sms": T1.isoformat()}


async def test_batch_upsert_of_many_contacts(database: Database) -> None:
    ws = (await Workspace.insert(Workspace(name="w", created_at=T0)).run())[0]["id"]
    batch = [parsed({"id": f"c-{n}", "attributes": {"n": n}}) for n in range(1200)]
    await contacts.upsert(database, ws, batch, T0)
    await contacts.upsert(database, ws, batch[:10], T1)
    loaded = await contacts.load_contacts(database, ws, [f"c-{n}" for n in range(1200)])
    assert len(loaded) == 1200
    assert loaded["c-1199"]["attributes"] == {"n": 1199}
