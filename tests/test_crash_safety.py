"""The bridge killed (SIGKILL) at every step of a message, then started again.

Each test runs `kmeet-bridge once` as a real process against Dovecot, the SMTP
sink and the API simulator, kills it at one point, either from inside at a
failpoint (KMEET_BRIDGE_FAILPOINT, see kmeet_bridge/failpoints.py) or from
outside while the simulator or the sink holds the step, then runs `once` again
and checks what the requester and the API saw: rooms per meeting, replies per
requester, the folder the message ends in and its recorded outcome. Only a kill
during the API call may cost a second room, and then the meeting is in doubt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from tests.support.harness import ROOT, BridgeEnv, invitation, rows

UID = "crash-2027@example.com"
INVITATION = invitation(uid=UID, start="20270315T140000", end="20270315T150000")
KEY = "ics:alice@example.com:crash-2027@example.com:"
FAILPOINT = "KMEET_BRIDGE_FAILPOINT"


def once(env: BridgeEnv, failpoint: str | None = None) -> subprocess.CompletedProcess:
    return env.command("once", env={FAILPOINT: failpoint} if failpoint else None)


def start_once(env: BridgeEnv) -> subprocess.Popen:
    """`once` in the background, to be killed from outside."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    return subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", "--config", str(env.config_path), "once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def posts(env: BridgeEnv) -> int:
    return sum(1 for request in env.simulator.requests if request.method == "POST")


def room_url(env: BridgeEnv, index: int = -1) -> str:
    return f"https://kmeet.infomaniak.com/{list(env.simulator.rooms.values())[index]['name']}"


def text_of(env: BridgeEnv, index: int = 0) -> str:
    body = env.smtp.messages[index].message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def assert_settled(env: BridgeEnv, *, rooms: int, in_doubt: bool, position: int = 1) -> None:
    """One outcome, one reply with the last room's link, the message filed."""
    assert posts(env) == rooms
    assert len(env.simulator.rooms) == rooms
    [reply] = env.smtp.messages
    assert reply.rcpt_tos == ("alice@example.com",)
    assert reply.message["In-Reply-To"] == "<crash-2027.example.com-0-request@example.com>"
    url = room_url(env)
    text = text_of(env)
    # Worded as the first answer would have been, whatever pass sent it.
    assert text.startswith("Your kMeet meeting has been scheduled.\r\n")
    assert f"Join link: {url}" in text
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/processed")) == 1
    assert rows(env, "SELECT uid, outcome, reason FROM messages") == [(1, "planned", f"new: {url}")]
    assert rows(env, "SELECT key, status, in_doubt FROM meetings") == [
        (KEY, "planned", int(in_doubt))
    ]
    # The reply belongs to the very message: its folder, UIDVALIDITY and UID.
    [(key,)] = rows(env, "SELECT message_key FROM replies")
    assert key.startswith("INBOX:") and key.endswith(":1")
    assert rows(env, "SELECT folder, last_uid FROM folders") == (
        [("INBOX", position)] if position else []
    )
    # Nothing half-done is left behind, the room password least of all.
    assert rows(env, "SELECT * FROM filing") == []
    assert rows(env, "SELECT * FROM message_plans") == []


def test_killed_before_the_api_call_plans_once_without_doubt(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)

    assert once(env, "before-plan").returncode == -signal.SIGKILL
    assert rows(env, "SELECT key, status, in_doubt FROM meetings") == [(KEY, "prepared", 0)]
    assert posts(env) == 0

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass finished: 1 planned\n"
    assert "in doubt" not in result.stderr
    assert_settled(env, rooms=1, in_doubt=False)


def test_killed_during_the_api_call_may_cost_a_room_and_says_so(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)
    env.simulator.set_delay(1.0)  # the request arrives; the answer waits
    process = start_once(env)
    wait_until(lambda: posts(env) == 1)

    kill(process)

    assert rows(env, "SELECT key, status, in_doubt FROM meetings") == [(KEY, "planning", 0)]
    env.simulator.reset()
    # The API finishes what it was asked, with nobody left to hear the answer.
    wait_until(lambda: len(env.simulator.rooms) == 1)

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert (
        f"WARNING kmeet_bridge.bridge: meeting {KEY} is in doubt: an earlier API call was "
        "interrupted without an answer, so a second room may exist in the Infomaniak "
        "calendar; planning it again"
    ) in result.stderr
    assert_settled(env, rooms=2, in_doubt=True)
    status = env.command("status").stdout.splitlines()
    assert status[-2:] == [
        "meetings in doubt (1):",
        f'  {KEY}: "Budget review" 2027-03-15 14:00:00 (Europe/Zurich): planned again after '
        f"an interrupted API call: {room_url(env)}; a second room may exist in the Infomaniak "
        "calendar",
    ]


def test_killed_after_the_answer_reuses_the_room_and_keeps_the_password(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(**{"kmeet.room": {"password_enabled": True}})
    env.deliver(INVITATION)

    assert once(env, "after-plan").returncode == -signal.SIGKILL
    [body] = env.simulator.planned_bodies
    password = body["options"][0]["password"]
    assert rows(env, "SELECT status FROM meetings") == [("planned",)]
    # Until the reply is accepted, the note of this message keeps the password.
    assert rows(env, "SELECT status, password FROM message_plans") == [("new", password)]
    assert env.smtp.messages == []
    assert env.uids("INBOX") == [1]

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert_settled(env, rooms=1, in_doubt=False)
    # The reply written after the restart gives the password the room was made with.
    assert f"Password: {password} (only you have received it" in text_of(env)


def test_killed_during_the_reply_sends_it_once(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)
    env.smtp.hold_data()  # DATA received, its 250 held back
    process = start_once(env)
    env.smtp.wait_held()

    kill(process)

    env.smtp.wait_abandoned()
    assert env.smtp.messages == []
    assert rows(env, "SELECT count(*) FROM replies") == [(0,)]

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert_settled(env, rooms=1, in_doubt=False)


def test_killed_after_the_reply_does_not_reply_again(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)

    assert once(env, "after-reply").returncode == -signal.SIGKILL
    assert len(env.smtp.messages) == 1
    assert env.uids("INBOX") == [1]
    # The note of how the message planned the meeting stays; the password does not.
    assert rows(env, "SELECT status, password FROM message_plans") == [("new", None)]

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert_settled(env, rooms=1, in_doubt=False)


def test_killed_before_the_move_files_the_message_on_restart(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = INVITATION.replace(b"alice@example.com>", b"alice@elsewhere.example.net>", 1)
    env.deliver(raw)

    assert once(env, "before-move").returncode == -signal.SIGKILL
    assert env.uids("INBOX") == [1]
    assert rows(env, "SELECT target, outcome FROM filing") == [("kmeet/failed", "rejected")]

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass finished: 1 rejected\n"
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/failed")) == 1
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("rejected", "sender alice@elsewhere.example.net is not allowed")
    ]
    assert rows(env, "SELECT * FROM filing") == []
    assert env.smtp.messages == []
    assert posts(env) == 0


def test_killed_after_the_move_records_the_outcome_on_restart(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)

    assert once(env, "before-record").returncode == -signal.SIGKILL
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/processed")) == 1
    assert rows(env, "SELECT * FROM messages") == []

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass finished: 1 planned\n"
    assert "was moved to kmeet/processed before an interruption" in result.stderr
    assert_settled(env, rooms=1, in_doubt=False)


def test_killed_after_the_record_only_moves_the_position(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(INVITATION)

    assert once(env, "after-record").returncode == -signal.SIGKILL
    assert rows(env, "SELECT folder, last_uid FROM folders") == []

    result = once(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass finished: nothing new\n"
    # The UID left the folder with its outcome: the position waits for the next one.
    assert_settled(env, rooms=1, in_doubt=False, position=0)
