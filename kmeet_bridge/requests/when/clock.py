"""Finding times of day, ranges and lengths in a request, and reading them as
clock times and minutes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, tzinfo

from kmeet_bridge.requests.language import (
    NUMBER_WORDS,
)
from kmeet_bridge.requests.reading_notes import Note, note
from kmeet_bridge.requests.when.model import Understood, WhenProblem, _skipped
from kmeet_bridge.requests.when.text import Found, _Found, _Text
from kmeet_bridge.requests.when.words import (
    _ALL_UNA,
    _CLOCK_TIME,
    _CLOCK_WORDS,
    _COUNTED,
    _DAY_BEFORE_NOON,
    _DURATION_LINE_WORDS,
    _DURATION_MARKER,
    _DURATIONS,
    _END_MARKER,
    _FRENCH_A_BEFORE,
    _H_BEFORE,
    _HALF_ENGLISH,
    _HOUR_WORDS,
    _HOURS_DURATION,
    _LIST_ITEM,
    _MILITARY_TIME,
    _MINUTE_WORDS,
    _MINUTES_AROUND,
    _MINUTES_DURATION,
    _NAMED_CLOCK_WORDS,
    _NAMED_TIME_VALUES,
    _NAMED_TIMES,
    _NOON_GERMAN,
    _NUMBER_WORDS,
    _OFFSET_BEFORE,
    _OR_AFTER_TIME,
    _PART_OF_DAY_AFTER,
    _RANGE_GAP,
    _RANGE_OPENER,
    _START_MARKER,
    _STRONG_TIMES,
    _SURE_START,
    _SWISS_HOUR_FORM,
    _WEAK_FOLLOWERS,
    _WEAK_TIME,
    _WORD_HOUR,
    _WORD_HOUR_AFTER,
    _WORD_MINUTES,
)


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
        if unit in ("h", "heure", "heures") and number.isdigit():
            continue  # 14h, 14 heures: decided with the times below
        # "alle 10 ora di Londra" is a time and a zone; "1 ora e mezza" a length
        if (
            unit == "ora"
            and number[:1].isdigit()
            and (number != "1" or _ZONE_AFTER_ORA.match(folded, match.end("unit")))
        ):
            continue
        if not number[:1].isdigit() and _START_MARKER.search(folded[: match.start()]):
            continue  # "à une heure" is a time of day
        at = _SURE_AT.search(folded[: match.start()])
        if number.isdigit() and unit.startswith("hour") and at:
            # "at 8 hours 30" (the French "à 8 heures 30" in English) is a time
            hour, minute = int(number), int(match["m"] or 0)
            if hour <= 23 and minute <= 59 and not (match["half"] or match["quarter"]):
                items.append(reader.found("time", match, (hour, minute), ampm=None))
                continue
        items.append(reader.found("duration", match, _hours_minutes(match)))
    for match in reader.matches(_MINUTES_DURATION):
        if _PLUS_MINUTES_BEFORE.search(folded, max(0, match.start() - 24), match.start()):
            continue  # "alle ore 10 e 5 minuti" is 10:05 (read with the clock words)
        items.append(reader.found("duration", match, int(match["n"])))
    for match in reader.matches(_WORD_MINUTES):
        words = match["n"]
        if words not in NUMBER_WORDS:  # "we need forty-five minutes": the last word only
            last = words.split()[-1]
            if last not in NUMBER_WORDS:
                continue
            begin = match.start("n") + words.rfind(last)
            items.append(
                _Found(
                    "duration",
                    begin,
                    match.end(),
                    NUMBER_WORDS[last],
                    reader.original[begin : match.end()],
                    reader.line_of(begin),
                )
            )
            reader.take(begin, match.end())
            continue
        items.append(reader.found("duration", match, NUMBER_WORDS[words]))
    times: list[_Found] = []
    times += _clock_words(reader, items, language)
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
    day_ends = {item.end for item in found if item.kind in _DAY_KINDS}
    for match in reader.matches(_WEAK_TIME):
        if match["m"] and _right_after(reader.folded, match.start(), day_ends):
            # "morgen 07.30", "tomorrow 9.30", "Do 10.12. 14.30": hour and minutes
            # right after a day are a time
            times.append(reader.found("time", match, (int(match["h"]), int(match["m"]))))
            continue
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
    # Durations only where they describe the meeting (see the module docstring);
    # the others are kept aside: they give the length of an instant room
    # ("Quick sync? 15 minutes max."), where no time says which line is the request.
    kept = []
    for item in items:
        if item.kind == "duration" and not (
            loose_durations or _duration_counts(reader, item, [*found, *items])
        ):
            if _LIST_ITEM.match(reader.line_text(item.line)[1]):
                continue
            item.kind = "aside_duration"
        kept.append(item)
    return kept


_PLUS_MINUTES_BEFORE = re.compile(
    r"(?<![\w])(?:alle|ore|dalle|verso\s+le|per\s+le)\s+(?:ore\s+)?\d{1,2}\s+e\s+$"
)
_SURE_AT = re.compile(r"(?:^|[\s(,;])(?:at|a|um|alle)\s+$")
_SWISS_HOUR_BEFORE = re.compile(r"(?<![\w])(?:am|um|gege|gegen|bis|ab|vor)\s+$")
_ZONE_AFTER_ORA = re.compile(
    r"(?<!\s)\s+(?:di|d'|del|della|locale|italiana|svizzera|legale|solare|esatta|in\s+punto)(?![\w])"
)


_DAY_KINDS = ("date", "monthday", "relative", "weekday")


def _right_after(folded: str, start: int, ends: set[int]) -> bool:
    """Whether only spaces or a comma stand between one of `ends` and `start`."""
    position = start
    while position > 0 and start - position < _GAP_WIDTH and folded[position - 1] in " \t,":
        position -= 1
        if position in ends:
            return True
    return position in ends


_GAP_WIDTH = 3


def _clock_words(reader: _Text, items: list[_Found], language: str) -> list[_Found]:
    """Times said with quarters and halves ("halb 4", "Viertel nach 2", "half past 9",
    "15h et demie", "alle 15 e mezza", "midi et demi"), and Italian "h 10"."""
    times: list[_Found] = []
    folded = reader.folded
    # First, so that "halb elf" in "fünf vor halb elf" is not read alone.
    for pattern, sign in _MINUTES_AROUND:
        for match in reader.matches(pattern):
            hour = int(match["h"]) if match["h"] else _HOUR_WORDS[match["hw"]]
            words = match["mm"]
            minutes = int(words) if words.isdigit() else _MINUTE_WORDS[words]
            plus = bool(match.groupdict().get("plus"))
            if not 1 <= hour <= 24 or not 1 <= minutes <= (59 if plus else 29):
                continue
            before = folded[: match.start()]
            markers = (_START_MARKER, _END_MARKER, _RANGE_OPENER)
            if plus and not any(marker.search(before) for marker in markers):
                continue  # "3 e 20 persone" is no time
            total = hour * 60 + (-30 if match.groupdict().get("half") else 0) + sign * minutes
            value = (total // 60 % 24, total % 60)
            ampm = match.groupdict().get("ampm")
            times.append(reader.found("time", match, value, ampm=ampm))
    for match in reader.matches(_NAMED_CLOCK_WORDS):
        hour = _NAMED_TIME_VALUES[match["word"]]
        minute = 30 if match["half"] else 15
        value = ((hour - 1) % 24, 45) if match["before"] else (hour, minute)
        times.append(reader.found("time", match, value, named=True))
    for pattern, minute, shift in _CLOCK_WORDS:
        for match in reader.matches(pattern):
            hour = int(match["h"]) if match["h"] else _HOUR_WORDS[match["hw"]]
            if not 1 <= hour <= 24:
                continue
            before = folded[: match.start()]
            length_form = bool(re.match(r"\w+\s?h", match.group(0)))
            if length_form and (_DURATION_MARKER.search(before) or _OFFSET_BEFORE.search(before)):
                # "pour 1h et demie": a length; "go for half past eleven" is a time
                items.append(reader.found("duration", match, hour * 60 + minute))
                continue
            hour = (hour + shift) % 24 or (12 if shift else 0)
            ampm = match.groupdict().get("ampm")
            times.append(reader.found("time", match, (hour, minute), ampm=ampm))
    for match in reader.matches(_MILITARY_TIME):
        times.append(reader.found("time", match, (int(match["h"]), int(match["m"]))))
    if language == "en":  # British "half nine" is 9:30 (German "halb neun" is 8:30)
        for match in reader.matches(_HALF_ENGLISH):
            hour = int(match["h"]) if match["h"] else _HOUR_WORDS[match["hw"]]
            times.append(reader.found("time", match, (hour, 30)))
    for match in reader.matches(_WORD_HOUR):
        hour = NUMBER_WORDS[match["word"]]
        told = match["unit"] or (match["marker"] and _WORD_HOUR_AFTER.match(folded, match.end()))
        if hour > 24 or not told:
            continue
        if match["unit"] and _DURATION_MARKER.search(folded[: match.start()]):
            items.append(reader.found("duration", match, hour * 60))  # "pendant dix heures"
            continue
        times.append(reader.found("time", match, (hour, 0), ampm=None))
    for match in reader.matches(_NOON_GERMAN):
        window = folded[max(0, match.start() - 30) : match.start()]
        if _DAY_BEFORE_NOON.search(window):
            times.append(reader.found("time", match, (12, 0), named=True))
    if language == "it":
        for match in reader.matches(_ALL_UNA):
            times.append(reader.found("time", match, (1, 0), ampm=None))
        for match in reader.matches(_H_BEFORE):
            value = (int(match["h"]), int(match["m"] or 0))
            times.append(reader.found("time", match, value, ampm=None))
    return times


def _strong_time(reader: _Text, match: re.Match, form: int, language: str) -> _Found | None:
    """A time with a sign of being one (a colon, am/pm, Uhr, h, heures), or the
    duration that an "h" form turns out to be."""
    folded = reader.folded
    # Swiss German is often taken for English: after "am", "um"... "10i" is read anyway
    swiss = _SWISS_HOUR_BEFORE.search(folded, max(0, match.start() - 8), match.start())
    if form == _SWISS_HOUR_FORM and language != "de" and not swiss:
        return None
    hour = int(match["h"])
    groups = match.groupdict()
    minute = int(groups.get("m") or groups.get("m2") or groups.get("m3") or 0)
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
    if form in (3, 4) and _h_form_is_duration(reader, match, hour):
        strict = _LENGTH_BEFORE.search(folded[: match.start()])
        if not strict and hour >= _LONGEST_AMBIGUOUS_LENGTH:
            # "une salle pour 11h", "für 17h", "environ 10h": a time (nobody books
            # ten hours); "pour 7h" or "pour 8h" could be either: asked about.
            if hour <= _LATEST_LENGTH_OR_TIME:
                return reader.found("unread", match, None)
        else:
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


# Most length cues ("pour", "for", "für", "environ", "max") come before a time too
# ("pour 11h"): after them, an hour from 7 on is not read as a length. These say
# a length and nothing else.
_LENGTH_BEFORE = re.compile(
    r"(?:^|[\s(,;])(?:pendant|durant|duree|dauer|duration|length|lange|lasting|dure|durera"
    r"|dauert|dura|durata|wahrend)(?:\s+(?:de|d'|di|von|of|environ|circa|etwa|about))*[\s:.]*$"
)
_LONGEST_AMBIGUOUS_LENGTH = 7
_SMALL_LENGTH_HOURS = 3
_LATEST_LENGTH_OR_TIME = 8


def _hours_minutes(match: re.Match) -> int:
    number = match["n"]
    if number[:1].isdigit():
        hours = float(number.replace(",", "."))
    else:
        hours = float(_NUMBER_WORDS.get(number, 1))
    minutes = round(hours * 60)
    if match["half"]:
        minutes += 30
    elif match["quarter"]:
        minutes += 15
    elif match["m"]:
        minutes += int(match["m"])
    return minutes


_TIME_JUST_BEFORE = re.compile(
    r"(?:\d(?:\s?h|:\d\d|\s?uhr|\s?[ap]\.?m\.?)|(?<![\w])(?:ore|alle|um|at|a)\s+\d{1,2})"
    r"\s?\d{0,2}[\s,;]*(?:et\s+|,\s*)?$"
)


def _h_form_is_duration(reader: _Text, match: re.Match, hour: int) -> bool:
    """Whether "1h30" or "2 heures" is a length rather than a time of day: after
    "pour", "for"...; or, with no "à", "de", "-" before it, right after another
    time ("14h 1h30") or a short "N heures" ("2 heures")."""
    folded = reader.folded
    before = folded[: match.start()]
    if _DURATION_MARKER.search(before) or _OFFSET_BEFORE.search(before):
        return True
    if _START_MARKER.search(before) or _END_MARKER.search(before) or _RANGE_OPENER.search(before):
        return False
    if re.search(r"-\s*$", before) or re.match(r"\s*-\s*\d", folded[match.end() :]):
        return False
    if _TIME_JUST_BEFORE.search(before):
        return hour <= 8  # "14h 1h30", "Friday 11am, 1h30", "ore 11, 1h30"
    # "à 10h30 svp, 1h, pour...", "à 4h ? ... 1h devrait suffire": after a clock
    # time, a small "1h" is a length (a second time from 1 to 3 at night is not).
    if (
        hour <= _SMALL_LENGTH_HOURS
        and reader.first(_CLOCK_TIME) < match.start()
        and not _PART_OF_DAY_AFTER.match(folded, match.end())
    ):
        return True
    # "..., 1h." or "1h30." as a phrase of its own after the time: a length
    if (
        hour <= 3
        and re.search(r"[,.;(]\s*$", before)
        and re.match(r"\s*(?:[.;!)]|$)", folded[match.end() :])
    ):
        return True
    return "heure" in match.group(0) and hour <= 8 and not match["m"]


_BETWEEN_END = re.compile(
    r"(?:between|entre|zwischen|tra\s+le|fra\s+le)\s+\d{1,2}(?:[.:h]\d\d)?\s+"
    r"(?:and|et|und|e)\s+(?:le\s+)?$"
)


def _weak_may_be_time(reader: _Text, weak: _Found) -> bool:
    folded = reader.folded
    hour, minute = weak.value
    if hour > 24 or minute > 59:
        return False
    before = folded[: weak.start]
    counted = re.match(r"\s*([a-z']+)", folded[weak.end :])
    if counted and counted.group(1) in _COUNTED:
        return False  # "alle 10 persone", "um 3 Leute"
    if _SURE_START.search(before) or _FRENCH_A_BEFORE.search(reader.original[: weak.start]):
        return True  # "um 2 bitte", "alle 8 facciamo", "à 11 pour"
    if re.search(r"[.:]\d\d$", weak.text) and _START_MARKER.search(before):
        return True  # "at 7.45 before the office gets busy": minutes make it a time
    if _DASH_BEFORE.search(before):
        return True  # "11-12.30 merci": the end of a range is never dropped
    if _OR_AFTER_TIME.search(before):
        return True  # "at 10 or 11": a second time, asked about
    if _BETWEEN_END.search(before[-40:]):
        return True  # "tra le 10 e le 11 domani": the end of "between 10 and 11"
    after = re.match(r"\s*([a-z']+)", folded[weak.end :])
    if after and after.group(1) not in _WEAK_FOLLOWERS:
        begin = weak.end + after.start(1)
        if reader.free(begin, begin + 1):
            return False  # "at 3 locations"
    if _PART_OF_DAY_AFTER.match(folded[weak.end :]):
        return True  # "3 in the afternoon", "alle 3 del pomeriggio"
    if _START_MARKER.search(before) or _END_MARKER.search(before) or _RANGE_OPENER.search(before):
        return True
    # "9-10am", "14 - 15h": a bare number right before a range sign.
    return bool(re.match(r"\s*-\s*\d{1,2}(?!\d)", folded[weak.end :]))


_DASH_BEFORE = re.compile(r"(?<![\w:.,/+])\d{1,2}(?:[.:]\d{2})?\s*-\s*$")
# (matched at a gap's start; the lookbehind keeps a search from starting in a run of spaces)
_DASH_GAP = re.compile(r"(?<![\s-])\s*-+\s*$")


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
        gap = folded[first.end : second.start]
        if (
            first.kind == "weak"
            and second.kind == "weak"
            and not opener
            and not _DASH_GAP.match(gap)
        ):
            continue  # "11-12.30" is a range; "at 10 and 11" is not
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
    when_kinds = ("time", "range", "until", "date", "monthday", "weekday", "relative", "now")
    when_kinds += ("offset",)
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


def _only_afternoon_ahead(error: WhenProblem, day: date, zone: tzinfo, now: datetime) -> bool:
    """Whether an hour asked about as "4:00 or 16:00?" has only its afternoon
    reading still ahead on `day`."""
    if error.code != "ambiguous_time" or len(error.choices) != 2:
        return False
    early, late = error.choices
    if not isinstance(early, time) or not isinstance(late, time) or late.hour != early.hour + 12:
        return False
    local = now.astimezone(zone)
    return datetime.combine(day, early, zone) <= local < datetime.combine(day, late, zone)


def _clock(
    found: Found, understood: Understood, hint: str | None = None
) -> tuple[time | None, str, time | None, str]:
    """The start and end times of day, each with the words that gave it; `hint`
    "p" reads every hour from 1 to 11 as afternoon."""
    starts: list[tuple[time, str, _Found]] = []
    ends: list[tuple[time, str, _Found]] = []
    untils: list[_Found] = []
    for item in found.of("time", "range", "until"):
        near = hint or _ampm_hint(found, item)
        if item.kind == "range":
            first, second = item.extra["parts"]
            first_ampm, second_ampm = item.extra["ampm"]
            start = _time_of(first, first_ampm, near, understood)
            end = _time_of(second, second_ampm, near, understood, after=start)
            starts.append((start, first.text, item))
            ends.append((end, second.text, item))
        elif item.kind == "until":
            untils.append(item)
        else:
            starts.append(
                (_time_of(item, item.extra.get("ampm"), near, understood), item.text, item)
            )
    # "16 Uhr ... bis halb 6": an end is read after the one start.
    after = starts[0][0] if len({value for value, _, _ in starts}) == 1 else None
    for item in untils:
        near = hint or _ampm_hint(found, item)
        end = _time_of(item, item.extra.get("ampm"), near, understood, after=after)
        ends.append((end, item.text, item))
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


def _ampm_hint(found: Found, item: _Found | None = None) -> str | None:
    """ "p" when the text says afternoon or evening, "a" for morning, else None.
    Words next to the time decide first ("tomorrow morning at 6, their afternoon")."""
    if item is not None:
        near = sorted(
            (min(abs(hint.start - item.end), abs(item.start - hint.end)), hint.kind)
            for hint in found.of("pm", "am")
        )
        near = [(distance, kind) for distance, kind in near if distance <= _HINT_REACH]
        closest = {kind for distance, kind in near if near and distance == near[0][0]}
        if len(closest) == 1:
            kind = closest.pop()
            return "p" if kind == "pm" and _fits_afternoon(found, item) else _AM_OR_NONE[kind]
    pm, am = bool(found.of("pm")), bool(found.of("am"))
    if pm == am:
        return None
    if pm and item is not None and not _fits_afternoon(found, item):
        return None
    return "p" if pm else "a"


_AM_OR_NONE = {"am": "a", "pm": None}
_AFTERNOON_ONLY = re.compile(r"nachmittag|afternoon|apres[-\s]midi|pomeriggio")
_AFTERNOON_LAST_HOUR = 7  # "7 in the afternoon" is 19:00; "11h ... l'après-midi" is not 23:00


def _fits_afternoon(found: Found, item: _Found) -> bool:
    """Whether reading `item` as pm fits the words that say afternoon: a 24-hour
    style "11h" is never made 23:00 by an "après-midi" (evening words may)."""
    first = item.extra["parts"][0] if item.kind == "range" else item
    hour = first.value[0] if isinstance(first.value, tuple) else 0
    if hour <= _AFTERNOON_LAST_HOUR:
        return True
    return not all(_AFTERNOON_ONLY.search(hint.text.lower()) for hint in found.of("pm"))


_EVENING_END_REACH = 4  # hours from an afternoon start to a bare end read as pm
_HINT_REACH = 25  # characters between a time and a part of the day said about it


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
        if hint == "p" or _end_after_start(hour, after):
            hour += 12
        elif hint is None and after is None and hour <= 6:
            raise WhenProblem(
                "ambiguous_time",
                understood,
                choices=(time(hour, minute), time(hour + 12, minute)),
                text=written,
            )
    return time(hour, minute)


def _end_after_start(hour: int, after: time | None) -> bool:
    """Whether a bare end hour is read as pm because that is the only reading after
    the start: "from 11 to 1", "6pm until 8". "14 Uhr bis 10" stays asked about:
    ten in the evening would be a guess."""
    if after is None or not hour < after.hour < hour + 12:
        return False
    return hour <= 6 or (after.hour >= 12 and hour + 12 - after.hour <= _EVENING_END_REACH)


def _has_leading_zero(item: _Found) -> bool:
    return item.text[:1] == "0" or bool(re.match(r"\D+0\d", item.text))


def _duration(
    found: Found, understood: Understood, notes: list[Note]
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
    notes.append(note("duration", text=durations[0].text, minutes=distinct[0]))
    return distinct[0], understood


def _end(
    start: datetime,
    end_time: time | None,
    duration: int | None,
    default_duration: int,
    understood: Understood,
    notes: list[Note],
) -> datetime:
    by_duration = start + timedelta(minutes=duration) if duration is not None else None
    if end_time is None:
        if by_duration is not None:
            return by_duration
        notes.append(note("no_duration", minutes=default_duration))
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
    notes.append(note("end", text=understood.end_text, time=f"{end_time:%H:%M}"))
    return end
