"""SMTP sends per second through the SMTP provider, next to the ceiling of raw aiosmtplib.

A local aiosmtpd server (its own process, discarding what it gets) receives:
1. ceiling: the same prebuilt message sent N times with bare `aiosmtplib.SMTP.sendmail` on one
   connection;
2. provider: N messages through `SmtpProvider.send` (each built: MIME, Message-ID, signed
   List-Unsubscribe, click-tracked links and open pixel), one kept connection;
3. provider via ProviderSet: the runtime's `Sender` path (batches of 100, retry wrapper,
   results), same connection.
Also: `build_email` alone (CPU per message). Target (issue 6): 500 sends/s with reuse.

    .venv/bin/python bench/smtp_bench.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
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


async def ceiling(port: int, n: int) -> float:
    raw = build_email(message(0), EmailOptions("news@example.com", LINKS))
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                           local_hostname="bench.localdomain")
    await smtp.connect()
    started = time.perf_counter()
    for i in range(n):
        await smtp.sendmail("news@example.com", [f"contact{i}@example.com"], raw)
    elapsed = time.perf_counter() - started
    await smtp.quit()
    return n / elapsed


async def provider(port: int, n: int) -> tuple[float, int]:
    smtp = SmtpProvider(SmtpConfig("127.0.0.1", port, "news@example.com"), LINKS)
    messages = [message(i) for i in range(n)]
    started = time.perf_counter()
    for m in messages:
        await smtp.send(m)
    elapsed = time.perf_counter() - started
    opened = smtp.connections_opened
    await smtp.aclose()
    return n / elapsed, opened


async def provider_set(port: int, n: int) -> tuple[float, int]:
    smtp = SmtpProvider(SmtpConfig("127.0.0.1", port, "news@example.com"), LINKS)
    sender = ProviderSet({"email": smtp})
    messages = [message(i) for i in range(n)]
    started = time.perf_counter()
    for at in range(0, n, 100):
        results = await sender.send(messages[at : at + 100])
        assert all(r.status == "sent" for r in results)
    elapsed = time.perf_counter() - started
    opened = smtp.connections_opened
    await sender.aclose()
    return n / elapsed, opened


def build_rate(n: int) -> float:
    options = EmailOptions("news@example.com", LINKS)
    messages = [message(i) for i in range(n)]
    started = time.perf_counter()
    for m in messages:
        build_email(m, options)
    return n / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    n = parser.parse_args().messages
    port = free_port()
    server = start_server(port)
    try:
        await ceiling(port, 100)  # warm-up
        raw = await ceiling(port, n)
        single, opened = await provider(port, n)
        batched, opened_set = await provider_set(port, n)
    finally:
        server.terminate()
        server.wait()
    built = build_rate(n)
    print(f"messages per run: {n}")
    print(f"ceiling, raw aiosmtplib sendmail, one connection: {raw:8.0f} sends/s")
    print(f"SmtpProvider.send, one by one:                    {single:8.0f} sends/s "
          f"({opened} connection)")
    print(f"ProviderSet.send, batches of 100:                 {batched:8.0f} sends/s "
          f"({opened_set} connection)")
    print(f"build_email alone (MIME, signing, tracking):      {built:8.0f} messages/s")


if __name__ == "__main__":
    asyncio.run(main())
