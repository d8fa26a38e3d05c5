"""[metrics] listen: the daemon serves Prometheus text; scraped over HTTP during
and after real passes against the real servers, with exact numbers."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.dovecot import free_port
from tests.support.harness import BridgeEnv, invitation, running_cli

STRANGER = invitation(
    uid="offer@elsewhere.example", start="20270320T100000", end="20270320T110000"
).replace(b"From: Alice Example <alice@example.com>", b"From: Eve <eve@attacker.test>")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """Every sample the endpoint serves, by name and labels."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for(port: int, condition: Callable[[Samples], bool], timeout: float = 20.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples = scrape(port)
            if condition(samples):
                return samples
        except httpx.TransportError:
            pass  # not listening yet
        assert time.monotonic() < deadline, "the metrics never showed the expected state"
        time.sleep(0.05)


def outcomes(samples: Samples) -> dict[str, float]:
    return {
        outcome: value(samples, "kmeet_bridge_messages_total", outcome=outcome)
        for outcome in ("planned", "ignored", "rejected", "deferred")
    }


def test_metrics_during_and_after_real_passes(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    port = free_port()
    env.write_config(
        imap={"poll_interval": 5},
        kmeet={"max_parallel": 1},  # one message after the other: a known state mid-pass
        metrics={"listen": f"127.0.0.1:{port}"},
    )
    env.deliver_corpus("plain_message.eml")
    env.deliver(invitation(uid="q1@example.com", start="20270315T140000", end="20270315T150000"))
    env.deliver(STRANGER)
    env.simulator.set_delay(2.0)  # the API call of the first pass takes a while
    started = time.time()
    with running_cli("run", "--config", str(env.config_path)) as process:
        # During the first pass: the plain message is counted, the invitation's API
        # call is under way (its meeting counts as in doubt until the answer).
        during = wait_for(port, lambda s: s[("kmeet_bridge_meetings_in_doubt", ())] == 1)
        assert outcomes(during) == {"planned": 0, "ignored": 1, "rejected": 0, "deferred": 0}
        assert value(during, "kmeet_bridge_replies_sent_total") == 0
        assert value(during, "kmeet_bridge_messages_waiting") == 0
        assert value(during, "kmeet_bridge_last_successful_pass_timestamp_seconds") == 0
        assert value(during, "kmeet_bridge_imap_up") == 0  # no pass has ended yet
        assert not [key for key in during if key[0] == "kmeet_bridge_api_requests_total"]

        after = wait_for(
            port, lambda s: s[("kmeet_bridge_last_successful_pass_timestamp_seconds", ())] > 0
        )
        assert outcomes(after) == {"planned": 1, "ignored": 1, "rejected": 1, "deferred": 0}
        assert value(after, "kmeet_bridge_api_requests_total", method="POST", status="200") == 1
        assert value(after, "kmeet_bridge_api_request_duration_seconds_count", method="POST") == 1
        assert value(after, "kmeet_bridge_api_request_duration_seconds_sum", method="POST") >= 2
        assert (
            value(
                after, "kmeet_bridge_api_request_duration_seconds_bucket", method="POST", le="1.0"
            )
            == 0
        )
        assert (
            value(
                after, "kmeet_bridge_api_request_duration_seconds_bucket", method="POST", le="2.5"
            )
            == 1
        )
        assert value(after, "kmeet_bridge_replies_sent_total") == 1  # none to the stranger
        assert value(after, "kmeet_bridge_meetings_in_doubt") == 0
        assert value(after, "kmeet_bridge_messages_waiting") == 0
        assert value(after, "kmeet_bridge_oldest_waiting_message_age_seconds") == 0
        assert value(after, "kmeet_bridge_imap_up") == 1
        wait_for(port, lambda s: s[("kmeet_bridge_imap_idle", ())] == 1)  # the watcher listens
        last_pass = value(after, "kmeet_bridge_last_successful_pass_timestamp_seconds")
        assert started <= last_pass <= time.time()

        # The API fails: the next invitation is deferred and waits.
        env.simulator.set_delay(0)
        env.simulator.fail_next(500)
        env.deliver(
            invitation(uid="q2@example.com", start="20270316T140000", end="20270316T150000")
        )
        deferred = wait_for(port, lambda s: s[("kmeet_bridge_messages_waiting", ())] == 1)
        assert outcomes(deferred) == {"planned": 1, "ignored": 1, "rejected": 1, "deferred": 1}
        assert value(deferred, "kmeet_bridge_api_requests_total", method="POST", status="500") == 1
        assert value(deferred, "kmeet_bridge_api_requests_total", method="POST", status="200") == 1
        assert value(deferred, "kmeet_bridge_replies_sent_total") == 1
        assert 0 <= value(deferred, "kmeet_bridge_oldest_waiting_message_age_seconds") < 30
        time.sleep(1.1)
        later = scrape(port)  # the age is read at each scrape: it grows
        assert value(later, "kmeet_bridge_oldest_waiting_message_age_seconds") >= 1

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"metrics served at http://127.0.0.1:{port}/metrics" in stderr


def test_a_metrics_port_already_taken_is_one_line(bridge_env: BridgeEnv) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge_env.write_config(metrics={"listen": f"127.0.0.1:{port}"})
        result = bridge_env.command("run")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"kmeet-bridge: [metrics] listen = 127.0.0.1:{port}: cannot listen there: "
        "address already in use"
    )
    assert "Traceback" not in result.stderr
