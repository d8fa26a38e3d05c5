"""Properties: whatever zone and wall-clock time an invitation uses, the API gets the
same instant, and a series is planned at an occurrence that has not ended.

The expected instant is worked out here from first principles (RFC 5545, 3.3.5):
a wall-clock time that exists once means that moment; one that exists twice (the
clocks go back) means the first; one that does not exist (the clocks go forward)
means the time read with the offset from before the change. The oracle only asks
the zone database for offsets and tries every candidate; it never calls the code
under test.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from kmeet_bridge import config
from kmeet_bridge.config import KmeetSettings
from kmeet_bridge.kmeet import room_body
from kmeet_bridge.models import MeetingRequest
from tests.test_invites import message, run

NOW = datetime(2026, 12, 1, tzinfo=UTC)
FIRST, LAST = datetime(2027, 1, 1), datetime(2035, 12, 31, 23, 59)
ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
WINDOWS = sorted((name, zone) for name, zone in WINDOWS_TO_OLSON.items() if zone in set(ZONES))
PROPERTY = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@lru_cache(maxsize=1)
def kmeet_settings() -> KmeetSettings:
    document = {
        "imap": {"host": "127.0.0.1", "username": "meet@example.com", "password": "unused"},
        "smtp": {"host": "127.0.0.1", "from_address": "meet@example.com"},
        "kmeet": {"token": "unused", "calendar_id": 72618},
    }
    return config.from_mapping(document, environ={}).kmeet


def meant(zone: str, wall: datetime) -> datetime:
    """The instant a wall-clock time in `zone` stands for (RFC 5545)."""
    tz = ZoneInfo(zone)
    around = wall.replace(tzinfo=UTC)
    offsets = {
        (around + timedelta(hours=hours)).astimezone(tz).utcoffset() for hours in range(-48, 49, 6)
    }
    exact = sorted(
        wall.replace(tzinfo=UTC) - offset
        for offset in offsets
        if offset is not None
        and (wall.replace(tzinfo=UTC) - offset).astimezone(tz).replace(tzinfo=None) == wall
    )
    if exact:
        return exact[0]  # the first pass through a repeated hour
    # A gap: just before the change, the offset in force is the one before it.
    latest = max(offset for offset in offsets if offset is not None)
    before = (wall.replace(tzinfo=UTC) - latest - timedelta(minutes=1)).astimezone(tz)
    offset = before.utcoffset()
    assert offset is not None
    return wall.replace(tzinfo=UTC) - offset


@cache
def changes(zone: str) -> tuple[tuple[datetime, timedelta], ...]:
    """(wall-clock time just before, offset change) for each change of `zone` in range."""
    tz = ZoneInfo(zone)
    found = []
    step = timedelta(hours=6)
    at = FIRST.replace(tzinfo=UTC)
    previous = at.astimezone(tz).utcoffset()
    while at < LAST.replace(tzinfo=UTC):
        offset = (at + step).astimezone(tz).utcoffset()
        if offset != previous:
            low, high = 0, 6 * 60  # minutes after `at`: narrow down to the minute
            while high - low > 1:
                middle = (low + high) // 2
                if (at + timedelta(minutes=middle)).astimezone(tz).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            high = at + timedelta(minutes=high)
            assert previous is not None and offset is not None
            found.append(((high + previous).replace(tzinfo=None), offset - previous))
            previous = offset
        at += step
    return tuple(found)


@st.composite
def wall_clocks(draw: st.DrawFn, zone: str) -> datetime:
    """Any minute in 2027-2035, or one within two hours of a change of `zone`."""
    near = changes(zone)
    if near and draw(st.booleans()):
        change, _ = draw(st.sampled_from(near))
        return change + timedelta(minutes=draw(st.integers(-120, 120)))
    value = draw(st.datetimes(min_value=FIRST, max_value=LAST))
    return value.replace(second=0, microsecond=0)


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Any minute in 2027-2035, or one within two hours of a change of `zone`."""
    near = changes(zone)
    if near and draw(st.booleans()):
        change, _ = draw(st.sampled_from(near))
        at = meant(zone, change) + timedelta(minutes=draw(st.integers(-120, 120)))
        return at
    value = draw(st.datetimes(min_value=FIRST, max_value=LAST))
    return value.replace(second=0, microsecond=0, tzinfo=UTC)


def calendar(*lines: str) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Org//Tests//EN"]
    body = ["METHOD:REQUEST", "BEGIN:VEVENT", "UID:p@example.org", "SUMMARY:Property"]
    tail = ["ORGANIZER:mailto:olga@example.com", "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join([*head, *body, *lines, *tail]) + "\r\n"


def stamp(wall: datetime) -> str:
    return wall.strftime("%Y%m%dT%H%M%S")


def sent(meeting: MeetingRequest) -> tuple[datetime, datetime]:
    """The instants the kMeet API is asked for, read back the way the API reads them."""
    body = room_body(meeting, kmeet_settings())
    zone = ZoneInfo(body["timezone"])
    start = datetime.strptime(body["starting_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    end = datetime.strptime(body["ending_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@st.composite
def invitations(draw: st.DrawFn) -> tuple[str, str, datetime, int]:
    """(calendar text, default zone, the instant it means, minutes it lasts)."""
    form = draw(st.sampled_from(["tzid", "utc", "windows"]))
    minutes = draw(st.integers(1, 600))
    default = draw(st.sampled_from(ZONES))
    if form == "windows":
        name, zone = draw(st.sampled_from(WINDOWS))
        wall = draw(wall_clocks(zone))
        text = calendar(f'DTSTART;TZID="{name}":{stamp(wall)}', f"DURATION:PT{minutes}M")
        return text, default, meant(zone, wall), minutes
    zone = draw(st.sampled_from(ZONES))
    wall = draw(wall_clocks(zone))
    if form == "tzid":
        text = calendar(f'DTSTART;TZID="{zone}":{stamp(wall)}', f"DURATION:PT{minutes}M")
        return text, default, meant(zone, wall), minutes
    # A UTC time, shown in the default zone: the instant must survive that zone's
    # changes, the second pass through a repeated hour included.
    instant = draw(instants(zone))
    text = calendar(f"DTSTART:{instant:%Y%m%dT%H%M%SZ}", f"DURATION:PT{minutes}M")
    return text, zone, instant, minutes


@PROPERTY
@given(invitations())
def test_the_api_gets_the_instant_the_invitation_means(
    invitation: tuple[str, str, datetime, int],
) -> None:
    text, default, instant, minutes = invitation
    result = run(message(text), default_timezone=default)
    assert not result.problems
    (meeting,) = result.meetings
    assert meeting.start.astimezone(UTC) == instant
    assert sent(meeting) == (instant, instant + timedelta(minutes=minutes))


@PROPERTY
@given(st.data())
def test_an_end_given_as_wall_clock_time_is_read_the_same_way(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    wall = data.draw(wall_clocks(zone))
    wall_end = wall + timedelta(minutes=data.draw(st.integers(1, 240)))
    text = calendar(
        f'DTSTART;TZID="{zone}":{stamp(wall)}', f'DTEND;TZID="{zone}":{stamp(wall_end)}'
    )
    start, end = meant(zone, wall), meant(zone, wall_end)
    result = run(message(text))
    if end <= start:  # a DST change can put the end before the start: never planned
        (problem,) = result.problems
        assert "before or when it starts" in problem.reason
        return
    (meeting,) = result.meetings
    assert sent(meeting) == (start, end)


@st.composite
def series(draw: st.DrawFn) -> tuple[str, str, datetime, list[datetime], int, bool]:
    """(calendar, zone, now, every occurrence's start instant, minutes, finite)."""
    zone = draw(st.sampled_from(ZONES))
    wall = draw(wall_clocks(zone))
    # Another year; 29 February exists only in some.
    day = 28 if (wall.month, wall.day) == (2, 29) else wall.day
    wall = wall.replace(year=draw(st.integers(2027, 2029)), day=day)
    frequency = draw(st.sampled_from([("DAILY", DAILY), ("WEEKLY", WEEKLY), ("MONTHLY", MONTHLY)]))
    interval = draw(st.integers(1, 3))
    count = draw(st.none() | st.integers(1, 30))
    minutes = draw(st.integers(5, 180))
    rule = f"FREQ={frequency[0]};INTERVAL={interval}" + (f";COUNT={count}" if count else "")
    # Expanded here on the wall clock, as RFC 5545 says, then each start placed in time.
    walls = rrule(frequency[1], dtstart=wall, interval=interval, count=count or 60)
    starts = [meant(zone, start) for start in walls]
    now = draw(
        st.datetimes(min_value=NOW.replace(tzinfo=None), max_value=starts[-1].replace(tzinfo=None))
    ).replace(tzinfo=UTC)
    text = calendar(
        f'DTSTART;TZID="{zone}":{stamp(wall)}', f"DURATION:PT{minutes}M", f"RRULE:{rule}"
    )
    return text, zone, now, starts, minutes, count is not None


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(series())
def test_a_series_is_planned_at_its_first_occurrence_not_yet_ended(
    case: tuple[str, str, datetime, list[datetime], int, bool],
) -> None:
    text, _zone, now, starts, minutes, finite = case
    length = timedelta(minutes=minutes)
    upcoming = [start for start in starts if start + length > now]
    assume(upcoming or finite)  # an open-ended rule always has more than the 60 listed
    result = run(message(text), now=now)
    if not upcoming:
        (problem,) = result.problems
        assert "is over" in problem.reason
        return
    (meeting,) = result.meetings
    start, end = sent(meeting)
    assert start in starts  # an actual occurrence...
    assert end == start + length and end > now  # ...that has not ended
    assert start == min(upcoming)  # and the first such
    assert meeting.occurrences_left == (len(upcoming) if finite else None)
