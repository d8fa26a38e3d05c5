"""What one message asks for, and the language to answer it in (pure).

`extract_meetings` reads an invitation first, a plain "kmeet" request when
there is none (invites.py, requests.py), with the attendees passed to the API
capped; it raises NotARequest (and ITipAnswer) for a message that asks for
nothing. `reply_language` picks the language of the replies. No I/O: also used
by `parse` and the dry run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage

from kmeet_bridge.config import Settings
from kmeet_bridge.invitations import invites
from kmeet_bridge.mail import headers
from kmeet_bridge.models import (
    LANGUAGES,
    EventProblem,
    Extraction,
    ITipAnswer,
    MeetingRequest,
    NotARequest,
    Note,
    Unplannable,
)
from kmeet_bridge.requests import requests
from kmeet_bridge.requests.language import detect_language


def extract_meetings(message: EmailMessage, settings: Settings, now: datetime) -> Extraction:
    """An invitation first; a plain "kmeet" request when there is none."""
    kmeet = settings.kmeet
    try:
        extraction = invites.extract(
            message,
            default_timezone=kmeet.timezone,
            default_duration=kmeet.default_duration,
            now=now,
            limits=settings.limits,
        )
        return _capped(extraction, settings.limits.max_attendees)
    except ITipAnswer:
        raise  # an attendee's answer, even to a meeting whose title says kmeet
    except NotARequest:
        if not requests.is_request(message):
            raise
        if headers.is_auto_generated(message):
            # Calendar servers send real invitations as auto-generated mail, so those
            # are read above; a plain request written by a machine is not honoured.
            raise NotARequest(
                "an automatically generated message is not a request (Auto-Submitted: "
                "auto-generated); only calendar invitations are read from such mail"
            ) from None
    rule = 'subject names "kmeet": a plain request'
    try:
        meetings = requests.extract(
            message,
            default_timezone=kmeet.timezone,
            default_duration=kmeet.default_duration,
            now=now,
            own_address=settings.smtp.from_address,
            default_language=kmeet.language,
        )
    except requests.RequestProblem as exc:
        subject = headers.subject(message) or "kmeet"
        return Extraction(problems=(exc.event_problem(subject),), rule=f"{rule}, not understood")
    except Unplannable as exc:
        subject = headers.subject(message) or "kmeet"
        return Extraction(problems=(EventProblem(subject, exc.reason, exc.hint),), rule=rule)
    return _capped(Extraction(meetings=tuple(meetings), rule=rule), settings.limits.max_attendees)


def _capped(extraction: Extraction, max_attendees: int) -> Extraction:
    meetings = tuple(cap_attendees(m, max_attendees) for m in extraction.meetings)
    return replace(extraction, meetings=meetings)


def reply_language(message: EmailMessage, extraction: Extraction | None, default: str) -> str:
    """The language to answer in: the request's own, else the one its text is
    written in (a forwarded invitation), else `[kmeet] language`."""
    if extraction is not None:
        for meeting in extraction.meetings:
            if meeting.language:
                return meeting.language
        for problem in extraction.problems:
            language = dict(problem.params).get("language")
            if language in LANGUAGES:
                return language
    return detect_language(requests.body_text(message), default=default)


def cap_attendees(meeting: MeetingRequest, limit: int) -> MeetingRequest:
    """At most `limit` attendees go to the API (the organizer first); a note says
    how many were left out."""
    if len(meeting.attendees) <= limit:
        return meeting
    ordered = sorted(meeting.attendees, key=lambda a: not a.organizer)
    left_out = len(ordered) - limit
    note = f"{len(ordered)} attendees: only the first {limit} are passed to kMeet"
    return replace(
        meeting,
        attendees=tuple(ordered[:limit]),
        notes=(*meeting.notes, f"{note} ({left_out} left out)"),
        reply_notes=(
            *meeting.reply_notes,
            Note("attendees_left_out", (("count", str(len(ordered))), ("limit", str(limit)))),
        ),
    )
