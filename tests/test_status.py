"""`kmeet-bridge status`: what the state database says, read-only, exact lines."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kmeet_bridge.models import Outcome, Room
from kmeet_bridge.pacing.health import Outage
from kmeet_bridge.store import MeetingDetails, Store
from tests.support.harness import run_cli

T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
API_503 = "the Infomaniak API failed on its side (HTTP 503, POST /1/kmeet/rooms); try again later"
ROOM = Room(
    url="https://kmeet.infomaniak.com/abc-defg-hij",
    name="abc-defg-hij",
    hostname="kmeet.infomaniak.com",
    id=155910,
)
CONFIG = """\
[imap]
host = "imap.example.com"
username = "meet@example.com"

[smtp]
host = "smtp.example.com"
from_address = "meet@example.com"

[kmeet]
calendar_id = 72618

[state]
path = "state.db"
"""


def status(directory: Path) -> list[str]:
    config = directory / "config.toml"
    config.write_text(CONFIG)
    result = run_cli("--config", str(config), "status")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def record(store: Store, uid: int, outcome: Outcome, minutes: int, **fields: object) -> None:
    store.record_message(
        folder="INBOX",
        uidvalidity=7,
        uid=uid,
        outcome=outcome,
        now=T + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_status_shows_the_last_pass_outcomes_deferred_errors_and_doubts(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        record(store, 1, Outcome.PLANNED, -5, reason=f"new: {ROOM.url}", sender="alice@example.com")
        record(
            store,
            2,
            Outcome.IGNORED,
            -4,
            reason="not a request",
            sender="ruth@example.org",
            subject="Lunch",
        )
        record(
            store,
            3,
            Outcome.REJECTED,
            -3,
            reason="sender eve@elsewhere.example.net is not allowed",
            sender="eve@elsewhere.example.net",
            subject="An offer",
        )
        record(
            store,
            4,
            Outcome.REJECTED,
            -2,
            reason="the bridge failed on this message (ValueError: a strange part)",
            sender="bob@example.org",
            subject="Weekly",
        )
        record(
            store,
            5,
            Outcome.DEFERRED,
            -1,
            reason=API_503,
            sender="carol@example.net",
            subject="Board meeting",
            next_attempt=T + timedelta(minutes=1),
        )
        budget = MeetingDetails(
            "Budget review", "2027-03-15 14:00:00", "2027-03-15 15:00:00", "Europe/Zurich"
        )
        store.begin_planning("ics:alice@example.com:budget@example.com:", budget, None)
        store.prepare_planning("ics:alice@example.com:budget@example.com:", budget, None)
        store.begin_planning("ics:alice@example.com:budget@example.com:", budget, None)
        store.finish_planning("ics:alice@example.com:budget@example.com:", ROOM, T, budget)
        board = MeetingDetails(
            "Board meeting", "2027-03-16 09:00:00", "2027-03-16 10:00:00", "Europe/Zurich"
        )
        store.begin_planning("ics:carol@example.net:board@example.net:", board, None)
        store.record_pass("1 planned, 1 rejected, 1 deferred", ok=True, now=T)

    assert status(tmp_path) == [
        "last pass: 2026-12-01 08:00:00 UTC (1 planned, 1 rejected, 1 deferred)",
        "messages: 1 planned, 1 ignored, 2 rejected, 1 deferred",
        f"  2026-12-01 07:59 deferred carol@example.net: {API_503}",
        "  2026-12-01 07:58 rejected bob@example.org: the bridge failed on this message "
        "(ValueError: a strange part)",
        "  2026-12-01 07:57 rejected eve@elsewhere.example.net: sender eve@elsewhere.example.net "
        "is not allowed",
        "  2026-12-01 07:56 ignored  ruth@example.org: not a request",
        f"  2026-12-01 07:55 planned  alice@example.com: new: {ROOM.url}",
        "deferred (1):",
        '  INBOX:5 carol@example.net "Board meeting": next attempt 2026-12-01 08:01:00 UTC '
        f"(attempt 1): {API_503}",
        "last errors (2):",
        '  2026-12-01 07:58 INBOX:4 bob@example.org "Weekly": the bridge failed on this message '
        "(ValueError: a strange part)",
        '  2026-12-01 07:57 INBOX:3 eve@elsewhere.example.net "An offer": sender '
        "eve@elsewhere.example.net is not allowed",
        "meetings in doubt (2):",
        '  ics:alice@example.com:budget@example.com:: "Budget review" 2027-03-15 14:00:00 '
        f"(Europe/Zurich): planned again after an interrupted API call: {ROOM.url}; a second "
        "room may exist in the Infomaniak calendar",
        '  ics:carol@example.net:board@example.net:: "Board meeting" 2027-03-16 09:00:00 '
        "(Europe/Zurich): the API call has no usable answer (in flight, or cut off): a room "
        "may exist",
    ]


def test_status_keeps_to_the_latest_ten(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        for uid in range(1, 13):
            record(
                store, uid, Outcome.REJECTED, uid, reason=f"problem {uid}", sender="a@example.com"
            )
        store.record_pass("failed: IMAP server down", ok=False, now=T + timedelta(minutes=13))

    lines = status(tmp_path)

    assert lines[:3] == [
        "last pass: 2026-12-01 08:13:00 UTC, did not finish (failed: IMAP server down)",
        "messages: 12 rejected",
        "  2026-12-01 08:12 rejected a@example.com: problem 12",
    ]
    assert lines[11] == "  2026-12-01 08:03 rejected a@example.com: problem 3"
    assert lines[12:16] == [
        "deferred: none",
        # The pass's own failure heads the errors: never "last errors: none" below it.
        "last errors (11):",
        "  2026-12-01 08:13 pass: failed: IMAP server down",
        "  2026-12-01 08:12 INBOX:12 a@example.com: problem 12",
    ]
    assert lines[-2:] == [
        "  2026-12-01 08:03 INBOX:3 a@example.com: problem 3",
        "meetings in doubt: none",
    ]
    assert len(lines) == 26


def test_status_before_any_pass(tmp_path: Path) -> None:
    assert status(tmp_path) == [
        f"no state yet: {tmp_path / 'state.db'} does not exist (no pass has run)"
    ]
    Store(tmp_path / "state.db").close()
    assert status(tmp_path) == [
        "last pass: never",
        "messages: none",
        "deferred: none",
        "last errors: none",
        "meetings in doubt: none",
    ]


def test_a_failed_pass_is_listed_among_the_last_errors(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        store.record_pass(
            "failed: cannot connect to IMAP server imap.example.com:993: connection refused",
            ok=False,
            now=T,
        )
    assert status(tmp_path) == [
        "last pass: 2026-12-01 08:00:00 UTC, did not finish (failed: cannot connect to IMAP "
        "server imap.example.com:993: connection refused)",
        "messages: none",
        "deferred: none",
        "last errors (1):",
        "  2026-12-01 08:00 pass: failed: cannot connect to IMAP server imap.example.com:993: "
        "connection refused",
        "meetings in doubt: none",
    ]


# -- status --check and --json ------------------------------------------------------


def check(directory: Path) -> tuple[int, str]:
    """`status --check` (options after the command, as monitoring configs write them)."""
    config = directory / "config.toml"
    if not config.exists():
        config.write_text(CONFIG)
    result = run_cli("status", "--check", "--config", str(config))
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1, result.stdout
    return result.returncode, result.stdout.rstrip("\n")


def test_check_ok_after_a_recent_pass(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with Store(tmp_path / "state.db") as store:
        record(store, 1, Outcome.PLANNED, 0, reason="new", sender="alice@example.com")
        store.record_pass("1 planned", ok=True, now=now - timedelta(seconds=150))
    code, line = check(tmp_path)
    assert code == 0
    head, perfdata = line.split(" | ")
    assert head == "KMEET-BRIDGE OK - last successful pass 2 min ago"
    assert perfdata.startswith("waiting=0 oldest_waiting=0s in_doubt=0 last_pass_age=15")


def test_check_warns_of_a_message_waiting_for_more_than_an_hour(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with Store(tmp_path / "state.db") as store:
        for uid, minutes in ((1, 125), (2, 30)):
            store.record_message(
                folder="INBOX",
                uidvalidity=7,
                uid=uid,
                outcome=Outcome.DEFERRED,
                reason=API_503,
                next_attempt=now + timedelta(minutes=5),
                now=now - timedelta(minutes=minutes),
            )
        store.record_pass("nothing new", ok=True, now=now - timedelta(seconds=30))
    code, line = check(tmp_path)
    assert code == 1
    head, perfdata = line.split(" | ")
    # The seconds since the pass may tick while the command starts.
    assert re.fullmatch(
        r"KMEET-BRIDGE WARNING - 1 message waiting for more than an hour \(the oldest "
        r"2 h 5 min\); last successful pass 3\ds ago",
        head,
    ), head
    assert perfdata.startswith("waiting=2 oldest_waiting=75")


def test_check_warns_of_meetings_in_doubt(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with Store(tmp_path / "state.db") as store:
        board = MeetingDetails(
            "Board meeting", "2027-03-16 09:00:00", "2027-03-16 10:00:00", "Europe/Zurich"
        )
        store.begin_planning("ics:carol@example.net:board@example.net:", board, None)
        store.record_pass("nothing new", ok=True, now=now - timedelta(minutes=1, seconds=10))
    code, line = check(tmp_path)
    assert code == 1
    assert line.startswith("KMEET-BRIDGE WARNING - 1 meeting in doubt; last successful pass 7"), (
        line
    )
    assert " | waiting=0 oldest_waiting=0s in_doubt=1 last_pass_age=7" in line


def test_check_is_critical_when_no_pass_succeeded_for_three_poll_intervals(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    with Store(tmp_path / "state.db") as store:
        store.record_pass("nothing new", ok=True, now=now - timedelta(minutes=10))
        # Passes still run, but fail: that is no better than none.
        store.record_pass("failed: IMAP server down", ok=False, now=now - timedelta(seconds=20))
    code, line = check(tmp_path)
    assert code == 2
    assert line.startswith(
        "KMEET-BRIDGE CRITICAL - no successful pass for 10 min (more than 3 poll intervals of "
        "60s); last successful pass 10 min ago | waiting=0 oldest_waiting=0s in_doubt=0 "
        "last_pass_age=60"
    ), line


def test_check_is_critical_before_any_pass_and_unknown_without_configuration(
    tmp_path: Path,
) -> None:
    assert check(tmp_path) == (
        2,
        "KMEET-BRIDGE CRITICAL - no pass has finished yet; no successful pass yet | "
        "waiting=0 oldest_waiting=0s in_doubt=0",
    )
    (tmp_path / "config.toml").write_text("[imap]\nport = 'x'\n")
    code, line = check(tmp_path)
    assert code == 3
    assert line.startswith("KMEET-BRIDGE UNKNOWN - ")


def test_status_json_follows_the_documented_schema(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with Store(tmp_path / "state.db") as store:
        record(store, 1, Outcome.PLANNED, 0, reason=f"new: {ROOM.url}", sender="alice@example.com")
        store.record_message(
            folder="INBOX",
            uidvalidity=7,
            uid=2,
            outcome=Outcome.DEFERRED,
            reason=API_503,
            sender="carol@example.net",
            subject="Board meeting",
            message_id="<board@example.net>",
            next_attempt=now + timedelta(minutes=2),
            now=now - timedelta(minutes=90),
        )
        store.record_pass("1 deferred", ok=True, now=now)
    (tmp_path / "config.toml").write_text(CONFIG)
    result = run_cli("--config", str(tmp_path / "config.toml"), "status", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    deferred = {
        "folder": "INBOX",
        "uidvalidity": 7,
        "uid": 2,
        "message_id": "<board@example.net>",
        "sender": "carol@example.net",
        "subject": "Board meeting",
        "outcome": "deferred",
        "reason": API_503,
        "attempts": 1,
        "next_attempt": (now + timedelta(minutes=2)).isoformat(),
        "first_seen": (now - timedelta(minutes=90)).isoformat(),
        "updated_at": (now - timedelta(minutes=90)).isoformat(),
    }
    assert document["schema"] == 1
    assert document["health"] == {
        "state": "warning",
        "problems": ["1 message waiting for more than an hour (the oldest 1 h 30 min)"],
    }
    assert document["last_pass"] == {"at": now.isoformat(), "ok": True, "result": "1 deferred"}
    assert document["last_successful_pass_at"] == now.isoformat()
    assert document["messages"] == {"planned": 1, "ignored": 0, "rejected": 0, "deferred": 1}
    assert document["waiting"]["count"] == 1
    assert 5400 <= document["waiting"]["oldest_seconds"] < 5460
    assert document["deferred"] == [deferred]
    assert document["recent"][0] == deferred
    assert document["recent"][1]["sender"] == "alice@example.com"
    assert document["last_errors"] == []
    assert document["in_doubt"] == []
    assert document["services"] == []
    assert set(document) == {
        "schema",
        "now",
        "health",
        "last_pass",
        "last_successful_pass_at",
        "services",
        "messages",
        "waiting",
        "recent",
        "deferred",
        "last_errors",
        "in_doubt",
    }


def test_status_says_which_service_is_down_and_who_waits_for_it(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        for uid in (1, 2, 3, 4):
            record(
                store,
                uid,
                Outcome.DEFERRED,
                -1,
                reason=API_503,
                sender="carol@example.net",
                next_attempt=T + timedelta(days=1),
                waiting_for="api",
            )
        store.set_meta(*Outage("api", T - timedelta(minutes=3), "503").meta())
        store.record_pass("4 deferred", ok=True, now=T)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)

    lines = run_cli("--config", str(config), "status", env={"TZ": "UTC"}).stdout.splitlines()

    assert lines[:3] == [
        "last pass: 2026-12-01 08:00:00 UTC (4 deferred)",
        "kMeet API unavailable since 07:57 (503), 4 messages waiting",
        "messages: 4 deferred",
    ]
    assert lines[7:9] == [
        "deferred (4):",
        "  INBOX:1 carol@example.net: waits for the kMeet API, answered by 2026-12-02 08:00:00 "
        f"UTC at the latest (attempt 1): {API_503}",
    ]
