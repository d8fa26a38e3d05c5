"""A pass with four workers killed (SIGKILL) at every step, then run again, as
real `kmeet-bridge once` processes against Dovecot, the SMTP sink and the API
simulator answering slowly: whatever the other workers were doing at that
instant, the next pass ends with every message filed with one outcome, the
folder position never past a message without one, and a second room only for
a meeting whose API call the kill interrupted, flagged in doubt.

The backlog starts with a plain message: the first message of a pass is handled
alone, so the kill comes while the workers run side by side.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter

import pytest

from kmeet_bridge.failpoints import POINTS
from tests.support.harness import BridgeEnv, invitation, parse, rows, text_of

FAILPOINT = "KMEET_BRIDGE_FAILPOINT"
PLAIN = (
    b"From: Nora Example <nora@example.org>\r\n"
    b"To: meet@example.com\r\n"
    b"Subject: Lunch on Friday\r\n"
    b"Message-ID: <lunch@example.org>\r\n"
    b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
    b"\r\n"
    b"Shall we meet at the usual place?\r\n"
)
COUNT = 8


def once(env: BridgeEnv, failpoint: str | None = None) -> subprocess.CompletedProcess:
    return env.command("once", env={FAILPOINT: failpoint} if failpoint else None)


def backlog() -> list[bytes]:
    return [
        invitation(
            uid=f"crash-{n}@example.com",
            start=f"202703{n + 1:02d}T140000",
            end=f"202703{n + 1:02d}T150000",
            title=f"Meeting {n}",
        )
        for n in range(COUNT)
    ]


def assert_position_behind_outcomes(env: BridgeEnv) -> None:
    """Step 6: every UID up to the folder position has its outcome recorded."""
    [(position,)] = rows(env, "SELECT last_uid FROM folders") or [(0,)]
    recorded = {uid for (uid,) in rows(env, "SELECT uid FROM messages")}
    assert set(range(1, position + 1)) <= recorded


@pytest.mark.parametrize("point", POINTS)
def test_killed_with_four_workers_at_every_step(bridge_env: BridgeEnv, point: str) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    env.deliver(PLAIN)
    raws = backlog()
    for raw in raws:
        env.deliver(raw)
    env.simulator.set_delay(0.2)  # the other workers are in the middle of their calls

    assert once(env, point).returncode == -signal.SIGKILL
    assert_position_behind_outcomes(env)

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert_position_behind_outcomes(env)
    # The plain message stays; every invitation is planned and filed, once.
    assert env.uids("INBOX") == [1]
    assert len(env.uids("kmeet/processed")) == COUNT
    assert rows(env, "SELECT uid, outcome FROM messages ORDER BY uid") == [(1, "ignored")] + [
        (uid, "planned") for uid in range(2, COUNT + 2)
    ]
    assert rows(env, "SELECT last_uid FROM folders") == [(COUNT + 1,)]
    assert rows(env, "SELECT * FROM filing") == []
    assert rows(env, "SELECT * FROM message_plans") == []
    # A second room only where the kill cut an API call short, and then in doubt
    # (in doubt without one if the request had not left yet: that cannot be told).
    bodies = Counter(body["title"] for body in env.simulator.planned_bodies)
    meetings = rows(env, "SELECT title, status, in_doubt, room FROM meetings ORDER BY title")
    assert [(title, status) for title, status, *_ in meetings] == [
        (f"Meeting {n}", "planned") for n in range(COUNT)
    ]
    for title, _, in_doubt, _ in meetings:
        assert 1 <= bodies[title] <= 1 + in_doubt, (title, bodies[title], in_doubt)
    # Every request answered with its meeting's room; a second reply only from a
    # kill between an SMTP server's 250 and its record (store.py, step 4).
    replies: dict[str, list[str]] = {}
    for reply in env.smtp.messages:
        replies.setdefault(reply.message["In-Reply-To"], []).append(text_of(reply.message))
    rooms = {title: room for title, _, _, room in meetings}
    for raw in raws:
        original = parse(raw)
        texts = replies[original["Message-ID"]]
        assert 1 <= len(texts) <= (1 if point in ("before-plan", "after-plan") else 2)
        name = rooms[original["Subject"]].split('"name": "')[1].split('"')[0]
        assert f"Join link: https://kmeet.infomaniak.com/{name}" in texts[-1]
