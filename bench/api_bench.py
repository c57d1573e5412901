"""Benchmark: the HTTP API under event load, against a real server, worker, Redis and database.

    .venv/bin/python bench/api_bench.py [--db sqlite|postgresql]

Starts its own `python -m backend.cli serve --port FREE` and `python -m backend.cli worker` on a
fresh database (a SQLite file in a temporary directory, or a PostgreSQL database created on
127.0.0.1:5432 as user postgres and dropped at the end), on REDIS_URL (default
redis://127.0.0.1:6379/0) under a key prefix of its own (its keys are deleted at the end), with an
API key from `python -m backend.cli apikey create --name bench`. Traffic goes to 127.0.0.1 only,
bounded in count and time; the whole run takes about two to three minutes.

Set-up (not timed; on PostgreSQL it ends with ANALYZE, see `seed`): 10,000 contacts for bulk
events, 2,000 that enter a flow waiting for `purchased`, one contact per latency event; three
live event-triggered flows:
  - `signed_up` -> wait for `purchased` (P7D) -> exit: 2,000 runs left waiting;
  - `page_view` where path == "/pricing" -> send email (entry once): matched on every page view;
  - `bench_ping` -> send sms: the latency probe.

Phases (each figure next to a ceiling measured with the same client in the same run):
  ceiling  a bare ASGI app under the same uvicorn (what this machine, Python and this client can
           do at all), GET /api/auth/me without a key (401: Litestar and the auth middleware, no
           database), GET /api/auth/me with the key (one API-key query), and a batch of 500
           events whose LAST item is invalid (400: the body is read, decoded and 499 events
           validated, nothing is stored): the server+client ceiling without the database write;
  bulk     POST /api/events, batches of 500 (90% page_view, 5% purchased for waiting runs, 5%
           app_open), a few keep-alive connections, ~20 s: events/s, request latency; then the
           time the worker needs to drain what is left (events still in `events_pending`, due
           arq jobs): stored-and-matched events/s over load plus drain, and the worker's own
           matching rate (the backlog at the end of the load over the drain time);
  single   POST /api/events with one event per request, more connections: req/s, p50/p99;
  latency  open loop of `bench_ping` events, each for a different contact: time from sending
           the request to the message row being visible in the database (polled every 2 ms,
           directly, not through the API): p50/p95/p99. Three runs: --low-rate (20/s, the
           unloaded floor), --rate (1,000/s) one event per request, and --rate in batches of
           --rate-batch (50). A request that finds all 64 connections busy is dropped and
           counted, so a server slower than the rate shows as `dropped`, not as a queue.

CPU: the client's own CPU time (this process), the server's and the worker's (by pid), and the
machine's (all cores) over each phase, as a share of ONE core (200% = both cores busy).

The HTTP client is a small asyncio HTTP/1.1 keep-alive client (below): httpx costs several times
more CPU per request, and client and server share the machine's two cores.

What-if options (not the default): `--profile server|worker` runs that process under pyinstrument
(installed with `pip install --target DIR pyinstrument`, passed as `--extra-path DIR`) and writes
its text profile into the temporary directory (path printed); `--extra-path DIR` also makes
uvloop/httptools visible to the server when installed there; `--worker-poll-delay S` starts the
worker with arq's poll delay changed (a wrapper; the code under test is not edited). Since
session 2 the worker is woken over Redis pub/sub (`backend/runtime/waking.py`) and no longer
polls at that delay, so the option only matters for commits before it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psutil  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable

BATCH = 500
BULK_CONTACTS = 10_000
WAITING_CONTACTS = 2_000
PATHS = [f"/p/{i}" for i in range(19)] + ["/pricing"]

FLOWS: list[dict[str, Any]] = [
    {"format": "castflow.flow/1", "name": "Bench: waits for a purchase",
     "settings": {"entry": "once"},
     "nodes": [
         {"id": "start", "type": "trigger", "config": {"on": "event", "event": "signed_up"}},
         {"id": "wait", "type": "wait", "config": {"event": "purchased", "timeout": "P7D"}},
         {"id": "bought", "type": "exit", "config": {"reason": "purchased"}},
         {"id": "gave_up", "type": "exit", "config": {"reason": "timeout"}}],
     "edges": [{"from": "start", "to": "wait"},
               {"from": "wait", "port": "event", "to": "bought"},
               {"from": "wait", "port": "timeout", "to": "gave_up"}]},
    {"format": "castflow.flow/1", "name": "Bench: pricing page",
     "settings": {"entry": "once"},
     "nodes": [
         {"id": "start", "type": "trigger",
          "config": {"on": "event", "event": "page_view",
                     "where": {"==": [{"var": "event.properties.path"}, "/pricing"]}}},
         {"id": "mail", "type": "send", "config": {"channel": "email", "content": {"email": {
             "subject": "Questions about pricing?",
             "text": "Hi {{ contact.attributes.first_name }}, we saw you on {{ "
                     "event.properties.path }}."}}}}],
     "edges": [{"from": "start", "to": "mail"}]},
    {"format": "castflow.flow/1", "name": "Bench: latency probe",
     "settings": {"entry": "always"},
     "nodes": [
         {"id": "start", "type": "trigger", "config": {"on": "event", "event": "bench_ping"}},
         {"id": "sms", "type": "send", "config": {"channel": "sms", "content": {"sms": {
             "text": "Ping {{ contact.attributes.first_name }}"}}}}],
     "edges": [{"from": "start", "to": "sms"}]},
]


# --- a small HTTP/1.1 keep-alive client ---------------------------------------------------------


class HttpError(RuntimeError):
    pass


IDLE_REOPEN_SECONDS = 4.0  # uvicorn closes a keep-alive connection idle for 5 s


class Conn:
    """One keep-alive connection; one request at a time."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {key}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.used = time.perf_counter()
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def request(self, method: str, path: str, body: bytes = b"",
                      auth: bool = True) -> tuple[int, bytes]:
        if time.perf_counter() - self.used > IDLE_REOPEN_SECONDS:
            self.close()  # the server may have closed it: a pool's spare connection
            await self.open()
        self.used = time.perf_counter()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()]
        if auth:
            head.append(self.auth)
        if body or method == "POST":
            head.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        self.writer.write(b"".join(head) + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = -1
        chunked = False
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            return status, b"".join(parts)
        return status, (await self.reader.readexactly(length)) if length > 0 else b""


async def call(port: int, key: str, method: str, path: str, payload: Any = None,
               expect: tuple[int, ...] = (200, 201, 202)) -> Any:
    conn = await Conn(port, key).open()
    try:
        body = b"" if payload is None else msgspec.json.encode(payload)
        status, answer = await conn.request(method, path, body)
    finally:
        conn.close()
    if status not in expect:
        raise HttpError(f"{method} {path}: {status} {answer[:500]!r}")
    return msgspec.json.decode(answer) if answer else None


# --- measuring ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Cpu:
    """CPU time between `start` and `stop`, as % of one core: the named processes, this
    benchmark's PostgreSQL backends (`db`, the processes serving its own database; on SQLite
    the database work runs inside the server's and the worker's threads), the whole machine, and
    `other`: the machine minus all of those (other work sharing the two cores)."""

    pg_database: str | None = None  # set when the benchmark runs on its own PostgreSQL database

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return float(t.user + t.system + t.nice + getattr(t, "irq", 0)
                     + getattr(t, "softirq", 0))

    def _backends(self) -> dict[int, float]:
        found: dict[int, float] = {}
        if self.pg_database is None:
            return found
        for proc in psutil.process_iter(["name", "cmdline"]):
            try:
                if proc.info["name"] == "postgres" and any(
                        self.pg_database in part for part in proc.info["cmdline"] or []):
                    t = proc.cpu_times()
                    found[proc.pid] = t.user + t.system
            except psutil.Error:
                continue
        return found

    def _times(self) -> tuple[dict[str, float], dict[int, float]]:
        out = {}
        for name, proc in self.procs.items():
            try:
                t = proc.cpu_times()
                out[name] = t.user + t.system
            except psutil.Error:
                out[name] = float("nan")
        out["machine"] = self._busy()
        return out, self._backends()

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.before, self.db_before = self._times()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        after, db_after = self._times()
        used = {name: after[name] - self.before[name] for name in after}
        used["db"] = sum(t - self.db_before.get(pid, 0.0) for pid, t in db_after.items())
        used["other"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
        return {f"cpu_{name}_pct": round(100 * v / wall, 1) for name, v in used.items()}


@dataclass
class Load:
    requests: int = 0
    events: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = self.latencies
        return {
            "seconds": round(self.seconds, 2), "requests": self.requests, "events": self.events,
            "errors": self.errors, "req_per_s": round(self.requests / self.seconds, 1),
            "events_per_s": round(self.events / self.seconds, 1),
            "p50_ms": round(1000 * pct(lat, 50), 2), "p99_ms": round(1000 * pct(lat, 99), 2),
            "max_ms": round(1000 * max(lat), 2) if lat else None,
            **({"first_error": self.first_error} if self.first_error else {}),
        }


def phase_result(label: str, connections: int, load: Load,
                 usage: dict[str, float]) -> dict[str, Any]:
    per_request = {f"{name}_cpu_ms_per_req": round(
        10 * usage[f"cpu_{name}_pct"] * load.seconds / max(1, load.requests), 2)
        for name in ("server", "worker", "db")}
    return {"phase": label, "connections": connections, **load.summary(), **usage,
            **per_request}


Maker = Callable[[], tuple[str, str, bytes, int]]  # -> method, path, body, events in it


async def closed_loop(port: int, key: str, connections: int, seconds: float, make: Maker,
                      ok: tuple[int, ...], auth: bool = True, max_requests: int = 2_000_000,
                      ) -> Load:
    """`connections` clients, each sending its next request when the last one is answered."""
    load = Load()
    conns = [await Conn(port, key).open() for _ in range(connections)]
    # warm up each connection once (not counted)
    for conn in conns:
        method, path, body, _ = make()
        await conn.request(method, path, body, auth)
    start = time.perf_counter()
    end = start + seconds

    async def client(conn: Conn) -> None:
        while time.perf_counter() < end and load.requests < max_requests:
            method, path, body, events = make()
            t0 = time.perf_counter()
            status, answer = await conn.request(method, path, body, auth)
            load.latencies.append(time.perf_counter() - t0)
            load.requests += 1
            if status in ok:
                load.events += events
            else:
                load.errors += 1
                if load.first_error is None:
                    load.first_error = f"{status} {answer[:300]!r}"

    await asyncio.gather(*(client(c) for c in conns))
    load.seconds = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return load


# --- the database, read directly ----------------------------------------------------------------


class Reader:
    """Queries on the benchmark's own database (sqlite3, or asyncpg): reads, and one write
    (`Bench.drain` discarding a backlog the worker could not finish in time)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: sqlite3.Connection | None = None
        self.pg: Any = None

    async def open(self) -> Reader:
        if self.url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(self.url[len("sqlite:///"):], isolation_level=None,
                                          timeout=30)
        else:
            import asyncpg  # type: ignore[import-untyped]

            self.pg = await asyncpg.connect(self.url)
        return self

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.sqlite is not None:
            return self.sqlite.execute(sql).fetchall()
        return [tuple(r) for r in await self.pg.fetch(sql)]

    async def execute(self, sql: str) -> None:
        if self.sqlite is not None:
            self.sqlite.execute(sql)
        else:
            await self.pg.execute(sql)

    async def scalar(self, sql: str) -> Any:
        return (await self.rows(sql))[0][0]

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "-m", "backend.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"castflow {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM


def start(name: str, argv: list[str], env: dict[str, str], tmp: Path,
          stop_signal: int = signal.SIGTERM) -> Proc:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Proc(name, popen, log, stop_signal)


def stop(proc: Proc) -> None:
    if proc.popen.poll() is not None:
        print(f"{proc.name} had exited with {proc.popen.returncode}", file=sys.stderr)
        return
    proc.popen.send_signal(proc.stop_signal)
    try:
        proc.popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.popen.kill()
        proc.popen.wait(timeout=10)


# --- the benchmark ------------------------------------------------------------------------------


@dataclass
class Bench:
    port: int
    key: str
    reader: Reader
    redis: Any
    prefix: str
    pids: dict[str, int]
    seq: Iterator[int] = field(default_factory=lambda: iter(range(10**12)))

    async def queue_backlog(self) -> int:
        """Jobs due now in our queue (arq keeps a job there until it has run), and events the
        worker has not processed yet (their wake-ups wait on a plain Redis list, not in arq's
        queue; the database says what is still to do)."""
        jobs = int(await self.redis.zcount(f"{self.prefix}:queue", "-inf",
                                           int(time.time() * 1000)))
        events = int(await self.reader.scalar("SELECT COUNT(*) FROM events_pending"))
        return jobs + events

    async def drain(self, limit: float) -> dict[str, Any]:
        """Wait (at most `limit` s) until the worker has run every due job and processed every
        stored event."""
        t0 = time.perf_counter()
        cpu = Cpu(self.pids)
        cpu.start()
        left = await self.queue_backlog()
        while left and time.perf_counter() - t0 < limit:
            await asyncio.sleep(0.05)
            left = await self.queue_backlog()
        out = {"drain_s": round(time.perf_counter() - t0, 2), "jobs_and_events_left": left,
               **cpu.stop()}
        if left:
            # Drop the backlog so the next phase starts clean: our own queue, and the events
            # still unprocessed in our own database (else the sweeper re-enqueues them as lost
            # 30 s later, in the middle of the next phase).
            await self.redis.delete(f"{self.prefix}:queue", f"{self.prefix}:bulk:events")
            await asyncio.sleep(3)  # let the jobs already running finish
            await self.reader.execute("DELETE FROM events_pending")
        return out

    # requests ----------------------------------------------------------------------------------

    def bulk_body(self) -> tuple[str, str, bytes, int]:
        events = []
        for _ in range(BATCH):
            n = next(self.seq)
            roll = n % 20
            if roll == 0:
                events.append({"id": f"e{n}", "contact": f"w-{random.randrange(WAITING_CONTACTS)}",
                               "name": "purchased", "properties": {"total": 42}})
            elif roll == 1:
                events.append({"id": f"e{n}", "contact": f"b-{random.randrange(BULK_CONTACTS)}",
                               "name": "app_open"})
            else:
                events.append({"id": f"e{n}", "contact": f"b-{random.randrange(BULK_CONTACTS)}",
                               "name": "page_view",
                               "properties": {"path": random.choice(PATHS)}})
        return "POST", "/api/events", msgspec.json.encode(events), BATCH

    def invalid_bulk_body(self) -> tuple[str, str, bytes, int]:
        method, path, body, _ = self.bulk_body()
        events = msgspec.json.decode(body)
        events[-1] = {"contact": "b-1"}  # no name: 400 after 499 valid events
        return method, path, msgspec.json.encode(events), 0

    def single_body(self) -> tuple[str, str, bytes, int]:
        n = next(self.seq)
        event = {"id": f"e{n}", "contact": f"b-{random.randrange(BULK_CONTACTS)}",
                 "name": "page_view", "properties": {"path": random.choice(PATHS)}}
        return "POST", "/api/events", msgspec.json.encode(event), 1

    # phases ------------------------------------------------------------------------------------

    async def measure(self, label: str, connections: int, seconds: float, make: Maker,
                      ok: tuple[int, ...], auth: bool = True) -> dict[str, Any]:
        cpu = Cpu(self.pids)
        cpu.start()
        load = await closed_loop(self.port, self.key, connections, seconds, make, ok, auth)
        result = phase_result(label, connections, load, cpu.stop())
        print(json.dumps(result), flush=True)
        return result

    async def latency(self, rate: float, seconds: float, per_request: int = 1,
                      pool: int = 64, wait: float = 10) -> dict[str, Any]:
        """Open loop: `bench_ping` events at `rate`/s, `per_request` per request, each for a
        different contact; the time from the request's start to the event's message row, seen
        by polling the database every 2 ms. A request that would find all `pool` connections
        busy is not sent (counted as dropped): the loop never queues behind a slow server."""
        total = int(rate * seconds)
        interval = per_request / rate
        last_id = int(await self.reader.scalar("SELECT COALESCE(MAX(id), 0) FROM messages"))
        conns: list[Conn] = [await Conn(self.port, self.key).open() for _ in range(pool)]
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        http: list[float] = []
        lag: list[float] = []
        errors: list[str] = []
        dropped = 0
        done = asyncio.Event()

        async def poll() -> None:
            nonlocal last_id
            while not done.is_set():
                rows = await self.reader.rows(
                    f"SELECT id, contact FROM messages WHERE id > {last_id} ORDER BY id")
                now = time.perf_counter()
                for mid, contact in rows:
                    last_id = max(last_id, int(mid))
                    if contact in sent:
                        seen.setdefault(contact, now)
                await asyncio.sleep(0.002)

        async def one(first: int, due: float) -> None:
            conn = conns.pop()
            contacts = [f"l-{first + j}" for j in range(per_request)]
            events = [{"contact": c, "name": "bench_ping"} for c in contacts]
            body = msgspec.json.encode(events[0] if per_request == 1 else events)
            t0 = time.perf_counter()
            lag.append(t0 - due)
            for c in contacts:
                sent[c] = t0
            try:
                status, answer = await conn.request("POST", "/api/events", body)
                http.append(time.perf_counter() - t0)
                if status != 202:
                    errors.append(f"{status} {answer[:200]!r}")
            finally:
                conns.append(conn)

        cpu = Cpu(self.pids)
        cpu.start()
        poller = asyncio.create_task(poll())
        start_at = time.perf_counter()
        tasks = []
        first = 0
        while first < total:
            due = start_at + (first // per_request) * interval
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(min(due - now, 0.001))
                continue
            if conns:
                tasks.append(asyncio.create_task(one(first, due)))
                await asyncio.sleep(0)  # let it take its connection
            else:
                dropped += per_request
            first += per_request
        await asyncio.gather(*tasks)
        send_seconds = time.perf_counter() - start_at
        deadline = time.perf_counter() + wait
        while len(seen) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        done.set()
        await poller
        usage = cpu.stop()
        for conn in conns:
            conn.close()
        e2e = [seen[c] - sent[c] for c in seen]
        label = "one per request" if per_request == 1 else f"batches of {per_request}"
        result = {
            "phase": f"latency @ {rate:,.0f} events/s, {label}", "events": total,
            "sent": len(sent), "dropped": dropped,
            "sent_per_s": round(len(sent) / send_seconds, 1),
            "messages_seen": len(e2e), "errors": len(errors),
            "e2e_p50_ms": round(1000 * pct(e2e, 50), 1),
            "e2e_p95_ms": round(1000 * pct(e2e, 95), 1),
            "e2e_p99_ms": round(1000 * pct(e2e, 99), 1),
            "e2e_max_ms": round(1000 * max(e2e), 1) if e2e else None,
            "http_p50_ms": round(1000 * pct(http, 50), 2),
            "http_p99_ms": round(1000 * pct(http, 99), 2),
            "client_lag_p99_ms": round(1000 * pct(lag, 99), 2), **usage,
            **({"first_error": errors[0]} if errors else {}),
        }
        print(json.dumps(result), flush=True)
        drain = await self.drain(10)  # stragglers must not reach the next measurement
        if drain["jobs_and_events_left"]:
            result["left_after"] = drain["jobs_and_events_left"]
        return result


async def seed(bench: Bench, latency_contacts: int) -> None:
    """Contacts, flows (published), and runs left waiting for `purchased`."""
    def contacts(prefix: str, count: int) -> Iterator[dict[str, Any]]:
        for i in range(count):
            yield {"id": f"{prefix}-{i}", "email": f"{prefix}{i}@example.com",
                   "phone": f"+3934{i:08d}", "attributes": {"first_name": f"N{i}"},
                   "consent": {"email": "opted_in", "sms": "opted_in"}}

    everyone = [*contacts("b", BULK_CONTACTS), *contacts("w", WAITING_CONTACTS),
                *contacts("l", latency_contacts)]
    for begin in range(0, len(everyone), 1000):
        await call(bench.port, bench.key, "POST", "/api/contacts", everyone[begin:begin + 1000])
    for doc in FLOWS:
        flow = await call(bench.port, bench.key, "POST", "/api/flows/import", doc)
        await call(bench.port, bench.key, "POST", f"/api/flows/{flow['id']}/publish")
    signups = [{"id": f"s{i}", "contact": f"w-{i}", "name": "signed_up"}
               for i in range(WAITING_CONTACTS)]
    for begin in range(0, len(signups), BATCH):
        await call(bench.port, bench.key, "POST", "/api/events", signups[begin:begin + BATCH])
    deadline = time.perf_counter() + 60
    waiting = 0
    while time.perf_counter() < deadline:
        waiting = int(await bench.reader.scalar(
            "SELECT COUNT(*) FROM runs WHERE status = 'waiting'"))
        if waiting >= WAITING_CONTACTS:
            break
        await asyncio.sleep(0.25)
    if bench.reader.pg is not None:
        # Fresh tables carry the planner statistics of empty ones (autovacuum analyses them a
        # minute or more later): without this, waiting_runs() picks a nested loop over every
        # waiting run x every contact (40 ms instead of 2 ms per events job). A steady-state
        # install has statistics; the benchmark measures that, not its first minute.
        await bench.reader.pg.execute("ANALYZE")
    print(json.dumps({"seeded_contacts": len(everyone), "waiting_runs": waiting}), flush=True)


BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})
"""


async def bare_ceiling(env: dict[str, str], tmp: Path, connections: int,
                       pids: dict[str, int]) -> dict[str, Any]:
    """A hello-world ASGI app under uvicorn as `castflow serve` runs it (same loop and HTTP
    implementation choice): the most any Python server process can answer here."""
    (tmp / "bare_asgi.py").write_text(BARE_APP)
    port = free_port()
    code = (f"import sys, uvicorn; sys.path.insert(0, {str(tmp)!r}); "
            f"uvicorn.run('bare_asgi:app', host='127.0.0.1', port={port}, log_level='warning')")
    proc = start("bare", [PY, "-c", code], env, tmp)
    try:
        await wait_up(port, [proc], path="/")
        cpu = Cpu({**pids, "server": proc.popen.pid})
        cpu.start()
        load = await closed_loop(port, "", connections, 5, lambda: ("GET", "/", b"", 0),
                                 (200,), auth=False)
        result = phase_result("ceiling bare ASGI app, same uvicorn", connections, load,
                              cpu.stop())
        print(json.dumps(result), flush=True)
        return result
    finally:
        stop(proc)


async def wait_up(port: int, procs: list[Proc], limit: float = 60, path: str = "/login") -> None:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-2000:]}")
        try:
            conn = await Conn(port, "").open()
            try:
                status, _ = await conn.request("GET", path, auth=False)
            finally:
                conn.close()
            if status < 500:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not come up")


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from redis.asyncio import Redis

    tmp = Path(tempfile.mkdtemp(prefix="castflow-apibench-"))
    prefix = f"castflow-apibench-{uuid.uuid4().hex[:10]}"
    pg_name = f"castflow_apibench_{uuid.uuid4().hex[:10]}"
    admin: Any = None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import asyncpg

        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
        Cpu.pg_database = pg_name
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis,
           "CASTFLOW_REDIS_PREFIX": prefix, "CASTFLOW_VAR": str(tmp / "var")}
    if args.extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.extra_path,
                                                          env.get("PYTHONPATH")]))
    redis = Redis.from_url(args.redis)
    procs: list[Proc] = []
    reader = Reader(url)
    results: list[dict[str, Any]] = []
    try:
        key = cli(env, "apikey", "create", "--name", "bench")  # migrates the fresh database
        port = free_port()
        profiler = [PY, "-m", "pyinstrument", "--no-color", "-r", "text", "--show-all"]
        serve = [PY, "-m", "backend.cli", "serve", "--port", str(port)]
        if args.profile == "server":
            serve = [*profiler, "-o", str(tmp / "server-profile.txt"), *serve[1:]]
        if args.worker_poll_delay is not None:
            work = [PY, "-c", (
                "import sys; from backend.runtime import worker as w; o = w.worker_settings; "
                f"w.worker_settings = lambda *a, **k: {{**o(*a, **k), "
                f"'poll_delay': {args.worker_poll_delay}}}; "
                "from backend.cli import main; sys.exit(main(['worker']))")]
        else:
            work = [PY, "-m", "backend.cli", "worker"]
        if args.profile == "worker":
            work = [*profiler, "-o", str(tmp / "worker-profile.txt"), *work[1:]]
        # pyinstrument writes its profile on SIGINT (KeyboardInterrupt), not on SIGTERM
        sig = signal.SIGINT if args.profile else signal.SIGTERM
        procs.append(start("server", serve, env, tmp, sig))
        procs.append(start("worker", work, env, tmp, sig))
        await wait_up(port, procs)
        await reader.open()
        pids = {"client": os.getpid(), "server": procs[0].popen.pid,
                "worker": procs[1].popen.pid}
        bench = Bench(port, key, reader, redis, prefix, pids)
        latency_total = int(args.rate * args.latency_seconds)
        await seed(bench, latency_total)
        phases = set(args.phases.split(","))
        c1, cn = args.bulk_connections, args.single_connections

        def me() -> tuple[str, str, bytes, int]:
            return "GET", "/api/auth/me", b"", 0

        if "ceiling" in phases:
            results.append(await bare_ceiling(env, tmp, cn, pids))
            results.append(await bench.measure("ceiling GET /api/auth/me, no key (401, no db)",
                                               cn, 5, me, (401,), auth=False))
            results.append(await bench.measure("ceiling GET /api/auth/me (key check)", cn, 5,
                                               me, (200,)))
            results.append(await bench.measure(
                "ceiling POST 500 events, last invalid (400, no write)", c1, 6,
                bench.invalid_bulk_body, (400,)))
        if "bulk" in phases:
            before = int(await reader.scalar("SELECT COUNT(*) FROM events"))
            results.append(await bench.measure(f"bulk POST /api/events x{BATCH}", c1,
                                               args.bulk_seconds, bench.bulk_body, (202,)))
            stored = int(await reader.scalar("SELECT COUNT(*) FROM events")) - before
            backlog = int(await reader.scalar("SELECT COUNT(*) FROM events_pending"))
            drain = await bench.drain(args.drain_limit)
            # Stored AND matched: the load's events over the load's time plus the drain's. The
            # drain alone is the worker matching with the machine to itself (the API idle).
            matched = stored / (results[-1]["seconds"] + drain["drain_s"])
            results.append({"phase": "bulk: worker drain after the load", "events_stored":
                            stored, "stored_and_matched_per_s": round(matched),
                            "backlog_at_end_of_load": backlog,
                            "drain_events_per_s": round(backlog / max(drain["drain_s"], 0.01)),
                            **drain})
            print(json.dumps(results[-1]), flush=True)
        if "single" in phases:
            results.append(await bench.measure("single POST /api/events x1", cn,
                                               args.single_seconds, bench.single_body, (202,)))
            drain = await bench.drain(args.drain_limit / 2)
            results.append({"phase": "single: worker drain after the load", **drain})
            print(json.dumps(results[-1]), flush=True)
        if "latency" in phases:
            results.append(await bench.latency(args.low_rate, args.latency_seconds))
            results.append(await bench.latency(args.rate, args.latency_seconds))
            results.append(await bench.latency(args.rate, args.latency_seconds,
                                               per_request=args.rate_batch))
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-2000:]}")
        return results
    finally:
        await reader.close()
        for proc in procs:
            stop(proc)
        for proc in procs:
            tail = proc.log.read_text(errors="replace").strip().splitlines()
            errors = [line for line in tail if "Error" in line or "Traceback" in line]
            if errors:
                print(f"{proc.name} log ({proc.log}): {len(errors)} error line(s), first: "
                      f"{errors[0][:300]}", file=sys.stderr)
        deleted = 0
        async for found in redis.scan_iter(match=f"*{prefix}*", count=1000):
            deleted += await redis.delete(found)
        await redis.aclose()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()
        if args.profile:
            print(f"profile: {tmp / (args.profile + '-profile.txt')} (temporary directory "
                  "kept)", file=sys.stderr)
        elif args.keep:
            print(f"logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"cleaned up: {deleted} redis key(s) under {prefix!r}"
              + (f", database {pg_name} dropped" if admin is not None else ""),
              file=sys.stderr)


def markdown(db: str, results: list[dict[str, Any]]) -> str:
    def cpu(r: dict[str, Any]) -> str:
        return " | ".join(f"{r[f'cpu_{name}_pct']:.0f}" for name in
                          ("client", "server", "worker", "db", "other"))

    lines = [f"### {db}", "", "CPU columns: % of one core (the machine has two: 200%).", "",
             "| phase | conns | req/s | events/s | p50 ms | p99 ms | server CPU ms/req | "
             "client | server | worker | db | other |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "req_per_s" in r:
            lines.append(
                f"| {r['phase']} | {r['connections']} | {r['req_per_s']:,.0f} | "
                f"{r['events_per_s']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
                f"{r['server_cpu_ms_per_req']} | {cpu(r)} |")
    lines += ["", "| latency phase | sent/s | dropped | messages | e2e p50 | e2e p95 | e2e p99 | "
              "HTTP p50 | HTTP p99 | client | server | worker | db | other |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "e2e_p95_ms" in r:
            lines.append(
                f"| {r['phase']} | {r['sent_per_s']:,.0f} | {r['dropped']} | "
                f"{r['messages_seen']}/{r['sent']} | {r['e2e_p50_ms']} | {r['e2e_p95_ms']} | "
                f"{r['e2e_p99_ms']} | {r['http_p50_ms']} | {r['http_p99_ms']} | {cpu(r)} |")
    for r in results:
        if "req_per_s" not in r and "e2e_p95_ms" not in r:
            lines.append(f"\n- {r['phase']}: " + ", ".join(
                f"{k}={v}" for k, v in r.items() if k != "phase"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL",
                                                          "redis://127.0.0.1:6379/0"))
    parser.add_argument("--phases", default="ceiling,bulk,single,latency")
    parser.add_argument("--bulk-seconds", type=float, default=20)
    parser.add_argument("--single-seconds", type=float, default=15)
    parser.add_argument("--bulk-connections", type=int, default=4)
    parser.add_argument("--single-connections", type=int, default=16)
    parser.add_argument("--drain-limit", type=float, default=40,
                        help="seconds to wait for the worker after the bulk phase")
    parser.add_argument("--rate", type=float, default=1000, help="latency phase, events/s")
    parser.add_argument("--low-rate", type=float, default=20,
                        help="latency phase, first at this rate: the unloaded floor")
    parser.add_argument("--rate-batch", type=int, default=50,
                        help="latency phase, last: --rate events/s sent in batches of this")
    parser.add_argument("--latency-seconds", type=float, default=8)
    parser.add_argument("--profile", choices=["server", "worker"])
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (the server's and worker's logs)")
    parser.add_argument("--extra-path", help="prepended to PYTHONPATH of server and worker")
    parser.add_argument("--worker-poll-delay", type=float)
    args = parser.parse_args()
    t0 = time.perf_counter()
    results = asyncio.run(run(args))
    print(markdown(args.db, results))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
