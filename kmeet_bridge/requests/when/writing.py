"""Times and lines a sender can copy, written the way each language writes them."""

from __future__ import annotations

from datetime import time

from kmeet_bridge.replies import wording


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
    2027"), the start, and an end or a duration, in `language`'s usual form
    (the catalogs' "example.*" messages)."""
    begin = wording.write_time(start, language)
    if end is not None:
        finish = wording.write_time(end, language)
        clock = wording.say(language, "example.span", start=begin, end=finish)
    else:
        clock = wording.say(language, "example.at", start=begin)
    # German sets a written date apart from the time by a comma ("3. Februar 2027, 10:00 Uhr").
    shape = "example.date_clock" if day[:1].isdigit() else "example.day_clock"
    text = wording.say(language, shape, day=day, clock=clock)
    if duration is not None:
        length = write_duration(duration, language)
        text = wording.say(language, "example.with_length", line=text, length=length)
    return text


def write_duration(minutes: int, language: str) -> str:
    return wording.write_minutes(minutes, language)
