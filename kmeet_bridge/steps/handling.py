"""What the steps of one message share (bridge.py orders them; planning.py,
cancelling.py and replying.py do them).

- the ports to the outside the steps see: the mailbox, the mailer, the API;
- `MessageContext`: one message as the steps pass it on;
- the exceptions that carry a message's fate from a step back to bridge.py:
  `Deferral` (the message waits: retry later, or for a service to come back)
  and `TokenRefused` (the pass stops).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from kmeet_bridge.kmeet import Calendar
from kmeet_bridge.models import IncomingMessage, Room


class MailboxPort(Protocol):
    def select(self, folder: str) -> int: ...
    def new_uids(self, after_uid: int) -> list[int]: ...
    def fetch_header(self, uid: int) -> IncomingMessage | None: ...
    def fetch(
        self, uid: int, max_size: int | None = None, *, size: int | None = None
    ) -> IncomingMessage | None: ...
    def move(self, uid: int, target: str) -> None: ...


class MailerPort(Protocol):
    def send(self, message: EmailMessage) -> None: ...
    def check(self) -> str: ...  # connect and log in: the probe while SMTP is down


class PlannerPort(Protocol):
    def plan(self, body: dict) -> Room: ...
    def delete_room(self, room_id: int) -> None: ...
    def list_calendars(self) -> list[Calendar]: ...  # read-only: the probe while the API is down


class TokenRefused(Exception):
    """The API refused the token: planning stops until the configuration is fixed."""


@dataclass(frozen=True)
class Deferral(Exception):
    """The message cannot get its outcome now: it stays where it is and is tried
    again after a backoff (`retry_after`: the server's wish), or, with `service`,
    as soon as that service is back."""

    reason: str
    retry_after: float | None = None
    service: str | None = None  # the service that is down: the message waits for it


@dataclass(frozen=True)
class MessageContext:
    folder: str
    uidvalidity: int
    uid: int
    message: EmailMessage
    message_id: str | None
    sender: str | None
    subject: str
    language: str = "en"  # of the replies: see reading.reply_language
    size: int = 0
    complete: bool = True  # False: over [limits] max_message_size, only the header fetched
    recipient: str | None = None  # of the replies, once the message is read: see reply_recipient

    @property
    def key(self) -> str:
        """Identity of the message for its reply and notes: the very message
        (folder, UIDVALIDITY, UID), not its Message-ID, which anybody can copy.
        What a message planned, a room password included, is answered to that
        message alone; an exact copy is another message, answered on its own."""
        return f"{self.folder}:{self.uidvalidity}:{self.uid}"

    @property
    def label(self) -> str:
        return f"{self.folder}:{self.uid} {self.message_id or ''}".strip()
