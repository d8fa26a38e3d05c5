"""The whole path against real servers: Dovecot, the SMTP sink and the API simulator.

`kmeet-bridge --config FILE once` runs as a real process; each test asserts the
exact API body, the reply (recipient, threading, URL) and the folder every
message ends in.
"""

from __future__ import annotations

import sqlite3

from tests.support.harness import BRIDGE_ADDRESS, CORPUS, BridgeEnv, parse, rows, text_of

OPTIONS = {
    "start_audio_muted": False,
    "enable_recording": False,
    "enable_moderator_video": True,
    "start_audio_only": False,
    "lobby_enabled": False,
    "password_enabled": False,
    "e2ee_enabled": True,
}

# What each corpus invitation must become at the API: wall-clock times in the
# meeting's own zone, and that zone's IANA name.
EXPECTED_BODIES = {
    "outlook_request.eml": (
        "Quarterly planning review",
        "2027-03-15 14:00:00",
        "2027-03-15 15:30:00",
        "Europe/Berlin",
    ),
    "google_request.eml": (
        "Design sync",
        "2027-04-08 16:00:00",
        "2027-04-08 16:45:00",
        "Europe/Zurich",
    ),
    "thunderbird_request.eml": (
        "Café planning – Q2",
        "2027-05-05 09:00:00",
        "2027-05-05 10:30:00",
        "Europe/Zurich",
    ),
}


def test_invitations_are_planned_answered_and_filed(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    originals = {name: parse(env.deliver_corpus(name)) for name in EXPECTED_BODIES}
    plain = env.deliver_corpus("plain_message.eml")

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 3 planned, 1 ignored"
    # The API got exactly one body per invitation, with the documented shape.
    bodies = env.simulator.planned_bodies
    assert len(bodies) == 3
    by_title = {body["title"]: body for body in bodies}
    for title, start, end, zone in EXPECTED_BODIES.values():
        body = by_title[title]
        assert (body["starting_at"], body["ending_at"], body["timezone"]) == (start, end, zone)
        assert body["calendar_id"] == 72618
        assert body["hostname"] == "kmeet.infomaniak.com"
        assert body["options"] == [{"subject": title, **OPTIONS}]
    # One threaded reply per invitation, to its sender, with its room's URL.
    replies = env.smtp.messages
    assert len(replies) == 3
    assert len(env.simulator.rooms) == 3
    for name, original in originals.items():
        title = EXPECTED_BODIES[name][0]
        room = next(r for r in env.simulator.rooms.values() if r["body"]["title"] == title)
        url = f"https://kmeet.infomaniak.com/{room['name']}"
        reply = next(r for r in replies if r.message["In-Reply-To"] == original["Message-ID"])
        sender = original["From"].addresses[0].addr_spec
        assert list(reply.rcpt_tos) == [sender]
        assert reply.mail_from == BRIDGE_ADDRESS
        assert reply.message["To"].addresses[0].addr_spec == sender
        assert reply.message["References"].split()[-1] == original["Message-ID"]
        assert reply.message["Subject"] == f"Re: {original['Subject']}"
        assert reply.message["Auto-Submitted"] == "auto-replied"
        assert url in text_of(reply.message)
    # Planned messages are filed; the plain message stays, untouched and unread.
    assert sorted(parse(raw)["Message-ID"] for raw in env.folder_messages("kmeet/processed")) == (
        sorted(original["Message-ID"] for original in originals.values())
    )
    inbox = env.uids("INBOX")
    assert len(inbox) == 1
    assert env.folder_messages("INBOX") == [plain]
    assert env.dovecot.flags(env.user, env.password, "INBOX", inbox[0]) == set()


def test_second_pass_does_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver_corpus("outlook_request.eml")
    env.deliver_corpus("plain_message.eml")
    assert env.command("once").returncode == 0
    state_before = rows(env, "SELECT * FROM messages ORDER BY uid")
    requests_before = len(env.simulator.requests)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: nothing new"
    assert len(env.simulator.requests) == requests_before
    assert len(env.smtp.messages) == 1
    assert rows(env, "SELECT * FROM messages ORDER BY uid") == state_before
    assert rows(env, "SELECT folder, last_uid FROM folders") == [("INBOX", 2)]


def test_same_invitation_twice_gets_one_room_and_the_same_url(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    env.deliver(raw)
    assert env.command("once").returncode == 0
    # Forwarded again later: another message, the same meeting.
    again = raw.replace(
        b"Message-ID: <AM0PR07MB4412C5A1E3F2B6D9E8A7C0F1B2A3@",
        b"Message-ID: <again-AM0PR07MB4412C5A1E3F2B6D9E8A7C0F1B2A3@",
    )
    assert again != raw
    env.deliver(again)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert len(env.simulator.planned_bodies) == 1
    assert len(env.smtp.messages) == 2
    room = next(iter(env.simulator.rooms.values()))
    url = f"https://kmeet.infomaniak.com/{room['name']}"
    assert all(url in text_of(reply.message) for reply in env.smtp.messages)
    assert len(env.folder_messages("kmeet/processed")) == 2


def test_sender_not_allowed_gets_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    env.deliver(raw.replace(b"anna.muster@example.com>", b"anna.muster@elsewhere.example.net>"))

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert env.simulator.planned_bodies == []
    assert env.smtp.messages == []
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/failed")) == 1
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("rejected", "sender anna.muster@elsewhere.example.net is not allowed")
    ]


def test_unreadable_invitation_is_rejected_with_an_explanation(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    original = parse(env.deliver_corpus("broken_ics.eml"))

    assert env.command("once").returncode == 0

    assert env.simulator.planned_bodies == []
    assert len(env.uids("kmeet/failed")) == 1
    [reply] = env.smtp.messages
    assert reply.message["In-Reply-To"] == original["Message-ID"]
    [(outcome, reason)] = rows(env, "SELECT outcome, reason FROM messages")
    assert outcome == "rejected"
    detail = "could not be read: DTSTART (line 8): Wrong datetime format: 2027-06-15 10:00."
    # The state keeps the English reason as the reader gave it; the reply words it.
    assert reason == f'Steering committee: The calendar in the attachment "steering.ics" {detail}'
    assert f"What went wrong: The calendar in the attachment “steering.ics” {detail}" in text_of(
        reply.message
    )


def test_token_refused_stops_the_pass_and_keeps_the_message(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = env.deliver_corpus("outlook_request.eml")
    (env.directory / "api-token").write_text("wrong-token-abc123\n")
    env.config_path.write_text(env.config_path.read_text())  # token file read at start

    result = env.command("once")

    assert result.returncode == 1
    assert "API token" in result.stderr
    assert "Traceback" not in result.stderr
    assert "wrong-token-abc123" not in result.stderr + result.stdout
    assert env.smtp.messages == []
    assert env.folder_messages("INBOX") == [raw]
    assert rows(env, "SELECT outcome FROM messages") == [("deferred",)]


def test_validation_error_rejects_with_the_apis_explanation(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver_corpus("outlook_request.eml")
    env.simulator.fail_next(422)

    assert env.command("once").returncode == 0

    assert len(env.uids("kmeet/failed")) == 1
    [reply] = env.smtp.messages
    [(outcome, reason)] = rows(env, "SELECT outcome, reason FROM messages")
    assert outcome == "rejected"
    assert reason.startswith("Quarterly planning review: the kMeet API refused to plan it: ")
    assert "The given data was invalid" in text_of(reply.message)


def test_server_error_defers_and_a_later_pass_plans(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = env.deliver_corpus("outlook_request.eml")
    env.simulator.fail_next(500)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 1 deferred"
    assert env.smtp.messages == []
    assert env.folder_messages("INBOX") == [raw]
    [(outcome, attempts, next_attempt)] = rows(
        env, "SELECT outcome, attempts, next_attempt FROM messages"
    )
    assert (outcome, attempts) == ("deferred", 1)
    assert next_attempt is not None
    # Make the retry due now, as the clock would after the backoff.
    with sqlite3.connect(env.state_path) as db:
        db.execute("UPDATE messages SET next_attempt = '2000-01-01T00:00:00+00:00'")

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 1 planned"
    assert len(env.simulator.planned_bodies) == 1
    assert len(env.smtp.messages) == 1
    assert env.uids("INBOX") == []
