"""Where the time goes: pyinstrument over a backlog pass and over extraction.

    pip install pyinstrument
    python -m benchmarks.profiling backlog [--count 200] [--api-latency 0.2]
    python -m benchmarks.profiling parsing [--seconds 5]

`backlog` starts the servers, puts `count` invitations in a mailbox and profiles
one `once` pass over them in this process (cli.main, as the command runs it),
with `[kmeet] max_parallel = 1` where the schema has that key: pyinstrument
follows the thread that started it, and a parallel pass does its work in
worker threads. For those, py-spy samples every thread of a real process:

    py-spy record --idle --format raw -o pass.txt -- python -m kmeet_bridge --config X once

`parsing` profiles invites.extract over the corpus invitations. Each prints the
call tree (time as a share of the total) and, with --flat, the functions by
their own time; --html FILE writes pyinstrument's interactive page too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .lab import Lab, bulk_append, future_invitation
from .measurements import _extract, _message, corpus_invitations

try:
    from pyinstrument import Profiler
except ImportError:  # not a dependency of the bridge
    Profiler = None  # type: ignore[assignment,misc]


def profile_backlog(count: int, api_latency: float, max_parallel: int) -> Profiler:
    from kmeet_bridge.service import cli

    with Lab() as lab:
        env = lab.account(kmeet={"max_parallel": max_parallel})
        bulk_append(env, (future_invitation(n, tag="profile") for n in range(count)))
        lab.api_latency(api_latency)
        argv = ["--config", str(env.config_path), "--log-level", "warning", "once"]
        output = io.StringIO()
        profiler = Profiler(interval=0.0005)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            profiler.start()
            status = cli.main(argv)
            profiler.stop()
        if status != 0 or f"{count} planned" not in output.getvalue():
            raise RuntimeError(f"the backlog pass failed: {output.getvalue()[-800:]}")
    return profiler


def profile_parsing(seconds: float) -> Profiler:
    messages = [_message(raw) for _, raw in corpus_invitations()]
    for message in messages:  # warm up, as a running daemon is
        _extract(message)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for message in messages:
            _extract(message)
    profiler.stop()
    return profiler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("target", choices=("backlog", "parsing"))
    parser.add_argument("--count", type=int, default=200, help="invitations in the backlog")
    parser.add_argument(
        "--api-latency", type=float, default=0.2, help="seconds the API simulator takes"
    )
    parser.add_argument(
        "--max-parallel",
        type=int,
        default=1,
        help="[kmeet] max_parallel for the backlog, if the bridge knows it (default 1)",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to extract")
    parser.add_argument("--flat", action="store_true", help="functions by their own time")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write pyinstrument's page")
    args = parser.parse_args(argv)
    if Profiler is None:
        print("python -m benchmarks.profiling needs pyinstrument: pip install pyinstrument")
        return 2
    run: Callable[[], Profiler] = (
        (lambda: profile_backlog(args.count, args.api_latency, args.max_parallel))
        if args.target == "backlog"
        else (lambda: profile_parsing(args.seconds))
    )
    profiler = run()
    print(profiler.output_text(unicode=True, time="percent_of_total", flat=args.flat))
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
