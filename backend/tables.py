"""The database schema (piccolo tables). Migrations in `backend/migrations.py` create it.

Tables are declared against a placeholder engine and bound to the real one by `backend.db.bind`,
so the schema does not depend on a `piccolo_conf` module or on settings read at import time.
JSON documents use JSONB: PostgreSQL can index and query into them (segments need that); on
SQLite piccolo stores them as text.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

UNBOUND = SQLiteEngine(path="/nonexistent/castflow-unbound.db")


class Workspace(Table, db=UNBOUND, tablename="workspaces"):
    id = Serial(primary_key=True)
    name = Varchar(length=200)
    created_at = Timestamptz()


class User(Table, db=UNBOUND, tablename="users"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    email = Varchar(length=320, unique=True)
    password_hash = Text()
    created_at = Timestamptz()


class ApiKey(Table, db=UNBOUND, tablename="api_keys"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    name = Varchar(length=200)
    prefix = Varchar(length=16)  # shown in lists so people can tell keys apart
    key_hash = Varchar(length=64, unique=True)  # sha256 of the key: keys are random, not words
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)


class Session(Table, db=UNBOUND, tablename="sessions"):
    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User)
    created_at = Timestamptz()
    expires_at = Timestamptz()


class Contact(Table, db=UNBOUND, tablename="contacts"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    key = Varchar(length=200)  # the contact's own id ("c-1"), unique per workspace
    email = Varchar(length=320, null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)
    push_tokens = JSONB(null=True, default=None)
    chat = JSONB(null=True, default=None)
    attributes = JSONB()
    consent = JSONB()
    consent_changed = JSONB()  # channel -> when its consent last changed
    preferences = JSONB()
    timezone = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Event(Table, db=UNBOUND, tablename="events"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    key = Varchar(length=200, null=True, default=None)  # the producer's id: repeats are ignored
    contact = Varchar(length=200)
    name = Varchar(length=200)
    at = Timestamptz()
    received_at = Timestamptz()
    properties = JSONB()
    # No longer written (migration 0013): an event not matched yet against triggers and waiting
    # runs has a row in `events_pending` (added by a database trigger on insert, deleted by the
    # worker), which the sweeper re-queues, so an event survives a lost job or a Redis restart.
    processed_at = Timestamptz(null=True, default=None)


class Flow(Table, db=UNBOUND, tablename="flows"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    name = Varchar(length=200)
    description = Text(default="")
    document = JSONB()  # the draft, saved freely even when invalid
    status = Varchar(length=16, default="draft")  # draft | live | paused
    created_at = Timestamptz()
    updated_at = Timestamptz()


class FlowVersion(Table, db=UNBOUND, tablename="flow_versions"):
    id = Serial(primary_key=True)
    flow = ForeignKey(Flow)
    number = Integer()
    document = JSONB()
    content_hash = Varchar(length=64)
    published_at = Timestamptz()
    current = Boolean(default=True)


class Run(Table, db=UNBOUND, tablename="runs"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    flow = ForeignKey(Flow)
    version = ForeignKey(FlowVersion)
    contact = Varchar(length=200)
    trigger = Varchar(length=200)
    node = Varchar(length=200)
    status = Varchar(length=16)  # active | waiting | sending | completed | exited
    step = Integer(default=0)  # compare-and-set counter: a job names the step it expects
    wake_at = Timestamptz(null=True, default=None)
    awaiting = Varchar(length=200, null=True, default=None)
    state = JSONB()  # what the interpreter needs to resume: vars, event, chosen channel, ...
    exit_reason = Text(null=True, default=None)
    started_at = Timestamptz()
    updated_at = Timestamptz()


class StepRecord(Table, db=UNBOUND, tablename="run_steps"):
    """One node a run entered. Unique per (run, seq): retries never double-count."""

    id = Serial(primary_key=True)
    run = ForeignKey(Run)
    seq = Integer()
    flow = ForeignKey(Flow)
    version = ForeignKey(FlowVersion)
    node = Varchar(length=200)
    at = Timestamptz()
    port = Varchar(length=200, null=True, default=None)
    left_at = Timestamptz(null=True, default=None)
    detail = JSONB(null=True, default=None)  # reasons / reason


class Message(Table, db=UNBOUND, tablename="messages"):
    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    key = Varchar(length=200, unique=True)  # run:node:step, the idempotency key
    run = ForeignKey(Run, null=True, default=None)
    flow = ForeignKey(Flow, null=True, default=None)
    node = Varchar(length=200, null=True, default=None)
    contact = Varchar(length=200)
    channel = Varchar(length=16)
    to = Varchar(length=320, null=True, default=None)
    topic = Varchar(length=200, null=True, default=None)
    content = JSONB()
    status = Varchar(length=16)  # queued | sent | delivered | failed | refused | opened | clicked
    reason = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    provider_id = Varchar(length=200, null=True, default=None)  # e.g. Twilio's SID (0008)


class Segment(Table, db=UNBOUND, tablename="segments"):
    """A named rule over contacts and their events; members are kept in `segment_members`."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    key = Varchar(length=200)  # unique per workspace; flows name segments by key
    name = Varchar(length=200)
    rule = JSONB()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SegmentMember(Table, db=UNBOUND, tablename="segment_members"):
    """A contact in a segment now: since when, and why it entered."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    segment = ForeignKey(Segment)
    contact = Varchar(length=200)
    since = Timestamptz()
    reason = Text()


class SegmentChange(Table, db=UNBOUND, tablename="segment_changes"):
    """Every entry and exit, with its time and reason: the history behind memberships."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    segment = ForeignKey(Segment)
    contact = Varchar(length=200)
    kind = Varchar(length=8)  # entered | exited
    at = Timestamptz()
    reason = Text()


class PolicySettingsRow(Table, db=UNBOUND, tablename="policy_settings"):
    """A workspace's delivery policy (flows.policy.PolicySettings as JSON); none: no policy."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace, unique=True)
    settings = JSONB()
    updated_at = Timestamptz()


class SuppressionRow(Table, db=UNBOUND, tablename="suppressions"):
    """An address no message may go to on a channel (hard bounce, complaint, by hand)."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    channel = Varchar(length=16)
    address = Varchar(length=320)  # normalized: flows.policy.normalize_address
    reason = Text()
    created_at = Timestamptz()


class MessageTemplate(Table, db=UNBOUND, tablename="templates"):
    """A reusable message for one channel; send nodes name it by key. Its content is versioned."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    key = Varchar(length=100)  # unique per workspace
    name = Varchar(length=200)
    channel = Varchar(length=16)
    version = Integer(default=1)  # the current version's number
    created_at = Timestamptz()
    updated_at = Timestamptz()


class MessageTemplateVersion(Table, db=UNBOUND, tablename="template_versions"):
    """One saved content of a template; published flows keep the one they were published with."""

    id = Serial(primary_key=True)
    template = ForeignKey(MessageTemplate)
    number = Integer()
    content = JSONB()  # field -> Jinja source, as a send node's content for the channel
    created_at = Timestamptz()


class ChannelSettingRow(Table, db=UNBOUND, tablename="channel_settings"):
    """A workspace's provider URL for one channel, encrypted (backend/store/channel_settings.py)."""

    id = Serial(primary_key=True)
    workspace = ForeignKey(Workspace)
    channel = Varchar(length=16)  # unique per workspace
    url_encrypted = Text()  # a Fernet token: the URL holds passwords and API keys
    updated_at = Timestamptz()


ALL_TABLES: tuple[type[Table], ...] = (
    Workspace, User, ApiKey, Session, Contact, Event, Flow, FlowVersion, Run, StepRecord, Message,
    Segment, SegmentMember, SegmentChange, PolicySettingsRow,
    SuppressionRow,
    MessageTemplate, MessageTemplateVersion,
    ChannelSettingRow,
)
