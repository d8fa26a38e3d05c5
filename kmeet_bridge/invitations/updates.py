"""What an invitation for an already planned meeting changes (pure).

The rule for reschedules: the API says a room's settings (lobby, password,
E2EE, recording) "can be deleted once [its ending_at] has passed", and the
bridge has no documented way to move the room. So an update that makes the
meeting end *later* than the room it has gets a fresh room, and the reply says
plainly that the link changed. An update that stays within the room's time
(earlier, shorter, retitled) keeps the room and the link.

A series keeps its room whatever its updates do: one room for the whole series
is what its attendees rely on, and the room URL itself keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kmeet_bridge.models import Change, MeetingRequest
from kmeet_bridge.store import MeetingRecord

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"


def changes_between(
    known: MeetingRecord, meeting: MeetingRequest, body: Mapping[str, Any]
) -> tuple[Change, ...]:
    """The differences people care about between the planned meeting and `meeting`
    (whose API body is `body`)."""
    changes: list[Change] = []
    if known.title != meeting.title:
        changes.append(Change("title", known.title, meeting.title))
    before = (known.starting_at, known.ending_at, known.timezone)
    after = (body["starting_at"], body["ending_at"], body["timezone"])
    if before != after:
        changes.append(Change("time", time_text(*before), time_text(*after)))
    return tuple(changes)


def needs_new_room(known: MeetingRecord, meeting: MeetingRequest) -> bool:
    """True when the meeting now ends after its room's settings may expire."""
    if meeting.is_series or known.room_ends is None:
        return False
    return meeting.end > known.room_ends


def is_stale(known: MeetingRecord, meeting: MeetingRequest) -> bool:
    """An older copy of the invitation (lower SEQUENCE) than the one planned."""
    return meeting.sequence < known.sequence


def time_text(starting_at: str, ending_at: str, timezone: str) -> str:
    """'2027-03-15 14:00–15:30 (Europe/Berlin)': numeric, so it reads the same in
    every language."""
    start = datetime.strptime(starting_at, WALL_CLOCK)
    end = datetime.strptime(ending_at, WALL_CLOCK)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({timezone})"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} ({timezone})"


def classify(
    meeting: MeetingRequest,
    body: Mapping[str, Any],
    known: MeetingRecord | None,
    series: MeetingRecord | None = None,
) -> tuple[str, tuple[Change, ...]]:
    """How a message treats a meeting, given what the state knows of it (`known`)
    and of its series (`series`, for an exception): a PlannedMeeting status
    ("new", "unchanged", "updated", "replanned", "occurrence") and the changes."""
    if known is None or not known.active:
        if meeting.series_key and series is not None and series.active:
            return "occurrence", ()
        return "new", ()
    if is_stale(known, meeting):
        return "unchanged", ()
    changes = changes_between(known, meeting, body)
    if not changes:
        return "unchanged", ()
    if needs_new_room(known, meeting):
        return "replanned", changes
    return "updated", changes
