"""health.py without servers: the probe schedule, Retry-After for the whole
service, and the exact lines said once when a service goes and comes back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from kmeet_bridge.pacing.health import (
    API,
    IMAP,
    PROBE_MAX,
    SMTP,
    Health,
    Outage,
    Restoration,
    duration,
    recorded_lines,
)

# 10:02 on the machine's own clock, whatever its time zone: the lines use local time.
T0 = datetime(2026, 12, 1, 10, 2).astimezone()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def no_jitter() -> Health:
    return Health(random=lambda: 0.5)


def probe_times(health: Health, outage: float) -> list[float]:
    """The probes of an outage of `outage` seconds that starts with a failed request
    at 0, every probe until then failing: when each is made."""
    api = health.api
    api.failed("503", at(0))
    times = []
    while (next_probe := api.next_probe) is not None:
        moment = (next_probe - T0).total_seconds()
        times.append(moment)
        if moment >= outage:
            api.succeeded(next_probe)
        else:
            api.failed("503", next_probe)
    return times


def test_probes_back_off_from_one_second_doubling_up_to_the_cap() -> None:
    assert probe_times(no_jitter(), 200) == [1, 3, 7, 15, 31, 56, 81, 106, 131, 156, 181, 206]


@pytest.mark.parametrize("spread", [0.0, 0.5, 0.999])
def test_a_90_s_outage_costs_few_requests_and_is_noticed_well_within_30_s(spread: float) -> None:
    times = probe_times(Health(random=lambda: spread), 90)
    during = [t for t in times if t < 90]
    assert 1 + len(during) <= 20  # the request that failed first, and the probes
    assert times[-1] - 90 <= PROBE_MAX  # the first probe after the recovery


def test_a_service_not_down_is_never_probed() -> None:
    health = no_jitter()
    assert not health.api.probe_due(at(0))
    assert health.next_probe_in(at(0)) is None
    assert health.up() == [API, SMTP, IMAP]


def test_retry_after_holds_the_whole_service_and_a_later_failure_does_not_shorten_it() -> None:
    health = no_jitter()
    health.api.failed("503", at(0), retry_after=600)
    health.api.failed("503", at(5))  # a request that was already under way
    assert health.api.next_probe == at(600)
    assert not health.api.probe_due(at(599))
    assert health.api.probe_due(at(600))
    assert health.next_probe_in(at(100)) == 500
    assert health.up() == [SMTP, IMAP]


def test_an_absurd_retry_after_is_read_as_an_hour() -> None:
    health = no_jitter()
    health.api.failed("503", at(0), retry_after=86400 * 30)
    assert health.api.next_probe == at(3600)


def test_the_outage_and_the_restoration_are_said_once_each() -> None:
    health = no_jitter()
    health.api.failed("503", at(0), detail="the Infomaniak API failed on its side (HTTP 503)")
    health.api.failed("503", at(1))
    health.note_waiting({API: 4})
    [outage] = health.take_events()
    assert outage == Outage(API, T0, "503")
    assert outage.line(4) == "kMeet API unavailable since 10:02 (503), 4 messages waiting"
    assert health.status_line() == "kMeet API unavailable since 10:02 (503), 4 messages waiting"
    assert health.api.detail == "the Infomaniak API failed on its side (HTTP 503)"
    assert health.take_events() == []

    assert health.api.succeeded(at(720)) == Restoration(API, T0, at(720))
    assert health.api.succeeded(at(721)) is None
    [restored] = health.take_events()
    assert restored.line() == "kMeet API restored after 12 min"
    assert health.status_line() == "kMeet API restored after 12 min"
    assert health.status_line() is None  # said once


def test_lines_for_each_service() -> None:
    assert Outage(SMTP, T0, "421").line(1) == (
        "SMTP server unavailable since 10:02 (421), 1 message waiting"
    )
    assert Outage(IMAP, T0, "no answer").line() == "IMAP server unavailable since 10:02 (no answer)"
    assert Outage(API, T0, "503").line(0, now=T0 + timedelta(days=1)) == (
        f"kMeet API unavailable since {T0:%Y-%m-%d} 10:02 (503), 0 messages waiting"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (90, "90s"), (119, "119s"), (120, "2 min"), (725, "12 min"),
     (3600, "1 h"), (7500, "2 h 5 min"), (180000, "2 d 2 h")],
)  # fmt: skip
def test_duration(seconds: float, text: str) -> None:
    assert duration(timedelta(seconds=seconds)) == text


def test_recorded_lines_say_what_status_prints() -> None:
    meta = dict(
        [
            Outage(API, T0, "503").meta(),
            Restoration(SMTP, at(-3600), at(-600)).meta(),
            Restoration(IMAP, at(-90000), at(-88000)).meta(),  # more than a day ago
        ]
    )
    assert recorded_lines(meta.get, {API: 2}, at(60)) == [
        "kMeet API unavailable since 10:02 (503), 2 messages waiting",
        "SMTP server restored after 50 min",
    ]
    meta["outage:api"] = json.dumps({"since": "garbage"})
    assert recorded_lines(meta.get, {}, at(60)) == ["SMTP server restored after 50 min"]
