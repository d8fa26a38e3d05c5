"""The daemon's loop in this process, with a stand-in pass: wake-ups during a
pass are kept, never two passes at once, failures logged once per state change,
the watchdog interval read from systemd's variables.

The daemon runs in the main thread (it owns the signals); a helper thread plays
the watcher and stops it with request_stop()."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from kmeet_bridge import config
from kmeet_bridge.bridge import TokenRefused
from kmeet_bridge.config import Settings
from kmeet_bridge.mail.mailbox import MailboxUnavailable
from kmeet_bridge.pacing.backoff import Backoff
from kmeet_bridge.pacing.health import Health
from kmeet_bridge.service.cli import LineFormatter
from kmeet_bridge.service.daemon import Daemon, PassFunction, watchdog_interval

SETTINGS = {
    "imap": {"host": "imap.example.com", "username": "meet@example.com", "poll_interval": 60},
    "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
    "kmeet": {"calendar_id": 1},
}


def settings() -> Settings:
    return config.from_mapping(SETTINGS, {}, secrets=False)


class Passes:
    """A stand-in pass: records start and end times, runs `behaviour(n)` for pass n."""

    def __init__(self, behaviour: Callable[[int], None] = lambda n: None) -> None:
        self.behaviour = behaviour
        self.started: list[float] = []
        self.ended: list[float] = []
        self.running = 0
        self.overlapped = False
        self._condition = threading.Condition()

    @contextlib.contextmanager
    def open(self, _settings: Settings) -> Iterator[PassFunction]:
        yield self.run

    def run(self, _stop: threading.Event) -> str:
        with self._condition:
            self.running += 1
            self.overlapped |= self.running > 1
            self.started.append(time.monotonic())
            number = len(self.started)
            self._condition.notify_all()
        try:
            self.behaviour(number)
        finally:
            with self._condition:
                self.running -= 1
                self.ended.append(time.monotonic())
                self._condition.notify_all()
        return "nothing new"

    def wait_started(self, count: int, timeout: float = 3.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: len(self.started) >= count, timeout)

    def wait_ended(self, count: int, timeout: float = 3.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: len(self.ended) >= count, timeout)


def serve(daemon: Daemon, script: Callable[[], None]) -> None:
    """Run `daemon` here and `script` beside it; the daemon stops when the script ends."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            script()
        except BaseException as exc:  # reported by the test, after the daemon stopped
            failures.append(exc)
        finally:
            daemon.request_stop("test finished")

    helper = threading.Thread(target=run, daemon=True)
    helper.start()
    assert daemon.serve() == 0
    helper.join(5)
    if failures:
        raise failures[0]


def test_a_wake_up_during_a_pass_gives_exactly_one_more_pass_right_after() -> None:
    release = threading.Event()
    passes = Passes(lambda n: release.wait(5) if n == 1 else None)
    daemon = Daemon(settings(), passes.open, watch=False)

    def script() -> None:
        assert passes.wait_started(1)
        for _ in range(3):  # three announcements while the first pass is busy
            daemon.wake()
        time.sleep(0.2)
        assert len(passes.started) == 1  # never a second pass beside the first
        release.set()
        assert passes.wait_started(2), "the wake-ups were lost"
        time.sleep(0.5)

    serve(daemon, script)
    assert len(passes.started) == 2
    assert passes.started[1] - passes.ended[0] < 0.3
    assert not passes.overlapped


def test_a_wake_up_between_passes_starts_one_at_once() -> None:
    passes = Passes()
    daemon = Daemon(settings(), passes.open, watch=False)
    woken: list[float] = []

    def script() -> None:
        assert passes.wait_ended(1)  # the pass at start
        time.sleep(0.2)
        for count in (2, 3):
            woken.append(time.monotonic())
            daemon.wake()
            assert passes.wait_ended(count)
            time.sleep(0.2)

    serve(daemon, script)
    assert len(passes.started) == 3  # poll_interval is 60 s: only the wake-ups ran these
    assert passes.started[1] - woken[0] < 0.2
    assert passes.started[2] - woken[1] < 0.2


def test_many_wake_ups_from_many_threads_never_overlap_and_are_all_served() -> None:
    passes = Passes(lambda n: time.sleep(0.05))
    daemon = Daemon(settings(), passes.open, watch=False)
    last_wake: list[float] = []

    def script() -> None:
        assert passes.wait_ended(1)

        def hammer() -> None:
            for _ in range(20):
                daemon.wake()
                time.sleep(0.01)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        last_wake.append(time.monotonic())
        time.sleep(0.5)

    serve(daemon, script)
    assert not passes.overlapped
    # The last wake-up was followed by a pass that started after it.
    assert passes.started[-1] > last_wake[0] - 0.06
    # Coalesced: far fewer passes than the 80 wake-ups (each pass takes 50 ms).
    assert 2 < len(passes.started) < 20


# The daemon's own start and stop lines.
LIFE = ("started;", "test finished:", "stopped")


def daemon_records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "kmeet_bridge.service.daemon"
    ]


def test_a_failing_pass_is_logged_once_retried_with_backoff_then_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.service.daemon")
    where = "IMAP server imap.example.com:993"

    def behaviour(number: int) -> None:
        if number <= 4:
            raise MailboxUnavailable(f"cannot connect to {where}: connection refused")

    passes = Passes(behaviour)
    daemon = Daemon(settings(), passes.open, watch=False, backoff=Backoff(0.05, 0.05, jitter=0))

    def script() -> None:
        assert passes.wait_ended(5), "the failed passes were not retried"
        time.sleep(0.2)

    serve(daemon, script)
    assert len(passes.started) == 5  # four failures retried after 50 ms each, then success
    failure = f"pass failed: cannot connect to {where}: connection refused"
    logged = [record for record in daemon_records(caplog) if not record[1].startswith(LIFE)]
    assert logged == [
        ("ERROR", failure),
        ("DEBUG", "next pass in 0.05 s"),
        ("DEBUG", failure),
        ("DEBUG", "next pass in 0.05 s"),
        ("DEBUG", failure),
        ("DEBUG", "next pass in 0.05 s"),
        ("DEBUG", failure),
        ("DEBUG", "next pass in 0.05 s"),
        ("INFO", "passes work again"),
    ]


def test_a_refused_token_is_said_loudly_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.service.daemon")

    def behaviour(number: int) -> None:
        if number <= 3:
            raise TokenRefused("the kMeet API refused the token (401 not_authorized)")

    passes = Passes(behaviour)
    daemon = Daemon(settings(), passes.open, watch=False, backoff=Backoff(0.05, 0.05))

    def script() -> None:
        for count in (1, 2, 3, 4):
            assert passes.wait_ended(count)
            time.sleep(0.1)
            daemon.wake()  # no quick retries for a token: each pass here is asked for
        assert passes.wait_ended(5)

    serve(daemon, script)
    loud = (
        "the kMeet API refused the token, so planning is STOPPED: the kMeet API refused the "
        "token (401 not_authorized). Messages wait in the mailbox; fix [kmeet] token or "
        "token_file, then reload (SIGHUP) or restart"
    )
    assert [r for r in daemon_records(caplog) if not r[1].startswith(LIFE) and r[0] != "DEBUG"] == [
        ("ERROR", loud),
        ("INFO", "passes work again"),
    ]
    assert daemon_records(caplog).count(("DEBUG", loud)) == 2


def test_while_a_service_is_down_a_pass_runs_when_its_probe_is_due_and_the_status_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="kmeet_bridge.service.daemon")
    health = Health(first=0.2, maximum=0.2, random=lambda: 0.5)
    statuses: list[str] = []
    monkeypatch.setattr(
        "kmeet_bridge.service.daemon.notify_systemd",
        lambda state: statuses.append(state) if state.startswith("STATUS=") else None,
    )

    def behaviour(number: int) -> None:
        # What the bridge does: the IMAP server refuses passes 1 to 3, then is back.
        now = datetime.now(UTC)
        if number <= 3:
            health.imap.failed("no answer", now)
            health.take_events()
            raise MailboxUnavailable("cannot connect to IMAP server imap.example.com:993")
        health.imap.succeeded(now)
        health.take_events()

    passes = Passes(behaviour)
    daemon = Daemon(settings(), passes.open, watch=False, health=health)

    def script() -> None:
        assert passes.wait_ended(4), "no pass came when the probe was due"
        time.sleep(0.2)

    serve(daemon, script)
    # Each 0.2 s after the one before (poll_interval is 60 s), then none: all is up.
    assert len(passes.started) == 4
    gaps = [b - a for a, b in zip(passes.ended, passes.started[1:], strict=False)]
    assert all(0.15 < gap < 0.5 for gap in gaps), gaps
    since = health_clock_time(statuses)
    assert statuses == [
        f"STATUS=IMAP server unavailable since {since} (no answer)",
        f"STATUS=IMAP server unavailable since {since} (no answer)",
        f"STATUS=IMAP server unavailable since {since} (no answer)",
        "STATUS=IMAP server restored after 0s",
    ]
    # Said by the bridge (health.py), not a second time by the daemon.
    assert not [r for r in daemon_records(caplog) if "pass failed" in r[1]]


def health_clock_time(statuses: list[str]) -> str:
    found = re.search(r"since (\d\d:\d\d)", statuses[0])
    assert found is not None, statuses
    return found.group(1)


def test_reload_failure_keeps_the_old_pass(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kmeet_bridge.service.daemon")
    passes = Passes()

    def reload() -> Settings:
        raise config.ConfigError("[kmeet] default_duration must be at least 1, got 0")

    daemon = Daemon(settings(), passes.open, reload=reload, watch=False)

    def script() -> None:
        assert passes.wait_ended(1)
        os.kill(os.getpid(), 1)  # SIGHUP, to this process: the daemon's handler
        assert passes.wait_ended(2)

    serve(daemon, script)
    assert ("INFO", "received SIGHUP: reloading the configuration before the next pass") in (
        daemon_records(caplog)
    )
    assert (
        "ERROR",
        "configuration not reloaded, the previous one stays in use: [kmeet] default_duration "
        "must be at least 1, got 0",
    ) in daemon_records(caplog)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "1000000"}, 0.5),
        ({"WATCHDOG_USEC": "120000000"}, 60.0),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "self"}, 0.5),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process(
    environ: dict[str, str], expected: float | None
) -> None:
    if environ.get("WATCHDOG_PID") == "self":
        environ = {**environ, "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(environ) == expected


def test_log_lines_are_one_per_event_with_the_level_journald_reads() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord(
            "kmeet_bridge.service.daemon",
            logging.ERROR,
            __file__,
            1,
            "pass failed: %s",
            ("x",),
            None,
        )
        record.exc_info = sys.exc_info()
    fmt = "%(levelname)s %(name)s: %(message)s"
    line = LineFormatter(fmt, journal=True).format(record)
    assert "\n" not in line
    assert line.startswith("<3>ERROR kmeet_bridge.service.daemon: pass failed: x | Traceback ")
    assert line.endswith(" | ValueError: bad | value")
    info = logging.LogRecord("kmeet_bridge", logging.INFO, __file__, 1, "started", (), None)
    assert LineFormatter(fmt, journal=True).format(info) == "<6>INFO kmeet_bridge: started"
    assert LineFormatter(fmt, journal=False).format(info) == "INFO kmeet_bridge: started"
