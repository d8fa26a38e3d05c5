"""The service's layout, without booting anything: which secret source wins,
which files `check` counts as secret, what the unit's dynamic user can read,
and the unit, the README and the code naming the same paths.

tests/test_systemd_boot.py shows the same layout working under a real systemd.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmeet_bridge import config
from kmeet_bridge.service import service_access

ROOT = Path(__file__).resolve().parent.parent
UNIT = (ROOT / "systemd" / "kmeet-bridge.service").read_text()


def document(**sections: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "imap": {"host": "imap.example.com", "username": "meet@example.com"},
        "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
        "kmeet": {"calendar_id": 72618},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return data


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's own tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="kmeet-layout-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# -- which secret wins ---------------------------------------------------------------


def test_a_credential_wins_over_the_file_the_config_names(open_dir: Path) -> None:
    credentials = open_dir / "credentials"
    credentials.mkdir()
    write(credentials / "imap-password", "from-credential\n", 0o600)
    write(credentials / "api-token", "token-from-credential\n", 0o600)
    write(open_dir / "imap-password", "from-file\n", 0o600)
    data = document(
        imap={"password_file": str(open_dir / "imap-password")},
        kmeet={"token": "inline-token"},
    )
    environ = {"CREDENTIALS_DIRECTORY": str(credentials), "KMEET_BRIDGE_TOKEN": "env-token"}

    settings = config.from_mapping(data, environ)

    assert settings.imap.password.reveal() == "from-credential"
    assert settings.kmeet.token.reveal() == "token-from-credential"


def test_without_the_credential_the_file_is_read(open_dir: Path) -> None:
    credentials = open_dir / "credentials"
    credentials.mkdir()
    write(open_dir / "imap-password", "from-file\n", 0o600)
    data = document(imap={"password_file": str(open_dir / "imap-password")}, kmeet={"token": "t"})

    settings = config.from_mapping(data, {"CREDENTIALS_DIRECTORY": str(credentials)})

    assert settings.imap.password.reveal() == "from-file"
    assert settings.kmeet.token.reveal() == "t"


# -- which files hold a secret -----------------------------------------------------------


def test_a_config_without_secrets_may_be_readable(open_dir: Path) -> None:
    write(open_dir / "imap-password", "pw\n", 0o600)
    write(open_dir / "api-token", "tok\n", 0o644)
    source = write(
        open_dir / "config.toml",
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\n'
        'password_file = "imap-password"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        '[kmeet]\ncalendar_id = 72618\ntoken_file = "api-token"\n',
        0o644,
    )

    settings = config.load(source, {})

    assert settings.secret_files == (open_dir / "imap-password", open_dir / "api-token")
    assert config.permission_warnings(settings) == [
        f"{open_dir / 'api-token'} can be read by group or others (mode 0644); "
        f"run: chmod 600 {open_dir / 'api-token'}"
    ]


def test_a_config_with_an_inline_secret_must_be_private(open_dir: Path) -> None:
    source = write(
        open_dir / "config.toml",
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\npassword = "pw"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        '[kmeet]\ncalendar_id = 72618\ntoken = "tok"\n',
        0o644,
    )

    settings = config.load(source, {})

    assert settings.secret_files == (source,)
    assert config.permission_warnings(settings) == [
        f"{source} can be read by group or others (mode 0644); run: chmod 600 {source}"
    ]


# -- what the service's dynamic user can read ----------------------------------------


def test_readable_by_others_needs_the_bit_and_every_directory(open_dir: Path) -> None:
    shut = open_dir / "shut"
    shut.mkdir(mode=0o700)
    assert service_access.readable_by_others(write(open_dir / "a", "x", 0o644))
    assert not service_access.readable_by_others(write(open_dir / "b", "x", 0o640))
    assert not service_access.readable_by_others(write(shut / "c", "x", 0o644))
    assert not service_access.readable_by_others(open_dir / "missing")


def layout(
    directory: Path, config_mode: int, secrets: dict[str, str]
) -> tuple[config.Settings, dict[str, Path]]:
    """A config file in `directory` naming secret files there (as the example does)."""
    credentials = {}
    for section, name in config.SECRET_CREDENTIAL.items():
        credentials[section] = directory / name
        if name in secrets:
            write(directory / name, secrets[name] + "\n", 0o600)
    source = write(
        directory / "config.toml",
        '[imap]\nhost = "imap.example.com"\nusername = "meet@example.com"\n'
        f'password_file = "{directory / "imap-password"}"\n'
        '[smtp]\nhost = "smtp.example.com"\nfrom_address = "meet@example.com"\n'
        'username = "meet@example.com"\n'
        f'password_file = "{directory / "smtp-password"}"\n'
        f'[kmeet]\ncalendar_id = 72618\ntoken_file = "{directory / "api-token"}"\n',
        config_mode,
    )
    # Secrets as the service gets them: from a credentials directory.
    handed = directory / "handed"
    handed.mkdir(exist_ok=True)
    for name in config.SECRET_CREDENTIAL.values():
        write(handed / name, "x\n", 0o600)
    settings = config.load(source, {"CREDENTIALS_DIRECTORY": str(handed)})
    return settings, credentials


def test_the_readme_layout_has_no_problem(open_dir: Path) -> None:
    secrets = {"imap-password": "a", "smtp-password": "b", "api-token": "c"}
    settings, credentials = layout(open_dir, 0o644, secrets)
    assert service_access.service_problems(settings, credentials) == []


def test_a_private_config_and_a_missing_credential_are_reported(open_dir: Path) -> None:
    settings, credentials = layout(open_dir, 0o600, {"imap-password": "a", "api-token": "c"})
    source = open_dir / "config.toml"
    assert service_access.service_problems(settings, credentials) == [
        f"the service's dynamic user cannot read {source} (mode 0600, owner uid "
        f"{source.stat().st_uid}): make it readable (chmod 644 {source}) and keep its "
        "secrets in the credential files",
        f"the unit hands {open_dir / 'smtp-password'} to the service as the credential "
        "smtp-password, and it does not exist: the service cannot start",
    ]


def test_a_private_secret_file_the_unit_does_not_load_is_reported(open_dir: Path) -> None:
    secrets = {"imap-password": "a", "smtp-password": "b", "api-token": "c"}
    settings, credentials = layout(open_dir, 0o644, secrets)
    elsewhere = {**credentials, "kmeet": open_dir / "other-token"}
    write(open_dir / "other-token", "c\n", 0o600)
    assert service_access.service_problems(settings, elsewhere) == [
        f"the service's dynamic user cannot read {open_dir / 'api-token'} (mode 0600, owner "
        f"uid {(open_dir / 'api-token').stat().st_uid}), and the unit does not hand it "
        f"over: put that secret in {open_dir / 'imap-password'}, "
        f"{open_dir / 'smtp-password'}, {open_dir / 'other-token'}"
    ]


# -- the unit, the README and the code agree -------------------------------------------


def test_the_unit_loads_the_credentials_check_expects() -> None:
    loaded = dict(re.findall(r"^LoadCredential=([\w-]+):(\S+)$", UNIT, re.MULTILINE))
    assert loaded == {
        name: str(service_access.UNIT_CREDENTIALS[section])
        for section, name in config.SECRET_CREDENTIAL.items()
    }
    assert f"--config {service_access.UNIT_CONFIG} run" in UNIT


def test_a_configuration_error_is_not_restarted() -> None:
    assert re.search(r"^Restart=on-failure$", UNIT, re.MULTILINE)
    [prevent] = re.findall(r"^RestartPreventExitStatus=(.*)$", UNIT, re.MULTILINE)
    assert prevent.split() == ["2", "243"]  # cli.EXIT_USAGE; systemd's 243/CREDENTIALS


def test_the_readme_installs_what_the_unit_expects() -> None:
    readme = (ROOT / "README.md").read_text()
    [doc] = re.findall(r"^Documentation=file:(\S+)$", UNIT, re.MULTILINE)
    assert f"sudo install -D -m 0644 README.md {doc}" in readme
    [mode] = re.findall(r"^ConfigurationDirectoryMode=(\d+)$", UNIT, re.MULTILINE)
    assert f"sudo install -d -m {mode} /etc/kmeet-bridge" in readme
    assert "sudo install -m 0644 config.example.toml /etc/kmeet-bridge/config.toml" in readme
    for path in service_access.UNIT_CREDENTIALS.values():
        assert f"sudo install -m 0600 /dev/stdin {path}" in readme


def test_the_example_names_the_unit_credential_files() -> None:
    example = (ROOT / "config.example.toml").read_text()
    files = re.findall(r'^(?:password|token)_file = "([^"]+)"', example, re.MULTILINE)
    assert files == [str(p) for p in service_access.UNIT_CREDENTIALS.values()]
