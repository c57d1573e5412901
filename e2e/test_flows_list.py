"""The flows list: create blank or from an example, import (valid and invalid), export,
duplicate, delete with confirmation."""

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from castflow_e2e import ROOT, Castflow, shot


def rows(page: Page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def test_create_blank_and_from_example(signed_in: Page) -> None:
    page = signed_in
    page.goto("/")
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()
    page.get_by_role("button", name="New flow").click()
    expect(page.get_by_label("Flow name")).to_have_value("Untitled flow")
    expect(page.get_by_role("status", name="Status: Draft")).to_be_visible()
    expect(page.get_by_text("Start with a Trigger")).to_be_visible()
    shot(page, "10-editor-blank")

    page.get_by_role("link", name="← All flows").click()
    page.get_by_role("button", name="Start from an example").click()
    dialog = page.get_by_role("dialog", name="Start from an example")
    expect(dialog.get_by_role("heading", name="Welcome series")).to_be_visible()
    shot(page, "11-examples")
    dialog.get_by_role("button", name="Use the example Welcome series").click()
    expect(page.get_by_label("Flow name")).to_have_value("Welcome series")
    expect(page.locator(".react-flow__node")).not_to_have_count(0)
    expect(page.get_by_role("region", name="Problems in this flow")).to_contain_text("No problems")
    shot(page, "12-editor-example")

    page.get_by_role("link", name="← All flows").click()
    row = rows(page, "Welcome series")
    expect(row.get_by_text("Draft")).to_be_visible()
    expect(row.get_by_text("No runs yet")).to_be_visible()
    expect(row.get_by_text(re.compile(r"just now|minute"))).to_be_visible()
    shot(page, "13-flows-list")


def test_import_refuses_an_invalid_file_and_creates_nothing(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    page.goto("/")
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")
    before = page.get_by_role("row").count()

    broken = json.loads((ROOT / "flows" / "examples" / "abandoned_cart.json").read_text())
    broken["name"] = "Broken cart"
    wait = next(n for n in broken["nodes"] if n["id"] == "wait_purchase")
    del wait["config"]["timeout"]  # a wait for an event needs a timeout
    broken["edges"].append({"from": "pick", "port": "fax", "to": "remind"})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    page.get_by_label("Flow file to import").set_input_files(str(path))

    dialog = page.get_by_role("dialog", name="This flow could not be imported")
    expect(dialog).to_contain_text("Nothing was imported from broken.json")
    problems = dialog.get_by_role("list", name="Problems in the file")
    # The problem stands next to the node it concerns, named as the marketer named it.
    entry = problems.get_by_role("listitem").filter(has_text="Bought within 24 h?").first
    expect(entry).to_contain_text("needs a 'timeout'")
    expect(problems).to_contain_text("fax")
    shot(page, "14-import-refused")
    dialog.get_by_role("button", name="Close").click()

    not_json = tmp_path / "notes.json"
    not_json.write_text("{ this is not json")
    page.get_by_label("Flow file to import").set_input_files(str(not_json))
    expect(page.get_by_role("dialog")).to_contain_text("is not valid JSON")
    page.keyboard.press("Escape")
    expect(page.get_by_role("row")).to_have_count(before)
    expect(page.get_by_role("link", name="Broken cart")).to_have_count(0)


def test_export_import_duplicate_delete(
    signed_in: Page, castflow: Castflow, tmp_path: Path
) -> None:
    page = signed_in
    document = json.loads((ROOT / "flows" / "examples" / "ab_subject_lines.json").read_text())
    document["name"] = "Subject test"
    with castflow.api() as api:
        assert api.post("/api/flows/import", json=document).status_code == 201
    page.goto("/")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export Subject test").click()
    download = download_info.value
    assert download.suggested_filename == "Subject_test.json"
    exported_path = tmp_path / download.suggested_filename
    download.save_as(exported_path)
    exported = json.loads(exported_path.read_text())
    assert exported["format"] == "castflow.flow/1"
    assert exported["name"] == "Subject test"
    assert {n["id"] for n in exported["nodes"]} == {n["id"] for n in document["nodes"]}

    page.get_by_role("button", name="Duplicate Subject test").click()
    expect(page.get_by_role("link", name="Subject test (copy)")).to_be_visible()

    page.get_by_label("Flow file to import").set_input_files(str(exported_path))
    expect(page.get_by_role("status")).to_have_text('Imported "Subject test".')
    expect(page.get_by_role("link", name="Subject test", exact=True)).to_have_count(2)

    page.get_by_role("button", name="Delete Subject test (copy)").click()
    dialog = page.get_by_role("dialog", name='Delete "Subject test (copy)"?')
    shot(page, "15-delete-confirmation")
    dialog.get_by_role("button", name="Keep it").click()
    expect(page.get_by_role("link", name="Subject test (copy)")).to_be_visible()
    page.get_by_role("button", name="Delete Subject test (copy)").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete flow").click()
    expect(page.get_by_role("status")).to_have_text('Deleted "Subject test (copy)".')
    expect(page.get_by_role("link", name="Subject test (copy)")).to_have_count(0)
