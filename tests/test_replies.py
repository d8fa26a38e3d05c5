"""Composing replies: exact headers, bodies and calendar attachment, no servers."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from kmeet_bridge import replies
from kmeet_bridge.models import Attendee, MeetingRequest, Room

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
        "Your kMeet conference is planned.\n"
        "\n"
        "Budget review\n"
        "Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)\n"
        f"Join: {URL}\n"
        "\n"
        "To add it to your calendar, open the attached kmeet.ics.\n"
        "\n"
        "-- \n"
        "This message was sent automatically by kmeet-bridge.\n"
    )


def test_planned_html_links_the_url() -> None:
    page = html_of(reparse(planned()))
    assert f'<a href="{URL}">{URL}</a>' in page
    assert "Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)" in page
    assert "<h3>Budget review</h3>" in page


def test_hostile_values_are_escaped_in_html() -> None:
    hostile_room = Room(url='https://kmeet.example.com/a"><img src=x>', name="a", hostname="h")
    meeting = zurich_meeting(title=HOSTILE_TITLE, notes=("<b>note</b>",))
    reply = reparse(planned([(meeting, hostile_room)]))
    page = html_of(reply)
    assert "<h3>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;</h3>" in page
    assert "<li>&lt;b&gt;note&lt;/b&gt;</li>" in page
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


def test_notes_are_listed() -> None:
    meeting = zurich_meeting(notes=("end not given: 60 minutes assumed", " "))
    text = text_of(reparse(planned([(meeting, ROOM)])))
    assert f"Join: {URL}\n- end not given: 60 minutes assumed\n\nTo add" in text


def test_several_meetings() -> None:
    reply = reparse(planned([(zurich_meeting(), ROOM), (new_york_meeting(), ROOM_2)]))
    assert text_of(reply) == (
        "Your 2 kMeet conferences are planned.\n"
        "\n"
        "1. Budget review\n"
        "   Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)\n"
        f"   Join: {URL}\n"
        "\n"
        "2. Launch sync\n"
        "   Sunday 4 July 2027, 14:30–15:15 (America/New_York)\n"
        "   Join: https://kmeet.infomaniak.com/xyz-uvwx-rst\n"
        "\n"
        "To add them to your calendar, open the attached .ics files.\n"
        "\n"
        "-- \n"
        "This message was sent automatically by kmeet-bridge.\n"
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
        (zurich_meeting(), "Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)"),
        (new_york_meeting(), "Sunday 4 July 2027, 14:30–15:15 (America/New_York)"),
        (
            zurich_meeting(
                start=datetime(2027, 10, 30, 23, 30, tzinfo=ZURICH),
                end=datetime(2027, 10, 31, 1, 0, tzinfo=ZURICH),
            ),
            "Saturday 30 October 2027, 23:30 – Sunday 31 October 2027, 01:00 (Europe/Zurich)",
        ),
    ],
)
def test_describe_time(meeting: MeetingRequest, expected: str) -> None:
    assert replies.describe_time(meeting) == expected


def test_new_york_time_line_in_body() -> None:
    text = text_of(reparse(planned([(new_york_meeting(), ROOM)])))
    assert "Launch sync\nSunday 4 July 2027, 14:30–15:15 (America/New_York)\n" in text


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
        "Your message could not be turned into a kMeet conference.\n"
        "\n"
        "What went wrong: The invitation has no start time.\n"
        "How to fix it: Add a time.\n"
        "\n"
        "-- \n"
        "This message was sent automatically by kmeet-bridge.\n"
    )
    page = html_of(reply)
    assert "<strong>What went wrong:</strong> The invitation has no start time.</p>" in page
    assert "<strong>How to fix it:</strong> Add a time.</p>" in page


def test_rejection_without_hint() -> None:
    reply = reparse(rejection(hint=""))
    assert "How to fix it" not in text_of(reply)
    assert "How to fix it" not in html_of(reply)


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
