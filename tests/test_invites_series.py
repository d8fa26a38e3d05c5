"""Repeating events: one meeting per series, placed at its first occurrence not yet ended.

The series used throughout: "Weekly sync", Mondays 10:00-11:00 Europe/Zurich from
2027-03-01, COUNT=10, 2027-03-29 (Easter Monday) excluded. Its occurrences, worked
out by hand (Zurich is UTC+1 until 2027-03-28, UTC+2 after):

    Mar  1, 8, 15, 22          10:00-11:00 CET   = 09:00-10:00 UTC
    Mar 29                     excluded (EXDATE)
    Apr  5, 12, 19, 26, May 3  10:00-11:00 CEST  = 08:00-09:00 UTC
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.test_invites import event, message, one, problem, run, times, utc

KEY = "ics:olga@example.com:meeting-1@example.org:"
SERIES = event(
    "DTSTART;TZID=Europe/Zurich:20270301T100000",
    "DTEND;TZID=Europe/Zurich:20270301T110000",
    "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO",
    "EXDATE;TZID=Europe/Zurich:20270329T100000",
)


def calendar(*events: tuple[str, ...], method: str | None = "REQUEST") -> str:
    """A calendar holding several VEVENTs (a series and its changed occurrences)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Org//Tests//EN"]
    if method:
        lines.append(f"METHOD:{method}")
    for lines_of_event in events:
        lines += ["BEGIN:VEVENT", *lines_of_event, "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "end", "start_utc", "left"),
    [
        # before the series: its first occurrence
        ("2026-12-01 00:00", "2027-03-01 10:00:00", "2027-03-01 11:00:00", "2027-03-01 09:00", 9),
        # between two occurrences: the next one
        ("2027-03-10 12:00", "2027-03-15 10:00:00", "2027-03-15 11:00:00", "2027-03-15 09:00", 7),
        # during an occurrence: it has not ended, so it is the one
        ("2027-03-15 09:30", "2027-03-15 10:00:00", "2027-03-15 11:00:00", "2027-03-15 09:00", 7),
        # the moment it ends it is over: the next one
        ("2027-03-15 10:00", "2027-03-22 10:00:00", "2027-03-22 11:00:00", "2027-03-22 09:00", 6),
        # after 22 March the excluded 29th is skipped: 5 April, in summer time
        ("2027-03-23 00:00", "2027-04-05 10:00:00", "2027-04-05 11:00:00", "2027-04-05 08:00", 5),
        # the last occurrence, under way
        ("2027-05-03 08:59", "2027-05-03 10:00:00", "2027-05-03 11:00:00", "2027-05-03 08:00", 1),
    ],
)
def test_first_occurrence_not_yet_ended(
    now: str, start: str, end: str, start_utc: str, left: int
) -> None:
    request = one(message(calendar(SERIES)), now=at(now))
    assert times(request)[:3] == (start, end, at(start_utc))
    assert request.timezone == "Europe/Zurich"
    assert request.key == KEY
    assert (request.rule, request.occurrences_left) == ("FREQ=WEEKLY;COUNT=10;BYDAY=MO", left)
    assert request.is_series
    assert (request.recurrence_id, request.series_key) == (None, None)
    assert request.notes == (
        f"repeating event: planned for its next occurrence, {start[:16]} (Europe/Zurich)",
    )


def test_series_whose_every_occurrence_ended_is_a_problem() -> None:
    over = problem(message(calendar(SERIES)), now=at("2027-05-03 09:00"))
    assert over.reason == (
        'The repeating event "Weekly sync" is over: all its occurrences have ended, the last '
        "one on 2027-05-03 10:00 (Europe/Zurich)."
    )
    assert over.subject == "Weekly sync"
    assert over.key == KEY


def test_changed_occurrence_is_not_taken_at_its_original_time() -> None:
    # 15 March moved to Thursday 1 April 10:00 CEST (08:00 UTC).
    moved = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        "DTSTART;TZID=Europe/Zurich:20270401T100000",
        "DTEND;TZID=Europe/Zurich:20270401T110000",
        "SEQUENCE:1",
    )
    result = run(message(calendar(SERIES, moved)), now=at("2027-03-14 00:00"))
    (request,) = result.meetings  # the changed occurrence is part of the series
    assert not result.problems and not result.cancellations
    assert times(request)[:3] == (
        "2027-03-22 10:00:00",
        "2027-03-22 11:00:00",
        at("2027-03-22 09:00"),
    )
    # Mar 22, Apr 1 (moved), Apr 5, 12, 19, 26, May 3
    assert request.occurrences_left == 7
    assert request.key == KEY
    assert request.notes == (
        "repeating event: planned for its next occurrence, 2027-03-22 10:00 (Europe/Zurich)",
        "the invitation also changes 1 occurrence of the series: taken into account",
    )


def test_changed_occurrence_that_comes_first_is_planned_at_its_new_time() -> None:
    # 1 March moved to Tuesday 2 March 14:00-15:30 CET (13:00-14:30 UTC).
    moved = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270301T100000",
        "DTSTART;TZID=Europe/Zurich:20270302T140000",
        "DTEND;TZID=Europe/Zurich:20270302T153000",
    )
    request = one(message(calendar(SERIES, moved)))
    assert times(request)[:4] == (
        "2027-03-02 14:00:00",
        "2027-03-02 15:30:00",
        at("2027-03-02 13:00"),
        at("2027-03-02 14:30"),
    )
    assert request.occurrences_left == 9
    assert request.notes[0] == (
        "repeating event: planned for its next occurrence, 2027-03-02 14:00 (Europe/Zurich), "
        "as changed in the invitation"
    )


def test_changed_occurrence_without_an_end_keeps_the_series_length() -> None:
    moved = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270301T100000",
        "DTSTART;TZID=Europe/Zurich:20270301T120000",
    )
    request = one(message(calendar(SERIES, moved)))
    assert times(request)[:2] == ("2027-03-01 12:00:00", "2027-03-01 13:00:00")


def test_cancelled_occurrence_in_a_request_is_left_out() -> None:
    cancelled = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270301T100000",
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "STATUS:CANCELLED",
    )
    result = run(message(calendar(SERIES, cancelled)))
    (request,) = result.meetings
    assert not result.cancellations  # the series, re-sent, says it all
    assert times(request)[:2] == ("2027-03-08 10:00:00", "2027-03-08 11:00:00")
    assert request.occurrences_left == 8
    assert request.notes[-1] == (
        "the invitation also cancels 1 occurrence of the series: taken into account"
    )


def test_changed_occurrence_sent_alone_is_a_meeting_that_names_its_series() -> None:
    moved = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        "DTSTART;TZID=Europe/Zurich:20270316T140000",
        "DTEND;TZID=Europe/Zurich:20270316T150000",
        "SEQUENCE:1",
    )
    request = one(message(calendar(moved)))
    assert request.key == KEY + "20270315T090000Z"
    assert (request.recurrence_id, request.series_key) == ("20270315T090000Z", KEY)
    assert (request.rule, request.occurrences_left, request.is_series) == (None, None, False)
    assert times(request)[:2] == ("2027-03-16 14:00:00", "2027-03-16 15:00:00")


def test_changed_occurrence_in_another_part_than_its_series_is_part_of_it() -> None:
    moved = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        "DTSTART;TZID=Europe/Zurich:20270316T140000",
        "DTEND;TZID=Europe/Zurich:20270316T150000",
    )
    request = one(message(calendar(SERIES), (calendar(moved), "occurrence.ics")))
    assert request.key == KEY
    assert request.is_series


def test_rdate_only_series() -> None:
    lines = event(
        "DTSTART:20270301T090000Z",
        "DURATION:PT30M",
        "RDATE:20270310T090000Z,20270320T090000Z",
    )
    request = one(message(calendar(lines)), now=at("2027-03-05 00:00"))
    assert times(request) == (
        "2027-03-10 10:00:00",
        "2027-03-10 10:30:00",
        at("2027-03-10 09:00"),
        at("2027-03-10 09:30"),
        "Europe/Zurich",
    )
    assert (request.rule, request.occurrences_left, request.is_series) == ("", 2, True)


def test_rdate_period_gives_an_occurrence_its_own_end() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RDATE;VALUE=PERIOD:20270310T090000Z/PT2H",
    )
    request = one(message(calendar(lines)), now=at("2027-03-05 00:00"))
    assert times(request)[:2] == ("2027-03-10 10:00:00", "2027-03-10 12:00:00")


def test_until_in_utc_with_a_zoned_start() -> None:
    # Daily 09:00-09:30 New York from Mon 8 March; clocks go forward on Sun 14 March
    # (EST -5 -> EDT -4). UNTIL 15 March 13:00 UTC is 09:00 EDT: that day is included.
    lines = event(
        "DTSTART;TZID=America/New_York:20270308T090000",
        "DTEND;TZID=America/New_York:20270308T093000",
        "RRULE:FREQ=DAILY;UNTIL=20270315T130000Z",
    )
    request = one(message(calendar(lines)), now=at("2027-03-14 00:00"))
    assert times(request) == (
        "2027-03-14 09:00:00",
        "2027-03-14 09:30:00",
        at("2027-03-14 13:00"),
        at("2027-03-14 13:30"),
        "America/New_York",
    )
    assert (request.rule, request.occurrences_left) == ("FREQ=DAILY;UNTIL=20270315T130000Z", 2)
    # One second earlier, 15 March is no longer part of the series.
    earlier = [line.replace("T130000Z", "T125959Z") for line in lines]
    assert one(message(calendar(tuple(earlier))), now=at("2027-03-14 00:00")).occurrences_left == 1


def test_open_ended_series_counts_nothing() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
    )
    # 2030-01-01 is a Tuesday: the next Monday is 7 January, 10:00 CET = 09:00 UTC.
    request = one(message(calendar(lines)), now=at("2030-01-01 00:00"))
    assert times(request)[:3] == (
        "2030-01-07 10:00:00",
        "2030-01-07 11:00:00",
        at("2030-01-07 09:00"),
    )
    assert (request.rule, request.occurrences_left) == ("FREQ=WEEKLY;BYDAY=MO", None)


def test_rule_parts_keep_the_order_of_the_invitation() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RRULE:FREQ=WEEKLY;WKST=MO;count=3;BYDAY=MO",
    )
    assert one(message(calendar(lines))).rule == "FREQ=WEEKLY;WKST=MO;COUNT=3;BYDAY=MO"


def test_occurrence_in_the_spring_gap_keeps_the_exact_length() -> None:
    # Sundays 02:30-03:30 Zurich. On 28 March 02:30 does not exist: it means 03:30
    # CEST (01:30 UTC); DTEND gives an exact length of one hour, so 04:30 CEST.
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270321T023000",
        "DTEND;TZID=Europe/Zurich:20270321T033000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
    )
    request = one(message(calendar(lines)), now=at("2027-03-22 00:00"))
    assert times(request)[:4] == (
        "2027-03-28 03:30:00",
        "2027-03-28 04:30:00",
        at("2027-03-28 01:30"),
        at("2027-03-28 02:30"),
    )
    assert request.notes == (
        "start 2027-03-28 02:30 does not exist in Europe/Zurich (the clocks go forward): "
        "read as 03:30",
        "repeating event: planned for its next occurrence, 2027-03-28 03:30 (Europe/Zurich)",
    )


def test_series_in_an_outlook_zone_with_its_definition() -> None:
    head = (
        "BEGIN:VTIMEZONE",
        "TZID:W. Europe Standard Time",
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
    lines = event(
        "DTSTART;TZID=W. Europe Standard Time:20270301T100000",
        "DTEND;TZID=W. Europe Standard Time:20270301T110000",
        "RRULE:FREQ=WEEKLY;COUNT=10;INTERVAL=1;BYDAY=MO;WKST=SU",
        "EXDATE;TZID=W. Europe Standard Time:20270329T100000",
    )
    text = calendar(lines).replace("BEGIN:VEVENT", "\r\n".join(head) + "\r\nBEGIN:VEVENT", 1)
    request = one(message(text), now=at("2027-03-23 00:00"))
    assert times(request) == (
        "2027-04-05 10:00:00",
        "2027-04-05 11:00:00",
        at("2027-04-05 08:00"),
        at("2027-04-05 09:00"),
        "Europe/Berlin",
    )
    assert request.occurrences_left == 5
    assert request.notes[0] == 'time zone "W. Europe Standard Time" read as Europe/Berlin'


def test_floating_series_is_read_in_the_default_zone() -> None:
    lines = event("DTSTART:20270301T100000", "DTEND:20270301T110000", "RRULE:FREQ=DAILY;COUNT=3")
    request = one(
        message(calendar(lines)), now=at("2027-03-02 00:00"), default_timezone="Asia/Tokyo"
    )
    # 2 March 10:00 in Tokyo (UTC+9) is 01:00 UTC, after `now`.
    assert times(request) == (
        "2027-03-02 10:00:00",
        "2027-03-02 11:00:00",
        at("2027-03-02 01:00"),
        at("2027-03-02 02:00"),
        "Asia/Tokyo",
    )
    assert request.occurrences_left == 2


def test_rule_that_matches_no_date_leaves_only_the_start() -> None:
    # There is no 30 February: RFC 5545 keeps DTSTART as the only occurrence.
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    )
    request = one(message(calendar(lines)))
    assert times(request)[:2] == ("2027-03-01 10:00:00", "2027-03-01 11:00:00")
    over = problem(message(calendar(lines)), now=at("2027-03-02 00:00"))
    assert "is over" in over.reason


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("RRULE:FREQ=SOMETIMES", ["RRULE (line 10)", "SOMETIMES"]),
        ("RRULE:garbage", ["(RRULE)", "no frequency (FREQ)"]),
        ("RRULE:FREQ=DAILY;INTERVAL=0", ["RRULE:FREQ=DAILY;INTERVAL=0", "INTERVAL=0"]),
        ("RRULE:FREQ=WEEKLY;COUNT=-3", ["COUNT=-3"]),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=0", ["BYMONTHDAY=0 is out of range"]),
        ("RRULE:FREQ=YEARLY;BYWEEKNO=60", ["BYWEEKNO=60 is out of range"]),
        ("RRULE:FREQ=DAILY;COUNT=3;UNTIL=20270310T000000Z", ["both COUNT and UNTIL"]),
        ("RRULE:FREQ=MINUTELY;COUNT=5", ["repeats minutely cannot be planned"]),
        ("RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5", ["cannot be followed", "RRULE:FREQ=HOURLY"]),
        ("EXDATE:2027-03-08", ["EXDATE (line 10)"]),
        ("RDATE:soon", ["RDATE (line 10)"]),
    ],
)
def test_malformed_repeat_property_is_a_problem_naming_it(rule: str, words: list[str]) -> None:
    lines = event(
        rule,
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
    )
    if not rule.startswith("RRULE"):
        lines = (*lines, "RRULE:FREQ=WEEKLY;COUNT=3")
    broken = problem(message(calendar(lines)))
    for word in words:
        assert word in broken.reason
    assert broken.subject == "Weekly sync"
    assert broken.key == KEY


def test_series_too_dense_to_follow_is_a_problem() -> None:
    lines = event(
        "DTSTART;TZID=Europe/Zurich:19900101T000000",
        "DURATION:PT30M",
        "RRULE:FREQ=HOURLY",
    )
    dense = problem(message(calendar(lines)))
    assert dense.reason.startswith(
        'The event "Weekly sync" repeats too often to be read (RRULE:FREQ=HOURLY): '
    )


def test_all_day_series_is_a_problem() -> None:
    lines = event("DTSTART;VALUE=DATE:20270301", "RRULE:FREQ=WEEKLY;COUNT=3")
    assert "all-day" in problem(message(calendar(lines))).reason


def test_two_series_in_one_message_are_two_meetings() -> None:
    other = event(
        "DTSTART;TZID=Europe/Zurich:20270302T150000",
        "DTEND;TZID=Europe/Zurich:20270302T153000",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        uid="meeting-2@example.org",
    )
    result = run(message(calendar(SERIES, other)))
    assert [(m.key, m.occurrences_left) for m in result.meetings] == [
        (KEY, 9),
        ("ics:olga@example.com:meeting-2@example.org:", 2),
    ]


def test_long_series_counts_up_to_a_limit() -> None:
    # Daily for 10 years: more than the 2000 occurrences counted; open-ended for the count.
    lines = event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        "RRULE:FREQ=DAILY;UNTIL=20370301T090000Z",
    )
    request = one(message(calendar(lines)))
    assert (request.rule, request.occurrences_left) == (
        "FREQ=DAILY;UNTIL=20370301T090000Z",
        None,
    )
    assert times(request)[:2] == ("2027-03-01 10:00:00", "2027-03-01 11:00:00")


def test_utc_series_repeats_in_utc() -> None:
    # RFC 5545 expands a UTC start in UTC: 09:00 UTC every week, which is 10:00 in
    # Zurich before 28 March and 11:00 after.
    lines = event("DTSTART:20270322T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2")
    request = one(message(calendar(lines)), now=at("2027-03-23 00:00"))
    assert times(request)[:3] == (
        "2027-03-29 11:00:00",
        "2027-03-29 12:00:00",
        utc("2027-03-29 09:00:00"),
    )
