"""The five measurements of issue 7, each a function (lab, options) -> figures.

Every figure holds one value per run; the table shows their median and range.
Targets are the issue's; a figure without one is context for the others.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import io
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from kmeet_bridge import config
from kmeet_bridge.config import SCHEMA
from kmeet_bridge.invitations import invites
from kmeet_bridge.models import NotARequest
from kmeet_bridge.service import cli
from tests.support import hostile
from tests.support.harness import BridgeEnv

from .imap_proxy import CountingProxy
from .lab import (
    UNLIMITED,
    Daemon,
    Lab,
    OnceResult,
    bulk_append,
    future_invitation,
    invitation_with_attachments,
    known_keys,
    merge,
    plain_message,
    run_once,
)
from .outage import outage
from .results import Figure, Target, percentile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
PARSE_NOW = datetime(2026, 12, 1, tzinfo=UTC)  # the corpus' meetings are in 2027
MIB = 1024.0


@dataclass(frozen=True)
class Options:
    repeat: int = 5
    quick: bool = False
    polling_messages: int | None = None  # the large folder's size, overriding the default
    backlog_repeat: int = 3  # runs of the throughput measurement (about a minute each)
    outage_repeat: int = 1  # runs of the outage measurement (two outages each)
    outage_seconds: float | None = None  # how long each outage lasts, overriding the default

    @property
    def latency_messages(self) -> int:
        return 5 if self.quick else 20

    @property
    def polling_sizes(self) -> tuple[int, int]:
        large = self.polling_messages or (300 if self.quick else 20_000)
        return (10, large)

    @property
    def backlog(self) -> int:
        return 20 if self.quick else 200

    @property
    def outage_length(self) -> float:
        return self.outage_seconds or (20.0 if self.quick else 90.0)

    @property
    def parse_seconds(self) -> float:
        return 0.3 if self.quick else 1.0


def failure(what: str, result: OnceResult) -> RuntimeError:
    """An error naming what went wrong and the process' last words."""
    said = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return RuntimeError(
        f"{what} (exit status {result.returncode}): {said[-1].strip() if said else 'no output'}"
    )


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


# -- latency -------------------------------------------------------------------------

LATENCY_API = 0.1  # seconds the API takes to answer
POLL_INTERVAL = 60
POLL_BOUND = 5.0  # a reply slower than this came from a poll, not from IDLE
# Quiet time after each reply, before the next message arrives. Dovecot tells an
# IDLE client of a change 500 ms after it (NOTIFY_DELAY_MSECS, to batch changes),
# so without it the pass woken by the bridge's own MOVE of the previous message
# would often catch the next one early: every message arrives in a quiet mailbox.
QUIET = 0.75


def latency(lab: Lab, options: Options) -> list[Figure]:
    """`run` as a process; invitations delivered one at a time (each waits for its
    reply): from APPEND done to the reply accepted by the SMTP server."""
    median = Figure("latency", "arrival → reply, median", "s", target=Target("<", 1.0))
    p95 = Figure("latency", "arrival → reply, p95", "s", target=Target("<", 2.0))
    worst = Figure("latency", "arrival → reply, slowest", "s")
    to_api = Figure("latency", "arrival → API request, median", "s")
    lab.api_latency(LATENCY_API)
    runs, count = options.repeat, options.latency_messages
    notes: set[str] = set()
    run = 0
    while run < runs:
        env = lab.account(imap={"poll_interval": POLL_INTERVAL})
        samples: list[float] = []
        api_delays: list[float] = []
        with Daemon(env) as daemon, _imap_session(env) as client:
            daemon.wait_first_pass()
            if not daemon.wait_log(r"IDLE on ", 5.0):
                notes.add("no IDLE in the daemon's log")
            for number in range(count):
                time.sleep(QUIET)
                before = len(lab.smtp.messages)
                lab.simulator.reset_counts()
                raw = future_invitation(number, tag=f"latency{run}")
                typ, data = client.append("INBOX", None, None, raw)
                appended = time.monotonic()
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
                if not lab.smtp.wait_count(before + 1, POLL_INTERVAL + 20):
                    notes.add("a reply never came")
                    break
                samples.append(lab.smtp.arrivals[before] - appended)
                if lab.simulator.started:
                    api_delays.append(lab.simulator.started[0] - appended)
                if samples[0] > POLL_BOUND and len(samples) >= 3:
                    # Poll-bound: each sample costs up to poll_interval; three say enough.
                    notes.add(f"poll-bound (poll_interval {POLL_INTERVAL} s)")
                    runs = 1
                    break
        progress(f"latency run {run + 1}: {_summary(samples)}")
        if samples:
            median.values.append(percentile(samples, 0.5))
            p95.values.append(percentile(samples, 0.95))
            worst.values.append(max(samples))
        if api_delays:
            to_api.values.append(percentile(api_delays, 0.5))
        run += 1
    lab.api_latency(0)
    median.note = f"{count} messages per run, API {LATENCY_API * 1000:.0f} ms" + "".join(
        f"; {note}" for note in sorted(notes)
    )
    return [median, p95, worst, to_api]


@contextlib.contextmanager
def _imap_session(env: BridgeEnv) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4(env.dovecot.host, env.dovecot.port, timeout=30)
    try:
        client.login(env.user, env.password)
        yield client
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (
        f"{len(samples)} samples, median {percentile(samples, 0.5):.3f} s, max {max(samples):.3f} s"
    )


# -- polling ---------------------------------------------------------------------------


def polling(lab: Lab, options: Options) -> list[Figure]:
    """A pass with nothing new on a folder of `small` and of `large` old messages
    (all seen by an earlier pass), through a counting proxy."""
    small, large = options.polling_sizes
    figures: dict[str, Figure] = {}

    def figure(name: str, unit: str, target: Target | None = None) -> Figure:
        if name not in figures:
            figures[name] = Figure("polling", name, unit, target=target)
        return figures[name]

    setups: list[tuple[int, BridgeEnv, CountingProxy]] = []
    with contextlib.ExitStack() as stack:
        for size in (small, large):
            env = lab.account()
            proxy = stack.enter_context(CountingProxy(env.dovecot.host, env.dovecot.port))
            env.write_config(**known_keys(merge(UNLIMITED, {"imap": {"port": proxy.port}})))
            bulk_append(env, (plain_message(n) for n in range(size)))
            seeded = run_once(env, timeout=900)
            if seeded.returncode != 0 or "ignored" not in seeded.stdout:
                raise failure("the first pass failed", seeded)
            figure(f"first pass, {size:,} unseen messages", "s").values.append(seeded.seconds)
            progress(f"polling: {size:,} messages seen in {seeded.seconds:.1f} s")
            setups.append((size, env, proxy))
        _in_process_once(setups[0][1])  # warm up the imports
        per_size: dict[int, dict[str, list[float]]] = {}
        for _ in range(options.repeat):
            for size, env, proxy in setups:
                proxy.reset()
                result = run_once(env)
                if result.returncode != 0 or "nothing new" not in result.stdout:
                    raise failure("an empty pass failed", result)
                counts = proxy.counts()
                proxy.reset()
                in_process = _in_process_once(env)
                values = {
                    "once process": result.seconds,
                    "pass in-process": in_process,
                    "IMAP commands": float(counts.commands),
                    "tagged responses": float(counts.tagged),
                    "bytes from server": float(counts.bytes_down),
                    "bytes to server": float(counts.bytes_up),
                }
                for name, value in values.items():
                    per_size.setdefault(size, {}).setdefault(name, []).append(value)
    units = {"once process": "s", "pass in-process": "ms"}
    limits = {
        "once process": 1.5,
        "pass in-process": 1.5,
        "IMAP commands": 1.0,
        "tagged responses": 1.0,
        "bytes from server": 1.1,
        "bytes to server": 1.1,
    }
    # Each size's own figures for these; only the ratio for the others.
    shown = ("once process", "pass in-process", "tagged responses", "bytes from server")
    for name, limit in limits.items():
        unit = units.get(name, "")
        scale = 1000.0 if unit == "ms" else 1.0
        if name in shown:
            for size in (small, large):
                figure(f"{name}, {size:,} messages", unit).values = [
                    value * scale for value in per_size[size][name]
                ]
        ratios = [
            big / little if little else float("nan")
            for little, big in zip(per_size[small][name], per_size[large][name], strict=True)
        ]
        figure(f"{name}: {large:,} / {small:,}", "x", Target("<=", limit)).values = ratios
    return list(figures.values())


def _in_process_once(env: BridgeEnv) -> float:
    """`once` through cli.main in this process: the pass without Python's start-up."""
    argv = ["--config", str(env.config_path), "--log-level", "warning", "once"]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        started = time.perf_counter()
        status = cli.main(argv)
        seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"once failed in-process: {sink.getvalue()[-800:]}")
    return seconds


# -- memory ----------------------------------------------------------------------------

LARGE_MESSAGE = 25 * 1024 * 1024


def memory(lab: Lab, options: Options) -> list[Figure]:
    """VmRSS of the idle daemon; peak RSS of `once` on an invitation with and
    without 25 MB of attachments."""
    idle = Figure("memory", "idle daemon VmRSS", "MiB", target=Target("<", 60.0))
    idle_peak = Figure("memory", "idle daemon VmHWM", "MiB")
    small = Figure("memory", "once, invitation alone: VmHWM", "MiB")
    large = Figure("memory", "once, invitation + attachments: VmHWM", "MiB")
    added = Figure(
        "memory",
        "added by the attachments",
        "MiB",
        target=Target("<", 10.0),
        note=f"message of {LARGE_MESSAGE / MIB / MIB:.0f} MiB",
    )
    for run in range(options.repeat):
        env = lab.account(imap={"poll_interval": POLL_INTERVAL})
        with Daemon(env) as daemon:
            daemon.wait_first_pass()
            daemon.wait_log(r"IDLE on ", 5.0)
            time.sleep(1.0)  # settle: the watcher is in IDLE, the pool threads are up
            status = daemon.memory_kib()
        idle.values.append(status["VmRSS"] / MIB)
        idle_peak.values.append(status["VmHWM"] / MIB)
        peaks = []
        for size in (None, LARGE_MESSAGE):
            env = lab.account()
            env.deliver(invitation_with_attachments(size, number=run))
            result = run_once(env)
            if result.returncode != 0 or "1 planned" not in result.stdout:
                raise RuntimeError(
                    f"the invitation was not planned: {result.stdout}{result.stderr}"
                )
            peaks.append(result.peak_rss_kib / MIB)
        small.values.append(peaks[0])
        large.values.append(peaks[1])
        added.values.append(peaks[1] - peaks[0])
        progress(
            f"memory run {run + 1}: idle {idle.values[-1]:.1f} MiB, "
            f"{added.values[-1]:+.1f} MiB for the attachments"
        )
    return [idle, idle_peak, small, large, added]


# -- throughput ------------------------------------------------------------------------

BACKLOG_API = 0.2


def throughput(lab: Lab, options: Options) -> list[Figure]:
    """A backlog of invitations handled by one `once`, the API answering in
    200 ms: one at a time, and with [kmeet] max_parallel when the schema has it."""
    count = options.backlog
    kmeet = SCHEMA["kmeet"]
    parallel = "max_parallel" in kmeet
    workers = kmeet["max_parallel"].default if parallel else None
    rate_key = next((key for key in kmeet if "per_second" in key or "rate" in key), None)
    rate_limit = kmeet[rate_key].default if rate_key else None
    modes: list[tuple[str, dict[str, object]]] = [
        ("one at a time", {"max_parallel": 1} if parallel else {})
    ]
    if parallel:
        modes.append((f"max_parallel {workers}", {"max_parallel": workers}))
    how = "max_parallel = 1" if parallel else "max_parallel not in the config schema: sequential"
    sequential = Figure("throughput", f"backlog of {count}, one at a time", "s", note=how)
    sequential_rate = Figure("throughput", "invitations per second, one at a time", "/s")
    concurrent = Figure(
        "throughput",
        f"backlog of {count}, max_parallel {workers}"
        if parallel
        else f"backlog of {count}, in parallel",
        "s",
        note="" if parallel else "not built yet",
    )
    speedup = Figure("throughput", "speed-up over one at a time", "x", target=Target(">=", 4.0))
    in_flight = Figure(
        "throughput",
        "API requests in flight, most",
        "",
        target=Target("<=", float(workers)) if workers else None,
    )
    peak_rate = Figure(
        "throughput",
        "API requests begun in any 1 s, most",
        "",
        target=Target("<=", float(rate_limit)) if rate_limit else None,
        note=f"[kmeet] {rate_key}" if rate_key else "no request-rate setting in the schema",
    )
    lab.api_latency(BACKLOG_API)
    for run in range(options.backlog_repeat):
        times: dict[str, float] = {}
        for label, keys in modes:
            env = lab.account(kmeet=keys)
            tag = f"backlog{run}-{len(times)}"
            bulk_append(env, (future_invitation(n, tag=tag) for n in range(count)))
            lab.simulator.reset_counts()
            replies = len(lab.smtp.messages)
            result = run_once(env, timeout=900)
            if result.returncode != 0 or f"{count} planned" not in result.stdout:
                raise failure(f"the backlog ({label}) was not planned", result)
            if len(lab.smtp.messages) - replies != count:
                raise RuntimeError("the backlog did not get one reply per invitation")
            times[label] = result.seconds
            if label != "one at a time" or not parallel:
                in_flight.values.append(lab.simulator.max_in_flight)
                peak_rate.values.append(lab.simulator.peak_rate())
            progress(f"throughput run {run + 1}, {label}: {result.seconds:.1f} s")
        one = times["one at a time"]
        sequential.values.append(one)
        sequential_rate.values.append(count / one)
        if parallel:
            both = times[modes[1][0]]
            concurrent.values.append(both)
            speedup.values.append(one / both)
    lab.api_latency(0)
    if not parallel:
        speedup.note = "needs [kmeet] max_parallel"
    return [sequential, sequential_rate, concurrent, speedup, in_flight, peak_rate]


# -- parsing ---------------------------------------------------------------------------


def corpus_invitations() -> list[tuple[str, bytes]]:
    """(name, bytes) of every corpus message that extract() reads as a request
    (plans, cancels or explains a problem); plain mail and iTIP replies left out."""
    found = []
    for path in sorted(CORPUS.glob("*.eml")):
        raw = path.read_bytes()
        try:
            _extract(_message(raw))
        except NotARequest:
            continue
        found.append((path.name, raw))
    return found


def _message(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _extract(message: EmailMessage) -> object:
    return invites.extract(
        message, default_timezone="Europe/Zurich", default_duration=60, now=PARSE_NOW
    )


def parsing(lab: Lab | None, options: Options) -> list[Figure]:
    """invites.extract over the corpus invitations, in this process, on one core."""
    corpus = corpus_invitations()
    messages = [_message(raw) for _, raw in corpus]
    raws = [raw for _, raw in corpus]
    extract_rate = Figure(
        "parsing",
        "invitations per second, extract()",
        "/s",
        target=Target(">=", 500.0),
        note=f"{len(corpus)} corpus invitations",
    )
    full_rate = Figure("parsing", "invitations per second, bytes → email → extract()", "/s")
    cold_rate = Figure(
        "parsing", "invitations per second, extract(), zone definitions read afresh", "/s"
    )
    # extract() reads each distinct VTIMEZONE text once per process, as a running
    # bridge does; this row forgets them before every message (the worst case).
    forget = getattr(getattr(invites, "_definition", None), "cache_clear", None)

    def rate(work: Callable[[], None]) -> float:
        done, started = 0, time.perf_counter()
        while True:
            work()
            done += len(corpus)
            elapsed = time.perf_counter() - started
            if elapsed >= options.parse_seconds:
                return done / elapsed

    def extract_all() -> None:
        for message in messages:
            _extract(message)

    def parse_and_extract_all() -> None:
        for raw in raws:
            _extract(_message(raw))

    def extract_all_cold() -> None:
        for message in messages:
            if forget is not None:
                forget()
            _extract(message)

    extract_all()  # warm the caches (zones, imports) once, as a running daemon has
    for run in range(options.repeat):
        extract_rate.values.append(rate(extract_all))
        full_rate.values.append(rate(parse_and_extract_all))
        cold_rate.values.append(rate(extract_all_cold))
        progress(f"parsing run {run + 1}: {extract_rate.values[-1]:.0f} invitations/s")
    return [extract_rate, cold_rate, full_rate]


# -- hostile mail -----------------------------------------------------------------------


# The fixed set of issue 12, plus rules only a hostile sender writes, each as an
# allowed sender sends it (a stranger's mail is never read past its header).
def hostile_set() -> dict[str, bytes]:
    messages = {
        name: raw.replace(b"attacker.test", b"example.com")
        for name, raw in hostile.hostile_messages().items()
    }
    sparse = hostile.repeating_invitation(
        "FREQ=DAILY;BYYEARDAY=124,22;BYSETPOS=124,22;UNTIL=20771231T000000Z",
        sender="alice@example.com",
    )
    messages["a rule no period satisfies (ends on the budget)"] = sparse.replace(
        b"DTSTART:2027", b"DTSTART:2026"
    ).replace(b"DTEND:2027", b"DTEND:2026")
    return messages


def _parse_cost(raw: bytes) -> tuple[float, float]:
    """(CPU seconds, peak MiB allocated) of `parse` on `raw`, as a pass reads it:
    the time from one run, the memory from another under tracemalloc."""
    settings = config.from_mapping(cli.DRY_RUN_DEFAULTS, {}, secrets=False)
    started = time.thread_time()
    cli.describe_file(Path("message.eml"), raw, settings, PARSE_NOW)
    seconds = time.thread_time() - started
    tracemalloc.start()
    try:
        cli.describe_file(Path("message.eml"), raw, settings, PARSE_NOW)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return seconds, peak


def hostile_mail(lab: Lab | None, options: Options) -> list[Figure]:
    """`parse` of each hostile message and of a normal invitation, in this process."""
    normal = (ROOT / "examples" / "invitation.eml").read_bytes()
    messages = hostile_set()
    normal_time = Figure("hostile", "normal invitation: CPU time", "ms")
    normal_memory = Figure("hostile", "normal invitation: peak memory", "MB")
    worst_time = Figure(
        "hostile", "worst hostile message: CPU time", "ms", target=Target("<", 2000.0)
    )
    worst_memory = Figure(
        "hostile", "worst hostile message: peak memory", "MB", target=Target("<", 200.0)
    )
    _parse_cost(normal)  # imports and caches, as in a running daemon
    for run in range(options.repeat):
        seconds, peak = _parse_cost(normal)
        normal_time.values.append(seconds * 1000)
        normal_memory.values.append(peak)
        costs = {name: _parse_cost(raw) for name, raw in messages.items()}
        slowest = max(costs, key=lambda name: costs[name][0])
        largest = max(costs, key=lambda name: costs[name][1])
        worst_time.values.append(costs[slowest][0] * 1000)
        worst_memory.values.append(costs[largest][1])
        worst_time.note = slowest
        worst_memory.note = largest
        progress(f"hostile run {run + 1}: worst {costs[slowest][0]:.2f} s ({slowest})")
    worst_time.note += f"; {len(messages)} messages"
    return [normal_time, normal_memory, worst_time, worst_memory]


MEASUREMENTS: dict[str, Callable[[Lab, Options], list[Figure]]] = {
    "parsing": parsing,
    "hostile": hostile_mail,
    "polling": polling,
    "memory": memory,
    "latency": latency,
    "throughput": throughput,
    "outage": outage,
}
NEEDS_SERVERS = {"polling", "memory", "latency", "throughput", "outage"}
