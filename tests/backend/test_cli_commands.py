"""The `castflow` commands that bootstrap and manage an install, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "flows" / "examples" / "abandoned_cart.json"


def castflow(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=ROOT, check=False, timeout=120,
    )


def test_fresh_database_user_and_key_in_either_order(database_url: str) -> None:
    key = castflow(database_url, "apikey", "create", "--name", "ci")
    assert key.returncode == 0, key.stderr
    assert key.stdout.strip().startswith("cf_") and len(key.stdout.strip().splitlines()) == 1
    assert "shown only this once" in key.stderr
    user = castflow(database_url, "user", "create", "--email", "ann@example.com",
                    "--password-stdin", stdin="correct horse battery\n")
    assert user.returncode == 0, user.stderr
    again = castflow(database_url, "user", "create", "--email", "ann@example.com",
                     "--password-stdin", stdin="correct horse battery\n")
    assert again.returncode == 2
    assert "ann@example.com" in again.stderr and "Traceback" not in again.stderr


def test_migrate_twice(database_url: str) -> None:
    first = castflow(database_url, "migrate")
    assert first.returncode == 0, first.stderr
    second = castflow(database_url, "migrate")
    assert second.returncode == 0 and "up to date" in second.stderr


def test_import_then_export_gives_the_same_bytes(database_url: str) -> None:
    imported = castflow(database_url, "flow", "import", str(EXAMPLE))
    assert imported.returncode == 0, imported.stderr
    flow_id = imported.stdout.strip()
    exported = castflow(database_url, "flow", "export", flow_id)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.encode() == EXAMPLE.read_bytes()
    missing = castflow(database_url, "flow", "export", "999999")
    assert missing.returncode == 2 and "999999" in missing.stderr


def test_import_of_an_invalid_flow_stores_nothing(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "castflow.flow/1", "name": "x", "nodes": [], "edges": []}')
    result = castflow(database_url, "flow", "import", str(bad))
    assert result.returncode == 2
    assert "no nodes" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://no-slash.db"])
def test_a_bad_database_url_is_explained(url: str) -> None:
    result = castflow(url, "migrate")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
