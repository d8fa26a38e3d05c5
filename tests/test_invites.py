"""Invitations -> MeetingRequest: one case per corpus message, then the rules one by one.

Every expected value is written out by hand (wall-clock times in the meeting's
zone and the same instants in UTC), never computed with the code under test.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kmeet_bridge.invites import DEFAULT_TITLE, calendar_parts, extract
from kmeet_bridge.models import Attendee, MeetingRequest, NotARequest, Unplannable

CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = Path(__file__).parent.parent / "examples"
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
WALL = "%Y-%m-%d %H:%M:%S"


def load(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def run(
    message: EmailMessage,
    *,
    now: datetime = NOW,
    default_timezone: str = "Europe/Zurich",
    default_duration: int = 60,
) -> list[MeetingRequest]:
    return extract(
        message, default_timezone=default_timezone, default_duration=default_duration, now=now
    )


def utc(text: str) -> datetime:
    return datetime.strptime(text, WALL).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    key: str
    title: str
    start: str  # wall clock in `timezone`
    end: str
    start_utc: str
    end_utc: str
    timezone: str
    attendees: tuple[tuple[str, str | None, str, bool], ...]
    notes: tuple[str, ...]
    uid: str
    sequence: int
    method: str | None
    description: str


def check(request: MeetingRequest, expected: Expected) -> None:
    assert request.key == expected.key
    assert request.title == expected.title
    assert request.timezone == expected.timezone
    assert request.start.strftime(WALL) == expected.start
    assert request.end.strftime(WALL) == expected.end
    assert request.start.astimezone(UTC) == utc(expected.start_utc)
    assert request.end.astimezone(UTC) == utc(expected.end_utc)
    assert request.start.tzinfo == ZoneInfo(expected.timezone)
    assert request.end.tzinfo == ZoneInfo(expected.timezone)
    attendees = tuple((a.address, a.name, a.state, a.organizer) for a in request.attendees)
    assert attendees == expected.attendees
    assert request.notes == expected.notes
    assert request.uid == expected.uid
    assert request.sequence == expected.sequence
    assert request.method == expected.method
    assert request.description == expected.description
    assert request.source == "invite"


OUTLOOK_UID = (
    "040000008200E00074C5B7101A82E00800000000D0C1B2A39F5CDB01000000000000000010000000"
    "E4F2A0C3B5D6474F8A1E2B3C4D5E6F70"
)
FORWARDED_UID = (
    "040000008200E00074C5B7101A82E00800000000F1E2D3C4B5A6DB01000000000000000010000000"
    "A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4"
)
CUSTOM_UID = (
    "040000008200E00074C5B7101A82E008000000001A2B3C4D5E6FDB01000000000000000010000000"
    "C0FFEE00C0FFEE00C0FFEE00C0FFEE00"
)
EXAMPLE_UID = (
    "040000008200E00074C5B7101A82E00800000000A1B2C3D4E5F6DB01000000000000000010000000"
    "B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6"
)
TWICE = (
    'same event found twice in the message (inline part and attachment "invite.ics"): planned once'
)

PLANNED = {
    "outlook_request.eml": Expected(
        key=f"ics:anna.muster@example.com:{OUTLOOK_UID}:",
        title="Quarterly planning review",
        start="2027-03-15 14:00:00",
        end="2027-03-15 15:30:00",
        start_utc="2027-03-15 13:00:00",
        end_utc="2027-03-15 14:30:00",
        timezone="Europe/Berlin",
        attendees=(
            ("anna.muster@example.com", "Anna Muster", "ACCEPTED", True),
            ("ben.beispiel@example.org", "Ben Beispiel", "NEEDS-ACTION", False),
            ("Chloe.Dupont@example.net", "Chloé Dupont", "NEEDS-ACTION", False),
        ),
        notes=('time zone "W. Europe Standard Time" read as Europe/Berlin', TWICE),
        uid=OUTLOOK_UID,
        sequence=0,
        method="REQUEST",
        description=(
            "Agenda:\n1. Figures for the first quarter\n2. Hiring plan\n\n"
            "Please send your numbers by Friday."
        ),
    ),
    "google_request.eml": Expected(
        key="ics:lukas.weber@example.com:5v8f3kq2n7c1p0m9j4h6g2d8s0@example.com:",
        title="Design sync",
        start="2027-04-08 16:00:00",
        end="2027-04-08 16:45:00",
        start_utc="2027-04-08 14:00:00",
        end_utc="2027-04-08 14:45:00",
        timezone="Europe/Zurich",
        attendees=(
            ("lukas.weber@example.com", "Lukas Weber", "ACCEPTED", True),
            ("sara.keller@example.net", None, "NEEDS-ACTION", False),
            ("tim.moser@example.org", "Moser, Tim", "TENTATIVE", False),
        ),
        notes=("time given in UTC: shown in Europe/Zurich (the default time zone)", TWICE),
        uid="5v8f3kq2n7c1p0m9j4h6g2d8s0@example.com",
        sequence=0,
        method="REQUEST",
        description=(
            "Walk through the new onboarding screens.\n\nPlease bring your notes.\n\n"
            "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-"
            "\nInvitation from Google Calendar\n\nForwarding this invitation could allow any "
            "recipient to send a response to the organizer.\n"
            "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-"
        ),
    ),
    "thunderbird_request.eml": Expected(
        key="ics:marco.rossi@example.org:7c3e5a10-4b2d-4f8e-9a61-2d5c8e0f1b34:",
        title="Café planning – Q2",
        start="2027-05-05 09:00:00",
        end="2027-05-05 10:30:00",
        start_utc="2027-05-05 07:00:00",
        end_utc="2027-05-05 08:30:00",
        timezone="Europe/Zurich",
        attendees=(
            ("marco.rossi@example.org", "Marco Rossi", "ACCEPTED", True),
            ("julia.frei@example.com", "Julia Frei", "NEEDS-ACTION", False),
            ("noah.graf@example.net", None, "DECLINED", False),
            # the meeting room (value "Room 3", no address) is dropped
        ),
        notes=(TWICE,),
        uid="7c3e5a10-4b2d-4f8e-9a61-2d5c8e0f1b34",
        sequence=0,
        method="REQUEST",
        description="Menu, suppliers and opening hours for the summer terrace.",
    ),
    "apple_request.eml": Expected(
        key="ics:sofia.brunner@example.com:3F1C2A9E-7B54-4D0A-9E6B-1C8D2F4A6B70:",
        title="Budget 2028 kick-off",
        start="2027-06-10 13:30:00",
        end="2027-06-10 14:30:00",
        start_utc="2027-06-10 11:30:00",
        end_utc="2027-06-10 12:30:00",
        timezone="Europe/Vienna",
        attendees=(
            ("sofia.brunner@example.com", "Sofia Brunner", "ACCEPTED", True),
            # value urn:uuid:..., address from the EMAIL parameter
            ("david.lang@example.org", "David Lang", "NEEDS-ACTION", False),
            ("eva.kraus@example.net", "Eva Kraus", "NEEDS-ACTION", False),
        ),
        notes=(),
        uid="3F1C2A9E-7B54-4D0A-9E6B-1C8D2F4A6B70",
        sequence=1,
        method="REQUEST",
        description="",
    ),
    "forwarded_rfc822.eml": Expected(
        key=f"ics:jean.martin@example.org:{FORWARDED_UID}:",
        title="Conseil d'administration",
        start="2027-09-20 10:00:00",
        end="2027-09-20 12:00:00",
        start_utc="2027-09-20 08:00:00",
        end_utc="2027-09-20 10:00:00",
        timezone="Europe/Paris",
        attendees=(
            ("jean.martin@example.org", "Jean Martin", "ACCEPTED", True),
            ("petra.huber@example.com", "Petra Huber", "NEEDS-ACTION", False),
            ("luc.bernard@example.org", "Luc Bernard", "NEEDS-ACTION", False),
        ),
        notes=('time zone "Romance Standard Time" read as Europe/Paris',),
        uid=FORWARDED_UID,
        sequence=2,
        method="REQUEST",
        description="Ordre du jour en pièce jointe.",
    ),
    "custom_vtimezone.eml": Expected(
        key=f"ics:nina.vogel@example.com:{CUSTOM_UID}:",
        title="Supplier call",
        start="2027-10-29 16:00:00",
        end="2027-10-29 17:00:00",
        start_utc="2027-10-29 14:00:00",
        end_utc="2027-10-29 15:00:00",
        timezone="Europe/Zurich",
        attendees=(
            ("nina.vogel@example.com", "Nina Vogel", "ACCEPTED", True),
            ("oskar.lind@example.net", "Oskar Lind", "NEEDS-ACTION", False),
        ),
        notes=(
            'custom time zone "Customized Time Zone" shown as Europe/Zurich, which has the '
            "same UTC offsets on the meeting's dates",
        ),
        uid=CUSTOM_UID,
        sequence=0,
        method="REQUEST",
        description="",
    ),
    "floating_no_end.eml": Expected(
        key="ics:events@example.net:booking-20270114-0042@events.example.net:",
        title="Onboarding session",
        start="2027-01-14 10:00:00",
        end="2027-01-14 11:00:00",
        start_utc="2027-01-14 09:00:00",
        end_utc="2027-01-14 10:00:00",
        timezone="Europe/Zurich",
        attendees=(("events@example.net", "Example Events", "ACCEPTED", True),),
        notes=(
            "floating time read in Europe/Zurich",
            "no end given: default duration of 60 minutes",
        ),
        uid="booking-20270114-0042@events.example.net",
        sequence=0,
        method=None,
        description="Your booking reference is 0042.",
    ),
    "duration.eml": Expected(
        key="ics:priya.shah@example.org:release-review-2-4@planner.example.org:",
        title="Release review for v2.4 (team)",
        start="2027-03-02 09:30:00",
        end="2027-03-02 11:00:00",
        start_utc="2027-03-02 09:30:00",
        end_utc="2027-03-02 11:00:00",
        timezone="Europe/London",
        attendees=(
            ("priya.shah@example.org", "Priya Shah", "ACCEPTED", True),
            # the second Tom Baker line (other case) is a duplicate; "not-an-address" is dropped
            ("tom.baker@example.org", "Tom Baker", "ACCEPTED", False),
            # PARTSTAT=maybe is no known state
            ("una.price@example.org", "Una Price", "NEEDS-ACTION", False),
        ),
        notes=("end computed from DURATION PT1H30M",),
        uid="release-review-2-4@planner.example.org",
        sequence=0,
        method="PUBLISH",
        description="Checklist:\n\t- notes\n\t- sign-off",  # the BEL character is gone
    ),
}


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_corpus_message_plans_one_meeting(name: str) -> None:
    requests = run(load(CORPUS / name))
    assert len(requests) == 1
    check(requests[0], PLANNED[name])


def test_two_different_events_give_two_meetings() -> None:
    first, second = run(load(CORPUS / "two_events.eml"))
    people = (
        ("iris.baumann@example.org", "Iris Baumann", "ACCEPTED", True),
        ("kai.winter@example.com", "Kai Winter", "NEEDS-ACTION", False),
    )
    common = {
        "timezone": "Europe/Zurich",
        "attendees": people,
        "notes": (),
        "sequence": 0,
        "method": "REQUEST",
        "description": "",
    }
    check(
        first,
        Expected(
            key="ics:iris.baumann@example.org:workshop-day1@workshops.example.org:",
            title="Data workshop – part 1",
            start="2027-11-03 09:00:00",
            end="2027-11-03 12:00:00",
            start_utc="2027-11-03 08:00:00",
            end_utc="2027-11-03 11:00:00",
            uid="workshop-day1@workshops.example.org",
            **common,
        ),
    )
    check(
        second,
        Expected(
            key="ics:iris.baumann@example.org:workshop-day2@workshops.example.org:",
            title="Data workshop – part 2",
            start="2027-11-04 13:30:00",
            end="2027-11-04 17:00:00",
            start_utc="2027-11-04 12:30:00",
            end_utc="2027-11-04 16:00:00",
            uid="workshop-day2@workshops.example.org",
            **common,
        ),
    )


def test_readme_example_plans_one_meeting() -> None:
    (request,) = run(load(EXAMPLES / "invitation.eml"))
    check(
        request,
        Expected(
            key=f"ics:alice@example.com:{EXAMPLE_UID}:",
            title="Website relaunch kick-off",
            start="2027-05-06 10:00:00",
            end="2027-05-06 11:00:00",
            start_utc="2027-05-06 08:00:00",
            end_utc="2027-05-06 09:00:00",
            timezone="Europe/Berlin",
            attendees=(
                ("alice@example.com", "Alice Example", "ACCEPTED", True),
                ("bob@example.org", "Bob Example", "NEEDS-ACTION", False),
                ("carol@example.net", "Carol Example", "NEEDS-ACTION", False),
            ),
            notes=('time zone "W. Europe Standard Time" read as Europe/Berlin',),
            uid=EXAMPLE_UID,
            sequence=0,
            method="REQUEST",
            description=(
                "Kick-off of the website relaunch.\n\n1. Goals and scope\n2. Timeline\n"
                "3. Next steps"
            ),
        ),
    )


REJECTED = [
    # file, exception, words the reason must contain
    ("plain_message.eml", NotARequest, ["no calendar"]),
    ("reply.eml", NotARequest, ["METHOD:REPLY", "not a request"]),
    ("cancel.eml", NotARequest, ["cancellation", "METHOD:CANCEL"]),
    ("allday.eml", Unplannable, ['"Team offsite"', "all-day", "2027-06-01"]),
    (
        "broken_ics.eml",
        Unplannable,
        ['attachment "steering.ics"', "DTSTART", "line 8", "2027-06-15 10:00"],
    ),
]


@pytest.mark.parametrize(("name", "error", "words"), REJECTED)
def test_corpus_message_is_rejected(name: str, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as caught:
        run(load(CORPUS / name))
    reason = str(caught.value)
    for word in words:
        assert word in reason
    if isinstance(caught.value, Unplannable):
        assert caught.value.reason == reason
        assert caught.value.hint  # the sender is told how to fix it


# --- calendar_parts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("outlook_request.eml", 2),  # inline text/calendar + invite.ics
        ("google_request.eml", 2),
        ("thunderbird_request.eml", 2),  # quoted-printable + base64
        ("apple_request.eml", 1),  # text/calendar attachment, quoted-printable
        ("forwarded_rfc822.eml", 1),  # inside the attached message/rfc822
        ("broken_ics.eml", 1),  # application/octet-stream named .ics
        ("duration.eml", 1),  # the whole message is text/calendar
        ("plain_message.eml", 0),
    ],
)
def test_calendar_parts_finds_every_calendar(name: str, count: int) -> None:
    parts = calendar_parts(load(CORPUS / name))
    assert len(parts) == count
    for part in parts:
        assert part.startswith(b"BEGIN:VCALENDAR\r\n")
        assert part.rstrip().endswith(b"END:VCALENDAR")


def test_calendar_parts_decodes_quoted_printable_and_base64_alike() -> None:
    inline, attachment = calendar_parts(load(CORPUS / "thunderbird_request.eml"))
    assert inline.replace(b"\r\n", b"\n") == attachment.replace(b"\r\n", b"\n")
    assert "SUMMARY:Café planning – Q2".encode() in inline


# --- building messages for the rules below --------------------------------------


def ics(*lines: str, method: str | None = "REQUEST", head: tuple[str, ...] = ()) -> str:
    """A calendar around one VEVENT made of `lines`."""
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Org//Tests//EN"]
    if method:
        out.append(f"METHOD:{method}")
    out += [*head, "BEGIN:VEVENT", *lines, "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(out) + "\r\n"


def event(*extra: str, uid: str = "meeting-1@example.org") -> tuple[str, ...]:
    lines = [f"UID:{uid}", "DTSTAMP:20261120T100000Z", "SUMMARY:Weekly sync"]
    lines.append("ORGANIZER;CN=Olga Organizer:mailto:olga@example.com")
    return (*lines, *extra)


def message(*calendars: str | tuple[str, str]) -> EmailMessage:
    """A message with each calendar as a text/calendar part; a (text, filename)
    pair becomes an application/ics attachment."""
    msg = EmailMessage()
    msg["From"] = "olga@example.com"
    msg["To"] = "meet@example.com"
    msg["Subject"] = "Weekly sync"
    msg.set_content("See the invitation.")
    for calendar in calendars:
        if isinstance(calendar, tuple):
            text, filename = calendar
            msg.add_attachment(
                text.encode(), maintype="application", subtype="ics", filename=filename
            )
        else:
            msg.add_attachment(
                calendar.encode(), maintype="text", subtype="calendar", disposition="inline"
            )
    return msg


def one(msg: EmailMessage, **kwargs) -> MeetingRequest:
    requests = run(msg, **kwargs)
    assert len(requests) == 1
    return requests[0]


def times(request: MeetingRequest) -> tuple[str, str, datetime, datetime, str]:
    return (
        request.start.strftime(WALL),
        request.end.strftime(WALL),
        request.start.astimezone(UTC),
        request.end.astimezone(UTC),
        request.timezone,
    )


# --- dedupe ---------------------------------------------------------------------


def test_duplicate_keeps_the_highest_sequence() -> None:
    old = ics(*event("SEQUENCE:0", "DTSTART;TZID=Europe/Zurich:20270701T100000", "DURATION:PT1H"))
    new = ics(*event("SEQUENCE:3", "DTSTART;TZID=Europe/Zurich:20270701T110000", "DURATION:PT1H"))
    request = one(message(old, (new, "update.ics"), (old, "invite.ics")))
    assert request.sequence == 3
    assert times(request) == (
        "2027-07-01 11:00:00",
        "2027-07-01 12:00:00",
        utc("2027-07-01 09:00:00"),
        utc("2027-07-01 10:00:00"),
        "Europe/Zurich",
    )
    assert request.notes[-1] == (
        'same event found 3 times in the message (inline part and attachment "update.ics" '
        'and attachment "invite.ics"): planned once, using its latest version (SEQUENCE 3)'
    )


def test_same_uid_from_another_organizer_is_another_meeting() -> None:
    first = ics(*event("DTSTART:20270701T080000Z", "DURATION:PT1H"))
    other = first.replace("mailto:olga@example.com", "mailto:otto@example.net")
    keys = [request.key for request in run(message(first, other))]
    assert keys == [
        "ics:olga@example.com:meeting-1@example.org:",
        "ics:otto@example.net:meeting-1@example.org:",
    ]


# --- identity -------------------------------------------------------------------


def test_event_without_uid_gets_a_stable_derived_uid() -> None:
    lines = [
        "DTSTAMP:20261120T100000Z",
        "SUMMARY:No UID here",
        "ORGANIZER:MAILTO:Organizer@Example.com",
        "DTSTART:20270701T080000Z",
        "DTEND:20270701T090000Z",
    ]
    request = one(message(ics(*lines)))
    # sha256("20270701T080000Z\nNo UID here\norganizer@example.com"), first 32 hex digits
    assert request.uid == "derived-2eea5a6f1ef167506b04e246717ff333"
    assert request.key == "ics:organizer@example.com:derived-2eea5a6f1ef167506b04e246717ff333:"
    assert (
        "no UID in the invitation: one was derived from start, title and organizer" in request.notes
    )
    assert one(message(ics(*lines))).uid == request.uid


def test_recurrence_id_is_part_of_the_key_in_utc() -> None:
    request = one(
        message(
            ics(
                *event(
                    "RECURRENCE-ID;TZID=Europe/Zurich:20270505T090000",
                    "DTSTART;TZID=Europe/Zurich:20270505T100000",
                    "DTEND;TZID=Europe/Zurich:20270505T110000",
                )
            )
        )
    )
    assert request.key == "ics:olga@example.com:meeting-1@example.org:20270505T070000Z"


def test_no_organizer_gives_an_empty_organizer_in_the_key() -> None:
    lines = ["UID:x-1@example.org", "SUMMARY:Open", "DTSTART:20270701T080000Z"]
    request = one(message(ics(*lines, "ATTENDEE:mailto:a@example.com")))
    assert request.key == "ics::x-1@example.org:"
    assert request.attendees == (Attendee("a@example.com", None, "NEEDS-ACTION", False),)


# --- times ----------------------------------------------------------------------


def test_utc_times_use_x_wr_timezone_when_valid() -> None:
    text = ics(
        *event("DTSTART:20270112T150000Z", "DTEND:20270112T160000Z"),
        head=("X-WR-TIMEZONE:America/New_York",),
    )
    request = one(message(text))
    assert times(request) == (
        "2027-01-12 10:00:00",
        "2027-01-12 11:00:00",
        utc("2027-01-12 15:00:00"),
        utc("2027-01-12 16:00:00"),
        "America/New_York",
    )
    assert request.notes == (
        "time given in UTC: shown in America/New_York (the calendar's X-WR-TIMEZONE)",
    )


def test_utc_times_ignore_an_invalid_x_wr_timezone() -> None:
    text = ics(
        *event("DTSTART:20270112T150000Z", "DTEND:20270112T160000Z"),
        head=("X-WR-TIMEZONE:Mars/Olympus_Mons",),
    )
    assert times(one(message(text)))[4] == "Europe/Zurich"


def test_utc_time_just_after_the_spring_change() -> None:
    request = one(message(ics(*event("DTSTART:20270328T013000Z", "DURATION:PT30M"))))
    assert times(request) == (
        "2027-03-28 03:30:00",
        "2027-03-28 04:00:00",
        utc("2027-03-28 01:30:00"),
        utc("2027-03-28 02:00:00"),
        "Europe/Zurich",
    )


def test_explicit_utc_tzid_is_shown_in_the_default_zone() -> None:
    lines = event("DTSTART;TZID=UTC:20270701T080000", "DTEND;TZID=UTC:20270701T090000")
    request = one(message(ics(*lines)), default_timezone="Europe/Helsinki")
    assert times(request) == (
        "2027-07-01 11:00:00",
        "2027-07-01 12:00:00",
        utc("2027-07-01 08:00:00"),
        utc("2027-07-01 09:00:00"),
        "Europe/Helsinki",
    )


@pytest.mark.parametrize("with_definition", [False, True])
def test_local_time_in_the_spring_gap(with_definition: bool) -> None:
    # 02:30 does not exist on 2027-03-28 in Zurich: read with the offset before
    # the gap (+01:00) -> 01:30 UTC, which is 03:30 CEST.
    head: tuple[str, ...] = ()
    tzid = "Europe/Zurich"
    if with_definition:
        tzid = "Customized Time Zone"
        head = (
            "BEGIN:VTIMEZONE",
            "TZID:Customized Time Zone",
            "BEGIN:STANDARD",
            "DTSTART:16010101T030000",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
        )
    lines = event(f"DTSTART;TZID={tzid}:20270328T023000", f"DTEND;TZID={tzid}:20270328T043000")
    request = one(message(ics(*lines, head=head)))
    assert times(request) == (
        "2027-03-28 03:30:00",
        "2027-03-28 04:30:00",
        utc("2027-03-28 01:30:00"),
        utc("2027-03-28 02:30:00"),
        "Europe/Zurich",
    )


def vtimezone(tzid: str, std: str, dst: str | None, *, us: bool = False) -> tuple[str, ...]:
    if dst is None:
        return (
            "BEGIN:VTIMEZONE",
            f"TZID:{tzid}",
            "BEGIN:STANDARD",
            "DTSTART:16010101T000000",
            f"TZOFFSETFROM:{std}",
            f"TZOFFSETTO:{std}",
            "END:STANDARD",
            "END:VTIMEZONE",
        )
    back, forth = (
        ("1SU;BYMONTH=11", "2SU;BYMONTH=3") if us else ("-1SU;BYMONTH=10", "-1SU;BYMONTH=3")
    )
    return (
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:16010101T020000",
        f"TZOFFSETFROM:{dst}",
        f"TZOFFSETTO:{std}",
        f"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={back}",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        f"TZOFFSETFROM:{std}",
        f"TZOFFSETTO:{dst}",
        f"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={forth}",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    )


def test_each_invitation_uses_its_own_custom_definition() -> None:
    # icalendar remembers the first "Customized Time Zone" it sees; a later
    # invitation with the same name and other rules must still get its own.
    run(load(CORPUS / "custom_vtimezone.eml"))
    tzid = "Customized Time Zone"
    head = vtimezone(tzid, "-0500", "-0400", us=True)
    lines = event(f"DTSTART;TZID={tzid}:20270601T090000", f"DTEND;TZID={tzid}:20270601T100000")
    request = one(message(ics(*lines, head=head)))
    assert times(request) == (
        "2027-06-01 09:00:00",
        "2027-06-01 10:00:00",
        utc("2027-06-01 13:00:00"),
        utc("2027-06-01 14:00:00"),
        "America/New_York",
    )


def test_custom_definition_named_after_cities() -> None:
    tzid = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
    head = vtimezone(tzid, "+0100", "+0200")
    lines = event(f'DTSTART;TZID="{tzid}":20270215T090000', f'DTEND;TZID="{tzid}":20270215T100000')
    request = one(message(ics(*lines, head=head)))
    assert times(request) == (
        "2027-02-15 09:00:00",
        "2027-02-15 10:00:00",
        utc("2027-02-15 08:00:00"),
        utc("2027-02-15 09:00:00"),
        "Europe/Amsterdam",
    )
    assert request.notes == (f'time zone "{tzid}" read as Europe/Amsterdam',)


def test_custom_definition_matching_no_zone_keeps_the_instant() -> None:
    head = vtimezone("Site time", "+0545", None)
    lines = event("DTSTART;TZID=Site time:20270701T120000", "DTEND;TZID=Site time:20270701T130000")
    request = one(message(ics(*lines, head=head)))
    # 12:00 at +05:45 is 06:15 UTC, shown as 08:15 in Zurich (CEST).
    assert times(request) == (
        "2027-07-01 08:15:00",
        "2027-07-01 09:15:00",
        utc("2027-07-01 06:15:00"),
        utc("2027-07-01 07:15:00"),
        "Europe/Zurich",
    )
    assert request.notes == (
        'custom time zone "Site time" matches no known zone: times shown in Europe/Zurich '
        "(the moment of the meeting is unchanged)",
    )


def test_unknown_tzid_without_definition_is_read_in_the_default_zone() -> None:
    lines = event(
        "DTSTART;TZID=Head Office:20270701T100000", "DTEND;TZID=Head Office:20270701T110000"
    )
    request = one(message(ics(*lines)))
    assert times(request) == (
        "2027-07-01 10:00:00",
        "2027-07-01 11:00:00",
        utc("2027-07-01 08:00:00"),
        utc("2027-07-01 09:00:00"),
        "Europe/Zurich",
    )
    assert request.notes == (
        'unknown time zone "Head Office" without a definition: read in Europe/Zurich',
    )


def test_windows_name_without_definition() -> None:
    tzid = "Eastern Standard Time"
    lines = event(f"DTSTART;TZID={tzid}:20270701T100000", f"DTEND;TZID={tzid}:20270701T110000")
    request = one(message(ics(*lines)))
    assert times(request) == (
        "2027-07-01 10:00:00",
        "2027-07-01 11:00:00",
        utc("2027-07-01 14:00:00"),
        utc("2027-07-01 15:00:00"),
        "America/New_York",
    )
    assert request.notes == ('time zone "Eastern Standard Time" read as America/New_York',)


@pytest.mark.filterwarnings("ignore::icalendar.error.GloballyUniqueTZIDGuessed")
def test_global_tzid() -> None:
    tzid = "/mozilla.org/20050126_1/Europe/Berlin"
    lines = event(f"DTSTART;TZID={tzid}:20270701T100000", f"DTEND;TZID={tzid}:20270701T110000")
    request = one(message(ics(*lines)))
    assert times(request) == (
        "2027-07-01 10:00:00",
        "2027-07-01 11:00:00",
        utc("2027-07-01 08:00:00"),
        utc("2027-07-01 09:00:00"),
        "Europe/Berlin",
    )
    assert request.notes == (f'time zone "{tzid}" read as Europe/Berlin',)


def test_end_in_another_zone_is_shown_in_the_start_zone() -> None:
    lines = event(
        "DTSTART;TZID=Europe/London:20270701T090000",
        "DTEND;TZID=Europe/Zurich:20270701T110000",
    )
    assert times(one(message(ics(*lines)))) == (
        "2027-07-01 09:00:00",
        "2027-07-01 10:00:00",
        utc("2027-07-01 08:00:00"),
        utc("2027-07-01 09:00:00"),
        "Europe/London",
    )


def test_default_duration_is_configurable() -> None:
    request = one(message(ics(*event("DTSTART:20270701T080000"))), default_duration=45)
    assert times(request)[:2] == ("2027-07-01 08:00:00", "2027-07-01 08:45:00")
    assert request.notes == (
        "floating time read in Europe/Zurich",
        "no end given: default duration of 45 minutes",
    )


def test_duration_in_days_keeps_the_wall_clock_across_a_dst_change() -> None:
    lines = event("DTSTART;TZID=Europe/Zurich:20270327T100000", "DURATION:P1D")
    assert times(one(message(ics(*lines)))) == (
        "2027-03-27 10:00:00",
        "2027-03-28 10:00:00",
        utc("2027-03-27 09:00:00"),
        utc("2027-03-28 08:00:00"),
        "Europe/Zurich",
    )


def test_repeating_event_plans_the_given_occurrence_with_a_note() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270104T090000",
        "DTEND;TZID=Europe/Zurich:20270104T093000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10",
    )
    request = one(message(ics(*lines)))
    assert times(request)[:2] == ("2027-01-04 09:00:00", "2027-01-04 09:30:00")
    assert request.notes == (
        "repeating event: only the occurrence on 2027-01-04 09:00 is planned "
        "(series support comes later)",
    )


# --- rejections -----------------------------------------------------------------


def test_meeting_that_already_ended_is_unplannable() -> None:
    msg = load(CORPUS / "outlook_request.eml")
    assert len(run(msg, now=datetime(2027, 3, 15, 14, 29, tzinfo=UTC))) == 1
    with pytest.raises(Unplannable) as caught:
        run(msg, now=datetime(2027, 3, 15, 14, 30, tzinfo=UTC))
    assert caught.value.reason == (
        'The event "Quarterly planning review" already ended (2027-03-15 15:30, Europe/Berlin).'
    )


def test_naive_now_is_taken_as_utc() -> None:
    msg = load(CORPUS / "outlook_request.eml")
    with pytest.raises(Unplannable):
        run(msg, now=datetime(2027, 3, 15, 14, 30))
    assert len(run(msg, now=datetime(2027, 3, 15, 14, 29))) == 1


def test_end_before_start_is_unplannable() -> None:
    lines = event("DTSTART:20270701T100000Z", "DTEND:20270701T090000Z")
    with pytest.raises(Unplannable) as caught:
        run(message(ics(*lines)))
    assert "before or when it starts" in caught.value.reason
    assert '"Weekly sync"' in caught.value.reason


def test_zero_length_event_is_unplannable() -> None:
    with pytest.raises(Unplannable, match="before or when it starts"):
        run(message(ics(*event("DTSTART:20270701T100000Z", "DURATION:PT0S"))))


def test_missing_dtstart_is_unplannable() -> None:
    with pytest.raises(Unplannable) as caught:
        run(message(ics(*event("DTEND:20270701T100000Z"))))
    assert caught.value.reason == 'The event "Weekly sync" has no start time (DTSTART).'


def test_date_end_with_a_time_start_is_unplannable() -> None:
    with pytest.raises(Unplannable, match="ends on a date without a time"):
        run(message(ics(*event("DTSTART:20270701T100000Z", "DTEND;VALUE=DATE:20270702"))))


def test_truncated_calendar_says_where_it_stops() -> None:
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a@example.org\r\nDTSTART:2027"
    with pytest.raises(Unplannable) as caught:
        run(message((text, "cut.ics")))
    assert caught.value.reason == (
        'The calendar in the attachment "cut.ics" could not be read: BEGIN:VEVENT on line 3 '
        "is never closed (the text stops at line 5)."
    )


def test_mismatched_end_says_which_line() -> None:
    text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a@example.org\r\nEND:VCALENDAR\r\n"
    with pytest.raises(Unplannable) as caught:
        run(message(text))
    assert caught.value.reason == (
        "The calendar in the inline part could not be read: line 4 (END:VCALENDAR) closes "
        "BEGIN:VEVENT from line 2."
    )


def test_garbage_line_outside_an_event_says_which_line() -> None:
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not ical\r\nEND:VCALENDAR\r\n"
    with pytest.raises(Unplannable) as caught:
        run(message(text))
    assert "line 3" in caught.value.reason
    assert "this is not ical" in caught.value.reason


def test_broken_line_inside_an_event_is_ignored_with_a_note() -> None:
    lines = event("DTSTART:20270701T080000Z", "DURATION:PT1H", "not a content line")
    request = one(message(ics(*lines)))
    assert "line 12 of the calendar could not be read and was ignored" in request.notes


def test_broken_dtend_is_unplannable() -> None:
    lines = event("DTSTART:20270701T080000Z", "DTEND:20270701T0900")
    with pytest.raises(Unplannable) as caught:
        run(message(ics(*lines)))
    assert "DTEND (line 11)" in caught.value.reason


def test_broken_dtstart_after_a_vtimezone_names_the_event_line() -> None:
    # The VTIMEZONE has DTSTART lines of its own (lines 8 and 14); the event's is 25.
    head = vtimezone("W. Europe Standard Time", "+0100", "+0200")
    lines = event("DTSTART;TZID=W. Europe Standard Time:20270315 1400")
    with pytest.raises(Unplannable) as caught:
        run(message(ics(*lines, head=head)))
    assert caught.value.reason.startswith(
        "The calendar in the inline part could not be read: DTSTART (line 25): "
    )


def test_unsplittable_dtstart_line_is_unplannable() -> None:
    lines = event('DTSTART;TZID="Europe/Zurich:20270701T100000', "DURATION:PT1H")
    with pytest.raises(Unplannable) as caught:
        run(message(ics(*lines)))
    assert caught.value.reason.startswith(
        "The calendar in the inline part could not be read: DTSTART (line 10): "
    )


def test_calendar_without_event_is_unplannable() -> None:
    lines = ["BEGIN:VCALENDAR", "METHOD:REQUEST", "BEGIN:VTODO", "UID:t@example.org", "END:VTODO"]
    text = "\r\n".join([*lines, "END:VCALENDAR", ""])
    with pytest.raises(Unplannable, match="holds no event"):
        run(message(text))


@pytest.mark.parametrize("method", ["REPLY", "COUNTER", "DECLINECOUNTER", "REFRESH"])
def test_itip_answers_are_not_requests(method: str) -> None:
    lines = event("DTSTART:20270701T080000Z", "DURATION:PT1H")
    with pytest.raises(NotARequest, match=f"METHOD:{method}"):
        run(message(ics(*lines, method=method)))


def test_mime_method_counts_when_the_calendar_has_none() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Accepted"
    msg.set_content(
        ics(*event("DTSTART:20270701T080000Z"), method=None),
        subtype="calendar",
        params={"method": "REPLY"},
    )
    with pytest.raises(NotARequest, match="METHOD:REPLY"):
        run(msg)


def test_reply_next_to_a_request_plans_the_request() -> None:
    lines = event("DTSTART:20270701T080000Z", "DURATION:PT1H")
    request = one(message(ics(*lines, method="REPLY"), ics(*lines, method="REQUEST")))
    assert request.method == "REQUEST"


# --- text and people ------------------------------------------------------------


def test_title_is_folded_to_one_line() -> None:
    lines = [
        "UID:t@example.org",
        "SUMMARY:  Budget\\n review \\N\tround\x0b two  ",
        "DTSTART:20270701T080000Z",
    ]
    assert one(message(ics(*lines))).title == "Budget review round two"


def test_empty_title_gets_the_default() -> None:
    request = one(message(ics("UID:t@example.org", "SUMMARY:", "DTSTART:20270701T080000Z")))
    assert request.title == DEFAULT_TITLE == "Untitled meeting"
    assert 'no title given: "Untitled meeting" used' in request.notes


def test_organizer_listed_as_attendee_appears_once() -> None:
    lines = event(
        "DTSTART:20270701T080000Z",
        "ATTENDEE;PARTSTAT=TENTATIVE:mailto:OLGA@example.com",
        "ATTENDEE;CN=Piet;PARTSTAT=accepted:mailto:piet@example.net",
        "ATTENDEE;CN=Piet again:mailto:piet@example.net",
        "ATTENDEE;CN=No Mail:urn:uuid:00000000-0000-0000-0000-000000000000",
    )
    assert one(message(ics(*lines))).attendees == (
        Attendee("olga@example.com", "Olga Organizer", "TENTATIVE", True),
        Attendee("piet@example.net", "Piet", "ACCEPTED", False),
    )


def test_organizer_state_defaults_to_accepted_and_can_be_stated() -> None:
    lines = [
        "UID:t@example.org",
        "DTSTART:20270701T080000Z",
        "ORGANIZER;PARTSTAT=DELEGATED:mailto:olga@example.com",
    ]
    assert one(message(ics(*lines))).attendees == (
        Attendee("olga@example.com", None, "DELEGATED", True),
    )


def test_latin1_calendar_part_is_decoded() -> None:
    text = ics("UID:l@example.org", "SUMMARY:Caf\xe9 r\xe9union", "DTSTART:20270701T080000Z")
    msg = EmailMessage()
    msg["Subject"] = "Réunion"
    msg.set_content(text.encode("latin-1"), maintype="text", subtype="calendar")
    msg.replace_header("Content-Type", 'text/calendar; charset="iso-8859-1"')
    (part,) = calendar_parts(msg)
    assert "SUMMARY:Café réunion".encode() in part
    assert one(msg).title == "Café réunion"
