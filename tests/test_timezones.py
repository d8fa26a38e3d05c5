"""Time-zone helpers: names -> IANA zones, instants, and the custom-zone fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from kmeet_bridge.invitations.timezones import (
    ZoneChoice,
    iana_zone_for,
    in_gap,
    is_ambiguous,
    names_one_instant,
    to_utc,
    zone_for_definition,
    zones_named_in,
)

EU_RULES = """\
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT"""

US_EASTERN_RULES = """\
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT"""

NEPAL_RULES = """\
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0545
TZOFFSETTO:+0545
END:STANDARD"""


def definition(tzid: str, rules: str, extra: str = ""):
    """A tzinfo built from a VTIMEZONE, as icalendar does for an invitation."""
    text = f"BEGIN:VTIMEZONE\nTZID:{tzid}\n{extra}{rules}\nEND:VTIMEZONE\n".replace("\n", "\r\n")
    component = icalendar.Timezone.from_ical(text)
    return component.to_tz(lookup_tzid=False)


# --- iana_zone_for ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tzid", "expected"),
    [
        ("Europe/Zurich", "Europe/Zurich"),
        ("europe/zurich", "Europe/Zurich"),
        ("  Europe/Zurich ", "Europe/Zurich"),
        ('"Europe/Zurich"', "Europe/Zurich"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("Z", "UTC"),
        ("Coordinated Universal Time", "UTC"),
        ("tzone://Microsoft/Utc", "UTC"),
        # Windows ids, as Outlook and Exchange write them
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Romance Standard Time", "Europe/Paris"),
        ("GMT Standard Time", "Europe/London"),
        ("Eastern Standard Time", "America/New_York"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("w. europe standard time", "Europe/Berlin"),
        # "globally unique" ids with a vendor prefix
        ("/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"),
        ("/freeassociation.sourceforge.net/Tzfile/Europe/Zurich", "Europe/Zurich"),
        ("/freeassociation.sourceforge.net/Europe/Vienna", "Europe/Vienna"),
        ("/softwarestudio.org/Olson_20011030_5/America/New_York", "America/New_York"),
        (
            "/citadel.org/20190914_1/America/Argentina/Buenos_Aires",
            "America/Argentina/Buenos_Aires",
        ),
        # nothing to go on
        ("Customized Time Zone", None),
        ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", None),
        ("/example.org/no-such-zone", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_iana_zone_for(tzid: str | None, expected: str | None) -> None:
    assert iana_zone_for(tzid) == expected


def test_zones_named_in_reads_windows_display_names() -> None:
    assert zones_named_in("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna") == [
        "Europe/Amsterdam",
        "Europe/Berlin",
        "Europe/Rome",
        "Europe/Stockholm",
        "Europe/Vienna",
    ]
    assert zones_named_in("(UTC-06:00) Guadalajara, Mexico City, Monterrey") == [
        "America/Mexico_City",
        "America/Monterrey",
    ]
    assert zones_named_in("Customized Time Zone") == []
    assert zones_named_in(None) == []


# --- to_utc ----------------------------------------------------------------------


def test_to_utc_plain_times() -> None:
    zurich = ZoneInfo("Europe/Zurich")
    assert to_utc(datetime(2027, 1, 14, 10, 0, tzinfo=zurich)) == datetime(
        2027, 1, 14, 9, 0, tzinfo=UTC
    )
    assert to_utc(datetime(2027, 7, 1, 10, 0, tzinfo=zurich)) == datetime(
        2027, 7, 1, 8, 0, tzinfo=UTC
    )


def test_to_utc_rejects_naive_times() -> None:
    with pytest.raises(ValueError):
        to_utc(datetime(2027, 7, 1, 10, 0))


@pytest.mark.parametrize("source", ["zoneinfo", "vtimezone"])
def test_to_utc_time_in_the_spring_gap_uses_the_offset_before_it(source: str) -> None:
    # 2027-03-28 02:30 does not exist in Central Europe (02:00 -> 03:00). RFC 5545
    # reads it with the offset before the gap, +01:00: 01:30 UTC.
    tz = ZoneInfo("Europe/Zurich") if source == "zoneinfo" else definition("Custom", EU_RULES)
    assert to_utc(datetime(2027, 3, 28, 2, 30, tzinfo=tz)) == datetime(
        2027, 3, 28, 1, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("source", ["zoneinfo", "vtimezone"])
def test_to_utc_time_in_the_autumn_overlap_is_the_first_occurrence(source: str) -> None:
    # 2027-10-31 02:30 happens twice; RFC 5545 means the first one, still at +02:00.
    tz = ZoneInfo("Europe/Zurich") if source == "zoneinfo" else definition("Custom", EU_RULES)
    assert to_utc(datetime(2027, 10, 31, 2, 30, tzinfo=tz)) == datetime(
        2027, 10, 31, 0, 30, tzinfo=UTC
    )


def test_utc_instant_just_after_the_spring_change_is_half_past_three_in_zurich() -> None:
    instant = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    wall = instant.astimezone(ZoneInfo("Europe/Zurich"))
    assert wall.strftime("%Y-%m-%d %H:%M:%S %z") == "2027-03-28 03:30:00 +0200"


# --- gaps and repeated hours ---------------------------------------------------------

# Central Europe in 2027: 02:00 -> 03:00 on 28 March, 03:00 -> 02:00 on 31 October.
WALL_CLOCKS = [
    # (wall clock, in a gap, happens twice)
    (datetime(2027, 3, 28, 1, 59), False, False),
    (datetime(2027, 3, 28, 2, 0), True, False),
    (datetime(2027, 3, 28, 2, 30), True, False),
    (datetime(2027, 3, 28, 3, 0), False, False),
    (datetime(2027, 10, 31, 1, 59), False, False),
    (datetime(2027, 10, 31, 2, 0), False, True),
    (datetime(2027, 10, 31, 2, 59), False, True),
    (datetime(2027, 10, 31, 3, 0), False, False),
    (datetime(2027, 7, 1, 12, 0), False, False),
]


@pytest.mark.parametrize("source", ["zoneinfo", "vtimezone"])
@pytest.mark.parametrize(("wall", "gap", "twice"), WALL_CLOCKS)
def test_gaps_and_repeated_hours(source: str, wall: datetime, gap: bool, twice: bool) -> None:
    tz = ZoneInfo("Europe/Zurich") if source == "zoneinfo" else definition("Custom", EU_RULES)
    assert in_gap(wall.replace(tzinfo=tz)) is gap
    assert is_ambiguous(wall.replace(tzinfo=tz)) is twice


def test_gap_and_repeat_checks_need_an_aware_time() -> None:
    with pytest.raises(ValueError):
        in_gap(datetime(2027, 3, 28, 2, 30))
    with pytest.raises(ValueError):
        is_ambiguous(datetime(2027, 10, 31, 2, 30))


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        # 00:30 UTC is 02:30 CEST, the first 02:30 of 31 October: the wall clock names it
        (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "Europe/Zurich", True),
        # 01:30 UTC is 02:30 CET, the second one: "02:30 Europe/Zurich" means 00:30 UTC
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "Europe/Zurich", False),
        (datetime(2027, 10, 31, 2, 0, tzinfo=UTC), "Europe/Zurich", True),  # 03:00 CET
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "UTC", True),
        # New York goes back on 7 November 2027: 06:30 UTC is the second 01:30 (EST)
        (datetime(2027, 11, 7, 6, 30, tzinfo=UTC), "America/New_York", False),
        (datetime(2027, 11, 7, 5, 30, tzinfo=UTC), "America/New_York", True),
    ],
)
def test_names_one_instant(instant: datetime, zone: str, expected: bool) -> None:
    assert names_one_instant(instant, ZoneInfo(zone)) is expected


# --- zone_for_definition ------------------------------------------------------------


def test_named_zone_is_used_when_the_definition_agrees() -> None:
    tz = definition("W. Europe Standard Time", EU_RULES)
    start = datetime(2027, 3, 15, 14, 0, tzinfo=tz)
    end = datetime(2027, 3, 15, 15, 30, tzinfo=tz)
    choice = zone_for_definition(
        "W. Europe Standard Time", start, end, default_zone="Europe/Zurich"
    )
    assert choice == ZoneChoice("Europe/Berlin", "name")


def test_named_zone_is_not_used_when_the_definition_disagrees() -> None:
    # The name says Berlin, the definition says US Eastern: the definition decides
    # the instant, so the zone that shows it faithfully is an Eastern one.
    tz = definition("W. Europe Standard Time", US_EASTERN_RULES)
    start = datetime(2027, 6, 1, 9, 0, tzinfo=tz)
    end = datetime(2027, 6, 1, 10, 0, tzinfo=tz)
    choice = zone_for_definition(
        "W. Europe Standard Time", start, end, default_zone="Europe/Zurich"
    )
    assert choice == ZoneChoice("America/New_York", "offset")


def test_location_hint_is_used() -> None:
    tz = definition("Mitteleuropa", EU_RULES)
    start = datetime(2027, 6, 1, 9, 0, tzinfo=tz)
    end = datetime(2027, 6, 1, 10, 0, tzinfo=tz)
    choice = zone_for_definition(
        "Mitteleuropa", start, end, default_zone="America/New_York", hints=["Europe/Vienna"]
    )
    assert choice == ZoneChoice("Europe/Vienna", "hint")


def test_city_in_a_display_name_is_used() -> None:
    name = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
    tz = definition(name, EU_RULES)
    start = datetime(2027, 6, 1, 9, 0, tzinfo=tz)
    end = datetime(2027, 6, 1, 10, 0, tzinfo=tz)
    choice = zone_for_definition(name, start, end, default_zone="Europe/Zurich")
    assert choice == ZoneChoice("Europe/Amsterdam", "city")


def test_default_zone_is_preferred_among_zones_with_the_same_offsets() -> None:
    tz = definition("Customized Time Zone", EU_RULES)
    start = datetime(2027, 6, 1, 9, 0, tzinfo=tz)
    end = datetime(2027, 6, 1, 10, 0, tzinfo=tz)
    # Europe/Zurich (first of the common zones) would match too.
    choice = zone_for_definition("Customized Time Zone", start, end, default_zone="Europe/Oslo")
    assert choice == ZoneChoice("Europe/Oslo", "offset")


def test_common_zone_is_used_when_the_default_does_not_match() -> None:
    tz = definition("Customized Time Zone", US_EASTERN_RULES)
    start = datetime(2027, 1, 12, 9, 0, tzinfo=tz)
    end = datetime(2027, 1, 12, 10, 0, tzinfo=tz)
    choice = zone_for_definition("Customized Time Zone", start, end, default_zone="Europe/Zurich")
    assert choice == ZoneChoice("America/New_York", "offset")


def test_offsets_must_match_at_start_and_at_end() -> None:
    # Saturday 23:00 to Sunday 04:00 across the spring change: +01:00 at the start,
    # +02:00 at the end. Africa/Lagos (always +01:00) matches only the start.
    tz = definition("Customized Time Zone", EU_RULES)
    start = datetime(2027, 3, 27, 23, 0, tzinfo=tz)
    end = datetime(2027, 3, 28, 4, 0, tzinfo=tz)
    choice = zone_for_definition("Customized Time Zone", start, end, default_zone="Africa/Lagos")
    assert choice == ZoneChoice("Europe/Zurich", "offset")


def test_nothing_matches_falls_back_to_the_default_zone() -> None:
    tz = definition("Custom", NEPAL_RULES)
    start = datetime(2027, 7, 1, 12, 0, tzinfo=tz)
    end = datetime(2027, 7, 1, 13, 0, tzinfo=tz)
    choice = zone_for_definition("Custom", start, end, default_zone="Europe/Zurich")
    assert choice == ZoneChoice("Europe/Zurich", "fallback")
    # The instant is still the one the definition gives: 12:00 at +05:45.
    assert to_utc(start) == datetime(2027, 7, 1, 6, 15, tzinfo=UTC)
