"""What reading a generated message costs (hypothesis): repeat rules built from
every BY part, request bodies built from the grammar's own words, nested MIME.
Whatever is generated, `parse` reads it in under 2 s of CPU time and 200 MB,
measured in this process (thread CPU time; tracemalloc's peak), and answers
without an exception. Rules that only a hostile sender writes (positions that
no period holds, parts that never agree) end on the CPU budget of [limits]
cpu_seconds, 1 s by default: refused, in time."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeet_bridge.requests.language import MONTHS, WEEKDAYS
from kmeet_bridge.service import cli
from tests.support import hostile
from tests.test_bounded_readers import NOW, SETTINGS

MAX_SECONDS = 2.0
MAX_BYTES = 200 * 1024 * 1024
COSTS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def cost_of_parse(raw: bytes, name: str = "message.eml") -> tuple[float, int, str]:
    """(CPU seconds, peak bytes allocated, output) of `parse` on `raw`: the time
    from one run, the memory from a second one under tracemalloc (which slows
    what it watches several times over)."""
    started = time.thread_time()
    output = cli.describe_file(Path(name), raw, SETTINGS, NOW)
    seconds = time.thread_time() - started
    tracemalloc.start()
    try:
        cli.describe_file(Path(name), raw, SETTINGS, NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak, output


def assert_cheap(raw: bytes) -> None:
    seconds, peak, output = cost_of_parse(raw)
    assert "outcome:" in output
    assert seconds < MAX_SECONDS, f"{seconds:.2f} s"
    assert peak < MAX_BYTES, f"{peak / 2**20:.0f} MiB"


# --- repeat rules from every BY part --------------------------------------------------


def values(low: int, high: int, *, signed: bool = False) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    if signed:
        number = number.filter(lambda n: n != 0)
    return st.lists(number, min_size=1, max_size=high - low + 1, unique=True).map(
        lambda items: ",".join(map(str, items))
    )


BY_PARTS: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "BYSECOND": lambda: values(0, 59),
    "BYMINUTE": lambda: values(0, 59),
    "BYHOUR": lambda: values(0, 23),
    "BYDAY": lambda: st.lists(
        st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "1MO", "-1FR", "2TU"]),
        min_size=1,
        max_size=7,
        unique=True,
    ).map(",".join),
    "BYMONTHDAY": lambda: values(-31, 31, signed=True),
    "BYYEARDAY": lambda: values(-366, 366, signed=True),
    "BYWEEKNO": lambda: values(-53, 53, signed=True),
    "BYMONTH": lambda: values(1, 12),
    "BYSETPOS": lambda: values(-366, 366, signed=True),
}


@st.composite
def repeat_rules(draw: st.DrawFn) -> bytes:
    parts = [f"FREQ={draw(st.sampled_from(['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']))}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    for name in draw(st.lists(st.sampled_from(sorted(BY_PARTS)), max_size=6, unique=True)):
        parts.append(f"{name}={draw(BY_PARTS[name]())}")
    ending = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if ending == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 100_000))}")
    elif ending == "UNTIL":
        parts.append(f"UNTIL={draw(st.integers(2027, 2099))}1231T000000Z")
    raw = hostile.repeating_invitation(";".join(parts), sender="alice@example.com")
    year = draw(st.integers(1980, 2030))
    minutes = draw(st.sampled_from([1, 30, 60, 24 * 60, 10 * 24 * 60]))
    end = datetime(year, 3, 1, 10, tzinfo=UTC).timestamp() + minutes * 60
    stamp = datetime.fromtimestamp(end, UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = raw.replace(b"DTSTART:2027", f"DTSTART:{year}".encode())
    return raw.replace(b"DTEND:20270301T100100Z", f"DTEND:{stamp}".encode())


@COSTS
@given(repeat_rules())
def test_any_repeat_rule_is_read_cheaply(raw: bytes) -> None:
    assert_cheap(raw)


# --- request bodies from the grammar's own words -------------------------------------

GRAMMAR_WORDS = [
    *(name for names in WEEKDAYS.values() for name in names),
    *(name for months in MONTHS.values() for names in months for name in names),
    *[
        "tomorrow",
        "demain",
        "morgen",
        "domani",
        "today",
        "next",
        "prochain",
        "nächsten",
        "prossimo",
        "at",
        "à",
        "um",
        "alle",
        "ore",
        "h",
        "heure",
        "heures",
        "uhr",
        "until",
        "bis",
        "jusqu'à",
        "fino",
        "from",
        "de",
        "von",
        "dalle",
        "to",
        "-",
        ":",
        ".",
        ",",
        ";",
        "/",
        "@",
        "am",
        "pm",
        "minutes",
        "min",
        "hour",
        "stunde",
        "une",
        "heure",
        "1h30",
        "45",
        "10:30",
        "9am",
        "14h",
        "03/04/2027",
        "2027-02-03",
        "3.2.",
        "le",
        "il",
        "the",
        "5th",
        "in",
        "days",
        "week",
        "semaine",
        "woche",
        "settimana",
        "with",
        "avec",
        "mit",
        "con",
        "lobby",
        "password",
        "Passwort",
        "chiffrement",
        "recording",
        "Europe/London",
        "London",
        "time",
        "heure",
        "de",
        "Londres",
        "EST",
        "CET",
        "UTC+2",
        "noon",
        "midi",
        "now",
        "sofort",
        "attendees:",
        "participants:",
        "a@example.com",
        "www.example.com",
        "http://example.com",
        ">",
        "--",
        "On",
        "wrote:",
        "Le",
        "a",
        "écrit",
        ":",
    ],
]


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    word = st.sampled_from(GRAMMAR_WORDS) | st.text(max_size=8)
    line = st.lists(word, max_size=400).map(" ".join)
    lines = draw(st.lists(line | st.just(""), max_size=30))
    repeat = draw(st.sampled_from([1, 1, 10, 200]))
    body = "\n".join(lines * repeat)
    subject = "kmeet: " + " ".join(draw(st.lists(word, max_size=20)))
    subtype = draw(st.sampled_from(["plain", "html"]))
    if subtype == "html":
        body = "<html><body>" + body.replace("\n", "<br>") + "</body></html>"
    return hostile.plain(subject, body, sender="alice@example.com").replace(
        b"text/plain", f"text/{subtype}".encode()
    )


@COSTS
@given(requests())
def test_any_request_body_is_read_cheaply(raw: bytes) -> None:
    assert_cheap(raw)


# --- nested MIME ------------------------------------------------------------------------


@st.composite
def nested_mime(draw: st.DrawFn) -> bytes:
    kinds = draw(
        st.lists(st.sampled_from(["mixed", "alternative", "rfc822", "leaf"]), max_size=3000)
    )
    inner = "Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n"
    for number, kind in enumerate(kinds):
        if kind == "rfc822":
            inner = f"Content-Type: message/rfc822\r\n\r\nSubject: fwd {number}\r\n{inner}"
        elif kind == "leaf":
            inner = f"Content-Type: text/plain\r\n\r\nhello {number}"
        else:
            boundary = f"b{number}"
            inner = (
                f'Content-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\n{inner}\r\n--{boundary}\r\n"
                f"Content-Type: text/plain\r\n\r\nsibling\r\n--{boundary}--\r\n"
            )
    head = (
        "From: alice@example.com\r\nTo: meet@example.com\r\nSubject: Nested\r\n"
        "Message-ID: <nested@example.com>\r\nMIME-Version: 1.0\r\n"
    )
    return (head + inner).encode()


@COSTS
@given(nested_mime())
def test_any_nesting_is_read_cheaply(raw: bytes) -> None:
    assert_cheap(raw)


def test_the_hostile_set_is_read_cheaply() -> None:
    for name, raw in hostile.hostile_messages().items():
        seconds, peak, output = cost_of_parse(raw.replace(b"attacker.test", b"example.com"))
        assert "Traceback" not in output, name
        assert seconds < MAX_SECONDS, (name, seconds)
        assert peak < MAX_BYTES, (name, peak)
