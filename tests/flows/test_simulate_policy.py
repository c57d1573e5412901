"""Dry runs with a delivery policy: refused sends are listed per run (and named in the path),
deferred sends wait on their node and go when the gate allows, over a daylight-saving change;
`castflow simulate --policy` takes the policy from a file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.compiler import compile_flow
from flows.contacts import decode_contact
from flows.policy import DryRunPolicy, compile_policy, load_policy_file, parse_settings
from flows.simulator import report_to_json, simulate
from nodes import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]

FLOW: dict[str, Any] = {
    "format": "castflow.flow/1", "name": "Digest",
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "hello", "type": "send", "config": {
            "channel": "email", "topic": "news",
            "content": {"email": {"subject": "Hello", "text": "Hi {{ contact.id }}"}}}},
        {"id": "again", "type": "send", "config": {
            "channel": "email", "topic": "news", "when_capped": "wait",
            "content": {"email": {"subject": "Again", "text": "More news"}}}},
        {"id": "receipt", "type": "send", "config": {
            "channel": "email", "topic": "receipts",
            "content": {"email": {"subject": "Receipt", "text": "Paid"}}}},
    ],
    "edges": [
        {"from": "start", "to": "hello"},
        {"from": "hello", "port": "sent", "to": "again"},
        {"from": "again", "port": "sent", "to": "receipt"},
    ],
}
POLICY: dict[str, Any] = {
    "caps": {"email": {"day": 1}},
    "transactional_topics": ["receipts"],
    "quiet_hours": {"start": "21:00", "end": "08:00"},
    "suppressions": [{"channel": "email", "address": "SUP@example.com",
                      "reason": "hard_bounce"}],
}
CONTACTS = [
    {"id": "c-rome", "email": "rome@example.it", "timezone": "Europe/Rome"},
    {"id": "c-ny", "email": "ny@example.com", "timezone": "America/New_York"},
    {"id": "c-sup", "email": "sup@example.com"},
    {"id": "c-topic", "email": "topic@example.com", "consent": {"email:news": "opted_out"}},
]
# 21:30 in Rome on the night clocks spring forward (quiet); 16:30 in New York (not quiet).
START = datetime(2026, 3, 28, 20, 30, tzinfo=UTC)


def dry_run(policy: DryRunPolicy | None) -> dict[str, Any]:
    plan = compile_flow(json.dumps(FLOW), CATALOGUE)
    contacts = [decode_contact(json.dumps(c)) for c in CONTACTS]
    report = simulate(plan, contacts, [], START, START + timedelta(days=3), policy=policy)
    result: dict[str, Any] = json.loads(report_to_json(report))
    return result


def runs_by_contact(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["contact"]: run for run in report["runs"]}


def test_a_dry_run_shows_deferrals_and_refusals() -> None:
    runs = runs_by_contact(dry_run(load_policy_file(json.dumps(POLICY))))

    # Rome: quiet until 08:00 local, which is 06:00 UTC after the change to summer time; the
    # second news email waits 24 hours for the day cap; the receipt is transactional.
    rome = runs["c-rome"]
    assert rome["status"] == "completed"
    assert rome["path"] == [
        {"node": "start", "at": "2026-03-28T20:30:00Z", "port": "next"},
        {"node": "hello", "at": "2026-03-28T20:30:00Z", "port": "sent",
         "left": "2026-03-29T06:00:00Z", "deferred": "quiet_hours"},
        {"node": "again", "at": "2026-03-29T06:00:00Z", "port": "sent",
         "left": "2026-03-30T06:00:00Z", "deferred": "capped"},
        {"node": "receipt", "at": "2026-03-30T06:00:00Z", "port": "sent"},
    ]
    assert [(m["node"], m["at"]) for m in rome["messages"]] == [
        ("hello", "2026-03-29T06:00:00Z"), ("again", "2026-03-30T06:00:00Z"),
        ("receipt", "2026-03-30T06:00:00Z")]
    assert "refused" not in rome

    ny = runs["c-ny"]
    assert [(m["node"], m["at"]) for m in ny["messages"]] == [
        ("hello", "2026-03-28T20:30:00Z"), ("again", "2026-03-29T20:30:00Z"),
        ("receipt", "2026-03-29T20:30:00Z")]

    sup = runs["c-sup"]
    assert sup["path"][1] == {"node": "hello", "at": "2026-03-28T20:30:00Z", "port": "failed",
                              "reason": "suppressed"}
    assert sup["messages"] == []
    assert sup["refused"] == [{"node": "hello", "channel": "email", "at": "2026-03-28T20:30:00Z",
                               "reason": "suppressed", "to": "sup@example.com",
                               "topic": "news"}]
    assert runs["c-topic"]["refused"][0]["reason"] == "topic_opt_out"


def test_a_run_deferred_past_the_horizon_is_waiting_on_the_send() -> None:
    plan = compile_flow(json.dumps(FLOW), CATALOGUE)
    policy = DryRunPolicy(compile_policy(parse_settings({k: v for k, v in POLICY.items()
                                                          if k != "suppressions"})))
    report = simulate(plan, [decode_contact(json.dumps(CONTACTS[0]))], [], START,
                      START + timedelta(hours=2), policy=policy)
    [run] = json.loads(report_to_json(report))["runs"]
    assert run["status"] == "waiting"
    assert run["waiting_until"] == "2026-03-29T06:00:00Z"
    assert run["path"][-1] == {"node": "hello", "at": "2026-03-28T20:30:00Z",
                               "deferred": "quiet_hours"}
    assert json.loads(report_to_json(report))["nodes"]["hello"] == {"entered": 1, "ports": {}}


def test_capped_sends_fail_by_default() -> None:
    flow = json.loads(json.dumps(FLOW))
    del flow["nodes"][2]["config"]["when_capped"]
    plan = compile_flow(json.dumps(flow), CATALOGUE)
    report = simulate(plan, [decode_contact(json.dumps(CONTACTS[1]))], [], START,
                      START + timedelta(days=1), policy=load_policy_file(json.dumps(POLICY)))
    [run] = json.loads(report_to_json(report))["runs"]
    assert run["path"][2] == {"node": "again", "at": "2026-03-28T20:30:00Z", "port": "failed",
                              "reason": "capped"}
    assert [r["reason"] for r in run["refused"]] == ["capped"]
    assert json.loads(report_to_json(report))["messages"] == {"email": 1}


def test_without_a_policy_the_report_is_as_before() -> None:
    report = dry_run(None)
    runs = runs_by_contact(report)
    assert all("refused" not in run for run in report["runs"])
    assert len(runs["c-rome"]["messages"]) == 3  # no caps, no quiet hours
    assert runs["c-sup"]["messages"][0]["to"] == "sup@example.com"
    # A topic opt-out is part of consent: it blocks with or without policy settings.
    assert runs["c-topic"]["path"][1]["reason"] == "topic_opt_out"


def castflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_castflow_simulate_with_a_policy_file(tmp_path: Path) -> None:
    (tmp_path / "flow.json").write_text(json.dumps(FLOW))
    (tmp_path / "contacts.jsonl").write_text("\n".join(json.dumps(c) for c in CONTACTS))
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    args = ["simulate", str(tmp_path / "flow.json"), "--contacts",
            str(tmp_path / "contacts.jsonl"), "--start", "2026-03-28T20:30:00Z",
            "--horizon", "P3D"]
    result = castflow(*args, "--policy", str(tmp_path / "policy.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == dry_run(load_policy_file(json.dumps(POLICY)))

    (tmp_path / "bad.json").write_text('{"caps": {"email": {"day": 0}}}')
    bad = castflow(*args, "--policy", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == (f"castflow: {tmp_path / 'bad.json'}: caps.email: Expected 'int' >= 1 "
                          "(at day).\n")
    missing = castflow(*args, "--policy", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "nope.json: no such file" in missing.stderr
