"""A CPU time budget for reading one message.

Every reader is bounded by construction (limits on lines, characters, parts,
repeat rules); the budget is the backstop for what a limit missed. The pass
reads each message inside `limit(seconds)`, and the readers call `check()` in
their loops: past the budget, `OverBudget` ends the reading, and the message
is rejected with that reason instead of holding the pass.

The clock is the reading thread's own CPU time (`time.thread_time`), so a
message is charged neither for waiting on the network nor for the other
workers of a pass. Why not a subprocess with RLIMIT_CPU: it would cost a
process start and the copying of every message for a case the limits already
prevent; the budget costs a clock read per loop turn. What no check can
interrupt (a single call into C that never returns) is left to systemd: the
watchdog, which is pinged only while passes make progress, and `MemoryMax=`;
the message was recorded as being read beforehand, so the restart rejects it
instead of reading it again (bridge.py).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_current = threading.local()


class OverBudget(Exception):
    """Reading one message took more CPU time than its budget."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"reading it took more than {seconds:g} s of CPU time")
        self.seconds = seconds


@contextmanager
def limit(seconds: float) -> Iterator[None]:
    """Run the block with a budget of `seconds` of this thread's CPU time."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = (time.thread_time() + seconds, seconds)
    try:
        yield
    finally:
        _current.deadline = previous


def check() -> None:
    """Raise OverBudget when the block around this call has used its budget;
    nothing outside a `limit` block."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None and time.thread_time() > deadline[0]:
        raise OverBudget(deadline[1])


@contextmanager
def watched() -> Iterator[None]:
    """Run the block so that the budget can end it from inside a library's loop
    that calls no `check()` (dateutil walking a repeat rule that rarely
    matches, period after period, up to the year 9999): a profile hook looks at
    the clock every 1,024 Python calls. Nothing outside a `limit` block."""
    deadline = getattr(_current, "deadline", None)
    if deadline is None:
        yield
        return
    calls = 0

    def hook(_frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1
            if not calls & 1023 and time.thread_time() > deadline[0]:
                raise OverBudget(deadline[1])  # raised in the library's code; unsets the hook

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield
    finally:
        sys.setprofile(previous)
