"""The API throttle (throttle.py), with a clock the test controls: exact spacing
of requests, the pause after a 429 for every request, and what `send` does
with a 429."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kmeet_bridge.kmeet import RateLimited, TransientError
from kmeet_bridge.pacing.throttle import DEFAULT_PAUSE, SHORT_PAUSE, ApiPaused, Throttle

WAIT = 5.0  # seconds; only reached when a test fails


class FakeTime:
    """Monotonic and wall clock in one; `sleep` moves both at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_800_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 9))
        self.now += seconds

    def throttle(self, per_second: float) -> Throttle:
        return Throttle(per_second, wall=self.wall, monotonic=self.monotonic, sleep=self.sleep)


def begin(time: FakeTime, throttle: Throttle, count: int) -> list[float]:
    """When each of `count` requests in a row may begin, relative to the first call."""
    start = time.now
    moments = []
    for _ in range(count):
        throttle.wait_turn()
        moments.append(round(time.now - start, 9))
    return moments


def test_requests_begin_one_interval_apart() -> None:
    time = FakeTime()
    assert begin(time, time.throttle(5), 6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_a_fractional_rate() -> None:
    time = FakeTime()
    assert begin(time, time.throttle(0.5), 3) == [0.0, 2.0, 4.0]


def test_an_idle_throttle_saves_up_no_burst() -> None:
    time = FakeTime()
    throttle = time.throttle(4)
    throttle.wait_turn()
    time.now += 10  # quiet for a while: the next request goes at once, not a burst
    assert begin(time, throttle, 3) == [0.0, 0.25, 0.5]


def test_time_spent_elsewhere_counts_towards_the_interval() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    throttle.wait_turn()
    time.now += 0.15  # the request itself took 150 ms
    throttle.wait_turn()
    assert time.slept == [0.05]


def test_turns_are_unique_across_threads() -> None:
    """Many threads at the same instant: each gets a turn of its own, one
    interval after the other, none twice (the clock stands still: `sleep`
    only notes how long each would wait)."""
    time = FakeTime()
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(round(seconds, 9))

    throttle = Throttle(10, wall=time.wall, monotonic=time.monotonic, sleep=sleep)

    def five() -> None:
        for _ in range(5):
            throttle.wait_turn()

    threads = [threading.Thread(target=five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The first request waits nothing (no sleep call); the 19 others 0.1 s more each.
    assert sorted(waits) == [round(0.1 * n, 9) for n in range(1, 20)]


def test_no_more_requests_at_once_than_slots() -> None:
    throttle = Throttle(1000, in_flight=2)
    lock = threading.Lock()
    inside, most = [0], [0]
    release = threading.Event()

    def request() -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(WAIT)
        with lock:
            inside[0] -= 1

    threads = [threading.Thread(target=throttle.send, args=(request,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.2)  # time for every thread to try
    with lock:
        assert inside[0] == 2
    release.set()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_a_short_pause_is_waited_out_then_requests_are_spaced_again() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    throttle.wait_turn()
    assert throttle.pause(1.0) == 1.0
    assert begin(time, throttle, 3) == [1.0, 1.2, 1.4]


def test_a_long_pause_refuses_at_once_until_it_is_over() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    assert throttle.pause(30.0) == 30.0
    time.now += 10
    with pytest.raises(ApiPaused) as info:
        throttle.wait_turn()
    assert time.slept == []
    assert info.value.retry_after == 20.0
    assert str(info.value) == (
        "the Infomaniak API is limiting the request rate (HTTP 429 to an earlier request); "
        "not sent, retry in 20 s"
    )
    assert info.value.transient and not info.value.in_doubt
    time.now += 20 - SHORT_PAUSE  # what is left is short: waited out
    assert begin(time, throttle, 1) == [SHORT_PAUSE]


def test_a_later_429_can_only_lengthen_the_pause() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    assert throttle.pause(3.0) == 3.0
    assert throttle.pause(1.0) == 3.0
    assert throttle.pause(4.0) == 4.0


def test_without_retry_after_the_pause_doubles_while_429s_follow() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    pauses = []
    for _ in range(7):
        pauses.append(throttle.pause(None))
        time.now += pauses[-1]  # over before the next 429
    assert pauses == [DEFAULT_PAUSE * 2**n for n in range(5)] + [60.0, 60.0]
    throttle.succeeded()
    assert throttle.pause(None) == DEFAULT_PAUSE


def test_429s_to_one_burst_of_requests_count_once() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    assert throttle.pause(None) == DEFAULT_PAUSE
    time.now += 0.1  # the other requests of the same burst answer 429 too: same length
    assert throttle.pause(None) == DEFAULT_PAUSE
    assert throttle.pause(None) == DEFAULT_PAUSE
    time.now += DEFAULT_PAUSE  # over; the next 429 is another one
    assert throttle.pause(None) == 2 * DEFAULT_PAUSE


def test_a_clock_that_stands_still_waits_a_pause_out_once() -> None:
    """The bridge's clock in the tests of test_faults.py does not move while
    the throttle sleeps: the pause is still waited out once, not forever."""
    time = FakeTime()
    wall = time.wall()
    throttle = Throttle(5, wall=lambda: wall, monotonic=time.monotonic, sleep=time.sleep)
    throttle.pause(1.0)
    throttle.wait_turn()
    throttle.wait_turn()
    assert time.slept == [1.0, 0.2]


class Api:
    """Answers queued in order: exceptions are raised, the rest returned; notes
    each attempt and each call of `sending` and `refused`, with the time."""

    def __init__(self, time: FakeTime, *answers: Any) -> None:
        self.time = time
        self.answers = list(answers)
        self.log: list[tuple[str, float]] = []

    def request(self) -> Any:
        self.note("request")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def note(self, what: str) -> None:
        self.log.append((what, round(self.time.now - 1000.0, 9)))

    def send(self, throttle: Throttle) -> Any:
        return throttle.send(
            self.request, sending=lambda: self.note("sending"), refused=lambda: self.note("refused")
        )


def limited(retry_after: float | None) -> RateLimited:
    return RateLimited("the Infomaniak API is limiting the request rate", retry_after=retry_after)


def test_send_waits_its_turn_and_says_when_it_goes() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    api = Api(time, "a", "b")
    assert api.send(throttle) == "a"
    assert api.send(throttle) == "b"
    assert api.log == [("sending", 0.0), ("request", 0.0), ("sending", 0.2), ("request", 0.2)]


def test_a_request_answered_429_with_a_short_retry_after_is_made_again_once() -> None:
    time = FakeTime()
    api = Api(time, limited(1.0), "room")
    assert api.send(time.throttle(5)) == "room"
    assert api.log == [
        ("sending", 0.0),
        ("request", 0.0),
        ("refused", 0.0),  # before the pause: nothing was done, nothing is in doubt
        ("sending", 1.0),
        ("request", 1.0),
    ]


def test_a_request_answered_429_twice_gives_up() -> None:
    time = FakeTime()
    second = limited(1.0)
    api = Api(time, limited(1.0), second)
    with pytest.raises(RateLimited) as info:
        api.send(time.throttle(5))
    assert info.value is second
    assert [moment for what, moment in api.log if what == "request"] == [0.0, 1.0]


def test_without_retry_after_the_request_is_made_again_after_the_default_pause() -> None:
    time = FakeTime()
    api = Api(time, limited(None), "room")
    assert api.send(time.throttle(5)) == "room"
    assert [moment for what, moment in api.log if what == "request"] == [0.0, DEFAULT_PAUSE]


def test_a_long_retry_after_is_raised_at_once_and_stops_every_other_request() -> None:
    time = FakeTime()
    first = limited(120.0)
    throttle = time.throttle(5)
    api = Api(time, first, "room")
    with pytest.raises(RateLimited) as info:
        api.send(throttle)
    assert info.value is first  # the API's own words, for the deferral
    with pytest.raises(ApiPaused):
        api.send(throttle)
    assert api.log == [("sending", 0.0), ("request", 0.0)]  # nothing else reached the API
    time.now += 120
    assert api.send(throttle) == "room"


def test_other_errors_pass_through_without_a_pause() -> None:
    time = FakeTime()
    throttle = time.throttle(5)
    api = Api(time, TransientError("the Infomaniak API failed on its side"), None)
    with pytest.raises(TransientError):
        api.send(throttle)
    api.send(throttle)
    assert [moment for what, moment in api.log if what == "request"] == [0.0, 0.2]
