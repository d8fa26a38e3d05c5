"""The unit file passes systemd's own checks: verify, and a security exposure of 2.0 or less."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "kmeet-bridge.service"
MAX_EXPOSURE = 2.0


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is missing: install the Debian package systemd")
    return path


def local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's kmeet-bridge, because
    verify checks that the command exists."""
    script = Path(sys.executable).parent / "kmeet-bridge"
    if not script.exists():
        found = shutil.which("kmeet-bridge")
        assert found, "kmeet-bridge is not installed (pip install -e .)"
        script = Path(found)
    text = UNIT.read_text().replace("/usr/local/bin/kmeet-bridge", str(script))
    unit = tmp_path / "kmeet-bridge.service"
    unit.write_text(text)
    return unit


def test_unit_verifies(tmp_path: Path) -> None:
    result = subprocess.run(
        [systemd_analyze(), "verify", str(local_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_unit_security_exposure(tmp_path: Path) -> None:
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", str(local_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE


def test_unit_runs_the_daemon_with_credentials() -> None:
    text = UNIT.read_text()
    assert (
        "ExecStart=/usr/local/bin/kmeet-bridge --config /etc/kmeet-bridge/config.toml run" in text
    )
    assert "Type=notify" in text
    assert "Restart=on-failure" in text
    assert "StateDirectory=kmeet-bridge" in text
    for credential in ("imap-password", "smtp-password", "api-token"):
        assert f"LoadCredential={credential}:/etc/kmeet-bridge/{credential}" in text
