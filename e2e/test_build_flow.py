"""The abandoned-cart flow, built from scratch with the mouse and configured through the side
panel; then saved, reloaded, exported and imported, dry-run, published and watched live.

The tests run in order and share the flow they build (STATE).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from castflow_e2e import (
    ROOT,
    Castflow,
    connect,
    drag_kind,
    node,
    open_flow,
    panel,
    shot,
    wait_saved,
)

NAME = "Abandoned cart, built by hand"
STATE: dict[str, Any] = {}
TALL = {"width": 1440, "height": 1100}

TOTAL = "{{ '%.2f' | format(event.properties.cart_total) }}"
EMAIL_TEXT = (
    "Hi {{ contact.attributes.first_name | default('there', true) }},\n\nyou left "
    f"{{{{ event.properties.item_count }}}} item(s) worth €{TOTAL} "
    "in your cart: {{ event.properties.cart_url }}"
)
SMS_TEXT = f"Orto: your cart (€{TOTAL}) is waiting."
PUSH_BODY = f"Your cart worth €{TOTAL} is saved. Tap to check out."


def test_build_the_abandoned_cart_flow_from_scratch(
    signed_in: Page, contacts: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.set_viewport_size(TALL)
    page.goto("/")
    page.get_by_role("button", name="New flow").click()
    page.get_by_label("Flow name").fill(NAME)
    side = panel(page)

    # Trigger: a cart abandoned with something in it.
    drag_kind(page, "Trigger", 450, 70)
    expect(node(page, "Start (Trigger)")).to_be_visible()
    side.get_by_label("Name on the canvas").fill("Cart abandoned")
    side.get_by_label("Event name").fill("cart_abandoned")
    side.get_by_role("button", name="Add condition").click()
    side.get_by_role("combobox", name="Field").fill("event.properties.cart_total")
    side.get_by_role("combobox", name="Comparison").select_option(label="is more than")
    side.get_by_role("textbox", name="Value").fill("0")
    expect(side).to_contain_text("In words: Event: cart total is more than 0.")
    expect(node(page, "Cart abandoned (Trigger)")).to_contain_text(
        'When "cart_abandoned" happens, if Event: cart total is more than 0'
    )
    shot(page, "20-trigger-settings")

    # Wait: for a purchase, at most 24 hours. Not connected yet: a problem.
    drag_kind(page, "Wait", 450, 260)
    side.get_by_label("Wait", exact=True).select_option(label="Until the contact does something")
    side.get_by_label("Event to wait for").fill("purchased")
    side.get_by_role("spinbutton", name="Give up after: how many").fill("24")
    side.get_by_role("combobox", name="Give up after: unit").select_option("hours")
    side.get_by_label("Name on the canvas").fill("Bought within 24 h?")
    wait_node = node(page, "Bought within 24 h? (Wait)")
    expect(wait_node).to_contain_text('Wait for "purchased", at most 24 hours')
    expect(wait_node.get_by_role("note")).to_contain_text("No trigger leads here")
    expect(side.get_by_role("region", name="Problems with Bought within 24 h?")).to_contain_text(
        "No trigger leads here"
    )
    shot(page, "21-problem-on-unconnected-wait")

    # Publishing is refused while there are problems, and says why.
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("it was not published")
    expect(page.get_by_role("region", name="Problems in this flow")).to_contain_text(
        "Not published: fix these problems first."
    )
    expect(page.get_by_role("status", name="Status: Draft")).to_be_visible()
    shot(page, "22-publish-refused")

    connect(page, "next", "Cart abandoned", "Bought within 24 h?")
    expect(wait_node.get_by_role("note")).to_have_count(0)
    expect(page.get_by_role("region", name="Problems in this flow")).to_contain_text("No problems")

    # Exit when they bought.
    drag_kind(page, "Exit", 160, 450)
    side.get_by_label("Name on the canvas").fill("Purchased")
    side.get_by_label("Reason (shown in reports)").fill("purchased")
    connect(page, "event", "Bought within 24 h?", "Purchased")

    # Channel choice: email, then push, then SMS; the preferred channel for offers first.
    drag_kind(page, "Channel choice", 480, 450)
    side.get_by_label("Name on the canvas").fill("Channel for offers")
    side.get_by_role("button", name="Add Push notification").click()
    side.get_by_role("button", name="Add SMS").click()
    side.get_by_label("Topic").fill("offers")
    order = side.get_by_role("list", name="Channels to try, in order").get_by_role("listitem")
    expect(order).to_have_text(
        [re.compile("Email"), re.compile("Push notification"), re.compile("SMS")]
    )
    connect(page, "timeout", "Bought within 24 h?", "Channel for offers")
    shot(page, "23-channel-choice-settings")

    # Send: the reminder, on the chosen channel, written for email, SMS and push.
    drag_kind(page, "Send", 450, 660)
    side.get_by_label("Name on the canvas").fill("Cart reminder")
    side.get_by_label("Channel", exact=True).select_option("chosen")
    side.get_by_label("Topic (for preferences and opt-outs)").fill("offers")
    side.get_by_label("Preview messages for").select_option("c-anna")
    subject = side.get_by_role("textbox", name="Email subject")
    subject.fill("")
    side.get_by_label("Insert a variable into Email subject").select_option(
        "contact.attributes.first_name"
    )
    expect(subject).to_have_value("{{ contact.attributes.first_name }}")
    subject.press("End")
    subject.press_sequentially(", your cart is waiting")
    side.get_by_role("textbox", name="Email message").fill(EMAIL_TEXT)
    preview = side.get_by_role("region", name="Preview for Anna (c-anna)")
    expect(preview).to_contain_text("Anna, your cart is waiting")
    expect(preview).to_contain_text("Hi Anna,")
    shot(page, "24-send-email-with-preview")
    side.get_by_role("tab", name=re.compile("^SMS")).click()
    side.get_by_role("button", name="Write the SMS message").click()
    side.get_by_role("textbox", name="SMS message").fill(SMS_TEXT)
    side.get_by_role("tab", name=re.compile("^Push notification")).click()
    side.get_by_role("button", name="Write the Push notification message").click()
    side.get_by_role("textbox", name="Push notification title").fill("Still thinking it over?")
    side.get_by_role("textbox", name="Push notification message").fill(PUSH_BODY)
    for port in ("email", "push", "sms"):
        connect(page, port, "Channel for offers", "Cart reminder")

    # Exit when no channel works.
    drag_kind(page, "Exit", 800, 660)
    side.get_by_label("Name on the canvas").fill("No channel")
    side.get_by_label("Reason (shown in reports)").fill("no_reachable_channel")
    connect(page, "none", "Channel for offers", "No channel")

    expect(page.locator(".react-flow__node")).to_have_count(6)
    expect(page.locator(".react-flow__edge")).to_have_count(7)
    expect(page.get_by_role("region", name="Problems in this flow")).to_contain_text("No problems")

    # The flow's own settings: a shopper may come back with another cart later.
    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    side.get_by_label("A contact can enter").select_option(
        label="Again later, but not while already in it"
    )
    wait_saved(page)
    page.get_by_role("button", name="Fit to screen").click()
    shot(page, "25-built-flow")
    STATE["url"] = page.url


def test_saved_flow_comes_back_after_a_reload(signed_in: Page) -> None:
    page = signed_in
    page.set_viewport_size(TALL)
    open_flow(page, STATE["url"])
    expect(page.get_by_label("Flow name")).to_have_value(NAME)
    expect(page.locator(".react-flow__node")).to_have_count(6)
    expect(page.locator(".react-flow__edge")).to_have_count(7)
    wait_node = node(page, "Bought within 24 h? (Wait)")
    expect(wait_node).to_contain_text('Wait for "purchased", at most 24 hours')
    wait_node.locator(".node-title").click()
    side = panel(page)
    expect(side.get_by_role("spinbutton", name="Give up after: how many")).to_have_value("24")
    expect(side.get_by_role("combobox", name="Give up after: unit")).to_have_value("hours")

    page.get_by_role("link", name="← All flows").click()
    page.get_by_role("link", name=NAME, exact=True).click()
    assert page.url == STATE["url"]
    expect(page.locator(".react-flow__node")).to_have_count(6)


def test_export_then_import_gives_the_same_flow(
    signed_in: Page, castflow: Castflow, tmp_path: Path
) -> None:
    page = signed_in
    page.goto("/")
    with page.expect_download() as download_info:
        page.get_by_role("button", name=f"Export {NAME}").click()
    path = tmp_path / "exported.json"
    download_info.value.save_as(path)
    exported = json.loads(path.read_text())
    assert exported["name"] == NAME
    assert sorted(n["label"] for n in exported["nodes"]) == sorted(
        [
            "Cart abandoned",
            "Bought within 24 h?",
            "Purchased",
            "Channel for offers",
            "Cart reminder",
            "No channel",
        ]
    )
    wait = next(n for n in exported["nodes"] if n["label"] == "Bought within 24 h?")
    assert wait["config"] == {"event": "purchased", "timeout": "PT24H"}
    trigger = next(n for n in exported["nodes"] if n["type"] == "trigger")
    assert trigger["config"]["where"] == {">": [{"var": "event.properties.cart_total"}, 0]}
    choice = next(n for n in exported["nodes"] if n["type"] == "channel_choice")
    assert choice["config"]["channels"] == ["email", "push", "sms"]
    assert len(exported["edges"]) == 7
    assert exported["settings"]["entry"] == "single_active"

    page.get_by_label("Flow file to import").set_input_files(str(path))
    expect(page.get_by_role("status")).to_have_text(f'Imported "{NAME}".')
    expect(page.get_by_role("link", name=NAME, exact=True)).to_have_count(2)
    with castflow.api() as api:
        flows = api.get("/api/flows").json()["items"]
        imported = max(f["id"] for f in flows if f["name"] == NAME)
        again = api.get(f"/api/flows/{imported}/export").json()
    assert again == exported


def test_dry_run_counts_and_a_contacts_path(
    signed_in: Page, contacts: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.set_viewport_size(TALL)
    open_flow(page, STATE["url"])
    page.get_by_role("button", name="Dry run").click()
    side = panel(page)
    events = [
        json.loads(line)
        for line in (ROOT / "flows/examples/data/abandoned_cart.events.jsonl")
        .read_text()
        .splitlines()
        if line.strip()
    ]

    # The first two events typed in, the rest pasted as JSON lines.
    for index, event in enumerate(events[:2], start=1):
        side.get_by_role("button", name="Add event").click()
        side.get_by_label(f"Event {index}: contact").fill(event["contact"])
        side.get_by_label(f"Event {index}: what happened").fill(event["name"])
        side.get_by_label(f"Event {index}: when (UTC)").fill(event["at"][:16])
        details = ", ".join(f"{k}: {v}" for k, v in event["properties"].items())
        side.get_by_label(f"Event {index}: details").fill(details)
    side.get_by_role("button", name="Paste events as JSON lines").click()
    side.get_by_label("One event per line, as JSON").fill(
        "\n".join(json.dumps(e) for e in events[2:])
    )
    side.get_by_role("button", name="Add these events").click()
    expect(side.get_by_role("group", name=re.compile(r"^Event \d+$"))).to_have_count(len(events))
    side.get_by_role("combobox", name="Simulate for: unit").select_option("days")
    side.get_by_role("spinbutton", name="Simulate for: how many").fill("14")
    side.get_by_role("button", name="Run the dry run").click()

    results = side.get_by_role("region", name="Dry run results")
    expect(results.get_by_role("status")).to_contain_text(
        "7 contacts entered the flow; 5 messages would be sent"
    )
    # Counts per node and per port, on the canvas.
    expect(page.get_by_label("7 entered Cart abandoned", exact=True)).to_be_visible()
    wait_node = node(page, "Bought within 24 h? (Wait)")
    expect(wait_node.get_by_label("1 left by event", exact=True)).to_be_visible()
    expect(wait_node.get_by_label("6 left by timeout", exact=True)).to_be_visible()
    choice = node(page, "Channel for offers (Channel choice)")
    expect(choice.get_by_label("6 entered Channel for offers", exact=True)).to_be_visible()
    for port, count in {"email": 2, "push": 2, "sms": 1, "none": 1}.items():
        expect(choice.get_by_label(f"{count} left by {port}", exact=True)).to_be_visible()
    expect(page.get_by_label("5 entered Cart reminder", exact=True)).to_be_visible()
    expect(page.get_by_label("1 entered No channel", exact=True)).to_be_visible()
    shot(page, "30-dry-run-counts")

    # One contact's path, highlighted with times; the messages they would get, rendered.
    results.get_by_role("button", name=re.compile("^c-chiara")).click()
    expect(
        node(page, "Cart abandoned (Trigger)").get_by_label(
            re.compile(r"^Step 1 of the path: Cart abandoned at 6 Mar 2026, 07:30 UTC")
        )
    ).to_be_visible()
    expect(
        node(page, "Channel for offers (Channel choice)").get_by_label(
            re.compile(r"^Step 3 of the path: Channel for offers at 7 Mar 2026, 07:30 UTC")
        )
    ).to_be_visible()
    expect(node(page, "Cart reminder (Send)").locator(".flow-node")).to_have_class(
        re.compile("on-path")
    )
    expect(node(page, "Purchased (Exit)").locator(".flow-node")).to_have_class(
        re.compile("off-path")
    )
    message = side.get_by_role(
        "article", name=re.compile("^Push notification message to apns:chiara-iphone")
    )
    expect(message).to_contain_text("Your cart worth €64.40 is saved. Tap to check out.")
    shot(page, "31-dry-run-contact-path")

    results.get_by_role("button", name=re.compile("^c-farid")).click()
    expect(side.get_by_role("region", name="Path of c-farid")).to_contain_text("No channel")
    expect(node(page, "No channel (Exit)").locator(".flow-node")).to_have_class(
        re.compile("on-path")
    )
    expect(node(page, "Cart reminder (Send)").locator(".flow-node")).to_have_class(
        re.compile("off-path")
    )


def test_publish_then_a_live_event_moves_the_counts(
    signed_in: Page, castflow: Castflow, contacts: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.set_viewport_size(TALL)
    open_flow(page, STATE["url"])
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status", name="Status: Live")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Published version 1")).to_be_visible()

    page.get_by_role("button", name="Live results").click()
    expect(page.get_by_label("0 entered Cart abandoned", exact=True)).to_be_visible()
    shot(page, "40-live-before")

    with castflow.api() as api:
        answer = api.post(
            "/api/events",
            json={
                "contact": "c-emma",
                "name": "cart_abandoned",
                "properties": {
                    "cart_total": 35.5,
                    "item_count": 2,
                    "cart_url": "https://orto.example/cart/live",
                },
            },
        )
        assert answer.status_code == 202, answer.text

    expect(page.get_by_label("1 entered Cart abandoned", exact=True)).to_be_visible(timeout=20_000)
    expect(page.get_by_label("1 entered Bought within 24 h?", exact=True)).to_be_visible(
        timeout=20_000
    )
    expect(panel(page).get_by_role("status", name="Live totals")).to_contain_text(
        "1 contact entered: 1 in progress"
    )
    shot(page, "41-live-after-event")

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status", name="Status: Paused")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status", name="Status: Live")).to_be_visible()

    page.goto("/")
    row = (
        page.get_by_role("row")
        .filter(has=page.get_by_role("link", name=NAME, exact=True))
        .filter(has_text="Live")
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("1 in progress")
    shot(page, "42-flows-list-live")
