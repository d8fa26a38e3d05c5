"""Changing a meeting by answering the bridge's reply, end to end: Dovecot, the
bridge as a real process, the API simulator and the SMTP sink."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from icalendar import Calendar

from tests.support.harness import BridgeEnv, invitation, parse, rows, text_of

LEA = "lea.keller@example.com"
REQUEST_ID = "<budget-request@example.com>"
KEY = f"msg:{REQUEST_ID}"
FAILPOINT = "KMEET_BRIDGE_FAILPOINT"


def request(subject: str = "kmeet: Budget review", body: str = "") -> bytes:
    body = body or "Hi,\n2027-02-03 09:00, 45 minutes please.\nThanks\n-- \nLea"
    return (
        f"From: Lea Keller <{LEA}>\r\n"
        "To: kMeet <meet@example.com>\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {REQUEST_ID}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + body.replace("\n", "\r\n")
    ).encode()


def answer(
    reply: EmailMessage,
    text: str,
    *,
    sender: str = LEA,
    message_id: str = "<answer-1@example.com>",
    extra_headers: str = "",
    references: bool = True,
) -> bytes:
    """An answer to the bridge's `reply`, as a mail program writes it: the new
    lines on top, the reply quoted below."""
    quoted = "\n".join(f"> {line}" for line in text_of(reply).splitlines()[:6])
    body = f"{text}\n\nOn Tue, 1 Dec 2026 at 09:00, kMeet <meet@example.com> wrote:\n{quoted}\n"
    thread = f"References: {REQUEST_ID} {reply['Message-ID']}\r\n" if references else ""
    return (
        f"From: {sender}\r\n"
        "To: kMeet <meet@example.com>\r\n"
        f"Subject: Re: {reply['Subject']}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"In-Reply-To: {reply['Message-ID']}\r\n"
        f"{thread}{extra_headers}"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + body.replace("\n", "\r\n")
    ).encode()


def once(env: BridgeEnv, expected: str, failpoint: str | None = None) -> None:
    result = env.command("once", env={FAILPOINT: failpoint} if failpoint else None)
    if failpoint:
        assert result.returncode == -9, result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pass finished: {expected}"


def planned(env: BridgeEnv, body: str = "") -> EmailMessage:
    """The request planned, and the bridge's reply to it."""
    env.deliver(request(body=body))
    once(env, "1 planned")
    [reply] = env.smtp.messages
    return reply.message


def events(message: EmailMessage) -> list[tuple[str, dict]]:
    """The (METHOD, VEVENT properties) of each .ics attached to a reply."""
    found = []
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_content())
            [event] = calendar.walk("VEVENT")
            found.append((str(calendar["METHOD"]), event))
    return found


def posts(env: BridgeEnv) -> list[dict]:
    return env.simulator.planned_bodies


def deletes(env: BridgeEnv) -> list[str]:
    return [r.path for r in env.simulator.requests if r.method == "DELETE"]


def room_url(env: BridgeEnv, index: int) -> str:
    rooms = list(env.simulator.rooms.values())
    return f"https://kmeet.infomaniak.com/{rooms[index]['name']}"


def assert_threaded(reply: EmailMessage, answered: bytes) -> None:
    original = parse(answered)
    assert reply["To"] == LEA
    assert reply["In-Reply-To"] == original["Message-ID"]
    assert str(reply["References"]).split() == [
        REQUEST_ID,
        str(parse(answered)["In-Reply-To"]),
        original["Message-ID"],
    ]
    assert reply["Auto-Submitted"] == "auto-replied"


CANCELS = [
    ("en", "cancel", "The meeting has been cancelled.", "Cancelled: Budget review"),
    (
        "fr",
        "annuler",
        "Votre annulation a bien été prise en compte.",
        "Réunion annulée\u00a0: Budget review",
    ),
    ("de", "absagen", "Die Besprechung wurde abgesagt.", "Abgesagt: Budget review"),
    (
        "it",
        "annulla",
        "Il Suo annullamento è stato registrato.",
        "Riunione annullata: Budget review",
    ),
]


@pytest.mark.parametrize(
    ("language", "words", "opening", "heading"), CANCELS, ids=[c[0] for c in CANCELS]
)
def test_cancel_by_answering_in_each_language(
    bridge_env: BridgeEnv, language: str, words: str, opening: str, heading: str
) -> None:
    env = bridge_env
    first = planned(env)
    [(_, published)] = events(first)
    raw = answer(first, words)
    env.deliver(raw)

    once(env, "1 planned")

    assert deletes(env) == [] and len(posts(env)) == 1  # the room is kept by default
    reply = env.smtp.messages[1].message
    assert_threaded(reply, raw)
    assert reply["Content-Language"] == language
    text = text_of(reply)
    assert text.startswith(opening)
    assert heading in text.splitlines()
    [(method, event)] = events(reply)
    assert method == "CANCEL"
    assert str(event["UID"]) == str(published["UID"])
    assert int(event["SEQUENCE"]) == int(published["SEQUENCE"]) + 1 == 1
    assert str(event["STATUS"]) == "CANCELLED"
    assert rows(env, "SELECT key, status, sequence FROM meetings") == [(KEY, "cancelled", 1)]
    assert env.uids("INBOX") == [] and len(env.uids("kmeet/processed")) == 2
    assert rows(env, "SELECT event, outcome FROM message_events WHERE uid = 2") == [
        (KEY, "cancelled")
    ]


def test_cancel_removes_the_room_when_configured_and_only_once(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"delete_cancelled_rooms": True})
    first = planned(env)
    room_id = next(iter(env.simulator.rooms))
    raw = answer(first, "Please cancel this one.")
    env.deliver(raw)
    env.deliver(raw)  # the same answer twice

    once(env, "1 planned, 1 rejected")

    assert deletes(env) == [f"/1/kmeet/rooms/{room_id}"]
    text = text_of(env.smtp.messages[1].message)
    assert "The kMeet meeting room has been removed." in text
    # The copy finds the meeting cancelled and says so; it deletes nothing.
    assert env.smtp.messages[2].rcpt_tos == (LEA,)


def test_a_move_within_the_room_keeps_it(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    [(_, published)] = events(first)
    raw = answer(first, "Move it to 08:30 please")
    env.deliver(raw)

    once(env, "1 planned")

    assert len(posts(env)) == 1
    reply = env.smtp.messages[1].message
    assert_threaded(reply, raw)
    text = text_of(reply)
    assert text.startswith("This meeting has been updated. The link stays the same.")
    assert f"Join link: {room_url(env, 0)}" in text
    assert (
        "- Time: was 09:00–09:45, now 08:30–09:15 (Wednesday, 3 February 2027, Zurich time)" in text
    )
    [(method, event)] = events(reply)
    assert method == "PUBLISH"
    assert str(event["UID"]) == str(published["UID"])
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART").strftime("%Y-%m-%d %H:%M %Z") == "2027-02-03 08:30 CET"
    assert rows(env, "SELECT starting_at, ending_at, sequence, status FROM meetings") == [
        ("2027-02-03 08:30:00", "2027-02-03 09:15:00", 1, "planned")
    ]
    assert len(env.uids("kmeet/processed")) == 2


def test_a_move_past_the_rooms_end_gets_a_new_room_and_says_the_link_changed(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    first = planned(env)
    raw = answer(first, "Move it to 16:00 please")
    env.deliver(raw)

    once(env, "1 planned")

    assert [(b["starting_at"], b["ending_at"], b["timezone"]) for b in posts(env)] == [
        ("2027-02-03 09:00:00", "2027-02-03 09:45:00", "Europe/Zurich"),
        ("2027-02-03 16:00:00", "2027-02-03 16:45:00", "Europe/Zurich"),
    ]
    old, new = room_url(env, 0), room_url(env, 1)
    reply = env.smtp.messages[1].message
    assert_threaded(reply, raw)
    text = text_of(reply)
    assert text.startswith("The meeting link has changed. Please use the new link below.")
    assert f"New join link: {new}" in text
    assert f"Please do not use the old link ({old}) for this meeting any more" in text
    [(_, event)] = events(reply)
    assert int(event["SEQUENCE"]) == 1 and str(event["URL"]) == new
    [(room, sequence)] = rows(env, "SELECT room, sequence FROM meetings")
    assert new in room and sequence == 1


def test_the_same_move_twice_makes_one_api_call(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    raw = answer(first, "30 minutes longer")
    env.deliver(raw)
    env.deliver(raw)  # forwarded again: the same Message-ID

    once(env, "2 planned")

    assert [(b["starting_at"], b["ending_at"]) for b in posts(env)] == [
        ("2027-02-03 09:00:00", "2027-02-03 09:45:00"),
        ("2027-02-03 09:00:00", "2027-02-03 10:15:00"),
    ]
    second = text_of(env.smtp.messages[2].message)
    assert second.startswith("This meeting has already been scheduled. Here is its link again.")
    assert rows(env, "SELECT ending_at, sequence FROM meetings") == [("2027-02-03 10:15:00", 1)]


def test_a_crash_in_the_middle_of_a_change_plans_no_second_room(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    env.deliver(answer(first, "Move it to 16:00 please"))

    once(env, "", failpoint="after-plan")  # the new room recorded, no reply yet
    once(env, "1 planned")

    assert len(posts(env)) == 2
    assert len(env.smtp.messages) == 2
    text = text_of(env.smtp.messages[1].message)
    assert text.startswith("The meeting link has changed.")
    assert f"New join link: {room_url(env, 1)}" in text
    assert rows(env, "SELECT starting_at, sequence, in_doubt FROM meetings") == [
        ("2027-02-03 16:00:00", 1, 0)
    ]


def test_a_change_from_someone_else_is_refused_and_from_a_stranger_gets_nothing(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    first = planned(env)
    carl = answer(first, "cancel", sender="carl@example.net", message_id="<carl@example.net>")
    mallory = answer(
        first, "cancel", sender="mallory@attacker.test", message_id="<m@attacker.test>"
    )
    env.deliver(carl)
    env.deliver(mallory)

    once(env, "2 rejected")

    assert len(env.smtp.messages) == 2  # carl's refusal only
    refusal = env.smtp.messages[1]
    assert refusal.rcpt_tos == ("carl@example.net",)
    assert refusal.message["In-Reply-To"] == "<carl@example.net>"
    text = text_of(refusal.message)
    assert text.startswith("Your answer did not change the meeting.")
    assert "Only the person who asked for this meeting, or its organiser" in text
    assert list(refusal.message.iter_attachments()) == []
    assert rows(env, "SELECT status FROM meetings") == [("planned",)]
    assert deletes(env) == []
    assert len(env.uids("kmeet/failed")) == 2


def test_an_auto_reply_to_the_bridges_reply_is_ignored(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    env.deliver(
        answer(
            first,
            "I am out of the office until Monday.",
            extra_headers="Auto-Submitted: auto-replied\r\n",
        )
    )

    once(env, "1 ignored")

    assert len(env.smtp.messages) == 1
    assert env.uids("INBOX") == [2]
    assert rows(env, "SELECT outcome FROM messages WHERE uid = 2") == [("ignored",)]
    assert rows(env, "SELECT status FROM meetings") == [("planned",)]


def test_thanks_is_recorded_and_left_unanswered(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    env.deliver(answer(first, "Perfect, thank you"))

    once(env, "1 ignored")

    assert len(env.smtp.messages) == 1
    assert env.uids("INBOX") == [2]
    [(reason,)] = rows(env, "SELECT reason FROM messages WHERE uid = 2")
    assert reason == 'an answer to the reply about "Budget review" that asks for no change'


UNCLEAR = [
    ("en", "Can we do later?", "Your answer did not change the meeting.", "    move to 15:00"),
    ("fr", "On peut faire plus tard ?", "Votre réponse n’a pas modifié la réunion.", "    annuler"),
    (
        "de",
        "Können wir das später machen?",
        "Ihre Antwort hat die Besprechung nicht geändert.",
        "    absagen",
    ),
    (
        "it",
        "Possiamo fare più tardi?",
        "La Sua risposta non ha modificato la riunione.",
        "    annulla",
    ),
]


@pytest.mark.parametrize(
    ("language", "words", "opening", "example"), UNCLEAR, ids=[c[0] for c in UNCLEAR]
)
def test_an_unclear_answer_gets_examples_in_its_language(
    bridge_env: BridgeEnv, language: str, words: str, opening: str, example: str
) -> None:
    env = bridge_env
    first = planned(env)
    raw = answer(first, words)
    env.deliver(raw)

    once(env, "1 rejected")

    reply = env.smtp.messages[1].message
    assert_threaded(reply, raw)
    assert reply["Content-Language"] == language
    text = text_of(reply)
    assert text.startswith(opening)
    assert example in text.splitlines()
    assert rows(env, "SELECT starting_at, status FROM meetings") == [
        ("2027-02-03 09:00:00", "planned")
    ]
    assert len(env.uids("kmeet/failed")) == 1


def test_an_invitation_answered_with_cancel_releases_only_the_room(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"delete_cancelled_rooms": True})
    env.deliver(
        invitation(uid="budget-2027@example.com", start="20270315T140000", end="20270315T150000")
    )
    once(env, "1 planned")
    first = env.smtp.messages[0].message
    room_id = next(iter(env.simulator.rooms))
    raw = answer(first, "cancel", sender="alice@example.com", references=False)
    env.deliver(raw)

    once(env, "1 planned")

    assert deletes(env) == [f"/1/kmeet/rooms/{room_id}"]
    reply = env.smtp.messages[1].message
    assert reply["To"] == "alice@example.com"
    text = text_of(reply)
    assert "The kMeet meeting room has been removed." in text
    assert "The event in your calendar belongs to its organiser" in text
    assert events(reply) == []  # the calendar event is the organiser's
    assert rows(env, "SELECT status FROM meetings") == [("cancelled",)]


def test_an_invitation_answered_with_a_move_is_refused(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(
        invitation(uid="budget-2027@example.com", start="20270315T140000", end="20270315T150000")
    )
    once(env, "1 planned")
    first = env.smtp.messages[0].message
    env.deliver(
        answer(first, "Move it to 16:00 please", sender="alice@example.com", references=False)
    )

    once(env, "1 rejected")

    assert len(posts(env)) == 1
    text = text_of(env.smtp.messages[1].message)
    assert text.startswith("Your answer did not change the meeting.")
    assert "come from the organiser’s calendar" in text
    assert rows(env, "SELECT starting_at, status FROM meetings") == [
        ("2027-03-15 14:00:00", "planned")
    ]


def test_status_and_parse_show_a_change(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    raw = answer(first, "Move it to 16:00 please")
    path = env.directory / "answer.eml"
    path.write_bytes(raw)

    shown = env.command("parse", str(path))

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert (
        'rule: an answer to the bridge\'s reply about "Budget review" (In-Reply-To/References)'
        in lines
    )
    assert "outcome: planned (change)" in lines
    assert "  was: 2027-02-03 09:00 - 2027-02-03 09:45 (Europe/Zurich)" in lines
    assert "  now: 2027-02-03 16:00 - 2027-02-03 16:45 (Europe/Zurich)" in lines
    assert len(posts(env)) == 1  # parse changes nothing

    env.deliver(raw)
    once(env, "1 planned")
    status = env.command("status")

    assert status.returncode == 0, status.stderr
    assert f"{KEY}: replanned: {room_url(env, 1)}" in status.stdout


def test_new_room_settings_need_a_new_room_and_the_reply_says_why(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    env.deliver(answer(first, "Turn on the lobby please"))

    once(env, "1 planned")

    first_body, second_body = posts(env)
    assert first_body["options"][0]["lobby_enabled"] is False
    assert second_body["options"][0]["lobby_enabled"] is True
    assert (second_body["starting_at"], second_body["ending_at"]) == (
        "2027-02-03 09:00:00",
        "2027-02-03 09:45:00",
    )
    text = text_of(env.smtp.messages[1].message)
    assert text.startswith("The meeting link has changed. Please use the new link below.")
    assert "A room’s settings cannot be changed once it is planned" in text
    assert "- Lobby: off → on" in text
    [(options,)] = rows(env, "SELECT room_options FROM meetings")
    assert '"lobby_enabled": true' in options


def test_people_added_keep_the_room_and_are_recorded(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    first = planned(env)
    env.deliver(answer(first, "Please add carl@example.net"))

    once(env, "1 planned")

    assert len(posts(env)) == 1
    text = text_of(env.smtp.messages[1].message)
    assert text.startswith("This meeting has been updated. The link stays the same.")
    assert f"- People: {LEA} → {LEA}, carl@example.net" in text
    assert rows(env, "SELECT attendees, sequence FROM meetings") == [
        (f'["{LEA}", "carl@example.net"]', 1)
    ]


def test_changes_count_against_the_hourly_limit_like_rooms(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(senders={"max_rooms_per_hour": 1})
    first = planned(env)
    env.deliver(answer(first, "Move it to 08:30 please"))

    once(env, "1 rejected")

    text = text_of(env.smtp.messages[1].message)
    assert text.startswith("Your request is fine, but no more meetings can be set up for now.")
    assert rows(env, "SELECT starting_at FROM meetings") == [("2027-02-03 09:00:00",)]


def test_an_answer_carrying_an_invitation_is_read_as_the_invitation(bridge_env: BridgeEnv) -> None:
    """The calendar is the organiser's word on a meeting: an invitation in the
    thread is planned by the meeting-life rules, not read as a change."""
    env = bridge_env
    first = planned(env)
    ics = parse(
        invitation(uid="other-2027@example.com", start="20270316T100000", end="20270316T110000")
    )
    raw = answer(first, "cancel")
    message = parse(raw)
    message.make_mixed()
    message.add_attachment(
        ics.get_content().encode(), maintype="text", subtype="calendar", filename="invite.ics"
    )
    env.deliver(bytes(message))

    once(env, "1 planned")

    assert [(b["starting_at"], b["title"]) for b in posts(env)][1] == (
        "2027-03-16 10:00:00",
        "Budget review",
    )
    assert rows(env, "SELECT key, status FROM meetings ORDER BY key") == [
        ("ics:alice@example.com:other-2027@example.com:", "planned"),
        (KEY, "planned"),
    ]


@pytest.mark.parametrize("failpoint", ["after-reply", "before-record"])
def test_a_crash_in_the_middle_of_a_cancellation_removes_and_answers_once(
    bridge_env: BridgeEnv, failpoint: str
) -> None:
    env = bridge_env
    env.write_config(kmeet={"delete_cancelled_rooms": True})
    first = planned(env)
    room_id = next(iter(env.simulator.rooms))
    env.deliver(answer(first, "cancel"))

    once(env, "", failpoint=failpoint)
    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert deletes(env) == [f"/1/kmeet/rooms/{room_id}"]
    assert len(env.smtp.messages) == 2
    assert "The kMeet meeting room has been removed." in text_of(env.smtp.messages[1].message)
    assert env.uids("INBOX") == [] and len(env.uids("kmeet/processed")) == 2
    assert rows(env, "SELECT outcome FROM messages ORDER BY uid") == [("planned",), ("planned",)]
    assert rows(env, "SELECT status, sequence FROM meetings") == [("cancelled", 1)]


MOVES = [
    ("en", "Move it to 08:30 please", "This meeting has been updated. The link stays the same."),
    ("fr", "Déplacer à 8h30 svp", "Cette réunion a été modifiée\u202f; le lien reste le même."),
    ("de", "Bitte auf 8:30 Uhr verschieben", "Diese Besprechung wurde geändert."),
    ("it", "spostiamo alle 8:30", "Questa riunione è stata modificata; il link resta lo stesso."),
]


@pytest.mark.parametrize(("language", "words", "opening"), MOVES, ids=[m[0] for m in MOVES])
def test_a_move_in_each_language(
    bridge_env: BridgeEnv, language: str, words: str, opening: str
) -> None:
    env = bridge_env
    first = planned(env)
    raw = answer(first, words)
    env.deliver(raw)

    once(env, "1 planned")

    assert len(posts(env)) == 1
    reply = env.smtp.messages[1].message
    assert_threaded(reply, raw)
    assert reply["Content-Language"] == language
    assert text_of(reply).startswith(opening)
    assert rows(env, "SELECT starting_at, ending_at, sequence FROM meetings") == [
        ("2027-02-03 08:30:00", "2027-02-03 09:15:00", 1)
    ]


def test_an_answer_to_the_examples_of_an_unclear_answer_changes_the_meeting(
    bridge_env: BridgeEnv,
) -> None:
    """The unclear answer's reply asks for another answer: that one is a change
    of the same meeting, never a second request ("Re: Re: kmeet ...")."""
    env = bridge_env
    first = planned(env)
    env.deliver(answer(first, "Can we do later?"))
    once(env, "1 rejected")
    examples = env.smtp.messages[1].message
    second = answer(examples, "Move it to 08:30 please", message_id="<answer-2@example.com>")
    env.deliver(second)

    once(env, "1 planned")

    assert len(posts(env)) == 1
    reply = env.smtp.messages[2].message
    assert reply["In-Reply-To"] == "<answer-2@example.com>"
    assert text_of(reply).startswith("This meeting has been updated. The link stays the same.")
    assert rows(env, "SELECT key, starting_at FROM meetings") == [(KEY, "2027-02-03 08:30:00")]
