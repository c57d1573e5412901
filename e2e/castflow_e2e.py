"""Helpers for driving the Castflow canvas with a mouse, as a person would."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(__file__).resolve().parent / "screenshots"


@dataclass
class Castflow:
    url: str
    email: str
    password: str
    api_key: str
    tmp: Path
    log: Path

    def api(self) -> httpx.Client:
        """A client for the API, authenticated with the API key (as a machine would be)."""
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.api_key}"}
        )


def shot(page: Page, name: str) -> None:
    """A screenshot of what the user sees, in e2e/screenshots/NAME.png."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def panel(page: Page) -> Locator:
    return page.get_by_role("complementary", name="Side panel")


def palette_item(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name="Steps you can add").get_by_role(
        "button", name=label, exact=True
    )


def canvas_point(page: Page, x: float, y: float) -> tuple[float, float]:
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane is not None
    return pane["x"] + x, pane["y"] + y


def _centre(locator: Locator) -> tuple[float, float]:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not visible"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def mouse_drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press, nudge (React Flow ignores the first move), move in steps, release."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 5, start[1] + 5)
    page.mouse.move(*end, steps=10)
    page.mouse.up()


def drag_kind(page: Page, label: str, x: float, y: float) -> None:
    """Drag a kind from the palette to (x, y) on the canvas (pixels from its top left)."""
    mouse_drag(page, _centre(palette_item(page, label)), canvas_point(page, x, y))


def node(page: Page, name: str) -> Locator:
    """A node on the canvas by its accessible name, e.g. "Cart abandoned (Trigger)"."""
    return page.get_by_role("group", name=name, exact=True)


def connect(page: Page, port: str, source: str, target: str) -> None:
    """Drag from the `port` handle of node `source` to the input of node `target`."""
    handle = page.get_by_label(f"{port} port of {source}", exact=True)
    into = page.get_by_label(f"Input of {target}", exact=True)
    mouse_drag(page, _centre(handle), _centre(into))


def move_node(page: Page, name: str, dx: float, dy: float) -> None:
    header = node(page, name).locator(".node-title")
    x, y = _centre(header)
    mouse_drag(page, (x, y), (x + dx, y + dy))


def wait_saved(page: Page, timeout: float = 10_000) -> None:
    expect(page.get_by_test_id("save-state")).to_have_text("Saved", timeout=timeout)


def count_label(entered: int, name: str) -> re.Pattern[str]:
    return re.compile(rf"^{entered} entered {re.escape(name)}$")


def open_flow(page: Page, path: str) -> None:
    """Open a flow and wait until the canvas shows all of it and takes input."""
    page.goto(path)
    expect(page.locator(".canvas[data-ready=true]")).to_be_attached()


def until(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    """What `check` returns once it is truthy (the worker's effects arrive a moment after the
    API answers); an AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")
