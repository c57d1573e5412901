"""The example flows in flows/examples/, simulated with their data files.

Every expectation below was worked out from the contracts in DESIGN.md (channel choice order,
calendar vs exact durations, `until` strictly after arrival, entry rules, events only counting
after the run reached the wait) and is asserted exactly: paths with their ports and UTC times,
statuses, reasons, rendered messages and per-node counts.

Contacts (flows/examples/data/contacts.jsonl), in brief:
- c-anna   Europe/Rome; every channel; prefers push (onboarding), email (offers), sms (discounts)
- c-bill   America/New_York; SMS opted out; no push token; prefers sms (onboarding, offers), push
           (discounts)
- c-chiara Europe/Rome; no email address; prefers email (onboarding), push (discounts)
- c-dan    no time zone (the flow's applies); no phone; push opted out; prefers push
- c-emma   America/New_York; email opted out; no phone; two push tokens; telegram; prefers push
           (offers) and chat (discounts, not a candidate there)
- c-farid  Europe/Rome; opted out of every channel
- c-giulia Europe/Rome; whatsapp; prefers chat (onboarding), sms (offers), email (discounts)
- c-hiro   Asia/Tokyo; email only; no first name (templates fall back to "there")
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flows.compiler import Plan, compile_flow
from flows.contacts import Event, decode_contact, decode_event
from flows.document import decode_document, encode_document
from flows.simulator import report_to_json, simulate
from nodes import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "flows" / "examples"
DATA = EXAMPLES / "data"
NAMES = (
    "welcome_series",
    "abandoned_cart",
    "re_engagement",
    "discount_by_preference",
    "ab_subject_lines",
)


# --- helpers ------------------------------------------------------------------------------------


def castflow(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("castflow")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
        timeout=60, check=False,
    )


def plan_of(name: str) -> Plan:
    return compile_flow((EXAMPLES / f"{name}.json").read_bytes(), CATALOGUE)


def contacts() -> list[dict[str, Any]]:
    """A fresh copy each time: a simulation may update profiles (update_contact)."""
    lines = (DATA / "contacts.jsonl").read_text(encoding="utf-8").splitlines()
    return [decode_contact(line, f"contacts.jsonl line {n}") for n, line in enumerate(lines, 1)]


def script(name: str) -> list[Event]:
    lines = (DATA / f"{name}.events.jsonl").read_text(encoding="utf-8").splitlines()
    return [decode_event(line, f"{name} line {n}") for n, line in enumerate(lines, 1)]


def inline(*events: dict[str, Any]) -> list[Event]:
    return [decode_event(json.dumps(event)) for event in events]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def simulated(
    name: str, start: str, end: str, events: list[Event] | None = None, seed: int = 0
) -> dict[str, Any]:
    """The report as the CLI prints it (JSON), parsed."""
    report = simulate(
        plan_of(name),
        contacts(),
        script(name) if events is None else events,
        instant(start),
        instant(end),
        seed=seed,
    )
    result: dict[str, Any] = json.loads(report_to_json(report))
    return result


def step(
    node: str,
    at: str,
    port: str | None = None,
    *,
    left: str | None = None,
    reasons: dict[str, str] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"node": node, "at": at}
    if port is not None:
        entry["port"] = port
    if reasons is not None:
        entry["reasons"] = reasons
    if reason is not None:
        entry["reason"] = reason
    if left is not None:
        entry["left"] = left
    return entry


def message(
    node: str, channel: str, to: str, at: str, topic: str, **content: str
) -> dict[str, Any]:
    return {"node": node, "channel": channel, "to": to, "at": at, "content": content,
            "topic": topic}


def run(
    contact: str,
    status: str,
    path: list[dict[str, Any]],
    messages: list[dict[str, Any]] | None = None,
    **extra: str,
) -> dict[str, Any]:
    return {"contact": contact, "status": status, "path": path, "messages": messages or [],
            **extra}


def hours_between(earlier: str, later: str) -> float:
    return (instant(later) - instant(earlier)).total_seconds() / 3600


# --- the documents themselves -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_with_the_cli(name: str) -> None:
    result = castflow("flow", "validate", f"flows/examples/{name}.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"flows/examples/{name}.json: OK (")
    assert result.stderr == ""


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips(name: str) -> None:
    stored = (EXAMPLES / f"{name}.json").read_bytes()
    document = decode_document(stored)
    exported = encode_document(document)
    assert decode_document(exported) == document
    assert encode_document(decode_document(exported)) == exported
    # The files are kept exactly as `export` writes them, so an export diff is always empty.
    assert exported == stored


@pytest.mark.parametrize("name", NAMES)
def test_example_is_laid_out_for_the_canvas(name: str) -> None:
    document = decode_document((EXAMPLES / f"{name}.json").read_bytes())
    y = {}
    for node in document.nodes:
        assert node.label, f"{node.id} has no label"
        assert len(node.label) <= 30, f"{node.id}: the label is not short"
        assert node.position is not None, f"{node.id} has no position"
        y[node.id] = node.position.y
    for edge in document.edges:  # top to bottom: every edge points down the canvas
        assert y[edge.to] > y[edge.from_], edge.describe()
    assert (DATA / f"{name}.events.jsonl").is_file()


def test_at_least_one_example_runs_on_rome_time() -> None:
    zones = {plan_of(name).timezone.key for name in NAMES}
    assert "Europe/Rome" in zones


def test_contacts_cover_the_profile_shapes() -> None:
    people = {c["id"]: c for c in contacts()}
    assert len(people) == 8
    assert {c.get("timezone") for c in people.values()} >= {
        "Europe/Rome", "America/New_York", None
    }
    assert any("chat" in c for c in people.values())
    assert any(c.get("push_tokens") for c in people.values())
    assert any("email" not in c for c in people.values())
    assert any("opted_out" in c.get("consent", {}).values() for c in people.values())
    assert sum(bool(c.get("preferences")) for c in people.values()) == 6


# --- welcome series -----------------------------------------------------------------------------

WELCOME_TEXT = (
    "Hi {name},\n\nthanks for joining Orto. Your {plan} plan is ready: pick the vegetables for "
    "your first box at https://orto.example/start\n\nSee you soon,\nthe Orto team"
)
TIPS_TEXT = (
    "Hi {name},\n\n1. Skip or pause any week from Settings.\n2. Swap items until Thursday "
    "midnight.\n3. Rate your recipes to get better suggestions.\n\nthe Orto team"
)
TIPS_SUBJECT = "3 tips for your first week with Orto"
ALL_NO_ADDRESS = {"email": "no_address", "sms": "no_address", "push": "no_address",
                  "chat": "no_address"}


def welcome_email(to: str, at: str, name: str, plan: str) -> dict[str, Any]:
    return message("welcome", "email", to, at, "onboarding",
                   subject=f"Welcome to Orto, {name}!",
                   text=WELCOME_TEXT.format(name=name, plan=plan))


def tips_email(to: str, at: str, name: str) -> dict[str, Any]:
    return message("tips", "email", to, at, "onboarding",
                   subject=TIPS_SUBJECT, text=TIPS_TEXT.format(name=name))


def welcome_path(
    at: str, port: str, wake: str | None, reasons: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    path = [
        step("start", at, "next"),
        step("pick", at, port, reasons=reasons),
        step("welcome", at, "sent"),
    ]
    if wake is None:
        return [*path, step("later", at)]
    return [*path, step("later", at, "next", left=wake), step("tips", wake, "sent")]


# `make run`: --start 2026-03-02T08:00:00Z --horizon P7D; 7 calendar days in Europe/Rome (no
# daylight-saving change in between) end at 2026-03-09T08:00:00Z.
MAKE_RUN_START = "2026-03-02T08:00:00Z"
MAKE_RUN_END = "2026-03-09T08:00:00Z"

WELCOME_RUNS = [
    # Prefers push for onboarding: it goes first. Her later sign-up (first line of the script,
    # 2026-03-05, plan "solo") is ignored: entry "once", and the script is replayed in time order.
    run("c-anna", "completed", welcome_path("2026-03-02T08:15:00Z", "push",
                                            "2026-03-03T08:15:00Z"), [
        message("welcome", "push", "fcm:anna-pixel-8", "2026-03-02T08:15:00Z", "onboarding",
                title="Welcome to Orto", body="Hi Anna, your first box is one tap away.",
                url="https://orto.example/start"),
        message("tips", "push", "fcm:anna-pixel-8", "2026-03-03T08:15:00Z", "onboarding",
                title="Tip of the day", body="You can swap items until Thursday midnight."),
    ]),
    # New York, signs up on Saturday 10:00 EST; the clocks spring forward on Sunday 2026-03-08:
    # "P1D" lands on Sunday 10:00 EDT, 23 hours later.
    run("c-bill", "completed", welcome_path("2026-03-07T15:00:00Z", "email",
                                            "2026-03-08T14:00:00Z", {"sms": "opted_out"}), [
        welcome_email("bill.carter@example.com", "2026-03-07T15:00:00Z", "Bill", "solo"),
        tips_email("bill.carter@example.com", "2026-03-08T14:00:00Z", "Bill"),
    ]),
    # Prefers email but has no address: next candidate in order is sms. (Her event is listed twice
    # with the same id: counted once.)
    run("c-chiara", "completed", welcome_path("2026-03-03T18:30:00Z", "sms",
                                              "2026-03-04T18:30:00Z", {"email": "no_address"}), [
        message("welcome", "sms", "+393389876543", "2026-03-03T18:30:00Z", "onboarding",
                text="Hi Chiara, welcome to Orto! Pick your first box: "
                "https://orto.example/start"),
        message("tips", "sms", "+393389876543", "2026-03-04T18:30:00Z", "onboarding",
                text="Orto tip for Chiara: skip or pause any week from Settings. "
                "Reply STOP to opt out."),
    ]),
    # Prefers push but opted out of it; no plan in the event: the template's default "starter".
    run("c-dan", "completed", welcome_path("2026-03-04T07:45:00Z", "email",
                                           "2026-03-05T07:45:00Z", {"push": "opted_out"}), [
        welcome_email("dan.miller@example.org", "2026-03-04T07:45:00Z", "Dan", "starter"),
        tips_email("dan.miller@example.org", "2026-03-05T07:45:00Z", "Dan"),
    ]),
    run("c-farid", "exited", [
        step("start", "2026-03-04T10:00:00Z", "next"),
        step("pick", "2026-03-04T10:00:00Z", "none",
             reasons={"email": "opted_out", "sms": "opted_out", "push": "opted_out",
                      "chat": "opted_out"}),
        step("unreachable", "2026-03-04T10:00:00Z", reason="no_reachable_channel"),
    ], reason="no_reachable_channel"),
    # Chat (whatsapp) is her onboarding channel; the tips are due after the horizon.
    run("c-giulia", "waiting", welcome_path("2026-03-08T20:00:00Z", "chat", None), [
        message("welcome", "chat", "whatsapp:+393331112233", "2026-03-08T20:00:00Z",
                "onboarding", text="Hi Giulia 👋 welcome to Orto! Reply BOX to pick your first "
                "box, or HELP to talk to us."),
    ], waiting_until="2026-03-09T20:00:00Z"),
    # Tokyo has no daylight saving; no first name: "there".
    run("c-hiro", "completed", welcome_path("2026-03-05T23:30:00Z", "email",
                                            "2026-03-06T23:30:00Z"), [
        welcome_email("hiro.tanaka@example.jp", "2026-03-05T23:30:00Z", "there", "couple"),
        tips_email("hiro.tanaka@example.jp", "2026-03-06T23:30:00Z", "there"),
    ]),
    # Not in contacts.jsonl: enters as a bare profile, with no address on any channel.
    run("c-newcomer", "exited", [
        step("start", "2026-03-06T12:00:00Z", "next"),
        step("pick", "2026-03-06T12:00:00Z", "none", reasons=ALL_NO_ADDRESS),
        step("unreachable", "2026-03-06T12:00:00Z", reason="no_reachable_channel"),
    ], reason="no_reachable_channel"),
]

WELCOME_NODES = {
    "start": {"entered": 8, "ports": {"next": 8}},
    "pick": {"entered": 8, "ports": {"push": 1, "email": 3, "sms": 1, "chat": 1, "none": 2}},
    "welcome": {"entered": 6, "ports": {"sent": 6}},
    "unreachable": {"entered": 2, "ports": {}},
    "later": {"entered": 6, "ports": {"next": 5}},
    "tips": {"entered": 5, "ports": {"sent": 5}},
}


def test_welcome_series() -> None:
    report = simulated("welcome_series", MAKE_RUN_START, MAKE_RUN_END)
    assert report["runs"] == WELCOME_RUNS
    assert report["nodes"] == WELCOME_NODES
    assert report["messages"] == {"push": 2, "email": 6, "sms": 2, "chat": 1}
    # c-emma never signed up: no run.
    assert "c-emma" not in {r["contact"] for r in report["runs"]}


def test_welcome_series_through_the_cli_as_make_run_does() -> None:
    result = castflow(
        "simulate", "flows/examples/welcome_series.json",
        "--contacts", "flows/examples/data/contacts.jsonl",
        "--events", "flows/examples/data/welcome_series.events.jsonl",
        "--start", MAKE_RUN_START, "--horizon", "P7D",
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == simulated("welcome_series", MAKE_RUN_START, MAKE_RUN_END)
    assert printed["runs"] == WELCOME_RUNS


def test_welcome_wait_keeps_the_local_time_across_daylight_saving_changes() -> None:
    report = simulated("welcome_series", "2026-03-20T00:00:00Z", "2026-11-30T00:00:00Z", inline(
        # Rome springs forward on 2026-03-29: 10:00 CET -> 10:00 CEST is 23 hours.
        {"contact": "c-anna", "name": "signed_up", "at": "2026-03-28T09:00:00Z"},
        # No time zone of his own: the flow's (Europe/Rome): 19:00 CET -> 19:00 CEST.
        {"contact": "c-dan", "name": "signed_up", "at": "2026-03-28T18:00:00Z"},
        # Rome falls back on 2026-10-25: 10:00 CEST -> 10:00 CET is 25 hours.
        {"contact": "c-giulia", "name": "signed_up", "at": "2026-10-24T08:00:00Z"},
        # New York falls back on 2026-11-01: 10:00 EDT -> 10:00 EST is 25 hours.
        {"contact": "c-bill", "name": "signed_up", "at": "2026-10-31T14:00:00Z"},
    ))
    by_contact = {r["contact"]: r for r in report["runs"]}
    assert by_contact["c-anna"]["path"] == welcome_path(
        "2026-03-28T09:00:00Z", "push", "2026-03-29T08:00:00Z")
    assert by_contact["c-dan"]["path"] == welcome_path(
        "2026-03-28T18:00:00Z", "email", "2026-03-29T17:00:00Z", {"push": "opted_out"})
    assert by_contact["c-giulia"]["path"] == welcome_path(
        "2026-10-24T08:00:00Z", "chat", "2026-10-25T09:00:00Z")
    assert by_contact["c-bill"]["path"] == welcome_path(
        "2026-10-31T14:00:00Z", "email", "2026-11-01T15:00:00Z", {"sms": "opted_out"})
    waited = {cid: hours_between(r["path"][3]["at"], r["path"][3]["left"])
              for cid, r in by_contact.items()}
    assert waited == {"c-anna": 23, "c-dan": 23, "c-giulia": 25, "c-bill": 25}
    assert [m["at"] for m in by_contact["c-giulia"]["messages"]] == [
        "2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z"]
    assert by_contact["c-giulia"]["messages"][1]["content"] == {
        "text": "Tip for you, Giulia: you can swap items until Thursday midnight. "
        "Reply SWAP to try it."}
    assert all(r["status"] == "completed" for r in report["runs"])


# --- abandoned cart -----------------------------------------------------------------------------


def reminder_email(at: str, name: str, items: int, total: str, url: str) -> dict[str, Any]:
    return message("remind", "email", "bill.carter@example.com", at, "offers",
                   subject=f"{name}, your cart is waiting",
                   text=f"Hi {name},\n\nyou left {items} item(s) worth €{total} in your cart. "
                   f"They are saved for you: {url}\n\nthe Orto team")


def reminder_push(to: str, at: str, total: str, url: str) -> dict[str, Any]:
    return message("remind", "push", to, at, "offers", title="Still thinking it over?",
                   body=f"Your cart worth €{total} is saved. Tap to check out.", url=url)


def cart_timeout_path(at: str, timeout: str, port: str,
                      reasons: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [
        step("start", at, "next"),
        step("wait_purchase", at, "timeout", left=timeout),
        step("pick", timeout, port, reasons=reasons),
        step("remind", timeout, "sent"),
    ]


ABANDONED_CART_RUNS = [
    # Bought 11.5 hours later: leaves by `event`, exits with reason "purchased".
    run("c-anna", "exited", [
        step("start", "2026-03-02T10:00:00Z", "next"),
        step("wait_purchase", "2026-03-02T10:00:00Z", "event", left="2026-03-02T21:30:00Z"),
        step("bought", "2026-03-02T21:30:00Z", reason="purchased"),
    ], reason="purchased"),
    # First cart: no purchase within 24 h; prefers sms for offers but opted out: email. His second
    # abandonment at 20:00 is ignored (entry "single_active": a run is still active), and the
    # purchase on 03-05 comes after the run ended, so it changes nothing.
    run("c-bill", "completed", cart_timeout_path(
        "2026-03-03T14:00:00Z", "2026-03-04T14:00:00Z", "email", {"sms": "opted_out"}), [
        reminder_email("2026-03-04T14:00:00Z", "Bill", 1, "42.50",
                       "https://orto.example/cart/b3d2"),
    ]),
    # A new cart once the first run has ended: a second run.
    run("c-bill", "completed", cart_timeout_path(
        "2026-03-06T12:00:00Z", "2026-03-07T12:00:00Z", "email", {"sms": "opted_out"}), [
        reminder_email("2026-03-07T12:00:00Z", "Bill", 1, "18.25",
                       "https://orto.example/cart/c4a9"),
    ]),
    # No email address: push. Her purchase comes 1.5 h after the 24 h are over: too late.
    run("c-chiara", "completed", cart_timeout_path(
        "2026-03-06T07:30:00Z", "2026-03-07T07:30:00Z", "push", {"email": "no_address"}), [
        reminder_push("apns:chiara-iphone", "2026-03-07T07:30:00Z", "64.40",
                      "https://orto.example/cart/a8c7"),
    ]),
    # Prefers push for offers: her first token.
    run("c-emma", "completed", cart_timeout_path(
        "2026-03-04T16:00:00Z", "2026-03-05T16:00:00Z", "push"), [
        reminder_push("apns:emma-ipad", "2026-03-05T16:00:00Z", "120.00",
                      "https://orto.example/cart/e5f0"),
    ]),
    run("c-farid", "exited", [
        step("start", "2026-03-03T09:00:00Z", "next"),
        step("wait_purchase", "2026-03-03T09:00:00Z", "timeout", left="2026-03-04T09:00:00Z"),
        step("pick", "2026-03-04T09:00:00Z", "none",
             reasons={"email": "opted_out", "push": "opted_out", "sms": "opted_out"}),
        step("unreachable", "2026-03-04T09:00:00Z", reason="no_reachable_channel"),
    ], reason="no_reachable_channel"),
    # Still waiting for a purchase at the horizon.
    run("c-giulia", "waiting", [
        step("start", "2026-03-08T19:00:00Z", "next"),
        step("wait_purchase", "2026-03-08T19:00:00Z"),
    ], waiting_until="2026-03-09T19:00:00Z", awaiting="purchased"),
]


def test_abandoned_cart() -> None:
    report = simulated("abandoned_cart", MAKE_RUN_START, MAKE_RUN_END)
    # c-dan's cart is empty (cart_total 0): the trigger's `where` keeps him out.
    assert report["runs"] == ABANDONED_CART_RUNS
    assert report["nodes"] == {
        "start": {"entered": 7, "ports": {"next": 7}},
        "wait_purchase": {"entered": 7, "ports": {"event": 1, "timeout": 5}},
        "bought": {"entered": 1, "ports": {}},
        "pick": {"entered": 5, "ports": {"email": 2, "push": 2, "none": 1}},
        "unreachable": {"entered": 1, "ports": {}},
        "remind": {"entered": 4, "ports": {"sent": 4}},
    }
    assert report["messages"] == {"email": 2, "push": 2}


def test_abandoned_cart_timeout_is_exact_hours_across_daylight_saving() -> None:
    # PT24H is elapsed time: 18:00 CET on 03-28 + 24 h = 19:00 CEST on 03-29 (not 18:00).
    report = simulated("abandoned_cart", "2026-03-20T00:00:00Z", "2026-04-05T00:00:00Z", inline(
        {"contact": "c-anna", "name": "cart_abandoned", "at": "2026-03-28T17:00:00Z",
         "properties": {"cart_total": 31.5, "item_count": 2,
                        "cart_url": "https://orto.example/cart/dst1"}},
    ))
    assert report["runs"] == [
        run("c-anna", "completed", cart_timeout_path(
            "2026-03-28T17:00:00Z", "2026-03-29T17:00:00Z", "email"), [
            message("remind", "email", "anna.rossi@example.it", "2026-03-29T17:00:00Z", "offers",
                    subject="Anna, your cart is waiting",
                    text="Hi Anna,\n\nyou left 2 item(s) worth €31.50 in your cart. They are "
                    "saved for you: https://orto.example/cart/dst1\n\nthe Orto team"),
        ]),
    ]


def test_abandoned_cart_counts_only_purchases_after_reaching_the_wait() -> None:
    cart = {"name": "cart_abandoned", "at": "2026-03-05T19:00:00Z"}
    report = simulated("abandoned_cart", "2026-03-05T00:00:00Z", "2026-03-10T00:00:00Z", inline(
        # Purchases at the very moment the run reaches the wait (listed before and after the
        # cart) do not count: the run times out and gets the reminder.
        {"contact": "c-giulia", "name": "purchased", "at": "2026-03-05T19:00:00Z"},
        {**cart, "contact": "c-giulia", "properties": {
            "cart_total": 35.9, "item_count": 2, "cart_url": "https://orto.example/cart/f2d6"}},
        {"contact": "c-giulia", "name": "purchased", "at": "2026-03-05T19:00:00Z"},
        # One second later counts.
        {**cart, "contact": "c-emma", "properties": {
            "cart_total": 12, "item_count": 1, "cart_url": "https://orto.example/cart/e1"}},
        {"contact": "c-emma", "name": "purchased", "at": "2026-03-05T19:00:01Z"},
    ))
    assert report["runs"] == [
        run("c-emma", "exited", [
            step("start", "2026-03-05T19:00:00Z", "next"),
            step("wait_purchase", "2026-03-05T19:00:00Z", "event", left="2026-03-05T19:00:01Z"),
            step("bought", "2026-03-05T19:00:01Z", reason="purchased"),
        ], reason="purchased"),
        run("c-giulia", "completed", cart_timeout_path(
            "2026-03-05T19:00:00Z", "2026-03-06T19:00:00Z", "sms"), [
            message("remind", "sms", "+393331112233", "2026-03-06T19:00:00Z", "offers",
                    text="Orto: Giulia, your cart (€35.90) is still waiting. "
                    "Check out: https://orto.example/cart/f2d6"),
        ]),
    ]


def test_event_times_with_an_offset_are_reported_in_utc() -> None:
    report = simulated("abandoned_cart", MAKE_RUN_START, MAKE_RUN_END, inline(
        {"contact": "c-anna", "name": "cart_abandoned", "at": "2026-03-02T11:00:00+01:00",
         "properties": {"cart_total": 10, "item_count": 1, "cart_url": "https://orto.example/c"}},
        {"contact": "c-anna", "name": "purchased", "at": "2026-03-02T14:00:00+01:00"},
    ))
    assert report["runs"][0]["path"] == [
        step("start", "2026-03-02T10:00:00Z", "next"),
        step("wait_purchase", "2026-03-02T10:00:00Z", "event", left="2026-03-02T13:00:00Z"),
        step("bought", "2026-03-02T13:00:00Z", reason="purchased"),
    ]


# --- re-engagement ------------------------------------------------------------------------------

WINBACK_TEXT = (
    "Hi {name},\n\nit has been a while! Here is 20% off your next box with code COMEBACK20, "
    "valid for 14 days: https://orto.example/comeback\n\nthe Orto team"
)


def winback(to: str, at: str, name: str) -> dict[str, Any]:
    return message("winback", "email", to, at, "newsletter",
                   subject=f"We miss you, {name}", text=WINBACK_TEXT.format(name=name))


def follow_up_sms(to: str, at: str, name: str) -> dict[str, Any]:
    return message("follow_up", "sms", to, at, "newsletter",
                   text=f"Orto: {name}, your 20% off (code COMEBACK20) is waiting for you: "
                   "https://orto.example/comeback Reply STOP to opt out.")


def dormant_path(sent: str, timeout: str, slot: str, sms_port: str,
                 sms_reason: str | None = None) -> list[dict[str, Any]]:
    return [
        step("start", sent, "next"),
        step("wait_open", sent, "timeout", left=timeout),
        step("dormant", timeout, "next"),
        step("winback", timeout, "sent"),
        step("slot", timeout, "next", left=slot),
        step("follow_up", slot, sms_port, reason=sms_reason),
    ]


# --start 2026-03-02T08:00:00Z --horizon P30D: 09:00 CET on 03-02 -> 09:00 CEST on 04-01.
RE_START = "2026-03-02T08:00:00Z"
RE_END = "2026-04-01T07:00:00Z"

RE_ENGAGEMENT_RUNS = [
    run("c-anna", "exited", [
        step("start", "2026-03-03T08:00:00Z", "next"),
        step("wait_open", "2026-03-03T08:00:00Z", "event", left="2026-03-05T19:00:00Z"),
        step("engaged", "2026-03-05T19:00:00Z", reason="opened"),
    ], reason="opened"),
    # Second email (the first run has ended). P21D spans Rome's spring-forward (03-29): 09:00 CET
    # on 03-10 -> 09:00 CEST on 03-31, 21 days less an hour. That is a Tuesday at 09:00: the
    # SMS goes at 10:00 the same day. The email of 03-17 comes while she waits: ignored.
    run("c-anna", "completed", dormant_path(
        "2026-03-10T08:00:00Z", "2026-03-31T07:00:00Z", "2026-03-31T08:00:00Z", "sent"), [
        winback("anna.rossi@example.it", "2026-03-31T07:00:00Z", "Anna"),
        follow_up_sms("+393471234567", "2026-03-31T08:00:00Z", "Anna"),
    ]),
    # New York springs forward on 03-08: 09:00 EST on 03-02 -> 09:00 EDT on Monday 03-23; the next
    # Tue/Thu 10:00 is Tuesday 10:00 EDT. He opted out of SMS.
    run("c-bill", "completed", dormant_path(
        "2026-03-02T14:00:00Z", "2026-03-23T13:00:00Z", "2026-03-24T14:00:00Z", "failed",
        "opted_out"), [
        winback("bill.carter@example.com", "2026-03-23T13:00:00Z", "Bill"),
    ]),
    # No time zone: the flow's Europe/Rome. Times out on Thursday 03-26 at 11:00 CET, after that
    # day's 10:00, so the SMS slot is Tuesday 03-31 10:00 CEST; he has no phone. (His open at
    # 09:30 on 03-05 came before the email: it does not count.)
    run("c-dan", "completed", dormant_path(
        "2026-03-05T10:00:00Z", "2026-03-26T10:00:00Z", "2026-03-31T08:00:00Z", "failed",
        "no_address"), [
        winback("dan.miller@example.org", "2026-03-26T10:00:00Z", "Dan"),
    ]),
    run("c-giulia", "waiting", [
        step("start", "2026-03-20T09:00:00Z", "next"),
        step("wait_open", "2026-03-20T09:00:00Z"),
    ], waiting_until="2026-04-10T08:00:00Z", awaiting="email_opened"),
]


def test_re_engagement() -> None:
    report = simulated("re_engagement", RE_START, RE_END)
    assert report["runs"] == RE_ENGAGEMENT_RUNS
    assert report["nodes"] == {
        "start": {"entered": 5, "ports": {"next": 5}},
        "wait_open": {"entered": 5, "ports": {"event": 1, "timeout": 3}},
        "engaged": {"entered": 1, "ports": {}},
        "dormant": {"entered": 3, "ports": {"next": 3}},
        "winback": {"entered": 3, "ports": {"sent": 3}},
        "slot": {"entered": 3, "ports": {"next": 3}},
        "follow_up": {"entered": 3, "ports": {"sent": 1, "failed": 2}},
    }
    assert report["messages"] == {"email": 3, "sms": 1}
    assert hours_between("2026-03-10T08:00:00Z", "2026-03-31T07:00:00Z") == 21 * 24 - 1
    assert hours_between("2026-03-02T14:00:00Z", "2026-03-23T13:00:00Z") == 21 * 24 - 1


def test_re_engagement_slot_is_strictly_after_arrival() -> None:
    # Times out on Tuesday 03-24 at exactly 10:00 CET: the slot is Thursday's 10:00, not now.
    report = simulated("re_engagement", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", inline(
        {"contact": "c-giulia", "name": "email_sent", "at": "2026-03-03T09:00:00Z"},
    ))
    assert report["runs"] == [
        run("c-giulia", "completed", dormant_path(
            "2026-03-03T09:00:00Z", "2026-03-24T09:00:00Z", "2026-03-26T09:00:00Z", "sent"), [
            winback("giulia.verdi@example.it", "2026-03-24T09:00:00Z", "Giulia"),
            follow_up_sms("+393331112233", "2026-03-26T09:00:00Z", "Giulia"),
        ]),
    ]


# --- discount by preference ---------------------------------------------------------------------


def discount_path(at: str, port: str, send: str,
                  reasons: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [step("start", at, "next"), step("pick", at, port, reasons=reasons),
            step(send, at, "sent")]


def discount_email(to: str, at: str, name: str, orders: int, code: str,
                   percent: int) -> dict[str, Any]:
    return message("send_email", "email", to, at, "discounts",
                   subject=f"{name}, here is {percent}% off",
                   text=f"Hi {name},\n\nthank you for your {orders} orders! Use code {code} for "
                   f"{percent}% off your next box.\n\nthe Orto team")


def discount_push(to: str, at: str, code: str) -> dict[str, Any]:
    return message("send_push", "push", to, at, "discounts", title="15% off, just for you",
                   body=f"Use code {code} on your next box.",
                   url=f"https://orto.example/redeem?code={code}")


DISCOUNT_RUNS = [
    # Prefers sms. Her second milestone (03-07) is ignored: entry "once".
    run("c-anna", "completed", discount_path("2026-03-02T09:00:00Z", "sms", "send_sms"), [
        message("send_sms", "sms", "+393471234567", "2026-03-02T09:00:00Z", "discounts",
                text="Orto: thanks for 5 orders, Anna! 15% off your next box with code "
                "ANNA-5X7Q"),
    ]),
    # Prefers push but has no token, then sms (opted out), then email.
    run("c-bill", "completed", discount_path(
        "2026-03-02T15:30:00Z", "email", "send_email",
        {"push": "no_address", "sms": "opted_out"}), [
        discount_email("bill.carter@example.com", "2026-03-02T15:30:00Z", "Bill", 12,
                       "BILL-9K2M", 20),
    ]),
    # Her first milestone (3 orders) fails the trigger's `where`, so she enters on the second.
    run("c-chiara", "completed", discount_path("2026-03-05T11:00:00Z", "push", "send_push"), [
        discount_push("apns:chiara-iphone", "2026-03-05T11:00:00Z", "CHIA-7P9L"),
    ]),
    # Prefers chat, which is not a candidate here: candidates in order, sms has no address.
    run("c-emma", "completed", discount_path(
        "2026-03-04T22:00:00Z", "push", "send_push", {"sms": "no_address"}), [
        discount_push("apns:emma-ipad", "2026-03-04T22:00:00Z", "EMMA-6H2W"),
    ]),
    run("c-farid", "exited", [
        step("start", "2026-03-06T10:00:00Z", "next"),
        step("pick", "2026-03-06T10:00:00Z", "none",
             reasons={"sms": "opted_out", "push": "opted_out", "email": "opted_out"}),
        step("unreachable", "2026-03-06T10:00:00Z", reason="no_reachable_channel"),
    ], reason="no_reachable_channel"),
    run("c-giulia", "completed", discount_path("2026-03-03T17:00:00Z", "email", "send_email"), [
        discount_email("giulia.verdi@example.it", "2026-03-03T17:00:00Z", "Giulia", 6,
                       "GIUL-3R8T", 15),
    ]),
]


def test_discount_by_preference() -> None:
    report = simulated("discount_by_preference", MAKE_RUN_START, MAKE_RUN_END)
    assert report["runs"] == DISCOUNT_RUNS
    assert report["nodes"] == {
        "start": {"entered": 6, "ports": {"next": 6}},
        "pick": {"entered": 6, "ports": {"sms": 1, "push": 2, "email": 2, "none": 1}},
        "send_sms": {"entered": 1, "ports": {"sent": 1}},
        "send_push": {"entered": 2, "ports": {"sent": 2}},
        "send_email": {"entered": 2, "ports": {"sent": 2}},
        "unreachable": {"entered": 1, "ports": {}},
    }
    assert report["messages"] == {"sms": 1, "push": 2, "email": 2}


# --- A/B subject lines --------------------------------------------------------------------------

SPRING_TEXT = (
    "Hi {name},\n\nasparagus, peas and wild garlic are back. Build your spring box: "
    "https://orto.example/spring\n\nthe Orto team"
)
AB_START = "2026-03-03T09:00:00Z"
AB_END = "2026-03-10T09:00:00Z"


def spring(variant: str, to: str, name: str) -> dict[str, Any]:
    subject = ("Spring boxes are here" if variant == "a"
               else f"{name}, your spring box is ready" if name != "there"
               else "Your spring box is ready")
    return message(f"send_{variant}", "email", to, AB_START, "newsletter", subject=subject,
                   text=SPRING_TEXT.format(name=name))


def ab_path(variant: str, *rest: dict[str, Any]) -> list[dict[str, Any]]:
    return [step("start", AB_START, "next"), step("split", AB_START, variant), *rest]


def ab_sent(variant: str, port: str, left: str, opened: bool) -> list[dict[str, Any]]:
    path = ab_path(variant, step(f"send_{variant}", AB_START, "sent"),
                   step(f"opened_{variant}", AB_START, port, left=left))
    return [*path, step("opened", left, reason="opened")] if opened else path


# Seed 0 puts c-anna, c-bill and c-giulia in variant a, the others in b. The schedule enrols every
# contact with an email address (not c-chiara) at the start; P3D ends at 09:00 UTC on 03-06 for
# everyone (no daylight-saving change in those days; c-dan and the flow run on UTC).
AB_RUNS = [
    run("c-anna", "exited", ab_sent("a", "event", "2026-03-03T12:40:00Z", opened=True),
        [spring("a", "anna.rossi@example.it", "Anna")], reason="opened"),
    # His only open is of another campaign: the wait's `where` ignores it.
    run("c-bill", "completed", ab_sent("a", "timeout", "2026-03-06T09:00:00Z", opened=False),
        [spring("a", "bill.carter@example.com", "Bill")]),
    run("c-dan", "exited", ab_sent("b", "event", "2026-03-03T09:20:00Z", opened=True),
        [spring("b", "dan.miller@example.org", "Dan")], reason="opened"),
    run("c-emma", "completed",
        ab_path("b", step("send_b", AB_START, "failed", reason="opted_out"))),
    run("c-farid", "completed",
        ab_path("b", step("send_b", AB_START, "failed", reason="opted_out"))),
    # Opened on 03-06 at 18:00, after the three days: counted as not opened.
    run("c-giulia", "completed", ab_sent("a", "timeout", "2026-03-06T09:00:00Z", opened=False),
        [spring("a", "giulia.verdi@example.it", "Giulia")]),
    run("c-hiro", "exited", ab_sent("b", "event", "2026-03-05T01:10:00Z", opened=True),
        [spring("b", "hiro.tanaka@example.jp", "there")], reason="opened"),
]


def test_ab_subject_lines() -> None:
    report = simulated("ab_subject_lines", AB_START, AB_END)
    assert report["runs"] == AB_RUNS
    assert report["nodes"] == {
        "start": {"entered": 7, "ports": {"next": 7}},
        "split": {"entered": 7, "ports": {"a": 3, "b": 4}},
        "send_a": {"entered": 3, "ports": {"sent": 3}},
        "send_b": {"entered": 4, "ports": {"sent": 2, "failed": 2}},
        "opened_a": {"entered": 3, "ports": {"event": 1, "timeout": 2}},
        "opened_b": {"entered": 2, "ports": {"event": 2}},
        "opened": {"entered": 3, "ports": {}},
    }
    assert report["messages"] == {"email": 5}


def test_ab_assignment_is_sticky_and_seeded() -> None:
    def variants(seed: int, events: list[Event]) -> dict[str, str]:
        report = simulated("ab_subject_lines", AB_START, AB_END, events, seed=seed)
        return {r["contact"]: r["path"][1]["port"] for r in report["runs"]}

    assert variants(0, []) == variants(0, script("ab_subject_lines")) == {
        "c-anna": "a", "c-bill": "a", "c-dan": "b", "c-emma": "b", "c-farid": "b",
        "c-giulia": "a", "c-hiro": "b",
    }
    assert variants(1, []) != variants(0, [])
