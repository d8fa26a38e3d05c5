"""Render every kind of reply in every language into docs/replies/.

    .venv/bin/python scripts/render_replies.py [OUTPUT_DIR]

Each reply is composed by the same code the daemon runs (plain requests are read
by the request reader, replies written by kmeet_bridge.replies.replies), on a fixed
clock, so the files change only when the wording does. For every language and
kind it writes `<language>/<kind>.txt` (the text part, as a mail client shows
it) and `<language>/<kind>.html` (the HTML part, a page a browser opens), and
an `index.html` linking them all.
"""

from __future__ import annotations

import email
import html
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from kmeet_bridge.models import (
    LANGUAGES,
    Cancellation,
    CancelledMeeting,
    Change,
    EventProblem,
    MeetingRequest,
    PlannedMeeting,
    Room,
    Unplannable,
)
from kmeet_bridge.replies import replies
from kmeet_bridge.requests import requests

ZURICH = ZoneInfo("Europe/Zurich")
# Monday 7 December 2026, 09:00 in Zurich.
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
ROOM = Room(
    url="https://kmeet.infomaniak.com/abc-defg-hij",
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    e2ee_enabled=True,
)
NEW_ROOM = Room(
    url="https://kmeet.infomaniak.com/xyz-uvwx-rst",
    name="xyz-uvwx-rst",
    hostname="kmeet.infomaniak.com",
    e2ee_enabled=True,
)
PLAIN_ROOM = Room(
    url="https://kmeet.infomaniak.com/abc-defg-hij",
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    e2ee_enabled=False,
)
OLD_URL = "https://kmeet.infomaniak.com/old-link-abc"

TITLES = {
    "en": "Budget review",
    "fr": "Point budget",
    "de": "Budgetbesprechung",
    "it": "Revisione del budget",
}
SHORT_TITLES = {
    "en": "Quick sync",
    "fr": "Point rapide",
    "de": "Kurze Abstimmung",
    "it": "Aggiornamento veloce",
}
# Plain requests, read by the request reader: (titles, body by language).
REQUESTS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # With a day word, a length and a password room.
    "request": (
        TITLES,
        {
            "en": "tomorrow 10:00, 45 minutes, with password",
            "fr": "demain 10h, 45 minutes, avec mot de passe",
            "de": "morgen 10 Uhr, 45 Minuten, mit Passwort",
            "it": "domani alle 10, 45 minuti, con password",
        },
    ),
    # A time but no date: the reader assumes today and says so.
    "no-date": (
        SHORT_TITLES,
        {
            "en": "at 16:00 please",
            "fr": "à 16h svp",
            "de": "um 16 Uhr bitte",
            "it": "alle 16, grazie",
        },
    ),
    # A typo in the day word: the reader corrects it and says so.
    "typo": (
        SHORT_TITLES,
        {
            "en": "tommorrow 10:00 please",
            "fr": "demin 10h svp",
            "de": "mrogen 10 Uhr bitte",
            "it": "doamni alle 10, grazie",
        },
    ),
    # A day but no time: the reader asks back.
    "no-time": (
        TITLES,
        {"en": "tomorrow please", "fr": "demain svp", "de": "morgen bitte", "it": "domani, grazie"},
    ),
}


def request_text(sample: str, language: str) -> tuple[str, str]:
    """The subject and body of a sample plain request in `language`."""
    titles, bodies = REQUESTS[sample]
    return f"kmeet {titles[language]}", bodies[language]


def message(subject: str, body: str, message_id: str = "<m1@example.com>") -> EmailMessage:
    raw = (
        f"From: Alice Example <alice@example.com>\nTo: meet@example.com\n"
        f"Subject: {subject}\nMessage-ID: {message_id}\n"
        f"Date: Mon, 07 Dec 2026 08:55:00 +0100\nContent-Type: text/plain; charset=utf-8\n\n"
        f"{body}\n"
    ).encode()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def invitation_meeting(language: str, **changes: object) -> MeetingRequest:
    values: dict[str, object] = {
        "key": "ics:alice@example.com:uid-1:",
        "title": TITLES[language],
        "start": datetime(2026, 12, 8, 14, 30, tzinfo=ZURICH),
        "end": datetime(2026, 12, 8, 15, 30, tzinfo=ZURICH),
        "timezone": "Europe/Zurich",
        "uid": "uid-1",
        "language": language,
    }
    values.update(changes)
    return MeetingRequest(**values)  # type: ignore[arg-type]


def compose(original: EmailMessage, language: str, **parts: object) -> EmailMessage:
    return replies.compose_reply(
        original,
        from_address="meet@example.com",
        from_name="kMeet",
        now=NOW,
        language=language,
        **parts,  # type: ignore[arg-type]
    )


def from_request(subject: str, body: str, language: str, **planned: object) -> EmailMessage:
    original = message(subject, body)
    try:
        meetings = requests.extract(
            original,
            default_timezone="Europe/Zurich",
            default_duration=60,
            now=NOW,
            own_address="meet@example.com",
            default_language=language,
        )
    except requests.RequestProblem as problem:
        return compose(original, problem.language, problems=[problem.event_problem("")])
    except Unplannable as problem:  # pragma: no cover - every sample is a request
        raise SystemExit(f"{subject!r} was refused: {problem.reason}") from None
    return compose(
        original,
        meetings[0].language or language,
        planned=[PlannedMeeting(meetings[0], ROOM, **planned)],  # type: ignore[arg-type]
    )


def invitation(language: str) -> EmailMessage:
    return message(f"Fwd: {TITLES[language]}", "(forwarded invitation)")


def planned_invitation(
    language: str,
    room: Room = ROOM,
    status: str = "new",
    times: tuple[str, str] | None = None,
    previous_url: str | None = None,
    **meeting: object,
) -> EmailMessage:
    """The reply to a forwarded invitation; `times`: the recorded times before
    and after an update (as updates.time_text writes them)."""
    changes = (Change("time", *times),) if times else ()
    planned = PlannedMeeting(
        invitation_meeting(language, **meeting), room, status, changes, previous_url
    )
    return compose(invitation(language), language, planned=[planned])


KINDS: dict[str, tuple[str, Callable[[str], EmailMessage]]] = {
    "planned-request": (
        "a plain request with a password room",
        lambda lang: from_request(*request_text("request", lang), lang, password="7mWq-39xe"),
    ),
    "planned-no-date": (
        "a plain request with a time but no date (today assumed)",
        lambda lang: from_request(*request_text("no-date", lang), lang),
    ),
    "planned-typo": (
        "a plain request with a typo in the day word (corrected, and said)",
        lambda lang: from_request(*request_text("typo", lang), lang),
    ),
    "planned-invitation": ("a forwarded invitation, planned", planned_invitation),
    "planned-without-e2ee": (
        "a forwarded invitation, room without end-to-end encryption",
        lambda lang: planned_invitation(lang, PLAIN_ROOM),
    ),
    "planned-series": (
        "a weekly series",
        lambda lang: planned_invitation(
            lang, rule="FREQ=WEEKLY;BYDAY=TU;COUNT=10", occurrences_left=10
        ),
    ),
    "unchanged": (
        "the same invitation sent again",
        lambda lang: planned_invitation(lang, status="unchanged"),
    ),
    "updated": (
        "an update that keeps the link (earlier start)",
        lambda lang: planned_invitation(
            lang,
            status="updated",
            times=(
                "2026-12-08 14:30–15:30 (Europe/Zurich)",
                "2026-12-08 14:00–15:30 (Europe/Zurich)",
            ),
            start=datetime(2026, 12, 8, 14, 0, tzinfo=ZURICH),
        ),
    ),
    "link-changed": (
        "an update that ends later: a new room and link",
        lambda lang: planned_invitation(
            lang,
            NEW_ROOM,
            "replanned",
            (
                "2026-12-08 14:30–15:30 (Europe/Zurich)",
                "2026-12-08 14:30–16:30 (Europe/Zurich)",
            ),
            OLD_URL,
            end=datetime(2026, 12, 8, 16, 30, tzinfo=ZURICH),
        ),
    ),
    "cancelled": (
        "a cancelled meeting",
        lambda lang: compose(
            invitation(lang),
            lang,
            cancelled=[
                CancelledMeeting(
                    Cancellation("ics:alice@example.com:uid-1:", TITLES[lang], "uid-1"), ROOM
                )
            ],
        ),
    ),
    "refused-examples": (
        "a plain request with a day but no time: asked back with examples",
        lambda lang: from_request(*request_text("no-time", lang), lang),
    ),
    "refused-all-day": (
        "an all-day invitation",
        lambda lang: compose(
            invitation(lang),
            lang,
            problems=[EventProblem(TITLES[lang], "all day", code="all_day")],
        ),
    ),
    "rate-limited": (
        "the sender's hourly room limit is reached",
        lambda lang: compose(
            invitation(lang),
            lang,
            problems=[
                EventProblem(
                    "",
                    "20 rooms",
                    code="sender_rate_limited",
                    params=(("after", "2026-12-07 10:15 (Europe/Zurich)"), ("limit", "20")),
                )
            ],
        ),
    ),
    "too-large": (
        "a message over the size limit",
        lambda lang: compose(
            invitation(lang),
            lang,
            problems=[
                EventProblem(
                    "",
                    "too large",
                    code="message_too_large",
                    params=(("limit", str(25 * 1024 * 1024)), ("size", "32925286")),
                )
            ],
        ),
    ),
    "answer-cancelled": (
        "an answer to the reply: cancel (a plain request; the .ics removes the event)",
        lambda lang: compose(
            message(f"Re: kmeet: {TITLES[lang]}", "cancel"),
            lang,
            cancelled=[
                CancelledMeeting(
                    Cancellation("msg:<m0@example.com>", TITLES[lang], "", sequence=1), ROOM
                )
            ],
            withdrawn=[invitation_meeting(lang, sequence=1)],
        ),
    ),
    "answer-invitation-cancelled": (
        "an answer to the reply about an invitation: cancel (the room only)",
        lambda lang: compose(
            message(f"Re: {TITLES[lang]}", "cancel"),
            lang,
            cancelled=[
                CancelledMeeting(
                    Cancellation("ics:alice@example.com:uid-1:", TITLES[lang], "uid-1"),
                    ROOM,
                    organisers_event=True,
                )
            ],
        ),
    ),
    "answer-unclear": (
        "an answer to the reply that is not understood: examples to copy",
        lambda lang: compose(
            message(f"Re: kmeet: {TITLES[lang]}", "later?"),
            lang,
            problems=[EventProblem("", "not understood", code="change_unclear")],
        ),
    ),
    "answer-invitation-changed": (
        "an answer to the reply about an invitation that moves it",
        lambda lang: compose(
            message(f"Re: {TITLES[lang]}", "16:00"),
            lang,
            problems=[EventProblem("", "an invitation", code="change_invitation")],
        ),
    ),
}


def parts(reply: EmailMessage) -> tuple[str, str]:
    back = email.message_from_bytes(reply.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(back, EmailMessage)
    text, page = back.get_body(("plain",)), back.get_body(("html",))
    assert text is not None and page is not None
    header = f"Subject: {back['Subject']}\n\n"
    return header + text.get_content().replace("\r\n", "\n"), page.get_content().replace(
        "\r\n", "\n"
    )


def render(out: Path) -> list[Path]:
    written: list[Path] = []
    index = ["<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"]
    index.append("<title>kmeet-bridge replies</title></head><body>\n<h1>Replies</h1>\n<table>")
    index.append("<tr><th>kind</th>" + "".join(f"<th>{lang}</th>" for lang in LANGUAGES))
    index.append("</tr>\n")
    for kind, (what, build) in KINDS.items():
        cells = []
        for language in LANGUAGES:
            text, page = parts(build(language))
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            for suffix, content in (("txt", text), ("html", page)):
                path = folder / f"{kind}.{suffix}"
                path.write_text(content, encoding="utf-8")
                written.append(path)
            cells.append(
                f"<td><a href='{language}/{kind}.txt'>text</a> · "
                f"<a href='{language}/{kind}.html'>page</a></td>"
            )
        index.append(f"<tr><td>{html.escape(what)}</td>{''.join(cells)}</tr>\n")
    index.append("</table></body></html>\n")
    (out / "index.html").write_text("".join(index), encoding="utf-8")
    return written


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "docs/replies"
    written = render(out)
    print(f"{len(written)} files in {out}")


if __name__ == "__main__":
    main()
