"""Score the request reader on case files written without sight of the code.

    python scripts/score_requests.py FILE [FILE ...] [--now "2026-12-07 09:15"] [--show]

A case file holds cases in the format of tests/requests_corpus/cases.txt, with
one more expectation: `ask: yes` when the bridge should ask back and plan
nothing. Every case is put into one of these classes:

    right       planned exactly as expected, or asked back where that was expected
    asked       asked back where a meeting was expected (safe, but not right)
    wrong-time  planned at another start, end or zone than expected, or planned
                where the sender should have been asked (the dangerous class)
    wrong-other planned at the right time, but an option or attendee differs

The table is printed per language, then each miss with what was read.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from kmeet_bridge.models import RoomOptions
from kmeet_bridge.requests import requests
from kmeet_bridge.requests.requests import RequestProblem

ZONE = "Europe/Zurich"
OWN = "meet@example.com"
SENDER = "anna@example.com"
CLASSES = ("right", "asked", "wrong-time", "wrong-other")
OPTION_FIELDS = {
    "lobby": "lobby_enabled",
    "password": "password_enabled",
    "e2ee": "e2ee_enabled",
    "recording": "enable_recording",
}


@dataclass
class Case:
    name: str
    headers: dict[str, str]
    body: str
    expect: dict[str, str] = field(default_factory=dict)


def load(path: Path) -> list[Case]:
    cases: list[Case] = []
    text = path.read_text(encoding="utf-8")
    for block in ("\n" + text).split("\n=== ")[1:]:
        name, *lines = block.rstrip("\n").split("\n")
        marks = [number for number, line in enumerate(lines) if line.strip() == "---"]
        first, second = marks[0], marks[-1]
        cases.append(
            Case(
                name.strip(),
                dict(_pairs(lines[:first])),
                "\n".join(lines[first + 1 : second]),
                dict(_pairs(lines[second + 1 :])),
            )
        )
    return cases


def _pairs(lines: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        pairs.append((key.strip().lower(), value.strip()))
    return pairs


def message_of(case: Case, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Anna Muster <{SENDER}>"
    message["To"] = case.headers.get("to", OWN)
    if "cc" in case.headers:
        message["Cc"] = case.headers["cc"]
    message["Subject"] = case.headers.get("subject", "kmeet")
    message["Message-ID"] = "<scored@example.com>"
    message["Date"] = now.strftime("%a, %d %b %Y %H:%M:%S %z")
    message.set_content(case.body)
    return message


def expected_options(text: str) -> RoomOptions:
    values: dict[str, bool] = {}
    for item in text.replace(",", " ").split():
        key, _, value = item.partition("=")
        values[OPTION_FIELDS[key.strip()]] = value.strip() == "on"
    return RoomOptions(**values)


def score(case: Case, now: datetime) -> tuple[str, str]:
    """(class, what was read) for one case."""
    expect = case.expect
    if "problem" in expect:  # the project's own corpus names the problem
        expect = {**expect, "ask": "yes"}
    try:
        (meeting,) = requests.extract(
            message_of(case, now),
            default_timezone=ZONE,
            default_duration=60,
            now=now,
            own_address=OWN,
        )
    except RequestProblem as problem:
        words = dict(problem.params).get("text", "")
        read = f"asked back: {problem.code}" + (f" «{words}»" if words else "")
        return ("right" if expect.get("ask") == "yes" else "asked"), read
    except Exception as error:  # a crash is a miss like any other, shown in the list
        return "asked", f"error: {type(error).__name__}: {error}"
    read = f"{meeting.start:%Y-%m-%d %H:%M}–{meeting.end:%Y-%m-%d %H:%M} {meeting.timezone}"
    if meeting.options != RoomOptions():
        read += f" {meeting.options}"
    if meeting.notes:
        read += " | notes: " + "; ".join(meeting.notes)
    if expect.get("ask") == "yes":
        return "wrong-time", read
    zone = expect.get("zone", ZONE)
    if (
        f"{meeting.start:%Y-%m-%d %H:%M}" != expect.get("start")
        or f"{meeting.end:%Y-%m-%d %H:%M}" != expect.get("end")
        or meeting.timezone != zone
    ):
        return "wrong-time", read
    listed = {a.address.lower() for a in meeting.attendees if not a.organizer}
    wanted = {
        a.strip(" *").lower() for a in expect.get("attendees", "").split(",") if a.strip(" *")
    } - {SENDER}
    if meeting.options != expected_options(expect.get("options", "")) or not wanted <= listed:
        return "wrong-other", read + f" attendees {sorted(listed)}"
    return "right", read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--now", default="2026-12-07 09:15", help="the present, Europe/Zurich")
    parser.add_argument("--show", action="store_true", help="also list the misses")
    args = parser.parse_args(argv)
    now = datetime.strptime(args.now, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(ZONE))

    table: dict[str, dict[str, int]] = {}
    misses: list[str] = []
    for path in args.files:
        for case in load(path):
            language = case.expect.get("language", "?")
            kind, read = score(case, now)
            row = table.setdefault(language, dict.fromkeys(CLASSES, 0))
            row[kind] += 1
            if kind != "right":
                wanted = (
                    "ask back"
                    if case.expect.get("ask") == "yes" or "problem" in case.expect
                    else f"{case.expect.get('start')}–{case.expect.get('end')}"
                    f" {case.expect.get('zone', ZONE)} {case.expect.get('options', '')}"
                )
                misses.append(f"{kind:11} {case.name}: expected {wanted}; read {read}")

    total = dict.fromkeys(CLASSES, 0)
    print("| language | cases | right | asked back | wrong time | wrong other |")
    print("|---|---|---|---|---|---|")
    for language in sorted(table):
        row = table[language]
        for kind in CLASSES:
            total[kind] += row[kind]
        print(_row(language, row))
    print(_row("**all**", total))
    if args.show:
        print()
        print("\n".join(misses))
    return 0


def _row(label: str, row: dict[str, int]) -> str:
    count = sum(row.values())
    share = f"{row['right']}/{count} ({100 * row['right'] / count:.0f} %)" if count else "0/0"
    return (
        f"| {label} | {count} | {share} | {row['asked']} | {row['wrong-time']}"
        f" | {row['wrong-other']} |"
    )


if __name__ == "__main__":
    sys.exit(main())
