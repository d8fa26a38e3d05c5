"""Whom the bridge answers, against the real servers: an attendee's iTIP answer
gets no room and no reply whatever its subject, and a CalDAV server's invitation
is answered at the organiser's Reply-To when the allow-list and the ORGANIZER
agree (see replies.reply_recipient)."""

from __future__ import annotations

import pytest

from tests.support.harness import BridgeEnv, parse, rows, text_of


def _calendar(method: str, organizer: str, start: str, end: str, extra: str = "") -> str:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Server//CalDAV//EN",
            f"METHOD:{method}",
            "BEGIN:VEVENT",
            "UID:quarterly-sync@example.com",
            "SEQUENCE:0",
            "DTSTAMP:20261201T080000Z",
            f"DTSTART;TZID=Europe/Zurich:{start}",
            f"DTEND;TZID=Europe/Zurich:{end}",
            "SUMMARY:Quarterly sync (kMeet)",
            f"ORGANIZER;CN=Ana Example:mailto:{organizer}",
            *([extra] if extra else []),
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def _mail(head: str, method: str, ics: str) -> bytes:
    boundary = "b-answers"
    return (
        head + "To: meet@example.com\r\n"
        "Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "\r\n"
        "See the calendar part.\r\n"
        f"--{boundary}\r\n"
        f'Content-Type: text/calendar; charset="utf-8"; method={method}\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + ics + f"--{boundary}--\r\n"
    ).encode()


@pytest.mark.parametrize("method", ["REPLY", "COUNTER"])
def test_an_acceptance_whose_subject_says_kmeet_is_ignored(
    bridge_env: BridgeEnv, method: str
) -> None:
    env = bridge_env
    ics = _calendar(
        method,
        "ana@example.com",
        "20270315T140000",
        "20270315T150000",
        "ATTENDEE;PARTSTAT=ACCEPTED;CN=Ben Example:mailto:ben@example.com",
    )
    head = (
        "From: Ben Example <ben@example.com>\r\n"
        "Subject: Accepted: Quarterly sync (kMeet)\r\n"
        "Message-ID: <accepted-1@example.com>\r\n"
    )
    env.deliver(_mail(head, method, ics))

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 1 ignored"
    assert env.simulator.planned_bodies == []
    assert env.smtp.messages == []
    assert len(env.uids("INBOX")) == 1  # left where it is, untouched
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("ignored", f"the calendar is an answer or update, not a request (METHOD:{method})")
    ]


def _server_invitation(reply_to: str, organizer: str, start: str, end: str) -> bytes:
    head = (
        "From: Ana Example via Cloud <cloud@example.org>\r\n"
        f"Reply-To: {reply_to}\r\n"
        "Subject: Invitation: Quarterly sync (kMeet)\r\n"
        "Message-ID: <server-invitation-1@example.org>\r\n"
        "Auto-Submitted: auto-generated\r\n"
    )
    return _mail(head, "REQUEST", _calendar("REQUEST", organizer, start, end))


@pytest.mark.parametrize(
    ("reply_to", "organizer", "recipient"),
    [
        # sabre/dav's shape: Reply-To allowed, and the organiser: answered there.
        ("Ana Example <ana@example.com>", "ana@example.com", "ana@example.com"),
        # Reply-To outside the allow-list: the server's From, as before.
        ("ana@elsewhere.example.net", "ana@elsewhere.example.net", "cloud@example.org"),
        # Reply-To allowed, but not the organiser of the invitation: From.
        ("carl@example.com", "ana@example.com", "cloud@example.org"),
    ],
)
def test_a_calendar_servers_invitation_is_answered_at_the_organisers_reply_to(
    bridge_env: BridgeEnv, reply_to: str, organizer: str, recipient: str
) -> None:
    env = bridge_env
    raw = _server_invitation(reply_to, organizer, "20270315T140000", "20270315T150000")
    env.deliver(raw)
    original = parse(raw)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert len(env.simulator.planned_bodies) == 1
    [reply] = env.smtp.messages
    assert reply.message["To"] == recipient
    assert reply.rcpt_tos == (recipient,)
    assert reply.message["In-Reply-To"] == original["Message-ID"]
    assert rows(env, "SELECT recipient FROM replies") == [(recipient,)]


def test_a_rejection_of_a_calendar_servers_invitation_goes_to_the_organiser(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.deliver(
        _server_invitation(
            "ana@example.com", "ana@example.com", "20200315T140000", "20200315T150000"
        )
    )

    assert env.command("once").returncode == 0

    assert env.simulator.planned_bodies == []
    [reply] = env.smtp.messages
    assert reply.message["To"] == "ana@example.com"
    assert "already ended" in text_of(reply.message)


def test_the_reply_says_which_zone_a_floating_time_was_read_in(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp//Calendar export//EN",
            "METHOD:PUBLISH",
            "X-WR-TIMEZONE:America/New_York",
            "BEGIN:VEVENT",
            "UID:floating-1@example.com",
            "DTSTART:20270315T090000",
            "DTEND:20270315T100000",
            "SUMMARY:Launch review",
            "ORGANIZER:mailto:ana@example.com",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    head = (
        "From: Ana Example <ana@example.com>\r\n"
        "Subject: Launch review\r\n"
        "Message-ID: <floating-1@example.com>\r\n"
    )
    env.deliver(_mail(head, "PUBLISH", ics))

    assert env.command("once").returncode == 0

    [body] = env.simulator.planned_bodies
    assert (body["starting_at"], body["timezone"]) == ("2027-03-15 09:00:00", "America/New_York")
    [reply] = env.smtp.messages
    # The meeting line names the zone the floating times were read in.
    assert "Monday, 15 March 2027, 09:00–10:00 (New York time)" in text_of(reply.message)
