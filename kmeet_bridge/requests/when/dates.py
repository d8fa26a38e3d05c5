"""Finding dates, days and weekdays in a request, and tying them to a calendar day."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from kmeet_bridge.requests.language import (
    NUMBER_WORDS,
    WEEKDAY_ABBREVIATIONS,
)
from kmeet_bridge.requests.reading_notes import Note, note
from kmeet_bridge.requests.when.model import RECENT_DAYS, Understood, WhenProblem
from kmeet_bridge.requests.when.text import _E, _W, Found, _alternation, _Found, _Text
from kmeet_bridge.requests.when.words import (
    _DATE_ARTICLE_BEFORE,
    _DAY_AFTER_WEEKDAY,
    _DAY_MONTH,
    _DAY_ONLY,
    _DOTTED_DAY_MONTH,
    _DOTTED_DAY_MONTH_BARE,
    _ISO_DATE,
    _MONTH,
    _MONTH_DAY,
    _NAMED_DAYS,
    _NEXT_BEFORE,
    _NOT_A_DAY_AFTER,
    _NTH,
    _NTH_WEEKDAY,
    _NUMBER_WORDS,
    _NUMERIC_DATE,
    _RELATIVE_DAYS,
    _SHORT_WEEKDAY_FOLLOWERS,
    _SHORT_WEEKDAYS_ANYWHERE,
    _SLASHED_DAY_MONTH,
    _SWISS_GERMAN_DAYS,
    _THIS_MONTH_DAY,
    _TIME_AFTER_DAY,
    _WEEK_AFTER_WEEKDAY,
    _WEEKDAY,
    _WEEKDAY_BEFORE,
    _WEEKDAY_BEFORE_GERMAN,
    _WEEKDAY_MENTION,
    _WEEKDAY_SHORT,
    _WEEKS_LATER,
)

_AROUND_A_DAY = re.compile(
    r"(?<![\w])(?:vor|nach|before|after|avant|apres|prima\s+di|prima\s+della|dopo|bis|until|till"
    r"|jusqu'a|fino\s+a|since|seit|depuis|da)\s+$"
)


def _find_dates(reader: _Text, language: str) -> list[_Found]:
    items: list[_Found] = []
    for match in reader.matches(_ISO_DATE):
        items.append(
            reader.found("date", match, (int(match["y"]), int(match["m"]), int(match["d"])), how="")
        )
    for match in reader.matches(_NTH_WEEKDAY):
        year = int(match["y"]) if match["y"] else None
        items.append(
            reader.found(
                "date",
                match,
                (year, _MONTH[match["mon"]], 1),
                how="",
                nth=(_NTH[match["nth"]], _WEEKDAY[match["wd"]]),
            )
        )
    for match in reader.matches(_THIS_MONTH_DAY):
        items.append(reader.found("date", match, (None, 0, int(match["d"])), how="this_month"))
    for pattern, month, day in _NAMED_DAYS:
        for match in reader.matches(pattern):
            if _AROUND_A_DAY.search(reader.folded[max(0, match.start() - 20) : match.start()]):
                continue  # "kurz vor Silvester", "before Christmas Eve": not the day
            items.append(reader.found("date", match, (None, month, day), how=""))
    value: tuple[int | None, int, int]
    year: int | None
    for match in reader.matches(_NUMERIC_DATE):
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        items.append(_numeric(reader, match, year, language))
    for match in reader.matches(_DAY_MONTH):
        year = int(match["y"]) if match["y"] else None
        value = (year, _MONTH[match["mon"]], int(match["d"]) if match["d"].isdigit() else 1)
        items.append(reader.found("date", match, value, how=""))
    for match in reader.matches(_MONTH_DAY):
        year = int(match["y"]) if match["y"] else None
        if match["mon"] in _WEEKDAY_OR_MONTH.get(language, {}) and year is None:
            # "mar 15" in French or Italian: mardi/martedì 15, or 15 March?
            if _MONTH_AFTER.match(reader.folded, match.end()):
                continue  # "mar 15/12", "mar 15 dic": a weekday before a date
            weekday, month = _WEEKDAY_OR_MONTH[language][match["mon"]]
            items.append(
                reader.found("monthday", match, int(match["d"]), weekday=weekday, or_month=month)
            )
            continue
        value = (year, _MONTH[match["mon"]], int(match["d"]))
        items.append(reader.found("date", match, value, how=""))
    for match in reader.matches(_DOTTED_DAY_MONTH):
        if 1 <= int(match["b"]) <= 12:
            value = (None, int(match["b"]), int(match["a"]))
            items.append(reader.found("date", match, value, how="day_first"))
    before_weekday = _WEEKDAY_BEFORE_GERMAN if language == "de" else _WEEKDAY_BEFORE
    for match in reader.matches(_DOTTED_DAY_MONTH_BARE):
        window = reader.folded[max(0, match.start() - 20) : match.start()]
        if not 1 <= int(match["b"]) <= 12 or not 1 <= int(match["a"]) <= 31:
            continue
        if _DATE_ARTICLE_BEFORE.search(window) or before_weekday.search(window):
            value = (None, int(match["b"]), int(match["a"]))
            items.append(reader.found("date", match, value, how="day_first"))
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
    before = _WEEKDAY_BEFORE_GERMAN if language == "de" else _WEEKDAY_BEFORE
    for item in items:
        window = reader.folded[max(0, item.start - 40) : item.start]
        weekday = before.search(window)
        if weekday is None:
            continue
        begin = item.start - len(window) + weekday.start()
        if not reader.free(begin, item.start):
            continue
        reader.take(begin, item.start)
        name = weekday["wd"] or weekday.groupdict().get("wd2")
        item.extra["weekday"] = _WEEKDAY[name] if name in _WEEKDAY else _WEEKDAY_SHORT[name]
        item.text = reader.original[begin : item.end].strip()
        item.start = begin
    for match in reader.matches(_WEEKDAY_MENTION):
        found = _weekday(reader, match, language)
        if found is not None:
            items.append(found)
    for pattern, days in _RELATIVE_DAYS:
        if days < 0 and pattern == "hier" and language != "fr":
            continue  # German "hier" is "here"
        if pattern in _SWISS_GERMAN_DAYS and language != "de":
            continue  # "hut", "morn" are English words
        for match in reader.matches(re.compile(_W + r"(?:" + pattern + r")" + _E)):
            items.append(reader.found("relative", match, days))
    items += _week_offsets(reader, items, language)
    return items


_WEEK_GAP = re.compile(r"[\s,]*(?:d')?")
_WEEK_GAP_WIDTH = 4
_OR_MORE = re.compile(r"(?<![ \t,])[ \t,]*(?:or|ou|oder|o|oppure)[ \t]")


def _week_offsets(reader: _Text, items: list[_Found], language: str) -> list[_Found]:
    """Counts of weeks, applied to the day they are said of ("Dienstag in einer
    Woche", "a week from today", "mardi en huit") or, alone after "in", "dans",
    "tra", to today ("in two weeks"). One the reader cannot apply is answered
    with a question: a dropped offset would plan the meeting weeks early."""
    added: list[_Found] = []
    for item in items:  # British "Tuesday week"
        if language == "en" and item.kind == "weekday" and item.extra.get("how") == "bare":
            week = _WEEK_AFTER_WEEKDAY.match(reader.folded, item.end)
            if week and reader.free(week.start(), week.end()):
                reader.take(week.start(), week.end())
                item.extra["plus_days"] = 7
                item.end = week.end()
                item.text = reader.original[item.start : item.end].strip()
    days_kinds = ("date", "monthday", "relative", "weekday")
    by_start = {item.start: item for item in items if item.kind in days_kinds}
    by_end = {item.end: item for item in items if item.kind in days_kinds}
    for match in reader.matches(_WEEKS_LATER):
        word = match["nd"] or match["nd1"]
        if word and not word.isdigit() and word not in NUMBER_WORDS:
            continue  # "in some days", "in den nächsten Tagen": no count (a vague period)
        days = _offset_days(match)
        custom = _CUSTOM_WEEKS.get(_day_count(match)) if days is None else None
        if _OR_MORE.match(reader.folded, match.end()):
            days = custom = None  # "in a week or two", "dans 3 jours ou plus": not one day
        from_form = bool(match["from"])  # "a week from today": the day follows
        anchor = None
        for width in range(_WEEK_GAP_WIDTH + 1):  # the day right before or after
            if from_form:
                gap, anchor = (
                    reader.folded[match.end() : match.end() + width],
                    by_start.get(match.end() + width),
                )
            else:
                gap, anchor = (
                    reader.folded[match.start() - width : match.start()],
                    by_end.get(match.start() - width),
                )
            if anchor is not None and _WEEK_GAP.fullmatch(gap):
                break
            anchor = None
        if custom and anchor is not None and not from_form:
            days = custom  # "heute in acht Tagen", "mardi dans huit jours": by custom
        if days and match["now"]:  # "two weeks from now"
            added.append(reader.found("relative", match, days))
        elif days and anchor is not None and "plus_days" not in anchor.extra:
            reader.take(match.start(), match.end())
            anchor.extra["plus_days"] = days
            if not from_form and not (match["eight"] or match["fifteen"]):
                anchor.extra["plus_from"] = "in"  # "lunedì fra due settimane"
            anchor.start = min(anchor.start, match.start())
            anchor.end = max(anchor.end, match.end())
            anchor.text = reader.original[anchor.start : anchor.end].strip()
        elif days and not from_form and not (match["eight"] or match["fifteen"]):
            added.append(reader.found("relative", match, days))  # "in two weeks"
        else:
            added.append(reader.found("unread", match, None))
    return added


# Counts of days that say a week by custom ("in acht Tagen", "dans huit jours"),
# read so only after a day they count from ("heute in acht Tagen"); alone they
# stay asked about (a week, or eight days?), and so do fifteen days (two weeks,
# or fifteen days?).
_CUSTOM_WEEKS = {8: 7}


def _day_count(match: re.Match) -> int | None:
    days = match["nd"] or match["nd1"]
    if not days or not match["nd"]:
        return None
    count = int(days) if days.isdigit() else NUMBER_WORDS.get(days)
    unit = match.group(0).split()[-1]
    return count if unit in ("tagen", "jours", "giorni") else None


def _offset_days(match: re.Match) -> int | None:
    """The days a count of weeks or days adds; None when it is not clear ("huit
    jours", "otto giorni", "acht Tagen" are a week by custom, or eight days)."""
    days = match["nd"] or match["nd1"]
    if days:
        count = int(days) if days.isdigit() else NUMBER_WORDS.get(days)
        unit = match.group(0).split()[-1 if match["nd"] else 1]
        if count in (8, 15) and unit in ("jours", "tagen", "giorni"):
            return None
        return count if count is not None and 1 <= count <= 60 else None
    if match["eight"]:
        return 7
    if match["fifteen"] or "fortnight" in match.group(0):
        return 14
    count = match["n1"] or match["n2"]
    weeks = int(count) if count.isdigit() else _NUMBER_WORDS.get(count.rstrip("'"), 1)
    return 7 * weeks if 1 <= weeks <= 8 else None


def _numeric(reader: _Text, match: re.Match, year: int | None, language: str) -> _Found:
    """A date written with numbers only: day first in French and Italian, and with
    dots; in English, and slashed with a year in German, only when the numbers say so."""
    first, second = int(match["a"]), int(match["b"])
    separator = match.group(0)[len(match["a"])]
    # German writes dates with dots ("03.02.2027"): a slashed date with a year in a
    # German text is a foreign form, as ambiguous as in English ("03/02/2027" from a
    # colleague in Boston). French and Italian write "03/02/2027" day first.
    foreign = language == "en" or (language == "de" and separator == "/" and year is not None)
    day_first = not foreign or separator == "."
    if day_first:
        how = "day_first" if separator == "." else f"day_first_in:{language}"
        return reader.found("date", match, (year, second, first), how=how)
    if first > 12 >= second:
        return reader.found("date", match, (year, second, first), how="no_month_13")
    if second > 12 >= first or first == second:
        return reader.found("date", match, (year, first, second), how="month_first")
    # 03/04/2027 in English: 3 April (British) or 4 March (American).
    return reader.found(
        "date",
        match,
        (year, second, first),
        how="",
        readings=((year, second, first), (year, first, second)),
    )


def _weekday(reader: _Text, match: re.Match, language: str) -> _Found | None:
    """A weekday mention, or with a day number after it ("vendredi 18") that
    day of the month, which must be that weekday."""
    name = match["wd"]
    pre = (match["pre"] or "").split()
    post = match["post"] or ""
    folded = reader.folded
    if name not in _WEEKDAY:
        followed = _SHORT_WEEKDAY_FOLLOWERS.match(folded, match.end())
        if not (pre or match["weekpre"] or followed):
            return None
        owned = any(name in forms for forms in WEEKDAY_ABBREVIATIONS.get(language, ()))
        written = reader.original[match.start("wd") : match.end("wd")]
        trusted = owned or name in _SHORT_WEEKDAYS_ANYWHERE
        if len(name) == 2 and not match["dot"]:
            trusted = trusted and name != "so" and written[:1].isupper()
        if not trusted:
            # "Mo 11:15" in a text read as English: maybe a day, so never "today".
            if written[:1].isupper() and name != "so" and (len(name) > 2 or name != "do"):
                return reader.found("vague", match, None)
            return None
    weekday = _WEEKDAY[name] if name in _WEEKDAY else _WEEKDAY_SHORT[name]
    number = (
        None
        if (match["week"] or match["weekpre"] or post)
        else (_DAY_AFTER_WEEKDAY.match(folded, match.end()))
    )
    if (
        number is not None
        and 1 <= int(number["d"]) <= 31
        and reader.free(match.start(), number.end())
    ) and (
        number["suffix"]
        or _TIME_AFTER_DAY.match(folded, number.end())
        or not _NOT_A_DAY_AFTER.match(folded, number.end())
    ):
        reader.take(match.start(), number.end())
        text = reader.original[match.start() : number.end()].strip()
        return _Found(
            "monthday",
            match.start(),
            number.end(),
            int(number["d"]),
            text,
            reader.line_of(match.start()),
            {"weekday": weekday},
        )
    if match["week"] or match["weekpre"]:
        how = "next week"
    elif post or (pre and " ".join(pre) in _NEXT_BEFORE.split("|")):
        how = "next"
    elif pre:
        how = "this"
    else:
        how = "bare"
    return reader.found("weekday", match, weekday, how=how)


def _day(
    found: Found, today: date, understood: Understood, notes: list[Note]
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
        notes.append(note("date", text=item.text, day=value.isoformat(), how=how))
    return distinct[0], first, understood


def _date_of(item: _Found, today: date, understood: Understood) -> tuple[date, str]:
    """The day one mention names, and how it was read (for the notes)."""
    plus = int(item.extra.get("plus_days", 0))
    if item.kind == "weekday" and item.extra.get("how") == "after_next" and not plus:
        # "Monday after next": a week after the first Monday after today.
        coming = _next_weekday(today + timedelta(days=1), int(item.value))
        return coming + timedelta(days=7), "after_next"
    if (
        item.kind == "weekday"
        and item.extra.get("plus_from") == "in"
        and item.extra["how"] != "next week"
        and int(item.value) == today.weekday()
    ):
        # "lunedì fra due settimane" said on a Monday: in two weeks, which is a Monday.
        return today + timedelta(days=plus), "weeks_from_today"
    if not plus:
        return _named_date(item, today, understood)
    # "Dienstag in einer Woche": a week after the coming Tuesday when that is in
    # this week. Said on a Tuesday, "lundi en huit" may mean next week's Monday
    # or the one after: asked, as is a week after "next week Tuesday".
    if item.kind == "weekday" and (
        item.extra["how"] == "next week" or int(item.value) <= today.weekday()
    ):
        coming = _next_weekday(today + timedelta(days=1), int(item.value))
        raise WhenProblem(
            "ambiguous_date",
            replace(understood, date_text=item.text, relative=True),
            choices=(coming, coming + timedelta(days=plus)),
            text=item.text,
        )
    value, how = _named_date(item, today, understood)
    return value + timedelta(days=plus), how


def _named_date(item: _Found, today: date, understood: Understood) -> tuple[date, str]:
    if item.kind == "relative":
        return today + timedelta(days=int(item.value)), ""
    if item.kind == "weekday":
        return _weekday_date(item, today, understood)
    readings = item.extra.get("readings")
    if readings:
        choices = tuple(_calendar_date(reading, today, item, understood)[0] for reading in readings)
        # "Thu 10/12": 10 December is a Thursday, 12 October is not.
        weekday = item.extra.get("weekday")
        fitting = [choice for choice in choices if choice.weekday() == weekday]
        if weekday is not None and len(fitting) == 1:
            return fitting[0], "weekday_decides"
        raise WhenProblem(
            "ambiguous_date",
            replace(understood, date_text=item.text),
            choices=choices,
            text=item.text,
        )
    if item.extra.get("nth"):
        return _nth_weekday(item, today, understood), ""
    if item.extra.get("how") == "this_month":  # "il 22 c.m."
        value = (today.year, today.month, int(item.value[2]))
        return _calendar_date(value, today, item, understood)[0], ""
    if item.kind == "monthday" and item.extra.get("or_month"):
        return _weekday_or_month(item, today, understood)
    if item.kind == "monthday":
        value, how = _next_month_day(int(item.value), today), f"no_month:{item.value}"
    else:
        value, year_note = _calendar_date(item.value, today, item, understood)
        how = ",".join(part for part in (str(item.extra.get("how", "")), year_note) if part)
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


def _nth_weekday(item: _Found, today: date, understood: Understood) -> date:
    """ "the first Monday of February": in the year given, else the next one."""
    year, month, _ = item.value
    n, weekday = item.extra["nth"]
    for candidate in [year] if year else [today.year, today.year + 1]:
        first = _calendar_date((candidate, month, 1), today, item, understood)[0]
        if n > 0:
            value = _next_weekday(first, weekday) + timedelta(days=7 * (n - 1))
        else:
            following = date(candidate + month // 12, month % 12 + 1, 1)
            value = _next_weekday(following - timedelta(days=7), weekday)
        if value.month != month:
            raise WhenProblem(
                "invalid_date", replace(understood, date_text=item.text), text=item.text
            )
        if year or value >= today:
            return value
    return value


# Short names that are a weekday and a month in one language: folded name ->
# (weekday, month). "mar" is mardi and mars, martedì and marzo.
_WEEKDAY_OR_MONTH: dict[str, dict[str, tuple[int, int]]] = {
    "fr": {"mar": (1, 3)},
    "it": {"mar": (1, 3)},
}
# A month right after a day number: "/12", ".12", " dic", " décembre".
# (matched right after the number; the lookbehind keeps a search from starting
# inside a run of spaces, quadratic in the run's length)
_MONTH_AFTER = re.compile(
    r"(?<![ \t])(?:[ \t]*[/.][ \t]*\d|[ \t]+(?:" + _alternation(_MONTH) + r")(?![\w]))"
)


def _weekday_or_month(item: _Found, today: date, understood: Understood) -> tuple[date, str]:
    """ "mar 15": the coming 15th when it is a Tuesday (the weekday agrees with
    the number); otherwise it may be 15 March or a Tuesday 15th: asked."""
    day, weekday = int(item.value), int(item.extra["weekday"])
    value = _next_month_day(day, today)
    if value.weekday() == weekday:
        return value, "weekday_decides"
    month_reading, _ = _calendar_date(
        (None, int(item.extra["or_month"]), day), today, item, understood
    )
    raise WhenProblem(
        "ambiguous_date",
        replace(understood, date_text=item.text),
        choices=(value, month_reading),
        text=item.text,
    )


def _calendar_date(
    value: tuple[int | None, int, int], today: date, item: _Found, understood: Understood
) -> tuple[date, str]:
    year, month, day = value
    try:
        if year is not None:
            return date(year, month, day), ""
        this_year = date(today.year, month, day) if _exists(today.year, month, day) else None
        if this_year is not None and this_year >= today - timedelta(days=RECENT_DAYS):
            return this_year, "" if this_year >= today else f"no_year:{today.year}"
        return date(today.year + 1, month, day), f"no_year:{today.year + 1}"
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
        return monday + timedelta(days=weekday), "next_week"
    if how == "this":
        return _next_weekday(today, weekday), "coming"
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
