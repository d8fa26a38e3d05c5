"""What a pass with several workers keeps in memory (parallel.py): the UIDs in
order, how far the folder position may move, and who waits for whom."""

from __future__ import annotations

import threading

from kmeet_bridge.pacing.parallel import Backlog, KeyOrder

WAIT = 5.0  # seconds; only reached when a test fails


def test_uids_are_handed_out_lowest_first_once_each() -> None:
    backlog = Backlog([9, 3, 12, 5, 3])
    assert backlog.left() == 4
    assert [backlog.take() for _ in range(5)] == [3, 5, 9, 12, None]
    assert backlog.left() == 0


def test_the_position_moves_only_past_a_run_of_finished_uids_from_the_first() -> None:
    backlog = Backlog([3, 5, 9, 12])
    assert backlog.finish(5) is None  # 3 still in hand
    assert backlog.finish(12) is None
    assert backlog.finish(3) == 5
    assert backlog.finish(9) == 12


def test_the_position_follows_each_uid_finished_in_order() -> None:
    backlog = Backlog([1, 2, 3])
    assert [backlog.finish(uid) for uid in (1, 2, 3)] == [1, 2, 3]


class Claim(threading.Thread):
    """`order.claim(uid, keys)` in a thread of its own; `through` is set once it returns."""

    def __init__(self, order: KeyOrder, uid: int, keys: set[str]) -> None:
        super().__init__(daemon=True)
        self.order, self.uid, self.keys = order, uid, keys
        self.through = threading.Event()
        self.start()

    def run(self) -> None:
        self.order.claim(self.uid, self.keys)
        self.through.set()


def test_a_message_waits_for_an_earlier_one_with_the_same_key_only() -> None:
    order = KeyOrder([1, 2, 3])
    first = Claim(order, 1, {"meeting A"})
    assert first.through.wait(WAIT)  # the earliest never waits
    other = Claim(order, 2, {"meeting B"})
    same = Claim(order, 3, {"meeting A", "meeting C"})
    assert other.through.wait(WAIT)
    assert not same.through.wait(0.2)
    order.done(1)
    assert same.through.wait(WAIT)


def test_a_message_waits_while_an_earlier_ones_keys_are_unknown() -> None:
    order = KeyOrder([1, 2])
    later = Claim(order, 2, {"meeting A"})
    assert not later.through.wait(0.2)  # 1 is still being fetched or read
    order.claim(1, {"meeting B"})
    assert later.through.wait(WAIT)


def test_a_message_without_keys_frees_the_ones_behind_it_when_done() -> None:
    order = KeyOrder([1, 2])
    later = Claim(order, 2, {"meeting A"})
    assert not later.through.wait(0.2)
    order.done(1)  # ignored before its keys were known: it never claims
    assert later.through.wait(WAIT)


def test_claiming_again_adds_keys() -> None:
    order = KeyOrder([1, 2])
    order.claim(1, set())
    order.claim(1, {"message <a@example.com>"})
    later = Claim(order, 2, {"message <a@example.com>"})
    assert not later.through.wait(0.2)
    order.done(1)
    assert later.through.wait(WAIT)
