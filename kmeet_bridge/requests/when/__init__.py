"""When a plain request asks to meet: its date, start, end or duration and time zone.

Where things are: `words.py` holds every word and form of the four languages
(dates, weekdays, times, quarters and halves, lengths, vague periods, parts of
the day); `zones.py` the zones; `reading.py` finds everything a text says
(`find_when`), with `dates.py` and `clock.py` doing the dates and the times
and lengths; `resolving.py` ties it to a day, a zone and the present
(`resolve`); `model.py` holds what is answered (`When`, `WhenProblem`);
`writing.py` writes times back. What the reader says it read is worded in
`kmeet_bridge/requests/reading_notes.py`.

`read_when` reads the opening lines of a request the way people write them in
English, French, German and Italian, and either answers a `When` (aware start
and end in one IANA zone, plus notes saying how each part was read) or raises
`WhenProblem` with a stable code and what it did understand. Pure: no I/O, the
present moment is an argument.

What is read (see docs/request-forms.md for the measured list):

- dates: `2027-02-03`, `03.02.2027`, `03/04/2027`, `3.2.`, `3 Feb 2027`,
  `February 3, 2027`, `12 mars`, `3. Februar 2027`, `5 marzo`, a day alone
  (`le 5`, `am 5.`, `il 5`, `the 5th`: the next one), with an optional weekday
  (which must agree); `today`, `tomorrow`, `the day after tomorrow`,
  `in 3 days` and their French, German and Italian forms; weekdays (`Monday`,
  `next Monday`, `lundi prochain`, `nächsten Dienstag`, `lunedì prossimo`,
  `Monday next week`);
- times: `14:00`, `9am`, `9:30 pm`, `14h`, `14h30`, `9 Uhr`, `14 heures`,
  `ore 16`, `alle 16`, `um 9`, `noon`, `midi`, `mezzogiorno`; ranges `9:00-9:45`,
  `9-10am`, `de 14h à 15h`, `von 9 bis 10 Uhr`, `dalle 10 alle 11`; ends
  `until 15:30`, `jusqu'à 15h`, `bis 15:30`, `fino alle 15`;
- durations: `45 minutes`, `45 min`, `1h30`, `1 hour 30`, `1.5 hours`,
  `une heure`, `une demi-heure`, `1 Stunde`, `eine halbe Stunde`, `un'ora`,
  `mezz'ora`, `2 ore`; `in 30 minutes` starts the meeting 30 minutes from now;
- zones: IANA names (`Europe/London`), `London time`, `heure de Londres`,
  `Londoner Zeit`, `ora di Londra`, abbreviations (`EST`, `PST`, `CET`, `MEZ`,
  `BST`, `UTC`, `UTC+2`).

Decisions on what is not clear (each answered with a problem, never a guess):

- `03/04/2027` is day first in French and Italian; in English, and in German
  (which writes dates with dots), it is asked about unless one number is above
  12, since British and American writers disagree. Dotted dates (`03.02.2027`)
  are day first in every language.
- A date without a year is its next occurrence (today included); a date that
  went by in the last 7 days keeps this year and is answered as past.
- A bare weekday that is today ("Tuesday" on a Tuesday) is asked about: today
  or in a week? `next Tuesday` is in a week; `this Tuesday` is today.
- A time from 1:00 to 6:59 written without a leading zero, am/pm or a part of
  the day ("at 4", "4:30", "16h" is fine) is asked about: 4:00 or 16:00?
- A time without a date is today when it is still ahead, otherwise the sender
  is asked for the day.
- A date without a time, or words like "next week" without a date, are asked
  about. No date or time words at all mean an instant room: starting now.
- Two different dates, start times, durations or zones; an end and a duration
  that disagree; an end before the start; a start already past; a wall-clock
  time skipped by a daylight-saving change; a meeting longer than 24 hours.
- Durations are read on the line with the time, on their own line ("Duration:
  45 min"), or after a cue ("for 45 minutes", "it takes 45 minutes"), so an
  agenda ("1. Intro (10 min)") does not set the length of the meeting.
"""

from __future__ import annotations

from datetime import datetime

from kmeet_bridge.requests.language import (
    write_date as write_date,  # re-exported: callers import it here
)
from kmeet_bridge.requests.when.model import MAX_DURATION as MAX_DURATION
from kmeet_bridge.requests.when.model import PROBLEM_CODES as PROBLEM_CODES
from kmeet_bridge.requests.when.model import RECENT_DAYS as RECENT_DAYS
from kmeet_bridge.requests.when.model import Understood as Understood
from kmeet_bridge.requests.when.model import When as When
from kmeet_bridge.requests.when.model import WhenProblem as WhenProblem
from kmeet_bridge.requests.when.reading import find_when as find_when
from kmeet_bridge.requests.when.resolving import resolve as resolve
from kmeet_bridge.requests.when.text import Found as Found
from kmeet_bridge.requests.when.writing import write_duration as write_duration
from kmeet_bridge.requests.when.writing import write_time as write_time
from kmeet_bridge.requests.when.writing import write_when as write_when


def read_when(
    text: str,
    *,
    language: str,
    now: datetime,
    default_zone: str,
    default_duration: int,
    base: datetime | None = None,
    loose_durations: bool = False,
) -> When:
    """When `text` asks to meet, or WhenProblem.

    `now` is the present (aware): an instant room starts then and nothing may
    start before it. `base` is the moment relative words are read from
    ("tomorrow" is the day after `base`), by default `now`; the caller passes
    the message's Date so that a request read late keeps its meaning.
    `loose_durations` reads a duration anywhere (a subject line).
    """
    if now.tzinfo is None:
        raise ValueError("read_when needs an aware `now`")
    found = find_when(text, language=language, loose_durations=loose_durations)
    return resolve(
        found,
        now=now,
        default_zone=default_zone,
        default_duration=default_duration,
        base=base or now,
    )
