"""Whether the services the bridge needs are up: the kMeet API, the SMTP server
and the IMAP server. An outage is a fact about a service, not about each
message that happens to need it.

The contract, per service:

- `failed(reason, now, retry_after)`: a request to it failed in a way that
  waiting can cure (5xx, timeout, no connection). From then on the service is
  *down*: the bridge sends it nothing but probes, and every message that needs
  it waits (stays deferred, without a retry time of its own).
- `probe_due(now)`: whether it is time for the next probe, one cheap request
  (for the API the calendar list). Probes back off from PROBE_FIRST, doubling
  up to PROBE_MAX, with jitter; a Retry-After (a 503's) pushes the next probe
  back for every message at once.
- `succeeded(now)`: a probe or a real request got through. The service is up
  again, and every message waiting for it is due at once (bridge.py serves
  them in arrival order, within the usual rate limits).

The transitions come out once each, as `Outage` and `Restoration` events
(`take_events`), which the bridge logs and records for `status` and systemd's
`STATUS=` line:

    kMeet API unavailable since 10:02 (503), 4 messages waiting
    kMeet API restored after 12 min

Thread-safe (the workers of a pass share it); pure otherwise: every method
takes the time, and the random source of the jitter is injected.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kmeet_bridge.pacing.backoff import Backoff

API = "api"
SMTP = "smtp"
IMAP = "imap"
NAMES = {API: "kMeet API", SMTP: "SMTP server", IMAP: "IMAP server"}

PROBE_FIRST = 1.0  # seconds from a failure to the first probe
# The longest wait between two probes. Recovery is noticed within this, so it
# must stay well under the 30 s a waiting person is promised after a recovery;
# at one cheap GET per 25 s an outage of an hour costs about 150 requests.
PROBE_MAX = 25.0
RETRY_AFTER_MAX = 3600.0  # a Retry-After longer than this is read as this


def clock_time(moment: datetime, now: datetime | None = None) -> str:
    """`moment` as the machine's local wall-clock time, the way the log and
    journald show it: "10:02", with the date when it is not the day of `now`."""
    local = moment.astimezone()
    if now is not None and local.date() != now.astimezone().date():
        return f"{local:%Y-%m-%d %H:%M}"
    return f"{local:%H:%M}"


def duration(span: timedelta) -> str:
    """A span as people say it: 45s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class Outage:
    """A service went down at `since`; `reason` is short: "503", "no answer";
    `detail` the whole error of the request that found it down."""

    service: str
    since: datetime
    reason: str
    detail: str = field(default="", compare=False)

    def line(self, waiting: int | None = None, now: datetime | None = None) -> str:
        since = clock_time(self.since, now)
        text = f"{NAMES[self.service]} unavailable since {since} ({self.reason})"
        if waiting is not None:
            text += f", {waiting} message{'s' * (waiting != 1)} waiting"
        return text

    def meta(self) -> tuple[str, str]:
        """The state database's record of it (a meta name and value), for `status`."""
        value = {"since": self.since.isoformat(), "reason": self.reason, "detail": self.detail}
        return f"outage:{self.service}", json.dumps(value)


@dataclass(frozen=True)
class Restoration:
    """A service came back at `at` after being down since `since`."""

    service: str
    since: datetime
    at: datetime

    def line(self) -> str:
        return f"{NAMES[self.service]} restored after {duration(self.at - self.since)}"

    def meta(self) -> tuple[str, str]:
        value = {"since": self.since.isoformat(), "at": self.at.isoformat()}
        return f"restored:{self.service}", json.dumps(value)


def recorded_outage(meta: Callable[[str], str | None], service: str) -> Outage | None:
    """The outage of `service` the state database records as going on, if any."""
    try:
        value = json.loads(meta(f"outage:{service}") or "null")
        if value is None:
            return None
        since = datetime.fromisoformat(value["since"])
        return Outage(service, since, str(value["reason"]), str(value.get("detail") or ""))
    except (ValueError, KeyError, TypeError):
        return None  # a record this version cannot read: as if there were none


def recorded_lines(
    meta: Callable[[str], str | None], waiting: Mapping[str, int], now: datetime
) -> list[str]:
    """What `status` says of the services, from the state database's records
    (`meta`): each outage going on, and each restoration in the 24 hours up to
    `now` (the last pass: a stopped bridge is not told of days gone by)."""
    lines = []
    for service in NAMES:
        outage = recorded_outage(meta, service)
        if outage is not None:
            lines.append(outage.line(None if service == IMAP else waiting.get(service, 0), now))
            continue
        try:
            value = json.loads(meta(f"restored:{service}") or "null")
            if value is None:
                continue
            since, at = datetime.fromisoformat(value["since"]), datetime.fromisoformat(value["at"])
        except (ValueError, KeyError, TypeError):
            continue
        if now - at < timedelta(days=1):
            lines.append(Restoration(service, since, at).line())
    return lines


class Service:
    """One service's state; see the module docstring."""

    def __init__(self, name: str, backoff: Backoff) -> None:
        self.name = name
        self._backoff = backoff
        self._lock = threading.Lock()
        self._outage: Outage | None = None
        self._next_probe: datetime | None = None
        self._detail = ""
        self._events: list[Outage | Restoration] = []

    @property
    def outage(self) -> Outage | None:
        """The outage going on, or None when the service is up (or not yet tried)."""
        with self._lock:
            return self._outage

    @property
    def detail(self) -> str:
        """The full error of the latest failure, for messages held back by it."""
        with self._lock:
            return self._detail or (self._outage.line() if self._outage else "")

    @property
    def down(self) -> bool:
        return self.outage is not None

    @property
    def next_probe(self) -> datetime | None:
        with self._lock:
            return self._next_probe if self._outage is not None else None

    def failed(
        self, reason: str, now: datetime, retry_after: float | None = None, detail: str = ""
    ) -> None:
        """A request failed transiently: down (from now, if it was up), and the next
        probe after the backoff or the Retry-After, whichever is later. `reason`
        is short ("503"), `detail` the whole error."""
        with self._lock:
            if self._outage is None:
                self._outage = Outage(self.name, now, reason, detail)
                self._events.append(self._outage)
                self._detail = detail
                self._backoff.reset()
                wait = self._backoff.next_delay()
            elif self._next_probe is not None and self._next_probe > now:
                # Another request that was already under way: the schedule stands.
                wait = (self._next_probe - now).total_seconds()
            else:  # a probe failed
                wait = self._backoff.next_delay()
            if detail:  # a probe gives none: its own error would only confuse the waiting
                self._detail = detail
            if retry_after is not None:
                wait = max(wait, min(retry_after, RETRY_AFTER_MAX))
            self._next_probe = now + timedelta(seconds=wait)

    def resume(self, outage: Outage, now: datetime) -> None:
        """Take up an outage recorded before a restart (said already): down since
        then, and probed at once, before any real request."""
        with self._lock:
            if self._outage is None:
                self._outage = outage
                self._detail = outage.detail
                self._next_probe = now
                self._backoff.reset()

    def succeeded(self, now: datetime) -> Restoration | None:
        """A request got through: up again. Returns the restoration, if it ended an outage."""
        with self._lock:
            if self._outage is None:
                return None
            restoration = Restoration(self.name, self._outage.since, now)
            self._events.append(restoration)
            self._outage = None
            self._next_probe = None
            self._backoff.reset()
            return restoration

    def probe_due(self, now: datetime) -> bool:
        with self._lock:
            return self._outage is not None and (
                self._next_probe is None or self._next_probe <= now
            )

    def take_events(self) -> list[Outage | Restoration]:
        with self._lock:
            events, self._events = self._events, []
            return events


class Health:
    """The three services. `first` and `maximum` set the probe backoff in seconds
    (default PROBE_FIRST and PROBE_MAX, read when made, so that a test can run
    an outage in seconds)."""

    def __init__(
        self,
        *,
        first: float | None = None,
        maximum: float | None = None,
        random: Callable[[], float] = random.random,
    ) -> None:
        first = PROBE_FIRST if first is None else first
        maximum = PROBE_MAX if maximum is None else maximum
        self.services = {
            name: Service(name, Backoff(first, maximum, random=random)) for name in NAMES
        }
        self._waiting: dict[str, int] = {}
        self._restored: dict[str, Restoration] = {}  # not yet in a status line
        self._lock = threading.Lock()

    @property
    def api(self) -> Service:
        return self.services[API]

    @property
    def smtp(self) -> Service:
        return self.services[SMTP]

    @property
    def imap(self) -> Service:
        return self.services[IMAP]

    def up(self) -> list[str]:
        """The services not known to be down."""
        return [name for name, service in self.services.items() if not service.down]

    def outages(self) -> list[Outage]:
        return [o for service in self.services.values() if (o := service.outage) is not None]

    def next_probe_in(self, now: datetime) -> float | None:
        """Seconds until the earliest probe is due (0 when overdue); None when all are up."""
        probes = [p for service in self.services.values() if (p := service.next_probe)]
        if not probes:
            return None
        return max(0.0, (min(probes) - now).total_seconds())

    def take_events(self) -> list[Outage | Restoration]:
        """Every transition since the last call, in order per service."""
        events = [event for service in self.services.values() for event in service.take_events()]
        with self._lock:
            self._restored.update((e.service, e) for e in events if isinstance(e, Restoration))
        return events

    def note_waiting(self, counts: Mapping[str, int]) -> None:
        """How many messages wait for each service (for `status_line`)."""
        with self._lock:
            self._waiting = dict(counts)

    def status_line(self, now: datetime | None = None) -> str | None:
        """For systemd's STATUS=: the outages going on, one sentence each, else the
        restorations not yet said there; None when there is nothing to say."""
        with self._lock:
            waiting = dict(self._waiting)
            restored, self._restored = list(self._restored.values()), {}
        outages = self.outages()
        down = {o.service for o in outages}
        lines = [
            o.line(waiting.get(o.service, 0) if o.service != IMAP else None, now) for o in outages
        ]
        lines += [r.line() for r in restored if r.service not in down]
        return "; ".join(lines) or None
