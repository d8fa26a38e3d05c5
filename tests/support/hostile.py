"""Hostile messages of issue 12: each small, each once able to hold the bridge
for seconds to hours. Shared by the tests and the benchmark, so that both
measure the same mail."""

from __future__ import annotations

import itertools

STRANGER = "stranger@attacker.test"
ALL_MINUTES = ",".join(str(n) for n in range(60))
ALL_HOURS = ",".join(str(n) for n in range(24))
_NUMBERS = itertools.count(1)


def _head(subject: str, sender: str, content_type: str) -> str:
    return (
        f"From: {sender}\r\nTo: meet@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <hostile-{next(_NUMBERS)}@attacker.test>\r\n"
        "Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )


def repeating_invitation(rule: str, sender: str = STRANGER) -> bytes:
    """An invitation, well under 1 KB, whose event repeats by `rule`."""
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Attacker//EN",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:dense@attacker.test",
            "DTSTAMP:20261201T080000Z",
            "DTSTART:20270301T100000Z",
            "DTEND:20270301T100100Z",
            "SUMMARY:Dense",
            f"ORGANIZER:mailto:{sender}",
            f"RRULE:{rule}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    head = _head("Dense", sender, 'text/calendar; charset="utf-8"; method=REQUEST')
    return (head + ics).encode()


def plain(subject: str, body: str, sender: str = STRANGER) -> bytes:
    return (_head(subject, sender, 'text/plain; charset="utf-8"') + body).encode()


def nested_multipart(levels: int, sender: str = STRANGER) -> bytes:
    """`levels` multipart/mixed parts, each inside the one before."""
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(levels)
    )
    closing = "".join(f"\r\n--b{n}--\r\n" for n in reversed(range(levels)))
    head = _head("Nested", sender, 'multipart/mixed; boundary="top"')
    return (head + "--top\r\n" + opening + "Content-Type: text/plain\r\n\r\nhi" + closing).encode()


def many_parts(count: int, sender: str = STRANGER) -> bytes:
    """One multipart with `count` small parts."""
    parts = "".join("--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(count))
    return (_head("Parts", sender, 'multipart/mixed; boundary="p"') + parts + "--p--\r\n").encode()


TIME_TOKENS = "10 : 30 - 11 . 12 , tomorrow at "


def hostile_messages(size: int = 1_000_000) -> dict[str, bytes]:
    """The set of the issue, by name; `size` is the length of the long runs."""
    return {
        "hourly rule, every minute and second": repeating_invitation(
            f"FREQ=HOURLY;BYMINUTE={ALL_MINUTES};BYSECOND={ALL_MINUTES}"
        ),
        "daily rule, 24 hours x 60 minutes": repeating_invitation(
            f"FREQ=DAILY;BYHOUR={ALL_HOURS};BYMINUTE={ALL_MINUTES}"
        ),
        "weekly rule, every minute and second": repeating_invitation(
            f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYMINUTE={ALL_MINUTES};BYSECOND={ALL_MINUTES}"
        ),
        "a run without spaces": plain("hello", "a" * size),
        "a run without spaces, kmeet": plain("kmeet: hello", "a" * size),
        "blank lines, kmeet": plain("kmeet: hello", "\n" * (size // 2)),
        "time-like tokens on one line, kmeet": plain(
            "kmeet: review", TIME_TOKENS * (size // len(TIME_TOKENS))
        ),
        "addresses glued together, kmeet": plain("kmeet: review", "a@" * (size // 2)),
        "2,000 nested multiparts": nested_multipart(2000),
        "10,000 parts": many_parts(10_000),
    }
