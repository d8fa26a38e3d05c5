"""What the reader says it read or assumed, in the sender's language
(kmeet_bridge.requests.reading_notes), and typos of day words (kmeet_bridge.requests.typos)."""

from __future__ import annotations

import re

import pytest

from kmeet_bridge.models import LANGUAGES
from kmeet_bridge.requests.reading_notes import HOW_TEXTS, NOTE_TEXTS, note
from kmeet_bridge.requests.typos import Correction, corrected_lines
from tests.test_requests import build_message, extract, problem_of


def test_every_note_and_every_way_of_reading_a_date_is_worded_in_four_languages() -> None:
    for table in (NOTE_TEXTS, HOW_TEXTS):
        for code, wording in table.items():
            assert set(wording) == set(LANGUAGES), code
            fields = {
                language: set(re.findall(r"{(\w+)}", text)) for language, text in wording.items()
            }
            assert len({frozenset(names) for names in fields.values()}) == 1, code


def test_a_note_is_written_in_the_language_asked_for() -> None:
    item = note("no_duration", minutes=60)
    assert [item.text(language) for language in ("en", "fr", "de", "it", "xx")] == [
        "no duration: 60 minutes",
        "pas de durée : 60 minutes",
        "keine Dauer: 60 Minuten",
        "nessuna durata: 60 minuti",
        "no duration: 60 minutes",
    ]


def test_a_date_note_writes_the_day_and_how_it_was_read_per_language() -> None:
    item = note("date", text="12.1.", day="2027-01-12", how="day_first,no_year:2027")
    assert item.text("de") == (
        "Datum „12.1.“ gelesen als Dienstag, 12. Januar 2027 (Tag zuerst, ohne Jahr: 2027)"
    )
    assert item.text("it") == (
        "data «12.1.» letta come martedì 12 gennaio 2027 (prima il giorno, senza anno: 2027)"
    )


@pytest.mark.parametrize(
    ("line", "written", "meant"),
    [
        ("demian à 11h", "demian", "demain"),
        ("tommorow at 11", "tommorow", "tomorrow"),
        ("moregn um halb 10", "moregn", "morgen"),
        ("venrdi 11 alle 10", "venrdi", "venerdì"),
        ("on Wednsday at 10:00", "Wednsday", "wednesday"),
    ],
)
def test_a_misspelt_day_word_where_a_day_is_expected_is_read_as_the_word_meant(
    line: str, written: str, meant: str
) -> None:
    _, corrections = corrected_lines([line])
    assert corrections == [Correction(written, meant, transliteration=False)]


@pytest.mark.parametrize(
    "line",
    [
        "Morgen um 9, es kommen externe Leute dazu",  # "Leute" is not "heute"
        "ça marche pour demain 10h",  # "marche" is not "March"
        "invite marco.rossi@example.org at 10",  # an address is not "marzo"
        "keine Sorgen, morgen um 10",  # "Sorgen" is not "morgen"
        "dans les prochains jours à 10h",
    ],
)
def test_words_that_only_look_like_day_words_are_left_alone(line: str) -> None:
    assert corrected_lines([line]) == ([line], [])


def test_transliterated_umlauts_are_read_as_umlauts() -> None:
    lines, corrections = corrected_lines(["uebermorgen um 14 Uhr fuer eine Stunde"])
    assert lines == ["übermorgen um 14 Uhr für eine Stunde"]
    assert [fix.transliteration for fix in corrections] == [True, True]


def test_a_corrected_typo_is_said_in_the_senders_language() -> None:
    meeting = extract(build_message("slt, demian à 11h pour relire le rapport ?"))
    assert f"{meeting.start:%Y-%m-%d %H:%M}" == "2026-12-02 11:00"
    assert meeting.notes[:3] == (
        "langue : français",
        "« demian » lu comme « demain »",
        "date « demain » lue comme mercredi 2 décembre 2026",
    )


def test_a_day_word_the_reader_does_not_know_is_asked_about_not_taken_for_today() -> None:
    problem = problem_of(build_message("Can we meet on Blursday at 11?"))
    assert problem.code == "vague"


def test_every_default_is_stated_in_the_senders_language() -> None:
    meeting = extract(build_message("heute um 3 bitte", subject="kmeet: Abstimmung"))
    assert f"{meeting.start:%Y-%m-%d %H:%M}" == "2026-12-01 15:00"
    assert meeting.notes == (
        "Sprache: Deutsch",
        "Datum „heute“ gelesen als Dienstag, 1. Dezember 2026",
        "„3“ gelesen als 15:00 Uhr: 03:00 Uhr ist schon vorbei",
        "keine Dauer: 60 Minuten",
        "keine Zeitzone genannt: Europe/Zurich",
    )


def test_options_and_addresses_in_a_sentence_are_noted_in_the_senders_language() -> None:
    meeting = extract(
        build_message("domani alle 10 con sala d'attesa e password, invita carl@example.net")
    )
    assert meeting.notes[-3:] == (
        "sala d'attesa: sì («con sala d'attesa»)",
        "password: sì («con sala d'attesa e password»)",
        "partecipanti indicati nel testo: carl@example.net",
    )
