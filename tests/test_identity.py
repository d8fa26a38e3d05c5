"""Who may do what with a meeting, and what hostile values can reach: end to end
against Dovecot, the SMTP sink and the API simulator (issue 13)."""

from __future__ import annotations

import re

from tests.support.harness import BridgeEnv, invitation, rows

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ESC = "\x1b]0;owned\x07\x1b[2J"


def test_terminal_escapes_from_an_invitation_reach_neither_status_nor_the_log(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.deliver(
        invitation(
            uid="tz@example.com",
            start="20270315T140000",
            end="20270315T150000",
            zone=f"Europe/Zurich{ESC}",
        )
    )
    env.deliver(
        invitation(uid="dt@example.com", start=f"20270316T14{ESC}0000", end="20270316T150000")
    )

    once = env.command("--log-level", "debug", "once")
    status = env.command("status")

    assert once.returncode == 0, once.stderr
    assert status.returncode == 0, status.stderr
    stored = " ".join(v for row in rows(env, "SELECT reason, subject FROM messages") for v in row)
    assert "\x1b" in stored  # the hostile value did reach the state ...
    for output in (once.stdout, once.stderr, status.stdout, status.stderr):
        assert CONTROL.search(output) is None, output  # ... but no terminal
    assert "]0;owned[2J" in once.stderr + status.stdout


def from_(raw: bytes, sender: str) -> bytes:
    """`raw` (an `invitation`) as sent by `sender`."""
    return raw.replace(
        b"From: Alice Example <alice@example.com>", f"From: Someone <{sender}>".encode(), 1
    )


def test_plus_tags_and_case_do_not_escape_the_hourly_limit(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(senders={"allow": ["*@example.com"], "max_rooms_per_hour": 3})
    senders = ["alice+1@example.com", "ALICE+2@Example.com", "alice+3@example.com"]
    senders += ["Alice@example.com", "alice+5@EXAMPLE.COM"]
    for day, sender in enumerate(senders, start=15):
        env.deliver(
            from_(
                invitation(
                    uid=f"p{day}@example.com",
                    start=f"202703{day}T140000",
                    end=f"202703{day}T150000",
                ),
                sender,
            )
        )

    result = env.command("once")

    assert result.stdout.strip() == "pass finished: 3 planned, 2 rejected", result.stderr
    assert len(env.simulator.planned_bodies) == 3
    assert rows(env, "SELECT sender, outcome FROM messages ORDER BY uid") == [
        ("alice+1@example.com", "planned"),
        ("ALICE+2@example.com", "planned"),
        ("alice+3@example.com", "planned"),
        ("Alice@example.com", "rejected"),
        ("alice+5@example.com", "rejected"),
    ]


def test_refusals_to_one_address_are_limited_then_silent_and_nothing_is_lost(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(senders={"allow": ["*@example.com"], "max_rooms_per_hour": 1})
    for day in range(10, 18):  # eight forged mails "from" alice, one of them plus-tagged
        sender = "alice+x@example.com" if day == 17 else "alice@example.com"
        env.deliver(
            from_(
                invitation(
                    uid=f"f{day}@example.com",
                    start=f"202703{day}T140000",
                    end=f"202703{day}T150000",
                ),
                sender,
            )
        )
    env.deliver(
        invitation(uid="bob@example.com", start="20270320T140000", end="20270320T150000").replace(
            b"alice@example.com", b"bob@example.com"
        )
    )

    result = env.command("once")

    assert result.stdout.strip() == "pass finished: 2 planned, 7 rejected", result.stderr
    # One room and three refusals for alice, then silence; bob is not affected.
    assert [m.rcpt_tos for m in env.smtp.messages] == (
        [("alice@example.com",)] * 4 + [("bob@example.com",)]
    )
    reasons = [r for (r,) in rows(env, "SELECT reason FROM messages WHERE outcome = 'rejected'")]
    assert sum("no reply: 3 refusals were sent to alice@example.com" in r for r in reasons) == 4
    assert len(env.uids("kmeet/failed")) == 7  # every message filed, none lost
    assert len(env.uids("kmeet/processed")) == 2
