"""A plain email whose subject says "kmeet" -> MeetingRequest.

This first version reads the numeric form only: the first `YYYY-MM-DD HH:MM`
(optionally `-HH:MM` for the end) in the opening lines of the body, in
`[kmeet] timezone`. Anything else is answered with an example to copy rather
than planned on a guess.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from kmeet_bridge import headers
from kmeet_bridge.models import MeetingRequest, NotARequest, Unplannable

SUBJECT_WORD = re.compile(r"(?<![\w-])kmeet(?![\w-])", re.IGNORECASE)
_WHEN = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T]+(?P<start>\d{1,2}:\d{2})"
    r"(?:\s*(?:-|–|to|until)\s*(?P<end>\d{1,2}:\d{2}))?"
)
_DURATION = re.compile(r"(?P<minutes>\d{1,3})\s*(?:min|minutes)\b", re.IGNORECASE)
REQUEST_LINES = 15  # only the opening lines are the request; quotes and signatures follow
EXAMPLE_HINT = (
    'Write the date and time in the first lines, for example "2027-02-03 14:00" or '
    '"2027-02-03 14:00-14:45", or forward a calendar invitation.'
)


def is_request(message: EmailMessage) -> bool:
    """True when the subject names kmeet as a word."""
    return SUBJECT_WORD.search(headers.subject(message)) is not None


def title_from_subject(subject: str) -> str:
    title = SUBJECT_WORD.sub(" ", subject)
    title = re.sub(r"^\s*(?:re|fwd?|aw|wg|tr)\s*:\s*", "", title, flags=re.IGNORECASE)
    title = re.sub(r"[\[\]():\-–—]+\s*", " ", title, count=0).strip(" :-")
    title = " ".join(title.split())
    return title or "kMeet"


def extract(
    message: EmailMessage, *, default_timezone: str, default_duration: int, now: datetime
) -> list[MeetingRequest]:
    if not is_request(message):
        raise NotARequest("no calendar invitation and no 'kmeet' in the subject")
    message_id = headers.message_id(message)
    if message_id is None:
        raise Unplannable(
            "the message has no Message-ID, so it cannot be told apart from a copy of itself",
            "Send it from an ordinary mail program.",
        )
    text = _request_text(message)
    match = _WHEN.search(text)
    if match is None:
        raise Unplannable("no date and time were found in the message", EXAMPLE_HINT)
    zone = ZoneInfo(default_timezone)
    try:
        start = datetime.strptime(f"{match['date']} {match['start']}", "%Y-%m-%d %H:%M")
    except ValueError:
        raise Unplannable(
            f'"{match.group(0)}" is not a valid date and time', EXAMPLE_HINT
        ) from None
    start = start.replace(tzinfo=zone)
    notes = [f"time read in {default_timezone}"]
    if match["end"]:
        end = datetime.combine(start.date(), _clock(match["end"]), tzinfo=zone)
    elif duration := _DURATION.search(text):
        end = start + timedelta(minutes=int(duration["minutes"]))
    else:
        end = start + timedelta(minutes=default_duration)
        notes.append(f"no end given: default duration of {default_duration} minutes")
    if end <= start:
        raise Unplannable("the meeting ends before it starts", EXAMPLE_HINT)
    if end <= now:
        raise Unplannable("the meeting is already over", EXAMPLE_HINT)
    return [
        MeetingRequest(
            key=f"msg:{message_id}",
            title=title_from_subject(headers.subject(message)),
            start=start,
            end=end,
            timezone=default_timezone,
            source="request",
            notes=tuple(notes),
        )
    ]


def _clock(value: str) -> time:
    return datetime.strptime(value, "%H:%M").time()


def _request_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    try:
        text = body.get_content() if body is not None else ""
    except (LookupError, ValueError):  # unknown charset or broken encoding
        text = ""
    lines = []
    for line in text.splitlines():
        if line.startswith(">") or line.strip() == "--":
            break
        lines.append(line)
    return "\n".join(lines[:REQUEST_LINES])
