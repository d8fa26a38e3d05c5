"""The wording catalogs: every message in every language, translated, with the
same fields; and the CLDR formats the replies rely on."""

from __future__ import annotations

import re
import string
from datetime import date, time
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import kmeet_bridge
from kmeet_bridge.models import LANGUAGES
from kmeet_bridge.replies import wording

PACKAGE = Path(kmeet_bridge.__file__).parent

NBSP, NNBSP = "\u00a0", "\u202f"


def catalog(language: str) -> dict[tuple[str, str | None], tuple[str, ...]]:
    """(id, context) -> its translations, as the .po file holds them."""
    with wording.catalog_path(language).open("rb") as source:
        parsed = read_po(source)
    messages = {}
    for message in parsed:
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        messages[(key, message.context)] = tuple(strings)
    return messages


ENGLISH = catalog("en")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_english_catalog_is_complete() -> None:
    assert len(ENGLISH) > 150
    for (key, _), forms in ENGLISH.items():
        assert all(form.strip() for form in forms), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_fields(language: str) -> None:
    messages = catalog(language)
    assert set(messages) == set(ENGLISH), set(messages) ^ set(ENGLISH)
    for key, forms in messages.items():
        english = ENGLISH[key]
        assert len(forms) == len(english), key
        for form, reference in zip(forms, english, strict=True):
            assert form.strip(), f"{key} is not translated into {language}"
            assert fields(form) == fields(reference), (key, language, form)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_code_asks_for_exists(language: str) -> None:
    """Every literal message id in the code is in the catalog (ids built from a
    code, such as "status.<status>", are checked by the reply tests)."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py"))
    used = set(
        re.findall(r'(?:say|template|say_plural|plural_template)\(\s*\w+,\s*"([a-z_.]+)"', source)
    )
    assert len(used) > 40
    known = {key for key, context in catalog(language) if context is None}
    assert used <= known, used - known


def test_a_missing_message_is_an_error_not_its_id() -> None:
    with pytest.raises(KeyError):
        wording.say("fr", "no.such.message")


@pytest.mark.parametrize("language", ("fr",))
def test_french_typography(language: str) -> None:
    """No-break space before ":", narrow no-break space before ; ? !, curly
    apostrophes, spaced guillemets."""
    for (key, _), forms in catalog(language).items():
        for form in forms:
            assert "'" not in form, key
            assert not re.search(r"[^\u00a0]:(\s|$)", form), key
            assert not re.search(r"[^\u202f][;?!](\s|$)", form), key
            assert "« " not in form and " »" not in form, key


def test_italian_apostrophes_and_courtesy_form() -> None:
    for (key, _), forms in catalog("it").items():
        for form in forms:
            assert "'" not in form, key
            assert not re.search(r"\b(sua|suo|sue|suoi|lei)\b", form), (key, form)


def test_german_quotes() -> None:
    for (key, _), forms in catalog("de").items():
        for form in forms:
            assert '"' not in form, key
            assert form.count("„") == form.count("“"), key


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Tuesday, 1 December 2026"),
        ("fr", "mardi 1er décembre 2026"),
        ("de", "Dienstag, 1. Dezember 2026"),
        ("it", "martedì 1º dicembre 2026"),
    ],
)
def test_dates_come_from_cldr_with_the_first_as_an_ordinal(language: str, expected: str) -> None:
    assert wording.write_date(date(2026, 12, 1), language, weekday=True) == expected


@pytest.mark.parametrize(
    ("language", "zone", "expected"),
    [
        ("en", "Europe/Zurich", "Zurich time"),
        ("fr", "Europe/Zurich", "heure de Zurich"),
        ("de", "Europe/Zurich", "Zürcher Zeit"),
        ("it", "Europe/Zurich", "ora di Zurigo"),
        ("en", "Asia/Tokyo", "Tokyo time"),
        ("de", "Asia/Tokyo", "Ortszeit Tokio"),
        ("fr", "Europe/Amsterdam", "heure d’Amsterdam"),
        ("it", "UTC", "UTC"),
        ("fr", "Not/AZone", "Not/AZone"),
    ],
)
def test_zones_are_named_as_people_do(language: str, zone: str, expected: str) -> None:
    assert wording.zone_name(zone, language) == expected


@pytest.mark.parametrize(
    ("language", "megabytes", "expected"),
    [("en", 26.2, "26.2 MB"), ("fr", 26.2, f"26,2{NNBSP}Mo"), ("de", 26.2, "26,2 MB")],
)
def test_sizes_in_megabytes(language: str, megabytes: float, expected: str) -> None:
    assert wording.write_megabytes(megabytes, language) == expected


def test_times_are_24_hours_in_every_language() -> None:
    assert {wording.write_time(time(16, 5), language) for language in LANGUAGES} == {"16:05"}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("fr", "le dernier lundi de avril", "le dernier lundi d’avril"),
        ("it", "fino al 8 marzo e il 11", "fino all’8 marzo e l’11"),
        ("it", "il 18", "il 18"),
        ("en", "de avril", "de avril"),
    ],
)
def test_elision(language: str, text: str, expected: str) -> None:
    assert wording.elide(text, language) == expected


def test_the_wheel_ships_every_catalog() -> None:
    """pyproject's package-data names the .po files, so an installed bridge finds them
    (its globs are relative to the kmeet_bridge folder)."""
    import tomllib
    from fnmatch import fnmatch

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["kmeet_bridge"]
    for language in LANGUAGES:
        path = wording.catalog_path(language).relative_to(PACKAGE)
        assert any(fnmatch(str(path), pattern) for pattern in patterns), path
