"""Reading an answer to the bridge's reply: cancel, move, lengthen, add people
or room options to the meeting that reply was about.

Pure: the answer's text and the meeting as planned now in, one reading out.
The answer is read with the request reader's own parts: its bounded line
reader (`requests.request_lines`), its date and time grammar (`when.find_when`
and `when.resolve`), its room options and addresses, its typo corrections.
What is new here is what an answer means against a meeting that exists:

- a time without a date keeps the meeting's day, a date without a time keeps
  its start time, and the length is kept unless a length or an end is given;
  the zone is the meeting's unless the answer names one;
- "30 minutes longer", "une heure de plus", "15 Minuten kürzer", "mezz'ora in
  più" change the length; "30 minutes later", "eine Stunde früher" move it;
- acknowledgements ("ok thanks", "parfait", "danke", "grazie mille", an emoji,
  nothing at all) are `Thanks`; a farewell that names the meeting's own day
  ("see you tomorrow", "à mardi") is one too.

Nothing is guessed: a time that could be read two ways, or a past one, raises
the same `requests.RequestProblem` a plain request would; an answer that wishes
something but says no time ("can we do later?"), or cancels and moves at once,
is `NotUnderstood`, answered with examples by the bridge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from kmeet_bridge.models import LANGUAGES, Note, RoomOptions
from kmeet_bridge.requests.language import WEEKDAY_NAMES, fold, known_words, language_scores
from kmeet_bridge.requests.requests import (
    _ADDRESS_IN_TEXT,
    _OPTION_WORDS,
    _addresses,
    _problem,
    bounded_lines,
    request_lines,
    room_options,
)
from kmeet_bridge.requests.typos import _distance, corrected_lines
from kmeet_bridge.requests.when import Found, Understood, WhenProblem, find_when, resolve
from kmeet_bridge.requests.when.resolving import _PART_OF_DAY
from kmeet_bridge.requests.when.text import _Found, _words
from kmeet_bridge.requests.when.zones import _zone


@dataclass(frozen=True)
class MeetingNow:
    """The meeting as planned now, which the answer changes."""

    title: str
    start: datetime  # aware, in `timezone`
    end: datetime
    timezone: str  # IANA
    attendees: tuple[str, ...]  # addresses
    options: RoomOptions
    language: str  # the language the meeting's reply was written in
    source: str = "request"  # "request" or "invite"


@dataclass(frozen=True)
class Thanks:
    """An acknowledgement ("ok thanks", an empty text): recorded, left unanswered."""

    language: str


@dataclass(frozen=True)
class CancelIt:
    language: str
    notes: tuple[Note, ...] = ()  # a keyword read through a typo ("cancle")


@dataclass(frozen=True)
class ChangeIt:
    """The meeting after the change; `start`/`end`/`timezone` equal the meeting's
    when the answer does not move or lengthen it."""

    language: str
    start: datetime
    end: datetime
    timezone: str
    add_attendees: tuple[str, ...] = ()
    # Only what the answer asks for; None keeps the meeting's setting.
    options: RoomOptions = field(default_factory=RoomOptions)
    notes: tuple[Note, ...] = ()  # what was assumed or corrected, for the reply


@dataclass(frozen=True)
class NotUnderstood:
    """Not understood, answered with examples to copy. `code`: "change_unclear"
    (a wish without a time: "can we do later?"), "cancel_and_move" (a cancel
    word beside a change), "not_a_change" (neither a wish nor an acknowledgement),
    "change_invitation" (a new time or guests for an invitation's meeting: the
    organiser's to change; only cancel and room options are read for those)."""

    language: str
    code: str = "change_unclear"


Answer = Thanks | CancelIt | ChangeIt | NotUnderstood


# --- words ------------------------------------------------------------------------
# All matched on folded text (lower case, no accents: "fällt" is "fallt").

_W, _E = r"(?<![\w'])", r"(?![\w])"

_CANCEL = {
    "en": r"cancel(?:s|led|ed|ling|ing|lation)?|call\s+(?:it|this|the\s+(?:meeting|call))\s+off"
    r"|call\s+off",
    "fr": r"annul(?:er|ez|e|ee|ees|es|ons|ation)",
    "de": r"absagen|abgesagt|absage|stornier(?:en|t|ung)|storno|ausfallen(?:\s+lassen)?"
    r"|fallt\s+(?:[\w']+\s+){0,3}?aus|canceln|gecancelt|sag(?:en|t|e)?\s+(?:[\w']+\s+){0,4}?ab",
    "it": r"annull(?:a|are|ata|ato|iamo|ate|amento)|disdi(?:re|ci|ciamo|te|tta|ca)|disdetta"
    r"|cancell(?:a|are|ata|ato|iamo|ate)",
}
_NO_CANCEL = re.compile(
    r"(?:don't|dont|do\s+not|no\s+need\s+to|not|ne\s+pas|pas|nicht|kein|non|no)\s+(?:[\w']+\s+)?"
    r"(?:"
    + "|".join(_CANCEL.values())
    + r")"
    + _E
    + r"|(?:n'|ne\s+)(?:l'|la\s+|le\s+)?(?:"
    + _CANCEL["fr"]
    + r")\s+pas"
)
# "is it cancelled?" asks; "cancelled." (a statement) and "can you cancel?" cancel.
_CANCELLED = re.compile(
    _W + r"(?:cancell?ed|annulee?s?|abgesagt|storniert|annullat[aoie]|cancellat[aoie]"
    r"|disdett[aoie])" + _E
)
# A room setting named beside a cancel word: "cancel the password" is not a cancel.
_OPTION_MENTION = re.compile(_W + "(?:" + "|".join(_OPTION_WORDS.values()) + ")")
_MOVE = {
    "en": r"move[sd]?|moving|reschedul\w*|push(?:ed)?|postpone[sd]?|shift(?:ed)?|instead|rather"
    r"|delay|bring\s+(?:it\s+)?forward|earlier|later|another\s+(?:time|day|date|slot)",
    "fr": r"deplac\w*|decal\w*|report\w*|repouss\w*|avanc\w*|plutot|a\s+la\s+place|au\s+lieu"
    r"|plus\s+tard|plus\s+tot|autre\s+(?:date|jour|heure|moment|creneau)",
    "de": r"verschieb\w*|verleg\w*|stattdessen|statt|lieber|spater|fruher|vorzieh\w*|vorverleg\w*"
    r"|anderen?\s+(?:termin|tag|zeit)",
    "it": r"spost\w*|posticip\w*|anticip\w*|rimand\w*|invece|piuttosto|meglio|piu\s+tardi"
    r"|piu\s+presto|un'altra\s+(?:data|ora)|altro\s+(?:giorno|orario)",
}
_LENGTH = {
    "en": r"longer|shorter|extend\w*|lengthen\w*|shorten\w*|until|till",
    "fr": r"prolong\w*|rallong\w*|raccourc\w*|ecourt\w*|jusqu'a|de\s+plus|de\s+moins",
    "de": r"verlanger\w*|verkurz\w*|kurzer|langer|bis",
    "it": r"prolung\w*|allung\w*|accorci\w*|fino\s+alle|in\s+piu|in\s+meno",
}
_ADD = {
    "en": r"add|invite|include",
    "fr": r"ajout\w*|inviter|invitez|convier|conviez",
    "de": r"hinzufug\w*|einlad\w*|dazu\w*|ergänz\w*|erganz\w*",
    "it": r"aggiung\w*|invita\w*|includ\w*",
}
_REMOVE = re.compile(
    _W + r"(?:remove|delete|drop|uninvite|take\s+off|retir\w*|enlev\w*|supprim\w*|entfern\w*"
    r"|streich\w*|auslad\w*|rimuov\w*|togli\w*|elimin\w*)" + _E
)
# A cancel said with doubt ("should we cancel?", "vielleicht absagen") asks, it does not cancel.
_DOUBT = re.compile(
    _W + r"(?:should|shall|maybe|perhaps|if|whether|peut-etre|faut-il|devrions|devrait|si\s+on"
    r"|vielleicht|sollen|sollten|falls|wenn|ob|forse|dovremmo|magari)" + _E
)


def _keywords(table: dict[str, str]) -> dict[str, re.Pattern[str]]:
    return {
        # "d'annuler", "l'annullamento": a keyword may follow an elision.
        language: re.compile(r"(?<!\w)(?:" + words + ")" + _E)
        for language, words in table.items()
    }


_CANCEL_WORDS = _keywords(_CANCEL)
_MOVE_WORDS = _keywords(_MOVE)
_LENGTH_WORDS = _keywords(_LENGTH)
_ADD_WORDS = _keywords(_ADD)
_KEYWORD_TABLES = (_CANCEL_WORDS, _MOVE_WORDS, _LENGTH_WORDS, _ADD_WORDS)
# Words of one language only that tell the language of a short answer ("danke",
# "grazie mille", "senza password") where the keywords do not.
_COURTESIES = {
    "en": _words(
        "thanks thank thx cheers great perfect fine good nice awesome wonderful lovely noted "
        "received see please sorry with without"
    ),
    "fr": _words(
        "merci beaucoup parfait parfaitement genial d'accord entendu recu nickel impeccable "
        "bientot oui svp stp desole desolee avec sans"
    ),
    "de": _words(
        "danke dankeschon vielen dank perfekt passt gut alles klar prima toll dann gerne ja "
        "bitte leider mit ohne"
    ),
    "it": _words(
        "grazie mille perfetto perfetta ottimo ottima bene benissimo d'accordo ricevuto capito "
        "certo favore scusa scusate con senza presto"
    ),
}

# Keywords a typo is corrected to ("cancle", "annluer", "asbagen", "anulla"): one
# edit away (a swap of two neighbours is one), words of five letters or more.
_TYPO_TARGETS = _words(
    "cancel annuler annulez absagen stornieren annulla annullare disdire move reschedule "
    "postpone deplacer decaler reporter verschieben spostare spostiamo longer shorter extend "
    "prolonger verlangern prolungare invite ajouter hinzufugen einladen aggiungi aggiungere"
)
# Words one edit from a keyword that mean something else.
_NOT_TYPOS = _words(
    "cancer canals ansagen annulle moves movie mover moved remove report reports reporte "
    "spostate longe longue longues lounge extent extents extend invited invites ajoute "
    "ajoutes ajoutez einladung"
)

# Acknowledgements and the small words around them: an answer made of these
# alone asks for nothing.
_ACK_WORDS = _words(
    """
    ok okay okey oki okie k kk thanks thank you thx ty tnx cheers great perfect perfectly fine
    good nice cool super awesome excellent wonderful brilliant lovely got it noted received
    confirmed understood sounds sound works work for me sure yes yep yeah yup alright all right
    many much lot lots very well so then see soon there talk speak to the again appreciated
    will do done that's thats this is that looks hello hi dear and looking forward a
    merci beaucoup bien parfait parfaitement genial top d'accord dac daccord entendu note c'est
    recu nickel tres impeccable bientot ca marche va oui bonne journee soiree parfaite bonjour
    salut et les me rejouis hate j'ai de vous voir
    danke dankeschon schon vielen dank perfekt passt gut sehr alles klar prima toll dann gern
    gerne ja erhalten verstanden wunderbar klasse bestens erledigt hallo das ist und freue
    mich drauf darauf
    grazie mille perfetto perfetta ottimo ottima bene benissimo d'accordo ricevuto capito si
    certo fantastico vediamo sentiamo ciao e tutto chiaro
    """
)
_THANKS_LEADS = (
    r"thanks|thank\s+you|ok|okay|great|perfect|super|cool|merci|parfait|danke|perfekt|grazie"
    r"|perfetto|ottimo|prima|top"
)
# "see you tomorrow", "à mardi", "bis Dienstag", "a domani": a farewell. It names a
# day without moving the meeting; a day other than the meeting's is not understood.
# The words a short farewell goes on with ("à demain", "bis dann", "a presto"):
# "à une heure" and "bis 17 Uhr" are times.
_FAREWELL_WORDS = "|".join(
    [
        *(fold(name) for names in WEEKDAY_NAMES.values() for name in names),
        *_words(
            """tomorrow then soon later tonight demain bientot plus tout tantot ce toute
            morgen dann bald spater gleich nachher heute domani presto dopo piu stasera"""
        ),
    ]
)
_FAREWELL = re.compile(
    # "see you at 2": the words after these may hold a time (the meeting's own)...
    _W + r"(?:see\s+(?:you|ya)|talk\s+(?:to\s+you\s+)?|speak\s+(?:to\s+you\s+)?|catch\s+you"
    r"|on\s+se\s+voit|wir\s+sehen\s+uns|wir\s+horen\s+uns|ci\s+vediamo|ci\s+sentiamo)"
    r"[^,.;!?\n]{0,40}"
    # ... these not: "thanks, until 16:00" lengthens the meeting.
    r"|(?:^|[,.;!?\n]|"
    + _W
    + "(?:"
    + _THANKS_LEADS
    + r"))[ \t]*(?:a|bis|until|till)[ \t]+(?:"
    + _FAREWELL_WORDS
    + r")"
    + _E
    + r"[^\d,.;!?\n]{0,30}"
)
# Around a length or a cancel, these change nothing: "45 minutes please".
_POLITE = _words(
    """
    please pls plz sorry thanks thank you the meeting call it this one then just only svp stp
    s'il vous plait merci desole desolee la reunion le rendez-vous bitte danke leider sorry
    termin den die das besprechung per favore grazie scusa scusate scusi pure la riunione
    il ok finally finalement doch lo
    """
)
# A length given alone ("45 minutes") is the meeting's new length only after one
# of these, or with nothing but polite words around it: "I'll be 5 minutes late"
# is not a length.
_LENGTH_CUE = re.compile(
    _W + r"(?:make\s+it|only|just|shorten\w*|shorter|reduce\w*|cut|length|duration|extend\w*"
    r"|lasting|instead|seulement|juste|que|reduire|raccourc\w*|ecourt\w*|duree|plutot"
    r"|finalement|nur|bloss|kurzen|verkurz\w*|kurzer|dauer|stattdessen|lieber|solo|soltanto"
    r"|solamente|ridurre|riduci\w*|accorci\w*|durata|invece|basta(?:no)?|for|pour|pendant|fur"
    r"|per)" + _E
)
# Matched right after a length. Each starts where no space precedes, so that a
# search cannot start inside a run of spaces (quadratic in the run's length).
# A length said as a change ("30 minutes longer", "extend by 15 minutes", "um 15
# Minuten verlängern", "mezz'ora in più") or a shift ("30 minutes later").
_LONGER_AFTER = re.compile(
    r"(?<![ \t])[ \t]*(?:longer|more|extra|de\s+plus|en\s+plus|supplementaires?|langer|mehr"
    r"|zusatzlich|verlanger\w*|dranhangen|in\s+piu|di\s+piu)" + _E
)
_SHORTER_AFTER = re.compile(
    r"(?<![ \t])[ \t]*(?:shorter|less|fewer|de\s+moins|en\s+moins|kurzer|weniger|verkurz\w*|kurzen"
    r"|in\s+meno|di\s+meno)" + _E
)
_LONGER_BEFORE = re.compile(
    r"(?:(?:extend|lengthen|prolong|rallong|allung|prolung|verlanger)\w*(?:[ \t]+[\w']+){0,3}?"
    r"[ \t]+(?:by|de|d'|d|di|um)|(?:add|ajoute[rz]?|aggiung\w*|another|encore|noch|altri|altre"
    r"|extra)(?:[ \t]+(?:an?|extra|un|une|eine|einen|un'|altri|altre|mezz'?))?)[ \t]*$"
)
_SHORTER_BEFORE = re.compile(
    r"(?:shorten|cut|reduc|raccourc|ecourt|redui|verkurz|kurz|accorci|ridu)\w*"
    r"(?:[ \t]+[\w']+){0,3}?[ \t]+(?:by|de|d'|d|di|um)[ \t]*$"
)
_LATER_AFTER = re.compile(
    r"(?<![ \t])[ \t]*(?:later|plus\s+tard|spater|piu\s+tardi|dopo|after|nach\s+hinten)" + _E
)
_EARLIER_AFTER = re.compile(
    r"(?<![ \t])[ \t]*(?:earlier|sooner|before|plus\s+tot|fruher|eher|piu\s+presto|prima"
    r"|nach\s+vorne|vorzieh\w*|vorverleg\w*)" + _E
)
# "push it back by an hour", "repousser d'une heure", "posticipare di un'ora"
_BY_WORD = r"(?:[ \t]+[\w']+){0,3}?[ \t]+(?:by|de|d'|d|di|um)"  # "d" from "d'une heure"
_BY = _BY_WORD + r"(?:[ \t]+(?:an?|one))?[ \t]*$"
_LATER_BEFORE = re.compile(
    r"(?:(?:push\w*(?:[ \t]+(?:it|this|the\s+meeting))?[ \t]+back|delay\w*(?:[ \t]+it)?)"
    r"(?:[ \t]+by)?(?:[ \t]+(?:an?|one))?[ \t]*$"
    r"|(?:postpone|repouss|retard|recul|posticip|rimand)\w*" + _BY + ")"
)
_EARLIER_BEFORE = re.compile(
    r"(?:(?:bring(?:[ \t]+it)?[ \t]+forward|move(?:[ \t]+it)?[ \t]+up)[ \t]+by[ \t]*$"
    r"|(?:avanc|anticip|vorzieh|vorverleg)\w*" + _BY + ")"
)
# A week later or earlier: "postpone by a week", "une semaine plus tard", "eine
# Woche später", "rimandare di una settimana".
_A_WEEK = r"(?:a|one|1|une|eine|una|un')[ \t]+(?:week|semaine|woche|settimana)"
_WEEK_SHIFTS = (
    (
        re.compile(
            r"(?:postpone|delay|push\w*(?:[ \t]+it)?[ \t]+back|repouss|report|retard|decal"
            r"|posticip|rimand)\w*" + _BY_WORD + r"[ \t]*" + _A_WEEK + _E
        ),
        7,
    ),
    (re.compile(_W + _A_WEEK + r"[ \t]+(?:later|plus\s+tard|spater|dopo|piu\s+tardi)" + _E), 7),
    (re.compile(_W + r"um[ \t]+" + _A_WEEK + r"[ \t]+(?:verschieb|nach\s+hinten)"), 7),
    (re.compile(_W + _A_WEEK + r"[ \t]+(?:earlier|plus\s+tot|fruher|prima)" + _E), -7),
)
_LENGTH_AFTER_MARKER = re.compile(
    r"(?<![\w'])(um|d')[ \t]*(?:eine|einen|une|un|\d{1,3})[ \t]+(?:stunden?|minuten|heures?"
    r"|minutes?|demi-heure)" + _E
)
# "20 more minutes" is read as "20 minutes more" (same length, so spans still hold).
_MORE_BEFORE_UNIT = re.compile(
    r"(?<![\w.:])(\d{1,3})([ \t]+)(more|extra)([ \t]+)(minutes?|mins?|hours?|hrs?)" + _E
)
# "move it to 16:00", "push to 3": "to" here says where the start goes, not an
# end (as in "10 to 11"); read as "at".
_MOVED_TO = re.compile(
    _W + r"(?:move[sd]?|moving|reschedul\w*|push(?:ed)?|postpone[sd]?|shift(?:ed)?|change[sd]?"
    r"|bring|bump(?:ed)?|put)(?:[ \t]+(?:it|this|that|the\s+(?:meeting|call|time|start)))?"
    r"(?:[ \t]+(?:back|forward|over))?[ \t]+(to)" + _E
)
_LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_DATE_KINDS = ("date", "monthday", "relative", "weekday")


# --- reading ------------------------------------------------------------------------


def read_answer(
    text: str, *, meeting: MeetingNow, now: datetime, default_language: str = "en"
) -> Answer:
    """What an answer to the bridge's reply asks for; RequestProblem when it asks
    for a time that must be asked back (two readings, past, no such time)."""
    if now.tzinfo is None:
        raise ValueError("read_answer needs an aware `now`")
    fallback = meeting.language if meeting.language in LANGUAGES else default_language
    fallback = fallback if fallback in LANGUAGES else "en"
    lines = request_lines(text)  # bounded: hostile input costs what 15 short lines cost
    if not any(_LETTERS.search(line) or any(c.isdigit() for c in line) for line in lines):
        # Nothing, only emoji and punctuation ("👍"), or only a closing the line
        # reader leaves out ("Merci beaucoup", "Danke!"). A lone "?" is a question.
        if any("?" in line for line in lines):
            return NotUnderstood(fallback, "not_a_change")
        opening = "\n".join(bounded_lines(text)[:3])
        return Thanks(_language(opening, fold(opening), fallback))
    read_lines, day_fixes = corrected_lines(lines)
    body, word_fixes = _corrected_keywords("\n".join(read_lines))
    folded = fold(body)
    language = _language(body, folded, fallback)
    notes = [
        Note("corrected_word", (("text", fix.written), ("word", fix.meant)))
        for fix in day_fixes
        if not fix.transliteration
    ] + [
        Note("corrected_word", (("text", written), ("word", meant)))
        for written, meant in word_fixes
    ]

    options, option_notes, option_spans = room_options(body)
    addresses = [address for _, address in _addresses([", ".join(_ADDRESS_IN_TEXT.findall(body))])]
    reading = _Reading.of(body, folded, option_spans, language)
    farewell_days = _farewell_days(reading, meeting, now)
    asks_options = bool(option_notes)
    changes = reading.moves or reading.lengthens or addresses or asks_options

    if _any(_CANCEL_WORDS, folded):
        other = bool(addresses or asks_options)
        return _cancel(folded, reading, meeting, now, other, CancelIt(language, tuple(notes)))
    if farewell_days is False:
        return NotUnderstood(language, "change_unclear")  # "see you Thursday", "see you at 4"
    if meeting.source == "invite" and (reading.moves or reading.lengthens or addresses):
        # The time and the guests of an invitation are its organiser's: changed by
        # an update of the invitation, which the bridge follows, never by an answer.
        return NotUnderstood(language, "change_invitation")
    if addresses and _REMOVE.search(folded):
        return NotUnderstood(language, "change_unclear")  # removing people is not offered
    if addresses and not _asks_to_add(folded, reading):
        return NotUnderstood(language, "change_unclear")  # "I'll forward it to carl@..."
    if not changes:
        if reading.wishes or reading.unread_lengths:
            return NotUnderstood(language, "change_unclear")
        if _only_acknowledges(folded, reading.farewells):
            return Thanks(language)
        wish = any(_any(table, folded) for table in (_MOVE_WORDS, _LENGTH_WORDS, _ADD_WORDS))
        return NotUnderstood(language, "change_unclear" if wish or "?" in body else "not_a_change")
    if reading.conflict:
        return NotUnderstood(language, "change_unclear")
    if reading.either is not None:
        return _either_answer(reading.either, meeting, now, language)

    start, end, zone, when_notes = _new_time(reading, meeting, now, language)
    known = {address.casefold() for address in meeting.attendees}
    added: list[str] = []
    for address in addresses:
        if address.casefold() not in known:
            known.add(address.casefold())
            added.append(address)
    notes += when_notes
    notes += [
        Note(item.code, item.params)
        for item in option_notes
        if item.code in ("option_both_ways", "recording_not_on")
    ]
    unchanged = (
        start == meeting.start
        and end == meeting.end
        and zone == meeting.timezone
        and not added
        and not asks_options
    )
    if unchanged and not reading.explicit and _acknowledges(folded):
        return Thanks(language)  # "ok, see you at 14:00"
    return ChangeIt(language, start, end, zone, tuple(added), options, tuple(notes))


def _cancel(
    folded: str,
    reading: _Reading,
    meeting: MeetingNow,
    now: datetime,
    other: bool,
    cancel: CancelIt,
) -> CancelIt | NotUnderstood:
    """An answer with a cancel word: `cancel`, unless it also changes something
    (`other`: people or room options), doubts or denies it, or names a setting."""
    language = cancel.language
    # "cancel tomorrow's call": a day that names the meeting is no change.
    naming = bool(reading.dates) and _name_the_meeting(reading.dates, meeting, now)
    moves = reading.starts or reading.shift or (reading.dates and not naming)
    if moves or reading.lengthens or other or reading.wishes:
        return NotUnderstood(language, "cancel_and_move")
    if _OPTION_MENTION.search(folded):
        return NotUnderstood(language, "change_unclear")  # "cancel the password"
    if "?" in folded and _CANCELLED.search(folded):
        return NotUnderstood(language, "change_unclear")  # "c'est annulé ?"
    if _NO_CANCEL.search(folded) or _DOUBT.search(folded):
        return NotUnderstood(language, "change_unclear")
    return cancel


def _either_answer(
    either: tuple[int, _Found | None, str], meeting: MeetingNow, now: datetime, language: str
) -> NotUnderstood:
    """Numbers offered as alternatives: hours are asked back as two start times
    ("10 oder 11 Uhr"), anything else is not understood ("10 or 11 December")."""
    first, second, written = either
    if second is None or second.kind not in ("time", "until"):
        return NotUnderstood(language, "change_unclear")
    hour, minute = second.value
    choices = (time(first, 0), time(hour, minute)) if first < 24 and hour < 24 else ()
    understood = Understood(zone=meeting.timezone, today=now.date())
    error = WhenProblem("ambiguous_time", understood, choices=choices, text=written)
    length = int((meeting.end - meeting.start).total_seconds() // 60)
    raise _problem(error, language=language, now=now, default_duration=length)


@dataclass
class _Reading:
    """What the answer says about when, sorted by what it means for the meeting."""

    text: str
    language: str
    found: Found
    farewells: list[tuple[int, int]]
    farewell_dates: list[_Found]  # days and times named in farewells
    dates: list[_Found]
    starts: list[_Found]  # times, ranges, "in 30 minutes", "now"
    lengths: list[_Found]  # ends ("until 16:30") and lengths to take as the new length
    unread_lengths: list[_Found]  # a length without a cue: "I'll be 5 minutes late"
    delta: int  # minutes added to the length ("30 minutes longer")
    shift: int  # minutes the meeting moves ("30 minutes later")
    vague: list[_Found]  # "later", "next week" (not in a farewell, not a shift's word)
    wishes: bool  # vague words and no time: a wish that cannot be planned
    conflict: bool  # two changes of the length, or a shift and a new time
    explicit: bool  # words of moving or adding: "move", "plutôt", "einladen"
    # "Donnerstag 10 oder 11 Uhr": two numbers offered, one of them read as a day
    # ("Thursday the 10th"): the hours offered, or None.
    either: tuple[int, _Found | None, str] | None = None

    @property
    def moves(self) -> bool:
        return bool(self.dates or self.starts or self.shift)

    @property
    def lengthens(self) -> bool:
        return bool(self.lengths or self.delta)

    @classmethod
    def of(
        cls, body: str, folded: str, option_spans: list[tuple[int, int]], language: str
    ) -> _Reading:
        chars = list(body)
        for begin, end in option_spans:  # "with lobby" says nothing about when
            chars[begin:end] = " " * (end - begin)
        for match in _MOVED_TO.finditer(folded):
            chars[match.start(1) : match.end(1)] = "at"
        for match in _MORE_BEFORE_UNIT.finditer(folded):
            number, space, more, gap, unit = match.groups()
            chars[match.start() : match.end()] = number + space + unit + gap + more
        # "d'une heure", "um eine Stunde": a length, not a time of day ("à une heure",
        # "um eins"), after a verb of moving or lengthening.
        for match in _LENGTH_AFTER_MARKER.finditer(folded):
            chars[match.start(1) : match.end(1)] = "by" if match[1] == "um" else "d "
        text = "".join(chars)
        folded = fold(text)
        found = find_when(text, language=language, loose_durations=True)
        farewells = [match.span() for match in _FAREWELL.finditer(folded)]

        def in_farewell(item: _Found) -> bool:
            return any(begin <= item.start and item.end <= end for begin, end in farewells)

        dates, starts, lengths, unread, farewell_dates = [], [], [], [], []
        delta = shift = changes_of_length = 0
        conflict = False
        taken: list[tuple[int, int]] = []
        for pattern, days in _WEEK_SHIFTS:
            for match in pattern.finditer(folded):
                shift += days * 24 * 60
                taken.append(match.span())
        for item in found.items:
            if item.kind in _DATE_KINDS:
                (farewell_dates if in_farewell(item) else dates).append(item)
            elif item.kind in ("time", "range") and in_farewell(item):
                farewell_dates.append(item)  # "see you at 2"
            elif item.kind in ("time", "range", "offset", "now"):
                starts.append(item)
            elif item.kind == "until":
                lengths.append(item)
                changes_of_length += 1
            elif item.kind == "duration":
                minutes = int(item.value)
                after, before = folded[item.end : item.end + 40], folded[: item.start][-60:]
                if match := _LONGER_AFTER.match(after) or _LONGER_BEFORE.search(before):
                    delta += minutes
                    changes_of_length += 1
                elif match := _SHORTER_AFTER.match(after) or _SHORTER_BEFORE.search(before):
                    delta -= minutes
                    changes_of_length += 1
                elif match := _LATER_AFTER.match(after) or _LATER_BEFORE.search(before):
                    shift += minutes
                elif match := _EARLIER_AFTER.match(after) or _EARLIER_BEFORE.search(before):
                    shift -= minutes
                else:
                    (lengths if _length_counts(folded, item) else unread).append(item)
                    changes_of_length += 1
                    continue
                if match.string is after:
                    taken.append((item.end, item.end + match.end()))
                else:  # "plus tard de 30 minutes": the word before the length
                    offset = item.start - len(before)
                    taken.append((offset + match.start(), offset + match.end()))
        vague = [
            item
            for item in found.of("vague")
            if not in_farewell(item)
            and not any(begin <= item.start < end for begin, end in taken)
            and not _PART_OF_DAY.fullmatch(fold(item.text))
        ]
        wishes = bool(vague)
        if unread and (dates or starts):
            lengths, unread = lengths + unread, []  # "Friday 10:00, 90 minutes"
        conflict = changes_of_length > 1 and (delta != 0 or len(lengths) > 1)
        conflict = conflict or bool(shift and starts)
        if wishes and (dates or starts or lengths):
            wishes = False  # "later, at 16:00": resolve asks about what is vague
        either = _either(text, folded, found)
        return cls(
            text=text,
            language=language,
            # The request reader's safety net quotes "later", "longer"... beside a
            # length; here they are the shift or the change of length just read.
            found=Found(
                tuple(
                    item
                    for item in found.items
                    if item.kind != "unplaced"
                    or not (
                        any(begin <= item.start and item.end <= end for begin, end in taken)
                        or (item.value == "or" and either)
                    )
                )
            ),
            farewells=farewells,
            farewell_dates=farewell_dates,
            dates=dates,
            starts=starts,
            lengths=lengths,
            unread_lengths=unread,
            delta=delta,
            shift=shift,
            vague=vague,
            wishes=wishes,
            conflict=conflict,
            either=either,
            explicit=_any(_MOVE_WORDS, folded) or _any(_ADD_WORDS, folded),
        )


def _asks_to_add(folded: str, reading: _Reading) -> bool:
    """Addresses are people to add after "add", "invite", "ajouter", "einladen",
    "aggiungi"..., or alone ("carl@example.net too")."""
    if _any(_ADD_WORDS, folded):
        return True
    rest = _ADDRESS_IN_TEXT.sub(" ", folded)
    return all(word in _POLITE or word in _ALSO for word in _LETTERS.findall(rest))


_ALSO = _words("also too as well aussi egalement auch noch anche pure plus and et und e")


# "10 oder 11 Uhr", "10 or 11 December": one number or another.
_OR_NUMBERS = re.compile(
    r"(?<![\w:.])(\d{1,2})[ \t]+(?:or|ou|oder|o|bzw\.?|resp\.?)[ \t]+"
    r"(?:(?:at|a|um|alle|the)[ \t]+)?(\d{1,2})(?!\d)"
)


def _either(text: str, folded: str, found: Found) -> tuple[int, _Found | None, str] | None:
    """Two numbers offered as alternatives where the grammar did not read both
    as the same kind of thing: the first number, what the second was read as
    (None: not read), and the words as written."""
    for match in _OR_NUMBERS.finditer(folded):
        first, second = (
            next(
                (
                    item
                    for item in found.items
                    if item.kind != "unplaced" and item.start <= match.start(g) < item.end
                ),
                None,
            )
            for g in (1, 2)
        )
        if first is None and second is None:
            continue  # "2 or 3 people": no time or day at all
        if first is not None and second is not None and first.kind == second.kind:
            continue  # both read: resolve asks which
        end = max(match.end(), second.end if second is not None else 0)
        return int(match[1]), second, text[match.start() : end].strip()
    return None


def _length_counts(folded: str, item: _Found) -> bool:
    """A length alone is the new length after a cue ("make it", "nur", "solo"), or
    with nothing but polite words around it ("45 minutes please")."""
    if _LENGTH_CUE.search(folded[: item.start][-40:]) or _LENGTH_CUE.match(
        folded[item.end :].lstrip(" \t:")
    ):
        return True
    rest = folded[: item.start] + " " + folded[item.end :]
    return all(word in _POLITE for word in _LETTERS.findall(rest))


def _new_time(
    reading: _Reading, meeting: MeetingNow, now: datetime, language: str
) -> tuple[datetime, datetime, str, list[Note]]:
    """The meeting's start, end and zone after the answer, read by the request
    grammar with the meeting's day, start time and length standing in for what
    the answer leaves out."""
    length = int((meeting.end - meeting.start).total_seconds() // 60)
    if not reading.moves and not reading.lengthens:
        return meeting.start, meeting.end, meeting.timezone, []
    found = reading.found
    try:
        zone_name, _ = _zone(found, meeting.timezone)
    except WhenProblem as error:
        raise _problem(error, language=language, now=now, default_duration=length) from None
    zone = ZoneInfo(zone_name)
    base = (meeting.start + timedelta(minutes=reading.shift)).astimezone(zone)
    relative_start = bool(found.of("offset", "now"))
    items = [
        item
        for item in found.items
        # Farewells ("see you tomorrow") and shifts ("30 minutes later") say no day.
        if (item.kind not in _DATE_KINDS or item in reading.dates)
        and (item.kind != "vague" or item in reading.vague)
    ]
    if reading.lengths:
        items = [
            item
            for item in items
            if item.kind != "duration" or any(item is length for length in reading.lengths)
        ]
    else:
        items = [item for item in items if item.kind != "duration"]
    notes: list[Note] = []
    far = len(reading.text) + 1000  # stand-ins sit far from any word of the answer
    # "next week at 10" is asked about (resolve says so), never the meeting's day.
    if not reading.dates and not relative_start and not (reading.vague and reading.starts):
        day = base.date()
        items.append(_Found("date", far, far, (day.year, day.month, day.day), ""))
        if reading.starts:
            notes.append(Note("kept_day", (("day", day.isoformat()),)))
    if not reading.starts and not relative_start:
        # "Thursday afternoon" keeps a 14:00 start; a 10:00 one would be a guess.
        for hint in found.of("pm", "am"):
            if (hint.kind == "pm") != (base.hour >= 12):
                error = WhenProblem("vague", Understood(zone=zone_name), text=hint.text)
                raise _problem(error, language=language, now=now, default_duration=length)
        items.append(_Found("time", far, far, (base.hour, base.minute), "", extra={"named": True}))
        if reading.dates:
            notes.append(Note("kept_time", (("time", f"{base:%H:%M}"),)))
    only_length = not reading.dates and not reading.starts and not reading.shift
    # Lengthening a meeting already under way: its start is not checked against now.
    checked_now = min(now, meeting.start) if only_length else now
    items.sort(key=lambda item: item.start)
    try:
        when = resolve(
            Found(tuple(items)),
            now=checked_now,
            default_zone=meeting.timezone,
            default_duration=length + reading.delta,
            base=now,
        )
        if when.end <= when.start:
            raise WhenProblem("end_before_start", Understood(zone=zone_name))
        if only_length and when.end <= now:
            understood = Understood(
                date=when.end.date(), start=when.end.time(), zone=zone_name, today=now.date()
            )
            raise WhenProblem("past", understood)
    except WhenProblem as error:
        raise _problem(error, language=language, now=now, default_duration=length) from None
    local = meeting.start.astimezone(ZoneInfo(meeting.timezone))
    for item in reading.dates:
        # "next Tuesday" read as the meeting's own Tuesday: that one, or a week on?
        if item.extra.get("how") == "next" and when.start.date() == local.date():
            day = when.start.date()
            understood = Understood(date=day, date_text=item.text, zone=zone_name)
            error = WhenProblem(
                "ambiguous_date", understood, choices=(day, day + timedelta(7)), text=item.text
            )
            raise _problem(error, language=language, now=now, default_duration=length)
    for item in when.notes:
        if item.code == "one_reading_ahead" or (item.code == "date" and dict(item.params)["text"]):
            notes.append(Note(item.code, item.params))
    return when.start, when.end, when.zone, notes


def _farewell_days(reading: _Reading, meeting: MeetingNow, now: datetime) -> bool | None:
    """Whether the days and times named in farewells ("see you tomorrow", "see you
    at 2") are the meeting's; None when there are none."""
    if not reading.farewell_dates:
        return None
    return _name_the_meeting(reading.farewell_dates, meeting, now)


def _name_the_meeting(items: list[_Found], meeting: MeetingNow, now: datetime) -> bool:
    """Whether every day and time in `items` is the meeting's ("cancel tomorrow's
    call" for a meeting tomorrow); an hour may be said on a 12-hour clock."""
    local = meeting.start.astimezone(ZoneInfo(meeting.timezone))
    stand_in = _Found("time", 10**9, 10**9, (23, 59), "", extra={"named": True})
    for item in items:
        if item.kind in ("time", "range"):
            hour, minute = item.value[0] if item.kind == "range" else item.value
            if (hour % 12, minute) != (local.hour % 12, local.minute):
                return False
            continue
        try:
            when = resolve(
                Found((item, stand_in)),
                now=min(now, meeting.start),
                default_zone=meeting.timezone,
                default_duration=1,
                base=now,
            )
        except WhenProblem:
            return False
        if when.start.date() != local.date():
            return False
    return True


def _only_acknowledges(folded: str, farewells: list[tuple[int, int]]) -> bool:
    chars = list(folded)
    for begin, end in farewells:
        chars[begin:end] = " " * (end - begin)
    rest = "".join(chars)
    if "?" in rest:
        return False
    return all(word in _ACK_WORDS for word in _LETTERS.findall(rest))


def _acknowledges(folded: str) -> bool:
    return any(word in _ACK_WORDS - _POLITE_ONLY for word in _LETTERS.findall(folded))


# Words of the acknowledgement list that do not acknowledge on their own.
_POLITE_ONLY = _words("to the for me it so then there this is that and et les und das ist e il a")


def _any(table: dict[str, re.Pattern[str]], folded: str) -> bool:
    return any(pattern.search(folded) for pattern in table.values())


def _language(body: str, folded: str, fallback: str) -> str:
    """The answer's language: the one its keywords and courtesies belong to, else
    as the request reader detects it, else the meeting's."""
    votes = dict.fromkeys(LANGUAGES, 0)
    for table in _KEYWORD_TABLES:
        for language, pattern in table.items():
            votes[language] += len(pattern.findall(folded))
    for word in _LETTERS.findall(folded):
        for language, words in _COURTESIES.items():
            votes[language] += word in words
    best = max(votes.values())
    if best:
        leaders = [language for language, count in votes.items() if count == best]
        if len(leaders) == 1:
            return leaders[0]
    # A few words say little ("I'll join 10 minutes late" scores Italian): the
    # language of the conversation so far unless another one clearly leads.
    scores = language_scores(body)
    best = max(scores, key=lambda language: scores[language])
    return best if scores[best] - scores[fallback] >= _CLEAR_LEAD else fallback


_CLEAR_LEAD = 1.0


def _corrected_keywords(text: str) -> tuple[str, list[tuple[str, str]]]:
    """`text` with misspelt keywords ("cancle", "annluer", "asbagen") written as
    the keyword, and the (written, meant) pairs, so the reply can say so."""
    fixes: list[tuple[str, str]] = []
    parts: list[str] = []
    position = 0
    for match in _LETTERS.finditer(text):
        meant = _keyword_meant(fold(match.group(0)))
        if meant is None:
            continue
        parts += [text[position : match.start()], meant]
        position = match.end()
        fixes.append((match.group(0), meant))
    parts.append(text[position:])
    return "".join(parts), fixes


@lru_cache(maxsize=4096)
def _keyword_meant(word: str) -> str | None:
    """The one keyword `word` (folded) is a typo of, or None."""
    if len(word) < 5 or word in known_words() or word in _NOT_TYPOS or word in _TYPO_TARGETS:
        return None
    close = {
        target
        for target in _TYPO_TARGETS
        if abs(len(target) - len(word)) <= 1 and _distance(word, target, 1) <= 1
    }
    if len(close) != 1 or any(_any(table, word) for table in _KEYWORD_TABLES):
        return None
    return close.pop()


__all__ = [
    "Answer",
    "CancelIt",
    "ChangeIt",
    "MeetingNow",
    "NotUnderstood",
    "Thanks",
    "read_answer",
]
