"""What a pass that handles several messages at once (`[kmeet] max_parallel`)
keeps in memory, so that it ends as a pass one message at a time would:

- `Backlog`: the UIDs of the pass, handed out in ascending order, and how far
  the folder position may move: past a UID only once that UID and every one
  before it has its outcome (step 6 of store.py's protocol).
- `KeyOrder`: messages that touch the same meeting (or are copies of one
  message) are handled one after the other, in UID order; the others go
  side by side. So the same meeting never gets two rooms, an update never
  overtakes its invitation, and a cancellation never comes before it.
- `side_by_side`: the worker threads that take the UIDs of a `Backlog` one by
  one, each over a mailbox connection of its own.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import ExitStack
from typing import TypeVar

M = TypeVar("M")  # a mailbox connection
R = TypeVar("R")  # what handling one UID returns


class Backlog:
    """The UIDs of one pass; thread-safe."""

    def __init__(self, uids: Iterable[int]) -> None:
        self._order = sorted(set(uids))
        self._waiting = deque(self._order)
        self._finished: set[int] = set()
        self._reached = 0  # how many UIDs of _order, from the first, are finished
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The next UID to handle, the lowest first; None when all are handed out."""
        with self._lock:
            return self._waiting.popleft() if self._waiting else None

    def left(self) -> int:
        """How many UIDs were not handed out."""
        with self._lock:
            return len(self._waiting)

    def finish(self, uid: int) -> int | None:
        """`uid` has its outcome. Returns the highest UID that the folder position
        may now move to (it and every UID before it finished), or None when that
        did not change."""
        with self._lock:
            self._finished.add(uid)
            before = self._reached
            while self._reached < len(self._order) and self._order[self._reached] in self._finished:
                self._reached += 1
            return self._order[self._reached - 1] if self._reached > before else None


class KeyOrder:
    """Holds a message back while an earlier message of the pass that shares one
    of its keys is still being handled, or may share one (its keys not known yet:
    it is still being fetched or read). Thread-safe.

    Every UID of the pass must end with `done`, whether it claimed keys or not;
    UIDs are handed out in ascending order, so the earliest one in hand never
    waits, and no wait can go round in a circle."""

    def __init__(self, uids: Iterable[int]) -> None:
        self._order = sorted(set(uids))
        self._keys: dict[int, frozenset[Hashable]] = {}
        self._done: set[int] = set()
        self._changed = threading.Condition()

    def claim(self, uid: int, keys: Iterable[Hashable]) -> None:
        """Name the keys `uid` touches, and wait until no earlier message of the
        pass may touch one of them. Claiming again adds keys (the message key of
        a message that failed before its meetings were known)."""
        with self._changed:
            self._keys[uid] = self._keys.get(uid, frozenset()) | frozenset(keys)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._clear(uid))

    def done(self, uid: int) -> None:
        """`uid` is handled (or given up): nothing waits for it any more."""
        with self._changed:
            self._done.add(uid)
            self._changed.notify_all()

    def _clear(self, uid: int) -> bool:
        mine = self._keys[uid]
        for earlier in self._order:
            if earlier >= uid:
                return True
            if earlier in self._done:
                continue
            theirs = self._keys.get(earlier)
            if theirs is None or theirs & mine:
                return False
        return True


def side_by_side(
    uids: Sequence[int],
    workers: int,
    order: KeyOrder,
    first: M,
    another: Callable[[ExitStack], M | None],
    handle: Callable[[M, int], R],
    handled: Callable[[R], None],
    reached: Callable[[int], None],
    stop: threading.Event | None,
) -> bool:
    """Handle `uids` with `workers` threads, each over a mailbox connection of its
    own (IMAP connections are not thread-safe): the first worker uses `first`,
    the others `another(stack)`, closed with `stack`, or none when it gives None
    (the pass goes on with fewer workers). Each takes the lowest UID left when
    done with one, and `order` is told when each is done.

    `handled` hears of each result, one at a time; `reached` of each UID the
    folder position may move to (it and every UID before it handled). An error
    in a worker ends the others' work too: they finish the UID in hand, take no
    other, and the first such error is raised. `stop` is honoured the same way.
    Returns False when UIDs were left for the next pass."""
    backlog = Backlog(uids)
    ending = threading.Event()  # a worker failed: take no more messages
    failures: list[BaseException] = []
    lock = threading.Lock()  # guards `handled` and failures

    def handle_until_done(box: M) -> None:
        while not ending.is_set() and not (stop is not None and stop.is_set()):
            uid = backlog.take()
            if uid is None:
                return
            try:
                result = handle(box, uid)
            finally:
                order.done(uid)
            with lock:
                handled(result)
            # Step 6, for the longest run of UIDs from the first that are handled.
            position = backlog.finish(uid)
            if position is not None:
                reached(position)

    def work(box: M | None) -> None:
        try:
            with ExitStack() as stack:
                if box is None:
                    box = another(stack)
                if box is not None:
                    handle_until_done(box)
        except BaseException as exc:
            ending.set()
            with lock:
                failures.append(exc)

    threads = [
        threading.Thread(
            target=work, args=(first if n == 0 else None,), name=f"pass-worker-{n + 1}"
        )
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: the messages in hand are finished first
        ending.set()
        for thread in threads:
            thread.join()
        raise
    if failures:
        raise failures[0]
    return not backlog.left()
