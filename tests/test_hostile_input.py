"""Hostile and broken input (hypothesis): whatever arrives, reading it ends in a
result or 'not a request', and any result can be answered; a whole pass over
such mail against the real servers records an outcome for every message."""

from __future__ import annotations

import email
import email.policy
import sqlite3
from datetime import UTC, datetime
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeet_bridge import config
from kmeet_bridge.bridge import extract_meetings
from kmeet_bridge.models import NotARequest
from kmeet_bridge.replies import replies
from tests.support.harness import BridgeEnv

SETTINGS = config.from_mapping(
    {
        "imap": {"host": "imap.example.com", "username": "meet@example.com"},
        "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
        "kmeet": {"calendar_id": 1},
        "senders": {"allow": ["*"]},
        "limits": {"max_events": 20, "max_calendar_size": 65536},
    },
    {},
    secrets=False,
)
NOW = datetime(2026, 12, 1, tzinfo=UTC)

GOOD_LINES = [
    "DTSTART;TZID=Europe/Zurich:20270301T100000",
    "DTSTART:20270301T100000Z",
    "DTEND:20270301T110000Z",
    "DURATION:PT45M",
    "SUMMARY:Budget review",
    "UID:uid-1@example.com",
    "ORGANIZER;CN=Alice:mailto:alice@example.com",
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org",
    "RRULE:FREQ=WEEKLY;COUNT=5",
    "SEQUENCE:2",
    "RECURRENCE-ID:20270308T100000Z",
    "EXDATE:20270315T100000Z",
    "STATUS:CANCELLED",
]
BAD_LINES = [
    "DTSTART:2027-03-01 10:00",
    "DTSTART;TZID=Mars/Olympus:20270301T100000",
    "DTSTART;VALUE=DATE:20270230",
    "DTEND:20270301T090000Z",
    "RRULE:FREQ=SECONDLY;INTERVAL=0",
    "RRULE:FREQ=YEARLY;BYMONTH=13;COUNT=99999999",
    "RRULE:FREQ=DAILY;UNTIL=garbage",
    "DURATION:P-1D",
    "ATTENDEE:mailto:",
    "ORGANIZER:not-an-address",
    "SUMMARY:" + "x" * 5000,
    "SUMMARY:line\r\nX-INJECTED:1",
    "BEGIN:VALARM",
    "END:VTODO",
    "\x00\x01\x02",
    "SEQUENCE:-5",
    "SEQUENCE:99999999999999999999",
]
line = st.sampled_from(GOOD_LINES + BAD_LINES) | st.text(max_size=80)


@st.composite
def calendars(draw: st.DrawFn) -> str:
    events = draw(st.lists(st.lists(line, max_size=12), min_size=0, max_size=4))
    method = draw(
        st.sampled_from(
            [
                "",
                "METHOD:REQUEST",
                "METHOD:CANCEL",
                "METHOD:PUBLISH",
                "METHOD:REPLY",
                "METHOD:BOGUS",
            ]
        )
    )
    body = "".join(
        "BEGIN:VEVENT\r\n"
        + "".join(f"{x}\r\n" for x in lines)
        + draw(st.sampled_from(["END:VEVENT\r\n", ""]))
        for lines in events
    )
    ending = draw(st.sampled_from(["END:VCALENDAR\r\n", "", "END:VEVENT\r\n"]))
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{method}\r\n{body}{ending}"
    cut = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:cut] if draw(st.booleans()) else text


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    ics = draw(calendars())
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "x-unknown", "utf-16", ""]))
    encoding = draw(st.sampled_from(["7bit", "base64", "quoted-printable", "x-weird"]))
    subject = draw(
        st.sampled_from(
            [
                "kmeet: test",
                "Invitation",
                "=?utf-8?q?k=6Deet?=",
                "=?bogus?x?zz?=",
                "kmeet " + "y" * 300,
            ]
        )
    )
    depth = draw(st.integers(min_value=0, max_value=5))
    charset_param = f'; charset="{charset}"' if charset else ""
    payload = ics.encode("utf-8", "surrogateescape")
    if encoding == "base64":
        import base64

        payload = base64.encodebytes(payload)
    part = (
        f"Content-Type: text/calendar{charset_param}; method=REQUEST\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + payload
    for level in range(depth):
        boundary = f"b{level}"
        inner_type = "message/rfc822" if level % 2 else f'multipart/mixed; boundary="{boundary}"'
        if level % 2:
            part = f"Content-Type: {inner_type}\r\n\r\nSubject: fwd\r\n".encode() + part
        else:
            part = (
                f"Content-Type: {inner_type}\r\n\r\n--{boundary}\r\n".encode()
                + part
                + f"\r\n--{boundary}--\r\n".encode()
            )
    head = (
        "From: Alice <alice@example.com>\r\nTo: meet@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <h{draw(st.integers(0, 10**6))}@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode()
    return head + part


def answer_everything(raw: bytes) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    try:
        extraction = extract_meetings(message, SETTINGS, NOW)
    except NotARequest:
        return
    if extraction.problems:
        reply = replies.compose_reply(
            message,
            problems=extraction.problems,
            from_address="meet@example.com",
            from_name="kMeet",
            now=NOW,
        )
        assert b"\r\nX-INJECTED" not in bytes(reply)
    assert len(extraction.meetings) <= SETTINGS.limits.max_events


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(messages())
def test_hostile_invitations_are_read_or_refused_cleanly(raw: bytes) -> None:
    answer_everything(raw)


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_cleanly(raw: bytes) -> None:
    answer_everything(raw)


def test_a_pass_over_hostile_mail_records_every_message(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    examples = [messages().example() for _ in range(25)]
    for raw in examples:
        env.deliver(raw)

    result = env.command("once")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(env.state_path) as db:
        recorded = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert recorded == len(examples)
    # The daemon's loop would go on: a second pass finds nothing new.
    assert env.command("once").stdout.strip() == "pass finished: nothing new"
