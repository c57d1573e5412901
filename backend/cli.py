"""The `castflow` command. Every error a user can cause ends in a plain message, no traceback."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from backend.settings import load_settings
from flows.compiler import Plan, compile_flow
from flows.contacts import Event, InputError, decode_contact, decode_event
from flows.policy import DryRunPolicy, PolicyError, load_policy_file
from flows.problems import FlowProblems
from flows.segments import SegmentRule, SegmentRuleError, parse_segment_rule
from flows.simulator import SimulationError, report_to_json, simulate
from flows.templates_resolve import (
    CHANNELS,
    TemplateVersion,
    inline_templates,
    lookup_from,
    template_keys,
)
from flows.timecalc import TimeError, add_duration, parse_duration, parse_instant
from nodes import CATALOGUE

if TYPE_CHECKING:  # the database layer is imported only by commands that use it
    from backend.db import Database

EXIT_PROBLEMS = 2


class UserError(Exception):
    """Something the user can fix; printed as is, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_PROBLEMS
    try:
        return handler(args)
    except FlowProblems as exc:
        print("The flow has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    except (UserError, InputError, SimulationError) as exc:
        print(f"castflow: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="castflow", description="Castflow command line")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    sim = commands.add_parser("simulate", help="dry-run a flow over contacts and scripted events")
    sim.add_argument("flow", type=Path, metavar="FLOW.json")
    sim.add_argument("--contacts", type=Path, required=True, metavar="CONTACTS.jsonl")
    sim.add_argument("--events", type=Path, metavar="EVENTS.jsonl")
    sim.add_argument("--segments", type=Path, metavar="SEGMENTS.jsonl",
                     help='segment definitions, one {"key": ..., "rule": ...} per line')
    sim.add_argument("--start", metavar="ISO",
                     help="virtual start time (default: the first scripted event, else now)")
    sim.add_argument("--horizon", default="P30D", metavar="DURATION",
                     help="how far to simulate, an ISO 8601 duration (default P30D)")
    sim.add_argument("--seed", type=int, default=0, help="seed for split assignment")
    sim.add_argument("--policy", type=Path, metavar="POLICY.json",
                     help="delivery policy settings (and a 'suppressions' list) to gate sends")
    sim.add_argument("--templates", type=Path, metavar="TEMPLATES.jsonl", help=TEMPLATES_HELP)
    sim.set_defaults(handler=_simulate)

    flow = commands.add_parser("flow", help="work with flow documents")
    flow_commands = flow.add_subparsers(title="flow commands", metavar="COMMAND")
    validate = flow_commands.add_parser("validate", help="check a flow document")
    validate.add_argument("file", type=Path, metavar="FLOW.json")
    validate.add_argument("--templates", type=Path, metavar="TEMPLATES.jsonl",
                          help=TEMPLATES_HELP)
    validate.set_defaults(handler=_validate)
    export = flow_commands.add_parser("export", help="write a stored flow's document")
    export.add_argument("flow_id", type=int, metavar="ID")
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=_run_async(_export))
    load = flow_commands.add_parser("import", help="store a flow document as a new draft")
    load.add_argument("file", type=Path, metavar="FLOW.json")
    load.set_defaults(handler=_run_async(_import))

    migrate = commands.add_parser("migrate", help="create or update the database schema")
    migrate.set_defaults(handler=_run_async(_migrate))

    serve = commands.add_parser("serve", help="serve the API and the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run the flow worker (in this process)")
    worker.set_defaults(handler=_worker)

    user = commands.add_parser("user", help="manage people who sign in")
    user_commands = user.add_subparsers(title="user commands", metavar="COMMAND")
    create_user = user_commands.add_parser("create", help="create a user")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password-stdin", action="store_true", required=True,
                             help="read the password from standard input")
    create_user.set_defaults(handler=_run_async(_create_user))

    apikey = commands.add_parser("apikey", help="manage API keys for machines")
    apikey_commands = apikey.add_subparsers(title="apikey commands", metavar="COMMAND")
    create_key = apikey_commands.add_parser("create", help="create a key (printed once)")
    create_key.add_argument("--name", required=True)
    create_key.set_defaults(handler=_run_async(_create_api_key))

    contacts = commands.add_parser("contacts", help="manage contacts")
    contacts_commands = contacts.add_subparsers(title="contacts commands", metavar="COMMAND")
    import_contacts = contacts_commands.add_parser(
        "import", help="upsert contacts from a CSV or JSON-lines file (docs/import.md)")
    import_contacts.add_argument("file", type=Path, metavar="FILE")
    import_contacts.add_argument("--format", choices=("csv", "jsonl"),
                                 help="default: from the file name (.csv, .jsonl, .ndjson)")
    import_contacts.set_defaults(handler=_run_async(_import_contacts))
    return parser


def _run_async(
    command: Callable[[argparse.Namespace, Database], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    """Run `command` with a migrated database connection from DATABASE_URL."""

    def handler(args: argparse.Namespace) -> int:
        from backend.db import Database, DatabaseUrlError
        from backend.migrations import migrate

        async def main() -> int:
            try:
                db = Database(load_settings().database_url)
            except DatabaseUrlError as exc:
                raise UserError(str(exc)) from None
            try:
                await db.start()
            except OSError as exc:
                raise UserError(f"cannot reach the database: {exc}") from None
            try:
                if command is not _migrate:
                    await migrate(db)  # a fresh install works whatever the order of commands
                return await command(args, db)
            finally:
                await db.close()

        return asyncio.run(main())

    return handler


async def _migrate(args: argparse.Namespace, db: Database) -> int:
    from backend.migrations import migrate

    applied = await migrate(db)
    print(f"applied: {', '.join(applied)}" if applied else "the schema is up to date",
          file=sys.stderr)
    return 0


async def _create_user(args: argparse.Namespace, db: Database) -> int:
    from backend.security import UserExists, create_user

    password = sys.stdin.readline().rstrip("\n")
    try:
        await create_user(db, args.email, password)
    except (UserExists, ValueError) as exc:
        raise UserError(str(exc)) from None
    print(f"created user {args.email}", file=sys.stderr)
    return 0


async def _create_api_key(args: argparse.Namespace, db: Database) -> int:
    from backend.security import create_api_key

    key = await create_api_key(db, args.name)
    print(key)
    print(f"API key {args.name!r} created. It is shown only this once: keep it safe.",
          file=sys.stderr)
    return 0


async def _export(args: argparse.Namespace, db: Database) -> int:
    from backend.store.flows import FlowNotFound, export_document

    try:
        data = await export_document(db, args.flow_id)
    except FlowNotFound:
        raise UserError(f"there is no flow {args.flow_id}") from None
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
    return 0


async def _import(args: argparse.Namespace, db: Database) -> int:
    from backend.store.flows import import_document

    flow = await import_document(db, _read(args.file))  # raises FlowProblems when invalid
    print(flow["id"])
    print(f"imported {flow['name']!r} as flow {flow['id']} (draft)", file=sys.stderr)
    return 0


async def _import_contacts(args: argparse.Namespace, db: Database) -> int:
    """Print the import report on stdout; refused rows are also summed up on stderr."""
    from backend.contact_import import ImportFileError, format_for_name
    from backend.segments.refresh import after_contacts_changed
    from backend.store.contacts import import_contacts
    from backend.workspace import default_workspace

    path: Path = args.file
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    fmt = args.format or format_for_name(path.name)
    if fmt is None:
        handle.close()
        raise UserError(f"{path}: cannot tell the format from the name; add --format csv|jsonl")

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := handle.read(256 * 1024):
                yield chunk
        except OSError as exc:
            raise UserError(f"{path}: cannot read it ({exc.strerror})") from None

    async def on_stored(workspace: int, keys: list[str]) -> None:
        # Memberships follow the import. Their entry and exit events are stored, and the
        # worker's sweeper hands them to live flows (this command has no queue of its own).
        await after_contacts_changed(db, workspace, keys, datetime.now(UTC))

    with handle:
        try:
            report = await import_contacts(db, await default_workspace(db), chunks(), fmt,
                                           on_stored=on_stored)
        except ImportFileError as exc:
            raise UserError(f"{path}: {exc}") from None
    sys.stdout.buffer.write(msgspec.json.encode(report.to_json()) + b"\n")
    sys.stdout.flush()
    summary = f"{path}: imported {report.created + report.updated} contacts " \
              f"({report.created} created, {report.updated} updated)"
    if report.refused:
        summary += f"; refused {report.refused} rows (see \"errors\" in the report)"
    print(summary, file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.api.app import create_app

    settings = load_settings()
    print(f"Castflow is at http://{args.host}:{args.port}/ (sign in at /login; create a user "
          "with: castflow user create --email you@example.com --password-stdin)",
          file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from backend.runtime.worker import serve

    serve(load_settings())
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None


TEMPLATES_HELP = ('the templates that send nodes name, one {"key", "channel", "content"} per '
                  "line (what POST /api/templates takes)")


def _compile(path: Path, templates: Path | None = None) -> Plan:
    """Compile a flow file; send nodes that name templates get them from `templates`, as a
    publish gets them from the database."""
    source = _read(path)
    try:
        document = msgspec.json.decode(source)
    except msgspec.DecodeError:
        return compile_flow(source, CATALOGUE)  # the compiler says what is wrong with it
    keys = template_keys(document)
    if not keys:
        return compile_flow(source, CATALOGUE)
    if templates is None:
        raise UserError(f"{path}: its send nodes name templates ({', '.join(sorted(keys))}); "
                        "give them with --templates TEMPLATES.jsonl.")
    resolved = inline_templates(document, lookup_from(_templates(templates)))
    if resolved.problems:
        raise FlowProblems(resolved.problems)
    return compile_flow(msgspec.json.encode(resolved.document), CATALOGUE)


class _TemplateLine(msgspec.Struct):
    """A template as POST /api/templates takes it (other fields, e.g. `name`, are ignored)."""

    key: str
    channel: str
    content: dict[str, str]
    version: int = 1


def _templates(path: Path) -> dict[str, TemplateVersion]:
    found: dict[str, TemplateVersion] = {}
    for where, line in _lines(path):
        try:
            item = msgspec.json.decode(line, type=_TemplateLine)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise UserError(f"{where}: {exc}") from None
        if item.channel not in CHANNELS:
            raise UserError(f"{where}: 'channel' must be one of {', '.join(CHANNELS)}; "
                            f"not {item.channel!r}")
        if item.key in found:
            raise UserError(f"{where}: template {item.key!r} appears twice")
        found[item.key] = TemplateVersion(item.key, item.version, item.channel, item.content)
    return found


def _validate(args: argparse.Namespace) -> int:
    plan = _compile(args.file, args.templates)
    print(f"{args.file}: OK ({len(plan.nodes)} nodes, {len(plan.triggers)} trigger(s))")
    return 0


def _lines(path: Path) -> Iterator[tuple[str, bytes]]:
    """JSON lines, or one JSON array; yields (where, json) for each item."""
    data = _read(path)
    if data.lstrip()[:1] == b"[":
        try:
            items = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise UserError(f"{path}: not valid JSON ({exc})") from None
        for number, item in enumerate(items, 1):
            yield f"{path} item {number}", msgspec.json.encode(item)
        return
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            yield f"{path} line {number}", line


def _simulate(args: argparse.Namespace) -> int:
    # A dry run builds millions of small objects and frees them by reference counting; the
    # cycle collector would re-scan them all again and again (a third of the run time over
    # 100,000 contacts), so it is off for the duration of the command.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_simulation(args)
    finally:
        if collecting:
            gc.enable()


def _run_simulation(args: argparse.Namespace) -> int:
    plan = _compile(args.flow, args.templates)
    contacts = [decode_contact(line, where) for where, line in _lines(args.contacts)]
    events: list[Event] = []
    if args.events is not None:
        events = [decode_event(line, where) for where, line in _lines(args.events)]
    segments = _segments(args.segments) if args.segments else None
    try:
        horizon = parse_duration(args.horizon)
        start_at = parse_instant(args.start) if args.start else _default_start(events)
        end_at = add_duration(start_at, horizon, plan.timezone)
    except TimeError as exc:
        raise UserError(f"--start/--horizon: {exc}") from None
    kwargs: dict[str, Any] = {"seed": args.seed}
    if segments is not None:
        kwargs["segments"] = segments
    if args.policy is not None:
        kwargs["policy"] = _policy(args.policy)
    report = simulate(plan, contacts, events, start_at, end_at, **kwargs)
    out = sys.stdout.buffer
    out.write(report_to_json(report))
    out.write(b"\n")
    out.flush()
    return 0


class _SegmentLine(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    rule: Any
    name: str | None = None


def _segments(path: Path) -> dict[str, SegmentRule]:
    rules = {}
    for where, line in _lines(path):
        try:
            segment = msgspec.json.decode(line, type=_SegmentLine)
            rules[segment.key] = parse_segment_rule(segment.rule)
        except (msgspec.ValidationError, msgspec.DecodeError, SegmentRuleError) as exc:
            raise UserError(f"{where}: {exc}") from None
    return rules


def _policy(path: Path) -> DryRunPolicy:
    try:
        return load_policy_file(_read(path))
    except PolicyError as exc:
        raise UserError(f"{path}: {exc}") from None


def _default_start(events: list[Event]) -> datetime:
    times = [e.at for e in events if e.at is not None]
    if times:
        return min(times).astimezone(UTC)
    return datetime.now(UTC).replace(microsecond=0)


def entrypoint() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
