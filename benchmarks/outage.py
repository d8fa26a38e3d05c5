"""The outage measurement: how soon the waiting are served once a service is back.

`kmeet-bridge run` as a process, with its real probe schedule (1 s doubling to
25 s). Each run has two outages of `outage_seconds` (90 by default):

- the API answers 503 to everything; invitations arrive at its start, a third
  of the way in and two thirds of the way in, and wait. Counted: every request
  the API received during the outage (the plans and the probes), and the time
  from the end of the outage to the last of the three replies;
- the SMTP server is stopped (its port refuses connections); the same three
  invitations' worth of replies wait, then it starts again on the same port.
  Timed: from its return to the last reply accepted.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from tests.support.harness import BridgeEnv

from .lab import Daemon, Lab, future_invitation
from .results import Figure, Target

if TYPE_CHECKING:
    from .measurements import Options

MESSAGES = 3  # arriving at the start, a third and two thirds of the way into the outage
SETTLE = 120.0  # seconds the replies may take after the recovery before the run gives up


def outage(lab: Lab, options: Options) -> list[Figure]:
    seconds, runs = options.outage_length, options.outage_repeat
    label = f"{seconds:g} s"
    api_reply = Figure(
        "outage",
        f"API down {label}: its return → last waiting reply",
        "s",
        target=Target("<", 30.0),
        note=f"{MESSAGES} invitations waiting",
    )
    api_requests = Figure(
        "outage",
        f"API down {label}: requests it received, probes included",
        "",
        target=Target("<=", 20.0),
    )
    api_probes = Figure("outage", f"API down {label}: of which probes (GET calendars)", "")
    smtp_reply = Figure(
        "outage",
        f"SMTP down {label}: its return → last waiting reply",
        "s",
        target=Target("<", 30.0),
        note=f"{MESSAGES} replies waiting",
    )
    for run in range(runs):
        env = lab.account(imap={"poll_interval": 60})
        with Daemon(env) as daemon:
            daemon.wait_first_pass()
            simulator, smtp = lab.simulator, lab.smtp

            # The API.
            before = len(smtp.messages)
            first_request = len(simulator.requests)
            simulator.start_outage(503)
            began = time.monotonic()
            _deliver_during(env, seconds, began, tag=f"outage-api-{run}")
            simulator.end_outage()
            back = time.monotonic()
            during = [
                r for r in simulator.requests[first_request:] if began <= r.received_at < back
            ]
            api_requests.values.append(len(during))
            api_probes.values.append(sum(r.method == "GET" for r in during))
            if not smtp.wait_count(before + MESSAGES, SETTLE):
                raise RuntimeError(
                    f"the replies did not come after the API outage:\n{daemon.log()}"
                )
            api_reply.values.append(smtp.arrivals[before + MESSAGES - 1] - back)

            # The SMTP server.
            before = len(smtp.messages)
            smtp.stop()
            began = time.monotonic()
            _deliver_during(env, seconds, began, tag=f"outage-smtp-{run}")
            smtp.start()
            back = time.monotonic()
            if not smtp.wait_count(before + MESSAGES, SETTLE):
                raise RuntimeError(
                    f"the replies did not come after SMTP came back:\n{daemon.log()}"
                )
            smtp_reply.values.append(smtp.arrivals[before + MESSAGES - 1] - back)
        _progress(
            f"outage run {run + 1}: API back → replies {api_reply.values[-1]:.1f} s, "
            f"{api_requests.values[-1]:.0f} API requests during it; SMTP back → replies "
            f"{smtp_reply.values[-1]:.1f} s"
        )
    return [api_reply, api_requests, api_probes, smtp_reply]


def _deliver_during(env: BridgeEnv, seconds: float, began: float, *, tag: str) -> None:
    """Deliver MESSAGES invitations spread over the outage, then wait for its end."""
    for number in range(MESSAGES):
        _sleep_until(began + seconds * number / MESSAGES)
        env.deliver(future_invitation(number, tag=tag))
    _sleep_until(began + seconds)


def _sleep_until(moment: float) -> None:
    left = moment - time.monotonic()
    if left > 0:
        time.sleep(left)


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)
