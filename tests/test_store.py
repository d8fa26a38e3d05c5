"""The state database: positions, outcomes, meetings and replies survive a restart."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kmeet_bridge.models import Outcome, Room
from kmeet_bridge.store import MeetingDetails, Store

ROOM = Room(
    url="https://kmeet.infomaniak.com/abc-defg-hij",
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    id=155910,
    code="123456",
    event_id=4242,
    ending_at="2027-02-03 10:00:00",
)
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def test_folder_position_resets_when_uidvalidity_changes(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        assert store.folder_position("INBOX", 7) == 0
        store.advance_folder("INBOX", 7, 12)
        store.advance_folder("INBOX", 7, 9)  # never moves backwards
        assert store.folder_position("INBOX", 7) == 12
        assert store.folder_position("INBOX", 8) == 0
        store.advance_folder("INBOX", 8, 3)
        assert store.folder_position("INBOX", 8) == 3
    with Store(tmp_path / "state.db") as reopened:
        assert reopened.folder_position("INBOX", 8) == 3


def test_planning_protocol_and_doubt(tmp_path: Path) -> None:
    details = MeetingDetails(
        "Budget", "2027-02-03 09:00:00", "2027-02-03 10:00:00", "Europe/Zurich", 0
    )
    ends = datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
    with Store(tmp_path / "state.db") as store:
        key = "ics:a@example.com:uid-1:"
        assert store.begin_planning(key, details, "<m1@example.com>") is False
        # A second begin without a finish: the first call never answered.
        assert store.begin_planning(key, details, "<m1@example.com>") is True
        store.finish_planning(key, ROOM, ends, details)
        record = store.meeting(key)
        assert record is not None
        assert (record.status, record.in_doubt, record.room, record.room_ends) == (
            "planned",
            True,
            ROOM,
            ends,
        )

        assert store.begin_planning("ics:a@example.com:uid-2:", details, None) is False
        store.abandon_planning("ics:a@example.com:uid-2:")
        assert store.meeting("ics:a@example.com:uid-2:") is None


def test_a_failed_replan_keeps_the_old_room_and_details(tmp_path: Path) -> None:
    details = MeetingDetails(
        "Budget", "2027-02-03 09:00:00", "2027-02-03 10:00:00", "Europe/Zurich", 0
    )
    moved = MeetingDetails(
        "Budget", "2027-02-10 09:00:00", "2027-02-10 10:00:00", "Europe/Zurich", 1
    )
    with Store(tmp_path / "state.db") as store:
        key = "ics:a@example.com:uid-1:"
        store.begin_planning(key, details, None)
        store.finish_planning(key, ROOM, datetime(2027, 2, 3, 9, tzinfo=UTC), details)
        store.begin_planning(key, moved, None)
        store.abandon_planning(key)
        record = store.meeting(key)
        assert record is not None
        assert (record.status, record.room, record.starting_at, record.sequence) == (
            "planned",
            ROOM,
            "2027-02-03 09:00:00",
            0,
        )


def test_messages_attempts_and_due_deferred(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        common = dict(
            folder="INBOX",
            uidvalidity=7,
            message_id="<m@example.com>",
            sender="alice@example.com",
            subject="Budget",
        )
        store.record_message(
            uid=5,
            outcome=Outcome.DEFERRED,
            reason="API down",
            next_attempt=NOW + timedelta(minutes=1),
            now=NOW,
            **common,
        )
        record = store.record_message(
            uid=5,
            outcome=Outcome.DEFERRED,
            reason="API down",
            next_attempt=NOW + timedelta(minutes=3),
            now=NOW + timedelta(minutes=1),
            **common,
        )
        assert record.attempts == 2
        assert record.first_seen == NOW
        store.record_message(uid=6, outcome=Outcome.IGNORED, reason="no request", now=NOW, **common)
        assert store.due_deferred("INBOX", 7, NOW + timedelta(minutes=2)) == []
        assert store.due_deferred("INBOX", 7, NOW + timedelta(minutes=3)) == [5]
        store.record_message(
            uid=5,
            outcome=Outcome.PLANNED,
            reason=ROOM.url,
            now=NOW + timedelta(minutes=4),
            **common,
        )
        assert store.due_deferred("INBOX", 7, NOW + timedelta(hours=1)) == []
        assert store.outcome_counts() == {"planned": 1, "ignored": 1}


def test_replies_are_recorded_once(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        assert not store.reply_sent("<m1@example.com>")
        store.record_reply(
            "<m1@example.com>",
            kind="planned",
            recipient="a@example.com",
            reply_id="<r1@example.com>",
        )
        store.record_reply(
            "<m1@example.com>",
            kind="planned",
            recipient="a@example.com",
            reply_id="<r2@example.com>",
        )
        assert store.reply_sent("<m1@example.com>")
        assert store.reply_count() == 1


def test_the_state_database_is_created_for_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Store(tmp_path / "state" / "state.db"):
            pass
    finally:
        os.umask(old)
    made = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert "state.db" in made
    for name in made:
        assert (tmp_path / "state" / name).stat().st_mode & 0o777 == 0o600, name
