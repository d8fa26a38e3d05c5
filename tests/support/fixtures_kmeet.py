"""pytest fixture and helper for the kMeet API simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kmeet_bridge import config
from kmeet_bridge.config import KmeetSettings
from tests.support.kmeet_simulator import KMeetSimulator


@pytest.fixture
def kmeet_simulator() -> Iterator[KMeetSimulator]:
    """A fresh API simulator on a free loopback port, stopped after the test."""
    with KMeetSimulator() as simulator:
        yield simulator


def kmeet_settings_for(
    simulator: KMeetSimulator | str,
    *,
    token: str | None = None,
    calendar_id: int = 72618,
    hostname: str = "kmeet.infomaniak.com",
    timezone: str = "Europe/Zurich",
    timeout: int = 5,
    **room: Any,
) -> KmeetSettings:
    """KmeetSettings that point at `simulator` (its token unless `token` is given).

    `simulator` may also be a base URL, for settings that need no server. Built through
    `config.from_mapping`, so defaults and validation are the real ones;
    `room` holds [kmeet.room] keys.
    """
    if isinstance(simulator, str):
        url, default_token = simulator, "unused-token"
    else:
        url, default_token = simulator.url, simulator.token
    document = {
        "imap": {"host": "127.0.0.1", "username": "meet@example.com", "password": "unused"},
        "smtp": {"host": "127.0.0.1", "from_address": "meet@example.com"},
        "kmeet": {
            "api_url": url,
            "calendar_api_url": url,
            "token": default_token if token is None else token,
            "calendar_id": calendar_id,
            "hostname": hostname,
            "timezone": timezone,
            "timeout": timeout,
            "room": room,
        },
    }
    return config.from_mapping(document, environ={}).kmeet
