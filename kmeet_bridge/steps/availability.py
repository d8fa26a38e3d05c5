"""The services as one message's steps reach them (health.py keeps their state).

`Availability` is the contract between the steps and a service that may be
down: while it is, nothing but a probe goes to it (`probe`, at the start of a
pass); every API call waits for the throttle's slot and turn, and is not sent
at all while the API is down (`call_api` raises `Unavailable`); each change of
a service's health is said once, in the log and in the state (`announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from kmeet_bridge.kmeet import KMeetError, RateLimited, TransientError
from kmeet_bridge.mail.mailbox import LoginFailed, MailboxError
from kmeet_bridge.mail.mailer import MailerError
from kmeet_bridge.pacing.health import API, IMAP, Health, Outage
from kmeet_bridge.pacing.throttle import Throttle
from kmeet_bridge.steps.handling import MailerPort, PlannerPort
from kmeet_bridge.store import Store

# One message's steps log as the bridge: the lines, and the dry run's silencing
# of them (cli.dry_pass), stay as they were before the steps had modules.
log = logging.getLogger("kmeet_bridge.bridge")
T = TypeVar("T")


class Unavailable(TransientError):
    """A request not sent: the service is down (health.py) and only probes go to it."""


class Availability:
    def __init__(
        self,
        health: Health,
        throttle: Throttle,
        planner: PlannerPort,
        mailer: MailerPort,
        store: Store,
        clock: Callable[[], datetime],
    ) -> None:
        self.health = health
        self.throttle = throttle
        self.planner = planner
        self.mailer = mailer
        self.store = store
        self.clock = clock

    def probe(self) -> None:
        """One cheap request to each service that is down and due for a probe; none
        to a service that is up. A success releases the messages waiting for it."""
        api, smtp = self.health.api, self.health.smtp
        if api.probe_due(self.clock()):
            try:
                self.throttle.send(self.planner.list_calendars)
            except KMeetError as exc:
                if api_down(exc):
                    api.failed(api_reason(exc), self.clock(), exc.retry_after)
                    log.debug("the kMeet API is still unavailable: %s", exc)
                else:  # it answers; the real request will say what else is wrong
                    api.succeeded(self.clock())
            else:
                api.succeeded(self.clock())
        if smtp.probe_due(self.clock()):
            try:
                self.mailer.check()
            except MailerError as exc:
                smtp.failed(smtp_reason(exc), self.clock())
                log.debug("the SMTP server is still unavailable: %s", exc)
            else:
                smtp.succeeded(self.clock())

    def call_api(self, request: Callable[[], T], **hooks: Callable[[], object]) -> T:
        """`request` through the throttle, unless the API is down: then nothing is
        sent (Unavailable) and the message waits for the API to come back."""
        api = self.health.api
        if api.down:
            raise Unavailable(api.detail)
        try:
            result = self.throttle.send(request, **hooks)
        except KMeetError as exc:
            if api_down(exc):
                api.failed(api_reason(exc), self.clock(), exc.retry_after, str(exc))
            raise
        api.succeeded(self.clock())
        return result

    def announce(self) -> None:
        """Each change of a service's health, once: in the log, and in the state
        for `status`; the messages waiting, for systemd's status line."""
        counts = self.store.waiting_counts()
        self.health.note_waiting(counts)
        now = self.clock()
        for event in self.health.take_events():
            if isinstance(event, Outage):
                waiting = None if event.service == IMAP else counts.get(event.service, 0)
                log.warning("%s", event.line(waiting, now))
            else:
                log.info("%s", event.line())
            self.store.set_meta(*event.meta())
            if not isinstance(event, Outage):
                self.store.set_meta(f"outage:{event.service}", None)


def api_down(exc: KMeetError) -> bool:
    """Whether an API error means the API is down: transient, and not a 429 (the
    API is up and asks for fewer requests: throttle.py pauses them)."""
    return exc.transient and not isinstance(exc, RateLimited)


def waits_for(exc: KMeetError) -> str | None:
    """The service a message waits for after `exc`: the API when it is down."""
    return API if api_down(exc) else None


def api_reason(exc: KMeetError) -> str:
    return str(exc.status) if exc.status else "no answer"


def smtp_reason(exc: MailerError) -> str:
    return str(exc.code) if exc.code else "no answer"


def imap_reason(exc: MailboxError) -> str:
    return "login refused" if isinstance(exc, LoginFailed) else "no answer"
