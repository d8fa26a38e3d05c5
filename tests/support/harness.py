"""A whole bridge set up against the real test servers: a mailbox on Dovecot,
the SMTP sink, the API simulator, a config file and secret files on disk."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from kmeet_bridge import config
from kmeet_bridge.config import Settings
from tests.support.dovecot import Dovecot
from tests.support.kmeet_simulator import KMeetSimulator
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
BRIDGE_ADDRESS = "meet@example.com"
ALLOWED = ("*@example.com", "*@example.org", "*@example.net")


@dataclass
class BridgeEnv:
    dovecot: Dovecot
    user: str
    password: str
    simulator: KMeetSimulator
    smtp: SmtpSink
    directory: Path

    @property
    def config_path(self) -> Path:
        return self.directory / "config.toml"

    @property
    def state_path(self) -> Path:
        return self.directory / "state.db"

    def write_config(self, **sections: dict[str, object]) -> Path:
        """Write config.toml; `sections` override or add keys per section."""
        (self.directory / "imap-password").write_text(self.password + "\n")
        (self.directory / "api-token").write_text(self.simulator.token + "\n")
        values: dict[str, dict[str, object]] = {
            "imap": {
                "host": self.dovecot.host,
                "port": self.dovecot.port,
                "security": "plain",
                "username": self.user,
                "password_file": "imap-password",
                "timeout": 10,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": self.smtp.port,
                "security": "plain",
                "from_address": BRIDGE_ADDRESS,
                "from_name": "kMeet",
                "timeout": 10,
            },
            "kmeet": {
                "api_url": self.simulator.url,
                "calendar_api_url": self.simulator.url,
                "token_file": "api-token",
                "calendar_id": 72618,
                "hostname": "kmeet.infomaniak.com",
                "timezone": "Europe/Zurich",
                "timeout": 3,
            },
            "senders": {"allow": list(ALLOWED)},
            "state": {"path": "state.db"},
        }
        for section, overrides in sections.items():
            values.setdefault(section, {}).update(overrides)
        lines: list[str] = []
        for section, keys in values.items():
            lines.append(f"[{section}]")
            lines.extend(f"{key} = {_toml(value)}" for key, value in keys.items())
            lines.append("")
        self.config_path.write_text("\n".join(lines))
        for path in (
            self.config_path,
            self.directory / "imap-password",
            self.directory / "api-token",
        ):
            path.chmod(0o600)  # as the README says; `check` warns otherwise
        return self.config_path

    def settings(self) -> Settings:
        return config.load(self.config_path, {})

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.dovecot.append(self.user, self.password, folder, raw)

    def deliver_corpus(self, name: str) -> bytes:
        raw = (CORPUS / name).read_bytes()
        self.deliver(raw)
        return raw

    def uids(self, folder: str) -> list[int]:
        return self.dovecot.uids(self.user, self.password, self.server_folder(folder))

    def folder_messages(self, folder: str) -> list[bytes]:
        name = self.server_folder(folder)
        return [
            self.dovecot.fetch(self.user, self.password, name, uid) for uid in self.uids(folder)
        ]

    def server_folder(self, folder: str) -> str:
        """`kmeet/processed` as the server names it (Dovecot's Maildir++ uses ".")."""
        return folder.replace("/", self.dovecot.separator or ".")

    def command(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run `kmeet-bridge --config <config> ARGS` as a real process."""
        return run_cli("--config", str(self.config_path), *args, env=env)


def clean_environ(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without any KMEET_BRIDGE_* from outside, plus `env`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    environ.update(env or {})
    return environ


@contextlib.contextmanager
def running_cli(*args: str, text: bool = True) -> Iterator[subprocess.Popen]:
    """`kmeet-bridge ARGS` in the background, stdout and stderr piped; killed at
    the end if the test left it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=text,
        env=clean_environ(),
        cwd=ROOT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `kmeet-bridge ARGS` as a real process, without any KMEET_BRIDGE_* from outside."""
    environ = clean_environ(env)
    return subprocess.run(
        [sys.executable, "-m", "kmeet_bridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        cwd=ROOT,
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


@pytest.fixture
def bridge_env(
    dovecot: Dovecot, kmeet_simulator: KMeetSimulator, smtp_sink: SmtpSink, tmp_path: Path
) -> Iterator[BridgeEnv]:
    user, password = dovecot.add_user()
    env = BridgeEnv(dovecot, user, password, kmeet_simulator, smtp_sink, tmp_path)
    env.write_config()
    yield env


def invitation(
    *,
    uid: str,
    start: str,
    end: str,
    title: str = "Budget review",
    zone: str = "Europe/Zurich",
    sequence: int = 0,
    method: str = "REQUEST",
    organizer: str = "alice@example.com",
    message_id: str | None = None,
    extra: str = "",
) -> bytes:
    """A small invitation as a calendar server sends it: `start`/`end` are
    iCalendar local times (20270315T140000) in `zone`; `extra` adds VEVENT lines."""
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp//Calendar 1.0//EN",
            f"METHOD:{method}",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"SEQUENCE:{sequence}",
            "DTSTAMP:20261201T080000Z",
            f"DTSTART;TZID={zone}:{start}",
            f"DTEND;TZID={zone}:{end}",
            f"SUMMARY:{title}",
            f"ORGANIZER;CN=Alice Example:mailto:{organizer}",
            "ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Bob Example:mailto:bob@example.org",
            *([extra] if extra else []),
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    local = uid.replace("@", ".")
    message_id = message_id or f"<{local}-{sequence}-{method.lower()}@example.com>"
    return (
        f"From: Alice Example <{organizer}>\r\n"
        "To: meet@example.com\r\n"
        f"Subject: {title}\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: text/calendar; charset="utf-8"; method={method}\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + ics
    ).encode()


def parse(raw: bytes) -> EmailMessage:
    """A received message as the bridge reads it."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    """The text/plain body of a reply."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def rows(env: BridgeEnv, query: str) -> list[tuple]:
    """Rows of the bridge's state database."""
    with sqlite3.connect(env.state_path) as db:
        return db.execute(query).fetchall()
