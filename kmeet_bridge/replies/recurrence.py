"""Put a series' recurrence rule (RFC 5545 RRULE) into words for a reply.

Pure: `describe_rule` reads the rule's text and the series' start and returns a
phrase such as "every Monday at 10:00, 10 times". Rules that cannot be said
simply are shown as they are, rather than described wrongly.

The phrases live in the gettext catalogs ("rule.*", see wording.py); weekday
and month names, times, dates and lists come from CLDR. Elisions ("d’avril",
"l’8") are made by wording.elide, so a catalog holds one pattern per phrase.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from kmeet_bridge.replies import wording
from kmeet_bridge.replies.wording import say

_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_SUNDAY = 6
_WORKING_DAYS = frozenset(range(5))
_ALL_DAYS = frozenset(range(7))
# BYDAY ordinals a phrase exists for ("rule.position.<n>"): 1 the first, -1 the last.
_POSITIONS = frozenset({1, 2, 3, 4, 5, -1, -2})
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


def language_code(language: str | None) -> str:
    """One of models.LANGUAGES for `language` (see wording.language_code)."""
    return wording.language_code(language)


class _Unsayable(Exception):
    """The rule holds something no simple phrase says truthfully."""


def _counted(language: str, message_id: str, n: int, **values: object) -> str:
    return wording.say_plural(language, message_id, n, n=n, **values)


def join_list(items: list[str], language: str | None = "en") -> str:
    """`items` as a sentence lists them: "Monday, Wednesday and Friday"."""
    return wording.join_list(items, language)


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


def _day_number(day: int, language: str) -> str:
    return say(language, "date.first_day") if day == 1 else str(day)


def format_date(day: date, language: str | None = "en") -> str:
    """A date without its weekday, as `language` writes it: "1er juillet 2027"."""
    return wording.write_date(day, language)


def _month_day(day: int, language: str) -> str:
    if day == -1:
        return say(language, "rule.last_month_day")
    if not 1 <= day <= 31:
        raise _Unsayable(str(day))
    # English writes the day as an ordinal: "the 1st", "the 22nd" (CLDR's ordinal rules).
    category = wording.ordinal_category(day, language)
    return say(language, f"rule.month_day.{category}", day=_day_number(day, language))


def _nth_weekday(ordinal: int | None, weekday: int, language: str) -> str:
    if ordinal is None or ordinal not in _POSITIONS:
        raise _Unsayable(f"{ordinal}{_WEEKDAY_CODES[weekday]}")
    # Italian "domenica" is feminine: Sunday has positions of its own.
    kind = "position_sunday" if weekday == _SUNDAY else "position"
    return say(
        language,
        "rule.nth_weekday",
        position=say(language, f"rule.{kind}.{ordinal}"),
        weekday=wording.weekday_name(weekday, language),
    )


def _weekly(days: set[int], interval: int, language: str) -> str:
    if interval == 1 and days == _ALL_DAYS:
        return _counted(language, "rule.every_day", 1)
    if interval == 1 and days == _WORKING_DAYS:
        return say(language, "rule.every_weekday")
    if interval == 1:
        names = [wording.weekday_name(day, language) for day in sorted(days)]
    else:
        names = [say(language, f"rule.weekday_on.{day}") for day in sorted(days)]
    return _counted(language, "rule.every_week", interval, days=join_list(names, language))


def _ordinal_days(parts: dict[str, str]) -> list[tuple[int | None, int]]:
    """BYDAY of a monthly or yearly rule, with a lone BYSETPOS folded in:
    "BYDAY=TU;BYSETPOS=1" picks the same day as "BYDAY=1TU"."""
    days = _byday(parts["BYDAY"])
    if "BYSETPOS" not in parts:
        return days
    if len(days) != 1 or days[0][0] is not None or "," in parts["BYSETPOS"]:
        raise _Unsayable("BYSETPOS")
    return [(_single_int(parts["BYSETPOS"]), days[0][1])]


def _phrase(parts: dict[str, str], start: datetime, language: str) -> str:
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
                return _counted(language, "rule.every_day", interval)
            return _weekly({start.weekday()}, interval, language)
        days = _byday(parts["BYDAY"])
        # A daily rule limited to some weekdays is a weekly one, but only when it
        # steps one day at a time.
        if any(ordinal is not None for ordinal, _ in days) or (
            frequency == "DAILY" and interval != 1
        ):
            raise _Unsayable("BYDAY")
        return _weekly({day for _, day in days}, interval, language)

    if frequency == "MONTHLY":
        if "BYMONTH" in has:
            raise _Unsayable("BYMONTH")
        if "BYDAY" in has and "BYMONTHDAY" not in has:
            picks = [_nth_weekday(ordinal, day, language) for ordinal, day in _ordinal_days(parts)]
        elif "BYMONTHDAY" in has and "BYDAY" not in has:
            numbers = [_single_int(item) for item in parts["BYMONTHDAY"].split(",")]
            picks = [_month_day(day, language) for day in numbers]
        elif not has & {"BYDAY", "BYMONTHDAY"}:
            picks = [_month_day(start.day, language)]
        else:
            raise _Unsayable("BYDAY with BYMONTHDAY")
        on = join_list(picks, language)
        return _counted(language, "rule.every_month", interval, on=on)

    if frequency == "YEARLY":
        month = _single_int(parts["BYMONTH"]) if "BYMONTH" in has else start.month
        if not 1 <= month <= 12:
            raise _Unsayable("BYMONTH")
        month_name = wording.month_name(month, language)
        if "BYDAY" in has:
            days = _ordinal_days(parts)
            # Without BYMONTH, "the first Monday" would be the year's, not a month's.
            if "BYMONTH" not in has or "BYMONTHDAY" in has or len(days) != 1:
                raise _Unsayable("BYDAY")
            weekday = _nth_weekday(days[0][0], days[0][1], language)
            on = say(language, "rule.weekday_in_month", weekday=weekday, month=month_name)
        else:
            # Without BYMONTH, a yearly BYMONTHDAY picks that day of every month.
            if "BYMONTHDAY" in has and "BYMONTH" not in has:
                raise _Unsayable("BYMONTHDAY")
            day = _single_int(parts["BYMONTHDAY"]) if "BYMONTHDAY" in has else start.day
            if not 1 <= day <= 31:
                raise _Unsayable("BYMONTHDAY")
            on = say(language, "rule.year_day", day=_day_number(day, language), month=month_name)
        return _counted(language, "rule.every_year", interval, on=on)

    # HOURLY, MINUTELY, SECONDLY, or no known frequency at all.
    raise _Unsayable(frequency)


def _describe(rule: str, start: datetime, language: str) -> str:
    parts = _parts(rule)
    _check_time_parts(parts, start)
    if "COUNT" in parts and "UNTIL" in parts:
        raise _Unsayable("COUNT with UNTIL")  # RFC 5545 forbids both
    # Read the end first: a broken end makes the whole rule unsayable.
    end: str | None = None
    if "COUNT" in parts:
        end = _counted(language, "rule.times", _positive(parts["COUNT"]))
    elif "UNTIL" in parts:
        last = _until(parts["UNTIL"], start)
        end = say(language, "rule.until", date=wording.write_date(last, language))
    time = wording.write_time(start, language)
    text = say(language, "rule.at_time", rule=_phrase(parts, start, language), time=time)
    if end is not None:
        text = say(language, "rule.with_end", rule=text, end=end)
    return wording.elide(text, language)


def describe_rule(rule: str, start: datetime, language: str | None = "en") -> str:
    """The series' recurrence in words: "every Monday at 10:00, 10 times".

    `rule` is the RRULE value ("FREQ=WEEKLY;BYDAY=MO;COUNT=10"), or "" for a
    series given by RDATE only. `start` is an occurrence in the meeting's own
    zone: it gives the time of day, and the day a rule without BYDAY or
    BYMONTHDAY falls on. A rule too intricate to say simply is quoted as given.
    `language` is one of models.LANGUAGES; any other is answered in English.
    """
    code = language_code(language)
    if not rule.strip():
        return say(code, "rule.several_dates")
    try:
        return _describe(rule, start, code)
    except _Unsayable:
        shown = " ".join(rule.split())
        if len(shown) > _MAX_SHOWN:
            shown = shown[: _MAX_SHOWN - 1] + "…"
        return say(code, "rule.fallback", rule=shown)
