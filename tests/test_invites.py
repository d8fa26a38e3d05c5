"""Invitations -> Extraction: one case per corpus message, then the rules one by one.

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

from kmeet_bridge.invitations.invites import DEFAULT_TITLE, calendar_parts, extract
from kmeet_bridge.models import (
    Attendee,
    Cancellation,
    EventProblem,
    Extraction,
    MeetingRequest,
    NotARequest,
)

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
) -> Extraction:
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
    rule: str | None = None
    occurrences_left: int | None = None
    recurrence_id: str | None = None
    series_key: str | None = None


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
    assert request.rule == expected.rule
    assert request.is_series == (expected.rule is not None)
    assert request.occurrences_left == expected.occurrences_left
    assert request.recurrence_id == expected.recurrence_id
    assert request.series_key == expected.series_key


@dataclass(frozen=True)
class Problem:
    """An EventProblem: exact subject and key, words its reason must contain."""

    subject: str
    words: tuple[str, ...]
    key: str | None = None


@dataclass(frozen=True)
class Case:
    """What one corpus message must give."""

    rule: str = ""
    meetings: tuple[Expected, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    problems: tuple[Problem, ...] = ()
    not_a_request: tuple[str, ...] = ()  # words of the NotARequest reason, if it is one


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
TEAMS_UID = (
    "040000008200E00074C5B7101A82E00800000000B7E3C1D2A4F6DB01000000000000000010000000"
    "D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0"
)
LATIN1_UID = (
    "040000008200E00074C5B7101A82E00800000000E0A1B2C3D4E5DB01000000000000000010000000"
    "F1E2D3C4B5A697887766554433221100"
)
CJK_UID = (
    "040000008200E00074C5B7101A82E00800000000C3D4E5F6A7B8DB01000000000000000010000000"
    "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0"
)
SERIES_UID = "3d9k2m7q1v5x8c0n4b6z2f7h9j@example.org"
ZOOM_UID = "20261130T174455Z-81234567890@fe80:0:0:0:8a4:2bff:fe61:3c0dens5"
TWICE = (
    'same event found twice in the message (inline part and attachment "invite.ics"): planned once'
)
REQUEST_RULE = "calendar part with METHOD:REQUEST: an invitation to plan"
REQUEST_TWICE_RULE = REQUEST_RULE + "; two calendar parts with the same event: planned once"
NOT_PLANNABLE_RULE = "calendar part with METHOD:REQUEST, but none of its events can be planned"
GOOGLE_FOOTER = (
    "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-"
    "\nInvitation from Google Calendar\n\nForwarding this invitation could allow any "
    "recipient to send a response to the organizer.\n"
    "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-"
)
OUTLOOK_PEOPLE = (
    ("anna.muster@example.com", "Anna Muster", "ACCEPTED", True),
    ("ben.beispiel@example.org", "Ben Beispiel", "NEEDS-ACTION", False),
    ("Chloe.Dupont@example.net", "Chloé Dupont", "NEEDS-ACTION", False),
)
OUTLOOK_AGENDA = (
    "Agenda:\n1. Figures for the first quarter\n2. Hiring plan\n\n"
    "Please send your numbers by Friday."
)
SERIES_PEOPLE = (
    ("elena.rossi@example.org", "Elena Rossi", "ACCEPTED", True),
    ("jonas.meier@example.com", "Jonas Meier", "NEEDS-ACTION", False),
    ("meet@example.com", None, "NEEDS-ACTION", False),  # CN only repeats the address
)
TEAMS_JOIN = (
    "https://teams.example.com/l/meetup-join/19%3ameeting_ZjY0NzQ2MmEtOTk0Ny00YjA1LWE3ZDktNz"
    "M1YjQ1ZjBkYjI2%40thread.v2/0?context=%7b%22Tid%22%3a%22b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
    "%22%2c%22Oid%22%3a%22a9b8c7d6-e5f4-4a3b-2c1d-0e9f8a7b6c5d%22%7d"
)
TEAMS_LINE = "_" * 80
ZOOM_JOIN = "https://zoom.example.com/j/81234567890?pwd=bXlQa0RrZ2pTVnFUUXh6b1ZOdWpBdz09"
DST_PEOPLE = (
    ("ops@example.net", "Ops Scheduler", "ACCEPTED", True),
    ("rafael.costa@example.com", "Rafael Costa", "NEEDS-ACTION", False),
)
WORKSHOP_PEOPLE = (
    ("iris.baumann@example.org", "Iris Baumann", "ACCEPTED", True),
    ("kai.winter@example.com", "Kai Winter", "NEEDS-ACTION", False),
)

OUTLOOK = Expected(
    key=f"ics:anna.muster@example.com:{OUTLOOK_UID}:",
    title="Quarterly planning review",
    start="2027-03-15 14:00:00",
    end="2027-03-15 15:30:00",
    start_utc="2027-03-15 13:00:00",
    end_utc="2027-03-15 14:30:00",
    timezone="Europe/Berlin",
    attendees=OUTLOOK_PEOPLE,
    notes=('time zone "W. Europe Standard Time" read as Europe/Berlin', TWICE),
    uid=OUTLOOK_UID,
    sequence=0,
    method="REQUEST",
    description=OUTLOOK_AGENDA,
)

CASES: dict[str, Case] = {
    "outlook_request.eml": Case(REQUEST_TWICE_RULE, (OUTLOOK,)),
    "google_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
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
                    + GOOGLE_FOOTER
                ),
            ),
        ),
    ),
    "thunderbird_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
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
        ),
    ),
    "apple_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
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
        ),
    ),
    "apple_icloud_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                # ORGANIZER and the organizer's ATTENDEE line are iCloud principal paths:
                # the address comes from their EMAIL parameter.
                key="ics:lea.schmid@example.com:8E2B7C4A-1F3D-4B6E-9A05-7C8D9E0F1A2B:",
                title="Product roadmap review",
                start="2027-02-17 09:00:00",
                end="2027-02-17 10:00:00",
                start_utc="2027-02-17 08:00:00",
                end_utc="2027-02-17 09:00:00",
                timezone="Europe/Zurich",
                attendees=(
                    ("lea.schmid@example.com", "Lea Schmid", "ACCEPTED", True),
                    ("marc.favre@example.org", "Marc Favre", "NEEDS-ACTION", False),
                    ("meet@example.com", None, "NEEDS-ACTION", False),
                ),
                notes=(),
                uid="8E2B7C4A-1F3D-4B6E-9A05-7C8D9E0F1A2B",
                sequence=0,
                method="REQUEST",
                description="",
            ),
        ),
    ),
    "infomaniak_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                key="ics:claire.morel@example.net:a3f5c7e9-2b4d-4f61-8a0c-e2d4f6a8b0c1:",
                title="Comité de rédaction – numéro de mai",
                start="2027-04-21 14:00:00",
                end="2027-04-21 15:00:00",
                start_utc="2027-04-21 12:00:00",
                end_utc="2027-04-21 13:00:00",
                timezone="Europe/Zurich",
                attendees=(
                    ("claire.morel@example.net", "Claire Morel", "ACCEPTED", True),
                    ("luca.bianchi@example.org", "Luca Bianchi", "NEEDS-ACTION", False),
                    ("meet@example.com", None, "NEEDS-ACTION", False),
                ),
                notes=(TWICE,),
                uid="a3f5c7e9-2b4d-4f61-8a0c-e2d4f6a8b0c1",
                sequence=0,
                method="REQUEST",
                description=(
                    "Relecture des articles, choix de la couverture.\n"
                    "Merci d'apporter vos propositions."
                ),
            ),
        ),
    ),
    "teams_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                key=f"ics:grace.turner@example.com:{TEAMS_UID}:",
                title="Vendor onboarding call",
                start="2027-06-02 15:00:00",
                end="2027-06-02 15:45:00",
                start_utc="2027-06-02 19:00:00",
                end_utc="2027-06-02 19:45:00",
                timezone="America/New_York",
                attendees=(
                    ("grace.turner@example.com", "Grace Turner", "ACCEPTED", True),
                    ("omar.haddad@example.net", "Omar Haddad", "NEEDS-ACTION", False),
                    ("meet@example.com", "kMeet", "NEEDS-ACTION", False),
                ),
                notes=('time zone "Eastern Standard Time" read as America/New_York',),
                uid=TEAMS_UID,
                sequence=0,
                method="REQUEST",
                description=(
                    "Agenda: accounts, access and the first delivery.\n\n"
                    f"{TEAMS_LINE}\n"
                    "Microsoft Teams meeting\n"
                    "Join: https://teams.example.com/meet/372914658203417?p=Xq7RtV2mKp9LwZ4c\n"
                    "Meeting ID: 372 914 658 203 417\n"
                    "Passcode: 4aT9xQ2z\n"
                    "________________________________\n"
                    "Need help? <https://teams.example.com/help/join?omkt=en-US> | "
                    f"System reference <{TEAMS_JOIN}>\n"
                    f"{TEAMS_LINE}"
                ),
            ),
        ),
    ),
    "zoom_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                # ORGANIZER without "mailto:"; the TZID property inside the VEVENT is ignored
                key=f"ics:hannah.berg@example.org:{ZOOM_UID}:",
                title="Design critique: checkout flow",
                start="2027-08-19 11:00:00",
                end="2027-08-19 12:00:00",
                start_utc="2027-08-19 18:00:00",
                end_utc="2027-08-19 19:00:00",
                timezone="America/Los_Angeles",
                attendees=(
                    ("hannah.berg@example.org", "Hannah Berg", "ACCEPTED", True),
                    ("meet@example.com", "meet", "NEEDS-ACTION", False),
                    ("ivan.petrov@example.net", "Ivan Petrov", "NEEDS-ACTION", False),
                ),
                notes=(TWICE,),
                uid=ZOOM_UID,
                sequence=1795974295,  # Zoom writes a timestamp as SEQUENCE
                method="REQUEST",
                description=(
                    "Hannah Berg is inviting you to a scheduled Zoom meeting.\n\n"
                    f"Join Zoom Meeting\n{ZOOM_JOIN}\n\n"
                    "Meeting ID: 812 3456 7890\nPasscode: 482915\n\n---\n\n"
                    "One tap mobile\n+16699006833,,81234567890#,,,,*482915# US (San Jose)\n\n"
                    "---\n\nJoin by SIP\n• 81234567890@zoomcrc.example.com"
                ),
            ),
        ),
    ),
    "forwarded_rfc822.eml": Case(
        REQUEST_RULE,
        (
            Expected(
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
        ),
    ),
    "forwarded_inline.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                # the forwarder's own text is no calendar; the attached invite.ics is
                key="ics:mia.wolf@example.org:6hq2b8s4v1n7k3m0c5x9z2p4r6@example.org:",
                title="Budget workshop",
                start="2027-01-25 14:00:00",
                end="2027-01-25 16:00:00",
                start_utc="2027-01-25 13:00:00",
                end_utc="2027-01-25 15:00:00",
                timezone="Europe/Zurich",
                attendees=(
                    ("mia.wolf@example.org", "Mia Wolf", "ACCEPTED", True),
                    ("tobias.keller@example.com", None, "ACCEPTED", False),
                ),
                notes=("time given in UTC: shown in Europe/Zurich (the default time zone)",),
                uid="6hq2b8s4v1n7k3m0c5x9z2p4r6@example.org",
                sequence=0,
                method="REQUEST",
                description="Figures for 2027 and the hiring plan.",
            ),
        ),
    ),
    "custom_vtimezone.eml": Case(
        REQUEST_RULE,
        (
            Expected(
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
                    'custom time zone "Customized Time Zone" shown as Europe/Zurich, which has '
                    "the same UTC offsets on the meeting's dates",
                ),
                uid=CUSTOM_UID,
                sequence=0,
                method="REQUEST",
                description="",
            ),
        ),
    ),
    "floating_no_end.eml": Case(
        "no METHOD: treated as PUBLISH, planned",
        (
            Expected(
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
        ),
    ),
    "duration.eml": Case(
        "calendar part with METHOD:PUBLISH: a published event, planned",
        (
            Expected(
                key="ics:priya.shah@example.org:release-review-2-4@planner.example.org:",
                title="Release review for v2.4 (team)",
                start="2027-03-02 09:30:00",
                end="2027-03-02 11:00:00",
                start_utc="2027-03-02 09:30:00",
                end_utc="2027-03-02 11:00:00",
                timezone="Europe/London",
                attendees=(
                    ("priya.shah@example.org", "Priya Shah", "ACCEPTED", True),
                    # the second Tom Baker line (other case) is a duplicate; "not-an-address"
                    # is dropped
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
        ),
    ),
    "latin1_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                key=f"ics:helene.lefevre@example.net:{LATIN1_UID}:",
                title="Réunion d'équipe – planning été",  # the dash is windows-1252 0x96
                start="2027-07-06 09:30:00",
                end="2027-07-06 11:00:00",
                start_utc="2027-07-06 07:30:00",
                end_utc="2027-07-06 09:00:00",
                timezone="Europe/Paris",
                attendees=(
                    ("helene.lefevre@example.net", "Hélène Lefèvre", "ACCEPTED", True),
                    ("francois.mueller@example.org", "François Müller", "NEEDS-ACTION", False),
                    ("meet@example.com", "kMeet", "NEEDS-ACTION", False),
                ),
                notes=('time zone "Romance Standard Time" read as Europe/Paris',),
                uid=LATIN1_UID,
                sequence=0,
                method="REQUEST",
                description="Ordre du jour : bilan du trimestre, congés d'été, café.",
            ),
        ),
    ),
    "cjk_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                key=f"ics:hanako.sato@example.com:{CJK_UID}:",
                title="週次定例会議（プロダクト）",
                start="2027-09-08 10:00:00",
                end="2027-09-08 11:00:00",
                start_utc="2027-09-08 01:00:00",
                end_utc="2027-09-08 02:00:00",
                timezone="Asia/Tokyo",
                attendees=(
                    ("hanako.sato@example.com", "佐藤 花子", "ACCEPTED", True),
                    ("li.wei@example.net", "李伟", "NEEDS-ACTION", False),
                    ("minjun.kim@example.org", "김민준", "NEEDS-ACTION", False),
                    ("meet@example.com", "kMeet", "NEEDS-ACTION", False),
                ),
                notes=('time zone "Tokyo Standard Time" read as Asia/Tokyo',),
                uid=CJK_UID,
                sequence=0,
                method="REQUEST",
                description="議題：\n1. 先週の振り返り\n2. 今週の予定",
            ),
        ),
    ),
    "dst_gap_request.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                # 02:30 does not exist on 2027-03-28 in Zurich: RFC 5545 reads it with the
                # offset from before the gap (+01:00), i.e. 01:30 UTC = 03:30 CEST.
                key="ics:ops@example.net:maint-2027-03-28@ops.example.net:",
                title="Server maintenance window (spring)",
                start="2027-03-28 03:30:00",
                end="2027-03-28 04:00:00",
                start_utc="2027-03-28 01:30:00",
                end_utc="2027-03-28 02:00:00",
                timezone="Europe/Zurich",
                attendees=DST_PEOPLE,
                notes=(
                    "start 2027-03-28 02:30 does not exist in Europe/Zurich (the clocks go "
                    "forward): read as 03:30",
                ),
                uid="maint-2027-03-28@ops.example.net",
                sequence=0,
                method="REQUEST",
                description="",
            ),
            Expected(
                # 02:30 happens twice on 2027-10-31: the first (CEST, 00:30 UTC) is meant.
                key="ics:ops@example.net:maint-2027-10-31@ops.example.net:",
                title="Server maintenance window (autumn)",
                start="2027-10-31 02:30:00",
                end="2027-10-31 03:30:00",
                start_utc="2027-10-31 00:30:00",
                end_utc="2027-10-31 02:30:00",
                timezone="Europe/Zurich",
                attendees=DST_PEOPLE,
                notes=(
                    "start 2027-10-31 02:30 happens twice in Europe/Zurich (the clocks go "
                    "back): the first one is meant",
                ),
                uid="maint-2027-10-31@ops.example.net",
                sequence=0,
                method="REQUEST",
                description="",
            ),
        ),
    ),
    "two_events.eml": Case(
        REQUEST_RULE,
        (
            Expected(
                key="ics:iris.baumann@example.org:workshop-day1@workshops.example.org:",
                title="Data workshop – part 1",
                start="2027-11-03 09:00:00",
                end="2027-11-03 12:00:00",
                start_utc="2027-11-03 08:00:00",
                end_utc="2027-11-03 11:00:00",
                timezone="Europe/Zurich",
                attendees=WORKSHOP_PEOPLE,
                notes=(),
                uid="workshop-day1@workshops.example.org",
                sequence=0,
                method="REQUEST",
                description="",
            ),
            Expected(
                key="ics:iris.baumann@example.org:workshop-day2@workshops.example.org:",
                title="Data workshop – part 2",
                start="2027-11-04 13:30:00",
                end="2027-11-04 17:00:00",
                start_utc="2027-11-04 12:30:00",
                end_utc="2027-11-04 16:00:00",
                timezone="Europe/Zurich",
                attendees=WORKSHOP_PEOPLE,
                notes=(),
                uid="workshop-day2@workshops.example.org",
                sequence=0,
                method="REQUEST",
                description="",
            ),
        ),
    ),
    "mixed_events.eml": Case(
        REQUEST_RULE + "; 1 event cannot be planned",
        (
            Expected(
                key="ics:sven.lindqvist@example.org:b1e4c8f2-6a3d-4e9b-8c07-3f5a2d1e9c64:",
                title="Board preparation call",
                start="2027-05-18 08:30:00",
                end="2027-05-18 09:15:00",
                start_utc="2027-05-18 06:30:00",
                end_utc="2027-05-18 07:15:00",
                timezone="Europe/Zurich",
                attendees=(
                    ("sven.lindqvist@example.org", "Sven Lindqvist", "ACCEPTED", True),
                    ("aylin.demir@example.com", "Aylin Demir", "NEEDS-ACTION", False),
                ),
                notes=(),
                uid="b1e4c8f2-6a3d-4e9b-8c07-3f5a2d1e9c64",
                sequence=0,
                method="REQUEST",
                description="",
            ),
        ),
        problems=(
            Problem(
                "Whit Monday (office closed)",
                ('"Whit Monday (office closed)"', "all-day", "2027-05-17"),
                "ics:sven.lindqvist@example.org:e7a2d9c5-1b8f-4c36-a4e0-9d2b7f6c3a18:",
            ),
        ),
    ),
    # --- the life of outlook_request.eml: same organizer and UID, so the same key
    "update_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                key=f"ics:anna.muster@example.com:{OUTLOOK_UID}:",
                title="Quarterly planning review",
                start="2027-03-15 16:00:00",  # was 14:00-15:30: two hours later, same day
                end="2027-03-15 17:30:00",
                start_utc="2027-03-15 15:00:00",
                end_utc="2027-03-15 16:30:00",
                timezone="Europe/Berlin",
                attendees=OUTLOOK_PEOPLE,
                notes=('time zone "W. Europe Standard Time" read as Europe/Berlin', TWICE),
                uid=OUTLOOK_UID,
                sequence=1,
                method="REQUEST",
                description=OUTLOOK_AGENDA,
            ),
        ),
    ),
    "reschedule_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                key=f"ics:anna.muster@example.com:{OUTLOOK_UID}:",
                title="Quarterly planning review",
                start="2027-03-22 14:00:00",  # one week later than outlook_request.eml
                end="2027-03-22 15:30:00",
                start_utc="2027-03-22 13:00:00",
                end_utc="2027-03-22 14:30:00",
                timezone="Europe/Berlin",
                attendees=OUTLOOK_PEOPLE,
                notes=('time zone "W. Europe Standard Time" read as Europe/Berlin', TWICE),
                uid=OUTLOOK_UID,
                sequence=2,
                method="REQUEST",
                description=OUTLOOK_AGENDA,
            ),
        ),
    ),
    "cancel_request.eml": Case(
        "METHOD:CANCEL: a cancellation",
        cancellations=(
            Cancellation(
                key=f"ics:anna.muster@example.com:{OUTLOOK_UID}:",
                title="Quarterly planning review",  # Outlook's "Canceled: " is dropped
                uid=OUTLOOK_UID,
                sequence=3,
            ),
        ),
    ),
    # --- the life of google_request.eml
    "cancel.eml": Case(
        "METHOD:CANCEL: a cancellation; two calendar parts with the same event: read once",
        cancellations=(
            Cancellation(
                key="ics:lukas.weber@example.com:5v8f3kq2n7c1p0m9j4h6g2d8s0@example.com:",
                title="Design sync",
                uid="5v8f3kq2n7c1p0m9j4h6g2d8s0@example.com",
                sequence=1,
            ),
        ),
    ),
    # --- a weekly series and one of its occurrences moved
    "series_request.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                key=f"ics:elena.rossi@example.org:{SERIES_UID}:",
                title="Team stand-up",
                start="2027-03-01 10:00:00",  # the first of 10 Mondays; 29 March is excluded
                end="2027-03-01 11:00:00",
                start_utc="2027-03-01 09:00:00",
                end_utc="2027-03-01 10:00:00",
                timezone="Europe/Zurich",
                attendees=SERIES_PEOPLE,
                notes=(
                    "repeating event: planned for its next occurrence, 2027-03-01 10:00 "
                    "(Europe/Zurich)",
                    TWICE,
                ),
                uid=SERIES_UID,
                sequence=0,
                method="REQUEST",
                description=(
                    "What we did, what we do next, what blocks us. No stand-up on Easter "
                    "Monday.\n\n" + GOOGLE_FOOTER
                ),
                rule="FREQ=WEEKLY;WKST=MO;COUNT=10;BYDAY=MO",
                occurrences_left=9,
            ),
        ),
    ),
    "series_exception.eml": Case(
        REQUEST_TWICE_RULE,
        (
            Expected(
                # RECURRENCE-ID 2027-03-15 10:00 Zurich (CET) = 09:00 UTC
                key=f"ics:elena.rossi@example.org:{SERIES_UID}:20270315T090000Z",
                title="Team stand-up",
                start="2027-03-16 14:00:00",
                end="2027-03-16 15:00:00",
                start_utc="2027-03-16 13:00:00",
                end_utc="2027-03-16 14:00:00",
                timezone="Europe/Zurich",
                attendees=SERIES_PEOPLE,
                notes=(TWICE,),
                uid=SERIES_UID,
                sequence=1,
                method="REQUEST",
                description=(
                    "Moved to Tuesday afternoon this week (workshop on Monday).\n\n" + GOOGLE_FOOTER
                ),
                recurrence_id="20270315T090000Z",
                series_key=f"ics:elena.rossi@example.org:{SERIES_UID}:",
            ),
        ),
    ),
    # --- nothing to plan
    "allday.eml": Case(
        NOT_PLANNABLE_RULE,
        problems=(
            Problem(
                "Team offsite",
                ('"Team offsite"', "all-day", "2027-06-01"),
                "ics:lukas.weber@example.com:0a1b2c3d4e5f6g7h8i9j0k1l2m@example.com:",
            ),
        ),
    ),
    "broken_ics.eml": Case(
        NOT_PLANNABLE_RULE,
        problems=(
            Problem(
                "Steering committee",
                ('attachment "steering.ics"', "DTSTART", "line 8", "2027-06-15 10:00"),
                "ics:felix.roth@example.net:handmade-7781@example.net:",
            ),
        ),
    ),
    "plain_message.eml": Case(not_a_request=("no calendar",)),
    "reply.eml": Case(not_a_request=("METHOD:REPLY", "not a request")),
}


def test_every_corpus_message_has_a_case() -> None:
    assert sorted(path.name for path in CORPUS.glob("*.eml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_message(name: str) -> None:
    case = CASES[name]
    if case.not_a_request:
        with pytest.raises(NotARequest) as caught:
            run(load(CORPUS / name))
        for word in case.not_a_request:
            assert word in str(caught.value)
        return
    result = run(load(CORPUS / name))
    assert result.rule == case.rule
    assert len(result.meetings) == len(case.meetings)
    for request, expected in zip(result.meetings, case.meetings, strict=True):
        check(request, expected)
    assert result.cancellations == case.cancellations
    assert len(result.problems) == len(case.problems)
    for problem, expected_problem in zip(result.problems, case.problems, strict=True):
        assert problem.subject == expected_problem.subject
        assert problem.key == expected_problem.key
        for word in expected_problem.words:
            assert word in problem.reason
        assert problem.hint  # the sender is told how to fix it


def test_life_cycle_messages_name_the_base_meeting() -> None:
    # update, reschedule and cancel_request all refer to outlook_request.eml by its key.
    base = run(load(CORPUS / "outlook_request.eml")).meetings[0]
    update = run(load(CORPUS / "update_request.eml")).meetings[0]
    moved = run(load(CORPUS / "reschedule_request.eml")).meetings[0]
    (cancelled,) = run(load(CORPUS / "cancel_request.eml")).cancellations
    assert base.key == update.key == moved.key == cancelled.key
    assert base.sequence < update.sequence < moved.sequence < cancelled.sequence
    assert update.start.date() == base.start.date() and update.end > base.end
    assert moved.start.date() > base.start.date()
    # series_exception.eml is one occurrence of series_request.eml
    series = run(load(CORPUS / "series_request.eml")).meetings[0]
    exception = run(load(CORPUS / "series_exception.eml")).meetings[0]
    assert exception.series_key == series.key
    (google,) = run(load(CORPUS / "google_request.eml")).meetings
    assert run(load(CORPUS / "cancel.eml")).cancellations[0].key == google.key


def test_readme_example_plans_one_meeting() -> None:
    (request,) = run(load(EXAMPLES / "invitation.eml")).meetings
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
        ("apple_icloud_request.eml", 1),  # text/calendar attachment, base64
        ("infomaniak_request.eml", 2),  # quoted-printable inline + application/ics
        ("teams_request.eml", 1),  # multipart/alternative only
        ("zoom_request.eml", 2),  # "method=REQUEST;;" inline + invite.ics without method
        ("forwarded_inline.eml", 1),  # the forwarder's text, the .ics attached
        ("latin1_request.eml", 1),
        ("cjk_request.eml", 1),
        ("dst_gap_request.eml", 1),
        ("mixed_events.eml", 1),
        ("series_request.eml", 2),
        ("cancel_request.eml", 1),
    ],
)
def test_calendar_parts_finds_every_calendar(name: str, count: int) -> None:
    parts = calendar_parts(load(CORPUS / name))
    assert len(parts) == count
    for part in parts:
        assert part.startswith(b"BEGIN:VCALENDAR\r\n")
        assert part.rstrip().endswith(b"END:VCALENDAR")


def test_calendar_parts_decodes_declared_charsets_to_utf8() -> None:
    (latin1,) = calendar_parts(load(CORPUS / "latin1_request.eml"))  # windows-1252, QP
    assert "SUMMARY:Réunion d'équipe – planning été".encode() in latin1
    (cjk,) = calendar_parts(load(CORPUS / "cjk_request.eml"))  # UTF-8, base64
    assert "SUMMARY;LANGUAGE=ja-JP:週次定例会議（プロダクト）".encode() in cjk


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


def one(msg: EmailMessage, **kwargs: object) -> MeetingRequest:
    """The only outcome of `msg`: one meeting."""
    result = run(msg, **kwargs)  # type: ignore[arg-type]
    assert not result.problems and not result.cancellations
    assert len(result.meetings) == 1
    return result.meetings[0]


def problem(msg: EmailMessage, **kwargs: object) -> EventProblem:
    """The only outcome of `msg`: one event (or part) that cannot be planned."""
    result = run(msg, **kwargs)  # type: ignore[arg-type]
    assert not result.meetings and not result.cancellations
    assert len(result.problems) == 1
    assert result.problems[0].hint  # the sender is always told how to fix it
    return result.problems[0]


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
    keys = [request.key for request in run(message(first, other)).meetings]
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


def test_repeating_event_is_one_meeting_at_its_first_occurrence() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270104T090000",
        "DTEND;TZID=Europe/Zurich:20270104T093000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10",
    )
    request = one(message(ics(*lines)))
    assert times(request)[:2] == ("2027-01-04 09:00:00", "2027-01-04 09:30:00")
    assert (request.rule, request.occurrences_left) == ("FREQ=WEEKLY;BYDAY=MO;COUNT=10", 10)
    assert request.key == "ics:olga@example.com:meeting-1@example.org:"
    assert request.notes == (
        "repeating event: planned for its next occurrence, 2027-01-04 09:00 (Europe/Zurich)",
    )
    # more in test_invites_series.py


# --- events that cannot be planned ----------------------------------------------


def test_meeting_that_already_ended_is_a_problem() -> None:
    msg = load(CORPUS / "outlook_request.eml")
    assert len(run(msg, now=datetime(2027, 3, 15, 14, 29, tzinfo=UTC)).meetings) == 1
    ended = problem(msg, now=datetime(2027, 3, 15, 14, 30, tzinfo=UTC))
    assert ended.reason == (
        'The event "Quarterly planning review" already ended (2027-03-15 15:30, Europe/Berlin).'
    )
    assert ended.subject == "Quarterly planning review"
    assert ended.key == f"ics:anna.muster@example.com:{OUTLOOK_UID}:"


def test_naive_now_is_taken_as_utc() -> None:
    msg = load(CORPUS / "outlook_request.eml")
    assert not run(msg, now=datetime(2027, 3, 15, 14, 30)).meetings
    assert len(run(msg, now=datetime(2027, 3, 15, 14, 29)).meetings) == 1


def test_end_before_start_is_a_problem() -> None:
    lines = event("DTSTART:20270701T100000Z", "DTEND:20270701T090000Z")
    reason = problem(message(ics(*lines))).reason
    assert reason == (
        'The event "Weekly sync" ends (2027-07-01 11:00) before or when it starts '
        "(2027-07-01 12:00, Europe/Zurich)."
    )


def test_zero_length_event_is_a_problem() -> None:
    text = ics(*event("DTSTART:20270701T100000Z", "DURATION:PT0S"))
    assert "before or when it starts" in problem(message(text)).reason


def test_missing_dtstart_is_a_problem() -> None:
    missing = problem(message(ics(*event("DTEND:20270701T100000Z"))))
    assert missing.reason == 'The event "Weekly sync" has no start time (DTSTART).'
    assert missing.subject == "Weekly sync"
    assert missing.key == "ics:olga@example.com:meeting-1@example.org:"


def test_date_end_with_a_time_start_is_a_problem() -> None:
    text = ics(*event("DTSTART:20270701T100000Z", "DTEND;VALUE=DATE:20270702"))
    assert problem(message(text)).reason == (
        'The event "Weekly sync" ends on a date without a time (2027-07-02).'
    )


def test_truncated_calendar_says_where_it_stops() -> None:
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a@example.org\r\nDTSTART:2027"
    cut = problem(message((text, "cut.ics")))
    assert cut.reason == (
        'The calendar in the attachment "cut.ics" could not be read: BEGIN:VEVENT on line 3 '
        "is never closed (the text stops at line 5)."
    )
    assert cut.subject == "calendar part 1 (cut.ics)"
    assert cut.key is None


def test_mismatched_end_says_which_line() -> None:
    text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a@example.org\r\nEND:VCALENDAR\r\n"
    mismatched = problem(message(text))
    assert mismatched.reason == (
        "The calendar in the inline part could not be read: line 4 (END:VCALENDAR) closes "
        "BEGIN:VEVENT from line 2."
    )
    assert mismatched.subject == "calendar part 1"


def test_garbage_line_outside_an_event_is_read_around() -> None:
    # Issue 15: one bad line does not refuse a calendar that clients read; the
    # calendar is judged by its events (here: none).
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not ical\r\nEND:VCALENDAR\r\n"
    assert problem(message(text)).reason == (
        "The calendar in the inline part holds no event (VEVENT)."
    )


def test_broken_line_inside_an_event_is_ignored_with_a_note() -> None:
    lines = event("DTSTART:20270701T080000Z", "DURATION:PT1H", "not a content line")
    request = one(message(ics(*lines)))
    assert "line 12 of the calendar could not be read and was ignored" in request.notes


def test_broken_dtend_is_a_problem() -> None:
    lines = event("DTSTART:20270701T080000Z", "DTEND:20270701T0900")
    assert "DTEND (line 11)" in problem(message(ics(*lines))).reason


def test_broken_dtstart_after_a_vtimezone_names_the_event_line() -> None:
    # The VTIMEZONE has DTSTART lines of its own (lines 8 and 14); the event's is 25.
    head = vtimezone("W. Europe Standard Time", "+0100", "+0200")
    lines = event("DTSTART;TZID=W. Europe Standard Time:20270315 1400")
    assert problem(message(ics(*lines, head=head))).reason.startswith(
        "The calendar in the inline part could not be read: DTSTART (line 25): "
    )


def test_unsplittable_dtstart_line_is_a_problem() -> None:
    lines = event('DTSTART;TZID="Europe/Zurich:20270701T100000', "DURATION:PT1H")
    assert problem(message(ics(*lines))).reason.startswith(
        "The calendar in the inline part could not be read: DTSTART (line 10): "
    )


def test_calendar_without_event_is_a_problem() -> None:
    lines = ["BEGIN:VCALENDAR", "METHOD:REQUEST", "BEGIN:VTODO", "UID:t@example.org", "END:VTODO"]
    text = "\r\n".join([*lines, "END:VCALENDAR", ""])
    empty = problem(message(text))
    assert empty.reason == "The calendar in the inline part holds no event (VEVENT)."
    assert empty.subject == "calendar part 1"
    assert run(message(text)).rule == "calendar part that cannot be read: nothing to plan"


def test_one_broken_part_does_not_hide_the_other_events() -> None:
    good = ics(*event("DTSTART:20270701T080000Z", "DURATION:PT1H"))
    broken = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b@example.org\r\n"
    result = run(message(good, (broken, "other.ics")))
    assert [request.key for request in result.meetings] == [
        "ics:olga@example.com:meeting-1@example.org:"
    ]
    (broken_part,) = result.problems
    assert broken_part.subject == "calendar part 2 (other.ics)"
    assert broken_part.reason.startswith(
        'The calendar in the attachment "other.ics" could not be read: BEGIN:VEVENT on line 2'
    )
    assert result.rule == REQUEST_RULE + "; 1 event cannot be planned"


def test_untitled_event_that_cannot_be_planned_is_named_by_its_part() -> None:
    lines = ["UID:u@example.org", "DTSTART;VALUE=DATE:20270701"]
    assert problem(message(ics(*lines))).subject == "an untitled event in calendar part 1"


def test_problem_of_higher_sequence_wins_over_an_older_meeting() -> None:
    # The organizer turned the meeting into an all-day event (SEQUENCE 1); an older
    # copy (SEQUENCE 0) in the same message must not plan it anyway.
    old = ics(*event("SEQUENCE:0", "DTSTART:20270701T080000Z", "DURATION:PT1H"))
    new = ics(*event("SEQUENCE:1", "DTSTART;VALUE=DATE:20270701"))
    allday = problem(message(old, (new, "update.ics")))
    assert "all-day" in allday.reason


def test_meeting_wins_over_a_problem_of_the_same_sequence() -> None:
    good = ics(*event("DTSTART:20270701T080000Z", "DURATION:PT1H"))
    broken = ics(*event("DTSTART:20270701T0800", "DURATION:PT1H"))
    assert one(message(good, (broken, "invite.ics"))).key == (
        "ics:olga@example.com:meeting-1@example.org:"
    )


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
    result = run(message(ics(*lines, method="REPLY"), ics(*lines, method="REQUEST")))
    (request,) = result.meetings
    assert request.method == "REQUEST"
    assert result.rule == REQUEST_RULE + "; the METHOD:REPLY part is ignored"


def test_rule_names_every_method_that_planned_something() -> None:
    first = ics(*event("DTSTART:20270701T080000Z", "DURATION:PT1H"))
    second = ics(*event("DTSTART:20270702T080000Z", uid="b@example.org"), method="PUBLISH")
    result = run(message(first, second))
    assert len(result.meetings) == 2
    assert result.rule == "calendar parts with METHOD:REQUEST and METHOD:PUBLISH: events to plan"


def test_end_in_the_repeated_hour_is_shown_in_utc() -> None:
    # 01:30 CEST + 90 minutes is 02:00 CET, the second 02:00 of 31 October: "02:00
    # Europe/Zurich" would mean an hour earlier, so the meeting is shown in UTC.
    lines = event("DTSTART;TZID=Europe/Zurich:20271031T013000", "DURATION:PT90M")
    request = one(message(ics(*lines)))
    assert times(request) == (
        "2027-10-30 23:30:00",
        "2027-10-31 01:00:00",
        utc("2027-10-30 23:30:00"),
        utc("2027-10-31 01:00:00"),
        "UTC",
    )
    assert request.notes == (
        "end computed from DURATION PT1H30M",
        "2027-10-31 02:00 happens twice in Europe/Zurich (the clocks go back): times shown "
        "in UTC so that the moment is unambiguous",
    )


def test_utc_time_in_the_second_repeated_hour_is_shown_in_utc() -> None:
    lines = event("DTSTART:20271031T013000Z", "DURATION:PT30M")
    request = one(message(ics(*lines)))
    assert times(request)[4] == "UTC"
    assert request.start.astimezone(UTC) == utc("2027-10-31 01:30:00")


def test_utf16_calendar_part_is_decoded() -> None:
    text = ics(*event("DTSTART:20270701T080000Z", "DURATION:PT1H"))
    msg = EmailMessage()
    msg["Subject"] = "Weekly sync"
    msg.set_content(text.encode("utf-16"), maintype="application", subtype="ics", filename="a.ics")
    assert one(msg).title == "Weekly sync"


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


def test_an_ics_file_named_in_rfc2047_words_is_found_by_its_name() -> None:
    # Some clients write non-ASCII file names as encoded words, and send the
    # file as application/octet-stream: only the decoded name says ".ics".
    def attached(text: str) -> EmailMessage:
        name = '"=?UTF-8?Q?Einladung_B=C3=BCro.ics?="'
        raw = (
            "From: olga@example.com\r\nTo: meet@example.com\r\nSubject: Termin\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nAnbei.\r\n"
            f"--b\r\nContent-Type: application/octet-stream; name={name}\r\n"
            f"Content-Disposition: attachment; filename={name}\r\n"
            f"\r\n{text}--b--\r\n"
        )
        msg = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    text = ics(*event("DTSTART:20270601T070000Z", "DTEND:20270601T080000Z"))
    assert one(attached(text)).start.astimezone(UTC) == utc("2027-06-01 07:00:00")
    broken = problem(attached(text.replace("END:VEVENT\r\n", "")))
    assert broken.subject == "calendar part 1 (Einladung Büro.ics)"
    assert broken.reason.startswith('The calendar in the attachment "Einladung Büro.ics" could')
