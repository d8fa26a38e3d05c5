"""The IDLE watcher: a thread with its own IMAP connection that wakes a pass as
soon as the server announces new mail.

The passes open their own connection (through Mailbox), read and move; this one
only examines the folder read-only and listens. Polling stays the safety net:
when the watcher is down (no IDLE on the server, a lost connection, a refused
login) passes still run every `poll_interval`.

    connect, log in -> EXAMINE folder -> IDLE -> (EXISTS: wake) ... -> DONE -> IDLE ...
         ^                                                                      |
         +---------- backoff (1 s doubling to 5 min, ±20 %) <-- any failure ----+

A failure is logged when it starts and when it is over, not at every attempt.
`stop()` returns at once and the thread leaves IDLE within a second, even when
the server says nothing.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

from kmeet_bridge.config import ImapSettings
from kmeet_bridge.mail.mailbox import (
    IdleEvent,
    LoginFailed,
    Mailbox,
    MailboxError,
    MailboxUnavailable,
)
from kmeet_bridge.pacing.backoff import Backoff, FailureLog

log = logging.getLogger(__name__)

# RFC 2177: a server may log a client out after 30 minutes of IDLE; renew well before.
RENEW_AFTER = 25 * 60.0
# A connection that has said nothing for this long may be dead (a NAT that forgot
# it never tells): DONE + IDLE proves it alive, or fails and reconnects.
QUIET_AFTER = 5 * 60.0
# On stop, how long the server gets to answer DONE and LOGOUT.
GOODBYE_TIMEOUT = 2.0


class Watcher:
    """Calls `wake()` (from its own thread) when `settings.folder` gets new mail,
    and each time IDLE begins on a new connection, since mail may have arrived
    while it was connecting or away."""

    def __init__(
        self,
        settings: ImapSettings,
        wake: Callable[[], None],
        *,
        mailbox: Callable[[ImapSettings], Mailbox] = Mailbox,
        backoff: Backoff | None = None,
        renew_after: float = RENEW_AFTER,
        quiet_after: float = QUIET_AFTER,
    ) -> None:
        self.settings = settings
        self.wake = wake
        self._open = mailbox
        self.backoff = backoff or Backoff()
        self.renew_after = renew_after
        self.quiet_after = quiet_after
        self._failures = FailureLog(log)
        self._stop = threading.Event()
        # Set while IDLE is on: the server will tell us about new mail.
        self.listening = threading.Event()
        self._announced = False  # the first IDLE is worth an INFO line, the others not
        self._connected_before = False  # some connection got as far as logging in
        # stop() writes a byte here; idle_wait select()s on it next to the IMAP socket.
        self._interrupt, self._interrupter = socket.socketpair()
        self._interrupter.setblocking(False)  # stop() must never block
        self._thread = threading.Thread(target=self._run, name="imap-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to leave; returns at once (safe from a signal handler)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._interrupter.send(b"x")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it did."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                mailbox = self._open(self.settings)
                try:
                    if not self._watch(mailbox):
                        return  # no IDLE on this server: polling alone from now on
                except LoginFailed as exc:
                    self._failures.failed(
                        "login", f"IMAP login refused: {exc}; retrying with backoff"
                    )
                except MailboxUnavailable as exc:
                    # "Lost" only for a connection there was: the first attempt at
                    # start-up (a wrong host, a server still booting) never had one.
                    if self._connected_before:
                        message = f"IMAP connection lost: {exc}; reconnecting with backoff"
                    else:
                        message = f"IMAP watcher: {exc}; retrying with backoff"
                    self._failures.failed("connection", message, logging.WARNING)
                except MailboxError as exc:
                    self._failures.failed("mailbox", f"IMAP watcher: {exc}; retrying with backoff")
                except Exception as exc:  # a bug must not end push for good: log it, go on
                    if self._failures.failed(
                        "unexpected", f"IMAP watcher failed: {exc!r}; retrying with backoff"
                    ):
                        log.debug("IMAP watcher failure", exc_info=True)
                finally:
                    self.listening.clear()
                    mailbox.close(timeout=GOODBYE_TIMEOUT)
                if self._stop.is_set():
                    break
                delay = self.backoff.next_delay()
                log.debug("IMAP watcher: next attempt in %.2f s", delay)
                self._stop.wait(delay)
        finally:
            for sock in (self._interrupt, self._interrupter):
                sock.close()
            log.debug("IMAP watcher stopped")

    def _watch(self, mailbox: Mailbox) -> bool:
        """One connection's life: returns False when the server has no IDLE, True
        on stop; raises on any failure."""
        mailbox.connect()
        back = "restored" if self._connected_before else "established"
        self._connected_before = True
        if not mailbox.supports_idle:
            self._failures.recovered(f"IMAP connection {back}")
            log.info(
                "%s does not offer IDLE: new mail is noticed by polling every %d seconds",
                mailbox.where,
                self.settings.poll_interval,
            )
            return False
        mailbox.select(self.settings.folder, readonly=True)
        mailbox.idle_start()
        self.listening.set()
        self.backoff.reset()
        if not self._failures.recovered(f"IMAP connection {back}"):
            level = logging.DEBUG if self._announced else logging.INFO
            log.log(
                level,
                "%s: IDLE on %s: new mail is handled as it arrives",
                mailbox.where,
                self.settings.folder,
            )
        self._announced = True
        # Mail that came before IDLE began (while connecting, or while the
        # connection was down) is announced by nobody: one pass looks for it.
        self.wake()
        started = time.monotonic()
        while not self._stop.is_set():
            renew_at = started + self.renew_after
            timeout = max(0.0, min(renew_at - time.monotonic(), self.quiet_after))
            event = mailbox.idle_wait(timeout, self._interrupt)
            if event is IdleEvent.INTERRUPTED or self._stop.is_set():
                break
            if event is IdleEvent.NEW_MAIL:
                self.wake()
            if event is IdleEvent.QUIET or not mailbox.idling or time.monotonic() >= renew_at:
                if mailbox.idle_done():
                    self.wake()
                mailbox.idle_start()
                started = time.monotonic()
        return True
