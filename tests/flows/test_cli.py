"""`castflow flow validate` and `castflow simulate`: exit codes, where output goes, no tracebacks.

Every case runs in-process (`backend.cli.main`, fast) and as a real process
(`python -m backend.cli`), which also proves the module entry point and exit status.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend import cli

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture(autouse=True)
def _keep_gc_enabled() -> Iterator[None]:
    # `castflow simulate` switches the cycle collector off while it runs; whatever happens,
    # leave it on for the tests that follow.
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()


@pytest.fixture(params=["in-process", "subprocess"])
def castflow(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Runner:
    def in_process(*args: str | Path) -> Result:
        capsys.readouterr()
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def as_process(*args: str | Path) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli", *map(str, args)],
            capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return in_process if request.param == "in-process" else as_process


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err
    assert "Traceback" not in result.out


FLOW: dict[str, Any] = {
    "format": "castflow.flow/1",
    "name": "Nudge",
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "event", "event": "signed_up"}},
        {"id": "later", "type": "wait", "config": {"for": "P1D"}},
        {"id": "hello", "type": "send",
         "config": {"channel": "sms", "content": {"sms": {"text": "Hi {{ contact.id }}"}}}},
    ],
    "edges": [{"from": "start", "to": "later"}, {"from": "later", "to": "hello"}],
}
BROKEN: dict[str, Any] = {
    **FLOW,
    "nodes": [*FLOW["nodes"][:2], {"id": "hello", "type": "sned", "config": {}}],
    "edges": [*FLOW["edges"], {"from": "later", "port": "maybe", "to": "hello"}],
}
CONTACTS = '{"id": "c-1", "phone": "+393401234567"}\n{"id": "c-2"}\n'
EVENTS = (
    '{"contact": "c-1", "name": "signed_up", "at": "2026-01-01T09:00:00Z"}\n'
    '{"contact": "c-2", "name": "signed_up", "at": "2026-01-01T10:00:00Z"}\n'
)


@pytest.fixture
def files(write_file: Callable[[str, str | bytes], Path]) -> dict[str, Path]:
    return {
        "flow": write_file("flow.json", json.dumps(FLOW)),
        "broken": write_file("broken.json", json.dumps(BROKEN)),
        "contacts": write_file("contacts.jsonl", CONTACTS),
        "events": write_file("events.jsonl", EVENTS),
    }


# --- castflow flow validate ---------------------------------------------------------------------


def test_validate_a_valid_flow(castflow: Runner, files: dict[str, Path]) -> None:
    result = castflow("flow", "validate", files["flow"])
    assert result.code == 0
    assert "OK (3 nodes, 1 trigger(s))" in result.out
    assert result.err == ""


def test_validate_an_invalid_flow_lists_every_problem(
    castflow: Runner, files: dict[str, Path]
) -> None:
    result = castflow("flow", "validate", files["broken"])
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert "The flow has problems:" in result.err
    assert "node 'hello': unknown node type 'sned'. Did you mean 'send'?" in result.err
    assert "edge later.maybe -> hello: 'later' has no port 'maybe'" in result.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('{"format": "castflow.flow/1", "name": ', "not valid JSON", id="bad-json"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param('{"format": "castflow.flow/7", "name": "x", "nodes": [], "edges": []}',
                     "Unknown format 'castflow.flow/7'", id="format"),
        pytest.param(json.dumps({**FLOW, "colour": "red"}), "colour", id="unknown-key"),
        pytest.param(
            json.dumps({**FLOW, "nodes": [{**FLOW["nodes"][0], "colour": "red"},
                                          *FLOW["nodes"][1:]],
                        "edges": [{**FLOW["edges"][0], "weight": 2}, FLOW["edges"][1]]}),
            "  - node 'start': Object contains unknown field 'colour'.\n"
            "  - edge start -> later: Object contains unknown field 'weight'.",
            id="unknown-keys-in-a-node-and-an-edge",
        ),
    ],
)
def test_validate_a_file_that_is_not_a_flow(
    castflow: Runner, write_file: Callable[[str, str], Path], content: str, expected: str
) -> None:
    result = castflow("flow", "validate", write_file("flow.json", content))
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert expected in result.err


def test_validate_a_missing_file(castflow: Runner, tmp_path: Path) -> None:
    result = castflow("flow", "validate", tmp_path / "nope.json")
    assert result.code == 2
    no_traceback(result)
    assert "nope.json: no such file" in result.err


def test_validate_a_directory(castflow: Runner, tmp_path: Path) -> None:
    result = castflow("flow", "validate", tmp_path)
    assert result.code == 2
    no_traceback(result)
    assert "cannot read it" in result.err


def test_no_command_prints_help_and_fails(castflow: Runner) -> None:
    result = castflow()
    assert result.code == 2
    assert "usage: castflow" in result.err
    no_traceback(result)


# --- castflow simulate -----------------------------------------------------------------------


def test_simulate_prints_one_json_report(castflow: Runner, files: dict[str, Path]) -> None:
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--events", files["events"], "--start", "2026-01-01T00:00:00Z",
                      "--horizon", "P3D")
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.count("\n") == 1
    report = json.loads(result.out)
    assert report["nodes"]["hello"] == {"entered": 2, "ports": {"sent": 1, "failed": 1}}
    assert report["messages"] == {"sms": 1}
    first, second = report["runs"]
    assert first["contact"] == "c-1" and first["status"] == "completed"
    assert first["messages"] == [{"node": "hello", "channel": "sms", "to": "+393401234567",
                                  "at": "2026-01-02T09:00:00Z", "content": {"text": "Hi c-1"}}]
    assert second["path"][-1] == {"node": "hello", "at": "2026-01-02T10:00:00Z",
                                  "port": "failed", "reason": "no_address"}


def test_simulate_is_deterministic_and_takes_a_json_array_of_contacts(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path]
) -> None:
    as_array = write_file("contacts.json", json.dumps(
        [json.loads(line) for line in CONTACTS.splitlines()]
    ))
    args = ("--events", files["events"], "--start", "2026-01-01T00:00:00Z", "--seed", "7")
    by_lines = castflow("simulate", files["flow"], "--contacts", files["contacts"], *args)
    by_array = castflow("simulate", files["flow"], "--contacts", as_array, *args)
    assert by_lines.code == by_array.code == 0
    assert by_lines.out == by_array.out


def test_simulate_an_invalid_flow(castflow: Runner, files: dict[str, Path]) -> None:
    result = castflow("simulate", files["broken"], "--contacts", files["contacts"])
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert "The flow has problems:" in result.err
    assert "unknown node type 'sned'" in result.err
    assert "later.maybe -> hello" in result.err


@pytest.mark.parametrize("missing", ["flow", "contacts", "events"])
def test_simulate_with_a_missing_file(
    castflow: Runner, files: dict[str, Path], tmp_path: Path, missing: str
) -> None:
    paths = {**files, missing: tmp_path / f"missing-{missing}.json"}
    result = castflow("simulate", paths["flow"], "--contacts", paths["contacts"],
                      "--events", paths["events"], "--start", "2026-01-01T00:00:00Z")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert f"missing-{missing}.json: no such file" in result.err


@pytest.mark.parametrize(
    ("lines", "where", "what"),
    [
        pytest.param('{"id": "c-1"}\n{"id": "c-2", "phone": \n', "line 2", "truncated",
                     id="bad-json"),
        pytest.param('{"id": "c-1"}\n\n{"id": 3}\n', "line 3", "Expected 'str', got 'int'",
                     id="wrong-type"),
        pytest.param('{"id": "c-1", "shoe_size": 44}\n', "line 1", "shoe_size", id="unknown-key"),
        pytest.param('{"email": "a@example.com"}\n', "line 1", "id", id="no-id"),
        pytest.param('{"id": "c-1", "consent": {"sms": "maybe"}}\n', "line 1", "maybe",
                     id="bad-consent"),
        pytest.param('{"id": "c-1", "timezone": "Mars/Base"}\n', "c-1", "Mars/Base",
                     id="bad-timezone"),
        pytest.param('[{"id": "c-1"}, {"id": 2}]', "item 2", "int", id="array-item"),
    ],
)
def test_simulate_with_a_malformed_contacts_line_names_the_line(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path],
    lines: str, where: str, what: str,
) -> None:
    contacts = write_file("people.jsonl", lines)
    result = castflow("simulate", files["flow"], "--contacts", contacts,
                      "--start", "2026-01-01T00:00:00Z")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert result.err.startswith("castflow: ")
    assert where in result.err
    assert what in result.err


@pytest.mark.parametrize(
    ("lines", "where", "what"),
    [
        pytest.param('{"contact": "c-1"}\n', "line 1", "name", id="no-name"),
        pytest.param('{"contact": "c-1", "name": "x", "at": "2026-01-01T09:00:00"}\n', "line 1",
                     "time zone", id="naive-at"),
        pytest.param('{"contact": "c-1", "name": "x"}\n{"contact": "c-1", "name": "x", "at": '
                     '"tomorrow"}\n', "line 2", "at", id="bad-at"),
    ],
)
def test_simulate_with_a_malformed_events_line_names_the_line(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path],
    lines: str, where: str, what: str,
) -> None:
    events = write_file("script.jsonl", lines)
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--events", events, "--start", "2026-01-01T00:00:00Z")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert "script.jsonl " + where in result.err
    assert what in result.err


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param("yesterday", "'yesterday' is not an ISO 8601 date and time", id="words"),
        pytest.param("2026-01-01T09:00:00", "has no time zone", id="no-zone"),
        pytest.param("2026-13-01T09:00:00Z", "not an ISO 8601 date and time", id="month-13"),
    ],
)
def test_simulate_with_a_bad_start(
    castflow: Runner, files: dict[str, Path], start: str, expected: str
) -> None:
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      f"--start={start}")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert expected in result.err


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        pytest.param("30d", "'30d' is not an ISO 8601 duration", id="words"),
        pytest.param("P1H", "hours, minutes and seconds go after a 'T'", id="no-T"),
        pytest.param("P0D", "must be longer than zero", id="zero"),
        pytest.param("-P1D", "must be longer than zero", id="negative"),
        pytest.param("P20000Y", "too long", id="too-long"),
    ],
)
def test_simulate_with_a_bad_horizon(
    castflow: Runner, files: dict[str, Path], horizon: str, expected: str
) -> None:
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--start", "2026-01-01T00:00:00Z", f"--horizon={horizon}")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert expected in result.err


def test_simulate_with_a_horizon_past_the_last_supported_date(
    castflow: Runner, files: dict[str, Path]
) -> None:
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--start", "9999-12-31T00:00:00Z", "--horizon", "P30D")
    no_traceback(result)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("castflow: --start/--horizon: ")
    assert "9999" in result.err


def test_simulate_switches_the_cycle_collector_back_on(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert gc.isenabled()
    code = cli.main(["simulate", str(files["flow"]), "--contacts", str(files["contacts"]),
                     "--start", "2026-01-01T00:00:00Z"])
    assert code == 0, capsys.readouterr().err
    assert gc.isenabled()


def test_simulate_with_a_bad_seed_is_a_usage_error(
    castflow: Runner, files: dict[str, Path]
) -> None:
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--seed", "lucky")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert "--seed" in result.err


def test_simulate_with_a_bad_segments_line(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path]
) -> None:
    segments = write_file("segments.jsonl", '{"key": "vip", "rule": {"nope": [1]}}\n')
    result = castflow("simulate", files["flow"], "--contacts", files["contacts"],
                      "--segments", segments, "--start", "2026-01-01T00:00:00Z")
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert "segments.jsonl line 1" in result.err
    assert "unknown operator 'nope'" in result.err


TEMPLATED: dict[str, Any] = {
    **FLOW,
    "nodes": [*FLOW["nodes"][:2],
              {"id": "hello", "type": "send", "config": {"channel": "sms", "template": "hi_sms"}}],
}


def test_simulate_fills_in_templates_from_a_file(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path]
) -> None:
    flow = write_file("templated.json", json.dumps(TEMPLATED))
    templates = write_file("templates.jsonl", json.dumps(
        {"key": "hi_sms", "name": "Hi", "channel": "sms",
         "content": {"text": "Hello {{ contact.id }}, from a template"}}) + "\n")
    result = castflow("simulate", flow, "--contacts", files["contacts"], "--events",
                      files["events"], "--templates", templates)
    assert result.code == 0, result.err
    [first, _] = json.loads(result.out)["runs"]
    assert first["messages"][0]["content"] == {"text": "Hello c-1, from a template"}
    assert castflow("flow", "validate", flow, "--templates", templates).code == 0


@pytest.mark.parametrize(
    ("templates", "expected"),
    [
        pytest.param(None, "its send nodes name templates (hi_sms); give them with --templates",
                     id="no-file"),
        pytest.param('{"key": "other", "channel": "sms", "content": {"text": "x"}}',
                     "node 'hello': template: there is no template 'hi_sms'", id="unknown-key"),
        pytest.param('{"key": "hi_sms", "channel": "email", "content": {"subject": "x"}}',
                     "node 'hello'", id="wrong-channel"),
        pytest.param('{"key": "hi_sms", "channel": "fax", "content": {"text": "x"}}',
                     "templates.jsonl line 1: 'channel' must be one of", id="bad-channel"),
        pytest.param('{"key": "hi_sms"}', "templates.jsonl line 1: Object missing required "
                     "field `channel`", id="missing-field"),
    ],
)
def test_simulate_refuses_templates_it_cannot_use(
    castflow: Runner, files: dict[str, Path], write_file: Callable[[str, str], Path],
    templates: str | None, expected: str,
) -> None:
    flow = write_file("templated.json", json.dumps(TEMPLATED))
    extra = [] if templates is None else ["--templates", write_file("templates.jsonl", templates)]
    result = castflow("simulate", flow, "--contacts", files["contacts"], *extra)
    assert result.code == 2
    assert result.out == ""
    no_traceback(result)
    assert expected in result.err
