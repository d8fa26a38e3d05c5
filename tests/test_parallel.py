"""Passes with several workers ([kmeet] max_parallel), in process, against the
real servers (Dovecot, the SMTP sink, the API simulator answering slowly):
every message still ends in one outcome, one room per meeting, one reply per
request; requests stay within [kmeet] max_requests_per_second and
max_parallel; a 429 pauses every worker; the same meeting is never planned
twice; stop, a refused token and the rate limits behave as one at a time.

Times are printed, never asserted tightly: only what must hold on a loaded
machine (the throttle can only slow requests down) is.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kmeet_bridge.bridge import SPARE_WORKERS, Bridge, TokenRefused
from kmeet_bridge.kmeet import KMeetClient
from kmeet_bridge.mail.mailbox import Mailbox, MailboxUnavailable
from kmeet_bridge.mail.mailer import Mailer
from kmeet_bridge.models import Outcome
from kmeet_bridge.store import Store
from tests.support.harness import BridgeEnv, invitation, parse, rows, text_of
from tests.support.kmeet_simulator import RecordedRequest

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LATENCY = 0.2  # seconds the API takes to answer, as in issue 7


@pytest.fixture(autouse=True)
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff without its random spread, so that retry times are exact."""
    monkeypatch.setattr("kmeet_bridge.steps.recording.random.uniform", lambda low, high: 1.0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def bridge_for(
    env: BridgeEnv,
    clock: Callable[[], datetime] | None = None,
    mailbox: Callable[..., AbstractContextManager[Any]] | None = None,
) -> Iterator[Bridge]:
    settings = env.settings()
    with Store(env.state_path) as store, KMeetClient(settings.kmeet) as planner:
        yield Bridge(
            settings,
            store,
            mailbox=mailbox or (lambda: Mailbox(settings.imap)),
            mailer=Mailer(settings.smtp),
            planner=planner,
            **({"clock": clock} if clock else {}),
        )


def meeting(number: int, **changes: Any) -> bytes:
    """Invitation `number` of a backlog: its own UID, title and hour."""
    day, hour = 1 + number // 8, 9 + number % 8
    values: dict[str, Any] = {
        "uid": f"backlog-{number}@example.com",
        "start": f"202703{day:02d}T{hour:02d}0000",
        "end": f"202703{day:02d}T{hour:02d}4500",
        "title": f"Meeting {number}",
    }
    values.update(changes)
    return invitation(**values)


def deliver_backlog(env: BridgeEnv, count: int) -> list[bytes]:
    raws = [meeting(n) for n in range(count)]
    for raw in raws:
        env.deliver(raw)
    return raws


def posts(env: BridgeEnv) -> list[RecordedRequest]:
    return [r for r in env.simulator.requests if r.method == "POST"]


def when_posts(env: BridgeEnv, count: int, action: Callable[[], None]) -> threading.Thread:
    """Run `action` (in a thread) as soon as the API has received `count` POSTs."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while len(posts(env)) < count and time.monotonic() < deadline:
            time.sleep(0.002)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def most_in_any_window(arrivals: list[float], window: float) -> int:
    """The most requests that arrived within any `window` seconds."""
    times = sorted(arrivals)
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def assert_all_planned(env: BridgeEnv, raws: list[bytes]) -> None:
    """One room per meeting, one reply per request with its room's link, every
    message filed and recorded, the folder position at the last UID, nothing
    half-done left."""
    titles = [parse(raw)["Subject"] for raw in raws]
    assert sorted(body["title"] for body in env.simulator.planned_bodies) == sorted(titles)
    rooms = {room["body"]["title"]: room for room in env.simulator.rooms.values()}
    assert sorted(rooms) == sorted(titles)
    replies = {reply.message["In-Reply-To"]: reply for reply in env.smtp.messages}
    assert len(env.smtp.messages) == len(raws) == len(replies)
    for raw in raws:
        original = parse(raw)
        reply = replies[original["Message-ID"]]
        assert reply.rcpt_tos == ("alice@example.com",)
        url = f"https://kmeet.infomaniak.com/{rooms[original['Subject']]['name']}"
        assert f"Join link: {url}" in text_of(reply.message)
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/processed")) == len(raws)
    assert rows(env, "SELECT uid, outcome FROM messages ORDER BY uid") == [
        (uid, "planned") for uid in range(1, len(raws) + 1)
    ]
    assert rows(env, "SELECT folder, last_uid FROM folders") == [("INBOX", len(raws))]
    assert rows(env, "SELECT count(*), sum(in_doubt) FROM meetings WHERE status = 'planned'") == [
        (len(raws), 0)
    ]
    assert rows(env, "SELECT * FROM filing") == []
    assert rows(env, "SELECT * FROM message_plans") == []


def test_a_backlog_is_planned_side_by_side(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4}, senders={"max_rooms_per_hour": 100})
    raws = deliver_backlog(env, 40)
    env.simulator.set_delay(LATENCY)

    started = time.monotonic()
    with bridge_for(env) as bridge:
        report = bridge.run_pass()
    elapsed = time.monotonic() - started

    print(
        f"\n40 invitations, API answering in {LATENCY * 1000:.0f} ms, max_parallel 4: "
        f"{elapsed:.2f} s (one at a time needs more than {40 * LATENCY:.1f} s for the API alone)"
    )
    assert report.summary() == "40 planned"
    assert_all_planned(env, raws)
    # Side by side, never more than max_parallel at once, within the default rate.
    assert 2 <= env.simulator.peak_in_flight <= 4
    assert most_in_any_window([r.received_at for r in posts(env)], 0.9) <= 20


def test_requests_never_exceed_the_configured_rate(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4, "max_requests_per_second": 10})
    raws = deliver_backlog(env, 20)
    env.simulator.set_delay(0.05)  # fast enough that four workers would go far beyond 10/s

    with bridge_for(env) as bridge:
        assert bridge.run_pass().summary() == "20 planned"

    assert_all_planned(env, raws)
    arrivals = sorted(r.received_at for r in posts(env))
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    print(
        f"\n20 requests at most 10/s: {arrivals[-1] - arrivals[0]:.2f} s from first to last, "
        f"gaps {min(gaps) * 1000:.0f}-{max(gaps) * 1000:.0f} ms"
    )
    # Each request begins 100 ms after the one before; 0.1 s of slack for scheduling.
    assert most_in_any_window(arrivals, 0.9) <= 10
    assert arrivals[-1] - arrivals[0] >= 19 * 0.1 - 0.1
    assert env.simulator.peak_in_flight <= 4


def test_a_429_pauses_every_worker_and_the_request_is_made_again(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    raws = deliver_backlog(env, 16)
    env.simulator.set_delay(LATENCY)
    # In the middle of the pass, with every worker busy: one 429, Retry-After: 1.
    when_posts(env, 5, lambda: env.simulator.fail_next(429, retry_after="1"))

    with bridge_for(env) as bridge:
        report = bridge.run_pass()

    assert report.summary() == "16 planned"
    assert_all_planned(env, raws)
    requests = posts(env)
    [limited] = [r for r in requests if r.status == 429]
    assert limited.answered_at is not None
    # Sent once more, once the pause was over: 17 POSTs for 16 rooms.
    assert len(requests) == 17
    assert Counter(r.json["title"] for r in requests)[limited.json["title"]] == 2
    # No worker sent anything during the pause (the answer reaches the bridge,
    # is read and pauses every worker within a few milliseconds).
    during = [
        round(r.received_at - limited.answered_at, 3)
        for r in requests
        if limited.answered_at + 0.1 < r.received_at < limited.answered_at + 1.0
    ]
    assert during == []
    after = [r.received_at - limited.answered_at for r in requests]
    assert min(t for t in after if t > 0.1) >= 1.0


def test_a_long_retry_after_defers_the_rest_of_the_pass_without_a_request(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    raws = deliver_backlog(env, 12)
    env.simulator.set_delay(LATENCY)
    when_posts(env, 4, lambda: env.simulator.fail_next(429, retry_after="120"))
    clock = Clock(T0)

    with bridge_for(env, clock) as bridge:
        first = bridge.run_pass()
        requests = posts(env)
        [limited] = [r for r in requests if r.status == 429]
        assert limited.answered_at is not None
        # Nothing sent after the 429 was read: the others were not asked at all.
        assert [r for r in requests if r.received_at > limited.answered_at + 0.1] == []
        deferred = rows(
            env,
            "SELECT uid, attempts, next_attempt, reason FROM messages WHERE outcome = 'deferred'",
        )
        assert first.counts[Outcome.PLANNED] + first.counts[Outcome.DEFERRED] == 12
        assert len(deferred) == first.counts[Outcome.DEFERRED] >= 12 - len(requests) + 1
        for _, attempts, next_attempt, reason in deferred:
            assert attempts == 1
            assert next_attempt == "2026-12-01T08:02:00+00:00"  # Retry-After, not sooner
            assert "limiting the request rate" in reason and "retry in 120 s" in reason
        assert any("not sent, retry in 120 s" in reason for *_, reason in deferred)
        # Every message has its outcome: the position is at the last UID.
        assert rows(env, "SELECT last_uid FROM folders") == [(12,)]

        clock.now = T0 + timedelta(seconds=119)
        assert bridge.run_pass().summary() == "nothing new"
        clock.now = T0 + timedelta(seconds=120)
        second = bridge.run_pass()

    assert second.counts[Outcome.PLANNED] == first.counts[Outcome.DEFERRED]
    assert_all_planned(env, raws)


def test_copies_of_one_invitation_in_one_pass_get_one_room(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    env.simulator.set_delay(LATENCY)
    original = meeting(5)
    forwarded = original.replace(b"Message-ID: <", b"Message-ID: <forwarded-", 1)
    backlog = [meeting(n) for n in range(5)] + [original, forwarded, original]
    backlog += [meeting(n) for n in range(6, 10)]
    for raw in backlog:
        env.deliver(raw)

    with bridge_for(env) as bridge:
        assert bridge.run_pass().summary() == "12 planned"

    titles = Counter(body["title"] for body in env.simulator.planned_bodies)
    assert titles == Counter(f"Meeting {n}" for n in range(10))
    [room] = [r for r in env.simulator.rooms.values() if r["body"]["title"] == "Meeting 5"]
    url = f"https://kmeet.infomaniak.com/{room['name']}"
    # The forwarded copy and the exact copy are answered with the same link: a reply
    # belongs to the very message (folder, UIDVALIDITY, UID), not to a Message-ID
    # anybody can copy.
    answers = [r.message for r in env.smtp.messages if r.message["Subject"] == "Re: Meeting 5"]
    first, copy = parse(original)["Message-ID"], parse(forwarded)["Message-ID"]
    assert sorted(m["In-Reply-To"] for m in answers) == sorted([first, copy, first])
    assert all(url in text_of(m) for m in answers)
    assert len(env.smtp.messages) == 12
    assert len(env.uids("kmeet/processed")) == 12
    assert rows(env, "SELECT count(*) FROM meetings WHERE in_doubt = 0") == [(10,)]
    assert rows(env, "SELECT last_uid FROM folders") == [(12,)]


def test_an_update_and_a_cancellation_never_overtake_their_invitation(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    env.simulator.set_delay(LATENCY)
    shortened = meeting(3, end="20270301T123000", sequence=1, title="Meeting 3 (short)")
    cancelled = meeting(5, sequence=1, method="CANCEL", extra="STATUS:CANCELLED")
    # Each follow-up right behind its invitation, while that one waits for the API.
    backlog = [meeting(0), meeting(1), meeting(2), meeting(3), shortened]
    backlog += [meeting(4), meeting(5), cancelled, meeting(6)]
    for raw in backlog:
        env.deliver(raw)

    with bridge_for(env) as bridge:
        assert bridge.run_pass().summary() == "9 planned"

    assert len(env.simulator.planned_bodies) == 7  # one room per meeting, none again
    assert rows(
        env,
        "SELECT title, ending_at, status FROM meetings WHERE key LIKE '%backlog-3@%' "
        "OR key LIKE '%backlog-5@%' ORDER BY key",
    ) == [
        ("Meeting 3 (short)", "2027-03-01 12:30:00", "planned"),
        ("Meeting 5", "2027-03-01 14:45:00", "cancelled"),
    ]
    replies = {r.message["In-Reply-To"]: text_of(r.message) for r in env.smtp.messages}
    assert (
        "This meeting has been updated. The link stays the same."
        in (replies[parse(shortened)["Message-ID"]])
    )
    assert "Cancelled: Meeting 5" in replies[parse(cancelled)["Message-ID"]]
    assert rows(env, "SELECT event, outcome FROM message_events WHERE uid = 8") == [
        ("ics:alice@example.com:backlog-5@example.com:", "cancelled")
    ]


def test_stop_ends_the_pass_after_the_messages_in_hand(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    deliver_backlog(env, 16)
    env.simulator.set_delay(0.3)
    stop = threading.Event()
    when_posts(env, 3, stop.set)

    with bridge_for(env) as bridge:
        report = bridge.run_pass(stop)

    handled = report.counts[Outcome.PLANNED]
    assert report.summary() == f"{handled} planned"
    assert 3 <= handled < 16
    # The lowest UIDs were handled, all of them to the end; the others not touched.
    assert rows(env, "SELECT uid, outcome FROM messages ORDER BY uid") == [
        (uid, "planned") for uid in range(1, handled + 1)
    ]
    assert env.uids("INBOX") == list(range(handled + 1, 17))
    assert len(env.smtp.messages) == len(env.simulator.rooms) == handled
    assert rows(env, "SELECT last_uid FROM folders") == [(handled,)]


def test_a_token_refused_mid_pass_stops_it_and_loses_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    raws = deliver_backlog(env, 12)
    env.simulator.set_delay(LATENCY)
    token = env.simulator.token
    when_posts(env, 3, lambda: setattr(env.simulator, "token", "revoked-token-0123456789"))

    with bridge_for(env) as bridge, pytest.raises(TokenRefused):
        bridge.run_pass()

    # The messages in hand when the token went are deferred, due at once; the ones
    # behind them untouched; the position stops before the first unfinished one.
    recorded = rows(env, "SELECT uid, outcome FROM messages ORDER BY uid")
    planned = [uid for uid, outcome in recorded if outcome == "planned"]
    refused = [uid for uid, outcome in recorded if outcome == "deferred"]
    assert planned and refused and len(recorded) < 12
    assert sorted(planned + refused) == list(range(1, len(recorded) + 1))
    [(position,)] = rows(env, "SELECT last_uid FROM folders")
    assert position == min(refused) - 1
    assert rows(env, "SELECT count(*) FROM meetings") == [(len(planned),)]

    env.simulator.token = token
    with bridge_for(env) as bridge:
        assert bridge.run_pass().summary() == f"{12 - len(planned)} planned"
    assert_all_planned(env, raws)


def test_the_rooms_per_hour_limit_holds_with_several_workers(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4}, senders={"max_rooms_per_hour": 5})
    deliver_backlog(env, 10)
    env.simulator.set_delay(LATENCY)

    with bridge_for(env) as bridge:
        assert bridge.run_pass().summary() == "5 planned, 5 rejected"

    assert len(env.simulator.planned_bodies) == 5
    refused = rows(env, "SELECT reason FROM messages WHERE outcome = 'rejected'")
    assert len(refused) == 5
    assert all("5 rooms were planned within the last hour" in reason for (reason,) in refused)


def test_a_server_that_allows_one_connection_gets_one_worker(
    bridge_env: BridgeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = bridge_env
    env.write_config(kmeet={"max_parallel": 4})
    raws = deliver_backlog(env, 6)
    settings = env.settings()
    opened: list[Mailbox] = []

    def one_connection() -> Mailbox:
        if opened:
            raise MailboxUnavailable("IMAP server 127.0.0.1: too many connections")
        opened.append(Mailbox(settings.imap))
        return opened[-1]

    with (
        caplog.at_level(logging.WARNING, logger="kmeet_bridge"),
        bridge_for(env, mailbox=one_connection) as bridge,
    ):
        assert bridge.run_pass().summary() == "6 planned"

    assert_all_planned(env, raws)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    refused = (
        "one worker fewer in this pass: no extra IMAP connection: IMAP server 127.0.0.1: too "
        "many connections"
    )
    assert warnings == [refused] * (4 + SPARE_WORKERS - 1)
