"""Settings -> Delivery rules and Suppressions: a daily e-mail cap of 1 and quiet hours set in the
app are kept across a reload and stored; an address suppressed in the app gets nothing (the
message is kept as refused, reason suppressed, and the contact's timeline says so); the cap
refuses a second e-mail the same day; the suppression lifted in the app lets the next one go.

The contacts, the event and the flow are this file's own; the policy and the suppressions are
put back as they were at the end, so the other tests in the session send as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from castflow_e2e import Castflow, shot, until

EVENT = "policy_e2e_ping"
ZONE = "Europe/Rome"
GONE = ("sent", "delivered")  # the sandbox provider took the message
ANN: dict[str, Any] = {"id": "policy-ann", "email": "ann.policy@example.com",
       "attributes": {"first_name": "Ann", "last_name": "Policy"},
       "consent": {"email": "opted_in"}}
BO: dict[str, Any] = {"id": "policy-bo", "email": "bo.policy@example.com",
      "attributes": {"first_name": "Bo", "last_name": "Policy"},
      "consent": {"email": "opted_in"}}
FLOW: dict[str, Any] = {
    "format": "castflow.flow/1", "name": "Policy e2e: ping mail",
    "settings": {"entry": "always"},
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "event", "event": EVENT}},
        {"id": "mail", "type": "send", "label": "Ping mail",
         "config": {"channel": "email", "topic": "news",
                    "content": {"email": {"subject": "Ping",
                                          "text": "Hi {{ contact.attributes.first_name }}"}}}},
    ],
    "edges": [{"from": "start", "to": "mail"}],
}


def _messages(api: httpx.Client, contact: str) -> list[dict[str, Any]]:
    answer = api.get("/api/messages", params={"contact": contact})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])  # newest first


def _ping(api: httpx.Client, contact: str) -> None:
    answer = api.post("/api/events", json={"contact": contact, "name": EVENT})
    assert answer.status_code == 202, answer.text


def _quiet_window() -> tuple[str, str]:
    """Whole hours two to five hours from now in Rome: quiet hours that do not hold this test's
    sends back, whatever the time it runs."""
    now = datetime.now(ZoneInfo(ZONE))
    start = (now + timedelta(hours=3)).strftime("%H:00")
    end = (now + timedelta(hours=5)).strftime("%H:00")
    return start, end


@pytest.fixture(scope="module")
def setup(castflow: Castflow) -> Iterator[dict[str, Any]]:
    with castflow.api() as api:
        assert api.post("/api/contacts", json=[ANN, BO]).status_code == 200
        flow = api.post("/api/flows/import", json=FLOW)
        assert flow.status_code == 201, flow.text
        flow_id = flow.json()["id"]
        assert api.post(f"/api/flows/{flow_id}/publish").status_code == 200
    yield {"flow": flow_id}
    with castflow.api() as api:  # back to a workspace without rules, for the other tests
        api.post(f"/api/flows/{flow_id}/pause")
        assert api.put("/api/settings/policy", json={}).status_code == 200
        for contact in (ANN, BO):
            api.delete(f"/api/suppressions/email/{contact['email']}")


def test_delivery_rules_are_kept_and_act(
    signed_in: Page, castflow: Castflow, setup: dict[str, Any]
) -> None:
    page = signed_in
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Flows", "Contacts", "Segments", "Templates", "Channels", "Delivery rules",
         "Suppressions"])
    nav.get_by_role("link", name="Delivery rules").click()
    expect(page.get_by_role("heading", name="Delivery rules", level=1)).to_be_visible()
    caps = page.get_by_role("region", name="Frequency caps")
    topics = page.get_by_role("region", name="Transactional topics")
    quiet = page.get_by_role("region", name="Quiet hours")
    save_state = page.get_by_role("status", name="Save state")

    # A new workspace: no caps, no quiet hours.
    expect(caps.get_by_label("Email per day")).to_have_value("")
    expect(quiet.get_by_label("Hold messages during quiet hours")).not_to_be_checked()
    expect(topics).to_contain_text("No transactional topics")

    # Obvious mistakes are caught in the page, naming the field.
    caps.get_by_label("Email per day").fill("3")
    caps.get_by_label("Email per week").fill("2")
    caps.get_by_label("SMS per day").fill("1.5")
    page.get_by_role("button", name="Save", exact=True).click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Email per week: 2 is lower than the daily cap (3)")
    expect(problems).to_contain_text('SMS per day: "1.5" is not a number of messages')
    expect(caps.get_by_label("Email per week")).to_have_attribute("aria-invalid", "true")
    shot(page, "80-policy-problems")

    # A daily cap of 1 on e-mail; quiet hours with a time zone the server does not know: its
    # refusal is shown as it is, and nothing is stored.
    caps.get_by_label("Email per day").fill("1")
    caps.get_by_label("Email per week").fill("")
    caps.get_by_label("SMS per day").fill("")
    topics.get_by_label("New topic").fill("receipts")
    topics.get_by_role("button", name="Add topic").click()
    expect(topics.get_by_role("list", name="Transactional topics")).to_contain_text("receipts")
    quiet.get_by_label("Hold messages during quiet hours").check()
    start, end = _quiet_window()
    quiet.get_by_label("From").fill(start)
    quiet.get_by_label("Until").fill(end)
    quiet.get_by_label("Time zone for contacts without one").fill("Nowhere/City")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "The policy has a problem: quiet_hours.timezone: unknown time zone 'Nowhere/City'.")
    expect(save_state).to_have_text("Unsaved changes")
    shot(page, "81-policy-refused")
    with castflow.api() as api:
        assert api.get("/api/settings/policy").json()["quiet_hours"] is None

    quiet.get_by_label("Time zone for contacts without one").fill(ZONE)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(save_state).to_have_text("Saved")
    expect(page.get_by_role("alert")).to_have_count(0)
    shot(page, "82-policy-saved")

    page.reload()
    expect(caps.get_by_label("Email per day")).to_have_value("1")
    expect(caps.get_by_label("Email per week")).to_have_value("")
    expect(quiet.get_by_label("Hold messages during quiet hours")).to_be_checked()
    expect(quiet.get_by_label("From")).to_have_value(start)
    expect(quiet.get_by_label("Until")).to_have_value(end)
    expect(quiet.get_by_label("Time zone for contacts without one")).to_have_value(ZONE)
    expect(topics.get_by_role("list", name="Transactional topics")).to_contain_text("receipts")
    expect(page.get_by_test_id("quiet-summary")).to_contain_text(f"wait until {end}")
    shot(page, "83-policy-reloaded")

    with castflow.api() as api:
        assert api.get("/api/settings/policy").json() == {
            "caps": {"email": {"day": 1}},
            "transactional_topics": ["receipts"],
            "quiet_hours": {"start": start, "end": end, "timezone": ZONE},
        }

    # Ann's address is suppressed in the app (typed in other case: e-mail ignores it).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Suppressions").click()
    expect(page.get_by_role("heading", name="Suppressions", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="No suppressed addresses")).to_be_visible()
    expect(page.get_by_text("stops every send to an address on its channel")).to_be_visible()
    shot(page, "84-suppressions-empty")
    form = page.get_by_role("region", name="Add an address")
    expect(form.get_by_role("combobox", name="Channel", exact=True)).to_have_value("email")
    form.get_by_label("Address").fill("Ann.Policy@Example.com")
    form.get_by_label("Reason").fill("asked_by_phone")
    form.get_by_role("button", name="Add to the list").click()
    table = page.get_by_role("table", name="Suppressed addresses")
    row = table.get_by_role("row").filter(has_text=ANN["email"])
    expect(row).to_contain_text("Email")
    expect(row).to_contain_text("asked by phone")
    expect(row).to_contain_text("just now")
    shot(page, "85-suppression-added")

    # The policy acts on live sends: Ann's e-mail is refused (suppressed); Bo gets one e-mail,
    # and a second one the same day is refused by the cap.
    with castflow.api() as api:
        _ping(api, ANN["id"])
        _ping(api, BO["id"])
        ann = until(lambda: _messages(api, ANN["id"]), "Ann's refused message")
        assert [(m["status"], m["reason"], m["to"]) for m in ann] == [
            ("refused", "suppressed", ANN["email"])]
        bo = until(lambda: [m for m in _messages(api, BO["id"]) if m["status"] in GONE],
                    "Bo's first e-mail")
        assert len(bo) == 1 and bo[0]["reason"] is None, bo
        _ping(api, BO["id"])
        bo = until(lambda: (lambda ms: ms if len(ms) == 2 else None)(_messages(api, BO["id"])),
                    "Bo's second message")
        assert (bo[0]["status"], bo[0]["reason"]) == ("refused", "capped"), bo

    # Ann's profile says why, in words, on the message.
    page.goto(f"/contacts/{ANN['id']}")
    timeline = page.get_by_role("list", name="Timeline, newest first")
    message = timeline.get_by_role("listitem").filter(has_text="Message").filter(
        has_text=ANN["email"])
    expect(message).to_contain_text("Not sent")
    expect(message).to_contain_text("suppress")
    message.scroll_into_view_if_needed()
    shot(page, "86-profile-suppressed")

    # Lifted in the app, after a confirmation: gone from the list, and Ann's next e-mail goes.
    page.goto("/settings/suppressions?channel=email")
    remove = page.get_by_role("button", name=f"Remove {ANN['email']} (Email)")
    remove.click()
    dialog = page.get_by_role("dialog", name="Remove this suppression?")
    expect(dialog).to_contain_text("will get Email messages again")
    shot(page, "87-suppression-remove-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(table.get_by_role("row").filter(has_text=ANN["email"])).to_have_count(1)
    remove.click()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text(f"{ANN['email']} is off the list")
    expect(page.get_by_role("heading", name="No suppressed Email addresses")).to_be_visible()
    shot(page, "88-suppression-removed")
    page.reload()
    expect(page.get_by_role("heading", name="No suppressed Email addresses")).to_be_visible()

    with castflow.api() as api:
        listed = api.get("/api/suppressions", params={"channel": "email"}).json()["items"]
        assert ANN["email"] not in [entry["address"] for entry in listed]
        _ping(api, ANN["id"])
        sent = until(lambda: [m for m in _messages(api, ANN["id"]) if m["status"] in GONE],
                      "Ann's e-mail once the suppression is lifted")
        assert sent[0]["to"] == ANN["email"]
