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
