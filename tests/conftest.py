"""Fixtures for the real servers the tests talk to, all on loopback."""

pytest_plugins = [
    "tests.support.fixtures_kmeet",
    "tests.support.fixtures_servers",
    "tests.support.harness",
]
