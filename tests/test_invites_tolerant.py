"""Invitations with one bad line are read the way the big clients read them.

Each shape below was seen in a real calendar program's output (the name says
which); the calendars here are written for this project. The instants are
worked out by hand: on 2027-03-15 Central Europe is on winter time (UTC+1),
and New York, which moves its clocks on 2027-03-14, on summer time (UTC-4).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from kmeet_bridge.bridge import extract_meetings
from kmeet_bridge.config import from_mapping
from kmeet_bridge.invitations.invites import extract
from kmeet_bridge.models import Extraction, ITipAnswer, MeetingRequest
from kmeet_bridge.service.cli import DRY_RUN_DEFAULTS

NOW = datetime(2026, 12, 1, tzinfo=UTC)

BERLIN_LIKE = [
    "BEGIN:STANDARD",
    "DTSTART:16010101T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:16010101T020000",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
    "END:DAYLIGHT",
]


def calendar(*event: str, before: tuple[str, ...] = (), method: str = "REQUEST") -> str:
    """One VEVENT holding `event`'s lines, after `before` (VTIMEZONEs, X-WR-*)."""
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example//Calendar//EN",
            *([f"METHOD:{method}"] if method else []),
            *before,
            "BEGIN:VEVENT",
            "UID:tolerant-1@example.com",
            "SUMMARY:Budget review",
            "ORGANIZER;CN=Ana:mailto:ana@example.com",
            "ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:mailto:ben@example.com",
            *event,
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def message(ics: str | bytes, subject: str = "Invitation: Budget review") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail["To"] = "meet@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = "<tolerant@example.com>"
    data = ics.encode("utf-8") if isinstance(ics, str) else ics
    mail.set_content(data, maintype="text", subtype="calendar", params={"method": "REQUEST"})
    return mail


def read(ics: str | bytes, *, now: datetime = NOW) -> Extraction:
    return extract(message(ics), default_timezone="Europe/Zurich", default_duration=60, now=now)


def only_meeting(ics: str | bytes) -> MeetingRequest:
    extraction = read(ics)
    assert extraction.problems == ()
    [meeting] = extraction.meetings
    return meeting


def utc(meeting: MeetingRequest) -> tuple[str, str]:
    return (
        meeting.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        meeting.end.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
    )


# --- an empty TZID (Exchange 2010) -----------------------------------------------


def test_empty_tzid_is_read_by_its_definition() -> None:
    zone = ("BEGIN:VTIMEZONE", "TZID:", *BERLIN_LIKE, "END:VTIMEZONE")
    meeting = only_meeting(
        calendar("DTSTART;TZID=:20270315T140000", "DTEND;TZID=:20270315T153000", before=zone)
    )
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:30")
    assert meeting.start.strftime("%H:%M") == "14:00"
    assert "a time zone without a name (empty TZID): read by its definition" in meeting.notes


def test_quoted_empty_tzid_and_summer_time() -> None:
    zone = ("BEGIN:VTIMEZONE", "TZID:", *BERLIN_LIKE, "END:VTIMEZONE")
    meeting = only_meeting(
        calendar('DTSTART;TZID="":20270615T140000', 'DTEND;TZID="":20270615T150000', before=zone)
    )
    assert utc(meeting) == ("2027-06-15 12:00", "2027-06-15 13:00")


def test_empty_tzid_without_a_definition_is_a_floating_time() -> None:
    meeting = only_meeting(calendar("DTSTART;TZID=:20270315T140000", "DTEND;TZID=:20270315T150000"))
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    assert meeting.timezone == "Europe/Zurich"
    assert "floating time read in Europe/Zurich" in meeting.notes


# --- an impossible offset in an old observance ----------------------------------


def broken_berlin(tzid: str) -> tuple[str, ...]:
    return (
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:18930401T000000",
        "RDATE:18930401T000000",
        "TZNAME:CET",
        "TZOFFSETFROM:+5328",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19810329T020000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZNAME:CEST",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:19961027T030000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZNAME:CET",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "END:VTIMEZONE",
    )


@pytest.mark.parametrize("tzid", ["Europe/Berlin", "Berlin office time"])
def test_observance_with_impossible_offset_is_ignored(tzid: str) -> None:
    meeting = only_meeting(
        calendar(
            f"DTSTART;TZID={tzid}:20270315T080000",
            f"DTEND;TZID={tzid}:20270315T093000",
            before=broken_berlin(tzid),
        )
    )
    assert utc(meeting) == ("2027-03-15 07:00", "2027-03-15 08:30")
    assert (
        f'time zone "{tzid}": an observance with an impossible offset (TZOFFSETFROM:+5328) '
        "was ignored"
    ) in meeting.notes


def test_unreadable_zone_that_no_event_uses_does_not_refuse_the_calendar() -> None:
    zone = ("BEGIN:VTIMEZONE", "TZID:Nowhere", "BEGIN:STANDARD", "END:STANDARD", "END:VTIMEZONE")
    meeting = only_meeting(
        calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z", before=zone)
    )
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")


# --- two RRULE lines (Zimbra, Cyrus) --------------------------------------------


def test_the_same_rule_twice_counts_once() -> None:
    rule = "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    meeting = only_meeting(
        calendar(
            "DTSTART;TZID=Europe/Zurich:20270301T100000",
            "DTEND;TZID=Europe/Zurich:20270301T110000",
            rule,
            rule,
        )
    )
    assert meeting.rule == "FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    assert meeting.occurrences_left == 4
    assert utc(meeting) == ("2027-03-01 09:00", "2027-03-01 10:00")


def test_two_different_rules_are_both_followed() -> None:
    # Every Monday until 8 March, and the second Wednesday of each month twice:
    # the occurrences of both rules, as RFC 2445 said and the clients do.
    meeting = only_meeting(
        calendar(
            "DTSTART;TZID=Europe/Zurich:20270301T100000",
            "DTEND;TZID=Europe/Zurich:20270301T110000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270308T090000Z",
            "RRULE:FREQ=MONTHLY;BYDAY=2WE;COUNT=2",
        )
    )
    assert meeting.rule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270308T090000Z"
    # 1 March (DTSTART), 8 March, 10 March, 14 April.
    assert meeting.occurrences_left == 4
    assert "2 repeat rules (RRULE): the first is shown, all are followed" in meeting.notes


def test_two_rules_and_a_later_now_find_the_next_occurrence_of_either() -> None:
    ics = calendar(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270308T090000Z",
        "RRULE:FREQ=MONTHLY;BYDAY=2WE;COUNT=2",
    )
    extraction = read(ics, now=datetime(2027, 3, 9, tzinfo=UTC))
    [meeting] = extraction.meetings
    assert utc(meeting) == ("2027-03-10 09:00", "2027-03-10 10:00")
    assert meeting.occurrences_left == 2


# --- DTEND equal to DTSTART (Google) --------------------------------------------


def test_series_whose_end_is_its_start_gets_the_default_length() -> None:
    start = "DTSTART;TZID=Europe/Zurich:20270301T100000"
    rule = "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3"
    zero = only_meeting(calendar(start, "DTEND;TZID=Europe/Zurich:20270301T100000", rule))
    no_end = only_meeting(calendar(start, rule))
    assert utc(zero) == utc(no_end) == ("2027-03-01 09:00", "2027-03-01 10:00")
    assert zero.occurrences_left == no_end.occurrences_left == 3
    assert "the end is the start (DTEND = DTSTART): default duration of 60 minutes" in zero.notes


def test_single_event_whose_end_is_its_start_gets_the_default_length() -> None:
    meeting = only_meeting(calendar("DTSTART:20270301T090000Z", "DTEND:20270301T090000Z"))
    assert utc(meeting) == ("2027-03-01 09:00", "2027-03-01 10:00")


def test_an_end_before_the_start_is_still_refused() -> None:
    extraction = read(calendar("DTSTART:20270301T090000Z", "DTEND:20270301T080000Z"))
    assert extraction.meetings == ()
    assert [problem.code for problem in extraction.problems] == ["end_before_start"]


# --- floating times with X-WR-TIMEZONE (Google, Apple exports) -----------------


def test_floating_time_is_read_in_the_calendars_x_wr_timezone() -> None:
    meeting = only_meeting(
        calendar(
            "DTSTART:20270315T090000",
            "DTEND:20270315T100000",
            before=("X-WR-TIMEZONE:America/New_York",),
        )
    )
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    assert meeting.timezone == "America/New_York"
    assert "floating time read in America/New_York (the calendar's X-WR-TIMEZONE)" in (
        meeting.notes
    )


def test_floating_series_follows_x_wr_timezone_across_summer_time() -> None:
    extraction = read(
        calendar(
            "DTSTART:20270301T090000",
            "DTEND:20270301T100000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            before=("X-WR-TIMEZONE:America/New_York",),
        ),
        now=datetime(2027, 3, 10, tzinfo=UTC),
    )
    [meeting] = extraction.meetings
    # 15 March, after New York's switch on 14 March: 09:00 EDT is 13:00 UTC.
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    assert meeting.timezone == "America/New_York"


def test_x_wr_timezone_does_not_move_a_time_with_its_own_zone() -> None:
    meeting = only_meeting(
        calendar(
            "DTSTART;TZID=Europe/Zurich:20270315T090000",
            "DTEND;TZID=Europe/Zurich:20270315T100000",
            before=("X-WR-TIMEZONE:America/New_York",),
        )
    )
    assert utc(meeting) == ("2027-03-15 08:00", "2027-03-15 09:00")
    assert meeting.timezone == "Europe/Zurich"


# --- a file embedded in the event ------------------------------------------------


def embedded_pdf(size: int) -> list[str]:
    """ATTACH;VALUE=BINARY with `size` bytes of a made-up PDF, folded at 75 octets."""
    data = base64.b64encode(b"%PDF-1.7\n" + bytes(range(256)) * (size // 256)).decode()
    head = "ATTACH;FMTTYPE=application/pdf;ENCODING=BASE64;VALUE=BINARY;X-FILENAME=agenda.pdf:"
    line = head + data
    return [line[:75]] + [" " + line[i : i + 74] for i in range(75, len(line), 74)]


def test_a_two_megabyte_embedded_pdf_is_left_out_and_the_event_read() -> None:
    meeting = only_meeting(
        calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z", *embedded_pdf(2 << 20))
    )
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    [note] = [note for note in meeting.notes if "embedded" in note]
    assert note == "files embedded in the calendar (ATTACH, 2841 KiB) were not read"


def test_a_link_to_a_file_is_not_an_embedded_file() -> None:
    meeting = only_meeting(
        calendar(
            "DTSTART:20270315T130000Z",
            "DTEND:20270315T140000Z",
            "ATTACH;FMTTYPE=application/pdf:https://files.example.com/agenda.pdf",
        )
    )
    assert not [note for note in meeting.notes if "embedded" in note]


def test_one_event_too_large_says_the_event_is_too_large() -> None:
    description = "DESCRIPTION:" + "x" * (1100 * 1024)
    extraction = read(calendar("DTSTART:20270315T130000Z", description))
    [problem] = extraction.problems
    assert problem.code == "too_large_event"
    assert problem.reason == (
        "the event in the inline part is 1100 KiB, more than the 1024 KiB this bridge reads"
    )
    assert problem.hint == (
        "Send the invitation again with less in it: a shorter description, fewer attendees."
    )


def test_a_calendar_export_too_large_says_so() -> None:
    event = calendar("DTSTART:20270315T130000Z", "DESCRIPTION:" + "x" * (600 * 1024))
    body = event[event.index("BEGIN:VEVENT") : event.index("END:VCALENDAR")]
    export = event.replace(body, body + body.replace("tolerant-1", "tolerant-2"))
    [problem] = read(export).problems
    assert problem.code == "too_large"
    assert "not a whole calendar export" in problem.hint


# --- iTIP answers are never requests ---------------------------------------------


SETTINGS = from_mapping(DRY_RUN_DEFAULTS, {}, secrets=False)


@pytest.mark.parametrize("method", ["REPLY", "COUNTER", "DECLINECOUNTER", "REFRESH"])
def test_an_itip_answer_is_never_a_request_whatever_its_subject(method: str) -> None:
    ics = calendar(
        "DTSTART:20270315T130000Z",
        "DTEND:20270315T140000Z",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@example.com",
        method=method,
    )
    mail = message(ics, subject="Accepted: Quarterly sync (kMeet)")
    mail.replace_header("From", "ben@example.com")
    with pytest.raises(ITipAnswer, match=f"METHOD:{method}"):
        extract_meetings(mail, SETTINGS, NOW)


def test_a_request_next_to_an_answer_is_still_planned() -> None:
    mail = message(calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z"))
    reply = calendar("DTSTART:20270315T130000Z", method="REPLY").replace("tolerant-1", "other")
    mail.add_attachment(reply.encode(), maintype="text", subtype="calendar", filename="reply.ics")
    extraction = extract_meetings(mail, SETTINGS, NOW)
    assert len(extraction.meetings) == 1
    assert extraction.organizers == frozenset({"ana@example.com"})


def test_default_length_is_the_configured_one() -> None:
    extraction = extract(
        message(calendar("DTSTART:20270301T090000Z", "DTEND:20270301T090000Z")),
        default_timezone="Europe/Zurich",
        default_duration=45,
        now=NOW,
    )
    [meeting] = extraction.meetings
    assert meeting.end - meeting.start == timedelta(minutes=45)


# --- repeat dates that name no moment --------------------------------------------


def test_a_repeat_date_without_a_date_is_ignored() -> None:
    # RDATE;VALUE=TIME is not iCalendar; the series is its DTSTART.
    meeting = only_meeting(
        calendar(
            "DTSTART;TZID=America/New_York:20270302T090000",
            "DTEND;TZID=America/New_York:20270302T100000",
            "RDATE;VALUE=TIME;TZID=America/New_York:083000",
        )
    )
    assert utc(meeting) == ("2027-03-02 14:00", "2027-03-02 15:00")
    assert "1 repeat date (RDATE) without a date and time ignored" in meeting.notes


def test_a_period_without_a_zone_takes_the_series_zone_for_both_ends() -> None:
    # A PERIOD of dates (read by icalendar as midnights) in a series given in UTC:
    # its start and its end are both read in UTC, as the expansion reads the start.
    meeting = only_meeting(
        calendar("DTSTART:20270102T180000Z", "RDATE;VALUE=PERIOD:20270101/20270102")
    )
    assert utc(meeting) == ("2027-01-01 00:00", "2027-01-02 00:00")


# --- a stray line outside the events; a spaced list in a rule ------------------


def test_a_stray_line_between_the_events_is_ignored() -> None:
    ics = calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z")
    ics = ics.replace("END:VEVENT\r\n", "END:VEVENT\r\nX\r\n")
    meeting = only_meeting(ics)
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    assert "line 13 of the calendar could not be read and was ignored" in meeting.notes


def test_a_rule_written_with_spaces_after_commas_is_read() -> None:
    # Microsoft CDO (Exchange 2003): BYDAY=MO, TU, WE, TH, FR.
    meeting = only_meeting(
        calendar(
            "DTSTART;TZID=Europe/Zurich:20270305T100000",
            "DTEND;TZID=Europe/Zurich:20270305T103000",
            "RRULE:FREQ=DAILY;UNTIL=20270310T090000Z;BYDAY=MO, TU, WE, TH, FR",
        )
    )
    assert meeting.rule == "FREQ=DAILY;UNTIL=20270310T090000Z;BYDAY=MO,TU,WE,TH,FR"
    # Friday 5, Monday 8, Tuesday 9, Wednesday 10 March.
    assert meeting.occurrences_left == 4
    assert utc(meeting) == ("2027-03-05 09:00", "2027-03-05 09:30")


def test_a_misspelt_end_of_the_calendar_is_read_around() -> None:
    ics = calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z")
    meeting = only_meeting(ics.replace("END:VCALENDAR", "END:VCALENDARD"))
    assert utc(meeting) == ("2027-03-15 13:00", "2027-03-15 14:00")
    assert "line 13 (END:VCALENDARD) closes no block: ignored" in meeting.notes
    assert "the calendar is never closed (END:VCALENDAR after line 13): closed there" in (
        meeting.notes
    )


def test_a_calendar_cut_off_inside_its_event_is_still_refused() -> None:
    ics = calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z")
    cut = ics[: ics.index("END:VEVENT")]
    [problem] = read(cut).problems
    assert problem.code == "unreadable"
    assert "BEGIN:VEVENT on line 5 is never closed" in problem.reason


def test_thousands_of_stray_lines_make_one_note() -> None:
    ics = calendar("DTSTART:20270315T130000Z", "DTEND:20270315T140000Z")
    ics = ics.replace("END:VEVENT\r\n", "END:VEVENT\r\n" + "X\r\n" * 5000)
    meeting = only_meeting(ics)
    assert [note for note in meeting.notes if "could not be read" in note] == [
        "5000 lines of the calendar could not be read and were ignored (the first on line 13)"
    ]
