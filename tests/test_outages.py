"""Outages end to end: the daemon's loop in this process with the real servers
(Dovecot with IDLE, the SMTP sink, the API simulator), on the real clock, with
the probe schedule shortened (0.2 s doubling to 1 s instead of 1 s to 25 s) so
that an outage takes seconds. `python -m benchmarks --only outage` runs the
same scenario for 90 s with the real schedule and prints the numbers.

What is checked: while a service is down only probes reach it, never a request
per waiting message; when it is back, every waiting message is answered, in
arrival order; systemd's STATUS= line and the log say so once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kmeet_bridge.config import Settings
from kmeet_bridge.kmeet import KMeetClient
from kmeet_bridge.pacing import health as health_module
from kmeet_bridge.pacing.health import Health
from kmeet_bridge.service import cli
from kmeet_bridge.service.daemon import Daemon, PassFunction
from kmeet_bridge.store import Store
from tests.support.harness import BridgeEnv, invitation, rows
from tests.test_daemon import serve

WAIT = 20.0  # seconds a step may take before the test gives up


@pytest.fixture(autouse=True)
def fast_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health_module, "PROBE_FIRST", 0.2)
    monkeypatch.setattr(health_module, "PROBE_MAX", 1.0)


class Notifications:
    """A NOTIFY_SOCKET, as systemd offers one: the STATUS= lines the daemon sends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._directory = tempfile.mkdtemp(prefix="notify-")  # short: a socket path has 108
        path = str(Path(self._directory) / "notify")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(path)
        self._socket.settimeout(0.2)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        self.statuses: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                data = self._socket.recv(4096).decode()
            except TimeoutError:
                continue
            for line in data.splitlines():
                if line.startswith("STATUS="):
                    self.statuses.append(line.removeprefix("STATUS="))

    def close(self) -> None:
        self._done.set()
        self._thread.join(2)
        self._socket.close()


@pytest.fixture
def notifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[Notifications]:
    listener = Notifications(monkeypatch)
    yield listener
    listener.close()


def run_daemon(env: BridgeEnv, script: Callable[[], None]) -> None:
    """`kmeet-bridge run`'s daemon, made as cmd_run makes it, in this thread (it
    owns the signals); `script` runs beside it, and the daemon stops after it."""
    health = Health()
    with Store(env.state_path) as store:

        @contextlib.contextmanager
        def open_pass(settings: Settings) -> Iterator[PassFunction]:
            with KMeetClient(settings.kmeet) as planner:
                bridge = cli.make_bridge(settings, store, planner, health=health)
                yield lambda stop: bridge.run_pass(stop).summary()

        serve(Daemon(env.settings(), open_pass, health=health), script)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def deliver(env: BridgeEnv, n: int) -> str:
    """Invitation n; returns its Message-ID."""
    env.deliver(
        invitation(uid=f"outage-{n}@example.com", start="20270315T140000", end="20270315T150000")
    )
    return f"<outage-{n}.example.com-0-request@example.com>"


def waiting(env: BridgeEnv, service: str) -> int:
    return len(rows(env, f"SELECT uid FROM waiting WHERE service = '{service}'"))


def since(env: BridgeEnv, service: str) -> str:
    """When the outage began, as the lines write it (the local HH:MM)."""
    [(value,)] = rows(env, f"SELECT value FROM meta WHERE name = 'outage:{service}'")
    return f"{datetime.fromisoformat(json.loads(value)['since']).astimezone():%H:%M}"


def said(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if re.fullmatch(pattern, r.getMessage())]


def test_an_api_outage_is_probed_not_hammered_and_every_waiting_message_is_served_after(
    bridge_env: BridgeEnv, notifications: Notifications, caplog: pytest.LogCaptureFixture
) -> None:
    env = bridge_env
    simulator = env.simulator
    ids: list[str] = []
    marks: dict[str, object] = {}

    def posts() -> int:
        return sum(1 for r in simulator.requests if r.method == "POST")

    def script() -> None:
        wait_until(
            lambda: rows(env, "SELECT value FROM meta WHERE name = 'last_pass_at'"), "a pass"
        )
        simulator.start_outage(503)
        ids.append(deliver(env, 1))
        wait_until(lambda: waiting(env, "api") == 1, "the first message to wait")
        ids.append(deliver(env, 2))
        ids.append(deliver(env, 3))
        wait_until(lambda: waiting(env, "api") == 3, "three messages waiting")
        time.sleep(3)  # three seconds of outage: probes at 0.2, 0.6, 1.4, 2.4 s...
        marks["requests"] = len(simulator.requests)
        marks["posts"] = posts()
        marks["since"] = since(env, "api")
        line = f"kMeet API unavailable since {marks['since']} (503), 3 messages waiting"
        wait_until(lambda: notifications.statuses[-1:] == [line], "the status line")
        simulator.end_outage()
        env.smtp.wait_for(3, timeout=WAIT)
        wait_until(lambda: env.uids("INBOX") == [], "every message filed")

    with caplog.at_level(logging.INFO, logger="kmeet_bridge"):
        run_daemon(env, script)

    # During the outage: the one request that found it, then only probes.
    assert marks["posts"] == 1
    during = simulator.requests[: int(marks["requests"])]
    assert {(r.method, r.path) for r in during[1:]} == {("GET", "/api/pim/calendar")}
    assert 3 <= len(during) <= 20
    # After it: every waiting message answered, in arrival order, each planned once.
    assert [m.message["In-Reply-To"] for m in env.smtp.messages] == ids
    assert posts() == 4
    assert len(simulator.rooms) == 3
    assert rows(env, "SELECT uid, outcome FROM messages ORDER BY uid") == [
        (1, "planned"),
        (2, "planned"),
        (3, "planned"),
    ]
    assert rows(env, "SELECT * FROM waiting") == []
    # Said once each: in the log, and in systemd's status line.
    assert said(caplog, r"kMeet API unavailable since .*") == [
        f"kMeet API unavailable since {marks['since']} (503), 1 message waiting"
    ]
    [restored] = said(caplog, r"kMeet API restored after \d+s")
    assert restored in notifications.statuses
    assert sum(s.startswith("kMeet API restored") for s in notifications.statuses) == 1


def test_replies_held_back_while_smtp_is_down_go_out_in_order_once_it_is_back(
    bridge_env: BridgeEnv, notifications: Notifications, caplog: pytest.LogCaptureFixture
) -> None:
    env = bridge_env
    ids: list[str] = []
    marks: dict[str, object] = {}

    def script() -> None:
        wait_until(
            lambda: rows(env, "SELECT value FROM meta WHERE name = 'last_pass_at'"), "a pass"
        )
        env.smtp.stop()  # down: the port refuses connections
        ids.append(deliver(env, 1))
        wait_until(lambda: waiting(env, "smtp") == 1, "the first reply to wait")
        ids.append(deliver(env, 2))
        wait_until(lambda: waiting(env, "smtp") == 2, "two replies waiting")
        line = f"SMTP server unavailable since {since(env, 'smtp')} (no answer), 2 messages waiting"
        wait_until(lambda: notifications.statuses[-1:] == [line], "the status line")
        marks["rooms"] = len(env.simulator.rooms)
        time.sleep(2)
        env.smtp.start()  # back, on the same port
        env.smtp.wait_for(2, timeout=WAIT)
        wait_until(lambda: env.uids("INBOX") == [], "every message filed")

    with caplog.at_level(logging.INFO, logger="kmeet_bridge"):
        run_daemon(env, script)

    assert marks["rooms"] == 2  # planned while SMTP was down; only the replies waited
    assert [m.message["In-Reply-To"] for m in env.smtp.messages] == ids
    assert len(env.simulator.rooms) == 2
    assert rows(env, "SELECT * FROM waiting") == []
    [down] = said(caplog, r"SMTP server unavailable since .*")
    assert re.fullmatch(
        r"SMTP server unavailable since \d\d:\d\d \(no answer\), 1 message waiting", down
    )
    assert len(said(caplog, r"SMTP server restored after \d+s")) == 1


def test_an_outage_outlives_a_restart_each_once_probes_instead_of_planning(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    simulator = env.simulator
    simulator.start_outage(503)
    first_id = deliver(env, 1)

    first = env.command("once")
    assert first.stdout == "pass finished: 1 deferred\n"
    down = re.findall(
        r"kMeet API unavailable since \d\d:\d\d \(503\), 1 message waiting", first.stderr
    )
    assert len(down) == 1
    deliver(env, 2)
    second = env.command("once")  # knows from the state that the API is down: a probe
    assert second.stdout == "pass finished: 1 deferred\n"
    assert "kMeet API unavailable since" not in second.stderr  # said once, by the first
    assert [(r.method, r.path) for r in simulator.requests] == [
        ("POST", "/1/kmeet/rooms"),
        ("GET", "/api/pim/calendar"),
    ]
    still = down[0].replace("1 message waiting", "2 messages waiting")
    assert still in env.command("status").stdout.splitlines()

    simulator.end_outage()
    third = env.command("once")
    assert third.stdout == "pass finished: 2 planned\n"
    assert re.search(r"kMeet API restored after \d+s", third.stderr)
    assert [m.message["In-Reply-To"] for m in env.smtp.messages] == [
        first_id,
        "<outage-2.example.com-0-request@example.com>",
    ]
    assert [r.method for r in simulator.requests] == ["POST", "GET", "GET", "POST", "POST"]
