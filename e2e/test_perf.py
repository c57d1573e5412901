"""Performance: a 200-node flow opens and is interactive in under 1 s; frame times while a node
is dragged. The figures go to e2e/artifacts/perf.json (and frontend/PERF.md by hand)."""

from __future__ import annotations

import itertools
import json
import os
import statistics
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from castflow_e2e import Castflow, panel, shot

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NODES = 200

# In the page from its first moment: when every node is drawn (all measured, none hidden), the
# long tasks that keep the main thread busy, and when a pointer went down.
WATCH = """(() => {
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => list.getEntries().forEach(
      (e) => window.__longtasks.push([e.startTime, e.duration])
    )).observe({type: 'longtask', buffered: true});
  } catch (e) {}
  const check = () => {
    const nodes = document.querySelectorAll('.react-flow__node');
    if (nodes.length === NODES && [...nodes].every((n) => n.style.visibility !== 'hidden')) {
      window.__ready = performance.now();
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
  const down = () => { window.__pointerdown = performance.now(); };
  document.addEventListener('pointerdown', down, true);
})();""".replace("NODES", str(NODES))


def big_flow(size: int = NODES) -> dict[str, Any]:
    """A trigger, then a binary tree of segment filters whose leaves send an email."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "n0",
            "type": "trigger",
            "label": "Signed up",
            "config": {"on": "event", "event": "signed_up"},
            "position": {"x": 0, "y": 0},
        }
    ]
    edges: list[dict[str, Any]] = [{"from": "n0", "port": "next", "to": "n1"}]
    for i in range(1, size):
        position = {"x": (i % 20) * 280, "y": (i // 20) * 200 + 200}
        if 2 * i < size:  # has children: a filter
            nodes.append(
                {
                    "id": f"n{i}",
                    "type": "segment_filter",
                    "label": f"Filter {i}",
                    "position": position,
                    "config": {"rule": {"==": [{"var": "contact.attributes.country"}, f"C{i}"]}},
                }
            )
            edges.append({"from": f"n{i}", "port": "yes", "to": f"n{2 * i}"})
            if 2 * i + 1 < size:
                edges.append({"from": f"n{i}", "port": "no", "to": f"n{2 * i + 1}"})
        else:
            nodes.append(
                {
                    "id": f"n{i}",
                    "type": "send",
                    "label": f"Email {i}",
                    "position": position,
                    "config": {
                        "channel": "email",
                        "content": {
                            "email": {
                                "subject": "Hi {{ contact.attributes.first_name }}",
                                "text": f"Message {i}",
                            }
                        },
                    },
                }
            )
    return {"format": "castflow.flow/1", "name": f"{size} steps", "nodes": nodes, "edges": edges}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _busy() -> float:
    """Runnable processes per CPU over the last minute (more than 1: others are competing)."""
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def test_200_node_flow_opens_fast_and_drags_smoothly(signed_in: Page, castflow: Castflow) -> None:
    page = signed_in
    busy_before = _busy()
    with castflow.api() as api:
        answer = api.post("/api/flows/import", json=big_flow())
        assert answer.status_code == 201, answer.text
        flow_id = answer.json()["id"]

    # Warm the browser cache with the app's files, as a returning user has them.
    page.goto("/")
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()

    page.context.add_init_script(WATCH)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    runs = []
    for _ in range(5):
        page.goto(f"/flows/{flow_id}")
        page.wait_for_function("window.__ready !== undefined", polling=50)
        # Main-thread time the page used (tasks: script, style, layout), whatever else runs.
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        page.wait_for_timeout(1000)  # long tasks right after the first drawing count too
        ready, tasks = page.evaluate("[window.__ready, window.__longtasks]")
        busy_until = max(
            [ready] + [start + duration for start, duration in tasks if start < ready + 1000]
        )
        # A click on a step: time from pointer down to its settings in the side panel.
        page.evaluate("""() => {
            window.__panel = undefined;
            const check = () => document.querySelector('[aria-label="Settings of Email 150"]')
                ? (window.__panel = performance.now()) : requestAnimationFrame(check);
            requestAnimationFrame(check);
        }""")
        page.get_by_role("group", name="Email 150 (Send)").locator(".node-title").click()
        expect(panel(page).get_by_label("Name on the canvas")).to_have_value("Email 150")
        click = page.evaluate("window.__panel - window.__pointerdown")
        runs.append(
            {
                "main_thread_ms": round(metrics["TaskDuration"] * 1000),
                "drawn_ms": round(ready),
                "interactive_ms": round(busy_until),
                "click_to_panel_ms": round(click),
            }
        )
    shot(page, "60-200-nodes")

    # Frame times while a node is dragged across the canvas.
    page.evaluate("""() => {
        window.__frames = []; window.__stop = false;
        const loop = (t) => {
            window.__frames.push(t);
            if (!window.__stop) requestAnimationFrame(loop);
        };
        requestAnimationFrame(loop);
    }""")
    title = page.get_by_role("group", name="Filter 42 (Segment filter)").locator(".node-title")
    box = title.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5)
    for step in range(1, 121):  # two seconds of movement at 60 Hz
        page.mouse.move(x + 5 + step * 3, y + 5 + step * 1.5)
        page.wait_for_timeout(16)
    page.mouse.up()
    frames: list[float] = page.evaluate("() => { window.__stop = true; return window.__frames; }")
    deltas = [b - a for a, b in itertools.pairwise(frames)]
    drag = {
        "frames": len(frames),
        "median_ms": round(statistics.median(deltas), 1),
        "p95_ms": round(_percentile(deltas, 0.95), 1),
        "max_ms": round(max(deltas), 1),
        "over_50ms": sum(1 for d in deltas if d > 50),
    }
    results = {
        "nodes": NODES,
        "open": runs,
        "open_best_ms": min(run["interactive_ms"] for run in runs),
        "open_median_ms": statistics.median(run["interactive_ms"] for run in runs),
        "click_median_ms": statistics.median(run["click_to_panel_ms"] for run in runs),
        "drag": drag,
        "load_per_cpu": round(max(busy_before, _busy()), 2),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "perf.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))

    if results["load_per_cpu"] > 1.5:
        pytest.skip(
            f"the machine is busy (load {results['load_per_cpu']} per CPU): timings "
            f"recorded in e2e/artifacts/perf.json but not judged: {results}"
        )
    # The best of five: other processes on the machine only ever add time.
    best = min(run["interactive_ms"] for run in runs)
    assert best < 1000, f"opening {NODES} nodes took {best} ms at best ({runs})"
    assert drag["p95_ms"] < 50, f"dragging is not smooth: {drag}"
