"""Contact import in the app: a CSV with bad rows gives a report (imported, created, updated,
each refused row with its line and reason); importing it again updates instead of duplicating;
a file the server cannot read is refused in words."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from castflow_e2e import Castflow, shot

CSV = """id,email,phone,first_name,consent.sms
imp-ada,ada@example.com,+393471234567,Ada,opted_in
imp-bob,not-an-email,+393471234568,Bob,opted_in
imp-cy,cy@example.com,12345,Cy,opted_in
imp-dee,dee@example.com,+393471234569,Dee,maybe
,nobody@example.com,+393471234570,Nobody,opted_in
imp-eve,eve@example.com,,Eve,opted_out
"""


def open_import(page: Page) -> None:
    page.goto("/contacts")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()


def test_a_csv_with_bad_rows_gives_a_report(
    signed_in: Page, castflow: Castflow, tmp_path: Path
) -> None:
    page = signed_in
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    open_import(page)
    page.get_by_label("Contacts file (CSV or JSON lines)").set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).last.click()

    report = page.get_by_role("region", name="Import report for people.csv")
    expect(report.get_by_role("status")).to_have_text(
        "2 rows imported; 4 rows refused (nothing else was changed for them)."
    )
    expect(report.get_by_text("New contacts")).to_be_visible()
    refused = report.get_by_role("table", name="Refused rows")
    expect(refused.get_by_role("row")).to_have_count(5)  # a header and four rows
    by_line = {3: "imp-bob", 4: "imp-cy", 5: "imp-dee", 6: None}
    for line, ident in by_line.items():
        cell = page.get_by_role("cell", name=str(line), exact=True)
        row = refused.get_by_role("row").filter(has=cell)
        expect(row).to_have_count(1)
        if ident:
            expect(row).to_contain_text(ident)
    expect(refused.get_by_role("row").filter(has_text="imp-bob")).to_contain_text("email")
    expect(refused.get_by_role("row").filter(has_text="imp-cy")).to_contain_text("phone")
    expect(refused.get_by_role("row").filter(has_text="imp-dee")).to_contain_text("maybe")
    shot(page, "70-import-report")

    with castflow.api() as api:
        assert api.get("/api/contacts/imp-ada").status_code == 200
        assert api.get("/api/contacts/imp-eve").json()["consent"] == {"sms": "opted_out"}
        assert api.get("/api/contacts/imp-bob").status_code == 404

    # The same file again: the good rows update the contacts already there.
    page.get_by_label("Contacts file (CSV or JSON lines)").set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).last.click()
    figures = page.get_by_role("region", name="Import report for people.csv")
    expect(figures.locator(".report-figures")).to_contain_text("0New contacts")
    expect(figures.locator(".report-figures")).to_contain_text("2Updated contacts")

    page.get_by_role("link", name="See the contacts").click()
    page.get_by_role("searchbox", name="Search contacts").fill("imp-")
    expect(page.get_by_role("table", name="Contacts").get_by_role("link")).to_have_count(2)


def test_a_file_the_server_cannot_read_is_refused_in_words(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    open_import(page)
    page.get_by_label("Contacts file (CSV or JSON lines)").set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).last.click()
    expect(page.get_by_role("alert")).to_contain_text("notes.txt")
    expect(page.get_by_role("alert")).to_contain_text("'id' column")
    shot(page, "71-import-refused")
