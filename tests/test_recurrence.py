"""Recurrence rules in words: exact phrases, table-driven."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kmeet_bridge.replies import recurrence
from kmeet_bridge.replies.recurrence import describe_rule

ZURICH = ZoneInfo("Europe/Zurich")
# Monday 1 March 2027, 10:00 in Zurich (UTC+1; summer time from 28 March).
MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=ZURICH)


def at(hour: int, minute: int = 0, day: int = 1, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=ZURICH)


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        # weekly
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=10", MONDAY, "every Monday at 10:00, 10 times"),
        ("FREQ=WEEKLY", MONDAY, "every Monday at 10:00"),
        ("FREQ=WEEKLY;INTERVAL=1;WKST=SU", MONDAY, "every Monday at 10:00"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270630T215959Z",
            at(9, 30),
            "every 2 weeks on Monday and Wednesday at 09:30, until 30 June 2027",
        ),
        ("FREQ=WEEKLY;INTERVAL=3", MONDAY, "every 3 weeks on Monday at 10:00"),
        (
            "FREQ=WEEKLY;BYDAY=FR,MO,WE",
            MONDAY,
            "every Monday, Wednesday and Friday at 10:00",
        ),
        ("FREQ=WEEKLY;BYDAY=SA,SU", at(11, day=6), "every Saturday and Sunday at 11:00"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", at(9), "every weekday at 09:00"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", at(9), "every weekday at 09:00"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU", at(9), "every day at 09:00"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR",
            at(9),
            "every 2 weeks on Monday, Tuesday, Wednesday, Thursday and Friday at 09:00",
        ),
        # daily
        ("FREQ=DAILY", at(8), "every day at 08:00"),
        ("FREQ=DAILY;INTERVAL=2;COUNT=5", at(8), "every 2 days at 08:00, 5 times"),
        ("FREQ=DAILY;COUNT=1", at(8), "every day at 08:00, once"),
        # monthly
        ("FREQ=MONTHLY", at(14, day=15), "every month on the 15th at 14:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", at(14, day=15), "every month on the 15th at 14:00"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,2,3",
            at(14),
            "every month on the 1st, the 2nd and the 3rd at 14:00",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=11,22",
            at(14, day=11),
            "every month on the 11th and the 22nd at 14:00",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", at(17, day=31), "every month on the last day at 17:00"),
        ("FREQ=MONTHLY;BYDAY=1TU", at(10, day=2), "every month on the first Tuesday at 10:00"),
        (
            "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1",
            at(10, day=2),
            "every month on the first Tuesday at 10:00",
        ),
        ("FREQ=MONTHLY;BYDAY=-1FR", at(16, day=26), "every month on the last Friday at 16:00"),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYDAY=+2WE,4WE",
            at(10, day=10),
            "every 3 months on the second Wednesday and the fourth Wednesday at 10:00",
        ),
        # yearly
        ("FREQ=YEARLY", at(10, day=3, month=2), "every year on 3 February at 10:00"),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=3",
            at(10, day=3, month=2),
            "every year on 3 February at 10:00",
        ),
        ("FREQ=YEARLY;BYMONTH=2", at(10, day=3, month=2), "every year on 3 February at 10:00"),
        (
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            at(10, day=28),
            "every year on the last Sunday of March at 10:00",
        ),
        (
            "FREQ=YEARLY;INTERVAL=2;COUNT=3",
            at(10, day=3, month=2),
            "every 2 years on 3 February at 10:00, 3 times",
        ),
        # names and values are case-insensitive; an "RRULE:" prefix is tolerated
        ("freq=weekly;byday=mo;count=2", MONDAY, "every Monday at 10:00, 2 times"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", MONDAY, "every Monday at 10:00"),
        # a BYHOUR/BYMINUTE that repeats the start's time says nothing new
        ("FREQ=DAILY;BYHOUR=8;BYMINUTE=0", at(8), "every day at 08:00"),
        # RDATE only
        ("", MONDAY, "on several dates"),
        ("  ", MONDAY, "on several dates"),
    ],
)
def test_describe_rule(rule: str, start: datetime, expected: str) -> None:
    assert describe_rule(rule, start) == expected


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        # 30 June 21:59:59 UTC is 23:59:59 in Zurich: still 30 June there.
        ("20270630T215959Z", "until 30 June 2027"),
        # 30 June 22:30 UTC is already 1 July in Zurich.
        ("20270630T223000Z", "until 1 July 2027"),
        # Local and date-only values are on the meeting's calendar already.
        ("20270630T235959", "until 30 June 2027"),
        ("20270630", "until 30 June 2027"),
    ],
)
def test_until_is_a_date_in_the_meetings_zone(until: str, expected: str) -> None:
    assert (
        describe_rule(f"FREQ=WEEKLY;UNTIL={until}", MONDAY) == f"every Monday at 10:00, {expected}"
    )


def test_until_in_new_york() -> None:
    start = datetime(2027, 3, 1, 18, 0, tzinfo=ZoneInfo("America/New_York"))
    # 1 July 03:00 UTC is still 30 June in New York.
    assert (
        describe_rule("FREQ=DAILY;UNTIL=20270701T030000Z", start)
        == "every day at 18:00, until 30 June 2027"
    )


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY",
        "FREQ=MINUTELY;INTERVAL=15",
        "FREQ=SECONDLY",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=DAILY;BYHOUR=11",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;BYMONTHDAY=15;BYSETPOS=1",
        "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1",
        "FREQ=MONTHLY;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=-3MO",
        "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
        "FREQ=MONTHLY;BYMONTHDAY=-2",
        "FREQ=MONTHLY;BYMONTH=1,7",
        "FREQ=YEARLY;BYMONTH=1,7",
        "FREQ=YEARLY;BYMONTHDAY=15",
        "FREQ=YEARLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO,FR",
        "FREQ=DAILY;BYMONTH=7",
        "FREQ=WEEKLY;COUNT=3;UNTIL=20270630",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=WEEKLY;UNTIL=20271340",
        "FREQ=WEEKLY;UNTIL=soon",
        "FREQ=WEEKLY;X-NAME=1",
        "FREQ=WEEKLY;FREQ=DAILY",
        "FREQ=FORTNIGHTLY",
        "BYDAY=MO",
        "garbage",
    ],
)
def test_intricate_rules_are_quoted(rule: str) -> None:
    assert describe_rule(rule, MONDAY) == f"according to the rule {rule}"


def test_quoted_rule_is_one_short_line() -> None:
    rule = "FREQ=HOURLY;\n  INTERVAL=2;" + "X" * 300
    shown = describe_rule(rule, MONDAY)
    assert shown.startswith("according to the rule FREQ=HOURLY; INTERVAL=2;XXX")
    assert shown.endswith("X…")
    assert "\n" not in shown
    assert len(shown) == len("according to the rule ") + 200


@pytest.mark.parametrize("language", ["xx", "", None, "english"])
def test_unknown_language_falls_back_to_english(language: str | None) -> None:
    assert describe_rule("FREQ=DAILY", at(8), language=language) == "every day at 08:00"


@pytest.mark.parametrize("language", ["fr-CH", "FR", "fr_ch", " fr "])
def test_language_tags_are_read_for_their_language(language: str) -> None:
    assert describe_rule("FREQ=DAILY", at(8), language=language) == "tous les jours à 08:00"


def test_every_weekday_is_named_from_cldr_in_every_language() -> None:
    """Names come from CLDR (wording.weekday_name), the phrases from the catalogs;
    tests/test_wording.py checks that every catalog holds every phrase."""
    names = {
        "en": "Sunday",
        "fr": "le dimanche",
        "de": "sonntags",
        "it": "la domenica",
    }
    for language, name in names.items():
        text = describe_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU", at(8), language=language)
        assert name in text, (language, text)


# --- French, German, Italian ---------------------------------------------------------

# (rule, start, French, German, Italian)
IN_OTHER_LANGUAGES = [
    (
        "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
        MONDAY,
        "chaque lundi à 10:00, 10 fois",
        "jeden Montag um 10:00 Uhr, insgesamt 10 Termine",
        "ogni lunedì alle 10:00, 10 incontri in tutto",
    ),
    (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270630T215959Z",
        at(9, 30),
        "toutes les 2 semaines le lundi et le mercredi à 09:30, jusqu’au 30 juin 2027",
        "alle 2 Wochen montags und mittwochs um 09:30 Uhr, bis zum 30. Juni 2027",
        "ogni 2 settimane il lunedì e il mercoledì alle 09:30, fino al 30 giugno 2027",
    ),
    (
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU",
        at(10, day=7),
        "toutes les 3 semaines le dimanche à 10:00",
        "alle 3 Wochen sonntags um 10:00 Uhr",
        "ogni 3 settimane la domenica alle 10:00",
    ),
    (
        "FREQ=WEEKLY;BYDAY=FR,MO,WE",
        MONDAY,
        "chaque lundi, mercredi et vendredi à 10:00",
        "jeden Montag, Mittwoch und Freitag um 10:00 Uhr",
        "ogni lunedì, mercoledì e venerdì alle 10:00",
    ),
    (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        at(9),
        "du lundi au vendredi à 09:00",
        "montags bis freitags um 09:00 Uhr",
        "dal lunedì al venerdì alle 09:00",
    ),
    (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
        at(9),
        "tous les jours à 09:00",
        "täglich um 09:00 Uhr",
        "ogni giorno alle 09:00",
    ),
    (
        "FREQ=DAILY;INTERVAL=2;COUNT=5",
        at(8),
        "tous les 2 jours à 08:00, 5 fois",
        "alle 2 Tage um 08:00 Uhr, insgesamt 5 Termine",
        "ogni 2 giorni alle 08:00, 5 incontri in tutto",
    ),
    (
        "FREQ=DAILY;COUNT=1",
        at(8),
        "tous les jours à 08:00, une fois",
        "täglich um 08:00 Uhr, ein einziger Termin",
        "ogni giorno alle 08:00, un solo incontro",
    ),
    (
        "FREQ=MONTHLY",
        at(14, day=15),
        "tous les mois le 15 à 14:00",
        "jeden Monat am 15. um 14:00 Uhr",
        "ogni mese il 15 alle 14:00",
    ),
    (
        "FREQ=MONTHLY;BYMONTHDAY=1,8,11",
        at(14),
        "tous les mois le 1er, le 8 et le 11 à 14:00",
        "jeden Monat am 1., 8. und 11. um 14:00 Uhr",
        "ogni mese il 1º, l’8 e l’11 alle 14:00",
    ),
    (
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=-1",
        at(17, day=31),
        "tous les 2 mois le dernier jour à 17:00",
        "alle 2 Monate am letzten Tag um 17:00 Uhr",
        "ogni 2 mesi l’ultimo giorno alle 17:00",
    ),
    (
        "FREQ=MONTHLY;BYDAY=1TU",
        at(10, day=2),
        "tous les mois le premier mardi à 10:00",
        "jeden Monat am ersten Dienstag um 10:00 Uhr",
        "ogni mese il primo martedì alle 10:00",
    ),
    (
        "FREQ=MONTHLY;BYDAY=-1FR",
        at(16, day=26),
        "tous les mois le dernier vendredi à 16:00",
        "jeden Monat am letzten Freitag um 16:00 Uhr",
        "ogni mese l’ultimo venerdì alle 16:00",
    ),
    (
        "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-2",
        at(10, day=21),
        "tous les mois l’avant-dernier dimanche à 10:00",
        "jeden Monat am vorletzten Sonntag um 10:00 Uhr",
        "ogni mese la penultima domenica alle 10:00",
    ),
    (
        "FREQ=MONTHLY;INTERVAL=3;BYDAY=+2WE,4WE",
        at(10, day=10),
        "tous les 3 mois le deuxième mercredi et le quatrième mercredi à 10:00",
        "alle 3 Monate am zweiten Mittwoch und vierten Mittwoch um 10:00 Uhr",
        "ogni 3 mesi il secondo mercoledì e il quarto mercoledì alle 10:00",
    ),
    (
        "FREQ=YEARLY",
        at(10, day=3, month=2),
        "tous les ans le 3 février à 10:00",
        "jedes Jahr am 3. Februar um 10:00 Uhr",
        "ogni anno il 3 febbraio alle 10:00",
    ),
    (
        "FREQ=YEARLY;INTERVAL=2;BYMONTH=8;BYMONTHDAY=1;COUNT=3",
        at(10, day=1, month=8),
        "tous les 2 ans le 1er août à 10:00, 3 fois",
        "alle 2 Jahre am 1. August um 10:00 Uhr, insgesamt 3 Termine",
        "ogni 2 anni il 1º agosto alle 10:00, 3 incontri in tutto",
    ),
    (
        "FREQ=YEARLY;BYMONTH=8;BYMONTHDAY=11",
        at(10, day=11, month=8),
        "tous les ans le 11 août à 10:00",
        "jedes Jahr am 11. August um 10:00 Uhr",
        "ogni anno l’11 agosto alle 10:00",
    ),
    (
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        at(10, day=28),
        "tous les ans le dernier dimanche de mars à 10:00",
        "jedes Jahr am letzten Sonntag im März um 10:00 Uhr",
        "ogni anno l’ultima domenica di marzo alle 10:00",
    ),
    (
        "FREQ=YEARLY;BYMONTH=10;BYDAY=1SU",
        at(10, day=3, month=10),
        "tous les ans le premier dimanche d’octobre à 10:00",
        "jedes Jahr am ersten Sonntag im Oktober um 10:00 Uhr",
        "ogni anno la prima domenica di ottobre alle 10:00",
    ),
    (
        "FREQ=WEEKLY;UNTIL=20270801",
        MONDAY,
        "chaque lundi à 10:00, jusqu’au 1er août 2027",
        "jeden Montag um 10:00 Uhr, bis zum 1. August 2027",
        "ogni lunedì alle 10:00, fino al 1º agosto 2027",
    ),
    (
        "FREQ=WEEKLY;UNTIL=20270808",
        MONDAY,
        "chaque lundi à 10:00, jusqu’au 8 août 2027",
        "jeden Montag um 10:00 Uhr, bis zum 8. August 2027",
        "ogni lunedì alle 10:00, fino all’8 agosto 2027",
    ),
    (
        "FREQ=WEEKLY;UNTIL=20271111",
        MONDAY,
        "chaque lundi à 10:00, jusqu’au 11 novembre 2027",
        "jeden Montag um 10:00 Uhr, bis zum 11. November 2027",
        "ogni lunedì alle 10:00, fino all’11 novembre 2027",
    ),
    ("", MONDAY, "à plusieurs dates", "an mehreren Terminen", "in più date"),
    (
        "FREQ=HOURLY",
        MONDAY,
        "selon la règle FREQ=HOURLY",
        "nach der Regel FREQ=HOURLY",
        "secondo la regola FREQ=HOURLY",
    ),
]


@pytest.mark.parametrize(
    ("rule", "start", "language", "expected"),
    [
        pytest.param(rule, start, language, expected, id=f"{language}-{rule or 'RDATE'}")
        for rule, start, *phrases in IN_OTHER_LANGUAGES
        for language, expected in zip(("fr", "de", "it"), phrases, strict=True)
    ],
)
def test_describe_rule_in_other_languages(
    rule: str, start: datetime, language: str, expected: str
) -> None:
    assert describe_rule(rule, start, language) == expected


def test_format_date_writes_the_first_of_the_month_as_an_ordinal() -> None:
    first = datetime(2027, 7, 1).date()
    assert recurrence.format_date(first) == "1 July 2027"
    assert recurrence.format_date(first, "fr") == "1er juillet 2027"
    assert recurrence.format_date(first, "de") == "1. Juli 2027"
    assert recurrence.format_date(first, "it") == "1º luglio 2027"
    assert recurrence.format_date(first.replace(day=2), "fr") == "2 juillet 2027"


def test_lists_in_each_language() -> None:
    items = ["a", "b", "c"]
    assert recurrence.join_list(items) == "a, b and c"
    assert recurrence.join_list(items, "fr") == "a, b et c"
    assert recurrence.join_list(items, "de") == "a, b und c"
    assert recurrence.join_list(items, "it") == "a, b e c"
