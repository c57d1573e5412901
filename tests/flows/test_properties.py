"""Properties of compiling and simulating random valid flows (hypothesis).

The strategy builds DAG flow documents from the real node kinds: nodes are laid out in a
topological order, every edge goes forward in that order (so the graph is a DAG), every
non-trigger node gets one edge from an earlier free port (so a trigger reaches it), and some
ports stay unconnected (runs end there, `completed`).
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.compiler import Plan, compile_flow
from flows.contacts import Event, decode_contact
from flows.document import FORMAT, decode_document, encode_document
from flows.simulator import Report, report_to_json, simulate
from nodes import CATALOGUE

CHANNELS = ("email", "sms", "push", "voice", "chat")
EVENTS = ("signed_up", "purchased", "clicked")
TOPICS = ("news", "deals")
ZONES = ("UTC", "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
DURATIONS = ("PT30S", "PT5M", "PT1H", "PT24H", "P1D", "P2D", "P1W", "P1DT12H", "P1M")
COUNTRIES = ("IT", "FR", "US", "DE")
PLANS = ("free", "pro")

# --- node configs -----------------------------------------------------------------------------

country = st.sampled_from(COUNTRIES)

# Simple rules over contact attributes. A contact's `age` is now and then text, so comparisons
# sometimes cannot be evaluated (the filter then says "no").
attribute_rule = st.one_of(
    country.map(lambda c: {"==": [{"var": "contact.attributes.country"}, c]}),
    country.map(lambda c: {"!=": [{"var": "contact.attributes.country"}, c]}),
    st.integers(0, 90).map(lambda n: {">=": [{"var": "contact.attributes.age"}, n]}),
    st.integers(0, 90).map(lambda n: {"<": [{"var": "contact.attributes.age"}, n]}),
    st.lists(country, min_size=1, max_size=3).map(
        lambda cs: {"in": [{"var": "contact.attributes.country"}, cs]}
    ),
    st.just({"!!": {"var": "contact.attributes.vip"}}),
    st.just({"missing": ["contact.email"]}),
    st.sampled_from(PLANS).map(lambda p: {"==": [{"var": "event.properties.plan"}, p]}),
)
rule = st.one_of(
    attribute_rule,
    st.lists(attribute_rule, min_size=2, max_size=3).map(lambda rs: {"and": rs}),
    st.lists(attribute_rule, min_size=2, max_size=3).map(lambda rs: {"or": rs}),
    attribute_rule.map(lambda r: {"!": r}),
)

template = st.sampled_from((
    "Hello!",
    "Hi {{ contact.attributes.first_name }}",
    "Hi {{ contact.attributes.first_name | default('there') }}, "
    "from {{ contact.attributes.country }}",
    "Your plan: {{ event.properties.plan }}",
    "{% if contact.attributes.vip %}VIP {% endif %}offer for {{ contact.id }}",
    "{{ vars | length }} things",
    "Next year you are {{ contact.attributes.age + 1 }}",  # fails to render for a text age
    "{{ 100 // contact.attributes.age }}% off",  # fails for 0, text or no age
))


@st.composite
def trigger_config(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 4)) == 0:
        return {"on": "api"}  # enrols every contact at the start
    config: dict[str, Any] = {"on": "event", "event": draw(st.sampled_from(EVENTS[:2]))}
    if draw(st.integers(0, 3)) == 0:
        config["where"] = draw(st.sampled_from(PLANS).map(
            lambda p: {"==": [{"var": "event.properties.plan"}, p]}
        ))
    return config


@st.composite
def wait_config(draw: st.DrawFn) -> dict[str, Any]:
    form = draw(st.sampled_from(("for", "until", "event", "event_nested")))
    if form == "for":
        return {"for": draw(st.sampled_from(DURATIONS))}
    if form == "until":
        until: dict[str, Any] = {
            "time": f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from((0, 15, 30, 59))):02d}"
        }
        if draw(st.booleans()):
            days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            until["weekdays"] = draw(st.lists(st.sampled_from(days), min_size=1, max_size=7,
                                              unique=True))
        if draw(st.booleans()):
            until["timezone"] = draw(st.sampled_from(("contact", *ZONES)))
        return {"until": until}
    config: dict[str, Any] = {"event": draw(st.sampled_from(EVENTS)),
                              "timeout": draw(st.sampled_from(DURATIONS))}
    if draw(st.booleans()):
        config["where"] = {"==": [{"var": "event.properties.plan"}, draw(st.sampled_from(PLANS))]}
    if form == "event_nested":
        return {"event": {"name": config.pop("event"), **config}}
    return config


CONTENT_FIELDS = {
    "email": ("subject", "text", "html"),
    "sms": ("text",),
    "push": ("title", "body", "url"),
    "voice": ("text",),
    "chat": ("text",),
}
OPTIONAL_FIELDS = {"html", "url"}


@st.composite
def send_config(draw: st.DrawFn) -> dict[str, Any]:
    channel = draw(st.sampled_from(("chosen", *CHANNELS)))
    with_content = set(draw(st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True)))
    if channel != "chosen":
        with_content.add(channel)
    content: dict[str, Any] = {}
    for name in CHANNELS:
        if name not in with_content:
            continue
        fields = {}
        for field in CONTENT_FIELDS[name]:
            if field in OPTIONAL_FIELDS and draw(st.booleans()):
                continue
            fields[field] = draw(template)
        content[name] = fields
    config: dict[str, Any] = {"channel": channel, "content": content}
    if draw(st.booleans()):
        config["topic"] = draw(st.sampled_from(TOPICS))
    return config


@st.composite
def channel_choice_config(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {
        "channels": draw(st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True))
    }
    if draw(st.booleans()):
        config["topic"] = draw(st.sampled_from(TOPICS))
    return config


@st.composite
def split_config(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(("a", "b", "c", "control")), min_size=2, max_size=4,
                          unique=True))
    weights = draw(st.lists(st.integers(0, 100), min_size=len(names), max_size=len(names))
                   .filter(lambda ws: sum(ws) > 0))
    return {"variants": [{"name": n, "weight": w} for n, w in zip(names, weights, strict=True)]}


update_config = st.dictionaries(
    st.sampled_from(("lifecycle", "country", "vip", "age", "greeting")),
    st.sampled_from(("engaged", "{{ contact.attributes.country }}", "{{ event.name }}", 41, True,
                     None)),
    min_size=1, max_size=3,
).map(lambda values: {"set": values})

exit_config: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}), st.sampled_from(("unsubscribed", "done")).map(lambda reason: {"reason": reason})
)

STEP_KINDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "segment_filter": rule.map(lambda r: {"rule": r}),
    "channel_choice": channel_choice_config(),
    "wait": wait_config(),
    "send": send_config(),
    "split": split_config(),
    "update_contact": update_config,
    "exit": exit_config,
}


def ports_of(node_type: str, config: dict[str, Any]) -> list[str]:
    """The ports the real kinds declare, computed independently of them."""
    if node_type in ("trigger", "update_contact"):
        return ["next"]
    if node_type == "segment_filter":
        return ["yes", "no"]
    if node_type == "channel_choice":
        return [*config["channels"], "none"]
    if node_type == "wait":
        return ["event", "timeout"] if "event" in config else ["next"]
    if node_type == "send":
        return ["sent", "failed"]
    if node_type == "split":
        return [v["name"] for v in config["variants"]]
    return []  # exit


# --- documents ---------------------------------------------------------------------------------


@st.composite
def flow_documents(draw: st.DrawFn, max_steps: int = 9) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    free: list[tuple[str, str]] = []  # (node id, port) with no edge yet, in order
    single_port: set[str] = set()

    def add(node_id: str, node_type: str, config: dict[str, Any]) -> None:
        node: dict[str, Any] = {"id": node_id, "type": node_type, "config": config}
        if draw(st.booleans()):
            node["position"] = {"x": draw(st.integers(-500, 500)), "y": len(nodes) * 120}
        if draw(st.integers(0, 3)) == 0:
            node["label"] = f"{node_type} #{len(nodes)}"
        nodes.append(node)
        ports = ports_of(node_type, config)
        if len(ports) == 1:
            single_port.add(node_id)
        free.extend((node_id, port) for port in ports)

    def connect(source: str, port: str, target: str) -> None:
        free.remove((source, port))
        if source in single_port and draw(st.booleans()):
            edges.append({"from": source, "to": target})  # port left out: the node has one
        else:
            edges.append({"from": source, "port": port, "to": target})

    add("t0", "trigger", draw(trigger_config()))
    for index in range(draw(st.integers(0, max_steps))):
        node_id = f"n{index}"
        if not free:  # nothing earlier can lead here: start another entry point
            add(f"t{index + 1}", "trigger", draw(trigger_config()))
        source, port = draw(st.sampled_from(free))
        node_type = draw(st.sampled_from(sorted(STEP_KINDS)))
        add(node_id, node_type, draw(STEP_KINDS[node_type]))
        connect(source, port, node_id)
        # A few more edges into this node from earlier free ports (forward only: a DAG).
        for extra_source, extra_port in draw(
            st.lists(st.sampled_from(free), max_size=2, unique=True)
            if len(free) > 1 else st.just([])
        ):
            if extra_source != node_id:
                connect(extra_source, extra_port, node_id)

    document: dict[str, Any] = {"format": FORMAT, "name": draw(st.text(max_size=12)),
                                "nodes": nodes, "edges": edges}
    if draw(st.booleans()):
        document["description"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        document["settings"] = {"entry": draw(st.sampled_from(("once", "single_active", "always"))),
                                "timezone": draw(st.sampled_from(ZONES))}
    return document


# --- contacts and events --------------------------------------------------------------------


often = st.integers(0, 9).map(lambda n: n < 7)


@st.composite
def contacts(draw: st.DrawFn, max_size: int = 4) -> list[dict[str, Any]]:
    result = []
    for index in range(draw(st.integers(0, max_size).filter(bool) | st.just(0))):
        contact: dict[str, Any] = {"id": f"c{index}"}
        if draw(often):
            contact["email"] = f"c{index}@example.com"
        if draw(often):
            contact["phone"] = f"+3934000000{index}"
        if draw(often):
            contact["push_tokens"] = [f"token-{index}"]
        if draw(often):
            contact["chat"] = {"whatsapp": f"+3934000000{index}"}
        attributes: dict[str, Any] = {}
        if draw(st.booleans()):
            attributes["country"] = draw(country)
        if draw(st.booleans()):
            attributes["age"] = draw(st.one_of(st.integers(0, 99), st.just("forty")))
        if draw(st.booleans()):
            attributes["first_name"] = draw(st.sampled_from(("Bill", "Zoë", "")))
        if draw(st.booleans()):
            attributes["vip"] = draw(st.booleans())
        if attributes:
            contact["attributes"] = attributes
        if draw(st.booleans()):
            contact["consent"] = draw(st.dictionaries(
                st.sampled_from(CHANNELS), st.sampled_from(("opted_in", "opted_out")), max_size=3
            ))
        if draw(st.booleans()):
            contact["preferences"] = draw(st.dictionaries(
                st.sampled_from(TOPICS), st.sampled_from(CHANNELS), max_size=2
            ))
        if draw(st.booleans()):
            contact["timezone"] = draw(st.sampled_from(ZONES))
        # Through the real decoder, as the CLI and API do.
        result.append(decode_contact(json.dumps(contact)))
    return result


START_TIMES = (
    datetime(2026, 1, 1, 9, tzinfo=UTC),
    datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # the night Europe springs forward
    datetime(2026, 10, 24, 23, 0, tzinfo=UTC),  # the night Europe falls back
    datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # New York falls back
)


@st.composite
def event_scripts(
    draw: st.DrawFn, contact_ids: list[str], start: datetime, max_size: int = 12
) -> list[Event]:
    # Events for listed contacts and, now and then, for one not listed (a bare profile).
    who = (st.sampled_from(contact_ids) | st.just("stranger")) if contact_ids else st.just("c0")
    events = []
    for index in range(draw(st.integers(0, max_size))):
        offset = timedelta(minutes=draw(st.integers(-60, 60 * 24 * 3) | st.integers(0, 20_000)))
        at = start + offset if draw(st.integers(0, 9)) else None  # no `at`: at the start
        event_id = draw(st.one_of(st.none(), st.sampled_from(("e1", "e2", f"u{index}"))))
        properties = {"plan": draw(st.sampled_from(PLANS))} if draw(st.booleans()) else {}
        events.append(Event(contact=draw(who), name=draw(st.sampled_from(EVENTS)), id=event_id,
                            at=at, properties=properties))
    return events


@dataclass
class Scenario:
    document: dict[str, Any]
    plan: Plan
    contacts: list[dict[str, Any]]
    events: list[Event]
    start: datetime
    end: datetime
    seed: int

    def run(self) -> Report:
        return simulate(self.plan, self.contacts, self.events, self.start, self.end,
                        seed=self.seed)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    document = draw(flow_documents())
    plan = compile_flow(json.dumps(document), CATALOGUE)
    people = draw(contacts())
    start = draw(st.sampled_from(START_TIMES))
    events = draw(event_scripts([c["id"] for c in people], start))
    horizon = timedelta(hours=draw(st.integers(1, 24 * 20)))
    seed = draw(st.integers(0, 2**31))
    return Scenario(document, plan, people, events, start, start + horizon, seed)


PROPERTY_SETTINGS = settings(max_examples=120, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


# --- properties: documents ------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(flow_documents())
def test_generated_documents_compile(document: dict[str, Any]) -> None:
    plan = compile_flow(json.dumps(document), CATALOGUE)
    assert set(plan.nodes) == {n["id"] for n in document["nodes"]}
    for node in document["nodes"]:
        assert list(plan.nodes[node["id"]].ports) == ports_of(node["type"], node["config"])


@PROPERTY_SETTINGS
@given(flow_documents())
def test_export_then_import_gives_an_equal_document(document: dict[str, Any]) -> None:
    decoded = decode_document(json.dumps(document))
    exported = encode_document(decoded)
    again = decode_document(exported)
    assert again == decoded
    assert encode_document(again) == exported
    first = compile_flow(json.dumps(document), CATALOGUE)
    assert compile_flow(exported, CATALOGUE).content_hash == first.content_hash


# --- properties: simulation -------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_simulation_reports_are_consistent(scenario: Scenario) -> None:
    report = scenario.run()  # it terminates: hypothesis would hang or time out otherwise
    plan = scenario.plan
    scripted = {(e.contact, e.name, e.at or scenario.start) for e in scenario.events}

    for run in report.runs:
        assert run.status in ("completed", "waiting", "exited")
        path = run.path
        assert path, "a run always enters its trigger"
        assert path[0].node in plan.triggers

        # Every entry but the last left by a port; the last one did unless the run waits or
        # exited.
        for entry in path[:-1]:
            assert entry.port is not None
        last = path[-1]
        if run.status == "completed":
            assert last.port is not None
            assert plan.nodes[last.node].next.get(last.port) is None  # a port without an edge
        else:
            assert last.port is None
        if run.status == "exited":
            assert plan.nodes[last.node].kind.type == "exit"
            assert run.reason == plan.nodes[last.node].config.reason
        if run.status == "waiting":
            assert plan.nodes[last.node].kind.type == "wait"
            assert run.waiting_until is not None
            assert run.waiting_until > scenario.end  # else it would have woken up
        else:
            assert run.waiting_until is None and run.awaiting is None

        # The path follows the document's edges.
        for before, after in itertools.pairwise(path):
            assert before.port is not None
            assert before.port in plan.nodes[before.node].ports
            assert plan.nodes[before.node].next[before.port] == after.node

        # Times never decrease, and stay inside the simulated window.
        moments = []
        for entry in path:
            moments.append(entry.at)
            if entry.left is not None:
                assert entry.left > entry.at
                moments.append(entry.left)
        assert moments == sorted(moments)
        assert scenario.start <= moments[0] and moments[-1] <= scenario.end

        # The run entered by its trigger's event (or at the start, for an API trigger) ...
        spec = plan.trigger_spec(path[0].node)
        if spec.on == "api":
            assert path[0].at == scenario.start
        else:
            assert (run.contact, spec.event, path[0].at) in scripted
        # ... and every wait held it for a while; an event wait left by `event` only for a
        # scripted event later than its arrival there.
        for entry in path:
            if plan.nodes[entry.node].kind.type == "wait" and entry.port is not None:
                assert entry.left is not None and entry.left > entry.at
            if entry.port == "event":
                awaited = plan.nodes[entry.node].program.event  # type: ignore[attr-defined]
                assert (run.contact, awaited, entry.left) in scripted

        # One message per send left by `sent`, at the moment of the send.
        sent = [e for e in path if e.port == "sent"]
        assert [(m.node, m.at) for m in run.messages] == [(e.node, e.at) for e in sent]
        for entry in path:
            if entry.port == "failed":
                assert entry.reason
        for message in run.messages:
            assert message.channel in CHANNELS
            assert message.to

    # Per node: runs that entered = runs that left by a port + runs still there.
    for node_id, count in report.nodes.items():
        still_there = sum(
            1 for run in report.runs
            if run.status in ("waiting", "exited") and run.path[-1].node == node_id
        )
        assert count.entered == sum(count.ports.values()) + still_there
        entries = [e for run in report.runs for e in run.path if e.node == node_id]
        assert count.entered == len(entries)
        for port, number in count.ports.items():
            assert number == sum(1 for e in entries if e.port == port)
    assert set(report.nodes) == set(plan.nodes)

    # Channel totals are the sum of the runs' messages.
    totals: dict[str, int] = {}
    for run in report.runs:
        for message in run.messages:
            totals[message.channel] = totals.get(message.channel, 0) + 1
    assert report.messages == totals

    # Entry rules.
    by_contact: dict[str, list[Any]] = {}
    for run in report.runs:
        by_contact.setdefault(run.contact, []).append(run)
    if plan.entry == "once":
        assert all(len(runs) == 1 for runs in by_contact.values())
    if plan.entry == "single_active":
        for runs in by_contact.values():
            assert sum(1 for r in runs if r.status == "waiting") <= 1


@PROPERTY_SETTINGS
@given(scenarios())
def test_same_seed_gives_a_byte_identical_report(scenario: Scenario) -> None:
    contacts_before = copy.deepcopy(scenario.contacts)
    events_before = copy.deepcopy(scenario.events)
    first = report_to_json(scenario.run())
    # A dry run changes neither its contacts (update_contact stays in the dry run) nor events.
    assert scenario.contacts == contacts_before
    assert scenario.events == events_before
    second = report_to_json(scenario.run())
    assert first == second
    # Event order in the script does not matter: the simulator orders events by time.
    reordered = Scenario(**{**scenario.__dict__, "events": list(reversed(scenario.events))})
    events = scenario.events
    ids = [e.id for e in events if e.id is not None]
    if len({(e.at, e.contact) for e in events}) == len(events) and len(set(ids)) == len(ids):
        assert report_to_json(reordered.run()) == first


# --- regressions and known bugs, found while writing the properties ---------------------------


def _one_node_flow(node: dict[str, Any]) -> Plan:
    document = {
        "format": FORMAT, "name": "repro",
        "nodes": [{"id": "t", "type": "trigger", "config": {"on": "event", "event": "go"}}, node],
        "edges": [{"from": "t", "to": node["id"]}],
    }
    return compile_flow(json.dumps(document), CATALOGUE)


START = datetime(2026, 1, 1, 9, tzinfo=UTC)
GO = [Event(contact="c1", name="go", at=START)]


def test_rule_error_at_run_time_does_not_crash() -> None:
    plan = _one_node_flow({"id": "adult", "type": "segment_filter",
                           "config": {"rule": {">": [{"var": "contact.attributes.age"}, 17]}}})
    contact = {"id": "c1", "attributes": {"age": "forty"}}
    report = simulate(plan, [contact], GO, START, START + timedelta(days=1))
    (run,) = report.runs
    assert run.path[-1].node == "adult"
    assert run.path[-1].port == "no"  # a condition that cannot be evaluated is not met
    assert run.path[-1].reason


@pytest.mark.parametrize(
    ("text", "attributes"),
    [
        pytest.param("{{ contact.attributes.age + 1 }}", {"age": "forty"}, id="str-plus-int"),
        pytest.param("{{ 100 / contact.attributes.count }}", {"count": 0}, id="division-by-zero"),
    ],
)
def test_template_error_at_run_time_fails_the_send(text: str, attributes: dict[str, Any]) -> None:
    plan = _one_node_flow({"id": "s", "type": "send",
                           "config": {"channel": "sms", "content": {"sms": {"text": text}}}})
    contact = {"id": "c1", "phone": "+15550100", "attributes": attributes}
    report = simulate(plan, [contact], GO, START, START + timedelta(days=1))
    (run,) = report.runs
    assert (run.path[-1].port, run.path[-1].reason) == ("failed", "render_error")
    assert run.messages == []


def test_simulation_does_not_change_the_contacts_it_is_given() -> None:
    document = {
        "format": FORMAT, "name": "repro",
        "nodes": [
            {"id": "t", "type": "trigger", "config": {"on": "event", "event": "go"}},
            {"id": "it", "type": "segment_filter",
             "config": {"rule": {"==": [{"var": "contact.attributes.country"}, "IT"]}}},
            {"id": "move", "type": "update_contact", "config": {"set": {"country": "FR"}}},
        ],
        "edges": [{"from": "t", "to": "it"}, {"from": "it", "port": "yes", "to": "move"}],
    }
    plan = compile_flow(json.dumps(document), CATALOGUE)
    people = [{"id": "c1", "attributes": {"country": "IT"}}]
    before = copy.deepcopy(people)
    first = report_to_json(simulate(plan, people, GO, START, START + timedelta(days=1)))
    assert people == before
    second = report_to_json(simulate(plan, people, GO, START, START + timedelta(days=1)))
    assert first == second
