"""The IDLE watcher against a real Dovecot: wakes on new mail from another
connection, renews IDLE, stops at once, survives a server restart and says so
once, and steps aside for a server without IDLE."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kmeet_bridge.config import ImapSettings
from kmeet_bridge.mail.mailbox import Mailbox
from kmeet_bridge.mail.watcher import Watcher
from kmeet_bridge.pacing.backoff import Backoff
from tests.support.dovecot import Dovecot, free_port
from tests.support.fixtures_servers import ImapAccount
from tests.support.smtp_sink import Certificate

MESSAGE = b"From: alice@example.com\r\nTo: meet@example.com\r\nSubject: kmeet\r\n\r\nhello\r\n"


class Wakes:
    """Records when the watcher called wake()."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._condition = threading.Condition()

    def __call__(self) -> None:
        with self._condition:
            self.times.append(time.monotonic())
            self._condition.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: len(self.times) >= count, timeout)


class CountingMailbox(Mailbox):
    """The real adapter, counting how often IDLE was started."""

    starts = 0

    def idle_start(self) -> None:
        super().idle_start()
        type(self).starts += 1


@pytest.fixture
def watch() -> Iterator[Callable[..., Watcher]]:
    """Start watchers; every one is stopped after the test."""
    started: list[Watcher] = []

    def make(settings: ImapSettings, wake: Callable[[], None], **options: object) -> Watcher:
        watcher = Watcher(settings, wake, **options)  # type: ignore[arg-type]
        watcher.start()
        started.append(watcher)
        return watcher

    yield make
    for watcher in started:
        watcher.stop()
        assert watcher.join(5), "the watcher did not stop"


def stop_dropping_sessions(server: Dovecot) -> None:
    """Stop Dovecot and end the sessions it leaves behind.

    The test Dovecot's imap processes outlive their master (a client in IDLE
    keeps its own process); a real restart or a network failure drops the
    connection, so the processes of this server's session go as well."""
    process = server._process
    assert process is not None, "Dovecot is not running"
    session = process.pid  # started with start_new_session: the session id is its pid
    server.stop()
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == session:
                    leftovers.append(int(entry.name))
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in leftovers):
        time.sleep(0.02)


def messages(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "kmeet_bridge.mail.watcher" and r.levelno == level and text in r.getMessage()
    ]


def test_new_mail_from_another_connection_wakes_within_a_second(
    imap_account: ImapAccount, watch: Callable[..., Watcher]
) -> None:
    wakes = Wakes()
    watcher = watch(imap_account.settings, wakes)
    assert watcher.listening.wait(5), "the watcher never reached IDLE"
    assert wakes.wait_for(1, 1)  # IDLE began: one pass for what came before
    latencies = []
    for count in (2, 3, 4):
        appended = time.monotonic()
        imap_account.append("INBOX", MESSAGE)
        assert wakes.wait_for(count, 5), f"no wake-up for message {count}"
        latencies.append(wakes.times[-1] - appended)
    print("IDLE wake-up latencies (s):", ", ".join(f"{s:.3f}" for s in latencies))
    assert max(latencies) < 1.0
    time.sleep(0.3)
    assert len(wakes.times) == 4  # one wake-up per message, none for the \Recent that follows
    # Read-only: the watcher's EXAMINE leaves \Recent and \Seen alone.
    assert imap_account.flags("INBOX", 1) == set()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_idle_over_tls(
    tmp_path: Path, tls_certificate: Certificate, watch: Callable[..., Watcher], security: str
) -> None:
    with Dovecot(tmp_path / "dovecot", certificate=tls_certificate) as server:
        user, password = server.add_user()
        port = server.ssl_port if security == "ssl" else server.port
        settings = server.imap_settings(user, password, security=security, port=port)
        context = tls_certificate.client_context()
        wakes = Wakes()
        watcher = watch(settings, wakes, mailbox=lambda s: Mailbox(s, ssl_context=context))
        assert watcher.listening.wait(5), "the watcher never reached IDLE"
        assert wakes.wait_for(1, 1)
        for count in (2, 3):
            appended = time.monotonic()
            server.append(user, password, "INBOX", MESSAGE)
            assert wakes.wait_for(count, 3)
            assert wakes.times[-1] - appended < 1.0
        started = time.monotonic()
        watcher.stop()
        assert watcher.join(2)
        assert time.monotonic() - started < 1.0


def test_stop_leaves_idle_at_once(imap_account: ImapAccount, watch: Callable[..., Watcher]) -> None:
    watcher = watch(imap_account.settings, Wakes())
    assert watcher.listening.wait(5)
    started = time.monotonic()
    watcher.stop()
    assert watcher.join(2)
    assert time.monotonic() - started < 1.0
    assert not watcher.listening.is_set()


@pytest.mark.parametrize("options", [{"renew_after": 0.3}, {"quiet_after": 0.3}])
def test_idle_is_renewed_and_still_hears_new_mail(
    imap_account: ImapAccount, watch: Callable[..., Watcher], options: dict[str, float]
) -> None:
    class Counting(CountingMailbox):
        starts = 0

    wakes = Wakes()
    watcher = watch(imap_account.settings, wakes, mailbox=Counting, **options)
    assert watcher.listening.wait(5)
    time.sleep(1.5)
    assert Counting.starts >= 4  # about one renewal every 0.3 s
    assert len(wakes.times) == 1  # when IDLE began; renewing is not news
    imap_account.append("INBOX", MESSAGE)
    assert wakes.wait_for(2, 3)


def test_a_server_without_idle_leaves_it_to_polling(
    imap_account: ImapAccount, watch: Callable[..., Watcher], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kmeet_bridge.mail.watcher")
    watcher = watch(
        imap_account.settings,
        Wakes(),
        mailbox=lambda settings: Mailbox(settings, ignore_capabilities=("IDLE",)),
    )
    assert watcher.join(5), "the watcher should end by itself"
    assert messages(caplog, logging.INFO, "IDLE") == [
        f"IMAP server {imap_account.dovecot.host}:{imap_account.dovecot.port} does not offer "
        "IDLE: new mail is noticed by polling every 60 seconds"
    ]


def test_a_restarted_server_is_reported_once_lost_and_once_restored(
    tmp_path: Path, watch: Callable[..., Watcher], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.mail.watcher")
    with Dovecot(tmp_path / "dovecot") as server:
        user, password = server.add_user()
        wakes = Wakes()
        watcher = watch(
            server.imap_settings(user, password),
            wakes,
            backoff=Backoff(first=0.05, maximum=0.2),
        )
        assert watcher.listening.wait(5)
        assert wakes.wait_for(1, 1)
        stop_dropping_sessions(server)
        time.sleep(1.5)  # several attempts fail meanwhile
        assert not watcher.listening.is_set()
        server.start()
        assert watcher.listening.wait(5), "the watcher did not come back"
        assert wakes.wait_for(2, 2), "no pass asked for after the reconnection"
        assert len(wakes.times) == 2
        server.append(user, password, "INBOX", MESSAGE)
        assert wakes.wait_for(3, 3)
    lost = messages(caplog, logging.WARNING, "IMAP connection lost")
    assert len(lost) == 1, lost
    assert lost[0].endswith("; reconnecting with backoff")
    assert messages(caplog, logging.INFO, "IMAP connection restored") == [
        "IMAP connection restored"
    ]
    retries = messages(caplog, logging.DEBUG, "IMAP connection lost")
    assert len(retries) >= 3, retries  # the attempts in between, at DEBUG only


def test_a_refused_login_is_logged_once(
    imap_account: ImapAccount, watch: Callable[..., Watcher], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.mail.watcher")
    settings = imap_account.dovecot.imap_settings(imap_account.user, "not-the-password")
    watcher = watch(settings, Wakes(), backoff=Backoff(first=0.05, maximum=0.1))
    time.sleep(2.0)  # Dovecot answers a failed login after 0.5 s: three or four attempts
    assert not watcher.listening.is_set()
    refused = messages(caplog, logging.ERROR, "IMAP login refused")
    assert len(refused) == 1
    assert "not-the-password" not in caplog.text
    assert len(messages(caplog, logging.DEBUG, "IMAP login refused")) >= 2


def test_a_server_down_at_start_is_not_a_lost_connection(
    tmp_path: Path, watch: Callable[..., Watcher], caplog: pytest.LogCaptureFixture
) -> None:
    """No connection was ever made: the log says it cannot connect, then that the
    connection is established, never that one was lost or restored."""
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.mail.watcher")
    server = Dovecot(tmp_path / "dovecot")
    user, password = server.add_user()
    try:
        server.port = free_port()
        wakes = Wakes()
        watcher = watch(
            server.imap_settings(user, password), wakes, backoff=Backoff(first=0.05, maximum=0.2)
        )
        time.sleep(0.5)  # a few attempts fail
        assert not watcher.listening.is_set()
        server.start()
        assert watcher.listening.wait(5), "the watcher did not connect"
    finally:
        server.close()
    where = f"IMAP server {server.host}:{server.port}"
    assert messages(caplog, logging.WARNING, "IMAP") == [
        f"IMAP watcher: cannot connect to {where}: connection refused; retrying with backoff"
    ]
    assert messages(caplog, logging.INFO, "IMAP connection") == ["IMAP connection established"]
    assert "lost" not in caplog.text
    assert "restored" not in caplog.text
