"""Every reader is bounded by construction (issue 12): repeat rules are refused
from their parts before anything is expanded, the request grammar reads a
bounded start of the body with patterns that run in linear time, MIME
structure is counted before it is parsed, and a CPU budget ends what slips
through. Pure: no servers. Where time is the behaviour (a reader that must
finish), the work runs in a subprocess with a generous timeout, so a slow
machine cannot make the test fail, only a quadratic reader can."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from kmeet_bridge import config
from kmeet_bridge.bridge import extract_meetings
from kmeet_bridge.invitations.invites import MAX_PER_DAY
from kmeet_bridge.limits import budget, mime_limits
from kmeet_bridge.replies import replies
from kmeet_bridge.requests import requests
from tests.support import hostile
from tests.support.harness import run_cli

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SETTINGS = config.from_mapping(
    {
        "imap": {"host": "imap.example.com", "username": "meet@example.com"},
        "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
        "kmeet": {"calendar_id": 1},
        "senders": {"allow": ["*"]},
    },
    {},
    secrets=False,
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def run_python(code: str, timeout: float) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter; a reader that never ends fails on the timeout."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# --- repeat rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "per_day"),
    [
        (f"FREQ=HOURLY;BYMINUTE={hostile.ALL_MINUTES};BYSECOND={hostile.ALL_MINUTES}", "86,400"),
        (f"FREQ=DAILY;BYHOUR={hostile.ALL_HOURS};BYMINUTE={hostile.ALL_MINUTES}", "1,440"),
        (f"FREQ=WEEKLY;BYMINUTE={hostile.ALL_MINUTES};BYSECOND={hostile.ALL_MINUTES}", "3,600"),
        ("FREQ=YEARLY;BYYEARDAY=1,2,3;BYHOUR=1,2,3,4,5;BYMINUTE=0,10,20,30,40,50", "30"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1;BYMINUTE=1,2,3,4,5;BYSECOND=1,2,3,4,5", "25"),
    ],
)
def test_a_rule_denser_than_24_a_day_is_refused_before_expansion(rule: str, per_day: str) -> None:
    started = time.process_time()
    extraction = extract_meetings(parse(hostile.repeating_invitation(rule)), SETTINGS, NOW)

    assert time.process_time() - started < 1.0  # nothing was expanded
    (problem,) = extraction.problems
    assert extraction.meetings == ()
    assert problem.code == "dense_rule"
    assert problem.params == (("limit", str(MAX_PER_DAY)),)
    assert f"repeats up to {per_day} times a day, more than the 24 read here" in problem.reason
    # The reply words it in the sender's language, as every other reason.
    assert replies.problem_text(problem, "de")[0] == (
        "Der Termin wiederholt sich mehr als 24 Mal am Tag; eine so dichte Terminserie kann "
        "nicht geplant werden."
    )
    assert replies.problem_text(problem, "fr")[0].startswith(
        "L’événement se répète plus de 24 fois par jour"
    )


@pytest.mark.parametrize(
    ("rule", "start", "end", "why"),
    [
        # Every hour since 1990: 24 a day, but some 325,000 to walk through.
        ("FREQ=HOURLY", "1990", "1990", "would have to be followed through about"),
        # Daily, each lasting 37 years: 13,500 occurrences overlap any moment.
        ("FREQ=DAILY", "1990", "2027", "so about 13,515 of them overlap"),
    ],
)
def test_a_rule_past_the_total_bounds_is_refused(rule: str, start: str, end: str, why: str) -> None:
    raw = hostile.repeating_invitation(rule)
    raw = raw.replace(b"DTSTART:2027", f"DTSTART:{start}".encode())
    raw = raw.replace(b"DTEND:2027", f"DTEND:{end}".encode())
    started = time.process_time()
    (problem,) = extract_meetings(parse(raw), SETTINGS, NOW).problems
    assert time.process_time() - started < 1.0
    assert problem.code == "bad_rule"
    assert why in problem.reason


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;COUNT=10",
        "FREQ=DAILY;BYHOUR=9,14;BYMINUTE=0,30;COUNT=8",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1,-1",
        "FREQ=MONTHLY;BYDAY=2TU;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
    ],
)
def test_rules_real_calendars_send_are_still_planned(rule: str) -> None:
    raw = hostile.repeating_invitation(rule, sender="alice@example.com")
    extraction = extract_meetings(parse(raw), SETTINGS, NOW)
    assert extraction.problems == ()
    (meeting,) = extraction.meetings
    assert meeting.rule == rule


# --- the request grammar -----------------------------------------------------------


def test_the_request_reader_reads_a_bounded_start_of_the_body() -> None:
    long_line = "tomorrow 10am " + "x" * 5000 + " with lobby"
    lines = requests.bounded_lines(long_line + "\n" + "\n" * 200 + "next Monday 9am")
    assert lines[0] == long_line[: requests.MAX_LINE_CHARS]
    assert len(lines) == requests.MAX_SCANNED_LINES
    assert "next Monday 9am" not in lines
    many_words = " ".join(["word"] * 300)
    assert len(requests.bounded_lines(many_words)[0].split()) == requests.MAX_LINE_TOKENS
    # 100,000 blank lines (the 95 s): nothing to read, read at once.
    assert requests.request_lines("\n" * 100_000 + "tomorrow 10am") == []


ADVERSARIAL_UNITS = {
    "letters": "a",
    "letters and dashes": "a-",
    "letters and at signs": "a@",
    "apostrophes": "a'",
    "digits and spaces": "1 ",
    "digits and colons": "1:",
    "spaces": " ",
    "unclosed tags": "<a",
    "time-like words": hostile.TIME_TOKENS,
    "dates": "le 5 ",
}


def test_a_1mb_adversarial_line_is_read_in_a_moment() -> None:
    """Through the whole reader of a plain request (lines, words, the grammar,
    the language, HTML), one 1 MB line of each kind, in the subject too."""
    result = run_python(
        f"""
        import time
        from datetime import UTC, datetime
        from email.message import EmailMessage
        from kmeet_bridge import config
        from kmeet_bridge.bridge import extract_meetings, reply_language
        settings = config.from_mapping(
            {{"imap": {{"host": "i.example.com", "username": "meet@example.com"}},
              "smtp": {{"host": "s.example.com", "from_address": "meet@example.com"}},
              "kmeet": {{"calendar_id": 1}}, "senders": {{"allow": ["*"]}}}},
            {{}}, secrets=False)
        now = datetime(2026, 12, 1, 8, tzinfo=UTC)
        worst = 0.0
        for unit in {list(ADVERSARIAL_UNITS.values())!r}:
            line = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
            for subtype in ("plain", "html"):
                message = EmailMessage()
                message["From"] = "alice@example.com"
                message["Subject"] = "kmeet: " + line[:5000]
                message["Message-ID"] = "<long@example.com>"
                message.set_content(line, subtype=subtype)
                started = time.process_time()
                extraction = extract_meetings(message, settings, now)
                reply_language(message, extraction, "en")
                worst = max(worst, time.process_time() - started)
        print(f"worst {{worst:.3f}} s")
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("worst ")


def test_every_pattern_of_the_request_grammar_runs_in_linear_time() -> None:
    """Each compiled pattern of the when package, requests.py, typos.py and language.py, searched
    through 100 KB of each adversarial kind. Linear, all of it takes seconds; a
    pattern with backtracking nested quantifiers takes hours on one of them."""
    result = run_python(
        f"""
        import importlib, pkgutil, re
        from kmeet_bridge.requests import language, requests, typos, when
        modules = [language, requests, typos] + [
            importlib.import_module(f"kmeet_bridge.requests.when.{{info.name}}")
            for info in pkgutil.iter_modules(when.__path__)
        ]
        def patterns(value):
            if isinstance(value, re.Pattern):
                yield value
            elif isinstance(value, (tuple, list)):
                for item in value:
                    yield from patterns(item)
        count = 0
        for module in modules:
            for name, value in vars(module).items():
                for pattern in patterns(value):
                    count += 1
                    for unit in {list(ADVERSARIAL_UNITS.values())!r}:
                        text = (unit * (100_000 // len(unit) + 1))[:100_000]
                        for _ in pattern.finditer(text):
                            pass
        print(count)
        """,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 60  # every pattern was tried, not none


# --- MIME -------------------------------------------------------------------------


def test_structure_is_counted_before_parsing() -> None:
    assert mime_limits.structure_problem(hostile.nested_multipart(2000), 500) == (
        "the message has 2001 multipart or message parts, more than the 64 read here",
        "containers",
        "64",
    )
    assert mime_limits.structure_problem(hostile.many_parts(10_000), 500) == (
        "the message has about 10001 parts, more than the 500 read here",
        "parts",
        "500",
    )
    assert mime_limits.structure_problem(hostile.nested_multipart(20), 500) is None
    invitation = (ROOT / "examples" / "invitation.eml").read_bytes()
    assert mime_limits.structure_problem(invitation, 500) is None


@pytest.mark.parametrize("levels", [2000, 100_000])
def test_parse_answers_deep_nesting_without_a_traceback(tmp_path: Path, levels: int) -> None:
    path = tmp_path / "nested.eml"
    path.write_bytes(hostile.nested_multipart(levels, sender="alice@example.com"))

    result = run_cli("parse", str(path), env={"KMEET_BRIDGE_CONFIG": str(tmp_path / "none")})

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"outcome: rejected (the message has {levels + 1} multipart or message parts" in (
        result.stdout
    )


def test_parse_of_a_strangers_message_reads_its_header_only(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        '[kmeet]\ncalendar_id = 1\n[senders]\nallow = ["*@example.com"]\n'
    )
    path = tmp_path / "dense.eml"
    rule = f"FREQ=HOURLY;BYMINUTE={hostile.ALL_MINUTES};BYSECOND={hostile.ALL_MINUTES}"
    path.write_bytes(hostile.repeating_invitation(rule))

    result = run_cli("--config", str(config_path), "parse", str(path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        "subject: Dense",
        "outcome: rejected (sender stranger@attacker.test is not in [senders] allow; no reply)",
        "nothing more of the message is read",
    ]


# --- the budget -------------------------------------------------------------------


def test_the_budget_ends_a_reading_that_runs_past_it() -> None:
    with (
        pytest.raises(budget.OverBudget, match=r"more than 0\.05 s of CPU time"),
        budget.limit(0.05),
    ):
        while True:
            budget.check()
    budget.check()  # outside a limit: nothing
