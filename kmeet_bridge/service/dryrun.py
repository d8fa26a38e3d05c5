"""A pass that changes nothing: `once --dry-run` and `run --dry-run`.

The real `Bridge` runs its real steps, in its real order, against adapters that
cannot change anything, so what it shows is what a pass would do:

- `ReadOnlyMailbox` opens the folder with EXAMINE, so the server itself refuses
  any change (flags included), and reads with BODY.PEEK as every pass does;
  `move` only notes the folder the message would go to;
- `RecordingPlanner` notes the API request and answers with a placeholder room;
  it has no HTTP client at all;
- `RecordingMailer` notes the reply; it has no SMTP connection;
- the state is an in-memory copy of the state database (`Store.in_memory_copy`),
  read from a read-only connection: the file is never opened for writing.

No instance lock is taken (it would be a file written next to the state), so a
dry run may run while the daemon does. One message at a time, over one IMAP
connection: the journal then says which message asked for what.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from kmeet_bridge.bridge import Bridge
from kmeet_bridge.config import Settings
from kmeet_bridge.kmeet import ROOMS_PATH, Calendar
from kmeet_bridge.mail.mailbox import Mailbox
from kmeet_bridge.models import IncomingMessage, Room
from kmeet_bridge.store import Store


@dataclass
class Entry:
    """What one message would have made the bridge do."""

    folder: str
    uidvalidity: int
    incoming: IncomingMessage
    api_calls: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    replies: list[EmailMessage] = field(default_factory=list)
    moved_to: str | None = None


class Journal:
    """The entries of a dry pass, in the order the messages were read."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._lock = threading.Lock()

    def begin(self, folder: str, uidvalidity: int, incoming: IncomingMessage) -> None:
        with self._lock:
            self.entries.append(Entry(folder, uidvalidity, incoming))

    def read_whole(self, incoming: IncomingMessage) -> None:
        """The whole message of an entry begun with its header only."""
        with self._lock:
            for entry in reversed(self.entries):
                if entry.incoming.uid == incoming.uid:
                    entry.incoming = incoming
                    return

    def current(self) -> Entry:
        with self._lock:
            if not self.entries:
                raise RuntimeError("a dry pass acted before reading any message")
            return self.entries[-1]


class ReadOnlyMailbox:
    """The real mailbox, examined: reads as a pass reads, moves nothing."""

    def __init__(self, mailbox: Mailbox, journal: Journal) -> None:
        self._mailbox = mailbox
        self._journal = journal
        self._folder = ""
        self._uidvalidity = 0

    def __enter__(self) -> ReadOnlyMailbox:
        self._mailbox.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._mailbox.close()

    def select(self, folder: str) -> int:
        self._folder = folder
        self._uidvalidity = self._mailbox.select(folder, readonly=True)
        return self._uidvalidity

    def new_uids(self, after_uid: int) -> list[int]:
        return self._mailbox.new_uids(after_uid)

    def fetch_header(self, uid: int) -> IncomingMessage | None:
        incoming = self._mailbox.fetch_header(uid)
        if incoming is not None:
            self._journal.begin(self._folder, self._uidvalidity, incoming)
        return incoming

    def fetch(
        self, uid: int, max_size: int | None = None, *, size: int | None = None
    ) -> IncomingMessage | None:
        # After fetch_header (bridge.py): the entry begun there gets the whole message.
        incoming = self._mailbox.fetch(uid, max_size, size=size)
        if incoming is not None:
            self._journal.read_whole(incoming)
        return incoming

    def move(self, uid: int, target: str) -> None:
        self._journal.current().moved_to = target


class RecordingPlanner:
    """Notes each API request; answers a plan with a room named dry-run-N."""

    def __init__(self, journal: Journal, hostname: str) -> None:
        self._journal = journal
        self._hostname = hostname
        self._count = 0

    def plan(self, body: dict) -> Room:
        self._journal.current().api_calls.append((f"POST {ROOMS_PATH}", dict(body)))
        self._count += 1
        name = f"dry-run-{self._count}"
        return Room(url=f"https://{self._hostname}/{name}", name=name, hostname=self._hostname)

    def delete_room(self, room_id: int) -> None:
        self._journal.current().api_calls.append((f"DELETE {ROOMS_PATH}/{room_id}", None))

    def list_calendars(self) -> list[Calendar]:
        # The probe of an API the state says is down: a dry run shows what the
        # messages waiting for it would get once it is back.
        return []


class RecordingMailer:
    """Notes each reply instead of sending it."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def send(self, message: EmailMessage) -> None:
        self._journal.current().replies.append(message)

    def check(self) -> str:  # the probe of an SMTP server the state says is down
        return "dry run: nothing is sent"


def dry_bridge(settings: Settings, store: Store, journal: Journal) -> Bridge:
    """A Bridge whose every side effect lands in `journal` or in `store` (which
    must be an in-memory copy)."""
    one_at_a_time = dataclasses.replace(
        settings, kmeet=dataclasses.replace(settings.kmeet, max_parallel=1)
    )
    return Bridge(
        one_at_a_time,
        store,
        mailbox=lambda: ReadOnlyMailbox(Mailbox(settings.imap), journal),
        mailer=RecordingMailer(journal),
        planner=RecordingPlanner(journal, settings.kmeet.hostname),
    )
