"""[kmeet] max_parallel and max_requests_per_second: defaults, and one sentence
naming the key for every wrong value."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from kmeet_bridge import config
from kmeet_bridge.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def minimal(**kmeet: Any) -> dict[str, Any]:
    return {
        "imap": {"host": "imap.example.com", "username": "meet@example.com", "password": "i-pw"},
        "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
        "kmeet": {"calendar_id": 72618, "token": "tok", **kmeet},
    }


def test_defaults() -> None:
    settings = config.from_mapping(minimal(), {})
    assert settings.kmeet.max_parallel == 4
    assert settings.kmeet.max_requests_per_second == 20.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (5, 5.0), (2.5, 2.5), (0.1, 0.1), (1000, 1000.0)],
)
def test_the_request_rate_is_any_number_from_one_tenth(value: float, expected: float) -> None:
    settings = config.from_mapping(minimal(max_requests_per_second=value), {})
    assert settings.kmeet.max_requests_per_second == expected
    assert isinstance(settings.kmeet.max_requests_per_second, float)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_parallel": 0}, "[kmeet] max_parallel must be at least 1, got 0"),
        ({"max_parallel": 2.0}, "[kmeet] max_parallel must be an integer, got 2.0"),
        ({"max_parallel": "4"}, '[kmeet] max_parallel must be an integer, got "4"'),
        ({"max_parallel": True}, "[kmeet] max_parallel must be an integer, got true"),
        (
            {"max_requests_per_second": 0},
            "[kmeet] max_requests_per_second must be at least 0.1, got 0.0",
        ),
        (
            {"max_requests_per_second": 0.05},
            "[kmeet] max_requests_per_second must be at least 0.1, got 0.05",
        ),
        (
            {"max_requests_per_second": -3},
            "[kmeet] max_requests_per_second must be at least 0.1, got -3.0",
        ),
        (
            {"max_requests_per_second": "5"},
            '[kmeet] max_requests_per_second must be a number, got "5"',
        ),
        (
            {"max_requests_per_second": False},
            "[kmeet] max_requests_per_second must be a number, got false",
        ),
        (
            {"max_requests_per_second": float("inf")},
            "[kmeet] max_requests_per_second must be a finite number, got inf",
        ),
        (
            {"max_requests_per_second": float("nan")},
            "[kmeet] max_requests_per_second must be a finite number, got nan",
        ),
    ],
)
def test_wrong_values_name_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.from_mapping(minimal(**overrides), {})
    assert str(info.value) == message


def test_toml_spellings_of_a_rate() -> None:
    for text, expected in (("5", 5.0), ("5.0", 5.0), ("0.5", 0.5), ("1e1", 10.0)):
        data = tomllib.loads(f"max_requests_per_second = {text}")
        settings = config.from_mapping(minimal(**data), {})
        assert settings.kmeet.max_requests_per_second == expected


def test_the_example_file_shows_the_defaults() -> None:
    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    assert data["kmeet"]["max_parallel"] == config.SCHEMA["kmeet"]["max_parallel"].default
    assert (
        data["kmeet"]["max_requests_per_second"]
        == config.SCHEMA["kmeet"]["max_requests_per_second"].default
    )
