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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters, vRecur

from . import headers, recurrence
from .models import CancelledMeeting, EventProblem, MeetingRequest, PlannedMeeting, Room
from .recurrence import Plural, join_list, plural

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


@dataclass(frozen=True)
class Wording:
    """Everything a reply says in one language. Dates are formatted from these
    names, never through the process locale. Templates name their fields."""

    weekdays: tuple[str, ...]  # Monday first, as datetime.weekday()
    months: tuple[str, ...]  # January first
    reply_prefix: str
    no_subject: str
    # The opening sentence, chosen by what the message asked for.
    planned_one: str
    planned_many: str  # {count}
    cancelled_one: str
    cancelled_many: str  # {count}
    rejected: str
    rejected_many: str  # {count}
    mixed: str  # {count}: planned, cancelled and unplannable events together
    links_changed: Plural  # {titles}: said up front when a list holds a new link
    quoted: str  # {title}, as links_changed names it
    # One sentence per PlannedMeeting.status.
    status: dict[str, str]
    replanned_why: str
    replanned_old: str  # {url}
    replanned_old_unknown: str
    changed: str
    change_labels: dict[str, str]  # by Change.what
    change: str  # {label}, {before}, {after}
    series: str  # {rule}: recurrence.describe_rule's phrase
    next_occurrence: str  # {when}
    occurrences_left: Plural  # {n}, the next occurrence included
    join: str
    join_new: str
    # Cancellations.
    cancelled: str  # {title}
    cancelled_occurrence: str  # {title}, {when}
    room_removed: str
    room_unneeded: str  # {url}
    series_room_kept: str  # {url}
    no_room: str
    # Events that could not be planned.
    not_planned: str  # {subject}
    reason: str
    hint: str
    calendar_one: str  # {filename}
    calendar_many: str
    signature: str


WORDING: dict[str, Wording] = {
    "en": Wording(
        weekdays=recurrence.WORDING["en"].weekdays,
        months=recurrence.WORDING["en"].months,
        reply_prefix="Re: ",
        no_subject="your kMeet request",
        planned_one="Your kMeet conference is planned.",
        planned_many="Your {count} kMeet conferences are planned.",
        cancelled_one="Your cancellation is noted.",
        cancelled_many="Your {count} cancellations are noted.",
        rejected="Your message could not be turned into a kMeet conference.",
        rejected_many=(
            "None of the {count} events in your message could be turned into a kMeet conference."
        ),
        mixed="Here is what became of the {count} events in your message.",
        links_changed=(
            "Please note: the link for {titles} has changed.",
            "Please note: the links for {titles} have changed.",
        ),
        quoted="“{title}”",
        status={
            "new": "Your kMeet conference is planned.",
            "unchanged": "This meeting was already planned: here is the same link again.",
            "updated": "This meeting has changed; it keeps the same link.",
            "replanned": "The link has changed: please use the new link below.",
            "occurrence": (
                "This occurrence of the series uses the series' room:"
                " the link is the same as for the other occurrences."
            ),
        },
        replanned_why=(
            "The meeting now ends after the old room's settings expire, so it has a new room."
        ),
        replanned_old=(
            "The old link {url} no longer carries this meeting's settings;"
            " if you shared it, please pass on the new link instead."
        ),
        replanned_old_unknown=(
            "The old link no longer carries this meeting's settings;"
            " if you shared it, please pass on the new link instead."
        ),
        changed="What changed:",
        change_labels={"time": "Time", "title": "Title"},
        change="{label}: {before} → {after}",
        series="Repeats {rule}",
        next_occurrence="Next occurrence: {when}",
        occurrences_left=(
            "This is the last occurrence of the series.",
            "{n} occurrences are left, the next one included.",
        ),
        join="Join",
        join_new="New link",
        cancelled="Cancelled: {title}",
        cancelled_occurrence="Cancelled: {title}, the occurrence of {when}",
        room_removed="The kMeet room was removed.",
        room_unneeded="The room link {url} is no longer needed; there is nothing else to do.",
        series_room_kept=(
            "The other occurrences keep the link {url} as before; there is nothing else to do."
        ),
        no_room="No kMeet room was planned for it, so there is nothing to remove.",
        not_planned="Not planned: {subject}",
        reason="What went wrong",
        hint="How to fix it",
        calendar_one="To add it to your calendar, open the attached {filename}.",
        calendar_many="To add them to your calendar, open the attached .ics files.",
        signature="This message was sent automatically by kmeet-bridge.",
    ),
}

STATUSES = ("new", "unchanged", "updated", "replanned", "occurrence")


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


def _day(moment: datetime, wording: Wording) -> str:
    weekday = wording.weekdays[moment.weekday()]
    return f"{weekday} {moment.day} {wording.months[moment.month - 1]} {moment.year}"


def describe_time(meeting: MeetingRequest, language: str = "en") -> str:
    """When the meeting happens, in its own zone, with the zone named:
    `Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)`."""
    wording = _wording(language)
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    if start.date() == end.date():
        span = f"{_day(start, wording)}, {start:%H:%M}–{end:%H:%M}"
    else:
        span = f"{_day(start, wording)}, {start:%H:%M} – {_day(end, wording)}, {end:%H:%M}"
    return f"{span} ({headers.one_line(meeting.timezone)})"


def _describe_recurrence_id(recurrence_id: str, wording: Wording) -> str:
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
        return (
            f"{_day(moment, wording)}, {moment:%H:%M} (UTC)" if with_time else _day(moment, wording)
        )
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


def calendar_attachment(meeting: MeetingRequest, room: Room, *, now: datetime) -> bytes:
    """An iCalendar PUBLISH object holding one VEVENT for the planned meeting;
    for a series, the event carries the series' RRULE.

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

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    span = _SERIES_TIMEZONE_SPAN if meeting.is_series else _TIMEZONE_MARGIN
    calendar.add_missing_timezones(
        first_date=start.date() - _TIMEZONE_MARGIN, last_date=end.date() + span
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


@dataclass(frozen=True)
class _Line:
    """One line of the reply, as the text part shows it and as the HTML part does."""

    text: str
    html: str


@dataclass(frozen=True)
class _Block:
    """Lines shown together: a paragraph, or a bulleted list."""

    lines: tuple[_Line, ...]
    bulleted: bool = False


@dataclass(frozen=True)
class _Item:
    """One event of the message: a heading ("" for none) and what is said of it."""

    heading: str
    blocks: tuple[_Block, ...]


def _say(
    template: str, *, strong: bool = False, links: dict[str, str] | None = None, **values: str
) -> _Line:
    """`template` filled in: values folded to one line, and escaped in the HTML
    part, where the values named in `links` become links."""
    plain = {name: headers.one_line(value) for name, value in values.items()}
    linked = {name: headers.one_line(value) for name, value in (links or {}).items()}
    text = template.format(**plain, **linked)
    page = html.escape(template).format(
        **{name: html.escape(value) for name, value in plain.items()},
        **{name: _html_link(value) for name, value in linked.items()},
    )
    return _Line(text, f"<strong>{page}</strong>" if strong else page)


def _labelled(label: str, value: str) -> _Line:
    value = headers.one_line(value)
    return _Line(
        f"{label}: {value}", f"<strong>{html.escape(label)}:</strong> {html.escape(value)}"
    )


def _planned_item(
    planned: PlannedMeeting, wording: Wording, language: str, *, show_status: bool
) -> _Item:
    meeting, room = planned.meeting, planned.room
    replanned = planned.status == "replanned"
    blocks: list[_Block] = []
    if show_status:
        blocks.append(_Block((_say(wording.status[planned.status], strong=replanned),)))
    if replanned:
        old = (
            _say(wording.replanned_old, url=planned.previous_url)
            if planned.previous_url
            else _say(wording.replanned_old_unknown)
        )
        blocks.append(_Block((_say(wording.replanned_why), old)))
    if planned.changes:
        changes = tuple(
            _say(
                wording.change,
                label=wording.change_labels.get(change.what, change.what),
                before=change.before,
                after=change.after,
            )
            for change in planned.changes
        )
        blocks += [_Block((_say(wording.changed),)), _Block(changes, bulleted=True)]

    when = describe_time(meeting, language)
    lines: list[_Line] = []
    if meeting.is_series:
        start = _in_zone(meeting.start, meeting.timezone)
        rule = recurrence.describe_rule(meeting.rule or "", start, language)
        lines += [_say(wording.series, rule=rule), _say(wording.next_occurrence, when=when)]
        left = meeting.occurrences_left
        if left is not None:
            lines.append(_say(plural(wording.occurrences_left, left), n=str(left)))
    else:
        lines.append(_say("{when}", when=when))
    # After a replan the link is the news: it is named as the new one.
    label = wording.join_new if replanned else wording.join
    url = headers.one_line(room.url)
    lines.append(
        _Line(f"{label}: {url}", f"{html.escape(label)}: <strong>{_html_link(url)}</strong>")
    )
    blocks.append(_Block(tuple(lines)))

    notes = tuple(_say("{note}", note=note) for note in meeting.notes if note.strip())
    if notes:
        blocks.append(_Block(notes, bulleted=True))
    return _Item(headers.one_line(meeting.title), tuple(blocks))


def _cancelled_item(cancelled: CancelledMeeting, wording: Wording) -> _Item:
    cancellation = cancelled.cancellation
    title = headers.one_line(cancellation.title)
    if cancellation.recurrence_id:
        when = _describe_recurrence_id(cancellation.recurrence_id, wording)
        heading = wording.cancelled_occurrence.format(title=title, when=when)
    else:
        heading = wording.cancelled.format(title=title)

    if cancelled.room_removed:
        line = _say(wording.room_removed)
    elif cancelled.room is None:
        line = _say(wording.no_room)
    elif cancellation.recurrence_id:
        # One occurrence is off; the series' room goes on serving the others.
        line = _say(wording.series_room_kept, links={"url": cancelled.room.url})
    else:
        # Not a link: there is nothing left to join.
        line = _say(wording.room_unneeded, url=cancelled.room.url)
    return _Item(heading, (_Block((line,)),))


def _problem_item(problem: EventProblem, wording: Wording) -> _Item:
    subject = headers.one_line(problem.subject)
    blocks = [_Block((_labelled(wording.reason, problem.reason),))]
    if problem.hint.strip():
        blocks.append(_Block((_labelled(wording.hint, problem.hint),)))
    heading = wording.not_planned.format(subject=subject) if subject else ""
    return _Item(heading, tuple(blocks))


def _intro(
    planned: Sequence[PlannedMeeting],
    cancelled: Sequence[CancelledMeeting],
    problems: Sequence[EventProblem],
    wording: Wording,
) -> tuple[list[_Line], bool]:
    """The opening lines, and whether each planned meeting still needs its own
    status sentence (not when the opening has already said it)."""
    count = len(planned) + len(cancelled) + len(problems)
    if planned and not cancelled and not problems and all(p.status == "new" for p in planned):
        opening = wording.planned_one if count == 1 else wording.planned_many
        return [_say(opening.format(count=count))], False
    if count == 1 and planned:
        status = planned[0].status
        return [_say(wording.status[status], strong=status == "replanned")], False

    if not planned and not problems:
        opening = wording.cancelled_one if count == 1 else wording.cancelled_many
    elif not planned and not cancelled:
        opening = wording.rejected if count == 1 else wording.rejected_many
    else:
        opening = wording.mixed
    lines = [_say(opening.format(count=count))]
    # In a list, a changed link must not wait to be found further down.
    replanned = [headers.one_line(p.meeting.title) for p in planned if p.status == "replanned"]
    if replanned:
        titles = join_list([wording.quoted.format(title=title) for title in replanned])
        lines.append(
            _say(plural(wording.links_changed, len(replanned)), strong=True, titles=titles)
        )
    return lines, True


def _render(
    intro: list[_Line], items: list[_Item], closing: list[_Line], wording: Wording
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
            else:
                text += [f"{indent}{line.text}" for line in block.lines]
                page.append("<p>" + "<br>\n".join(line.html for line in block.lines) + "</p>\n")
        text.append("")
    for line in closing:
        text += [line.text, ""]
        page.append(f"<p>{line.html}</p>\n")
    text += ["-- ", wording.signature, ""]
    page.append(f"<p><small>{html.escape(wording.signature)}</small></p>\n")
    return "\n".join(text), _html_document("".join(page))


def compose_reply(
    original: EmailMessage,
    *,
    planned: Sequence[PlannedMeeting] = (),
    cancelled: Sequence[CancelledMeeting] = (),
    problems: Sequence[EventProblem] = (),
    from_address: str,
    from_name: str,
    now: datetime,
    language: str = "en",
) -> EmailMessage:
    """The one reply to a message: its planned meetings (with what this message
    changed for each), its cancellations and the events that could not be
    planned, in that order, in text and HTML, with one .ics attachment per
    planned meeting."""
    if not (planned or cancelled or problems):
        raise ValueError(
            "compose_reply needs at least one planned meeting, cancellation or problem"
        )
    for entry in planned:
        if entry.status not in STATUSES:
            raise ValueError(f"unknown status of a planned meeting: {entry.status!r}")
    wording = _wording(language)
    intro, show_status = _intro(planned, cancelled, problems, wording)
    items = [
        *(_planned_item(p, wording, language, show_status=show_status) for p in planned),
        *(_cancelled_item(c, wording) for c in cancelled),
        *(_problem_item(problem, wording) for problem in problems),
    ]
    names = _attachment_names(len(planned)) if planned else []
    closing: list[_Line] = []
    if len(names) == 1:
        closing.append(_say(wording.calendar_one, filename=names[0]))
    elif names:
        closing.append(_say(wording.calendar_many))
    text, page = _render(intro, items, closing, wording)

    reply = _reply_skeleton(
        original, from_address=from_address, from_name=from_name, now=now, language=language
    )
    # Quoted-printable keeps every part 7-bit clean whatever the SMTP server supports.
    reply.set_content(text, cte="quoted-printable")
    reply.add_alternative(page, subtype="html", cte="quoted-printable")
    for name, entry in zip(names, planned, strict=True):
        reply.add_attachment(
            calendar_attachment(entry.meeting, entry.room, now=now),
            maintype="text",
            subtype="calendar",
            filename=name,
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return _finish(reply)


def compose_planned(
    original: EmailMessage,
    planned: list[tuple[MeetingRequest, Room]],
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str = "en",
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
    language: str = "en",
) -> EmailMessage:
    """The reply to a message that cannot be honoured as a whole: what was wrong
    and how to fix it. No attachment."""
    return compose_reply(
        original,
        problems=[EventProblem(subject="", reason=reason, hint=hint)],
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
    )
