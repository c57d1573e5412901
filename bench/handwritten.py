"""The ceiling: bench/flow_10_nodes.json written by hand as a plain Python loop.

Same input files, same decisions, same templates and time arithmetic, same report (byte for byte),
but no compiler, no interpreter and no node programs. `castflow simulate` is measured against this.

    python bench/handwritten.py CONTACTS.jsonl EVENTS.jsonl > report.json
"""

from __future__ import annotations

import gc
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from flows.contacts import Contact, Event
from flows.interpreter import PathEntry
from flows.simulator import Message, NodeCount, Report, RunReport
from flows.templating import compile_template
from flows.timecalc import add_duration, format_instant, parse_duration, zone

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FLOW_ZONE = zone("Europe/Rome")
ONE_DAY = parse_duration("P1D")
SEVEN_DAYS = parse_duration("P7D")
NODES = [
    "start", "adults", "settle", "pick", "ab", "offer_a", "offer_b", "bought", "remind", "done"
]



def _message_templates() -> dict[str, dict[str, dict[str, Any]]]:
    """The send nodes' content, read from the flow file: the texts are data, not decisions."""
    flow = msgspec.json.decode((Path(__file__).parent / "flow_10_nodes.json").read_bytes())
    return {
        node["id"]: {
            channel: {name: compile_template(text) for name, text in fields.items()}
            for channel, fields in node["config"]["content"].items()
        }
        for node in flow["nodes"]
        if node["type"] == "send"
    }


TEMPLATES = _message_templates()


def address(contact: dict[str, Any], channel: str) -> str | None:
    if channel == "email":
        return contact.get("email") or None
    if channel == "sms":
        return contact.get("phone") or None
    tokens = contact.get("push_tokens")
    return tokens[0] if tokens else None


def main(contacts_path: Path, events_path: Path) -> bytes:
    decode_contact = msgspec.json.Decoder(Contact).decode
    decode_event = msgspec.json.Decoder(Event).decode
    contacts = [msgspec.to_builtins(decode_contact(line))
                for line in contacts_path.read_bytes().splitlines() if line.strip()]
    script: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for line in events_path.read_bytes().splitlines():
        event = decode_event(line)
        at = event.at or START
        data = {"name": event.name, "at": format_instant(at), "properties": event.properties}
        script.setdefault(event.contact, []).append((at, data))
    for events in script.values():
        events.sort(key=lambda item: item[0])
    end = add_duration(START, parse_duration("P30D"), FLOW_ZONE)
    runs = [
        run for contact in contacts
        if (run := one_contact(contact, script.get(contact["id"], []), end)) is not None
    ]
    counts = {node: NodeCount() for node in NODES}
    channels: dict[str, int] = {}
    for run in runs:
        for entry in run.path:
            count = counts[entry.node]
            count.entered += 1
            if entry.port is not None:
                count.ports[entry.port] = count.ports.get(entry.port, 0) + 1
        for message in run.messages:
            channels[message.channel] = channels.get(message.channel, 0) + 1
    return msgspec.json.encode(Report(nodes=counts, runs=runs, messages=channels))


def one_contact(
    contact: dict[str, Any], events: list[tuple[datetime, dict[str, Any]]], end: datetime
) -> RunReport | None:
    signed = next(((at, e) for at, e in events if e["name"] == "signed_up" and at <= end), None)
    if signed is None:
        return None
    now, event = signed
    tz = zone(contact["timezone"]) if contact.get("timezone") else FLOW_ZONE
    path = [PathEntry("start", now, "next")]
    messages: list[Message] = []
    report = RunReport(contact=contact["id"], status="completed", path=path, messages=messages)
    variables = {"contact": contact, "event": event, "vars": {}}
    age = contact["attributes"].get("age")
    if not (isinstance(age, int) and age >= 18):
        path.append(PathEntry("adults", now, "no"))
        return report
    path.append(PathEntry("adults", now, "yes"))
    woke = add_duration(now, ONE_DAY, tz)
    if woke > end:
        path.append(PathEntry("settle", now))
        report.status, report.waiting_until = "waiting", woke
        return report
    path.append(PathEntry("settle", now, "next", left=woke))
    now = woke
    order = ["email", "sms", "push"]
    preferred = contact.get("preferences", {}).get("offers")
    if preferred in order and preferred != "email":
        order = [preferred, *(c for c in order if c != preferred)]
    reasons: dict[str, str] = {}
    chosen = None
    for channel in order:
        if contact.get("consent", {}).get(channel) == "opted_out":
            reasons[channel] = "opted_out"
        elif address(contact, channel) is None:
            reasons[channel] = "no_address"
        else:
            chosen = channel
            break
    if chosen is None:
        path.append(PathEntry("pick", now, "none", reasons=reasons))
        return report
    path.append(PathEntry("pick", now, chosen, reasons=reasons or None))
    digest = hashlib.blake2b(f"0:ab:{contact['id']}".encode(), digest_size=8).digest()
    variant = "a" if int.from_bytes(digest) % 100 < 50 else "b"
    path.append(PathEntry("ab", now, variant))
    send = f"offer_{variant}"
    send_message(send, chosen, contact, variables, now, path, messages)
    path.append(PathEntry("bought", now))
    deadline = add_duration(now, SEVEN_DAYS, tz)
    bought = next(
        (at for at, e in events if e["name"] == "purchased" and now < at < deadline), None
    )
    if bought is not None and bought <= end:
        path[-1].port, path[-1].left = "event", bought
        path.append(PathEntry("done", bought, reason="purchased"))
        report.status, report.reason = "exited", "purchased"
        return report
    if deadline > end:
        report.status, report.waiting_until, report.awaiting = "waiting", deadline, "purchased"
        return report
    path[-1].port, path[-1].left = "timeout", deadline
    send_message("remind", chosen, contact, variables, deadline, path, messages)
    return report


def send_message(
    node: str, channel: str, contact: dict[str, Any], variables: dict[str, Any], now: datetime,
    path: list[PathEntry], messages: list[Message],
) -> None:
    content = {name: t.render(variables) for name, t in TEMPLATES[node][channel].items()}
    to = address(contact, channel)
    assert to is not None
    messages.append(Message(node, channel, to, now, content, "offers"))
    path.append(PathEntry(node, now, "sent"))


if __name__ == "__main__":
    gc.disable()  # as `castflow simulate` does: the fair ceiling
    sys.stdout.buffer.write(main(Path(sys.argv[1]), Path(sys.argv[2])) + b"\n")
