"""Plain "kmeet" requests: the corpus in tests/requests_corpus/ and the message
side of a request (body, quotes, attendees, room options, problems)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kmeet_bridge import models
from kmeet_bridge.models import Attendee, MeetingRequest, NotARequest, RoomOptions, Unplannable
from kmeet_bridge.requests import requests
from kmeet_bridge.requests.requests import RequestProblem
from tests.support.request_cases import SCORER

CORPUS = Path(__file__).parent / "requests_corpus" / "cases.txt"
ZONE = "Europe/Zurich"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE))  # a Tuesday
NBSP, NNBSP = "\u00a0", "\u202f"
OWN = "meet@example.com"


def build_message(
    body: str,
    *,
    subject: str = "kmeet: Weekly",
    sender: str = "Anna Muster <anna@example.com>",
    to: str = OWN,
    cc: str | None = None,
    date: str | None = None,
    message_id: str | None = "<request-1@example.com>",
    html: str | None = None,
    charset: str = "utf-8",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if date:
        message["Date"] = date
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body, charset=charset)
        if html is not None:
            message.add_alternative(html, subtype="html")
    return message


def extract(message: EmailMessage, **kwargs: object) -> MeetingRequest:
    settings: dict[str, object] = {
        "default_timezone": ZONE,
        "default_duration": 60,
        "now": NOW,
        "own_address": OWN,
    }
    settings.update(kwargs)
    (meeting,) = requests.extract(message, **settings)  # type: ignore[arg-type]
    return meeting


def problem_of(message: EmailMessage, **kwargs: object) -> RequestProblem:
    with pytest.raises(RequestProblem) as caught:
        extract(message, **kwargs)
    return caught.value


CASES = SCORER.load(CORPUS)


def test_the_corpus_is_large_and_covers_four_languages() -> None:
    languages = [case.expect["language"] for case in CASES]
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)
    assert {language: languages.count(language) >= 15 for language in ("en", "fr", "de", "it")} == {
        "en": True,
        "fr": True,
        "de": True,
        "it": True,
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus(case: SCORER.Case) -> None:
    headers = case.headers
    message = build_message(
        case.body,
        subject=headers.get("subject", "kmeet: Weekly"),
        to=headers.get("to", OWN),
        cc=headers.get("cc"),
    )
    expect = case.expect
    if "problem" in expect:
        problem = problem_of(message)
        assert (problem.code, problem.language) == (expect["problem"], expect["language"])
        return
    meeting = extract(message)
    zone = expect.get("zone", ZONE)
    assert meeting.timezone == zone
    assert str(meeting.start.tzinfo) == zone
    assert f"{meeting.start:%Y-%m-%d %H:%M}" == expect["start"]
    assert f"{meeting.end:%Y-%m-%d %H:%M}" == expect["end"]
    attendees = [
        ("*" if attendee.organizer else "") + attendee.address for attendee in meeting.attendees
    ]
    assert attendees == expect.get("attendees", "*anna@example.com").split(", ")
    assert meeting.options == _options(expect.get("options", ""))
    assert meeting.language == expect["language"]
    if "title" in expect:
        assert meeting.title == expect["title"]
    assert meeting.key == "msg:<request-1@example.com>"
    assert meeting.source == "request"


def _options(text: str) -> RoomOptions:
    settings = {}
    for pair in text.split():
        name, _, value = pair.partition("=")
        settings[SCORER.OPTION_FIELDS[name]] = value == "on"
    return RoomOptions(**settings)


# --- subject --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "is_request"),
    [
        ("kmeet: Budget review", True),
        ("Kmeet - point projet", True),
        ("[kmeet] Weekly", True),
        ("KMEET", True),
        ("Re: kmeet: Budget review", True),
        ("kmeeting tomorrow", False),
        ("my-kmeet-link", False),
        ("Budget review", False),
    ],
)
def test_is_request(subject: str, is_request: bool) -> None:
    assert requests.is_request(build_message("x", subject=subject)) is is_request


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("kmeet: Budget review", "Budget review"),
        ("Kmeet - point projet", "point projet"),
        ("[kmeet] Weekly", "Weekly"),
        ("Re: kmeet: Budget review", "Budget review"),
        ("AW: WG: kmeet Planung", "Planung"),
        ("kmeet", "kMeet"),
        ("[kmeet]", "kMeet"),
        ("kmeet: Q3 follow-up at 14:30", "Q3 follow-up at 14:30"),
        ("kmeet — Weekly (team)", "Weekly team"),
    ],
)
def test_title_from_subject(subject: str, title: str) -> None:
    assert requests.title_from_subject(subject) == title


def test_a_message_without_kmeet_is_not_a_request() -> None:
    with pytest.raises(NotARequest):
        extract(build_message("tomorrow 10am", subject="Budget review"))


# --- the whole request ------------------------------------------------------------------


def test_a_request_with_everything() -> None:
    message = build_message(
        "Hello all,\n\n"
        "3 Feb 2027 9am for 45 minutes, with lobby and no e2ee.\n"
        "Attendees: carl@example.net,\n"
        "  Dora Rossi <dora@example.org>\n"
        "Agenda: budget 2027\n\n"
        "Best regards,\nAnna\n",
        subject="kmeet: Budget review",
        to="Meet <MEET@Example.com>, Bob Stone <bob@example.org>",
        cc="Anna Muster <anna@example.com>",
    )
    assert extract(message) == MeetingRequest(
        key="msg:<request-1@example.com>",
        title="Budget review",
        start=datetime(2027, 2, 3, 9, 0, tzinfo=ZoneInfo(ZONE)),
        end=datetime(2027, 2, 3, 9, 45, tzinfo=ZoneInfo(ZONE)),
        timezone=ZONE,
        description="Hello all,\n\nAgenda: budget 2027",
        attendees=(
            Attendee("anna@example.com", "Anna Muster", "ACCEPTED", organizer=True),
            Attendee("bob@example.org", "Bob Stone"),
            Attendee("carl@example.net"),
            Attendee("dora@example.org", "Dora Rossi"),
        ),
        source="request",
        notes=(
            "language: English",
            'date "3 Feb 2027" read as Wednesday, 3 February 2027',
            'duration "45 minutes" read as 45 minutes',
            "no time zone named: Europe/Zurich",
            'lobby on ("with lobby")',
            'end-to-end encryption off ("no e2ee")',
        ),
        # What a reply may repeat; it leaves out a date written as a date.
        reply_notes=(
            models.Note("date", (("day", "2027-02-03"), ("how", ""), ("text", "3 Feb 2027"))),
        ),
        options=RoomOptions(lobby_enabled=True, e2ee_enabled=False),
        language="en",
    )


def test_notes_say_how_a_numeric_date_was_read_in_the_senders_language() -> None:
    meeting = extract(build_message("le 03/04/2027 à 10h", subject="kmeet: point"))
    assert meeting.notes == (
        "langue : français",
        "date « 03/04/2027 » lue comme samedi 3 avril 2027 (jour en premier, français)",
        "pas de durée : 60 minutes",
        "aucun fuseau horaire indiqué : Europe/Zurich",
    )


def test_notes_of_an_instant_room() -> None:
    meeting = extract(build_message("Can we talk now?"))
    assert meeting.notes == (
        "language: English",
        "instant room: starting now",
        "no duration: 60 minutes",
        "no time zone named: Europe/Zurich",
    )
    assert (meeting.start, meeting.end) == (
        datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE)),
        datetime(2026, 12, 1, 11, 0, tzinfo=ZoneInfo(ZONE)),
    )


def test_an_instant_room_starts_at_the_current_minute() -> None:
    now = datetime(2026, 12, 1, 9, 17, 42, 5000, tzinfo=ZoneInfo("UTC"))
    meeting = extract(build_message("Possiamo sentirci adesso?"), now=now)
    assert meeting.start == datetime(2026, 12, 1, 10, 17, tzinfo=ZoneInfo(ZONE))
    assert meeting.end == datetime(2026, 12, 1, 11, 17, tzinfo=ZoneInfo(ZONE))


def test_relative_days_count_from_the_message_date() -> None:
    # Written just before midnight, read the next morning: "tomorrow" is the 1st.
    message = build_message("tomorrow 14:00", date="Mon, 30 Nov 2026 23:55:00 +0100")
    assert extract(message).start == datetime(2026, 12, 1, 14, 0, tzinfo=ZoneInfo(ZONE))


def test_an_unbelievable_message_date_is_not_used() -> None:
    message = build_message("tomorrow 14:00", date="Mon, 30 Nov 2020 23:55:00 +0100")
    assert extract(message).start == datetime(2026, 12, 2, 14, 0, tzinfo=ZoneInfo(ZONE))


def test_the_configured_zone_reads_the_request() -> None:
    meeting = extract(build_message("tomorrow 9am"), default_timezone="America/New_York")
    assert meeting.timezone == "America/New_York"
    assert meeting.start == datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_cet_outside_central_europe_is_zurich() -> None:
    meeting = extract(build_message("tomorrow 9:00 CET"), default_timezone="America/New_York")
    assert meeting.timezone == "Europe/Zurich"
    assert meeting.start == datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Europe/Zurich"))


def test_a_default_language_for_a_request_without_words() -> None:
    meeting = extract(build_message("03/04/2027 10:00"), default_language="fr")
    assert (meeting.language, f"{meeting.start:%Y-%m-%d}") == ("fr", "2027-04-03")


# --- body -----------------------------------------------------------------------------------


def test_the_html_part_is_read_when_there_is_no_plain_part() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Hallo,</p><p>morgen <b>9 Uhr</b>, mit Passwort</p>"
        '<div class="gmail_quote">Am 30.11.2026 schrieb Paul:<blockquote>Montag 8 Uhr?'
        "</blockquote></div></body></html>"
    )
    meeting = extract(build_message("", html=html))
    assert (f"{meeting.start:%Y-%m-%d %H:%M}", meeting.language) == ("2026-12-02 09:00", "de")
    assert meeting.options == RoomOptions(password_enabled=True)


def test_the_plain_part_wins_over_html() -> None:
    meeting = extract(build_message("tomorrow 11:00", html="<p>tomorrow 15:00</p>"))
    assert f"{meeting.start:%H:%M}" == "11:00"


def test_a_latin1_body_is_read() -> None:
    raw = (
        b"From: anna@example.com\r\nTo: meet@example.com\r\nSubject: kmeet: point\r\n"
        b"Message-ID: <latin1@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"apr\xe8s-demain \xe0 16h, sans chiffrement\r\n"
    )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    meeting = extract(message)  # type: ignore[arg-type]
    assert f"{meeting.start:%Y-%m-%d %H:%M}" == "2026-12-03 16:00"
    assert (meeting.language, meeting.options) == ("fr", RoomOptions(e2ee_enabled=False))


def test_an_unknown_charset_is_read_as_well_as_it_can_be() -> None:
    raw = (
        b"From: anna@example.com\r\nTo: meet@example.com\r\nSubject: kmeet: x\r\n"
        b"Message-ID: <odd@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown-8\r\n\r\n"
        b"tomorrow 10:00\r\n"
    )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert f"{extract(message).start:%Y-%m-%d %H:%M}" == "2026-12-02 10:00"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "below",
    [
        "> tomorrow 9:00",
        "On Mon, 30 Nov 2026 at 09:00, Bob <bob@example.org> wrote:\n> tomorrow 9:00",
        "On Mon, 30 Nov 2026 at 09:00, Bob Stone <bob@example.org>\nwrote:\ntomorrow 9:00",
        "Le lun. 30 nov. 2026 à 09:00, Paul <paul@example.org> a écrit :\ndemain 9h",
        "Am 30.11.2026 um 09:00 schrieb Paul <paul@example.org>:\nmorgen 9 Uhr",
        "Il giorno lun 30 nov 2026 Paolo <paolo@example.org> ha scritto:\ndomani alle 9",
        "-----Original Message-----\nFrom: Bob\ntomorrow 9:00",
        "-----Message d'origine-----\ndemain 9h",
        "-----Ursprüngliche Nachricht-----\nmorgen 9 Uhr",
        "________________________________\nFrom: Bob\ntomorrow 9:00",
        "From: Bob Stone <bob@example.org>\nSent: Monday, 30 November 2026 09:00\ntomorrow 9:00",
        "De : Paul <paul@example.org>\nEnvoyé : lundi 30 novembre 2026 09:00\ndemain 9h",
        "Da: Paolo <paolo@example.org>\nInviato: lunedì 30 novembre 2026 09:00\ndomani alle 9",
        "-- \nAnna\nMobile 079 555 12 12, tomorrow 9:00",
        "Best regards,\nAnna, available tomorrow 9:00",
        "Freundliche Grüsse\nAnna, morgen 9 Uhr",
        "Sent from my iPhone\ntomorrow 9:00",
    ],
)
def test_text_below_the_request_is_not_read(below: str) -> None:
    meeting = extract(build_message(f"tomorrow 14:00\n\n{below}\n"))
    assert f"{meeting.start:%Y-%m-%d %H:%M}" == "2026-12-02 14:00"


def test_only_the_opening_lines_are_read() -> None:
    lines = [f"Point {number}: budget" for number in range(20)]
    message = build_message("\n".join(["tomorrow 11:00", *lines, "next Monday 9:00"]))
    assert f"{extract(message).start:%Y-%m-%d %H:%M}" == "2026-12-02 11:00"


def test_an_agenda_does_not_set_the_length() -> None:
    body = "Meeting tomorrow 10:00\n\nAgenda:\n1. Intro (10 min)\n2. Budget (20 min)\n"
    meeting = extract(build_message(body))
    assert f"{meeting.end:%H:%M}" == "11:00"
    assert meeting.description == "Agenda:\n1. Intro (10 min)\n2. Budget (20 min)"


def test_a_length_in_a_sentence_of_its_own() -> None:
    body = "Let's meet tomorrow at 10.\nIt should take about 45 minutes."
    assert f"{extract(build_message(body)).end:%H:%M}" == "10:45"


# --- attendees --------------------------------------------------------------------------------


def test_own_address_is_left_out_in_any_case() -> None:
    message = build_message(
        "tomorrow 10:00\nParticipants : Meet@Example.COM, jean@example.org",
        to="Bridge <MEET@EXAMPLE.COM>",
        cc="meet@example.com",
    )
    assert [a.address for a in extract(message).attendees] == [
        "anna@example.com",
        "jean@example.org",
    ]


def test_the_sender_is_the_accepted_organizer() -> None:
    message = build_message("tomorrow 10:00", to="meet@example.com, anna@example.com")
    assert extract(message).attendees == (
        Attendee("anna@example.com", "Anna Muster", "ACCEPTED", organizer=True),
    )


@pytest.mark.parametrize(
    ("line", "addresses"),
    [
        ("Attendees: b@example.org, c@example.net", ["b@example.org", "c@example.net"]),
        ("attendees:b@example.org;c@example.net", ["b@example.org", "c@example.net"]),
        ("Participants : Jean <j@example.org>", ["j@example.org"]),
        ("Teilnehmer: b@example.org", ["b@example.org"]),
        ("Teilnehmende: b@example.org", ["b@example.org"]),
        ("Partecipanti: b@example.org, not-an-address, c@", ["b@example.org"]),
        ("Invités : b@example.org", ["b@example.org"]),
        ("Attendees:\n  b@example.org\n  c@example.net", ["b@example.org", "c@example.net"]),
    ],
)
def test_attendees_lines(line: str, addresses: list[str]) -> None:
    meeting = extract(build_message(f"tomorrow 10:00\n{line}"))
    assert [a.address for a in meeting.attendees] == ["anna@example.com", *addresses]
    assert all(a.state == "NEEDS-ACTION" for a in meeting.attendees[1:])


def test_an_attendees_line_is_not_read_for_the_time() -> None:
    message = build_message("tomorrow 10:00\nAttendees: room-1130@example.org")
    assert f"{extract(message).start:%H:%M}" == "10:00"


# --- room options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "options"),
    [
        ("with lobby", RoomOptions(lobby_enabled=True)),
        ("with a waiting room", RoomOptions(lobby_enabled=True)),
        ("no lobby", RoomOptions(lobby_enabled=False)),
        ("lobby: off", RoomOptions(lobby_enabled=False)),
        ("avec salle d'attente", RoomOptions(lobby_enabled=True)),
        ("sans lobby", RoomOptions(lobby_enabled=False)),
        ("mit Lobby", RoomOptions(lobby_enabled=True)),
        ("ohne Warteraum", RoomOptions(lobby_enabled=False)),
        ("con sala d'attesa", RoomOptions(lobby_enabled=True)),
        ("senza lobby", RoomOptions(lobby_enabled=False)),
        ("with password", RoomOptions(password_enabled=True)),
        ("password protected", RoomOptions(password_enabled=True)),
        ("without a password", RoomOptions(password_enabled=False)),
        ("avec mot de passe", RoomOptions(password_enabled=True)),
        ("sans mot de passe", RoomOptions(password_enabled=False)),
        ("mit Passwort", RoomOptions(password_enabled=True)),
        ("ohne Kennwort", RoomOptions(password_enabled=False)),
        ("con password", RoomOptions(password_enabled=True)),
        ("senza password", RoomOptions(password_enabled=False)),
        ("without encryption", RoomOptions(e2ee_enabled=False)),
        ("no e2ee", RoomOptions(e2ee_enabled=False)),
        ("e2ee off", RoomOptions(e2ee_enabled=False)),
        ("unencrypted", RoomOptions(e2ee_enabled=False)),
        ("end-to-end encrypted", RoomOptions(e2ee_enabled=True)),
        ("sans chiffrement", RoomOptions(e2ee_enabled=False)),
        ("avec chiffrement", RoomOptions(e2ee_enabled=True)),
        ("ohne Verschlüsselung", RoomOptions(e2ee_enabled=False)),
        ("unverschlüsselt", RoomOptions(e2ee_enabled=False)),
        ("mit Ende-zu-Ende-Verschlüsselung", RoomOptions(e2ee_enabled=True)),
        ("senza crittografia", RoomOptions(e2ee_enabled=False)),
        ("con crittografia", RoomOptions(e2ee_enabled=True)),
        ("no recording", RoomOptions(enable_recording=False)),
        ("don't record", RoomOptions(enable_recording=False)),
        ("sans enregistrement", RoomOptions(enable_recording=False)),
        ("pas d'enregistrement", RoomOptions(enable_recording=False)),
        ("keine Aufzeichnung", RoomOptions(enable_recording=False)),
        ("nicht aufzeichnen", RoomOptions(enable_recording=False)),
        ("senza registrazione", RoomOptions(enable_recording=False)),
        (
            "with lobby, with password, without encryption, no recording",
            RoomOptions(True, True, False, False),
        ),
        ("", RoomOptions()),
    ],
)
def test_room_option_phrases(phrase: str, options: RoomOptions) -> None:
    assert extract(build_message(f"tomorrow 10:00, {phrase}")).options == options


def test_recording_cannot_be_turned_on() -> None:
    meeting = extract(build_message("tomorrow 10:00 with recording"))
    assert meeting.options == RoomOptions()
    assert meeting.notes[-1] == (
        'recording: "with recording" ignored: a request can only turn recording off'
    )


def test_an_option_asked_both_ways_keeps_the_configured_value() -> None:
    meeting = extract(build_message("tomorrow 10:00 with lobby\nno lobby after all"))
    assert meeting.options == RoomOptions()
    assert meeting.notes[-1] == (
        'lobby: asked both on and off ("no lobby" / "with lobby"): the configured setting is kept'
    )


def test_options_in_the_subject() -> None:
    message = build_message("tomorrow 10:00", subject="kmeet: Board (with password)")
    assert extract(message).options == RoomOptions(password_enabled=True)


# --- problems ---------------------------------------------------------------------------------


def test_a_past_request_is_answered_in_the_senders_language() -> None:
    problem = problem_of(build_message("aujourd'hui à 9h", subject="kmeet: point"))
    assert isinstance(problem, Unplannable)
    assert (problem.code, problem.language) == ("past", "fr")
    assert problem.reason == (
        "La réunion commencerait le mardi 1er décembre 2026 à 09:00 (heure de Zurich), ce qui "
        f"est déjà passé. Compris{NBSP}: date mardi 1er décembre 2026 "
        f"(«{NBSP}aujourd'hui{NBSP}»)"
        f"{NNBSP}; début 09:00{NNBSP}; heure de Zurich."
    )
    assert problem.hint == (
        f"Indiquez le jour et l’heure au début de votre message, par exemple{NBSP}:\n"
        "demain à 09:00\n"
        "8 décembre 2026 à 09:00"
    )
    assert problem.params == (
        ("date", "2026-12-01"),
        ("date_text", "aujourd'hui"),
        ("example_1", "demain à 09:00"),
        ("example_2", "8 décembre 2026 à 09:00"),
        ("language", "fr"),
        ("time", "09:00"),
        ("zone", "Europe/Zurich"),
    )


def test_a_past_request_in_german_and_italian() -> None:
    german = problem_of(build_message("gestern um 10 Uhr", subject="kmeet: Termin"))
    assert german.reason.startswith(
        "Die Besprechung würde am Montag, 30. November 2026 um 10:00 (Zürcher Zeit) beginnen"
    )
    assert german.hint.splitlines()[1:] == ["morgen 10:00 Uhr", "7. Dezember 2026, 10:00 Uhr"]
    italian = problem_of(build_message("oggi alle 9", subject="kmeet: riunione"))
    assert italian.reason.startswith(
        "La riunione inizierebbe il martedì 1º dicembre 2026 alle 09:00 (ora di Zurigo)"
    )
    assert italian.hint.splitlines()[1:] == ["domani alle 09:00", "8 dicembre 2026 alle 09:00"]


def test_an_english_numeric_date_is_asked_about() -> None:
    problem = problem_of(build_message("03/04/2027 10:00-11:00"))
    assert problem.code == "ambiguous_date"
    assert problem.reason == (
        "“03/04/2027” can mean Saturday, 3 April 2027 or Thursday, 4 March 2027. "
        "Understood so far: start 10:00; end 11:00; Zurich time."
    )
    assert problem.hint.splitlines()[1:] == [
        "3 April 2027, 10:00–11:00",
        "4 March 2027, 10:00–11:00",
    ]
    assert dict(problem.params)["choices"] == "2027-04-03|2027-03-04"


def test_a_date_without_a_time_keeps_the_date_in_the_examples() -> None:
    problem = problem_of(build_message("Können wir nächsten Dienstag sprechen?"))
    assert problem.code == "no_time"
    assert problem.reason == (
        "Die Nachricht nennt einen Tag, aber keine Uhrzeit. Verstanden: Datum Dienstag, "
        "8. Dezember 2026 („nächsten Dienstag“); Zürcher Zeit."
    )
    assert problem.hint.splitlines()[1:] == [
        "8. Dezember 2026, 10:00 Uhr",
        "8. Dezember 2026, von 14:00 bis 15:00 Uhr",
    ]


def test_a_message_without_message_id() -> None:
    problem = problem_of(build_message("domani alle 10", message_id=None))
    assert problem.code == "no_message_id"
    assert problem.reason.startswith("Il messaggio non ha un Message-ID")
    assert problem.hint == "Lo invii da un normale programma di posta."


def test_a_problem_can_be_worded_in_another_language() -> None:
    problem = problem_of(build_message("tomorrow"))
    reason, hint = problem.describe("it")
    assert reason == (
        "Il messaggio indica il giorno, ma non l’ora. Abbiamo interpretato: data mercoledì"
        " 2 dicembre 2026 "
        "(«tomorrow»); ora di Zurigo."
    )
    assert hint.splitlines()[0] == "Scriva giorno e ora all’inizio del messaggio, per esempio:"


def test_event_problem_carries_code_and_params() -> None:
    problem = problem_of(build_message("morgen um 4"))
    event = problem.event_problem("Weekly", key="msg:<x@example.com>")
    assert (event.subject, event.code, event.key) == (
        "Weekly",
        "ambiguous_time",
        "msg:<x@example.com>",
    )
    assert event.reason == problem.reason and event.hint == problem.hint
    assert dict(event.params)["choices"] == "04:00|16:00"
    assert dict(event.params)["example_1"] == "morgen 04:00 Uhr"
    assert dict(event.params)["example_2"] == "morgen 16:00 Uhr"


PROBLEM_BODIES = [
    ("en", "Can we meet tomorrow?", "no_time"),
    ("en", "9:00", "no_date"),
    ("en", "sometime next week", "vague"),
    ("en", "03/04/2027 10:00", "ambiguous_date"),
    ("en", "Tuesday 15:00", "ambiguous_date"),
    ("en", "tomorrow 10:00 or Thursday 11:00", "ambiguous_date"),
    ("en", "tomorrow at 4", "ambiguous_time"),
    ("en", "tomorrow 14:00 or 15:00", "ambiguous_time"),
    ("en", "tomorrow 14:00 for 30 minutes, maybe 45 minutes", "ambiguous_duration"),
    ("en", "tomorrow 10:00 London time, 11:00 CET", "ambiguous_zone"),
    ("en", "tomorrow 10:00 EST or PST", "ambiguous_zone"),
    ("en", "tomorrow 9:00-10:00, 30 minutes", "conflicting_end"),
    ("en", "Monday, 3 February 2027 at 9:00", "weekday_mismatch"),
    ("fr", "le 31/02/2027 à 10h", "invalid_date"),
    ("de", "morgen 25:00", "invalid_time"),
    ("en", "tomorrow 10:00 UTC+05:30", "unknown_zone"),
    ("en", "tomorrow 9:45-9:00", "end_before_start"),
    ("en", "tomorrow 9:00 for 30 hours", "too_long"),
    ("de", "28.03.2027 um 02:30", "no_such_time"),
    ("it", "ieri alle 10", "past"),
    ("fr", "mardi 1 décembre à 8h", "past"),
    ("en", "tomorrow at 10 a week later", "unplaced"),
]


@pytest.mark.parametrize(
    ("language", "body", "words", "start"),
    [
        ("en", "Tomorrow at 10 a week later, please.", "a week later", "The words “a week later”"),
        ("fr", "Demain à 10h deux semaines plus tard.", "deux semaines", "Les mots «"),
        ("de", "Morgen um 10 Uhr zwei Wochen später.", "zwei Wochen", "Die Wörter „"),
        ("it", "Domani alle 10 due settimane dopo.", "due settimane", "Le parole «"),
    ],
)
def test_unplaced_words_are_quoted_back_in_the_senders_language(
    language: str, body: str, words: str, start: str
) -> None:
    """The safety net: date words beside the date that nothing placed are asked
    about, quoted, never dropped (the meeting is not planned a week early)."""
    problem = problem_of(build_message(body), default_language=language)
    assert (problem.code, problem.language) == ("unplaced", language)
    assert dict(problem.params)["text"] == words
    assert problem.reason.startswith(start)
    assert words in problem.reason


@pytest.mark.parametrize(("language", "body", "code"), PROBLEM_BODIES)
def test_problems_give_two_examples_that_can_be_planned(
    language: str, body: str, code: str
) -> None:
    problem = problem_of(build_message(body), default_language=language)
    params = dict(problem.params)
    assert (problem.code, problem.language) == (code, language)
    examples = [params["example_1"], params["example_2"]]
    assert examples[0] != examples[1]
    assert problem.hint.splitlines()[1:] == examples
    for example in examples:
        meeting = extract(build_message(example), default_language=language)
        assert meeting.start >= NOW, example


def test_the_reason_quotes_what_was_understood() -> None:
    problem = problem_of(build_message("demain 14h, 45 minutes, ou 15h ?"))
    assert problem.code == "ambiguous_time"
    assert problem.reason == (
        f"«{NBSP}14h / 15h{NBSP}» peut vouloir dire 14:00 ou 15:00. Compris{NBSP}: date "
        f"mercredi 2 décembre 2026 («{NBSP}demain{NBSP}»){NNBSP}; durée 45 minutes{NNBSP}; "
        "heure de Zurich."
    )


def test_the_subject_says_when_and_the_body_how_long() -> None:
    message = build_message("Durée : 45 minutes", subject="kmeet: Sync demain à 14h")
    meeting = extract(message)
    assert (meeting.title, f"{meeting.start:%Y-%m-%d %H:%M}", f"{meeting.end:%H:%M}") == (
        "Sync",
        "2026-12-02 14:00",
        "14:45",
    )
    assert meeting.notes[:2] == ("langue : français", "date et heure lues dans l'objet")


def test_the_body_wins_over_the_subject() -> None:
    message = build_message("jeudi 11h", subject="kmeet: Sync demain à 14h")
    meeting = extract(message)
    assert (meeting.title, f"{meeting.start:%Y-%m-%d %H:%M}") == (
        "Sync demain à 14h",
        "2026-12-03 11:00",
    )
