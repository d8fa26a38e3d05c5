"""Who may do what with a planned meeting (pure), and how older state learns it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kmeet_bridge.invitations import ownership
from kmeet_bridge.models import Attendee, MeetingRequest
from kmeet_bridge.store import Owners, Store

OWNERS = Owners("dave@example.net", "carol@example.com", ("dave@example.net", "bob@example.org"))


@pytest.mark.parametrize(
    ("sender", "role"),
    [
        ("dave@example.net", ownership.OWNER),
        ("Carol@Example.com", ownership.OWNER),
        ("bob@example.org", ownership.ATTENDEE),
        ("mallory@example.com", ownership.STRANGER),
        ("carol+x@example.com", ownership.STRANGER),
    ],
)
def test_role(sender: str, role: str) -> None:
    assert ownership.role(OWNERS, sender) == role


def test_a_meeting_without_recorded_owners_is_open_as_before() -> None:
    assert ownership.role(Owners(), "anyone@example.com") == ownership.OWNER
    assert ownership.role(Owners(planner="a@example.com"), "b@example.com") == ownership.STRANGER


def test_owners_of_a_meeting_being_planned() -> None:
    start = datetime(2027, 3, 15, 13, tzinfo=UTC)
    meeting = MeetingRequest(
        key="k",
        title="t",
        start=start,
        end=start,
        timezone="UTC",
        attendees=(
            Attendee("Dave@Example.net", organizer=True),
            Attendee("bob@example.org"),
            Attendee("BOB@example.org"),
        ),
    )
    assert ownership.owners_of(meeting, "Carol@example.com") == Owners(
        "dave@example.net", "carol@example.com", ("dave@example.net", "bob@example.org")
    )


def test_the_planner_is_told_unless_the_change_is_theirs() -> None:
    other = Owners("x@example.com", "erin@example.com")
    assert ownership.to_tell([OWNERS, other, OWNERS, Owners()], "dave@example.net") == [
        "carol@example.com",
        "erin@example.com",
    ]
    assert ownership.to_tell([OWNERS], "CAROL@example.com") == []


def test_meetings_of_an_older_state_get_their_owners(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store(path):
        pass
    with sqlite3.connect(path) as db:  # as schema 3 had it
        db.execute("DROP TABLE meetings")
        db.execute(
            "CREATE TABLE meetings (key TEXT PRIMARY KEY, status TEXT NOT NULL, in_doubt "
            "INTEGER NOT NULL DEFAULT 0, title TEXT NOT NULL, starting_at TEXT NOT NULL, "
            "ending_at TEXT NOT NULL, timezone TEXT NOT NULL, sequence INTEGER NOT NULL "
            "DEFAULT 0, room TEXT, room_ends TEXT, message_id TEXT, updated_at TEXT NOT NULL)"
        )
        for key, message_id in (
            ("ics:dave@example.net:u1:", "<m1@example.com>"),
            ("<m2@example.com>", "<m2@example.com>"),
            ("ics::u3:", "<gone@example.com>"),
        ):
            db.execute(
                "INSERT INTO meetings VALUES (?, 'planned', 0, 't', 's', 'e', 'UTC', 0, NULL, "
                "NULL, ?, 'now')",
                (key, message_id),
            )
        for uid, message_id, sender, outcome in (
            (1, "<m1@example.com>", "Carol@example.com", "planned"),
            (2, "<m2@example.com>", "erin@example.com", "planned"),
            (3, "<m2@example.com>", "mallory@example.com", "rejected"),
        ):
            db.execute(
                "INSERT INTO messages(folder, uidvalidity, uid, message_id, sender, outcome, "
                "first_seen, updated_at) VALUES ('INBOX', 1, ?, ?, ?, ?, ?, ?)",
                (uid, message_id, sender, outcome, f"2026-12-0{uid}", "x"),
            )

    with Store(path) as store:
        owners = {m.key: m.owners for m in store.meetings()}

    assert owners == {
        "ics:dave@example.net:u1:": Owners("dave@example.net", "carol@example.com"),
        "<m2@example.com>": Owners("erin@example.com", "erin@example.com"),
        "ics::u3:": Owners(),
    }
