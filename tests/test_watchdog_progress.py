"""The watchdog is pinged only while passes make progress: a pass stuck on one
message stops the pings (so systemd restarts the service), a pass that moves
on keeps them coming, however long it takes. The daemon runs in this process
with a stand-in pass; systemd's notify socket is a datagram socket of the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmeet_bridge.service.daemon import Daemon, Heartbeat
from tests.test_daemon import Passes, serve, settings

PING = 0.1  # seconds between pings: WATCHDOG_USEC of 0.2 s
STALL = 0.6


class Pings:
    """The WATCHDOG=1 datagrams the daemon sends, with the time each arrived."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            if b"WATCHDOG=1" in data.split(b"\n"):
                self.times.append(time.monotonic())

    def between(self, start: float, end: float) -> list[float]:
        return [t for t in self.times if start <= t <= end]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def pings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pings]:
    path = tmp_path / "notify"
    collector = Pings(path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(PING * 2 * 1_000_000)))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield collector
    collector.close()


def test_a_pass_stuck_on_one_message_stops_the_pings_and_one_that_moves_on_does_not(
    pings: Pings,
) -> None:
    heartbeat = Heartbeat()
    marks: dict[str, float] = {}

    def behaviour(number: int) -> None:
        if number != 1:
            return
        # Moving on: a step every 0.1 s for longer than the stall limit.
        marks["moving"] = time.monotonic()
        for _ in range(15):
            heartbeat.beat()
            time.sleep(0.1)
        # Stuck: no step for three times the stall limit.
        marks["stuck"] = time.monotonic()
        time.sleep(3 * STALL)
        marks["done"] = time.monotonic()

    passes = Passes(behaviour)
    daemon = Daemon(settings(), passes.open, watch=False, heartbeat=heartbeat, stall_limit=STALL)

    def script() -> None:
        assert passes.wait_ended(1, timeout=10)
        time.sleep(0.5)

    serve(daemon, script)
    # While the pass moved on, the pings kept coming, past the stall limit.
    moving = pings.between(marks["moving"], marks["stuck"])
    assert len(moving) >= 8, moving
    # Stuck: none from just after the stall limit to the end of the pass.
    assert pings.between(marks["stuck"] + STALL + 2 * PING, marks["done"]) == []
    # Once the pass ended, they came again.
    assert pings.between(marks["done"], marks["done"] + 0.5)
