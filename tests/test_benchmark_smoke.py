"""The benchmark keeps working: `python -m benchmarks` in its smallest form.

These tests check the table's shape, never the figures: speed is what the
benchmark reports, not what the test suite judges.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"\d[\d,]*(?:\.\d+)?"


def run_benchmark(*args: str, markdown: Path) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--repeat",
            "1",
            "--markdown",
            str(markdown),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environ,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert markdown.read_text(encoding="utf-8") in done.stdout + "\n"
    return done.stdout


def rows(output: str, measurement: str) -> list[list[str]]:
    """The table's rows for `measurement`, as lists of cells."""
    found = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == measurement:
            found.append(cells)
    return found


def test_parsing_prints_a_table_with_the_machine_and_a_rate(tmp_path: Path) -> None:
    output = run_benchmark("--only", "parsing", markdown=tmp_path / "table.md")
    assert re.search(r"^- machine: .+, \d+ cores?", output, re.MULTILINE)
    assert re.search(r"^- Python 3\.\d+", output, re.MULTILINE)
    assert "| measurement | figure" in output
    parsing = rows(output, "parsing")
    assert parsing, output
    name, median, target, result = parsing[0][1], parsing[0][2], parsing[0][5], parsing[0][6]
    assert "extract()" in name
    assert re.fullmatch(NUMBER + " /s", median), median
    assert target == ">= 500 /s"
    assert result in ("pass", "FAIL")
    assert not rows(output, "polling")  # --only means only


@pytest.mark.integration
def test_polling_counts_the_imap_conversation_of_an_empty_pass(tmp_path: Path) -> None:
    output = run_benchmark(
        "--only", "polling", "--polling-messages", "20", markdown=tmp_path / "table.md"
    )
    polling = {cells[1]: cells for cells in rows(output, "polling")}
    assert set(polling) >= {
        "tagged responses, 10 messages",
        "tagged responses, 20 messages",
        "tagged responses: 20 / 10",
        "once process: 20 / 10",
    }, output
    for cells in polling.values():
        assert re.fullmatch(NUMBER + r"(?: ms| s|x)?", cells[2]), cells
    # A pass logs in, selects, searches and logs out: a handful of round trips.
    assert 3 <= int(polling["tagged responses, 10 messages"][2]) <= 50
    assert polling["tagged responses: 20 / 10"][5] == "<= 1.00x"


def test_hostile_prints_the_worst_message_beside_a_normal_invitation(tmp_path: Path) -> None:
    output = run_benchmark("--only", "hostile", markdown=tmp_path / "table.md")
    hostile = {cells[1].split(" (")[0]: cells for cells in rows(output, "hostile")}
    assert set(hostile) == {
        "normal invitation: CPU time",
        "normal invitation: peak memory",
        "worst hostile message: CPU time",
        "worst hostile message: peak memory",
    }, output
    assert hostile["worst hostile message: CPU time"][5] == "< 2,000 ms"
    assert hostile["worst hostile message: peak memory"][5] == "< 200 MB"
