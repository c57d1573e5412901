"""SMTP sends per second through the SMTP provider, next to the ceiling of raw aiosmtplib.

A local aiosmtpd server (its own process, discarding what it gets) receives:
1. ceiling: the same prebuilt message sent N times with bare `aiosmtplib.SMTP.sendmail` on one
   connection;
2. provider: N messages through `SmtpProvider.send` (each built: MIME, Message-ID, signed
   List-Unsubscribe, click-tracked links and open pixel), one kept connection;
3. provider via ProviderSet: the runtime's `Sender` path (batches of 100, retry wrapper,
   results), one connection, then four (`connections=4`).
Also: `build_email` alone (CPU per message). Target (issue 6): 500 sends/s with reuse.

    .venv/bin/python bench/smtp_bench.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.channels import ProviderSet, SmtpProvider, build_email  # noqa: E402
from backend.channels.config import LinkSettings, SmtpConfig  # noqa: E402
from backend.channels.email import EmailOptions  # noqa: E402
from backend.runtime.sender import OutgoingMessage  # noqa: E402

HTML = (
    "<html><body><h1>Ciao {name}!</h1><p>Our <a href='https://shop.example.com/sale'>sale</a>"
    " ends soon. <a href=\"https://shop.example.com/account?id=42&amp;ref=mail\">Your account"
    "</a></p><p>" + "Lorem ipsum dolor sit amet. " * 20 + "</p></body></html>"
)
LINKS = LinkSettings("https://castflow.example.com", b"bench-signing-key-0123456789")


def message(i: int) -> OutgoingMessage:
    return OutgoingMessage(
        f"{i}:send:1", 1, f"c-{i}", "email", f"contact{i}@example.com",
        {"subject": f"Ciao {i}", "text": f"Ciao {i}! https://shop.example.com/sale",
         "html": HTML.format(name=i)},
        topic="newsletter",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the aiosmtpd server did not start")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of a process (this one by default), from /proc."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time and CPU (client, server) per message for one run."""

    def __init__(self, server: int, n: int) -> None:
        self.server, self.n = server, n

    def __enter__(self) -> Meter:
        self.wall, self.cpu, self.server_cpu = (
            time.perf_counter(), cpu_seconds(), cpu_seconds(self.server))
        return self

    def __exit__(self, *exc: object) -> None:
        self.rate = self.n / (time.perf_counter() - self.wall)
        self.client_ms = (cpu_seconds() - self.cpu) / self.n * 1000
        self.server_ms = (cpu_seconds(self.server) - self.server_cpu) / self.n * 1000

    def line(self, label: str) -> str:
        return (f"{label:<48} {self.rate:7.0f} sends/s   CPU per send: client "
                f"{self.client_ms:.3f} ms, server {self.server_ms:.3f} ms")


async def ceiling(port: int, pid: int, n: int) -> Meter:
    raw = build_email(message(0), EmailOptions("news@example.com", LINKS))
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                           local_hostname="bench.localdomain")
    await smtp.connect()
    with Meter(pid, n) as meter:
        for i in range(n):
            await smtp.sendmail("news@example.com", [f"contact{i}@example.com"], raw)
    await smtp.quit()
    return meter


async def provider(port: int, pid: int, n: int) -> tuple[Meter, int]:
    smtp = SmtpProvider(SmtpConfig("127.0.0.1", port, "news@example.com"), LINKS)
    messages = [message(i) for i in range(n)]
    with Meter(pid, n) as meter:
        for m in messages:
            await smtp.send(m)
    opened = smtp.connections_opened
    await smtp.aclose()
    return meter, opened


async def provider_set(port: int, pid: int, n: int, connections: int = 1) -> tuple[Meter, int]:
    config = SmtpConfig("127.0.0.1", port, "news@example.com", connections=connections)
    smtp = SmtpProvider(config, LINKS)
    sender = ProviderSet({"email": smtp})
    messages = [message(i) for i in range(n)]
    with Meter(pid, n) as meter:
        for at in range(0, n, 100):
            results = await sender.send(messages[at : at + 100])
            assert all(r.status == "sent" for r in results)
    opened = smtp.connections_opened
    await sender.aclose()
    return meter, opened


def build_rate(n: int) -> float:
    options = EmailOptions("news@example.com", LINKS)
    messages = [message(i) for i in range(n)]
    started = time.process_time()
    for m in messages:
        build_email(m, options)
    return (time.process_time() - started) / n * 1000


async def main() -> None:
    # A SIGTERM (e.g. from `timeout`) unwinds through `finally`, so the server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    n = parser.parse_args().messages
    port = free_port()
    server = start_server(port)
    try:
        await ceiling(port, server.pid, 100)  # warm-up
        raw = await ceiling(port, server.pid, n)
        single, opened = await provider(port, server.pid, n)
        batched, opened_set = await provider_set(port, server.pid, n)
        pooled, opened_pool = await provider_set(port, server.pid, n, connections=4)
    finally:
        server.terminate()
        server.wait()
    print(f"messages per run: {n}; load average before: {os.getloadavg()[0]:.1f}")
    print(raw.line("ceiling: raw aiosmtplib sendmail, 1 connection"))
    print(single.line(f"SmtpProvider.send one by one, {opened} connection"))
    print(batched.line(f"ProviderSet.send batches of 100, {opened_set} conn."))
    print(pooled.line(f"ProviderSet.send batches of 100, {opened_pool} conn."))
    print(f"build_email alone (MIME, signed links, tracking): {build_rate(n):.3f} ms CPU each")


if __name__ == "__main__":
    asyncio.run(main())
