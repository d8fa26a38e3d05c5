"""kmeet_bridge.invitations.vtimezone: the fast VTIMEZONE tzinfo against dateutil's zone.

dateutil's tzical zone (what icalendar's `to_tz(lookup_tzid=False)` builds) is
the oracle: same instants for every UTC instant and, through `to_utc`, for every
wall time. Inside a gap the raw utcoffset() differs on purpose (PEP 495); that
is checked with exact values.
"""

from __future__ import annotations

import copy
import pickle
import threading
from datetime import UTC, datetime, timedelta, tzinfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeet_bridge.invitations.timezones import in_gap, is_ambiguous, names_one_instant, to_utc
from kmeet_bridge.invitations.vtimezone import zone_from_definition

W_EUROPE = """\
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:19700101T030000
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700101T020000
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
"""

# Three DST eras and the 2007 change, each era closed by UNTIL, as
# Thunderbird/libical write America/New_York.
US_EASTERN = """\
BEGIN:VTIMEZONE
TZID:/citadel.org/20070227_1/America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19670430T020000
RRULE:FREQ=YEARLY;UNTIL=19730429T070000Z;BYDAY=-1SU;BYMONTH=4
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19671029T020000
RRULE:FREQ=YEARLY;UNTIL=20061029T060000Z;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19760425T020000
RRULE:FREQ=YEARLY;UNTIL=19860427T070000Z;BYDAY=-1SU;BYMONTH=4
END:DAYLIGHT
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19870405T020000
RRULE:FREQ=YEARLY;UNTIL=20060402T070000Z;BYDAY=1SU;BYMONTH=4
END:DAYLIGHT
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
END:STANDARD
END:VTIMEZONE
"""

# Southern hemisphere: daylight time spans the new year.
SYDNEY = """\
BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
TZNAME:AEST
DTSTART:19700405T030000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU
END:STANDARD
BEGIN:DAYLIGHT
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
TZNAME:AEDT
DTSTART:19701004T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU
END:DAYLIGHT
END:VTIMEZONE
"""

FIXED = """\
BEGIN:VTIMEZONE
TZID:India Standard Time
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
TZNAME:IST
END:STANDARD
END:VTIMEZONE
"""

# W. Europe's 2023-2030 transitions written out as RDATEs, no RRULE.
RDATES = """\
BEGIN:VTIMEZONE
TZID:Listed Time Zone
BEGIN:STANDARD
DTSTART:20231029T030000
RDATE:20241027T030000,20251026T030000,20261025T030000
RDATE:20271031T030000,20281029T030000,20291028T030000,20301027T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20240331T020000
RDATE:20250330T020000,20260329T020000,20270328T020000,20280326T020000
RDATE:20290325T020000,20300331T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
END:DAYLIGHT
END:VTIMEZONE
"""

# Rules outside the fast path: INTERVAL=2 (daylight time every other year, one
# year excluded) and COUNT.
GENERAL = """\
BEGIN:VTIMEZONE
TZID:Odd Time Zone
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;COUNT=100;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:ODT
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;INTERVAL=2;BYDAY=-1SU;BYMONTH=3
EXDATE:20280326T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:OST
END:DAYLIGHT
END:VTIMEZONE
"""

# Fixed dates (BYMONTHDAY) at local midnight, as Iran's zone was written.
TEHRAN = """\
BEGIN:VTIMEZONE
TZID:Iran Standard Time
BEGIN:DAYLIGHT
DTSTART:19700322T000000
RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=22
TZOFFSETFROM:+0330
TZOFFSETTO:+0430
TZNAME:IRDT
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19700922T000000
RRULE:FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=22
TZOFFSETFROM:+0430
TZOFFSETTO:+0330
TZNAME:IRST
END:STANDARD
END:VTIMEZONE
"""

# Onsets whose UTC instant is in another year than their wall time: Jan 1 early
# with a positive offset, Dec 31 late with a negative one.
NEW_YEAR_EAST = """\
BEGIN:VTIMEZONE
TZID:New Year East
BEGIN:STANDARD
DTSTART:19700701T030000
RRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1
TZOFFSETFROM:+0600
TZOFFSETTO:+0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700101T003000
RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1
TZOFFSETFROM:+0500
TZOFFSETTO:+0600
END:DAYLIGHT
END:VTIMEZONE
"""

NEW_YEAR_WEST = """\
BEGIN:VTIMEZONE
TZID:New Year West
BEGIN:STANDARD
DTSTART:19701231T223000
RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700601T020000
RRULE:FREQ=YEARLY;BYMONTH=6;BYDAY=1SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
END:VTIMEZONE
"""

DEFINITIONS = {
    "w_europe": W_EUROPE,
    "us_eastern": US_EASTERN,
    "sydney": SYDNEY,
    "fixed": FIXED,
    "rdates": RDATES,
    "general": GENERAL,
    "tehran": TEHRAN,
    "new_year_east": NEW_YEAR_EAST,
    "new_year_west": NEW_YEAR_WEST,
}

FIRST, LAST = datetime(1971, 1, 1), datetime(2100, 1, 1)
NEAR = [-3600, -1800, -1, 0, 1, 1800, 3600]  # seconds around a transition


def component(text: str) -> icalendar.Timezone:
    """A VTIMEZONE written above, parsed the way the bridge parses a calendar."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", *text.splitlines(), "END:VCALENDAR", ""]
    return icalendar.Calendar.from_ical("\r\n".join(lines)).walk("VTIMEZONE")[0]


def transitions(definition: icalendar.Timezone) -> list[datetime]:
    """Every onset in 1971-2099 as a naive UTC instant, found as dateutil's tzical
    finds them (one full rrule walk per observance)."""
    found = []
    for sub in definition.subcomponents:
        lines = [
            line
            for line in sub.to_ical().decode().splitlines()
            if line.split(":")[0].split(";")[0] in ("DTSTART", "RRULE", "RDATE", "EXDATE")
        ]
        onsets = rrulestr("\n".join(lines), compatible=True, ignoretz=True)
        offset = sub["TZOFFSETFROM"].td
        found += [onset - offset for onset in onsets.between(FIRST, LAST, inc=True)]
    return sorted(set(found))


class Case:
    def __init__(self, text: str) -> None:
        self.definition = component(text)
        self.ours = zone_from_definition(self.definition)
        self.oracle = self.definition.to_tz(lookup_tzid=False)
        self.transitions = transitions(self.definition)


CASES = {name: Case(text) for name, text in DEFINITIONS.items()}
NAMES = list(DEFINITIONS)
ZONED = [name for name in NAMES if CASES[name].transitions]

instants = st.datetimes(min_value=FIRST, max_value=LAST - timedelta(seconds=1))


# A transition of the zone under test (by index, wrapped) and seconds around it.
picks = st.integers(min_value=0, max_value=10_000)
nears = st.sampled_from(NEAR)


def near_transition(name: str, pick: int, seconds: int) -> datetime:
    """A UTC instant at or near one of the zone's transitions."""
    found = CASES[name].transitions
    return found[pick % len(found)] + timedelta(seconds=seconds)


def assert_same_local(utc: datetime, case: Case) -> None:
    at = utc.replace(tzinfo=UTC)
    ours, oracle = at.astimezone(case.ours), at.astimezone(case.oracle)
    assert ours.replace(tzinfo=None) == oracle.replace(tzinfo=None), utc
    assert ours.utcoffset() == oracle.utcoffset(), utc
    assert ours.fold == oracle.fold, utc
    assert ours.dst() == oracle.dst(), utc
    assert ours.tzname() == oracle.tzname(), utc


def assert_same_instant(local: datetime, case: Case, *, helpers: bool = False) -> None:
    """Same instant through to_utc, fold 0 and 1; `helpers`: in_gap and is_ambiguous too."""
    for fold in (0, 1):
        wall = local.replace(fold=fold)
        ours = to_utc(wall.replace(tzinfo=case.ours))
        assert ours == to_utc(wall.replace(tzinfo=case.oracle)), (local, fold)
        if not helpers:
            continue
        assert in_gap(wall.replace(tzinfo=case.ours)) == in_gap(wall.replace(tzinfo=case.oracle))
        assert is_ambiguous(wall.replace(tzinfo=case.ours)) == is_ambiguous(
            wall.replace(tzinfo=case.oracle)
        ), (local, fold)


# -- the oracle: every instant, every wall time ------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=200, deadline=None)
@given(utc=instants)
def test_utc_instants_read_as_dateutil_reads_them(name: str, utc: datetime) -> None:
    assert_same_local(utc, CASES[name])


@pytest.mark.parametrize("name", ZONED)
@settings(max_examples=200, deadline=None)
@given(pick=picks, seconds=nears)
def test_utc_instants_around_transitions(name: str, pick: int, seconds: int) -> None:
    assert_same_local(near_transition(name, pick, seconds), CASES[name])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=200, deadline=None)
@given(local=instants)
def test_wall_times_mean_the_instants_dateutil_gives(name: str, local: datetime) -> None:
    assert_same_instant(local, CASES[name])


@pytest.mark.parametrize("name", ZONED)
@settings(max_examples=200, deadline=None)
@given(pick=picks, seconds=nears, side=st.sampled_from(["from", "to"]))
def test_wall_times_around_transitions(name: str, pick: int, seconds: int, side: str) -> None:
    # The onset's wall time on either side of the change: inside gaps and folds.
    case = CASES[name]
    utc = near_transition(name, pick, seconds)
    before = case.oracle.utcoffset(
        (utc - timedelta(hours=3)).replace(tzinfo=UTC).astimezone(case.oracle)
    )
    after = utc.replace(tzinfo=UTC).astimezone(case.oracle).utcoffset()
    assert before is not None and after is not None
    assert_same_instant(utc + (before if side == "from" else after), case, helpers=True)


def test_every_transition_exactly() -> None:
    for case in CASES.values():
        for utc in case.transitions:
            for seconds in (-1, 0, 1):
                assert_same_local(utc + timedelta(seconds=seconds), case)


def test_outlook_1601_rules_as_written() -> None:
    # The bridge rewrites 1601 to 1970, but the zone must not depend on it.
    case = Case(W_EUROPE.replace("DTSTART:1970", "DTSTART:1601"))
    for utc in [*case.transitions[-20:], datetime(2026, 7, 1), datetime(2031, 1, 15)]:
        for seconds in (-1, 0, 1):
            assert_same_local(utc + timedelta(seconds=seconds), case)


# -- PEP 495 in gaps and folds: exact values --------------------------------------

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("name", "wall", "fold_0", "fold_1"),
    [
        # Gaps: fold=0 keeps the offset from before the gap, fold=1 the one after.
        ("w_europe", datetime(2027, 3, 28, 2, 30), 1 * H, 2 * H),
        ("us_eastern", datetime(2027, 3, 14, 2, 30), -5 * H, -4 * H),
        ("us_eastern", datetime(2006, 4, 2, 2, 30), -5 * H, -4 * H),
        ("sydney", datetime(2027, 10, 3, 2, 30), 10 * H, 11 * H),
        ("rdates", datetime(2027, 3, 28, 2, 0), 1 * H, 2 * H),
        # Folds: fold=0 is the first pass (larger offset), fold=1 the second.
        ("w_europe", datetime(2027, 10, 31, 2, 30), 2 * H, 1 * H),
        ("w_europe", datetime(2027, 10, 31, 2, 0), 2 * H, 1 * H),
        ("us_eastern", datetime(2027, 11, 7, 1, 30), -4 * H, -5 * H),
        ("us_eastern", datetime(2006, 10, 29, 1, 30), -4 * H, -5 * H),
        ("sydney", datetime(2027, 4, 4, 2, 30), 11 * H, 10 * H),
        ("general", datetime(2027, 10, 31, 2, 30), 1 * H, 1 * H),  # no DST in odd years
        # Either side of a change: one reading.
        ("w_europe", datetime(2027, 3, 28, 1, 59, 59), 1 * H, 1 * H),
        ("w_europe", datetime(2027, 3, 28, 3, 0), 2 * H, 2 * H),
        ("w_europe", datetime(2027, 10, 31, 3, 0), 1 * H, 1 * H),
        ("fixed", datetime(2027, 3, 28, 2, 30), timedelta(hours=5, minutes=30), None),
    ],
)
def test_pep_495_readings(
    name: str, wall: datetime, fold_0: timedelta, fold_1: timedelta | None
) -> None:
    zone = CASES[name].ours
    assert wall.replace(tzinfo=zone).utcoffset() == fold_0
    assert wall.replace(tzinfo=zone, fold=1).utcoffset() == (fold_1 or fold_0)


def test_gap_dst_and_names_follow_the_offset() -> None:
    zone = CASES["us_eastern"].ours
    gap = datetime(2027, 3, 14, 2, 30, tzinfo=zone)
    assert (gap.tzname(), gap.dst()) == ("EST", timedelta(0))
    assert (gap.replace(fold=1).tzname(), gap.replace(fold=1).dst()) == ("EDT", H)
    assert datetime(2027, 7, 1, tzinfo=CASES["w_europe"].ours).tzname() is None  # no TZNAME


def test_second_pass_through_a_repeated_hour_has_fold_1() -> None:
    zone = CASES["w_europe"].ours
    first = datetime(2027, 10, 31, 0, 30, tzinfo=UTC).astimezone(zone)
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC).astimezone(zone)
    assert (
        first.replace(tzinfo=None) == second.replace(tzinfo=None) == datetime(2027, 10, 31, 2, 30)
    )
    assert (first.fold, first.utcoffset()) == (0, 2 * H)
    assert (second.fold, second.utcoffset()) == (1, 1 * H)
    assert second.astimezone(UTC) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    after = datetime(2027, 10, 31, 2, 0, tzinfo=UTC).astimezone(zone)
    assert (after.hour, after.fold) == (3, 0)


@pytest.mark.parametrize(
    ("name", "wall", "gap", "ambiguous"),
    [
        ("w_europe", datetime(2027, 3, 28, 2, 30), True, False),
        ("w_europe", datetime(2027, 10, 31, 2, 30), False, True),
        ("w_europe", datetime(2027, 6, 1, 12, 0), False, False),
        ("us_eastern", datetime(2027, 3, 14, 2, 30), True, False),
        ("us_eastern", datetime(2027, 11, 7, 1, 30), False, True),
        ("us_eastern", datetime(2006, 10, 29, 1, 30), False, True),
        ("us_eastern", datetime(2006, 11, 5, 1, 30), False, False),  # the old rule ended
        ("sydney", datetime(2027, 10, 3, 2, 30), True, False),
        ("sydney", datetime(2027, 4, 4, 2, 30), False, True),
        ("general", datetime(2028, 3, 26, 2, 30), False, False),  # the EXDATE
        ("general", datetime(2026, 3, 29, 2, 30), True, False),
        ("tehran", datetime(2027, 3, 22, 0, 30), True, False),
        ("tehran", datetime(2027, 9, 21, 23, 30), False, True),
        ("fixed", datetime(2027, 3, 28, 2, 30), False, False),
    ],
)
def test_timezones_helpers_agree_with_dateutil(
    name: str, wall: datetime, gap: bool, ambiguous: bool
) -> None:
    case = CASES[name]
    for zone in (case.ours, case.oracle):
        local = wall.replace(tzinfo=zone)
        assert (in_gap(local), is_ambiguous(local)) == (gap, ambiguous)
    expected = to_utc(wall.replace(tzinfo=case.oracle))
    assert to_utc(wall.replace(tzinfo=case.ours)) == expected
    for instant in (expected, expected + H, expected - H):
        assert names_one_instant(instant, case.ours) == names_one_instant(instant, case.oracle)


def test_names_one_instant_in_a_repeated_hour() -> None:
    zone = CASES["w_europe"].ours
    assert names_one_instant(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), zone)
    assert not names_one_instant(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), zone)


# A change of standard offset (+11 to +10, Asia/Srednekolymsk in 1991): dateutil's
# fromutc assumes utcoffset() - dst() never changes and shows the hour after the
# change one hour late; this zone (like zoneinfo) reads the definition as written.
STANDARD_CHANGE = """\
BEGIN:VTIMEZONE
TZID:Standard Change
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+1100
TZOFFSETTO:+1100
END:STANDARD
BEGIN:STANDARD
DTSTART:19910929T030000
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
END:STANDARD
END:VTIMEZONE
"""


def test_a_change_of_standard_offset_round_trips() -> None:
    zone = zone_from_definition(component(STANDARD_CHANGE))
    change = datetime(1991, 9, 28, 16, 0, tzinfo=UTC)  # 03:00 at +11
    for minutes in range(-90, 91, 15):
        utc = change + timedelta(minutes=minutes)
        assert utc.astimezone(zone).astimezone(UTC) == utc
    second = (change + timedelta(minutes=30)).astimezone(zone)
    assert (second.replace(tzinfo=None), second.utcoffset(), second.fold) == (
        datetime(1991, 9, 29, 2, 30),
        10 * H,
        1,
    )


# -- the rest of the contract --------------------------------------------------------


def broken(*subs: dict[str, object]) -> icalendar.Timezone:
    zone = icalendar.Timezone()
    zone.add("TZID", "Broken")
    for properties in subs:
        sub = icalendar.TimezoneStandard()
        for key, value in properties.items():
            sub.add(key, value)
        zone.add_component(sub)
    return zone


GOOD = {
    "DTSTART": datetime(1970, 1, 1),
    "TZOFFSETFROM": timedelta(hours=1),
    "TZOFFSETTO": timedelta(hours=1),
}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (broken(), "no STANDARD or DAYLIGHT"),
        (broken({k: v for k, v in GOOD.items() if k != "TZOFFSETTO"}), "TZOFFSETTO"),
        (broken({k: v for k, v in GOOD.items() if k != "TZOFFSETFROM"}), "TZOFFSETFROM"),
        (broken({k: v for k, v in GOOD.items() if k != "DTSTART"}), "DTSTART"),
        (broken({**GOOD, "RRULE": {"FREQ": "SOMETIMES", "BYMONTH": "3"}}), "RRULE"),
        (icalendar.Event(), "not a VTIMEZONE"),
    ],
)
def test_unreadable_definitions_raise_value_error(
    definition: icalendar.Component, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        zone_from_definition(definition)  # type: ignore[arg-type]


def test_a_tzinfo_that_copies_and_pickles() -> None:
    zone = zone_from_definition(component(W_EUROPE))
    assert isinstance(zone, tzinfo)
    assert copy.deepcopy(zone) is zone and copy.copy(zone) is zone
    again = pickle.loads(pickle.dumps(zone))
    for month in (1, 7):
        at = datetime(2030, month, 1, tzinfo=UTC)
        assert at.astimezone(again).utcoffset() == at.astimezone(zone).utcoffset()
    assert datetime(2030, 1, 1).replace(tzinfo=zone).utcoffset() == H
    assert zone.utcoffset(None) is None and zone.dst(None) is None


def test_fresh_zones_from_several_threads() -> None:
    case = CASES["us_eastern"]
    probes = [datetime(1971 + year, 1 + year % 12, 1 + year % 28, 6) for year in range(0, 128, 3)]
    expected = [p.replace(tzinfo=UTC).astimezone(case.oracle).utcoffset() for p in probes]
    zone = zone_from_definition(case.definition)
    failures: list[str] = []

    def read() -> None:
        for probe, offset in zip(probes, expected, strict=True):
            if probe.replace(tzinfo=UTC).astimezone(zone).utcoffset() != offset:
                failures.append(f"{probe}")

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
