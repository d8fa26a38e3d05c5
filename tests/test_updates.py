"""How an invitation for a planned meeting is treated: new, unchanged, updated,
replanned (a fresh room past the old room's end), or an occurrence of a series."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kmeet_bridge.invitations.updates import classify, time_text
from kmeet_bridge.models import Change, MeetingRequest, Room
from kmeet_bridge.store import MeetingRecord

ZURICH = ZoneInfo("Europe/Zurich")
ROOM = Room(
    url="https://kmeet.infomaniak.com/abc-defg-hij",
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    id=1,
)
KNOWN = MeetingRecord(
    key="ics:a@example.com:uid-1:",
    status="planned",
    in_doubt=False,
    title="Budget",
    starting_at="2027-03-15 14:00:00",
    ending_at="2027-03-15 15:00:00",
    timezone="Europe/Zurich",
    sequence=1,
    room=ROOM,
    room_ends=datetime(2027, 3, 15, 14, 0, tzinfo=UTC),  # 15:00 in Zurich
)


def meeting(start: tuple[int, ...], end: tuple[int, ...], **fields: object) -> MeetingRequest:
    values: dict = dict(
        key=KNOWN.key,
        title="Budget",
        start=datetime(*start, tzinfo=ZURICH),
        end=datetime(*end, tzinfo=ZURICH),
        timezone="Europe/Zurich",
        sequence=2,
    )
    values.update(fields)
    return MeetingRequest(**values)


def body_of(m: MeetingRequest) -> dict[str, str]:
    return {
        "starting_at": f"{m.start:%Y-%m-%d %H:%M:%S}",
        "ending_at": f"{m.end:%Y-%m-%d %H:%M:%S}",
        "timezone": m.timezone,
    }


def test_unknown_meeting_is_new() -> None:
    m = meeting((2027, 3, 15, 14), (2027, 3, 15, 15))
    assert classify(m, body_of(m), None) == ("new", ())


def test_same_details_are_unchanged_even_with_a_higher_sequence() -> None:
    m = meeting((2027, 3, 15, 14), (2027, 3, 15, 15))
    assert classify(m, body_of(m), KNOWN) == ("unchanged", ())


def test_older_copy_changes_nothing() -> None:
    m = meeting((2027, 3, 20, 9), (2027, 3, 20, 10), sequence=0)
    assert classify(m, body_of(m), KNOWN) == ("unchanged", ())


def test_earlier_or_retitled_keeps_the_room() -> None:
    m = meeting((2027, 3, 15, 13), (2027, 3, 15, 14, 30), title="Budget (short)")
    assert classify(m, body_of(m), KNOWN) == (
        "updated",
        (
            Change("title", "Budget", "Budget (short)"),
            Change(
                "time",
                "2027-03-15 14:00–15:00 (Europe/Zurich)",
                "2027-03-15 13:00–14:30 (Europe/Zurich)",
            ),
        ),
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [((2027, 3, 15, 14), (2027, 3, 15, 15, 1)), ((2027, 3, 22, 14), (2027, 3, 22, 15))],
)
def test_ending_after_the_rooms_end_needs_a_new_room(
    start: tuple[int, ...], end: tuple[int, ...]
) -> None:
    m = meeting(start, end)
    status, changes = classify(m, body_of(m), KNOWN)
    assert status == "replanned"
    assert [c.what for c in changes] == ["time"]


def test_a_series_keeps_its_room_when_moved_later() -> None:
    m = meeting((2027, 3, 22, 14), (2027, 3, 22, 15), rule="FREQ=WEEKLY;BYDAY=MO")
    assert classify(m, body_of(m), KNOWN)[0] == "updated"


def test_an_exception_of_a_known_series_uses_its_room() -> None:
    m = meeting(
        (2027, 3, 23, 9),
        (2027, 3, 23, 10),
        key="ics:a@example.com:uid-1:20270322T130000Z",
        recurrence_id="20270322T130000Z",
        series_key=KNOWN.key,
    )
    assert classify(m, body_of(m), None, KNOWN) == ("occurrence", ())
    cancelled = replace(KNOWN, status="cancelled")
    assert classify(m, body_of(m), None, cancelled) == ("new", ())


def test_a_cancelled_meeting_asked_for_again_is_new() -> None:
    m = meeting((2027, 3, 15, 14), (2027, 3, 15, 15))
    assert classify(m, body_of(m), replace(KNOWN, status="cancelled")) == ("new", ())


def test_time_text_across_midnight() -> None:
    assert time_text("2027-10-30 23:30:00", "2027-10-31 01:00:00", "Europe/Zurich") == (
        "2027-10-30 23:30 – 2027-10-31 01:00 (Europe/Zurich)"
    )
