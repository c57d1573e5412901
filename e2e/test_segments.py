"""Segments: the condition builder with event aggregates, its live count changing as the rule is
edited (and the refusal of a rule the server cannot use), saving, the members list, deleting.

The contacts and events are this file's own (team "seg-e2e"), so other tests' data never
changes the counts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from castflow_e2e import Castflow, shot

TEAM = "seg-e2e"
CONTACTS = [
    {"id": "seg-ada", "email": "ada@example.com",
     "attributes": {"first_name": "Ada", "last_name": "Byron", "team": TEAM, "country": "GB"}},
    {"id": "seg-ben", "email": "ben@example.com",
     "attributes": {"first_name": "Ben", "team": TEAM, "country": "GB"}},
    {"id": "seg-cleo", "email": "cleo@example.com",
     "attributes": {"first_name": "Cleo", "team": TEAM, "country": "FR"}},
]


def _wait_for_events(castflow: Castflow, contact: str, count: int) -> None:
    """Events are taken in with a 202: wait until the contact's timeline holds them."""
    deadline = time.monotonic() + 20
    with castflow.api() as api:
        while time.monotonic() < deadline:
            timeline = api.get(f"/api/contacts/{contact}").json()["timeline"]
            if len(timeline["events"]) >= count:
                return
            time.sleep(0.2)
    raise AssertionError(f"the events of {contact} were not stored in time")


@pytest.fixture(scope="module")
def team(castflow: Castflow) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    # Ada bought three times lately, Ben once, Cleo long ago.
    events = [
        {"contact": "seg-ada", "name": "purchased", "properties": {"total": 80},
         "at": (now - timedelta(days=d)).isoformat().replace("+00:00", "Z")} for d in (1, 5, 20)
    ] + [
        {"contact": "seg-ben", "name": "purchased", "properties": {"total": 20},
         "at": (now - timedelta(days=3)).isoformat().replace("+00:00", "Z")},
        {"contact": "seg-cleo", "name": "purchased", "properties": {"total": 99},
         "at": (now - timedelta(days=200)).isoformat().replace("+00:00", "Z")},
    ]
    with castflow.api() as api:
        answer = api.post("/api/contacts", json=CONTACTS)
        assert answer.status_code == 200, answer.text
        answer = api.post("/api/events", json=events)
        assert answer.status_code == 202, answer.text
    _wait_for_events(castflow, "seg-ada", 3)
    _wait_for_events(castflow, "seg-cleo", 1)
    return CONTACTS


def live_count(page: Page) -> Locator:
    return page.get_by_test_id("live-count")


def test_live_count_follows_the_rule_and_the_segment_saves(
    signed_in: Page, team: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    page.get_by_role("button", name="New segment").click()
    expect(page.get_by_role("heading", name="New segment")).to_be_visible()
    expect(page.get_by_text("Add a condition to count the contacts who match.")).to_be_visible()

    page.get_by_label("Key").fill("big-spenders-e2e")
    page.get_by_label("Name").fill("Big spenders (e2e)")

    # A contact condition: the whole team.
    page.get_by_role("button", name="Add condition").click()
    rule = page.get_by_role("group", name="Conditions").get_by_role("group").first
    rule.get_by_role("combobox", name="Field").fill("contact.attributes.team")
    rule.get_by_role("textbox", name="Value").fill(TEAM)
    expect(live_count(page)).to_have_text("3")
    sample = page.get_by_role("list", name="Sample of matching contacts")
    expect(sample.get_by_role("link")).to_have_count(3)

    # An event aggregate: at least 2 purchases in the last 90 days.
    page.get_by_role("button", name="Add event condition").click()
    aggregate = page.get_by_role("group", name="Condition on event …")
    aggregate.get_by_label("Event name").fill("purchased")
    aggregate = page.get_by_role("group", name="Condition on event purchased")
    aggregate.get_by_label("Number of times").fill("2")
    aggregate.get_by_label("Number of days").fill("90")
    expect(live_count(page)).to_have_text("1")
    expect(sample.get_by_role("link")).to_have_text(["Ada Byron"])
    expect(page.get_by_text(
        'In words: Team is "seg-e2e" and has done "purchased" at least twice in the last 90 days.'
    )).to_be_visible()

    # Loosen it: once, where the total is more than 50 (Ada yes, Ben's 20 no, Cleo's too old).
    aggregate.get_by_label("Number of times").fill("1")
    aggregate.get_by_role("button", name="Only events where…").click()
    where = aggregate.get_by_role("group", name="Condition on Property total")
    where.get_by_role("combobox", name="Comparison").select_option(label="is more than")
    where.get_by_role("textbox", name="Value").fill("50")
    expect(live_count(page)).to_have_text("1")
    # ... and over all time: Cleo's old purchase counts too.
    aggregate.get_by_label("When").select_option(label="ever")
    expect(live_count(page)).to_have_text("2")
    page.get_by_text("The rule as JSON").click()
    expect(page.get_by_label("The rule as JSON")).to_contain_text('"event_count"')
    shot(page, "50-segment-builder")

    page.get_by_role("button", name="Create segment").click()
    saved = page.get_by_role("status").filter(has_text='Saved "Big spenders (e2e)".')
    expect(saved).to_be_visible()
    expect(page).to_have_url(f"{page.url.split('/segments')[0]}/segments/big-spenders-e2e")
    expect(live_count(page)).to_have_text("2")  # the stored rule, counted as the page opens
    members = page.get_by_role("table", name="Members")
    expect(members.get_by_role("link")).to_have_count(2, timeout=15_000)
    expect(members.get_by_role("link", name="Ada Byron")).to_be_visible()
    expect(members.get_by_role("link", name="Cleo")).to_be_visible()
    shot(page, "51-segment-saved")

    page.get_by_role("link", name="← All segments").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Big spenders (e2e)"))
    expect(row).to_contain_text("big-spenders-e2e")
    expect(row).to_contain_text(
        'has done "purchased" at least once where Property total is more than 50'
    )


def test_a_rule_the_server_refuses_shows_why(signed_in: Page, team: list[dict[str, Any]]) -> None:
    page = signed_in
    page.goto("/segments/_new")
    page.get_by_role("button", name="Edit as JsonLogic").click()
    page.get_by_label("Contacts who match (JsonLogic)").fill(
        '{"==": [{"var": "event.name"}, "purchased"]}'
    )
    alert = page.get_by_role("complementary", name="Matching contacts").get_by_role("alert")
    expect(alert).to_contain_text("event.name")
    shot(page, "52-segment-refused")
    page.get_by_label("Key").fill("refused-e2e")
    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_role("alert").first).to_contain_text("The rule cannot be used")
    with_key = page.get_by_role("link", name="refused-e2e")
    expect(with_key).to_have_count(0)


def test_delete_asks_first(signed_in: Page, castflow: Castflow) -> None:
    page = signed_in
    with castflow.api() as api:
        answer = api.post("/api/segments", json={
            "key": "doomed-e2e", "name": "Doomed (e2e)",
            "rule": {"==": [{"var": "contact.attributes.team"}, TEAM]},
        })
        assert answer.status_code == 201, answer.text
    page.goto("/segments/doomed-e2e")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name='Delete "Doomed (e2e)"?')
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete segment").click()
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Doomed (e2e)")).to_have_count(0)
    with castflow.api() as api:
        assert api.get("/api/segments/doomed-e2e").status_code == 404
