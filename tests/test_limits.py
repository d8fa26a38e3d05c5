"""Limits on what one message may make the bridge read: each a clear rejection."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from kmeet_bridge.config import LimitSettings
from kmeet_bridge.invitations.invites import extract

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def event(number: int) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:e{number}@example.com\r\nDTSTAMP:20261201T000000Z\r\n"
        f"DTSTART:20270301T{9 + number % 8:02d}0000Z\r\nDURATION:PT30M\r\n"
        f"SUMMARY:Event {number}\r\nEND:VEVENT\r\n"
    )


def calendar(events: int) -> str:
    body = "".join(event(n) for n in range(events))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\n{body}END:VCALENDAR\r\n"


def invitation(events: int = 1) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["Subject"] = "Meetings"
    message.set_content(calendar(events), subtype="calendar")
    return message


def forwarded(levels: int) -> EmailMessage:
    inner = invitation()
    for level in range(levels):
        outer = EmailMessage()
        outer["From"] = "alice@example.com"
        outer["Subject"] = f"Fwd {level}"
        outer.set_content("see attached")
        outer.add_attachment(inner)
        inner = outer
    return email.message_from_bytes(bytes(inner), policy=email.policy.default)  # type: ignore[return-value]


def read(message: EmailMessage, **limits: int):
    return extract(
        message,
        default_timezone="Europe/Zurich",
        default_duration=60,
        now=NOW,
        limits=LimitSettings(**limits),
    )


def test_too_many_events() -> None:
    assert len(read(invitation(5), max_events=5).meetings) == 5
    extraction = read(invitation(6), max_events=5)
    assert extraction.meetings == ()
    [problem] = extraction.problems
    assert (problem.code, problem.reason) == (
        "too_many_events",
        "the message holds 6 events, more than the 5 this bridge plans from one message",
    )


def test_calendar_part_too_large() -> None:
    extraction = read(invitation(40), max_calendar_size=4096)
    [problem] = extraction.problems
    assert problem.code == "too_large"
    assert problem.reason.startswith("the calendar in the ")
    assert problem.reason.endswith(" KiB, more than the 4 KiB this bridge reads")


def test_nesting_of_forwarded_messages() -> None:
    assert len(read(forwarded(3), max_nesting=3).meetings) == 1
    [problem] = read(forwarded(4), max_nesting=3).problems
    assert (problem.code, problem.reason) == (
        "too_deep",
        "the message holds forwarded messages nested more than 3 deep",
    )


def test_limit_problems_are_worded_in_the_reply_language() -> None:
    from kmeet_bridge.models import EventProblem
    from kmeet_bridge.replies.replies import problem_text

    [problem] = read(invitation(6), max_events=5).problems
    assert problem_text(problem, "en")[0] == (
        "The message holds 6 events, more than the 5 planned from one message."
    )
    assert problem_text(problem, "de") == (
        "Die Nachricht enthält 6 Termine, mehr als die 5, die aus einer Nachricht geplant werden.",
        "Senden Sie die Besprechungen, die einen kMeet-Raum brauchen, einzeln.",
    )
    limited = EventProblem(
        "m",
        "r",
        "h",
        None,
        "sender_rate_limited",
        (
            ("limit", "20"),
            ("after", "2027-03-15 14:05 (Europe/Zurich)"),
        ),
    )
    assert problem_text(limited, "it") == (
        "Nell’ultima ora ha pianificato 20 videoconferenze, cioè il numero massimo consentito.",
        "Invii di nuovo la richiesta dopo le 14:05 (ora di Zurigo) di lunedì 15 marzo 2027.",
    )
