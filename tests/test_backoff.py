"""Backoff delays and once-per-state-change failure logging: pure, exact values."""

from __future__ import annotations

import itertools
import logging

import pytest

from kmeet_bridge.pacing.backoff import Backoff, FailureLog


def fixed(*values: float):
    """A random source that returns `values` in turn, then repeats the last one."""
    source = itertools.chain(values, itertools.repeat(values[-1]))
    return lambda: next(source)


def test_delays_double_from_one_second_up_to_five_minutes_without_jitter() -> None:
    backoff = Backoff(random=fixed(0.5))  # 0.5 is the middle: no spread
    delays = [backoff.next_delay() for _ in range(11)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]
    assert backoff.failures == 11


def test_jitter_spreads_twenty_percent_either_way_and_never_above_the_cap() -> None:
    # random() == 0 is the low end (-20 %), values near 1 the high end (+20 %).
    backoff = Backoff(random=fixed(0.0, 0.75, 0.999999, 0.25))
    assert backoff.next_delay() == pytest.approx(0.8)
    assert backoff.next_delay() == pytest.approx(2.2)
    assert backoff.next_delay() == pytest.approx(4.8, abs=1e-5)
    assert backoff.next_delay() == pytest.approx(7.2)
    capped = Backoff(first=260.0, maximum=300.0, random=fixed(0.999999))
    assert capped.next_delay() == 300.0  # 260 + 20 % = 312: above the cap
    assert capped.next_delay() == 300.0  # 520 is capped to 300; +20 % stays capped
    low = Backoff(first=300.0, maximum=300.0, random=fixed(0.0))
    assert low.next_delay() == pytest.approx(240.0)


def test_reset_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(first=0.5, maximum=10.0, factor=3.0, random=fixed(0.5))
    assert [backoff.next_delay() for _ in range(4)] == [0.5, 1.5, 4.5, 10.0]
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == 0.5


def test_seeded_random_gives_the_same_delays_every_time() -> None:
    import random

    first = Backoff(random=random.Random(5).random)
    second = Backoff(random=random.Random(5).random)
    one = [first.next_delay() for _ in range(12)]
    assert one == [second.next_delay() for _ in range(12)]
    for attempt, delay in enumerate(one):
        base = min(2.0**attempt, 300.0)
        assert base * 0.8 <= delay <= min(base * 1.2, 300.0)


@pytest.mark.parametrize(
    "arguments",
    [
        {"first": 0.0},
        {"first": 10.0, "maximum": 5.0},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_nonsense_settings_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**arguments)


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "test.failures"]


def test_failure_log_says_each_state_change_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.failures")
    failures = FailureLog(logging.getLogger("test.failures"))
    assert failures.recovered("fine again") is False  # nothing to recover from
    assert failures.failed("connection", "lost: refused") is True
    assert failures.failed("connection", "lost: timed out") is False
    assert failures.failed("connection", "lost: refused") is False
    assert failures.failing
    assert failures.failed("login", "login refused", logging.WARNING) is True
    assert failures.recovered("fine again") is True
    assert failures.recovered("fine again") is False
    assert not failures.failing
    assert failures.failed("connection", "lost: refused") is True
    assert records(caplog) == [
        ("ERROR", "lost: refused"),
        ("DEBUG", "lost: timed out"),
        ("DEBUG", "lost: refused"),
        ("WARNING", "login refused"),
        ("INFO", "fine again"),
        ("ERROR", "lost: refused"),
    ]
