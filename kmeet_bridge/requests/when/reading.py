"""Everything a text says about when, as found, before any checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kmeet_bridge.requests.language import (
    known_words,
)
from kmeet_bridge.requests.when.clock import _find_times_and_durations
from kmeet_bridge.requests.when.dates import _find_dates
from kmeet_bridge.requests.when.text import Found, _Found, _Text
from kmeet_bridge.requests.when.unplaced import find_unplaced
from kmeet_bridge.requests.when.words import (
    _AM_WORDS,
    _DAY_LIKE,
    _FAREWELLS,
    _FOR_NUMBER,
    _FOR_NUMBER_FOLLOWERS,
    _LATER_WEEK,
    _LEFT_OVER,
    _MONTH_ALONE,
    _NOW_WORDS,
    _PM_WORDS,
    _VAGUE,
    _VAGUE_ELIDED,
    _WEEKDAY,
    _WEEKDAY_AFTER_NEXT,
)
from kmeet_bridge.requests.when.zones import _find_zones

_UNREAD_SLASHED = re.compile(r"(?<![\w/.])\d{1,2}/\d{1,2}(?![\w/]|[.,]\d)")


def _addresses_and_links(text: str) -> Iterator[tuple[int, int]]:
    """The spans of e-mail addresses and links: words holding "@", and words from
    "http://", "https://" or "www." on. Word by word: a pattern such as
    "\\S+@\\S+" tries every start in a long run without a space, which is
    quadratic in the run's length."""
    for word in re.finditer(r"\S+", text):
        value = word.group(0)
        if "@" in value:
            yield word.span()
            continue
        starts = [value.find(mark) for mark in ("http://", "https://", "www.")]
        found = [start for start in starts if start >= 0]
        if found:
            yield word.start() + min(found), word.end()


def find_when(text: str, *, language: str, loose_durations: bool = False) -> Found:
    """Everything `text` says about when, as found (before any checks)."""
    reader = _Text(text)
    items: list[_Found] = []
    # Addresses and links hold digits that are neither dates nor times.
    for start, end in _addresses_and_links(reader.folded):
        reader.take(start, end)
    for match in reader.matches(_FAREWELLS):
        reader.take(match.start(), match.end())
    # "Monday after next" before "after next" alone is taken as a later week.
    for match in reader.matches(_WEEKDAY_AFTER_NEXT):
        name = match["wd"] or match["wd2"]
        items.append(reader.found("weekday", match, _WEEKDAY[name], how="after_next"))
    # First, so that no weekday or "next week" is read out of "übernächste Woche".
    items += [reader.found("unread", match, None) for match in reader.matches(_LATER_WEEK)]
    items += _find_zones(reader)
    items += _find_dates(reader, language)
    items += [reader.found("now", match, None) for match in reader.matches(_NOW_WORDS)]
    items += _find_times_and_durations(reader, items, language, loose_durations)
    for match in reader.matches(_FOR_NUMBER):
        after = re.match(r"[ \t]*([a-z']*)", reader.folded[match.end() : match.end() + 20])
        word = after.group(1) if after else ""
        if not word or word in _FOR_NUMBER_FOLLOWERS:
            items.append(reader.found("unread", match, None))
    for match in _LEFT_OVER.finditer(reader.folded):
        if reader.free(match.start("n"), match.end("n")):
            items.append(reader.found("unread", match, None))
    # A slashed day and month the date reader left (wholly or partly) unread,
    # "Martedi 15/01": asked about, never planned without its month.
    for match in _UNREAD_SLASHED.finditer(reader.folded):
        if not all(reader.taken[match.start() : match.end()]):
            items.append(reader.found("vague", match, None))
    for pattern in (_VAGUE, _VAGUE_ELIDED, _MONTH_ALONE):
        for match in reader.matches(pattern):
            items.append(reader.found("vague", match, None))
    # A word that looks like a day the reader does not know ("Blursday", "Freitog"):
    # never "today" in its place.
    for match in reader.matches(_DAY_LIKE):
        if match.group(0) not in known_words():
            items.append(reader.found("vague", match, None))
    # Last: date and time words beside what was read that no reader used.
    items += find_unplaced(reader, items)
    for pattern, kind in ((_PM_WORDS, "pm"), (_AM_WORDS, "am")):
        for match in pattern.finditer(reader.folded):
            items.append(_Found(kind, match.start(), match.end(), None, match.group(0)))
    items.sort(key=lambda item: item.start)
    return Found(tuple(items))
