"""Contacts in the app: the list with search and the segment filter, and a profile page with its
attributes, addresses, consent, segment memberships and a timeline that says in plain words why
a message did not go out.

The contacts are this file's own (team "people-e2e"); a small live flow sends them an SMS, which
the one who opted out of SMS does not get.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from castflow_e2e import Castflow, shot, until

TEAM = "people-e2e"
DASH = "\N{EN DASH}"  # "Contacts 1-50" is written with an en dash
PAT = {
    "id": "people-pat", "email": "pat.quinn@example.com", "phone": "+393471112233",
    "push_tokens": ["fcm:pat-phone"], "chat": {"telegram": "@patq"},
    "attributes": {"first_name": "Pat", "last_name": "Quinn", "team": TEAM, "plan": "pro"},
    "consent": {"email": "opted_in", "sms": "opted_in"},
    "preferences": {"offers": "email"}, "timezone": "Europe/Rome",
}
LEE = {"id": "people-lee", "email": "lee@example.com",
       "attributes": {"first_name": "Lee", "team": TEAM, "plan": "free"}}
FLOW = {
    "format": "castflow.flow/1", "name": "People e2e: plan news",
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "text", "type": "send",
         "config": {"channel": "sms",
                    "content": {"sms": {"text": "Hi {{ contact.attributes.first_name }}"}}}},
    ],
    "edges": [{"from": "start", "to": "text"}],
}


@pytest.fixture(scope="module")
def people(castflow: Castflow) -> dict[str, Any]:
    with castflow.api() as api:
        assert api.post("/api/contacts", json=[PAT, LEE]).status_code == 200
        # Pat opts out of SMS: the consent change is dated, and the SMS below is not sent.
        assert api.post("/api/contacts", json={"id": PAT["id"], "consent": {"sms": "opted_out"}}
                        ).status_code == 200
        answer = api.post("/api/events", json={
            "contact": PAT["id"], "name": "viewed_pricing", "properties": {"page": "/pricing"}})
        assert answer.status_code == 202, answer.text
        answer = api.post("/api/segments", json={
            "key": "pro-people-e2e", "name": "Pro plan (e2e)",
            "rule": {"and": [{"==": [{"var": "contact.attributes.team"}, TEAM]},
                             {"==": [{"var": "contact.attributes.plan"}, "pro"]}]},
        })
        assert answer.status_code == 201, answer.text
        flow = api.post("/api/flows/import", json=FLOW)
        assert flow.status_code == 201, flow.text
        flow_id = flow.json()["id"]
        assert api.post(f"/api/flows/{flow_id}/publish").status_code == 200
        answer = api.post(f"/api/flows/{flow_id}/enrol", json={"contacts": [PAT["id"]]})
        assert answer.status_code in (200, 202), answer.text

        def ready() -> bool:
            pat = api.get(f"/api/contacts/{PAT['id']}").json()
            runs = pat["timeline"]["runs"]
            return bool(pat.get("segments")) and bool(pat["timeline"]["events"]) and bool(
                runs and runs[0]["status"] in ("completed", "exited"))

        until(ready, "Pat's segment membership, event and finished run")
    return {"flow": flow_id}


def test_profile_shows_the_whole_customer(signed_in: Page, people: dict[str, Any]) -> None:
    page = signed_in
    page.goto(f"/contacts/{PAT['id']}")
    expect(page.get_by_role("heading", name="Pat Quinn", level=1)).to_be_visible()

    attributes = page.get_by_role("definition").filter(has_text="pro")
    expect(attributes.first).to_be_visible()
    expect(page.get_by_role("region", name="Attributes")).to_contain_text("plan")
    addresses = page.get_by_role("region", name="Addresses")
    for text in ("pat.quinn@example.com", "+393471112233", "fcm:pat-phone", "@patq", "Europe/Rome"):
        expect(addresses).to_contain_text(text)

    consent = page.get_by_role("table", name="Consent per channel")
    expect(consent.get_by_role("row", name="SMS")).to_contain_text("Opted out")
    expect(consent.get_by_role("row", name="SMS")).to_contain_text("since")
    expect(consent.get_by_role("row", name="Email")).to_contain_text("Opted in")
    expect(consent.get_by_role("row", name="Push notification")).to_contain_text("Not asked")
    expect(page.get_by_role("region", name="Topic preferences")).to_contain_text("Email")

    memberships = page.get_by_role("list", name="Segment memberships")
    entry = memberships.get_by_role("listitem").filter(has_text="Pro plan (e2e)")
    expect(entry).to_contain_text("since")

    timeline = page.get_by_role("list", name="Timeline, newest first")
    expect(timeline.get_by_role("listitem").filter(has_text="viewed_pricing")).to_be_visible()
    run = timeline.locator("li.tl-run").filter(has_text="People e2e: plan news")
    # Why Pat did not get the SMS, in words, on the run itself...
    expect(run).to_contain_text('Not sent at "text": the contact has opted out of SMS')
    # ...and on the refused message, which says where it came from.
    message = timeline.locator("li.tl-message").filter(has_text="People e2e: plan news")
    expect(message).to_contain_text('from People e2e: plan news, step "text"')
    expect(message).to_contain_text("Not sent: the contact has opted out of SMS")
    run.get_by_text("Path:").click()
    expect(run.get_by_role("listitem").filter(has_text="text → failed")).to_be_visible()
    shot(page, "60-profile")

    show = page.get_by_role("group", name="Show in the timeline")
    show.get_by_role("button", name="Events").click()
    runs = timeline.get_by_role("listitem").filter(has_text="People e2e: plan news")
    expect(runs).to_have_count(0)
    expect(timeline.get_by_role("listitem").filter(has_text="viewed_pricing")).to_be_visible()


def test_contacts_page_searches_and_filters_by_segment(
    signed_in: Page, people: dict[str, Any]
) -> None:
    page = signed_in
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Contacts")
    expect(table.get_by_role("row")).not_to_have_count(0)

    page.get_by_role("searchbox", name="Search contacts").fill("people-")
    expect(table.get_by_role("link")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]q=people-"))
    page.get_by_role("searchbox", name="Search contacts").fill("pat.quinn@")
    expect(table.get_by_role("link")).to_have_text(["Pat Quinn"])
    shot(page, "61-contacts-search")

    page.get_by_role("searchbox", name="Search contacts").fill("")
    segment = page.get_by_label("Only members of the segment")
    segment.select_option(label="Pro plan (e2e) (pro-people-e2e)")
    expect(table.get_by_role("link")).to_have_text(["Pat Quinn"])
    expect(page).to_have_url(re.compile(r"/contacts\?segment=pro-people-e2e$"))
    row = table.get_by_role("row").filter(has=page.get_by_role("link", name="Pat Quinn"))
    expect(row).to_contain_text("+393471112233")
    expect(row).to_contain_text("team: people-e2e")
    shot(page, "62-contacts-segment")

    page.get_by_role("link", name="Pat Quinn").click()
    expect(page.get_by_role("heading", name="Pat Quinn", level=1)).to_be_visible()
    page.go_back()
    expect(page.get_by_label("Only members of the segment")).to_have_value("pro-people-e2e")


def test_contacts_page_pages_with_cursors(signed_in: Page, castflow: Castflow) -> None:
    many = [{"id": f"pager-{i:03d}", "attributes": {"team": "pager-e2e"}} for i in range(120)]
    with castflow.api() as api:
        assert api.post("/api/contacts", json=many).status_code == 200
    page = signed_in
    page.goto("/contacts?q=pager-")
    table = page.get_by_role("table", name="Contacts")
    pages = page.get_by_role("navigation", name="Pages of contacts")
    expect(table.get_by_role("link")).to_have_count(50)
    expect(pages.get_by_role("status")).to_have_text(f"Contacts 1{DASH}50")
    expect(pages.get_by_role("button", name="← Previous")).to_be_disabled()
    first = table.get_by_role("link").first.text_content()
    pages.get_by_role("button", name="Next →").click()
    expect(pages.get_by_role("status")).to_have_text(f"Contacts 51{DASH}100")
    pages.get_by_role("button", name="Next →").click()
    expect(pages.get_by_role("status")).to_have_text(f"Contacts 101{DASH}120 (the last page)")
    expect(table.get_by_role("link")).to_have_count(20)
    expect(pages.get_by_role("button", name="Next →")).to_be_disabled()
    pages.get_by_role("button", name="← Previous").click()
    pages.get_by_role("button", name="← Previous").click()
    expect(table.get_by_role("link").first).to_have_text(first or "")
