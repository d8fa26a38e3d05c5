"""Put a series' recurrence rule (RFC 5545 RRULE) into words for a reply.

Pure: `describe_rule` reads the rule's text and the series' start and returns a
phrase such as "every Monday at 10:00, 10 times". Rules that cannot be said
simply are shown as they are, rather than described wrongly.

Every word lives in `WORDING`, one entry per language: names, ordinals and
plural forms are data, so that adding a language means adding one entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

# A word with a singular and a plural form, chosen by `plural`. Two forms are
# enough for the languages planned (en, fr, de, it), since counts here are >= 1.
Plural = tuple[str, str]

_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WORKING_DAYS = frozenset(range(5))
_ALL_DAYS = frozenset(range(7))
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
# Parts a rule may hold and still be said simply; any other part (BYWEEKNO,
# BYYEARDAY, X-..., RSCALE) makes the rule be shown as it is.
_SAYABLE_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYSETPOS",
        "BYHOUR",
        "BYMINUTE",
        "BYSECOND",
        "WKST",
    }
)
# A hostile or broken rule is shown, but never at any length.
_MAX_SHOWN = 200


@dataclass(frozen=True)
class RuleWording:
    """Everything `describe_rule` says in one language.

    Templates name their fields: {n} a number, {days}/{on} what the rule picks,
    {rule} the phrase built so far, {time}, {date}, {month}, {weekday}.
    """

    weekdays: tuple[str, ...]  # Monday first, as datetime.weekday()
    # The weekdays as a weekly rule with an interval lists them ("le lundi",
    # "montags"): some languages need an article or an adverb there.
    weekdays_on: tuple[str, ...]
    months: tuple[str, ...]  # January first
    # Day numbers a language writes as ordinals ("1er", "1º"); others are digits.
    day_numbers: dict[int, str]
    list_separator: str  # between items of a list but the last two
    list_last: str  # between the last two items
    time: str  # {hour:02d}, {minute:02d}
    date: str  # {day}, {month}, {year}
    every_day: Plural  # {n}
    every_weekday: str
    every_week: Plural  # {n}, {days}
    every_month: Plural  # {n}, {on}
    every_year: Plural  # {n}, {on}
    month_day: str  # {day}: the day of the month a monthly rule picks
    month_day_special: dict[int, str]  # days whose phrase breaks the pattern
    last_month_day: str
    nth_weekday: str  # {position}, {weekday}
    positions: dict[int, str]  # BYDAY ordinals: 1 the first, -1 the last
    # Weekdays whose name is feminine (Italian "domenica") take these positions.
    feminine_weekdays: frozenset[int]
    positions_feminine: dict[int, str]
    weekday_in_month: str  # {weekday}: an nth_weekday phrase, {month}
    weekday_in_month_special: dict[int, str]  # by month: elisions ("d’avril")
    year_day: str  # {day}, {month}
    year_day_special: dict[int, str]  # by day: elisions ("l’8 {month}")
    at_time: str  # {rule}, {time}
    with_end: str  # {rule}, {end}
    times: Plural  # {n}: how many occurrences in all
    until: str  # {date}
    until_special: dict[int, str]  # by day of the last date: elisions ("fino all’{date}")
    several_dates: str
    fallback: str  # {rule}: the rule's own text


_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

WORDING: dict[str, RuleWording] = {
    "en": RuleWording(
        weekdays=_EN_WEEKDAYS,
        weekdays_on=_EN_WEEKDAYS,
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        day_numbers={},
        list_separator=", ",
        list_last=" and ",
        time="{hour:02d}:{minute:02d}",
        date="{day} {month} {year}",
        every_day=("every day", "every {n} days"),
        every_weekday="every weekday",
        every_week=("every {days}", "every {n} weeks on {days}"),
        every_month=("every month on {on}", "every {n} months on {on}"),
        every_year=("every year on {on}", "every {n} years on {on}"),
        month_day="the {day}th",
        month_day_special={
            1: "the 1st",
            2: "the 2nd",
            3: "the 3rd",
            21: "the 21st",
            22: "the 22nd",
            23: "the 23rd",
            31: "the 31st",
        },
        last_month_day="the last day",
        nth_weekday="the {position} {weekday}",
        positions={
            1: "first",
            2: "second",
            3: "third",
            4: "fourth",
            5: "fifth",
            -1: "last",
            -2: "second-to-last",
        },
        feminine_weekdays=frozenset(),
        positions_feminine={},
        weekday_in_month="{weekday} of {month}",
        weekday_in_month_special={},
        year_day="{day} {month}",
        year_day_special={},
        at_time="{rule} at {time}",
        with_end="{rule}, {end}",
        times=("once", "{n} times"),
        until="until {date}",
        until_special={},
        several_dates="on several dates",
        fallback="according to the rule {rule}",
    ),
    "fr": RuleWording(
        weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        weekdays_on=(
            "le lundi",
            "le mardi",
            "le mercredi",
            "le jeudi",
            "le vendredi",
            "le samedi",
            "le dimanche",
        ),
        months=(
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        day_numbers={1: "1er"},
        list_separator=", ",
        list_last=" et ",
        time="{hour:02d}:{minute:02d}",
        date="{day} {month} {year}",
        every_day=("tous les jours", "tous les {n} jours"),
        every_weekday="du lundi au vendredi",
        every_week=("chaque {days}", "toutes les {n} semaines {days}"),
        every_month=("tous les mois {on}", "tous les {n} mois {on}"),
        every_year=("tous les ans {on}", "tous les {n} ans {on}"),
        month_day="le {day}",
        month_day_special={},
        last_month_day="le dernier jour",
        # The positions carry their article, which elides before "avant-dernier".
        nth_weekday="{position} {weekday}",
        positions={
            1: "le premier",
            2: "le deuxième",
            3: "le troisième",
            4: "le quatrième",
            5: "le cinquième",
            -1: "le dernier",
            -2: "l’avant-dernier",
        },
        feminine_weekdays=frozenset(),
        positions_feminine={},
        weekday_in_month="{weekday} de {month}",
        weekday_in_month_special={
            4: "{weekday} d’{month}",
            8: "{weekday} d’{month}",
            10: "{weekday} d’{month}",
        },
        year_day="le {day} {month}",
        year_day_special={},
        at_time="{rule} à {time}",
        with_end="{rule}, {end}",
        times=("une fois", "{n} fois"),
        until="jusqu’au {date}",
        until_special={},
        several_dates="à plusieurs dates",
        fallback="selon la règle {rule}",
    ),
    "de": RuleWording(
        weekdays=(
            "Montag",
            "Dienstag",
            "Mittwoch",
            "Donnerstag",
            "Freitag",
            "Samstag",
            "Sonntag",
        ),
        weekdays_on=(
            "montags",
            "dienstags",
            "mittwochs",
            "donnerstags",
            "freitags",
            "samstags",
            "sonntags",
        ),
        months=(
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        day_numbers={},
        list_separator=", ",
        list_last=" und ",
        time="{hour:02d}:{minute:02d} Uhr",
        date="{day}. {month} {year}",
        every_day=("täglich", "alle {n} Tage"),
        every_weekday="montags bis freitags",
        every_week=("jeden {days}", "alle {n} Wochen {days}"),
        every_month=("jeden Monat am {on}", "alle {n} Monate am {on}"),
        every_year=("jedes Jahr am {on}", "alle {n} Jahre am {on}"),
        month_day="{day}.",
        month_day_special={},
        last_month_day="letzten Tag",
        nth_weekday="{position} {weekday}",
        # Dative, after "am": "am ersten Dienstag".
        positions={
            1: "ersten",
            2: "zweiten",
            3: "dritten",
            4: "vierten",
            5: "fünften",
            -1: "letzten",
            -2: "vorletzten",
        },
        feminine_weekdays=frozenset(),
        positions_feminine={},
        weekday_in_month="{weekday} im {month}",
        weekday_in_month_special={},
        year_day="{day}. {month}",
        year_day_special={},
        at_time="{rule} um {time}",
        with_end="{rule}, {end}",
        times=("einmal", "{n}-mal"),
        until="bis zum {date}",
        until_special={},
        several_dates="an mehreren Terminen",
        fallback="nach der Regel {rule}",
    ),
    "it": RuleWording(
        weekdays=("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
        weekdays_on=(
            "il lunedì",
            "il martedì",
            "il mercoledì",
            "il giovedì",
            "il venerdì",
            "il sabato",
            "la domenica",
        ),
        months=(
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ),
        day_numbers={1: "1º"},
        list_separator=", ",
        list_last=" e ",
        time="{hour:02d}:{minute:02d}",
        date="{day} {month} {year}",
        every_day=("ogni giorno", "ogni {n} giorni"),
        every_weekday="dal lunedì al venerdì",
        every_week=("ogni {days}", "ogni {n} settimane {days}"),
        every_month=("ogni mese {on}", "ogni {n} mesi {on}"),
        every_year=("ogni anno {on}", "ogni {n} anni {on}"),
        month_day="il {day}",
        # "otto" and "undici" begin with a vowel: the article elides.
        month_day_special={8: "l’8", 11: "l’11"},
        last_month_day="l’ultimo giorno",
        # The positions carry their article, which elides before "ultimo".
        nth_weekday="{position} {weekday}",
        positions={
            1: "il primo",
            2: "il secondo",
            3: "il terzo",
            4: "il quarto",
            5: "il quinto",
            -1: "l’ultimo",
            -2: "il penultimo",
        },
        feminine_weekdays=frozenset({6}),
        positions_feminine={
            1: "la prima",
            2: "la seconda",
            3: "la terza",
            4: "la quarta",
            5: "la quinta",
            -1: "l’ultima",
            -2: "la penultima",
        },
        weekday_in_month="{weekday} di {month}",
        weekday_in_month_special={},
        year_day="il {day} {month}",
        year_day_special={8: "l’8 {month}", 11: "l’11 {month}"},
        at_time="{rule} alle {time}",
        with_end="{rule}, {end}",
        times=("una volta", "{n} volte"),
        until="fino al {date}",
        until_special={8: "fino all’{date}", 11: "fino all’{date}"},
        several_dates="in più date",
        fallback="secondo la regola {rule}",
    ),
}


def language_code(language: str | None) -> str:
    """The WORDING key for `language`: "fr-CH" and "FR" are "fr"; a language
    without wording of its own (or none at all) is answered in English."""
    code = (language or "").strip().lower().replace("_", "-").partition("-")[0]
    return code if code in WORDING else "en"


def _wording(language: str | None) -> RuleWording:
    return WORDING[language_code(language)]


class _Unsayable(Exception):
    """The rule holds something no simple phrase says truthfully."""


def plural(forms: Plural, n: int) -> str:
    """The form of `forms` that goes with the count `n`."""
    return forms[0] if n == 1 else forms[1]


def _join(items: Sequence[str], wording: RuleWording) -> str:
    if len(items) <= 1:
        return "".join(items)
    return wording.list_separator.join(items[:-1]) + wording.list_last + items[-1]


def join_list(items: Sequence[str], language: str | None = "en") -> str:
    """`items` as a sentence lists them: "Monday, Wednesday and Friday"."""
    return _join(items, _wording(language))


def _parts(rule: str) -> dict[str, str]:
    """The rule's NAME=VALUE parts; names and values are case-insensitive."""
    text = rule.strip().upper()
    text = text.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not value or name in parts or name not in _SAYABLE_PARTS:
            raise _Unsayable(part)
        parts[name] = value
    if "FREQ" not in parts:
        raise _Unsayable("no FREQ")
    return parts


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise _Unsayable(value)
    return int(value)


def _single_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _Unsayable(value) from None


def _byday(value: str) -> list[tuple[int | None, int]]:
    """BYDAY as (ordinal or None, weekday index) pairs, in the rule's order."""
    days: list[tuple[int | None, int]] = []
    for item in value.split(","):
        match = _BYDAY.fullmatch(item.strip())
        if match is None:
            raise _Unsayable(item)
        ordinal = int(match[1]) if match[1] else None
        if ordinal == 0:
            raise _Unsayable(item)
        days.append((ordinal, _WEEKDAY_CODES.index(match[2])))
    return days


def _until(value: str, start: datetime) -> date:
    """The last day of the series, on the meeting's calendar.

    A UTC UNTIL ("...Z") is moved to the zone of `start`; a local or date-only
    UNTIL is already on the meeting's calendar.
    """
    match = _UNTIL.fullmatch(value)
    if match is None:
        raise _Unsayable(value)
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        if match[4] is None:
            return date(year, month, day)
        moment = datetime(year, month, day, int(match[4]), int(match[5]), int(match[6]))
    except ValueError:
        raise _Unsayable(value) from None
    if match[7] and start.tzinfo is not None:
        return moment.replace(tzinfo=UTC).astimezone(start.tzinfo).date()
    return moment.date()


def _check_time_parts(parts: dict[str, str], start: datetime) -> None:
    """BYHOUR/BYMINUTE/BYSECOND are said only when they repeat the start's time:
    anything else means several times a day, or a time the start does not show."""
    for name, actual in (
        ("BYHOUR", start.hour),
        ("BYMINUTE", start.minute),
        ("BYSECOND", start.second),
    ):
        if name in parts and _single_int(parts[name]) != actual:
            raise _Unsayable(name)


def _day_number(day: int, wording: RuleWording) -> str:
    return wording.day_numbers.get(day, str(day))


def format_date(day: date, language: str | None = "en") -> str:
    """A date without its weekday, as `language` writes it: "1er juillet 2027"."""
    return _date(day, _wording(language))


def _date(day: date, wording: RuleWording) -> str:
    return wording.date.format(
        day=_day_number(day.day, wording), month=wording.months[day.month - 1], year=day.year
    )


def _month_day(day: int, wording: RuleWording) -> str:
    if day == -1:
        return wording.last_month_day
    if not 1 <= day <= 31:
        raise _Unsayable(str(day))
    return wording.month_day_special.get(
        day, wording.month_day.format(day=_day_number(day, wording))
    )


def _nth_weekday(ordinal: int | None, weekday: int, wording: RuleWording) -> str:
    positions = (
        wording.positions_feminine if weekday in wording.feminine_weekdays else wording.positions
    )
    if ordinal is None or ordinal not in positions:
        raise _Unsayable(f"{ordinal}{_WEEKDAY_CODES[weekday]}")
    return wording.nth_weekday.format(
        position=positions[ordinal], weekday=wording.weekdays[weekday]
    )


def _weekly(days: set[int], interval: int, wording: RuleWording) -> str:
    if interval == 1 and days == _ALL_DAYS:
        return plural(wording.every_day, 1)
    if interval == 1 and days == _WORKING_DAYS:
        return wording.every_weekday
    names = wording.weekdays if interval == 1 else wording.weekdays_on
    listed = _join([names[day] for day in sorted(days)], wording)
    return plural(wording.every_week, interval).format(n=interval, days=listed)


def _ordinal_days(parts: dict[str, str]) -> list[tuple[int | None, int]]:
    """BYDAY of a monthly or yearly rule, with a lone BYSETPOS folded in:
    "BYDAY=TU;BYSETPOS=1" picks the same day as "BYDAY=1TU"."""
    days = _byday(parts["BYDAY"])
    if "BYSETPOS" not in parts:
        return days
    if len(days) != 1 or days[0][0] is not None or "," in parts["BYSETPOS"]:
        raise _Unsayable("BYSETPOS")
    return [(_single_int(parts["BYSETPOS"]), days[0][1])]


def _phrase(parts: dict[str, str], start: datetime, wording: RuleWording) -> str:
    """The rule's "every ..." phrase, without time of day or end."""
    frequency = parts["FREQ"]
    interval = _positive(parts.get("INTERVAL", "1"))
    has = parts.keys()
    # BYSETPOS is said only as the ordinal of a lone BYDAY (see _ordinal_days).
    if "BYSETPOS" in has and (frequency not in ("MONTHLY", "YEARLY") or "BYDAY" not in has):
        raise _Unsayable("BYSETPOS")

    if frequency in ("DAILY", "WEEKLY"):
        if has & {"BYMONTH", "BYMONTHDAY"}:
            raise _Unsayable(frequency)
        if "BYDAY" not in has:
            if frequency == "DAILY":
                return plural(wording.every_day, interval).format(n=interval)
            return _weekly({start.weekday()}, interval, wording)
        days = _byday(parts["BYDAY"])
        # A daily rule limited to some weekdays is a weekly one, but only when it
        # steps one day at a time.
        if any(ordinal is not None for ordinal, _ in days) or (
            frequency == "DAILY" and interval != 1
        ):
            raise _Unsayable("BYDAY")
        return _weekly({day for _, day in days}, interval, wording)

    if frequency == "MONTHLY":
        if "BYMONTH" in has:
            raise _Unsayable("BYMONTH")
        if "BYDAY" in has and "BYMONTHDAY" not in has:
            picks = [_nth_weekday(ordinal, day, wording) for ordinal, day in _ordinal_days(parts)]
        elif "BYMONTHDAY" in has and "BYDAY" not in has:
            numbers = [_single_int(item) for item in parts["BYMONTHDAY"].split(",")]
            picks = [_month_day(day, wording) for day in numbers]
        elif not has & {"BYDAY", "BYMONTHDAY"}:
            picks = [_month_day(start.day, wording)]
        else:
            raise _Unsayable("BYDAY with BYMONTHDAY")
        on = _join(picks, wording)
        return plural(wording.every_month, interval).format(n=interval, on=on)

    if frequency == "YEARLY":
        month = _single_int(parts["BYMONTH"]) if "BYMONTH" in has else start.month
        if not 1 <= month <= 12:
            raise _Unsayable("BYMONTH")
        month_name = wording.months[month - 1]
        if "BYDAY" in has:
            days = _ordinal_days(parts)
            # Without BYMONTH, "the first Monday" would be the year's, not a month's.
            if "BYMONTH" not in has or "BYMONTHDAY" in has or len(days) != 1:
                raise _Unsayable("BYDAY")
            weekday = _nth_weekday(days[0][0], days[0][1], wording)
            template = wording.weekday_in_month_special.get(month, wording.weekday_in_month)
            on = template.format(weekday=weekday, month=month_name)
        else:
            # Without BYMONTH, a yearly BYMONTHDAY picks that day of every month.
            if "BYMONTHDAY" in has and "BYMONTH" not in has:
                raise _Unsayable("BYMONTHDAY")
            day = _single_int(parts["BYMONTHDAY"]) if "BYMONTHDAY" in has else start.day
            if not 1 <= day <= 31:
                raise _Unsayable("BYMONTHDAY")
            template = wording.year_day_special.get(day, wording.year_day)
            on = template.format(day=_day_number(day, wording), month=month_name)
        return plural(wording.every_year, interval).format(n=interval, on=on)

    # HOURLY, MINUTELY, SECONDLY, or no known frequency at all.
    raise _Unsayable(frequency)


def _describe(rule: str, start: datetime, wording: RuleWording) -> str:
    parts = _parts(rule)
    _check_time_parts(parts, start)
    if "COUNT" in parts and "UNTIL" in parts:
        raise _Unsayable("COUNT with UNTIL")  # RFC 5545 forbids both
    # Read the end first: a broken end makes the whole rule unsayable.
    end: str | None = None
    if "COUNT" in parts:
        count = _positive(parts["COUNT"])
        end = plural(wording.times, count).format(n=count)
    elif "UNTIL" in parts:
        last = _until(parts["UNTIL"], start)
        end = wording.until_special.get(last.day, wording.until).format(date=_date(last, wording))
    time = wording.time.format(hour=start.hour, minute=start.minute)
    text = wording.at_time.format(rule=_phrase(parts, start, wording), time=time)
    if end is not None:
        text = wording.with_end.format(rule=text, end=end)
    return text


def describe_rule(rule: str, start: datetime, language: str | None = "en") -> str:
    """The series' recurrence in words: "every Monday at 10:00, 10 times".

    `rule` is the RRULE value ("FREQ=WEEKLY;BYDAY=MO;COUNT=10"), or "" for a
    series given by RDATE only. `start` is an occurrence in the meeting's own
    zone: it gives the time of day, and the day a rule without BYDAY or
    BYMONTHDAY falls on. A rule too intricate to say simply is quoted as given.
    `language` is one of WORDING's keys; any other is answered in English.
    """
    wording = _wording(language)
    if not rule.strip():
        return wording.several_dates
    try:
        return _describe(rule, start, wording)
    except _Unsayable:
        shown = " ".join(rule.split())
        if len(shown) > _MAX_SHOWN:
            shown = shown[: _MAX_SHOWN - 1] + "…"
        return wording.fallback.format(rule=shown)
