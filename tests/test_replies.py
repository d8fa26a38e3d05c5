"""Composing replies: exact headers, bodies and calendar attachment, no servers."""

from __future__ import annotations

import email
import html
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from kmeet_bridge.models import (
    Attendee,
    Cancellation,
    CancelledMeeting,
    Change,
    EventProblem,
    MeetingRequest,
    Note,
    PlannedMeeting,
    Room,
)
from kmeet_bridge.replies import replies

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
URL = "https://kmeet.infomaniak.com/abc-defg-hij"
HOSTILE_TITLE = '<script>alert(1)</script> & "x"'

ORIGINAL = (
    b"From: Alice Example <alice@EXAMPLE.com>\n"
    b"Reply-To: victim@example.net\n"
    b"To: meet@example.com\n"
    b"Subject: Budget review\n"
    b"Message-ID: <m1@example.com>\n"
    b"References: <r0@example.com> <r1@example.com>\n"
    b"Date: Thu, 14 Jan 2027 10:00:00 +0100\n"
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def original(header_block: bytes = ORIGINAL) -> EmailMessage:
    return parse(header_block + b"\nPlease plan it.\n")


def zurich_meeting(title: str = "Budget review", **changes: object) -> MeetingRequest:
    values: dict[str, object] = {
        "key": "ics:alice@example.com:uid-1:",
        "title": title,
        "start": datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH),
        "end": datetime(2027, 2, 3, 10, 0, tzinfo=ZURICH),
        "timezone": "Europe/Zurich",
        "uid": "uid-1",
        "attendees": (Attendee("bob@example.org", "Bob", "NEEDS-ACTION", False),),
    }
    values.update(changes)
    return MeetingRequest(**values)  # type: ignore[arg-type]


def new_york_meeting() -> MeetingRequest:
    return MeetingRequest(
        key="request:<m1@example.com>",
        title="Launch sync",
        # Given in UTC on purpose: the reply must speak New York time.
        start=datetime(2027, 7, 4, 18, 30, tzinfo=UTC),
        end=datetime(2027, 7, 4, 19, 15, tzinfo=UTC),
        timezone="America/New_York",
        source="request",
    )


ROOM = Room(
    url=URL,
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    id=155910,
    code="123456",
    event_id=4242,
)
ROOM_2 = Room(url="https://kmeet.infomaniak.com/xyz-uvwx-rst", name="xyz-uvwx-rst", hostname="h")


def planned(
    meetings: list[tuple[MeetingRequest, Room]] | None = None,
    source: EmailMessage | None = None,
) -> EmailMessage:
    return replies.compose_planned(
        source if source is not None else original(),
        meetings if meetings is not None else [(zurich_meeting(), ROOM)],
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
    )


def rejection(source: EmailMessage | None = None, hint: str = "Add a time.") -> EmailMessage:
    return replies.compose_rejection(
        source if source is not None else original(),
        "The invitation has no start time.",
        hint,
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
    )


def reply_to(
    *,
    planned: list[PlannedMeeting] | None = None,
    cancelled: list[CancelledMeeting] | None = None,
    problems: list[EventProblem] | None = None,
) -> EmailMessage:
    """`compose_reply` to the usual original, serialised and parsed back."""
    return reparse(
        replies.compose_reply(
            original(),
            planned=planned or (),
            cancelled=cancelled or (),
            problems=problems or (),
            from_address="meet@example.com",
            from_name="kMeet",
            now=NOW,
        )
    )


def reparse(reply: EmailMessage) -> EmailMessage:
    """The reply as the recipient's server sees it: serialised, then parsed."""
    return parse(reply.as_bytes(policy=policy.SMTP))


def text_of(reply: EmailMessage) -> str:
    part = reply.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")  # SMTP line ends, read back


def html_of(reply: EmailMessage) -> str:
    part = reply.get_body(("html",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def ics_parts(reply: EmailMessage) -> list[EmailMessage]:
    return [part for part in reply.iter_attachments() if part.get_content_type() == "text/calendar"]


def prop(component: Event, name: str) -> Any:
    """A property of a parsed component, loosely typed for asserting on."""
    return component[name]


def only_event(part: EmailMessage) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(part.get_content())
    events = calendar.events
    assert len(events) == 1
    return calendar, events[0]


# --- headers -------------------------------------------------------------------


@pytest.mark.parametrize("compose", [planned, rejection])
def test_reply_headers(compose: Callable[[], EmailMessage]) -> None:
    reply = reparse(compose())
    assert reply["From"] == "kMeet <meet@example.com>"
    # From, not Reply-To: the allow-list vouches for From only.
    assert reply["To"] == "alice@example.com"
    assert reply["Subject"] == "Re: Budget review"
    assert reply["In-Reply-To"] == "<m1@example.com>"
    assert reply["References"] == "<r0@example.com> <r1@example.com> <m1@example.com>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Date"] == "Fri, 15 Jan 2027 08:30:00 +0000"
    assert reply["Message-ID"].startswith("<")
    assert reply["Message-ID"].endswith("@example.com>")
    assert reply["Message-ID"] != "<m1@example.com>"
    assert reply.get_all("Reply-To") is None
    assert reply.get_all("Bcc") is None


def test_message_ids_are_fresh() -> None:
    assert planned()["Message-ID"] != planned()["Message-ID"]


def test_no_message_id_means_no_threading_headers() -> None:
    source = original(b"From: alice@example.com\nSubject: kmeet 2027-02-03 09:00\n")
    for reply in (reparse(planned(source=source)), reparse(rejection(source=source))):
        assert reply.get_all("In-Reply-To") is None
        assert reply.get_all("References") is None
        assert reply["Subject"] == "Re: kmeet 2027-02-03 09:00"


def test_references_without_header_is_just_the_message_id() -> None:
    source = original(b"From: alice@example.com\nSubject: x\nMessage-ID: <only@example.com>\n")
    reply = reparse(planned(source=source))
    assert reply["In-Reply-To"] == "<only@example.com>"
    assert reply["References"] == "<only@example.com>"


def test_long_thread_keeps_first_and_latest_references() -> None:
    ids = [f"<r{n}@example.com>" for n in range(30)]
    source = original(
        b"From: alice@example.com\nSubject: x\nMessage-ID: <m1@example.com>\n"
        b"References: " + " ".join(ids).encode() + b"\n"
    )
    reply = reparse(planned(source=source))
    expected = [ids[0], *ids[-18:], "<m1@example.com>"]
    assert reply["References"].split() == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Budget review", "Re: Budget review"),
        ("Re: Budget review", "Re: Budget review"),
        ("RE: Budget review", "RE: Budget review"),
        ("Re : Budget review", "Re : Budget review"),
        ("re:Budget review", "re:Budget review"),
        ("Re: Re: Budget review", "Re: Re: Budget review"),
        ("Fwd: Budget review", "Re: Fwd: Budget review"),
        ("Rendez-vous", "Re: Rendez-vous"),
        ("", "Re: your kMeet request"),
        ("  Budget\r\n review ", "Re: Budget review"),
        ("x" * 300, "Re: " + "x" * 199 + "…"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert replies.reply_subject(subject) == expected


def test_subject_newline_injection_adds_no_header() -> None:
    source = original(
        b"From: alice@example.com\nMessage-ID: <m1@example.com>\n"
        b"Subject: =?utf-8?q?Budget=0D=0ABcc:_victim@example.net=0D=0A=0D=0Abody?=\n"
    )
    raw = planned(source=source).as_bytes(policy=policy.SMTP)
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in header_block.split(b"\r\n"))
    reply = parse(raw)
    assert reply.get_all("Bcc") is None
    assert reply["Subject"] == "Re: Budget Bcc: victim@example.net body"


def test_non_ascii_subject_and_name_are_encoded() -> None:
    source = original(
        b"From: =?utf-8?q?J=C3=BCrg?= <juerg@example.ch>\nMessage-ID: <m1@example.com>\n"
        b"Subject: =?utf-8?q?Sitzung_Z=C3=BCrich?=\n"
    )
    reply = replies.compose_planned(
        source,
        [(zurich_meeting(), ROOM)],
        from_address="meet@example.com",
        from_name="kMeet Zürich",
        now=NOW,
    )
    raw = reply.as_bytes(policy=policy.SMTP)
    raw.decode("ascii")  # every part is 7-bit clean
    back = parse(raw)
    assert back["Subject"] == "Re: Sitzung Zürich"
    assert back["From"] == "kMeet Zürich <meet@example.com>"
    assert back["To"] == "juerg@example.ch"


def test_no_usable_sender_is_refused() -> None:
    source = original(b"From: a@\nSubject: x\n")
    with pytest.raises(ValueError, match="no usable From address"):
        planned(source=source)
    assert replies.reply_recipient(source) is None


def test_reply_recipient_ignores_reply_to() -> None:
    assert replies.reply_recipient(original()) == "alice@example.com"


def _allowed(address: str) -> bool:
    return address.lower().endswith(("@example.com", "@example.org"))


# A CalDAV server's invitation (sabre/dav: Nextcloud, Baïkal; SOGo; iCloud) comes
# From a system address with the organiser in Reply-To and as ORGANIZER.
@pytest.mark.parametrize(
    ("sender", "reply_to", "organizers", "expected"),
    [
        # The server's shape: Reply-To allowed and the organiser: answer Reply-To.
        ("cloud@example.org", "Ana <ana@example.com>", {"ana@example.com"}, "ana@example.com"),
        ("cloud@example.org", "ANA@EXAMPLE.COM", {"ana@example.com"}, "ANA@example.com"),
        # Reply-To outside the allow-list: never answered; From is.
        ("cloud@example.org", "ana@example.net", {"ana@example.net"}, "cloud@example.org"),
        # Reply-To allowed but not the organiser (not authenticated, not tied to
        # the invitation): From.
        ("cloud@example.org", "carl@example.com", {"ana@example.com"}, "cloud@example.org"),
        # A plain request (no organiser): From, whatever Reply-To says.
        ("bob@example.com", "carl@example.com", set(), "bob@example.com"),
        # From is itself an organiser: it is the one asking.
        (
            "bob@example.com",
            "ana@example.com",
            {"bob@example.com", "ana@example.com"},
            "bob@example.com",
        ),
        # Two Reply-To addresses: none is chosen.
        (
            "cloud@example.org",
            "ana@example.com, carl@example.com",
            {"ana@example.com"},
            "cloud@example.org",
        ),
    ],
)
def test_reply_recipient_of_a_calendar_servers_invitation(
    sender: str, reply_to: str, organizers: set[str], expected: str
) -> None:
    source = original(f"From: {sender}\nReply-To: {reply_to}\nSubject: Invitation\n".encode())
    chosen = replies.reply_recipient(source, organizers=organizers, allowed=_allowed)
    assert chosen == expected


def test_reply_goes_to_the_chosen_recipient() -> None:
    source = original(b"From: cloud@example.org\nReply-To: ana@example.com\nSubject: x\n")
    back = reparse(
        replies.compose_rejection(
            source,
            "It ended.",
            "",
            from_address="meet@example.com",
            from_name="kMeet",
            now=datetime(2027, 1, 14, tzinfo=UTC),
            recipient="ana@example.com",
        )
    )
    assert back["To"] == "ana@example.com"


# --- body ----------------------------------------------------------------------


def test_structure_of_planned_reply() -> None:
    reply = reparse(planned())
    assert reply.get_content_type() == "multipart/mixed"
    body, attachment = cast(list[EmailMessage], reply.get_payload())
    assert body.get_content_type() == "multipart/alternative"
    alternatives = cast(list[EmailMessage], body.get_payload())
    assert [part.get_content_type() for part in alternatives] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "kmeet.ics"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_param("charset") == "utf-8"
    assert [part for part in reply.walk() if part.get_all("MIME-Version")] == [reply]


def test_planned_text_exact() -> None:
    assert text_of(reparse(planned())) == (
        "Your kMeet meeting has been scheduled.\n"
        "\n"
        "Budget review\n"
        "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
        f"Join link: {URL}\n"
        "\n"
        "To add the meeting to your calendar, open the attached file (kmeet.ics).\n"
        "\n"
        "-- \n"
        "This is an automatic message from kmeet-bridge.\n"
    )


def test_planned_html_links_the_url() -> None:
    page = html_of(reparse(planned()))
    assert f'<a href="{URL}">{URL}</a>' in page
    assert "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)" in page
    assert "<h3>Budget review</h3>" in page


def test_hostile_values_are_escaped_in_html() -> None:
    hostile_room = Room(url='https://kmeet.example.com/a"><img src=x>', name="a", hostname="h")
    meeting = zurich_meeting(
        title=HOSTILE_TITLE, reply_notes=(Note("recording_not_on", (("words", "<b>note</b>"),)),)
    )
    reply = reparse(planned([(meeting, hostile_room)]))
    page = html_of(reply)
    assert "<h3>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;</h3>" in page
    assert (
        "<li>Recording cannot be turned on by email: “&lt;b&gt;note&lt;/b&gt;” was ignored.</li>"
    ) in page
    assert (
        '<a href="https://kmeet.example.com/a&quot;&gt;&lt;img src=x&gt;">'
        "https://kmeet.example.com/a&quot;&gt;&lt;img src=x&gt;</a>"
    ) in page
    for raw in ("<script>", '"x"', "<b>", "<img"):
        assert raw not in page
    # Plain text needs no escaping: the title reads as written.
    assert f"{HOSTILE_TITLE}\n" in text_of(reply)


def test_non_web_url_is_not_linked() -> None:
    room = Room(url="javascript:alert(1)", name="a", hostname="h")
    page = html_of(reparse(planned([(zurich_meeting(), room)])))
    assert "<strong>javascript:alert(1)</strong>" in page
    assert "href" not in page


def test_reply_notes_are_listed_and_english_notes_are_not() -> None:
    meeting = zurich_meeting(
        notes=("language: English", 'date "tomorrow" read as Wednesday 3 February 2027'),
        reply_notes=(
            Note("date", (("day", "2027-02-03"), ("text", "tomorrow"))),
            Note("date", (("day", "2027-02-03"), ("text", "3 February 2027"))),  # as written
            Note("no_duration", (("minutes", "60"),)),
            Note("some_future_code"),  # not worded by the catalogs: left out
        ),
    )
    text = text_of(reparse(planned([(meeting, ROOM)])))
    assert (
        f"Join link: {URL}\n"
        "Please check how we read your message:\n"
        "- “tomorrow” taken to mean Wednesday, 3 February 2027.\n"
        "- No length given, so 60 minutes.\n\nTo add"
    ) in text
    assert "language: English" not in text and "read as Wednesday 3" not in text


def test_several_meetings() -> None:
    reply = reparse(planned([(zurich_meeting(), ROOM), (new_york_meeting(), ROOM_2)]))
    assert text_of(reply) == (
        "Your 2 kMeet meetings have been scheduled.\n"
        "\n"
        "1. Budget review\n"
        "   Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
        f"   Join link: {URL}\n"
        "\n"
        "2. Launch sync\n"
        "   Sunday, 4 July 2027, 14:30–15:15 (New York time)\n"
        "   Join link: https://kmeet.infomaniak.com/xyz-uvwx-rst\n"
        "\n"
        "To add the meetings to your calendar, open the attached .ics files.\n"
        "\n"
        "-- \n"
        "This is an automatic message from kmeet-bridge.\n"
    )
    parts = ics_parts(reply)
    assert [part.get_filename() for part in parts] == ["kmeet-1.ics", "kmeet-2.ics"]
    assert only_event(parts[0])[1]["SUMMARY"] == "Budget review"
    assert only_event(parts[1])[1]["SUMMARY"] == "Launch sync"


def test_empty_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        planned([])


# --- describe_time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        (zurich_meeting(), "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)"),
        (new_york_meeting(), "Sunday, 4 July 2027, 14:30–15:15 (New York time)"),
        (
            zurich_meeting(
                start=datetime(2027, 10, 30, 23, 30, tzinfo=ZURICH),
                end=datetime(2027, 10, 31, 1, 0, tzinfo=ZURICH),
            ),
            "Saturday, 30 October 2027, 23:30 – Sunday, 31 October 2027, 01:00 (Zurich time)",
        ),
    ],
)
def test_describe_time(meeting: MeetingRequest, expected: str) -> None:
    assert replies.describe_time(meeting) == expected


def test_new_york_time_line_in_body() -> None:
    text = text_of(reparse(planned([(new_york_meeting(), ROOM)])))
    assert "Launch sync\nSunday, 4 July 2027, 14:30–15:15 (New York time)\n" in text


# --- .ics attachment ---------------------------------------------------------------


def test_ics_zurich_exact() -> None:
    (part,) = ics_parts(reparse(planned()))
    data = part.get_content()
    calendar, event = only_event(part)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["VERSION"] == "2.0"
    assert event["UID"] == "uid-1"
    assert event["SUMMARY"] == "Budget review"
    assert prop(event, "DTSTART").dt == datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH)
    assert prop(event, "DTSTART").params["TZID"] == "Europe/Zurich"
    assert prop(event, "DTEND").dt == datetime(2027, 2, 3, 10, 0, tzinfo=ZURICH)
    assert prop(event, "DTEND").params["TZID"] == "Europe/Zurich"
    assert prop(event, "DTSTAMP").dt == NOW
    assert event["LOCATION"] == URL
    assert event["URL"] == URL
    assert prop(event, "CONFERENCE") == URL
    assert prop(event, "CONFERENCE").params["VALUE"] == "URI"
    assert prop(event, "CONFERENCE").params["LABEL"] == "kMeet"
    assert event["DESCRIPTION"] == f"kMeet: {URL}"
    assert "ORGANIZER" not in event
    assert "ATTENDEE" not in event
    unfolded = data.replace("\r\n ", "").replace("\n ", "")
    assert "DTSTART;TZID=Europe/Zurich:20270203T090000" in unfolded
    assert "DTEND;TZID=Europe/Zurich:20270203T100000" in unfolded
    assert f"CONFERENCE;FEATURE=AUDIO,VIDEO;LABEL=kMeet;VALUE=URI:{URL}" in unfolded
    assert [tz["TZID"] for tz in calendar.timezones] == ["Europe/Zurich"]
    assert calendar.get_missing_tzids() == set()


def test_ics_new_york_exact() -> None:
    (part,) = ics_parts(reparse(planned([(new_york_meeting(), ROOM)])))
    calendar, event = only_event(part)
    unfolded = part.get_content().replace("\r\n ", "").replace("\n ", "")
    assert "DTSTART;TZID=America/New_York:20270704T143000" in unfolded
    assert "DTEND;TZID=America/New_York:20270704T151500" in unfolded
    assert prop(event, "DTSTART").dt == datetime(2027, 7, 4, 14, 30, tzinfo=NEW_YORK)
    assert [tz["TZID"] for tz in calendar.timezones] == ["America/New_York"]
    # A plain request has no UID of its own: one derived from its key, stable.
    assert event["UID"] == "301bb85033c3c5b67e2c6a9e9f0f06b6@kmeet-bridge"


def test_ics_occurrence_of_a_series_gets_its_own_uid() -> None:
    meeting = zurich_meeting(key="ics:alice@example.com:uid-1:20270203T080000Z")
    (part,) = ics_parts(reparse(planned([(meeting, ROOM)])))
    uid = str(only_event(part)[1]["UID"])
    assert uid != "uid-1"
    assert uid.endswith("@kmeet-bridge")


def test_ics_keeps_description_and_sequence() -> None:
    meeting = zurich_meeting(description="Agenda:\n1. Numbers", sequence=3)
    (part,) = ics_parts(reparse(planned([(meeting, ROOM)])))
    event = only_event(part)[1]
    assert event["DESCRIPTION"] == f"kMeet: {URL}\n\nAgenda:\n1. Numbers"
    assert event["SEQUENCE"] == 3


# --- rejection -----------------------------------------------------------------


def test_rejection_exact() -> None:
    reply = reparse(rejection())
    assert reply.get_content_type() == "multipart/alternative"
    assert list(reply.iter_attachments()) == []
    assert text_of(reply) == (
        "We could not set up a kMeet meeting from your message.\n"
        "\n"
        "What went wrong: The invitation has no start time.\n"
        "What to do: Add a time.\n"
        "\n"
        "-- \n"
        "This is an automatic message from kmeet-bridge.\n"
    )
    page = html_of(reply)
    assert "<strong>What went wrong:</strong> The invitation has no start time.</p>" in page
    assert "<strong>What to do:</strong> Add a time.</p>" in page


def test_rejection_without_hint() -> None:
    reply = reparse(rejection(hint=""))
    assert "What to do" not in text_of(reply)
    assert "What to do" not in html_of(reply)


def test_rejection_escapes_reason_in_html() -> None:
    reply = replies.compose_rejection(
        original(),
        '"<b>" is not a time',
        "Write <HH:MM>.",
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
    )
    page = html_of(reparse(reply))
    assert "&quot;&lt;b&gt;&quot; is not a time" in page
    assert "Write &lt;HH:MM&gt;." in page
    assert "<b>" not in page


# --- compose_reply: one reply for everything a message asked -----------------------

OLD_URL = "https://kmeet.infomaniak.com/old-link-abc"
# The time change of TIME_CHANGE (one day, one zone) as a reply words it.
TIME_CHANGED = "- Time: was 09:00–10:00, now 09:00–11:00 (Wednesday, 3 February 2027, Zurich time)"
CALENDAR_UPDATE = (
    "To update your calendar, open the attached file (kmeet.ics);"
    " it replaces the entry you already have."
)
SIGNATURE = "\n-- \nThis is an automatic message from kmeet-bridge.\n"
# As updates.time_text records it.
TIME_CHANGE = Change(
    "time", "2027-02-03 09:00–10:00 (Europe/Zurich)", "2027-02-03 09:00–11:00 (Europe/Zurich)"
)
TITLE_CHANGE = Change("title", "Budget", "Budget review")


def weekly_series(**changes: object) -> MeetingRequest:
    values: dict[str, object] = {
        "start": datetime(2027, 3, 15, 10, 0, tzinfo=ZURICH),
        "end": datetime(2027, 3, 15, 11, 0, tzinfo=ZURICH),
        "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
        "occurrences_left": 7,
    }
    values.update(changes)
    return zurich_meeting("Weekly sync", **values)


def cancellation(title: str = "Team lunch", **changes: object) -> Cancellation:
    values: dict[str, object] = {"key": "ics:alice@example.com:uid-9:", "title": title}
    values["uid"] = "uid-9"
    values.update(changes)
    return Cancellation(**values)  # type: ignore[arg-type]


BUDGET_BLOCK = (
    "Budget review\n"
    "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
    f"Join link: {URL}\n"
    "\n"
    "To add the meeting to your calendar, open the attached file (kmeet.ics).\n"
)


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        ("new", "Your kMeet meeting has been scheduled."),
        ("unchanged", "This meeting has already been scheduled. Here is its link again."),
        ("updated", "This meeting has been updated. The link stays the same."),
        (
            "occurrence",
            "This meeting of the series uses the link of the whole series,"
            " the same as for its other meetings.",
        ),
    ],
)
def test_one_planned_meeting_opens_with_its_status(status: str, sentence: str) -> None:
    reply = reply_to(planned=[PlannedMeeting(zurich_meeting(), ROOM, status)])
    block = BUDGET_BLOCK
    if status == "updated":  # the attachment updates the calendar entry
        block = block.replace(
            "To add the meeting to your calendar, open the attached file (kmeet.ics).",
            CALENDAR_UPDATE,
        )
    assert text_of(reply) == f"{sentence}\n\n{block}{SIGNATURE}"
    assert html_of(reply).count(f"<p>{html.escape(sentence)}</p>") == 1
    assert len(ics_parts(reply)) == 1


def test_updated_meeting_lists_what_changed() -> None:
    reply = reply_to(
        planned=[PlannedMeeting(zurich_meeting(), ROOM, "updated", (TIME_CHANGE, TITLE_CHANGE))]
    )
    assert text_of(reply) == (
        "This meeting has been updated. The link stays the same.\n"
        "\n"
        "Budget review\n"
        "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
        f"Join link: {URL}\n"
        "What has changed:\n"
        f"{TIME_CHANGED}\n"
        "- Title: Budget → Budget review\n"
        "\n"
        f"{CALENDAR_UPDATE}\n" + SIGNATURE
    )
    assert (
        f"<p>What has changed:</p>\n<ul><li>{TIME_CHANGED[2:]}</li>"
        "<li>Title: Budget → Budget review</li></ul>\n"
    ) in html_of(reply)


def test_replanned_meeting_says_plainly_that_the_link_changed() -> None:
    reply = reply_to(
        planned=[PlannedMeeting(zurich_meeting(), ROOM_2, "replanned", (TIME_CHANGE,), OLD_URL)]
    )
    assert text_of(reply) == (
        "The meeting link has changed. Please use the new link below.\n"
        "\n"
        "Budget review\n"
        "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
        f"New join link: {ROOM_2.url}\n"
        "Because the meeting now ends later, it has a new meeting room with a new link.\n"
        f"Please do not use the old link ({OLD_URL}) for this meeting any more: guests who use it"
        " would wait in a different room. If you have already shared it, please send your guests"
        " the new link.\n"
        "What has changed:\n"
        f"{TIME_CHANGED}\n"
        "\n"
        f"{CALENDAR_UPDATE}\n" + SIGNATURE
    )
    page = html_of(reply)
    assert (
        "<p><strong>The meeting link has changed. Please use the new link below.</strong></p>"
        in page
    )
    assert f'New join link: <strong><a href="{ROOM_2.url}">{ROOM_2.url}</a></strong>' in page
    # The old link is named, never offered as something to click.
    assert f"Please do not use the old link ({OLD_URL}) for this meeting any more:" in page
    assert f'href="{OLD_URL}"' not in page
    (part,) = ics_parts(reply)
    assert only_event(part)[1]["URL"] == ROOM_2.url


def test_replanned_without_the_old_link_still_warns() -> None:
    text = text_of(reply_to(planned=[PlannedMeeting(zurich_meeting(), ROOM_2, "replanned")]))
    assert text.startswith("The meeting link has changed. Please use the new link below.\n")
    assert (
        "Please do not use the old link for this meeting any more: guests who use it would wait"
        " in a different room. If you have already shared it, please send your guests the new"
        " link.\n" in text
    )
    assert f"New join link: {ROOM_2.url}\n" in text


def test_series_says_its_rule_next_occurrence_and_what_is_left() -> None:
    reply = reply_to(planned=[PlannedMeeting(weekly_series(), ROOM)])
    assert text_of(reply) == (
        "Your kMeet meeting series has been scheduled.\n"
        "\n"
        "Weekly sync\n"
        "Repeats every Monday at 10:00, 10 times\n"
        "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n"
        "7 meetings remaining, including the next one.\n"
        f"Join link: {URL}\n"
        "\n"
        "To add the whole series to your calendar, open the attached file (kmeet.ics).\n"
        + SIGNATURE
    )


@pytest.mark.parametrize(
    ("meeting", "lines"),
    [
        (
            weekly_series(occurrences_left=1),
            "Repeats every Monday at 10:00, 10 times\n"
            "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n"
            "This is the last meeting of the series.\n",
        ),
        (
            weekly_series(rule="FREQ=WEEKLY;INTERVAL=2", occurrences_left=None),
            "Repeats every 2 weeks on Monday at 10:00\n"
            "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n",
        ),
        (
            weekly_series(rule="", occurrences_left=3),
            "Repeats on several dates\n"
            "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n"
            "3 meetings remaining, including the next one.\n",
        ),
        (
            weekly_series(rule="FREQ=HOURLY;INTERVAL=2", occurrences_left=None),
            "Repeats according to the rule FREQ=HOURLY;INTERVAL=2\n"
            "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n",
        ),
    ],
)
def test_series_lines(meeting: MeetingRequest, lines: str) -> None:
    text = text_of(reply_to(planned=[PlannedMeeting(meeting, ROOM)]))
    assert f"Weekly sync\n{lines}Join link: {URL}\n" in text


@pytest.mark.parametrize(
    ("cancelled", "heading", "line"),
    [
        (
            CancelledMeeting(cancellation(), ROOM, room_removed=True),
            "Cancelled: Team lunch",
            "The kMeet meeting room has been removed.",
        ),
        (
            CancelledMeeting(cancellation(), ROOM),
            "Cancelled: Team lunch",
            f"The meeting link {URL} will no longer be used. You do not need to do anything else.",
        ),
        (
            CancelledMeeting(cancellation(), None),
            "Cancelled: Team lunch",
            "No kMeet meeting had been set up for it, so there is nothing else to do.",
        ),
        (
            CancelledMeeting(
                cancellation(
                    recurrence_id="20270315T090000Z", series_key="ics:alice@example.com:uid-9:"
                ),
                ROOM,
            ),
            "Cancelled: Team lunch, the meeting of Monday, 15 March 2027, 09:00 (UTC)",
            f"The other meetings of the series keep the link {URL}."
            " You do not need to do anything else.",
        ),
        (
            CancelledMeeting(cancellation(recurrence_id="20270315"), None),
            "Cancelled: Team lunch, the meeting of Monday, 15 March 2027",
            "No kMeet meeting had been set up for it, so there is nothing else to do.",
        ),
        (
            CancelledMeeting(cancellation(recurrence_id="next\r\nmonday"), None),
            "Cancelled: Team lunch, the meeting of next monday",
            "No kMeet meeting had been set up for it, so there is nothing else to do.",
        ),
    ],
)
def test_cancellation(cancelled: CancelledMeeting, heading: str, line: str) -> None:
    reply = reply_to(cancelled=[cancelled])
    assert reply.get_content_type() == "multipart/alternative"
    assert list(reply.iter_attachments()) == []
    assert text_of(reply) == f"The meeting has been cancelled.\n\n{heading}\n{line}\n{SIGNATURE}"
    assert f"<h3>{heading}</h3>" in html_of(reply)


def test_problems_are_listed_with_their_hints() -> None:
    reply = reply_to(
        problems=[
            EventProblem("Budget review", "The event has no start time.", "Add a start time."),
            EventProblem("calendar part 2 (invite.ics)", "The calendar part is unreadable."),
        ]
    )
    assert list(reply.iter_attachments()) == []
    assert text_of(reply) == (
        "We could not set up a kMeet meeting from any of the 2 events in your message.\n"
        "\n"
        "1. Not scheduled: Budget review\n"
        "   What went wrong: The event has no start time.\n"
        "   What to do: Add a start time.\n"
        "\n"
        "2. Not scheduled: calendar part 2 (invite.ics)\n"
        "   What went wrong: The calendar part is unreadable.\n" + SIGNATURE
    )
    page = html_of(reply)
    assert "<h3>2. Not scheduled: calendar part 2 (invite.ics)</h3>" in page
    assert "<p><strong>What to do:</strong> Add a start time.</p>" in page


def test_one_problem_names_its_event() -> None:
    reply = reply_to(problems=[EventProblem("Budget review", "No start time.", "Add one.")])
    assert text_of(reply) == (
        "We could not set up a kMeet meeting from your message.\n"
        "\n"
        "Not scheduled: Budget review\n"
        "What went wrong: No start time.\n"
        "What to do: Add one.\n" + SIGNATURE
    )


def test_rejection_is_a_reply_with_one_message_level_problem() -> None:
    wrapped = reply_to(
        problems=[EventProblem("", "The invitation has no start time.", "Add a time.")]
    )
    assert text_of(wrapped) == text_of(reparse(rejection()))
    assert html_of(wrapped) == html_of(reparse(rejection()))


def mixed_reply() -> EmailMessage:
    return reply_to(
        planned=[
            PlannedMeeting(zurich_meeting(), ROOM),
            PlannedMeeting(weekly_series(), ROOM_2, "replanned", (TIME_CHANGE,), OLD_URL),
        ],
        cancelled=[CancelledMeeting(cancellation(), ROOM, room_removed=True)],
        problems=[EventProblem("Offsite", "The event has no end.", "Add an end time.")],
    )


def test_everything_in_one_reply_in_order() -> None:
    reply = mixed_reply()
    assert reply["Subject"] == "Re: Budget review"
    assert reply["In-Reply-To"] == "<m1@example.com>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert text_of(reply) == (
        "Here is what became of the 4 events in your message.\n"
        "Please note: the link for “Weekly sync” has changed.\n"
        "\n"
        "1. Budget review\n"
        "   Your kMeet meeting has been scheduled.\n"
        "   Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)\n"
        f"   Join link: {URL}\n"
        "\n"
        "2. Weekly sync\n"
        "   The meeting link has changed. Please use the new link below.\n"
        "   Repeats every Monday at 10:00, 10 times\n"
        "   Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n"
        "   7 meetings remaining, including the next one.\n"
        f"   New join link: {ROOM_2.url}\n"
        "   Because the meeting now ends later, it has a new meeting room with a new link.\n"
        f"   Please do not use the old link ({OLD_URL}) for this meeting any more: guests who"
        " use it would wait in a different room. If you have already shared it, please send"
        " your guests the new link.\n"
        "   What has changed:\n"
        f"   {TIME_CHANGED}\n"
        "\n"
        "3. Cancelled: Team lunch\n"
        "   The kMeet meeting room has been removed.\n"
        "\n"
        "4. Not scheduled: Offsite\n"
        "   What went wrong: The event has no end.\n"
        "   What to do: Add an end time.\n"
        "\n"
        "To add the meetings to your calendar, open the attached .ics files.\n" + SIGNATURE
    )
    page = html_of(reply)
    headings = [
        "1. Budget review",
        "2. Weekly sync",
        "3. Cancelled: Team lunch",
        "4. Not scheduled",
    ]
    positions = [page.index(f"<h3>{heading}") for heading in headings]
    assert positions == sorted(positions)
    assert "<p><strong>Please note: the link for “Weekly sync” has changed.</strong></p>" in page


def test_one_calendar_file_per_planned_meeting() -> None:
    parts = ics_parts(mixed_reply())
    assert [part.get_filename() for part in parts] == ["kmeet-1.ics", "kmeet-2.ics"]
    assert [str(only_event(part)[1]["SUMMARY"]) for part in parts] == [
        "Budget review",
        "Weekly sync",
    ]


def test_several_replanned_links_are_all_named_up_front() -> None:
    text = text_of(
        reply_to(
            planned=[
                PlannedMeeting(zurich_meeting(), ROOM, "replanned", previous_url=OLD_URL),
                PlannedMeeting(weekly_series(), ROOM_2, "replanned", previous_url=OLD_URL),
            ]
        )
    )
    assert text.startswith(
        "Here is what became of the 2 events in your message.\n"
        "Please note: the links for “Budget review” and “Weekly sync” have changed.\n\n"
    )


def test_planned_and_unchanged_each_say_their_status() -> None:
    text = text_of(
        reply_to(
            planned=[
                PlannedMeeting(zurich_meeting(), ROOM),
                PlannedMeeting(new_york_meeting(), ROOM_2, "unchanged"),
            ]
        )
    )
    assert text.startswith("Here is what became of the 2 events in your message.\n\n")
    assert "1. Budget review\n   Your kMeet meeting has been scheduled.\n" in text
    assert (
        "2. Launch sync\n   This meeting has already been scheduled. Here is its link again.\n"
    ) in text
    assert "Please note" not in text


def test_cancellations_only() -> None:
    text = text_of(
        reply_to(
            cancelled=[
                CancelledMeeting(cancellation(), ROOM, room_removed=True),
                CancelledMeeting(cancellation("Offsite"), None),
            ]
        )
    )
    assert text == (
        "The 2 meetings have been cancelled.\n"
        "\n"
        "1. Cancelled: Team lunch\n"
        "   The kMeet meeting room has been removed.\n"
        "\n"
        "2. Cancelled: Offsite\n"
        "   No kMeet meeting had been set up for it, so there is nothing else to do.\n" + SIGNATURE
    )


def test_every_value_is_escaped_in_html() -> None:
    hostile_url = 'https://kmeet.example.com/old"><img src=x>'
    reply = reply_to(
        planned=[
            PlannedMeeting(
                weekly_series(rule="FREQ=HOURLY;X-A=<b>"),
                ROOM,
                "replanned",
                (Change("<i>", "<b>before</b>", '"after" & <u>'),),
                hostile_url,
            )
        ],
        cancelled=[
            CancelledMeeting(cancellation(HOSTILE_TITLE, recurrence_id="<em>"), None),
            CancelledMeeting(cancellation("x"), Room(url="<s>gone</s>", name="n", hostname="h")),
        ],
        problems=[EventProblem("<h1>part</h1>", "<script>bad</script>", "<a href=x>fix</a>")],
    )
    page = html_of(reply)
    for raw in ("<b>", "<i>", "<u>", "<img", "<script>", "<em>", "<s>", "<h1>", "<a href=x>"):
        assert raw not in page
    for escaped in (
        "Repeats according to the rule FREQ=HOURLY;X-A=&lt;b&gt;<br>",
        "<li>&lt;i&gt;: &lt;b&gt;before&lt;/b&gt; → &quot;after&quot; &amp; &lt;u&gt;</li>",
        "Please do not use the old link (https://kmeet.example.com/old&quot;&gt;&lt;img src=x&gt;)",
        "Cancelled: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;,"
        " the meeting of &lt;em&gt;</h3>",
        "The meeting link &lt;s&gt;gone&lt;/s&gt; will no longer be used",
        "<h3>4. Not scheduled: &lt;h1&gt;part&lt;/h1&gt;</h3>",
        "<strong>What went wrong:</strong> &lt;script&gt;bad&lt;/script&gt;</p>",
        "<strong>What to do:</strong> &lt;a href=x&gt;fix&lt;/a&gt;</p>",
    ):
        assert escaped in page
    # The text part reads as written.
    assert '- <i>: <b>before</b> → "after" & <u>\n' in text_of(reply)


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status of a planned meeting: 'moved'"):
        reply_to(planned=[PlannedMeeting(zurich_meeting(), ROOM, "moved")])


def test_empty_reply_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one planned meeting, cancellation or problem"):
        reply_to()


# --- .ics of a series ---------------------------------------------------------------


def series_event(meeting: MeetingRequest) -> Event:
    (part,) = ics_parts(reply_to(planned=[PlannedMeeting(meeting, ROOM)]))
    return only_event(part)[1]


def rrule_line(event: Event) -> str:
    return event.to_ical().decode().replace("\r\n ", "").split("RRULE:")[1].split("\r\n")[0]


def test_ics_of_a_series_carries_its_rule() -> None:
    (part,) = ics_parts(reply_to(planned=[PlannedMeeting(weekly_series(), ROOM)]))
    calendar, event = only_event(part)
    # The event starts at the next occurrence, so COUNT counts what is left.
    assert rrule_line(event) == "FREQ=WEEKLY;COUNT=7;BYDAY=MO"
    assert event["UID"] == "uid-1"
    assert prop(event, "DTSTART").dt == datetime(2027, 3, 15, 10, 0, tzinfo=ZURICH)
    # Summer time rules are there for the years the series runs.
    assert ",20290325T030000," in part.get_content().replace("\r\n ", "")
    assert calendar.get_missing_tzids() == set()


@pytest.mark.parametrize(
    ("rule", "left", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=10", None, "FREQ=WEEKLY;COUNT=10;BYDAY=MO"),
        ("FREQ=WEEKLY;UNTIL=20270630T215959Z", None, "FREQ=WEEKLY;UNTIL=20270630T215959Z"),
        # A local UNTIL beside a zoned DTSTART becomes UTC, as RFC 5545 asks.
        ("FREQ=WEEKLY;UNTIL=20270630T235959", None, "FREQ=WEEKLY;UNTIL=20270630T215959Z"),
        ("FREQ=WEEKLY;UNTIL=20270630", None, "FREQ=WEEKLY;UNTIL=20270630T215959Z"),
        ("RRULE:freq=monthly;byday=1tu", 4, "FREQ=MONTHLY;BYDAY=1TU"),
    ],
)
def test_ics_series_rule(rule: str, left: int | None, expected: str) -> None:
    assert rrule_line(series_event(weekly_series(rule=rule, occurrences_left=left))) == expected


@pytest.mark.parametrize(
    "meeting",
    [
        zurich_meeting(),
        weekly_series(rule=""),  # RDATE only: the dates are not known here
        weekly_series(rule="FREQ=WEEKLY;COUNT=lots"),
        weekly_series(rule="BYDAY=MO"),
        weekly_series(rule="FREQ=WEEKLY\r\nATTENDEE:mailto:x@example.net"),
    ],
)
def test_ics_without_a_usable_rule_has_no_rrule(meeting: MeetingRequest) -> None:
    event = series_event(meeting)
    assert "RRULE" not in event
    assert "ATTENDEE" not in event


# --- end-to-end encryption and rate limits --------------------------------------------

E2EE_LINE = (
    "This meeting is end-to-end encrypted: guests using Firefox, Safari or a browser on their"
    " phone should join with the kMeet app, or on a computer with Chrome, Edge or another"
    " Chromium-based browser.\n"
)


def test_an_end_to_end_encrypted_room_tells_which_guests_need_another_browser() -> None:
    room = Room(url=URL, name="abc-defg-hij", hostname="kmeet.infomaniak.com", e2ee_enabled=True)
    reply = reparse(planned([(zurich_meeting(), room)]))
    assert f"Join link: {URL}\n{E2EE_LINE}\nTo add" in text_of(reply)
    assert E2EE_LINE.strip() in html_of(reply)


@pytest.mark.parametrize("e2ee", [False, None])
def test_a_room_without_end_to_end_encryption_says_nothing_of_browsers(e2ee: bool | None) -> None:
    room = Room(url=URL, name="abc-defg-hij", hostname="kmeet.infomaniak.com", e2ee_enabled=e2ee)
    assert "Chromium" not in text_of(reparse(planned([(zurich_meeting(), room)])))


def test_a_rate_limit_does_not_say_the_message_was_wrong() -> None:
    problem = EventProblem(
        "",
        "20 rooms were planned within the last hour, the most allowed",
        "Please send your request again after 2027-01-15 10:15 (Europe/Zurich).",
        code="sender_rate_limited",
        params=(("limit", "20"), ("after", "2027-01-15 10:15 (Europe/Zurich)")),
    )
    assert text_of(reply_to(problems=[problem])) == (
        "Your request is fine, but no more meetings can be set up for now.\n"
        "\n"
        "Why: You have reached the limit of 20 meetings per hour.\n"
        "What to do: Please send your request again after 10:15 on Friday, 15 January 2027"
        " (Zurich time).\n" + SIGNATURE
    )


def test_a_message_too_large_is_measured_in_megabytes() -> None:
    problem = EventProblem(
        "", "too large", code="message_too_large", params=(("size", "31.4"), ("limit", "25.0"))
    )
    reason, _ = replies.problem_text(problem, "en")
    # 31.4 MiB and 25 MiB, as people read sizes.
    assert reason == "Your message is 33 MB, which is over the 26 MB limit."


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "The limit of 1 meeting per 24 hours has been reached."),
        (
            "fr",
            "1 visioconférence a été planifiée au cours des dernières 24 heures,"
            " soit le maximum autorisé.",
        ),
        (
            "de",
            "In den letzten 24 Stunden wurde 1 Besprechung eingerichtet; mehr ist nicht möglich.",
        ),
        (
            "it",
            "Nelle ultime 24 ore è stata pianificata 1 videoconferenza,"
            " cioè il numero massimo consentito.",
        ),
    ],
)
def test_a_limit_of_one_room_is_singular(language: str, reason: str) -> None:
    problem = EventProblem(
        "",
        "1 room",
        code="daily_rate_limited",
        params=(("limit", "1"), ("after", "2027-01-15 10:15 (Europe/Zurich)")),
    )
    assert replies.problem_text(problem, language)[0] == reason
