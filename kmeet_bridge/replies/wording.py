"""What the bridge says to people, in the language of each request.

The sentences live in gettext catalogs, one per language:
`kmeet_bridge/replies/locale/<language>/LC_MESSAGES/kmeet_bridge.po`. A translator edits
those files with any PO editor; the code only picks a message by its id and
fills in its named fields (`{title}`, `{url}`). The ids are stable names
("reply.planned.one", "problem.ended.hint"), not English sentences, so that
English wording can change without touching the other catalogs; the English
catalog is the reference every other one is checked against
(tests/test_wording.py). A catalog is compiled to gettext's binary form once,
at its first use.

Everything that CLDR knows is taken from it through Babel rather than written by
hand: month and weekday names, date and time patterns, lists ("a, b and c"),
decimal numbers, units (MB, Mo) and the plural category of a number. The
replies follow Swiss usage (the service is Infomaniak's), so each language uses
its Swiss CLDR locale.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import Sequence
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_location
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

from kmeet_bridge.models import LANGUAGES

DOMAIN = "kmeet_bridge"
LOCALE_DIR = Path(__file__).parent / "locale"
# The CLDR locale each reply language is written in.
LOCALES = {"en": "en_CH", "fr": "fr", "de": "de", "it": "it"}
NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space: French puts it before ; ? !


def language_code(language: str | None) -> str:
    """One of LANGUAGES for `language`: "fr-CH" and "FR" are "fr"; any other
    language (or none at all) is answered in English."""
    code = (language or "").strip().lower().replace("_", "-").partition("-")[0]
    return code if code in LANGUAGES else "en"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> Translations:
    """The compiled catalog of `language`; English fills any gap, so a message
    missing from a catalog is said in English rather than by its id."""
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    compiled_translations = Translations(compiled, domain=DOMAIN)
    if language != "en":
        compiled_translations.add_fallback(translations("en"))
    return compiled_translations


def template(language: str | None, message_id: str) -> str:
    """The raw message `message_id` in `language`, fields not filled in."""
    text = translations(language_code(language)).gettext(message_id)
    if text == message_id:
        raise KeyError(f"no message {message_id!r} in the {DOMAIN} catalogs")
    return text


def say(language: str | None, message_id: str, **values: object) -> str:
    """The message `message_id` in `language`, its fields filled in."""
    return template(language, message_id).format(**values)


def plural_template(language: str | None, message_id: str, count: float) -> str:
    """The form of `message_id` that goes with `count`, chosen by CLDR's plural
    rules ("1,5 heure" is singular in French, "1.5 hours" plural in English)."""
    code = language_code(language)
    index = 0 if Locale.parse(LOCALES[code]).plural_form(count) == "one" else 1
    # gettext chooses by an integer count: 1 stands for "one", 2 for the rest.
    text = translations(code).ngettext(message_id, message_id, 1 if index == 0 else 2)
    if text == message_id:
        raise KeyError(f"no message {message_id!r} in the {DOMAIN} catalogs")
    return text


def ordinal_category(number: int, language: str | None) -> str:
    """CLDR's ordinal category of `number` in `language`: "one", "two", "few",
    "many" or "other" (English 1st, 2nd, 3rd, 4th)."""
    return Locale.parse(LOCALES[language_code(language)]).ordinal_form(number)


def say_plural(language: str | None, message_id: str, count: float, **values: object) -> str:
    return plural_template(language, message_id, count).format(**values)


def fields(text: str) -> frozenset[str]:
    """The names of the fields a message fills in: {"title", "url"}."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


# --- dates, times, numbers ----------------------------------------------------------------

# A pattern letter "d" (day of month) outside quotes, in a CLDR date pattern.
_DAY_FIELD = re.compile(r"(?<![d'])d(?!d)")


def _date_pattern(language: str, width: str, day: int) -> str:
    pattern = Locale.parse(LOCALES[language]).date_formats[width].pattern
    if day == 1:
        # French and Italian write the first of the month as an ordinal ("1er", "1º").
        first = template(language, "date.first_day").replace("'", "''")
        pattern = _DAY_FIELD.sub(f"'{first}'", pattern, count=1)
    return pattern


def write_date(value: date, language: str | None, *, weekday: bool = False) -> str:
    """A date as `language` writes it: "3 February 2027", "1er mars 2027",
    "3. Februar 2027"; with its weekday ("Mittwoch, 3. Februar 2027") if asked."""
    code = language_code(language)
    pattern = _date_pattern(code, "full" if weekday else "long", value.day)
    return format_date(value, pattern, locale=LOCALES[code])


def write_time(value: time | datetime, language: str | None) -> str:
    """A time of day: "14:30" (CLDR's short pattern, 24 hours in all four)."""
    return format_time(value, "short", locale=LOCALES[language_code(language)])


def month_name(month: int, language: str | None) -> str:
    """A month's name as it stands in a date: "décembre", "Dezember"."""
    locale = Locale.parse(LOCALES[language_code(language)])
    return locale.months["format"]["wide"][month]


def weekday_name(weekday: int, language: str | None) -> str:
    """A weekday's name, Monday = 0 as in `date.weekday()`."""
    locale = Locale.parse(LOCALES[language_code(language)])
    return locale.days["format"]["wide"][weekday]


def join_list(items: Sequence[str], language: str | None) -> str:
    """`items` as a sentence lists them: "Monday, Wednesday and Friday"."""
    if not items:
        return ""
    return format_list(list(items), locale=LOCALES[language_code(language)])


def write_number(value: float, language: str | None) -> str:
    return format_decimal(value, locale=LOCALES[language_code(language)])


def _unit(value: float, unit: str, language: str | None, length: str = "short") -> str:
    return format_unit(value, unit, length=length, locale=LOCALES[language_code(language)])


def write_megabytes(value: float, language: str | None) -> str:
    """A size in megabytes, as the language abbreviates it: "12.5 MB", "12,5 Mo"."""
    return _unit(value, "digital-megabyte", language)


def write_kilobytes(value: float, language: str | None) -> str:
    return _unit(value, "digital-kilobyte", language)


def write_hours(value: float, language: str | None) -> str:
    """A number of hours in words: "24 hours", "1,5 heure"."""
    return _unit(value, "duration-hour", language, "long")


def write_minutes(value: int, language: str | None) -> str:
    """A length in minutes: "45 minutes", "45 Minuten"."""
    return _unit(value, "duration-minute", language, "long")


# --- time zones ---------------------------------------------------------------------------

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu", "Z"})


def zone_name(zone: str, language: str | None) -> str:
    """A time zone named as people do: "Zurich time", "heure de Zurich",
    "Zürcher Zeit", "ora di Zurigo". A zone the catalog names itself (German
    has an adjective for many cities) is said that way; any other by its CLDR
    city; a zone CLDR does not know is shown as it came."""
    code = language_code(language)
    if zone in _UTC_NAMES:
        return "UTC"
    named = translations(code).pgettext("time zone", zone)
    if named != zone:
        return named
    try:
        ZoneInfo(zone)
        city = get_timezone_location(zone, locale=LOCALES[code], return_city=True)
    except (LookupError, ValueError, OSError):
        return zone
    if not city or city == zone:
        return zone
    return elide(say(code, "zone.city_time", city=city), code)


# --- elision ------------------------------------------------------------------------------

# French elides "de" before a vowel ("d’avril", "d’Amsterdam"); Italian elides
# the article before "8" and "11" (otto, undici): "l’8", "all’11".
_FRENCH_DE = re.compile(r"\bde (?=[aeiouyhàâéèêëîïôûAEIOUYHÀÂÉÈÊÎÏÔÛ])")
_ITALIAN_ARTICLE = re.compile(r"\b(il|al|dal|del|nel) (?=(?:8|11)(?!\d))")
_ITALIAN_ELIDED = {"il": "l’", "al": "all’", "dal": "dall’", "del": "dell’", "nel": "nell’"}


def elide(text: str, language: str | None) -> str:
    """`text` with the elisions `language` makes between words."""
    code = language_code(language)
    if code == "fr":
        return _FRENCH_DE.sub("d’", text)
    if code == "it":
        return _ITALIAN_ARTICLE.sub(lambda match: _ITALIAN_ELIDED[match[1]], text)
    return text


# French and Italian write what follows a colon in lower case ("Motif : vous
# avez ...", "Motivo: nell’ultima ora ...");
# a word in capitals or an acronym ("DTSTART", "kMeet") stays as it is.
_CAPITALISED_WORD = re.compile(r"^([A-ZÀÂÉÈÊÎÔÛÇ])(?=[a-zà-ÿ’'])")


def after_colon(text: str, language: str | None) -> str:
    """`text` as it is written after a label and a colon in `language`."""
    if language_code(language) not in ("fr", "it"):
        return text
    return _CAPITALISED_WORD.sub(lambda match: match[1].lower(), text, count=1)
