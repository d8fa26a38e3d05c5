"""The safety net: date and time words beside what was read, left unplaced.

Each fresh batch of requests showed a construction the reader half understood:
it read the day or the time and dropped a word that changed it ("a week today"
read as today, "one and a half hour" as half an hour, "mar 15/12" as 15 March).
Whatever the reader did read (a date, a time, a length, an end, a zone) is a
span; a word of the date and time vocabulary of any of the four languages that
sits right beside such a span, in the same phrase, and that no reader used, is
quoted back and asked about ("unplaced") instead of being dropped.

Only a few words either side are looked at, and a phrase ends at a full stop,
a comma, a question mark, a line end...: "see you next week" or "thanks for
today" after a request are other phrases. Weak words ("in", "from", "a", "ab")
count only before a strong one ("in acht Tagen", "a week"), so that "at 10 in
Bern" or "um 10 ab Bern" stay harmless.
"""

from __future__ import annotations

import bisect
import re

from kmeet_bridge.requests.language import NUMBER_WORDS
from kmeet_bridge.requests.when.text import _Found, _Text, _words

# Words that change a day, a time or a length wherever they stand beside one.
_STRONG = _words(
    """
    week weeks fortnight fortnights days today tomorrow tonight quarter half hour hours
    hrs minutes mins next ago earlier later
    woche wochen tage tagen heute morgen viertel halb halbe halben stunde stunden std
    minuten nachste nachsten nachster nachstes ubernachste ubernachsten
    semaine semaines jours quinzaine aujourd'hui demain quart demi demie heure heures
    prochain prochaine
    settimana settimane giorni oggi domani quarto mezza mezzo minuti prossimo
    prossima
    """
)
# Words that change them only before a strong word or a number ("in acht Tagen",
# "a week today", "dès 14h"): alone they are ordinary words.
_WEAK = _words(
    """
    in after from before a an this the of on and for
    nach ab vor seit ein eine einer einem einen und fur
    dans apres des depuis avant en un une et d'ici pour
    tra fra dopo da prima un una uno e ora ore per
    """
)
# Tokens: words (with an elided article, "aujourd'hui") and numbers.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# A phrase ends at these: what stands beyond is another sentence or part.
_PHRASE_END = re.compile(r"[.,;:!?()\[\]\n\"]")
_AND = _words("and et und e")
_ONE = _words("one a an un une una uno ein eine einer")
_REACH = 3  # words looked at on each side of what was read
_READ_KINDS = frozenset(
    {"date", "relative", "weekday", "monthday", "time", "duration", "offset", "until", "range"}
)


# Units of a count: a number before one of them that no reader used is a length or
# an offset half read ("for two and a half hours", "zweieinhalb Stunden").
_UNITS = _words(
    """
    hour hours hrs minutes mins days weeks stunde stunden std minuten tage tagen wochen
    heure heures minutes jours semaines ore minuti giorni settimane
    """
)
_COUNT = re.compile(r"\d{1,3}|(?<!\w)\w*einhalb|anderthalb|half|demie?|halbe?n?|mezz[ao]")


def _count(token: str) -> bool:
    return (token in NUMBER_WORDS and token not in _WEAK) or bool(_COUNT.fullmatch(token))


def _strong(token: str) -> bool:
    # A year ("our first call of 2027 on Monday 4 January") changes no day; an
    # article ("un", "eine") is no count.
    number = token in NUMBER_WORDS and token not in _WEAK
    return token in _STRONG or (token.isdigit() and len(token) <= 2) or number


def find_unplaced(reader: _Text, items: list[_Found]) -> list[_Found]:
    """An "unplaced" item for each run of date and time words beside a read span
    that nothing read, quoting them."""
    read = sorted((item.start, item.end) for item in items if item.kind in _READ_KINDS)
    folded = reader.folded
    tokens = [match for match in _TOKEN.finditer(folded)]
    starts = [token.start() for token in tokens]
    read_starts = [start for start, _ in read]
    loose = sorted((item.start, item.end) for item in items if item.kind in ("vague", "unread"))
    loose_starts = [start for start, _ in loose]

    def is_read(token: re.Match) -> bool:
        return _inside(read, read_starts, token.start())

    def usable(token: re.Match) -> bool:
        # Addresses, links and farewells are taken without being read: not words here.
        return not is_read(token) and (
            not any(reader.taken[token.start() : token.end()])
            or _inside(loose, loose_starts, token.start())
        )

    found: list[_Found] = []
    seen: set[int] = set()
    for start, end in read:
        first = bisect.bisect_left(starts, start)
        after = bisect.bisect_left(starts, end)
        for side in (
            range(first - 1, max(first - 1 - _REACH, -1), -1),
            range(after, after + _REACH),
        ):
            border = start if side.step < 0 else end
            picked: list[int] = []
            for index in side:
                if index >= len(tokens):
                    break
                token = tokens[index]
                gap = (
                    folded[token.end() : border]
                    if side.step < 0
                    else folded[border : token.start()]
                )
                if _PHRASE_END.search(gap) or not usable(token):
                    break
                word = token.group(0)
                if not _strong(word) and word not in _WEAK:
                    break  # another word: what lies beyond it belongs to it
                if word.isdigit() and _in_number(folded, tokens, index, side.step):
                    break  # "+41 79 123 45 67 tomorrow": a phone number
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                # "una e mezza ora", "one and a half hour": an article that counts
                counts = word in _ONE and following is not None and (following.group(0) in _AND)
                if (
                    _strong(word)
                    or counts
                    or (
                        word in _WEAK
                        and following is not None
                        and _strong(following.group(0))
                        and usable(following)
                    )
                ):
                    picked.append(index)
                border = token.start() if side.step < 0 else token.end()
            picked = [index for index in picked if index not in seen]
            if not picked:
                continue
            seen.update(picked)
            low, high = tokens[min(picked)].start(), tokens[max(picked)].end()
            found.append(
                _Found(
                    "unplaced",
                    low,
                    high,
                    None,
                    reader.original[low:high].strip(),
                    reader.line_of(low),
                )
            )
    found += _counted_units(reader, tokens, usable, seen)
    found += _alternatives(reader, tokens, read, read_starts)
    return found


# "or" in the four languages: between two numbers, one of them read, it offers
# a choice ("Donnerstag 10 oder 11 Uhr", "10 or 11 December", "Thursday 10 or
# 11am"), and a reader that took one number as a day and the other as the hour
# would plan one of them, or neither, on a guess.
_OR = _words("or oder ou o oppure bzw resp")


def _alternatives(
    reader: _Text, tokens: list[re.Match], read: list[tuple[int, int]], read_starts: list[int]
) -> list[_Found]:
    """An "unplaced" item for each "<number> or <number>" beside what was read."""
    found: list[_Found] = []
    folded = reader.folded
    for index in range(1, len(tokens) - 1):
        if tokens[index].group(0) not in _OR:
            continue
        before, after = tokens[index - 1], tokens[index + 1]
        numbers = [token for token in (before, after) if _number(token.group(0))]
        gaps = (
            folded[before.end() : tokens[index].start()]
            + folded[tokens[index].end() : after.start()]
        )
        if len(numbers) < 2 or _PHRASE_END.search(gaps):
            continue
        if not any(_inside(read, read_starts, token.start()) for token in numbers):
            continue  # "2 or 3 people": no day or time was read from them
        low, high = before.start(), after.end()
        # value "or": the reader of answers to the bridge's reply offers such
        # choices back itself (thread_answers._either).
        found.append(
            _Found(
                "unplaced", low, high, "or", reader.original[low:high].strip(), reader.line_of(low)
            )
        )
    return found


def _number(token: str) -> bool:
    """A day or an hour as written: "10", "11h", "11am", "10h30" (tokens keep letters)."""
    return bool(re.fullmatch(r"\d{1,2}(?:h\d{0,2}|uhr|am|pm)?", token))


def _counted_units(reader: _Text, tokens: list[re.Match], usable, seen: set[int]) -> list[_Found]:
    """A count before a unit, anywhere, that no reader used ("two and a half hours")."""
    found: list[_Found] = []
    folded = reader.folded
    for index, token in enumerate(tokens):
        if token.group(0) not in _UNITS or index in seen or not usable(token):
            continue
        low = None
        for back in range(index - 1, max(index - 1 - _REACH, -1), -1):
            before = tokens[back]
            if _PHRASE_END.search(folded[before.end() : tokens[back + 1].start()]):
                break
            word = before.group(0)
            if not usable(before) or not (_count(word) or word in _WEAK):
                break
            if _count(word):
                low = back
        if low is None:
            continue
        seen.update(range(low, index + 1))
        begin, end = tokens[low].start(), token.end()
        found.append(
            _Found(
                "unplaced",
                begin,
                end,
                None,
                reader.original[begin:end].strip(),
                reader.line_of(begin),
            )
        )
    return found


def _in_number(folded: str, tokens: list[re.Match], index: int, step: int) -> bool:
    """Whether the number at `index` goes on, beyond it, with more digits after
    a space (a phone or an account number, not a count)."""
    beyond = index + step
    if not 0 <= beyond < len(tokens) or not tokens[beyond].group(0).isdigit():
        return False
    low, high = sorted((tokens[index], tokens[beyond]), key=lambda token: token.start())
    return folded[low.end() : high.start()] in (" ", "\t")


def _inside(spans: list[tuple[int, int]], starts: list[int], index: int) -> bool:
    """Whether `index` lies in one of the sorted `spans` (whose starts are `starts`)."""
    at = bisect.bisect_right(starts, index) - 1
    return at >= 0 and spans[at][1] > index
