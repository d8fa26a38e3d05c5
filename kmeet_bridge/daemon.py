"""The long-running loop: an APScheduler job every `poll_interval`, never two
passes at once, a clean stop on SIGTERM, readiness reported to systemd."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


def notify_systemd(state: str) -> None:
    """Send `state` (READY=1, STOPPING=1, ...) to systemd when run as Type=notify.

    The protocol is one datagram on $NOTIFY_SOCKET; no library needed."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify systemd: %s", exc)


class Daemon:
    """Runs `run_pass(stop)` every `interval` seconds until SIGTERM or SIGINT."""

    def __init__(self, run_pass: Callable[[threading.Event], None], interval: int) -> None:
        self.run_pass = run_pass
        self.interval = interval
        self.stop = threading.Event()
        self._pass_lock = threading.Lock()
        self._scheduler = BlockingScheduler(timezone=UTC)

    def _job(self) -> None:
        # max_instances=1 already prevents overlap; the lock also lets the
        # shutdown wait for the message in hand.
        with self._pass_lock:
            if self.stop.is_set():
                return
            try:
                self.run_pass(self.stop)
            except Exception as exc:  # the next pass tries again
                log.error("pass failed: %s", exc)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the message in hand", signal.Signals(signum).name)
        self.stop.set()
        notify_systemd("STOPPING=1")
        self._scheduler.shutdown(wait=False)

    def serve(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._scheduler.add_job(
            self._job,
            "interval",
            seconds=self.interval,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            id="pass",
        )
        log.info("started; a pass every %d seconds", self.interval)
        notify_systemd("READY=1")
        self._scheduler.start()  # blocks until a signal shuts the scheduler down
        with self._pass_lock:  # wait for a pass still in progress
            pass
        log.info("stopped")
        return 0
