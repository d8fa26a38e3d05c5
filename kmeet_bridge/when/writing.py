"""Times and lines a sender can copy, written the way each language writes them."""

from __future__ import annotations

from datetime import time


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
    begin = write_time(start)
    if end is not None:
        finish = write_time(end)
        clock = {
            "en": f"{begin}-{finish}",
            "fr": f"de {begin} à {finish}",
            "de": f"von {begin} bis {finish}",
            "it": f"dalle {begin} alle {finish}",
        }[language]
    else:
        clock = {"en": begin, "fr": f"à {begin}", "de": begin, "it": f"alle {begin}"}[language]
        if language == "de":
            clock = f"{begin} Uhr"
    separator = ", " if language == "de" and day[:1].isdigit() else " "
    text = f"{day}{separator}{clock}"
    if duration is not None:
        text += ", " + write_duration(duration, language)
    return text


def write_duration(minutes: int, language: str) -> str:
    unit = {"en": "minutes", "fr": "minutes", "de": "Minuten", "it": "minuti"}[language]
    return f"{minutes} {unit}"
