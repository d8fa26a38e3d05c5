"""What the request reader says about how it read a request, in four languages.

The reader (when/, requests.py) records each reading and each default it
applied as a `Note`: a code and its parameters, no wording. The wording lives
here, one table keyed by code, so that a reply says in the sender's language
what was assumed ("« demian » lu comme « demain »", "keine Dauer: 60 Minuten")
and so that the wording can move to message catalogs without touching the
reader.

Parameters are plain strings. Some are written out per language: `day` (an ISO
date, written with its weekday), `how` (codes of how a date was read, joined
by ","; a code may carry one value after ":"), `language` (a language code,
named in the reply's language) and `option` (a room setting's field name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kmeet_bridge.models import LANGUAGES
from kmeet_bridge.requests.language import LANGUAGE_NAMES, write_date


@dataclass(frozen=True)
class Note:
    """One thing the reader read or assumed: `code` and its parameters."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    def text(self, language: str) -> str:
        """The note written in `language` (English for any other)."""
        return note_text(self, language)

    def __str__(self) -> str:
        return self.text("en")


def note(code: str, **params: object) -> Note:
    if code not in NOTE_TEXTS:
        raise ValueError(f"no wording for note {code!r}")
    return Note(code, tuple(sorted((key, str(value)) for key, value in params.items())))


NOTE_TEXTS: dict[str, dict[str, str]] = {
    "language": {
        "en": "language: {language}",
        "fr": "langue : {language}",
        "de": "Sprache: {language}",
        "it": "lingua: {language}",
    },
    "from_subject": {
        "en": "date and time read from the subject",
        "fr": "date et heure lues dans l'objet",
        "de": "Datum und Uhrzeit aus dem Betreff gelesen",
        "it": "data e ora lette dall'oggetto",
    },
    "zone": {
        "en": 'zone "{text}" read as {zone}',
        "fr": "fuseau horaire « {text} » lu comme {zone}",
        "de": "Zeitzone „{text}“ gelesen als {zone}",
        "it": "fuso orario «{text}» letto come {zone}",
    },
    "default_zone": {
        "en": "no time zone named: {zone}",
        "fr": "aucun fuseau horaire indiqué : {zone}",
        "de": "keine Zeitzone genannt: {zone}",
        "it": "nessun fuso orario indicato: {zone}",
    },
    "date": {
        "en": 'date "{text}" read as {day}{how}',
        "fr": "date « {text} » lue comme {day}{how}",
        "de": "Datum „{text}“ gelesen als {day}{how}",
        "it": "data «{text}» letta come {day}{how}",
    },
    "start_offset": {
        "en": 'start "{text}" read as {day} {time}',
        "fr": "début « {text} » lu comme {day} à {time}",
        "de": "Beginn „{text}“ gelesen als {day}, {time} Uhr",
        "it": "inizio «{text}» letto come {day} alle {time}",
    },
    "no_date": {
        "en": "no date: today, {day}",
        "fr": "pas de date : aujourd'hui, {day}",
        "de": "kein Datum: heute, {day}",
        "it": "nessuna data: oggi, {day}",
    },
    "one_reading_ahead": {
        "en": '"{text}" read as {time}: {other} has already passed',
        "fr": "« {text} » lu comme {time} : {other} est déjà passé",
        "de": "„{text}“ gelesen als {time} Uhr: {other} Uhr ist schon vorbei",
        "it": "«{text}» letto come {time}: le {other} sono già passate",
    },
    "duration": {
        "en": 'duration "{text}" read as {minutes} minutes',
        "fr": "durée « {text} » lue comme {minutes} minutes",
        "de": "Dauer „{text}“ gelesen als {minutes} Minuten",
        "it": "durata «{text}» letta come {minutes} minuti",
    },
    "no_duration": {
        "en": "no duration: {minutes} minutes",
        "fr": "pas de durée : {minutes} minutes",
        "de": "keine Dauer: {minutes} Minuten",
        "it": "nessuna durata: {minutes} minuti",
    },
    "end": {
        "en": 'end "{text}" read as {time}',
        "fr": "fin « {text} » lue comme {time}",
        "de": "Ende „{text}“ gelesen als {time} Uhr",
        "it": "fine «{text}» letta come {time}",
    },
    "instant": {
        "en": "instant room: starting now",
        "fr": "salle immédiate : elle commence maintenant",
        "de": "Sofortraum: beginnt jetzt",
        "it": "sala immediata: inizia adesso",
    },
    "corrected_word": {
        "en": '"{text}" read as "{word}"',
        "fr": "« {text} » lu comme « {word} »",
        "de": "„{text}“ gelesen als „{word}“",
        "it": "«{text}» letto come «{word}»",
    },
    "option": {
        "en": '{option} {state} ("{words}")',
        "fr": "{option} : {state} (« {words} »)",
        "de": "{option}: {state} („{words}“)",
        "it": "{option}: {state} («{words}»)",
    },
    "option_both_ways": {
        "en": "{option}: asked both on and off ({words}): the configured setting is kept",
        "fr": "{option} : demandé avec et sans ({words}) : le réglage configuré est gardé",
        "de": "{option}: mit und ohne verlangt ({words}): die eingestellte Vorgabe bleibt",
        "it": "{option}: chiesto con e senza ({words}): resta l'impostazione configurata",
    },
    "recording_not_on": {
        "en": 'recording: "{words}" ignored: a request can only turn recording off',
        "fr": (
            "enregistrement : « {words} » ignoré : une demande peut seulement désactiver"
            " l'enregistrement"
        ),
        "de": (
            "Aufzeichnung: „{words}“ nicht beachtet: eine Anfrage kann die Aufzeichnung nur "
            "ausschalten"
        ),
        "it": (
            "registrazione: «{words}» ignorato: una richiesta può solo disattivare la registrazione"
        ),
    },
    "attendees_in_text": {
        "en": "attendees named in the text: {addresses}",
        "fr": "participants nommés dans le texte : {addresses}",
        "de": "im Text genannte Teilnehmer: {addresses}",
        "it": "partecipanti indicati nel testo: {addresses}",
    },
}

# How a date was read: the "how" codes of a "date" note.
HOW_TEXTS: dict[str, dict[str, str]] = {
    "day_first": {
        "en": "day first",
        "fr": "jour en premier",
        "de": "Tag zuerst",
        "it": "prima il giorno",
    },
    "day_first_in": {
        "en": "day first, {value}",
        "fr": "jour en premier, {value}",
        "de": "Tag zuerst, {value}",
        "it": "prima il giorno, {value}",
    },
    "no_month_13": {
        "en": "day first: no month 13+",
        "fr": "jour en premier : pas de mois 13+",
        "de": "Tag zuerst: kein Monat 13+",
        "it": "prima il giorno: nessun mese 13+",
    },
    "weekday_decides": {
        "en": "the weekday decides",
        "fr": "le jour de la semaine tranche",
        "de": "der Wochentag entscheidet",
        "it": "lo decide il giorno della settimana",
    },
    "month_first": {
        "en": "month first",
        "fr": "mois en premier",
        "de": "Monat zuerst",
        "it": "prima il mese",
    },
    "no_year": {
        "en": "no year: {value}",
        "fr": "sans année : {value}",
        "de": "ohne Jahr: {value}",
        "it": "senza anno: {value}",
    },
    "no_month": {
        "en": "no month: the next {value}",
        "fr": "sans mois : le prochain {value}",
        "de": "ohne Monat: der nächste {value}.",
        "it": "senza mese: il prossimo {value}",
    },
    "next_week": {
        "en": "in the next week",
        "fr": "la semaine prochaine",
        "de": "in der nächsten Woche",
        "it": "la settimana prossima",
    },
    "after_next": {
        "en": "a week after the coming one",
        "fr": "une semaine après le prochain",
        "de": "eine Woche nach dem kommenden",
        "it": "una settimana dopo il prossimo",
    },
    "weeks_from_today": {
        "en": "counted from today",
        "fr": "compté depuis aujourd'hui",
        "de": "ab heute gezählt",
        "it": "contato da oggi",
    },
    "coming": {
        "en": "the coming one",
        "fr": "le prochain",
        "de": "der kommende",
        "it": "il prossimo",
    },
}

_LANGUAGE_NAMES_IN = {
    "en": LANGUAGE_NAMES,
    "fr": {"en": "anglais", "fr": "français", "de": "allemand", "it": "italien"},
    "de": {"en": "Englisch", "fr": "Französisch", "de": "Deutsch", "it": "Italienisch"},
    "it": {"en": "inglese", "fr": "francese", "de": "tedesco", "it": "italiano"},
}
_OPTION_NAMES = {
    "lobby_enabled": {
        "en": "lobby",
        "fr": "salle d'attente",
        "de": "Warteraum",
        "it": "sala d'attesa",
    },
    "password_enabled": {
        "en": "password",
        "fr": "mot de passe",
        "de": "Passwort",
        "it": "password",
    },
    "e2ee_enabled": {
        "en": "end-to-end encryption",
        "fr": "chiffrement de bout en bout",
        "de": "Ende-zu-Ende-Verschlüsselung",
        "it": "crittografia end-to-end",
    },
    "enable_recording": {
        "en": "recording",
        "fr": "enregistrement",
        "de": "Aufzeichnung",
        "it": "registrazione",
    },
}
_STATES = {
    "on": {"en": "on", "fr": "oui", "de": "an", "it": "sì"},
    "off": {"en": "off", "fr": "non", "de": "aus", "it": "no"},
}


def note_text(item: Note, language: str) -> str:
    if language not in LANGUAGES:
        language = "en"
    values = dict(item.params)
    if "day" in values:
        day = date.fromisoformat(values["day"])
        values["day"] = write_date(day, language, weekday=True)
    if "how" in item.code or item.code == "date":
        parts = [_how_text(code, language) for code in values.get("how", "").split(",") if code]
        values["how"] = f" ({', '.join(parts)})" if parts else ""
    if "language" in values:
        values["language"] = _LANGUAGE_NAMES_IN[language].get(values["language"], "")
    if "option" in values:
        values["option"] = _OPTION_NAMES[values["option"]][language]
    if "state" in values:
        values["state"] = _STATES[values["state"]][language]
    return NOTE_TEXTS[item.code][language].format(**values)


def _how_text(code: str, language: str) -> str:
    name, _, value = code.partition(":")
    if name == "day_first_in":
        value = _LANGUAGE_NAMES_IN[language].get(value, value)
    return HOW_TEXTS[name][language].format(value=value)
