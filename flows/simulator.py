"""Dry runs: a compiled flow over many contacts, on a virtual clock, with a recording sender.

Contacts never affect one another in v1, so each contact is simulated on its own timeline: its
scripted events in time order, interleaved with its runs' wake-ups. That keeps the simulation
linear in contacts and fully deterministic.

Given a delivery policy (settings and a suppression list), a dry run gates every send as the
live runtime does, with the facts of the simulation itself: the messages it has sent to the
contact so far, across its runs. Each run then lists the sends the policy refused (`refused`);
deferred sends show in the path (`deferred`, and `left` when the send finally went).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from flows.catalogue import SegmentLookup, StepContext, no_segments
from flows.compiler import Plan
from flows.contacts import Event, event_to_data
from flows.interpreter import (
    FINISHED,
    Deliver,
    Effect,
    Environment,
    PathEntry,
    Refused,
    Run,
    advance,
    delivered,
    receive,
    start,
    wake,
)
from flows.policy import NO_FACTS, DryRunPolicy, RecordedFacts
from flows.segments import SegmentRule, SegmentRuleError, evaluate_segment


class NodeCount(msgspec.Struct, gc=False):
    entered: int = 0
    ports: dict[str, int] = msgspec.field(default_factory=dict)


class Message(msgspec.Struct, omit_defaults=True, gc=False):
    node: str
    channel: str
    to: str
    at: datetime
    content: dict[str, str]
    topic: str | None = None


class RefusedMessage(msgspec.Struct, omit_defaults=True, gc=False):
    """A send the delivery policy refused (only in dry runs given a policy)."""

    node: str
    channel: str
    at: datetime
    reason: str
    to: str | None = None  # absent when the contact has no address on the channel
    topic: str | None = None


class RunReport(msgspec.Struct, omit_defaults=True, gc=False):
    contact: str
    status: str
    path: list[PathEntry]
    messages: list[Message]
    reason: str | None = None  # why the run exited
    waiting_until: datetime | None = None
    awaiting: str | None = None
    refused: list[RefusedMessage] | None = None


class Report(msgspec.Struct):
    nodes: dict[str, NodeCount]
    runs: list[RunReport]
    messages: dict[str, int]


class SimulationError(ValueError):
    pass


def simulate(
    plan: Plan,
    contacts: Iterable[dict[str, Any]],
    events: Iterable[Event],
    start_at: datetime,
    end_at: datetime,
    *,
    seed: int = 0,
    segments: SegmentLookup | Mapping[str, SegmentRule] = no_segments,
    policy: DryRunPolicy | None = None,
) -> Report:
    """Run `plan` for every contact from `start_at` to `end_at` and report what would happen.

    `segments`: segment rules by key (evaluated against each contact and its scripted events up
    to the virtual time, so segment filters, audiences and segment triggers work in a dry run),
    or a plain lookup. Without `policy`, sends are gated by consent and addresses only, and runs
    list no refusals (the report of a workspace without policy settings)."""
    rules: Mapping[str, SegmentRule] | None = None
    if isinstance(segments, Mapping):
        rules, segments = segments, no_segments
    if policy is None:
        env = Environment(seed=seed, segments=segments)
    else:
        env = Environment(seed=seed, segments=segments, policy=policy.policy,
                          facts=RecordedFacts(policy.suppressions))
    by_contact = _events_by_contact(events, start_at)
    reports: list[RunReport] = []
    known: set[str] = set()
    try:
        for contact in contacts:
            cid = contact["id"]
            known.add(cid)
            _Timeline(plan, env, contact, by_contact.get(cid, []), start_at, end_at,
                      rules).run(reports)
        # A scripted event for a contact not in the list: it enters as a bare profile, as live.
        for cid, script in by_contact.items():
            if cid not in known:
                _Timeline(plan, env, {"id": cid}, script, start_at, end_at, rules).run(reports)
    except LookupError as exc:  # a segment the flow names was not given
        raise SimulationError(str(exc).strip("'\"")) from None
    return _summarise(plan, reports)


def _events_by_contact(
    events: Iterable[Event], start_at: datetime
) -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
    seen_ids: set[str] = set()
    grouped: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for event in events:
        if event.id is not None:
            if event.id in seen_ids:
                continue  # a repeated id is the same event delivered twice
            seen_ids.add(event.id)
        at = event.at or start_at
        grouped.setdefault(event.contact, []).append((at, event_to_data(event, at)))
    for script in grouped.values():
        script.sort(key=lambda item: item[0])  # stable: same-time events keep script order
    return grouped


class _Timeline:
    """One contact's runs, driven through its events and wake-ups in time order."""

    def __init__(
        self,
        plan: Plan,
        env: Environment,
        contact: dict[str, Any],
        script: list[tuple[datetime, dict[str, Any]]],
        start_at: datetime,
        end_at: datetime,
        rules: Mapping[str, SegmentRule] | None = None,
    ) -> None:
        self.plan = plan
        self.segments = _Segments(self, rules, plan) if rules is not None else None
        if self.segments is not None:
            env = Environment(seed=env.seed, segments=self.segments.lookup, policy=env.policy,
                              facts=env.facts)
        self.env = env
        self.contact = dict(contact)  # updates during the dry run stay in the dry run
        self.script = script
        self.start_at = start_at
        self.end_at = end_at
        self.runs: list[Run] = []
        self.messages: dict[str, list[Message]] = {}
        self.refused: dict[str, list[RefusedMessage]] | None = (
            None if env.facts is NO_FACTS else {}
        )
        # Sends are recorded for caps (only when there are caps: nothing else reads them).
        self.facts = env.facts if isinstance(env.facts, RecordedFacts) else None
        self.record_sends = self.facts is not None and env.policy.counts_sends

    def run(self, reports: list[RunReport]) -> None:
        segments = self.segments
        self.now = self.start_at
        self.seen = sum(1 for at, _ in self.script if at <= self.start_at)
        if segments is not None:
            segments.begin()
        self._enrol_at_start()
        script = self.script
        index = 0
        end_at = self.end_at
        while True:
            timer = self._next_wake()
            if segments is not None:
                check = segments.next_check()
                if check is not None and (timer is None or check < timer):
                    timer = check
            event_at = script[index][0] if index < len(script) else None
            if timer is not None and (event_at is None or timer <= event_at):
                if timer > end_at:
                    break
                self.now = timer
                self._wake_all(timer)
                if segments is not None:
                    segments.changed(timer, None)
            elif event_at is not None:
                if event_at > end_at:
                    break
                self.now = event_at
                self.seen = max(self.seen, index + 1)  # segment rules see events up to now
                if event_at >= self.start_at:
                    self._on_event(event_at, script[index][1])
                    if segments is not None:
                        segments.changed(event_at, script[index][1]["name"])
                index += 1
            else:
                break
        cid = self.contact["id"]
        for run in self.runs:
            waiting = run.status == "waiting"
            reports.append(RunReport(
                contact=cid,
                status=run.status,
                path=run.path,
                messages=self.messages.get(run.id, []),
                reason=run.exit_reason,
                waiting_until=run.wake_at if waiting else None,
                awaiting=run.awaiting if waiting else None,
                refused=self.refused.get(run.id) if self.refused is not None else None,
            ))

    seen = 0  # how many scripted events have happened (segment aggregates count them)
    now: datetime

    def _enrol_at_start(self) -> None:
        plan = self.plan
        for trigger in plan.triggers:
            spec = plan.trigger_spec(trigger)
            audience_ok = spec.on == "api" or (
                spec.on == "schedule" and self._in_audience(trigger, spec.segment)
            )
            if audience_ok:
                self._enrol(trigger, self.start_at, None)

    def _in_audience(self, trigger: str, segment: str | None) -> bool:
        node = self.plan.nodes[trigger]
        ctx = self._context(trigger, None, self.start_at)
        if segment is not None:
            try:
                return self.env.segments(segment, ctx.data())
            except LookupError as exc:
                raise SimulationError(str(exc)) from None
        return node.program.accepts(ctx)

    def _context(self, node_id: str, event: dict[str, Any] | None, now: datetime) -> StepContext:
        return StepContext(
            node_id, self.contact, event, {}, now, self.plan.timezone, None,
            self.env.seed, self.env.segments,
        )

    def _next_wake(self) -> datetime | None:
        earliest: datetime | None = None
        for run in self.runs:
            if run.status == "waiting" and run.wake_at is not None and (
                earliest is None or run.wake_at < earliest
            ):
                earliest = run.wake_at
        return earliest

    def _wake_all(self, now: datetime) -> None:
        for run in self.runs:
            if run.status == "waiting" and run.wake_at == now:
                effects = wake(self.plan, run, self.contact, now, self.env)
                if effects:
                    self._apply(run, effects, now)

    def _on_event(self, now: datetime, event: dict[str, Any]) -> None:
        plan = self.plan
        # Runs already waiting see the event first: a run it starts cannot be waiting for it.
        for run in list(self.runs):
            if run.status == "waiting":
                effects = receive(plan, run, self.contact, event, now, self.env)
                if effects:
                    self._apply(run, effects, now)
        for trigger in plan.triggers_on(event["name"]):
            program = plan.nodes[trigger].program
            if not program.filters or program.accepts(self._context(trigger, event, now)):
                self._enrol(trigger, now, event)

    def enrol(self, trigger: str, now: datetime, event: dict[str, Any] | None) -> None:
        self._enrol(trigger, now, event)

    def _enrol(self, trigger: str, now: datetime, event: dict[str, Any] | None) -> None:
        entry = self.plan.entry
        if entry == "once" and self.runs:
            return
        if entry == "single_active" and any(r.status not in FINISHED for r in self.runs):
            return
        run = start(self.plan, trigger, f"{self.contact['id']}#{len(self.runs) + 1}",
                    self.contact, now, event)
        self.runs.append(run)
        effects = advance(self.plan, run, self.contact, now, self.env)
        if effects:
            self._apply(run, effects, now)

    def _apply(self, run: Run, effects: list[Effect], now: datetime) -> None:
        # The recording sender: every hand-over succeeds at once, so the run moves straight on.
        while effects:
            more: list[Effect] = []
            for effect in effects:
                if type(effect) is Deliver:
                    draft = effect.message
                    self.messages.setdefault(run.id, []).append(Message(
                        effect.node, draft.channel, draft.to, effect.at, draft.content, draft.topic
                    ))
                    if self.record_sends and not self.env.policy.is_transactional(draft.topic):
                        assert self.facts is not None
                        self.facts.record(run.contact_id, draft.channel, effect.at)
                    more.extend(delivered(self.plan, run, self.contact, now, self.env))
                elif type(effect) is Refused and self.refused is not None:
                    draft = effect.message
                    self.refused.setdefault(run.id, []).append(RefusedMessage(
                        effect.node, draft.channel, effect.at, effect.reason, draft.to or None,
                        draft.topic,
                    ))
            effects = more


def _summarise(plan: Plan, reports: list[RunReport]) -> Report:
    counts = {node.id: NodeCount() for node in plan.document.nodes}
    channels: dict[str, int] = {}
    for report in reports:
        for entry in report.path:
            count = counts[entry.node]
            count.entered += 1
            if entry.port is not None:
                count.ports[entry.port] = count.ports.get(entry.port, 0) + 1
        for message in report.messages:
            channels[message.channel] = channels.get(message.channel, 0) + 1
    return Report(nodes=counts, runs=reports, messages=channels)


def report_to_json(report: Report) -> bytes:
    return _encoder.encode(report)


_encoder = msgspec.json.Encoder()


def segment_lookup(rules: Mapping[str, Any]) -> SegmentLookup:
    """Segment membership from rules given with the dry run (key -> compiled rule)."""

    def lookup(key: str, data: Mapping[str, Any]) -> bool:
        rule = rules.get(key)
        if rule is None:
            raise LookupError(f"segment {key!r} is not defined")
        return bool(rule.test(data))

    return lookup


class _Segments:
    """Segment rules in a dry run: membership from the contact and its scripted events up to the
    virtual time, and segment triggers fired when it changes.

    Membership is checked where the live runtime re-evaluates it: after each event and each
    wake-up (a step may update the contact), and, for rules over time windows, when an event
    leaves a window (`days` after it) and once a day for `days_since_event`."""

    def __init__(self, timeline: _Timeline, rules: Mapping[str, SegmentRule], plan: Plan) -> None:
        self.timeline = timeline
        self.rules = rules
        self.triggers: dict[str, list[tuple[str, str, bool]]] = {}  # key -> (node, on, incl.)
        for trigger in plan.triggers:
            spec = plan.trigger_spec(trigger)
            if spec.on in ("segment_entered", "segment_exited") and spec.segment:
                self.triggers.setdefault(spec.segment, []).append(
                    (trigger, spec.on, spec.include_current))
        self.member: dict[str, bool] = {}
        self.checks: list[datetime] = []

    def resolve(self, key: str) -> SegmentRule:
        rule = self.rules.get(key)
        if rule is None:
            raise LookupError(f"segment {key!r} is not defined")
        return rule

    def lookup(self, key: str, data: Mapping[str, Any]) -> bool:
        contact = data.get("contact")
        return self._evaluate(key, contact if isinstance(contact, Mapping) else {})

    def _evaluate(self, key: str, contact: Mapping[str, Any]) -> bool:
        timeline = self.timeline
        events = [{"name": e["name"], "at": at, "properties": e.get("properties") or {}}
                  for at, e in timeline.script[:timeline.seen]]
        try:
            return evaluate_segment(self.resolve(key), contact, events, timeline.now, self.resolve)
        except SegmentRuleError as exc:
            raise LookupError(f"segment {key!r}: {exc}") from None

    def begin(self) -> None:
        """Membership at the start; `include_current` triggers enter today's members."""
        timeline = self.timeline
        self.checks = self._check_times()
        for key, triggers in self.triggers.items():
            self.member[key] = self._evaluate(key, timeline.contact)
            for node, on, include_current in triggers:
                if on == "segment_entered" and include_current and self.member[key]:
                    timeline.enrol(node, timeline.start_at, self._event(
                        "segment_entered", key, "member when the flow was published"))

    def next_check(self) -> datetime | None:
        while self.checks and self.checks[0] <= self.timeline.now:
            self.checks.pop(0)
        return self.checks[0] if self.checks else None

    def changed(self, now: datetime, event_name: str | None) -> None:
        """Re-evaluate the segments triggers listen to; fire entries and exits."""
        timeline = self.timeline
        for key, triggers in self.triggers.items():
            now_member = self._evaluate(key, timeline.contact)
            if now_member == self.member.get(key):
                continue
            self.member[key] = now_member
            kind = "segment_entered" if now_member else "segment_exited"
            if event_name is not None:
                reason = f"event {event_name!r} received"
            elif now in self.checks or self._is_tick(now):
                reason = "time passed (periodic re-evaluation)"
            else:
                reason = "profile updated"
            for node, on, _ in triggers:
                if on == kind:
                    timeline.enrol(node, now, self._event(kind, key, reason))

    def _is_tick(self, now: datetime) -> bool:
        return (now - self.timeline.start_at) % timedelta(days=1) == timedelta(0)

    def _event(self, kind: str, key: str, reason: str) -> dict[str, Any]:
        now = self.timeline.now
        return event_to_data(Event(self.timeline.contact["id"], f"{kind}:{key}", None, now,
                                   {"segment": key, "reason": reason}), now)

    def _check_times(self) -> list[datetime]:
        """When time alone can change a watched segment: an event leaving a window, and each
        day for rules over days since an event."""
        timeline = self.timeline
        times: set[datetime] = set()
        daily = False
        for key in self.triggers:
            for part in self._closure(key):
                for aggregate in part.aggregates:
                    if aggregate.operator == "event_count" and aggregate.days:
                        window = timedelta(days=aggregate.days, seconds=1)
                        times.update(at + window for at, e in timeline.script
                                     if e["name"] == aggregate.name)
                    elif aggregate.operator == "days_since_event":
                        daily = True
        if daily:
            day = timedelta(days=1)
            tick = timeline.start_at + day
            while tick <= timeline.end_at:
                times.add(tick)
                tick += day
        return sorted(t for t in times if timeline.start_at < t <= timeline.end_at)

    def _closure(self, key: str) -> list[SegmentRule]:
        seen: dict[str, SegmentRule] = {}
        todo = [key]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.rules:
                continue
            seen[current] = self.rules[current]
            todo.extend(self.rules[current].dependencies.segments)
        return list(seen.values())
