"""The long-running loop: passes on an APScheduler job, woken at once by the IDLE
watcher, never two at a time; SIGHUP reloads the configuration, SIGTERM stops
cleanly; readiness, status and watchdog pings reported to systemd.

Threads:

- main: waits for signals and runs their handlers. It sleeps in select() on
  the signal wakeup fd, so a handler runs at once whichever thread the kernel
  delivered the signal to (a main thread blocked on a lock would only notice
  when the lock's timeout ran out);
- the scheduler's thread, and its pool: the "pass" job (one instance at most)
  and, under systemd's watchdog, the "watchdog" job, which a long pass cannot
  hold up; it pings only while the running pass makes progress (`Heartbeat`,
  STALL_LIMIT), so that a pass stuck on one message gets the service
  restarted, and the restart rejects that message instead of reading it
  again (bridge.py);
- the watcher (watcher.py): IDLE on its own connection; calls `wake()`.

While a service is down (health.py), a pass also runs when its next probe is
due, sooner than poll_interval: the pass makes the probe, and serves the
messages that waited if the service is back.

A wake-up asks for a pass now. If a pass is already running, the request is
kept and one more pass runs right after it: mail that arrived during a pass
may have come after the pass looked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from kmeet_bridge.bridge import TokenRefused
from kmeet_bridge.config import Settings
from kmeet_bridge.mail.mailbox import MailboxError
from kmeet_bridge.mail.watcher import Watcher
from kmeet_bridge.pacing import health as services
from kmeet_bridge.pacing.backoff import Backoff, FailureLog
from kmeet_bridge.pacing.health import Health

log = logging.getLogger(__name__)

PASS_JOB = "pass"
WATCHDOG_JOB = "watchdog"
# The pass, the watchdog and room to spare: a pass must never delay a ping.
WORKERS = 4
# How long a stopping daemon waits for the watcher to say goodbye to the server.
WATCHER_JOIN_TIMEOUT = 3.0

# How long a pass may go without progress (a message begun or finished, an API
# call made) before the watchdog pings stop and systemd restarts the service.
# Longer than any step that waits on the network (30 s timeouts, retries, a
# 429 waited out); reading a message is bounded far below it ([limits]
# cpu_seconds).
STALL_LIMIT = 300.0

# One pass: given the stop event, returns a summary for systemd's status line.
PassFunction = Callable[[threading.Event], str]
# Builds the pass for some settings; closing it releases what it opened.
PassFactory = Callable[[Settings], AbstractContextManager[PassFunction]]


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


def watchdog_interval(environ: dict[str, str] | os._Environ[str] = os.environ) -> float | None:
    """Seconds between watchdog pings (half of $WATCHDOG_USEC), or None when
    systemd does not watch this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process (we were exec'd by it)
        return None
    return int(usec) / 2 / 1_000_000


class Heartbeat:
    """When the running pass last made progress; thread-safe enough for its use
    (one writer at a time, a float read whole)."""

    def __init__(self) -> None:
        self._since: float | None = None  # None: no pass is running

    def begin(self) -> None:
        self._since = time.monotonic()

    def beat(self) -> None:
        if self._since is not None:
            self._since = time.monotonic()

    def end(self) -> None:
        self._since = None

    def stalled_for(self) -> float:
        """Seconds the running pass has gone without progress; 0 between passes."""
        since = self._since
        return 0.0 if since is None else time.monotonic() - since


class Daemon:
    """Runs the pass made by `open_pass(settings)` every poll_interval, and at
    once when the watcher hears of new mail, until SIGTERM or SIGINT.

    `reload()` returns fresh settings on SIGHUP, or raises ConfigError; without
    it SIGHUP is ignored. `watch=False` leaves IDLE out (polling only).

    `health`, the one the passes' bridge keeps (health.py): while a service is
    down, a pass runs when its next probe is due, and the status line says so."""

    def __init__(
        self,
        settings: Settings,
        open_pass: PassFactory,
        *,
        reload: Callable[[], Settings] | None = None,
        watch: bool = True,
        backoff: Backoff | None = None,
        heartbeat: Heartbeat | None = None,
        stall_limit: float = STALL_LIMIT,
        health: Health | None = None,
    ) -> None:
        self.settings = settings
        self.open_pass = open_pass
        self.reload = reload
        self.watch = watch
        self.stop = threading.Event()
        self._pass_lock = threading.Lock()  # held by a pass; the shutdown waits on it
        self._state_lock = threading.Lock()  # guards _busy and _again
        self._busy = False  # a pass is running, or asked for and about to run
        self._again = False  # a wake-up came since the running pass started
        self._reload_requested = threading.Event()
        self._wake_from_main = threading.Event()  # set by the SIGHUP handler
        # Capped like the probes: a pass is how an IMAP server that is back is noticed.
        self._backoff = backoff or Backoff(maximum=services.PROBE_MAX)
        self.health = health
        # The pass beats it as it goes (bridge.py); the watchdog is pinged only
        # while it does, so a pass stuck on one message gets the service restarted.
        self.heartbeat = heartbeat or Heartbeat()
        self.stall_limit = stall_limit
        self._stalled = False
        self._failures = FailureLog(log)
        self._resources = ExitStack()
        self._run_pass: PassFunction | None = None
        self._watcher: Watcher | None = None
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(WORKERS)}
        )
        # request_stop() writes here to end the main thread's wait.
        self._wakeup, self._waker = socket.socketpair()

    @property
    def idle_listening(self) -> bool:
        """The IDLE watcher is connected and listening (the metrics report it)."""
        watcher = self._watcher
        return watcher is not None and watcher.listening.is_set()

    # -- wake-ups --------------------------------------------------------------------

    def wake(self) -> None:
        """Ask for a pass now; thread-safe. During a pass: one more right after it."""
        with self._state_lock:
            self._again = True
            if self._busy:
                return
            self._busy = True
        self._run_now()

    def _run_now(self, delay: float = 0.0) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.modify_job(
                PASS_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=delay)
            )

    def _job_finished(self, event: JobExecutionEvent) -> None:
        # Called after the scheduler counts the job as finished, so a pass asked
        # for here is not refused as a second instance.
        if event.job_id != PASS_JOB:
            return
        with self._state_lock:
            again = self._again and not self.stop.is_set()
            self._busy = again
        probe = self.health.next_probe_in(datetime.now(UTC)) if self.health else None
        if again:
            # A pass that ends before the scheduler's thread has finished submitting
            # it gets this call in that thread, which then overwrites any new run
            # time with the regular one: ask from a thread of its own, which waits
            # for the scheduler's lock.
            threading.Thread(target=self._run_now, name="pass-again", daemon=True).start()
        elif probe is not None and probe < self.settings.imap.poll_interval:
            # A service is down: the next pass probes it (one request), when due.
            threading.Thread(
                target=self._run_by, args=(probe,), name="pass-probe", daemon=True
            ).start()

    def _run_by(self, delay: float) -> None:
        """Run a pass within `delay` seconds: sooner than planned, never later."""
        with contextlib.suppress(JobLookupError):
            job = self._scheduler.get_job(PASS_JOB)
            when = datetime.now(UTC) + timedelta(seconds=delay)
            if job is not None and (job.next_run_time is None or job.next_run_time > when):
                self._run_now(delay)

    # -- the pass job ----------------------------------------------------------------

    def _job(self) -> None:
        with self._state_lock:
            self._busy = True
            self._again = False  # this pass serves every wake-up until now
        with self._pass_lock:
            if self.stop.is_set():
                return
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self._reload()
            assert self._run_pass is not None
            self.heartbeat.begin()
            try:
                summary = self._run_pass(self.stop)
            except Exception as exc:
                self._pass_failed(exc)
                return
            finally:
                self.heartbeat.end()
            self._backoff.reset()
            if self._failures.recovered("passes work again"):
                notify_systemd("STATUS=passes work again")
            outages = self.health.status_line(datetime.now(UTC)) if self.health else None
            notify_systemd(f"STATUS={outages or f'last pass {_clock_time()}: {summary}'}")

    def _pass_failed(self, exc: Exception) -> None:
        if isinstance(exc, TokenRefused):
            self._failures.failed(
                "token",
                f"the kMeet API refused the token, so planning is STOPPED: {exc}. Messages "
                "wait in the mailbox; fix [kmeet] token or token_file, then reload "
                "(SIGHUP) or restart",
            )
            notify_systemd(f"STATUS=planning stopped since {_clock_time()}: API token refused")
            return
        imap = self.health.status_line(datetime.now(UTC)) if self.health else None
        if imap and isinstance(exc, MailboxError):
            # The bridge has said it once (health.py); the next pass is its probe.
            notify_systemd(f"STATUS={imap}")
            return
        self._failures.failed(type(exc).__name__, f"pass failed: {exc}")
        notify_systemd(f"STATUS=pass failed at {_clock_time()}: {exc}")
        # Retry sooner than the next regular pass while the failure is young.
        delay = self._backoff.next_delay()
        if delay < self.settings.imap.poll_interval:
            log.debug("next pass in %.2f s", delay)
            self._run_now(delay)

    # -- configuration ---------------------------------------------------------------

    def _open(self, settings: Settings) -> None:
        """Make the pass for `settings` and start its watcher; the old ones go."""
        resources = ExitStack()
        run_pass = resources.enter_context(self.open_pass(settings))
        self._resources.close()
        self._resources = resources
        self._run_pass = run_pass
        self.settings = settings
        self._start_watcher()

    def _start_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.join(WATCHER_JOIN_TIMEOUT)
            self._watcher = None
        if not self.watch or self.stop.is_set():
            return
        if not self.settings.imap.idle:
            log.info(
                "[imap] idle = false: new mail is noticed by polling every %d seconds",
                self.settings.imap.poll_interval,
            )
            return
        self._watcher = Watcher(self.settings.imap, self.wake)
        self._watcher.start()

    def _reload(self) -> None:
        assert self.reload is not None
        notify_systemd(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            settings = self.reload()
            self._open(settings)
        except Exception as exc:  # a ConfigError, or e.g. an API client that cannot be made
            log.error("configuration not reloaded, the previous one stays in use: %s", exc)
        else:
            with contextlib.suppress(JobLookupError):
                self._scheduler.reschedule_job(
                    PASS_JOB, trigger="interval", seconds=settings.imap.poll_interval
                )
            log.info(
                "configuration reloaded from %s; a pass every %d seconds",
                settings.source,
                settings.imap.poll_interval,
            )
        notify_systemd("READY=1")

    # -- signals ---------------------------------------------------------------------

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request_stop(f"received {signal.Signals(signum).name}")

    def request_stop(self, reason: str) -> None:
        """Stop after the message in hand; returns at once (safe in a signal handler)."""
        log.info("%s: finishing the message in hand", reason)
        self.stop.set()
        notify_systemd("STOPPING=1")
        if self._watcher is not None:
            self._watcher.stop()
        with contextlib.suppress(OSError):
            self._waker.send(b"x")

    def _on_reload_signal(self, _signum: int, _frame: FrameType | None) -> None:
        if self.reload is None or self.stop.is_set():
            return
        log.info("received SIGHUP: reloading the configuration before the next pass")
        self._reload_requested.set()
        # wake() takes locks: the main loop calls it, outside this handler.
        self._wake_from_main.set()
        with contextlib.suppress(OSError):
            self._waker.send(b"x")

    def _ping_watchdog(self) -> None:
        stalled = self.heartbeat.stalled_for()
        if stalled > self.stall_limit:
            if not self._stalled:
                log.error(
                    "the pass has made no progress for %d s: watchdog pings stop, so that "
                    "systemd restarts the service; the message in hand will be rejected",
                    stalled,
                )
            self._stalled = True
            return
        if self._stalled:
            log.warning("the pass makes progress again: watchdog pings resume")
            self._stalled = False
        notify_systemd("WATCHDOG=1")

    # -- the loop --------------------------------------------------------------------

    def serve(self) -> int:
        """Run until SIGTERM, SIGINT or request_stop(); returns the exit status.
        Call from the main thread: it takes over the signals until it returns."""
        handlers = {
            signal.SIGTERM: self._on_stop_signal,
            signal.SIGINT: self._on_stop_signal,
            signal.SIGHUP: self._on_reload_signal,
        }
        previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
        # A signal caught by any thread writes a byte here, so select() below returns.
        self._wakeup.setblocking(False)
        self._waker.setblocking(False)
        previous_fd = signal.set_wakeup_fd(self._waker.fileno(), warn_on_full_buffer=False)
        try:
            return self._serve()
        finally:
            signal.set_wakeup_fd(previous_fd)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._wakeup.close()
            self._waker.close()

    def _serve(self) -> int:
        interval = self.settings.imap.poll_interval
        self._scheduler.add_listener(self._job_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self._scheduler.add_job(
            self._job,
            "interval",
            seconds=interval,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            id=PASS_JOB,
        )
        ping = watchdog_interval()
        if ping is not None:
            # From the scheduler, so that a scheduler that hangs stops the pings.
            self._scheduler.add_job(
                self._ping_watchdog,
                "interval",
                seconds=ping,
                next_run_time=datetime.now(UTC),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                id=WATCHDOG_JOB,
            )
        try:
            self._open(self.settings)
            self._scheduler.start()
            log.info("started; a pass every %d seconds", interval)
            notify_systemd("READY=1\nSTATUS=started")
            while not self.stop.is_set():
                # Signal handlers run in this thread, as soon as select() returns.
                select.select([self._wakeup], [], [], 60.0)
                with contextlib.suppress(BlockingIOError):
                    self._wakeup.recv(4096)
                if self._wake_from_main.is_set():
                    self._wake_from_main.clear()
                    self.wake()
            self._scheduler.shutdown(wait=False)
            with self._pass_lock:  # wait for a pass still in progress
                pass
        finally:
            self.stop.set()
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            if self._watcher is not None:
                self._watcher.stop()
                if not self._watcher.join(WATCHER_JOIN_TIMEOUT):
                    log.warning("the IMAP watcher did not stop in time; leaving it")
            self._resources.close()
        log.info("stopped")
        return 0


def _clock_time() -> str:
    """The local wall-clock time, for status lines a person reads."""
    return datetime.now().astimezone().strftime("%H:%M")
