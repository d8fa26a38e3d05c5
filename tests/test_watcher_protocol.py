"""The IDLE reader in mailbox.py against a scripted IMAP server on loopback.

Dovecot cannot be made to split a line across two TCP segments, to end IDLE on
its own, or to hang up at a chosen moment; these cases decide whether the
watcher wakes, renews or reconnects, so a small server plays them exactly."""

from __future__ import annotations

import imaplib
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from imap_tools import MailBoxUnencrypted

from kmeet_bridge.config import ImapSettings, Secret
from kmeet_bridge.mail.mailbox import (
    IdleEvent,
    Mailbox,
    MailboxError,
    MailboxUnavailable,
    _read_available,
)


class ScriptedImap:
    """Answers LOGIN, CAPABILITY, EXAMINE, IDLE, DONE and LOGOUT; during IDLE
    the test decides what the server says with push()."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.before_done = b""  # said between DONE and its tagged answer
        self.idle_tag = b""
        self.idle_answer = b""  # said instead of "+ idling" ("TAG": the command's tag)
        self.in_idle = threading.Event()
        self.connection: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def push(self, data: bytes) -> None:
        assert self.connection is not None
        self.connection.sendall(data)

    def hang_up(self) -> None:
        assert self.connection is not None
        self.connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        if self.connection is not None:
            self.connection.close()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        self.connection = connection
        reader = connection.makefile("rb")
        connection.sendall(b"* OK scripted server ready\r\n")
        try:
            for line in reader:
                self.received.append(line.rstrip(b"\r\n"))
                self._answer(connection, line.rstrip(b"\r\n"))
        except OSError:
            return

    def _answer(self, connection: socket.socket, line: bytes) -> None:
        if line.upper() == b"DONE":
            self.in_idle.clear()
            connection.sendall(self.before_done + self.idle_tag + b" OK Idle completed\r\n")
            return
        tag, _, rest = line.partition(b" ")
        command = rest.split(b" ")[0].upper()
        if command == b"CAPABILITY":
            connection.sendall(
                b"* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
            )
        elif command in (b"EXAMINE", b"SELECT"):
            connection.sendall(
                b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n" + tag + b" OK [READ-ONLY]\r\n"
            )
        elif command == b"IDLE":
            self.idle_tag = tag
            if self.idle_answer:  # instead of accepting IDLE
                connection.sendall(self.idle_answer.replace(b"TAG", tag))
                return
            connection.sendall(b"+ idling\r\n")
            self.in_idle.set()
        elif command == b"LOGOUT":
            connection.sendall(b"* BYE logging out\r\n" + tag + b" OK done\r\n")
        else:  # LOGIN and the rest
            connection.sendall(tag + b" OK done\r\n")


@pytest.fixture
def server() -> Iterator[ScriptedImap]:
    scripted = ScriptedImap()
    yield scripted
    scripted.close()


def settings_for(server: ScriptedImap) -> ImapSettings:
    return ImapSettings(
        host="127.0.0.1",
        port=server.port,
        security="plain",
        username="meet@example.com",
        password=Secret("secret"),
        folder="INBOX",
        processed_folder="kmeet/processed",
        failed_folder="kmeet/failed",
        poll_interval=60,
        timeout=5,
    )


@pytest.fixture
def mailbox(server: ScriptedImap) -> Iterator[Mailbox]:
    box = Mailbox(settings_for(server))
    box.connect()
    assert box.supports_idle
    box.select("INBOX", readonly=True)
    box.idle_start()
    assert server.in_idle.wait(2)
    yield box
    box.close(timeout=1)


def test_a_line_split_across_two_segments_is_read_whole(
    server: ScriptedImap, mailbox: Mailbox
) -> None:
    def later() -> None:
        server.push(b"* 3 EX")
        time.sleep(0.2)
        server.push(b"ISTS\r\n")

    threading.Thread(target=later).start()
    started = time.monotonic()
    assert mailbox.idle_wait(3) is IdleEvent.NEW_MAIL
    assert 0.15 < time.monotonic() - started < 1.0


def test_two_lines_in_one_segment_make_one_event_and_leave_nothing_behind(
    server: ScriptedImap, mailbox: Mailbox
) -> None:
    server.push(b"* 3 EXISTS\r\n* 1 RECENT\r\n")
    assert mailbox.idle_wait(3) is IdleEvent.NEW_MAIL
    assert mailbox.idle_wait(0.2) is IdleEvent.QUIET


@pytest.mark.parametrize(
    "said", [b"* OK Still here\r\n", b"* 1 FETCH (FLAGS (\\Seen))\r\n", b"* 1 EXPUNGE\r\n"]
)
def test_other_news_is_not_new_mail(server: ScriptedImap, mailbox: Mailbox, said: bytes) -> None:
    server.push(said)
    assert mailbox.idle_wait(3) is IdleEvent.OTHER
    assert mailbox.idling


def test_quiet_and_interrupted(server: ScriptedImap, mailbox: Mailbox) -> None:
    started = time.monotonic()
    assert mailbox.idle_wait(0.3) is IdleEvent.QUIET
    assert 0.3 <= time.monotonic() - started < 0.6
    reader, writer = socket.socketpair()
    with reader, writer:
        threading.Timer(0.1, writer.send, [b"x"]).start()
        started = time.monotonic()
        assert mailbox.idle_wait(10, reader) is IdleEvent.INTERRUPTED
        assert time.monotonic() - started < 0.5


def test_bye_is_a_lost_connection(server: ScriptedImap, mailbox: Mailbox) -> None:
    server.push(b"* BYE Server shutting down.\r\n")
    with pytest.raises(MailboxUnavailable) as caught:
        mailbox.idle_wait(3)
    assert str(caught.value) == (
        f"IMAP server 127.0.0.1:{server.port} closed the connection: Server shutting down"
    )
    assert not mailbox.connected


def test_a_hang_up_is_a_lost_connection(server: ScriptedImap, mailbox: Mailbox) -> None:
    server.hang_up()
    with pytest.raises(MailboxUnavailable) as caught:
        mailbox.idle_wait(3)
    assert str(caught.value) == (
        f"IMAP server 127.0.0.1:{server.port} closed the connection in IDLE"
    )
    assert not mailbox.connected


def test_idle_ended_by_the_server_is_started_again_without_done(
    server: ScriptedImap, mailbox: Mailbox
) -> None:
    server.push(server.idle_tag + b" OK IDLE terminated (timeout)\r\n")
    assert mailbox.idle_wait(3) is IdleEvent.OTHER
    assert not mailbox.idling
    assert mailbox.idle_done() is False  # nothing to end
    mailbox.idle_start()
    assert server.in_idle.wait(2)
    assert b"DONE" not in server.received


def test_done_reports_new_mail_that_came_with_its_answer(
    server: ScriptedImap, mailbox: Mailbox
) -> None:
    server.before_done = b"* 4 EXISTS\r\n"
    assert mailbox.idle_done() is True
    assert server.received[-1] == b"DONE"
    server.before_done = b""
    mailbox.idle_start()
    assert mailbox.idle_done() is False


def test_read_available_never_waits_and_tells_a_hang_up_by_select(
    server: ScriptedImap, mailbox: Mailbox
) -> None:
    """The one reader past imaplib's documented calls (mailbox._read_available)."""
    client = mailbox._client()
    sock = client.socket()
    sock.settimeout(0)
    started = time.monotonic()
    assert _read_available(client) == b""  # nothing there: at once
    assert time.monotonic() - started < 0.1
    server.push(b"* 3 EX")
    assert select.select([sock], [], [], 2)[0] == [sock]
    assert _read_available(client) == b"* 3 EX"  # half a line comes as it is
    server.push(b"ISTS\r\n")
    assert select.select([sock], [], [], 2)[0] == [sock]
    assert _read_available(client) == b"ISTS\r\n"
    server.hang_up()
    assert select.select([sock], [], [], 2)[0] == [sock]  # readable, and then nothing: EOF
    assert _read_available(client) == b""


def test_why_idle_is_not_waited_in_with_imap_tools_poll(server: ScriptedImap) -> None:
    """imap-tools' public `idle.poll()` would do the job but for two cases the
    watcher meets: a line in two TCP segments breaks it, and a closed connection
    reads as silence. Should a release fix both, this test fails: then use it."""
    box = MailBoxUnencrypted("127.0.0.1", server.port, timeout=5)
    box.login("meet@example.com", "secret", initial_folder=None)
    box.client.select("INBOX", readonly=True)
    box.idle.start()
    assert server.in_idle.wait(2)
    server.push(b"* 3 EX")

    def rest() -> None:
        time.sleep(0.2)
        server.push(b"ISTS\r\n")

    threading.Thread(target=rest).start()
    with pytest.raises(imaplib.IMAP4.abort, match="unterminated line"):
        box.idle.poll(timeout=3)
    time.sleep(0.3)
    assert box.idle.poll(timeout=1) == [b"ISTS"]  # the line's start is lost
    server.hang_up()
    started = time.monotonic()
    assert box.idle.poll(timeout=3) == []  # "nothing new", at once, from a dead connection
    assert time.monotonic() - started < 1
    box.client.shutdown()


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (b"TAG NO IDLE not allowed now\r\n", MailboxError, "refused IDLE: NO IDLE not allowed now"),
        # News before the continuation: imap-tools' start() reads one line only.
        (b"* 3 EXISTS\r\n+ idling\r\n", MailboxUnavailable, "answered IDLE with * 3 EXISTS"),
    ],
)
def test_idle_not_accepted(
    server: ScriptedImap, answer: bytes, error: type[Exception], message: str
) -> None:
    server.idle_answer = answer
    box = Mailbox(settings_for(server))
    box.connect()
    box.select("INBOX", readonly=True)
    with pytest.raises(error) as caught:
        box.idle_start()
    assert type(caught.value) is error
    assert f"IMAP server 127.0.0.1:{server.port} {message}" in str(caught.value)
    assert not box.idling
    box.close(timeout=1)
