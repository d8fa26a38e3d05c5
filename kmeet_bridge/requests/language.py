"""The four languages a request can be written in: their words, and which one a text uses.

`detect_language` picks among `models.LANGUAGES` for the short texts people
send ("demain 14h", "morgen 9 Uhr, mit Passwort"). It scores each language by
the words of the text that belong to it (function words, month and weekday
names, the words of dates, times and room options) plus letters only one
language writes (ß, ç). The scores are plain counts, so the answer is the same
on every run and every machine.

Why not a library: langdetect is a statistical model that needs a few
sentences; on five words it often answers a language that is not among the four
(Dutch for "morgen 9 Uhr", Catalan for "domani alle 16") and its answer depends
on a random seed. lingua is accurate on short texts but weighs about 100 MB.
A request is short and written with a small vocabulary that is known in
advance, which is what word lists are good at.

`fold` lowercases and removes accents while keeping every character at its
place, so a match found in the folded text can be quoted from the original.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from kmeet_bridge.models import LANGUAGES
from kmeet_bridge.replies import wording

LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "it": "Italian"}

# Month names as people write them, folded (see `fold`), 1 = January.
# Abbreviations only count next to a day number (see when/words.py).
MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sept", "sep"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    "fr": (
        ("janvier", "janv"),
        ("fevrier", "fevr", "fev"),
        ("mars",),
        ("avril", "avr"),
        ("mai",),
        ("juin",),
        ("juillet", "juil"),
        ("aout",),
        ("septembre", "sept"),
        ("octobre", "oct"),
        ("novembre", "nov"),
        ("decembre", "dec"),
    ),
    "de": (
        ("januar", "janner", "jan"),
        ("februar", "feber", "feb"),
        ("marz", "maerz", "mrz"),
        ("april", "apr"),
        ("mai",),
        ("juni", "jun"),
        ("juli", "jul"),
        ("august", "aug"),
        ("september", "sept", "sep"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("dezember", "dez"),
    ),
    "it": (
        ("gennaio", "gen"),
        ("febbraio", "feb"),
        ("marzo", "mar"),
        ("aprile", "apr"),
        ("maggio", "mag"),
        ("giugno", "giu"),
        ("luglio", "lug"),
        ("agosto", "ago"),
        ("settembre", "sett", "set"),
        ("ottobre", "ott"),
        ("novembre", "nov"),
        ("dicembre", "dic"),
    ),
}

# Weekday names, folded, 0 = Monday. Full names only: short forms ("Mo", "sat")
# are ordinary words too often.
WEEKDAYS: dict[str, tuple[str, ...]] = {
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"),
    "it": ("lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica"),
}
# Short weekday forms, read only right before a date ("Wed 3 Feb", "Mi., 3.2.").
WEEKDAY_ABBREVIATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("mon",),
        ("tue", "tues"),
        ("wed",),
        ("thu", "thur", "thurs"),
        ("fri",),
        ("sat",),
        ("sun",),
    ),
    "fr": (("lun",), ("mar",), ("mer",), ("jeu",), ("ven",), ("sam",), ("dim",)),
    "de": (("mo",), ("di",), ("mi",), ("do",), ("fr",), ("sa",), ("so",)),
    "it": (("lun",), ("mar",), ("mer",), ("gio",), ("ven",), ("sab",), ("dom",)),
}

# The names as they are written back to people, from CLDR (the typo reader
# corrects towards them).
MONTH_NAMES: dict[str, tuple[str, ...]] = {
    language: tuple(wording.month_name(month, language) for month in range(1, 13))
    for language in LANGUAGES
}
WEEKDAY_NAMES: dict[str, tuple[str, ...]] = {
    language: tuple(wording.weekday_name(day, language) for day in range(7))
    for language in LANGUAGES
}

# Words that say which language a short request is written in, folded. Words
# that several languages share ("in", "per", "mai") count for each of them, by
# a share of one point.
_TYPICAL_WORDS: dict[str, str] = {
    "en": """
        the an and or of to in on at for with without from by is are be will can
        we us you our your it this that next please let lets meet meeting call talk
        today tomorrow tonight morning afternoon evening noon midnight hour hours
        minute minutes until till am pm o'clock time week day attendees participants
        password lobby encryption recording no yes hi hello thanks regards could would
        should about sync review quick
    """,
    "fr": """
        le la les un une des du de et ou pour avec sans sur dans au aux est sont sera
        nous vous notre votre ce cet cette ces prochain prochaine demain aujourd'hui
        apres-demain matin soir apres-midi midi minuit heure heures jusqu'a vers
        semaine jour participants mot passe salle attente chiffrement enregistrement
        pas merci bonjour salut cordialement point reunion rendez-vous pourrait
        pouvons peut-on qu'on on se voit voir peut peux parler appeler suffit minutes
        je tu il elle est c'est faire demande equipe projet visio visioconference
    """,
    "de": """
        der die das den dem des ein eine einen einem und oder mit ohne fur von bis um
        am im an auf zu ist sind wird wir uns sie ihr unser nachsten nachste nachster
        kommenden diesen heute morgen ubermorgen fruh vormittag nachmittag abend uhr
        stunde stunden minuten woche tag teilnehmer teilnehmende passwort kennwort
        warteraum verschlusselung aufzeichnung kein keine nicht bitte danke hallo
        gruss grusse besprechung termin konnen wir halb viertel nach vor
    """,
    "it": """
        il lo la i gli le un una uno e o di da del della per con senza su nel alla alle
        allo dalle ore ora sono sara noi voi nostro vostro questo questa prossimo
        prossima domani oggi dopodomani mattina pomeriggio sera mezzogiorno mezzanotte
        minuti settimana giorno partecipanti sala attesa crittografia registrazione
        non grazie ciao buongiorno saluti riunione possiamo fino
    """,
}
# Letters that only one of the four languages writes.
_TYPICAL_LETTERS = {"ß": "de", "ç": "fr", "œ": "fr", "ò": "it", "ì": "it", "ù": "it"}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_AM_PM = re.compile(r"\d\s?(?:am|pm)\b")
_FRENCH_HOUR = re.compile(r"(?<![\w.:])\d{1,2}h(?:\d\d)?(?!\w)")
_FRENCH_A = re.compile(r"(?<!\w)à(?!\w)")
# Only the start of a text is scored: a request is a few short lines.
MAX_TEXT = 4000


def fold(text: str) -> str:
    """`text` lowercased, without accents, quotes and dashes made plain; the same
    length as `text`, so a span found in the result quotes the original."""
    return "".join(_fold_char(char) for char in text)


_PLAIN = {
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "`": "'",
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}


def _fold_char(char: str) -> str:
    if char in _PLAIN:
        return _PLAIN[char]
    lower = char.lower()[:1] or char
    if lower.isascii() or lower in "ßæœ":
        return lower
    base = unicodedata.normalize("NFKD", lower)[:1]
    return base if base else lower


def _vocabulary() -> dict[str, dict[str, float]]:
    """Folded word -> {language: points}."""
    owners: dict[str, set[str]] = {}
    for language in LANGUAGES:
        words = set(_TYPICAL_WORDS[language].split())
        words.update(WEEKDAYS[language])
        for names in MONTHS[language]:
            words.add(names[0])  # full names only: "mar", "nov" say little
        for word in words:
            owners.setdefault(word, set()).add(language)
    return {
        word: {language: 1 / len(languages) for language in languages}
        for word, languages in owners.items()
    }


_VOCABULARY = _vocabulary()


def language_scores(text: str) -> dict[str, float]:
    """How strongly `text` looks like each language: a sum of points, 0 for none."""
    scores = dict.fromkeys(LANGUAGES, 0.0)
    text = without_addresses(text[:MAX_TEXT])
    if _AM_PM.search(text.lower()):
        scores["en"] += 1
    for char in text.lower():
        owner = _TYPICAL_LETTERS.get(char)
        if owner:
            scores[owner] += 0.5
    # "14h", "9h30": the French way of writing a time.
    scores["fr"] += len(_FRENCH_HOUR.findall(text.lower()))
    # A lone "à" is French ("à 14h"); folded it would be an "a" of any language.
    scores["fr"] += len(_FRENCH_A.findall(text.lower()))
    for word in _WORD.findall(_AM_PM.sub(" ", fold(text))):
        for part in (word, *word.split("'")) if "'" in word else (word,):
            for language, points in _VOCABULARY.get(part, {}).items():
                scores[language] += points
    return scores


def without_addresses(text: str) -> str:
    """`text` with its e-mail addresses and links (the words holding "@" or
    "://") made blanks of the same length, so positions keep their meaning.

    Word by word rather than with a pattern such as "\\S+@\\S+", which tries
    every start in a long run of characters without a space: quadratic in the
    run's length (400 KB of "a" took 171 s)."""
    if "@" not in text and "://" not in text:
        return text
    return re.sub(r"\S+", _blank_address, text)


def _blank_address(word: re.Match[str]) -> str:
    text = word.group(0)
    return " " * len(text) if "@" in text or "://" in text else text


def detect_language(text: str, default: str = "en") -> str:
    """The language of `text` among LANGUAGES; `default` when nothing tells, or
    when `default` scores as high as the best."""
    if default not in LANGUAGES:
        raise ValueError(f"unknown language {default!r}; expected one of {LANGUAGES}")
    scores = language_scores(text)
    best = max(scores.values())
    if best <= 0 or scores[default] == best:
        return default
    return next(language for language in LANGUAGES if scores[language] == best)


# --- numbers written as words -------------------------------------------------
# "septante-cinq minutes", "forty-five minutes", "fünfundvierzig Minuten",
# "quarantacinque minuti": 1 to 99, folded, with the Swiss French tens
# (septante, huitante, octante, nonante) beside the French ones.

_UNITS = {
    "en": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen",
    "fr": "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze"
    " seize dix-sept dix-huit dix-neuf",
    "de": "eins zwei drei vier funf sechs sieben acht neun zehn elf zwolf dreizehn vierzehn"
    " funfzehn sechzehn siebzehn achtzehn neunzehn",
    "it": "uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici"
    " quattordici quindici sedici diciassette diciotto diciannove",
}
_TENS = {
    "en": {20: ("twenty",), 30: ("thirty",), 40: ("forty",), 50: ("fifty",), 60: ("sixty",),
           70: ("seventy",), 80: ("eighty",), 90: ("ninety",)},
    "fr": {20: ("vingt",), 30: ("trente",), 40: ("quarante",), 50: ("cinquante",),
           60: ("soixante",), 70: ("septante",), 80: ("huitante", "octante", "quatre-vingt"),
           90: ("nonante",)},
    "de": {20: ("zwanzig",), 30: ("dreissig", "dreißig"), 40: ("vierzig",), 50: ("funfzig",),
           60: ("sechzig",), 70: ("siebzig",), 80: ("achtzig",), 90: ("neunzig",)},
    "it": {20: ("venti",), 30: ("trenta",), 40: ("quaranta",), 50: ("cinquanta",),
           60: ("sessanta",), 70: ("settanta",), 80: ("ottanta",), 90: ("novanta",)},
}  # fmt: skip


def _number_words() -> dict[str, int]:
    table: dict[str, int] = {}
    for language, units_text in _UNITS.items():
        units = units_text.split()
        for value, word in enumerate(units, start=1):
            table.setdefault(word, value)
        for tens, names in _TENS[language].items():
            for name in names:
                table.setdefault(name, tens)
                for unit in range(1, 10):
                    word = units[unit - 1]
                    if language == "en":
                        forms = [f"{name}-{word}", f"{name} {word}"]
                    elif language == "fr":
                        forms = [f"{name}-{word}", f"{name} {word}", f"{name}-et-{word}",
                                 f"{name} et {word}"]  # fmt: skip
                    elif language == "de":
                        forms = [f"{'ein' if unit == 1 else word}und{name}"]
                    else:  # Italian drops the vowel before "uno" and "otto": ventuno
                        stem = name[:-1] if unit in (1, 8) else name
                        forms = [f"{stem}{word}"]
                    for form in forms:
                        table.setdefault(form, tens + unit)
    # French 70-79 and 90-99 the Paris way
    for unit, word in enumerate(_UNITS["fr"].split()[9:19], start=10):
        table.setdefault(f"soixante-{word}", 60 + unit)
        table.setdefault(f"quatre-vingt-{word}", 80 + unit)
    table.setdefault("soixante-et-onze", 71)
    table.setdefault("soixante et onze", 71)
    return table


NUMBER_WORDS: dict[str, int] = _number_words()


# --- writing dates back ---------------------------------------------------------


def write_date(value: date, language: str, *, weekday: bool = False) -> str:
    """A date as people write it in `language` (CLDR, see wording.write_date):
    "3 February 2027", "1er mars 2027", "3. Februar 2027"; with its weekday
    first if asked."""
    return wording.write_date(value, language, weekday=weekday)


def known_words() -> frozenset[str]:
    """Folded words the language detector and the reader know, in any of the four
    languages (never taken for a typo of another word)."""
    return _KNOWN_WORDS


_KNOWN_WORDS = frozenset(_VOCABULARY) | frozenset(NUMBER_WORDS)
