"""The IMAP mailbox: new UIDs, fetch without side effects, move.

This is the only module that speaks IMAP (through imap-tools and the imaplib
client under it); the rest of the program sees `Mailbox`, `IncomingMessage` and
the `MailboxError` family.

Folder names in the configuration use "/" between levels ("kmeet/processed");
they are translated to the server's hierarchy delimiter (Dovecot's Maildir
default is ".", so "kmeet.processed") once the delimiter is known.

Reading never changes a message: bodies are fetched with BODY.PEEK[], so an
ignored message stays unread for the person who owns the mailbox. A large one
(over PARTIAL_OVER) is read in parts: its BODYSTRUCTURE, then only the header
and the parts the bridge reads (bodystructure.py), never its attachments.

Only public calls of imaplib and imap-tools are made, with one exception:
IDLE (RFC 2177) is started and ended with imap-tools' `idle.start()` and
`idle.stop()`, but waited in with a reader of its own (`_read_available`).
The watcher must wake within a second of new mail and stop within a second of
SIGTERM; imaplib's public `read`/`readline` block (a timed-out read leaves its
buffered file unusable, and a non-blocking TLS read loses data), and imap-tools'
`idle.poll` drops a line that arrives in two TCP segments and reads a closed
connection as silence (tests/test_watcher_protocol.py shows both).
"""

from __future__ import annotations

import contextlib
import enum
import imaplib
import logging
import re
import select
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from types import TracebackType

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import (
    MailboxFolderCreateError,
    MailboxFolderSubscribeError,
    MailboxTaggedResponseError,
    UnexpectedCommandStatusError,
)
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import encode_folder

from kmeet_bridge.config import ImapSettings, is_loopback
from kmeet_bridge.mail import bodystructure
from kmeet_bridge.mail.bodystructure import Value
from kmeet_bridge.models import IncomingMessage

log = logging.getLogger(__name__)

MAX_UID = 2**32 - 1  # RFC 3501: UIDs are non-zero 32-bit numbers
NEW_MAIL = re.compile(rb"^\* \d+ EXISTS\b", re.IGNORECASE)
READ_CHUNK = 65536
# Above this size, a message is read in parts (structure first, then only what
# the bridge reads); below, one FETCH of the whole message is cheaper.
PARTIAL_OVER = 1_048_576
# The most of a message's header read to decide about its sender: real headers
# are a few KB; the receiving server's Authentication-Results come first.
MAX_HEADER = 262_144
# The per-session \Recent flag says nothing about the message (and is gone in IMAP4rev2).
SESSION_FLAGS = frozenset({"\\Recent"})


class MailboxError(Exception):
    """The mailbox cannot do what was asked; the message says where and why."""


class MailboxUnavailable(MailboxError):
    """The server cannot be reached right now (refused, dropped, timed out): try again later."""


class LoginFailed(MailboxError):
    """The server refused the username or password."""


class IdleEvent(enum.Enum):
    """Why Mailbox.idle_wait returned."""

    NEW_MAIL = "new mail"  # an EXISTS: a message arrived
    OTHER = "other"  # flags changed, a message left, a keep-alive, IDLE ended by the server
    QUIET = "quiet"  # the timeout passed without a word from the server
    INTERRUPTED = "interrupted"  # the interrupt socket became readable


class Mailbox:
    """One IMAP connection to the mailbox in `settings`; use as a context manager.

    `ssl_context` replaces the default (system trust store, certificate and host
    name verified). `ignore_capabilities` makes the adapter behave as if the
    server lacked them, e.g. ("MOVE",) to exercise the COPY + EXPUNGE path.
    """

    def __init__(
        self,
        settings: ImapSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        ignore_capabilities: Iterable[str] = (),
    ) -> None:
        self.settings = settings
        self._ssl_context = ssl_context
        self._ignored = frozenset(name.upper() for name in ignore_capabilities)
        self._box: BaseMailBox | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._delimiter: str | None = None
        self._delimiter_known = False
        self._known_folders: set[str] = set()
        self._selected: str | None = None
        self._message_count = 0
        self._idling = False  # IDLE started and not ended (by us or by the server)
        self._idle_buffer = bytearray()

    # -- connection ----------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"IMAP server {self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        return self._box is not None

    @property
    def capabilities(self) -> frozenset[str]:
        """What the logged-in server offers (upper case), minus `ignore_capabilities`."""
        return self._capabilities - self._ignored

    def connect(self) -> None:
        """Open the connection and log in; raises MailboxUnavailable or LoginFailed."""
        if self._box is not None:
            return
        settings = self.settings
        if (
            settings.security == "plain"
            and not is_loopback(settings.host)
            and not settings.allow_insecure
        ):
            # config.py refuses this already unless allow_insecure: never by accident.
            raise MailboxError(
                f'[imap] security = "plain" is only allowed to a loopback host, '
                f'not "{settings.host}"'
            )
        with self._errors("connecting"):
            box = self._open()
        self._box = box
        try:
            self._login(box)
            with self._errors("asking for the capabilities"):
                typ, data = box.client.capability()
                self._check(typ, data, "CAPABILITY")
            words = b" ".join(item for item in data if isinstance(item, bytes)).decode()
            self._capabilities = frozenset(word.upper() for word in words.split())
            box.client.capabilities = tuple(sorted(self._capabilities))
        except BaseException:
            self._drop()
            raise

    def close(self, timeout: float | None = None) -> None:
        """End IDLE if it is on, and log out, waiting at most `timeout` seconds per
        answer (default: [imap] timeout); never raises (the connection may be gone)."""
        if self._box is not None:
            with contextlib.suppress(Exception):
                if timeout is not None:
                    self._box.client.socket().settimeout(timeout)
                if self._idling:
                    self.idle_done()
                self._box.logout()
        self._drop()

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def check(self) -> str:
        """Connect, log in and open the configured folder; a line for `check` to print."""
        opened_here = not self.connected
        try:
            self.connect()
            uidvalidity = self.select(self.settings.folder)
            count = self._message_count
        finally:
            if opened_here:
                self.close()
        return (
            f"{self.where} ({self.settings.security}): logged in as {self.settings.username}; "
            f"folder {self.settings.folder}: {count} messages, UIDVALIDITY {uidvalidity}"
        )

    # -- reading -------------------------------------------------------------------

    def select(self, folder: str, *, readonly: bool = False) -> int:
        """Open `folder` read-write (needed to move), or with `readonly` (EXAMINE:
        nothing can change, not even \\Recent); returns its UIDVALIDITY."""
        client = self._client()
        name = self._server_name(folder)
        with self._errors(f"opening folder {folder}"):
            typ, data = client.select(_mailbox_arg(name), readonly=readonly)
            if typ != "OK":
                self._selected = None
                raise MailboxError(
                    f"cannot open folder {folder!r} on {self.where} as {self.settings.username}: "
                    f"{_text(data)}; check the folder names in [imap]"
                )
            _, found = client.response("UIDVALIDITY")
            validity = found[-1] if found else None
        if not isinstance(validity, bytes) or not validity.isdigit():
            raise MailboxError(f"{self.where} sent no UIDVALIDITY for folder {folder!r}")
        self._selected = folder
        exists = data[0] if data else None
        self._message_count = int(exists) if isinstance(exists, bytes) and exists.isdigit() else 0
        return int(validity)

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs greater than `after_uid` in the selected folder, in ascending order.

        Two round trips whatever the folder size: a NOOP, because a server only
        searches the messages it has already announced to this session (Dovecot
        announces new ones when a command ends), then one UID SEARCH whose answer
        lists only the new messages, plus at most the newest old one: "n:*"
        always matches the highest UID, so that one is filtered out here.
        """
        client = self._selected_client()
        if after_uid >= MAX_UID:
            return []
        with self._errors(f"searching folder {self._selected}"):
            typ, data = client.noop()
            self._check(typ, data, "NOOP")
            typ, data = client.uid("SEARCH", f"UID {max(after_uid, 0) + 1}:*")
            self._check(typ, data, "UID SEARCH")
        found = b" ".join(item for item in data if isinstance(item, bytes))
        return sorted(uid for uid in map(int, found.split()) if uid > after_uid)

    def fetch_header(self, uid: int) -> IncomingMessage | None:
        """Only the header of `uid` (its first MAX_HEADER bytes) and its size
        (`complete=False`), in one round trip; None if it is gone. Enough to
        decide about a sender before anything else of the message is downloaded
        or read; a header can be as large as the message, so it is cut."""
        return self._fetch_section(uid, f"BODY.PEEK[HEADER]<0.{MAX_HEADER}>")

    def fetch(
        self,
        uid: int,
        max_size: int | None = None,
        *,
        partial_over: int | None = PARTIAL_OVER,
        size: int | None = None,
    ) -> IncomingMessage | None:
        """The message with `uid` in the selected folder; None if it is gone.

        The size (RFC822.SIZE) is asked first, unless given as `size` (from
        `fetch_header`). Over `max_size`, only the header is
        fetched (`complete=False`): enough to answer it, without downloading what
        the limit is there to keep out. Over `partial_over`, only the parts the
        bridge reads are (see `bodystructure`): `raw` is then a smaller message
        rebuilt from them, and `size` still the original's. Otherwise, and always
        with both None (one round trip), the message comes unchanged."""
        self._selected_client()
        section = "BODY.PEEK[]"
        if max_size is not None or partial_over is not None:
            size = self.size(uid) if size is None else size
            if size is None:
                return None
            if max_size is not None and size > max_size:
                section = "BODY.PEEK[HEADER]"
            elif partial_over is not None and size > partial_over:
                return self._fetch_parts(uid, size)
        return self._fetch_section(uid, section)

    def _fetch_section(self, uid: int, section: str) -> IncomingMessage | None:
        """One FETCH of the whole message or of its header."""
        client = self._selected_client()
        with self._errors(f"fetching UID {uid} from folder {self._selected}"):
            typ, data = client.uid("FETCH", str(uid), f"(UID RFC822.SIZE FLAGS {section})")
            self._check(typ, data, "UID FETCH")
        for index, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            # A response with a literal arrives as (text up to the literal, literal),
            # then the rest of the same response line as bytes.
            rest = data[index + 1] if index + 1 < len(data) else b""
            meta = item[0] + (rest if isinstance(rest, bytes) else b"")
            if _number(meta, rb"UID") != uid:
                continue  # an unsolicited update about another message
            flags = tuple(
                flag.decode()
                for flag in imaplib.ParseFlags(meta)
                if flag.decode() not in SESSION_FLAGS
            )
            raw = item[1]
            assert self._selected is not None
            return IncomingMessage(
                uid=uid,
                folder=self._selected,
                raw=raw,
                size=_number(meta, rb"RFC822\.SIZE") or len(raw),
                flags=flags,
                complete=section == "BODY.PEEK[]",
            )
        return None

    def _fetch_parts(self, uid: int, size: int) -> IncomingMessage | None:
        """A large message read in pieces: BODYSTRUCTURE, then the header and the
        selected parts in one FETCH; imaplib holds each response whole in memory,
        so what is never asked for is never held. A structure that cannot be read
        falls back to the header alone (`complete=False`, answered as too large)."""
        where = f"UID {uid} in folder {self._selected}"
        try:
            items = self._fetch_items(uid, "(UID BODYSTRUCTURE)", f"reading {where}")
            if items is None:
                return None
            structure = bodystructure.parse_bodystructure(items.get("BODYSTRUCTURE"))
            selection = bodystructure.select(structure)
            items = self._fetch_items(
                uid, f"(UID RFC822.SIZE FLAGS {selection.fetch_items()})", f"reading {where}"
            )
            if items is None:
                return None
            raw = bodystructure.rebuild(structure, selection, bodystructure.body_sections(items))
        except bodystructure.BodyStructureError as exc:
            log.warning("%s: cannot read %s in parts (%s): header only", self.where, where, exc)
            return self._fetch_section(uid, "BODY.PEEK[HEADER]")
        found = items.get("FLAGS")
        flags = tuple(
            str(flag)
            for flag in (found if isinstance(found, list) else [])
            if isinstance(flag, str) and flag not in SESSION_FLAGS
        )
        original = items.get("RFC822.SIZE")
        assert self._selected is not None
        return IncomingMessage(
            uid=uid,
            folder=self._selected,
            raw=raw,
            size=int(original) if isinstance(original, str) and original.isdigit() else size,
            flags=flags,
            complete=True,
        )

    def _fetch_items(self, uid: int, items: str, action: str) -> dict[str, Value] | None:
        """The data items of the FETCH response about `uid`; None if it is gone.
        Raises BodyStructureError when the only answer cannot be read."""
        client = self._selected_client()
        with self._errors(action):
            typ, data = client.uid("FETCH", str(uid), items)
            self._check(typ, data, "UID FETCH")
        problem: bodystructure.BodyStructureError | None = None
        for response in _responses(data):
            try:
                found = bodystructure.fetch_items(response)
            except bodystructure.BodyStructureError as exc:
                problem = exc  # maybe about another message: look at the others first
                continue
            uid_item = found.get("UID")
            if isinstance(uid_item, str) and uid_item.isdigit() and int(uid_item) == uid:
                return found
        if problem is not None:
            raise problem
        return None

    def size(self, uid: int) -> int | None:
        """RFC822.SIZE of `uid` in the selected folder; None if it is gone."""
        client = self._selected_client()
        with self._errors(f"asking the size of UID {uid} in folder {self._selected}"):
            typ, data = client.uid("FETCH", str(uid), "(UID RFC822.SIZE)")
            self._check(typ, data, "UID FETCH")
        for item in data:
            meta = item[0] if isinstance(item, tuple) else item
            if isinstance(meta, bytes) and _number(meta, rb"UID") == uid:
                return _number(meta, rb"RFC822\.SIZE")
        return None

    # -- IDLE ----------------------------------------------------------------------

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def idle_start(self) -> None:
        """Enter IDLE in the selected folder: the server now tells us about changes."""
        self._selected_client()
        box = self._connected_box()
        if self._idling:
            raise RuntimeError("IDLE is already on")
        with self._errors("starting IDLE"):
            try:
                box.idle.start()
            except MailboxTaggedResponseError as exc:
                said = exc.command_result[0]
                if isinstance(said, bytes) and said.startswith(b"* "):
                    # News before "+ idling" (Dovecot sends that first): imap-tools
                    # reads one line only, so this session's state is unknown.
                    raise self._hung_up(
                        f"answered IDLE with {_text([said])} before accepting it"
                    ) from None
                raise MailboxError(
                    self._scrub(f"{self.where} refused IDLE: {_text([_untagged(said)])}")
                ) from None
        self._idling = True
        self._idle_buffer.clear()

    @property
    def idling(self) -> bool:
        """IDLE is on (started, and neither ended by idle_done nor by the server)."""
        return self._idling

    def idle_wait(self, timeout: float, interrupt: socket.socket | None = None) -> IdleEvent:
        """Wait in IDLE until the server says something, `timeout` seconds pass, or
        `interrupt` becomes readable; raises MailboxUnavailable when the server
        closes the connection."""
        client = self._selected_client()
        if not self._idling:
            raise RuntimeError("Mailbox.idle_start() must come before idle_wait()")
        sock = client.socket()
        deadline = time.monotonic() + timeout
        with self._errors("waiting in IDLE"):
            previous = sock.gettimeout()
            sock.settimeout(0)  # every read below returns at once: select() does the waiting
            try:
                self._idle_read(client, after_select=False)  # what imaplib buffered already
                while True:
                    heard = self._idle_lines()
                    if heard:
                        return self._idle_event(heard)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return IdleEvent.QUIET
                    if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                        watched = [sock] if interrupt is None else [sock, interrupt]
                        ready, _, _ = select.select(watched, [], [], remaining)
                        if interrupt is not None and interrupt in ready:
                            return IdleEvent.INTERRUPTED
                        if sock not in ready:
                            continue
                    self._idle_read(client, after_select=True)
            finally:
                with contextlib.suppress(OSError):
                    sock.settimeout(previous)

    def idle_done(self) -> bool:
        """Leave IDLE (DONE) and wait for the server's answer; True when the
        responses that came meanwhile announced new mail."""
        client = self._selected_client()
        box = self._connected_box()
        if not self._idling:
            return False
        heard: list[bytes] = []
        with self._errors("ending IDLE"):
            # A line begun in IDLE is read to its end first: imap-tools reads the
            # answer to DONE through imaplib, which never saw that line's start.
            while self._idle_buffer:
                self._idle_read(client, after_select=True)  # waits up to [imap] timeout
                heard += self._idle_lines()
            new_mail = self._idle_event(heard) is IdleEvent.NEW_MAIL
            if self._idling:  # not ended by the server meanwhile
                self._idling = False
                try:
                    _, responses = box.idle.stop()
                except MailboxTaggedResponseError as exc:
                    raise MailboxError(self._scrub(f"{self.where} refused DONE: {exc}")) from None
                said = [line for line in responses if isinstance(line, bytes)]
                new_mail = self._idle_event(said) is IdleEvent.NEW_MAIL or new_mail
            # imaplib keeps these for response(); nobody asks here, so they would pile up.
            for name in ("EXISTS", "RECENT"):
                client.response(name)
        return new_mail

    def _idle_read(self, client: imaplib.IMAP4, *, after_select: bool) -> None:
        """Append what can be read without waiting to the IDLE buffer. After
        select() said "readable", nothing at all means the server hung up."""
        chunk = _read_available(client)
        if chunk:
            self._idle_buffer += chunk
        elif chunk is not None and after_select:
            raise self._hung_up("closed the connection in IDLE")

    def _idle_lines(self) -> list[bytes]:
        """The complete lines in the IDLE buffer, without CRLF; a partial line stays."""
        end = self._idle_buffer.rfind(b"\n")
        if end < 0:
            return []
        complete = bytes(self._idle_buffer[: end + 1])
        del self._idle_buffer[: end + 1]
        lines = [line.rstrip(b"\r") for line in complete.split(b"\n")[:-1]]
        for line in lines:
            log.debug("%s in IDLE: %s", self.where, line.decode("utf-8", "replace"))
        return lines

    def _idle_event(self, lines: list[bytes]) -> IdleEvent:
        event = IdleEvent.OTHER
        for line in lines:
            if line[:6].upper() == b"* BYE ":
                raise self._hung_up(f"closed the connection: {_text([line[6:]])}")
            if not line.startswith((b"* ", b"+ ")):
                # A tagged line: in IDLE only IDLE's own completion. The server ended
                # IDLE itself: no DONE is due; the caller starts it again. (imap-tools
                # forgets the tag only in stop(), which is not called now.)
                self._selected_client().tagged_commands.pop(line.split(b" ", 1)[0], None)
                self._idling = False
            elif NEW_MAIL.match(line):
                event = IdleEvent.NEW_MAIL
        return event

    def _hung_up(self, what: str) -> MailboxUnavailable:
        """The server ended the session: forget the connection (no DONE, no LOGOUT)."""
        self._drop()
        return MailboxUnavailable(f"{self.where} {what}")

    # -- moving --------------------------------------------------------------------

    def move(self, uid: int, target: str) -> None:
        """Move one message from the selected folder to `target` (created when missing).

        With MOVE: UID MOVE. Without: UID COPY, flag \\Deleted, and UID EXPUNGE of
        that UID alone (UIDPLUS); a plain EXPUNGE would also remove messages the
        owner marked deleted. Without UIDPLUS the original stays, flagged \\Deleted.
        A UID that is no longer in the folder is a no-op, so a retried move is safe.
        """
        client = self._selected_client()
        name = self.ensure_folder(target)
        source = self._selected
        with self._errors(f"moving UID {uid} from {source} to {target}"):
            if "MOVE" in self.capabilities:
                typ, data = client.uid("MOVE", str(uid), _mailbox_arg(name))
                self._check(typ, data, "UID MOVE")
                return
            typ, data = client.uid("COPY", str(uid), _mailbox_arg(name))
            self._check(typ, data, "UID COPY")
            typ, data = client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            self._check(typ, data, "UID STORE")
            if "UIDPLUS" in self.capabilities:
                typ, data = client.uid("EXPUNGE", str(uid))
                self._check(typ, data, "UID EXPUNGE")
            else:
                log.warning(
                    "%s offers neither MOVE nor UIDPLUS: UID %s was copied to %s and left in "
                    "%s flagged \\Deleted (the bridge never expunges the whole folder)",
                    self.where,
                    uid,
                    target,
                    source,
                )

    def ensure_folder(self, folder: str) -> str:
        """Create and subscribe `folder` unless it exists; returns the server's name for it."""
        box = self._connected_box()
        name = self._server_name(folder)
        if name in self._known_folders:
            return name
        with self._errors(f"creating folder {folder}"):
            if not box.folder.exists(name):
                try:
                    box.folder.create(name)
                except MailboxFolderCreateError as exc:
                    data = exc.command_result[1]
                    # Another client may have created it in the meantime: that is fine.
                    if b"ALREADYEXISTS" not in b" ".join(_bytes(data)):
                        raise MailboxError(
                            f"cannot create folder {folder!r} on {self.where}: {_text(data)}"
                        ) from None
                try:
                    box.folder.subscribe(name, True)
                except MailboxFolderSubscribeError as exc:
                    log.warning(
                        "%s: cannot subscribe %s: %s",
                        self.where,
                        name,
                        _text(exc.command_result[1]),
                    )
        self._known_folders.add(name)
        return name

    # -- internals -----------------------------------------------------------------

    def _open(self) -> BaseMailBox:
        settings = self.settings
        timeout = float(settings.timeout)
        context = self._ssl_context or ssl.create_default_context()
        if settings.security == "ssl":
            return MailBox(settings.host, settings.port, timeout=timeout, ssl_context=context)
        if settings.security == "starttls":
            if settings.port == 993:
                raise MailboxError(
                    f'{self.where}: security = "starttls" does not work on port 993, which '
                    'speaks TLS from the start; use security = "ssl" or port 143'
                )
            return MailBoxStartTls(
                settings.host, settings.port, timeout=timeout, ssl_context=context
            )
        if settings.security == "plain":
            return MailBoxUnencrypted(settings.host, settings.port, timeout=timeout)
        raise MailboxError(f"[imap] security {settings.security!r} is not ssl, starttls or plain")

    def _login(self, box: BaseMailBox) -> None:
        user, password = self.settings.username, self.settings.password.reveal()
        with self._errors("logging in"):
            try:
                if user.isascii() and password.isascii():
                    box.login(user, password, initial_folder=None)
                else:  # LOGIN is ASCII-only; AUTHENTICATE PLAIN carries UTF-8
                    box.login_utf8(user, password, initial_folder=None)
                return
            except UnexpectedCommandStatusError as exc:
                reason = _text(exc.command_result[1])
            except imaplib.IMAP4.abort:
                raise  # the connection broke: not a verdict on the password
            except imaplib.IMAP4.error as exc:
                reason = str(exc)
        raise LoginFailed(
            self._scrub(
                f"cannot log in to {self.where} as {user}: authentication failed "
                f'(the server said "{reason}"); check [imap] username and password'
            )
        )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn library and socket errors into MailboxError with a readable message."""
        try:
            yield
        except MailboxError:
            raise
        except imaplib.IMAP4.readonly as exc:  # a subclass of abort, but no network trouble
            raise MailboxError(f"{self.where}: cannot write while {action}: {exc}") from exc
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise MailboxUnavailable(
                self._scrub(f"lost the connection to {self.where} while {action}: {exc}")
            ) from exc
        except TimeoutError as exc:
            self._drop()
            raise MailboxUnavailable(
                f"{self.where} did not answer within {self.settings.timeout}s while {action}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise MailboxError(
                f"the TLS certificate of {self.where} cannot be trusted: "
                f"{exc.verify_message or exc.reason}"
            ) from exc
        except ssl.SSLError as exc:
            self._drop()
            raise MailboxError(
                f"TLS with {self.where} failed while {action}: {exc.reason or exc}; "
                f'check [imap] port and security ("ssl" is usually port 993, '
                f'"starttls" port 143)'
            ) from exc
        except socket.gaierror as exc:
            self._drop()
            raise MailboxUnavailable(
                f"cannot find {self.where}: {exc.strerror or exc}; check [imap] host"
            ) from exc
        except OSError as exc:
            self._drop()
            verb = "connect to" if action == "connecting" else f"reach ({action})"
            raise MailboxUnavailable(
                f"cannot {verb} {self.where}: {(exc.strerror or str(exc)).lower()}"
            ) from exc
        except UnexpectedCommandStatusError as exc:
            raise MailboxError(
                self._scrub(f"{self.where} refused {action}: {_text(exc.command_result[1])}")
            ) from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(self._scrub(f"{self.where} refused {action}: {exc}")) from exc

    def _check(self, typ: str, data: list, command: str) -> None:
        if typ != "OK":
            raise MailboxError(
                self._scrub(f"{self.where} answered {command} with {typ}: {_text(data)}")
            )

    def _scrub(self, text: str) -> str:
        password = self.settings.password.reveal()
        return text.replace(password, "********") if password else text

    def _drop(self) -> None:
        """Forget the connection (after close or a transport failure)."""
        box, self._box = self._box, None
        self._capabilities = frozenset()
        self._delimiter_known = False
        self._known_folders.clear()
        self._selected = None
        self._idling = False
        self._idle_buffer.clear()
        if box is not None:
            with contextlib.suppress(Exception):
                box.client.shutdown()

    def _connected_box(self) -> BaseMailBox:
        if self._box is None:
            raise MailboxUnavailable(f"not connected to {self.where}")
        return self._box

    def _client(self) -> imaplib.IMAP4:
        return self._connected_box().client

    def _selected_client(self) -> imaplib.IMAP4:
        client = self._client()
        if self._selected is None:
            raise RuntimeError("Mailbox.select(folder) must come before reading or moving")
        return client

    def _server_name(self, folder: str) -> str:
        """`folder` with "/" replaced by the server's hierarchy delimiter."""
        if "/" not in folder:
            return folder
        delimiter = self._hierarchy_delimiter()
        if delimiter is None:  # a flat server: the name is used as written
            return folder
        return delimiter.join(folder.split("/"))

    def _hierarchy_delimiter(self) -> str | None:
        if not self._delimiter_known:
            box = self._connected_box()
            with self._errors("asking for the hierarchy delimiter"):
                found = box.folder.list("", "")  # LIST "" "": the root and its delimiter
            delimiter = found[0].delim if found else "NIL"
            self._delimiter = None if delimiter.upper() == "NIL" else delimiter
            self._delimiter_known = True
        return self._delimiter


def _read_available(client: imaplib.IMAP4) -> bytes | None:
    """What imaplib has buffered, else one read of its socket: b"" when there is
    nothing (on a non-blocking socket) or the server closed the connection, which
    the caller tells apart by select() having said "readable"; None for half a
    TLS record (the rest comes with the next select()).

    The one place that reaches past imaplib's documented methods, to its buffered
    reader `file`: IDLE must be waited in with select() and read without blocking,
    and none of the public calls can. `IMAP4.readline()` and `read()` wait for a
    whole line or size (a timeout then leaves the reader unusable), and over TLS
    a non-blocking `read()` loses what it got when the next record is incomplete;
    `read1` makes a single read. imap-tools' `idle.poll()` reads with readline
    and so drops a line that comes in two TCP segments and reads a closed
    connection as silence (tests/test_watcher_protocol.py)."""
    try:
        return client.file.read1(READ_CHUNK)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None


def _untagged(line: object) -> object:
    """A tagged response line without its tag ("A12 NO ..." -> "NO ...")."""
    return line.split(b" ", 1)[-1] if isinstance(line, bytes) else line


def _mailbox_arg(name: str) -> str:
    """A folder name as a command argument: modified UTF-7, quoted (RFC 3501 5.1.3)."""
    return encode_folder(name).decode("ascii")


def _number(meta: bytes, item: bytes) -> int | None:
    match = re.search(rb"\b" + item + rb" (\d+)", meta)
    return int(match.group(1)) if match else None


def _responses(data: Iterable[object]) -> Iterator[bytes]:
    """Each untagged response of a command as on the wire, from imaplib's list:
    a response with literals comes as (text up to "{n}", literal) pairs and then
    the rest of its last line as bytes."""
    pending = bytearray()
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            pending += item[0] + b"\r\n" + item[1]
        elif isinstance(item, bytes):
            yield bytes(pending + item)
            pending.clear()
    if pending:
        yield bytes(pending)


def _bytes(data: Iterable[object]) -> list[bytes]:
    return [item for item in data if isinstance(item, bytes)]


def _text(data: Iterable[object] | None) -> str:
    """The server's words from a response, for an error message."""
    parts: list[str] = []
    for item in data or ():
        if isinstance(item, bytes):
            parts.append(item.decode("utf-8", "replace"))
        elif isinstance(item, str):
            parts.append(item)
    return " ".join(parts).strip().rstrip(".") or "no reason given"
