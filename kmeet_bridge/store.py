"""SQLite state: where each folder was read up to, what became of every message,
which room belongs to which meeting, and which replies went out.

The recording protocol. bridge.py runs the steps; each write below is one
transaction (synchronous=FULL), made before the next step starts, so that a
process killed at any point (SIGKILL, power cut) is resumed by the next pass
without a second room, without a second reply and without losing a message.

1. Fetch the message (BODY.PEEK[]) and extract it: nothing is written.
2. For each meeting that needs a new room:
   a. `prepare_planning`: the meeting is recorded `prepared` (its details and
      message). Killed between a and b: the API was not called; the next pass
      plans it as if nothing had happened.
   b. `begin_planning`: `planning`. From here the request may be on its way.
   c. The API call. Killed during it: the API gives no way to know whether the
      room was made. The next pass finds the meeting still `planning`, flags it
      `in_doubt` (kept for good, shown by `status`), logs a warning and plans it
      again: a second room may exist. This is the only kill that can cost a
      second room. (A kill in the instant between b and the request leaving is
      flagged in doubt too: it cannot be told apart.)
   d. `finish_planning`: `planned` with the room, and in the same transaction a
      `message_plans` note of how this message changed the meeting (status,
      changes, old link, a protected room's password). Killed after: the next
      pass finds the room and reuses it, and the note lets the reply say what it
      would have said, password included.
   An answer that says nothing was planned (`abandon_planning`) forgets the
   attempt; an answer that leaves it in doubt (a timeout after sending, a
   dropped connection) keeps `planning`, so the retry is flagged in doubt.
   An update that keeps its room (`update_meeting`) and an occurrence of a known
   series (`link_meeting`) write their note in the same transaction as well.
3. `record_events`: what became of each event of the message (rewritten on
   every attempt).
4. The reply, unless `replies` already holds the message's key (its folder,
   UIDVALIDITY and UID: a reply and a room password belong to that very
   message, never to another carrying the same Message-ID). `record_reply`
   is written right after SMTP accepted it, and erases the password from the
   message's notes in the same transaction. SMTP down or answering 4xx: the
   message is deferred, its rooms and notes stay, and a later pass sends the
   reply. Killed while the SMTP transaction is open: nothing was accepted, the
   next pass sends it. Killed in the microseconds between the server's 250 and
   `record_reply` (or after the whole message went out but before the 250, if
   the server delivers it anyway): the next pass sends it again. That is the
   only way to a second reply; SMTP offers no way to ask whether a message was
   taken.
5. Filing: `begin_filing` records the intended outcome and target folder, then
   the message is moved, then `record_message` records the outcome and drops
   the intent and the message's notes in one transaction. Killed before the
   move: the message is still in the folder and the next pass goes through 1-5
   again, all of it already done but the move. Killed after the move: the UID
   is gone from the folder; the next pass finds it among the interrupted
   filings and records the outcome from the intent. (A server without MOVE
   takes three commands, COPY, STORE and EXPUNGE: a kill between them can leave
   a second copy in the target folder, never a lost message.)
6. `advance_folder`: the folder position moves past the message only once it
   has its outcome (with several workers, once every message of the pass up
   to it has its outcome: see parallel.py). Killed before: a message still in
   the folder (ignored, deferred) is looked at again and gets the same
   outcome; a filed one is no longer in the folder, and has its outcome
   already.

Ignored messages are only recorded (they stay where they are); deferred ones
are recorded with their next attempt and stay where they are.

No secret of the bridge (passwords, token) is ever stored here. A protected
room's password lives in `message_plans` only until its reply is accepted (or
the message is filed without one), with secure_delete on, so that a crash or
an SMTP outage does not cost the requester the password.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmeet_bridge.models import Change, Outcome, Room, RoomOptions

SCHEMA_VERSION = 5
# Meetings between prepare_planning and finish_planning (or abandon_planning).
UNFINISHED = ("prepared", "planning")

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
    status      TEXT NOT NULL,          -- prepared, planning, planned, cancelled
    in_doubt    INTEGER NOT NULL DEFAULT 0,
    title       TEXT NOT NULL,
    starting_at TEXT NOT NULL,
    ending_at   TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    sequence    INTEGER NOT NULL DEFAULT 0,
    room        TEXT,                   -- JSON of models.Room
    room_ends   TEXT,                   -- UTC instant the room's settings may expire
    message_id  TEXT,
    updated_at  TEXT NOT NULL,
    organizer   TEXT,                   -- who a meeting belongs to: its ORGANIZER ...
    planner     TEXT,                   -- ... and the sender who had it planned
    attendees   TEXT,                   -- JSON list of addresses that may get its link
    room_options TEXT,                  -- JSON of the room's lobby, password, e2ee, recording
    language    TEXT                    -- what its request was written in (en, fr, de, it)
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
    message_key TEXT PRIMARY KEY,       -- folder:uidvalidity:uid of the message answered
    kind        TEXT NOT NULL,          -- planned, rejected
    recipient   TEXT NOT NULL,
    reply_id    TEXT,
    sent_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS message_plans (
    message_key  TEXT NOT NULL,         -- folder:uidvalidity:uid of the very message
    meeting_key  TEXT NOT NULL,
    status       TEXT NOT NULL,         -- PlannedMeeting.status: new, updated, replanned...
    changes      TEXT NOT NULL,         -- JSON list of [what, before, after]
    previous_url TEXT,
    password     TEXT,                  -- until the reply is accepted, then deleted
    PRIMARY KEY (message_key, meeting_key)
);
CREATE TABLE IF NOT EXISTS filing (
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    target      TEXT NOT NULL,          -- the folder the message is being moved to
    outcome     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    message_id  TEXT,
    sender      TEXT,
    subject     TEXT,
    PRIMARY KEY (folder, uidvalidity, uid)
);
CREATE TABLE IF NOT EXISTS reading (    -- a message being read: see begin_reading
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL,       -- readings begun and never finished, this one included
    PRIMARY KEY (folder, uidvalidity, uid)
);
CREATE TABLE IF NOT EXISTS room_log (
    sender     TEXT NOT NULL,           -- who asked: for [senders] max_rooms_per_hour
    planned_at TEXT NOT NULL            -- UTC; also counted for [kmeet] max_rooms_per_day
);
CREATE INDEX IF NOT EXISTS room_log_time ON room_log (planned_at);
CREATE TABLE IF NOT EXISTS refusal_log (
    sender  TEXT NOT NULL,              -- who was told no: for [senders] max_refusals_per_hour
    sent_at TEXT NOT NULL               -- UTC
);
CREATE TABLE IF NOT EXISTS waiting (
    folder      TEXT NOT NULL,          -- a deferred message that waits for a service
    uidvalidity INTEGER NOT NULL,       -- to come back (health.py), not for a time
    uid         INTEGER NOT NULL,
    service     TEXT NOT NULL,          -- api, smtp
    PRIMARY KEY (folder, uidvalidity, uid)
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
    # The room's settings as planned, and the request's language: what an answer
    # to the reply changes (meeting_changes.py). None keeps what is recorded.
    options: RoomOptions | None = None
    language: str | None = None

    def values(self) -> tuple[str, str, str, str, int]:
        return (self.title, self.starting_at, self.ending_at, self.timezone, self.sequence)


@dataclass(frozen=True)
class Owners:
    """Who a meeting belongs to: its organiser (an invitation's ORGANIZER, a plain
    request's sender) and whoever had it planned; and the attendees it lists.
    Addresses in lower case; "" when not known."""

    organizer: str = ""
    planner: str = ""
    attendees: tuple[str, ...] = ()


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
    owners: Owners = Owners()
    options: RoomOptions | None = None  # None: not recorded (planned before schema 5)
    language: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "planned" and self.room is not None


@dataclass(frozen=True)
class PlanNote:
    """How one message changed one meeting (a PlannedMeeting without the meeting
    and room), kept until the message's reply is accepted. `message_key` is the
    message's place (folder:uidvalidity:uid): a resumed reply, and a protected
    room's password, belong to that very message, never to another with the
    same Message-ID."""

    message_key: str
    status: str
    changes: tuple[Change, ...] = ()
    previous_url: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FilingRecord:
    """A message being moved to `target`, and the outcome that move stands for."""

    folder: str
    uidvalidity: int
    uid: int
    target: str
    outcome: Outcome
    reason: str
    message_id: str | None
    sender: str | None
    subject: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """The state database. One connection, shared by the threads of a pass: each
    transaction and each query holds the lock, so no thread reads or writes in
    the middle of another's transaction."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """Open (and create or upgrade) the database; `readonly` opens an existing
        one without writing anything (for `parse` and `status`)."""
        self.path = path
        # Reentrant: a method that holds it may call another that takes it.
        self._lock = threading.RLock()
        try:
            if readonly:
                self._db = _open_readonly(path)
                self._db.execute("SELECT 1 FROM meetings LIMIT 1")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            # It holds room passwords until their reply is sent: for its owner only,
            # whatever the umask (outside systemd too). SQLite gives its -wal and
            # -shm files the database's mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            # The daemon opens the store in the main thread and runs passes in the
            # scheduler's worker thread, one pass at a time (daemon.py serialises
            # them); a pass with [kmeet] max_parallel > 1 uses it from several threads.
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # A deleted room password is overwritten, not left in a free page.
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the state database {path}: {exc}") from None

    @classmethod
    def in_memory_copy(cls, path: Path) -> Store:
        """A private copy of the database at `path` (an empty one when there is
        none yet), held in memory: a dry run works on it as a pass would, and
        nothing it does reaches the file, which is only ever opened read-only."""
        store = cls.__new__(cls)
        store.path = path
        store._lock = threading.RLock()
        try:
            # Shared with the daemon's threads like the real store (see __init__).
            store._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            if path.exists():
                source = _open_readonly(path)
                try:
                    source.backup(store._db)
                finally:
                    source.close()
            store._db.executescript(_SCHEMA)
            store._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot read the state database {path}: {exc}") from None
        return store

    def _migrate(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(meetings)")}
        if "room_ends" not in columns:  # added in schema version 2
            self._db.execute("ALTER TABLE meetings ADD COLUMN room_ends TEXT")
        if "planner" not in columns:  # added in schema version 4
            self._own_old_meetings()
        if "room_options" not in columns:  # added in schema version 5: unknown for older rooms
            self._db.execute("ALTER TABLE meetings ADD COLUMN room_options TEXT")
            self._db.execute("ALTER TABLE meetings ADD COLUMN language TEXT")
        # Version 3 added message_plans, filing and the 'prepared' status: new
        # tables and a new value, so older databases need nothing more.
        self._db.execute(
            "INSERT INTO meta(name, value) VALUES ('schema_version', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )

    def _own_old_meetings(self) -> None:
        """Version 4 records who a meeting belongs to. For the meetings planned
        before: the ORGANIZER named in an invitation's key, and the sender of
        the message that planned it, as the state recorded them."""
        with self._transaction() as db:
            for column in ("organizer", "planner", "attendees"):
                db.execute(f"ALTER TABLE meetings ADD COLUMN {column} TEXT")
            db.execute(
                "UPDATE meetings SET planner = (SELECT lower(sender) FROM messages "
                "WHERE messages.message_id = meetings.message_id AND outcome = 'planned' "
                "AND sender IS NOT NULL ORDER BY first_seen LIMIT 1)"
            )
            for key, planner in db.execute("SELECT key, planner FROM meetings").fetchall():
                organizer = key.split(":")[1] if key.startswith("ics:") else planner
                db.execute(
                    "UPDATE meetings SET organizer = ? WHERE key = ?", (organizer or None, key)
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _row(self, query: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._db.execute(query, args).fetchone()

    def _rows(self, query: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(query, args).fetchall()

    # -- folders --------------------------------------------------------------

    def folder_position(self, folder: str, uidvalidity: int) -> int:
        """The last UID already looked at in `folder`; 0 when the folder is new
        or its UIDVALIDITY changed (the server renumbered it: UIDs mean
        nothing any more, and meeting keys keep that from planning twice)."""
        row = self._row("SELECT uidvalidity, last_uid FROM folders WHERE folder = ?", (folder,))
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
        plans_of: str | None = None,
        waiting_for: str | None = None,
    ) -> MessageRecord:
        """Record an outcome. `plans_of`: the message key whose notes go with it
        (a final outcome: nothing will be answered again). `waiting_for`: the
        service a deferred message waits for (it is due as soon as that service
        is up, see `waiting_uids`); any other outcome ends the wait."""
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
            # An outcome supersedes the intent of step 5 (see the module doc), and
            # any unfinished reading.
            for table in ("filing", "reading"):
                db.execute(
                    f"DELETE FROM {table} WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                    (folder, uidvalidity, uid),
                )
            if plans_of is not None:
                db.execute("DELETE FROM message_plans WHERE message_key = ?", (plans_of,))
            db.execute(
                "DELETE FROM waiting WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (folder, uidvalidity, uid),
            )
            if waiting_for is not None and outcome == Outcome.DEFERRED:
                db.execute(
                    "INSERT INTO waiting(folder, uidvalidity, uid, service) VALUES (?, ?, ?, ?)",
                    (folder, uidvalidity, uid, waiting_for),
                )
        record = self.message(folder, uidvalidity, uid)
        assert record is not None
        return record

    def message(self, folder: str, uidvalidity: int, uid: int) -> MessageRecord | None:
        row = self._row(
            "SELECT folder, uidvalidity, uid, message_id, sender, subject, outcome, reason, "
            "attempts, next_attempt, first_seen, updated_at FROM messages "
            "WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
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
        rows = self._rows(query + " ORDER BY updated_at, uid", args)
        return [_message_record(row) for row in rows]

    def recent_messages(self, limit: int) -> list[MessageRecord]:
        """The `limit` messages whose outcome changed last, the latest first."""
        return self._latest("", (), limit)

    def last_errors(self, limit: int) -> list[MessageRecord]:
        """The `limit` latest rejected messages (failures included), the latest first."""
        return self._latest("WHERE outcome = ?", (str(Outcome.REJECTED),), limit)

    def deferred_messages(self) -> list[MessageRecord]:
        """Every deferred message, the next to be retried first."""
        rows = self._rows(
            "SELECT folder, uidvalidity, uid, message_id, sender, subject, outcome, reason, "
            "attempts, next_attempt, first_seen, updated_at FROM messages WHERE outcome = ? "
            "ORDER BY next_attempt, folder, uid",
            (str(Outcome.DEFERRED),),
        )
        return [_message_record(row) for row in rows]

    def _latest(self, where: str, args: tuple[str, ...], limit: int) -> list[MessageRecord]:
        rows = self._rows(
            "SELECT folder, uidvalidity, uid, message_id, sender, subject, outcome, reason, "
            f"attempts, next_attempt, first_seen, updated_at FROM messages {where} "
            "ORDER BY updated_at DESC, uid DESC LIMIT ?",
            (*args, limit),
        )
        return [_message_record(row) for row in rows]

    # -- filing (step 5) --------------------------------------------------------

    def begin_filing(self, record: FilingRecord) -> None:
        """Record that the message is about to be moved to `record.target`, and
        the outcome that stands for, before the move."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO filing(folder, uidvalidity, uid, target, outcome, reason, "
                "message_id, sender, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(folder, uidvalidity, uid) DO UPDATE SET target = excluded.target, "
                "outcome = excluded.outcome, reason = excluded.reason, "
                "message_id = excluded.message_id, sender = excluded.sender, "
                "subject = excluded.subject",
                (
                    record.folder,
                    record.uidvalidity,
                    record.uid,
                    record.target,
                    str(record.outcome),
                    record.reason,
                    record.message_id,
                    record.sender,
                    record.subject,
                ),
            )

    def begin_reading(self, folder: str, uidvalidity: int, uid: int, now: datetime) -> None:
        """The message is about to be read (fetched whole and parsed). A process
        stopped while reading it (the watchdog, the memory limit, or a crash
        caused by another message) leaves this behind, counted; see
        `interrupted_readings`."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO reading(folder, uidvalidity, uid, started_at, attempts) "
                "VALUES (?, ?, ?, ?, 1) ON CONFLICT(folder, uidvalidity, uid) DO UPDATE SET "
                "started_at = excluded.started_at, attempts = reading.attempts + 1",
                (folder, uidvalidity, uid, _iso(now)),
            )

    def end_reading(self, folder: str, uidvalidity: int, uid: int) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM reading WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (folder, uidvalidity, uid),
            )

    def interrupted_readings(self, folder: str, uidvalidity: int, uid: int) -> int:
        """How many times reading the message began and never finished."""
        row = self._row(
            "SELECT attempts FROM reading WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        return int(row[0]) if row else 0

    def interrupted_filings(self, folder: str, uidvalidity: int) -> list[int]:
        """UIDs in `folder` whose move began but whose outcome was not recorded."""
        rows = self._rows(
            "SELECT uid FROM filing WHERE folder = ? AND uidvalidity = ? ORDER BY uid",
            (folder, uidvalidity),
        )
        return [int(row[0]) for row in rows]

    def filing(self, folder: str, uidvalidity: int, uid: int) -> FilingRecord | None:
        """The move in progress for that message, if one was interrupted."""
        row = self._row(
            "SELECT folder, uidvalidity, uid, target, outcome, reason, message_id, sender, "
            "subject FROM filing WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        if row is None:
            return None
        return FilingRecord(
            row[0], int(row[1]), int(row[2]), row[3], Outcome(row[4]), row[5], *row[6:9]
        )

    def due_deferred(self, folder: str, uidvalidity: int, now: datetime) -> list[int]:
        """UIDs of deferred messages in `folder` whose next attempt has come."""
        rows = self._rows(
            "SELECT uid FROM messages WHERE folder = ? AND uidvalidity = ? AND outcome = ? "
            "AND (next_attempt IS NULL OR next_attempt <= ?) ORDER BY uid",
            (folder, uidvalidity, str(Outcome.DEFERRED), _iso(now)),
        )
        return [int(row[0]) for row in rows]

    def waiting_uids(self, folder: str, uidvalidity: int, services: Sequence[str]) -> list[int]:
        """UIDs of deferred messages in `folder` waiting for one of `services`."""
        if not services:
            return []
        marks = ", ".join("?" * len(services))
        rows = self._rows(
            "SELECT waiting.uid FROM waiting JOIN messages USING (folder, uidvalidity, uid) "
            f"WHERE folder = ? AND uidvalidity = ? AND service IN ({marks}) AND outcome = ? "
            "ORDER BY waiting.uid",
            (folder, uidvalidity, *services, str(Outcome.DEFERRED)),
        )
        return [int(row[0]) for row in rows]

    def waiting_for(self, folder: str, uidvalidity: int, uid: int) -> str | None:
        """The service a deferred message waits for, if it waits for one."""
        try:
            row = self._row(
                "SELECT service FROM waiting WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (folder, uidvalidity, uid),
            )
        except sqlite3.OperationalError:  # read-only, from before the table existed
            return None
        return row[0] if row else None

    def waiting_counts(self) -> dict[str, int]:
        """How many deferred messages wait for each service."""
        try:
            rows = self._rows(
                "SELECT service, COUNT(*) FROM waiting "
                "JOIN messages USING (folder, uidvalidity, uid) WHERE outcome = ? GROUP BY service",
                (str(Outcome.DEFERRED),),
            )
        except sqlite3.OperationalError:  # read-only, from before the table existed
            return {}
        return {str(service): int(count) for service, count in rows}

    def outcome_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT outcome, COUNT(*) FROM messages GROUP BY outcome")
        return {str(outcome): int(count) for outcome, count in rows}

    # -- meetings -------------------------------------------------------------

    def meeting(self, key: str) -> MeetingRecord | None:
        row = self._row(
            "SELECT key, status, in_doubt, title, starting_at, ending_at, timezone, sequence, "
            "room, room_ends, organizer, planner, attendees, room_options, language "
            "FROM meetings WHERE key = ?",
            (key,),
        )
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
            owners=Owners(row[10] or "", row[11] or "", tuple(json.loads(row[12] or "[]"))),
            options=RoomOptions(**json.loads(row[13])) if row[13] else None,
            language=row[14],
        )

    def meetings(self) -> list[MeetingRecord]:
        keys = [row[0] for row in self._rows("SELECT key FROM meetings ORDER BY key")]
        return [record for key in keys if (record := self.meeting(key)) is not None]

    def prepare_planning(
        self,
        key: str,
        details: MeetingDetails,
        message_id: str | None,
        owners: Owners = Owners(),
    ) -> bool:
        """Record that `key` is about to be planned, before the API is called
        (step 2a of the protocol); the request has not left yet.

        Returns True when an earlier attempt was interrupted during its call: the
        meeting is then in doubt (a room may already exist), for good."""
        return self._upsert_planning(key, details, message_id, "prepared", owners)

    def begin_planning(
        self,
        key: str,
        details: MeetingDetails,
        message_id: str | None,
        owners: Owners = Owners(),
    ) -> bool:
        """Record that the API call for `key` starts now (step 2b): a record still
        `planning` on the next pass means the call was interrupted.

        A meeting that already has a room (a reschedule that needs a fresh one)
        keeps its details and room until the new room is there, so a failed call
        leaves it as it was. Returns True when an earlier attempt was interrupted
        during its call (the meeting is then in doubt: a room may already exist)."""
        return self._upsert_planning(key, details, message_id, "planning", owners)

    def _upsert_planning(
        self, key: str, details: MeetingDetails, message_id: str | None, status: str, owners: Owners
    ) -> bool:
        """`owners`: a meeting keeps its organiser and planner once recorded; its
        attendees change with its details."""
        with self._transaction() as db:
            row = db.execute("SELECT status FROM meetings WHERE key = ?", (key,)).fetchone()
            in_doubt = row is not None and row[0] == "planning"
            db.execute(
                "INSERT INTO meetings(key, status, in_doubt, title, starting_at, ending_at, "
                "timezone, sequence, room, message_id, updated_at, organizer, planner, attendees) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = excluded.status, "
                "in_doubt = MAX(meetings.in_doubt, excluded.in_doubt), "
                "title = IIF(meetings.room IS NULL, excluded.title, meetings.title), "
                "starting_at = IIF(meetings.room IS NULL, excluded.starting_at, "
                "meetings.starting_at), "
                "ending_at = IIF(meetings.room IS NULL, excluded.ending_at, meetings.ending_at), "
                "timezone = IIF(meetings.room IS NULL, excluded.timezone, meetings.timezone), "
                "sequence = IIF(meetings.room IS NULL, excluded.sequence, meetings.sequence), "
                "attendees = IIF(meetings.room IS NULL, excluded.attendees, meetings.attendees), "
                "organizer = COALESCE(meetings.organizer, excluded.organizer), "
                "planner = COALESCE(meetings.planner, excluded.planner), "
                "message_id = excluded.message_id, updated_at = excluded.updated_at",
                (
                    key,
                    status,
                    int(in_doubt),
                    *details.values(),
                    message_id,
                    _iso(_now()),
                    *_owner_values(owners),
                ),
            )
        return in_doubt

    def finish_planning(
        self,
        key: str,
        room: Room,
        room_ends: datetime,
        details: MeetingDetails,
        note: PlanNote | None = None,
        attendees: Sequence[str] = (),
    ) -> None:
        """The API answered with `room`; its settings may expire after `room_ends`.
        `note` (how the message changed the meeting) is written in the same
        transaction, so a room is never recorded without it."""
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET status = 'planned', room = ?, room_ends = ?, title = ?, "
                "starting_at = ?, ending_at = ?, timezone = ?, sequence = ?, updated_at = ?, "
                "attendees = ?, room_options = COALESCE(?, room_options), "
                "language = COALESCE(?, language) WHERE key = ?",
                (
                    json.dumps(asdict(room)),
                    _iso(room_ends),
                    *details.values(),
                    _iso(_now()),
                    json.dumps(list(attendees)),
                    *_form_values(details),
                    key,
                ),
            )
            _write_note(db, key, note)

    def abandon_planning(self, key: str) -> None:
        """The API answered that nothing was planned: forget the attempt. A meeting
        that already had a room keeps it; one in doubt from an earlier interrupted
        call stays recorded (as `prepared`), so that `status` goes on showing it."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM meetings WHERE key = ? AND status IN (?, ?) AND room IS NULL "
                "AND in_doubt = 0",
                (key, *UNFINISHED),
            )
            db.execute(
                "UPDATE meetings SET status = IIF(room IS NULL, 'prepared', 'planned') "
                "WHERE key = ? AND status IN (?, ?)",
                (key, *UNFINISHED),
            )

    def update_meeting(
        self,
        key: str,
        details: MeetingDetails,
        note: PlanNote | None = None,
        attendees: Sequence[str] = (),
    ) -> None:
        """An update that keeps the room: remember the new details and attendees
        (and `note`)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET title = ?, starting_at = ?, ending_at = ?, timezone = ?, "
                "sequence = ?, updated_at = ?, attendees = ?, "
                "room_options = COALESCE(?, room_options), language = COALESCE(?, language) "
                "WHERE key = ?",
                (
                    *details.values(),
                    _iso(_now()),
                    json.dumps(list(attendees)),
                    *_form_values(details),
                    key,
                ),
            )
            _write_note(db, key, note)

    def link_meeting(
        self,
        key: str,
        details: MeetingDetails,
        *,
        room: Room,
        room_ends: datetime | None,
        message_id: str | None,
        note: PlanNote | None = None,
        owners: Owners = Owners(),
    ) -> None:
        """Record a meeting that uses a room planned for another (an occurrence
        of a known series uses the series' room, and belongs to its owners)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meetings(key, status, in_doubt, title, starting_at, ending_at, "
                "timezone, sequence, room, room_ends, message_id, updated_at, organizer, "
                "planner, attendees) "
                "VALUES (?, 'planned', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = 'planned', title = excluded.title, "
                "starting_at = excluded.starting_at, ending_at = excluded.ending_at, "
                "timezone = excluded.timezone, sequence = excluded.sequence, "
                "room = excluded.room, room_ends = excluded.room_ends, "
                "attendees = excluded.attendees, "
                "organizer = COALESCE(meetings.organizer, excluded.organizer), "
                "planner = COALESCE(meetings.planner, excluded.planner), "
                "updated_at = excluded.updated_at",
                (
                    key,
                    *details.values(),
                    json.dumps(asdict(room)),
                    _iso(room_ends) if room_ends else None,
                    message_id,
                    _iso(_now()),
                    *_owner_values(owners),
                ),
            )
            _write_note(db, key, note)

    def meetings_in_doubt(self) -> list[MeetingRecord]:
        """Meetings that may have a second room (`in_doubt`), and those whose API
        call has not been answered (`planning`: in flight, or interrupted)."""
        keys = [
            row[0]
            for row in self._rows(
                "SELECT key FROM meetings WHERE in_doubt = 1 OR status = 'planning' ORDER BY key"
            )
        ]
        return [record for key in keys if (record := self.meeting(key)) is not None]

    # -- how a message changed its meetings (until its reply is sent) -----------

    def plan_note(self, message_key: str, meeting_key: str) -> PlanNote | None:
        row = self._row(
            "SELECT status, changes, previous_url, password FROM message_plans "
            "WHERE message_key = ? AND meeting_key = ?",
            (message_key, meeting_key),
        )
        if row is None:
            return None
        changes = tuple(Change(*item) for item in json.loads(row[1]))
        return PlanNote(message_key, row[0], changes, row[2], row[3])

    def forget_passwords(self, message_key: str) -> None:
        """The message is answered, or never will be: its room passwords go."""
        with self._transaction() as db:
            db.execute(
                "UPDATE message_plans SET password = NULL WHERE message_key = ?", (message_key,)
            )

    def cancel_meeting(self, key: str, sequence: int | None = None) -> None:
        """`sequence`: the SEQUENCE of the cancellation the bridge itself sent
        (an answer to its reply), kept so that a calendar sees it as the latest."""
        with self._transaction() as db:
            db.execute(
                "UPDATE meetings SET status = 'cancelled', updated_at = ?, "
                "sequence = COALESCE(?, sequence) WHERE key = ?",
                (_iso(_now()), sequence, key),
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
        rows = self._rows(
            "SELECT event, outcome, detail FROM message_events WHERE folder = ? AND "
            "uidvalidity = ? AND uid = ? ORDER BY position",
            (folder, uidvalidity, uid),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    # -- replies --------------------------------------------------------------

    def reply_sent(self, message_key: str) -> bool:
        row = self._row("SELECT 1 FROM replies WHERE message_key = ?", (message_key,))
        return row is not None

    def reply_by_id(self, reply_ids: Sequence[str]) -> tuple[str, str] | None:
        """The message key and recipient of the bridge's reply whose Message-ID is
        the first of `reply_ids` it sent, or None: what an answer answers."""
        for reply_id in reply_ids:
            row = self._row(
                "SELECT message_key, recipient FROM replies WHERE reply_id = ?", (reply_id,)
            )
            if row is not None:
                return str(row[0]), str(row[1])
        return None

    def changed_by_copies(self, message_id: str, meeting_key: str) -> bool:
        """Whether a message filed with this Message-ID already changed or cancelled
        `meeting_key`: a copy of an answer makes its change once."""
        row = self._row(
            "SELECT 1 FROM messages JOIN message_events USING (folder, uidvalidity, uid) "
            "WHERE messages.message_id = ? AND messages.outcome = 'planned' "
            "AND message_events.event = ? AND message_events.outcome IN ('changed', 'cancelled')",
            (message_id, meeting_key),
        )
        return row is not None

    def record_reply(
        self, message_key: str, *, kind: str, recipient: str, reply_id: str | None
    ) -> None:
        """The reply to the message at `message_key` was accepted; the room
        passwords in its notes are erased with it."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO replies(message_key, kind, recipient, reply_id, sent_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_key, kind, recipient, reply_id, _iso(_now())),
            )
            db.execute(
                "UPDATE message_plans SET password = NULL WHERE message_key = ?", (message_key,)
            )

    def log_room(self, sender: str, at: datetime) -> None:
        """A room was planned for `sender` (rate limits count these)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO room_log(sender, planned_at) VALUES (?, ?)", (sender.lower(), _iso(at))
            )

    def rooms_since(self, since: datetime, sender: str | None = None) -> list[datetime]:
        """When rooms were planned since `since` (oldest first), by `sender` or by all."""
        return self._logged_since("room_log", "planned_at", since, sender)

    def log_refusal(self, sender: str, at: datetime) -> None:
        """A reply saying no was sent to `sender` (limited per hour)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO refusal_log(sender, sent_at) VALUES (?, ?)", (sender.lower(), _iso(at))
            )

    def refusals_since(self, since: datetime, sender: str) -> list[datetime]:
        """When replies saying no were sent to `sender` since `since`, oldest first."""
        return self._logged_since("refusal_log", "sent_at", since, sender)

    def _logged_since(
        self, table: str, column: str, since: datetime, sender: str | None
    ) -> list[datetime]:
        query = f"SELECT {column} FROM {table} WHERE {column} > ?"
        args: tuple[str, ...] = (_iso(since),)
        if sender is not None:
            query += " AND sender = ?"
            args += (sender.lower(),)
        rows = self._rows(query + f" ORDER BY {column}", args)
        return [datetime.fromisoformat(row[0]) for row in rows]

    def reply_count(self) -> int:
        row = self._row("SELECT COUNT(*) FROM replies")
        return int(row[0]) if row else 0

    # -- passes ---------------------------------------------------------------

    def record_pass(self, summary: str, *, ok: bool, now: datetime | None = None) -> None:
        now = now or _now()
        with self._transaction() as db:
            values = [
                ("last_pass_at", _iso(now)),
                ("last_pass_result", summary),
                ("last_pass_ok", "1" if ok else "0"),
            ]
            if ok:  # what `status --check` and the metrics measure a stalled bridge by
                values.append(("last_ok_pass_at", _iso(now)))
            for name, value in values:
                db.execute(
                    "INSERT INTO meta(name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )

    def set_meta(self, name: str, value: str | None) -> None:
        """Write (or with None, remove) one meta value."""
        with self._transaction() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE name = ?", (name,))
            else:
                db.execute(
                    "INSERT INTO meta(name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )

    def meta(self, name: str) -> str | None:
        row = self._row("SELECT value FROM meta WHERE name = ?", (name,))
        return row[0] if row else None


def _form_values(details: MeetingDetails) -> tuple[str | None, str | None]:
    options = json.dumps(asdict(details.options)) if details.options is not None else None
    return options, details.language


def _owner_values(owners: Owners) -> tuple[str | None, str | None, str]:
    return (
        owners.organizer.lower() or None,
        owners.planner.lower() or None,
        json.dumps([address.lower() for address in owners.attendees]),
    )


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write `path` and creates nothing next to it.

    A WAL database opened read-only still gets its -wal and -shm files made when
    they are missing. They are missing only when no bridge has the database open
    (the last one to close removes them), so nothing can change the file while it
    is read, which is what `immutable` asks; when they exist, the writer's WAL
    holds the latest changes and must be read through them."""
    wal = path.with_name(path.name + "-wal")
    options = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return sqlite3.connect(f"file:{path}?{options}", uri=True, timeout=30, isolation_level=None)


def _write_note(db: sqlite3.Connection, meeting_key: str, note: PlanNote | None) -> None:
    if note is None:
        return
    db.execute(
        "INSERT INTO message_plans(message_key, meeting_key, status, changes, previous_url, "
        "password) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(message_key, meeting_key) DO UPDATE "
        "SET status = excluded.status, changes = excluded.changes, "
        "previous_url = excluded.previous_url, password = excluded.password",
        (
            note.message_key,
            meeting_key,
            note.status,
            json.dumps([[c.what, c.before, c.after] for c in note.changes]),
            note.previous_url,
            note.password,
        ),
    )


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
