"""How fast the bridge talks to the Infomaniak API: one throttle for every message
of a pass, however many are handled at once.

Three rules, for all requests together:

- At most `in_flight` requests (`[kmeet] max_parallel`) wait for an answer at
  once (`send`).
- Requests begin at least 1 / `[kmeet] max_requests_per_second` seconds apart,
  so that no second holds more than that many, and there is no burst either.
- A 429 (too many requests) pauses every request: for its Retry-After, or
  without one for DEFAULT_PAUSE seconds, doubling while 429s keep coming. A
  pause of up to SHORT_PAUSE seconds is waited out: the request that got the
  429 is sent again once after it (`send`), and the others wait for it to
  end. A longer pause is not waited out: the 429 is raised, and a request
  asked for during the pause is not sent at all but fails at once with
  `ApiPaused` (a `RateLimited`), so that its message is deferred until the
  pause is over, as a 429 defers it.

The pause is measured on the bridge's clock, the one deferred messages come due
by: a message deferred until its Retry-After is not refused again when it is
due. The spacing is measured on the monotonic clock, which never jumps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kmeet_bridge.kmeet import RateLimited

log = logging.getLogger(__name__)

SHORT_PAUSE = 5.0  # seconds: a 429's pause up to this long is waited out within the pass
DEFAULT_PAUSE = 2.0  # seconds, after a 429 without Retry-After ...
MAX_DEFAULT_PAUSE = 60.0  # ... doubled for each one that follows, up to this

T = TypeVar("T")


class ApiPaused(RateLimited):
    """A request not sent: the API asked for a pause (429) that is not over yet."""


class Throttle:
    """Thread-safe: how many API requests at once, their spacing, and the pause
    after a 429.

    `wall` is the bridge's clock in seconds (for the pause), `monotonic` and
    `sleep` measure and wait (for the spacing); tests give all three a fake."""

    def __init__(
        self,
        per_second: float,
        *,
        in_flight: int | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError("per_second must be more than 0")
        self.interval = 1.0 / per_second
        # None: as many as the callers make (one at a time in a pass one at a time).
        self._slots = threading.BoundedSemaphore(in_flight) if in_flight else None
        self._wall = wall
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_turn = -math.inf  # monotonic: when the next request may begin
        self._paused_until = -math.inf  # wall: no request before this
        # The pause already waited out: with a clock that does not move while
        # sleeping (the tests'), the same pause is not waited for twice.
        self._waited_until = -math.inf
        self._strikes = 0  # 429s without Retry-After in a row

    def wait_turn(self) -> None:
        """Return when a request may begin; raise ApiPaused when the API asked
        for a pause longer than SHORT_PAUSE that is not over yet."""
        while True:
            with self._lock:
                left = self._pause_left()
                pause_end = self._paused_until
                now = self._monotonic()
                turn = max(now, self._next_turn)
                if left > SHORT_PAUSE:
                    raise ApiPaused(
                        "the Infomaniak API is limiting the request rate (HTTP 429 to an "
                        f"earlier request); not sent, retry in {math.ceil(left)} s",
                        retry_after=left,
                    )
                if left <= 0:
                    self._next_turn = turn + self.interval  # this request's turn is taken
            if left > 0:
                self._sleep(left)
                with self._lock:
                    self._waited_until = max(self._waited_until, pause_end)
                continue  # then queue for a turn like any other request
            if turn > now:
                self._sleep(turn - now)
                with self._lock:
                    if self._pause_left() > 0:
                        continue  # a 429 came while this request waited for its turn
            return

    def send(
        self,
        request: Callable[[], T],
        *,
        sending: Callable[[], object] | None = None,
        refused: Callable[[], object] | None = None,
    ) -> T:
        """Make `request()` in its turn; after a 429, pause every request and make
        this one again once if the pause is short (a 429 means the API did
        nothing). `sending()` runs each time the turn has come, right before the
        request; `refused()` after a 429 that is followed by another attempt."""
        if self._slots is None:
            return self._send(request, sending, refused)
        with self._slots:  # waiting for a slot sends nothing: nothing is in doubt
            return self._send(request, sending, refused)

    def _send(
        self,
        request: Callable[[], T],
        sending: Callable[[], object] | None,
        refused: Callable[[], object] | None,
    ) -> T:
        retried = False
        while True:
            self.wait_turn()
            if sending is not None:
                sending()
            try:
                result = request()
            except RateLimited as exc:
                pause = self.pause(exc.retry_after)
                if retried or pause > SHORT_PAUSE:
                    raise
                retried = True
                if refused is not None:
                    refused()
                log.info(
                    "the Infomaniak API answered 429: every request waits %.1f s, then this "
                    "one is sent again",
                    pause,
                )
                continue
            self.succeeded()
            return result

    def pause(self, retry_after: float | None) -> float:
        """The API answered 429: pause every request. Returns the seconds left
        of the pause (it may already have been longer)."""
        with self._lock:
            now = self._wall()
            if retry_after is not None:
                seconds = retry_after
            else:
                if now >= self._paused_until:  # not one of several answers to one burst
                    self._strikes += 1
                seconds = min(MAX_DEFAULT_PAUSE, DEFAULT_PAUSE * 2 ** max(0, self._strikes - 1))
            self._paused_until = max(self._paused_until, now + seconds)
            return self._paused_until - now

    def succeeded(self) -> None:
        """A request got through: the next 429 without Retry-After starts over."""
        with self._lock:
            self._strikes = 0

    def _pause_left(self) -> float:
        if self._paused_until <= self._waited_until:
            return 0.0
        return max(0.0, self._paused_until - self._wall())
