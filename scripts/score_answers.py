"""Score the reader of answers to the bridge's reply on tests/thread_answers_cases.txt.

    python scripts/score_answers.py [FILE] [--show]
    python scripts/score_answers.py --cost      # what hostile answers cost to read

Each case is "right" (read as expected), "asked" (a problem or not understood
where a reading was expected: safe, not right) or "wrong" (read otherwise:
another class, time, zone, attendee or option).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kmeet_bridge.models import RoomOptions
from kmeet_bridge.requests.requests import RequestProblem
from kmeet_bridge.requests.thread_answers import (
    Answer,
    CancelIt,
    ChangeIt,
    MeetingNow,
    NotUnderstood,
    Thanks,
    read_answer,
)

ZONE = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZONE)
OPTIONS = {
    "lobby": "lobby_enabled",
    "password": "password_enabled",
    "e2ee": "e2ee_enabled",
    "recording": "enable_recording",
}
CASES = Path(__file__).resolve().parent.parent / "tests" / "thread_answers_cases.txt"


def meeting(language: str) -> MeetingNow:
    return MeetingNow(
        title="Budget review",
        start=datetime(2026, 12, 8, 14, 0, tzinfo=ZONE),
        end=datetime(2026, 12, 8, 15, 0, tzinfo=ZONE),
        timezone="Europe/Zurich",
        attendees=("anna@example.com", "bob@example.com"),
        options=RoomOptions(),
        language=language,
    )


@dataclass(frozen=True)
class Case:
    language: str
    answer: str
    expected: str


def load(path: Path = CASES) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        language, answer, expected = (part.strip() for part in line.split(" | "))
        cases.append(Case(language, answer.replace("\\n", "\n"), expected))
    return cases


def reading(case: Case) -> str:
    """What the reader made of the case, written as the table writes expectations."""
    try:
        answer: Answer = read_answer(case.answer, meeting=meeting(case.language), now=NOW)
    except RequestProblem as problem:
        return f"ask {problem.code}"
    if isinstance(answer, Thanks):
        return "thanks"
    if isinstance(answer, CancelIt):
        return "cancel"
    if isinstance(answer, NotUnderstood):
        return "unclear"
    assert isinstance(answer, ChangeIt)
    words = ["change", f"{answer.start:%Y-%m-%dT%H:%M}", f"{answer.end:%Y-%m-%dT%H:%M}"]
    if answer.timezone != "Europe/Zurich":
        words.append(f"zone={answer.timezone}")
    words += [f"+{address}" for address in answer.add_attendees]
    for name, attribute in OPTIONS.items():
        value = getattr(answer.options, attribute)
        if value is not None:
            words.append(f"{name}={'on' if value else 'off'}")
    return " ".join(words)


def verdict(expected: str, got: str) -> str:
    if expected == got or (expected == "unclear" and got == "unclear"):
        return "right"
    if got == "unclear" or got.startswith("ask "):
        return "asked"
    return "wrong"


# Answers of 1 MB shaped to make a reader work: one long word, keywords,
# digits and colons, addresses, lines of ambiguous times.
HOSTILE = {
    "one 1 MB word": "a" * 1_000_000,
    "cancel x 150k": "cancel " * 150_000,
    "typo x 150k": "cancle " * 150_000,
    "1: x 500k": "1:" * 500_000,
    "x@ x 500k": "x@" * 500_000,
    "move to 3, 10k lines": ("move to 3 " * 100 + "\n") * 10_000,
    "tabs then cancel": "\t" * 1_000_000 + "cancel",
}


def cost(runs: int = 5) -> None:
    """Median time and peak memory of reading each hostile answer, and a usual one."""
    shapes = {"usual answer": "move to Friday 10:00 and add carl@example.net", **HOSTILE}
    print(f"{'answer':<24}{'median ms':>10}{'max ms':>9}{'peak MB':>9}")
    for name, text in shapes.items():
        times, peak = [], 0
        for _ in range(runs):
            tracemalloc.start()
            begin = time.perf_counter()
            with contextlib.suppress(RequestProblem):
                read_answer(text, meeting=meeting("en"), now=NOW)
            times.append((time.perf_counter() - begin) * 1000)
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        print(f"{name:<24}{statistics.median(times):>10.1f}{max(times):>9.1f}{peak / 1e6:>9.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=CASES)
    parser.add_argument("--show", action="store_true", help="print every miss")
    parser.add_argument("--cost", action="store_true", help="time hostile answers instead")
    args = parser.parse_args(argv)
    if args.cost:
        cost()
        return 0
    table: dict[str, dict[str, int]] = {}
    misses = []
    for case in load(args.file):
        got = reading(case)
        outcome = verdict(case.expected, got)
        row = table.setdefault(case.language, {"right": 0, "asked": 0, "wrong": 0})
        row[outcome] += 1
        if outcome != "right":
            misses.append((case, got, outcome))
    print(f"{'language':<9}{'cases':>6}{'right':>7}{'asked':>7}{'wrong':>7}")
    for language, row in table.items():
        print(
            f"{language:<9}{sum(row.values()):>6}{row['right']:>7}{row['asked']:>7}{row['wrong']:>7}"
        )
    if args.show:
        for case, got, outcome in misses:
            print(f"{outcome:<6} {case.language} {case.answer!r}")
            print(f"       expected {case.expected}")
            print(f"       read     {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
