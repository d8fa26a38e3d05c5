"""Compose the bridge's answers to a requester (design.md, "The reply").

Pure functions: everything, the clock included, comes in as arguments, and the
result is an `EmailMessage` ready for the mailer. Values taken from the incoming
message or the meeting are never trusted: they are folded to one line before
they reach a header, and escaped before they reach the HTML part.

A reply is written in one of models.LANGUAGES (any other language is answered
in English). Its sentences come from the gettext catalogs (see wording.py),
dates, times, numbers and units from CLDR; problems the bridge names by a code
are worded from the same catalogs (`problem_text`).
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters, vRecur

from kmeet_bridge.mail import headers
from kmeet_bridge.models import (
    CancelledMeeting,
    Change,
    EventProblem,
    MeetingRequest,
    Note,
    PlannedMeeting,
    Room,
)
from kmeet_bridge.replies import recurrence, wording
from kmeet_bridge.replies.wording import NBSP, NNBSP, say, template

# Headers are folded only past 998 characters (RFC 5322's hard limit): at 78, the
# email package moves a long Message-ID to a continuation line of its own, which
# some clients fail to thread on.
REPLY_POLICY = policy.SMTP.clone(max_line_length=998)

PRODID = "-//kmeet-bridge//kMeet reply//EN"
# Longer subjects are cut: nobody reads them, and the reply's header stays sane.
_MAX_SUBJECT = 200
# Echo at most this many ids of a long thread (the first and the most recent),
# as RFC 5322 allows, so a hostile References header cannot bloat the reply.
_MAX_REFERENCES = 20
_ALREADY_A_REPLY = re.compile(r"re\s*:", re.IGNORECASE)
# VTIMEZONE rules are generated for this margin around the meeting: enough for
# any calendar to place it, small enough to keep the attachment short.
_TIMEZONE_MARGIN = timedelta(days=366)
# A series may run for years: its zone's rules are given for ten of them, so a
# calendar that trusts the attachment's VTIMEZONE keeps summer time right.
_SERIES_TIMEZONE_SPAN = timedelta(days=3653)


STATUSES = ("new", "unchanged", "updated", "replanned", "occurrence")


@dataclass(frozen=True)
class _ProblemParams:
    """The params a problem code's wording uses: `required` must be given and
    non-empty; any name outside `allowed` means the problem says more than the
    catalog can, and keeps its own words."""

    allowed: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


# The codes the bridge sets on an EventProblem whose wording lives in the
# catalogs ("problem.<code>", "problem.<code>.hint"). Other codes (a plain
# request's "no_time", "past", ...) come with `reason` and `hint` already
# written in the sender's language, and are shown as given. A plain request's
# "end_before_start" carries the times it read (and its "language"), so it too
# keeps its own, more precise, words.
PROBLEM_CODES: dict[str, _ProblemParams] = {
    "all_day": _ProblemParams(),
    "ended": _ProblemParams(),
    "series_ended": _ProblemParams(),
    "unreadable": _ProblemParams(frozenset({"where", "detail"})),
    "end_before_start": _ProblemParams(),
    "no_start": _ProblemParams(),
    "bad_rule": _ProblemParams(frozenset({"detail"})),
    "api_refused": _ProblemParams(frozenset({"detail"})),
    "retry_exhausted": _ProblemParams(frozenset({"hours", "detail"}), frozenset({"hours"})),
    "internal": _ProblemParams(),
    "too_deep": _ProblemParams(frozenset({"limit"}), frozenset({"limit"})),
    "too_complex": _ProblemParams(),
    "too_costly": _ProblemParams(frozenset({"seconds"}), frozenset({"seconds"})),
    "reading_stopped": _ProblemParams(),
    "dense_rule": _ProblemParams(frozenset({"limit"}), frozenset({"limit"})),
    "too_large": _ProblemParams(
        frozenset({"where", "size", "limit"}), frozenset({"size", "limit"})
    ),
    "too_large_event": _ProblemParams(
        frozenset({"where", "size", "limit"}), frozenset({"size", "limit"})
    ),
    "too_many_events": _ProblemParams(frozenset({"count", "limit"}), frozenset({"count", "limit"})),
    "message_too_large": _ProblemParams(frozenset({"size", "limit"}), frozenset({"size", "limit"})),
    "sender_rate_limited": _ProblemParams(
        frozenset({"limit", "after"}), frozenset({"limit", "after"})
    ),
    "daily_rate_limited": _ProblemParams(
        frozenset({"limit", "after"}), frozenset({"limit", "after"})
    ),
    "not_yours": _ProblemParams(),
    "not_owner": _ProblemParams(),
    # Answers to the bridge's reply (meeting_changes.py).
    "change_unclear": _ProblemParams(),
    "change_invitation": _ProblemParams(),
    "change_cancelled": _ProblemParams(),
    "change_not_owner": _ProblemParams(),
}
# Nothing was wrong with a message refused for these: its reply does not open
# by saying it could not be turned into a conference.
RATE_LIMITS = frozenset({"sender_rate_limited", "daily_rate_limited"})
# An answer to the bridge's reply that changed nothing: its reply opens by saying
# so, not that no meeting could be set up.
CHANGE_REFUSALS = frozenset(
    {"change_unclear", "change_invitation", "change_cancelled", "change_not_owner"}
)

# The places invites.py names a calendar part by: 'the attachment "x.ics"',
# "attachment", "inline part", each maybe "... of the forwarded message".
_PLACE = re.compile(
    r'(?:the\s+)?(?:attachment(?:\s+"(?P<name>[^"]*)")?|(?P<inline>inline\s+part))'
    r"(?P<forwarded>\s+of\s+the\s+forwarded\s+message)?",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "!", "?", "…")
# The numeric times the bridge records (updates.time_text, a rate limit's
# "after"): "2027-03-15 14:00–15:30 (Europe/Berlin)", "2027-03-15 14:00 –
# 2027-03-16 01:00 (Europe/Berlin)", "2026-12-07 10:15 (Europe/Zurich)". They
# are kept numeric in the state database and worded here, in the reply's language.
_RECORDED_TIME = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2}) (?P<start>\d{2}:\d{2})"
    r"(?:–(?P<end>\d{2}:\d{2})| – (?P<end_day>\d{4}-\d{2}-\d{2}) (?P<end_at>\d{2}:\d{2}))?"
    r" \((?P<zone>[^()]+)\)"
)
# Sizes are shown in kB and MB, as people read them ("Mio" reads as "million"
# in Swiss French). A calendar's size comes in KiB (invites.py), a message's in
# bytes (bridge.py); one with a decimal point is an older record, in MiB.
_KILOBYTE, _MEGABYTE = 1000, 1_000_000
_KIB, _MIB = 1024, 1024 * 1024


def _place(where: str, language: str) -> str:
    """Where an unreadable calendar was, worded for the reply: " in the
    attachment ..." (with its leading space), or "" when not said."""
    where = headers.one_line(where)
    if not where:
        return ""
    match = _PLACE.fullmatch(where)
    if match is None:
        return " " + say(language, "place.other", where=where)
    if match["inline"]:
        place = say(language, "place.inline")
    elif match["name"]:
        place = say(language, "place.named", name=match["name"])
    else:
        place = say(language, "place.attachment")
    if match["forwarded"]:
        place = say(language, "place.forwarded", place=place)
    return " " + place


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _hours(value: str, language: str) -> str:
    """A number of hours in words: "24 hours", "1,5 heure"; shown as given when
    it is not a number."""
    number = _number(value)
    if number is None:
        return wording.say_plural(language, "duration.hours", 2, n=value)  # shown as given
    return wording.write_hours(number, language)


def _size(value: str, language: str, *, unit: int) -> str:
    """A size recorded in units of `unit` bytes, as people read it: "320 kB",
    "26,2 Mo" (kB below a megabyte, MB with one decimal above)."""
    number = _number(value)
    if number is None:
        return value
    size = number * unit
    if size < _MEGABYTE:
        return wording.write_kilobytes(max(1, round(size / _KILOBYTE)), language)
    megabytes = size / _MEGABYTE
    # "26 MB", not "26.2 MB": a tenth only where it is a noticeable part.
    return wording.write_megabytes(
        round(megabytes) if megabytes >= 10 else round(megabytes, 1), language
    )


def _sentence(text: str) -> str:
    # A detail from a parser or an API may bring its own full stop, or none.
    text = text.rstrip()
    return text if text.endswith(_SENTENCE_END) else text + "."


def problem_text(problem: EventProblem, language: str | None) -> tuple[str, str]:
    """The problem's (reason, hint) for a reply written in `language`.

    A code of PROBLEM_CODES is worded from the catalog, its params inserted (a
    "detail" from a parser or the API is quoted as it came); any other code, or
    none, gives the problem's own `reason` and `hint`.
    """
    code = wording.language_code(language)
    spec = PROBLEM_CODES.get(problem.code)
    params = {name: headers.one_line(value) for name, value in problem.params}
    if (
        spec is None
        or not params.keys() <= spec.allowed
        or any(not params.get(name) for name in spec.required)
    ):
        return problem.reason, problem.hint
    detail = params.get("detail", "")
    values = dict(params)
    values["where"] = _place(params.get("where", ""), code)
    values["detail"] = say(code, "colon") + " " + detail if detail else ""
    values["hours"] = _hours(params.get("hours", ""), code)
    for name in ("size", "limit"):
        if problem.code in ("too_large", "too_large_event"):
            values[name] = _size(params[name], code, unit=_KIB)
        elif problem.code == "message_too_large":
            legacy = "." in params[name]
            values[name] = _size(params[name], code, unit=_MIB if legacy else 1)
    if "after" in params:
        values["after"] = recorded_time(params["after"], code)
    if problem.code in RATE_LIMITS:
        # "1 room", "20 rooms": a limit that is not a number counts as many.
        count = int(params["limit"]) if params["limit"].isdigit() else 2
        reason = wording.say_plural(code, f"problem.{problem.code}", count, **values)
    else:
        reason = say(code, f"problem.{problem.code}", **values)
    hint = say(code, f"problem.{problem.code}.hint", **values)
    return _sentence(reason), hint


def reply_recipient(
    original: EmailMessage,
    *,
    organizers: Collection[str] = (),
    allowed: Callable[[str], bool] | None = None,
) -> str | None:
    """Where a reply to `original` goes: its From address, except for the
    invitation of a CalDAV server.

    From is what the allow-list and authentication check. But Nextcloud, Baïkal
    and other sabre/dav servers, SOGo and iCloud send an invitation From a
    system address, with the organiser in Reply-To and as ORGANIZER: answering
    From would answer nobody. The reply goes to Reply-To when all of this holds:

    - Reply-To names one address, and it passes the allow-list (`allowed`)
      itself: the reply never goes to an address outside it;
    - that address is the ORGANIZER of an event of the invitation. Reply-To is
      not authenticated, so it is taken only where the invitation, sent by the
      authenticated From, names the same person as its organiser;
    - From is not an organiser itself (then From is the one asking).

    Otherwise From, as for every other message.
    """
    sender = headers.sender_address(original)
    reply_to = headers.reply_to_address(original)
    if reply_to is None or allowed is None or reply_to.lower() == (sender or "").lower():
        return sender
    wanted = {address.lower() for address in organizers}
    if sender is not None and sender.lower() in wanted:
        return sender
    if reply_to.lower() in wanted and allowed(reply_to):
        return reply_to
    return sender


# Kept as "Re: " in every language: it is what keeps replies threaded in every
# client, whatever its own language.
REPLY_PREFIX = "Re: "


def reply_subject(original_subject: str, language: str | None = "en") -> str:
    """`Re: <subject>`, on one line, without piling up a second "Re:"."""
    text = headers.one_line(original_subject)
    if len(text) > _MAX_SUBJECT:
        text = text[: _MAX_SUBJECT - 1] + "…"
    if not text:
        return REPLY_PREFIX + say(language, "subject.none")
    if _ALREADY_A_REPLY.match(text):
        return text
    return REPLY_PREFIX + text


def _in_zone(moment: datetime, zone_name: str) -> datetime:
    """`moment` on the wall clock of `zone_name`; unchanged if the zone is unknown."""
    try:
        return moment.astimezone(ZoneInfo(zone_name))
    except (ValueError, KeyError, OSError):
        return moment


def _span(start: datetime, end: datetime, zone: str, language: str) -> str:
    """A meeting's time as every reply line writes it: "Tuesday, 8 December 2026,
    14:30–15:30 (Zurich time)"."""
    day = wording.write_date(start.date(), language, weekday=True)
    begin, finish = wording.write_time(start, language), wording.write_time(end, language)
    if start.date() == end.date():
        span = say(language, "time.same_day", day=day, start=begin, end=finish)
    else:
        end_day = wording.write_date(end.date(), language, weekday=True)
        span = say(language, "time.across_days", day=day, start=begin, end_day=end_day, end=finish)
    return say(language, "time.with_zone", span=span, zone=wording.zone_name(zone, language))


def describe_time(meeting: MeetingRequest, language: str | None = "en") -> str:
    """When the meeting happens, in its own zone, with the zone named as people
    do: `Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)` in English,
    `Mittwoch, 3. Februar 2027, 09:00–10:00 Uhr (Zürcher Zeit)` in German."""
    code = wording.language_code(language)
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    return _span(start, end, headers.one_line(meeting.timezone), code)


def recorded_time(text: str, language: str | None = "en") -> str:
    """A time the bridge recorded numerically (see _RECORDED_TIME), worded as
    the meeting line is: a span like describe_time, a single moment as "10:15
    on Monday, 7 December 2026 (Zurich time)". Any other text is shown as it came."""
    code = wording.language_code(language)
    text = headers.one_line(text)
    match = _RECORDED_TIME.fullmatch(text)
    if match is None:
        return text
    try:
        start = datetime.fromisoformat(f"{match['day']}T{match['start']}")
        if match["end"]:
            end = datetime.fromisoformat(f"{match['day']}T{match['end']}")
        elif match["end_day"]:
            end = datetime.fromisoformat(f"{match['end_day']}T{match['end_at']}")
        else:
            end = None
    except ValueError:
        return text
    zone = match["zone"]
    if end is not None:
        return _span(start, end, zone, code)
    return say(
        code,
        "time.moment",
        day=wording.write_date(start.date(), code, weekday=True),
        time=wording.write_time(start, code),
        zone=wording.zone_name(zone, code),
    )


def _recorded_span(text: str) -> tuple[date, datetime, datetime, str] | None:
    """A recorded time span within one day, as (day, start, end, zone); None
    for any other shape."""
    match = _RECORDED_TIME.fullmatch(headers.one_line(text))
    if match is None or not match["end"]:
        return None
    try:
        start = datetime.fromisoformat(f"{match['day']}T{match['start']}")
        end = datetime.fromisoformat(f"{match['day']}T{match['end']}")
    except ValueError:
        return None
    return start.date(), start, end, match["zone"]


def _describe_recurrence_id(recurrence_id: str, language: str) -> str:
    """A cancelled occurrence's RECURRENCE-ID ("20270315T090000Z"), for people.

    A cancellation does not say the series' zone, so a UTC value is shown as UTC;
    a value of another shape is shown as it came.
    """
    text = headers.one_line(recurrence_id)
    for shape, with_time in (("%Y%m%dT%H%M%SZ", True), ("%Y%m%d", False)):
        try:
            moment = datetime.strptime(text, shape)
        except ValueError:
            continue
        day = wording.write_date(moment.date(), language, weekday=True)
        if not with_time:
            return day
        return say(language, "time.at_utc", day=day, time=wording.write_time(moment, language))
    return text


def _event_uid(meeting: MeetingRequest) -> str:
    """The UID of the event in the reply's .ics.

    The request's own UID lets the requester's calendar merge the kMeet details
    into the event it already holds. A key that carries more than the UID (a
    RECURRENCE-ID: one occurrence of a series) gets its own UID instead, so that
    publishing one occurrence never replaces the whole series.
    """
    key = meeting.key
    if meeting.uid and (key.endswith(meeting.uid) or key.endswith(meeting.uid + ":")):
        return meeting.uid
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + "@kmeet-bridge"


def _utc(moment: datetime) -> datetime:
    # A naive `now` is taken as UTC rather than as the host's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _series_rule(meeting: MeetingRequest, zone: tzinfo | None) -> vRecur | None:
    """The RRULE for the reply's .ics of a series, or None.

    The event starts at the series' first occurrence that has not yet ended, not
    at the original DTSTART, so a COUNT is cut to the occurrences left. A local
    or date-only UNTIL becomes the UTC time RFC 5545 asks for beside a zoned
    DTSTART. A rule icalendar cannot read is left out: the event then holds the
    next occurrence only, which is still true.
    """
    text = meeting.rule.strip().removeprefix("RRULE:") if meeting.rule else ""
    if not text.isprintable():
        return None
    try:
        rule = vRecur.from_ical(text)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if "FREQ" not in rule:
        return None
    if "COUNT" in rule and meeting.occurrences_left is not None:
        rule["COUNT"] = [meeting.occurrences_left]
    if "UNTIL" in rule and zone is not None:
        until = rule["UNTIL"][0]
        if not isinstance(until, datetime):
            until = datetime.combine(until, time(23, 59, 59))
        if until.tzinfo is None:
            rule["UNTIL"] = [until.replace(tzinfo=zone).astimezone(UTC)]
    return rule


def calendar_attachment(
    meeting: MeetingRequest, room: Room, *, now: datetime, language: str | None = "en"
) -> bytes:
    """An iCalendar PUBLISH object holding one VEVENT for the planned meeting;
    for a series, the event carries the series' RRULE. The description's first
    line names the room in `language`.

    No ORGANIZER or ATTENDEE: the file only adds the meeting to the requester's
    own calendar and must not make their client send invitations.
    """
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    description = say(language, "ics.description", url=room.url)
    if meeting.description.strip():
        description += "\n\n" + meeting.description.strip()

    event = Event()
    event.add("uid", _event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", start)
    event.add("dtend", end)
    rule = _series_rule(meeting, start.tzinfo)
    if rule is not None:
        event.add("rrule", rule)
    event.add("summary", headers.one_line(meeting.title))
    event.add("location", room.url)
    event.add("url", room.url)
    # RFC 7986: lets calendar clients show a "join" button.
    event.add(
        "conference",
        room.url,
        parameters=Parameters({"VALUE": "URI", "FEATURE": ["AUDIO", "VIDEO"], "LABEL": "kMeet"}),
    )
    event.add("description", description)
    event.add("status", "CONFIRMED")

    span = _SERIES_TIMEZONE_SPAN if meeting.is_series else _TIMEZONE_MARGIN
    return _calendar("PUBLISH", event, start.date(), end.date() + span)


def calendar_cancellation(meeting: MeetingRequest, *, now: datetime) -> bytes:
    """An iCalendar CANCEL for the event the bridge's earlier .ics added: the same
    UID, `meeting.sequence` (one more than the last sent), STATUS:CANCELLED, so
    that the calendar that imported it removes it rather than keeping it."""
    event = Event()
    event.add("uid", _event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", _in_zone(meeting.start, meeting.timezone))
    event.add("dtend", _in_zone(meeting.end, meeting.timezone))
    event.add("summary", headers.one_line(meeting.title))
    event.add("status", "CANCELLED")
    start = _in_zone(meeting.start, meeting.timezone)
    return _calendar("CANCEL", event, start.date(), start.date() + _TIMEZONE_MARGIN)


def _calendar(method: str, event: Event, first: date, last: date) -> bytes:
    """A calendar object of the bridge holding `event`, with the zones it names
    defined from `first` minus a margin to `last`."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    calendar.add_missing_timezones(first_date=first - _TIMEZONE_MARGIN, last_date=last)
    return calendar.to_ical()


def _attachment_names(count: int) -> list[str]:
    if count == 1:
        return ["kmeet.ics"]
    return [f"kmeet-{index}.ics" for index in range(1, count + 1)]


def _reply_skeleton(
    original: EmailMessage,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str,
    recipient: str | None = None,
) -> EmailMessage:
    """A message with the headers every reply carries: addressing, threading,
    and the marks that keep auto-responders from answering it. `recipient`
    defaults to the From address (see reply_recipient)."""
    recipient = recipient or reply_recipient(original)
    if recipient is None:
        raise ValueError("the original message has no usable From address to reply to")
    domain = from_address.rpartition("@")[2] or "kmeet-bridge.invalid"

    reply = EmailMessage(policy=REPLY_POLICY)
    reply["From"] = Address(display_name=headers.one_line(from_name), addr_spec=from_address)
    reply["To"] = Address(addr_spec=recipient)
    reply["Subject"] = reply_subject(headers.subject(original), language)
    reply["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    reply["Message-ID"] = make_msgid(domain=domain)

    original_id = headers.message_id(original)
    if original_id is not None:
        thread = [ref for ref in headers.references(original) if ref != original_id]
        if len(thread) >= _MAX_REFERENCES:
            thread = thread[:1] + thread[-(_MAX_REFERENCES - 2) :]
        reply["In-Reply-To"] = original_id
        reply["References"] = " ".join([*thread, original_id])

    reply["Auto-Submitted"] = "auto-replied"
    # Exchange and Outlook: send no out-of-office or other automatic answer to this.
    reply["X-Auto-Response-Suppress"] = "All"
    return reply


def _finish(reply: EmailMessage) -> EmailMessage:
    # add_alternative/add_attachment give every sub-part its own MIME-Version;
    # RFC 2045 wants it once, at the top.
    for part in reply.walk():
        if part is not reply:
            del part["MIME-Version"]
    return reply


def _html_document(body: str, language: str) -> str:
    # The lang attribute lets screen readers pronounce the reply in its language.
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif">\n{body}</body></html>\n'
    )


def _html_link(url: str) -> str:
    shown = html.escape(url)
    # Only web addresses become links; anything else is shown as text.
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{shown}</a>'
    return shown


@dataclass(frozen=True)
class _Line:
    """One line of the reply, as the text part shows it and as the HTML part does."""

    text: str
    html: str


@dataclass(frozen=True)
class _Block:
    """Lines shown together: a paragraph, a bulleted list, or lines to copy
    (`to_copy`: set apart, one per line, nothing added to them)."""

    lines: tuple[_Line, ...]
    bulleted: bool = False
    to_copy: bool = False


@dataclass(frozen=True)
class _Item:
    """One event of the message: a heading ("" for none) and what is said of it."""

    heading: str
    blocks: tuple[_Block, ...]


_KEPT_SPACES = re.compile(f"([{NBSP}{NNBSP}])")


def _flat(value: str) -> str:
    """`value` folded to one line as headers.one_line does, but keeping its
    no-break spaces: French typography puts one before ":" and ";" and inside « »."""
    return "".join(
        part if _KEPT_SPACES.fullmatch(part) else headers.one_line(part)
        for part in _KEPT_SPACES.split(value)
    )


def _say(
    template: str, *, strong: bool = False, links: dict[str, str] | None = None, **values: str
) -> _Line:
    """`template` filled in: values folded to one line, and escaped in the HTML
    part, where the values named in `links` become links."""
    plain = {name: _flat(value) for name, value in values.items()}
    linked = {name: _flat(value) for name, value in (links or {}).items()}
    text = template.format(**plain, **linked)
    page = html.escape(template).format(
        **{name: html.escape(value) for name, value in plain.items()},
        **{name: _html_link(value) for name, value in linked.items()},
    )
    return _Line(text, f"<strong>{page}</strong>" if strong else page)


def _labelled(label: str, value: str, language: str) -> _Line:
    value = wording.after_colon(_flat(value), language)
    colon = say(language, "colon")
    return _Line(
        f"{label}{colon} {value}",
        f"<strong>{html.escape(label)}{colon}</strong> {html.escape(value)}",
    )


def _lines_to_copy(lines: Sequence[str]) -> _Block:
    shown = [_flat(line) for line in lines if line.strip()]
    return _Block(tuple(_Line(line, html.escape(line)) for line in shown), to_copy=True)


def note_text(note: Note, language: str | None) -> str:
    """What the request reader assumed or corrected (its note codes, see
    requests.REPLY_NOTES), as the reply says it; "" for a note the reply does not
    repeat. A date is repeated only where the sender wrote words ("demain",
    "Friday") or it was read by an assumption (day first, no year)."""
    code = wording.language_code(language)
    params = {name: headers.one_line(value) for name, value in note.params}

    def day() -> str:
        return wording.write_date(date.fromisoformat(params["day"]), code, weekday=True)

    try:
        if note.code == "no_date":
            return say(code, "note.today", date=day())
        if note.code == "date":
            if any(char.isdigit() for char in params["text"]) and not params.get("how"):
                return ""  # "3 February 2027": the date line says it already
            return say(code, "note.read_as", text=params["text"], date=day())
        if note.code == "no_duration":
            length = wording.write_minutes(int(params["minutes"]), code)
            return say(code, "note.default_length", length=length)
        if note.code == "corrected_word":
            return say(code, "note.corrected_word", text=params["text"], word=params["word"])
        if note.code == "one_reading_ahead":
            return say(
                code,
                "note.one_reading_ahead",
                text=params["text"],
                time=params["time"],
                other=params["other"],
            )
        if note.code == "instant":
            return say(code, "note.instant")
        if note.code == "option_both_ways":
            return say(code, "note.option_conflict", option=say(code, f"option.{params['option']}"))
        if note.code == "recording_not_on":
            return say(code, "note.recording_ignored", text=params["words"])
        if note.code == "attendees_left_out":
            return say(
                code, "note.attendees_left_out", count=params["count"], limit=params["limit"]
            )
    except (KeyError, ValueError):
        return ""
    return ""


def _change_line(change: Change, language: str) -> _Line:
    """One change: a time moved within one day reads "Time: was 14:30–15:30, now
    14:00–15:30 (Tuesday, 8 December 2026, Zurich time)"; any other as before → after."""
    try:
        # A room setting is named as the request's words name it ("Lobby").
        prefix = "" if change.what.startswith("option.") else "change.label."
        label = say(language, f"{prefix}{change.what}")
    except KeyError:
        label = change.what
    if change.what != "time":
        return _say(
            template(language, "change.line"), label=label, before=change.before, after=change.after
        )
    before, after = _recorded_span(change.before), _recorded_span(change.after)
    if before and after and before[0] == after[0] and before[3] == after[3]:
        day, zone = before[0], before[3]
        clocks = [
            say(
                language,
                "time.clock_span",
                start=wording.write_time(start, language),
                end=wording.write_time(end, language),
            )
            for start, end in ((before[1], before[2]), (after[1], after[2]))
        ]
        return _say(
            template(language, "change.same_day"),
            label=label,
            before=clocks[0],
            after=clocks[1],
            day=wording.write_date(day, language, weekday=True),
            zone=wording.zone_name(zone, language),
        )
    return _say(
        template(language, "change.line"),
        label=label,
        before=recorded_time(change.before, language),
        after=recorded_time(change.after, language),
    )


def _planned_item(planned: PlannedMeeting, language: str, *, show_status: bool) -> _Item:
    """A planned meeting: its status, when it is and how to join; then what the
    reader assumed, why a link changed, and what changed."""
    meeting, room = planned.meeting, planned.room
    replanned = planned.status == "replanned"
    blocks: list[_Block] = []
    if show_status:
        status = template(language, f"status.{planned.status}")
        blocks.append(_Block((_say(status, strong=replanned),)))

    when = describe_time(meeting, language)
    lines: list[_Line] = []
    if meeting.is_series:
        start = _in_zone(meeting.start, meeting.timezone)
        rule = recurrence.describe_rule(meeting.rule or "", start, language)
        lines += [
            _say(template(language, "series.repeats"), rule=rule),
            _say(template(language, "series.next"), when=when),
        ]
        left = meeting.occurrences_left
        if left is not None:
            lines.append(_say(wording.plural_template(language, "series.left", left), n=str(left)))
    else:
        lines.append(_say("{when}", when=when))
    # After a replan the link is the news: it is named as the new one.
    label = say(language, "join.new" if replanned else "join")
    url = headers.one_line(room.url)
    colon = say(language, "colon")
    lines.append(
        _Line(
            f"{label}{colon} {url}",
            f"{html.escape(label)}{colon} <strong>{_html_link(url)}</strong>",
        )
    )
    if planned.password:
        lines.append(_say(template(language, "password"), password=planned.password))
    if room.e2ee_enabled:
        lines.append(_say(template(language, "e2ee")))
    blocks.append(_Block(tuple(lines)))

    # Right under the time, where the sender compares them with what they wrote.
    said = [note_text(note, language) for note in meeting.reply_notes]
    notes = tuple(_say("{note}", note=text) for text in said if text.strip())
    if notes:
        blocks += [
            _Block((_say(template(language, "notes.heading")),)),
            _Block(notes, bulleted=True),
        ]
    if replanned:
        old = (
            _say(template(language, "replanned.old"), url=planned.previous_url)
            if planned.previous_url
            else _say(template(language, "replanned.old_unknown"))
        )
        # A room's settings cannot be changed once planned: new settings, new room.
        settings = any(change.what.startswith("option.") for change in planned.changes)
        why = "replanned.why_settings" if settings else "replanned.why"
        blocks.append(_Block((_say(template(language, why)), old)))
    if planned.changes:
        changes = tuple(_change_line(change, language) for change in planned.changes)
        blocks += [
            _Block((_say(template(language, "change.heading")),)),
            _Block(changes, bulleted=True),
        ]
    return _Item(headers.one_line(meeting.title), tuple(blocks))


def _cancelled_item(cancelled: CancelledMeeting, language: str) -> _Item:
    cancellation = cancelled.cancellation
    title = headers.one_line(cancellation.title)
    if cancellation.recurrence_id:
        when = _describe_recurrence_id(cancellation.recurrence_id, language)
        heading = say(language, "cancelled.occurrence", title=title, when=when)
    else:
        heading = say(language, "cancelled.title", title=title)

    if cancelled.organisers_event:
        # The room is released; the event in the calendar is not the bridge's to remove.
        removed = "cancelled.room_removed" if cancelled.room_removed else "cancelled.room_released"
        line = _say(template(language, removed))
        return _Item(
            heading, (_Block((line, _say(template(language, "cancelled.organisers_event")))),)
        )
    if cancelled.room_removed:
        line = _say(template(language, "cancelled.room_removed"))
    elif cancelled.room is None:
        line = _say(template(language, "cancelled.no_room"))
    elif cancellation.recurrence_id:
        # One occurrence is off; the series' room goes on serving the others.
        line = _say(
            template(language, "cancelled.series_room_kept"), links={"url": cancelled.room.url}
        )
    else:
        # Not a link: there is nothing left to join.
        line = _say(template(language, "cancelled.room_unneeded"), url=cancelled.room.url)
    return _Item(heading, (_Block((line,)),))


def _problem_item(problem: EventProblem, language: str) -> _Item:
    subject = headers.one_line(problem.subject)
    reason, hint = problem_text(problem, language)
    # A rate limit is no fault of the message: its labels say why, not what went wrong.
    limit = ".limit" if problem.code in RATE_LIMITS else ""
    reason_label = say(language, f"problem.reason_label{limit}")
    blocks = [_Block((_labelled(reason_label, reason, language),))]
    # A hint's first line says what to do; any further lines are examples the
    # sender can copy, one per line.
    first, *examples = hint.strip().splitlines() or [""]
    if first.strip():
        hint_label = say(language, f"problem.hint_label{limit}")
        blocks.append(_Block((_labelled(hint_label, first, language),)))
    if any(line.strip() for line in examples):
        blocks.append(_lines_to_copy([line.strip() for line in examples]))
    heading = say(language, "problem.heading", subject=subject) if subject else ""
    return _Item(heading, tuple(blocks))


def _intro(
    planned: Sequence[PlannedMeeting],
    cancelled: Sequence[CancelledMeeting],
    problems: Sequence[EventProblem],
    language: str,
) -> tuple[list[_Line], bool]:
    """The opening lines, and whether each planned meeting still needs its own
    status sentence (not when the opening has already said it)."""
    count = len(planned) + len(cancelled) + len(problems)
    if planned and not cancelled and not problems and all(p.status == "new" for p in planned):
        key = "reply.planned.one" if count == 1 else "reply.planned.many"
        if count == 1 and planned[0].meeting.is_series:
            key = "reply.planned.series"
        return [_say(say(language, key, count=count))], False
    if count == 1 and planned:
        status = planned[0].status
        return [_say(template(language, f"status.{status}"), strong=status == "replanned")], False

    if not planned and not problems:
        key = "reply.cancelled.one" if count == 1 else "reply.cancelled.many"
    elif not planned and not cancelled and all(p.code in RATE_LIMITS for p in problems):
        key = "reply.rate_limited"
    elif not planned and not cancelled and all(p.code in CHANGE_REFUSALS for p in problems):
        key = "reply.change_refused"
    elif not planned and not cancelled:
        key = "reply.rejected.one" if count == 1 else "reply.rejected.many"
    else:
        key = "reply.mixed"
    lines = [_say(say(language, key, count=count))]
    # In a list, a changed link must not wait to be found further down.
    replanned = [headers.one_line(p.meeting.title) for p in planned if p.status == "replanned"]
    if replanned:
        titles = wording.join_list(
            [say(language, "reply.quoted", title=title) for title in replanned], language
        )
        links_changed = wording.plural_template(language, "reply.links_changed", len(replanned))
        lines.append(_say(links_changed, strong=True, titles=titles))
    return lines, True


def _calendar_line(planned: PlannedMeeting) -> str:
    """The message that says what the attached .ics does for this meeting."""
    if planned.status in ("updated", "replanned"):
        return "calendar.update"
    return "calendar.series" if planned.meeting.is_series else "calendar.one"


def _render(
    intro: list[_Line], items: list[_Item], closing: list[_Line], language: str
) -> tuple[str, str]:
    """The text and the HTML body: the opening, the items (numbered when there
    are several), the closing lines and the signature."""
    several = len(items) > 1
    indent = "   " if several else ""
    text = [line.text for line in intro] + [""]
    page = [f"<p>{line.html}</p>\n" for line in intro]
    for number, item in enumerate(items, start=1):
        heading = f"{number}. {item.heading}".rstrip() if several else item.heading
        if heading:
            text.append(heading)
            page.append(f"<h3>{html.escape(heading)}</h3>\n")
        for block in item.blocks:
            if block.bulleted:
                text += [f"{indent}- {line.text}" for line in block.lines]
                page.append("<ul>" + "".join(f"<li>{line.html}</li>" for line in block.lines))
                page.append("</ul>\n")
            elif block.to_copy:
                # Set apart by a blank line and an indent, each on a line of its own.
                text += [""] + [f"{indent}    {line.text}" for line in block.lines] + [""]
                page.append(
                    '<p style="margin-left: 2em; font-family: monospace">'
                    + "<br>\n".join(line.html for line in block.lines)
                    + "</p>\n"
                )
            else:
                text += [f"{indent}{line.text}" for line in block.lines]
                page.append("<p>" + "<br>\n".join(line.html for line in block.lines) + "</p>\n")
        if text[-1] != "":
            text.append("")
    signature = say(language, "signature")
    for line in closing:
        text += [line.text, ""]
        page.append(f"<p>{line.html}</p>\n")
    text += ["-- ", signature, ""]
    page.append(f"<p><small>{html.escape(signature)}</small></p>\n")
    return "\n".join(text), _html_document("".join(page), language)


def compose_reply(
    original: EmailMessage,
    *,
    planned: Sequence[PlannedMeeting] = (),
    cancelled: Sequence[CancelledMeeting] = (),
    problems: Sequence[EventProblem] = (),
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
    recipient: str | None = None,
    withdrawn: Sequence[MeetingRequest] = (),
) -> EmailMessage:
    """The one reply to a message: its planned meetings (with what this message
    changed for each), its cancellations and the events that could not be
    planned, in that order, in text and HTML, with one .ics attachment per
    planned meeting. Written in `language` (one of models.LANGUAGES; any other
    is answered in English); a problem with a known code is worded by
    `problem_text`. `withdrawn`: events of the bridge's own earlier .ics that a
    cancellation removes, attached as METHOD:CANCEL (calendar_cancellation)."""
    if not (planned or cancelled or problems):
        raise ValueError(
            "compose_reply needs at least one planned meeting, cancellation or problem"
        )
    for entry in planned:
        if entry.status not in STATUSES:
            raise ValueError(f"unknown status of a planned meeting: {entry.status!r}")
    language = wording.language_code(language)
    intro, show_status = _intro(planned, cancelled, problems, language)
    items = [
        *(_planned_item(p, language, show_status=show_status) for p in planned),
        *(_cancelled_item(c, language) for c in cancelled),
        *(_problem_item(problem, language) for problem in problems),
    ]
    names = _attachment_names(len(planned)) if planned else []
    closing: list[_Line] = []
    if len(names) == 1:
        closing.append(_say(template(language, _calendar_line(planned[0])), filename=names[0]))
    elif names:
        closing.append(_say(template(language, "calendar.many")))
    cancel_names = [] if planned else _attachment_names(len(withdrawn))
    if withdrawn and not planned:
        closing.append(_say(template(language, "calendar.cancel"), filename=cancel_names[0]))
    text, page = _render(intro, items, closing, language)

    reply = _reply_skeleton(
        original,
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
        recipient=recipient,
    )
    # Quoted-printable keeps every part 7-bit clean whatever the SMTP server supports.
    reply.set_content(text, cte="quoted-printable")
    reply.add_alternative(page, subtype="html", cte="quoted-printable")
    for name, entry in zip(names, planned, strict=True):
        reply.add_attachment(
            calendar_attachment(entry.meeting, entry.room, now=now, language=language),
            maintype="text",
            subtype="calendar",
            filename=name,
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    for name, meeting in zip(cancel_names, withdrawn, strict=True):
        reply.add_attachment(
            calendar_cancellation(meeting, now=now),
            maintype="text",
            subtype="calendar",
            filename=name,
            params={"method": "CANCEL", "charset": "utf-8"},
        )
    # Set last: the email package moves Content-* headers into the first sub-part
    # when it turns the message into a multipart.
    reply["Content-Language"] = language
    return _finish(reply)


def compose_planned(
    original: EmailMessage,
    planned: list[tuple[MeetingRequest, Room]],
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
) -> EmailMessage:
    """The reply to a request whose meetings were all just planned: a
    `compose_reply` with status "new" for each."""
    if not planned:
        raise ValueError("compose_planned needs at least one planned meeting")
    return compose_reply(
        original,
        planned=[PlannedMeeting(meeting, room) for meeting, room in planned],
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
    )


def compose_rejection(
    original: EmailMessage,
    reason: str,
    hint: str,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
    code: str = "",
    params: Sequence[tuple[str, str]] = (),
    recipient: str | None = None,
) -> EmailMessage:
    """The reply to a message that cannot be honoured as a whole: what was wrong
    and how to fix it. No attachment. With a `code` (and its `params`) that
    `problem_text` knows, the reason and hint are worded in `language`;
    otherwise `reason` and `hint` are shown as given."""
    problem = EventProblem(subject="", reason=reason, hint=hint, code=code, params=tuple(params))
    return compose_reply(
        original,
        problems=[problem],
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
        recipient=recipient,
    )
