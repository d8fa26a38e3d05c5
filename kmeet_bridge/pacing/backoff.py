"""Waiting and reporting while something keeps failing.

`Backoff` says how long to wait before the next attempt: exponential, capped,
with jitter so that many bridges (or the watcher and the passes) do not hit a
server that just came back all in the same second. `FailureLog` says what
happened once per change of state instead of once per attempt: a server that
is down for an hour gives one line when it goes and one when it is back, not
three hundred.

Both are pure (the random source is injected), so tests can pin exact values.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable


class Backoff:
    """Delays of `first` seconds, multiplied by `factor` after each failure up to
    `maximum`, each spread by ±`jitter` (a fraction) and never above `maximum`.

    `random` returns a float in [0, 1), like `random.random`."""

    def __init__(
        self,
        first: float = 1.0,
        maximum: float = 300.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        random: Callable[[], float] = random.random,
    ) -> None:
        if first <= 0 or maximum < first or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("Backoff needs 0 < first <= maximum, factor >= 1, 0 <= jitter < 1")
        self.first = first
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._random = random
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; counts one more failure."""
        base = min(self.first * self.factor**self.failures, self.maximum)
        self.failures += 1
        spread = 1 + self.jitter * (2 * self._random() - 1)
        return min(base * spread, self.maximum)

    def reset(self) -> None:
        """After a success: the next failure waits `first` seconds again."""
        self.failures = 0


class FailureLog:
    """Logs a failure when it starts or changes kind, its recovery once, and
    everything in between at DEBUG.

    `kind` names the state ("connection", "login", an exception class...): the
    same kind failing again is the same state, whatever the details say."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self.kind: str | None = None

    @property
    def failing(self) -> bool:
        return self.kind is not None

    def failed(self, kind: str, message: str, level: int = logging.ERROR) -> bool:
        """Record a failure; returns True when it was logged at `level`."""
        changed = kind != self.kind
        self.kind = kind
        self._log.log(level if changed else logging.DEBUG, "%s", message)
        return changed

    def recovered(self, message: str) -> bool:
        """Record a success; returns True when it ended a failure (and was logged)."""
        if self.kind is None:
            return False
        self.kind = None
        self._log.info("%s", message)
        return True
