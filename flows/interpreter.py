"""The interpreter: applies the outcomes of node steps to a run's state.

It is a short loop over the outcome types, shared by the live runtime and the simulator. It never
performs I/O: a send puts the run in `sending` and returns a `Deliver` effect; the shell delivers
(or, in a dry run, records) the message and reports back with `delivered`. Waits put the run in
`waiting` with a wake-up time; the shell calls `wake` when the time comes, or `receive` when an
event arrives.

The delivery policy is applied by the send step itself (`flows.policy`): a refused send leaves by
`failed` and yields a `Refused` effect, so the shell can keep a record of it; a deferred send
(`Retry`) waits on its node, and `wake` steps that node again, running the gate again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

from flows.catalogue import SegmentLookup, StepContext, no_segments
from flows.compiler import Plan
from flows.outcomes import Await, Exit, Go, MessageDraft, Retry, Send, Sleep
from flows.policy import NO_FACTS, NO_POLICY, DeliveryFacts, Policy

RunStatus = Literal["active", "waiting", "sending", "completed", "exited"]
FINISHED: frozenset[str] = frozenset({"completed", "exited"})
# The resume port of a run waiting on a deferred send: on waking, it steps the node again.
AGAIN = "@again"


class PathEntry(msgspec.Struct, omit_defaults=True, gc=False):
    """One node a run entered; encoded as is in simulation reports and run timelines."""

    node: str
    at: datetime
    port: str | None = None
    reasons: dict[str, str] | None = None  # channels skipped by a channel choice, and why
    reason: str | None = None  # why a send failed, or why the run exited
    left: datetime | None = None  # when the run left, if later than `at` (waits)
    deferred: str | None = None  # why the delivery policy held a send back (the latest reason)


class Run(msgspec.Struct, gc=False):
    id: str
    contact_id: str
    trigger: str
    node: str
    started_at: datetime
    event: dict[str, Any] | None = None
    status: RunStatus = "active"
    step: int = 0  # bumped on every move: the live runtime's compare-and-set counter
    wake_at: datetime | None = None
    awaiting: str | None = None
    resume_port: str | None = None
    vars: dict[str, Any] = msgspec.field(default_factory=dict)
    chosen_channel: str | None = None
    exit_reason: str | None = None
    pending: MessageDraft | None = None
    path: list[PathEntry] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Environment:
    """What the shell lends the steps: the split seed, segment membership, and the delivery
    policy with the facts it needs (sends so far, suppressions)."""

    seed: int = 0
    segments: SegmentLookup = no_segments
    policy: Policy = NO_POLICY
    facts: DeliveryFacts = NO_FACTS


class Deliver(msgspec.Struct, gc=False):
    """Hand this message to its channel, then call `delivered`. `key` is the idempotency key."""

    run_id: str
    node: str
    step: int
    at: datetime
    message: MessageDraft

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.node}:{self.step}"


class Refused(msgspec.Struct, gc=False):
    """The delivery policy refused this message; the run went on by `failed`. A shell keeps a
    record of it (a message with status `refused` and `reason`) under `key`."""

    run_id: str
    node: str
    step: int
    at: datetime
    message: MessageDraft
    reason: str

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.node}:{self.step}"


class SetAttributes(msgspec.Struct, gc=False):
    contact_id: str
    values: dict[str, Any]


Effect = Deliver | Refused | SetAttributes


def start(
    plan: Plan,
    trigger: str,
    run_id: str,
    contact: dict[str, Any],
    now: datetime,
    event: dict[str, Any] | None = None,
) -> Run:
    """A new run, positioned on its trigger node; call `advance` to move it."""
    return Run(
        id=run_id,
        contact_id=str(contact.get("id", "")),
        trigger=trigger,
        node=trigger,
        started_at=now,
        event=event,
    )


def advance(
    plan: Plan, run: Run, contact: dict[str, Any], now: datetime, env: Environment,
    *, again: bool = False,
) -> list[Effect]:
    """Step an active run through nodes until it waits, sends or ends. With `again`, the run's
    current node was entered before (its path entry is the last one) and is stepped again."""
    effects: list[Effect] = []
    nodes = plan.nodes
    path = run.path
    # One context for the whole call: steps only read it, and only these fields change.
    ctx = StepContext(
        run.node, contact, run.event, run.vars, now, plan.timezone,
        run.chosen_channel, env.seed, env.segments, env.policy, env.facts,
    )
    again = again and bool(path) and path[-1].node == run.node
    while run.status == "active":
        node = nodes[run.node]
        if again:
            entry = path[-1]
            again = False
        else:
            entry = PathEntry(node.id, now)
            path.append(entry)
        ctx.node_id = node.id
        ctx.chosen_channel = run.chosen_channel
        outcome = node.program.step(ctx)
        if type(outcome) is Go:
            if outcome.reasons:
                entry.reasons = outcome.reasons
            if outcome.reason is not None:
                entry.reason = outcome.reason
            if outcome.chosen_channel is not None:
                run.chosen_channel = outcome.chosen_channel
            if outcome.set_attributes:
                # A new dict, not an update in place: the caller's profile stays untouched.
                contact["attributes"] = {**contact.get("attributes", {}), **outcome.set_attributes}
                effects.append(SetAttributes(run.contact_id, outcome.set_attributes))
            if outcome.refused is not None:
                effects.append(Refused(run.id, node.id, run.step, now, outcome.refused,
                                       outcome.reason or "refused"))
            # Leaving by a port (inlined from _leave: this is the hottest line of a dry run).
            entry.port = outcome.port
            if entry.at != now:  # a node stepped again after a deferral
                entry.left = now
            run.step += 1
            target = node.next.get(outcome.port)
            if target is None:
                run.status = "completed"
            else:
                run.node = target
        elif type(outcome) is Sleep:
            if outcome.until <= now:
                _leave(plan, run, outcome.port, now)
            else:
                run.status = "waiting"
                run.wake_at = outcome.until
                run.resume_port = outcome.port
        elif type(outcome) is Await:
            run.status = "waiting"
            run.wake_at = outcome.until
            run.awaiting = outcome.event
            run.resume_port = "timeout"
        elif type(outcome) is Send:
            run.status = "sending"
            run.pending = outcome.message
            effects.append(Deliver(run.id, node.id, run.step, now, outcome.message))
        elif type(outcome) is Retry:
            if outcome.until <= now:  # pragma: no cover - a node kind broke the contract
                raise ValueError(f"node {node.id!r} deferred to {outcome.until}, not later")
            entry.deferred = outcome.reason
            run.status = "waiting"
            run.wake_at = outcome.until
            run.resume_port = AGAIN
        elif type(outcome) is Exit:
            run.status = "exited"
            run.exit_reason = outcome.reason
            entry.reason = outcome.reason
        else:  # pragma: no cover - a node kind broke the contract
            raise TypeError(f"node {node.id!r} returned {outcome!r}, which is not an outcome")
    return effects


def wake(
    plan: Plan, run: Run, contact: dict[str, Any], now: datetime, env: Environment
) -> list[Effect]:
    """The run's wake-up time has come: leave the wait (by `timeout` for an event wait), or
    step a deferred send again."""
    if run.status != "waiting" or run.wake_at is None or run.wake_at > now:
        return []
    port = run.resume_port or "next"
    _clear_wait(run)
    if port == AGAIN:
        # Waking is a move even though the run stays on its node: the live runtime's
        # compare-and-set must see the step change, whatever the gate says this time.
        run.step += 1
        return advance(plan, run, contact, now, env, again=True)
    _leave(plan, run, port, now)
    return advance(plan, run, contact, now, env)


def receive(
    plan: Plan,
    run: Run,
    contact: dict[str, Any],
    event: dict[str, Any],
    now: datetime,
    env: Environment,
) -> list[Effect] | None:
    """Offer an event to a waiting run. None when the run was not waiting for it."""
    if run.status != "waiting" or run.awaiting != event.get("name"):
        return None
    entered = run.path[-1].at
    if now <= entered:  # only events later than the moment the run reached the wait count
        return None
    node = plan.nodes[run.node]
    if node.program.filters:
        ctx = StepContext(
            node.id, contact, event, run.vars, now, plan.timezone,
            run.chosen_channel, env.seed, env.segments, env.policy, env.facts,
        )
        if not node.program.accepts(ctx):
            return None
    run.vars[node.id] = event  # later steps can use the awaited event as vars.<node id>
    _clear_wait(run)
    _leave(plan, run, "event", now)
    return advance(plan, run, contact, now, env)


def delivered(
    plan: Plan,
    run: Run,
    contact: dict[str, Any],
    now: datetime,
    env: Environment,
    failure: str | None = None,
) -> list[Effect]:
    """The shell handed over the pending message (or failed to, with a reason)."""
    if run.status != "sending":
        return []
    run.pending = None
    if failure is not None:
        run.path[-1].reason = failure
    _leave(plan, run, "sent" if failure is None else "failed", now)
    return advance(plan, run, contact, now, env)


def _clear_wait(run: Run) -> None:
    run.status = "active"
    run.wake_at = None
    run.awaiting = None
    run.resume_port = None


def _leave(plan: Plan, run: Run, port: str, now: datetime) -> None:
    entry = run.path[-1]
    entry.port = port
    if now != entry.at:
        entry.left = now
    run.step += 1
    target = plan.nodes[run.node].next.get(port)
    if target is None:
        run.status = "completed"
    else:
        run.node = target
        run.status = "active"
