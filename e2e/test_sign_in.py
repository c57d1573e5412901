"""Signing in and out; the session survives a reload; deep links load the app."""

from playwright.sync_api import Page, expect

from castflow_e2e import Castflow, shot


def test_sign_in_survives_reload_and_signs_out(page: Page, castflow: Castflow) -> None:
    page.goto("/flows/12345")  # a deep link, before signing in
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")

    page.get_by_label("Email").fill(castflow.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    shot(page, "02-sign-in-wrong-password")

    page.get_by_label("Password").fill(castflow.password)
    page.get_by_role("button", name="Sign in").click()
    # Still on the deep link, now signed in: the app says there is no such flow.
    expect(page.get_by_role("alert")).to_contain_text("There is no flow 12345.")
    page.get_by_role("link", name="Back to your flows").click()
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()
    expect(page.get_by_text(castflow.email)).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
