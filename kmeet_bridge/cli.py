"""The command line: run, once, check, calendars, parse, status.

Every failure a user can cause (a bad config, a refused login, an unreadable
file) ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import email
import email.policy
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from kmeet_bridge import __version__, config, headers, service_access, updates
from kmeet_bridge.bridge import Bridge, TokenRefused, extract_meetings
from kmeet_bridge.config import ConfigError, Settings
from kmeet_bridge.daemon import Daemon
from kmeet_bridge.instance_lock import InstanceLock
from kmeet_bridge.kmeet import KMeetClient, KMeetError, effective_room, room_body
from kmeet_bridge.mailbox import Mailbox, MailboxError
from kmeet_bridge.mailer import Mailer, MailerError
from kmeet_bridge.models import Extraction, MeetingRequest, NotARequest, Outcome
from kmeet_bridge.recurrence import describe_rule
from kmeet_bridge.store import MessageRecord, Store, StoreError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeet-bridge",
        description="Turns forwarded invitations and 'kmeet' emails into planned kMeet rooms.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"configuration file (default: ${config.CONFIG_ENV}, then "
        f"{config.DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log on stderr (default: info)",
    )
    parser.add_argument("--version", action="version", version=f"kmeet-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="the daemon: a pass every poll_interval until SIGTERM")
    commands.add_parser("once", help="one pass over the mailbox, then exit")
    commands.add_parser("check", help="validate the config and try every connection")
    commands.add_parser("calendars", help="list the Infomaniak calendars (id, name)")
    commands.add_parser("status", help="what the state database says happened")
    parse = commands.add_parser("parse", help="show what a .eml or .ics would plan; no network")
    parse.add_argument("file", type=Path, metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    handler: Callable[[argparse.Namespace], int] = COMMANDS[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"kmeet-bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (MailboxError, MailerError, KMeetError, StoreError, TokenRefused) as exc:
        print(f"kmeet-bridge: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


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


def make_bridge(settings: Settings, store: Store, planner: KMeetClient) -> Bridge:
    return Bridge(
        settings,
        store,
        mailbox=lambda: Mailbox(settings.imap),
        mailer=Mailer(settings.smtp),
        planner=planner,
    )


# -- commands -----------------------------------------------------------------


def cmd_once(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    # One bridge per state database: a second one stops here (InstanceLocked).
    with (
        InstanceLock(settings.state_path),
        Store(settings.state_path) as store,
        KMeetClient(settings.kmeet) as planner,
    ):
        report = make_bridge(settings, store, planner).run_pass()
    print(f"pass finished: {report.summary()}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    state_path = settings.state_path

    @contextlib.contextmanager
    def open_pass(settings: Settings) -> Iterator[Callable[[threading.Event], str]]:
        # Made again on SIGHUP with the new settings; the store stays open throughout.
        with KMeetClient(settings.kmeet) as planner:
            bridge = make_bridge(settings, store, planner)

            def run_pass(stop: threading.Event) -> str:
                report = bridge.run_pass(stop)
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
        return fresh

    # One bridge per state database: a second one stops here (InstanceLocked).
    with InstanceLock(state_path), Store(state_path) as store:
        return Daemon(settings, open_pass, reload=reload).serve()


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    print(f"config: ok ({settings.source})")
    for warning in config.insecure_warnings(settings) + config.permission_warnings(settings):
        print(f"warning: {warning}")
    failures = 0
    if settings.source == service_access.UNIT_CONFIG:
        # The file the shipped unit reads: say whether its dynamic user can.
        problems = service_access.service_problems(settings)
        failures += bool(problems)
        for problem in problems:
            print(f"service: FAILED: {problem}")
        if not problems:
            print("service: ok (its user can read the config; secrets handed over as credentials)")
    checks: list[tuple[str, Callable[[], str]]] = [
        ("imap", lambda: _check_imap(settings)),
        ("smtp", lambda: _check_smtp(settings)),
        ("api", lambda: _check_api(settings)),
    ]
    for name, check in checks:
        try:
            print(f"{name}: ok ({check()})")
        except (MailboxError, MailerError, KMeetError) as exc:
            failures += 1
            print(f"{name}: FAILED: {exc}")
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
        print("no calendars: create one in Infomaniak Calendar first")
    for calendar in calendars:
        print(f"{calendar.id}\t{calendar.name}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """What the state database says: the last pass, the outcomes, the latest
    messages, the deferred ones, the last errors and the meetings in doubt.
    Read-only and lock-free, so it works while the daemon runs. Times in UTC."""
    settings = load_settings(args, secrets=False)
    if not settings.state_path.exists():
        print(f"no state yet: {settings.state_path} does not exist (no pass has run)")
        return EXIT_OK
    shown = 10  # of the latest messages and of the last errors

    def flat(text: str | None) -> str:
        return " ".join((text or "").split())

    def who(record: MessageRecord) -> str:
        subject = f' "{flat(record.subject)}"' if record.subject else ""
        return f"{record.folder}:{record.uid} {record.sender or '-'}{subject}"

    def section(title: str, lines: list[str]) -> None:
        print(f"{title} ({len(lines)}):" if lines else f"{title}: none")
        for line in lines:
            print(f"  {line}")

    with Store(settings.state_path, readonly=True) as store:
        when = store.meta("last_pass_at")
        result = store.meta("last_pass_result") or "-"
        if when is None:
            print("last pass: never")
        else:
            at = f"{datetime.fromisoformat(when):%Y-%m-%d %H:%M:%S} UTC"
            ended = "" if store.meta("last_pass_ok") != "0" else ", did not finish"
            print(f"last pass: {at}{ended} ({result})")
        counts = store.outcome_counts()
        print(
            "messages: "
            + (", ".join(f"{counts[o]} {o}" for o in Outcome if counts.get(o)) or "none")
        )
        for record in store.recent_messages(shown):
            print(
                f"  {record.updated_at:%Y-%m-%d %H:%M} {record.outcome:<8} "
                f"{record.sender or '-'}: {flat(record.reason)}"
            )
        section(
            "deferred",
            [
                f"{who(r)}: next attempt "
                + (f"{r.next_attempt:%Y-%m-%d %H:%M:%S} UTC" if r.next_attempt else "now")
                + f" (attempt {r.attempts}): {flat(r.reason)}"
                for r in store.deferred_messages()
            ],
        )
        section(
            "last errors",
            [
                f"{r.updated_at:%Y-%m-%d %H:%M} {who(r)}: {flat(r.reason)}"
                for r in store.last_errors(shown)
            ],
        )
        doubts = []
        for meeting in store.meetings_in_doubt():
            if meeting.status == "planning":
                state = (
                    "the API call has no usable answer (in flight, or cut off): a room may exist"
                )
            elif meeting.room is not None:
                state = (
                    f"planned again after an interrupted API call: {meeting.room.url}; "
                    "a second room may exist in the Infomaniak calendar"
                )
            else:
                state = "an interrupted API call may have made a room; not planned since"
            doubts.append(
                f'{meeting.key}: "{flat(meeting.title)}" {meeting.starting_at} '
                f"({meeting.timezone}): {state}"
            )
        section("meetings in doubt", doubts)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"kmeet-bridge: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    config_path = args.config or config.default_config_path()
    store = None
    if config_path.exists():
        settings = config.load(config_path, secrets=False)
        print(f"configuration: {config_path}")
        if settings.state_path.exists():
            # Read-only: shows whether each meeting is new or an update, changes nothing.
            try:
                store = Store(settings.state_path, readonly=True)
            except StoreError as exc:
                print(f"state: not read ({exc})")
    else:
        settings = config.from_mapping(DRY_RUN_DEFAULTS, {}, secrets=False)
        print(
            "configuration: none found, using the defaults "
            f"(timezone {settings.kmeet.timezone}, {settings.kmeet.default_duration} minutes; "
            "calendar_id 0 stands for your calendar)"
        )
    message = message_from_file(path, data)
    try:
        print(describe(message, settings, datetime.now(UTC), store))
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
    """An .ics is wrapped in a message, as if it had been forwarded."""
    if path.suffix.lower() == ".ics" or data.lstrip().startswith(b"BEGIN:VCALENDAR"):
        message = EmailMessage()
        message["Subject"] = path.name
        message["From"] = "you@example.com"
        message["Message-ID"] = f"<{path.name}@parse.invalid>"
        text = data.decode("utf-8", errors="replace")
        message.set_content(text, subtype="calendar")
        return message
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def describe(
    message: EmailMessage, settings: Settings, now: datetime, store: Store | None = None
) -> str:
    """What the bridge would do with `message`: the rule that decided, the
    outcome, each meeting (and, with a state database, whether it is new or an
    update), cancellations, problems, and the exact API bodies."""
    lines: list[str] = []
    sender = headers.sender_address(message)
    lines.append(f"from: {sender or '(unreadable)'}")
    lines.append(f"subject: {headers.subject(message)}")
    automatic = headers.automatic_reason(message, settings.smtp.from_address)
    if automatic:
        lines.append(f"outcome: ignored ({automatic})")
        return "\n".join(lines)
    try:
        extraction = extract_meetings(message, settings, now)
    except NotARequest as exc:
        lines.append(f"outcome: ignored ({exc})")
        return "\n".join(lines)
    lines.append(f"rule: {extraction.rule}")
    lines.append(f"outcome: {_expected_outcome(extraction, sender, settings, store)}")
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
