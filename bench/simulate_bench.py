"""Benchmark: `castflow simulate` over 100,000 contacts and a 10-node flow, 30-day horizon.

    .venv/bin/python bench/simulate_bench.py [--contacts 100000] [--repeat 3]

Times the whole command (reading files and writing the report included) against the plain-Python
loop in bench/handwritten.py doing the same decisions (the ceiling), checks that both produce the
same report byte for byte, and prints contact-steps per second, the ratio and peak memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_data import START, generate  # noqa: E402

FLOW = HERE / "flow_10_nodes.json"


def timed(command: list[str], output: Path) -> tuple[float, int]:
    """Wall-clock seconds and peak RSS (bytes) of one run of `command`."""
    with output.open("wb") as out:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - began
    if status != 0:
        sys.exit(f"{command[0]} failed with status {status}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    contacts, events = generate(args.contacts)
    out = HERE / "out"
    python = sys.executable
    castflow = [python, "-m", "backend.cli", "simulate", str(FLOW), "--contacts", str(contacts),
                "--events", str(events), "--start", START.isoformat(), "--horizon", "P30D"]
    handwritten = [python, str(HERE / "handwritten.py"), str(contacts), str(events)]
    engine_runs = [timed(castflow, out / "engine.json") for _ in range(args.repeat)]
    hand_runs = [timed(handwritten, out / "hand.json") for _ in range(args.repeat)]
    if (out / "engine.json").read_bytes() != (out / "hand.json").read_bytes():
        sys.exit("the engine and the hand-written loop disagree: compare bench/out/*.json")
    report = msgspec.json.decode((out / "engine.json").read_bytes())
    steps = sum(len(run["path"]) for run in report["runs"])
    engine = min(t for t, _ in engine_runs)
    hand = min(t for t, _ in hand_runs)
    peak = max(m for _, m in engine_runs)
    print(f"contacts: {args.contacts:,}  runs: {len(report['runs']):,}  contact-steps: {steps:,}"
          f"  messages: {sum(report['messages'].values()):,}")
    print(f"castflow simulate: {engine:.2f} s (best of {args.repeat}) = {steps / engine:,.0f}"
          f" contact-steps/s, peak memory {peak / 2**20:,.0f} MiB")
    print(f"hand-written loop: {hand:.2f} s = {steps / hand:,.0f} contact-steps/s")
    print(f"ratio castflow / hand-written: {engine / hand:.2f}x")


if __name__ == "__main__":
    main()
