"""Configuration: every wrong value is one sentence naming the key; secrets
come from four places and never show."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from kmeet_bridge import config
from kmeet_bridge.config import ConfigError, Secret

ROOT = Path(__file__).resolve().parent.parent


def minimal(**overrides: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "imap": {"host": "imap.example.com", "username": "meet@example.com", "password": "i-pw"},
        "smtp": {"host": "smtp.example.com", "from_address": "meet@example.com"},
        "kmeet": {"calendar_id": 72618, "token": "tok"},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return data


def error_for(data: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        config.from_mapping(data, environ or {})
    return str(info.value)


def test_defaults_fill_every_optional_key() -> None:
    settings = config.from_mapping(minimal(), {})
    assert settings.imap.port == 993
    assert settings.imap.security == "ssl"
    assert settings.imap.processed_folder == "kmeet/processed"
    assert settings.smtp.port == 587
    assert settings.smtp.password is None
    assert settings.kmeet.timezone == "Europe/Zurich"
    assert settings.kmeet.default_duration == 60
    assert settings.kmeet.retry_for == 86400
    assert settings.kmeet.room.e2ee_enabled is True
    assert settings.kmeet.room.enable_moderator_video is True
    assert settings.kmeet.room.lobby_enabled is False
    assert settings.state_path == Path("/var/lib/kmeet-bridge/state.db")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kmeet": {"calendar_id": "abc"}}, '[kmeet] calendar_id must be an integer, got "abc"'),
        ({"kmeet": {"calendar_id": True}}, "[kmeet] calendar_id must be an integer, got true"),
        ({"imap": {"port": "993"}}, '[imap] port must be an integer, got "993"'),
        (
            {"imap": {"security": "tls"}},
            '[imap] security must be one of "ssl", "starttls", "plain", got "tls"',
        ),
        (
            {"kmeet.room": {}},
            "unknown section [kmeet.room]; the sections are [imap], [smtp], "
            "[kmeet], [kmeet.room], [senders], [limits], [state], [metrics]",
        ),
        ({"imap": {"poll_interval": 1}}, "[imap] poll_interval must be at least 5, got 1"),
        (
            {"kmeet": {"timezone": "Mars/Olympus"}},
            "[kmeet] timezone must be an IANA time zone "
            'name such as "Europe/Zurich", got "Mars/Olympus"',
        ),
        (
            {"kmeet": {"room": {"lobby_enabled": "yes"}}},
            '[kmeet.room] lobby_enabled must be true or false, got "yes"',
        ),
        (
            {"kmeet": {"room": {"enable_recording": True}}},
            "[kmeet.room] enable_recording = true "
            "needs drive_id (the kDrive that receives the recordings)",
        ),
        (
            {"imap": {"hots": "x"}},
            "[imap] has an unknown key 'hots'; known keys: host, port, "
            "security, username, password, password_file, folder, processed_folder, "
            "failed_folder, poll_interval, idle, timeout, allow_insecure",
        ),
        (
            {"senders": {"allow": "*@example.com"}},
            '[senders] allow must be a list, got "*@example.com"',
        ),
        (
            {"kmeet": {"api_url": "api.infomaniak.com"}},
            '[kmeet] api_url must be an http(s) URL, got "api.infomaniak.com"',
        ),
        (
            {"smtp": {"host": "smtp.example.com", "security": "plain"}},
            '[smtp] security = "plain" '
            "sends the password unencrypted; it is only allowed to a loopback host, not "
            '"smtp.example.com". Use "ssl" or "starttls" (or set allow_insecure = true if you '
            "really must)",
        ),
    ],
)
def test_wrong_values_name_the_key(overrides: dict[str, Any], message: str) -> None:
    assert error_for(minimal(**overrides)) == message


def test_missing_required_key() -> None:
    data = minimal()
    del data["kmeet"]["calendar_id"]
    assert error_for(data) == (
        "[kmeet] calendar_id is missing; expected calendar that gets the events"
    )


def test_plain_is_accepted_on_loopback() -> None:
    settings = config.from_mapping(
        minimal(
            imap={"host": "127.0.0.1", "security": "plain"},
            smtp={"host": "localhost", "security": "plain"},
        ),
        {},
    )
    assert settings.imap.security == "plain"
    assert settings.smtp.host == "localhost"


def test_secret_from_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token\n")
    data = minimal()
    del data["kmeet"]["token"]
    data["kmeet"]["token_file"] = "token"
    settings = config.from_mapping(data, {}, source=tmp_path / "config.toml")
    assert settings.kmeet.token.reveal() == "file-token"


def test_secret_from_environment_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("cred-pw")
    data = minimal()
    del data["kmeet"]["token"]
    del data["imap"]["password"]
    environ = {"KMEET_BRIDGE_TOKEN": "env-token", "CREDENTIALS_DIRECTORY": str(tmp_path)}
    settings = config.from_mapping(data, environ)
    assert settings.kmeet.token.reveal() == "env-token"
    assert settings.imap.password.reveal() == "cred-pw"


def test_secret_missing_says_where_to_put_it() -> None:
    data = minimal()
    del data["kmeet"]["token"]
    assert error_for(data) == (
        "[kmeet] no token given: set token_file (or token), the environment variable "
        "$KMEET_BRIDGE_TOKEN, or the systemd credential api-token"
    )


def test_secret_file_missing(tmp_path: Path) -> None:
    data = minimal()
    del data["imap"]["password"]
    data["imap"]["password_file"] = str(tmp_path / "nope")
    assert error_for(data) == f"[imap] password_file: file {tmp_path / 'nope'} does not exist"


def test_both_inline_and_file_is_refused() -> None:
    data = minimal(imap={"password_file": "/etc/x"})
    assert error_for(data) == "[imap] sets both password and password_file; keep only one"


def test_smtp_username_without_password() -> None:
    data = minimal(smtp={"username": "meet@example.com"})
    assert error_for(data) == (
        "[smtp] username is set but no password was found: set password_file "
        "(or password, or $KMEET_BRIDGE_SMTP_PASSWORD)"
    )


def test_secrets_never_show_in_repr() -> None:
    settings = config.from_mapping(
        minimal(imap={"password": "hunter2-imap"}, kmeet={"token": "sk-distinctive-token"}), {}
    )
    text = repr(settings) + str(settings)
    assert "hunter2-imap" not in text
    assert "sk-distinctive-token" not in text
    assert str(Secret("x")) == "Secret('********')"


def test_load_reports_toml_errors_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[imap\nhost = 1\n")
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 1"):
        config.load(broken, {})
    with pytest.raises(ConfigError, match=r"does not exist; copy config\.example\.toml"):
        config.load(tmp_path / "absent.toml", {})


def test_example_file_documents_every_key_and_loads() -> None:
    """config.example.toml stays in step with SCHEMA."""
    text = (ROOT / "config.example.toml").read_text()
    data = tomllib.loads(text)
    for section, options in config.SCHEMA.items():
        for key in options:
            if key in {"password", "token"}:
                continue  # shown commented, as the *_file alternative's comment
            if (section, key) in {("kmeet.room", "drive_id"), ("metrics", "listen")}:
                assert f"# {key} =" in text  # optional, shown commented
                continue
            table: Any = data
            for part in section.split("."):
                table = table[part]
            assert key in table, f"[{section}] {key} is not in config.example.toml"
    settings = config.from_mapping(data, {}, secrets=False)
    assert settings.kmeet.calendar_id == 72618


def test_sender_patterns_are_case_insensitive_globs() -> None:
    settings = config.from_mapping(
        minimal(senders={"allow": ["*@Example.com", "boss@partner.example"]}), {}
    )
    assert settings.senders.allows("Alice@EXAMPLE.com")
    assert settings.senders.allows("boss@partner.example")
    assert not settings.senders.allows("alice@example.com.evil.example")
    assert not settings.senders.allows("other@partner.example")


# -- issue 13: secrets of the wrong type, plain http to the API ----------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"imap": {"password": 98765432101}}, "[imap] password must be a string"),
        ({"smtp": {"password": ["s3cr3t-list"]}}, "[smtp] password must be a string"),
        ({"kmeet": {"token": True}}, "[kmeet] token must be a string"),
        ({"kmeet": {"token": 12.5}}, "[kmeet] token must be a string"),
    ],
)
def test_a_secret_of_the_wrong_type_is_not_shown(overrides: dict[str, Any], message: str) -> None:
    text = error_for(minimal(**overrides))
    assert text == f"{message} (its value is not shown)"
    for value in ("98765432101", "s3cr3t-list", "true", "12.5"):
        assert value not in text


AUTHENTICATED = {"require_authenticated": True, "trusted_authserv_ids": ["mx.example.com"]}


@pytest.mark.parametrize("key", ["api_url", "calendar_api_url"])
def test_plain_http_to_the_api_is_refused_unless_allowed(key: str) -> None:
    assert error_for(minimal(kmeet={key: "http://api.example.com"})) == (
        f'[kmeet] {key} = "http://api.example.com" sends the API token unencrypted; '
        'plain http is only allowed to a loopback host. Use "https://" (or set '
        "[kmeet] allow_insecure = true if you really must)"
    )
    allowed = config.from_mapping(
        minimal(
            kmeet={key: "http://api.example.com/", "allow_insecure": True}, senders=AUTHENTICATED
        ),
        {},
    )
    assert getattr(allowed.kmeet, key) == "http://api.example.com"
    assert config.insecure_warnings(allowed) == [
        f"[kmeet] {key} = http://api.example.com: the API token crosses the network "
        "unencrypted (allow_insecure = true)"
    ]
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        local = config.from_mapping(
            minimal(kmeet={key: f"http://{host}"}, senders=AUTHENTICATED), {}
        )
        assert getattr(local.kmeet, key) == f"http://{host}"
        assert config.insecure_warnings(local) == []
    assert error_for(minimal(kmeet={key: "HTTP://api.example.com"})).startswith(
        f'[kmeet] {key} = "HTTP://api.example.com" sends the API token unencrypted'
    )


def test_authentication_off_is_warned_about_loudly() -> None:
    settings = config.from_mapping(minimal(), {})
    assert config.insecure_warnings(settings) == [
        "[senders] require_authenticated is off: anybody can write an allowed address into "
        "From and have rooms planned and replies sent to it; turn it on with "
        "trusted_authserv_ids (see the README, Security)"
    ]
    on = config.from_mapping(minimal(senders=AUTHENTICATED), {})
    assert config.insecure_warnings(on) == []


def test_the_state_database_mode_is_checked_like_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[state]\npath = "state.db"\n')
    path.chmod(0o600)
    settings = config.from_mapping(minimal(state={"path": "state.db"}), {}, source=path)
    assert config.permission_warnings(settings) == []  # not there yet: nothing to say
    state = tmp_path / "state.db"
    state.write_bytes(b"")
    state.chmod(0o644)
    assert config.permission_warnings(settings) == [
        f"{state} can be read by group or others (mode 0644); run: chmod 600 {state}"
    ]


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        (":9464", ("0.0.0.0", 9464)),
        ("localhost:9100", ("localhost", 9100)),
    ],
)
def test_metrics_listen_address(listen: str, expected: tuple[str, int]) -> None:
    assert config.from_mapping(minimal(metrics={"listen": listen}), {}).metrics_listen == expected
    assert config.from_mapping(minimal(), {}).metrics_listen is None  # off by default


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1:", "127.0.0.1:70000", "metrics.example:1"])
def test_a_wrong_metrics_listen_address_is_one_sentence(listen: str) -> None:
    with pytest.raises(ConfigError, match=r"^\[metrics\] listen must "):
        config.from_mapping(minimal(metrics={"listen": listen}), {})
