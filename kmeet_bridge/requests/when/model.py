"""What the reader answers: a `When`, or a `WhenProblem` with what it understood."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from kmeet_bridge.requests.reading_notes import Note

MAX_DURATION = timedelta(hours=24)
# A date without a year that went by this recently is taken as meant this year
# (and answered as past) rather than as next year's.
RECENT_DAYS = 7


@dataclass(frozen=True)
class When:
    """A readable request: `start` and `end` are aware, expressed in `zone`."""

    start: datetime
    end: datetime
    zone: str
    notes: tuple[Note, ...] = ()  # how each part was read (reading_notes.py words them)
    instant: bool = False


_Day = date  # `Understood.date` hides the type inside that class


@dataclass(frozen=True)
class Understood:
    """What a text says about when, before it is checked; any part may be missing.

    `date_text` is the date as written ("demain", "03/04/2027"); `relative` says
    it depends on the day it was read ("demain", "lundi prochain"), so examples
    can keep the sender's words.
    """

    date: date | None = None
    date_text: str = ""
    relative: bool = False
    start: time | None = None
    start_text: str = ""
    end: time | None = None
    end_text: str = ""
    duration: int | None = None  # minutes
    duration_text: str = ""
    zone: str = ""
    zone_text: str = ""
    today: _Day | None = None  # the day the request was read on, in `zone`


class WhenProblem(Exception):
    """The text does not say clearly when to meet.

    `code` names the problem (see `PROBLEM_CODES`), `understood` what was read,
    `choices` the readings to choose from for an ambiguity (dates, times,
    minutes or zone names, by code), `text` the words at fault as written.
    """

    def __init__(
        self,
        code: str,
        understood: Understood,
        *,
        choices: tuple[object, ...] = (),
        text: str = "",
    ) -> None:
        super().__init__(f"{code}: {text}" if text else code)
        self.code = code
        self.understood = understood
        self.choices = choices
        self.text = text


PROBLEM_CODES = (
    "no_time",  # a date but no time
    "no_date",  # a time but no date, and that time has passed today
    "vague",  # "next week", "afternoon": no date or time that can be planned
    "ambiguous_date",  # 03/04/2027 in English, two dates, "Tuesday" on a Tuesday
    "ambiguous_time",  # two start times, or "at 4" (4:00 or 16:00?)
    "ambiguous_duration",  # two different durations
    "ambiguous_zone",  # two different zones
    "conflicting_end",  # an end and a duration that disagree
    "weekday_mismatch",  # "Monday 3 February 2027" is a Wednesday
    "invalid_date",  # 31.02.2027
    "invalid_time",  # 25:00
    "unknown_zone",  # UTC+05:45 and other zones that cannot be named
    "end_before_start",
    "too_long",  # more than 24 hours
    "no_such_time",  # skipped by a daylight-saving change
    "past",  # starts before now
    "unplaced",  # date or time words beside what was read that the reader could not place
)


def _floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _skipped(value: datetime) -> bool:
    """Whether a wall-clock time does not exist in its zone (clocks jumped over it)."""
    zone = value.tzinfo
    assert isinstance(zone, tzinfo)
    back = value.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) != value.replace(tzinfo=None)
