"""pytest fixtures for the real servers: Dovecot (one per session) and the SMTP sink.

Import them into a test module (or conftest.py) by name:

    from tests.support.fixtures_servers import dovecot, imap_account, smtp_sink  # noqa: F401

A missing Dovecot fails the tests that need it, with a message saying what to
install: the IMAP tests are part of the suite, not optional extras.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kmeet_bridge.config import ImapSettings

from .dovecot import Dovecot, DovecotFailed, DovecotNotInstalled
from .smtp_sink import Certificate, SmtpSink, make_certificate


@dataclass(frozen=True)
class ImapAccount:
    """A fresh Dovecot user with an empty INBOX, and helpers bound to it."""

    dovecot: Dovecot
    user: str
    password: str = field(repr=False)
    settings: ImapSettings

    def append(self, folder: str, raw: bytes, flags: tuple[str, ...] = ()) -> int:
        return self.dovecot.append(self.user, self.password, folder, raw, flags)

    def uids(self, folder: str = "INBOX") -> list[int]:
        return self.dovecot.uids(self.user, self.password, folder)

    def flags(self, folder: str, uid: int) -> set[str]:
        return self.dovecot.flags(self.user, self.password, folder, uid)

    def fetch(self, folder: str, uid: int) -> bytes:
        return self.dovecot.fetch(self.user, self.password, folder, uid)

    def folders(self) -> list[str]:
        return self.dovecot.folders(self.user, self.password)

    def store(self, folder: str, uid: int, flags: tuple[str, ...]) -> None:
        self.dovecot.store(self.user, self.password, folder, uid, flags)


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """One Dovecot for the whole run; tests stay apart by using their own users."""
    problem = None
    try:
        server = Dovecot(tmp_path_factory.mktemp("dovecot"))
        server.start()
    except (DovecotNotInstalled, DovecotFailed) as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: one message, no chained traceback
        pytest.fail(problem, pytrace=False)
    yield server
    server.close()


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    user, password = dovecot.add_user()
    return ImapAccount(dovecot, user, password, dovecot.imap_settings(user, password))


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A CA and a server certificate for 127.0.0.1/localhost, made once per run."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP sink without AUTH."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def make_smtp_sink() -> Iterator[Callable[..., SmtpSink]]:
    """A factory for sinks with options (auth, tls, certificate, deliver_to); all stopped after."""
    sinks: list[SmtpSink] = []

    def make(**options: Any) -> SmtpSink:
        sink = SmtpSink(**options)
        sink.start()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.stop()
