"""Reading when a plain request asks to meet (kmeet_bridge.requests.when): the forms of
issue 4, the decisions on unclear forms, zones, and writing dates back."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kmeet_bridge.requests.when import When, WhenProblem, read_when, write_date, write_when

ZONE = "Europe/Zurich"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE))  # a Tuesday


def read(text: str, language: str = "en", **kwargs: object) -> When:
    settings: dict[str, object] = {
        "language": language,
        "now": NOW,
        "default_zone": ZONE,
        "default_duration": 60,
    }
    settings.update(kwargs)
    return read_when(text, **settings)  # type: ignore[arg-type]


def span(when: When) -> tuple[str, str, str]:
    return (f"{when.start:%Y-%m-%d %H:%M}", f"{when.end:%Y-%m-%d %H:%M}", when.zone)


def problem(text: str, language: str = "en", **kwargs: object) -> WhenProblem:
    with pytest.raises(WhenProblem) as caught:
        read(text, language, **kwargs)
    return caught.value


# Every form the issue names, with the request read on Tuesday, 1 December 2026, 10:00.
ISSUE_FORMS = [
    ("en", "2027-02-03 09:00", "2027-02-03 09:00", "2027-02-03 10:00", ZONE),
    ("en", "3 Feb 2027 9am", "2027-02-03 09:00", "2027-02-03 10:00", ZONE),
    ("fr", "12 mars 2027 à 14h30", "2027-03-12 14:30", "2027-03-12 15:30", ZONE),
    ("de", "3. Februar 2027, 9:00–9:45", "2027-02-03 09:00", "2027-02-03 09:45", ZONE),
    ("it", "5 marzo 2027 ore 16", "2027-03-05 16:00", "2027-03-05 17:00", ZONE),
    ("de", "03.02.2027 09:00", "2027-02-03 09:00", "2027-02-03 10:00", ZONE),
    ("fr", "03/04/2027 à 10h", "2027-04-03 10:00", "2027-04-03 11:00", ZONE),
    ("en", "tomorrow 10am", "2026-12-02 10:00", "2026-12-02 11:00", ZONE),
    ("en", "next Monday 14:00", "2026-12-07 14:00", "2026-12-07 15:00", ZONE),
    ("fr", "demain 14h", "2026-12-02 14:00", "2026-12-02 15:00", ZONE),
    ("fr", "lundi prochain à 9h", "2026-12-07 09:00", "2026-12-07 10:00", ZONE),
    ("de", "morgen 9 Uhr", "2026-12-02 09:00", "2026-12-02 10:00", ZONE),
    ("de", "nächsten Dienstag 15:30", "2026-12-08 15:30", "2026-12-08 16:30", ZONE),
    ("it", "domani alle 16", "2026-12-02 16:00", "2026-12-02 17:00", ZONE),
    ("it", "lunedì prossimo alle 10", "2026-12-07 10:00", "2026-12-07 11:00", ZONE),
    ("en", "tomorrow 10am Europe/London", "2026-12-02 10:00", "2026-12-02 11:00", "Europe/London"),
    ("en", "tomorrow 10am London time", "2026-12-02 10:00", "2026-12-02 11:00", "Europe/London"),
    ("en", "tomorrow 10am EST", "2026-12-02 10:00", "2026-12-02 11:00", "America/New_York"),
    ("en", "tomorrow 10am CET", "2026-12-02 10:00", "2026-12-02 11:00", ZONE),
    ("en", "tomorrow 10am, 45 minutes", "2026-12-02 10:00", "2026-12-02 10:45", ZONE),
    ("fr", "demain 10h, 1h30", "2026-12-02 10:00", "2026-12-02 11:30", ZONE),
    ("de", "morgen 10 Uhr, 1 Stunde", "2026-12-02 10:00", "2026-12-02 11:00", ZONE),
    ("fr", "demain 10h, une heure", "2026-12-02 10:00", "2026-12-02 11:00", ZONE),
    ("en", "tomorrow 10:00 until 15:30", "2026-12-02 10:00", "2026-12-02 15:30", ZONE),
    ("en", "tomorrow 9:00-9:45", "2026-12-02 09:00", "2026-12-02 09:45", ZONE),
    ("en", "tomorrow 9:00", "2026-12-02 09:00", "2026-12-02 10:00", ZONE),  # default duration
    ("en", "can we talk now?", "2026-12-01 10:00", "2026-12-01 11:00", ZONE),  # instant
]


@pytest.mark.parametrize(("language", "text", "start", "end", "zone"), ISSUE_FORMS)
def test_issue_forms(language: str, text: str, start: str, end: str, zone: str) -> None:
    assert span(read(text, language)) == (start, end, zone)


MORE_FORMS = [
    ("en", "February 3, 2027 at 2:30 pm", "2027-02-03 14:30", "2027-02-03 15:30"),
    ("en", "Dec 3rd at 3pm", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("en", "3rd of December at 15:00", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("en", "Thursday, December 3, 2026 3:00 PM - 4:00 PM", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("en", "the day after tomorrow at noon", "2026-12-03 12:00", "2026-12-03 13:00"),
    ("en", "tomorrow 9-10am", "2026-12-02 09:00", "2026-12-02 10:00"),
    ("en", "tomorrow 11-1pm", "2026-12-02 11:00", "2026-12-02 13:00"),
    ("en", "tomorrow from 2 to 3pm", "2026-12-02 14:00", "2026-12-02 15:00"),
    ("en", "tomorrow 3 in the afternoon", "2026-12-02 15:00", "2026-12-02 16:00"),
    ("en", "tonight at 8", "2026-12-01 20:00", "2026-12-01 21:00"),
    ("en", "tomorrow 23:00 until midnight", "2026-12-02 23:00", "2026-12-03 00:00"),
    ("en", "tomorrow 10:00 for an hour and a half", "2026-12-02 10:00", "2026-12-02 11:30"),
    ("en", "tomorrow 10:00 for half an hour", "2026-12-02 10:00", "2026-12-02 10:30"),
    ("en", "tomorrow 10:00, 1.5 hours", "2026-12-02 10:00", "2026-12-02 11:30"),
    ("en", "tomorrow 10:00 for 1 hour 15 minutes", "2026-12-02 10:00", "2026-12-02 11:15"),
    ("en", "in 2 days at 9:00", "2026-12-03 09:00", "2026-12-03 10:00"),
    ("en", "in 30 minutes", "2026-12-01 10:30", "2026-12-01 11:30"),
    ("en", "Call me at +41 79 123 45 67 tomorrow 10:00", "2026-12-02 10:00", "2026-12-02 11:00"),
    ("en", "Room 12, tomorrow 10:00, 3 people", "2026-12-02 10:00", "2026-12-02 11:00"),
    ("en", "this Tuesday 15:00", "2026-12-01 15:00", "2026-12-01 16:00"),
    ("en", "next Tuesday 15:00", "2026-12-08 15:00", "2026-12-08 16:00"),
    ("en", "14:00", "2026-12-01 14:00", "2026-12-01 15:00"),
    ("fr", "le 1er mars 2027 de 9h à 10h30", "2027-03-01 09:00", "2027-03-01 10:30"),
    ("fr", "le 3 déc. à 15h", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("fr", "demain 9h du matin", "2026-12-02 09:00", "2026-12-02 10:00"),
    ("fr", "ce soir à 8h", "2026-12-01 20:00", "2026-12-01 21:00"),
    ("fr", "demain 14h, 2 heures", "2026-12-02 14:00", "2026-12-02 16:00"),
    ("fr", "à 14 heures demain", "2026-12-02 14:00", "2026-12-02 15:00"),
    ("fr", "demain à 14h pendant 2 heures", "2026-12-02 14:00", "2026-12-02 16:00"),
    ("fr", "jeudi 10h-11h", "2026-12-03 10:00", "2026-12-03 11:00"),
    ("fr", "demain midi", "2026-12-02 12:00", "2026-12-02 13:00"),
    ("fr", "mercredi 2 décembre à 14h, une heure et demie", "2026-12-02 14:00", "2026-12-02 15:30"),
    ("fr", "dans 3 jours à 11h", "2026-12-04 11:00", "2026-12-04 12:00"),
    ("de", "am 3. Dez. um 15 Uhr", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("de", "Donnerstag, 3. Dezember 2026 15:00 - 16:00", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("de", "morgen um 9:00 am Haupteingang", "2026-12-02 09:00", "2026-12-02 10:00"),
    ("de", "morgen früh um 8", "2026-12-02 08:00", "2026-12-02 09:00"),
    ("de", "Guten Morgen! Heute 15 Uhr?", "2026-12-01 15:00", "2026-12-01 16:00"),
    ("de", "heute Nachmittag um 3", "2026-12-01 15:00", "2026-12-01 16:00"),
    ("de", "Mi., 2.12. 9:30 Uhr, anderthalb Stunden", "2026-12-02 09:30", "2026-12-02 11:00"),
    ("de", "morgen 9 Uhr 30", "2026-12-02 09:30", "2026-12-02 10:30"),
    ("de", "Montag nächste Woche 10 Uhr", "2026-12-07 10:00", "2026-12-07 11:00"),
    ("it", "3 dic alle 15", "2026-12-03 15:00", "2026-12-03 16:00"),
    ("it", "domani alle 3 del pomeriggio", "2026-12-02 15:00", "2026-12-02 16:00"),
    ("it", "stasera alle 8", "2026-12-01 20:00", "2026-12-01 21:00"),
    ("it", "tra le 10 e le 11 domani", "2026-12-02 10:00", "2026-12-02 11:00"),
    ("it", "domani alle 10.30, un quarto d'ora", "2026-12-02 10:30", "2026-12-02 10:45"),
    ("it", "domani a mezzogiorno, 2 ore", "2026-12-02 12:00", "2026-12-02 14:00"),
    ("it", "giovedì alle ore 15", "2026-12-03 15:00", "2026-12-03 16:00"),
    # a day of the month alone: the next one
    ("fr", "le 5 à 14h", "2026-12-05 14:00", "2026-12-05 15:00"),
    ("fr", "le 1er à 14h", "2026-12-01 14:00", "2026-12-01 15:00"),
    ("de", "Samstag, den 5. um 10 Uhr", "2026-12-05 10:00", "2026-12-05 11:00"),
    ("it", "il 5 alle 14", "2026-12-05 14:00", "2026-12-05 15:00"),
    ("en", "on the 30th at 2pm", "2026-12-30 14:00", "2026-12-30 15:00"),
]


@pytest.mark.parametrize(("language", "text", "start", "end"), MORE_FORMS)
def test_more_forms(language: str, text: str, start: str, end: str) -> None:
    assert span(read(text, language))[:2] == (start, end)


# --- numeric dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "start", "how"),
    [
        ("fr", "2027-04-03 10:00", "day first, French"),
        ("it", "2027-04-03 10:00", "day first, Italian"),
    ],
)
def test_slashed_dates_are_day_first_in_french_and_italian(
    language: str, start: str, how: str
) -> None:
    when = read("03/04/2027 10:00", language)
    assert f"{when.start:%Y-%m-%d %H:%M}" == start
    assert when.notes[0].text("en") == f'date "03/04/2027" read as Saturday, 3 April 2027 ({how})'


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_slashed_date_in_english_or_german_is_asked_about(language: str) -> None:
    # German writes dates with dots: "03/04/2027" in a German text is a foreign form.
    error = problem("03/04/2027 10:00", language)
    assert (error.code, error.choices, error.text) == (
        "ambiguous_date",
        (date(2027, 4, 3), date(2027, 3, 4)),
        "03/04/2027",
    )


@pytest.mark.parametrize(
    ("text", "day", "how"),
    [
        ("13/04/2027 10:00", "2027-04-13", "day first: no month 13+"),
        ("04/13/2027 10:00", "2027-04-13", "month first"),
        ("04/04/2027 10:00", "2027-04-04", "month first"),
        ("03.04.2027 10:00", "2027-04-03", "day first"),
    ],
)
def test_numeric_dates_in_english_that_say_which_is_the_day(text: str, day: str, how: str) -> None:
    when = read(text, "en")
    assert f"{when.start:%Y-%m-%d}" == day
    assert when.notes[0].text("en").endswith(f"({how})")


def test_a_date_without_a_year_is_the_next_one() -> None:
    assert f"{read('5 janvier à 10h', 'fr').start:%Y-%m-%d}" == "2027-01-05"
    assert f"{read('15.06. um 10 Uhr', 'de').start:%Y-%m-%d}" == "2027-06-15"
    assert read("5 janvier à 10h", "fr").notes[0].text("en") == (
        'date "5 janvier" read as Tuesday, 5 January 2027 (no year: 2027)'
    )


def test_a_date_without_a_year_that_just_went_by_is_past() -> None:
    error = problem("30 novembre à 10h", "fr")
    assert (error.code, error.understood.date) == ("past", date(2026, 11, 30))


def test_a_two_digit_year() -> None:
    assert f"{read('03.02.27 09:00', 'de').start:%Y-%m-%d}" == "2027-02-03"


# --- zones -------------------------------------------------------------------------------------


# Read with America/Chicago configured, so a zone read as Europe/Zurich was named.
ZONES_NAMED = [
    ("tomorrow 10:00 Europe/London", "Europe/London", "Europe/London"),
    ("tomorrow 10:00 London time", "Europe/London", "London time"),
    ("tomorrow 10:00 EST", "America/New_York", "EST"),
    ("tomorrow 10:00 PST", "America/Los_Angeles", "PST"),
    ("tomorrow 10:00 CET", ZONE, "CET"),
    ("morgen 10 Uhr MESZ", ZONE, "MESZ"),
    ("tomorrow 10:00 UTC", "UTC", "UTC"),
    ("tomorrow 10:00 GMT", "UTC", "GMT"),
    ("tomorrow 10:00 UTC+2", "Etc/GMT-2", "UTC+2"),
    ("tomorrow 10:00 New York time", "America/New_York", "New York time"),
    ("demain 10h heure de Londres", "Europe/London", "heure de Londres"),
    ("morgen 10 Uhr Londoner Zeit", "Europe/London", "Londoner Zeit"),
    ("domani alle 10 ora di Londra", "Europe/London", "ora di Londra"),
    ("tomorrow 10:00 Swiss time", ZONE, "Swiss time"),
]


@pytest.mark.parametrize(("text", "zone", "words"), ZONES_NAMED)
def test_zones_named_in_the_request(text: str, zone: str, words: str) -> None:
    when = read(text, default_zone="America/Chicago")
    assert (f"{when.start:%Y-%m-%d %H:%M}", when.zone, str(when.start.tzinfo)) == (
        "2026-12-02 10:00",
        zone,
        zone,
    )
    assert when.notes[0].text("en") == f'zone "{words}" read as {zone}'


def test_relative_days_are_read_in_the_named_zone() -> None:
    # 00:30 on 2 December in Zurich is still 1 December in New York.
    now = datetime(2026, 12, 2, 0, 30, tzinfo=ZoneInfo(ZONE))
    when = read("tomorrow 10am EST", now=now)
    assert when.start == datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def test_cet_is_the_configured_zone_when_it_keeps_central_european_time() -> None:
    assert read("tomorrow 10:00 CET", default_zone="Europe/Berlin").zone == "Europe/Berlin"
    assert read("tomorrow 10:00 CET", default_zone="Europe/London").zone == "Europe/Zurich"


def test_two_zones_are_asked_about() -> None:
    error = problem("tomorrow 10:00 EST or PST")
    assert (error.code, error.choices) == (
        "ambiguous_zone",
        ("America/Los_Angeles", "America/New_York"),
    )


def test_an_offset_that_no_zone_name_carries() -> None:
    assert problem("tomorrow 10:00 UTC+05:45").code == "unknown_zone"


# --- what is asked about ------------------------------------------------------------------------


def test_a_bare_weekday_that_is_today_is_asked_about() -> None:
    error = problem("Tuesday 15:00")
    assert (error.code, error.choices) == ("ambiguous_date", (date(2026, 12, 1), date(2026, 12, 8)))


def test_a_bare_weekday_is_the_next_one() -> None:
    assert f"{read('Monday 15:00').start:%Y-%m-%d}" == "2026-12-07"
    assert f"{read('Wednesday 15:00').start:%Y-%m-%d}" == "2026-12-02"


@pytest.mark.parametrize("text", ["tomorrow at 4", "tomorrow 4:30", "demain à 4h", "morgen um 4"])
def test_an_early_hour_without_am_pm_is_asked_about(text: str) -> None:
    error = problem(text)
    assert error.code == "ambiguous_time"
    assert len(error.choices) == 2 and error.choices[1].hour == error.choices[0].hour + 12  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("tomorrow 04:00", "04:00"),
        ("tomorrow 4am", "04:00"),
        ("tomorrow 4pm", "16:00"),
        ("tomorrow at 7", "07:00"),
        ("tomorrow 16h", "16:00"),
    ],
)
def test_early_hours_that_say_which(text: str, start: str) -> None:
    assert f"{read(text).start:%H:%M}" == start


def test_a_time_without_a_date_is_today_while_ahead() -> None:
    when = read("14:00")
    assert f"{when.start:%Y-%m-%d %H:%M}" == "2026-12-01 14:00"
    assert when.notes[0].text("en") == "no date: today, Tuesday, 1 December 2026"


def test_a_time_without_a_date_that_has_passed_is_asked_about() -> None:
    error = problem("9:00")
    assert (error.code, error.understood.start) == ("no_date", time(9, 0))


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("tomorrow", "en", "no_time"),
        ("lundi prochain", "fr", "no_time"),
        ("this afternoon", "en", "no_time"),
        ("next week", "en", "vague"),
        ("nächste Woche um 10 Uhr", "de", "vague"),
        ("in the afternoon", "en", "vague"),
        ("in marzo", "it", "vague"),
        ("tomorrow 10:00 or Thursday 11:00", "en", "ambiguous_date"),
        ("tomorrow 14:00 or 15:00", "en", "ambiguous_time"),
        ("tomorrow 10:00, 30 minutes or 45 minutes", "en", "ambiguous_duration"),
        ("tomorrow 9:00-10:00 for 30 minutes", "en", "conflicting_end"),
        ("Monday, 3 February 2027 9:00", "en", "weekday_mismatch"),
        ("Freitag, den 5. um 10 Uhr", "de", "weekday_mismatch"),
        ("31.02.2027 10:00", "de", "invalid_date"),
        ("domani alle 25:00", "it", "invalid_time"),
        ("tomorrow 10:00-9:00", "en", "end_before_start"),
        ("tomorrow 23:00-00:30", "en", "end_before_start"),
        ("tomorrow 10:00 for 25 hours", "en", "too_long"),
        ("2027-03-28 02:30", "en", "no_such_time"),
        ("yesterday 10:00", "en", "past"),
        ("2026-12-01 09:59", "en", "past"),
        ("hier à 10h", "fr", "past"),
    ],
)
def test_problems(text: str, language: str, code: str) -> None:
    assert problem(text, language).code == code


def test_a_start_this_minute_is_not_past() -> None:
    now = datetime(2026, 12, 1, 10, 0, 40, tzinfo=ZoneInfo(ZONE))
    assert f"{read('2026-12-01 10:00', now=now).start:%H:%M}" == "10:00"


def test_a_weekday_that_agrees_with_its_date() -> None:
    when = read("Wednesday, 3 February 2027 9:00")
    assert (
        when.notes[0].text("en")
        == 'date "Wednesday, 3 February 2027" read as Wednesday, 3 February 2027'
    )


def test_a_problem_keeps_what_was_understood() -> None:
    error = problem("demain 14h ou 15h, 45 minutes", "fr")
    assert error.code == "ambiguous_time"
    assert (error.understood.date, error.understood.duration, error.choices) == (
        date(2026, 12, 2),
        45,
        (time(14, 0), time(15, 0)),
    )


def test_german_hier_is_here() -> None:
    assert f"{read('hier morgen um 10 Uhr', 'de').start:%Y-%m-%d}" == "2026-12-02"


def test_a_fold_back_hour_is_its_first_occurrence() -> None:
    when = read("2027-10-31 02:30")  # happens twice in Zurich that night
    assert when.start.utcoffset() == datetime(2027, 10, 30, tzinfo=ZoneInfo(ZONE)).utcoffset()


# --- writing dates back -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "plain", "with_weekday"),
    [
        ("en", "3 February 2027", "Wednesday, 3 February 2027"),
        ("fr", "3 février 2027", "mercredi 3 février 2027"),
        ("de", "3. Februar 2027", "Mittwoch, 3. Februar 2027"),
        ("it", "3 febbraio 2027", "mercoledì 3 febbraio 2027"),
    ],
)
def test_write_date(language: str, plain: str, with_weekday: str) -> None:
    assert write_date(date(2027, 2, 3), language) == plain
    assert write_date(date(2027, 2, 3), language, weekday=True) == with_weekday


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "tomorrow 09:00", "tomorrow 09:00–09:45"),
        ("fr", "demain à 09:00", "demain de 09:00 à 09:45"),
        ("de", "morgen 09:00 Uhr", "morgen von 09:00 bis 09:45 Uhr"),
        ("it", "domani alle 09:00", "domani dalle 09:00 alle 09:45"),
    ],
)
def test_written_examples_read_back(language: str, one: str, two: str) -> None:
    day = {"en": "tomorrow", "fr": "demain", "de": "morgen", "it": "domani"}[language]
    assert write_when(language, day, time(9, 0)) == one
    assert write_when(language, day, time(9, 0), time(9, 45)) == two
    assert span(read(one, language))[:2] == ("2026-12-02 09:00", "2026-12-02 10:00")
    assert span(read(two, language))[:2] == ("2026-12-02 09:00", "2026-12-02 09:45")
