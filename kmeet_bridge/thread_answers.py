"""Reading an answer to the bridge's reply: cancel, move, lengthen, add people
or room options to the meeting that reply was about.

Pure: the answer's text and the meeting as planned now in, one reading out.
Nothing is guessed: a time that could be read two ways raises the same
`requests.RequestProblem` a plain request would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .models import Note, RoomOptions


@dataclass(frozen=True)
class MeetingNow:
    """The meeting as planned now, which the answer changes."""

    title: str
    start: datetime  # aware, in `timezone`
    end: datetime
    timezone: str  # IANA
    attendees: tuple[str, ...]  # addresses
    options: RoomOptions
    language: str  # the language the meeting's reply was written in
    source: str = "request"  # "request" or "invite"


@dataclass(frozen=True)
class Thanks:
    """An acknowledgement ("ok thanks", an empty text): recorded, left unanswered."""

    language: str


@dataclass(frozen=True)
class CancelIt:
    language: str


@dataclass(frozen=True)
class ChangeIt:
    """The meeting after the change; `start`/`end`/`timezone` equal the meeting's
    when the answer does not move or lengthen it."""

    language: str
    start: datetime
    end: datetime
    timezone: str
    add_attendees: tuple[str, ...] = ()
    # Only what the answer asks for; None keeps the meeting's setting.
    options: RoomOptions = field(default_factory=RoomOptions)
    notes: tuple[Note, ...] = ()  # what was assumed or corrected, for the reply


@dataclass(frozen=True)
class NotUnderstood:
    """Looks like a change but is not understood: answered with examples."""

    language: str
    code: str = "change_unclear"


Answer = Thanks | CancelIt | ChangeIt | NotUnderstood


def read_answer(
    text: str, *, meeting: MeetingNow, now: datetime, default_language: str = "en"
) -> Answer:
    """What an answer to the bridge's reply asks for."""
    return NotUnderstood(language=default_language)
