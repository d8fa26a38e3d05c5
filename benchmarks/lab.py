"""The servers a benchmark talks to, and the bridge run as a real process.

`Lab` starts the test suite's own servers on loopback (Dovecot, the SMTP sink
and the kMeet API simulator) in one temporary directory, and hands out
accounts: a fresh Dovecot user with its own config file and state database
(`tests.support.harness.BridgeEnv`). The sink and the simulator are subclassed
here only to time what they receive; their behaviour is the tests' own.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.smtp import Envelope, Session

from kmeet_bridge.config import SCHEMA
from tests.support.dovecot import Dovecot
from tests.support.harness import BridgeEnv, invitation
from tests.support.kmeet_simulator import KMeetSimulator, RecordedRequest
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Europe/Zurich"
# Generous limits, so that a backlog is never refused by the bridge's own rate limits.
UNLIMITED = {
    "senders": {"max_rooms_per_hour": 1_000_000},
    "kmeet": {"max_rooms_per_day": 1_000_000},
}


class TimedSmtpSink(SmtpSink):
    """The SMTP sink, noting when (time.monotonic) each message was accepted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[float] = []

    def _record(self, envelope: Envelope, session: Session) -> None:
        self.arrivals.append(time.monotonic())
        super()._record(envelope, session)

    def wait_count(self, count: int, timeout: float) -> bool:
        """Wait until `count` messages arrived in all; False on timeout."""
        state = self._state
        with state.condition:
            return state.condition.wait_for(lambda: len(state.messages) >= count, timeout)


class CountingSimulator(KMeetSimulator):
    """The API simulator, counting requests in flight and noting when each began."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gauge = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[float] = []

    def reset_counts(self) -> None:
        with self._gauge:
            self.in_flight = self.max_in_flight = 0
            self.started = []

    def _record(self, request: RecordedRequest) -> None:
        # Called as a request is read, before the simulated latency.
        with self._gauge:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.started.append(time.monotonic())
        super()._record(request)

    def _route(self, request: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        # Called after the latency, just before the answer is written.
        try:
            return super()._route(request)
        finally:
            with self._gauge:
                self.in_flight -= 1

    def peak_rate(self, window: float = 1.0) -> int:
        """The most requests begun within any `window` seconds."""
        with self._gauge:
            times = sorted(self.started)
        best, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] > window:
                first += 1
            best = max(best, last - first + 1)
        return best


def known_keys(sections: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """`sections` without the keys the installed config schema does not know."""
    return {
        name: {key: value for key, value in keys.items() if key in SCHEMA.get(name, {})}
        for name, keys in sections.items()
    }


def merge(*layers: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    merged: dict[str, dict[str, object]] = {}
    for layer in layers:
        for section, keys in layer.items():
            merged.setdefault(section, {}).update(keys)
    return merged


@dataclass
class Lab:
    """Dovecot, the SMTP sink and the API simulator, up for a `with` block."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kmeet-bench-")))
    dovecot: Dovecot = field(init=False)
    smtp: TimedSmtpSink = field(init=False)
    simulator: CountingSimulator = field(init=False)
    _accounts: int = 0

    def __enter__(self) -> Lab:
        self.dovecot = Dovecot(self.directory / "dovecot")
        self.dovecot.start()
        self.smtp = TimedSmtpSink()
        self.smtp.start()
        self.simulator = CountingSimulator()
        self.simulator.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.simulator.stop()
        self.smtp.stop()
        self.dovecot.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def account(self, **sections: dict[str, object]) -> BridgeEnv:
        """A fresh mailbox, config and state; `sections` are written when the
        installed schema knows them (with generous rate limits)."""
        self._accounts += 1
        user, password = self.dovecot.add_user()
        directory = self.directory / f"account{self._accounts}"
        directory.mkdir()
        env = BridgeEnv(self.dovecot, user, password, self.simulator, self.smtp, directory)
        env.write_config(**known_keys(merge(UNLIMITED, sections)))
        return env

    def api_latency(self, seconds: float) -> None:
        self.simulator.set_delay(seconds)


# -- messages -------------------------------------------------------------------


def future_invitation(number: int, *, tag: str = "bench") -> bytes:
    """A small invitation for a meeting two weeks ahead (so it is always plannable)."""
    start = datetime.now(ZoneInfo(ZONE)).replace(hour=9, minute=0, second=0, microsecond=0)
    start += timedelta(days=14 + number // 8, hours=number % 8)
    end = start + timedelta(minutes=45)
    stamp = "%Y%m%dT%H%M%S"
    return invitation(
        uid=f"{tag}-{number}@example.com",
        start=start.strftime(stamp),
        end=end.strftime(stamp),
        title=f"Benchmark meeting {number}",
        zone=ZONE,
    )


def plain_message(number: int) -> bytes:
    """An ordinary email that is not a request: the bridge ignores it."""
    return (
        "From: Nora Example <nora@example.org>\r\n"
        "To: meet@example.com\r\n"
        f"Subject: Lunch on Friday, note {number}\r\n"
        f"Message-ID: <seed-{number}@example.org>\r\n"
        "Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Shall we meet at the usual place? Nora\r\n"
    ).encode()


def invitation_with_attachments(total_size: int | None, number: int = 0) -> bytes:
    """A multipart message: a short text, the invitation as text/calendar and,
    when `total_size` is given, binary attachments that bring it to that size."""
    invite = future_invitation(number, tag="memory")
    head, _, ics = invite.partition(b"\r\n\r\n")
    headers = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith((b"content-type", b"content-transfer", b"mime-version"))
    ]
    boundary = b"=_bench_boundary_0123456789"
    parts = [
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"The slides and recordings are attached.\r\n",
        b'Content-Type: text/calendar; charset="utf-8"; method=REQUEST\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + ics,
    ]

    def assemble(attachments: Sequence[bytes]) -> bytes:
        body = b"".join(b"--" + boundary + b"\r\n" + part for part in [*parts, *attachments])
        return (
            b"\r\n".join(headers)
            + b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\r\n\r\n'
            + body
            + b"--"
            + boundary
            + b"--\r\n"
        )

    if total_size is None:
        return assemble([])
    count = 3
    room = total_size - len(assemble([]))
    rng = random.Random(number)
    attachments = []
    for index in range(count):
        encoded_size = room // count - 200  # headers and line ends of the part
        raw = rng.randbytes(encoded_size * 57 // 78)  # 57 bytes -> 76 characters + CRLF
        text = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        attachments.append(
            b"Content-Type: application/pdf\r\n"
            + f'Content-Disposition: attachment; filename="slides-{index}.pdf"\r\n'.encode()
            + b"Content-Transfer-Encoding: base64\r\n\r\n"
            + text
        )
    return assemble(attachments)


def bulk_append(env: BridgeEnv, messages: Iterable[bytes], batch: int = 500) -> int:
    """APPEND many messages to INBOX quickly: MULTIAPPEND (RFC 3502) with
    non-synchronizing literals (LITERAL+), `batch` messages per command."""
    count = 0
    with socket.create_connection((env.dovecot.host, env.dovecot.port), timeout=60) as sock:
        reader = sock.makefile("rb")
        reader.readline()  # greeting
        _command(sock, reader, b"a0", f'LOGIN "{env.user}" "{env.password}"'.encode())
        capabilities = _command(sock, reader, b"a1", b"CAPABILITY").upper()
        if b"MULTIAPPEND" not in capabilities or b"LITERAL+" not in capabilities:
            raise RuntimeError("the IMAP server lacks MULTIAPPEND or LITERAL+")
        pending: list[bytes] = []

        def flush(tag: int) -> None:
            line = bytearray(b"INBOX")
            for raw in pending:
                line += b" {%d+}\r\n" % len(raw) + raw
            _command(sock, reader, b"b%d" % tag, b"APPEND " + bytes(line))
            pending.clear()

        for raw in messages:
            pending.append(raw)
            count += 1
            if len(pending) >= batch:
                flush(count)
        if pending:
            flush(count)
        _command(sock, reader, b"z", b"LOGOUT")
    return count


def _command(sock: socket.socket, reader: Any, tag: bytes, command: bytes) -> bytes:
    sock.sendall(tag + b" " + command + b"\r\n")
    seen = b""
    while True:
        line = reader.readline()
        if not line:
            raise RuntimeError(f"the IMAP server closed the connection after {command[:20]!r}")
        seen += line
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                raise RuntimeError(f"IMAP {command[:20]!r} failed: {line!r}")
            return seen


# -- the bridge as a process ------------------------------------------------------


def bridge_command(env: BridgeEnv, *args: str, log_level: str = "warning") -> list[str]:
    return [
        sys.executable,
        "-m",
        "kmeet_bridge",
        "--config",
        str(env.config_path),
        "--log-level",
        log_level,
        *args,
    ]


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}


# `python -m kmeet_bridge ARGS`, noting VmHWM at exit in the file named by PEAK_FILE.
# (wait4's ru_maxrss cannot serve: on Linux it keeps the high-water mark of the
# parent's memory the child had before exec, i.e. this benchmark's own.)
PEAK_FILE = "BENCH_PEAK_FILE"
WITH_PEAK = """
import atexit, os, runpy

def note_peak():
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(peak.split()[1])

atexit.register(note_peak)
runpy.run_module("kmeet_bridge", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class OnceResult:
    seconds: float  # wall time of the whole process
    peak_rss_kib: int  # VmHWM at exit
    returncode: int
    stdout: str
    stderr: str


def run_once(env: BridgeEnv, timeout: float = 600.0) -> OnceResult:
    """`python -m kmeet_bridge --config X once` as a real process."""
    out, err = env.directory / "once.out", env.directory / "once.err"
    peak = env.directory / "once.peak"
    peak.unlink(missing_ok=True)
    command = bridge_command(env, "once")
    command[1:3] = ["-c", WITH_PEAK]  # instead of "-m kmeet_bridge": the same, plus VmHWM
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.run(
            command,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env={**clean_environment(), PEAK_FILE: str(peak)},
            cwd=ROOT,
            timeout=timeout,
        )
        seconds = time.monotonic() - started
    return OnceResult(
        seconds,
        int(peak.read_text()) if peak.exists() else 0,
        process.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
    )


class Daemon:
    """`python -m kmeet_bridge --config X run` as a real process."""

    def __init__(self, env: BridgeEnv) -> None:
        self.env = env
        self.stderr_path = env.directory / "run.err"
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            bridge_command(env, "run", log_level="info"),
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=clean_environment(),
            cwd=ROOT,
        )

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_first_pass(self, timeout: float = 30.0) -> None:
        """Until the state database records a finished pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kmeet-bridge run exited early:\n{self.log()[-2000:]}")
            if last_pass_at(self.env.state_path) is not None:
                return
            time.sleep(0.05)
        raise TimeoutError(f"no pass within {timeout:.0f}s:\n{self.log()[-2000:]}")

    def wait_log(self, pattern: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.05)
        return False

    def memory_kib(self) -> dict[str, int]:
        """VmRSS, VmHWM... of the daemon, from /proc/<pid>/status (kB)."""
        return proc_memory(self.process.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def proc_memory(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("Vm") and rest.strip().endswith("kB"):
            values[name] = int(rest.split()[0])
    return values


def last_pass_at(state_path: Path) -> str | None:
    if not state_path.exists():
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=1)
        ) as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'last_pass_at'").fetchone()
    except sqlite3.Error:
        return None  # not created yet, or busy
    return row[0] if row else None
