"""Only the right people can plan rooms, and hostile mail cannot hurt the bridge:
authenticated senders, rate limits, size and attendee limits, and `check`'s
warnings, end to end against Dovecot, the SMTP sink and the API simulator."""

from __future__ import annotations

import sqlite3

from tests.support.harness import CORPUS, BridgeEnv, invitation, text_of


def outcomes(env: BridgeEnv) -> list[tuple[str, str]]:
    with sqlite3.connect(env.state_path) as db:
        return db.execute("SELECT outcome, reason FROM messages ORDER BY uid").fetchall()


def with_header(raw: bytes, header: str) -> bytes:
    return f"{header}\r\n".encode() + raw


def test_only_senders_vouched_for_by_our_server_count(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(
        senders={"require_authenticated": True, "trusted_authserv_ids": ["mx.example.com"]}
    )
    ok = "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com"
    forged = "Authentication-Results: evil.example.net; dmarc=pass header.from=example.com"
    failed = "Authentication-Results: mx.example.com; dmarc=fail; spf=fail"
    env.deliver(
        with_header(
            invitation(uid="a@example.com", start="20270315T140000", end="20270315T150000"), ok
        )
    )
    env.deliver(
        with_header(
            invitation(uid="b@example.com", start="20270316T140000", end="20270316T150000"), forged
        )
    )
    env.deliver(
        with_header(
            invitation(uid="c@example.com", start="20270317T140000", end="20270317T150000"), failed
        )
    )

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 1 planned, 2 rejected"
    assert len(env.simulator.planned_bodies) == 1
    assert len(env.smtp.messages) == 1  # the unauthenticated get no reply at all
    assert [reason for _, reason in outcomes(env)][1:] == [
        "sender alice@example.com is not authenticated: no Authentication-Results header "
        "from a trusted server",
        "sender alice@example.com is not authenticated: mx.example.com did not confirm DMARC, "
        "DKIM or SPF for example.com",
    ]
    assert len(env.uids("kmeet/failed")) == 2


def test_rooms_per_sender_per_hour(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(senders={"max_rooms_per_hour": 2})
    for day in (15, 16, 17):
        env.deliver(
            invitation(
                uid=f"r{day}@example.com", start=f"202703{day}T140000", end=f"202703{day}T150000"
            )
        )

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pass finished: 2 planned, 1 rejected"
    assert len(env.simulator.planned_bodies) == 2
    third = text_of(env.smtp.messages[2].message)
    assert third.startswith("Your request is fine, but no more meetings can be set up for now.")
    assert "Why: You have reached the limit of 2 meetings per hour." in third
    assert "What to do: Please send your request again after " in third  # a time and a day
    assert "(Zurich time)." in third


def test_rooms_per_day_for_everyone(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_rooms_per_day": 1})
    env.deliver(invitation(uid="d1@example.com", start="20270315T140000", end="20270315T150000"))
    env.deliver(
        invitation(
            uid="d2@example.com",
            start="20270316T140000",
            end="20270316T150000",
            organizer="bob@example.org",
        )
    )

    assert env.command("once").stdout.strip() == "pass finished: 1 planned, 1 rejected"

    assert len(env.simulator.planned_bodies) == 1
    assert "Why: The limit of 1 meeting per 24 hours has been reached." in text_of(
        env.smtp.messages[1].message
    )


def test_a_message_over_the_size_limit_is_answered_from_its_header(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(limits={"max_message_size": 4096})
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    assert len(raw) > 4096
    env.deliver(raw)

    assert env.command("once").stdout.strip() == "pass finished: 1 rejected"

    assert env.simulator.planned_bodies == []
    [reply] = env.smtp.messages
    size = round(len(raw) / 1000)
    assert f"Your message is {size} kB, which is over the 4 kB limit." in text_of(reply.message)
    assert len(env.uids("kmeet/failed")) == 1


def test_attendees_passed_to_the_api_are_capped(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(limits={"max_attendees": 2})
    extra = "\r\n".join(
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:guest{n}@example.org" for n in range(5)
    )
    env.deliver(
        invitation(
            uid="big@example.com", start="20270315T140000", end="20270315T150000", extra=extra
        )
    )

    assert env.command("once").stdout.strip() == "pass finished: 1 planned"

    [body] = env.simulator.planned_bodies
    assert [a["address"] for a in body["attendees"]] == ["alice@example.com", "bob@example.org"]
    assert "- Only the first 2 of the 7 attendees were passed to kMeet." in text_of(
        env.smtp.messages[0].message
    )


def test_check_warns_about_readable_secrets(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    (env.directory / "api-token").chmod(0o644)
    result = env.command("check")
    assert result.returncode == 0, result.stdout
    assert (
        f"warning: {env.directory / 'api-token'} can be read by group or others (mode 0644); "
        f"run: chmod 600 {env.directory / 'api-token'}"
    ) in result.stdout.splitlines()
    assert env.simulator.token not in result.stdout + result.stderr


def test_check_warns_about_a_readable_state_database_and_authentication_off(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    assert env.command("once").returncode == 0
    assert env.state_path.stat().st_mode & 0o777 == 0o600  # created for its owner only
    assert env.command("check").stdout.splitlines()[1:2] == [
        "warning: [senders] require_authenticated is off: anybody can write an allowed "
        "address into From and have rooms planned and replies sent to it; turn it on with "
        "trusted_authserv_ids (see the README, Security)"
    ]
    env.state_path.chmod(0o644)
    env.write_config(
        senders={"require_authenticated": True, "trusted_authserv_ids": ["mx.example.com"]}
    )
    result = env.command("check")
    assert result.returncode == 0, result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("warning: ")] == [
        f"warning: {env.state_path} can be read by group or others (mode 0644); "
        f"run: chmod 600 {env.state_path}"
    ]
