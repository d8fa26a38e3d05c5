"""What the state database says about the bridge, for people (`status`), for
scripts (`status --json`) and for a monitoring check (`status --check`).

Everything here reads a `Store` and the clock; nothing is written. The
health rules, in one place (`health`):

- critical: no pass has finished successfully for 3 poll intervals (or ever);
- warning: a message has been waiting (deferred) for more than an hour, or
  meetings are in doubt (a second room may exist: a person should look);
- otherwise ok.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kmeet_bridge.models import Outcome
from kmeet_bridge.pacing.health import NAMES, duration, recorded_lines
from kmeet_bridge.store import MeetingRecord, MessageRecord, Store

SCHEMA_VERSION = 1  # of the --json document; raised when a field changes meaning
STALLED_AFTER_POLLS = 3  # no successful pass for this many poll intervals: critical
WAITING_TOO_LONG = timedelta(hours=1)  # a deferred message older than this: warning
SHOWN = 10  # of the latest messages and of the last errors


class Health(enum.IntEnum):
    """The Nagios plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class Snapshot:
    """What `status` shows, read at one moment."""

    now: datetime
    last_pass_at: datetime | None
    last_pass_ok: bool
    last_pass_result: str
    last_ok_pass_at: datetime | None
    counts: dict[str, int]
    recent: list[MessageRecord]
    deferred: list[MessageRecord]
    errors: list[MessageRecord]
    in_doubt: list[MeetingRecord]
    # health.py's lines for the servers down (or back within the day), and the
    # server each deferred message waits for, by (folder, uidvalidity, uid).
    services: list[str] = field(default_factory=list)
    waiting_for: dict[tuple[str, int, int], str] = field(default_factory=dict)

    @property
    def oldest_waiting(self) -> timedelta | None:
        """How long the deferred message seen first has been waiting."""
        if not self.deferred:
            return None
        return self.now - min(record.first_seen for record in self.deferred)


def read(store: Store, now: datetime) -> Snapshot:
    when = store.meta("last_pass_at")
    ok = store.meta("last_pass_ok") != "0"
    # Databases from before last_ok_pass_at: the last pass, if it was successful.
    ok_at = store.meta("last_ok_pass_at") or (when if ok else None)
    last = datetime.fromisoformat(when) if when else None
    deferred = store.deferred_messages()
    return Snapshot(
        now=now,
        last_pass_at=last,
        last_pass_ok=ok,
        last_pass_result=store.meta("last_pass_result") or "-",
        last_ok_pass_at=datetime.fromisoformat(ok_at) if ok_at else None,
        counts=store.outcome_counts(),
        recent=store.recent_messages(SHOWN),
        deferred=deferred,
        errors=store.last_errors(SHOWN),
        in_doubt=store.meetings_in_doubt(),
        services=recorded_lines(store.meta, store.waiting_counts(), last or now),
        waiting_for={
            key: service
            for key in ((r.folder, r.uidvalidity, r.uid) for r in deferred)
            if (service := store.waiting_for(*key)) is not None
        },
    )


def empty(now: datetime) -> Snapshot:
    """The snapshot of a bridge whose state database does not exist yet."""
    return Snapshot(now, None, True, "-", None, {}, [], [], [], [])


def health(snapshot: Snapshot, poll_interval: int) -> tuple[Health, list[str]]:
    """The state and the problems behind it, the worst first."""
    critical: list[str] = []
    warnings: list[str] = []
    ok_at = snapshot.last_ok_pass_at
    if ok_at is None:
        critical.append("no pass has finished yet")
    elif snapshot.now - ok_at > timedelta(seconds=STALLED_AFTER_POLLS * poll_interval):
        critical.append(
            f"no successful pass for {duration(snapshot.now - ok_at)} "
            f"(more than {STALLED_AFTER_POLLS} poll intervals of {poll_interval}s)"
        )
    oldest = snapshot.oldest_waiting
    if oldest is not None and oldest > WAITING_TOO_LONG:
        waiting = sum(
            1 for r in snapshot.deferred if snapshot.now - r.first_seen > WAITING_TOO_LONG
        )
        warnings.append(
            f"{waiting} message{'s' * (waiting > 1)} waiting for more than an hour "
            f"(the oldest {duration(oldest)})"
        )
    if snapshot.in_doubt:
        count = len(snapshot.in_doubt)
        warnings.append(f"{count} meeting{'s' * (count > 1)} in doubt")
    if critical:
        return Health.CRITICAL, critical + warnings
    if warnings:
        return Health.WARNING, warnings
    return Health.OK, []


# -- status --check --------------------------------------------------------------


def check_line(snapshot: Snapshot, poll_interval: int) -> tuple[Health, str]:
    """One line in the Nagios plugin format, with performance data after "|"."""
    state, problems = health(snapshot, poll_interval)
    if snapshot.last_ok_pass_at is None:
        summary = "no successful pass yet"
    else:
        summary = f"last successful pass {duration(snapshot.now - snapshot.last_ok_pass_at)} ago"
    text = "; ".join([*problems, summary] if problems else [summary])
    oldest = snapshot.oldest_waiting
    perfdata = " ".join(
        [
            f"waiting={len(snapshot.deferred)}",
            f"oldest_waiting={int(oldest.total_seconds()) if oldest else 0}s",
            f"in_doubt={len(snapshot.in_doubt)}",
        ]
        + (
            [f"last_pass_age={int((snapshot.now - snapshot.last_ok_pass_at).total_seconds())}s"]
            if snapshot.last_ok_pass_at
            else []
        )
    )
    return state, f"KMEET-BRIDGE {state.name} - {text} | {perfdata}"


def unknown_line(reason: str) -> str:
    return f"KMEET-BRIDGE UNKNOWN - {' '.join(reason.split())}"


# -- status --json ---------------------------------------------------------------


def as_json(snapshot: Snapshot, poll_interval: int) -> dict[str, Any]:
    """The --json document; the README describes every field."""
    state, problems = health(snapshot, poll_interval)
    oldest = snapshot.oldest_waiting
    last_pass = None
    if snapshot.last_pass_at is not None:
        last_pass = {
            "at": _iso(snapshot.last_pass_at),
            "ok": snapshot.last_pass_ok,
            "result": snapshot.last_pass_result,
        }
    return {
        "schema": SCHEMA_VERSION,
        "now": _iso(snapshot.now),
        "health": {"state": state.name.lower(), "problems": problems},
        "last_pass": last_pass,
        "last_successful_pass_at": _iso(snapshot.last_ok_pass_at),
        "services": snapshot.services,
        "messages": {str(o): snapshot.counts.get(str(o), 0) for o in Outcome},
        "waiting": {
            "count": len(snapshot.deferred),
            "oldest_seconds": int(oldest.total_seconds()) if oldest is not None else None,
        },
        "recent": [_message(r) for r in snapshot.recent],
        "deferred": [_message(r) for r in snapshot.deferred],
        "last_errors": [_message(r) for r in snapshot.errors],
        "in_doubt": [_meeting(m) for m in snapshot.in_doubt],
    }


def _message(record: MessageRecord) -> dict[str, Any]:
    return {
        "folder": record.folder,
        "uidvalidity": record.uidvalidity,
        "uid": record.uid,
        "message_id": record.message_id,
        "sender": record.sender,
        "subject": record.subject,
        "outcome": str(record.outcome),
        "reason": record.reason,
        "attempts": record.attempts,
        "next_attempt": _iso(record.next_attempt),
        "first_seen": _iso(record.first_seen),
        "updated_at": _iso(record.updated_at),
    }


def _meeting(meeting: MeetingRecord) -> dict[str, Any]:
    return {
        "key": meeting.key,
        "title": meeting.title,
        "starting_at": meeting.starting_at,
        "ending_at": meeting.ending_at,
        "timezone": meeting.timezone,
        "status": meeting.status,
        "room_url": meeting.room.url if meeting.room is not None else None,
    }


# -- status, as text -------------------------------------------------------------


def as_text(snapshot: Snapshot) -> list[str]:
    """The lines `status` prints. Times in UTC."""
    lines: list[str] = []

    def section(title: str, entries: list[str]) -> None:
        lines.append(f"{title} ({len(entries)}):" if entries else f"{title}: none")
        lines.extend(f"  {entry}" for entry in entries)

    if snapshot.last_pass_at is None:
        lines.append("last pass: never")
    else:
        at = f"{snapshot.last_pass_at:%Y-%m-%d %H:%M:%S} UTC"
        if snapshot.last_pass_ok:
            lines.append(f"last pass: {at} ({snapshot.last_pass_result})")
        else:
            lines.append(f"last pass: {at}, did not finish ({snapshot.last_pass_result})")
    lines.extend(snapshot.services)
    counts = snapshot.counts
    lines.append(
        "messages: " + (", ".join(f"{counts[o]} {o}" for o in Outcome if counts.get(o)) or "none")
    )
    for record in snapshot.recent:
        lines.append(
            f"  {record.updated_at:%Y-%m-%d %H:%M} {record.outcome:<8} "
            f"{record.sender or '-'}: {_flat(record.reason)}"
        )
    section(
        "deferred",
        [
            f"{_who(r)}: {_next(r, snapshot)} (attempt {r.attempts}): {_flat(r.reason)}"
            for r in snapshot.deferred
        ],
    )
    errors = [
        f"{r.updated_at:%Y-%m-%d %H:%M} {_who(r)}: {_flat(r.reason)}" for r in snapshot.errors
    ]
    if not snapshot.last_pass_ok and snapshot.last_pass_at is not None:
        # The pass's own failure is the latest error: never "last errors: none" under it.
        errors.insert(
            0, f"{snapshot.last_pass_at:%Y-%m-%d %H:%M} pass: {_flat(snapshot.last_pass_result)}"
        )
    section("last errors", errors)
    section("meetings in doubt", [_doubt(m) for m in snapshot.in_doubt])
    return lines


def _next(record: MessageRecord, snapshot: Snapshot) -> str:
    at = f"{record.next_attempt:%Y-%m-%d %H:%M:%S} UTC" if record.next_attempt else "now"
    service = snapshot.waiting_for.get((record.folder, record.uidvalidity, record.uid))
    if service is None:
        return f"next attempt {at}"
    # Due as soon as the server is back; at its retry_for deadline at the latest.
    return f"waits for the {NAMES[service]}, answered by {at} at the latest"


def _doubt(meeting: MeetingRecord) -> str:
    if meeting.status == "planning":
        state = "the API call has no usable answer (in flight, or cut off): a room may exist"
    elif meeting.room is not None:
        state = (
            f"planned again after an interrupted API call: {meeting.room.url}; "
            "a second room may exist in the Infomaniak calendar"
        )
    else:
        state = "an interrupted API call may have made a room; not planned since"
    return (
        f'{meeting.key}: "{_flat(meeting.title)}" {meeting.starting_at} '
        f"({meeting.timezone}): {state}"
    )


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def _who(record: MessageRecord) -> str:
    subject = f' "{_flat(record.subject)}"' if record.subject else ""
    return f"{record.folder}:{record.uid} {record.sender or '-'}{subject}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
