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
    months: tuple[str, ...]  # January first
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
    weekday_in_month: str  # {weekday}: an nth_weekday phrase, {month}
    year_day: str  # {day}, {month}
    at_time: str  # {rule}, {time}
    with_end: str  # {rule}, {end}
    times: Plural  # {n}: how many occurrences in all
    until: str  # {date}
    several_dates: str
    fallback: str  # {rule}: the rule's own text


WORDING: dict[str, RuleWording] = {
    "en": RuleWording(
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
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
        weekday_in_month="{weekday} of {month}",
        year_day="{day} {month}",
        at_time="{rule} at {time}",
        with_end="{rule}, {end}",
        times=("once", "{n} times"),
        until="until {date}",
        several_dates="on several dates",
        fallback="according to the rule {rule}",
    ),
}


def _wording(language: str) -> RuleWording:
    return WORDING.get(language, WORDING["en"])


class _Unsayable(Exception):
    """The rule holds something no simple phrase says truthfully."""


def plural(forms: Plural, n: int) -> str:
    """The form of `forms` that goes with the count `n`."""
    return forms[0] if n == 1 else forms[1]


def _join(items: Sequence[str], wording: RuleWording) -> str:
    if len(items) <= 1:
        return "".join(items)
    return wording.list_separator.join(items[:-1]) + wording.list_last + items[-1]


def join_list(items: Sequence[str], language: str = "en") -> str:
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


def _month_day(day: int, wording: RuleWording) -> str:
    if day == -1:
        return wording.last_month_day
    if not 1 <= day <= 31:
        raise _Unsayable(str(day))
    return wording.month_day_special.get(day, wording.month_day.format(day=day))


def _nth_weekday(ordinal: int | None, weekday: int, wording: RuleWording) -> str:
    if ordinal is None or ordinal not in wording.positions:
        raise _Unsayable(f"{ordinal}{_WEEKDAY_CODES[weekday]}")
    return wording.nth_weekday.format(
        position=wording.positions[ordinal], weekday=wording.weekdays[weekday]
    )


def _weekly(days: set[int], interval: int, wording: RuleWording) -> str:
    if interval == 1 and days == _ALL_DAYS:
        return plural(wording.every_day, 1)
    if interval == 1 and days == _WORKING_DAYS:
        return wording.every_weekday
    names = [wording.weekdays[day] for day in sorted(days)]
    return plural(wording.every_week, interval).format(n=interval, days=_join(names, wording))


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
            on = wording.weekday_in_month.format(weekday=weekday, month=month_name)
        else:
            # Without BYMONTH, a yearly BYMONTHDAY picks that day of every month.
            if "BYMONTHDAY" in has and "BYMONTH" not in has:
                raise _Unsayable("BYMONTHDAY")
            day = _single_int(parts["BYMONTHDAY"]) if "BYMONTHDAY" in has else start.day
            if not 1 <= day <= 31:
                raise _Unsayable("BYMONTHDAY")
            on = wording.year_day.format(day=day, month=month_name)
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
        end = wording.until.format(
            date=wording.date.format(
                day=last.day, month=wording.months[last.month - 1], year=last.year
            )
        )
    time = wording.time.format(hour=start.hour, minute=start.minute)
    text = wording.at_time.format(rule=_phrase(parts, start, wording), time=time)
    if end is not None:
        text = wording.with_end.format(rule=text, end=end)
    return text


def describe_rule(rule: str, start: datetime, language: str = "en") -> str:
    """The series' recurrence in words: "every Monday at 10:00, 10 times".

    `rule` is the RRULE value ("FREQ=WEEKLY;BYDAY=MO;COUNT=10"), or "" for a
    series given by RDATE only. `start` is an occurrence in the meeting's own
    zone: it gives the time of day, and the day a rule without BYDAY or
    BYMONTHDAY falls on. A rule too intricate to say simply is quoted as given.
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
