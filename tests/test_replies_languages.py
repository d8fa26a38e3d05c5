"""Replies in French, German and Italian (and English beside them): exact sentences
and date lines, problems worded by their code, and well-formed messages."""

from __future__ import annotations

import email
import locale
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from kmeet_bridge.models import (
    LANGUAGES,
    Cancellation,
    CancelledMeeting,
    Change,
    EventProblem,
    MeetingRequest,
    Note,
    PlannedMeeting,
    Room,
)
from kmeet_bridge.replies import replies, wording

NBSP = "\u00a0"
NNBSP = "\u202f"  # French: before ; ? !
ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
URL = "https://kmeet.infomaniak.com/abc-defg-hij"
NEW_URL = "https://kmeet.infomaniak.com/xyz-uvwx-rst"
OLD_URL = "https://kmeet.infomaniak.com/old-link-abc"
ROOM = Room(url=URL, name="abc-defg-hij", hostname="kmeet.infomaniak.com")
NEW_ROOM = Room(url=NEW_URL, name="xyz-uvwx-rst", hostname="kmeet.infomaniak.com")
OTHERS = ("fr", "de", "it")

ORIGINAL = (
    b"From: Alice Example <alice@example.com>\n"
    b"To: meet@example.com\n"
    b"Subject: Budget review\n"
    b"Message-ID: <m1@example.com>\n"
    b"Date: Thu, 14 Jan 2027 10:00:00 +0100\n"
    b"\n"
    b"Please plan it.\n"
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def meeting(**changes: object) -> MeetingRequest:
    """The fixed meeting: Wednesday, 3 February 2027, 09:00–10:00 in Zurich."""
    values: dict[str, object] = {
        "key": "ics:alice@example.com:uid-1:",
        "title": "Budget review",
        "start": datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH),
        "end": datetime(2027, 2, 3, 10, 0, tzinfo=ZURICH),
        "timezone": "Europe/Zurich",
        "uid": "uid-1",
    }
    values.update(changes)
    return MeetingRequest(**values)  # type: ignore[arg-type]


def series() -> MeetingRequest:
    return meeting(
        title="Weekly sync",
        start=datetime(2027, 3, 15, 10, 0, tzinfo=ZURICH),
        end=datetime(2027, 3, 15, 11, 0, tzinfo=ZURICH),
        rule="FREQ=WEEKLY;BYDAY=MO;COUNT=10",
        occurrences_left=7,
    )


def cancellation(**changes: object) -> Cancellation:
    values: dict[str, object] = {"key": "ics:alice@example.com:uid-9:", "title": "Team lunch"}
    values["uid"] = "uid-9"
    values.update(changes)
    return Cancellation(**values)  # type: ignore[arg-type]


def compose(
    language: str | None,
    *,
    planned: list[PlannedMeeting] | None = None,
    cancelled: list[CancelledMeeting] | None = None,
    problems: list[EventProblem] | None = None,
) -> EmailMessage:
    """`compose_reply` in `language`, checked for form, serialised and parsed back."""
    reply = replies.compose_reply(
        parse(ORIGINAL),
        planned=planned or (),
        cancelled=cancelled or (),
        problems=problems or (),
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
        language=language,
    )
    return well_formed(reply, planned or [])


def well_formed(reply: EmailMessage, planned: list[PlannedMeeting]) -> EmailMessage:
    """The reply as its recipient reads it, after checking that it parses back
    with its text and HTML parts, each room's URL in both, and one .ics per
    planned meeting that icalendar reads."""
    raw = reply.as_bytes(policy=policy.SMTP)
    raw.decode("ascii")  # 7-bit clean, whatever the language
    back = parse(raw)
    assert back["Subject"] == "Re: Budget review"
    assert back["In-Reply-To"] == "<m1@example.com>"
    assert back["Auto-Submitted"] == "auto-replied"
    # Said once, for the whole message.
    assert [part for part in back.walk() if part.get_all("Content-Language")] == [back]
    text, page = text_of(back), html_of(back)
    for entry in planned:
        assert entry.room.url in text
        assert f'<a href="{entry.room.url}">{entry.room.url}</a>' in page
    attachments = [p for p in back.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(attachments) == len(planned)
    for part, entry in zip(attachments, planned, strict=True):
        events = Calendar.from_ical(part.get_content()).events
        assert len(events) == 1
        assert str(events[0]["URL"]) == entry.room.url
    return back


def text_of(reply: EmailMessage) -> str:
    part = reply.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def html_of(reply: EmailMessage) -> str:
    part = reply.get_body(("html",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


SIGNATURES = {
    "en": "This is an automatic message from kmeet-bridge.",
    "fr": "Ce message a été envoyé automatiquement par kmeet-bridge.",
    "de": "Diese Nachricht wurde automatisch von kmeet-bridge versendet.",
    "it": "Questo messaggio è stato inviato automaticamente da kmeet-bridge.",
}


def signature(language: str) -> str:
    return "\n-- \n" + SIGNATURES[language] + "\n"


# --- dates ---------------------------------------------------------------------------

DATE_LINES = {
    "en": "Wednesday, 3 February 2027, 09:00–10:00 (Zurich time)",
    "fr": "mercredi 3 février 2027, 09:00–10:00 (heure de Zurich)",
    "de": "Mittwoch, 3. Februar 2027, 09:00–10:00 Uhr (Zürcher Zeit)",
    "it": "mercoledì 3 febbraio 2027, 09:00–10:00 (ora di Zurigo)",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_date_line(language: str) -> None:
    assert replies.describe_time(meeting(), language) == DATE_LINES[language]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Saturday, 30 October 2027, 23:30 – Sunday, 31 October 2027, 01:00 (Zurich time)"),
        ("fr", "samedi 30 octobre 2027, 23:30 – dimanche 31 octobre 2027, 01:00 (heure de Zurich)"),
        (
            "de",
            "Samstag, 30. Oktober 2027, 23:30 Uhr – Sonntag, 31. Oktober 2027, 01:00 Uhr"
            " (Zürcher Zeit)",
        ),
        (
            "it",
            "sabato 30 ottobre 2027, 23:30 – domenica 31 ottobre 2027, 01:00 (ora di Zurigo)",
        ),
    ],
)
def test_date_line_across_midnight(language: str, expected: str) -> None:
    late = meeting(
        start=datetime(2027, 10, 30, 23, 30, tzinfo=ZURICH),
        end=datetime(2027, 10, 31, 1, 0, tzinfo=ZURICH),
    )
    assert replies.describe_time(late, language) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Monday, 1 March 2027, 14:00–15:00 (Zurich time)"),
        ("fr", "lundi 1er mars 2027, 14:00–15:00 (heure de Zurich)"),
        ("de", "Montag, 1. März 2027, 14:00–15:00 Uhr (Zürcher Zeit)"),
        ("it", "lunedì 1º marzo 2027, 14:00–15:00 (ora di Zurigo)"),
    ],
)
def test_date_line_on_the_first_of_the_month(language: str, expected: str) -> None:
    first = meeting(
        start=datetime(2027, 3, 1, 14, 0, tzinfo=ZURICH),
        end=datetime(2027, 3, 1, 15, 0, tzinfo=ZURICH),
    )
    assert replies.describe_time(first, language) == expected


def test_dates_do_not_depend_on_the_process_locale() -> None:
    saved = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_CH.UTF-8", "fr_CH.UTF-8", "C.UTF-8", "C"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue  # not installed on this host
            assert replies.describe_time(meeting(), "it") == DATE_LINES["it"]
            assert replies.describe_time(meeting(), "en") == DATE_LINES["en"]
    finally:
        locale.setlocale(locale.LC_TIME, saved)


@pytest.mark.parametrize("language", ["xx", "", None, "es"])
def test_unknown_language_is_answered_in_english(language: str | None) -> None:
    reply = compose(language, planned=[PlannedMeeting(meeting(), ROOM)])
    assert text_of(reply).startswith("Your kMeet meeting has been scheduled.\n")
    assert reply["Content-Language"] == "en"
    assert replies.describe_time(meeting(), language) == DATE_LINES["en"]


@pytest.mark.parametrize(("tag", "language"), [("de-CH", "de"), ("FR", "fr"), ("it_CH", "it")])
def test_language_tags_are_read(tag: str, language: str) -> None:
    reply = compose(tag, planned=[PlannedMeeting(meeting(), ROOM)])
    assert DATE_LINES[language] in text_of(reply)
    assert reply["Content-Language"] == language
    assert f'<html lang="{language}">' in html_of(reply)


# --- a new meeting -------------------------------------------------------------------

PLANNED = {
    "en": (
        "Your kMeet meeting has been scheduled.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['en']}\n"
        f"Join link: {URL}\n"
        "\n"
        "To add the meeting to your calendar, open the attached file (kmeet.ics).\n"
    ),
    "fr": (
        "Votre visioconférence kMeet est planifiée.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['fr']}\n"
        f"Lien de la réunion{NBSP}: {URL}\n"
        "\n"
        "Pour ajouter la réunion à votre agenda, ouvrez la pièce jointe (kmeet.ics).\n"
    ),
    "de": (
        "Ihre kMeet-Videokonferenz wurde eingerichtet.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['de']}\n"
        f"Link zur Teilnahme: {URL}\n"
        "\n"
        "Um den Termin in Ihren Kalender einzutragen, öffnen Sie die angehängte Datei"
        " (kmeet.ics).\n"
    ),
    "it": (
        "La Sua videoconferenza kMeet è stata pianificata.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['it']}\n"
        f"Link per partecipare: {URL}\n"
        "\n"
        "Per aggiungere la riunione al Suo calendario, apra l’allegato (kmeet.ics).\n"
    ),
}

SIGNATURES = {
    "en": "This is an automatic message from kmeet-bridge.",
    "fr": "Ce message a été envoyé automatiquement par kmeet-bridge.",
    "de": "Diese Nachricht wurde automatisch von kmeet-bridge versendet.",
    "it": "Questo messaggio è stato inviato automaticamente da kmeet-bridge.",
}

ICS_DESCRIPTIONS = {
    "en": f"kMeet: {URL}",
    "fr": f"Visioconférence kMeet{NBSP}: {URL}",
    "de": f"kMeet-Videokonferenz: {URL}",
    "it": f"Videoconferenza kMeet: {URL}",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_planned_reply(language: str) -> None:
    reply = compose(language, planned=[PlannedMeeting(meeting(), ROOM)])
    assert text_of(reply) == PLANNED[language] + f"\n-- \n{SIGNATURES[language]}\n"
    page = html_of(reply)
    assert f'<html lang="{language}">' in page
    assert f"<p>{DATE_LINES[language]}<br>" in page
    assert "<h3>Budget review</h3>" in page
    assert f"<p><small>{SIGNATURES[language]}</small></p>" in page
    assert reply["Content-Language"] == language
    (part,) = list(reply.iter_attachments())
    event = Calendar.from_ical(part.get_content()).events[0]
    assert str(event["DESCRIPTION"]) == ICS_DESCRIPTIONS[language]
    assert str(event["SUMMARY"]) == "Budget review"


@pytest.mark.parametrize(
    ("language", "opening"),
    [
        ("en", "Your 2 kMeet meetings have been scheduled."),
        ("fr", "Vos 2 visioconférences kMeet sont planifiées."),
        ("de", "Ihre 2 kMeet-Videokonferenzen wurden eingerichtet."),
        ("it", "Le Sue 2 videoconferenze kMeet sono state pianificate."),
    ],
)
def test_several_planned(language: str, opening: str) -> None:
    planned = [PlannedMeeting(meeting(), ROOM), PlannedMeeting(series(), NEW_ROOM)]
    text = text_of(compose(language, planned=planned))
    assert text.startswith(f"{opening}\n\n1. Budget review\n   {DATE_LINES[language]}\n")
    closing = {
        "en": "To add the meetings to your calendar, open the attached .ics files.",
        "fr": "Pour les ajouter à votre agenda, ouvrez les fichiers .ics joints.",
        "de": "Um die Termine in Ihren Kalender aufzunehmen, öffnen Sie die angehängten"
        " .ics-Dateien.",
        "it": "Per aggiungerle al Suo calendario, apra i file .ics allegati.",
    }[language]
    assert text.endswith(f"\n\n{closing}\n{signature(language)}")


# --- an updated meeting ----------------------------------------------------------------

TIME_CHANGE = Change(
    "time", "2027-02-03 09:00–10:00 (Europe/Zurich)", "2027-02-03 09:00–11:00 (Europe/Zurich)"
)
TITLE_CHANGE = Change("title", "Budget", "Budget review")
# The recorded times, worded like the meeting line.
LATER = {language: line.replace("–10:00", "–11:00") for language, line in DATE_LINES.items()}

UPDATED = {
    "en": (
        "This meeting has been updated. The link stays the same.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['en']}\n"
        f"Join link: {URL}\n"
        "What has changed:\n"
        "- Time: was 09:00–10:00, now 09:00–11:00 (Wednesday, 3 February 2027, Zurich time)\n"
        "- Title: Budget → Budget review\n"
        "\n"
        "To update your calendar, open the attached file (kmeet.ics); it replaces the entry you"
        " already have.\n"
    ),
    "fr": (
        f"Cette réunion a été modifiée{NNBSP}; le lien reste le même.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['fr']}\n"
        f"Lien de la réunion{NBSP}: {URL}\n"
        f"Ce qui a changé{NBSP}:\n"
        f"- Horaire{NBSP}: auparavant 09:00–10:00, désormais 09:00–11:00 (mercredi 3 février"
        " 2027, heure de Zurich)\n"
        f"- Titre{NBSP}: Budget → Budget review\n"
        "\n"
        f"Pour mettre à jour votre agenda, ouvrez la pièce jointe (kmeet.ics){NNBSP}; elle"
        " remplace l’entrée existante.\n"
    ),
    "de": (
        "Diese Besprechung wurde geändert. Der Link bleibt unverändert.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['de']}\n"
        f"Link zur Teilnahme: {URL}\n"
        "Was sich geändert hat:\n"
        "- Zeit: bisher 09:00–10:00 Uhr, neu 09:00–11:00 Uhr (Mittwoch, 3. Februar 2027, Zürcher"
        " Zeit)\n"
        "- Titel: Budget → Budget review\n"
        "\n"
        "Um den Termin in Ihrem Kalender zu aktualisieren, öffnen Sie die angehängte Datei"
        " (kmeet.ics); sie ersetzt den bestehenden Eintrag.\n"
    ),
    "it": (
        "Questa riunione è stata modificata; il link resta lo stesso.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['it']}\n"
        f"Link per partecipare: {URL}\n"
        "Che cosa è cambiato:\n"
        "- Orario: prima 09:00–10:00, adesso 09:00–11:00 (mercoledì 3 febbraio 2027, ora di"
        " Zurigo)\n"
        "- Titolo: Budget → Budget review\n"
        "\n"
        "Per aggiornare il Suo calendario, apra l’allegato (kmeet.ics); sostituisce la voce già"
        " presente.\n"
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_updated_reply(language: str) -> None:
    planned = [PlannedMeeting(meeting(), ROOM, "updated", (TIME_CHANGE, TITLE_CHANGE))]
    text = text_of(compose(language, planned=planned))
    assert text == UPDATED[language] + signature(language)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "This meeting has already been scheduled. Here is its link again."),
        (
            "fr",
            f"Cette réunion est déjà planifiée et n’a pas changé{NNBSP}; voici de nouveau son"
            " lien.",
        ),
        ("de", "Diese Besprechung ist bereits eingerichtet. Hier ist der Link noch einmal."),
        ("it", "Questa riunione è già stata pianificata e non è cambiata; ecco di nuovo il link."),
    ],
)
def test_unchanged_reply(language: str, sentence: str) -> None:
    text = text_of(compose(language, planned=[PlannedMeeting(meeting(), ROOM, "unchanged")]))
    assert text.startswith(f"{sentence}\n\nBudget review\n{DATE_LINES[language]}\n")


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "This meeting of the series uses the link of the whole series,"
            " the same as for its other meetings.",
        ),
        (
            "fr",
            "Cette séance de la série utilise le lien de toute la série,"
            " le même que pour les autres séances.",
        ),
        (
            "de",
            "Dieser Termin der Serie nutzt den Link der ganzen Serie,"
            " denselben wie die anderen Termine.",
        ),
        (
            "it",
            "Questo incontro della serie usa il link dell’intera serie,"
            " lo stesso degli altri incontri.",
        ),
    ],
)
def test_occurrence_reply(language: str, sentence: str) -> None:
    text = text_of(compose(language, planned=[PlannedMeeting(meeting(), ROOM, "occurrence")]))
    assert text.startswith(f"{sentence}\n\n")


# --- a replanned meeting ------------------------------------------------------------------

REPLANNED = {
    "en": (
        "The meeting link has changed. Please use the new link below.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['en']}\n"
        f"New join link: {NEW_URL}\n"
        "Because the meeting now ends later, it has a new meeting room with a new link.\n"
        f"Please do not use the old link ({OLD_URL}) for this meeting any more: guests who use it"
        " would wait in a different room. If you have already shared it, please send your guests"
        " the new link.\n"
        "\n"
        "To update your calendar, open the attached file (kmeet.ics); it replaces the entry you"
        " already have.\n"
    ),
    "fr": (
        f"Le lien de la réunion a changé{NBSP}: veuillez utiliser le nouveau lien ci-dessous.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['fr']}\n"
        f"Nouveau lien de la réunion{NBSP}: {NEW_URL}\n"
        "Comme la réunion se termine désormais plus tard, une nouvelle salle a été créée, avec un"
        " nouveau lien.\n"
        f"N’utilisez plus l’ancien lien ({OLD_URL}) pour cette réunion{NBSP}: les participants"
        " qui l’utiliseraient attendraient dans une autre salle. Si vous l’avez déjà transmis,"
        " envoyez le nouveau lien aux participants.\n"
        "\n"
        f"Pour mettre à jour votre agenda, ouvrez la pièce jointe (kmeet.ics){NNBSP}; elle"
        " remplace l’entrée existante.\n"
    ),
    "de": (
        "Der Link zur Besprechung hat sich geändert. Bitte verwenden Sie den neuen Link weiter"
        " unten.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['de']}\n"
        f"Neuer Link zur Teilnahme: {NEW_URL}\n"
        "Da die Besprechung jetzt später endet, hat sie einen neuen Raum mit neuem Link erhalten.\n"
        f"Bitte verwenden Sie den alten Link ({OLD_URL}) für diese Besprechung nicht mehr: Gäste,"
        " die ihn benutzen, würden in einem anderen Raum warten. Falls Sie ihn bereits"
        " weitergegeben haben, senden Sie Ihren Gästen bitte den neuen Link.\n"
        "\n"
        "Um den Termin in Ihrem Kalender zu aktualisieren, öffnen Sie die angehängte Datei"
        " (kmeet.ics); sie ersetzt den bestehenden Eintrag.\n"
    ),
    "it": (
        "Il link della riunione è cambiato: usi il nuovo link qui sotto.\n"
        "\n"
        "Budget review\n"
        f"{DATE_LINES['it']}\n"
        f"Nuovo link per partecipare: {NEW_URL}\n"
        "Poiché ora la riunione termina più tardi, è stata creata una nuova sala con un nuovo"
        " link.\n"
        f"Non usi più il vecchio link ({OLD_URL}) per questa riunione: chi lo usasse aspetterebbe"
        " in un’altra sala. Se lo aveva già inoltrato, invii ai partecipanti il nuovo link.\n"
        "\n"
        "Per aggiornare il Suo calendario, apra l’allegato (kmeet.ics); sostituisce la voce già"
        " presente.\n"
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_replanned_reply(language: str) -> None:
    planned = [PlannedMeeting(meeting(), NEW_ROOM, "replanned", previous_url=OLD_URL)]
    reply = compose(language, planned=planned)
    assert text_of(reply) == REPLANNED[language] + signature(language)
    page = html_of(reply)
    first_line = REPLANNED[language].split("\n", 1)[0]
    assert f"<p><strong>{first_line}</strong></p>" in page
    # The old link is named, never offered as something to click.
    assert f'href="{OLD_URL}"' not in page


@pytest.mark.parametrize(
    ("language", "notice"),
    [
        ("en", "Please note: the links for “Budget review” and “Weekly sync” have changed."),
        (
            "fr",
            f"Attention{NBSP}: les liens des réunions «{NBSP}Budget review{NBSP}»"
            f" et «{NBSP}Weekly sync{NBSP}» ont changé.",
        ),
        (
            "de",
            "Bitte beachten Sie: Die Links für „Budget review“ und „Weekly sync“ haben sich"
            " geändert.",
        ),
        ("it", "Attenzione: i link delle riunioni «Budget review» e «Weekly sync» sono cambiati."),
    ],
)
def test_replanned_links_named_up_front(language: str, notice: str) -> None:
    planned = [
        PlannedMeeting(meeting(), NEW_ROOM, "replanned", previous_url=OLD_URL),
        PlannedMeeting(series(), ROOM, "replanned", previous_url=OLD_URL),
    ]
    text = text_of(compose(language, planned=planned))
    mixed = {
        "en": "Here is what became of the 2 events in your message.",
        "fr": "Voici ce qu’il est advenu des 2 événements de votre message.",
        "de": "Hier sehen Sie, was aus den 2 Terminen in Ihrer Nachricht geworden ist.",
        "it": "Ecco che cosa è successo ai 2 eventi del Suo messaggio.",
    }[language]
    assert text.startswith(f"{mixed}\n{notice}\n\n")


# --- a series ----------------------------------------------------------------------------

SERIES = {
    "en": (
        "Repeats every Monday at 10:00, 10 times\n"
        "Next meeting: Monday, 15 March 2027, 10:00–11:00 (Zurich time)\n"
        "7 meetings remaining, including the next one.\n"
        f"Join link: {URL}\n"
    ),
    "fr": (
        "Se répète chaque lundi à 10:00, 10 fois\n"
        f"Prochaine séance{NBSP}: lundi 15 mars 2027, 10:00–11:00 (heure de Zurich)\n"
        "Il reste 7 séances, y compris la prochaine.\n"
        f"Lien de la réunion{NBSP}: {URL}\n"
    ),
    "de": (
        "Serie: jeden Montag um 10:00 Uhr, insgesamt 10 Termine\n"
        "Nächster Termin: Montag, 15. März 2027, 10:00–11:00 Uhr (Zürcher Zeit)\n"
        "Noch 7 Termine, einschliesslich des nächsten.\n"
        f"Link zur Teilnahme: {URL}\n"
    ),
    "it": (
        "Si ripete ogni lunedì alle 10:00, 10 incontri in tutto\n"
        "Prossimo incontro: lunedì 15 marzo 2027, 10:00–11:00 (ora di Zurigo)\n"
        "Restano 7 incontri, compreso il prossimo.\n"
        f"Link per partecipare: {URL}\n"
    ),
}

LAST_OCCURRENCE = {
    "en": "This is the last meeting of the series.",
    "fr": "C’est la dernière séance de la série.",
    "de": "Dies ist der letzte Termin der Serie.",
    "it": "Questo è l’ultimo incontro della serie.",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_series_reply(language: str) -> None:
    text = text_of(compose(language, planned=[PlannedMeeting(series(), ROOM)]))
    assert f"\n\nWeekly sync\n{SERIES[language]}\n" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_series_with_one_occurrence_left(language: str) -> None:
    last = PlannedMeeting(meeting(rule="FREQ=DAILY", occurrences_left=1), ROOM)
    assert f"\n{LAST_OCCURRENCE[language]}\n" in text_of(compose(language, planned=[last]))


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Repeats on several dates"),
        ("fr", "Se répète à plusieurs dates"),
        ("de", "Serie: an mehreren Terminen"),
        ("it", "Si ripete in più date"),
    ],
)
def test_series_by_dates_only(language: str, line: str) -> None:
    rdate = PlannedMeeting(meeting(rule="", occurrences_left=None), ROOM)
    assert f"\nBudget review\n{line}\n" in text_of(compose(language, planned=[rdate]))


# --- cancellations -------------------------------------------------------------------------

CANCELLED = {
    "en": (
        "The meeting has been cancelled.",
        "Cancelled: Team lunch",
        f"The meeting link {URL} will no longer be used. You do not need to do anything else.",
    ),
    "fr": (
        "Votre annulation a bien été prise en compte.",
        f"Réunion annulée{NBSP}: Team lunch",
        f"Le lien {URL} ne sera plus utilisé. Si vous l’aviez transmis, pensez à prévenir les"
        " participants.",
    ),
    "de": (
        "Die Besprechung wurde abgesagt.",
        "Abgesagt: Team lunch",
        f"Der Link {URL} wird nicht mehr verwendet. Sie müssen nichts weiter unternehmen.",
    ),
    "it": (
        "Il Suo annullamento è stato registrato.",
        "Riunione annullata: Team lunch",
        f"Il link {URL} non sarà più utilizzato. Se lo aveva inoltrato, avvisi i partecipanti.",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancellation_reply(language: str) -> None:
    opening, heading, line = CANCELLED[language]
    reply = compose(language, cancelled=[CancelledMeeting(cancellation(), ROOM)])
    assert text_of(reply) == f"{opening}\n\n{heading}\n{line}\n{signature(language)}"
    page = html_of(reply)
    assert f"<h3>{heading}</h3>" in page
    assert f"<p>{line}</p>" in page
    assert list(reply.iter_attachments()) == []


@pytest.mark.parametrize(
    ("language", "opening", "heading", "removed", "kept", "none"),
    [
        (
            "en",
            "The 3 meetings have been cancelled.",
            "Cancelled: Team lunch, the meeting of Monday, 1 March 2027, 09:00 (UTC)",
            "The kMeet meeting room has been removed.",
            f"The other meetings of the series keep the link {URL}. You do not need to do"
            " anything else.",
            "No kMeet meeting had been set up for it, so there is nothing else to do.",
        ),
        (
            "fr",
            "Vos 3 annulations ont bien été prises en compte.",
            f"Réunion annulée{NBSP}: Team lunch, séance du lundi 1er mars 2027, 09:00 (UTC)",
            "La salle kMeet a été supprimée.",
            f"Les autres dates de la série gardent le lien {URL}{NNBSP}; vous n’avez rien d’autre"
            " à faire.",
            "Aucune salle kMeet n’avait été planifiée pour cette réunion, il n’y a donc rien à"
            " supprimer.",
        ),
        (
            "de",
            "Die 3 Besprechungen wurden abgesagt.",
            "Abgesagt: Team lunch am Montag, 1. März 2027, 09:00 Uhr (UTC)",
            "Der kMeet-Raum wurde gelöscht.",
            f"Die anderen Termine der Serie behalten den Link {URL}. Sie müssen nichts weiter"
            " unternehmen.",
            "Dafür war kein kMeet-Raum geplant, es gibt also nichts zu löschen.",
        ),
        (
            "it",
            "I Suoi 3 annullamenti sono stati registrati.",
            "Riunione annullata: Team lunch, incontro del lunedì 1º marzo 2027, 09:00 (UTC)",
            "La sala kMeet è stata eliminata.",
            f"Gli altri incontri della serie mantengono il link {URL}; non deve fare altro.",
            "Non era stata pianificata alcuna sala kMeet, quindi non c’è nulla da eliminare.",
        ),
    ],
)
def test_cancellations_of_every_kind(
    language: str, opening: str, heading: str, removed: str, kept: str, none: str
) -> None:
    occurrence = cancellation(
        recurrence_id="20270301T090000Z", series_key="ics:alice@example.com:uid-9:"
    )
    reply = compose(
        language,
        cancelled=[
            CancelledMeeting(cancellation(), ROOM, room_removed=True),
            CancelledMeeting(occurrence, ROOM),
            CancelledMeeting(cancellation(), None),
        ],
    )
    text = text_of(reply)
    assert text.startswith(f"{opening}\n\n")
    assert f"1. {CANCELLED[language][1]}\n   {removed}\n" in text
    assert f"2. {heading}\n   {kept}\n" in text
    assert f"3. {CANCELLED[language][1]}\n   {none}\n" in text
    # The series' room is still in use: its link stays clickable.
    assert f'<a href="{URL}">{URL}</a>' in html_of(reply)


# --- problems by code ------------------------------------------------------------------------

DETAIL = "line 7: Expected ':' after the property name"
PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "all_day": (),
    "ended": (),
    "series_ended": (),
    "unreadable": (("where", 'the attachment "invite.ics"'), ("detail", DETAIL)),
    "end_before_start": (),
    "no_start": (),
    "bad_rule": (("detail", "FREQ=SOMETIMES is not a frequency"),),
    "api_refused": (("detail", "The starting_at field must be a date after now."),),
    "retry_exhausted": (("hours", "24"), ("detail", "kMeet answered 503 Service Unavailable")),
    "internal": (),
}

TIME_HINT = {
    "en": "In your calendar, give the event a start and an end time, then send the invitation"
    " again.",
    "fr": f"Dans votre agenda, décochez «{NBSP}Toute la journée{NBSP}», indiquez une heure de"
    " début et une heure de fin, puis renvoyez l’invitation.",
    "de": "Legen Sie in Ihrem Kalender eine Start- und Endzeit für den Termin fest und senden Sie"
    " die Einladung erneut.",
    "it": "Nel Suo calendario disattivi «Tutto il giorno», indichi l’ora di inizio e di fine e"
    " invii di nuovo l’invito.",
}

# (reason, hint) by language and code.
PROBLEMS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "all_day": (
            "This is an all-day event, but an online meeting needs a start and an end time.",
            TIME_HINT["en"],
        ),
        "ended": (
            "The event has already ended.",
            "Check the date of the event; only meetings that are still to come can be planned.",
        ),
        "series_ended": (
            "The repeating event is over: all its occurrences have ended.",
            "Check the dates of the series; only meetings that are still to come can be planned.",
        ),
        "unreadable": (
            f"The calendar in the attachment “invite.ics” could not be read: {DETAIL}.",
            "Export the event from your calendar program again and forward the invitation"
            " unchanged (or attach the .ics file it produces).",
        ),
        "end_before_start": ("The event ends before or when it starts.", TIME_HINT["en"]),
        "no_start": ("The event has no start time (DTSTART).", TIME_HINT["en"]),
        "bad_rule": (
            "The event repeats by a rule that cannot be used: FREQ=SOMETIMES is not a frequency.",
            "Check how the event repeats in your calendar program and send the invitation again.",
        ),
        "api_refused": (
            "kMeet refused to plan the meeting: The starting_at field must be a date after now.",
            "Check the times and the title of the invitation and send it again.",
        ),
        "retry_exhausted": (
            "Planning the meeting kept failing for 24 hours: kMeet answered 503 Service"
            " Unavailable.",
            "Please send the request again later.",
        ),
        "internal": (
            "An internal error occurred in kmeet-bridge.",
            "Please send the message again later; if the problem persists, contact your IT"
            " support.",
        ),
    },
    "fr": {
        "all_day": (
            f"L’événement est marqué «{NBSP}Toute la journée{NBSP}»{NNBSP}; une visioconférence"
            " nécessite une heure de début et une heure de fin.",
            TIME_HINT["fr"],
        ),
        "ended": (
            "L’événement est déjà terminé.",
            f"Vérifiez la date de l’événement{NNBSP}; seules les réunions à venir peuvent être"
            " planifiées.",
        ),
        "series_ended": (
            f"La série est terminée{NBSP}: toutes les dates sont passées.",
            f"Vérifiez les dates de la série{NNBSP}; seules les réunions à venir peuvent être"
            " planifiées.",
        ),
        "unreadable": (
            f"Le calendrier dans la pièce jointe «{NBSP}invite.ics{NBSP}» n’a pas pu être"
            f" lu{NBSP}: {DETAIL}.",
            "Exportez à nouveau l’événement depuis votre agenda et transférez l’invitation sans"
            " la modifier (ou joignez le fichier .ics obtenu).",
        ),
        "end_before_start": (
            "L’heure de fin de l’événement n’est pas postérieure à son heure de début.",
            "Indiquez une heure de début et une heure de fin pour l’événement dans votre agenda,"
            " puis renvoyez l’invitation.",
        ),
        "no_start": (
            "L’événement n’a pas d’heure de début (DTSTART).",
            "Indiquez une heure de début et une heure de fin pour l’événement dans votre agenda,"
            " puis renvoyez l’invitation.",
        ),
        "bad_rule": (
            f"L’événement se répète selon une règle inutilisable{NBSP}: FREQ=SOMETIMES is not a"
            " frequency.",
            "Vérifiez la périodicité de l’événement dans votre agenda, puis renvoyez l’invitation.",
        ),
        "api_refused": (
            f"kMeet a refusé de planifier la réunion{NBSP}: The starting_at field must be a date"
            " after now.",
            "Vérifiez les horaires et le titre de l’invitation, puis renvoyez-la.",
        ),
        "retry_exhausted": (
            f"La planification de la réunion a échoué pendant 24{NBSP}heures{NBSP}: kMeet"
            " answered 503 Service Unavailable.",
            "Veuillez renvoyer la demande plus tard.",
        ),
        "internal": (
            "Une erreur interne s’est produite dans kmeet-bridge.",
            f"Veuillez renvoyer le message plus tard{NNBSP}; si le problème persiste, contactez"
            " votre support informatique.",
        ),
    },
    "de": {
        "all_day": (
            "Es handelt sich um einen ganztägigen Termin. Für eine Videokonferenz braucht es eine"
            " Start- und eine Endzeit.",
            TIME_HINT["de"],
        ),
        "ended": (
            "Der Termin ist bereits vorbei.",
            "Prüfen Sie das Datum des Termins; nur künftige Besprechungen können geplant werden.",
        ),
        "series_ended": (
            "Die Serie ist abgeschlossen: Alle Termine sind vorbei.",
            "Prüfen Sie die Daten der Serie; nur künftige Besprechungen können geplant werden.",
        ),
        "unreadable": (
            f"Der Kalender im Anhang „invite.ics“ konnte nicht gelesen werden: {DETAIL}.",
            "Exportieren Sie den Termin erneut aus Ihrem Kalenderprogramm und leiten Sie die"
            " Einladung unverändert weiter (oder hängen Sie die erzeugte .ics-Datei an).",
        ),
        "end_before_start": (
            "Das Ende des Termins liegt nicht nach seinem Beginn.",
            TIME_HINT["de"],
        ),
        "no_start": ("Der Termin hat keine Startzeit (DTSTART).", TIME_HINT["de"]),
        "bad_rule": (
            "Der Termin wiederholt sich nach einer Regel, die nicht verwendet werden kann:"
            " FREQ=SOMETIMES is not a frequency.",
            "Prüfen Sie die Wiederholung des Termins in Ihrem Kalenderprogramm und senden Sie die"
            " Einladung erneut.",
        ),
        "api_refused": (
            "kMeet hat die Planung der Besprechung abgelehnt: The starting_at field must be a"
            " date after now.",
            "Prüfen Sie Zeiten und Titel der Einladung und senden Sie sie erneut.",
        ),
        "retry_exhausted": (
            "Die Planung der Besprechung ist 24 Stunden lang fehlgeschlagen: kMeet answered 503"
            " Service Unavailable.",
            "Bitte senden Sie die Anfrage später erneut.",
        ),
        "internal": (
            "In kmeet-bridge ist ein interner Fehler aufgetreten.",
            "Bitte senden Sie die Nachricht später erneut; falls der Fehler bestehen bleibt,"
            " wenden Sie sich an Ihren IT-Support.",
        ),
    },
    "it": {
        "all_day": (
            "L’evento è impostato come «Tutto il giorno»; una videoconferenza richiede un orario"
            " di inizio e uno di fine.",
            TIME_HINT["it"],
        ),
        "ended": (
            "L’evento è già terminato.",
            "Controlli la data dell’evento; si possono pianificare solo riunioni future.",
        ),
        "series_ended": (
            "La serie è conclusa: tutte le date sono passate.",
            "Controlli le date della serie; si possono pianificare solo riunioni future.",
        ),
        "unreadable": (
            f"Il calendario nell’allegato «invite.ics» non è leggibile: {DETAIL}.",
            "Esporti di nuovo l’evento dal Suo programma di calendario e inoltri l’invito senza"
            " modificarlo (oppure alleghi il file .ics generato).",
        ),
        "end_before_start": (
            "L’orario di fine dell’evento non è successivo a quello di inizio.",
            "Indichi un orario di inizio e uno di fine per l’evento nel Suo programma di"
            " calendario e invii di nuovo l’invito.",
        ),
        "no_start": (
            "L’evento non ha un orario di inizio (DTSTART).",
            "Indichi un orario di inizio e uno di fine per l’evento nel Suo programma di"
            " calendario e invii di nuovo l’invito.",
        ),
        "bad_rule": (
            "L’evento si ripete secondo una regola non utilizzabile: FREQ=SOMETIMES is not a"
            " frequency.",
            "Controlli la ricorrenza dell’evento nel Suo programma di calendario e invii di nuovo"
            " l’invito.",
        ),
        "api_refused": (
            "kMeet ha rifiutato di pianificare la riunione: The starting_at field must be a date"
            " after now.",
            "Controlli gli orari e il titolo dell’invito e lo invii di nuovo.",
        ),
        "retry_exhausted": (
            "La pianificazione della riunione non è riuscita per 24 ore: kMeet answered 503"
            " Service Unavailable.",
            "Invii di nuovo la richiesta più tardi.",
        ),
        "internal": (
            "Si è verificato un errore interno in kmeet-bridge.",
            "Invii di nuovo il messaggio più tardi; se il problema persiste, contatti il supporto"
            " informatico.",
        ),
    },
}

LABELS = {
    "en": ("Not scheduled: ", "What went wrong: ", "What to do: "),
    "fr": (f"Réunion non planifiée{NBSP}: ", f"Motif{NBSP}: ", f"Que faire{NBSP}: "),
    "de": ("Nicht eingerichtet: ", "Grund: ", "Was Sie tun können: "),
    "it": ("Riunione non pianificata: ", "Motivo: ", "Cosa fare: "),
}

REJECTED = {
    "en": "We could not set up a kMeet meeting from your message.",
    "fr": "Nous n’avons pas pu créer de visioconférence kMeet à partir de votre message.",
    "de": "Aus Ihrer Nachricht konnte keine kMeet-Videokonferenz erstellt werden.",
    "it": "Non è stato possibile creare una videoconferenza kMeet dal Suo messaggio.",
}


def after_colon(text: str, language: str) -> str:
    """French and Italian go on in lower case after a label's colon."""
    second = text[1:2]
    if language not in ("fr", "it") or not (
        text[:1].isupper() and (second.islower() or second == "’")
    ):
        return text
    return text[0].lower() + text[1:]


def coded(code: str) -> EventProblem:
    # The English reason and hint are what a reply falls back to; a known code
    # replaces them in every language.
    return EventProblem(
        "Budget review", "English fallback.", "English hint.", code=code, params=PARAMS[code]
    )


@pytest.mark.parametrize("code", list(PARAMS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_problem_worded_by_code(language: str, code: str) -> None:
    reason, hint = PROBLEMS[language][code]
    assert replies.problem_text(coded(code), language) == (reason, hint)
    reply = compose(language, problems=[coded(code)])
    heading, reason_label, hint_label = LABELS[language]
    assert text_of(reply) == (
        f"{REJECTED[language]}\n\n{heading}Budget review\n"
        f"{reason_label}{after_colon(reason, language)}\n"
        f"{hint_label}{after_colon(hint, language)}\n{signature(language)}"
    )
    assert list(reply.iter_attachments()) == []


@pytest.mark.parametrize("code", list(PARAMS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_rejection_worded_by_code(language: str, code: str) -> None:
    reason, hint = PROBLEMS[language][code]
    reply = replies.compose_rejection(
        parse(ORIGINAL),
        "English fallback.",
        "English hint.",
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
        language=language,
        code=code,
        params=PARAMS[code],
    )
    text = text_of(well_formed(reply, []))
    _, reason_label, hint_label = LABELS[language]
    assert text == (
        f"{REJECTED[language]}\n\n{reason_label}{after_colon(reason, language)}\n"
        f"{hint_label}{after_colon(hint, language)}\n{signature(language)}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_rejection_without_a_code_keeps_its_words(language: str) -> None:
    reply = replies.compose_rejection(
        parse(ORIGINAL),
        "Le message donne un jour, mais pas d'heure.",
        "",
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
        language=language,
    )
    _, reason_label, _ = LABELS[language]
    assert text_of(well_formed(reply, [])) == (
        f"{REJECTED[language]}\n\n{reason_label}"
        f"{'le' if language in ('fr', 'it') else 'Le'} message donne un jour, mais pas d'heure.\n"
        f"{signature(language)}"
    )


@pytest.mark.parametrize(
    "problem",
    [
        # A plain request's problem: already in the sender's language.
        EventProblem("x", "Il messaggio indica un giorno.", "Scriva l'ora.", code="no_time"),
        EventProblem("x", "Own reason.", "Own hint."),
        EventProblem("x", "Own reason.", "Own hint.", code="some_future_code"),
        # Its "end_before_start" names the times it read: more than the table says.
        EventProblem(
            "x",
            "La riunione finirebbe (09:00) prima di iniziare (10:00).",
            "Scriva per esempio:\n  domani 10:00-11:00",
            code="end_before_start",
            params=(("end", "09:00"), ("language", "it"), ("time", "10:00")),
        ),
        # Without the hours it needs, the table cannot say it.
        EventProblem("x", "Own reason.", "Own hint.", code="retry_exhausted"),
        EventProblem(
            "x", "Own reason.", "Own hint.", code="retry_exhausted", params=(("hours", ""),)
        ),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_other_problems_keep_their_own_words(language: str, problem: EventProblem) -> None:
    assert replies.problem_text(problem, language) == (problem.reason, problem.hint)


@pytest.mark.parametrize(
    ("where", "language", "reason"),
    [
        ("", "en", "The calendar could not be read."),
        ("", "fr", "Le calendrier n’a pas pu être lu."),
        ("attachment", "de", "Der Kalender im Anhang konnte nicht gelesen werden."),
        ("inline part", "en", "The calendar in the inline part could not be read."),
        ("the inline part", "fr", "Le calendrier dans le message lui-même n’a pas pu être lu."),
        ("inline part", "it", "Il calendario nel messaggio stesso non è leggibile."),
        (
            'attachment "a.ics" of the forwarded message',
            "de",
            "Der Kalender im Anhang „a.ics“ der weitergeleiteten Nachricht konnte nicht gelesen"
            " werden.",
        ),
        (
            "the inline part of the forwarded message",
            "it",
            "Il calendario nel messaggio stesso del messaggio inoltrato non è leggibile.",
        ),
        ("calendar part 2", "en", "The calendar in calendar part 2 could not be read."),
        ("calendar part 2", "fr", "Le calendrier (calendar part 2) n’a pas pu être lu."),
    ],
)
def test_where_an_unreadable_calendar_was(where: str, language: str, reason: str) -> None:
    problem = EventProblem("x", "r", "h", code="unreadable", params=(("where", where),))
    assert replies.problem_text(problem, language)[0] == reason


@pytest.mark.parametrize(
    ("hours", "language", "expected"),
    [
        ("1", "en", "Planning the meeting kept failing for 1 hour."),
        ("1.5", "en", "Planning the meeting kept failing for 1.5 hours."),
        ("1.5", "fr", f"La planification de la réunion a échoué pendant 1,5{NBSP}heure."),
        ("2", "fr", f"La planification de la réunion a échoué pendant 2{NBSP}heures."),
        ("1", "de", "Die Planung der Besprechung ist 1 Stunde lang fehlgeschlagen."),
        ("0.5", "de", "Die Planung der Besprechung ist 0,5 Stunden lang fehlgeschlagen."),
        ("1", "it", "La pianificazione della riunione non è riuscita per 1 ora."),
        ("48.0", "it", "La pianificazione della riunione non è riuscita per 48 ore."),
        ("many", "en", "Planning the meeting kept failing for many hours."),
    ],
)
def test_hours_are_counted_in_words(hours: str, language: str, expected: str) -> None:
    problem = EventProblem("x", "r", "h", code="retry_exhausted", params=(("hours", hours),))
    assert replies.problem_text(problem, language)[0] == expected


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("Invalid date.", "kMeet refused to plan the meeting: Invalid date."),
        ("Why?", "kMeet refused to plan the meeting: Why?"),
        ("  two\nlines  ", "kMeet refused to plan the meeting: two lines."),
        ("", "kMeet refused to plan the meeting."),
    ],
)
def test_details_are_quoted_as_given(detail: str, reason: str) -> None:
    problem = EventProblem("x", "r", "h", code="api_refused", params=(("detail", detail),))
    assert replies.problem_text(problem, "en")[0] == reason


def test_problem_in_an_unknown_language_is_english() -> None:
    assert replies.problem_text(coded("ended"), "xx") == PROBLEMS["en"]["ended"]


# --- the whole reply -----------------------------------------------------------------------


STATUS_NEW = {
    "en": "Your kMeet meeting has been scheduled.",
    "fr": "Votre visioconférence kMeet est planifiée.",
    "de": "Ihre kMeet-Videokonferenz wurde eingerichtet.",
    "it": "La Sua videoconferenza kMeet è stata pianificata.",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_everything_in_one_reply(language: str) -> None:
    planned = [
        PlannedMeeting(meeting(), ROOM),
        PlannedMeeting(series(), NEW_ROOM, "replanned", (TIME_CHANGE,), OLD_URL),
    ]
    reply = compose(
        language,
        planned=planned,
        cancelled=[CancelledMeeting(cancellation(), ROOM, room_removed=True)],
        problems=[coded("all_day")],
    )
    text = text_of(reply)
    assert f"1. Budget review\n   {STATUS_NEW[language]}\n" in text
    assert f"   {DATE_LINES[language]}\n" in text
    heading, reason_label, _ = LABELS[language]
    reason = after_colon(PROBLEMS[language]["all_day"][0], language)
    assert f"4. {heading}Budget review\n   {reason_label}{reason}\n" in (text)
    assert [part.get_filename() for part in reply.iter_attachments()] == [
        "kmeet-1.ics",
        "kmeet-2.ics",
    ]


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Re: your kMeet request"),
        ("fr", "Re: votre demande kMeet"),
        ("de", "Re: Ihre kMeet-Anfrage"),
        ("it", "Re: la Sua richiesta kMeet"),
    ],
)
def test_subject_keeps_re_in_every_language(language: str, subject: str) -> None:
    assert replies.reply_subject("Budget review", language) == "Re: Budget review"
    assert replies.reply_subject("AW: Budget review", language) == "Re: AW: Budget review"
    assert replies.reply_subject("RE: Budget review", language) == "RE: Budget review"
    assert replies.reply_subject("", language) == subject


@pytest.mark.parametrize("language", OTHERS)
def test_french_typography_only_in_french(language: str) -> None:
    reply = compose(
        language,
        planned=[PlannedMeeting(meeting(), ROOM, "updated", (TITLE_CHANGE,))],
        problems=[coded("api_refused")],
    )
    text = text_of(reply)
    if language == "fr":
        # A no-break space before every colon and semicolon of the wording.
        assert " :" not in text.replace("https:", "")
        assert " ;" not in text
        assert f"{NBSP}:" in text
        assert f"{NBSP}:" in html_of(reply)
    else:
        assert NBSP not in text


# --- HTML escaping ------------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script> & "x"'
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_value_is_escaped_in_every_language(language: str) -> None:
    hostile_url = 'https://kmeet.example.com/old"><img src=x>'
    reply = compose(
        language,
        planned=[
            PlannedMeeting(
                meeting(
                    title=HOSTILE,
                    reply_notes=(Note("date", (("day", "2027-02-03"), ("text", "<b>note</b>"))),),
                ),
                ROOM,
                "replanned",
                (Change("title", "<i>old</i>", HOSTILE),),
                hostile_url,
            ),
            PlannedMeeting(series(), NEW_ROOM, "replanned", previous_url=OLD_URL),
        ],
        cancelled=[CancelledMeeting(cancellation(title=HOSTILE, recurrence_id="<em>"), None)],
        problems=[
            EventProblem(
                "<h1>part</h1>",
                "r",
                "h",
                code="unreadable",
                params=(("where", 'attachment "<u>.ics"'), ("detail", "<a href=x>bad</a>")),
            ),
            EventProblem("<h2>x</h2>", "<s>own reason</s>", "<q>own hint</q>"),
        ],
    )
    page = html_of(reply)
    for raw in ("<script>", "<b>", "<i>", "<img", "<em>", "<h1>", "<h2>", "<u>", "<a href=x>"):
        assert raw not in page
    for raw in ("<s>", "<q>"):
        assert raw not in page
    for escaped in (
        f"<h3>1. {HOSTILE_ESCAPED}</h3>",
        "&lt;b&gt;note&lt;/b&gt;",
        "&lt;i&gt;old&lt;/i&gt; → " + HOSTILE_ESCAPED,
        "https://kmeet.example.com/old&quot;&gt;&lt;img src=x&gt;",
        "&lt;em&gt;</h3>",
        "&lt;h1&gt;part&lt;/h1&gt;</h3>",
        "&lt;u&gt;.ics",
        "&lt;a href=x&gt;bad&lt;/a&gt;",
        "&lt;s&gt;own reason&lt;/s&gt;",
        "&lt;q&gt;own hint&lt;/q&gt;",
    ):
        assert escaped in page, escaped
    # The up-front notice quotes the hostile title, escaped too.
    notice = page.split("</p>", 2)[1]
    assert HOSTILE_ESCAPED in notice
    assert "<script>" not in notice
    # The text part reads as written.
    assert f"1. {HOSTILE}\n" in text_of(reply)


# --- the tables ----------------------------------------------------------------------------


def test_every_status_and_problem_code_is_worded_in_every_language() -> None:
    """The catalogs themselves are checked in tests/test_wording.py; here, the
    ids the replies build from a status or a code."""
    for language in LANGUAGES:
        for status in replies.STATUSES:
            assert wording.template(language, f"status.{status}").strip()
        for code in replies.PROBLEM_CODES:
            assert wording.template(language, f"problem.{code}").strip()
            assert wording.template(language, f"problem.{code}.hint").strip()
        for what in ("time", "title"):
            assert wording.template(language, f"change.label.{what}").strip()
