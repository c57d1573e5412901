"""Editing tools on the canvas: move, autosave, undo/redo, copy/paste, delete steps and
connections, auto-layout, zoom and fit, minimap; and the settings forms on example flows."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from castflow_e2e import ROOT, Castflow, move_node, node, open_flow, panel, shot, wait_saved


def _import_example(castflow: Castflow, example: str, name: str) -> int:
    document = json.loads((ROOT / "flows" / "examples" / f"{example}.json").read_text())
    document["name"] = name
    with castflow.api() as api:
        answer = api.post("/api/flows/import", json=document)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def _document(castflow: Castflow, flow_id: int) -> dict[str, Any]:
    with castflow.api() as api:
        return api.get(f"/api/flows/{flow_id}").json()["document"]


def _wait_for_x(page: Page, locator: Any, x: float) -> None:
    deadline = time.monotonic() + 5
    while abs((locator.bounding_box() or {"x": -1e9})["x"] - x) > 2:
        assert time.monotonic() < deadline, f"{locator} did not move to x={x}"
        page.wait_for_timeout(50)


def _position(castflow: Castflow, flow_id: int, node_id: str) -> dict[str, float]:
    return next(n["position"] for n in _document(castflow, flow_id)["nodes"] if n["id"] == node_id)


def test_move_autosave_undo_redo_copy_paste_delete(signed_in: Page, castflow: Castflow) -> None:
    page = signed_in
    flow_id = _import_example(castflow, "abandoned_cart", "Cart tools")
    open_flow(page, f"/flows/{flow_id}")
    reminder = node(page, "Cart reminder (Send)")
    expect(reminder).to_be_visible()
    wait_saved(page)

    # Move a step: the draft is saved within 2 s of the change.
    stored = _position(castflow, flow_id, "remind")
    before = reminder.bounding_box()
    move_node(page, "Cart reminder (Send)", 160, 40)
    moved_at = time.monotonic()
    while _position(castflow, flow_id, "remind") == stored:
        assert time.monotonic() - moved_at < 2.0, "the move was not saved within 2 s"
        time.sleep(0.05)
    saved_after = time.monotonic() - moved_at
    wait_saved(page)
    after = reminder.bounding_box()
    assert before and after and after["x"] > before["x"] + 100
    print(f"autosave after a move: {saved_after:.2f} s")

    # Undo puts it back, redo moves it again.
    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    _wait_for_x(page, reminder, before["x"])
    page.keyboard.press("Control+Shift+z")
    _wait_for_x(page, reminder, after["x"])
    page.get_by_role("button", name="Undo").click()
    _wait_for_x(page, reminder, before["x"])
    page.get_by_role("button", name="Redo").click()
    _wait_for_x(page, reminder, after["x"])

    # Copy and paste a step (with its settings), then delete the copy with the keyboard.
    reminder.locator(".node-title").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    copy = node(page, "Cart reminder (copy) (Send)")
    expect(copy).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(7)
    expect(panel(page).get_by_label("Name on the canvas")).to_have_value("Cart reminder (copy)")
    expect(panel(page).get_by_label("Channel", exact=True)).to_have_value("chosen")
    shot(page, "50-pasted-copy")
    page.keyboard.press("Delete")
    expect(copy).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(6)

    # Delete a connection: select it, press Delete; undo brings it back.
    edge = page.get_by_role(
        "group", name="Connection from Channel for offers by none to No channel"
    )
    expect(edge).to_have_count(1)
    edge.click()
    expect(panel(page).get_by_role("heading", name="Connection")).to_be_visible()
    page.keyboard.press("Delete")
    expect(edge).to_have_count(0)
    expect(node(page, "No channel (Exit)").get_by_role("note")).to_contain_text(
        "No trigger leads here"
    )
    page.keyboard.press("Control+z")
    expect(edge).to_have_count(1)

    # Delete a step from its panel: its connections go with it; undo restores both.
    node(page, "Purchased (Exit)").locator(".node-title").click()
    panel(page).get_by_role("button", name="Delete this step").click()
    expect(node(page, "Purchased (Exit)")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(6)
    page.keyboard.press("Control+z")
    expect(node(page, "Purchased (Exit)")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(7)
    wait_saved(page)
    assert len(_document(castflow, flow_id)["nodes"]) == 6


def test_auto_layout_zoom_fit_and_minimap(signed_in: Page, castflow: Castflow) -> None:
    page = signed_in
    flow_id = _import_example(castflow, "welcome_series", "Welcome tools")
    open_flow(page, f"/flows/{flow_id}")
    expect(page.get_by_role("img", name="Minimap of the flow")).to_be_visible()
    expect(page.locator(".canvas[data-ready=true]")).to_be_attached()
    viewport = page.locator(".react-flow__viewport")

    def scale() -> float:
        return float(
            re.search(r"scale\(([\d.]+)\)", viewport.get_attribute("style") or "").group(1)
        )

    def wait_for_scale(test: Any) -> None:
        deadline = time.monotonic() + 5
        while not test(scale()):
            assert time.monotonic() < deadline, f"zoom stayed at {scale()}"
            page.wait_for_timeout(50)

    start = scale()
    page.get_by_role("button", name="Zoom in").click()
    wait_for_scale(lambda s: s > start * 1.1)
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    wait_for_scale(lambda s: s < start * 0.9)

    before = _document(castflow, flow_id)["nodes"]
    page.get_by_role("button", name="Auto-layout").click()
    wait_saved(page)
    deadline = time.monotonic() + 5
    while _document(castflow, flow_id)["nodes"] == before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = {n["id"]: n["position"] for n in _document(castflow, flow_id)["nodes"]}
    assert after != {n["id"]: n["position"] for n in before}
    # Laid out top to bottom: every connection goes downwards.
    for edge in _document(castflow, flow_id)["edges"]:
        assert after[edge["to"]]["y"] > after[edge["from"]]["y"]
    page.get_by_role("button", name="Fit to screen").click()
    page.wait_for_timeout(400)
    pane = page.locator(".react-flow__pane").bounding_box()
    for box in [n.bounding_box() for n in page.locator(".react-flow__node").all()]:
        assert box and pane
        assert pane["x"] <= box["x"] and box["x"] + box["width"] <= pane["x"] + pane["width"]
        assert pane["y"] <= box["y"] and box["y"] + box["height"] <= pane["y"] + pane["height"]
    shot(page, "51-auto-layout")


def test_settings_forms_speak_plain_words(signed_in: Page, castflow: Castflow) -> None:
    """Each kind's form from the catalogue: durations, times of day, conditions, variants."""
    page = signed_in
    flow_id = _import_example(castflow, "re_engagement", "Re-engagement forms")
    open_flow(page, f"/flows/{flow_id}")
    side = panel(page)
    page.get_by_role("navigation", name="Steps you can add").get_by_role(
        "button", name="Wait", exact=True
    ).click()
    side.get_by_label("Wait", exact=True).select_option(label="Until a time of day")
    side.get_by_label("Time of day").fill("09:30")
    side.get_by_role("checkbox", name="Saturday").uncheck()
    side.get_by_role("checkbox", name="Sunday").uncheck()
    expect(side).to_contain_text("Waits until 09:30 on weekdays, in the contact's time zone.")
    expect(page.get_by_role("group", name="Wait", exact=True)).to_contain_text(
        "Wait until 09:30 on weekdays"
    )
    shot(page, "52-wait-until-time-of-day")

    page.get_by_role("navigation", name="Steps you can add").get_by_role(
        "button", name="Segment filter", exact=True
    ).click()
    side.get_by_role("button", name="Add condition").click()
    side.get_by_role("combobox", name="Field").fill("contact.attributes.country")
    side.get_by_role("combobox", name="Comparison").select_option(label="is one of")
    side.get_by_role("textbox", name="Values, separated by commas").fill("IT, FR")
    side.get_by_role("button", name="Add condition").click()
    second = side.get_by_role("group", name=re.compile("^Condition on")).nth(1)
    second.get_by_role("combobox", name="Field").fill("contact.email")
    second.get_by_role("combobox", name="Comparison").select_option(label="has a value")
    side.get_by_role("combobox", name="Match all or any").select_option(label="any of these")
    expect(side).to_contain_text(
        'In words: Country is one of "IT", "FR" or Email address has a value.'
    )
    expect(page.get_by_role("group", name="Segment filter", exact=True)).to_contain_text(
        "Only contacts whose Country is one of"
    )
    shot(page, "53-condition-builder")

    page.get_by_role("navigation", name="Steps you can add").get_by_role(
        "button", name="Split", exact=True
    ).click()
    split = page.get_by_role("group", name="Split", exact=True)
    expect(split.get_by_label("a port of Split", exact=True)).to_be_attached()
    side.get_by_role("button", name="Add variant").click()
    side.get_by_role("group", name="Variant 3").get_by_label("Name").fill("c")
    side.get_by_role("group", name="Variant 3").get_by_label("Weight").fill("20")
    expect(split.get_by_label("c port of Split", exact=True)).to_be_attached()
    expect(split).to_contain_text("a 42% · b 42% · c 17%")
    wait_saved(page)
    shot(page, "54-split-variants")
