"""Calendar invitations in an email -> MeetingRequest (pure: no I/O).

`calendar_parts` finds every iCalendar body in a message, wherever it sits in
the MIME tree. `extract` reads the events in them and returns one
`MeetingRequest` per distinct meeting, or raises `NotARequest` (nothing to plan:
no calendar, an iTIP answer) or `Unplannable` (a request that cannot be planned,
with a reason and a hint worded for the sender).

Time zones: see `kmeet_bridge.timezones`. In short, the instant is always the
one the invitation means; the zone only decides how it is shown.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage, Message
from typing import Any

import icalendar

from .models import ATTENDEE_STATES, Attendee, MeetingRequest, NotARequest, Unplannable
from .timezones import UTC_NAMES, iana_zone_for, to_utc, zone_for_definition, zones_named_in

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
# Properties without which an event cannot be placed in time: a broken one rejects.
TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")

_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+$")
_MAILTO = re.compile(r"^\s*mailto:", re.IGNORECASE)

_UNREADABLE_HINT = (
    "Export the event from your calendar program again and forward the invitation "
    "unchanged (or attach the .ics file it produces)."
)
_TIME_HINT = (
    "Give the event a start and an end time in your calendar program and send the invitation again."
)


# --- finding the calendar parts -------------------------------------------------


@dataclass(frozen=True)
class _Part:
    data: bytes  # UTF-8
    label: str  # for notes and errors: 'inline part', 'attachment "invite.ics"'
    mime_method: str | None  # the Content-Type method= parameter, if any


def _is_calendar(part: Message) -> bool:
    if part.is_multipart():
        return False
    if part.get_content_type() in CALENDAR_TYPES:
        return True
    filename = part.get_filename() or ""
    return filename.strip().lower().endswith(".ics")


def _decode(part: Message) -> bytes:
    """The part's body as UTF-8: transfer encoding removed, declared charset honoured."""
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raw = str(part.get_payload()).encode("utf-8", "replace")
    charsets = [part.get_content_charset(), "utf-8", "cp1252"]
    for charset in filter(None, charsets):
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
        return text.lstrip("\ufeff").encode("utf-8")
    # cp1252 leaves five octets undefined; latin-1 accepts any octet.
    return raw.decode("latin-1").encode("utf-8")


def _label(part: Message, nested: bool) -> str:
    filename = part.get_filename()
    if filename:
        label = f'attachment "{filename}"'
    elif part.get_content_disposition() == "attachment":
        label = "attachment"
    else:
        label = "inline part"
    return f"{label} of the forwarded message" if nested else label


def _find_parts(message: Message, nested: bool = False) -> list[_Part]:
    found: list[_Part] = []
    if message.get_content_type() == "message/rfc822" or message.is_multipart():
        payload = message.get_payload()
        inner = message.get_content_type() == "message/rfc822"
        for child in payload if isinstance(payload, list) else []:
            found += _find_parts(child, nested or inner)
        return found
    if _is_calendar(message):
        method = message.get_param("method")
        found.append(
            _Part(
                data=_decode(message),
                label=_label(message, nested),
                mime_method=str(method).upper() if isinstance(method, str) else None,
            )
        )
    return found


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


def _structure_problem(text: str) -> str | None:
    """Where BEGIN/END blocks do not pair up; icalendar drops such input silently."""
    stack: list[tuple[str, int]] = []
    last = 0
    for number, line in _logical_lines(text):
        last = number
        name, _, value = line.partition(":")
        keyword, value = name.strip().upper(), value.strip().upper()
        if keyword == "BEGIN":
            stack.append((value, number))
        elif keyword == "END":
            if not stack:
                return f"line {number} (END:{value}) closes a block that was never opened"
            opened, at = stack.pop()
            if opened != value:
                return f"line {number} (END:{value}) closes BEGIN:{opened} from line {at}"
    if stack:
        opened, at = stack[-1]
        return f"BEGIN:{opened} on line {at} is never closed (the text stops at line {last})"
    if not last:
        return "it is empty"
    return None


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


def _parse(part: _Part) -> list[icalendar.Component]:
    text = part.data.decode("utf-8")
    where = f"The calendar in the {part.label} could not be read"
    problem = _structure_problem(text)
    if problem:
        raise Unplannable(f"{where}: {problem}.", _UNREADABLE_HINT)
    try:
        components = icalendar.Calendar.from_ical(text, multiple=True)
    except ValueError as error:
        detail = str(error)
        quoted = re.search(r"'([^']+)'", detail)
        line = _line_containing(text, quoted.group(1)) if quoted else None
        at = f"line {line}: " if line else ""
        raise Unplannable(f"{where}: {at}{_shorten(detail, 160)}.", _UNREADABLE_HINT) from error
    if not components:
        raise Unplannable(f"{where}: it holds no calendar data.", _UNREADABLE_HINT)
    return components


def _method(component: icalendar.Component, part: _Part) -> str | None:
    """The iTIP METHOD: the calendar's own, else the MIME method= parameter."""
    value = component.get("METHOD") if component.name == "VCALENDAR" else None
    if value is not None:
        return str(value).strip().upper() or None
    return part.mime_method


def _check_event_errors(event: icalendar.Component, text: str, part: _Part) -> list[str]:
    """Reject broken time properties; return notes for other lines icalendar skipped."""
    notes = []
    for name, message in event.errors:
        if name is None:  # a content line that could not even be split into parts
            quoted = re.search(r"'([^']+)'", message)
            snippet = quoted.group(1) if quoted else ""
            line = _line_containing(text, snippet)
            if snippet.upper().startswith(TIME_PROPERTIES):
                prop = re.split(r"[;:]", snippet, maxsplit=1)[0].upper()
                at = f" (line {line})" if line else ""
                raise Unplannable(
                    f"The calendar in the {part.label} could not be read: {prop}{at}: "
                    f"{_shorten(message, 160)}.",
                    _UNREADABLE_HINT,
                )
            at = f"line {line}" if line else "a line"
            notes.append(f"{at} of the calendar could not be read and was ignored")
            continue
        raw = event.get(name)
        line = _line_of_property(text, name, str(raw) if raw is not None else "")
        if name.upper() in TIME_PROPERTIES:
            at = f" (line {line})" if line else ""
            raise Unplannable(
                f"The calendar in the {part.label} could not be read: {name}{at}: "
                f"{_shorten(message, 160)}.",
                _UNREADABLE_HINT,
            )
        at = f" on line {line}" if line else ""
        notes.append(f"{name}{at} could not be read and was ignored")
    return notes


# --- times ----------------------------------------------------------------------


@dataclass
class _Context:
    """What the time rules need to know about the calendar and the configuration."""

    default_zone: str
    calendar_zone: str | None  # X-WR-TIMEZONE, when it names a zone
    definitions: dict[str, icalendar.Component]  # TZID -> this calendar's VTIMEZONE
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
    """A tzinfo built from THIS calendar's VTIMEZONE for `tzid`.

    icalendar caches custom VTIMEZONEs by TZID for the whole process, so a
    second invitation with another "Customized Time Zone" would silently get
    the first one's rules; rebuilding from the calendar at hand avoids that.
    """
    component = context.definitions.get(tzid)
    if component is None:
        return None
    try:
        return component.to_tz(lookup_tzid=False)
    except Exception:  # a broken definition: treated as an unknown zone below
        context.note(f'the definition of time zone "{tzid}" could not be read')
        return None


def _read_time(value: datetime, tzid: str | None, context: _Context) -> _Time:
    """Classify a DATE-TIME value and attach the tzinfo the rules say it has."""
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
    if definition is not None and definition.get("X-LIC-LOCATION"):
        hints.append(str(definition["X-LIC-LOCATION"]))
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


def _event(
    event: icalendar.Component,
    method: str | None,
    context: _Context,
    *,
    default_duration: int,
    now: datetime,
) -> MeetingRequest:
    title = _event_title(event)
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise Unplannable(f'The event "{title}" has no start time (DTSTART).', _TIME_HINT)
    start_value = start_prop.dt
    if not isinstance(start_value, datetime):
        raise Unplannable(
            f'The event "{title}" is an all-day event ({start_value.isoformat()}); '
            "a video conference needs a start and an end time.",
            _TIME_HINT,
        )
    start = _read_time(start_value, _tzid_param(start_prop), context)
    start_utc = to_utc(start.local)

    end_prop, duration_prop = event.get("DTEND"), event.get("DURATION")
    if end_prop is not None:
        end_value = end_prop.dt
        if not isinstance(end_value, datetime):
            raise Unplannable(
                f'The event "{title}" ends on a date without a time ({end_value.isoformat()}).',
                _TIME_HINT,
            )
        end_utc = to_utc(_read_time(end_value, _tzid_param(end_prop), context).local)
    elif duration_prop is not None and isinstance(duration_prop.dt, timedelta):
        end_utc = _add_duration(start.local, duration_prop.dt)
        context.note(f"end computed from DURATION {duration_prop.to_ical().decode()}")
    else:
        # RFC 5545 makes a DATE-TIME start without end or duration a zero-length
        # event; a conference needs a length, so the configured default is used.
        end_utc = start_utc + timedelta(minutes=default_duration)
        context.note(f"no end given: default duration of {default_duration} minutes")

    zone_name = _display_zone(start, end_utc, context)
    zone = zoneinfo.ZoneInfo(zone_name)
    start_at, end_at = start_utc.astimezone(zone), end_utc.astimezone(zone)
    if end_utc <= start_utc:
        raise Unplannable(
            f'The event "{title}" ends ({_wall(end_at)}) before or when it starts '
            f"({_wall(start_at)}, {zone_name}).",
            _TIME_HINT,
        )
    if end_utc <= now:
        repeats = (
            " It repeats, but for now only its first occurrence can be planned."
            if event.get("RRULE") is not None
            else ""
        )
        raise Unplannable(
            f'The event "{title}" already ended ({_wall(end_at)}, {zone_name}).{repeats}',
            "Check the date of the event; only meetings that are still to come can be planned.",
        )

    attendees = _attendees(event)
    organizer = next((person.address.lower() for person in attendees if person.organizer), "")
    uid = fold_title(event.get("UID"))
    if not uid:
        uid = _derived_uid(start_utc, event, organizer)
        context.note("no UID in the invitation: one was derived from start, title and organizer")
    if event.get("RRULE") is not None:
        context.note(
            f"repeating event: only the occurrence on {_wall(start_at)} is planned "
            "(series support comes later)"
        )
    if not fold_title(event.get("SUMMARY")):
        context.note(f'no title given: "{DEFAULT_TITLE}" used')

    return MeetingRequest(
        key=f"ics:{organizer}:{uid}:{_recurrence_stamp(event, context)}",
        title=title,
        start=start_at,
        end=end_at,
        timezone=zone_name,
        description=clean_description(event.get("DESCRIPTION")),
        attendees=attendees,
        source="invite",
        uid=uid,
        sequence=_sequence(event),
        method=method,
        notes=tuple(context.notes),
    )


# --- the whole message ----------------------------------------------------------


def _context(calendar: icalendar.Component, default_timezone: str) -> _Context:
    definitions = {
        str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE") if tz.get("TZID") is not None
    }
    calendar_zone = None
    if calendar.get("X-WR-TIMEZONE") is not None:
        calendar_zone = iana_zone_for(str(calendar["X-WR-TIMEZONE"]))
    return _Context(default_timezone, calendar_zone, definitions)


def _not_a_request(methods: list[str | None]) -> NotARequest:
    if "CANCEL" in methods:
        # Cancellations will delete or update the planned room; until that exists
        # they are left alone like any other message that asks for nothing.
        return NotARequest("cancellation (METHOD:CANCEL): cancellations are not handled yet")
    names = ", ".join(sorted({f"METHOD:{m}" for m in methods if m}))
    return NotARequest(f"the calendar is an answer or update, not a request ({names})")


def _dedupe(found: list[tuple[MeetingRequest, str]]) -> list[MeetingRequest]:
    """One meeting per identity key: the highest SEQUENCE wins, ties keep the first."""
    groups: dict[str, list[tuple[MeetingRequest, str]]] = {}
    for request, label in found:
        groups.setdefault(request.key, []).append((request, label))
    result = []
    for copies in groups.values():
        best = max(copies, key=lambda item: item[0].sequence)  # max keeps the first of equals
        request = best[0]
        if len(copies) > 1:
            times = "twice" if len(copies) == 2 else f"{len(copies)} times"
            labels = list(dict.fromkeys(label for _, label in copies))
            where = " and ".join(labels)
            note = f"same event found {times} in the message ({where}): planned once"
            sequences = {item[0].sequence for item in copies}
            if len(sequences) > 1:
                note += f", using its latest version (SEQUENCE {request.sequence})"
            request = _with_note(request, note)
        result.append(request)
    return result


def _with_note(request: MeetingRequest, note: str) -> MeetingRequest:
    return replace(request, notes=(*request.notes, note))


def extract(
    message: EmailMessage,
    *,
    default_timezone: str,
    default_duration: int,
    now: datetime,
) -> list[MeetingRequest]:
    """The meetings a message's calendar invitations ask for.

    Raises NotARequest when there is no calendar part, or every calendar part is
    an iTIP answer (REPLY, COUNTER, DECLINECOUNTER, REFRESH) or a cancellation;
    raises Unplannable when an invitation cannot be read or has no usable time.
    `now` should be aware; a naive value is taken as UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    parts = _find_parts(message)
    if not parts:
        raise NotARequest("no calendar invitation (text/calendar part or .ics file) in the message")

    found: list[tuple[MeetingRequest, str]] = []
    other_methods: list[str | None] = []
    planned_any = False
    for part in parts:
        text = part.data.decode("utf-8")
        for component in _parse(part):
            method = _method(component, part)
            if method is not None and method not in PLANNED_METHODS:
                other_methods.append(method)
                continue
            events = component.walk("VEVENT")
            if not events:
                raise Unplannable(
                    f"The calendar in the {part.label} holds no event (VEVENT).",
                    _UNREADABLE_HINT,
                )
            planned_any = True
            for event in events:
                context = _context(component, default_timezone)
                context.notes += _check_event_errors(event, text, part)
                request = _event(
                    event,
                    method,
                    context,
                    default_duration=default_duration,
                    now=now,
                )
                found.append((request, part.label))
    if not planned_any:
        raise _not_a_request(other_methods)
    return _dedupe(found)
