"""Hostile mail against the real servers (Dovecot, the SMTP sink, the API
simulator): a stranger's message is filed from its header alone, a hostile
message from an allowed sender is rejected with a reason and no traceback, a
message whose reading was cut short by a kill is rejected rather than read
again, and the invitation behind all of them is answered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kmeet_bridge.bridge import Bridge
from kmeet_bridge.failpoints import WHILE_READING
from kmeet_bridge.kmeet import KMeetClient
from kmeet_bridge.mail.mailbox import Mailbox
from kmeet_bridge.mail.mailer import Mailer
from kmeet_bridge.models import IncomingMessage, Outcome
from kmeet_bridge.store import Store
from tests.support import hostile
from tests.support.harness import BridgeEnv, invitation, parse, rows, text_of

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "kmeet-bridge.service"


class CountingMailbox(Mailbox):
    """The real IMAP adapter, noting which UIDs had more than their header fetched."""

    bodies: ClassVar[list[int]] = []

    def fetch(self, uid: int, *args: Any, **kwargs: Any) -> IncomingMessage | None:
        CountingMailbox.bodies.append(uid)
        return super().fetch(uid, *args, **kwargs)


@contextmanager
def bridge_for(env: BridgeEnv) -> Iterator[Bridge]:
    settings = env.settings()
    with Store(env.state_path) as store, KMeetClient(settings.kmeet) as planner:
        yield Bridge(
            settings,
            store,
            mailbox=lambda: CountingMailbox(settings.imap),
            mailer=Mailer(settings.smtp),
            planner=planner,
        )


def test_a_strangers_message_is_filed_from_its_header_alone(
    bridge_env: BridgeEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = bridge_env
    parsed: list[str] = []

    def must_not_run(name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            parsed.append(name)
            raise AssertionError(f"{name} ran for a stranger's message")

        return refuse

    # Every reader a message could reach: none may run for a stranger.
    for target in (
        "kmeet_bridge.bridge.extract_meetings",
        "kmeet_bridge.invitations.invites.extract",
        "kmeet_bridge.requests.requests.extract",
        "kmeet_bridge.requests.requests.body_text",
        "kmeet_bridge.bridge.detect_language",
        "kmeet_bridge.limits.mime_limits.structure_problem",
    ):
        monkeypatch.setattr(target, must_not_run(target))
    CountingMailbox.bodies = []
    rule = f"FREQ=HOURLY;BYMINUTE={hostile.ALL_MINUTES};BYSECOND={hostile.ALL_MINUTES}"
    env.deliver(hostile.repeating_invitation(rule))
    env.deliver(hostile.plain("kmeet: review", hostile.TIME_TOKENS * 3000))

    with bridge_for(env) as bridge:
        report = bridge.run_pass()

    assert parsed == []
    assert CountingMailbox.bodies == []  # only BODY.PEEK[HEADER] was fetched
    assert report.counts == {Outcome.REJECTED: 2}
    assert rows(env, "SELECT uid, outcome, reason FROM messages ORDER BY uid") == [
        (1, "rejected", "sender stranger@attacker.test is not allowed"),
        (2, "rejected", "sender stranger@attacker.test is not allowed"),
    ]
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/failed")) == 2
    assert env.smtp.messages == []  # no backscatter
    assert rows(env, "SELECT COUNT(*) FROM reading") == [(0,)]


def test_hostile_mail_does_not_hold_up_the_invitation_behind_it(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    messages = hostile.hostile_messages(300_000)
    for raw in messages.values():
        env.deliver(raw)
    # The same kinds of message from an allowed sender: read, and refused with a reason.
    alice = "alice@example.com"
    env.deliver(hostile.nested_multipart(2000, sender=alice))
    rule = f"FREQ=DAILY;BYHOUR={hostile.ALL_HOURS};BYMINUTE={hostile.ALL_MINUTES}"
    dense = hostile.repeating_invitation(rule, sender=alice).replace(
        b"Subject: Dense", b"Subject: Dense (Wiederholung)"
    )
    env.deliver(dense)
    env.deliver(hostile.plain("kmeet: Budget", hostile.TIME_TOKENS * 30_000, sender=alice))
    # Positions that no daily period holds: dateutil walks day after day to 2077.
    rule = "FREQ=DAILY;BYYEARDAY=124,22;BYSETPOS=124,22;UNTIL=20771231T000000Z"
    sparse = hostile.repeating_invitation(rule, sender=alice)
    sparse = sparse.replace(b"DTSTART:2027", b"DTSTART:2026").replace(b"DTEND:2027", b"DTEND:2026")
    env.deliver(sparse.replace(b"Subject: Dense", b"Subject: Sparse"))
    real = invitation(uid="behind@example.com", start="20270315T140000", end="20270315T150000")
    env.deliver(real)
    # Four refusals go to alice: more than the default refusal limit, which is not
    # what this test is about.
    env.write_config(senders={"max_refusals_per_hour": 10})

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    strangers = len(messages)
    outcomes = rows(env, "SELECT uid, outcome, reason FROM messages ORDER BY uid")
    assert [o[1:] for o in outcomes[:strangers]] == [
        ("rejected", "sender stranger@attacker.test is not allowed")
    ] * strangers
    nested, rule_message, long_line, sparse_rule, planned = outcomes[strangers:]
    assert nested[1:] == (
        "rejected",
        "the message has 2001 multipart or message parts, more than the 64 read here",
    )
    assert rule_message[1] == "rejected"
    assert "repeats up to 1,440 times a day, more than the 24 read here" in rule_message[2]
    # A plain request whose only line is 900 KB of time-like words: its first
    # words are read, and what they say is answered like any other request.
    assert long_line[1] in ("rejected", "planned")
    # Stopped by the CPU budget, recorded, and the pass went on.
    assert sparse_rule[1:] == ("rejected", "reading it took more than 1 s of CPU time")
    assert planned[1] == "planned"
    # The invitation behind them: planned at its own instant, answered to its sender.
    body = next(b for b in env.simulator.planned_bodies if b["title"] == "Budget review")
    assert (body["starting_at"], body["ending_at"], body["timezone"]) == (
        "2027-03-15 14:00:00",
        "2027-03-15 15:00:00",
        "Europe/Zurich",
    )
    reply = next(
        r for r in env.smtp.messages if r.message["In-Reply-To"] == parse(real)["Message-ID"]
    )
    assert list(reply.rcpt_tos) == [alice]
    room = next(r for r in env.simulator.rooms.values() if r["body"]["title"] == "Budget review")
    assert f"https://kmeet.infomaniak.com/{room['name']}" in text_of(reply.message)
    # Strangers got nothing; alice got one answer per message of hers.
    assert sorted(str(r.message["To"]) for r in env.smtp.messages) == [alice] * 5
    nested_reply = next(r for r in env.smtp.messages if r.message["Subject"] == "Re: Nested")
    assert "more parts, or parts nested deeper" in text_of(nested_reply.message)
    sparse_reply = next(r for r in env.smtp.messages if r.message["Subject"] == "Re: Sparse")
    assert "took more than 1 seconds of computing time" in text_of(sparse_reply.message)


def test_a_message_whose_reading_was_killed_twice_is_rejected_not_read_again(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    request = (
        b"From: Anna <anna@example.com>\r\nTo: meet@example.com\r\n"
        b"Subject: kmeet: Point projet\r\nMessage-ID: <killed@example.com>\r\n"
        b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
        b"demain 14h, une heure\r\n"
    )
    env.deliver(request)

    # Killed while reading it, twice, as the watchdog or the memory limit would
    # each time a message made the process hang or grow.
    for attempt in (1, 2):
        killed = env.command("once", env={"KMEET_BRIDGE_FAILPOINT": WHILE_READING})
        assert killed.returncode == -9
        assert rows(env, "SELECT uid, attempts FROM reading") == [(1, attempt)]

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("rejected", "the bridge was stopped while reading this message")
    ]
    assert rows(env, "SELECT COUNT(*) FROM reading") == [(0,)]
    assert env.simulator.planned_bodies == []
    assert len(env.uids("kmeet/failed")) == 1
    (reply,) = env.smtp.messages
    assert list(reply.rcpt_tos) == ["anna@example.com"]
    # In the request's own language.
    assert "le service a été arrêté pendant la lecture de ce message" in text_of(reply.message)
    # The pass after that finds nothing to read again.
    assert env.command("once").stdout.strip() == "pass finished: nothing new"


def test_the_unit_bounds_memory_tasks_and_cpu() -> None:
    settings = dict(line.split("=", 1) for line in UNIT.read_text().splitlines() if "=" in line)
    assert settings["MemoryMax"] == "512M"
    assert settings["TasksMax"] == "64"
    assert settings["CPUQuota"] == "100%"
    assert settings["CPUWeight"] == "50"


def test_a_message_whose_reading_was_killed_once_is_read_again(bridge_env: BridgeEnv) -> None:
    """Once may be another message's fault (a crash in a pass with several workers)."""
    env = bridge_env
    real = invitation(uid="once@example.com", start="20270315T140000", end="20270315T150000")
    env.deliver(real)
    killed = env.command("once", env={"KMEET_BRIDGE_FAILPOINT": WHILE_READING})
    assert killed.returncode == -9

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert rows(env, "SELECT outcome FROM messages") == [("planned",)]
    assert rows(env, "SELECT COUNT(*) FROM reading") == [(0,)]
    (reply,) = env.smtp.messages
    assert list(reply.rcpt_tos) == ["alice@example.com"]
