"""Reading an answer to the bridge's reply (issue 18): cancel, move, change the
length, add people or room options, acknowledgements and wishes not understood,
in English, French, German and Italian. Pure: no servers.

The meeting answered is Tuesday 8 December 2026, 14:00-15:00 Zurich time,
with anna@example.com and bob@example.com; the present is Monday 7 December
2026, 09:15 Zurich time, unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeet_bridge.models import Note, RoomOptions
from kmeet_bridge.requests import thread_answers
from kmeet_bridge.requests.requests import MAX_LINE_CHARS, REQUEST_LINES, RequestProblem
from kmeet_bridge.requests.thread_answers import (
    CancelIt,
    ChangeIt,
    MeetingNow,
    NotUnderstood,
    Thanks,
    read_answer,
)
from tests.support.request_cases import load_script

ROOT = Path(__file__).resolve().parent.parent
ZURICH = ZoneInfo("Europe/Zurich")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZURICH)


score_answers = load_script("score_answers")


def at(day: int, hour: int, minute: int = 0, zone: ZoneInfo = ZURICH) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=zone)


START, END = at(8, 14), at(8, 15)


def meeting(start: datetime = START, end: datetime = END, language: str = "en") -> MeetingNow:
    return MeetingNow(
        title="Budget review",
        start=start,
        end=end,
        timezone="Europe/Zurich",
        attendees=("anna@example.com", "bob@example.com"),
        options=RoomOptions(),
        language=language,
    )


def read(text: str, now: datetime = NOW, **changes: object) -> object:
    return read_answer(text, meeting=meeting(**changes), now=now)  # type: ignore[arg-type]


def change(text: str, now: datetime = NOW, **changes: object) -> ChangeIt:
    answer = read(text, now, **changes)
    assert isinstance(answer, ChangeIt), answer
    return answer


def problem(text: str, now: datetime = NOW, **changes: object) -> RequestProblem:
    with pytest.raises(RequestProblem) as caught:
        read(text, now, **changes)
    return caught.value


# --- cancel ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("cancel", "en"),
        ("please cancel", "en"),
        ("cancel the meeting", "en"),
        ("Sorry, we have to call it off.", "en"),
        ("annuler", "fr"),
        ("annulez svp", "fr"),
        ("Merci d'annuler la réunion", "fr"),
        ("absagen", "de"),
        ("bitte absagen", "de"),
        ("stornieren", "de"),
        ("Der Termin fällt leider aus", "de"),
        ("annulla", "it"),
        ("annullare per favore", "it"),
        ("disdire", "it"),
        ("Dobbiamo cancellare la riunione", "it"),
    ],
)
def test_a_cancel_word_cancels_in_its_language(text: str, language: str) -> None:
    assert read(text) == CancelIt(language)


def test_the_answer_is_read_above_the_quoted_reply() -> None:
    text = "Cancel please\n\nOn Mon, 7 Dec 2026 at 09:00, meet@example.com wrote:\n> moved to 16:00"
    assert read(text) == CancelIt("en")


@pytest.mark.parametrize(
    ("text", "written", "meant", "language"),
    [
        ("Cancle please", "Cancle", "cancel", "en"),
        ("Annluer svp", "Annluer", "annuler", "fr"),
        ("Bitte asbagen", "asbagen", "absagen", "de"),
        ("Anulla per favore", "Anulla", "annulla", "it"),
    ],
)
def test_a_misspelt_cancel_is_read_and_noted(
    text: str, written: str, meant: str, language: str
) -> None:
    note = Note("corrected_word", (("text", written), ("word", meant)))
    assert read(text) == CancelIt(language, (note,))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Could you cancel tomorrow's call?", "en"),
        ("Pourriez-vous annuler la réunion de demain ?", "fr"),
        ("Können Sie den Termin morgen absagen?", "de"),
        ("Potete annullare la riunione di martedì?", "it"),
    ],
)
def test_a_cancel_naming_the_meetings_day_cancels(text: str, language: str) -> None:
    assert read(text) == CancelIt(language)


def test_a_cancel_naming_another_day_is_not_understood() -> None:
    assert read("Cancel Friday's call") == NotUnderstood("en", "cancel_and_move")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cancel, or maybe move to Friday?", "cancel_and_move"),
        ("annuler et ajouter carl@example.net", "cancel_and_move"),
        ("Absagen oder auf Freitag verschieben?", "cancel_and_move"),
        ("Annullare o spostare a venerdì?", "cancel_and_move"),
        ("Don't cancel, it is fine", "change_unclear"),
        ("Should we cancel?", "change_unclear"),
        ("Ne l'annulez pas", "change_unclear"),
        ("Bitte nicht absagen", "change_unclear"),
        ("Non annullare", "change_unclear"),
    ],
)
def test_a_cancel_beside_a_change_or_in_doubt_is_not_understood(text: str, code: str) -> None:
    answer = read(text)
    assert isinstance(answer, NotUnderstood)
    assert answer.code == code


# --- move -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "language"),
    [
        ("move to 15:00", at(8, 15), at(8, 16), "en"),
        ("tomorrow 10am instead", at(8, 10), at(8, 11), "en"),
        ("Reschedule to Friday at 9:00", at(11, 9), at(11, 10), "en"),
        ("plutôt jeudi 10h", at(10, 10), at(10, 11), "fr"),
        ("Déplacer à 16h30", at(8, 16, 30), at(8, 17, 30), "fr"),
        ("auf Freitag 9 Uhr verschieben", at(11, 9), at(11, 10), "de"),
        ("Lieber am 10. Dezember um 11 Uhr", at(10, 11), at(10, 12), "de"),
        ("spostiamo alle 16", at(8, 16), at(8, 17), "it"),
        ("Meglio mercoledì alle 11", at(9, 11), at(9, 12), "it"),
    ],
)
def test_a_move_keeps_the_length_and_the_zone(
    text: str, start: datetime, end: datetime, language: str
) -> None:
    answer = change(text)
    assert (answer.start, answer.end, answer.timezone) == (start, end, "Europe/Zurich")
    assert answer.language == language
    assert answer.add_attendees == ()
    assert answer.options == RoomOptions()


def test_a_time_without_a_date_keeps_the_meetings_day_not_today() -> None:
    answer = change("move to 15:00", start=at(11, 14), end=at(11, 15, 30))
    assert (answer.start, answer.end) == (at(11, 15), at(11, 16, 30))
    assert Note("kept_day", (("day", "2026-12-11"),)) in answer.notes


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Can we move it to Thursday?", at(10, 14), at(10, 15, 30)),
        ("le 10 décembre plutôt", at(10, 14), at(10, 15, 30)),
        ("Lieber Freitag", at(11, 14), at(11, 15, 30)),
        ("Possiamo spostarla a giovedì?", at(10, 14), at(10, 15, 30)),
    ],
)
def test_a_date_without_a_time_keeps_the_meetings_start_time_and_length(
    text: str, start: datetime, end: datetime
) -> None:
    answer = change(text, start=at(8, 14), end=at(8, 15, 30))
    assert (answer.start, answer.end) == (start, end)
    assert Note("kept_time", (("time", "14:00"),)) in answer.notes


def test_a_named_zone_is_the_meetings_new_zone() -> None:
    answer = change("Move to 9am London time")
    assert (answer.start, answer.end, answer.timezone) == (
        at(8, 9, zone=LONDON),
        at(8, 10, zone=LONDON),
        "Europe/London",
    )
    assert answer.start == at(8, 10)  # 10:00 in Zurich


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("30 minutes later", at(8, 14, 30), at(8, 15, 30)),
        ("une heure plus tard", at(8, 15), at(8, 16)),
        ("eine Stunde früher", at(8, 13), at(8, 14)),
        ("mezz'ora più tardi", at(8, 14, 30), at(8, 15, 30)),
    ],
)
def test_a_shift_moves_start_and_end(text: str, start: datetime, end: datetime) -> None:
    answer = change(text)
    assert (answer.start, answer.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("push it back an hour", at(8, 15), at(8, 16)),
        ("Avancer d'une heure", at(8, 13), at(8, 14)),
        ("um eine Stunde vorziehen", at(8, 13), at(8, 14)),
        ("Eine Stunde nach hinten schieben", at(8, 15), at(8, 16)),
        ("Posticipare di un'ora", at(8, 15), at(8, 16)),
        ("Postpone by a week", at(15, 14), at(15, 15)),
        ("une semaine plus tard", at(15, 14), at(15, 15)),
        ("eine Woche später", at(15, 14), at(15, 15)),
        ("rimandare di una settimana", at(15, 14), at(15, 15)),
    ],
)
def test_a_shift_by_a_length_or_a_week(text: str, start: datetime, end: datetime) -> None:
    answer = change(text)
    assert (answer.start, answer.end) == (start, end)


@pytest.mark.parametrize(
    "text",
    [
        "Let's move it to next Tuesday, same time",
        "Mardi prochain même heure",
        "Nächsten Dienstag, gleiche Zeit",
        "Martedì prossimo stessa ora",
    ],
)
def test_next_weekday_naming_the_meetings_own_day_is_asked_back(text: str) -> None:
    asked = problem(text)
    assert asked.code == "ambiguous_date"
    assert dict(asked.params)["choices"] == "2026-12-08|2026-12-15"


def test_a_part_of_the_day_must_fit_the_kept_start_time() -> None:
    answer = change("Thursday afternoon")  # 14:00 is in the afternoon
    assert (answer.start, answer.end) == (at(10, 14), at(10, 15))
    assert problem("Thursday morning").code == "vague"


@pytest.mark.parametrize(
    "text", ["move to 3", "Déplacer à 3h", "Auf 3 Uhr verschieben", "Spostare alle 3"]
)
def test_a_bare_early_hour_is_asked_back_when_both_readings_are_ahead(text: str) -> None:
    asked = problem(text)
    assert asked.code == "ambiguous_time"
    assert dict(asked.params)["choices"] == "03:00|15:00"
    assert dict(asked.params)["date"] == "2026-12-08"


def test_a_bare_early_hour_is_read_when_only_one_reading_is_ahead() -> None:
    answer = change("move to 3", start=at(7, 14), end=at(7, 15))  # the meeting is today
    assert (answer.start, answer.end) == (at(7, 15), at(7, 16))
    assert Note("one_reading_ahead", (("other", "03:00"), ("text", "3"), ("time", "15:00"))) in (
        answer.notes
    )


@pytest.mark.parametrize(
    "text", ["move to 3pm", "à 3h de l'après-midi", "um 3 Uhr nachmittags", "alle 3 del pomeriggio"]
)
def test_a_part_of_the_day_says_which_hour(text: str) -> None:
    answer = change(text)
    assert (answer.start, answer.end) == (at(8, 15), at(8, 16))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Move to yesterday 10:00", "past"),
        ("Déplacer à hier 10h", "past"),
        ("Move to 10:00 or 11:00", "ambiguous_time"),
        ("Jeudi 10h ou 11h ?", "ambiguous_time"),
        ("next week at 10", "vague"),
        ("move to 25:00", "invalid_time"),
    ],
)
def test_a_time_that_cannot_be_planned_is_asked_back_as_for_requests(text: str, code: str) -> None:
    assert problem(text).code == code


def test_a_past_time_on_the_meetings_day_is_asked_back() -> None:
    asked = problem("move to 08:00", start=at(7, 14), end=at(7, 15))
    assert asked.code == "past"
    assert asked.language == "en"


def test_a_problem_is_worded_in_the_answers_language() -> None:
    asked = problem("Spostare alle 3")
    assert asked.language == "it"
    assert "03:00" in asked.reason and "15:00" in asked.reason


# --- length ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end", "language"),
    [
        ("30 minutes longer", at(8, 15, 30), "en"),
        ("until 16:30", at(8, 16, 30), "en"),
        ("Extend by 15 minutes please", at(8, 15, 15), "en"),
        ("make it 90 minutes", at(8, 15, 30), "en"),
        ("shorter: 30 min", at(8, 14, 30), "en"),
        ("une heure de plus", at(8, 16), "fr"),
        ("jusqu'à 16h30", at(8, 16, 30), "fr"),
        ("30 minutes de moins", at(8, 14, 30), "fr"),
        ("15 Minuten länger", at(8, 15, 15), "de"),
        ("bis 17 Uhr", at(8, 17), "de"),
        ("Nur 45 Minuten bitte", at(8, 14, 45), "de"),
        ("mezz'ora in più", at(8, 15, 30), "it"),
        ("fino alle 16", at(8, 16), "it"),
        ("30 minuti in meno", at(8, 14, 30), "it"),
    ],
)
def test_a_new_length_or_end_keeps_the_start(text: str, end: datetime, language: str) -> None:
    answer = change(text)
    assert (answer.start, answer.end, answer.timezone) == (at(8, 14), end, "Europe/Zurich")
    assert answer.language == language


def test_an_end_before_noon_for_a_morning_meeting() -> None:
    answer = change("fino alle 12", start=at(8, 10), end=at(8, 11))
    assert (answer.start, answer.end) == (at(8, 10), at(8, 12))


def test_an_end_before_the_start_is_asked_back() -> None:
    assert problem("fino alle 12").code == "end_before_start"
    assert problem("60 minutes shorter").code == "end_before_start"


def test_a_meeting_under_way_can_be_lengthened() -> None:
    answer = change("15 minutes longer", now=at(8, 14, 20))
    assert (answer.start, answer.end) == (at(8, 14), at(8, 15, 15))


def test_a_move_and_a_new_length_together() -> None:
    answer = change("Friday 10:00 for 90 minutes")
    assert (answer.start, answer.end) == (at(11, 10), at(11, 11, 30))


def test_a_length_without_a_cue_is_not_a_length() -> None:
    assert read("I'll be 5 minutes late") == NotUnderstood("en", "change_unclear")


# --- people and options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "added", "language"),
    [
        ("add carl@example.net", ("carl@example.net",), "en"),
        ("ajouter dora@example.org", ("dora@example.org",), "fr"),
        ("bitte x@example.com einladen", ("x@example.com",), "de"),
        ("aggiungi y@example.org", ("y@example.org",), "it"),
        (
            "Please also invite bob@example.com, carl@example.net and Carl@example.net",
            ("carl@example.net",),
            "en",
        ),
    ],
)
def test_addresses_are_added_once_and_not_again(
    text: str, added: tuple[str, ...], language: str
) -> None:
    answer = change(text)
    assert answer.add_attendees == added
    assert (answer.start, answer.end, answer.language) == (at(8, 14), at(8, 15), language)


def test_removing_someone_is_not_understood() -> None:
    assert read("remove bob@example.com") == NotUnderstood("en", "change_unclear")


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("add a password", RoomOptions(password_enabled=True)),
        ("with lobby", RoomOptions(lobby_enabled=True)),
        ("sans enregistrement", RoomOptions(enable_recording=False)),
        ("mit Warteraum", RoomOptions(lobby_enabled=True)),
        ("senza password", RoomOptions(password_enabled=False)),
    ],
)
def test_room_options_are_only_what_the_answer_asks(text: str, options: RoomOptions) -> None:
    answer = change(text)
    assert answer.options == options
    assert (answer.start, answer.end) == (at(8, 14), at(8, 15))


def test_recording_cannot_be_turned_on_by_an_answer() -> None:
    answer = change("with recording please")
    assert answer.options == RoomOptions()
    assert [note.code for note in answer.notes] == ["recording_not_on"]


@pytest.mark.parametrize(
    ("text", "start", "language"),
    [
        ("move to Friday 10:00 and add carl@example.net", at(11, 10), "en"),
        ("Décaler à vendredi 10h et ajouter carl@example.net", at(11, 10), "fr"),
        ("Auf Freitag 10 Uhr verschieben und carl@example.net einladen", at(11, 10), "de"),
        ("Spostiamo a venerdì alle 10 e aggiungi carl@example.net", at(11, 10), "it"),
    ],
)
def test_several_changes_at_once(text: str, start: datetime, language: str) -> None:
    answer = change(text)
    assert (answer.start, answer.end, answer.language) == (start, at(11, 11), language)
    assert answer.add_attendees == ("carl@example.net",)


def test_a_move_with_options_and_a_longer_meeting() -> None:
    answer = change("tomorrow 16:00, 30 minutes longer, with a password")
    assert (answer.start, answer.end) == (at(8, 16), at(8, 17, 30))
    assert answer.options == RoomOptions(password_enabled=True)


# --- acknowledgements and wishes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("", "en"),
        ("   \n\n  ", "en"),
        ("👍", "en"),
        ("ok thanks", "en"),
        ("great, see you", "en"),
        ("Great, see you tomorrow", "en"),
        ("ok, see you at 14:00", "en"),
        ("merci beaucoup", "fr"),
        ("parfait", "fr"),
        ("Merci, à mardi", "fr"),
        ("danke", "de"),
        ("super, bis dann", "de"),
        ("Danke, bis Dienstag", "de"),
        ("grazie mille", "it"),
        ("perfetto", "it"),
        ("Ottimo, a domani", "it"),
    ],
)
def test_acknowledgements_are_thanks(text: str, language: str) -> None:
    assert read(text) == Thanks(language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can we do later?", "en"),
        ("Could we push it back a bit?", "en"),
        ("Great, see you Thursday", "en"),
        ("un peu plus tôt ?", "fr"),
        ("geht es auch später?", "de"),
        ("possiamo spostarla?", "it"),
    ],
)
def test_a_wish_without_a_time_is_not_understood(text: str, language: str) -> None:
    assert read(text) == NotUnderstood(language, "change_unclear")


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, I'll forward it to carl@example.net",  # an address, nobody to add
        "Please cancel the password",  # a setting, not the meeting
        "Is it cancelled?",
        "C'est annulé ?",
        "See you at 4",  # the meeting is at 14:00: a wish, or a mistake
        "See you at 4, add carl@example.net",
        "Danke, bis Donnerstag",  # the meeting is on Tuesday
    ],
)
def test_what_could_be_misread_is_not_understood(text: str) -> None:
    assert isinstance(read(text), NotUnderstood)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See you at 2", Thanks("en")),  # 14:00, the meeting's own time
        ("Looking forward to it, see you on Tuesday", Thanks("en")),
        ("Perfekt, danke! Bis morgen um 14 Uhr", Thanks("de")),
        ("Termin abgesagt.", CancelIt("de")),
        ("Can you cancel it?", CancelIt("en")),
    ],
)
def test_farewells_and_statements_are_read_as_meant(text: str, expected: object) -> None:
    assert read(text) == expected


def test_an_address_alone_is_someone_to_add() -> None:
    assert change("carl@example.net too please").add_attendees == ("carl@example.net",)


def test_an_invitations_time_and_guests_are_its_organisers() -> None:
    invitation = MeetingNow(
        title="Weekly",
        start=START,
        end=END,
        timezone="Europe/Zurich",
        attendees=("olga@example.org",),
        options=RoomOptions(),
        language="en",
        source="invite",
    )
    for text in ("move to 16:00", "30 minutes longer", "add carl@example.net"):
        assert read_answer(text, meeting=invitation, now=NOW) == NotUnderstood(
            "en", "change_invitation"
        )
    assert read_answer("cancel", meeting=invitation, now=NOW) == CancelIt("en")
    lobby = read_answer("with lobby", meeting=invitation, now=NOW)
    assert isinstance(lobby, ChangeIt)
    assert (lobby.start, lobby.end, lobby.options) == (START, END, RoomOptions(lobby_enabled=True))


def test_something_else_is_not_understood_but_not_a_wish() -> None:
    assert read("Who else is coming to the budget review") == NotUnderstood("en", "not_a_change")


# --- the table of answers written before the reader ------------------------------------------


def test_the_case_table_scores_as_reported() -> None:
    """tests/thread_answers_cases.txt: 163 answers, their readings written before
    the reader and kept as written. The first run read 162 right and one wrong
    ("Donnerstag 10 oder 11 Uhr?": the date grammar reads "Donnerstag 10" as
    Thursday the 10th); the reader now asks about numbers offered as alternatives."""
    outcomes: dict[str, int] = {"right": 0, "asked": 0, "wrong": 0}
    for case in score_answers.load():
        got = score_answers.reading(case)
        outcomes[score_answers.verdict(case.expected, got)] += 1
    assert outcomes == {"right": 163, "asked": 0, "wrong": 0}


def test_the_second_batch_scores_as_reported() -> None:
    """tests/thread_answers_cases_b.txt: 60 answers written after the reader was
    built, before it was run on them. First run: 44 right, 11 asked, 5 wrong
    ("next Tuesday" read as the meeting's own Tuesday four times, "Thursday
    afternoon" kept at 14:00). Then: shifts by a length or a week, a cancel naming
    the meeting's day, "next <weekday>" on the meeting's own day asked back. The
    one left wrong keeps 14:00 for "Thursday afternoon", which the table expected
    asked about; 14:00 is in the afternoon, so the reader keeps the rule."""
    outcomes: dict[str, int] = {"right": 0, "asked": 0, "wrong": 0}
    wrong = []
    for case in score_answers.load(ROOT / "tests" / "thread_answers_cases_b.txt"):
        got = score_answers.reading(case)
        outcome = score_answers.verdict(case.expected, got)
        outcomes[outcome] += 1
        if outcome == "wrong":
            wrong.append(case.answer)
    assert outcomes == {"right": 54, "asked": 5, "wrong": 1}
    assert wrong == ["Is it possible to push it to Thursday afternoon?"]


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("Donnerstag 10 oder 11 Uhr?", "10:00|11:00"),
        ("Thursday 10 or 11am?", "10:00|11:00"),
        ("jeudi 10 ou 11h", "10:00|11:00"),
    ],
)
def test_hours_offered_as_alternatives_are_asked_back(text: str, choices: str) -> None:
    asked = problem(text)
    assert asked.code == "ambiguous_time"
    assert dict(asked.params)["choices"] == choices


@pytest.mark.parametrize("text", ["giovedì 10 o 11", "am 10 oder 11 Dezember", "10 or 11 December"])
def test_days_offered_as_alternatives_are_not_understood(text: str) -> None:
    assert isinstance(read(text), NotUnderstood)


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "a" * 1_000_000,
        "cancel " * 150_000,
        "1:" * 500_000,
        "x@" * 500_000,
        "move to " + "3 " * 500_000,
        "\t" * 1_000_000 + "cancel",
    ],
)
def test_a_megabyte_line_reads_only_its_bounded_start(
    line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the grammar is given is bounded by the line reader, whatever the answer."""
    seen: list[int] = []
    real = thread_answers.find_when

    def counting(text: str, **kwargs: object) -> object:
        seen.append(len(text))
        return real(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(thread_answers, "find_when", counting)
    with contextlib.suppress(RequestProblem):
        read(line)
    assert all(length <= MAX_LINE_CHARS * REQUEST_LINES for length in seen)


def test_a_megabyte_answer_finishes() -> None:
    """In a fresh interpreter with a generous timeout: only a reader whose cost
    grows faster than the text it is allowed to read can fail this."""
    code = f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_thread_answers import meeting, NOW
        from kmeet_bridge.requests.thread_answers import read_answer
        from kmeet_bridge.requests.requests import RequestProblem
        shapes = ["a" * 1_000_000, "cancel " * 150_000, "1:" * 500_000, "x@" * 500_000,
                  ("move to 3 " * 100 + "\\n") * 10_000, "à " * 500_000, "'" * 1_000_000]
        for text in shapes:
            try:
                read_answer(text, meeting=meeting(), now=NOW)
            except RequestProblem:
                pass
        print("done")
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "done", result.stderr


def test_every_pattern_of_the_answer_reader_runs_in_linear_time() -> None:
    """Each compiled pattern of thread_answers.py, searched through 100 KB of
    text made of its own keywords: linear, it takes seconds; a pattern with
    nested quantifiers that backtrack takes hours on one of them."""
    units = [
        "a", "a'", "a@", "1 ", "1:", " ", "\t", "cancel ", "sag ", "extend ", "push ",
        "move to ", "see you ", "d'", "um ", "1 or ", "a week ", "20 more ", "danke, bis ",
    ]  # fmt: skip
    code = f"""
        import re
        from kmeet_bridge.requests import thread_answers
        def patterns(value):
            if isinstance(value, re.Pattern):
                yield value
            elif isinstance(value, (tuple, list)):
                for item in value:
                    yield from patterns(item)
            elif isinstance(value, dict):
                for item in value.values():
                    yield from patterns(item)
        count = 0
        for value in list(vars(thread_answers).values()):
            for pattern in patterns(value):
                count += 1
                for unit in {units!r}:
                    text = (unit * (100_000 // len(unit) + 1))[:100_000]
                    for _ in pattern.finditer(text):
                        pass
        print(count)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert int(result.stdout.strip()) > 30, result.stderr


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"ab3 :\n?,.'@-h>", "cancel", "move to", "16:00", "demain", "bis", "länger", "x@y.org"]
        ),
        max_size=30,
    ).map("".join)
)
def test_any_text_gets_one_reading_or_a_problem(text: str) -> None:
    try:
        answer = read(text)
    except RequestProblem as asked:
        assert asked.reason
        return
    assert isinstance(answer, Thanks | CancelIt | ChangeIt | NotUnderstood)
    assert answer.language in ("en", "fr", "de", "it")
    if isinstance(answer, ChangeIt):
        assert answer.start < answer.end
