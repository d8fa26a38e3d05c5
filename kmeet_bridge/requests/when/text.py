"""The text being read, what is found in it, and helpers for the word tables."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kmeet_bridge.requests.language import (
    fold,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first so "septembre" wins over "sept"."""
    return "|".join(re.escape(word) for word in sorted(set(words), key=lambda w: (-len(w), w)))


_W = r"(?<![\w'])"  # start of a word
_E = r"(?![\w])"  # end of a word


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

    def first(self, pattern: re.Pattern[str]) -> int:
        """Where `pattern` first matches in the folded text (its length if nowhere);
        searched once, so that asking for every token costs nothing."""
        cache = self.__dict__.setdefault("_first", {})
        if pattern not in cache:
            found = pattern.search(self.folded)
            cache[pattern] = found.start() if found else len(self.folded)
        return cache[pattern]

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def take(self, start: int, end: int) -> None:
        for index in range(start, end):
            self.taken[index] = True

    def line_of(self, index: int) -> int:
        return bisect.bisect_right(self.line_starts, index) - 1

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


@dataclass(frozen=True)
class Found:
    """Everything a text mentions about when, not yet tied to a day or zone."""

    items: tuple[_Found, ...] = ()

    def of(self, *kinds: str) -> list[_Found]:
        return [item for item in self.items if item.kind in kinds]

    @property
    def says_when(self) -> bool:
        """Whether the text has any date, time or "some time" words at all."""
        quiet = ("duration", "aside_duration", "zone", "pm", "am", "now")
        return any(item.kind not in quiet for item in self.items)

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        return tuple((item.start, item.end) for item in self.items)
