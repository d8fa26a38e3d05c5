"""Check `kmeet-bridge parse` against calendar files written by others.

    python scripts/real_world_invitations.py DIRECTORY [--details]

Every file under DIRECTORY (.ics, .ifb, .vcs, .eml, .txt, .msg) is run
through `kmeet-bridge parse FILE` (the command's own code, in this process)
with the default configuration (Europe/Zurich, 60 minutes; no config file),
and what it plans is compared with an
independent reading of the same calendar that shares no code with the bridge:
icalendar parses the text, recurring-ical-events expands series, zoneinfo
places the times (a floating time in the calendar's X-WR-TIMEZONE, else in
Europe/Zurich; no end, or an end equal to the start: 60 minutes, as the bridge
is configured).

A file whose meetings are over is also run as a copy shifted into the future:
every date of its events (DTSTART, DTEND, RECURRENCE-ID, RDATE, EXDATE, UNTIL)
moves by a multiple of 28 years, which keeps weekdays and leap days; the time
zone definitions are left as they are. The copies live in a temporary
directory, never next to the originals.

Each file ends in one verdict:
  agree        the bridge planned what the independent reading found, to the minute
  wrong        a planned meeting's start or end differs from the independent reading
  refused      the independent reading found a meeting the bridge did not plan
  extra        the bridge planned a meeting the independent reading did not find
  nothing      neither found a meeting (all-day events, tasks, answers, cancellations...)
  unreadable   the independent reader could not read the file (the bridge's answer is shown)
  slow         one of the readings took more than --timeout seconds (which one is said)
  crash        the command raised or exited non-zero
The summary counts verdicts per source (the first directory level under
DIRECTORY); --details lists every file with the bridge's reason.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import io
import logging
import math
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from kmeet_bridge.service import cli

DEFAULT_ZONE = "Europe/Zurich"
DEFAULT_MINUTES = 60
PLANNED_METHODS = ("", "REQUEST", "PUBLISH")
SUFFIXES = (".ics", ".ifb", ".vcs", ".eml", ".txt", ".msg")
MINUTE = "%Y-%m-%d %H:%M"
HORIZON = timedelta(days=366 * 100)


# --- the independent reading ---------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    uid: str
    start: str  # UTC, to the minute
    end: str


@dataclass
class Reading:
    meetings: list[Meeting] = field(default_factory=list)
    error: str | None = None
    first_year: int | None = None  # the earliest year an event starts in


def _zone(name: object) -> ZoneInfo | None:
    try:
        return ZoneInfo(str(name).strip()) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _minute(value: datetime) -> str:
    return value.astimezone(UTC).strftime(MINUTE)


def _span(start: datetime, end: object, duration: object, zone: ZoneInfo) -> tuple[str, str]:
    start = _aware(start, zone)
    if isinstance(end, datetime):
        stop = _aware(end, zone)
    elif isinstance(duration, timedelta):
        stop = start + duration
    else:
        stop = start
    if stop == start:
        stop = start + timedelta(minutes=DEFAULT_MINUTES)
    return _minute(start), _minute(stop)


def independent(text: str, now: datetime) -> Reading:
    """The meetings a calendar text holds, as a client would place them."""
    PHASE[0] = "the independent reading"
    reading = Reading()
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as error:  # any refusal of the library
        reading.error = f"{type(error).__name__}: {error}"[:160]
        return reading
    for component in calendars:
        calendar = component
        if component.name != "VCALENDAR":  # a bare VEVENT, as some exports write
            calendar = icalendar.Calendar()
            calendar.add_component(component)
        method = str(calendar.get("METHOD", "")).strip().upper()
        zone = _zone(calendar.get("X-WR-TIMEZONE")) or ZoneInfo(DEFAULT_ZONE)
        events = calendar.walk("VEVENT")
        for event in events:
            start = event.get("DTSTART")
            if isinstance(getattr(start, "dt", None), date):
                year = start.dt.year
                reading.first_year = min(reading.first_year or year, year)
        if method not in PLANNED_METHODS:
            continue
        try:
            reading.meetings += list(_meetings(calendar, events, zone, now))
        except Exception as error:
            reading.error = f"{type(error).__name__}: {error}"[:160]
    return reading


def _meetings(
    calendar: icalendar.Calendar, events: list, zone: ZoneInfo, now: datetime
) -> Iterator[Meeting]:
    # An event without UID stands alone (as in the bridge): "#<index>".
    uids = [str(event.get("UID", "")).strip() or f"#{index}" for index, event in enumerate(events)]
    series_uids = set()
    for uid, event in zip(uids, events, strict=True):
        if event.get("RECURRENCE-ID") is None and (event.get("RRULE") or event.get("RDATE")):
            start = event.get("DTSTART")
            if isinstance(getattr(start, "dt", None), datetime):  # all day: no meeting
                series_uids.add(uid)
    for uid, event in zip(uids, events, strict=True):
        start = event.get("DTSTART")
        if start is None or not isinstance(start.dt, datetime):
            continue  # no start, or all day: nothing to plan
        if str(event.get("STATUS", "")).strip().upper() == "CANCELLED":
            continue
        if uid in series_uids:
            continue  # expanded below
        end = event.get("DTEND")
        duration = event.get("DURATION")
        first, last = _span(
            start.dt, end.dt if end else None, duration.dt if duration else None, zone
        )
        if last > _minute(now):
            yield Meeting(uid, first, last)
    for uid in series_uids:
        occurrence = _next_occurrence(calendar, uids, uid, zone, now)
        if occurrence is not None:
            yield occurrence


def _next_occurrence(
    calendar: icalendar.Calendar, uids: list[str], uid: str, zone: ZoneInfo, now: datetime
) -> Meeting | None:
    alone = icalendar.Calendar()
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            alone.add_component(component)
    for other, event in zip(uids, calendar.walk("VEVENT"), strict=True):
        if other == uid:
            alone.add_component(event)
    query = recurring_ical_events.of(alone)
    for looked, occurrence in enumerate(query.after(now - timedelta(days=2))):
        if looked > 10_000:
            return None
        start = occurrence.get("DTSTART")
        if start is None or not isinstance(start.dt, datetime):
            continue
        if str(occurrence.get("STATUS", "")).strip().upper() == "CANCELLED":
            continue
        end = occurrence.get("DTEND")
        first, last = _span(start.dt, end.dt if end else None, None, zone)
        if last > _minute(now):
            return Meeting(uid, first, last)
        if _aware(start.dt, zone) > now + HORIZON:
            return None
    return None


# --- the files -------------------------------------------------------------------


def calendar_texts(path: Path) -> list[str]:
    """The calendar texts in a file: itself, or an email's calendar parts."""
    data = path.read_bytes()
    if path.suffix.lower() in (".ics", ".ifb", ".vcs") or b"BEGIN:VCALENDAR" in data[:200]:
        return [_text(data, None)]
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    texts = []
    for part in message.walk():
        name = (part.get_filename() or "").lower()
        if part.get_content_type() == "text/calendar" or name.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(_text(payload, part.get_content_charset()))
    return texts


def _text(data: bytes, charset: str | None) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for name in filter(None, (charset, "utf-8", "cp1252", "latin-1")):
        try:
            return data.decode(name).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


_SHIFTED = ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE", "RRULE", "EXRULE", "DUE")
_DATE = re.compile(r"(?<!\d)(\d{4})(\d{4})(?=T\d{6}|Z|[,;/\s]|$)")


def shifted(text: str, years: int) -> str:
    """The calendar with every date of its events `years` later (see the module doc)."""
    lines = re.split(r"\r\n|\n|\r", text)
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    out, depth = [], []
    for line in unfolded:
        name = re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()
        if name == "BEGIN":
            depth.append(line.partition(":")[2].strip().upper())
        elif name == "END" and depth:
            depth.pop()
        if depth and depth[-1] == "VEVENT" and name in _SHIFTED and ":" in line:
            head, value = _split_value(line)
            value = _DATE.sub(lambda m: f"{int(m.group(1)) + years:04d}{m.group(2)}", value)
            line = head + value
        out.append(line)
    return "\r\n".join(out)


def _split_value(line: str) -> tuple[str, str]:
    """The line before and after the colon that ends its parameters (quotes aside)."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[: index + 1], line[index + 1 :]
    return line, ""


# --- the bridge, as a user runs it ---------------------------------------------


@dataclass
class Parsed:
    meetings: list[Meeting] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    outcome: str = ""
    crash: str | None = None


PHASE = ["the bridge"]  # which reader is at work, for the "slow" verdict


def run_parse(path: Path) -> Parsed:
    """`kmeet-bridge parse FILE`, run in this process (the command's own code,
    without a process start per file); an exception is a crash."""
    PHASE[0] = "the bridge (parse)"
    output = io.StringIO()
    parsed = Parsed()
    try:
        with contextlib.redirect_stdout(output):
            code = cli.main(["parse", str(path)])
    except BaseException as error:  # SystemExit included: the command must not die
        parsed.crash = f"{type(error).__name__}: {error}"[:200]
        return parsed
    if code != 0:
        parsed.crash = f"exit {code}"
        return parsed
    title_uid = start = end = None
    for line in output.getvalue().splitlines():
        if line.startswith("outcome: "):
            parsed.outcome = line[len("outcome: ") :]
        elif line.startswith("  when: "):
            found = re.search(r"; (\S+ \S+) UTC - (\S+ \S+) UTC$", line)
            start, end = (found.group(1), found.group(2)) if found else (None, None)
        elif line.startswith("  identity: ics:"):
            identity = line[len("  identity: ics:") :]
            rest = identity.partition(":")[2]  # after the organizer
            title_uid = rest.rpartition(":")[0]
            if start and end:
                parsed.meetings.append(Meeting(title_uid, start, end))
        elif line.startswith("  why: "):
            parsed.problems.append(line[len("  why: ") :])
    return parsed


def _is_over(parsed: Parsed) -> bool:
    return any("already ended" in p or "is over" in p for p in parsed.problems)


# --- one file --------------------------------------------------------------------


@dataclass
class Verdict:
    path: Path
    source: str
    verdict: str
    shifted: int = 0  # years
    detail: str = ""


def check(path: Path, source: str, scratch: Path) -> Verdict:
    now = datetime.now(UTC)
    parsed = run_parse(path)
    if parsed.crash:
        return Verdict(path, source, "crash", detail=parsed.crash)
    try:
        texts = calendar_texts(path)
    except Exception as error:
        return Verdict(path, source, "unreadable", detail=f"not a calendar file: {error}")
    readings = [independent(text, now) for text in texts]
    years = 0
    if _is_over(parsed):
        first = min((r.first_year for r in readings if r.first_year), default=now.year)
        years = 28 * max(1, math.ceil((now.year + 1 - first) / 28))
        parsed = Parsed()
        for index, text in enumerate(texts):
            copy = scratch / f"{source}-{path.stem}-{index}.ics"
            copy.write_text(shifted(text, years), encoding="utf-8")
            one = run_parse(copy)
            if one.crash:
                return Verdict(path, source, "crash", years, f"shifted copy: {one.crash}")
            parsed.meetings += one.meetings
            parsed.problems += one.problems
            parsed.outcome = parsed.outcome or one.outcome
        readings = [independent(shifted(text, years), now) for text in texts]
    return judge(path, source, years, parsed, readings)


class _TimedOut(BaseException):  # not caught by any `except Exception` on the way
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TimedOut


def guarded(path: Path, source: str, scratch: Path, seconds: int) -> Verdict:
    """check(), with a failure of this script's own reading told apart from a
    crash, and at most `seconds` per file (a slow file is named, not waited for)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    started = time.monotonic()
    try:
        return check(path, source, scratch)
    except _TimedOut:
        return Verdict(path, source, "slow", detail=f"{PHASE[0]} took more than {seconds} s")
    except Exception as error:
        detail = f"independent reader failed: {type(error).__name__}: {error}"[:200]
        return Verdict(path, source, "unreadable", detail=detail)
    finally:
        signal.alarm(0)
        print(f"{time.monotonic() - started:6.2f} s {source}/{path.name}", file=sys.stderr)


def judge(path: Path, source: str, years: int, parsed: Parsed, readings: list[Reading]) -> Verdict:
    # An email's calendar parts often carry the same event twice (inline and attached).
    expected = list(dict.fromkeys(m for r in readings for m in r.meetings))
    parsed.meetings = list(dict.fromkeys(parsed.meetings))
    errors = [r.error for r in readings if r.error]
    why = "; ".join(parsed.problems) or parsed.outcome
    if errors and not expected:
        detail = f"independent reader: {errors[0]}; bridge: {why}"
        return Verdict(path, source, "unreadable", years, detail)
    # A meeting is matched by its UID; one without UID (the bridge derives one)
    # by its times among the events without UID.
    wrong, extra, matched = [], [], set()
    for meeting in parsed.meetings:
        derived = meeting.uid.startswith("derived-")
        same = [m for m in expected if m.uid == meeting.uid or (derived and m.uid[:1] == "#")]
        exact = [
            m for m in same if (m.start, m.end) == (meeting.start, meeting.end) and m not in matched
        ]
        if exact:
            matched.add(exact[0])
        elif same and not derived:
            wrong.append((meeting, same[0]))
        else:
            extra.append(meeting)
    if wrong:
        meeting, other = wrong[0]
        detail = (
            f"{meeting.uid}: bridge {meeting.start} - {meeting.end} UTC, "
            f"independent {other.start} - {other.end} UTC"
        )
        return Verdict(path, source, "wrong", years, detail)
    missing = [m for m in expected if m not in matched]
    if missing and not parsed.meetings:
        return Verdict(path, source, "refused", years, why)
    if missing:
        uids = ", ".join(sorted({m.uid for m in missing}))[:120]
        return Verdict(path, source, "refused", years, f"{uids} not planned: {why}")
    if extra:
        shown = ", ".join(f"{m.uid} {m.start}-{m.end}" for m in extra)[:200]
        return Verdict(path, source, "extra", years, shown)
    if parsed.meetings:
        return Verdict(path, source, "agree", years, f"{len(parsed.meetings)} meeting(s)")
    return Verdict(path, source, "nothing", years, why)


# --- all files -------------------------------------------------------------------


def files(directory: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            relative = path.relative_to(directory)
            source = relative.parts[0] if len(relative.parts) > 1 else "."
            found.append((path, source))
    return found


VERDICTS = ("agree", "wrong", "refused", "extra", "nothing", "unreadable", "slow", "crash")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--details", action="store_true", help="one line per file")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per file")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the command's log lines; its answers are on stdout
    with tempfile.TemporaryDirectory() as scratch:
        # No configuration: the defaults, as a new user runs `parse`.
        os.environ["KMEET_BRIDGE_CONFIG"] = str(Path(scratch) / "none.toml")
        verdicts = [
            guarded(path, source, Path(scratch), args.timeout)
            for path, source in files(args.directory)
        ]
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict in verdicts:
        by_source[verdict.source][verdict.verdict] += 1
        by_source[verdict.source]["shifted"] += bool(verdict.shifted)
    print("| source | files | shifted | " + " | ".join(VERDICTS) + " |")
    print("|---" * (len(VERDICTS) + 3) + "|")
    total: Counter[str] = Counter()
    for source, counts in sorted(by_source.items()):
        count = sum(counts[v] for v in VERDICTS)
        total.update(counts)
        cells = " | ".join(str(counts[v]) for v in VERDICTS)
        print(f"| {source} | {count} | {counts['shifted']} | {cells} |")
    count = sum(total[v] for v in VERDICTS)
    cells = " | ".join(str(total[v]) for v in VERDICTS)
    print(f"| all | {count} | {total['shifted']} | {cells} |")
    shown = verdicts if args.details else [v for v in verdicts if v.verdict not in ("agree",)]
    print()
    for verdict in shown:
        moved = f" (+{verdict.shifted} years)" if verdict.shifted else ""
        print(f"{verdict.verdict:10} {verdict.source}/{verdict.path.name}{moved}: {verdict.detail}")
    return 1 if total["crash"] or total["wrong"] or total["slow"] else 0


if __name__ == "__main__":
    sys.exit(main())
