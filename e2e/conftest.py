"""A real Castflow for the browser tests: API server and worker on a fresh SQLite database,
Redis under a prefix of their own, one user and one API key; Debian's Chromium drives it.

The server and the worker run as the `castflow` commands would (`python -m backend.cli`), and
are stopped by their process ids at the end of the session.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from castflow_e2e import ROOT, Castflow, shot

CHROMIUM = os.environ.get("CASTFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
EMAIL = "marketer@example.com"
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"castflow {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _forget_redis_keys(url: str, prefix: str) -> None:
    """Remove what this session left in the shared Redis (its keys all start with `prefix`)."""
    import redis  # arq's dependency

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def castflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Castflow]:
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("The web app is not built: run `npm --prefix frontend run build` first.")
    tmp = tmp_path_factory.mktemp("castflow")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'castflow.db'}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CASTFLOW_REDIS_PREFIX": f"e2e-{uuid.uuid4().hex[:12]}",
        "CASTFLOW_VAR": str(tmp),
        "PYTHONUNBUFFERED": "1",
    }
    _cli(env, "migrate")
    _cli(env, "user", "create", "--email", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    api_key = _cli(env, "apikey", "create", "--name", "e2e").strip()
    port = _free_port()
    log = tmp / "castflow.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backend.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/auth/me", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        page_type = httpx.get(f"{url}/", timeout=5).headers.get("content-type", "")
        if not page_type.startswith("text/html"):
            raise RuntimeError(
                f"the server answers / with Content-Type {page_type!r}, not text/html: "
                "browsers would download the web app instead of showing it"
            )
        yield Castflow(url, EMAIL, PASSWORD, api_key, tmp, log)
    finally:
        _stop(worker)
        _stop(server)
        _forget_redis_keys(env["REDIS_URL"], env["CASTFLOW_REDIS_PREFIX"])


@pytest.fixture(scope="session")
def base_url(castflow: Castflow) -> str:
    return castflow.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1440, "height": 900},
        "accept_downloads": True,
        "timezone_id": "UTC",
        "locale": "en-GB",
    }


@pytest.fixture()
def signed_in(page: Page, castflow: Castflow) -> Page:
    """A page whose browser context holds a session (signed in through the API)."""
    answer = page.context.request.post(
        f"{castflow.url}/api/auth/login",
        data={"email": castflow.email, "password": castflow.password},
    )
    assert answer.ok, answer.text()
    return page


@pytest.fixture(scope="session")
def contacts(castflow: Castflow) -> list[dict[str, Any]]:
    """The example contacts, stored in the database."""
    lines = (ROOT / "flows" / "examples" / "data" / "contacts.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    with castflow.api() as api:
        answer = api.post("/api/contacts", json=items)
        assert answer.status_code == 200, answer.text
    return items


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _browser_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Uncaught errors in the page fail the test that caused them; a failed test leaves a
    screenshot of what the page showed (e2e/screenshots/FAILED-<test>.png)."""
    if "page" not in request.fixturenames:
        yield
        return
    page: Page = request.getfixturevalue("page")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    if request.node.stash.get(_FAILED, False):
        shot(page, f"FAILED-{request.node.name}")
    assert not errors, f"errors in the page: {errors}"
