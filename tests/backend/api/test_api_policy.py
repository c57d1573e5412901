"""The delivery policy over HTTP, on SQLite and PostgreSQL: settings (checked, with clear 400s,
nothing stored lost), the suppression list (paged, add, remove), and the facts the gate loads
for a batch of contacts from what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_api_support import Api, running_api

from backend.store import policy as store
from flows.policy import Allow, Refuse, decide
from flows.timecalc import zone

POLICY = {"caps": {"email": {"day": 2, "week": 5}, "sms": {"week": 3}},
          "transactional_topics": ["receipts"],
          "quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Rome"}}


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


def workspace_of(api: Api) -> int:
    return int(api.sql("SELECT workspace FROM api_keys LIMIT 1")[0]["workspace"])


# --- settings -----------------------------------------------------------------------------------


async def test_a_new_workspace_has_no_caps_and_no_quiet_hours(api: Api) -> None:
    response = await api.client.get("/api/settings/policy")
    assert response.status_code == 200
    assert response.json() == {"caps": {}, "transactional_topics": [], "quiet_hours": None}


async def test_put_then_get_the_policy(api: Api) -> None:
    response = await api.client.put("/api/settings/policy", json=POLICY)
    assert response.status_code == 200, response.text
    assert response.json() == POLICY
    assert (await api.client.get("/api/settings/policy")).json() == POLICY
    # A PUT replaces the whole policy: {} removes everything.
    assert (await api.client.put("/api/settings/policy", json={})).json() == {
        "caps": {}, "transactional_topics": [], "quiet_hours": None}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"caps": {"fax": {"day": 1}}},
         "The policy has a problem: caps: 'fax' is not a channel; caps are set per channel: "
         "email, sms, push, voice, chat."),
        ({"caps": {"email": {"day": 0}}},
         "The policy has a problem: caps.email: Expected 'int' >= 1 (at day)."),
        ({"caps": {"email": {"day": 3, "week": 2}}},
         "The policy has a problem: caps.email: the week limit (2) is lower than the day limit "
         "(3); a week holds every day of it."),
        ({"quiet_hours": {"start": "21:00", "end": "21:00"}},
         "The policy has a problem: quiet_hours: 'start' and 'end' are the same time; quiet "
         "hours need a window, e.g. 21:00 to 08:00."),
        ({"quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Nowhere/City"}},
         "The policy has a problem: quiet_hours.timezone: unknown time zone 'Nowhere/City'."),
        ({"caps": {}, "frequency": 2},
         "The policy has a problem: Object contains unknown field 'frequency'."),
        ([], "Send the policy as a JSON object (an empty one {} removes every cap and quiet "
             "hours)."),
    ],
)
async def test_bad_policies_are_400_and_keep_the_stored_one(api: Api, body: Any,
                                                           error: str) -> None:
    await api.client.put("/api/settings/policy", json=POLICY)
    response = await api.client.put("/api/settings/policy", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert (await api.client.get("/api/settings/policy")).json() == POLICY


async def test_policy_body_must_be_json(api: Api) -> None:
    response = await api.client.put("/api/settings/policy", content=b"{caps")
    assert response.status_code == 400
    assert response.json()["error"].startswith("The request body is not valid JSON")


# --- suppressions -------------------------------------------------------------------------------


async def test_add_list_and_remove_suppressions(api: Api) -> None:
    added = await api.client.post("/api/suppressions", json={
        "channel": "email", "address": " Bounced@Example.COM ", "reason": "hard_bounce"})
    assert added.status_code == 201, added.text
    entry = added.json()
    assert {k: entry[k] for k in ("channel", "address", "reason")} == {
        "channel": "email", "address": "bounced@example.com", "reason": "hard_bounce"}
    assert entry["created_at"].endswith("Z")

    again = await api.client.post("/api/suppressions", json={
        "channel": "email", "address": "bounced@example.com", "reason": "complaint"})
    assert again.status_code == 200
    assert again.json() == {**entry, "reason": "complaint"}

    chat = await api.client.post("/api/suppressions", json={
        "channel": "chat", "address": "whatsapp:+393401234567"})
    assert chat.status_code == 201 and chat.json()["reason"] == "manual"
    push = await api.client.post("/api/suppressions", json={
        "channel": "push", "address": "https://push.example.com/send/abc"})
    assert push.status_code == 201

    listed = (await api.client.get("/api/suppressions")).json()
    assert [i["address"] for i in listed["items"]] == [
        "https://push.example.com/send/abc", "whatsapp:+393401234567", "bounced@example.com"]
    assert listed["next"] is None
    only_email = (await api.client.get("/api/suppressions?channel=email")).json()
    assert [i["address"] for i in only_email["items"]] == ["bounced@example.com"]

    for path in ("email/BOUNCED@example.com", "chat/whatsapp:+393401234567",
                 "push/https://push.example.com/send/abc"):
        removed = await api.client.delete(f"/api/suppressions/{path}")
        assert removed.status_code == 204, (path, removed.text)
    assert (await api.client.get("/api/suppressions")).json() == {"items": [], "next": None}
    gone = await api.client.delete("/api/suppressions/email/bounced@example.com")
    assert gone.status_code == 404
    assert gone.json() == {"error": "'bounced@example.com' is not suppressed on email."}


async def test_suppressions_are_paged(api: Api) -> None:
    for n in range(5):
        await api.client.post("/api/suppressions", json={"channel": "sms", "address": f"+39{n}"})
    first = (await api.client.get("/api/suppressions?limit=2")).json()
    assert [i["address"] for i in first["items"]] == ["+394", "+393"]
    second = (await api.client.get(f"/api/suppressions?limit=2&cursor={first['next']}")).json()
    assert [i["address"] for i in second["items"]] == ["+392", "+391"]
    third = (await api.client.get(f"/api/suppressions?limit=2&cursor={second['next']}")).json()
    assert [i["address"] for i in third["items"]] == ["+390"] and third["next"] is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"channel": "fax", "address": "x"},
         "'channel' must be one of email, sms, push, voice, chat; not \"fax\"."),
        ({"channel": "email", "address": "  "},
         "'address' must be the address to suppress (an e-mail address, a phone number, a push "
         "token or a chat handle), as non-empty text."),
        ({"channel": "email", "address": "x" * 321},
         "'address' is too long (at most 320 characters)."),
        ({"channel": "email"}, "A suppression needs 'channel' and 'address'."),
        ({"channel": "email", "address": "a@b.c", "why": "x"},
         "Unknown field 'why'; a suppression has channel, address, reason."),
        ({"channel": "email", "address": "a@b.c", "reason": 5},
         "'reason' must be non-empty text, e.g. hard_bounce, complaint or manual (the "
         "default)."),
        (["email", "a@b.c"],
         'Send the suppression as a JSON object: {"channel": "email", "address": '
         '"x@example.com", "reason": "hard_bounce"}.'),
    ],
)
async def test_bad_suppressions_are_400(api: Api, body: Any, error: str) -> None:
    response = await api.client.post("/api/suppressions", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert (await api.client.get("/api/suppressions")).json()["items"] == []


async def test_bad_list_and_delete_requests_are_400(api: Api) -> None:
    listed = await api.client.get("/api/suppressions?channel=fax")
    assert listed.status_code == 400
    assert (await api.client.get("/api/suppressions?limit=0")).status_code == 400
    removed = await api.client.delete("/api/suppressions/fax/x")
    assert removed.status_code == 400


async def test_policy_routes_need_authentication(api: Api) -> None:
    for method, url in (("GET", "/api/settings/policy"), ("PUT", "/api/settings/policy"),
                        ("GET", "/api/suppressions"), ("POST", "/api/suppressions"),
                        ("DELETE", "/api/suppressions/email/a@b.c")):
        response = await api.anonymous(method, url)
        assert response.status_code == 401, (method, url)


# --- facts for the gate, loaded from what is stored ---------------------------------------------


NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def insert_message(api: Api, workspace: int, key: str, contact: str, channel: str,
                   at: datetime, status: str = "sent", topic: str | None = None) -> None:
    api.sql(
        'INSERT INTO messages (workspace, key, contact, channel, "to", topic, content, status, '
        "created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        workspace, key, contact, channel, "x", topic, "{}", status, at, at,
    )


async def test_facts_count_recent_sends_of_every_flow_and_see_suppressions(api: Api) -> None:
    await api.client.put("/api/settings/policy", json=POLICY)
    await api.client.post("/api/suppressions", json={"channel": "email",
                                                     "address": "SUP@example.com"})
    ws = workspace_of(api)
    hours = timedelta(hours=1)
    insert_message(api, ws, "a", "c-1", "email", NOW - 3 * hours, topic="news")  # flow A
    insert_message(api, ws, "b", "c-1", "email", NOW - 2 * hours, topic="promos")  # flow B
    insert_message(api, ws, "c", "c-1", "email", NOW - 1 * hours, topic="receipts")
    insert_message(api, ws, "d", "c-1", "email", NOW - 1 * hours, status="refused")
    insert_message(api, ws, "e", "c-1", "email", NOW - 8 * 24 * hours)  # too old
    insert_message(api, ws, "f", "c-2", "email", NOW - 3 * hours)
    insert_message(api, ws, "g", "c-1", "push", NOW - 3 * hours)  # no push cap

    contacts = [{"id": "c-1", "email": "one@example.com"},
                {"id": "c-2", "email": "sup@example.com"}]
    policy = api.call(store.load_policy, api.db, ws)
    facts = api.call(store.load_facts, api.db, ws, policy, contacts, NOW)
    assert list(facts.sent_since("c-1", "email", NOW - 7 * 24 * hours)) == [
        NOW - 3 * hours, NOW - 2 * hours]
    assert list(facts.sent_since("c-2", "email", NOW - 7 * 24 * hours)) == [NOW - 3 * hours]
    assert list(facts.sent_since("c-1", "push", NOW - 7 * 24 * hours)) == []
    assert facts.is_suppressed("email", "sup@example.com")

    rome = zone("Europe/Rome")
    assert decide(policy, facts, contacts[0], "email", "news", NOW, rome) == Refuse(
        "capped", "one@example.com")
    assert decide(policy, facts, contacts[0], "email", "receipts", NOW, rome) == Allow(
        "one@example.com")
    assert decide(policy, facts, contacts[1], "email", "news", NOW, rome) == Refuse(
        "suppressed", "sup@example.com")


async def test_a_workspace_without_settings_loads_no_policy(api: Api) -> None:
    from flows.policy import NO_POLICY

    assert api.call(store.load_policy, api.db, workspace_of(api)) is NO_POLICY


async def test_contacts_take_topic_opt_outs_as_consent_entries(api: Api) -> None:
    """The shape of a topic opt-out: consent under "<channel>:<topic>", merged key by key."""
    first = await api.client.post("/api/contacts", json={
        "id": "c-1", "email": "ann@example.com",
        "consent": {"email": "opted_in", "email:newsletter": "opted_out"}})
    assert first.status_code == 200, first.text
    update = await api.client.post("/api/contacts", json={
        "id": "c-1", "consent": {"sms:promos": "opted_out"}})
    assert update.status_code == 200, update.text
    contact = (await api.client.get("/api/contacts/c-1")).json()
    assert contact["consent"] == {"email": "opted_in", "email:newsletter": "opted_out",
                                  "sms:promos": "opted_out"}
    ws = workspace_of(api)
    policy = api.call(store.load_policy, api.db, ws)
    facts = api.call(store.load_facts, api.db, ws, policy, [contact], NOW)
    assert decide(policy, facts, contact, "email", "newsletter", NOW, zone("UTC")) == Refuse(
        "topic_opt_out", "ann@example.com")
    assert decide(policy, facts, contact, "email", "receipts", NOW, zone("UTC")) == Allow(
        "ann@example.com")
