"""Ties what was found to a day, a zone and the present, checking each part."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import fields, replace
from datetime import date, datetime, time, timedelta

from kmeet_bridge.requests.language import (
    fold,
)
from kmeet_bridge.requests.reading_notes import Note, note
from kmeet_bridge.requests.when.clock import _clock, _duration, _end, _only_afternoon_ahead
from kmeet_bridge.requests.when.dates import _day
from kmeet_bridge.requests.when.model import (
    MAX_DURATION,
    Understood,
    When,
    WhenProblem,
    _floor_minute,
    _skipped,
)
from kmeet_bridge.requests.when.text import Found, _Found
from kmeet_bridge.requests.when.zones import _zone


def resolve(
    found: Found,
    *,
    now: datetime,
    default_zone: str,
    default_duration: int,
    base: datetime,
) -> When:
    """Ties what was found to a day, a zone and the present, checking each part."""
    notes: list[Note] = []
    zone_name, zone_text = _zone(found, default_zone)
    zone = zoneinfo.ZoneInfo(zone_name)
    today = base.astimezone(zone).date()
    understood = Understood(zone=zone_name, zone_text=zone_text, today=today)
    if zone_text:
        notes.append(note("zone", text=zone_text, zone=zone_name))

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
        # "today at 4" read at 09:15: 04:00 has passed, so only 16:00 is meant.
        morning_passed = _only_afternoon_ahead(error, day or today, zone, now)
        if not morning_passed:
            problems.append(error)
        else:
            start_time, start_text, end_time, end_text = _clock(found, understood, hint="p")
            early, late = error.choices[:2]
            notes.append(
                note(
                    "one_reading_ahead",
                    text=error.text,
                    time=f"{late:%H:%M}",
                    other=f"{early:%H:%M}",
                )
            )
    understood = replace(
        understood, start=start_time, start_text=start_text, end=end_time, end_text=end_text
    )
    try:
        duration, understood = _duration(found, understood, notes)
    except WhenProblem as error:
        problems.append(error)
    # Words that change the day or time but could not be applied ("en quinze"
    # alone, a quarter left over): never dropped, asked about.
    for item in found.of("unread"):
        problems.append(WhenProblem("vague", understood, text=item.text))
    # Date and time words beside what was read that nothing used (the safety net).
    for item in found.of("unplaced"):
        problems.append(WhenProblem("unplaced", understood, text=item.text))
    if problems:
        first = problems[0]
        first.understood = _completed(first.understood, understood)
        raise first

    offsets = found.of("offset")
    if offsets:
        begin = _floor_minute(base.astimezone(zone)) + timedelta(minutes=int(offsets[0].value))
        # "in 2 hours? Same people as this morning": a day that is the offset's own
        # day does not disagree with it.
        other_day = day is not None and day != begin.date()
        if other_day or start_time is not None or len({o.value for o in offsets}) > 1:
            raise WhenProblem("ambiguous_time", understood, text=offsets[0].text)
        day, start_time = begin.date(), begin.time()
        understood = replace(understood, date=day, start=start_time, start_text=offsets[0].text)
        notes.append(
            note(
                "start_offset",
                text=offsets[0].text,
                day=day.isoformat(),
                time=f"{start_time:%H:%M}",
            )
        )

    now_local = now.astimezone(zone)
    vague = [item for item in found.of("vague") if not _PART_OF_DAY.fullmatch(fold(item.text))]
    if start_time is not None:
        # "lunch catch-up at noon?", "pranzo di lavoro alle 12?": a meal with a clock
        # time names what the meeting is, not a vague period.
        vague = [item for item in vague if not _MEAL.fullmatch(fold(item.text))]
    if day is None and start_time is None:
        if vague:
            raise WhenProblem("vague", understood, text=vague[0].text)
        if found.of("vague") and end_time is None:
            raise WhenProblem("vague", understood, text=found.of("vague")[0].text)
        asides = sorted({int(item.value) for item in found.of("aside_duration")})
        if duration is None and end_time is None and len(asides) == 1 and asides[0] > 0:
            duration = asides[0]
            aside = found.of("aside_duration")[0]
            notes.append(note("duration", text=aside.text, minutes=duration))
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
        notes.append(note("no_date", day=day.isoformat()))

    start = datetime.combine(day, start_time, zone)
    if _skipped(start):
        raise WhenProblem("no_such_time", understood, text=start_text)
    end = _end(start, end_time, duration, default_duration, understood, notes)
    if end - start > MAX_DURATION:
        raise WhenProblem("too_long", understood)
    if start < _floor_minute(now_local):
        raise WhenProblem("past", understood)
    return When(start, end, zone_name, tuple(_with_zone_default(notes, zone_text, zone_name)))


def _with_zone_default(notes: list[Note], zone_text: str, zone_name: str) -> list[Note]:
    """The notes, and last the zone the times are read in when none was named."""
    return notes if zone_text else [*notes, note("default_zone", zone=zone_name)]


def _completed(partial: Understood, whole: Understood) -> Understood:
    """`partial` with the parts it lacks taken from `whole`."""
    values = {}
    for part in fields(Understood):
        value = getattr(partial, part.name)
        values[part.name] = value if value not in (None, "", False) else getattr(whole, part.name)
    return Understood(**values)


_PART_OF_DAY = re.compile(
    r"(?:morning|afternoon|evening|matin|apres[-\s]midi|aprem|soir|vormittag|nachmittag|abend"
    r"|(?:subito |right |just )?(?:dopo (?:il )?pranzo|after lunch|nach dem (?:mittagessen|zmittag)"
    r"|apres (?:le )?(?:dejeuner|diner|repas))"
    r"|pomeriggio|mattina|di sera|la sera|journee|matinee|soiree|giornata|mattinata|serata"
    r"|tagsuber)"
)


_MEAL = re.compile(
    r"lunch(?:time)?|dinner|dejeuner|diner|mittagessen|pranzo|cena|abendessen|souper"
    r"|mittagspause|pause\s+de\s+midi|pausa\s+pranzo|lunch\s+break"
)


def _instant(
    now_local: datetime,
    zone_name: str,
    duration: int | None,
    end_time: time | None,
    understood: Understood,
    default_duration: int,
    notes: list[Note],
) -> When:
    """No date or time at all: a room starting now ("can we talk now?")."""
    start = _floor_minute(now_local)
    understood = replace(understood, date=start.date())
    notes.append(note("instant"))
    end = _end(start, end_time, duration, default_duration, understood, notes)
    if end - start > MAX_DURATION:
        raise WhenProblem("too_long", understood)
    notes = _with_zone_default(notes, understood.zone_text, zone_name)
    return When(start, end, zone_name, tuple(notes), instant=True)
