"""Generate the benchmark's contacts and events (deterministic): `python bench/make_data.py N`."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

OUT = Path(__file__).parent / "out"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ZONES = ["Europe/Rome", "America/New_York", "Asia/Tokyo", None]
NAMES = ["Anna", "Bill", "Chiara", "Dmitri", "Eve", "Fatima", "Giulio", "Hana"]


def generate(count: int, out: Path = OUT) -> tuple[Path, Path]:
    rng = random.Random(42)
    out.mkdir(parents=True, exist_ok=True)
    contacts_path = out / f"contacts-{count}.jsonl"
    events_path = out / f"events-{count}.jsonl"
    encode = msgspec.json.encode
    with contacts_path.open("wb") as contacts, events_path.open("wb") as events:
        for n in range(count):
            cid = f"c-{n}"
            contact: dict[str, object] = {
                "id": cid,
                "attributes": {"first_name": rng.choice(NAMES), "age": rng.randint(14, 80),
                               "country": rng.choice(["IT", "DE", "US", "JP"])},
                "consent": {},
            }
            if rng.random() < 0.8:
                contact["email"] = f"{cid}@example.com"
            if rng.random() < 0.6:
                contact["phone"] = f"+39340{n:07d}"
            if rng.random() < 0.3:
                contact["push_tokens"] = [f"tok-{n}"]
            if rng.random() < 0.1:
                contact["consent"] = {"email": "opted_out"}
            if rng.random() < 0.5:
                contact["preferences"] = {"offers": rng.choice(["email", "sms", "push"])}
            zone = rng.choice(ZONES)
            if zone:
                contact["timezone"] = zone
            contacts.write(encode(contact) + b"\n")
            signed = START + timedelta(seconds=rng.randint(0, 3 * 86400))
            events.write(encode({"id": f"s-{n}", "contact": cid, "name": "signed_up",
                                 "at": signed, "properties": {"code": f"WELCOME{n % 1000}"}})
                         + b"\n")
            if rng.random() < 0.3:
                bought = signed + timedelta(days=1, seconds=rng.randint(0, 8 * 86400))
                events.write(encode({"id": f"p-{n}", "contact": cid, "name": "purchased",
                                     "at": bought}) + b"\n")
    return contacts_path, events_path


if __name__ == "__main__":
    print(*generate(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
