"""Compose the bridge's answers to a requester (design.md, "The reply").

Pure functions: everything, the clock included, comes in as arguments, and the
result is an `EmailMessage` ready for the mailer. Values taken from the incoming
message or the meeting are never trusted: they are folded to one line before
they reach a header, and escaped before they reach the HTML part.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters

from . import headers
from .models import MeetingRequest, Room

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


@dataclass(frozen=True)
class Wording:
    """Everything a reply says in one language. Dates are formatted from these
    names, never through the process locale."""

    weekdays: tuple[str, ...]  # Monday first, as datetime.weekday()
    months: tuple[str, ...]  # January first
    reply_prefix: str
    no_subject: str
    planned_one: str
    planned_many: str  # formatted with {count}
    calendar_one: str  # formatted with {filename}
    calendar_many: str
    join: str
    rejected: str
    reason: str
    hint: str
    signature: str


WORDING: dict[str, Wording] = {
    "en": Wording(
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        reply_prefix="Re: ",
        no_subject="your kMeet request",
        planned_one="Your kMeet conference is planned.",
        planned_many="Your {count} kMeet conferences are planned.",
        calendar_one="To add it to your calendar, open the attached {filename}.",
        calendar_many="To add them to your calendar, open the attached .ics files.",
        join="Join",
        rejected="Your message could not be turned into a kMeet conference.",
        reason="What went wrong",
        hint="How to fix it",
        signature="This message was sent automatically by kmeet-bridge.",
    ),
}


def _wording(language: str) -> Wording:
    return WORDING.get(language, WORDING["en"])


def reply_recipient(original: EmailMessage) -> str | None:
    """Where a reply to `original` goes: its From address, never its Reply-To.

    The sender allow-list is checked against From. Answering Reply-To instead
    would let anyone on the allow-list (or anyone forging a From on it) aim the
    bridge's mail at a third party.
    """
    return headers.sender_address(original)


def reply_subject(original_subject: str, language: str = "en") -> str:
    """`Re: <subject>`, on one line, without piling up a second "Re:"."""
    text = headers.one_line(original_subject)
    if len(text) > _MAX_SUBJECT:
        text = text[: _MAX_SUBJECT - 1] + "…"
    wording = _wording(language)
    if not text:
        return wording.reply_prefix + wording.no_subject
    if _ALREADY_A_REPLY.match(text):
        return text
    return wording.reply_prefix + text


def _in_zone(moment: datetime, zone_name: str) -> datetime:
    """`moment` on the wall clock of `zone_name`; unchanged if the zone is unknown."""
    try:
        return moment.astimezone(ZoneInfo(zone_name))
    except (ValueError, KeyError, OSError):
        return moment


def describe_time(meeting: MeetingRequest, language: str = "en") -> str:
    """When the meeting happens, in its own zone, with the zone named:
    `Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)`."""
    wording = _wording(language)
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)

    def day(moment: datetime) -> str:
        weekday = wording.weekdays[moment.weekday()]
        return f"{weekday} {moment.day} {wording.months[moment.month - 1]} {moment.year}"

    if start.date() == end.date():
        span = f"{day(start)}, {start:%H:%M}–{end:%H:%M}"
    else:
        span = f"{day(start)}, {start:%H:%M} – {day(end)}, {end:%H:%M}"
    return f"{span} ({headers.one_line(meeting.timezone)})"


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


def calendar_attachment(meeting: MeetingRequest, room: Room, *, now: datetime) -> bytes:
    """An iCalendar PUBLISH object holding one VEVENT for the planned meeting.

    No ORGANIZER or ATTENDEE: the file only adds the meeting to the requester's
    own calendar and must not make their client send invitations.
    """
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    description = f"kMeet: {room.url}"
    if meeting.description.strip():
        description += "\n\n" + meeting.description.strip()

    event = Event()
    event.add("uid", _event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", start)
    event.add("dtend", end)
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

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    calendar.add_missing_timezones(
        first_date=start.date() - _TIMEZONE_MARGIN, last_date=end.date() + _TIMEZONE_MARGIN
    )
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
) -> EmailMessage:
    """A message with the headers every reply carries: addressing, threading,
    and the marks that keep auto-responders from answering it."""
    recipient = reply_recipient(original)
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


def _html_document(body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif">\n{body}</body></html>\n'
    )


def _html_link(url: str) -> str:
    shown = html.escape(url)
    # Only web addresses become links; anything else is shown as text.
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{shown}</a>'
    return shown


def compose_planned(
    original: EmailMessage,
    planned: list[tuple[MeetingRequest, Room]],
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str = "en",
) -> EmailMessage:
    """The reply to a request that was planned: the room URL, title and time of
    each meeting, in text and HTML, with one .ics attachment per meeting."""
    if not planned:
        raise ValueError("compose_planned needs at least one planned meeting")
    wording = _wording(language)
    names = _attachment_names(len(planned))
    several = len(planned) > 1

    text_lines = [
        wording.planned_many.format(count=len(planned)) if several else wording.planned_one,
        "",
    ]
    html_parts = [
        "<p>"
        + html.escape(
            wording.planned_many.format(count=len(planned)) if several else wording.planned_one
        )
        + "</p>\n"
    ]
    for index, (meeting, room) in enumerate(planned, start=1):
        title = headers.one_line(meeting.title)
        when = describe_time(meeting, language)
        notes = [headers.one_line(note) for note in meeting.notes if note.strip()]
        indent = "   " if several else ""
        text_lines.append(f"{index}. {title}" if several else title)
        text_lines.append(f"{indent}{when}")
        text_lines.append(f"{indent}{wording.join}: {room.url}")
        text_lines.extend(f"{indent}- {note}" for note in notes)
        text_lines.append("")

        heading = f"{index}. {title}" if several else title
        html_parts.append(
            f"<h3>{html.escape(heading)}</h3>\n"
            f"<p>{html.escape(when)}<br>\n"
            f"{html.escape(wording.join)}: <strong>{_html_link(room.url)}</strong></p>\n"
        )
        if notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
            html_parts.append(f"<ul>{items}</ul>\n")

    calendar_line = (
        wording.calendar_many if several else wording.calendar_one.format(filename=names[0])
    )
    text_lines += [calendar_line, "", "-- ", wording.signature, ""]
    html_parts.append(f"<p>{html.escape(calendar_line)}</p>\n")
    html_parts.append(f"<p><small>{html.escape(wording.signature)}</small></p>\n")

    reply = _reply_skeleton(
        original, from_address=from_address, from_name=from_name, now=now, language=language
    )
    # Quoted-printable keeps every part 7-bit clean whatever the SMTP server supports.
    reply.set_content("\n".join(text_lines), cte="quoted-printable")
    reply.add_alternative(
        _html_document("".join(html_parts)), subtype="html", cte="quoted-printable"
    )
    for name, (meeting, room) in zip(names, planned, strict=True):
        reply.add_attachment(
            calendar_attachment(meeting, room, now=now),
            maintype="text",
            subtype="calendar",
            filename=name,
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return _finish(reply)


def compose_rejection(
    original: EmailMessage,
    reason: str,
    hint: str,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str = "en",
) -> EmailMessage:
    """The reply to a request that cannot be honoured: what was wrong and how
    to fix it. No attachment."""
    wording = _wording(language)
    reason = headers.one_line(reason)
    hint = headers.one_line(hint)

    text_lines = [wording.rejected, "", f"{wording.reason}: {reason}"]
    html_body = (
        f"<p>{html.escape(wording.rejected)}</p>\n"
        f"<p><strong>{html.escape(wording.reason)}:</strong> {html.escape(reason)}</p>\n"
    )
    if hint:
        text_lines.append(f"{wording.hint}: {hint}")
        html_body += f"<p><strong>{html.escape(wording.hint)}:</strong> {html.escape(hint)}</p>\n"
    text_lines += ["", "-- ", wording.signature, ""]
    html_body += f"<p><small>{html.escape(wording.signature)}</small></p>\n"

    reply = _reply_skeleton(
        original, from_address=from_address, from_name=from_name, now=now, language=language
    )
    reply.set_content("\n".join(text_lines), cte="quoted-printable")
    reply.add_alternative(_html_document(html_body), subtype="html", cte="quoted-printable")
    return _finish(reply)
