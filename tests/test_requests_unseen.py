"""Requests written by others without sight of the code (tests/requests_corpus/
unseen_*.txt): the reader must read at least 95 % of them right and must never
plan one at a wrong time (asking back is safe, a room at a wrong time is not)."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.request_cases import SCORER

ROOT = Path(__file__).parent.parent
UNSEEN = sorted((ROOT / "tests" / "requests_corpus").glob("unseen_*.txt"))
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZoneInfo("Europe/Zurich"))


@functools.cache
def scores(path: Path) -> tuple[tuple[str, str, str], ...]:
    """(name, class, what was read) of every case in `path`."""
    return tuple((case.name, *SCORER.score(case, NOW)) for case in SCORER.load(path))


@pytest.mark.parametrize("path", UNSEEN, ids=lambda path: path.name)
def test_no_unseen_request_is_planned_at_a_wrong_time(path: Path) -> None:
    assert len(scores(path)) >= 160
    assert [f"{name}: {read}" for name, kind, read in scores(path) if kind == "wrong-time"] == []


@pytest.mark.parametrize("path", UNSEEN, ids=lambda path: path.name)
def test_unseen_requests_are_read_right_at_least_95_percent(path: Path) -> None:
    kinds = [kind for _, kind, _ in scores(path)]
    assert kinds.count("right") / len(kinds) >= 0.95
