"""Text safe to show on a terminal or in a log: without control characters.

Values printed by the commands and written to the log come from mail that
anybody can send (a title, a TZID, an error that quotes a DTSTART). A C0 or C1
control character in them (ESC, CSI, BEL...) would reach the terminal as a
command: change its title, clear the screen, or hide a line. This module is
the one place that removes them; cli.py passes every line of output and every
log line through it.
"""

from __future__ import annotations

# C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F): the characters terminals obey.
_CONTROLS = {code: None for code in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str, keep: str = "") -> str:
    """`text` without C0 and C1 control characters, except those in `keep`
    (a command's own line breaks and tabs, for one)."""
    table = {code: None for code in _CONTROLS if chr(code) not in keep} if keep else _CONTROLS
    return text.translate(table)
