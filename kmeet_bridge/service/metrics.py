"""Prometheus metrics for `run`, served at http://[metrics] listen/metrics.

Two kinds of numbers:

- what happened since the daemon started, counted as it happens: messages by
  outcome, API requests by method and HTTP status and their latency, replies
  the SMTP server accepted, whether the last pass reached the mailbox and
  whether the IDLE watcher is connected;
- what the state database says now, read at every scrape so it is never stale:
  deferred messages waiting and the age of the oldest, the time of the last
  successful pass, meetings in doubt (as `status` counts them: a meeting whose
  API call is under way counts until its answer, at most `[kmeet] timeout`).

Names follow Prometheus conventions (`_total` for counters, base units).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kmeet_bridge.bridge import MailerPort, PassReport
from kmeet_bridge.config import ConfigError
from kmeet_bridge.models import Outcome
from kmeet_bridge.service import status
from kmeet_bridge.store import Store

log = logging.getLogger(__name__)

# Seconds; the API usually answers within a second, its timeout is 30 s by default.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The bridge's metrics in a registry of their own."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "kmeet_bridge_messages",
            "Messages that got an outcome since the start, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in Outcome:  # every outcome shows, 0 until it happens
            self.messages.labels(outcome=str(outcome))
        self.api_requests = Counter(
            "kmeet_bridge_api_requests",
            'Requests to the Infomaniak API, by method and HTTP status ("none": no answer)',
            ["method", "status"],
            registry=self.registry,
        )
        self.api_latency = Histogram(
            "kmeet_bridge_api_request_duration_seconds",
            "Time from sending an API request to its answer (or to giving up), by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replies = Counter(
            "kmeet_bridge_replies_sent",
            "Replies the SMTP server accepted",
            registry=self.registry,
        )
        self.imap_up = Gauge(
            "kmeet_bridge_imap_up",
            "1 when the last pass reached the mailbox, 0 when it could not (no pass yet: 0)",
            registry=self.registry,
        )
        self.imap_idle = Gauge(
            "kmeet_bridge_imap_idle",
            "1 while the IDLE watcher's connection is up and listening for new mail",
            registry=self.registry,
        )
        self.registry.register(_StateCollector(store, clock))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- fed by the daemon -----------------------------------------------------------

    def api_request(self, method: str, status: str, seconds: float) -> None:
        """KMeetClient's `observe`."""
        self.api_requests.labels(method=method, status=status).inc()
        self.api_latency.labels(method=method).observe(seconds)

    def report(self) -> PassReport:
        """A report for the next pass that counts each outcome here as it happens."""
        return PassReport(on_outcome=lambda o: self.messages.labels(outcome=str(o)).inc())

    def pass_ended(self, *, mailbox_reached: bool | None) -> None:
        """After a pass, finished or not; `mailbox_reached` None: it did not say."""
        if mailbox_reached is not None:
            self.imap_up.set(1 if mailbox_reached else 0)

    def watch_idle(self, listening: Callable[[], bool]) -> None:
        """Read the IDLE watcher's state at each scrape."""
        self.imap_idle.set_function(lambda: 1.0 if listening() else 0.0)

    def mailer(self, mailer: MailerPort) -> MailerPort:
        """`mailer`, counting the replies it gets accepted."""
        return _CountingMailer(mailer, self.replies)

    # -- the HTTP endpoint -----------------------------------------------------------

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics in a thread of its own until `close()`."""
        try:
            self._server, self._thread = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"[metrics] listen = {host}:{port}: cannot listen there: "
                f"{(exc.strerror or str(exc)).lower()}"
            ) from None
        log.info("metrics served at http://%s:%d/metrics", host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class _CountingMailer:
    def __init__(self, mailer: MailerPort, sent: Counter) -> None:
        self._mailer = mailer
        self._sent = sent

    def send(self, message: EmailMessage) -> None:
        self._mailer.send(message)  # raises when not accepted: not counted
        self._sent.inc()

    def check(self) -> str:  # the probe while the SMTP server is down (health.py)
        return self._mailer.check()


class _StateCollector(Collector):
    """The gauges read from the state database at each scrape."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        snapshot = status.read(self._store, self._clock())
        oldest = snapshot.oldest_waiting
        last_ok = snapshot.last_ok_pass_at
        yield from (
            GaugeMetricFamily(
                "kmeet_bridge_messages_waiting",
                "Deferred messages waiting in the mailbox for their next attempt",
                value=len(snapshot.deferred),
            ),
            GaugeMetricFamily(
                "kmeet_bridge_oldest_waiting_message_age_seconds",
                "How long the longest-waiting deferred message has waited (0: none waits)",
                value=oldest.total_seconds() if oldest is not None else 0.0,
            ),
            GaugeMetricFamily(
                "kmeet_bridge_last_successful_pass_timestamp_seconds",
                "When the last pass that finished without error ended, Unix time (0: never)",
                value=last_ok.timestamp() if last_ok is not None else 0.0,
            ),
            GaugeMetricFamily(
                "kmeet_bridge_meetings_in_doubt",
                "Meetings that may have a second room, or whose API call has no answer yet",
                value=len(snapshot.in_doubt),
            ),
        )
