"""When a plain request asks to meet: its date, start, end or duration and time zone.

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

- `03/04/2027` is day first in French, German and Italian; in English it is
  asked about unless one number is above 12, since British and American
  writers disagree. Dotted dates (`03.02.2027`) are day first in every language.
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

import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from kmeet_bridge import timezones, wording
from kmeet_bridge.language import (
    LANGUAGE_NAMES,
    MONTHS,
    WEEKDAY_ABBREVIATIONS,
    WEEKDAYS,
    fold,
)
from kmeet_bridge.models import Note

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
    notes: tuple[str, ...] = ()
    instant: bool = False
    # What the sender is told of the reading, in their language (see models.Note).
    reply_notes: tuple[Note, ...] = ()


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
)


# --- words ------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first so "septembre" wins over "sept"."""
    return "|".join(re.escape(word) for word in sorted(set(words), key=lambda w: (-len(w), w)))


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for months in MONTHS.values():
        for number, names in enumerate(months, start=1):
            for name in names:
                table.setdefault(name, number)
    return table


def _weekday_table() -> dict[str, int]:
    return {name: day for names in WEEKDAYS.values() for day, name in enumerate(names)}


def _weekday_abbreviations() -> dict[str, int]:
    table: dict[str, int] = {}
    for forms in WEEKDAY_ABBREVIATIONS.values():
        for day, names in enumerate(forms):
            for name in names:
                table.setdefault(name, day)
    return table


_MONTH = _month_table()
_WEEKDAY = _weekday_table()
_WEEKDAY_SHORT = _weekday_abbreviations()
_ENGLISH_MONTHS = {name for names in MONTHS["en"] for name in names}

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "ein": 1, "eine": 1, "einer": 1,
    "einen": 1, "uno": 1, "una": 1, "un'": 1,
    "two": 2, "deux": 2, "zwei": 2, "due": 2,
    "three": 3, "trois": 3, "drei": 3, "tre": 3,
    "four": 4, "quatre": 4, "vier": 4, "quattro": 4,
}  # fmt: skip

_W = r"(?<![\w'])"  # start of a word
_E = r"(?![\w])"  # end of a word

# Relative days: folded words -> days from today.
_RELATIVE_DAYS = (
    (r"(?:the\s+)?day\s+after\s+tomorrow|apres[-\s]demain|ubermorgen|dopodomani", 2),
    (r"tomorrow|demain|domani", 1),
    # "morgen" is tomorrow, but not in "Guten Morgen", "heute Morgen", "am Morgen".
    (r"(?<!guten )(?<!heute )(?<!am )(?<!jeden )(?<!gestern )(?<!diesen )morgen", 1),
    (
        r"today|tonight|this\s+(?:morning|afternoon|evening)|aujourd'hui|aujourdhui"
        r"|ce\s+(?:matin|soir)|cet\s+apres[-\s]midi|heute(?:\s+(?:morgen|fruh|vormittag"
        r"|nachmittag|abend|mittag))?|oggi|stamattina|stamani|stasera|stanotte",
        0,
    ),
    (r"(?:the\s+)?day\s+before\s+yesterday|avant[-\s]hier|vorgestern|l'altro\s+ieri", -2),
    (r"yesterday|gestern|ieri", -1),
    ("hier", -1),
)
_IN_DAYS = re.compile(
    _W + r"(?:in|dans|tra|fra)\s+(?P<n>\d{1,2}|two|three|deux|trois|zwei|drei|due|tre)\s+"
    r"(?:days|jours|tagen|giorni)" + _E
)
_NEXT_BEFORE = (
    "next|this coming|coming|nachsten|nachster|nachste|kommenden|kommender|kommende"
    "|il prossimo|la prossima|prossimo|prossima"
)
_THIS_BEFORE = "this|ce|diesen|dieser|diese|questo|questa"
_NEXT_AFTER = "prochain|prochaine|qui vient|prossimo|prossima"
_NEXT_WEEK = (
    r"next\s+week|(?:de\s+)?la\s+semaine\s+prochaine|semaine\s+prochaine"
    r"|(?:in\s+der\s+)?nachsten\s+woche|nachste\s+woche|(?:della\s+)?prossima\s+settimana"
    r"|(?:della\s+)?settimana\s+prossima"
)
_WEEKDAY_MENTION = re.compile(
    _W
    + rf"(?:(?P<pre>{_NEXT_BEFORE}|{_THIS_BEFORE})\s+)?"
    + rf"(?P<wd>{_alternation(_WEEKDAY)})"
    + r"(?:\s+(?P<post>"
    + _NEXT_AFTER
    + r")(?![\w])|,?\s+(?P<week>"
    + _NEXT_WEEK
    + r"))?"
    + _E
)
# Words that say "some time" without a date that can be planned.
_VAGUE = re.compile(
    _W + r"(?:" + _NEXT_WEEK + r"|this\s+week|cette\s+semaine|diese\s+woche"
    r"|questa\s+settimana|next\s+month|le\s+mois\s+prochain|mois\s+prochain"
    r"|nachsten\s+monat|il\s+mese\s+prossimo|mese\s+prossimo|later\s+today|plus\s+tard"
    r"|spater|piu\s+tardi|(?<!good\s)(?:morning|afternoon|evening)|(?<!bon\s)matin"
    r"|(?<!bon\s)apres[-\s]midi|(?<!bon\s)soir|vormittag|nachmittag|(?<!guten\s)abend"
    r"|(?<!buon\s)pomeriggio|mattina|di\s+sera|la\s+sera|(?:in|en|im|a|ad)\s+(?:"
    + _alternation(name for name in _MONTH if len(name) > 3)
    + r"))"
    + _E
)
_PM_WORDS = re.compile(
    _W + r"(?:in\s+the\s+(?:afternoon|evening)|afternoon|evening|tonight|apres[-\s]midi"
    r"|du\s+soir|ce\s+soir|nachmittags?|abends?|pomeriggio|di\s+sera|la\s+sera|stasera)" + _E
)
_AM_WORDS = re.compile(
    _W + r"(?:in\s+the\s+morning|this\s+morning|du\s+matin|ce\s+matin|morgens|vormittags?"
    r"|heute\s+fruh|morgen\s+fruh|di\s+mattina|del\s+mattino|stamattina|mattina)" + _E
)

# --- zones --------------------------------------------------------------------

_CENTRAL_EUROPE = "CET"  # resolved to a city zone by `_central_european_zone`
_ZONE_ABBREVIATIONS = {
    "UTC": "UTC", "GMT": "UTC", "CET": _CENTRAL_EUROPE, "CEST": _CENTRAL_EUROPE,
    "MEZ": _CENTRAL_EUROPE, "MESZ": _CENTRAL_EUROPE, "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon", "BST": "Europe/London", "EET": "Europe/Helsinki",
    "EEST": "Europe/Helsinki", "EST": "America/New_York", "EDT": "America/New_York",
    "ET": "America/New_York", "CST": "America/Chicago", "CDT": "America/Chicago",
    "CT": "America/Chicago", "MST": "America/Denver", "MDT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "JST": "Asia/Tokyo", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}  # fmt: skip
_ZONE_ABBREVIATION = re.compile(
    r"(?<![\w/])(?P<name>" + _alternation(_ZONE_ABBREVIATIONS) + r")"
    r"(?:\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?(?![\w/])"
)
_IANA_NAME = re.compile(r"(?<![\w/])[A-Z][A-Za-z_+-]+(?:/[A-Za-z_+-]+){1,2}(?![\w/])")
# Cities people name in the four languages, where the zone's own name differs.
_CITY_NAMES = {
    "londres": "Europe/London", "londra": "Europe/London", "londoner": "Europe/London",
    "parigi": "Europe/Paris", "pariser": "Europe/Paris",
    "berlino": "Europe/Berlin", "berliner": "Europe/Berlin",
    "zurigo": "Europe/Zurich", "zurcher": "Europe/Zurich", "geneva": "Europe/Zurich",
    "geneve": "Europe/Zurich", "genf": "Europe/Zurich", "ginevra": "Europe/Zurich",
    "bern": "Europe/Zurich", "berne": "Europe/Zurich", "berna": "Europe/Zurich",
    "lausanne": "Europe/Zurich", "basel": "Europe/Zurich", "bale": "Europe/Zurich",
    "lugano": "Europe/Zurich", "rom": "Europe/Rome", "roma": "Europe/Rome",
    "milan": "Europe/Rome", "milano": "Europe/Rome", "mailand": "Europe/Rome",
    "wien": "Europe/Vienna", "vienne": "Europe/Vienna", "lisbonne": "Europe/Lisbon",
    "lissabon": "Europe/Lisbon", "lisbona": "Europe/Lisbon", "bruxelles": "Europe/Brussels",
    "brussel": "Europe/Brussels", "bruxelle": "Europe/Brussels",
    "moscou": "Europe/Moscow", "moskau": "Europe/Moscow", "mosca": "Europe/Moscow",
    "new york": "America/New_York", "new-york": "America/New_York",
    "san francisco": "America/Los_Angeles", "tokio": "Asia/Tokyo",
    "singapour": "Asia/Singapore", "singapur": "Asia/Singapore",
    "swiss": "Europe/Zurich", "suisse": "Europe/Zurich", "schweizer": "Europe/Zurich",
    "svizzera": "Europe/Zurich", "uk": "Europe/London", "british": "Europe/London",
    "anglaise": "Europe/London", "britische": "Europe/London", "inglese": "Europe/London",
    "french": "Europe/Paris", "francaise": "Europe/Paris", "franzosische": "Europe/Paris",
    "francese": "Europe/Paris", "german": "Europe/Berlin", "allemande": "Europe/Berlin",
    "deutsche": "Europe/Berlin", "tedesca": "Europe/Berlin", "italian": "Europe/Rome",
    "italienne": "Europe/Rome", "italienische": "Europe/Rome", "italiana": "Europe/Rome",
    "eastern": "America/New_York", "pacific": "America/Los_Angeles",
    "central european": _CENTRAL_EUROPE, "mitteleuropaische": _CENTRAL_EUROPE,
}  # fmt: skip
_PLACE = r"(?P<place>[a-z][a-z'-]*(?:\s[a-z][a-z'-]*){0,2})"
# "heure de Londres", "time in London", "ora di Londra", "ora italiana": the place follows.
_ZONE_AFTER = re.compile(
    _W
    + r"(?:(?:heure|horaire)\s+(?:de\s+|d')?|time\s+in\s+|zeit\s+in\s+|ora\s+(?:di\s+)?)"
    + _PLACE
    + _E
)
# "London time", "Londoner Zeit", "Swiss time": the place comes first.
_ZONE_BEFORE = re.compile(_W + _PLACE + r"\s+(?:time|zeit)" + _E)

# --- dates ----------------------------------------------------------------------

_ISO_DATE = re.compile(
    r"(?<![\w.:/-])(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\w/]|[.:-]\d)"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\w.:/+-])(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?![\w/]|[.:-]\d)"
)
_DOTTED_DAY_MONTH = re.compile(r"(?<![\w.:/+-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?![\w]|\d)")
_SLASHED_DAY_MONTH = re.compile(r"(?<![\w.:/+-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/]|[.:-]\d)")
# A day of the month alone: "le 5", "le 1er", "il 5", "am 5.", "the 5th", "on the 5th".
# ("le 10" is a date in French only: Italian "le 10" is ten o'clock.)
_DAY_ONLY = re.compile(
    _W + r"(?:(?P<article>le|il)\s+(?P<d>\d{1,2})(?:er)?"
    r"(?![\w:.,']|\s*(?:h|uhr|heures?|ore|min)(?![\w]))"
    r"|(?:den|am)\s+(?P<d2>\d{1,2})\.(?!\d)"
    r"|(?:on\s+)?the\s+(?P<d3>\d{1,2})(?:st|nd|rd|th)(?![\w]))"
)
_DAY_MONTH = re.compile(
    _W
    + r"(?P<d>\d{1,2})(?:st|nd|rd|th|er|re|eme|°|º|\.)?\s*(?:of\s+|de\s+)?"
    + rf"(?P<mon>{_alternation(_MONTH)})(?![\w])\.?"
    + r"(?:,?\s*(?P<y>\d{4})(?![\w:.]|\.\d))?"
)
_MONTH_DAY = re.compile(
    _W
    + rf"(?P<mon>{_alternation(_ENGLISH_MONTHS)})\.?\s+"
    + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\w:.]|\.\d)"
    + r"(?:,?\s*(?P<y>\d{4})(?![\w:.]|\.\d))?"
)
# Two-letter forms ("Mi.", "Do.") only with their dot: "do" and "so" are words.
_WEEKDAY_BEFORE = re.compile(
    r"(?<![\w'])(?:(?P<wd>"
    + _alternation([*_WEEKDAY, *(name for name in _WEEKDAY_SHORT if len(name) > 2)])
    + r")\.?|(?P<wd2>"
    + _alternation(name for name in _WEEKDAY_SHORT if len(name) == 2)
    + r")\.)[\s,]*(?:(?:le|the|den|am|il|on)\s+)?$"
)

# --- times ------------------------------------------------------------------------

_AMPM = r"(?P<ampm>[ap])\.?\s?m\.?(?![\w])"
_STRONG_TIMES = (
    # 14:00, 9:30 am, 09:00 Uhr, 9:00 h
    re.compile(
        r"(?<![\w:.,])(?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?"
        r"(?:\s?" + _AMPM + r"|\s?(?:uhr|h)(?![\w]))?(?![:\d])"
    ),
    # 9am, 9.30 pm, 9 a.m.
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s?" + _AMPM),
    # 9 Uhr, 9.30 Uhr, 9 Uhr 30
    re.compile(
        r"(?<![\w:.,])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s?uhr(?:\s(?P<m2>\d{2})(?!\d))?(?![\w])"
    ),
    # 14h, 14h30, 14 h 30 (also a duration: decided by `_h_form_is_duration`)
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})\s?h(?:\s?(?P<m>\d{2})(?!\s?(?:min|')))?(?![\w])"),
    # 14 heures, 14 heures 30 (also a duration)
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})\s?heures?(?:\s(?P<m>\d{2})(?!\s?min))?(?![\w])"),
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})\s?o'clock(?![\w])"),
)
_NAMED_TIMES = re.compile(
    _W + r"(?P<word>noon|midday|midnight|(?<!apres-)(?<!apres )midi|minuit|mezzogiorno"
    r"|mezzanotte|mitternacht)" + _E
)
_NAMED_TIME_VALUES = {
    "noon": 12, "midday": 12, "midi": 12, "mezzogiorno": 12,
    "midnight": 0, "minuit": 0, "mezzanotte": 0, "mitternacht": 0,
}  # fmt: skip
_WEAK_TIME = re.compile(r"(?<![\w:.,/+])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?(?![\w:/]|[.,]\d)")
_START_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:at|@|a|um|gegen|ab|alle|ore|alle\s+ore|verso|verso\s+le|vers|starting\s+at"
    r"|starts?\s+at|start|beginn|debut|inizio|time|heure|zeit|uhrzeit|orario|ora)[\s:]*$"
)
_END_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:until|till|til|to|bis|jusqu'a|jusqu a|jusqu'aux?|fino\s+alle(?:\s+ore)?"
    r"|fino\s+a|ends?\s+at|ending\s+at|end|fin|ende|fine)[\s:]*$"
)
_RANGE_OPENER = re.compile(
    r"(?:^|[\s(,;])(?:from|de|des|von|dalle(?:\s+ore)?|between|entre|zwischen|tra\s+le|fra\s+le"
    r"|tra|fra)\s*$"
)
_RANGE_GAP = re.compile(
    r"^\s*(?:-+>?|to|till|until|a|au|bis|alle|and|et|und|e)\s*(?:(?:le|ore|les)\s+)?$"
)
_WEAK_FOLLOWERS = _words(
    """
    to and et und e a au bis alle till until del di de du in am on at sharp pile precise
    precises genau ca circa environ etwa or ou oder o for pour fur per fino jusqu'a jusqu
    pendant durant with avec mit con sans ohne senza without
    """
)
_PART_OF_DAY_AFTER = re.compile(
    r"\s+(?:in\s+the\s+(?:morning|afternoon|evening)|at\s+night|du\s+matin|de\s+l'apres-midi"
    r"|du\s+soir|morgens|vormittags|nachmittags|abends|di\s+mattina|del\s+mattino"
    r"|del\s+pomeriggio|di\s+sera|della\s+sera)(?![\w])"
)
_DURATION_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:for|pour|pendant|durant|fur|wahrend|per|durata|duree|dauer|duration"
    r"|length|lange|lasting|takes?|dure|durera|dauert|dura|durera|environ|etwa|about|circa|ca"
    r"|approx|approximately)[\s:.]*$"
)

# --- durations ---------------------------------------------------------------------

_HALF = r"(?P<half>and\s+a\s+half|et\s+demie?|und\s+eine?\s+halbe|e\s+mezz[ao]|e\s+mezzo)"
_HOUR_UNITS = r"hours?|hrs?|hr|h|stunden?|std\.?|heures?|ore|ora"
_MINUTE_UNITS = r"minutes?|mins?|min\.?|minuten|minuti|m(?![\w])|'"
_DURATIONS = (
    # half an hour, une demi-heure, eine halbe Stunde, mezz'ora, quarters
    (
        re.compile(
            _W + r"(?:half\s+an\s+hour|a\s+half[-\s]hour|half[-\s]hour|une\s+demi[-\s]heure"
            r"|demi[-\s]heure|eine\s+halbe\s+stunde|halbe\s+stunde|mezz'\s?ora|mezzora|mezz\s+ora"
            r"|mezza\s+ora)" + _E
        ),
        30,
    ),
    (
        re.compile(
            _W + r"(?:a\s+quarter\s+of\s+an\s+hour|quarter\s+of\s+an\s+hour|un\s+quart\s+d'heure"
            r"|eine\s+viertelstunde|viertelstunde|un\s+quarto\s+d'ora)" + _E
        ),
        15,
    ),
    (
        re.compile(
            _W + r"(?:three\s+quarters\s+of\s+an\s+hour|trois\s+quarts\s+d'heure"
            r"|dreiviertelstunde|eine\s+dreiviertelstunde|tre\s+quarti\s+d'ora)" + _E
        ),
        45,
    ),
    (
        re.compile(
            _W + r"(?:an\s+hour\s+and\s+a\s+half|one\s+and\s+a\s+half\s+hours?"
            r"|anderthalb\s+stunden|eineinhalb\s+stunden|un'\s?ora\s+e\s+mezz[ao])" + _E
        ),
        90,
    ),
)
_HOURS_DURATION = re.compile(
    r"(?<![\w'.:,])(?P<n>\d{1,2}(?:[.,]\d{1,2})?|a|an|one|two|three|four|une?|deux|trois|quatre"
    r"|eine?|einer|zwei|drei|vier|una?|uno|un'|due|tre|quattro)\s?-?\s?(?P<unit>"
    + _HOUR_UNITS
    + r")"
    r"(?![\w])(?:\s*"
    + _HALF
    + r"|\s*(?:and|et|und|e)?\s*(?P<m>\d{1,2})\s?(?:"
    + _MINUTE_UNITS
    + r")?(?![\w:]))?"
)
_MINUTES_DURATION = re.compile(
    r"(?<![\w'.:,])(?P<n>\d{1,3})\s?-?\s?(?:" + _MINUTE_UNITS + r")(?![\w'])"
)
_OFFSET_BEFORE = re.compile(r"(?:^|[\s(,;])(?:in|dans|tra|fra|within)\s+$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s")
_DURATION_LINE_WORDS = _words(
    """
    duration length duree dauer lange durata for pour fur per about approx approximately
    environ etwa circa ca max maximum the meeting call la reunion die besprechung il la
    riunione of de von di it takes will take take dure durera dauert dura durera
    """
)
_NOW_WORDS = re.compile(
    _W + r"(?:now|right\s+away|immediately|asap|maintenant|tout\s+de\s+suite|immediatement"
    r"|jetzt|sofort|gleich|subito|adesso|ora\s+stesso|immediatamente)" + _E
)


# --- reading ------------------------------------------------------------------------


@dataclass
class _Found:
    """One thing read from the text: `kind` says what, `value` its meaning."""

    kind: str
    start: int
    end: int
    value: Any  # days, minutes, a weekday, (hour, minute), (year, month, day), a zone
    text: str
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Text:
    """The text, its folded form and which characters were already read."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.folded = fold(text)
        self.taken = [False] * len(text)
        self.line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def take(self, start: int, end: int) -> None:
        for index in range(start, end):
            self.taken[index] = True

    def line_of(self, index: int) -> int:
        line = 0
        for number, begin in enumerate(self.line_starts):
            if begin <= index:
                line = number
        return line

    def line_text(self, number: int) -> tuple[int, str]:
        begin = self.line_starts[number]
        end = self.original.find("\n", begin)
        return begin, self.folded[begin : end if end >= 0 else len(self.folded)]

    def matches(self, pattern: re.Pattern[str], *, original: bool = False) -> Iterator[re.Match]:
        """Matches of `pattern` that touch nothing read yet."""
        for match in pattern.finditer(self.original if original else self.folded):
            if match.end() > match.start() and self.free(match.start(), match.end()):
                yield match

    def found(self, kind: str, match: re.Match, value: Any, **extra: Any) -> _Found:
        self.take(match.start(), match.end())
        return _Found(
            kind,
            match.start(),
            match.end(),
            value,
            self.original[match.start() : match.end()].strip(),
            self.line_of(match.start()),
            dict(extra),
        )


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


@dataclass(frozen=True)
class Found:
    """Everything a text mentions about when, not yet tied to a day or zone."""

    items: tuple[_Found, ...] = ()

    def of(self, *kinds: str) -> list[_Found]:
        return [item for item in self.items if item.kind in kinds]

    @property
    def says_when(self) -> bool:
        """Whether the text has any date, time or "some time" words at all."""
        return any(item.kind not in ("duration", "zone", "pm", "am", "now") for item in self.items)

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        return tuple((item.start, item.end) for item in self.items)


def find_when(text: str, *, language: str, loose_durations: bool = False) -> Found:
    """Everything `text` says about when, as found (before any checks)."""
    reader = _Text(text)
    items: list[_Found] = []
    # Addresses and links hold digits that are neither dates nor times.
    for match in reader.matches(re.compile(r"\S+@\S+|https?://\S+|www\.\S+")):
        reader.take(match.start(), match.end())
    items += _find_zones(reader)
    items += _find_dates(reader, language)
    items += [reader.found("now", match, None) for match in reader.matches(_NOW_WORDS)]
    items += _find_times_and_durations(reader, items, language, loose_durations)
    for match in reader.matches(_VAGUE):
        items.append(reader.found("vague", match, None))
    for pattern, kind in ((_PM_WORDS, "pm"), (_AM_WORDS, "am")):
        for match in pattern.finditer(reader.folded):
            items.append(_Found(kind, match.start(), match.end(), None, match.group(0)))
    items.sort(key=lambda item: item.start)
    return Found(tuple(items))


def _find_zones(reader: _Text) -> list[_Found]:
    items = []
    for match in reader.matches(_IANA_NAME, original=True):
        zone = timezones.iana_zone_for(match.group(0))
        if zone and "/" in zone:
            items.append(reader.found("zone", match, zone))
    for match in reader.matches(_ZONE_ABBREVIATION, original=True):
        named: str | None = _ZONE_ABBREVIATIONS[match["name"]]
        if match["sign"]:
            if match["name"] not in ("UTC", "GMT"):
                continue
            hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
            # No zone name carries a half-hour offset from UTC: asked about.
            named = None if minutes or hours > 14 else _fixed_zone(match["sign"], hours)
        items.append(reader.found("zone", match, named))
    for pattern, place_first in ((_ZONE_AFTER, False), (_ZONE_BEFORE, True)):
        for match in reader.matches(pattern):
            found = _zone_of_place(match["place"], last_words=place_first)
            if found is None:
                continue
            zone, words = found
            if place_first:
                start, end = match.start("place") + match["place"].rfind(words), match.end()
            else:
                start, end = match.start(), match.start("place") + len(words)
            if not reader.free(start, end):
                continue
            reader.take(start, end)
            text = reader.original[start:end].strip()
            items.append(_Found("zone", start, end, zone, text, reader.line_of(start)))
    return items


def _fixed_zone(sign: str, hours: int) -> str:
    if hours == 0:
        return "UTC"
    # POSIX-style names invert the sign: UTC+2 is Etc/GMT-2.
    return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"


def _zone_of_place(place: str, *, last_words: bool) -> tuple[str, str] | None:
    """The zone a place (one to three folded words) names, and the words naming
    it: the last ones before "time" ("meet at london time"), the first ones after
    "heure de" ("heure de londres pour")."""
    words = place.split()
    spans = range(len(words)) if last_words else range(len(words), 0, -1)
    for cut in spans:
        candidate = " ".join(words[cut:] if last_words else words[:cut])
        zone = _CITY_NAMES.get(candidate) or _cities().get(candidate)
        if zone:
            return zone, candidate
    return None


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """Folded city name of every IANA zone ("new york") -> its zone."""
    cities: dict[str, str] = {}
    areas = ("Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian")
    for name in sorted(zoneinfo.available_timezones(), key=lambda n: (n.count("/"), n)):
        parts = name.split("/")
        if len(parts) >= 2 and parts[0] in areas:
            cities.setdefault(fold(parts[-1].replace("_", " ")), name)
    return cities


def _find_dates(reader: _Text, language: str) -> list[_Found]:
    items: list[_Found] = []
    for match in reader.matches(_ISO_DATE):
        items.append(
            reader.found("date", match, (int(match["y"]), int(match["m"]), int(match["d"])), how="")
        )
    value: tuple[int | None, int, int]
    year: int | None
    for match in reader.matches(_NUMERIC_DATE):
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        items.append(_numeric(reader, match, year, language))
    for match in reader.matches(_DAY_MONTH):
        year = int(match["y"]) if match["y"] else None
        value = (year, _MONTH[match["mon"]], int(match["d"]))
        items.append(reader.found("date", match, value, how=""))
    for match in reader.matches(_MONTH_DAY):
        year = int(match["y"]) if match["y"] else None
        value = (year, _MONTH[match["mon"]], int(match["d"]))
        items.append(reader.found("date", match, value, how=""))
    for match in reader.matches(_DOTTED_DAY_MONTH):
        if 1 <= int(match["b"]) <= 12:
            value = (None, int(match["b"]), int(match["a"]))
            items.append(reader.found("date", match, value, how="day first"))
    for match in reader.matches(_SLASHED_DAY_MONTH):
        if int(match["a"]) <= 31 and int(match["b"]) <= 31:
            items.append(_numeric(reader, match, None, language))
    for match in reader.matches(_DAY_ONLY):
        article = match["article"]
        if article and (article == "le") != (language == "fr"):
            continue
        day = int(next(group for group in match.groups()[1:] if group))
        if 1 <= day <= 31:
            items.append(reader.found("monthday", match, day))
    # A weekday right before a date names the same day: read them as one.
    for item in items:
        window = reader.folded[max(0, item.start - 40) : item.start]
        weekday = _WEEKDAY_BEFORE.search(window)
        if weekday is None:
            continue
        begin = item.start - len(window) + weekday.start()
        if not reader.free(begin, item.start):
            continue
        reader.take(begin, item.start)
        name = weekday["wd"] or weekday["wd2"]
        item.extra["weekday"] = _WEEKDAY[name] if name in _WEEKDAY else _WEEKDAY_SHORT[name]
        item.text = reader.original[begin : item.end].strip()
        item.start = begin
    for match in reader.matches(_WEEKDAY_MENTION):
        items.append(_weekday(reader, match))
    for match in reader.matches(_IN_DAYS):
        count = match["n"]
        days = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        items.append(reader.found("relative", match, days))
    for pattern, days in _RELATIVE_DAYS:
        if days < 0 and pattern == "hier" and language != "fr":
            continue  # German "hier" is "here"
        for match in reader.matches(re.compile(_W + r"(?:" + pattern + r")" + _E)):
            items.append(reader.found("relative", match, days))
    return items


def _numeric(reader: _Text, match: re.Match, year: int | None, language: str) -> _Found:
    """A date written with numbers only: day first in French, German and Italian,
    and with dots; in English only when the numbers say so."""
    first, second = int(match["a"]), int(match["b"])
    separator = match.group(0)[len(match["a"])]
    day_first = language != "en" or separator == "."
    name = LANGUAGE_NAMES.get(language, language)
    if day_first:
        how = "day first" if separator == "." else f"day first, {name}"
        return reader.found("date", match, (year, second, first), how=how)
    if first > 12 >= second:
        return reader.found("date", match, (year, second, first), how="day first: no month 13+")
    if second > 12 >= first or first == second:
        return reader.found("date", match, (year, first, second), how="month first")
    # 03/04/2027 in English: 3 April (British) or 4 March (American).
    return reader.found(
        "date",
        match,
        (year, second, first),
        how="",
        readings=((year, second, first), (year, first, second)),
    )


def _weekday(reader: _Text, match: re.Match) -> _Found:
    pre = (match["pre"] or "").split()
    post = match["post"] or ""
    if match["week"]:
        how = "next week"
    elif post or (pre and " ".join(pre) in _NEXT_BEFORE.split("|")):
        how = "next"
    elif pre:
        how = "this"
    else:
        how = "bare"
    return reader.found("weekday", match, _WEEKDAY[match["wd"]], how=how)


def _find_times_and_durations(
    reader: _Text, found: list[_Found], language: str, loose_durations: bool
) -> list[_Found]:
    items: list[_Found] = []
    folded = reader.folded
    # Durations with their own words first: "1 hour 30" must not become a time.
    for pattern, minutes in _DURATIONS:
        for match in reader.matches(pattern):
            items.append(reader.found("duration", match, minutes))
    for match in reader.matches(_HOURS_DURATION):
        unit, number = match["unit"], match["n"]
        if unit in ("h", "heure", "heures") and number[:1].isdigit():
            continue  # 14h, 14 heures: decided with the times below
        if unit in ("ora", "ore") and number[:1].isdigit() and unit == "ora":
            continue
        if not number[:1].isdigit() and _START_MARKER.search(folded[: match.start()]):
            continue  # "à une heure" is a time of day
        items.append(reader.found("duration", match, _hours_minutes(match)))
    for match in reader.matches(_MINUTES_DURATION):
        items.append(reader.found("duration", match, int(match["n"])))
    times: list[_Found] = []
    for form, pattern in enumerate(_STRONG_TIMES):
        for match in reader.matches(pattern):
            strong = _strong_time(reader, match, form, language)
            if strong is not None:
                (items if strong.kind == "duration" else times).append(strong)
    for match in reader.matches(_NAMED_TIMES):
        hour = _NAMED_TIME_VALUES[match["word"]]
        times.append(reader.found("time", match, (hour, 0), named=True))
    for item in items:
        if item.kind == "duration" and _OFFSET_BEFORE.search(folded[: item.start]):
            item.kind = "offset"
    # Bare numbers count as times only after "at", "um", "alle"..., or in a range.
    for match in reader.matches(_WEAK_TIME):
        weak = _Found(
            "weak",
            match.start(),
            match.end(),
            (int(match["h"]), int(match["m"] or 0)),
            match.group(0),
            reader.line_of(match.start()),
        )
        if _weak_may_be_time(reader, weak):
            times.append(weak)
    times.sort(key=lambda item: item.start)
    items += _ranges_and_ends(reader, times)
    # Durations only where they describe the meeting (see the module docstring).
    return [
        item
        for item in items
        if item.kind != "duration"
        or loose_durations
        or _duration_counts(reader, item, [*found, *items])
    ]


def _strong_time(reader: _Text, match: re.Match, form: int, language: str) -> _Found | None:
    """A time with a sign of being one (a colon, am/pm, Uhr, h, heures), or the
    duration that an "h" form turns out to be."""
    folded = reader.folded
    hour = int(match["h"])
    minute = int(match["m"] or match.groupdict().get("m2") or 0)
    ampm = match.groupdict().get("ampm")
    end = match.end()
    if (
        ampm == "a"
        and language == "de"
        and re.match(r"\s+am\s+[a-z0-9]", folded[match.start("ampm") - 1 :])
    ):
        # German "9:00 am Montag": "am" means "on the"; "9 am Montag" is a bare 9.
        if form != 0:
            return None
        ampm, end = None, match.start("ampm") - 1
    if form in (3, 4) and _h_form_is_duration(folded, match, hour):
        return reader.found("duration", match, hour * 60 + minute)
    reader.take(match.start(), end)
    return _Found(
        "time",
        match.start(),
        end,
        (hour, minute),
        reader.original[match.start() : end].strip(),
        reader.line_of(match.start()),
        {"ampm": ampm},
    )


def _hours_minutes(match: re.Match) -> int:
    number = match["n"]
    if number[:1].isdigit():
        hours = float(number.replace(",", "."))
    else:
        hours = float(_NUMBER_WORDS.get(number, 1))
    minutes = round(hours * 60)
    if match["half"]:
        minutes += 30
    elif match["m"]:
        minutes += int(match["m"])
    return minutes


def _h_form_is_duration(folded: str, match: re.Match, hour: int) -> bool:
    """Whether "1h30" or "2 heures" is a length rather than a time of day: after
    "pour", "for"...; or, with no "à", "de", "-" before it, right after another
    time ("14h 1h30") or a short "N heures" ("2 heures")."""
    before = folded[: match.start()]
    if _DURATION_MARKER.search(before) or _OFFSET_BEFORE.search(before):
        return True
    if _START_MARKER.search(before) or _END_MARKER.search(before) or _RANGE_OPENER.search(before):
        return False
    if re.search(r"-\s*$", before) or re.match(r"\s*-", folded[match.end() :]):
        return False
    if re.search(r"\d(?:\s?h|:\d\d|\s?uhr)\s?\d{0,2}[\s,;]*(?:et\s+|,\s*)?$", before):
        return hour <= 8
    return "heure" in match.group(0) and hour <= 8 and not match["m"]


def _weak_may_be_time(reader: _Text, weak: _Found) -> bool:
    folded = reader.folded
    hour, minute = weak.value
    if hour > 24 or minute > 59:
        return False
    after = re.match(r"\s*([a-z']+)", folded[weak.end :])
    if after and after.group(1) not in _WEAK_FOLLOWERS:
        begin = weak.end + after.start(1)
        if reader.free(begin, begin + 1):
            return False  # "at 3 locations"
    if _PART_OF_DAY_AFTER.match(folded[weak.end :]):
        return True  # "3 in the afternoon", "alle 3 del pomeriggio"
    before = folded[: weak.start]
    if _START_MARKER.search(before) or _END_MARKER.search(before) or _RANGE_OPENER.search(before):
        return True
    # "9-10am", "14 - 15h": a bare number right before a range sign.
    return bool(re.match(r"\s*-\s*\d", folded[weak.end :]))


def _ranges_and_ends(reader: _Text, times: list[_Found]) -> list[_Found]:
    """Start-end pairs ("9:00-9:45", "von 9 bis 10 Uhr"), ends ("until 15:30")
    and single times."""
    folded = reader.folded
    items: list[_Found] = []
    used: set[int] = set()
    for index in range(len(times) - 1):
        first, second = times[index], times[index + 1]
        if index in used or first.line != second.line:
            continue
        if not _RANGE_GAP.match(folded[first.end : second.start]):
            continue
        opener = _RANGE_OPENER.search(folded[: first.start])
        if first.kind == "weak" and second.kind == "weak" and not opener:
            continue
        begin = first.start
        if opener:
            begin = opener.start() + len(opener.group(0)) - len(opener.group(0).lstrip(" (,;"))
        second_ampm = second.extra.get("ampm")
        first_ampm = first.extra.get("ampm")
        if first.kind == "weak" and first_ampm is None and second_ampm:
            first_ampm = second_ampm  # "9-10am": am for both
            start_hour = _with_ampm(first.value[0], first_ampm)
            end_hour = _with_ampm(second.value[0], second_ampm)
            if first_ampm == "p" and start_hour > end_hour:
                first_ampm = "a"  # "11-1pm" is 11am to 1pm
        reader.take(begin, second.end)
        items.append(
            _Found(
                "range",
                begin,
                second.end,
                (first.value, second.value),
                reader.original[begin : second.end].strip(),
                first.line,
                {"ampm": (first_ampm, second_ampm), "parts": (first, second)},
            )
        )
        used.update((index, index + 1))
    for index, item in enumerate(times):
        if index in used:
            continue
        if _END_MARKER.search(folded[: item.start]):
            item.kind = "until"
        elif item.kind == "weak":
            item.kind = "time"
        reader.take(item.start, item.end)
        items.append(item)
    return items


def _duration_counts(reader: _Text, duration: _Found, items: list[_Found]) -> bool:
    begin, line = reader.line_text(duration.line)
    if _LIST_ITEM.match(line):
        return False
    when_kinds = ("time", "range", "until", "date", "weekday", "relative", "now")
    if any(item.line == duration.line and item.kind in when_kinds for item in items):
        return True
    if _DURATION_MARKER.search(reader.folded[: duration.start]):
        return True
    rest = line[: duration.start - begin] + " " + line[duration.end - begin :]
    return all(word in _DURATION_LINE_WORDS for word in re.findall(r"[a-z']+", rest))


def _with_ampm(hour: int, ampm: str | None) -> int:
    if ampm == "p" and hour < 12:
        return hour + 12
    if ampm == "a" and hour == 12:
        return 0
    return hour


# --- resolving ------------------------------------------------------------------------


def resolve(
    found: Found,
    *,
    now: datetime,
    default_zone: str,
    default_duration: int,
    base: datetime,
) -> When:
    """Ties what was found to a day, a zone and the present, checking each part."""
    notes: list[str] = []
    said: list[Note] = []
    zone_name, zone_text = _zone(found, default_zone)
    zone = zoneinfo.ZoneInfo(zone_name)
    today = base.astimezone(zone).date()
    understood = Understood(zone=zone_name, zone_text=zone_text, today=today)
    if zone_text:
        notes.append(f'zone "{zone_text}" read as {zone_name}')

    # The day, the time of day and the length are all read before a problem is
    # reported, so that the answer quotes everything that was understood.
    problems: list[WhenProblem] = []
    day: date | None = None
    date_item: _Found | None = None
    start_time: time | None = None
    end_time: time | None = None
    start_text = end_text = ""
    duration: int | None = None
    try:
        day, date_item, understood = _day(found, today, understood, notes)
    except WhenProblem as error:
        problems.append(error)
    try:
        start_time, start_text, end_time, end_text = _clock(found, understood)
    except WhenProblem as error:
        problems.append(error)
    understood = replace(
        understood, start=start_time, start_text=start_text, end=end_time, end_text=end_text
    )
    try:
        duration, understood = _duration(found, understood, notes)
    except WhenProblem as error:
        problems.append(error)
    if problems:
        first = problems[0]
        first.understood = _completed(first.understood, understood)
        raise first

    offsets = found.of("offset")
    if offsets:
        if day is not None or start_time is not None or len({o.value for o in offsets}) > 1:
            raise WhenProblem("ambiguous_time", understood, text=offsets[0].text)
        begin = _floor_minute(base.astimezone(zone)) + timedelta(minutes=int(offsets[0].value))
        day, start_time = begin.date(), begin.time()
        understood = replace(understood, date=day, start=start_time, start_text=offsets[0].text)
        notes.append(f'start "{offsets[0].text}" read as {_write_day(day)} {start_time:%H:%M}')

    now_local = now.astimezone(zone)
    vague = [item for item in found.of("vague") if not _PART_OF_DAY.fullmatch(fold(item.text))]
    if day is None and start_time is None:
        if vague:
            raise WhenProblem("vague", understood, text=vague[0].text)
        if found.of("vague") and end_time is None:
            raise WhenProblem("vague", understood, text=found.of("vague")[0].text)
        return _instant(
            now_local, zone_name, duration, end_time, understood, default_duration, notes
        )
    if start_time is None:
        raise WhenProblem("no_time", understood, text=date_item.text if date_item else "")
    if day is None:
        if vague:
            raise WhenProblem("vague", understood, text=vague[0].text)
        day = today
        if datetime.combine(day, start_time, zone) <= now_local:
            raise WhenProblem("no_date", understood, text=start_text)
        understood = replace(understood, date=day)
        notes.append(f"no date: today, {_write_day(day)}")
        said.append(Note("today", (("date", day.isoformat()),)))

    start = datetime.combine(day, start_time, zone)
    if _skipped(start):
        raise WhenProblem("no_such_time", understood, text=start_text)
    end = _end(start, end_time, duration, default_duration, understood, notes)
    if end - start > MAX_DURATION:
        raise WhenProblem("too_long", understood)
    if start < _floor_minute(now_local):
        raise WhenProblem("past", understood)
    if date_item is not None and date_item.kind in ("relative", "weekday"):
        # "demain", "Friday": which day that is, in words the sender can check.
        said.insert(0, Note("read_as", (("text", date_item.text), ("date", day.isoformat()))))
    said += _length_notes(duration, end_time, default_duration)
    return When(start, end, zone_name, tuple(notes), reply_notes=tuple(said))


def _length_notes(duration: int | None, end_time: time | None, default: int) -> list[Note]:
    """The note a reply gives when the request named no end and no length."""
    if duration is None and end_time is None:
        return [Note("default_length", (("minutes", str(default)),))]
    return []


def _completed(partial: Understood, whole: Understood) -> Understood:
    """`partial` with the parts it lacks taken from `whole`."""
    values = {}
    for part in fields(Understood):
        value = getattr(partial, part.name)
        values[part.name] = value if value not in (None, "", False) else getattr(whole, part.name)
    return Understood(**values)


_PART_OF_DAY = re.compile(
    r"(?:morning|afternoon|evening|matin|apres[-\s]midi|soir|vormittag|nachmittag|abend"
    r"|pomeriggio|mattina|di sera|la sera)"
)


def _zone(found: Found, default_zone: str) -> tuple[str, str]:
    zones = found.of("zone")
    for item in zones:
        if item.value is None:
            raise WhenProblem("unknown_zone", Understood(zone=default_zone), text=item.text)
    names = {_central_european_zone(str(item.value), default_zone) for item in zones}
    if len(names) > 1:
        texts = tuple(item.text for item in zones)
        raise WhenProblem(
            "ambiguous_zone",
            Understood(zone=default_zone),
            choices=tuple(sorted(names)),
            text=" / ".join(texts),
        )
    if not zones:
        return default_zone, ""
    return names.pop(), zones[0].text


def _central_european_zone(name: str, default_zone: str) -> str:
    """CET, CEST, MEZ: the configured zone when it keeps Central European time,
    else Europe/Zurich (the kMeet API wants a city zone, not "CET")."""
    if name != _CENTRAL_EUROPE:
        return name
    central = zoneinfo.ZoneInfo("Europe/Paris")
    default = zoneinfo.ZoneInfo(default_zone)
    probes = [datetime(2026, month, 15, 12, tzinfo=UTC) for month in (1, 4, 7, 11)]
    if all(p.astimezone(central).utcoffset() == p.astimezone(default).utcoffset() for p in probes):
        return default_zone
    return "Europe/Zurich"


def _day(
    found: Found, today: date, understood: Understood, notes: list[str]
) -> tuple[date | None, _Found | None, Understood]:
    """The one day the text names, or None; a problem when it names none clearly."""
    days: list[tuple[date, _Found, str]] = []
    for item in found.of("date", "monthday", "relative", "weekday"):
        value, how = _date_of(item, today, understood)
        days.append((value, item, how))
    if not days:
        return None, None, understood
    distinct = sorted({value for value, _, _ in days})
    first = days[0][1]
    understood = replace(
        understood,
        date=distinct[0] if len(distinct) == 1 else None,
        date_text=first.text,
        relative=first.kind != "date",
    )
    if len(distinct) > 1:
        raise WhenProblem(
            "ambiguous_date",
            understood,
            choices=tuple(distinct),
            text=" / ".join(item.text for _, item, _ in days),
        )
    for value, item, how in days:
        notes.append(
            f'date "{item.text}" read as {_write_day(value)}' + (f" ({how})" if how else "")
        )
    return distinct[0], first, understood


def _date_of(item: _Found, today: date, understood: Understood) -> tuple[date, str]:
    """The day one mention names, and how it was read (for the notes)."""
    if item.kind == "relative":
        return today + timedelta(days=int(item.value)), ""
    if item.kind == "weekday":
        return _weekday_date(item, today, understood)
    readings = item.extra.get("readings")
    if readings:
        choices = tuple(_calendar_date(reading, today, item, understood)[0] for reading in readings)
        raise WhenProblem(
            "ambiguous_date",
            replace(understood, date_text=item.text),
            choices=choices,
            text=item.text,
        )
    if item.kind == "monthday":
        value, how = _next_month_day(int(item.value), today), f"no month: the next {item.value}"
    else:
        value, year_note = _calendar_date(item.value, today, item, understood)
        how = ", ".join(part for part in (str(item.extra.get("how", "")), year_note) if part)
    weekday = item.extra.get("weekday")
    if weekday is not None and weekday != value.weekday():
        named = _next_weekday(value - timedelta(days=3), int(weekday))
        raise WhenProblem(
            "weekday_mismatch",
            replace(understood, date=value, date_text=item.text),
            choices=(value, named),
            text=item.text,
        )
    return value, how


def _calendar_date(
    value: tuple[int | None, int, int], today: date, item: _Found, understood: Understood
) -> tuple[date, str]:
    year, month, day = value
    try:
        if year is not None:
            return date(year, month, day), ""
        this_year = date(today.year, month, day) if _exists(today.year, month, day) else None
        if this_year is not None and this_year >= today - timedelta(days=RECENT_DAYS):
            return this_year, "" if this_year >= today else f"no year: {today.year}"
        return date(today.year + 1, month, day), f"no year: {today.year + 1}"
    except ValueError:
        raise WhenProblem(
            "invalid_date", replace(understood, date_text=item.text), text=item.text
        ) from None


def _next_month_day(day: int, today: date) -> date:
    """The first date on or after today that is the `day`th of its month."""
    year, month = today.year, today.month
    while True:
        if _exists(year, month, day) and date(year, month, day) >= today:
            return date(year, month, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _weekday_date(item: _Found, today: date, understood: Understood) -> tuple[date, str]:
    weekday, how = int(item.value), item.extra["how"]
    if how == "next week":
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=weekday), "in the next week"
    if how == "this":
        return _next_weekday(today, weekday), "the coming one"
    if how == "bare" and weekday == today.weekday():
        raise WhenProblem(
            "ambiguous_date",
            replace(understood, date_text=item.text, relative=True),
            choices=(today, today + timedelta(days=7)),
            text=item.text,
        )
    return _next_weekday(today + timedelta(days=1), weekday), ""


def _next_weekday(first: date, weekday: int) -> date:
    """The first day on or after `first` that is `weekday`."""
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def _clock(found: Found, understood: Understood) -> tuple[time | None, str, time | None, str]:
    """The start and end times of day, each with the words that gave it."""
    hint = _ampm_hint(found)
    starts: list[tuple[time, str, _Found]] = []
    ends: list[tuple[time, str, _Found]] = []
    for item in found.of("time", "range", "until"):
        if item.kind == "range":
            first, second = item.extra["parts"]
            first_ampm, second_ampm = item.extra["ampm"]
            start = _time_of(first, first_ampm, hint, understood)
            end = _time_of(second, second_ampm, hint, understood, after=start)
            starts.append((start, first.text, item))
            ends.append((end, second.text, item))
        elif item.kind == "until":
            ends.append((_time_of(item, item.extra.get("ampm"), hint, understood), item.text, item))
        else:
            starts.append(
                (_time_of(item, item.extra.get("ampm"), hint, understood), item.text, item)
            )
    for values in (starts, ends):
        distinct = sorted({value for value, _, _ in values})
        if len(distinct) > 1:
            raise WhenProblem(
                "ambiguous_time",
                understood,
                choices=tuple(distinct),
                text=" / ".join(text for _, text, _ in values),
            )
    return (
        starts[0][0] if starts else None,
        starts[0][1] if starts else "",
        ends[0][0] if ends else None,
        ends[0][1] if ends else "",
    )


def _ampm_hint(found: Found) -> str | None:
    """ "p" when the text says afternoon or evening, "a" for morning, else None."""
    pm, am = bool(found.of("pm")), bool(found.of("am"))
    if pm == am:
        return None
    return "p" if pm else "a"


def _time_of(
    item: _Found,
    ampm: object,
    hint: str | None,
    understood: Understood,
    after: time | None = None,
) -> time:
    hour, minute = item.value
    written = item.text
    if ampm:
        if not 1 <= hour <= 12:
            raise WhenProblem("invalid_time", understood, text=written)
        hour = _with_ampm(hour, str(ampm))
    elif hour == 24 and minute == 0 and after is not None:
        hour = 0
    elif hour > 23 or minute > 59:
        raise WhenProblem("invalid_time", understood, text=written)
    elif 1 <= hour <= 11 and not _has_leading_zero(item) and not item.extra.get("named"):
        if hint == "p":
            hour += 12
        elif after is not None and item.kind == "weak" and hour <= 6 and hour < after.hour:
            hour += 12  # "from 11 to 1": the end is after the start
        elif hint is None and after is None and hour <= 6:
            raise WhenProblem(
                "ambiguous_time",
                understood,
                choices=(time(hour, minute), time(hour + 12, minute)),
                text=written,
            )
    return time(hour, minute)


def _has_leading_zero(item: _Found) -> bool:
    return item.text[:1] == "0" or bool(re.match(r"\D+0\d", item.text))


def _duration(
    found: Found, understood: Understood, notes: list[str]
) -> tuple[int | None, Understood]:
    durations = found.of("duration")
    if not durations:
        return None, understood
    distinct = sorted({int(item.value) for item in durations})
    understood = replace(understood, duration=distinct[0], duration_text=durations[0].text)
    if len(distinct) > 1:
        raise WhenProblem(
            "ambiguous_duration",
            replace(understood, duration=None),
            choices=tuple(distinct),
            text=" / ".join(item.text for item in durations),
        )
    if distinct[0] <= 0:
        raise WhenProblem("end_before_start", understood, text=durations[0].text)
    notes.append(f'duration "{durations[0].text}" read as {distinct[0]} minutes')
    return distinct[0], understood


def _end(
    start: datetime,
    end_time: time | None,
    duration: int | None,
    default_duration: int,
    understood: Understood,
    notes: list[str],
) -> datetime:
    by_duration = start + timedelta(minutes=duration) if duration is not None else None
    if end_time is None:
        if by_duration is not None:
            return by_duration
        notes.append(f"no duration: {default_duration} minutes")
        return start + timedelta(minutes=default_duration)
    end = datetime.combine(start.date(), end_time, start.tzinfo)
    if end_time == time(0, 0):
        end += timedelta(days=1)  # "until midnight"
    if end <= start:
        raise WhenProblem("end_before_start", understood, text=understood.end_text)
    if _skipped(end):
        raise WhenProblem("no_such_time", understood, text=understood.end_text)
    if by_duration is not None and by_duration != end:
        raise WhenProblem("conflicting_end", understood, choices=(end_time, duration))
    notes.append(f'end "{understood.end_text}" read as {end_time:%H:%M}')
    return end


def _instant(
    now_local: datetime,
    zone_name: str,
    duration: int | None,
    end_time: time | None,
    understood: Understood,
    default_duration: int,
    notes: list[str],
) -> When:
    """No date or time at all: a room starting now ("can we talk now?")."""
    start = _floor_minute(now_local)
    understood = replace(understood, date=start.date())
    notes.append("instant room: starting now")
    end = _end(start, end_time, duration, default_duration, understood, notes)
    if end - start > MAX_DURATION:
        raise WhenProblem("too_long", understood)
    said = [Note("instant"), *_length_notes(duration, end_time, default_duration)]
    return When(start, end, zone_name, tuple(notes), instant=True, reply_notes=tuple(said))


def _floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _skipped(value: datetime) -> bool:
    """Whether a wall-clock time does not exist in its zone (clocks jumped over it)."""
    zone = value.tzinfo
    assert isinstance(zone, tzinfo)
    back = value.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) != value.replace(tzinfo=None)


# --- writing ------------------------------------------------------------------------


def _write_day(value: date) -> str:
    """For notes (English): "Wednesday 3 February 2027"."""
    return f"{wording.weekday_name(value.weekday(), 'en')} {write_date(value, 'en')}"


def write_date(value: date, language: str, *, weekday: bool = False) -> str:
    """A date as people write it in `language` (CLDR, see wording.write_date):
    "3 February 2027", "1er mars 2027", "3. Februar 2027"; with its weekday
    first if asked."""
    return wording.write_date(value, language, weekday=weekday)


def write_time(value: time) -> str:
    return f"{value:%H:%M}"


def write_when(
    language: str,
    day: str,
    start: time,
    end: time | None = None,
    duration: int | None = None,
) -> str:
    """One line a sender can copy: `day` (already written: "demain", "3 février
    2027"), the start, and an end or a duration, in `language`'s usual form."""
    begin = wording.write_time(start, language)
    if end is not None:
        clock = wording.say(
            language, "example.span", start=begin, end=wording.write_time(end, language)
        )
    else:
        clock = wording.say(language, "example.at", start=begin)
    # German sets a written date apart from the time by a comma ("3. Februar 2027, 10:00 Uhr").
    shape = "example.date_clock" if day[:1].isdigit() else "example.day_clock"
    text = wording.say(language, shape, day=day, clock=clock)
    if duration is not None:
        text = wording.say(
            language, "example.with_length", line=text, length=write_duration(duration, language)
        )
    return text


def write_duration(minutes: int, language: str) -> str:
    return wording.write_minutes(minutes, language)
