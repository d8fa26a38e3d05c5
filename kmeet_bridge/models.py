"""The values that travel between the steps of a message's life.

Pure data: no I/O, no parsing. Every adapter speaks in these types so that
`bridge.py` can order the steps without knowing how any of them works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ATTENDEE_STATES = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED")


class Outcome(StrEnum):
    """What became of one message (design.md, "One message, one outcome")."""

    PLANNED = "planned"
    IGNORED = "ignored"
    REJECTED = "rejected"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Attendee:
    address: str
    name: str | None = None
    state: str = "NEEDS-ACTION"  # one of ATTENDEE_STATES
    organizer: bool = False


@dataclass(frozen=True)
class RoomOptions:
    """Per-request room settings that override `[kmeet.room]`; None keeps the
    configured value. A request can turn recording off, never on (it needs a
    drive the administrator chose)."""

    lobby_enabled: bool | None = None
    password_enabled: bool | None = None
    e2ee_enabled: bool | None = None
    enable_recording: bool | None = None


LANGUAGES = ("en", "fr", "de", "it")


@dataclass(frozen=True)
class Note:
    """Something the request reader assumed or corrected that the sender should
    know ("no date given: today"), by a code the reply words in the sender's
    language (replies.note_text), with its params as strings."""

    code: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MeetingRequest:
    """One meeting to plan, however it was asked for.

    `start` and `end` are aware datetimes expressed in `timezone` (an IANA
    name), so `start.strftime(...)` is already the wall-clock time the API
    wants. `key` is the meeting's identity for idempotency: organizer + UID +
    RECURRENCE-ID for an invitation, the Message-ID for a plain request.
    """

    key: str
    title: str
    start: datetime
    end: datetime
    timezone: str
    description: str = ""
    attendees: tuple[Attendee, ...] = ()
    source: str = "invite"  # "invite" or "request"
    uid: str | None = None
    sequence: int = 0
    method: str | None = None  # iTIP METHOD of the calendar part, if any
    notes: tuple[str, ...] = ()  # how the request was read, in English, for `parse` and logs
    # What the reply tells the sender about how the request was read (defaults
    # applied, words corrected); readings that only repeat the request are not here.
    reply_notes: tuple[Note, ...] = ()
    # An exception of a series (RECURRENCE-ID): the occurrence it replaces, as UTC
    # "YYYYMMDDTHHMMSSZ", and the key of the series it belongs to.
    recurrence_id: str | None = None
    series_key: str | None = None
    # A series (RRULE/RDATE): `start`/`end` are its first occurrence that has not
    # yet ended; `rule` is the RRULE value as the invitation gives it
    # ("FREQ=WEEKLY;BYDAY=MO;COUNT=10"), put into words by recurrence.describe_rule.
    # A series given by RDATE only has rule "" (truthy check: use `is_series`).
    rule: str | None = None
    occurrences_left: int | None = None  # for a finite series: occurrences not yet ended
    options: RoomOptions = RoomOptions()
    language: str | None = None  # one of LANGUAGES: what the request is written in

    @property
    def is_series(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True)
class Cancellation:
    """An iTIP CANCEL: the whole meeting, or one occurrence of a series."""

    key: str
    title: str
    uid: str
    sequence: int = 0
    recurrence_id: str | None = None
    series_key: str | None = None  # for one cancelled occurrence: its series


@dataclass(frozen=True)
class EventProblem:
    """An event (or calendar part) that cannot be planned, worded for its sender:
    `subject` names it ("Budget review", "calendar part 2 (invite.ics)"),
    `reason` says what is wrong, `hint` what to send instead."""

    subject: str
    reason: str
    hint: str = ""
    key: str | None = None
    # A stable name for the kind of problem ("all_day", "ended", "unreadable",
    # "no_time", ...) so a reply can word it in the sender's language; `reason`
    # and `hint` stay the English fallback.
    code: str = ""
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Extraction:
    """Everything one message asks for: meetings to plan, cancellations, and
    the events that cannot be planned. `rule` says which rule decided what the
    message is (shown by `parse`)."""

    meetings: tuple[MeetingRequest, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    problems: tuple[EventProblem, ...] = ()
    rule: str = ""
    # The ORGANIZER addresses of the invitation's events (lower case); empty for
    # a plain request. Used to choose whom a CalDAV server's invitation is answered.
    organizers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Room:
    """A planned kMeet conference, as the API answered."""

    url: str
    name: str
    hostname: str
    id: int | None = None
    code: str | None = None
    event_id: int | None = None
    ending_at: str | None = None
    # End-to-end encryption as the room was asked for; None where unknown (a room
    # recorded before this was kept). Guests need a Chromium browser or the app.
    e2ee_enabled: bool | None = None


@dataclass(frozen=True)
class Change:
    """One difference between what was planned and an update: `what` is "title"
    or "time"; `before`/`after` are already written for people."""

    what: str
    before: str
    after: str


@dataclass(frozen=True)
class PlannedMeeting:
    """A meeting and its room, and how this message changed it.

    status: "new" (room just planned), "unchanged" (already planned: same room,
    nothing changed), "updated" (same room, `changes` says what moved),
    "replanned" (a fresh room: the meeting now ends after the old room's
    settings expire; `previous_url` is the old link), "occurrence" (an
    exception of a known series: the series' room).
    """

    meeting: MeetingRequest
    room: Room
    status: str = "new"
    changes: tuple[Change, ...] = ()
    previous_url: str | None = None
    # The room's password when this message planned a password-protected room:
    # sent in the reply to the requester only, never logged or stored.
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CancelledMeeting:
    cancellation: Cancellation
    room: Room | None
    room_removed: bool = False  # deleted through the API (delete_cancelled_rooms)
    # Cancelled by an answer to the bridge's reply about an invitation: the room is
    # released, the calendar event stays its organiser's (the reply says so).
    organisers_event: bool = False


@dataclass(frozen=True)
class IncomingMessage:
    """One message fetched from the mailbox, with what the bridge needs to know
    about where it lives and how to answer it."""

    uid: int
    folder: str
    raw: bytes
    size: int = 0
    flags: tuple[str, ...] = field(default_factory=tuple)
    complete: bool = True  # False: only the header was fetched (over the size limit)


class NotARequest(Exception):
    """The message asks for nothing: it is left untouched (outcome: ignored)."""


class ITipAnswer(NotARequest):
    """The message carries only iTIP answers (REPLY, COUNTER, DECLINECOUNTER,
    REFRESH): an attendee answering a meeting, never a request, whatever its
    subject says ("Accepted: Weekly (kMeet)")."""


class Unplannable(Exception):
    """A request that cannot be honoured (outcome: rejected).

    `reason` says what was wrong, `hint` how to fix it; both are sentences for
    the person who sent the message.
    """

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
