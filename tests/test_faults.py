"""Failures, in process with a clock the test controls, against the real servers
(Dovecot, the SMTP sink, the API simulator): transient ones defer the message
until the service is back (probed on a schedule of its own, health.py) or, for a
429, with backoff; all within `[kmeet] retry_for`. Permanent ones reject or stop
the pass, and a message the code fails on is filed with its error while the
others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from kmeet_bridge.bridge import Bridge, TokenRefused
from kmeet_bridge.kmeet import KMeetClient
from kmeet_bridge.mail.mailbox import Mailbox, MailboxError
from kmeet_bridge.mail.mailer import Mailer
from kmeet_bridge.models import Extraction, Outcome
from kmeet_bridge.pacing.health import Health
from kmeet_bridge.steps.recording import retry_delay
from kmeet_bridge.store import Store
from tests.support.dovecot import free_port
from tests.support.harness import BridgeEnv, invitation, rows, text_of

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KEY = "ics:alice@example.com:fault-1@example.com:"
MESSAGE_ID = "<fault-1.example.com-0-request@example.com>"
RETRY_ADVICE = "try again later; if it keeps failing, check the network and [kmeet] api_url"
API_503 = f"the Infomaniak API failed on its side (HTTP 503, POST /1/kmeet/rooms); {RETRY_ADVICE}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> Clock:
        self.now = T0 + timedelta(seconds=seconds)
        return self


@contextmanager
def bridge_for(
    env: BridgeEnv, clock: Clock, make: Callable[..., Bridge] = Bridge
) -> Iterator[Bridge]:
    settings = env.settings()
    with Store(env.state_path) as store, KMeetClient(settings.kmeet) as planner:
        yield make(
            settings,
            store,
            mailbox=lambda: Mailbox(settings.imap),
            mailer=Mailer(settings.smtp),
            planner=planner,
            clock=clock,
            health=Health(random=lambda: 0.5),  # probes without jitter: 1 s, 2 s, 4 s...
        )


@pytest.fixture(autouse=True)
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff without its random spread, so that retry times are exact."""
    monkeypatch.setattr("kmeet_bridge.steps.recording.random.uniform", lambda low, high: 1.0)


def deliver(env: BridgeEnv, uid: str = "fault-1@example.com", **kwargs: str) -> None:
    env.deliver(invitation(uid=uid, start="20270315T140000", end="20270315T150000", **kwargs))


def posts(env: BridgeEnv) -> int:
    return sum(1 for request in env.simulator.requests if request.method == "POST")


def probes(env: BridgeEnv) -> int:
    return sum(1 for request in env.simulator.requests if request.method == "GET")


DEADLINE = "2026-12-02T08:00:00+00:00"  # T0 + retry_for: a waiting message's only retry time


def deferred(env: BridgeEnv) -> list[tuple]:
    return rows(env, "SELECT uid, outcome, attempts, next_attempt, reason FROM messages")


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_backoff_doubles_up_to_an_hour_and_retry_after_wins() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 6, 7, 20)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]
    assert retry_delay(1, retry_after=120).total_seconds() == 120
    assert retry_delay(3, retry_after=120).total_seconds() == 240


def test_a_server_error_holds_the_message_until_a_probe_finds_the_api_back(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.fail_next(503)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [(1, "deferred", 1, DEADLINE, API_503)]
        assert rows(env, "SELECT uid, service FROM waiting") == [(1, "api")]
        assert env.uids("INBOX") == [1]
        assert rows(env, "SELECT * FROM meetings") == []  # the 503 planned nothing
        assert bridge.run_pass().summary() == "nothing new"  # no probe due yet
        assert (posts(env), probes(env)) == (1, 0)
        clock.at(1)  # the first probe (GET /api/pim/calendar) finds the API back
        assert bridge.run_pass().summary() == "1 planned"

    assert (posts(env), probes(env)) == (2, 1)
    assert rows(env, "SELECT * FROM waiting") == []
    assert len(env.simulator.rooms) == 1
    assert len(env.smtp.messages) == 1
    assert env.uids("INBOX") == []
    assert rows(env, "SELECT outcome, attempts, next_attempt FROM messages") == [
        ("planned", 1, None)
    ]


def test_a_rate_limit_is_retried_no_sooner_than_retry_after(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.fail_next(429, retry_after="120")
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [
            (
                1,
                "deferred",
                1,
                "2026-12-01T08:02:00+00:00",
                "the Infomaniak API is limiting the request rate (HTTP 429: Too many requests, "
                "POST /1/kmeet/rooms); retry in 120 s",
            )
        ]
        clock.at(119)
        assert bridge.run_pass().summary() == "nothing new"
        clock.at(120)
        assert bridge.run_pass().summary() == "1 planned"
    assert posts(env) == 2
    assert len(env.smtp.messages) == 1


def test_a_503_with_retry_after_holds_every_message_no_sooner(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.fail_next(503, retry_after="600")  # service-wide, not for this message
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [
            (1, "deferred", 1, DEADLINE, f"{API_503} (the API asked to wait 600 s)")
        ]
        clock.at(300)  # another invitation arrives: it waits too, without a request
        deliver(env, uid="fault-2@example.com")
        assert bridge.run_pass().summary() == "1 deferred"
        clock.at(599)
        assert bridge.run_pass().summary() == "nothing new"
        assert (posts(env), probes(env)) == (1, 0)
        clock.at(600)
        assert bridge.run_pass().summary() == "2 planned"
    assert (posts(env), probes(env)) == (3, 1)
    assert [r.message["In-Reply-To"] for r in env.smtp.messages] == [
        MESSAGE_ID,
        "<fault-2.example.com-0-request@example.com>",
    ]


def test_an_answer_slower_than_the_timeout_defers_and_leaves_the_meeting_in_doubt(
    bridge_env: BridgeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = bridge_env
    env.write_config(kmeet={"timeout": 1})
    deliver(env)
    env.simulator.set_delay(1.5)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [
            (
                1,
                "deferred",
                1,
                DEADLINE,
                "the Infomaniak API did not answer within 1 s (POST /1/kmeet/rooms; the request "
                f"may have been carried out); {RETRY_ADVICE}",
            )
        ]
        # The call may have worked: the meeting stays 'planning', shown as in doubt.
        assert rows(env, "SELECT key, status, in_doubt FROM meetings") == [(KEY, "planning", 0)]
        env.simulator.reset()
        wait_until(lambda: len(env.simulator.rooms) == 1)  # it did, too late
        clock.at(60)
        with caplog.at_level(logging.WARNING, logger="kmeet_bridge"):
            assert bridge.run_pass().summary() == "1 planned"

    assert len(env.simulator.rooms) == 2
    assert rows(env, "SELECT key, status, in_doubt FROM meetings") == [(KEY, "planned", 1)]
    assert f"meeting {KEY} is in doubt" in caplog.text
    assert len(env.smtp.messages) == 1


def test_a_dropped_connection_defers_and_the_retry_is_flagged_in_doubt(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.drop_next()
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [
            (
                1,
                "deferred",
                1,
                DEADLINE,
                "the Infomaniak API closed the connection without a complete answer (POST "
                f"/1/kmeet/rooms; the request may have been carried out); {RETRY_ADVICE}",
            )
        ]
        clock.at(60)
        assert bridge.run_pass().summary() == "1 planned"
    # This time the API had planned nothing, but the bridge could not know.
    assert len(env.simulator.rooms) == 1
    assert rows(env, "SELECT status, in_doubt FROM meetings") == [("planned", 1)]


def test_past_retry_for_the_message_is_rejected_with_an_explanation(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.start_outage(503)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        clock.at(86399)  # one second short of retry_for: a probe, the message still waits
        assert bridge.run_pass().summary() == "nothing new"
        assert env.smtp.messages == []
        clock.at(86400)
        assert bridge.run_pass().summary() == "1 rejected"

    assert probes(env) == 1  # the probe at 86400 was not due yet (1 s, then 2 s)
    assert rows(env, "SELECT outcome, attempts, reason FROM messages") == [
        ("rejected", 1, f"it could not be planned for 24 hours: {API_503}")
    ]
    assert posts(env) == 1
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/failed")) == 1
    [rejection] = env.smtp.messages
    assert rejection.message["In-Reply-To"] == MESSAGE_ID
    assert f"What went wrong: Planning the meeting kept failing for 24 hours: {API_503}" in (
        text_of(rejection.message)
    )


def test_a_validation_error_rejects_at_once_with_the_apis_words(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.fail_next(
        422,
        envelope={
            "result": "error",
            "error": {
                "code": "validation_failed",
                "description": "The given data was invalid",
                "errors": [
                    {
                        "code": "validation_after",
                        "description": "ending_at must be a date after starting_at",
                        "context": {"attribute": "ending_at"},
                    }
                ],
            },
        },
    )
    with bridge_for(env, Clock(T0)) as bridge:
        assert bridge.run_pass().summary() == "1 rejected"
    explanation = (
        "the Infomaniak API rejected the request (HTTP 422, POST /1/kmeet/rooms): The given data "
        "was invalid - ending_at must be a date after starting_at; check the meeting's times and "
        "the [kmeet] settings (calendar_id, hostname, [kmeet.room])"
    )
    assert rows(env, "SELECT outcome, attempts, reason FROM messages") == [
        ("rejected", 0, f"Budget review: the kMeet API refused to plan it: {explanation}")
    ]
    assert posts(env) == 1
    assert rows(env, "SELECT * FROM meetings") == []
    [reply] = env.smtp.messages
    assert explanation in text_of(reply.message)
    assert len(env.uids("kmeet/failed")) == 1


def test_a_refused_token_stops_the_pass_and_touches_nothing(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    for n in (1, 2, 3):
        deliver(env, uid=f"fault-{n}@example.com")
    env.simulator.fail_next(403)
    with bridge_for(env, Clock(T0)) as bridge, pytest.raises(TokenRefused):
        bridge.run_pass()
    assert env.uids("INBOX") == [1, 2, 3]
    assert env.smtp.messages == []
    # Only the message in hand is recorded, due at once; the others were not looked at.
    assert rows(env, "SELECT uid, outcome, next_attempt FROM messages") == [
        (1, "deferred", "2026-12-01T08:00:00+00:00")
    ]
    assert rows(env, "SELECT * FROM meetings") == []
    assert rows(env, "SELECT * FROM folders") == []


def test_smtp_down_after_planning_keeps_the_room_and_replies_later(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.smtp.fail_next(451)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        assert deferred(env) == [
            (
                1,
                "deferred",
                1,
                DEADLINE,
                f"the reply could not be sent: SMTP server 127.0.0.1:{env.smtp.port} refused "
                "sending the message: 451 4.3.0 failure injected by the test",
            )
        ]
        [room] = env.simulator.rooms.values()
        url = f"https://kmeet.infomaniak.com/{room['name']}"
        assert rows(env, "SELECT status FROM meetings") == [("planned",)]
        assert env.uids("INBOX") == [1]
        assert env.smtp.messages == []

        clock.at(60)
        assert bridge.run_pass().summary() == "1 planned"

    assert posts(env) == 1
    [reply] = env.smtp.messages
    text = text_of(reply.message)
    assert text.startswith("Your kMeet meeting has been scheduled.\r\n")
    assert f"Join link: {url}" in text
    assert env.uids("INBOX") == []
    assert rows(env, "SELECT outcome, reason FROM messages") == [("planned", f"new: {url}")]


def test_smtp_down_past_retry_for_files_the_message_without_a_reply(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.smtp.fail_next(451, times=3)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        clock.at(86400)
        assert bridge.run_pass().summary() == "1 rejected"
    smtp_error = (
        f"the reply could not be sent: SMTP server 127.0.0.1:{env.smtp.port} refused sending "
        "the message: 451 4.3.0 failure injected by the test"
    )
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("rejected", f"it could not be planned for 24 hours: {smtp_error}; no reply could be sent")
    ]
    assert env.smtp.messages == []
    assert len(env.uids("kmeet/failed")) == 1
    assert posts(env) == 1  # the room stays planned
    assert rows(env, "SELECT status FROM meetings") == [("planned",)]


class BrokenOnOne(Bridge):
    """Fails on one message, as a bug or a strange part would."""

    def extract(self, message: EmailMessage) -> Extraction:
        if message["Message-ID"] == "<bad@example.com>":
            raise ValueError("a strange part\nover two lines")
        return super().extract(message)


def test_a_message_the_code_fails_on_is_filed_with_its_error_and_the_pass_goes_on(
    bridge_env: BridgeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = bridge_env
    deliver(env, uid="good-1@example.com")
    deliver(env, uid="bad@example.com", message_id="<bad@example.com>")
    deliver(env, uid="good-2@example.com")
    with (
        caplog.at_level(logging.INFO, logger="kmeet_bridge"),
        bridge_for(env, Clock(T0), BrokenOnOne) as bridge,
    ):
        report = bridge.run_pass()

    assert report.counts == {Outcome.PLANNED: 2, Outcome.REJECTED: 1}
    assert rows(env, "SELECT uid, outcome, reason FROM messages WHERE uid = 2") == [
        (
            2,
            "rejected",
            "the bridge failed on this message (ValueError: a strange part over two lines)",
        )
    ]
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/processed")) == 2
    assert len(env.uids("kmeet/failed")) == 1
    assert rows(env, "SELECT folder, last_uid FROM folders") == [("INBOX", 3)]
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage() == (
        "message INBOX:2 <bad@example.com> failed unexpectedly: ValueError: a strange part over "
        "two lines"
    )
    assert error.exc_info is not None and error.exc_info[0] is ValueError
    # The sender is allowed: told that something went wrong, without the details.
    replies = {r.message["In-Reply-To"]: r.message for r in env.smtp.messages}
    assert len(replies) == 3
    text = text_of(replies["<bad@example.com>"])
    assert "An internal error occurred in kmeet-bridge." in text
    assert "ValueError" not in text


def test_a_deferred_message_that_leaves_the_folder_is_no_longer_retried(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    deliver(env)
    env.simulator.fail_next(503)
    clock = Clock(T0)
    with bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "1 deferred"
        with Mailbox(env.settings().imap) as mailbox:  # the owner files it elsewhere
            mailbox.select("INBOX")
            mailbox.move(1, "Archive")
        clock.at(60)
        assert bridge.run_pass().summary() == "1 ignored"
        clock.at(3600)
        assert bridge.run_pass().summary() == "nothing new"
    assert rows(env, "SELECT outcome, reason, message_id FROM messages") == [
        ("ignored", "it left the folder before the bridge could handle it", MESSAGE_ID)
    ]
    assert posts(env) == 1


# -- real processes --------------------------------------------------------------


def test_a_refused_token_keeps_every_message_until_the_token_is_fixed(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    for n in (1, 2, 3):
        deliver(env, uid=f"fault-{n}@example.com")
    (env.directory / "api-token").write_text("wrong-token-abc123\n")

    result = env.command("once")

    assert result.returncode == 1
    assert result.stdout == ""
    refused = (
        "the API token was refused (HTTP 401: not_authorized, Authorization required, POST "
        "/1/kmeet/rooms); create a token with the kMeet and calendar scopes in the Infomaniak "
        "Manager (API tokens) and put it in [kmeet] token_file"
    )
    assert result.stderr.splitlines()[-1] == f"kmeet-bridge: {refused}"
    assert env.uids("INBOX") == [1, 2, 3]
    assert env.dovecot.folders(env.user, env.password) == ["INBOX"]  # nothing was moved
    assert env.smtp.messages == []
    assert rows(env, "SELECT uid, outcome FROM messages") == [(1, "deferred")]
    status = env.command("status").stdout.splitlines()
    assert status[0].endswith(f", did not finish (stopped: {refused})")

    (env.directory / "api-token").write_text(env.simulator.token + "\n")
    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass finished: 3 planned\n"
    assert len(env.simulator.rooms) == 3
    assert len(env.smtp.messages) == 3
    assert env.uids("INBOX") == []
    assert len(env.uids("kmeet/processed")) == 3


# -- outages, said once ------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's clock in UTC, so that the local times in the lines are exact."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """What the log said of the services' health."""
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if " unavailable since " in r.getMessage() or " restored after " in r.getMessage()
    ]


def service_lines(env: BridgeEnv) -> list[str]:
    """The lines `kmeet-bridge status` prints between the last pass and the counts."""
    lines = env.command("status", env={"TZ": "UTC"}).stdout.splitlines()
    return lines[1 : next(n for n, line in enumerate(lines) if line.startswith("messages:"))]


def test_an_api_outage_is_said_once_in_the_log_and_by_status_and_so_is_its_end(
    bridge_env: BridgeEnv, caplog: pytest.LogCaptureFixture, utc: None
) -> None:
    env = bridge_env
    for n in (1, 2, 3, 4):
        deliver(env, uid=f"fault-{n}@example.com")
    env.simulator.start_outage(503)
    clock = Clock(T0).at(120)  # 08:02
    with caplog.at_level(logging.INFO, logger="kmeet_bridge"), bridge_for(env, clock) as bridge:
        assert bridge.run_pass().summary() == "4 deferred"
        assert (posts(env), probes(env)) == (1, 0)  # the first found it down; no more
        assert said(caplog) == [
            ("WARNING", "kMeet API unavailable since 08:02 (503), 4 messages waiting")
        ]
        assert service_lines(env) == ["kMeet API unavailable since 08:02 (503), 4 messages waiting"]
        for seconds in (121, 123, 127):  # the probes, each failing, and nothing more said
            clock.at(seconds)
            assert bridge.run_pass().summary() == "nothing new"
        assert (posts(env), probes(env)) == (1, 3)
        env.simulator.end_outage()
        clock.at(120 + 12 * 60)  # 08:14: the next probe finds it back
        assert bridge.run_pass().summary() == "4 planned"

    assert (posts(env), probes(env)) == (5, 4)
    assert said(caplog) == [
        ("WARNING", "kMeet API unavailable since 08:02 (503), 4 messages waiting"),
        ("INFO", "kMeet API restored after 12 min"),
    ]
    assert service_lines(env) == ["kMeet API restored after 12 min"]
    # Served in arrival order.
    assert [m.message["In-Reply-To"] for m in env.smtp.messages] == [
        f"<fault-{n}.example.com-0-request@example.com>" for n in (1, 2, 3, 4)
    ]


def test_an_imap_outage_is_said_once_and_the_pass_after_it_is_its_probe(
    bridge_env: BridgeEnv, caplog: pytest.LogCaptureFixture, utc: None
) -> None:
    env = bridge_env
    settings = env.settings()
    unreachable = replace(settings.imap, port=free_port("127.0.0.1"))
    server = {"imap": unreachable}
    clock = Clock(T0)
    with Store(env.state_path) as store, KMeetClient(settings.kmeet) as planner:
        bridge = Bridge(
            settings,
            store,
            mailbox=lambda: Mailbox(server["imap"]),
            mailer=Mailer(settings.smtp),
            planner=planner,
            clock=clock,
            health=Health(random=lambda: 0.5),
        )
        with caplog.at_level(logging.INFO, logger="kmeet_bridge"):
            for seconds in (0, 1, 3):
                clock.at(seconds)
                with pytest.raises(MailboxError):
                    bridge.run_pass()
            assert bridge.health.next_probe_in(clock()) == 4
            assert bridge.health.status_line(clock()) == (
                "IMAP server unavailable since 08:00 (no answer)"
            )
            server["imap"] = settings.imap
            clock.at(7)
            assert bridge.run_pass().summary() == "nothing new"
    assert said(caplog) == [
        ("WARNING", "IMAP server unavailable since 08:00 (no answer)"),
        ("INFO", "IMAP server restored after 7s"),
    ]
