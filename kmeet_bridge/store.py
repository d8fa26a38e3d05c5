"""SQLite state: where each folder was read up to, what became of every message,
which room belongs to which meeting, and which replies went out.

The bridge records before and after each step with side effects, so that a
restart after a crash knows what was already done:

- `meetings.status = 'planning'` is written *before* the API call and
  `'planned'` with the room *after* it. A meeting found in `planning` on the next
  pass was interrupted during the call: the API gives no way to know whether
  the room exists, so it is planned again and flagged `in_doubt`.
- `replies` is written right after SMTP accepted the reply, so a message
  handled again (crash before the move) is moved without a second reply.
- `folders.last_uid` advances only once a message has its outcome recorded.

No secret is ever stored here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from kmeet_bridge.models import Outcome, Room

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    folder      TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    folder       TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    message_id   TEXT,
    sender       TEXT,
    subject      TEXT,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    first_seen   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (folder, uidvalidity, uid)
);
CREATE TABLE IF NOT EXISTS meetings (
    key         TEXT PRIMARY KEY,
    status      TEXT NOT NULL,          -- planning, planned, cancelled
    in_doubt    INTEGER NOT NULL DEFAULT 0,
    title       TEXT NOT NULL,
    starting_at TEXT NOT NULL,
    ending_at   TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    sequence    INTEGER NOT NULL DEFAULT 0,
    room        TEXT,                   -- JSON of models.Room
    room_ends   TEXT,                   -- UTC instant the room's settings may expire
    message_id  TEXT,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS message_events (
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    event       TEXT NOT NULL,          -- meeting key, or what the sender would call it
    outcome     TEXT NOT NULL,          -- planned, rejected, cancelled, ignored
    detail      TEXT NOT NULL,
    PRIMARY KEY (folder, uidvalidity, uid, position)
);
CREATE TABLE IF NOT EXISTS replies (
    message_key TEXT PRIMARY KEY,       -- Message-ID, or folder:uidvalidity:uid
    kind        TEXT NOT NULL,          -- planned, rejected
    recipient   TEXT NOT NULL,
    reply_id    TEXT,
    sent_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The state database cannot be opened or written."""


@dataclass(frozen=True)
class MessageRecord:
    folder: str
    uidvalidity: int
    uid: int
    message_id: str | None
    sender: str | None
    subject: str | None
    outcome: Outcome
    reason: str
    attempts: int
    next_attempt: datetime | None
    first_seen: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MeetingDetails:
    """What a room was planned for: the API body's values and the SEQUENCE."""

    title: str
    starting_at: str
    ending_at: str
    timezone: str
    sequence: int = 0

    def values(self) -> tuple[str, str, str, str, int]:
        return (self.title, self.starting_at, self.ending_at, self.timezone, self.sequence)


@dataclass(frozen=True)
class MeetingRecord:
    key: str
    status: str
    in_doubt: bool
    title: str
    starting_at: str
    ending_at: str
    timezone: str
    sequence: int
    room: Room | None
    room_ends: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "planned" and self.room is not None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """The state database. One connection, used from one thread at a time."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """Open (and create or upgrade) the database; `readonly` opens an existing
        one without writing anything (for `parse` and `status`)."""
        self.path = path
        try:
            if readonly:
                self._db = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None
                )
                self._db.execute("SELECT 1 FROM meetings LIMIT 1")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            # The daemon opens the store in the main thread and runs passes in the
            # scheduler's worker thread, one pass at a time (daemon.py serialises them).
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the state database {path}: {exc}") from None

    def _migrate(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(meetings)")}
        if "room_ends" not in columns:  # added in schema version 2
            self._db.execute("ALTER TABLE meetings ADD COLUMN room_ends TEXT")
        self._db.execute(
            "INSERT INTO meta(name, value) VALUES ('schema_version', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- folders --------------------------------------------------------------

    def folder_position(self, folder: str, uidvalidity: int) -> int:
        """The last UID already looked at in `folder`; 0 when the folder is new
        or its UIDVALIDITY changed (the server renumbered it: UIDs mean
        nothing any more, and meeting keys keep that from planning twice)."""
        row = self._db.execute(
            "SELECT uidvalidity, last_uid FROM folders WHERE folder = ?", (folder,)
        ).fetchone()
        if row is None or row[0] != uidvalidity:
            return 0
        return int(row[1])

    def advance_folder(self, folder: str, uidvalidity: int, uid: int) -> None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT uidvalidity, last_uid FROM folders WHERE folder = ?", (folder,)
            ).fetchone()
            if row is not None and row[0] == uidvalidity and row[1] >= uid:
                return
            db.execute(
                "INSERT INTO folders(folder, uidvalidity, last_uid) VALUES (?, ?, ?) "
                "ON CONFLICT(folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
                "last_uid = excluded.last_uid",
                (folder, uidvalidity, uid),
            )

    # -- messages -------------------------------------------------------------

    def record_message(
        self,
        *,
        folder: str,
        uidvalidity: int,
        uid: int,
        outcome: Outcome,
        reason: str = "",
        message_id: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        next_attempt: datetime | None = None,
        now: datetime | None = None,
    ) -> MessageRecord:
        now = now or _now()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO messages(folder, uidvalidity, uid, message_id, sender, subject, "
                "outcome, reason, attempts, next_attempt, first_seen, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(folder, uidvalidity, uid) DO UPDATE SET "
                "message_id = excluded.message_id, sender = excluded.sender, "
                "subject = excluded.subject, outcome = excluded.outcome, "
                "reason = excluded.reason, attempts = messages.attempts + excluded.attempts, "
                "next_attempt = excluded.next_attempt, updated_at = excluded.updated_at",
                (
                    folder,
                    uidvalidity,
                    uid,
                    message_id,
                    sender,
                    subject,
                    str(outcome),
                    reason,
                    1 if outcome == Outcome.DEFERRED else 0,
                    _iso(next_attempt) if next_attempt else None,
                    _iso(now),
                    _iso(now),
                ),
            )
        record = self.message(folder, uidvalidity, uid)
        assert record is not None
        return record

    def message(self, folder: str, uidvalidity: int, uid: int) -> MessageRecord | None:
        row = self._db.execute(
            "SELECT folder, uidvalidity, uid, message_id, sender, subject, outcome, reason, "
            "attempts, next_attempt, first_seen, updated_at FROM messages "
            "WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        ).fetchone()
        return _message_record(row) if row else None

    def messages(self, outcome: Outcome | None = None) -> list[MessageRecord]:
        query = (
            "SELECT folder, uidvalidity, uid, message_id, sender, subject, outcome, reason, "
            "attempts, next_attempt, first_seen, updated_at FROM messages"
        )
        args: tuple[str, ...] = ()
        if outcome is not None:
            query += " WHERE outcome = ?"
            args = (str(outcome),)
        rows = self._db.execute(query + " ORDER BY updated_at, uid", args).fetchall()
        return [_message_record(row) for row in rows]

    def due_deferred(self, folder: str, uidvalidity: int, now: datetime) -> list[int]:
        """UIDs of deferred messages in `folder` whose next attempt has come."""
        rows = self._db.execute(
            "SELECT uid FROM messages WHERE folder = ? AND uidvalidity = ? AND outcome = ? "
            "AND (next_attempt IS NULL OR next_attempt <= ?) ORDER BY uid",
            (folder, uidvalidity, str(Outcome.DEFERRED), _iso(now)),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def outcome_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT outcome, COUNT(*) FROM messages GROUP BY outcome")
        return {str(outcome): int(count) for outcome, count in rows}

    # -- meetings -------------------------------------------------------------

    def meeting(self, key: str) -> MeetingRecord | None:
        row = self._db.execute(
            "SELECT key, status, in_doubt, title, starting_at, ending_at, timezone, sequence, "
            "room, room_ends FROM meetings WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        room = Room(**json.loads(row[8])) if row[8] else None
        return MeetingRecord(
            key=row[0],
            status=row[1],
            in_doubt=bool(row[2]),
            title=row[3],
            starting_at=row[4],
            ending_at=row[5],
            timezone=row[6],
            sequence=int(row[7]),
            room=room,
            room_ends=_parse(row[9]),
        )

    def meetings(self) -> list[MeetingRecord]:
        keys = [row[0] for row in self._db.execute("SELECT key FROM meetings ORDER BY key")]
        return [record for key in keys if (record := self.meeting(key)) is not None]

    def begin_planning(self, key: str, details: MeetingDetails, message_id: str | None) -> bool:
        """Record that the API is about to be called for `key`.

        A meeting that already has a room (a reschedule that needs a fresh one)
        keeps its details and room until the new room is there, so a failed call
        leaves it as it was. Returns True when an earlier attempt was interrupted
        during its call (the meeting is then in doubt: a room may already exist)."""
        with self._transaction() as db:
            row = db.execute("SELECT status FROM meetings WHERE key = ?", (key,)).fetchone()
            in_doubt = row is not None and row[0] == "planning"
            db.execute(
                "INSERT INTO meetings(key, status, in_doubt, title, starting_at, ending_at, "
                "timezone, sequence, room, message_id, updated_at) "
                "VALUES (?, 'planning', ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = 'planning', "
                "in_doubt = MAX(meetings.in_doubt, excluded.in_doubt), "
                "title = IIF(meetings.room IS NULL, excluded.title, meetings.title), "
                "starting_at = IIF(meetings.room IS NULL, excluded.starting_at, "
                "meetings.starting_at), "
                "ending_at = IIF(meetings.room IS NULL, excluded.ending_at, meetings.ending_at), "
                "timezone = IIF(meetings.room IS NULL, excluded.timezone, meetings.timezone), "
                "sequence = IIF(meetings.room IS NULL, excluded.sequence, meetings.sequence), "
                "message_id = excluded.message_id, updated_at = excluded.updated_at",
                (key, int(in_doubt), *details.values(), message_id, _iso(_now())),
            )
        return in_doubt

    def finish_planning(
        self, key: str, room: Room, room_ends: datetime, details: MeetingDetails
    ) -> None:
        """The API answered with `room`; its settings may expire after `room_ends`."""
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET status = 'planned', room = ?, room_ends = ?, title = ?, "
                "starting_at = ?, ending_at = ?, timezone = ?, sequence = ?, updated_at = ? "
                "WHERE key = ?",
                (json.dumps(asdict(room)), _iso(room_ends), *details.values(), _iso(_now()), key),
            )

    def abandon_planning(self, key: str) -> None:
        """The API answered that nothing was planned: forget the attempt (a meeting
        that already had a room keeps it)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM meetings WHERE key = ? AND status = 'planning' AND room IS NULL",
                (key,),
            )
            db.execute(
                "UPDATE meetings SET status = 'planned' WHERE key = ? AND status = 'planning'",
                (key,),
            )

    def update_meeting(self, key: str, details: MeetingDetails) -> None:
        """An update that keeps the room: remember the new details."""
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET title = ?, starting_at = ?, ending_at = ?, timezone = ?, "
                "sequence = ?, updated_at = ? WHERE key = ?",
                (*details.values(), _iso(_now()), key),
            )

    def link_meeting(
        self,
        key: str,
        details: MeetingDetails,
        *,
        room: Room,
        room_ends: datetime | None,
        message_id: str | None,
    ) -> None:
        """Record a meeting that uses a room planned for another (an occurrence
        of a known series uses the series' room)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meetings(key, status, in_doubt, title, starting_at, ending_at, "
                "timezone, sequence, room, room_ends, message_id, updated_at) "
                "VALUES (?, 'planned', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = 'planned', title = excluded.title, "
                "starting_at = excluded.starting_at, ending_at = excluded.ending_at, "
                "timezone = excluded.timezone, sequence = excluded.sequence, "
                "room = excluded.room, room_ends = excluded.room_ends, "
                "updated_at = excluded.updated_at",
                (
                    key,
                    *details.values(),
                    json.dumps(asdict(room)),
                    _iso(room_ends) if room_ends else None,
                    message_id,
                    _iso(_now()),
                ),
            )

    def cancel_meeting(self, key: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET status = 'cancelled', updated_at = ? WHERE key = ?",
                (_iso(_now()), key),
            )

    # -- the events of one message -------------------------------------------

    def record_events(
        self, folder: str, uidvalidity: int, uid: int, events: list[tuple[str, str, str]]
    ) -> None:
        """What became of each event of a message: (event, outcome, detail)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM message_events WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (folder, uidvalidity, uid),
            )
            db.executemany(
                "INSERT INTO message_events(folder, uidvalidity, uid, position, event, outcome, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(folder, uidvalidity, uid, n, *event) for n, event in enumerate(events)],
            )

    def events(self, folder: str, uidvalidity: int, uid: int) -> list[tuple[str, str, str]]:
        rows = self._db.execute(
            "SELECT event, outcome, detail FROM message_events WHERE folder = ? AND "
            "uidvalidity = ? AND uid = ? ORDER BY position",
            (folder, uidvalidity, uid),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    # -- replies --------------------------------------------------------------

    def reply_sent(self, message_key: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM replies WHERE message_key = ?", (message_key,)
        ).fetchone()
        return row is not None

    def record_reply(
        self, message_key: str, *, kind: str, recipient: str, reply_id: str | None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO replies(message_key, kind, recipient, reply_id, sent_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_key, kind, recipient, reply_id, _iso(_now())),
            )

    def reply_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    # -- passes ---------------------------------------------------------------

    def record_pass(self, summary: str, *, ok: bool, now: datetime | None = None) -> None:
        now = now or _now()
        with self._transaction() as db:
            for name, value in (
                ("last_pass_at", _iso(now)),
                ("last_pass_result", summary),
                ("last_pass_ok", "1" if ok else "0"),
            ):
                db.execute(
                    "INSERT INTO meta(name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )

    def meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None


def _message_record(row: tuple) -> MessageRecord:
    return MessageRecord(
        folder=row[0],
        uidvalidity=int(row[1]),
        uid=int(row[2]),
        message_id=row[3],
        sender=row[4],
        subject=row[5],
        outcome=Outcome(row[6]),
        reason=row[7],
        attempts=int(row[8]),
        next_attempt=_parse(row[9]),
        first_seen=_parse(row[10]) or _now(),
        updated_at=_parse(row[11]) or _now(),
    )
