"""`once --dry-run` and `run --dry-run` against the real servers: what they
print, and that the mailbox, the state, the API and the SMTP server are left
exactly as they were."""

from __future__ import annotations

import hashlib
import os
import signal
import time

from tests.support.harness import BridgeEnv, invitation, running_cli

STRANGER = invitation(
    uid="offer@elsewhere.example", start="20270320T100000", end="20270320T110000"
).replace(b"From: Alice Example <alice@example.com>", b"From: Eve <eve@attacker.test>")


def mailbox_snapshot(env: BridgeEnv) -> dict[str, object]:
    """Every folder with its UIDVALIDITY and UIDNEXT, and every message's UID, flags
    and exact bytes, as the server reports them; plus the Maildir files on disk
    (their names hold the flags), by name and content hash."""
    folders: dict[str, object] = {}
    names = env.dovecot.folders(env.user, env.password)
    with env.dovecot.session(env.user, env.password) as client:
        for name in names:
            typ, data = client.status(f'"{name}"', "(MESSAGES UIDNEXT UIDVALIDITY)")
            if typ != "OK":  # a folder that only holds others (\Noselect)
                folders[name] = None
                continue
            typ, _ = client.select(f'"{name}"', readonly=True)
            assert typ == "OK"
            typ, fetched = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            messages = sorted(
                (part[0], hashlib.sha256(part[1]).hexdigest())
                for part in fetched
                if isinstance(part, tuple)
            )
            folders[name] = (data[0], messages)
    home = env.dovecot.mail_dir / "home" / env.user
    files = sorted(
        (str(path.relative_to(home)), hashlib.sha256(path.read_bytes()).hexdigest())
        for path in home.rglob("*")
        if path.is_file() and path.parent.name in ("cur", "new", "tmp")
    )
    return {"folders": folders, "files": files}


def state_snapshot(env: BridgeEnv) -> dict[str, bytes | None]:
    """The state database and its companions, byte for byte (None: absent)."""
    names = ("state.db", "state.db-wal", "state.db-shm", "state.db.lock")
    return {
        name: (env.directory / name).read_bytes() if (env.directory / name).exists() else None
        for name in names
    }


def test_once_dry_run_prints_what_a_pass_would_do_and_changes_nothing(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    # A real pass first: the state knows the folder and one planned meeting.
    env.deliver(invitation(uid="q1@example.com", start="20270315T140000", end="20270315T150000"))
    assert env.command("once").returncode == 0
    assert len(env.smtp.messages) == 1
    env.deliver(
        invitation(
            uid="board@example.com",
            start="20270316T090000",
            end="20270316T100000",
            title="Board meeting",
        )
    )
    env.deliver_corpus("plain_message.eml")
    env.deliver(STRANGER)
    # An update of the planned meeting (a new title): no API call, the same room.
    env.deliver(
        invitation(
            uid="q1@example.com",
            start="20270315T140000",
            end="20270315T150000",
            title="Budget review (room 4)",
            sequence=1,
        )
    )
    uids = env.uids("INBOX")
    assert len(uids) == 4
    # Flags the owner set must survive too.
    env.dovecot.store(env.user, env.password, "INBOX", uids[1], ("\\Flagged",))
    mailbox_before = mailbox_snapshot(env)
    state_before = state_snapshot(env)
    requests_before = len(env.simulator.requests)
    replies_before = len(env.smtp.messages)

    result = env.command("once", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert mailbox_snapshot(env) == mailbox_before
    assert state_snapshot(env) == state_before
    assert len(env.simulator.requests) == requests_before
    assert len(env.smtp.messages) == replies_before
    blocks = result.stdout.split("\n\n")
    assert blocks[0] == "dry run: nothing is planned, sent, moved or recorded"
    assert blocks[-1] == "dry run finished: 2 planned, 1 ignored, 1 rejected\n"
    board, lunch, stranger, update = (block.splitlines() for block in blocks[1:5])

    assert board[:6] == [
        f'INBOX:{uids[0]} from alice@example.com "Board meeting"',
        "  outcome: planned: new: https://kmeet.infomaniak.com/dry-run-1",
        "  would move to: kmeet/processed",
        "  meeting: Board meeting",
        "    when: 2027-03-16 09:00 - 2027-03-16 10:00 (Europe/Zurich); "
        "2027-03-16 08:00 UTC - 2027-03-16 09:00 UTC",
        "    identity: ics:alice@example.com:board@example.com:",
    ]
    assert "  API request: POST /1/kmeet/rooms" in board
    assert '      "starting_at": "2027-03-16 09:00:00",' in board
    assert '      "ending_at": "2027-03-16 10:00:00",' in board
    assert '      "timezone": "Europe/Zurich",' in board
    assert '      "calendar_id": 72618,' in board
    reply = board.index("  reply to: alice@example.com")
    assert board[reply + 1] == "    Subject: Re: Board meeting"
    assert any("https://kmeet.infomaniak.com/dry-run-1" in line for line in board[reply:])

    assert lunch == [
        f'INBOX:{uids[1]} from ruth.meier@example.com "Lunch tomorrow?"',
        lunch[1],
        "  stays in INBOX, unchanged",
    ]
    assert lunch[1].startswith("  outcome: ignored: ")

    assert stranger[:3] == [
        f'INBOX:{uids[2]} from eve@attacker.test "Budget review"',
        "  outcome: rejected: sender eve@attacker.test is not allowed",
        "  would move to: kmeet/failed",
    ]
    assert "  API request: POST /1/kmeet/rooms" not in stranger
    assert stranger[-1] == "  reply: none"

    assert update[:3] == [
        f'INBOX:{uids[3]} from alice@example.com "Budget review (room 4)"',
        update[1],
        "  would move to: kmeet/processed",
    ]
    assert update[1].startswith("  outcome: planned: updated: https://kmeet.infomaniak.com/")
    assert not any(line.startswith("  API request") for line in update)
    assert "  reply to: alice@example.com" in update

    # What the dry run announced is what a real pass then does.
    assert env.command("once").stdout == "pass finished: 2 planned, 1 ignored, 1 rejected\n"
    [planned] = env.simulator.planned_bodies[1:]
    assert planned["starting_at"] == "2027-03-16 09:00:00"
    assert len(env.uids("kmeet/failed")) == 1
    assert [m.rcpt_tos for m in env.smtp.messages[replies_before:]] == [
        ("alice@example.com",),
        ("alice@example.com",),
    ]


def test_once_dry_run_without_a_state_reads_the_whole_folder_and_creates_nothing(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.deliver(invitation(uid="q1@example.com", start="20270315T140000", end="20270315T150000"))
    env.deliver(
        b"From: Carl <carl@example.net>\r\nTo: meet@example.com\r\n"
        b"Subject: kmeet: Audit\r\nMessage-ID: <audit-1@example.net>\r\n"
        b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n\r\n"
        b"2027-04-01 10:00, 30 minutes, with password\r\n"
    )
    mailbox_before = mailbox_snapshot(env)

    result = env.command("once", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("dry run finished: 2 planned\n")
    # A protected room's password is made when the room is planned: none is shown.
    audit = result.stdout.split("\n\n")[2].splitlines()
    assert '          "password": "(generated when the room is planned)"' in audit
    reply = audit.index("  reply to: carl@example.net")
    assert audit[reply + 1] == "    Subject: Re: kmeet: Audit"
    assert any("(generated when the room is planned)" in line for line in audit[reply:])
    assert sorted(p.name for p in env.directory.iterdir()) == [
        "api-token",
        "config.toml",
        "imap-password",
    ]
    assert mailbox_snapshot(env) == mailbox_before
    assert env.simulator.requests == []
    assert env.smtp.messages == []


def test_run_dry_run_shows_each_new_message_once_and_changes_nothing(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 5})
    env.deliver(invitation(uid="q1@example.com", start="20270315T140000", end="20270315T150000"))
    with running_cli("run", "--dry-run", "--config", str(env.config_path), text=False) as process:
        assert process.stdout is not None
        first = _read_until(process.stdout, b"dry run finished: 1 planned\n")
        assert b"outcome: planned: new: https://kmeet.infomaniak.com/dry-run-1" in first
        mailbox_before = mailbox_snapshot(env)
        env.deliver_corpus("plain_message.eml")
        # Seen by a later pass, alone: the first message is not shown again.
        second = _read_until(process.stdout, b"dry run finished: 1 ignored\n")
        assert b"Lunch tomorrow?" in second
        assert b"alice@example.com" not in second
        assert b"nothing new" not in first + second  # passes that find nothing stay quiet
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    inbox = mailbox_before["folders"]["INBOX"]  # type: ignore[index]
    after = mailbox_snapshot(env)["folders"]["INBOX"]  # type: ignore[index]
    assert after[1][: len(inbox[1])] == inbox[1]
    assert sorted(p.name for p in env.directory.iterdir()) == [
        "api-token",
        "config.toml",
        "imap-password",
    ]
    assert env.simulator.requests == []
    assert env.smtp.messages == []


def _read_until(stream, marker: bytes, timeout: float = 30.0) -> bytes:  # type: ignore[no-untyped-def]
    """What the daemon printed up to and including `marker`."""
    os.set_blocking(stream.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in {seen!r}"
        chunk = stream.read()
        if chunk:
            seen += chunk
        else:
            time.sleep(0.05)
    return seen
