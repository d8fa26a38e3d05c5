"""The command line: run, once, check, calendars, parse, status.

Every failure a user can cause (a bad config, a refused login, an unreadable
file) ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import email
import email.parser
import email.policy
import json
import logging
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kmeet_bridge import __version__, config
from kmeet_bridge.bridge import Bridge, PassReport, TokenRefused, extract_meetings
from kmeet_bridge.config import ConfigError, Settings
from kmeet_bridge.invitations import updates
from kmeet_bridge.kmeet import KMeetClient, KMeetError, effective_room, room_body
from kmeet_bridge.limits import budget, mime_limits
from kmeet_bridge.mail import headers
from kmeet_bridge.mail.mailbox import Mailbox, MailboxError
from kmeet_bridge.mail.mailer import Mailer, MailerError
from kmeet_bridge.models import Extraction, MeetingRequest, NotARequest, Outcome
from kmeet_bridge.pacing.health import Health
from kmeet_bridge.replies.recurrence import describe_rule
from kmeet_bridge.replies.replies import reply_recipient
from kmeet_bridge.requests.language import detect_language
from kmeet_bridge.requests.requests import body_text
from kmeet_bridge.service import dryrun, service_access, status
from kmeet_bridge.service.daemon import Daemon, Heartbeat
from kmeet_bridge.service.instance_lock import InstanceLock
from kmeet_bridge.service.printable import printable
from kmeet_bridge.steps.meeting_changes import describe as describe_answer
from kmeet_bridge.steps.meeting_changes import reading_of
from kmeet_bridge.store import Store, StoreError

if TYPE_CHECKING:  # imported when [metrics] listen is set: prometheus-client costs memory
    from kmeet_bridge.service.metrics import Metrics

log = logging.getLogger("kmeet_bridge")

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran but could not do its job (no connection, token refused)
EXIT_USAGE = 2  # bad configuration or arguments

# Used by `parse` when no configuration file exists: the dry run must work on a
# fresh machine. calendar_id 0 is a visible placeholder, not a real calendar.
DRY_RUN_DEFAULTS = {
    "imap": {"host": "imap.example.com", "username": "meet@example.com"},
    "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
    "kmeet": {"calendar_id": 0},
    "senders": {"allow": ["*"]},
}


# What each command says under --help: (summary, description, examples).
HELP: dict[str, tuple[str, str, str]] = {
    "run": (
        "the daemon: a pass every poll_interval until SIGTERM",
        "Run as a daemon: a pass over the mailbox every [imap] poll_interval seconds, and at "
        "once when IDLE announces new mail, until SIGTERM. SIGHUP re-reads the configuration. "
        "With --dry-run, each pass only prints what it would do (see 'once --dry-run').",
        "kmeet-bridge run\n  kmeet-bridge --config ./config.toml run --dry-run",
    ),
    "once": (
        "one pass over the mailbox, then exit",
        "Handle every new message once, then exit: 0 when the pass ran (rejected messages are "
        "a normal result), 1 when it could not run, 2 for a configuration error. With "
        "--dry-run, read the mailbox exactly as a pass does (BODY.PEEK, read-only) and print "
        "what would be done with each new message, without planning, sending, moving or "
        "recording anything.",
        "kmeet-bridge once\n  kmeet-bridge once --dry-run --config ./config.toml",
    ),
    "check": (
        "validate the config and try every connection",
        "Validate the configuration, then try the IMAP login, the SMTP login and the API token "
        "(through the calendar list), saying which one fails and why.",
        "kmeet-bridge check\n  kmeet-bridge check --config ./config.toml",
    ),
    "calendars": (
        "list the Infomaniak calendars (id, name)",
        "List the id and name of every calendar the API token can write to; put the id in "
        "[kmeet] calendar_id.",
        "kmeet-bridge calendars",
    ),
    "status": (
        "last pass, counts per outcome, each message's fate",
        "Show what the state database says: the last pass, counts per outcome, the latest "
        "messages, the deferred ones, the last errors and the meetings in doubt. Read-only, "
        "also while the daemon runs. --json prints the same as one JSON document (schema in "
        "the README); --check prints one line and exits 0 (ok), 1 (warning) or 2 (critical), "
        "as a Nagios or Icinga check does.",
        "kmeet-bridge status\n  kmeet-bridge status --json | jq .health\n"
        "  kmeet-bridge status --check",
    ),
    "parse": (
        "show what a .eml or .ics would plan; no network",
        "Show what the bridge would do with one saved message (.eml) or calendar file (.ics): "
        "the outcome, the meeting it reads and the exact API request. Uses no network and no "
        "account; '-' reads the message from standard input.",
        "kmeet-bridge parse examples/invitation.eml\n  kmeet-bridge parse - < meeting.ics",
    ),
}


def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """--config and --log-level, accepted before the command (with their defaults)
    and after it (without: an option not given there keeps the value from before)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--config",
        type=Path,
        default=None if defaults else argparse.SUPPRESS,
        help=f"configuration file (default: ${config.CONFIG_ENV}, then "
        f"{config.DEFAULT_CONFIG_PATH})",
    )
    options.add_argument(
        "--log-level",
        default="info" if defaults else argparse.SUPPRESS,
        choices=["debug", "info", "warning", "error"],
        help="how much to log on stderr (default: info)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeet-bridge",
        description="Turns forwarded invitations and 'kmeet' emails into planned kMeet rooms.",
        epilog="Run 'kmeet-bridge COMMAND --help' for a command's options and examples.",
        parents=[_global_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"kmeet-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    after = _global_options(defaults=False)
    sub: dict[str, argparse.ArgumentParser] = {}
    for name, (summary, description, examples) in HELP.items():
        sub[name] = commands.add_parser(
            name,
            help=summary,
            # Raw: the examples keep their lines; the description is wrapped here.
            description=textwrap.fill(description, 79),
            epilog=f"example:\n  {examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[after],
        )
    for name in ("run", "once"):
        sub[name].add_argument(
            "--dry-run",
            action="store_true",
            help="only print what would be done: nothing planned, sent, moved or recorded",
        )
    shape = sub["status"].add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="one JSON document (see the README)")
    shape.add_argument(
        "--check", action="store_true", help="one line; exit 0 ok, 1 warning, 2 critical"
    )
    sub["parse"].add_argument(
        "file", type=Path, metavar="FILE", help="a .eml or .ics file, or - for standard input"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    handler: Callable[[argparse.Namespace], int] = COMMANDS[args.command]
    try:
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        return _pipe_closed()
    except ConfigError as exc:
        say(f"kmeet-bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (MailboxError, MailerError, KMeetError, StoreError, TokenRefused) as exc:
        say(f"kmeet-bridge: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


def say(text: str = "", *, file: TextIO | None = None, flush: bool = False) -> None:
    """Print a command's output: its own line breaks and tabs, no other control
    character (values from mail may hold terminal escapes)."""
    print(printable(text, keep="\n\t"), file=file or sys.stdout, flush=flush)


EXIT_PIPE_CLOSED = 128 + signal.SIGPIPE  # what a shell reports for a program SIGPIPE ended


def _pipe_closed() -> int:
    """The reader of stdout went away (`... | head`): end quietly, as `cat` does. Python
    ignores SIGPIPE and raises instead; stdout goes to /dev/null so that the flush at
    exit does not raise again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_PIPE_CLOSED


# Log levels as syslog priorities, which journald reads from a "<N>" line prefix.
SYSLOG_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class LineFormatter(logging.Formatter):
    """One line per event, so that journald and grep see one entry per event: the
    lines of a traceback are joined with " | ". Under journald each line starts
    with its syslog priority ("<3>" for ERROR), so `journalctl -p err` works."""

    def __init__(self, fmt: str, *, journal: bool) -> None:
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record).replace("\r", "").replace("\n", " | ")
        line = printable(line)  # a value from a message may hold terminal escapes
        if self.journal:
            return f"<{SYSLOG_PRIORITY.get(record.levelname, 6)}>{line}"
        return line


def setup_logging(level: str) -> None:
    # journald timestamps each line itself; a terminal gets our own.
    journal = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not journal:
        fmt = "%(asctime)s " + fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter(fmt, journal=journal))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every request at INFO; the bridge logs what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def load_settings(args: argparse.Namespace, *, secrets: bool = True) -> Settings:
    return config.load(args.config or config.default_config_path(), secrets=secrets)


def make_bridge(
    settings: Settings,
    store: Store,
    planner: KMeetClient,
    metrics: Metrics | None = None,
    progress: Callable[[], None] | None = None,
    health: Health | None = None,
) -> Bridge:
    mailer = Mailer(settings.smtp)
    return Bridge(
        settings,
        store,
        mailbox=lambda: Mailbox(settings.imap),
        mailer=metrics.mailer(mailer) if metrics is not None else mailer,
        planner=planner,
        progress=progress,
        health=health,
    )


# -- commands -----------------------------------------------------------------


def cmd_once(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.dry_run:
        with Store.in_memory_copy(settings.state_path) as store:
            dry_pass(settings, store)
        return EXIT_OK
    # One bridge per state database: a second one stops here (InstanceLocked).
    with (
        InstanceLock(settings.state_path),
        Store(settings.state_path) as store,
        KMeetClient(settings.kmeet) as planner,
    ):
        report = make_bridge(settings, store, planner).run_pass()
    say(f"pass finished: {report.summary()}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    state_path = settings.state_path
    heartbeat = Heartbeat()
    health = Health()  # outlives a reload: an outage does not end with SIGHUP

    @contextlib.contextmanager
    def open_pass(settings: Settings) -> Iterator[Callable[[threading.Event], str]]:
        if args.dry_run:
            yield lambda stop: dry_pass(settings, store, stop, always=False)
            return
        # Made again on SIGHUP with the new settings; the store stays open throughout.
        observe = metrics.api_request if metrics is not None else None
        with KMeetClient(settings.kmeet, observe=observe) as planner:
            bridge = make_bridge(
                settings, store, planner, metrics, progress=heartbeat.beat, health=health
            )

            def run_pass(stop: threading.Event) -> str:
                report = metrics.report() if metrics is not None else PassReport()
                reached: bool | None = None  # the mailbox, for the metrics
                try:
                    bridge.run_pass(stop, report)
                    reached = True
                except MailboxError:
                    reached = False
                    raise
                except TokenRefused:
                    reached = True
                    raise
                finally:
                    if metrics is not None:
                        metrics.pass_ended(mailbox_reached=reached)
                if report.counts:
                    log.info("pass finished: %s", report.summary())
                return report.summary()

            yield run_pass

    def reload() -> Settings:
        fresh = load_settings(args)
        if fresh.state_path != state_path:
            log.warning(
                "[state] path changed to %s: restart the service to use it; until then the "
                "state stays in %s",
                fresh.state_path,
                state_path,
            )
            fresh = dataclasses.replace(fresh, state_path=state_path)
        if fresh.metrics_listen != settings.metrics_listen:
            log.warning("[metrics] listen changed: restart the service to use it")
        return fresh

    if args.dry_run:
        # Passes work on a copy of the state in memory, kept from pass to pass, so
        # each shows only what is new since the last; no lock, nothing written.
        with Store.in_memory_copy(state_path) as store:
            return Daemon(settings, open_pass, reload=reload).serve()
    # One bridge per state database: a second one stops here (InstanceLocked).
    metrics: Metrics | None = None
    with InstanceLock(state_path), Store(state_path) as store:
        if settings.metrics_listen is not None:
            from kmeet_bridge.service.metrics import Metrics

            metrics = Metrics(store)
            metrics.serve(*settings.metrics_listen)
        daemon = Daemon(settings, open_pass, reload=reload, heartbeat=heartbeat, health=health)
        if metrics is not None:
            metrics.watch_idle(lambda: daemon.idle_listening)
        try:
            return daemon.serve()
        finally:
            if metrics is not None:
                metrics.close()


def dry_pass(
    settings: Settings, store: Store, stop: threading.Event | None = None, *, always: bool = True
) -> str:
    """A pass against the real mailbox that changes nothing (dryrun.py); prints
    what it would have done with each message (with `always` False, nothing when
    there was no message: the daemon's passes mostly find none)."""
    journal = dryrun.Journal()
    # The bridge's log lines would say "planned" of what is not: they wait for --log-level debug.
    bridge_log = logging.getLogger("kmeet_bridge.bridge")
    if not bridge_log.isEnabledFor(logging.DEBUG):
        bridge_log.setLevel(logging.ERROR)
    report = dryrun.dry_bridge(settings, store, journal).run_pass(stop)
    if not journal.entries and not always:
        return f"dry run: {report.summary()}"
    lines = ["dry run: nothing is planned, sent, moved or recorded"]
    for entry in journal.entries:
        lines.extend(["", *describe_entry(entry, settings, store)])
    lines.extend(["", f"dry run finished: {report.summary()}"])
    say("\n".join(lines), flush=True)
    return f"dry run: {report.summary()}"


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    say(f"config: ok ({settings.source})")
    for warning in config.insecure_warnings(settings) + config.permission_warnings(settings):
        say(f"warning: {warning}")
    failures = 0
    if settings.source == service_access.UNIT_CONFIG:
        # The file the shipped unit reads: say whether its dynamic user can.
        problems = service_access.service_problems(settings)
        failures += bool(problems)
        for problem in problems:
            say(f"service: FAILED: {problem}")
        if not problems:
            say("service: ok (its user can read the config; secrets handed over as credentials)")
    checks: list[tuple[str, Callable[[], str]]] = [
        ("imap", lambda: _check_imap(settings)),
        ("smtp", lambda: _check_smtp(settings)),
        ("api", lambda: _check_api(settings)),
    ]
    for name, check in checks:
        try:
            say(f"{name}: ok ({check()})")
        except (MailboxError, MailerError, KMeetError) as exc:
            failures += 1
            say(f"{name}: FAILED: {exc}")
    return EXIT_FAILED if failures else EXIT_OK


def _check_imap(settings: Settings) -> str:
    return Mailbox(settings.imap).check()


def _check_smtp(settings: Settings) -> str:
    return Mailer(settings.smtp).check()


def _check_api(settings: Settings) -> str:
    with KMeetClient(settings.kmeet) as client:
        calendars = client.list_calendars()
    ids = {calendar.id for calendar in calendars}
    if settings.kmeet.calendar_id not in ids:
        raise KMeetError(
            f"the token works, but calendar_id {settings.kmeet.calendar_id} is not one of its "
            f"calendars ({', '.join(str(i) for i in sorted(ids)) or 'none'}); run "
            "'kmeet-bridge calendars'"
        )
    return f"token accepted, calendar {settings.kmeet.calendar_id} found"


def cmd_calendars(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    with KMeetClient(settings.kmeet) as client:
        calendars = client.list_calendars()
    if not calendars:
        say("no calendars: create one in Infomaniak Calendar first")
    for calendar in calendars:
        say(f"{calendar.id}\t{calendar.name}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """What the state database says (status.py). Read-only and lock-free, so it
    works while the daemon runs. --check answers as a Nagios plugin: one line,
    exit 0 ok, 1 warning, 2 critical, 3 unknown (configuration or state unreadable)."""
    try:
        settings = load_settings(args, secrets=False)
        now = datetime.now(UTC)
        if settings.state_path.exists():
            with Store(settings.state_path, readonly=True) as store:
                snapshot = status.read(store, now)
        else:
            snapshot = status.empty(now)
    except (ConfigError, StoreError) as exc:
        if args.check:
            say(status.unknown_line(str(exc)))
            return status.Health.UNKNOWN
        raise
    poll_interval = settings.imap.poll_interval
    if args.check:
        state, line = status.check_line(snapshot, poll_interval)
        say(line)
        return state
    if args.json:
        document = status.as_json(snapshot, poll_interval)
        say(json.dumps(document, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not settings.state_path.exists():
        say(f"no state yet: {settings.state_path} does not exist (no pass has run)")
        return EXIT_OK
    say("\n".join(status.as_text(snapshot)))
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    path: Path = args.file
    config_path = args.config or config.default_config_path()
    store = None
    if config_path.exists():
        settings = config.load(config_path, secrets=False)
    else:
        settings = config.from_mapping(DRY_RUN_DEFAULTS, {}, secrets=False)
    limit = settings.limits.max_message_size
    stdin = str(path) == "-"
    try:
        if stdin:
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with path.open("rb") as file:
                data = file.read(limit + 1)
    except OSError as exc:
        say(f"kmeet-bridge: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    if len(data) > limit:
        say(
            f"kmeet-bridge: {'standard input' if stdin else path} is larger than "
            f"[limits] max_message_size ({limit} bytes), which the bridge would not read either",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if config_path.exists():
        say(f"configuration: {config_path}")
        if settings.state_path.exists():
            # Read-only: shows whether each meeting is new or an update, changes nothing.
            try:
                store = Store(settings.state_path, readonly=True)
            except StoreError as exc:
                say(f"state: not read ({exc})")
    else:
        say(
            "configuration: none found, using the defaults "
            f"(timezone {settings.kmeet.timezone}, {settings.kmeet.default_duration} minutes; "
            "calendar_id 0 stands for your calendar)"
        )
    try:
        say(
            describe_file(
                Path("stdin") if stdin else path, data, settings, datetime.now(UTC), store
            )
        )
    finally:
        if store is not None:
            store.close()
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "once": cmd_once,
    "check": cmd_check,
    "calendars": cmd_calendars,
    "status": cmd_status,
    "parse": cmd_parse,
}


# -- parse, as text -------------------------------------------------------------


def message_from_file(path: Path, data: bytes) -> EmailMessage:
    """An .ics is wrapped in a message, as if it had been forwarded: attached
    as it is, bytes untouched, so that its character set (UTF-8, UTF-16 with a
    BOM, else Windows-1252) is read the way an attached .ics is."""
    if path.suffix.lower() == ".ics" or data.lstrip().startswith(b"BEGIN:VCALENDAR"):
        message = EmailMessage()
        message["Subject"] = path.name
        message["From"] = "you@example.com"
        message["Message-ID"] = f"<{path.name}@parse.invalid>"
        message.set_content(data, maintype="text", subtype="calendar", filename=path.name)
        return message
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def describe_file(
    path: Path, data: bytes, settings: Settings, now: datetime, store: Store | None = None
) -> str:
    """`describe` for the bytes of a file, read in the order a pass reads mail:
    the header first, then the structure, then the rest within the budget."""
    is_calendar = path.suffix.lower() == ".ics" or data.lstrip().startswith(b"BEGIN:VCALENDAR")
    if not is_calendar:
        header = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            data, headersonly=True
        )
        assert isinstance(header, EmailMessage)
        lines, decided = _describe_header(header, settings)
        if decided:
            return "\n".join(lines)
        problem = mime_limits.structure_problem(data, settings.limits.max_parts)
        if problem is not None:
            return "\n".join([*lines, f"outcome: rejected ({problem[0]}; not parsed)"])
    try:
        with budget.limit(settings.limits.cpu_seconds):
            return describe(message_from_file(path, data), settings, now, store)
    except budget.OverBudget as exc:
        return f"outcome: rejected ({exc})"


def _describe_header(message: EmailMessage, settings: Settings) -> tuple[list[str], bool]:
    """The lines about the sender, and whether the header alone decides the outcome
    (automatic mail, a sender who is not allowed), as in a pass."""
    sender = headers.sender_address(message)
    lines = [f"from: {sender or '(unreadable)'}", f"subject: {headers.subject(message)}"]
    automatic = headers.automatic_reason(message, settings.smtp.from_address)
    if automatic:
        return [*lines, f"outcome: ignored ({automatic})"], True
    if sender is None or not settings.senders.allows(sender):
        outcome = f"rejected (sender {sender} is not in [senders] allow; no reply)"
        return [*lines, f"outcome: {outcome}", "nothing more of the message is read"], True
    return lines, False


def describe(
    message: EmailMessage, settings: Settings, now: datetime, store: Store | None = None
) -> str:
    """What the bridge would do with `message`: the rule that decided, the
    outcome, each meeting (and, with a state database, whether it is new or an
    update), cancellations, problems, and the exact API bodies."""
    lines, decided = _describe_header(message, settings)
    if decided:
        return "\n".join(lines)
    sender = headers.sender_address(message)
    if store is not None:  # an answer to the bridge's reply (meeting_changes.py)
        language = detect_language(body_text(message), default=settings.kmeet.language)
        default = settings.kmeet.language
        reading = reading_of(store, message, language=language, default_language=default, now=now)
        if reading is not None:
            return "\n".join([*lines, *describe_answer(reading, sender or "")])
    try:
        extraction = extract_meetings(message, settings, now)
    except NotARequest as exc:
        lines.append(f"outcome: ignored ({exc})")
        return "\n".join(lines)
    lines.append(f"rule: {extraction.rule}")
    lines.append(f"outcome: {_expected_outcome(extraction, sender, settings, store)}")
    if sender is not None and settings.senders.allows(sender):
        recipient = reply_recipient(
            message, organizers=extraction.organizers, allowed=settings.senders.allows
        )
        if recipient != sender:
            lines.append(f"reply to: {recipient} (Reply-To, the invitation's organizer)")
    for meeting in extraction.meetings:
        # The real password is made when the room is planned and sent to the requester only.
        protected = effective_room(meeting, settings.kmeet).password_enabled
        body = room_body(meeting, settings.kmeet, password=PASSWORD_SHOWN if protected else None)
        lines.extend(_describe_meeting(meeting))
        if store is not None:
            known = store.meeting(meeting.key)
            series = store.meeting(meeting.series_key) if meeting.series_key else None
            status, changes = updates.classify(meeting, body, known, series)
            lines.append(f"  state: {STATUS_WORDS[status]}")
            lines.extend(f"  change: {c.what}: {c.before} -> {c.after}" for c in changes)
        lines.append("  API request: POST /1/kmeet/rooms")
        lines.extend("    " + line for line in json.dumps(body, indent=2).splitlines())
    for cancellation in extraction.cancellations:
        lines.extend(["", f"cancellation: {cancellation.title}", f"  identity: {cancellation.key}"])
        if cancellation.recurrence_id:
            lines.append(f"  occurrence: {cancellation.recurrence_id} of {cancellation.series_key}")
    for problem in extraction.problems:
        lines.extend(["", f"not planned: {problem.subject}", f"  why: {problem.reason}"])
        if problem.hint:
            lines.append(f"  how to fix: {problem.hint}")
    return "\n".join(lines)


PASSWORD_SHOWN = "(generated when the room is planned)"

STATUS_WORDS = {
    "new": "not planned yet: a new room",
    "unchanged": "already planned: the same room, nothing changed",
    "updated": "already planned: the same room, with these changes",
    "replanned": "already planned, but it now ends after its room's settings expire: a new room",
    "occurrence": "an occurrence of a planned series: the series' room",
}


def _expected_outcome(
    extraction: Extraction, sender: str | None, settings: Settings, store: Store | None
) -> str:
    if sender is None or not settings.senders.allows(sender):
        return f"rejected (sender {sender} is not in [senders] allow; no reply)"
    parts = []
    if extraction.meetings:
        count = len(extraction.meetings)
        parts.append(f"{count} meeting{'s' * (count > 1)} to plan")
    if extraction.cancellations:
        known = "" if store is None else " (ignored unless the bridge planned the meeting)"
        parts.append(f"{len(extraction.cancellations)} cancellation(s){known}")
    if extraction.problems:
        parts.append(f"{len(extraction.problems)} event(s) that cannot be planned")
    if extraction.meetings or extraction.cancellations:
        return "planned (" + ", ".join(parts) + ")"
    return "rejected (" + ", ".join(parts) + "; the sender gets a reply saying why)"


def _describe_meeting(meeting: MeetingRequest) -> list[str]:
    utc = "%Y-%m-%d %H:%M UTC"
    lines = [
        "",
        f"meeting: {meeting.title}",
        f"  when: {meeting.start:%Y-%m-%d %H:%M} - {meeting.end:%Y-%m-%d %H:%M} "
        f"({meeting.timezone}); {meeting.start.astimezone(UTC):{utc}} - "
        f"{meeting.end.astimezone(UTC):{utc}}",
        f"  identity: {meeting.key}",
    ]
    if meeting.is_series:
        rule = describe_rule(meeting.rule or "", meeting.start)
        left = "" if meeting.occurrences_left is None else f", {meeting.occurrences_left} left"
        lines.append(f"  repeats: {rule}{left}; the room is planned for the next occurrence")
    if meeting.series_key:
        lines.append(f"  occurrence {meeting.recurrence_id} of the series {meeting.series_key}")
    for attendee in meeting.attendees:
        role = " (organizer)" if attendee.organizer else ""
        name = f"{attendee.name} " if attendee.name else ""
        lines.append(f"  attendee: {name}<{attendee.address}> {attendee.state}{role}")
    lines.extend(f"  note: {note}" for note in meeting.notes)
    return lines


# -- a dry pass, as text --------------------------------------------------------

REPLY_LINES = 8  # of a reply's text shown by a dry run


def describe_entry(entry: dryrun.Entry, settings: Settings, store: Store) -> list[str]:
    """One message of a dry pass: its outcome, where it would go, its meetings,
    the API requests and the reply (recipient, subject, first lines)."""
    message = email.message_from_bytes(entry.incoming.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    subject = headers.subject(message)
    lines = [
        f"{entry.folder}:{entry.incoming.uid} from {headers.sender_address(message) or '-'}"
        + (f' "{subject}"' if subject else "")
    ]
    record = store.message(entry.folder, entry.uidvalidity, entry.incoming.uid)
    if record is None:
        lines.append("  outcome: none recorded")
        return lines
    lines.append(f"  outcome: {record.outcome}: {' '.join(record.reason.split())}")
    if entry.moved_to:
        lines.append(f"  would move to: {entry.moved_to}")
    elif record.outcome == Outcome.DEFERRED and record.next_attempt is not None:
        lines.append(f"  stays in {entry.folder}; next attempt {record.next_attempt:%H:%M:%S} UTC")
    else:
        lines.append(f"  stays in {entry.folder}, unchanged")
    if record.outcome != Outcome.IGNORED and entry.incoming.complete:
        with contextlib.suppress(NotARequest):
            extraction = extract_meetings(message, settings, datetime.now(UTC))
            for meeting in extraction.meetings:
                lines.extend("  " + line for line in _describe_meeting(meeting)[1:])
    passwords = []
    for call, body in entry.api_calls:
        lines.append(f"  API request: {call}")
        if body is not None:
            body = _without_passwords(body, passwords)
            lines.extend("    " + line for line in json.dumps(body, indent=2).splitlines())
    for reply in entry.replies:
        lines.append(f"  reply to: {reply['To']}")
        lines.append(f"    Subject: {reply['Subject']}")
        part = reply.get_body(preferencelist=("plain",))
        text = part.get_content() if isinstance(part, EmailMessage) else ""
        for password in passwords:  # made for this dry run only, and never used
            text = text.replace(password, PASSWORD_SHOWN)
        shown = [line for line in text.splitlines() if line.strip()][:REPLY_LINES]
        lines.extend(f"    | {line}" for line in shown)
    if not entry.replies and record.outcome in (Outcome.PLANNED, Outcome.REJECTED):
        lines.append("  reply: none")
    return lines


def _without_passwords(value: Any, found: list[str]) -> Any:
    """`value` (an API body) with every "password" shown as PASSWORD_SHOWN; the
    passwords go to `found`, to be hidden in the reply too."""
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            if key == "password" and isinstance(item, str) and item:
                found.append(item)
                shown[key] = PASSWORD_SHOWN
            else:
                shown[key] = _without_passwords(item, found)
        return shown
    if isinstance(value, list):
        return [_without_passwords(item, found) for item in value]
    return value
