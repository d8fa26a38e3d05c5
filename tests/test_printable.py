"""Control characters never reach a terminal or the log."""

from __future__ import annotations

import logging

from kmeet_bridge.service.cli import LineFormatter
from kmeet_bridge.service.printable import printable

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\x00\x7f\x85"


def test_every_c0_and_c1_control_is_removed() -> None:
    text = "".join(chr(code) for code in range(0xA1))
    assert printable(text) == "".join(chr(code) for code in range(0x20, 0x7F)) + "\xa0"
    assert printable(f"Budget{ESCAPES} review") == "Budget]0;owned[2J31m review"


def test_line_breaks_and_tabs_can_be_kept() -> None:
    assert printable("a\tb\nc\x1b[2J\r\n", keep="\n\t") == "a\tb\nc[2J\n"
    assert printable("a\tb\nc") == "abc"
    assert printable("Zürich – 東京 ✓") == "Zürich – 東京 ✓"


def test_log_lines_carry_no_control_characters() -> None:
    formatter = LineFormatter("%(levelname)s %(message)s", journal=False)
    record = logging.LogRecord(
        "kmeet_bridge", logging.WARNING, __file__, 1, "TZID %s unknown", (ESCAPES,), None
    )
    assert formatter.format(record) == "WARNING TZID ]0;owned[2J31m unknown"
