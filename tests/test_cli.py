"""The commands as a user runs them: real processes, real servers, exact output."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.dovecot import Dovecot
from tests.support.harness import ROOT, BridgeEnv, invitation, run_cli
from tests.support.kmeet_simulator import KMeetSimulator
from tests.support.smtp_sink import SmtpSink


def test_parse_dry_run_without_any_configuration(tmp_path: Path) -> None:
    result = run_cli(
        "parse",
        "examples/invitation.eml",
        env={"KMEET_BRIDGE_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "configuration: none found, using the defaults (timezone Europe/Zurich, 60 minutes; "
        "calendar_id 0 stands for your calendar)"
    )
    assert "rule: calendar part with METHOD:REQUEST: an invitation to plan" in lines
    assert "outcome: planned (1 meeting to plan)" in lines
    assert "meeting: Website relaunch kick-off" in lines
    assert (
        "  when: 2027-05-06 10:00 - 2027-05-06 11:00 (Europe/Berlin); "
        "2027-05-06 08:00 UTC - 2027-05-06 09:00 UTC"
    ) in lines
    assert '      "starting_at": "2027-05-06 10:00:00",' in lines
    assert '      "timezone": "Europe/Berlin",' in lines


def test_parse_a_bare_ics_and_a_non_request(tmp_path: Path) -> None:
    ics = tmp_path / "meeting.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\nBEGIN:VEVENT\r\n"
        "UID:bare-1@example.com\r\nDTSTAMP:20261201T000000Z\r\n"
        "DTSTART;TZID=America/New_York:20270706T090000\r\nDURATION:PT30M\r\n"
        "SUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    environ = {"KMEET_BRIDGE_CONFIG": str(tmp_path / "none.toml")}
    result = run_cli("parse", str(ics), env=environ)
    assert result.returncode == 0, result.stderr
    assert (
        "  when: 2027-07-06 09:00 - 2027-07-06 09:30 (America/New_York); "
        "2027-07-06 13:00 UTC - 2027-07-06 13:30 UTC"
    ) in result.stdout.splitlines()

    plain = run_cli("parse", "tests/corpus/plain_message.eml", env=environ)
    assert plain.returncode == 0
    assert "outcome: ignored (" in plain.stdout


def test_parse_missing_file(tmp_path: Path) -> None:
    result = run_cli("parse", str(tmp_path / "nope.eml"))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"kmeet-bridge: cannot read {tmp_path / 'nope.eml'}: No such file or directory\n"
    )


@pytest.mark.parametrize("command", ["once", "check", "calendars", "run"])
def test_bad_config_is_one_line_without_traceback(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\npassword = "x"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        '[kmeet]\ncalendar_id = "abc"\ntoken = "t"\n'
    )
    result = run_cli("--config", str(config), command)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == 'kmeet-bridge: [kmeet] calendar_id must be an integer, got "abc"\n'


def test_missing_config_file_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("--config", str(tmp_path / "absent.toml"), "once")
    assert result.returncode == 2
    assert result.stderr == (
        f"kmeet-bridge: configuration file {tmp_path / 'absent.toml'} does not exist; copy "
        "config.example.toml there or name another file with --config or $KMEET_BRIDGE_CONFIG\n"
    )


def test_check_passes_against_the_real_servers(bridge_env: BridgeEnv) -> None:
    result = bridge_env.command("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines.pop(1).startswith("warning: [senders] require_authenticated is off: ")
    assert lines[0] == f"config: ok ({bridge_env.config_path})"
    uidvalidity = lines[1].rsplit(" ", 1)[1]
    assert lines[1] == (
        f"imap: ok (IMAP server 127.0.0.1:{bridge_env.dovecot.port} (plain): logged in as "
        f"{bridge_env.user}; folder INBOX: 0 messages, UIDVALIDITY {uidvalidity}"
    )
    assert lines[2] == (
        f"smtp: ok (SMTP server 127.0.0.1:{bridge_env.smtp.port} (plain): no login configured)"
    )
    assert lines[3] == "api: ok (token accepted, calendar 72618 found)"


def test_check_names_each_failure(bridge_env: BridgeEnv) -> None:
    bridge_env.write_config(kmeet={"calendar_id": 99})
    (bridge_env.directory / "imap-password").write_text("wrong-imap-password-77\n")
    result = bridge_env.command("check")
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if not line.startswith("warning: ")]
    assert lines[1].startswith("imap: FAILED: ")
    assert "wrong-imap-password-77" not in result.stdout + result.stderr
    assert lines[2].startswith("smtp: ok")
    assert lines[3] == (
        "api: FAILED: the token works, but calendar_id 99 is not one of its calendars "
        "(72618, 72619); run 'kmeet-bridge calendars'"
    )


def test_calendars_lists_id_and_name(bridge_env: BridgeEnv) -> None:
    result = bridge_env.command("calendars")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "72618\tMeetings\n72619\tTeam\n"


def test_status_reads_the_state(bridge_env: BridgeEnv) -> None:
    bridge_env.deliver_corpus("plain_message.eml")
    assert bridge_env.command("once").returncode == 0
    result = bridge_env.command("status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("last pass: ")
    assert lines[0].endswith(" (1 ignored)")
    assert lines[1] == "messages: 1 ignored"
    assert "ignored  ruth.meier@example.com: " in lines[2]


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_run_plans_then_stops_cleanly_on_sigterm(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(imap={"poll_interval": 5})
    env.deliver_corpus("google_request.eml")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    process = subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", "--config", str(env.config_path), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    try:
        assert wait_until(lambda: len(env.smtp.messages) == 1, 20), "no reply from the daemon"
        # A message arriving later is picked up by a later pass.
        env.deliver_corpus("thunderbird_request.eml")
        assert wait_until(lambda: len(env.smtp.messages) == 2, 20), "second message not handled"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert elapsed < 10
    assert "Traceback" not in stderr
    assert "received SIGTERM" in stderr
    assert len(env.simulator.planned_bodies) == 2
    assert len(env.uids("kmeet/processed")) == 2


def test_no_secret_reaches_output_logs_or_state(
    dovecot: Dovecot, make_smtp_sink: Callable[..., SmtpSink], tmp_path: Path
) -> None:
    """Every command runs with distinctive secrets; none appears anywhere."""
    imap_secret, smtp_secret, token = (
        "imap-Pw-4417-distinctive",
        "smtp-Pw-9921-distinctive",
        "tok-5531-distinctive",
    )
    user, password = dovecot.add_user(password=imap_secret)
    sink = make_smtp_sink(auth=("meet@example.com", smtp_secret))
    with KMeetSimulator(token=token) as simulator:
        env = BridgeEnv(dovecot, user, password, simulator, sink, tmp_path)
        env.write_config(smtp={"username": "meet@example.com"})
        environ = {"KMEET_BRIDGE_SMTP_PASSWORD": smtp_secret}
        env.deliver_corpus("outlook_request.eml")
        env.deliver_corpus("broken_ics.eml")
        outputs: list[subprocess.CompletedProcess] = []
        for command in ("check", "calendars", "once", "status"):
            result = env.command(command, env=environ)
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result)
        outputs.append(env.command("parse", "tests/corpus/outlook_request.eml", env=environ))
        # A refused token and a refused IMAP login must not echo the secrets either.
        (tmp_path / "api-token").write_text(token + "-wrong\n")
        outputs.append(env.command("calendars", env=environ))
        (tmp_path / "imap-password").write_text(imap_secret + "-wrong\n")
        outputs.append(env.command("once", env=environ))
        assert len(sink.messages) == 2
    texts = [r.stdout + r.stderr for r in outputs]
    with sqlite3.connect(env.state_path) as db:
        dump = "\n".join(db.iterdump())
    for secret in (imap_secret, smtp_secret, token):
        for text in texts:
            assert secret not in text
        assert secret not in dump


def test_once_without_imap_server_fails_in_one_line(bridge_env: BridgeEnv) -> None:
    from tests.support.dovecot import free_port

    port = free_port()
    bridge_env.write_config(imap={"port": port})
    result = bridge_env.command("once")
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = [line for line in result.stderr.splitlines() if line.startswith("kmeet-bridge: ")]
    assert f"127.0.0.1:{port}" in line
    assert "Traceback" not in result.stderr


def test_parse_with_state_tells_an_update_from_a_new_meeting(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(invitation(uid="q1@example.com", start="20270315T140000", end="20270315T150000"))
    assert env.command("once").returncode == 0
    update = env.directory / "update.eml"
    update.write_bytes(
        invitation(uid="q1@example.com", start="20270315T130000", end="20270315T140000", sequence=1)
    )
    result = env.command("parse", str(update))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  state: already planned: the same room, with these changes" in lines
    assert (
        "  change: time: 2027-03-15 14:00–15:00 (Europe/Zurich) -> "
        "2027-03-15 13:00–14:00 (Europe/Zurich)"
    ) in lines
    # parse reads the state without changing it
    assert env.command("once").stdout.strip() == "pass finished: nothing new"


# -- a command line without surprises -------------------------------------------------


def test_options_work_after_the_command_too(bridge_env: BridgeEnv) -> None:
    """`check --config X` as people write it; an option after the command wins."""
    after = run_cli("check", "--config", str(bridge_env.config_path), "--log-level", "error")
    assert after.returncode == 0, after.stdout + after.stderr
    assert after.stdout.splitlines()[0] == f"config: ok ({bridge_env.config_path})"
    both = run_cli(
        "--config", str(bridge_env.directory / "absent.toml"), "check",
        "--config", str(bridge_env.config_path),
    )  # fmt: skip
    assert both.returncode == 0, both.stdout + both.stderr


def test_parse_dash_reads_standard_input(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    environ["KMEET_BRIDGE_CONFIG"] = str(tmp_path / "none.toml")
    from_stdin = subprocess.run(
        [sys.executable, "-m", "kmeet_bridge", "parse", "-"],
        input=(ROOT / "examples" / "invitation.eml").read_bytes(),
        capture_output=True,
        env=environ,
        cwd=ROOT,
        timeout=60,
    )
    from_file = run_cli("parse", "examples/invitation.eml", env=environ)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.decode() == from_file.stdout
    assert "meeting: Website relaunch kick-off" in from_file.stdout.splitlines()


def test_parse_refuses_more_than_the_bridge_would_read(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        "[kmeet]\ncalendar_id = 1\n[limits]\nmax_message_size = 1024\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "kmeet_bridge", "parse", "-", "--config", str(config)],
        input=b"x" * 5000,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr == (
        b"kmeet-bridge: standard input is larger than [limits] max_message_size (1024 bytes), "
        b"which the bridge would not read either\n"
    )


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`parse FILE | head`: the reader leaves early; no BrokenPipeError traceback."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    environ["KMEET_BRIDGE_CONFIG"] = str(tmp_path / "none.toml")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    process = subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", "parse", "examples/invitation.eml"],
        stdout=write,
        stderr=subprocess.PIPE,
        env=environ,
        cwd=ROOT,
    )
    os.close(write)
    _, stderr = process.communicate(timeout=60)
    assert stderr == b""
    assert process.returncode == 128 + signal.SIGPIPE
    # As a shell runs it, with head taking the first line only.
    piped = subprocess.run(
        f"{sys.executable} -m kmeet_bridge parse examples/invitation.eml | head -n 1",
        shell=True,
        capture_output=True,
        env=environ,
        cwd=ROOT,
        timeout=60,
    )
    assert piped.stderr == b""
    assert piped.stdout.startswith(b"configuration: none found")


@pytest.mark.parametrize("command", ["run", "once", "check", "calendars", "status", "parse"])
def test_every_command_explains_itself_with_an_example(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    text = result.stdout
    usage, description = text.split("\n\n")[:2]
    assert usage.startswith(f"usage: kmeet-bridge {command} ")
    assert len(description.split()) >= 10, description  # a sentence, not a bare title
    example = text.split("example:\n", 1)[1].splitlines()
    assert example[0].startswith(f"  kmeet-bridge {command}") or example[0].startswith(
        f"  kmeet-bridge --config ./config.toml {command}"
    )
    assert "--config" in text and "--log-level" in text
