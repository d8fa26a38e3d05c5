"""Crash points, for the crash-safety tests only.

The bridge calls `reached(name)` at each step of a message's handling (see
bridge.py). When the environment variable KMEET_BRIDGE_FAILPOINT names that
point, the process kills itself with SIGKILL right there: no cleanup, no
`finally`, no flush, exactly like a power cut or the OOM killer. The tests then
start the bridge again and check that every message still ends in exactly one
outcome, without a second room or a second reply.

The variable is read once, when this module is imported. It is for tests only:
never set it on a real installation. Unset (or naming no point), `reached` does
nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "KMEET_BRIDGE_FAILPOINT"

# Every point the bridge reaches, in the order a planned message passes them.
POINTS = (
    "before-plan",  # meeting recorded 'prepared'; the API not called
    "after-plan",  # the API answered; the room and this message's plan recorded
    "after-reply",  # SMTP accepted the reply and it is recorded; the message not moved
    "before-move",  # the filing intent recorded; the message not moved
    "before-record",  # the message moved; its outcome not recorded
    "after-record",  # the outcome recorded; the folder position not advanced
)

# The message recorded as being read, fetched, not parsed yet: how a watchdog or
# memory-limit kill finds it. Not among POINTS: the restart rejects the message
# (bridge.py) rather than planning it.
WHILE_READING = "while-reading"

_ARMED = os.environ.get(ENV, "").strip()


def reached(name: str) -> None:
    """Die here, at once, when KMEET_BRIDGE_FAILPOINT names `name`."""
    if name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
