"""Day and time words written with a typo ("tommorow", "demian", "moregn",
"venrdi") or with transliterated umlauts ("uebermorgen", "naechste", "Maerz"):
the word meant, so that a misspelt day never silently becomes "today".

A word is corrected only when it is not a word the reader knows, is at least
five letters long, stands where a day or time word is expected (right before a
time or "at", "um", "alle"...: "demian à 11h", "moregn um halb 10"; or after a
day number or "next"), and is one edit away from exactly one date or time word (two
edits for words of eight letters or more that start with the same letter;
swapping two neighbouring letters is one edit). Umlauts written as "ae", "oe",
"ue" are read as the umlaut. Every typo correction is returned, so that the
reply says how the word was read: the reader never corrects a word silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kmeet_bridge.requests.language import (
    MONTH_NAMES,
    WEEKDAY_NAMES,
    fold,
    known_words,
)

# The words worth correcting, as they are written (the reader folds them).
_DAY_WORDS = (
    "today tomorrow tonight yesterday morning afternoon evening o'clock "
    "aujourd'hui demain après-demain hier matin après-midi soir heures prochain prochaine "
    "semaine "
    "heute morgen übermorgen gestern nächste nächsten nächster früh nachmittag vormittag "
    "abend Uhr Woche für später "
    "oggi domani dopodomani stamattina stasera stamani pomeriggio mattina prossimo prossima "
    "settimana"
)
# Words that are one edit from a day word but mean something else.
_NOT_TYPOS = frozenset(
    [
        "sorgen",
        "morgan",
        "borgen",
        "domain",
        "heure",
        "romani",
        "semaines",
        "settimane",
        "soirs",
        "matins",
        "months",
        "monday",
        "mondays",
        "today's",
        "hours",
        "tours",
        "fours",
        "morgens",
        "abends",
        "wochen",
        "prochains",
        "prochaines",
        "prossimi",
        "prossime",
        "nachstes",
        "marche",
        "martin",
        "marco",
        "domenico",
        "monate",
        "montage",
    ]
)
# Matched from a word's start only: "\S+@" tried at every start of a long run
# without a space is quadratic in the run's length.
_ADDRESS = re.compile(r"(?<!\S)\S+@\S+|https?://\S+|www\.\S+")
# Where a day or time word is expected (the lookbehind keeps a search from starting
# inside a run of spaces): right before a time ("demian à 11h",
# "moregn um halb 10", "venrdi 11 alle 10") or right after a day number or "next".
_TIME_NEXT = re.compile(
    r"(?<![ \t,])[ \t,]*(?:\d|(?:at|a|um|alle|ore|ab|gegen|vers|verso|h|de|von|dalle|from"
    r"|morning|afternoon|evening|matin|soir|apres-midi|fruh|morgen|nachmittag|vormittag|abend|mattina|pomeriggio"
    r"|sera|prochain|prochaine|prossimo|prossima|nachste|nachsten|nachster|kommende|kommenden"
    r")(?![\w]))"
)
# A line with an hour in words ("giovdi alle tre meno un quarto") is read like one
# with digits.
_HOUR_IN_WORDS = re.compile(
    r"(?<![\w])(?:at|a|um|alle|ore|vers|verso|gegen)\s+(?:one|two|three|four|five|six|seven"
    r"|eight|nine|ten|eleven|twelve|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze"
    r"|douze|eins|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|halb|viertel|una"
    r"|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|undici|dodici|mezzogiorno|midi|noon)(?![\w])"
)
_DAY_BEFORE = re.compile(r"(?:\d\.?|(?<![\w])(?:on|le|am|il|next|this|den|dem))[ \t,]*$")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MIN_LENGTH = 5
_HYPHEN_BEFORE = re.compile(r"[^\W\d_]-(?=[^\W\d_])")
_HYPHEN_AFTER = re.compile(r"-[^\W\d_]")


@dataclass(frozen=True)
class Correction:
    """`written` (as in the text) was read as `meant`."""

    written: str
    meant: str
    transliteration: bool  # "ue" for "ü": a spelling, not a guess


@lru_cache(maxsize=1)
def _targets() -> dict[str, str]:
    """Folded day or time word -> how it is written."""
    words = _DAY_WORDS.split()
    for language in WEEKDAY_NAMES:
        words += [name.lower() for name in WEEKDAY_NAMES[language]]
        words += list(MONTH_NAMES[language])
    return {fold(word): word for word in words}


def corrected_lines(lines: list[str]) -> tuple[list[str], list[Correction]]:
    """`lines` with misspelt day and time words replaced by the word meant."""
    corrections: list[Correction] = []
    result = []
    for line in lines:
        if not any(char.isdigit() for char in line) and not _HOUR_IN_WORDS.search(fold(line)):
            result.append(line)
            continue
        parts: list[str] = []
        position = 0
        # Addresses and links hold names ("marco.rossi@..."), not day words.
        masked = _ADDRESS.sub(lambda found: " " * len(found.group(0)), line)
        for match in _TOKEN.finditer(masked):
            if _HYPHEN_BEFORE.match(masked, max(0, match.start() - 2)) or _HYPHEN_AFTER.match(
                masked, match.end()
            ):
                continue  # "Montage-Team", "Pre-Meeting": a compound, not a day word
            found = _meant(match.group(0))
            if found is None:
                continue
            meant, transliteration = found
            if not transliteration and not (
                _TIME_NEXT.match(fold(masked[match.end() : match.end() + 20]))
                or _DAY_BEFORE.search(fold(masked[max(0, match.start() - 12) : match.start()]))
            ):
                continue
            parts += [line[position : match.start()], meant]
            position = match.end()
            corrections.append(Correction(match.group(0), meant, transliteration))
        result.append("".join(parts) + line[position:])
    return result, corrections


def _meant(word: str) -> tuple[str, bool] | None:
    folded = fold(word)
    targets = _targets()
    if folded in targets or folded in _NOT_TYPOS or folded in known_words():
        return None
    plain = folded.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    if plain != folded and plain in targets:
        return targets[plain], True
    if len(folded) < _MIN_LENGTH:
        return None
    limit = 2 if len(folded) >= 8 else 1
    close = {
        written
        for target, written in targets.items()
        if len(target) >= _MIN_LENGTH
        and abs(len(target) - len(folded)) <= limit
        and (limit == 1 or target[0] == folded[0])
        and _distance(folded, target, limit) <= limit
    }
    if len(close) == 1:
        return close.pop(), False
    return None


def _distance(first: str, second: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from `first` to
    `second`; anything above `limit` is reported as `limit + 1`."""
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i] + [0] * len(second)
        for j, b in enumerate(second, start=1):
            cost = 0 if a == b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
