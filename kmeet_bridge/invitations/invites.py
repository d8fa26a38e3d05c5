"""Calendar invitations in an email -> what the message asks for (pure: no I/O).

`calendar_parts` finds every iCalendar body in a message, wherever it sits in
the MIME tree. `extract` reads the events in them and returns an `Extraction`:

- meetings to plan, one per distinct meeting (the same event in an inline part
  and an attached .ics is one meeting; the highest SEQUENCE wins). A repeating
  event (RRULE/RDATE) is ONE meeting, placed at its first occurrence that has
  not ended yet; a changed occurrence sent on its own (RECURRENCE-ID) is a
  meeting of its own that names its series;
- cancellations: every event of a METHOD:CANCEL calendar, and any event marked
  STATUS:CANCELLED (some clients cancel with a METHOD:REQUEST);
- problems: each event (or calendar part) that cannot be planned, with a
  reason and a hint worded for its sender. Other events of the same message
  are still planned.

It raises `NotARequest` only when the message asks for nothing: no calendar
part at all, or (`ITipAnswer`) only iTIP answers (REPLY, COUNTER,
DECLINECOUNTER, REFRESH), which no subject can turn into a request.

One bad line does not refuse a calendar that the big clients read: an empty
TZID, an observance with an impossible offset, a repeated RRULE, DTEND equal
to DTSTART, a stray line outside the events, an END that closes no block, a
RRULE list written with spaces, an RDATE without a date. Each is read around
and noted (the notes reach the reply); an event is refused only when it cannot
be placed in time.
Whether a meeting is new, changed or already planned is for the caller (with
its state) to decide: this module only reads what the message says.

Time zones: see `kmeet_bridge.invitations.timezones`. In short, the instant is always the
one the invitation means; the zone only decides how it is shown.

Repeating events are expanded with recurring-ical-events (RRULE, RDATE, EXDATE,
changed and cancelled occurrences carried in the same calendar); each
occurrence is then placed in time by the same rules as a single event, and
lasts what RFC 5545 says (DTEND: the same exact length; DURATION: whole days
as calendar days). The work stays bounded whatever an invitation says: rules
are checked before they are followed (no INTERVAL=0, nothing more often than
hourly, no series with hundreds of thousands of past occurrences), occurrences
are looked for up to 100 years ahead, and at most 2000 are counted (a longer
series has `occurrences_left=None`, like an open-ended one).
"""

from __future__ import annotations

import contextlib
import copy
import email.header
import email.policy
import hashlib
import re
import unicodedata
import warnings
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.errors import HeaderParseError
from email.message import EmailMessage, Message
from functools import lru_cache
from typing import Any

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr

from kmeet_bridge.config import LimitSettings
from kmeet_bridge.invitations.timezones import (
    UTC_NAMES,
    iana_zone_for,
    in_gap,
    is_ambiguous,
    is_iana_name,
    names_one_instant,
    to_utc,
    zone_for_definition,
    zones_named_in,
)
from kmeet_bridge.invitations.vtimezone import zone_from_definition
from kmeet_bridge.limits import budget
from kmeet_bridge.limits.mime_limits import MAX_CONTAINERS
from kmeet_bridge.models import (
    ATTENDEE_STATES,
    Attendee,
    Cancellation,
    EventProblem,
    Extraction,
    ITipAnswer,
    MeetingRequest,
    NotARequest,
)

try:  # icalendar 7 warns when it strips a vendor prefix from a TZID; the notes of
    # the MeetingRequest already say how each zone was read.
    from icalendar.error import GloballyUniqueTZIDGuessed

    warnings.filterwarnings("ignore", category=GloballyUniqueTZIDGuessed)
except ImportError:  # older icalendar: no such warning
    pass

DEFAULT_TITLE = "Untitled meeting"

CALENDAR_TYPES = frozenset(
    {"text/calendar", "text/x-vcalendar", "application/ics", "application/x-ics"}
)
PLANNED_METHODS = frozenset({"REQUEST", "PUBLISH"})  # and no METHOD at all
CANCEL_METHOD = "CANCEL"
# Properties without which an event cannot be placed in time: a broken one makes
# the event unplannable (a problem), it is never silently skipped.
TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "RDATE", "EXDATE")

_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+$")
_MAILTO = re.compile(r"^\s*mailto:", re.IGNORECASE)
# Outlook and Exchange put this before the title of a cancelled meeting.
_CANCELLED_PREFIX = re.compile(r"^\s*(?:canceled|cancelled)\s*:\s*", re.IGNORECASE)

_UNREADABLE_HINT = (
    "Export the event from your calendar program again and forward the invitation "
    "unchanged (or attach the .ics file it produces)."
)
_TIME_HINT = (
    "Give the event a start and an end time in your calendar program and send the invitation again."
)
_PAST_HINT = "Check the date of the event; only meetings that are still to come can be planned."
_SERIES_PAST_HINT = (
    "Check the dates of the series; only meetings that are still to come can be planned."
)
_REPEAT_HINT = "Check how the event repeats in your calendar program and send the invitation again."
# A repeating event is expanded from a little before `now`: enough for any
# disagreement between the expansion's idea of a floating or custom zone and
# ours (at most a day); each occurrence is then placed by our own rules.
_EXPANSION_MARGIN = timedelta(days=2)
# How far ahead occurrences are looked for, and how many are counted: the work
# stays bounded whatever a rule says. A longer series counts as open-ended.
_HORIZON = timedelta(days=366 * 100)
# Every occurrence found is made into an event of its own (about 0.2 ms each), so
# this also bounds the work of a dense rule that ends far in the future.
_COUNT_LIMIT = 500
# RFC 5545, 3.3.10: the allowed values of each numeric rule part.
_RULE_RANGES = {
    "BYSECOND": (0, 60),
    "BYMINUTE": (0, 59),
    "BYHOUR": (0, 23),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYMONTH": (1, 12),
    "BYSETPOS": (-366, 366),
}
_PLANNABLE_FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PERIOD = {
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
    "MONTHLY": timedelta(days=28),
    "YEARLY": timedelta(days=365),
}
# Occurrences a rule may have produced since its start: expanding a series means
# walking all of them, so a denser one is refused rather than left to hang.
_PAST_LIMIT = 50_000
# Occurrences a rule may give on one day: an hourly meeting's 24 (see _too_dense).
MAX_PER_DAY = 24
# Occurrences that may overlap one moment (each as long as the event): all of them
# are made into events whenever a window of the series is read.
_OVERLAP_LIMIT = 100
# The BY parts that multiply a rule's period into occurrences.
_SPREADING_PARTS = (
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
)


class _Problem(Exception):
    """An event or calendar part that cannot be planned; becomes an EventProblem."""

    def __init__(
        self, reason: str, hint: str, code: str = "", params: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.code = code  # EventProblem.code: lets a reply word it in the sender's language
        self.params = params


def _unreadable(label: str, detail: str) -> _Problem:
    """A calendar part that cannot be read: `detail` says where it broke."""
    return _Problem(
        f"The calendar in the {label} could not be read: {detail}.",
        _UNREADABLE_HINT,
        "unreadable",
        (("where", label), ("detail", detail)),
    )


# --- finding the calendar parts -------------------------------------------------


@dataclass(frozen=True)
class _Part:
    data: bytes  # UTF-8
    label: str  # for notes and errors: 'inline part', 'attachment "invite.ics"'
    mime_method: str | None  # the Content-Type method= parameter, if any
    filename: str | None = None
    embedded: int = 0  # bytes of files embedded in its events (ATTACH), left out of `data`


def _raw_view(part: Message) -> Message:
    """The same part, its headers read as written (the compat32 policy).

    With the default policy, every get_content_type(), get_param() or
    get_filename() parses the header again through the header registry: a
    third of extraction time in the profile. compat32 answers the same
    questions from the header strings, a hundred times faster; only RFC 2047
    words in a file name are left to decode (_filename). The copy shares the
    part's headers and payload and changes neither.
    """
    view = copy.copy(part)
    view.policy = email.policy.compat32
    return view


def _filename(view: Message) -> str | None:
    name = view.get_filename()
    if name and "=?" in name:  # name="=?UTF-8?Q?Einladung?=.ics", as some clients write
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeError, ValueError):
            name = str(email.header.make_header(email.header.decode_header(name))).strip()
    return name


def _is_calendar(view: Message) -> bool:
    if view.get_content_type() in CALENDAR_TYPES:
        return True
    filename = _filename(view) or ""
    return filename.strip().lower().endswith(".ics")


def _decode(view: Message) -> bytes:
    """The part's body as UTF-8: transfer encoding removed, declared charset honoured."""
    raw = view.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raw = str(view.get_payload()).encode("utf-8", "replace")
    charsets = [view.get_content_charset(), "utf-8", "cp1252"]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        charsets.insert(0, "utf-16")  # some Exchange exports; the BOM says so
    for charset in filter(None, charsets):
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
        return text.lstrip("\ufeff").encode("utf-8")
    # cp1252 leaves five octets undefined; latin-1 accepts any octet.
    return raw.decode("latin-1").encode("utf-8")


def _label(view: Message, nested: bool) -> str:
    filename = _filename(view)
    if filename:
        label = f'attachment "{filename}"'
    elif view.get_content_disposition() == "attachment":
        label = "attachment"
    else:
        label = "inline part"
    return f"{label} of the forwarded message" if nested else label


DEFAULT_LIMITS = LimitSettings()


class _TooDeep(Exception):
    """Forwarded messages nested deeper than the limit."""


class _TooComplex(Exception):
    """MIME parts nested deeper than mime_limits.MAX_CONTAINERS."""


def _find_parts(
    message: Message,
    nested: bool = False,
    *,
    depth: int = 0,
    max_nesting: int | None = None,
    level: int = 0,
) -> list[_Part]:
    found: list[_Part] = []
    view = _raw_view(message)
    if view.is_multipart():  # a multipart, or a message/rfc822 holding a message
        # Checked before going deeper: no message can lead this recursion near
        # Python's limit (a message parsed by the bridge was checked whole before
        # parsing, see mime_limits.py; this covers messages made otherwise).
        if level >= MAX_CONTAINERS:
            raise _TooComplex
        payload = view.get_payload()
        inner = view.get_content_type() == "message/rfc822"
        if inner:
            depth += 1
            if max_nesting is not None and depth > max_nesting:
                raise _TooDeep
        for child in payload if isinstance(payload, list) else []:
            budget.check()
            found += _find_parts(
                child, nested or inner, depth=depth, max_nesting=max_nesting, level=level + 1
            )
        return found
    if _is_calendar(view):
        method = view.get_param("method")
        data, embedded = _without_embedded_files(_decode(view))
        found.append(
            _Part(
                data=data,
                label=_label(view, nested),
                mime_method=str(method).upper() if isinstance(method, str) else None,
                filename=_filename(view),
                embedded=embedded,
            )
        )
    return found


# An ATTACH property with all its folded lines. A file embedded in an event
# (ATTACH;VALUE=BINARY;ENCODING=BASE64: a PDF agenda, a slide deck) is never
# read by the bridge, so it is left out before the size of the calendar is
# judged: the message as a whole is already bounded by [limits] max_message_size,
# and this is one linear pass over it.
_ATTACH = re.compile(rb"^ATTACH[;:][^\r\n]*(?:\r?\n[ \t][^\r\n]*)*(?:\r?\n)?", re.I | re.M)
_INLINE_FILE = re.compile(rb"VALUE=BINARY|ENCODING=BASE64", re.I)


def _without_embedded_files(data: bytes) -> tuple[bytes, int]:
    """The calendar text without embedded files (see _ATTACH), and their size."""
    removed = 0

    def drop(match: re.Match[bytes]) -> bytes:
        nonlocal removed
        head = re.sub(rb"\r?\n[ \t]", b"", match.group(0)[:2000])
        if _INLINE_FILE.search(head.split(b":", 1)[0]):
            removed += len(match.group(0))
            return b""
        return match.group(0)

    return _ATTACH.sub(drop, data), removed


def calendar_parts(message: EmailMessage) -> list[bytes]:
    """Every iCalendar body in the message, decoded to UTF-8 bytes.

    Finds text/calendar parts, application/ics parts and any part whose file name
    ends in .ics, anywhere in the MIME tree, including inside attached
    message/rfc822 messages (an invitation forwarded as an attachment).
    """
    return [part.data for part in _find_parts(message)]


# --- reading one calendar part --------------------------------------------------


def _physical_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\n|\r", text)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded content lines, each with the 1-based number of its first physical line."""
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(_physical_lines(text), start=1):
        if line[:1] in (" ", "\t") and logical:
            first, previous = logical[-1]
            logical[-1] = (first, previous + line[1:])
        elif line.strip():
            logical.append((number, line))
    return logical


# Lines read around are named one by one up to this many (a hostile calendar
# could hold thousands: the reply stays short).
_MAX_LINE_NOTES = 3


def _repaired_structure(
    lines: list[tuple[int, str]],
) -> tuple[list[tuple[int, str]], list[str], str | None]:
    """The lines with two slips of structure read around, notes saying so, and
    where BEGIN/END blocks still do not pair up (icalendar drops such input
    silently). The slips: an END that names no open block (`END:VCALENDARD`)
    is left out; a calendar whose events are all complete but which is never
    closed is closed at the end. A block closed by another one's END, or an
    event cut off, stays an error: what is missing could be its times."""
    stack: list[tuple[str, int]] = []
    kept: list[tuple[int, str]] = []
    notes: list[str] = []
    last = 0
    for number, line in lines:
        last = number
        name, _, value = line.partition(":")
        keyword, value = name.strip().upper(), value.strip().upper()
        if keyword == "BEGIN":
            stack.append((value, number))
        elif keyword == "END":
            if not stack:
                problem = f"line {number} (END:{value}) closes a block that was never opened"
                return kept, notes, problem
            if value not in {opened for opened, _ in stack}:
                if len(notes) < _MAX_LINE_NOTES:
                    notes.append(
                        f"line {number} (END:{_shorten(value, 30)}) closes no block: ignored"
                    )
                continue
            opened, at = stack.pop()
            if opened != value:
                return (
                    kept,
                    notes,
                    f"line {number} (END:{value}) closes BEGIN:{opened} from line {at}",
                )
        kept.append((number, line))
    if [opened for opened, _ in stack] == ["VCALENDAR"] and kept:
        notes.append(
            f"the calendar is never closed (END:VCALENDAR after line {last}): closed there"
        )
        kept.append((last + 1, "END:VCALENDAR"))
    elif stack:
        opened, at = stack[-1]
        problem = f"BEGIN:{opened} on line {at} is never closed (the text stops at line {last})"
        return kept, notes, problem
    if not last:
        return kept, notes, "it is empty"
    return kept, notes, None


# Properties an event may hold once (RFC 5545 3.6.1). icalendar returns a list
# when one appears twice, which nothing downstream expects.
SINGLE_VALUED = (
    "DTSTART",
    "DTEND",
    "DURATION",
    "RECURRENCE-ID",
    "RRULE",
    "UID",
    "SEQUENCE",
    "SUMMARY",
    "DESCRIPTION",
    "ORGANIZER",
    "STATUS",
    "LOCATION",
    "DTSTAMP",
    "CLASS",
    "URL",
)


# What the reader looks at. icalendar spends about 25 µs on every content line,
# and invitations carry many the bridge never reads (Outlook's X-MICROSOFT-*
# lines, alarms, DTSTAMP, PRODID), so only these reach it: the properties read
# below, whole VTIMEZONE blocks, and lines without a colon, which icalendar
# reports as broken. A property added to the reader must be added here.
_CALENDAR_PROPERTIES = frozenset({"METHOD", "X-WR-TIMEZONE"})
_EVENT_PROPERTIES = frozenset(
    {
        *TIME_PROPERTIES,
        "EXRULE",
        "UID",
        "SEQUENCE",
        "STATUS",
        "SUMMARY",
        "DESCRIPTION",
        "ORGANIZER",
        "ATTENDEE",
    }
)
_READ_COMPONENTS = frozenset({"VCALENDAR", "VEVENT", "VTIMEZONE"})


# Microsoft CDO (Exchange 2003) writes `BYDAY=MO, TU, WE`: Outlook reads it.
_SPACED_LIST = re.compile(r"\s*,\s*")


def _lines_read(lines: list[tuple[int, str]]) -> tuple[str, list[str], list[int]]:
    """The calendar text with only what the reader looks at, its VTIMEZONE
    blocks apart (see _definition), and the numbers of the lines left out
    because they cannot be read: a line without a colon outside an event (a
    stray `X` between two events), which icalendar would refuse the whole
    calendar for. Inside an event such a line is icalendar's to report, for
    that event alone. The BEGIN/END blocks already pair up."""
    kept: list[str] = []
    ignored: list[int] = []
    zones: list[list[str]] = []
    stack: list[str] = []
    skipping = 0  # depth inside a component that is not read (VALARM, VTODO, ...)
    for number, line in lines:
        cut = min((i for i in (line.find(":"), line.find(";")) if i >= 0), default=-1)
        name = line[:cut].strip().upper() if cut >= 0 else ""
        if "VTIMEZONE" in stack:
            zones[-1].append(line)
            if name == "END" and stack.pop() == "VTIMEZONE":
                continue
            if name == "BEGIN":
                stack.append(line[cut + 1 :].strip().upper())
            continue
        if name in ("BEGIN", "END"):
            component = line[line.find(":") + 1 :].strip().upper()
            if name == "BEGIN":
                unread = stack and component not in _READ_COMPONENTS
                if skipping or unread:
                    skipping += 1
                    continue
                stack.append(component)
                if component == "VTIMEZONE":
                    zones.append([line])
                    continue
            else:
                if skipping:
                    skipping -= 1
                    continue
                stack.pop()
            kept.append(line)
            continue
        if skipping:
            continue
        here = stack[-1] if stack else ""
        if cut < 0 and here != "VEVENT":
            ignored.append(number)
            continue
        if here == "VEVENT" and name in ("RRULE", "EXRULE") and ", " in line:
            line = _SPACED_LIST.sub(",", line)
        if (
            cut < 0
            or (here == "VEVENT" and name in _EVENT_PROPERTIES)
            or (here == "VCALENDAR" and name in _CALENDAR_PROPERTIES)
            or here not in ("VEVENT", "VCALENDAR")
        ):
            kept.append(line)
    zone_texts = ["\r\n".join(zone) + "\r\n" for zone in zones]
    return "\r\n".join(kept) + "\r\n", zone_texts, ignored


def _line_of_property(text: str, name: str, value: str = "") -> int | None:
    """The line number of the `name` property whose value ends with `value`.

    The value matters: a VTIMEZONE has DTSTART lines of its own before the event's.
    """
    prefix = name.upper()
    for number, line in _logical_lines(text):
        upper = line.upper()
        named = upper.startswith(prefix) and upper[len(prefix) : len(prefix) + 1] in (";", ":")
        if named and line.rstrip().endswith(value):
            return number
    return None


def _line_containing(text: str, snippet: str) -> int | None:
    for number, line in _logical_lines(text):
        if snippet and snippet in line:
            return number
    return None


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class _Definition:
    """One VTIMEZONE and the tzinfo its rules give (None: they could not be read).
    `notes` say what was read around (an observance with an impossible offset)."""

    component: icalendar.Component
    zone: tzinfo | None
    notes: tuple[str, ...] = ()


# A UTC offset as RFC 5545 writes it (3.3.14): at most 23:59:59 either way.
_OFFSET = re.compile(r"^[+-](?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d)?$")
_OBSERVANCE_BLOCK = re.compile(
    r"^BEGIN:(STANDARD|DAYLIGHT)\r\n.*?^END:\1\r\n", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_OFFSET_LINE = re.compile(
    r"^(TZOFFSET(?:FROM|TO))[^:\r\n]*:([^\r\n]*)\r?$", re.IGNORECASE | re.MULTILINE
)


def _without_broken_observances(block: str) -> tuple[str, tuple[str, ...]]:
    """The block without its STANDARD/DAYLIGHT observances whose offset is
    impossible (`TZOFFSETFROM:+5328` for Berlin's 1893 local mean time, +00:53:28,
    as one exporter writes it), and a note for each. Clients read such a
    definition by its other observances; one of a century ago never decides a
    meeting's time."""
    notes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        for name, value in _OFFSET_LINE.findall(match.group(0)):
            if not _OFFSET.match(value.strip()):
                what = f"{name.upper()}:{_shorten(value.strip(), 20)}"
                notes.append(f"an observance with an impossible offset ({what}) was ignored")
                return ""
        return match.group(0)

    return _OBSERVANCE_BLOCK.sub(keep, block), tuple(notes)


@lru_cache(maxsize=256)
def _definition(block: str) -> _Definition | None:
    """A VTIMEZONE block, read once per distinct text.

    A running bridge sees the same few definitions again and again (every
    Outlook invitation from one organisation carries the same block), and they
    were a third of the lines icalendar parsed. A definition that cannot be read
    even without its broken observances is kept by its TZID with no zone (an
    unknown zone when an event uses it): the events that do not use it are
    still read.
    """
    notes: tuple[str, ...] = ()
    try:
        found = icalendar.Calendar.from_ical(block, multiple=True)
    except ValueError:
        repaired, notes = _without_broken_observances(block)
        try:
            found = icalendar.Calendar.from_ical(repaired, multiple=True) if notes else []
        except ValueError:
            found = []
        if not found:
            tzid = re.search(r"^TZID[^:\r\n]*:([^\r\n]+)\r?$", block, re.IGNORECASE | re.MULTILINE)
            if tzid is None:
                return None
            component = icalendar.Timezone()
            component.add("TZID", tzid.group(1).strip())
            return _Definition(component, None, notes)
    if len(found) != 1 or found[0].name != "VTIMEZONE" or found[0].get("TZID") is None:
        return None
    try:
        # Not icalendar's to_tz(): its dateutil zone walks every rule from 1601
        # or 1970 on each call, ~7 ms per Outlook invitation (vtimezone.py).
        zone: tzinfo | None = zone_from_definition(found[0])
    except Exception:  # a broken definition: treated as an unknown zone when read
        zone = None
    return _Definition(found[0], zone, notes)


@dataclass(frozen=True)
class _Parsed:
    components: list[icalendar.Component]
    definitions: dict[str, _Definition]  # TZID -> this part's VTIMEZONE
    notes: tuple[str, ...] = ()  # lines left out (see _lines_read), for every event


# Exchange 2010 writes `TZID:` with no name on a VTIMEZONE that has a
# definition, and `DTSTART;TZID=:...` on the events that use it. Outlook reads
# the times by that definition; so does the bridge, under this name.
UNNAMED_ZONE = "(unnamed time zone)"
_EMPTY_TZID = re.compile(
    r'^TZID[ \t]*:[ \t]*\r?$|;TZID=(?:"")?(?=[:;])', re.IGNORECASE | re.MULTILINE
)


def _name_unnamed_zones(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Empty TZIDs (the VTIMEZONE's and the times') named UNNAMED_ZONE."""

    def named(match: re.Match[str]) -> str:
        if match.group(0)[:1] == ";":
            return f';TZID="{UNNAMED_ZONE}"'
        return f"TZID:{UNNAMED_ZONE}"

    return [(number, _EMPTY_TZID.sub(named, line)) for number, line in lines]


def _parse(part: _Part) -> _Parsed:
    text = part.data.decode("utf-8")
    lines, repairs, problem = _repaired_structure(_logical_lines(text))
    if problem:
        raise _unreadable(part.label, problem)
    if _EMPTY_TZID.search(text):
        lines = _name_unnamed_zones(lines)
    read, blocks, ignored = _lines_read(lines)
    definitions: dict[str, _Definition] = {}
    try:
        components = icalendar.Calendar.from_ical(read, multiple=True)
        for block in blocks:
            definition = _definition(block)
            if definition is not None:
                definitions[str(definition.component["TZID"])] = definition
    except ValueError as error:
        detail = str(error)
        quoted = re.search(r"'([^']+)'", detail)
        line = _line_containing(text, quoted.group(1)) if quoted else None
        at = f"line {line}: " if line else ""
        raise _unreadable(part.label, f"{at}{_shorten(detail, 160)}") from error
    if not components:
        raise _unreadable(part.label, "it holds no calendar data")
    for component in components:
        _attach_own_zones(component, definitions)
    if len(ignored) > _MAX_LINE_NOTES:
        skipped = [
            f"{len(ignored)} lines of the calendar could not be read and were ignored "
            f"(the first on line {ignored[0]})"
        ]
    else:
        skipped = [f"line {n} of the calendar could not be read and was ignored" for n in ignored]
    return _Parsed(components, definitions, tuple(repairs + skipped))


_ZONED_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE")


def _attach_own_zones(calendar: icalendar.Component, definitions: dict[str, _Definition]) -> None:
    """Times whose TZID this part defines get the zone of that definition.

    icalendar no longer sees the VTIMEZONE blocks (_definition reads them), so it
    gives a Windows TZID the IANA zone of that name and a made-up one none. (Given
    the blocks, it used the first definition of a TZID it had seen in the process.)
    A TZID that is an IANA name keeps its IANA zone, as icalendar does.
    """
    if not definitions:
        return
    for event in calendar.walk("VEVENT"):
        for name in _ZONED_PROPERTIES:
            for prop in _as_list(event.get(name)):
                values = prop.dts if isinstance(prop, icalendar.vDDDLists) else [prop]
                for value in values:
                    if not isinstance(value, icalendar.vDDDTypes):
                        continue  # a broken value: refused by name when read
                    tzid = _tzid_param(value) or _tzid_param(prop)
                    definition = definitions.get(tzid) if tzid else None
                    if definition is None or definition.zone is None:
                        continue
                    if is_iana_name(tzid.strip("/")):
                        continue
                    value.dt = _with_zone(value.dt, definition.zone)


def _with_zone(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone)
    if isinstance(value, tuple):  # a PERIOD: (start, end or duration)
        return tuple(_with_zone(item, zone) for item in value)
    return value  # a DATE has no zone


def _method(component: icalendar.Component, part: _Part) -> str | None:
    """The iTIP METHOD: the calendar's own, else the MIME method= parameter."""
    value = component.get("METHOD") if component.name == "VCALENDAR" else None
    if value is not None:
        return str(value).strip().upper() or None
    return part.mime_method


def _collapse_repeats(event: icalendar.Component) -> None:
    """Keep the first of a repeated single-valued property. A repeated time property
    is ambiguous, so it is also reported as an error (the event is then refused
    with the property named, like any unreadable time).

    RRULE is the exception: RFC 2445 allowed several, Zimbra and Cyrus still
    write them, and the big clients follow them all (the occurrences of every
    rule), as does the expansion; the same rule written twice counts once."""
    rules = event.get("RRULE")
    if isinstance(rules, list):
        distinct = list({getattr(rule, "to_ical", rule.__str__)(): rule for rule in rules}.values())
        event["RRULE"] = distinct if len(distinct) > 1 else distinct[0]
    for name in SINGLE_VALUED:
        if name == "RRULE":
            continue
        value = event.get(name)
        if isinstance(value, list):
            event[name] = value[0]
            if name in TIME_PROPERTIES:
                event.errors.append((name, f"given {len(value)} times in one event"))


def _check_event_errors(event: icalendar.Component, text: str, part: _Part) -> list[str]:
    """Refuse broken time and repeat properties; return notes for other lines icalendar
    skipped."""
    notes = []
    for name, message in event.errors:
        if name is None:  # a content line that could not even be split into parts
            quoted = re.search(r"'([^']+)'", message)
            snippet = quoted.group(1) if quoted else ""
            line = _line_containing(text, snippet)
            if snippet.upper().startswith(TIME_PROPERTIES):
                prop = re.split(r"[;:]", snippet, maxsplit=1)[0].upper()
                at = f" (line {line})" if line else ""
                raise _unreadable(part.label, f"{prop}{at}: {_shorten(message, 160)}")
            at = f"line {line}" if line else "a line"
            notes.append(f"{at} of the calendar could not be read and was ignored")
            continue
        raw = event.get(name)
        line = _line_of_property(text, name, str(raw) if raw is not None else "")
        if name.upper() in TIME_PROPERTIES:
            at = f" (line {line})" if line else ""
            raise _unreadable(part.label, f"{name}{at}: {_shorten(message, 160)}")
        at = f" on line {line}" if line else ""
        notes.append(f"{name}{at} could not be read and was ignored")
    return notes


# --- times ----------------------------------------------------------------------


@dataclass
class _Context:
    """What the time rules need to know about the calendar and the configuration."""

    default_zone: str
    calendar_zone: str | None  # X-WR-TIMEZONE, when it names a zone
    definitions: dict[str, _Definition]  # TZID -> this calendar's VTIMEZONE
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class _Time:
    """A time as the invitation gives it, before a display zone is chosen."""

    local: datetime  # aware; tzinfo from the invitation (or localized by our rules)
    tzid: str | None  # the TZID parameter, verbatim
    # "zone" (named IANA zone), "utc", "custom" (own VTIMEZONE), "floating" (no
    # zone: default), "assumed" (unknown TZID without definition: default)
    kind: str
    zone: str | None = None  # the IANA zone when kind == "zone"


def _tzid_param(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    value = params.get("TZID") if params is not None else None
    return str(value) if value else None


def _own_definition(tzid: str, context: _Context) -> tzinfo | None:
    """The tzinfo THIS calendar's VTIMEZONE for `tzid` gives, if it has one.

    Never icalendar's idea of the TZID: it kept the first custom definition of a
    name for the whole process, so a second invitation with another
    "Customized Time Zone" would have had the first one's rules.
    """
    definition = context.definitions.get(tzid)
    if definition is None:
        return None
    if tzid == UNNAMED_ZONE:
        context.note("a time zone without a name (empty TZID): read by its definition")
    if definition.zone is None:
        context.note(f'the definition of time zone "{tzid}" could not be read')
    return definition.zone


def _read_time(value: datetime, tzid: str | None, context: _Context) -> _Time:
    """Classify a DATE-TIME value and attach the tzinfo the rules say it has."""
    definition = context.definitions.get(tzid) if tzid else None
    for note in definition.notes if definition else ():
        context.note(f'time zone "{tzid}": {note}')
    if tzid == UNNAMED_ZONE and definition is None:
        # An empty TZID and no definition to go with it: a floating time.
        tzid, value = None, value.replace(tzinfo=None)
    tz = value.tzinfo
    if tz is not None and tzid is None:
        return _Time(value, None, "utc")  # only a trailing Z makes a time aware without TZID
    if isinstance(tz, zoneinfo.ZoneInfo) and tz.key:
        kind = "utc" if tz.key in UTC_NAMES else "zone"
        return _Time(value, tzid, kind, tz.key)
    naive = value.replace(tzinfo=None)
    if tzid is not None:
        own = _own_definition(tzid, context)
        if own is not None:
            return _Time(naive.replace(tzinfo=own), tzid, "custom")
        zone = iana_zone_for(tzid) or next(iter(zones_named_in(tzid)), None)
        if zone:
            kind = "utc" if zone in UTC_NAMES else "zone"
            return _Time(naive.replace(tzinfo=zoneinfo.ZoneInfo(zone)), tzid, kind, zone)
        zone = context.default_zone
        context.note(f'unknown time zone "{tzid}" without a definition: read in {zone}')
        return _Time(naive.replace(tzinfo=zoneinfo.ZoneInfo(zone)), tzid, "assumed", zone)
    # Google and Apple export floating times with the calendar's zone in
    # X-WR-TIMEZONE, and read them in it; so does the bridge.
    if context.calendar_zone:
        zone = context.calendar_zone
        context.note(f"floating time read in {zone} (the calendar's X-WR-TIMEZONE)")
    else:
        zone = context.default_zone
        context.note(f"floating time read in {zone}")
    return _Time(naive.replace(tzinfo=zoneinfo.ZoneInfo(zone)), None, "floating", zone)


def _display_zone(start: _Time, end_utc: datetime, context: _Context) -> str:
    """The IANA zone the meeting is shown in, with a note on how it was chosen."""
    if start.kind == "utc":
        if context.calendar_zone:
            zone, why = context.calendar_zone, "the calendar's X-WR-TIMEZONE"
        else:
            zone, why = context.default_zone, "the default time zone"
        context.note(f"time given in UTC: shown in {zone} ({why})")
        return zone
    if start.kind in ("zone", "floating", "assumed"):
        zone = start.zone or context.default_zone
        if start.tzid and start.tzid != zone and start.kind == "zone":
            context.note(f'time zone "{start.tzid}" read as {zone}')
        return zone
    # A custom definition: keep its instants, pick a zone that shows them faithfully.
    hints = []
    definition = context.definitions.get(start.tzid or "")
    location = definition.component.get("X-LIC-LOCATION") if definition else None
    if location:
        hints.append(str(location))
    choice = zone_for_definition(
        start.tzid,
        start.local,
        end_utc.astimezone(start.local.tzinfo),
        default_zone=context.default_zone,
        hints=hints,
    )
    if choice.how == "fallback":
        context.note(
            f'custom time zone "{start.tzid}" matches no known zone: times shown in '
            f"{choice.zone} (the moment of the meeting is unchanged)"
        )
    elif choice.how == "offset":
        context.note(
            f'custom time zone "{start.tzid}" shown as {choice.zone}, which has the same '
            "UTC offsets on the meeting's dates"
        )
    elif start.tzid != choice.zone:
        context.note(f'time zone "{start.tzid}" read as {choice.zone}')
    return choice.zone


def _add_duration(start: datetime, duration: timedelta) -> datetime:
    """start + duration; RFC 5545: days are calendar days, the rest exact time."""
    if duration <= timedelta(0):
        return to_utc(start) + duration  # rejected later: the end is not after the start
    days = timedelta(days=duration.days)
    return to_utc(start + days) + (duration - days)


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _wall(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


# --- text and people ------------------------------------------------------------


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def fold_title(value: Any) -> str:
    """SUMMARY on one line: line breaks, tabs and control characters become spaces."""
    text = "" if value is None else str(_first(value))
    cleaned = "".join(" " if _is_control(char) or char.isspace() else char for char in text)
    return " ".join(cleaned.split())


def clean_description(value: Any) -> str:
    """DESCRIPTION with its line breaks; other control characters removed."""
    text = "" if value is None else str(_first(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(char for char in text if char in "\n\t" or not _is_control(char))
    return text.strip()


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _address(prop: Any) -> str | None:
    """The e-mail address of an ORGANIZER/ATTENDEE value, or None if it has none."""
    value = _MAILTO.sub("", str(prop)).strip().strip("<>").strip()
    if not _ADDRESS.match(value):
        params = getattr(prop, "params", {}) or {}
        value = str(params.get("EMAIL", "")).strip()  # RFC 7986; iCloud uses urn:uuid values
        value = _MAILTO.sub("", value).strip()
    return value if _ADDRESS.match(value) else None


def _cn(prop: Any, address: str | None = None) -> str | None:
    """The CN, unless it is empty or only repeats the address (as Google writes it)."""
    params = getattr(prop, "params", {}) or {}
    name = fold_title(params.get("CN", "")).strip('"').strip()
    if address and _MAILTO.sub("", name).strip().lower() == address.lower():
        return None
    return name or None


def _state(prop: Any) -> str | None:
    params = getattr(prop, "params", {}) or {}
    value = str(params.get("PARTSTAT", "")).strip().upper()
    return value if value in ATTENDEE_STATES else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _attendees(event: icalendar.Component) -> tuple[Attendee, ...]:
    """Organizer first (once, merged with its own ATTENDEE line), then the attendees."""
    people: dict[str, Attendee] = {}
    organizer = event.get("ORGANIZER")
    organizer_address = _address(organizer) if organizer is not None else None
    organizer_listed = False
    for prop in _as_list(event.get("ATTENDEE")):
        address = _address(prop)
        if address is None or address.lower() in people:
            continue
        if organizer_address and address.lower() == organizer_address.lower():
            organizer_listed = True
            org_state = _state(organizer)
            people[address.lower()] = Attendee(
                address=organizer_address,
                name=_cn(organizer, organizer_address) or _cn(prop, address),
                state=org_state or _state(prop) or "ACCEPTED",
                organizer=True,
            )
            continue
        state = _state(prop) or "NEEDS-ACTION"
        people[address.lower()] = Attendee(address, _cn(prop, address), state)
    result = list(people.values())
    if organizer_address and not organizer_listed:
        name = _cn(organizer, organizer_address)
        own = Attendee(organizer_address, name, _state(organizer) or "ACCEPTED", True)
        result.insert(0, own)
    result.sort(key=lambda person: not person.organizer)  # stable: organizer first
    return tuple(result)


# --- one event ------------------------------------------------------------------


def _event_title(event: icalendar.Component) -> str:
    return fold_title(event.get("SUMMARY")) or DEFAULT_TITLE


def _derived_uid(start_utc: datetime, event: icalendar.Component, organizer: str) -> str:
    """A stable stand-in for a missing UID: the same event always gets the same one."""
    seed = "\n".join([_utc_stamp(start_utc), fold_title(event.get("SUMMARY")), organizer])
    return "derived-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def _recurrence_stamp(event: icalendar.Component, context: _Context) -> str:
    """RECURRENCE-ID as UTC "YYYYMMDDTHHMMSSZ" ("YYYYMMDD" for a date), or ""."""
    prop = event.get("RECURRENCE-ID")
    if prop is None:
        return ""
    value = prop.dt
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")  # an all-day occurrence
    return _utc_stamp(to_utc(_read_time(value, _tzid_param(prop), context).local))


def _sequence(event: icalendar.Component) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)).strip())
    except ValueError:
        return 0


def _status(event: icalendar.Component) -> str:
    return str(event.get("STATUS", "")).strip().upper()


def _key(organizer: str, uid: str, stamp: str = "") -> str:
    """The identity of an invitation: organizer + UID + RECURRENCE-ID (design.md)."""
    return f"ics:{organizer}:{uid}:{stamp}"


def _organizer(attendees: Iterable[Attendee]) -> str:
    return next((person.address.lower() for person in attendees if person.organizer), "")


def _known_key(event: icalendar.Component, context: _Context) -> str | None:
    """The event's key when it can be told without reading its times (for problems)."""
    uid = fold_title(event.get("UID"))
    if not uid:
        return None
    try:
        stamp = _recurrence_stamp(event, replace(context, notes=[]))
    except (AttributeError, TypeError, ValueError):  # a RECURRENCE-ID that cannot be read
        return None
    return _key(_organizer(_attendees(event)), uid, stamp)


@dataclass(frozen=True)
class _Length:
    """How long each occurrence lasts (RFC 5545, 3.8.5.3): DTEND gives an exact
    duration; DURATION counts whole days as calendar days (a day across a DST
    change keeps the wall-clock time)."""

    exact: timedelta | None = None
    nominal: timedelta | None = None

    def end(self, start: datetime) -> datetime:
        """The UTC end of an occurrence starting at the aware wall-clock `start`."""
        if self.nominal is not None:
            return _add_duration(start, self.nominal)
        return to_utc(start) + (self.exact or timedelta(0))


@dataclass(frozen=True)
class _Span:
    """An event's (or occurrence's) times as the invitation gives them."""

    start: _Time
    end: _Time | None  # DTEND as written, when there is one
    length: _Length
    start_utc: datetime
    end_utc: datetime


def _span(
    event: icalendar.Component,
    title: str,
    context: _Context,
    *,
    default_duration: int,
    inherited: _Length | None = None,
) -> _Span:
    """Read DTSTART and DTEND/DURATION. `inherited` is the length a changed
    occurrence without an end of its own keeps from its series."""
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise _Problem(f'The event "{title}" has no start time (DTSTART).', _TIME_HINT, "no_start")
    start_value = start_prop.dt
    if not isinstance(start_value, datetime):
        raise _Problem(
            f'The event "{title}" is an all-day event ({start_value.isoformat()}); '
            "a video conference needs a start and an end time.",
            _TIME_HINT,
            "all_day",
        )
    start = _read_time(start_value, _tzid_param(start_prop), context)
    start_utc = to_utc(start.local)

    end_prop, duration_prop = event.get("DTEND"), event.get("DURATION")
    end: _Time | None = None
    length: _Length | None = None
    no_end = "no end given"
    if end_prop is not None:
        end_value = end_prop.dt
        if not isinstance(end_value, datetime):
            raise _Problem(
                f'The event "{title}" ends on a date without a time ({end_value.isoformat()}).',
                _TIME_HINT,
                "all_day",
            )
        end = _read_time(end_value, _tzid_param(end_prop), context)
        length = _Length(exact=to_utc(end.local) - start_utc)
        if not length.exact:
            # Google writes DTEND = DTSTART for an event without a length: it is
            # read like one without DTEND (an end before the start stays an error).
            end, length, no_end = None, None, "the end is the start (DTEND = DTSTART)"
    if length is not None:
        pass
    elif duration_prop is not None and isinstance(duration_prop.dt, timedelta):
        length = _Length(nominal=duration_prop.dt)
        context.note(f"end computed from DURATION {duration_prop.to_ical().decode()}")
    elif inherited is not None:
        length = inherited
    else:
        # RFC 5545 makes a DATE-TIME start without end or duration a zero-length
        # event; a conference needs a length, so the configured default is used.
        length = _Length(exact=timedelta(minutes=default_duration))
        context.note(f"{no_end}: default duration of {default_duration} minutes")
    return _Span(start, end, length, start_utc, length.end(start.local))


def _note_wall_clock(what: str, time: _Time, context: _Context) -> None:
    """Say how a wall-clock time that a DST change skips or repeats was read."""
    if time.kind == "utc":
        return
    local = time.local
    where = time.zone or (f'time zone "{time.tzid}"' if time.tzid else context.default_zone)
    if in_gap(local):
        moved = to_utc(local).astimezone(local.tzinfo)
        context.note(
            f"{what} {_wall(local)} does not exist in {where} (the clocks go forward): "
            f"read as {moved:%H:%M}"
        )
    elif is_ambiguous(local):
        context.note(
            f"{what} {_wall(local)} happens twice in {where} (the clocks go back): "
            "the first one is meant"
        )


@dataclass(frozen=True)
class _Placed:
    """Start and end as shown: in `zone`, the meeting's IANA zone."""

    zone: str
    start: datetime
    end: datetime


def _place(
    start: _Time,
    end: _Time | None,
    start_utc: datetime,
    end_utc: datetime,
    title: str,
    context: _Context,
) -> _Placed:
    """Choose the zone the meeting is shown in; refuse an end that is not after the start."""
    _note_wall_clock("start", start, context)
    if end is not None:
        _note_wall_clock("end", end, context)
    zone_name = _display_zone(start, end_utc, context)
    zone = zoneinfo.ZoneInfo(zone_name)
    repeated = [at for at in (start_utc, end_utc) if not names_one_instant(at, zone)]
    if repeated:
        # The API takes a wall-clock time and a zone name, which means the first
        # pass through a repeated hour: UTC is the only way to name the second.
        context.note(
            f"{_wall(repeated[0].astimezone(zone))} happens twice in {zone_name} (the clocks "
            "go back): times shown in UTC so that the moment is unambiguous"
        )
        zone_name, zone = "UTC", zoneinfo.ZoneInfo("UTC")
    start_at, end_at = start_utc.astimezone(zone), end_utc.astimezone(zone)
    if end_utc <= start_utc:
        raise _Problem(
            f'The event "{title}" ends ({_wall(end_at)}) before or when it starts '
            f"({_wall(start_at)}, {zone_name}).",
            _TIME_HINT,
            "end_before_start",
        )
    return _Placed(zone_name, start_at, end_at)


def _uid(event: icalendar.Component, start_utc: datetime, organizer: str, context: _Context) -> str:
    uid = fold_title(event.get("UID"))
    if not uid:
        uid = _derived_uid(start_utc, event, organizer)
        context.note("no UID in the invitation: one was derived from start, title and organizer")
    return uid


def _meeting(
    event: icalendar.Component,
    method: str | None,
    context: _Context,
    placed: _Placed,
    start_utc: datetime,
    **fields: Any,
) -> MeetingRequest:
    """The MeetingRequest for `event` shown as `placed`; `fields` adds series fields."""
    attendees = _attendees(event)
    organizer = _organizer(attendees)
    uid = _uid(event, start_utc, organizer, context)
    stamp = _recurrence_stamp(event, context)
    if not fold_title(event.get("SUMMARY")):
        context.note(f'no title given: "{DEFAULT_TITLE}" used')
    return MeetingRequest(
        key=_key(organizer, uid, stamp),
        title=_event_title(event),
        start=placed.start,
        end=placed.end,
        timezone=placed.zone,
        description=clean_description(event.get("DESCRIPTION")),
        attendees=attendees,
        source="invite",
        uid=uid,
        sequence=_sequence(event),
        method=method,
        notes=tuple(context.notes),
        recurrence_id=stamp or None,
        series_key=_key(organizer, uid) if stamp else None,
        **fields,
    )


def _single(
    event: icalendar.Component,
    method: str | None,
    context: _Context,
    *,
    default_duration: int,
    now: datetime,
) -> MeetingRequest:
    """A meeting that happens once (or one changed occurrence of a series)."""
    title = _event_title(event)
    span = _span(event, title, context, default_duration=default_duration)
    placed = _place(span.start, span.end, span.start_utc, span.end_utc, title, context)
    if span.end_utc <= now:
        raise _Problem(
            f'The event "{title}" already ended ({_wall(placed.end)}, {placed.zone}).',
            _PAST_HINT,
            "ended",
        )
    return _meeting(event, method, context, placed, span.start_utc)


# --- repeating events -----------------------------------------------------------


def _is_series(event: icalendar.Component) -> bool:
    return event.get("RRULE") is not None or event.get("RDATE") is not None


def _rule_text(rule: icalendar.vRecur) -> str:
    """RRULE value in the order the invitation wrote its parts, names upper-cased."""
    return ";".join(
        icalendar.vRecur({name: value}).to_ical().decode() for name, value in rule.items()
    )


def _rule_fault(rule: Any) -> str | None:
    """What makes an RRULE unusable, or None. The expansion trusts its input (an
    INTERVAL of 0 never ends), so every numeric part is checked here first."""
    if not isinstance(rule, icalendar.vRecur) or not rule.get("FREQ"):
        return "it names no frequency (FREQ)"
    frequency = str(rule["FREQ"][0]).upper()
    if frequency not in _PLANNABLE_FREQUENCIES:
        return f"a meeting that repeats {frequency.lower()} cannot be planned"
    if "COUNT" in rule and "UNTIL" in rule:
        return "it has both COUNT and UNTIL"
    for name, low in (("INTERVAL", 1), ("COUNT", 1)):
        for value in rule.get(name, []):
            if not isinstance(value, int) or value < low:
                return f"{name}={value} is not a positive number"
    for name, (low, high) in _RULE_RANGES.items():
        for value in rule.get(name, []):
            zero = value == 0 and low != 0  # negative parts count from the end; 0 is none
            if not isinstance(value, int) or not low <= value <= high or zero:
                return f"{name}={value} is out of range"
    return None


def _rule(event: icalendar.Component, title: str, context: _Context) -> tuple[str, bool]:
    """The RRULE as written ("" for an RDATE-only series) and whether every
    occurrence can be counted (COUNT or UNTIL, or RDATE alone)."""
    rules = _as_list(event.get("RRULE"))
    if not rules:
        return "", True  # RDATE alone lists every occurrence
    for rule in rules:
        fault = _rule_fault(rule)
        if fault:
            raw = rule.to_ical().decode() if hasattr(rule, "to_ical") else str(rule)
            written = f"RRULE:{_shorten(raw, 120)}" if raw else "RRULE"
            raise _Problem(
                f'The event "{title}" repeats by a rule that cannot be used ({written}): {fault}.',
                _REPEAT_HINT,
                "bad_rule",
                (("detail", f"{written}: {fault}"),),
            )
    if len(rules) > 1:
        context.note(f"{len(rules)} repeat rules (RRULE): the first is shown, all are followed")
    return _rule_text(rules[0]), all("COUNT" in rule or "UNTIL" in rule for rule in rules)


def _per_day(rule: icalendar.vRecur) -> int:
    """At most how many occurrences the rule can give on one day: its hours
    (every hour for an hourly rule) times its minutes times its seconds."""
    frequency = str(rule["FREQ"][0]).upper()
    interval = rule.get("INTERVAL", [1])[0]
    hours = len(rule.get("BYHOUR", []))
    if frequency == "HOURLY":
        hours = min(hours, -(-24 // interval)) if hours else -(-24 // interval)
    return (
        max(1, hours)
        * max(1, len(rule.get("BYMINUTE", [])))
        * max(1, len(rule.get("BYSECOND", [])))
    )


def _too_dense(
    event: icalendar.Component, start_utc: datetime, now: datetime, length: timedelta
) -> _Problem | None:
    """Why the series has too many occurrences to be read, or None; decided from
    the rule's parts alone, before anything is expanded.

    Per day: hours x minutes x seconds, at most MAX_PER_DAY (an hourly rule's 24):
    real calendars never repeat a meeting more often, and a rule with every
    BYMINUTE and BYSECOND would otherwise give 86,400 a day. In all: periods
    since DTSTART times what every BY part can multiply a period into
    (BYDAY=MO,TU,WE is up to three occurrences a week), at most _PAST_LIMIT.
    BYSETPOS only picks among a period's occurrences after they are made, so it
    lowers neither figure. At one moment: occurrences as long as the event
    (`length`) that overlap, at most _OVERLAP_LIMIT (a daily event lasting ten
    years overlaps 3,650 of its occurrences).
    """
    elapsed = max(now - start_utc, timedelta(0)) + timedelta(days=366)
    for rule in _as_list(event.get("RRULE")):
        per_day = _per_day(rule)
        if per_day > MAX_PER_DAY:
            return _Problem(
                f"it repeats up to {per_day:,} times a day, more than the {MAX_PER_DAY} read here",
                _REPEAT_HINT,
                "dense_rule",
                (("limit", str(MAX_PER_DAY)),),
            )
        interval = rule.get("INTERVAL", [1])[0]
        period = _PERIOD[str(rule["FREQ"][0]).upper()] * interval
        periods = elapsed / period
        spread = 1
        for name in _SPREADING_PARTS:
            spread *= max(1, len(rule.get(name, [])))
        overlapping = (length / period + 1) * spread
        if overlapping > _OVERLAP_LIMIT:
            detail = (
                f"each occurrence lasts {_days(length)}, so about {int(overlapping):,} of them "
                "overlap"
            )
            return _Problem(detail, _REPEAT_HINT, "bad_rule", (("detail", detail),))
        count = rule.get("COUNT", [None])[0]
        estimate = periods * spread if count is None else min(periods * spread, count)
        if estimate > _PAST_LIMIT:
            detail = f"it would have to be followed through about {int(estimate):,} occurrences"
            return _Problem(detail, _REPEAT_HINT, "bad_rule", (("detail", detail),))
    return None


# The BY parts that limit (rather than expand) the occurrences of each frequency
# (RFC 5545, 3.3.10), as dateutil applies them.
_LIMITING_PARTS = {
    "HOURLY": ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR"),
    "DAILY": ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"),
    "WEEKLY": ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY"),
    "MONTHLY": ("BYMONTH", "BYWEEKNO", "BYYEARDAY"),
    "YEARLY": (),
}


def _may_skip_periods(rule: Any) -> bool:
    """Whether some periods of the rule can hold no occurrence at all."""
    if not isinstance(rule, icalendar.vRecur) or not rule.get("FREQ"):
        return True
    frequency = str(rule["FREQ"][0]).upper()
    limiting = _LIMITING_PARTS.get(frequency, tuple(_SPREADING_PARTS))
    if frequency == "YEARLY" and len([n for n in _SPREADING_PARTS[:5] if n in rule]) > 1:
        return True  # date parts that must all agree (BYWEEKNO with BYMONTH...)
    return "BYSETPOS" in rule or any(name in rule for name in limiting)


def _days(length: timedelta) -> str:
    days = length / timedelta(days=1)
    return f"{days:,.0f} days" if days >= 2 else f"{length / timedelta(hours=1):,.0f} hours"


def _matches_no_day(rule: icalendar.vRecur) -> bool:
    """Whether the rule's date parts name no day that exists (BYMONTH=2;BYMONTHDAY=30).

    dateutil follows such a rule period by period until the year 9999: seconds
    for a daily rule, on every look. The days named by a yearly rule with the
    same date parts are the same days, and a yearly rule is followed in a moment.
    """
    names = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")
    parts = {name: rule[name] for name in names if name in rule}
    if not parts:
        return False
    frequency = str(rule["FREQ"][0]).upper()
    numbered = any(re.match(r"^[+-]?\d", str(day)) for day in rule.get("BYDAY", []))
    probe = "MONTHLY" if numbered and frequency == "MONTHLY" else "YEARLY"
    if "BYSETPOS" in rule:
        if probe != frequency:
            return False  # positions within a week or a day: no yearly equivalent
        parts["BYSETPOS"] = rule["BYSETPOS"]
    text = icalendar.vRecur({"FREQ": [probe], **parts}).to_ical().decode()
    first = datetime(2000, 1, 1)  # 400 years hold every pattern of the calendar
    try:
        return rrulestr(text, dtstart=first).after(first, inc=True) is None
    except ValueError:  # left for the expansion to report
        return False


def _instant_key(value: date | datetime) -> date | datetime:
    """RECURRENCE-ID values compared as instants, whatever zone each is written in."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class _Occurrence:
    start: _Time
    end: _Time | None  # a changed occurrence's own DTEND
    start_utc: datetime
    end_utc: datetime
    changed: bool  # carried in the invitation with its own RECURRENCE-ID


@dataclass
class _Series:
    """A repeating event and the changed occurrences that travel with it."""

    master: icalendar.Component
    changes: list[icalendar.Component]
    span: _Span
    title: str
    default_duration: int
    context: _Context  # a scratch context: occurrences add no notes

    def __post_init__(self) -> None:
        # A cancelled or unreadable change still replaces its occurrence: its
        # RECURRENCE-ID maps to None and the occurrence is left out.
        self.changed: dict[date | datetime, icalendar.Component | None] = {}
        kept = []
        for change in self.changes:
            rid = change.get("RECURRENCE-ID")
            try:
                key = _instant_key(rid.dt)
            except AttributeError:  # an unreadable RECURRENCE-ID replaces nothing
                continue
            cancelled = _status(change) == "CANCELLED"
            readable = not cancelled and not _broken_times(change)
            self.changed[key] = change if readable else None
            if readable or cancelled:
                kept.append(change)
        self.periods = self._period_ends()
        self._kept = kept
        self._query: Any = None
        # A rule that can skip periods may walk any number of them between two
        # occurrences, inside dateutil, where no check() is called: the budget
        # watches those expansions from a profile hook (which doubles their cost,
        # so rules that match every period, most of them, go without it).
        self.may_skip_periods = any(
            _may_skip_periods(rule) for rule in _as_list(self.master.get("RRULE"))
        )

    @staticmethod
    def _calendar(master: icalendar.Component, changes: list[icalendar.Component]) -> Any:
        calendar = icalendar.Calendar()
        for component in (master, *changes):
            calendar.add_component(component)
        return calendar

    def _expansion(self) -> Any:
        """The expansion of the series, built once: dateutil caches what it found."""
        if self._query is None:
            master = self.master
            dead = [rule for rule in _as_list(master.get("RRULE")) if _matches_no_day(rule)]
            if dead:
                # RFC 5545: DTSTART is an occurrence whatever the rule says.
                master = copy.copy(master)
                alive = [rule for rule in _as_list(master.pop("RRULE")) if rule not in dead]
                if alive:
                    master["RRULE"] = alive if len(alive) > 1 else alive[0]
            self._query = recurring_ical_events.of(self._calendar(master, self._kept))
        return self._query

    def _period_ends(self) -> dict[date | datetime, datetime]:
        """RDATE;VALUE=PERIOD gives some occurrences an end of their own."""
        ends: dict[date | datetime, datetime] = {}
        for rdates in _as_list(self.master.get("RDATE")):
            for value in getattr(rdates, "dts", []):
                period = value.dt
                if not (isinstance(period, tuple) and isinstance(period[0], datetime)):
                    continue
                first, last = period
                tzid = _tzid_param(value) or _tzid_param(rdates)
                master = self.span.start
                if tzid is None and first.tzinfo is None and master.kind != "floating":
                    # A period without a zone of its own, in a series that has one:
                    # the expansion gives it the series' zone, and so does its end.
                    first, last = _with_zone((first, last), master.local.tzinfo)
                    tzid = master.tzid
                start = _read_time(first, tzid, self.context)
                if isinstance(last, timedelta):
                    ends[_instant_key(first)] = _add_duration(start.local, last)
                else:
                    ends[_instant_key(first)] = to_utc(_read_time(last, tzid, self.context).local)
        return ends

    def counted(self) -> int | None:
        """How many occurrences the series has at most, when every rule has a COUNT."""
        rules = _as_list(self.master.get("RRULE"))
        counts = [rule.get("COUNT", [None])[0] for rule in rules]
        if not all(isinstance(count, int) for count in counts):
            return None
        rdates = sum(len(getattr(value, "dts", [])) for value in _as_list(self.master.get("RDATE")))
        return sum(counts) + rdates

    def between(self, earliest: datetime, latest: datetime) -> list[_Occurrence]:
        """The occurrences that overlap [earliest, latest], in order of start."""
        try:
            with budget.watched() if self.may_skip_periods else contextlib.nullcontext():
                components = self._expansion().between(earliest, latest)
        except budget.OverBudget:
            raise
        except Exception as error:  # dateutil and the library raise many kinds
            rule = _as_list(self.master.get("RRULE"))
            what = f"(RRULE:{_rule_text(rule[0])})" if rule else "(RDATE)"
            # The library re-raises dateutil's complaint in words of its own.
            cause = error.__context__ if isinstance(error.__context__, ValueError) else error
            raise _Problem(
                f'The event "{self.title}" repeats by a rule that cannot be followed {what}: '
                f"{_shorten(str(cause).rstrip('.'), 160)}.",
                _REPEAT_HINT,
                "bad_rule",
                (("detail", _shorten(str(cause).rstrip("."), 160)),),
            ) from error
        found = []
        for component in components:
            budget.check()
            rid = component.get("RECURRENCE-ID")
            key = _instant_key(rid.dt) if rid is not None else None
            if key in self.changed:
                change = self.changed[key]
                if change is not None:
                    found += self._changed(change)
                continue
            value = component["DTSTART"].dt
            if not isinstance(value, datetime):
                continue
            start = _read_time(value, self.span.start.tzid, self.context)
            end_utc = self.periods.get(_instant_key(value)) or self.span.length.end(start.local)
            found.append(_Occurrence(start, None, to_utc(start.local), end_utc, False))
        return sorted(found, key=lambda occurrence: occurrence.start_utc)

    def _changed(self, change: icalendar.Component) -> list[_Occurrence]:
        try:
            span = _span(
                change,
                self.title,
                self.context,
                default_duration=self.default_duration,
                inherited=self.span.length,
            )
        except _Problem:  # e.g. moved to an all-day slot: nothing to plan there
            return []
        return [_Occurrence(span.start, span.end, span.start_utc, span.end_utc, True)]


def _broken_times(event: icalendar.Component) -> bool:
    return any(name in TIME_PROPERTIES for name, _ in event.errors if name)


def _series(
    master: icalendar.Component,
    changes: list[icalendar.Component],
    method: str | None,
    context: _Context,
    *,
    default_duration: int,
    now: datetime,
) -> MeetingRequest:
    """A repeating event: one meeting, placed at its first occurrence not yet ended."""
    title = _event_title(master)
    span = _span(master, title, context, default_duration=default_duration)
    scratch = replace(context, notes=[])
    # The series' own times must make sense, whichever occurrence is planned.
    _place(span.start, span.end, span.start_utc, span.end_utc, title, scratch)
    rule, finite = _rule(master, title, context)
    dense = _too_dense(master, span.start_utc, now, span.end_utc - span.start_utc)
    if dense:
        shown = _shorten(rule, 120)
        params = dense.params
        if dense.code == "bad_rule":
            params = (("detail", f"RRULE:{shown}: {dense.reason}"),)
        raise _Problem(
            f'The event "{title}" repeats too often to be read (RRULE:{shown}): {dense.reason}.',
            _REPEAT_HINT,
            dense.code,
            params,
        )
    master = _without_timeless_dates(master, context)
    series = _Series(master, changes, span, title, default_duration, scratch)

    upcoming, complete = _upcoming(series, now, finite)
    if not upcoming:
        raise _Problem(_series_over(series, now, finite), _SERIES_PAST_HINT, "series_ended")

    first = upcoming[0]
    placed = _place(first.start, first.end, first.start_utc, first.end_utc, title, context)
    moved = ", as changed in the invitation" if first.changed else ""
    context.note(
        f"repeating event: planned for its next occurrence, {_wall(placed.start)} "
        f"({placed.zone}){moved}"
    )
    _note_changes(changes, context)
    return _meeting(
        master,
        method,
        context,
        placed,
        span.start_utc,
        rule=rule,
        occurrences_left=len(upcoming) if complete else None,
    )


def _without_timeless_dates(event: icalendar.Component, context: _Context) -> icalendar.Component:
    """The event without the RDATE values that name no moment: a bare time of
    day (VALUE=TIME) or a PERIOD between two dates, which RFC 5545 does not
    allow. Clients skip them; so does the bridge, and says so. Valid values
    are kept as they are (a copy is returned when something is left out)."""
    rdates = _as_list(event.get("RDATE"))
    kept, dropped = [], 0
    for prop in rdates:
        values = list(getattr(prop, "dts", []))
        good = [value for value in values if _names_a_moment(getattr(value, "dt", None))]
        dropped += len(values) - len(good)
        if good:
            prop.dts = good
            kept.append(prop)
    if not dropped:
        return event
    event = copy.copy(event)
    event.pop("RDATE")
    if kept:
        event["RDATE"] = kept if len(kept) > 1 else kept[0]
    context.note(f"{_plural(dropped, 'repeat date')} (RDATE) without a date and time ignored")
    return event


def _names_a_moment(value: Any) -> bool:
    if isinstance(value, tuple):  # a PERIOD: it must start at a date and time
        return bool(value) and isinstance(value[0], datetime)
    return isinstance(value, date)


def _upcoming(series: _Series, now: datetime, finite: bool) -> tuple[list[_Occurrence], bool]:
    """The occurrences not yet ended at `now`, in order of start, and whether that
    list is complete (a finite series with at most _COUNT_LIMIT of them left).

    The expansion window starts small and grows, so an open-ended series costs
    one short expansion and a long one is never expanded further than needed.
    """
    earliest, horizon = now - _EXPANSION_MARGIN, now + _HORIZON
    counted = series.counted()
    if counted is not None and counted <= _COUNT_LIMIT:
        # Every rule stops after COUNT occurrences: one expansion finds them all
        # (a growing window would expand the same few occurrences ten times).
        return [o for o in series.between(earliest, horizon) if o.end_utc > now], True
    length = timedelta(hours=1)
    while True:
        budget.check()
        latest = min(earliest + length, horizon)
        upcoming = [o for o in series.between(earliest, latest) if o.end_utc > now]
        if latest >= horizon:
            return upcoming, finite
        if upcoming and not finite:
            return upcoming[:1], False
        if len(upcoming) > _COUNT_LIMIT:
            return upcoming, False
        length *= 4


def _series_over(series: _Series, now: datetime, finite: bool) -> str:
    text = f'The repeating event "{series.title}" is over: all its occurrences have ended'
    if finite:
        # Look back in growing windows: the first one that holds occurrences holds
        # the last, and a dense series is never expanded over its whole past.
        latest, length = now + _EXPANSION_MARGIN, timedelta(hours=1)
        while True:
            earliest = max(latest - length, now - _HORIZON)
            past = series.between(earliest, latest)
            if past or earliest <= now - _HORIZON:
                break
            length *= 4
        if past:
            last = max(past, key=lambda occurrence: occurrence.end_utc)
            shown = _place(last.start, last.end, last.start_utc, last.end_utc, "", series.context)
            text += f", the last one on {_wall(shown.start)} ({shown.zone})"
    return text + "."


def _note_changes(changes: list[icalendar.Component], context: _Context) -> None:
    cancelled = sum(1 for change in changes if _status(change) == "CANCELLED")
    moved = len(changes) - cancelled
    said = []
    if moved:
        said.append(f"changes {moved} occurrence{'s' if moved > 1 else ''}")
    if cancelled:
        said.append(f"cancels {cancelled} occurrence{'s' if cancelled > 1 else ''}")
    if said:
        context.note(f"the invitation also {' and '.join(said)} of the series: taken into account")


# --- cancellations --------------------------------------------------------------


def _cancellation(event: icalendar.Component, context: _Context) -> Cancellation:
    """The meeting (or one occurrence of a series) an event cancels."""
    title = _CANCELLED_PREFIX.sub("", fold_title(event.get("SUMMARY"))) or DEFAULT_TITLE
    organizer = _organizer(_attendees(event))
    uid = fold_title(event.get("UID"))
    if not uid:
        # Only a meeting whose UID was derived the same way can match.
        start_prop = event.get("DTSTART")
        if start_prop is None or not isinstance(start_prop.dt, datetime):
            raise _Problem(
                f'The cancellation of "{title}" does not say which event it cancels '
                "(it has no UID and no start time).",
                _UNREADABLE_HINT,
                "unreadable",
                (("where", "the cancellation"), ("detail", "no UID and no start time")),
            )
        start = _read_time(start_prop.dt, _tzid_param(start_prop), context)
        uid = _derived_uid(to_utc(start.local), event, organizer)
    stamp = _recurrence_stamp(event, context)
    return Cancellation(
        key=_key(organizer, uid, stamp),
        title=title,
        uid=uid,
        sequence=_sequence(event),
        recurrence_id=stamp or None,
        series_key=_key(organizer, uid) if stamp else None,
    )


# --- the whole message ----------------------------------------------------------


def _context(
    calendar: icalendar.Component, default_timezone: str, definitions: dict[str, _Definition]
) -> _Context:
    calendar_zone = None
    if calendar.get("X-WR-TIMEZONE") is not None:
        calendar_zone = iana_zone_for(str(calendar["X-WR-TIMEZONE"]))
    return _Context(default_timezone, calendar_zone, definitions)


def _not_a_request(methods: list[str]) -> NotARequest:
    names = ", ".join(sorted({f"METHOD:{m}" for m in methods if m}))
    return ITipAnswer(f"the calendar is an answer or update, not a request ({names})")


def _part_subject(number: int, part: _Part) -> str:
    """How a calendar part is named to its sender: 'calendar part 2 (invite.ics)'."""
    return f"calendar part {number}" + (f" ({part.filename})" if part.filename else "")


@dataclass
class _Found:
    """One event's outcome in one calendar part, before duplicates are merged."""

    label: str  # the part, for the note on duplicates
    method: str | None
    sequence: int
    key: str | None
    meeting: MeetingRequest | None = None
    cancellation: Cancellation | None = None
    problem: EventProblem | None = None
    by_status: bool = False  # a cancellation by STATUS:CANCELLED, not METHOD:CANCEL
    part_level: bool = False  # a problem with a whole calendar part, not one event


@dataclass(frozen=True)
class _Reader:
    """What reading each event needs: the part, the configuration and `now`."""

    part: _Part
    subject: str  # the part, as named in problems
    text: str
    definitions: dict[str, _Definition]
    default_timezone: str
    default_duration: int
    now: datetime
    notes: tuple[str, ...] = ()  # about the whole part, told with each of its meetings

    def problem(
        self, event: icalendar.Component, method: str | None, error: _Problem, context: _Context
    ) -> _Found:
        subject = fold_title(event.get("SUMMARY")) or f"an untitled event in {self.subject}"
        key = _known_key(event, context)
        problem = EventProblem(subject, error.reason, error.hint, key, error.code, error.params)
        return _Found(self.part.label, method, _sequence(event), key, problem=problem)

    def cancellation(
        self, event: icalendar.Component, method: str | None, context: _Context
    ) -> _Found:
        try:
            # A broken DTSTART or RECURRENCE-ID raises when read: refuse it by name first.
            _check_event_errors(event, self.text, self.part)
            cancellation = _cancellation(event, context)
        except _Problem as error:
            return self.problem(event, method, error, context)
        return _Found(
            self.part.label,
            method,
            cancellation.sequence,
            cancellation.key,
            cancellation=cancellation,
            by_status=method != CANCEL_METHOD,
        )

    def meeting(
        self,
        event: icalendar.Component,
        method: str | None,
        calendar: icalendar.Component,
        changes: list[icalendar.Component] | None = None,
    ) -> _Found:
        """A meeting from `event`; `changes` makes it a series with those changed occurrences."""
        context = _context(calendar, self.default_timezone, self.definitions)
        for note in self.notes:
            context.note(note)
        if self.part.embedded:
            size = max(1, self.part.embedded // 1024)
            context.note(f"files embedded in the calendar (ATTACH, {size} KiB) were not read")
        try:
            context.notes += _check_event_errors(event, self.text, self.part)
            if changes is not None:
                request = _series(
                    event,
                    changes,
                    method,
                    context,
                    default_duration=self.default_duration,
                    now=self.now,
                )
            else:
                request = _single(
                    event, method, context, default_duration=self.default_duration, now=self.now
                )
        except _Problem as error:
            return self.problem(event, method, error, context)
        return _Found(self.part.label, method, request.sequence, request.key, meeting=request)

    def calendar(self, calendar: icalendar.Component, method: str | None) -> list[_Found]:
        events = calendar.walk("VEVENT")
        for event in events:
            _collapse_repeats(event)
        if not events:
            reason = f"The calendar in the {self.part.label} holds no event (VEVENT)."
            problem = EventProblem(
                self.subject,
                reason,
                _UNREADABLE_HINT,
                None,
                "unreadable",
                (("where", self.part.label), ("detail", reason)),
            )
            return [_Found(self.part.label, method, 0, None, problem=problem, part_level=True)]
        if method == CANCEL_METHOD:
            return [
                self.cancellation(
                    event, method, _context(calendar, self.default_timezone, self.definitions)
                )
                for event in events
            ]
        found: list[_Found] = []
        for group in _by_uid(events):
            masters = [event for event in group if event.get("RECURRENCE-ID") is None]
            changes = [event for event in group if event.get("RECURRENCE-ID") is not None]
            if masters:
                master = max(masters, key=_sequence)  # max keeps the first of equals
                if _status(master) == "CANCELLED":
                    # The whole meeting (or series) is off: its changes do not matter.
                    context = _context(calendar, self.default_timezone, self.definitions)
                    found.append(self.cancellation(master, method, context))
                    continue
                if _is_series(master):
                    # Changed occurrences sent with their series belong to it.
                    found.append(self.meeting(master, method, calendar, changes))
                    continue
                found.append(self.meeting(master, method, calendar))
            for change in changes:  # a changed occurrence sent on its own
                if _status(change) == "CANCELLED":
                    context = _context(calendar, self.default_timezone, self.definitions)
                    found.append(self.cancellation(change, method, context))
                else:
                    found.append(self.meeting(change, method, calendar))
        return found


def _by_uid(events: list[icalendar.Component]) -> list[list[icalendar.Component]]:
    """Events grouped by UID, in order of appearance; an event without UID stands alone."""
    groups: dict[str, list[icalendar.Component]] = {}
    for index, event in enumerate(events):
        uid = fold_title(event.get("UID")) or f"#{index}"
        groups.setdefault(uid, []).append(event)
    return list(groups.values())


def _merge(found: list[_Found]) -> tuple[list[_Found], int]:
    """One outcome per identity key: the highest SEQUENCE wins (a meeting or a
    cancellation over a problem of the same SEQUENCE, else the first). Returns
    the winners and how many copies the most repeated event had."""
    groups: dict[str, list[_Found]] = {}
    for index, item in enumerate(found):
        groups.setdefault(item.key or f"#{index}", []).append(item)
    winners, copies = [], 1
    for group in groups.values():
        best = max(group, key=lambda item: (item.sequence, item.problem is None))
        if len(group) > 1 and best.problem is None:
            copies = max(copies, len(group))
        if len(group) > 1 and best.meeting is not None:
            times = "twice" if len(group) == 2 else f"{len(group)} times"
            where = " and ".join(dict.fromkeys(item.label for item in group))
            note = f"same event found {times} in the message ({where}): planned once"
            if len({item.sequence for item in group}) > 1:
                note += f", using its latest version (SEQUENCE {best.sequence})"
            best.meeting = _with_note(best.meeting, note)
        winners.append(best)
    # A changed occurrence sent in another part than its series is part of that series.
    series = {item.key for item in winners if item.meeting is not None and item.meeting.is_series}
    winners = [
        item for item in winners if item.meeting is None or item.meeting.series_key not in series
    ]
    return winners, copies


def _with_note(request: MeetingRequest, note: str) -> MeetingRequest:
    return replace(request, notes=(*request.notes, note))


def _method_phrase(methods: Iterable[str | None]) -> str:
    names = list(dict.fromkeys(f"METHOD:{m}" if m else "no METHOD" for m in methods))
    return " and ".join(names)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _rule_sentence(winners: list[_Found], answers: list[str], copies: int) -> str:
    """One sentence for `parse`: which rule decided what the message is."""
    meetings = [item for item in winners if item.meeting is not None]
    cancellations = [item for item in winners if item.cancellation is not None]
    problems = [item for item in winners if item.problem is not None]
    if meetings:
        methods = list(dict.fromkeys(item.method for item in meetings))
        if methods == ["REQUEST"]:
            main = "calendar part with METHOD:REQUEST: an invitation to plan"
        elif methods == ["PUBLISH"]:
            main = "calendar part with METHOD:PUBLISH: a published event, planned"
        elif methods == [None]:
            main = "no METHOD: treated as PUBLISH, planned"
        else:
            main = f"calendar parts with {_method_phrase(methods)}: events to plan"
    elif cancellations:
        by_status = [item for item in cancellations if item.by_status]
        if not by_status:
            main = "METHOD:CANCEL: a cancellation"
        elif len(by_status) == len(cancellations):
            phrase = _method_phrase(item.method for item in by_status)
            main = f"event with STATUS:CANCELLED ({phrase}): a cancellation"
        else:
            main = "METHOD:CANCEL and STATUS:CANCELLED: cancellations"
    elif all(item.part_level for item in problems):
        main = "calendar part that cannot be read: nothing to plan"
    else:
        phrase = _method_phrase(item.method for item in problems)
        main = f"calendar part with {phrase}, but none of its events can be planned"

    clauses = []
    if meetings and cancellations:
        clauses.append(f"with {_plural(len(cancellations), 'cancellation')}")
    if (meetings or cancellations) and problems:
        clauses.append(f"{_plural(len(problems), 'event')} cannot be planned")
    if copies > 1:
        count = "two" if copies == 2 else str(copies)
        done = "planned" if meetings else "read"
        clauses.append(f"{count} calendar parts with the same event: {done} once")
    if answers:
        names = list(dict.fromkeys(f"METHOD:{m}" for m in answers))
        are = "parts are" if len(names) > 1 else "part is"
        clauses.append(f"the {' and '.join(names)} {are} ignored")
    return "; ".join([main, *clauses])


def extract(
    message: EmailMessage,
    *,
    default_timezone: str,
    default_duration: int,
    now: datetime,
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Extraction:
    """What a message's calendar invitations ask for: meetings, cancellations, problems.

    Raises NotARequest when there is no calendar part, or every calendar part is
    an iTIP answer (REPLY, COUNTER, DECLINECOUNTER, REFRESH). Anything else is
    returned, an unreadable part or an event without a usable time included (as
    an EventProblem). `now` should be aware; a naive value is taken as UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        parts = _find_parts(message, max_nesting=limits.max_nesting)
    except _TooDeep:
        return _refused(
            f"the message holds forwarded messages nested more than {limits.max_nesting} deep",
            "Forward the invitation itself, or attach its .ics file.",
            "too_deep",
            (("limit", str(limits.max_nesting)),),
        )
    except _TooComplex:
        return _refused(
            f"the message has MIME parts nested more than {MAX_CONTAINERS} deep",
            "Forward the invitation itself, or attach its .ics file.",
            "too_complex",
            (),
        )
    if not parts:
        raise NotARequest("no calendar invitation (text/calendar part or .ics file) in the message")
    counts = [len(re.findall(rb"(?m)^BEGIN:VEVENT\s*$", part.data)) for part in parts]
    for part, count in zip(parts, counts, strict=True):
        if len(part.data) > limits.max_calendar_size:
            return _too_large(part, count, limits.max_calendar_size)
    events = sum(counts)
    if events > limits.max_events:
        return _refused(
            f"the message holds {events} events, more than the {limits.max_events} this "
            "bridge plans from one message",
            "Send the meetings that need a kMeet room one by one.",
            "too_many_events",
            (("count", str(events)), ("limit", str(limits.max_events))),
        )

    found: list[_Found] = []
    answers: list[str] = []
    organizers: set[str] = set()
    for number, part in enumerate(parts, start=1):
        subject = _part_subject(number, part)
        try:
            parsed = _parse(part)
        except _Problem as error:
            problem = EventProblem(
                subject, error.reason, error.hint, None, error.code, error.params
            )
            found.append(_Found(part.label, None, 0, None, problem=problem, part_level=True))
            continue
        text = part.data.decode("utf-8")
        reader = _Reader(
            part,
            subject,
            text,
            parsed.definitions,
            default_timezone,
            default_duration,
            now,
            parsed.notes,
        )
        for component in parsed.components:
            budget.check()
            method = _method(component, part)
            if method is not None and method not in PLANNED_METHODS | {CANCEL_METHOD}:
                answers.append(method)
                continue
            organizers |= _organizers(component)
            found += reader.calendar(component, method)
    if not found:
        raise _not_a_request(answers)

    winners, copies = _merge(found)
    return Extraction(
        meetings=tuple(item.meeting for item in winners if item.meeting is not None),
        cancellations=tuple(item.cancellation for item in winners if item.cancellation),
        problems=tuple(item.problem for item in winners if item.problem is not None),
        rule=_rule_sentence(winners, answers, copies),
        organizers=frozenset(organizers),
    )


def _organizers(calendar: icalendar.Component) -> set[str]:
    found = set()
    for event in calendar.walk("VEVENT"):
        for prop in _as_list(event.get("ORGANIZER")):
            address = _address(prop)
            if address:
                found.add(address.lower())
    return found


def _too_large(part: _Part, events: int, limit: int) -> Extraction:
    """A calendar part over [limits] max_calendar_size (its embedded files left
    out): a calendar export when it holds several events, else one event with
    too much in it."""
    params = (
        ("where", part.label),
        ("size", str(len(part.data) // 1024)),
        ("limit", str(limit // 1024)),
    )
    if events > 1:
        return _refused(
            f"the calendar in the {part.label} is {len(part.data) // 1024} KiB, more than "
            f"the {limit // 1024} KiB this bridge reads",
            "Send the invitation of this one meeting only (not a whole calendar export).",
            "too_large",
            params,
        )
    return _refused(
        f"the event in the {part.label} is {len(part.data) // 1024} KiB, more than "
        f"the {limit // 1024} KiB this bridge reads",
        "Send the invitation again with less in it: a shorter description, fewer attendees.",
        "too_large_event",
        params,
    )


def _refused(reason: str, hint: str, code: str, params: tuple[tuple[str, str], ...]) -> Extraction:
    """A message refused whole, before any calendar is read (a limit was hit)."""
    return Extraction(
        problems=(EventProblem("your message", reason, hint, None, code, params),),
        rule=f"refused before reading: {reason}",
    )
