"""Never talk to machines (RFC 3834): automatic mail is never answered or
planned from, yet calendar servers' genuine invitations still are; and two
bridges pointed at each other cannot ping-pong."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.support.dovecot import Dovecot
from tests.support.harness import CORPUS, BridgeEnv, invitation
from tests.support.kmeet_simulator import KMeetSimulator
from tests.support.smtp_sink import SmtpSink

REQUEST_BODY = "2027-02-03 09:00, 30 minutes"


def plain(subject: str, extra_headers: str, *, sender: str = "lea@example.com", mid: str) -> bytes:
    return (
        f"From: Lea <{sender}>\r\nTo: meet@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}@example.com>\r\n{extra_headers}"
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
        f"{REQUEST_BODY}\r\n"
    ).encode()


def outcomes(env: BridgeEnv) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(env.state_path) as db:
        rows = db.execute("SELECT message_id, outcome, reason FROM messages").fetchall()
    return {mid: (outcome, reason) for mid, outcome, reason in rows}


def test_automatic_mail_is_never_answered(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(plain("kmeet: Out of office", "Auto-Submitted: auto-replied\r\n", mid="vacation"))
    env.deliver(plain("kmeet: notice", "Auto-Submitted: auto-generated\r\n", mid="generated"))
    env.deliver(plain("kmeet: list", "List-Id: <team.example.com>\r\n", mid="list"))
    env.deliver(plain("kmeet: bulk", "Precedence: bulk\r\n", mid="bulk"))
    env.deliver(plain("kmeet: loop", "", sender="meet@example.com", mid="own"))
    env.deliver(plain("kmeet: bounce", "Return-Path: <>\r\n", mid="bounce"))
    env.deliver(
        plain(
            "Undelivered Mail Returned to Sender: kmeet",
            "",
            sender="MAILER-DAEMON@example.com",
            mid="daemon",
        )
    )
    # A calendar server's genuine invitation is marked auto-generated too.
    google = (CORPUS / "google_request.eml").read_bytes()
    env.deliver(b"Auto-Submitted: auto-generated\r\n" + google)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 1 planned, 7 ignored"
    [reply] = env.smtp.messages
    assert list(reply.rcpt_tos) == ["lukas.weber@example.com"]
    got = outcomes(env)
    assert got["<generated@example.com>"] == (
        "ignored",
        "an automatically generated message is not a request (Auto-Submitted: "
        "auto-generated); only calendar invitations are read from such mail",
    )
    assert got["<vacation@example.com>"][0] == "ignored"
    assert got["<own@example.com>"] == (
        "ignored",
        "The message comes from the bridge's own address.",
    )
    assert len(env.uids("INBOX")) == 7  # ignored mail stays where it was


def test_two_bridges_pointed_at_each_other_never_ping_pong(
    dovecot: Dovecot,
    make_smtp_sink: Callable[..., SmtpSink],
    tmp_path: Path,
) -> None:
    a_user, a_password = dovecot.add_user()
    b_user, b_password = dovecot.add_user()
    # Bridge A's replies land in B's mailbox and the other way round.
    sink_a = make_smtp_sink(deliver_to=(dovecot, b_user, b_password, "INBOX"))
    sink_b = make_smtp_sink(deliver_to=(dovecot, a_user, a_password, "INBOX"))
    with KMeetSimulator() as simulator:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = BridgeEnv(dovecot, a_user, a_password, simulator, sink_a, tmp_path / "a")
        b = BridgeEnv(dovecot, b_user, b_password, simulator, sink_b, tmp_path / "b")
        a.write_config(
            smtp={"from_address": "bridge-a@example.com"}, senders={"allow": ["*@example.com"]}
        )
        b.write_config(
            smtp={"from_address": "bridge-b@example.com"}, senders={"allow": ["*@example.com"]}
        )
        # B's address asks A for a room (a misconfigured forward, say).
        a.deliver(
            invitation(
                uid="loop@example.com",
                start="20270315T140000",
                end="20270315T150000",
                organizer="bridge-b@example.com",
            )
        )
        for _ in range(3):
            assert a.command("once").returncode == 0
            assert b.command("once").returncode == 0

        assert len(sink_a.messages) == 1  # A answered once
        assert sink_b.messages == []  # B never answered A's automatic reply
        assert len(simulator.planned_bodies) == 1
        [(outcome, reason)] = outcomes(b).values()
        assert outcome == "ignored"
        assert reason == "The message was sent automatically (Auto-Submitted: auto-replied)."
