"""The delivery policy: one gate before every send, live and in a dry run. Pure: no I/O.

`decide` answers, for one message about to go out, in this order (the first check that fails
names the reason):

1. consent on the channel (`opted_out`);
2. an address on the channel (`no_address`);
3. the contact's opt-out of the message's topic on that channel (`topic_opt_out`): stored in
   the contact's consent under the key `"<channel>:<topic>"`, e.g.
   `"consent": {"email": "opted_in", "email:newsletter": "opted_out"}`;
4. the suppression list: the address is suppressed on the channel (`suppressed`);
5. the workspace's frequency caps on the channel (`capped`): a refusal, or a deferral until the
   cap frees up when the send node says `when_capped: "wait"`;
6. quiet hours in the contact's time zone (`quiet_hours`): a deferral until the window opens.

Transactional topics (listed in the settings) bypass caps and quiet hours, and do not count
towards caps; consent, topic opt-outs and suppressions still apply to them.

Caps are rolling windows: at most `day` messages in any 24 hours and `week` in any 7 days, per
contact and channel, counted across every flow. What was sent comes from `DeliveryFacts`, which
the shell provides (the live runtime loads them from the database for a batch of runs, a dry
run records its own sends); a new workspace has no caps and no quiet hours.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

import msgspec

from flows.timecalc import TimeError, next_time_of_day, parse_time_of_day, zone

Channel = Literal["email", "sms", "push", "voice", "chat"]
CHANNELS: tuple[str, ...] = ("email", "sms", "push", "voice", "chat")
REASONS: tuple[str, ...] = (
    "opted_out", "no_address", "topic_opt_out", "suppressed", "capped", "quiet_hours",
)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class PolicyError(ValueError):
    """Settings or a policy file that cannot be used; the message says what is wrong."""


# --- addresses and consent ----------------------------------------------------------------------


def address_for(contact: Mapping[str, Any], channel: str) -> str | None:
    """Where a message on `channel` goes for this contact, or None when there is nowhere."""
    if channel == "email":
        value = contact.get("email")
    elif channel in ("sms", "voice"):
        value = contact.get("phone")
    elif channel == "push":
        tokens = contact.get("push_tokens")
        # The first usable token: the most recently registered device comes first.
        value = next((t for t in tokens if t), None) if isinstance(tokens, list) else None
    elif channel == "chat":
        apps = contact.get("chat")
        if isinstance(apps, dict):
            # The first app listed is the contact's main chat app: "whatsapp:+39340...".
            for app, handle in apps.items():
                if isinstance(handle, str) and handle:
                    return f"{app}:{handle}"
        value = None
    else:
        value = None
    return value if isinstance(value, str) and value else None


def normalize_address(channel: str, address: str) -> str:
    """The form suppressions are kept and matched in: e-mail addresses ignore case."""
    address = address.strip()
    return address.lower() if channel == "email" else address


def topic_key(channel: str, topic: str) -> str:
    """The consent key of a topic on a channel: `email:newsletter`."""
    return f"{channel}:{topic}"


# --- settings -----------------------------------------------------------------------------------


class Cap(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    day: Annotated[int, msgspec.Meta(
        ge=1, description="At most this many messages in any 24 hours")] | None = None
    week: Annotated[int, msgspec.Meta(
        ge=1, description="At most this many messages in any 7 days")] | None = None


class QuietHours(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    start: Annotated[str, msgspec.Meta(description="Local time quiet hours begin, e.g. 21:00")]
    end: Annotated[str, msgspec.Meta(description="Local time sending may resume, e.g. 08:00")]
    timezone: Annotated[str | None, msgspec.Meta(
        description="For contacts without a time zone (default: the flow's)")] = None


class PolicySettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A workspace's delivery policy, as stored and as `GET/PUT /api/settings/policy` show it."""

    caps: dict[Channel, Cap] = msgspec.field(default_factory=dict)
    transactional_topics: list[str] = msgspec.field(default_factory=list)
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class _CompiledCap:
    day: int | None
    week: int | None
    window: timedelta  # the longest window with a limit: how far back to count


@dataclass(frozen=True, slots=True)
class _CompiledQuiet:
    start: time
    end: time
    end_text: str
    zone: ZoneInfo | None

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window crosses midnight


@dataclass(frozen=True, slots=True)
class Policy:
    """Settings checked and compiled for fast, repeated decisions. Build with `compile_policy`."""

    settings: PolicySettings = field(default_factory=PolicySettings)
    caps: Mapping[str, _CompiledCap] = field(default_factory=dict)
    transactional: frozenset[str] = frozenset()
    quiet: _CompiledQuiet | None = None

    @property
    def counts_sends(self) -> bool:
        """Whether sends need recording at all (only caps look at them)."""
        return bool(self.caps)

    def is_transactional(self, topic: str | None) -> bool:
        return topic is not None and topic in self.transactional


NO_POLICY = Policy()  # a new workspace: no caps, no quiet hours


def settings_problems(settings: PolicySettings) -> list[str]:
    """Everything wrong with settings that their types cannot say, in plain words."""
    problems: list[str] = []
    for channel, cap in settings.caps.items():
        if cap.day is None and cap.week is None:
            problems.append(f"caps.{channel}: give a 'day' or a 'week' limit (or both), or "
                            f"remove the {channel} cap.")
        elif cap.day is not None and cap.week is not None and cap.week < cap.day:
            problems.append(f"caps.{channel}: the week limit ({cap.week}) is lower than the day "
                            f"limit ({cap.day}); a week holds every day of it.")
    for topic in settings.transactional_topics:
        if not topic.strip():
            problems.append("transactional_topics: a topic is empty.")
    quiet = settings.quiet_hours
    if quiet is not None:
        walls = []
        for name in ("start", "end"):
            try:
                walls.append(parse_time_of_day(getattr(quiet, name)))
            except TimeError as exc:
                problems.append(f"quiet_hours.{name}: {exc}.")
        if len(walls) == 2 and walls[0] == walls[1]:
            problems.append("quiet_hours: 'start' and 'end' are the same time; quiet hours "
                            "need a window, e.g. 21:00 to 08:00.")
        if quiet.timezone is not None:
            try:
                zone(quiet.timezone)
            except TimeError as exc:
                problems.append(f"quiet_hours.timezone: {exc}.")
    return problems


def compile_policy(settings: PolicySettings) -> Policy:
    """Check and compile settings; raises PolicyError naming every problem."""
    problems = settings_problems(settings)
    if problems:
        raise PolicyError(" ".join(problems))
    caps: dict[str, _CompiledCap] = {
        channel: _CompiledCap(cap.day, cap.week, WEEK if cap.week is not None else DAY)
        for channel, cap in settings.caps.items()
    }
    quiet = None
    if settings.quiet_hours is not None:
        q = settings.quiet_hours
        quiet = _CompiledQuiet(
            time(*parse_time_of_day(q.start)), time(*parse_time_of_day(q.end)), q.end,
            zone(q.timezone) if q.timezone else None,
        )
    return Policy(settings, caps, frozenset(settings.transactional_topics), quiet)


def parse_settings(data: Any) -> PolicySettings:
    """Settings from JSON data, strictly: unknown keys and bad values are PolicyError."""
    caps = data.get("caps") if isinstance(data, dict) else None
    if isinstance(caps, dict):
        for channel in caps:
            if channel not in CHANNELS:
                raise PolicyError(f"caps: {channel!r} is not a channel; caps are set per "
                                  f"channel: {', '.join(CHANNELS)}.")
            try:  # one channel at a time, so the message can name it
                msgspec.convert(caps[channel], Cap)
            except msgspec.ValidationError as exc:
                raise PolicyError(f"caps.{channel}: {_phrase(exc)}") from None
    try:
        settings = msgspec.convert(data, PolicySettings)
    except msgspec.ValidationError as exc:
        raise PolicyError(_phrase(exc)) from None
    problems = settings_problems(settings)
    if problems:
        raise PolicyError(" ".join(problems))
    return settings


# --- what the shell knows -------------------------------------------------------------------------


class DeliveryFacts(Protocol):
    """What the gate needs to know beyond the contact: lent by the shell, read only."""

    def sent_since(self, contact: str, channel: str, since: datetime) -> Sequence[datetime]:
        """When non-transactional messages went to `contact` on `channel` after `since`,
        oldest first (their number is what caps count)."""
        ...

    def is_suppressed(self, channel: str, address: str) -> bool:
        """Whether `address` is on the suppression list for `channel`."""
        ...


class NoFacts:
    """Nothing sent, nothing suppressed: what a step sees when the shell lends no facts."""

    def sent_since(self, contact: str, channel: str, since: datetime) -> Sequence[datetime]:
        return ()

    def is_suppressed(self, channel: str, address: str) -> bool:
        return False


NO_FACTS: DeliveryFacts = NoFacts()


class RecordedFacts:
    """Facts kept in memory: the sends recorded so far and a suppression list.

    A dry run records its own sends here; the live runtime can load a batch's history into one
    and record the sends it makes while the batch runs, so two flows in a batch count together.
    """

    def __init__(self, suppressions: Iterable[tuple[str, str]] = ()) -> None:
        self._sent: dict[tuple[str, str], list[datetime]] = {}
        self._suppressed = {(c, normalize_address(c, a)) for c, a in suppressions}

    def record(self, contact: str, channel: str, at: datetime) -> None:
        times = self._sent.setdefault((contact, channel), [])
        if times and at < times[-1]:
            times.insert(bisect_right(times, at), at)  # loaded out of order: keep them sorted
        else:
            times.append(at)

    def suppress(self, channel: str, address: str) -> None:
        self._suppressed.add((channel, normalize_address(channel, address)))

    def sent_since(self, contact: str, channel: str, since: datetime) -> Sequence[datetime]:
        times = self._sent.get((contact, channel))
        if not times:
            return ()
        return times[bisect_right(times, since):]

    def is_suppressed(self, channel: str, address: str) -> bool:
        if not self._suppressed:
            return False
        return (channel, normalize_address(channel, address)) in self._suppressed


# --- deciding -----------------------------------------------------------------------------------


class Allow(msgspec.Struct, frozen=True, gc=False):
    to: str


class Refuse(msgspec.Struct, frozen=True, gc=False):
    reason: str
    to: str | None = None  # the address it would have gone to, when there is one


class Defer(msgspec.Struct, frozen=True, gc=False):
    until: datetime
    reason: str  # capped | quiet_hours


Decision = Allow | Refuse | Defer
WhenCapped = Literal["fail", "wait"]


def blocked(contact: Mapping[str, Any], channel: str, topic: str | None,
            facts: DeliveryFacts = NO_FACTS) -> str | None:
    """Why `channel` cannot carry this topic to this contact at all, or None.

    The lasting checks only (consent, address, topic opt-out, suppression): what a channel
    choice skips a channel for. Caps and quiet hours pass with time, so they do not count here.
    An opt-out is named before a missing address: it stays true when an address is added.
    """
    return _lasting(contact, channel, topic, facts)[0]


def _lasting(contact: Mapping[str, Any], channel: str, topic: str | None,
             facts: DeliveryFacts) -> tuple[str | None, str | None]:
    """(reason it is blocked or None, the address or None)."""
    consent = contact.get("consent")
    if consent and consent.get(channel) == "opted_out":
        return "opted_out", address_for(contact, channel)
    to = address_for(contact, channel)
    if to is None:
        return "no_address", None
    if topic is not None and consent and consent.get(topic_key(channel, topic)) == "opted_out":
        return "topic_opt_out", to
    if facts.is_suppressed(channel, to):
        return "suppressed", to
    return None, to


def decide(
    policy: Policy,
    facts: DeliveryFacts,
    contact: Mapping[str, Any],
    channel: str,
    topic: str | None,
    now: datetime,
    fallback_zone: ZoneInfo,
    when_capped: WhenCapped = "fail",
) -> Decision:
    """May this message go out now? `fallback_zone` is the flow's time zone, used for quiet
    hours when neither the contact nor the settings name one."""
    reason, to = _lasting(contact, channel, topic, facts)
    if reason is not None or to is None:
        return Refuse(reason or "no_address", to)
    if topic is not None and topic in policy.transactional:
        return Allow(to)
    cap = policy.caps.get(channel)
    if cap is not None:
        sent = facts.sent_since(str(contact.get("id", "")), channel, now - cap.window)
        free_at = _cap_frees_at(cap, sent, now)
        if free_at is not None:
            return Refuse("capped", to) if when_capped == "fail" else Defer(free_at, "capped")
    quiet = policy.quiet
    if quiet is not None:
        tz = _contact_zone(contact, quiet.zone or fallback_zone)
        if quiet.contains(now.astimezone(tz).time()):
            return Defer(_window_opens(now, quiet, tz), "quiet_hours")
    return Allow(to)


_MINUTE = timedelta(minutes=1)


def _window_opens(now: datetime, quiet: _CompiledQuiet, tz: ZoneInfo) -> datetime:
    """The first moment after `now` when the local clock shows `end` or later (UTC)."""
    at = next_time_of_day(now, quiet.end_text, None, tz)
    local = at.astimezone(tz)
    if local.time() != quiet.end:
        # `end` fell into a spring-forward gap, so `at` is shifted forward by the gap; the
        # window opened when the clocks jumped past `end`: walk back to that minute (rare).
        skipped = datetime.combine(local.date(), quiet.end)
        while (at - _MINUTE) > now and (
            (at - _MINUTE).astimezone(tz).replace(tzinfo=None) >= skipped
        ):
            at -= _MINUTE
    return at


def _cap_frees_at(cap: _CompiledCap, times: Sequence[datetime], now: datetime
                  ) -> datetime | None:
    """None when another message fits under the cap now, else when one will.

    `times` are the sends in the longest window, oldest first. A send at t counts in the window
    ending at u while t > u - window, so the cap frees when enough of them have aged out.
    """
    free_at: datetime | None = None
    for limit, window in ((cap.day, DAY), (cap.week, WEEK)):
        if limit is None:
            continue
        inside = times if window == cap.window else times[bisect_right(times, now - window):]
        if len(inside) >= limit:
            # Counts only fall while nothing is sent, so the latest of the windows' times wins.
            at = inside[len(inside) - limit] + window
            free_at = at if free_at is None or at > free_at else free_at
    return free_at


def _contact_zone(contact: Mapping[str, Any], fallback: ZoneInfo) -> ZoneInfo:
    name = contact.get("timezone")
    if isinstance(name, str) and name:
        try:
            return zone(name)
        except TimeError:
            return fallback
    return fallback


# --- policy files (dry runs) ----------------------------------------------------------------------


class Suppression(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    channel: Channel
    address: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DryRunPolicy:
    """What a dry run gates with: the settings and a suppression list."""

    policy: Policy = NO_POLICY
    suppressions: tuple[tuple[str, str], ...] = ()


def load_policy_file(data: bytes | str) -> DryRunPolicy:
    """A policy file: the settings (as `GET /api/settings/policy` gives them), optionally with
    `"suppressions": [{"channel": "email", "address": "x@example.com"}, ...]`."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise PolicyError(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise PolicyError("a policy file is a JSON object, e.g. "
                          '{"caps": {"email": {"day": 2, "week": 5}}}')
    listed = raw.pop("suppressions", [])
    try:
        suppressions = msgspec.convert(listed, list[Suppression])
    except msgspec.ValidationError as exc:
        raise PolicyError(f"suppressions: {_phrase(exc)}") from None
    for entry in suppressions:
        if not entry.address.strip():
            raise PolicyError(f"suppressions: an address on {entry.channel} is empty")
    settings = parse_settings(raw)
    return DryRunPolicy(compile_policy(settings),
                        tuple((s.channel, s.address) for s in suppressions))


def _phrase(exc: msgspec.ValidationError) -> str:
    text, _, where = str(exc).partition(" - at ")
    text = text.replace("`", "'")
    location = where.strip("`").removeprefix("$").lstrip(".")
    return f"{text} (at {location})." if location else f"{text}."
