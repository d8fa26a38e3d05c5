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
    notes: tuple[str, ...] = ()  # how the request was read, for `parse` and replies


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


@dataclass(frozen=True)
class IncomingMessage:
    """One message fetched from the mailbox, with what the bridge needs to know
    about where it lives and how to answer it."""

    uid: int
    folder: str
    raw: bytes
    size: int = 0
    flags: tuple[str, ...] = field(default_factory=tuple)


class NotARequest(Exception):
    """The message asks for nothing: it is left untouched (outcome: ignored)."""


class Unplannable(Exception):
    """A request that cannot be honoured (outcome: rejected).

    `reason` says what was wrong, `hint` how to fix it; both are sentences for
    the person who sent the message.
    """

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
