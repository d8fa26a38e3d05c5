"""Who may do what with a meeting, and what hostile values can reach: end to end
against Dovecot, the SMTP sink and the API simulator (issue 13)."""

from __future__ import annotations

import re

from tests.support.harness import BridgeEnv, invitation, rows, text_of
from tests.test_faults import T0

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


# -- meetings belong to the people who planned them ----------------------------------

UID = "budget-2027@example.com"


def alices(**changes: object) -> bytes:
    """Alice's invitation (bob@example.org is its one attendee)."""
    values: dict = {"uid": UID, "start": "20270315T140000", "end": "20270315T150000"}
    values.update(changes)
    return invitation(**values)


def once(env: BridgeEnv, summary: str) -> None:
    result = env.command("once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pass finished: {summary}", result.stderr


def room_url(env: BridgeEnv) -> str:
    [room] = env.simulator.rooms.values()
    return f"https://kmeet.infomaniak.com/{room['name']}"


def test_someone_else_resending_an_invitation_gets_no_link(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(alices())
    once(env, "1 planned")
    url = room_url(env)
    env.deliver(from_(alices(message_id="<resent@example.com>"), "mallory@example.com"))

    once(env, "1 rejected")

    reply = env.smtp.messages[1]
    assert reply.rcpt_tos == ("mallory@example.com",)
    text = text_of(reply.message)
    assert url not in text
    assert "The meeting was planned by someone else, and does not list you as an attendee." in text
    assert "Ask the meeting’s organiser for the link." in text
    assert len(env.simulator.planned_bodies) == 1
    assert len(env.uids("kmeet/failed")) == 1


def test_an_attendee_gets_the_link_but_changes_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(alices())
    once(env, "1 planned")
    url = room_url(env)
    forwarded = alices(message_id="<fwd@example.org>").replace(
        b"From: Alice Example <alice@example.com>", b"From: Bob Example <Bob@Example.org>"
    )
    env.deliver(forwarded)
    once(env, "1 planned")
    assert env.smtp.messages[1].rcpt_tos == ("Bob@example.org",)
    assert url in text_of(env.smtp.messages[1].message)

    moved = alices(start="20270315T150000", end="20270315T160000", sequence=1)
    env.deliver(from_(moved, "bob@example.org").replace(b"<budget", b"<bob-budget"))
    once(env, "1 rejected")

    text = text_of(env.smtp.messages[2].message)
    assert url not in text
    assert "Only the meeting’s organiser, or whoever had it planned, can change or cancel it." in (
        text
    )
    assert rows(env, "SELECT starting_at, sequence, status FROM meetings") == [
        ("2027-03-15 14:00:00", 0, "planned")
    ]
    assert len(env.simulator.planned_bodies) == 1


def test_a_cancellation_from_someone_else_removes_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"delete_cancelled_rooms": True})
    env.deliver(alices())
    once(env, "1 planned")
    cancel = alices(sequence=1, method="CANCEL", message_id="<cancel@example.com>")
    for sender in ("mallory@example.com", "bob@example.org"):
        env.deliver(from_(cancel, sender).replace(b"<cancel@", f"<{sender}-cancel@".encode()))

    once(env, "2 rejected")

    assert [r for r in env.simulator.requests if r.method == "DELETE"] == []
    assert rows(env, "SELECT status FROM meetings") == [("planned",)]
    assert [m.rcpt_tos for m in env.smtp.messages[1:]] == [
        ("mallory@example.com",),
        ("bob@example.org",),
    ]
    assert "does not list you as an attendee" in text_of(env.smtp.messages[1].message)
    assert "can change or cancel it" in text_of(env.smtp.messages[2].message)

    # The organiser may.
    env.deliver(alices(sequence=2, method="CANCEL", message_id="<alice-cancel@example.com>"))
    once(env, "1 planned")
    assert len([r for r in env.simulator.requests if r.method == "DELETE"]) == 1
    assert rows(env, "SELECT status FROM meetings") == [("cancelled",)]


def test_whoever_planned_the_meeting_is_told_of_the_organisers_changes(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    # Carol forwards an invitation that dave organises: the meeting is dave's and carol's.
    daves = alices(organizer="dave@example.net")
    env.deliver(
        from_(daves.replace(b"<dave@example.net>", b"<alice@example.com>", 1), "carol@example.com")
    )
    once(env, "1 planned")
    assert env.smtp.messages[0].rcpt_tos == ("carol@example.com",)

    moved = alices(organizer="dave@example.net", end="20270315T143000", sequence=1)
    env.deliver(moved)  # from dave, the organiser: he may change it
    once(env, "1 planned")

    update = env.smtp.messages[1]
    assert update.message["To"] == "dave@example.net"
    assert update.message["Cc"] == "carol@example.com"
    assert sorted(update.rcpt_tos) == ["carol@example.com", "dave@example.net"]
    assert rows(env, "SELECT ending_at, organizer, planner FROM meetings") == [
        ("2027-03-15 14:30:00", "dave@example.net", "carol@example.com")
    ]


def test_a_deferred_reply_and_its_password_go_only_to_the_message_that_planned_it(
    bridge_env: BridgeEnv,
) -> None:
    from tests.test_faults import Clock, bridge_for

    env = bridge_env
    env.write_config(**{"kmeet.room": {"password_enabled": True}})
    original = alices(message_id="<alice-1@example.com>")
    env.deliver(original)
    env.smtp.fail_next(452)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        password = env.simulator.planned_bodies[0]["options"][0]["password"]
        url = room_url(env)
        # The same invitation with the same Message-ID, from an allowed attendee, from
        # a stranger, and as alice (an exact copy, or a forged From), while alice's
        # reply waits.
        env.deliver(from_(original, "bob@example.org"))
        env.deliver(from_(original, "mallory@example.com"))
        env.deliver(original)
        # SMTP is held back as down until its probe, due a moment later, finds it
        # back (health.py); then the waiting reply goes first, in arrival order.
        clock.at(2)
        assert bridge.run_pass().summary() == "3 planned, 1 rejected"

    assert [m.rcpt_tos for m in env.smtp.messages] == [
        ("alice@example.com",),
        ("bob@example.org",),
        ("mallory@example.com",),
        ("alice@example.com",),
    ]
    alice, bob, mallory, copy = (text_of(m.message) for m in env.smtp.messages)
    assert url in bob and password not in bob
    assert url not in mallory and password not in mallory
    assert url in copy and password not in copy
    assert f"Password: {password} (only you have received it" in alice
    assert rows(env, "SELECT password FROM message_plans") == []


# -- authentication, end to end --------------------------------------------------------

TRUSTING = {"require_authenticated": True, "trusted_authserv_ids": ["mx.example.com"]}


def test_only_a_verdict_about_the_one_from_domain_from_the_topmost_header_counts(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(senders={**TRUSTING, "allow": ["*@example.com", "boss@partner.example"]})
    boss = b"From: Alice Example <alice@example.com>"

    def deliver(n: int, results: list[str], sender: bytes = b"From: boss@partner.example") -> None:
        raw = invitation(
            uid=f"a{n}@example.com", start=f"202703{n}T140000", end=f"202703{n}T150000"
        )
        lines = "".join(f"Authentication-Results: {r}\r\n" for r in results).encode()
        env.deliver(lines + raw.replace(boss, sender, 1))

    deliver(10, ["mx.example.com; dmarc=pass header.from=attacker.test"])
    deliver(
        11,
        ["mx.example.com; dmarc=pass header.from=partner.example"],
        b"From: boss@partner.example\r\nFrom: evil@attacker.test",
    )
    deliver(
        12,
        ["mx.example.com; dmarc=pass header.from=partner.example"],
        b"From: boss@partner.example, evil@attacker.test",
    )
    deliver(13, ["mx.example.com; spf=pass smtp.helo=partner.example"])
    deliver(
        14,
        [
            "mx.example.com; dmarc=fail header.from=partner.example",
            "mx.example.com; dmarc=pass header.from=partner.example",
        ],
    )
    deliver(
        15,
        [
            "mx.example.com; spf=pass smtp.helo=[203.0.113.5]; dmarc=fail",
            "mx.example.com; dmarc=pass header.from=partner.example",
        ],
    )
    # Genuine, in forms real servers write.
    deliver(
        16,
        [
            "mx.example.com; spf=none smtp.helo=[203.0.113.5];\r\n"
            " dkim=pass (2048-bit key) header.d=partner.example; dmarc=pass (p=none"
        ],
    )
    deliver(17, ["mx.example.com; dmarc=pass header.from=partner.example"])
    deliver(
        18,
        [
            "mx.example.com; dmarc=fail header.from=partner.example; ===",
            "mx.example.com; dmarc=pass header.from=partner.example",
        ],
    )

    once(env, "2 planned, 7 rejected")

    assert [m.rcpt_tos for m in env.smtp.messages] == [("boss@partner.example",)] * 2
    reasons = [r for (r,) in rows(env, "SELECT reason FROM messages ORDER BY uid")]
    not_confirmed = (
        "sender boss@partner.example is not authenticated: mx.example.com did not confirm "
        "DMARC, DKIM or SPF for partner.example"
    )
    assert reasons[:6] + reasons[8:] == [
        not_confirmed,
        "sender (unreadable From) is not allowed",
        "sender (unreadable From) is not allowed",
        not_confirmed,
        not_confirmed,
        not_confirmed,
        "sender boss@partner.example is not authenticated: the Authentication-Results "
        "header of mx.example.com could not be read",
    ]
