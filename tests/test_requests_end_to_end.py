"""Plain "kmeet" requests end to end, in each language: Dovecot, the bridge as a
real process, the API simulator and the SMTP sink."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.harness import BridgeEnv, text_of


def request(subject: str, body: str, *, cc: str = "", message_id: str) -> bytes:
    cc_line = f"Cc: {cc}\r\n" if cc else ""
    return (
        "From: Lea Keller <lea.keller@example.com>\r\n"
        "To: kMeet <meet@example.com>\r\n"
        f"{cc_line}"
        f"Subject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + body.replace("\n", "\r\n")
    ).encode()


def once(env: BridgeEnv) -> str:
    result = env.command("once")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


CASES = [
    (
        "en",
        "kmeet: Budget review",
        "Hi,\n2027-02-03 09:00, 45 minutes please.\nThanks\n-- \nLea",
        ("2027-02-03 09:00:00", "2027-02-03 09:45:00"),
        "Your kMeet meeting has been scheduled.",
        "Wednesday, 3 February 2027, 09:00–09:45 (Zurich time)",
    ),
    (
        "fr",
        "Kmeet - point projet",
        "Bonjour,\nle 12 mars 2027 à 14h30, une heure.\nMerci",
        ("2027-03-12 14:30:00", "2027-03-12 15:30:00"),
        "Votre visioconférence kMeet est planifiée.",
        "vendredi 12 mars 2027, 14:30–15:30 (heure de Zurich)",
    ),
    (
        "de",
        "[kmeet] Wochenrückblick",
        "Hallo\n3. Februar 2027, 9:00–9:45\nGruss",
        ("2027-02-03 09:00:00", "2027-02-03 09:45:00"),
        "Ihre kMeet-Videokonferenz wurde eingerichtet.",
        "Mittwoch, 3. Februar 2027, 09:00–09:45 Uhr (Zürcher Zeit)",
    ),
    (
        "it",
        "kmeet: revisione budget",
        "Buongiorno,\n5 marzo 2027 ore 16, per favore.\nGrazie",
        ("2027-03-05 16:00:00", "2027-03-05 17:00:00"),
        "La Sua videoconferenza kMeet è stata pianificata.",
        "venerdì 5 marzo 2027, 16:00–17:00 (ora di Zurigo)",
    ),
]


@pytest.mark.parametrize(
    ("language", "subject", "body", "times", "opening", "when"), CASES, ids=[c[0] for c in CASES]
)
def test_a_request_in_each_language(
    bridge_env: BridgeEnv,
    language: str,
    subject: str,
    body: str,
    times: tuple[str, str],
    opening: str,
    when: str,
) -> None:
    env = bridge_env
    env.deliver(
        request(subject, body, cc="Tom <tom@example.org>", message_id=f"<{language}@example.com>")
    )

    assert once(env) == "pass finished: 1 planned"

    [sent] = env.simulator.planned_bodies
    assert (sent["starting_at"], sent["ending_at"], sent["timezone"]) == (*times, "Europe/Zurich")
    assert [a["address"] for a in sent["attendees"]] == [
        "lea.keller@example.com",
        "tom@example.org",
    ]
    [reply] = env.smtp.messages
    assert list(reply.rcpt_tos) == ["lea.keller@example.com"]
    assert reply.message["In-Reply-To"] == f"<{language}@example.com>"
    assert reply.message["Content-Language"] == language
    text = text_of(reply.message)
    assert text.startswith(opening)
    assert when in text
    room = next(iter(env.simulator.rooms.values()))
    assert f"https://kmeet.infomaniak.com/{room['name']}" in text


def test_no_time_at_all_is_an_instant_room(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(request("kmeet: quick call", "Can we talk now?", message_id="<now@example.com>"))
    zurich = ZoneInfo("Europe/Zurich")
    before = datetime.now(UTC).astimezone(zurich).replace(second=0, microsecond=0)

    assert once(env) == "pass finished: 1 planned"

    after = datetime.now(UTC).astimezone(zurich)
    [sent] = env.simulator.planned_bodies
    start = datetime.strptime(sent["starting_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zurich)
    end = datetime.strptime(sent["ending_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zurich)
    assert before <= start <= after
    assert end - start == timedelta(minutes=60)
    assert sent["title"] == "quick call"
    assert len(env.smtp.messages) == 1


def test_a_password_room_sends_the_password_to_the_requester_only(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(
        request(
            "kmeet: Vorstand",
            "Am 3. Februar 2027 um 10:00 Uhr, mit Passwort.",
            cc="tom@example.org",
            message_id="<pw@example.com>",
        )
    )

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    [sent] = env.simulator.planned_bodies
    [options] = sent["options"]
    password = options["password"]
    assert options["password_enabled"] is True
    assert len(password) == 19
    [reply] = env.smtp.messages
    assert list(reply.rcpt_tos) == ["lea.keller@example.com"]
    assert f"Passwort: {password} (nur Ihnen zugestellt" in text_of(reply.message)
    # Nowhere else: not in the log, not in the state.
    assert password not in result.stdout + result.stderr
    with sqlite3.connect(env.state_path) as db:
        assert password not in "\n".join(db.iterdump())


def test_a_request_not_understood_is_answered_in_its_language(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = request("kmeet: point RH", "Bonjour, demain si possible ?", message_id="<rh@example.com>")
    env.deliver(raw)

    assert once(env) == "pass finished: 1 rejected"

    assert env.simulator.planned_bodies == []
    [reply] = env.smtp.messages
    assert reply.message["Content-Language"] == "fr"
    text = text_of(reply.message)
    assert text.startswith(
        "Nous n’avons pas pu créer de visioconférence kMeet à partir de votre message."
    )
    assert len(env.uids("kmeet/failed")) == 1
