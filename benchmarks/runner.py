"""The benchmark's command line: run the measurements, print the table.

    python -m benchmarks [--repeat N] [--quick] [--only NAME ...] [--markdown FILE]

Progress goes to stderr; the machine description and the table to stdout (and
to FILE with --markdown). The exit status is 0 when every measurement ran,
whatever the figures say, and 1 when one could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .measurements import MEASUREMENTS, NEEDS_SERVERS, Options, progress
from .results import Figure, table

ROOT = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure kmeet-bridge against Dovecot, an SMTP server and the API "
        "simulator on loopback, and compare with the targets of issues 7 and 16.",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs of each measurement (default 5, but 3 for the backlog of 200, which takes "
        "about a minute a run; 3 for everything with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: 300 old messages instead of 20,000, a backlog of 20, ...",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only this measurement (repeatable, or comma-separated): "
        f"{', '.join(MEASUREMENTS)}",
    )
    parser.add_argument(
        "--polling-messages",
        type=int,
        metavar="N",
        help="old messages in the large folder of the polling measurement "
        "(default 20,000; 300 with --quick)",
    )
    parser.add_argument(
        "--outage-seconds",
        type=float,
        metavar="S",
        help="how long each outage of the outage measurement lasts (default 90; 20 with --quick)",
    )
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in MEASUREMENTS]
    if unknown:
        print(
            f"python -m benchmarks: unknown measurement {', '.join(unknown)}; "
            f"choose from {', '.join(MEASUREMENTS)}",
            file=sys.stderr,
        )
        return 2
    selected = [name for name in MEASUREMENTS if not names or name in names]
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    if repeat < 1:
        print("python -m benchmarks: --repeat must be at least 1", file=sys.stderr)
        return 2
    if args.polling_messages is not None and args.polling_messages < 11:
        print("python -m benchmarks: --polling-messages must be more than 10", file=sys.stderr)
        return 2
    options = Options(
        repeat=repeat,
        quick=args.quick,
        polling_messages=args.polling_messages,
        backlog_repeat=repeat if args.repeat is not None else min(repeat, 3),
        outage_repeat=repeat if args.repeat is not None else 1,
        outage_seconds=args.outage_seconds,
    )

    figures: list[Figure] = []
    failed = False
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        lab = None
        if NEEDS_SERVERS.intersection(selected):
            from .lab import Lab  # the servers' modules need the test extras

            lab = stack.enter_context(Lab())
        for name in selected:
            progress(f"{name}...")
            began = time.monotonic()
            try:
                figures.extend(MEASUREMENTS[name](lab, options))  # type: ignore[arg-type]
            except Exception as exc:
                failed = True
                traceback.print_exc(file=sys.stderr)
                figures.append(Figure(name, "could not run", "", note=_one_line(exc)))
            progress(f"{name}: {time.monotonic() - began:.0f} s")
    elapsed = time.monotonic() - started

    mode = "quick" if options.quick else "full"
    report = "\n".join(
        [
            "## kmeet-bridge benchmark",
            "",
            *machine_lines(),
            f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {mode} sizes, "
            f"{repeat} run{'s' * (repeat != 1)} per measurement"
            + (
                f" ({options.backlog_repeat} for throughput)"
                if "throughput" in selected and options.backlog_repeat != repeat
                else ""
            )
            + f", {elapsed:.0f} s in all",
            "",
            table(figures),
            "",
        ]
    )
    print(report)
    if args.markdown:
        args.markdown.write_text(report, encoding="utf-8")
    return 1 if failed else 0


def machine_lines() -> list[str]:
    """What the figures were measured on, as Markdown list items."""
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor() or "?"
    memory = _first_value(Path("/proc/meminfo"), "MemTotal")
    memory_text = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory else "?"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (
        f" ({usable} usable)" if usable and usable != os.cpu_count() else ""
    )
    return [
        f"- machine: {cpu}, {cores}, {memory_text} memory; {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"Dovecot {_dovecot_version()}",
        f"- kmeet-bridge: {_source_version()}",
    ]


def _first_value(path: Path, key: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def _dovecot_version() -> str:
    try:
        from tests.support.dovecot import find_dovecot

        done = subprocess.run(
            [find_dovecot(), "--version"], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() or "?"
    except Exception:
        return "not installed"


def _source_version() -> str:
    from kmeet_bridge import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=ROOT,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "kmeet_bridge"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=ROOT,
        ).stdout.strip()
    except OSError:
        return __version__
    if not commit:
        return __version__
    return f"{__version__}, commit {commit}" + (" with local changes" if dirty else "")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"
