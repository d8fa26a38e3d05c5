"""`kmeet-bridge run` as a real process against the real servers: IDLE hands new
mail over at once although poll_interval is 60 s, a Dovecot restart is
survived and reported once each way, SIGTERM in IDLE ends it cleanly, SIGHUP
reloads the configuration (or keeps the old one), and systemd hears READY,
WATCHDOG, STATUS and STOPPING."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import Dovecot
from tests.support.harness import ROOT, BridgeEnv, invitation
from tests.support.kmeet_simulator import KMeetSimulator
from tests.support.smtp_sink import SmtpSink
from tests.test_watcher import stop_dropping_sessions

IDLE_READY = "IDLE on INBOX: new mail is handled as it arrives"


class RunningDaemon:
    """`python -m kmeet_bridge --config X run`, its stderr in a file the test reads."""

    def __init__(self, env: BridgeEnv, environ: dict[str, str] | None = None) -> None:
        self.log_path = env.directory / "daemon.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
        base.pop("NOTIFY_SOCKET", None)
        base.pop("WATCHDOG_USEC", None)
        base.update(environ or {})
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kmeet_bridge", "--config", str(env.config_path), "run"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=base,
                cwd=ROOT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def lines(self, text: str) -> list[str]:
        return [line for line in self.log.splitlines() if text in line]

    def wait_for_log(self, text: str, timeout: float = 10.0, count: int = 1) -> None:
        if not wait_until(lambda: len(self.lines(text)) >= count, timeout):
            raise AssertionError(f"no {text!r} in the daemon's log within {timeout}s:\n{self.log}")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> float:
        """SIGTERM; returns how long the daemon took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(15)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_daemon() -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []

    def start(env: BridgeEnv, environ: dict[str, str] | None = None) -> RunningDaemon:
        daemon = RunningDaemon(env, environ)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def count(env: BridgeEnv, folder: str) -> int:
    """Messages in `folder`; 0 while the bridge has not created it."""
    with contextlib.suppress(AssertionError):
        return len(env.uids(folder))
    return 0


def request(number: int, organizer: str = "alice@example.com") -> bytes:
    return invitation(
        uid=f"idle-{number}-{secrets.token_hex(4)}@example.com",
        start=f"202703{10 + number:02d}T140000",
        end=f"202703{10 + number:02d}T150000",
        title=f"Planning {number}",
        organizer=organizer,
    )


def test_new_mail_is_answered_at_once_although_polling_is_every_minute(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60})
    daemon = run_daemon(env)
    daemon.wait_for_log(IDLE_READY)
    time.sleep(0.3)  # the pass asked for when IDLE began finds nothing
    latencies = []
    for number in (1, 2, 3):
        delivered = time.monotonic()
        env.deliver(request(number))
        assert wait_until(lambda n=number: len(env.smtp.messages) == n, 5), daemon.log
        latencies.append(time.monotonic() - delivered)
    print(
        "IDLE delivery-to-reply latencies (s):",
        ", ".join(f"{s:.3f}" for s in latencies),
        f"median {statistics.median(latencies):.3f}",
    )
    assert max(latencies) < 5.0
    assert wait_until(lambda: count(env, "kmeet/processed") == 3, 2)  # moved after the reply
    assert [m.rcpt_tos for m in env.smtp.messages] == [("alice@example.com",)] * 3
    assert daemon.stop() < 10
    assert daemon.process.returncode == 0
    assert "Traceback" not in daemon.log


def test_sigterm_while_in_idle_exits_cleanly_at_once(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60})
    daemon = run_daemon(env)
    daemon.wait_for_log(IDLE_READY)
    time.sleep(0.5)
    elapsed = daemon.stop()
    print(f"SIGTERM in IDLE: exited after {elapsed:.3f} s")
    assert daemon.process.returncode == 0, daemon.log
    assert elapsed < 2.0
    assert daemon.lines("received SIGTERM: finishing the message in hand")
    assert daemon.log.splitlines()[-1].endswith("INFO kmeet_bridge.service.daemon: stopped")


def test_idle_can_be_turned_off(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60, "idle": False})
    daemon = run_daemon(env)
    daemon.wait_for_log("started; a pass every 60 seconds")
    assert daemon.stop() < 10
    assert daemon.process.returncode == 0
    assert daemon.lines("[imap] idle = false")[0].endswith(
        "INFO kmeet_bridge.service.daemon: [imap] idle = false: new mail is noticed by polling "
        "every 60 seconds"
    )
    assert daemon.lines("IDLE on") == []


def test_a_dovecot_restart_is_survived_and_reported_once_each_way(
    tmp_path: Path,
    kmeet_simulator: KMeetSimulator,
    smtp_sink: SmtpSink,
    run_daemon: Callable[..., RunningDaemon],
) -> None:
    with Dovecot(tmp_path / "dovecot") as server:
        user, password = server.add_user()
        env = BridgeEnv(server, user, password, kmeet_simulator, smtp_sink, tmp_path)
        env.write_config(imap={"poll_interval": 60})
        daemon = run_daemon(env)
        daemon.wait_for_log(IDLE_READY)
        stop_dropping_sessions(server)
        daemon.wait_for_log("IMAP connection lost")
        time.sleep(1.0)  # down for a while: more attempts fail meanwhile
        server.start()
        daemon.wait_for_log("IMAP connection restored", timeout=15)
        delivered = time.monotonic()
        env.deliver(request(1))
        assert wait_until(lambda: len(env.smtp.messages) == 1, 5), daemon.log
        print(f"after the restart: reply {time.monotonic() - delivered:.3f} s after delivery")
        assert daemon.process.poll() is None
        assert daemon.stop() < 10
    assert daemon.process.returncode == 0
    lost = daemon.lines("IMAP connection lost")
    assert len(lost) == 1, daemon.log
    assert re.search(
        r"WARNING kmeet_bridge\.mail\.watcher: IMAP connection lost: IMAP server 127\.0\.0\.1:\d+ "
        r"closed the connection: .+; reconnecting with backoff$",
        lost[0],
    ), lost[0]
    assert len(daemon.lines("IMAP connection restored")) == 1
    assert len(daemon.lines(IDLE_READY)) == 1  # the reconnection says "restored" instead
    assert "Traceback" not in daemon.log


def test_sighup_reloads_a_valid_configuration_and_keeps_the_old_one_otherwise(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60}, senders={"allow": ["*@example.org"]})
    daemon = run_daemon(env)
    daemon.wait_for_log(IDLE_READY)

    # alice@example.com is not allowed yet: rejected without a reply.
    env.deliver(request(1))
    assert wait_until(lambda: count(env, "kmeet/failed") == 1, 5), daemon.log
    assert env.smtp.messages == []

    env.write_config(imap={"poll_interval": 60}, senders={"allow": ["*@example.com"]})
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("configuration reloaded from")
    daemon.wait_for_log(IDLE_READY, count=2)  # a new watcher, with the new settings
    env.deliver(request(2))
    assert wait_until(lambda: len(env.smtp.messages) == 1, 5), daemon.log
    assert env.smtp.messages[0].rcpt_tos == ("alice@example.com",)

    env.config_path.write_text("[imap\nhost = ")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("configuration not reloaded")
    env.deliver(request(3))  # still planned under the configuration in use
    assert wait_until(lambda: len(env.smtp.messages) == 2, 5), daemon.log
    assert daemon.stop() < 10
    assert daemon.process.returncode == 0
    refused = daemon.lines("configuration not reloaded")
    assert len(refused) == 1
    assert refused[0].endswith(
        f"ERROR kmeet_bridge.service.daemon: configuration not reloaded, the previous one stays in "
        f"use: configuration file {env.config_path} is not valid TOML: "
        "Expected ']' at the end of a table declaration (at line 1, column 6)"
    )
    assert len(daemon.lines("received SIGHUP")) == 2
    assert len(daemon.lines("configuration reloaded from")) == 1
    assert "Traceback" not in daemon.log


def test_sighup_with_a_new_state_path_says_a_restart_is_needed(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60})
    daemon = run_daemon(env)
    daemon.wait_for_log(IDLE_READY)
    env.write_config(imap={"poll_interval": 60}, state={"path": "elsewhere.db"})
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("configuration reloaded from")
    env.deliver(request(1))
    assert wait_until(lambda: len(env.smtp.messages) == 1, 5), daemon.log
    assert daemon.stop() < 10
    assert daemon.lines("[state] path changed")[0].endswith(
        f"WARNING kmeet_bridge: [state] path changed to {env.directory / 'elsewhere.db'}: "
        f"restart the service to use it; until then the state stays in {env.state_path}"
    )
    assert not (env.directory / "elsewhere.db").exists()


class NotifySocket:
    """The datagram socket systemd would listen on, in the abstract namespace."""

    def __init__(self) -> None:
        self.name = f"kmeet-bridge-test-{secrets.token_hex(6)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.received: list[tuple[float, str]] = []

    @property
    def address(self) -> str:
        return "@" + self.name

    def collect(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            self.received.append((time.monotonic(), data.decode()))

    def wait_for(self, state: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not any(state in text.split("\n") for _, text in self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {state} within {timeout}s; got {self.received}")
            self.collect(0.05)
        return next(when for when, text in self.received if state in text.split("\n"))

    def states(self) -> list[str]:
        return [line for _, text in self.received for line in text.split("\n")]

    def close(self) -> None:
        self.sock.close()


def test_systemd_hears_ready_watchdog_status_and_stopping(
    bridge_env: BridgeEnv, run_daemon: Callable[..., RunningDaemon]
) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 60})
    notify = NotifySocket()
    try:
        daemon = run_daemon(env, {"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "1000000"})
        ready = notify.wait_for("READY=1", 10)
        notify.collect(2.0)
        pings = [when for when, text in notify.received if text == "WATCHDOG=1"]
        assert len([when for when in pings if when - ready <= 2.0]) >= 2
        # A pass held up for 2.5 s by a slow API does not hold up the pings.
        env.simulator.set_delay(2.5)
        env.deliver(request(1))
        notify.received.clear()
        notify.collect(3.0)
        assert wait_until(lambda: len(env.smtp.messages) == 1, 5), daemon.log
        during = [when for when, text in notify.received if text == "WATCHDOG=1"]
        assert len(during) >= 5, notify.received
        assert max(b - a for a, b in itertools.pairwise(during)) < 0.9
        daemon.signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1", 10)
        daemon.process.wait(10)
    finally:
        notify.close()
    assert daemon.process.returncode == 0
    statuses = [line for line in notify.states() if line.startswith("STATUS=")]
    assert any(re.fullmatch(r"STATUS=last pass \d\d:\d\d: 1 planned", s) for s in statuses), (
        statuses
    )
