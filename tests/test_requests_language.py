"""Which of the four languages a short request is written in."""

from __future__ import annotations

import pytest

from kmeet_bridge.requests.language import detect_language, fold


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("tomorrow 10am", "en"),
        ("next Monday 14:00", "en"),
        ("Can we talk now?", "en"),
        ("3 Feb 2027 9am", "en"),
        ("with lobby and without encryption", "en"),
        ("demain 14h", "fr"),
        ("lundi prochain à 9h", "fr"),
        ("12 mars 2027 à 14h30", "fr"),
        ("On se voit demain ?", "fr"),
        ("01/12/2026 à 16h30", "fr"),
        ("sans chiffrement, avec mot de passe", "fr"),
        ("Bonjour, on peut se parler maintenant ?", "fr"),
        ("morgen 9 Uhr", "de"),
        ("nächsten Dienstag 15:30", "de"),
        ("3. Februar 2027, 9:00–9:45", "de"),
        ("Können wir jetzt kurz sprechen?", "de"),
        ("mit Passwort, ohne Verschlüsselung", "de"),
        ("Termin am 03/04/2027 um 10:00", "de"),
        ("Grüße aus Zürich", "de"),
        ("domani alle 16", "it"),
        ("lunedì prossimo alle 10", "it"),
        ("5 marzo 2027 ore 16", "it"),
        ("Possiamo sentirci adesso?", "it"),
        ("senza crittografia, con password", "it"),
        ("Ci sentiamo domani?", "it"),
    ],
)
def test_short_requests(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "2027-02-03 09:00", "03.02.2027 9:00", "kmeet", "!!!"])
def test_nothing_to_tell_gives_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="de") == "de"


def test_addresses_and_links_do_not_count() -> None:
    text = "tomorrow 10am\nAttendees: giovanni.domani@example.org https://example.com/le/la/les"
    assert detect_language(text) == "en"


def test_a_tie_goes_to_the_default() -> None:
    assert detect_language("mai", default="fr") == "fr"
    assert detect_language("mai", default="de") == "de"


def test_an_unknown_default_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'es'"):
        detect_language("hola", default="es")


def test_fold_keeps_every_character_in_place() -> None:
    text = "Übermorgen – à 9h’ İstanbul ß"
    assert fold(text) == "ubermorgen - a 9h' istanbul ß"
    assert len(fold(text)) == len(text)
