"""TOML configuration -> validated, typed settings.

Every key is declared once, as a field of the settings dataclass of its
section: the field's name is the key, its annotation the type, and `setting()`
gives the default, the bounds and the sentence that describes it. `SCHEMA` is
derived from those fields; it validates the file, and a test checks
`config.example.toml` against it. A wrong value stops the program with one
sentence that names the key (`ConfigError`), never a traceback at the first use
of a bad value. (A validation library would need its messages rewritten into
these sentences; the fields and one small validator are shorter.)

Secrets (`password`, `token`) are resolved here, in this order: systemd
credential (`$CREDENTIALS_DIRECTORY`), inline value, `*_file`, environment
variable. The credential comes first because the unit hands over the same files
that `*_file` names, which its dynamic user cannot read itself; outside the
service the `*_file` is read directly. Secrets are wrapped in `Secret`, whose
repr and str never show the value.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

DEFAULT_CONFIG_PATH = Path("/etc/kmeet-bridge/config.toml")
CONFIG_ENV = "KMEET_BRIDGE_CONFIG"
SECURITY_MODES = ("ssl", "starttls", "plain")


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits the file."""


class Secret:
    """A password or token: usable by code, invisible in logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Option:
    """One key as validation, the error messages and the example-file test see it.

    Built from the field that declares the key (see `setting`), never written by hand."""

    type: type  # as TOML writes it: str, int, float, bool or list
    default: Any = None  # None with required=False: optional, no value
    required: bool = False
    help: str = ""  # the sentence a "missing" error ends with
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    secret: bool = False  # a wrong value is never shown


_DECLARED = "kmeet_bridge.config"  # the metadata key of a field that declares a config key

# The types a key can have, as TOML writes them, and how an error message names them.
_KINDS: dict[type, str] = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    list: "a list",
}


def setting(
    default: Any = MISSING,
    help: str = "",
    *,
    minimum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """Declare a config key as a field of a settings dataclass: the field's name
    is the key, its annotation the type, `default` the default, `help` what the
    key means. Without a default the key is required, except a `Secret`, which
    may also come from a file, the environment or a systemd credential."""
    return field(
        default=default,
        metadata={_DECLARED: {"help": help, "minimum": minimum, "choices": choices}},
    )


# Each settings dataclass below declares the keys of one section, in the order
# of the example file. Keyword-only, so that a required key may follow one with
# a default, as the file lists them.


@dataclass(frozen=True, kw_only=True)
class ImapSettings:
    host: str = setting(help="IMAP server name")
    port: int = setting(993, "IMAP port", minimum=1)
    security: str = setting(
        "ssl", "ssl, starttls or plain (plain: loopback only)", choices=SECURITY_MODES
    )
    username: str = setting(help="IMAP login")
    password: Secret = setting(help="IMAP password (prefer password_file)")
    password_file: str | None = setting(None, "file holding the IMAP password")
    folder: str = setting("INBOX", "folder the requests arrive in")
    processed_folder: str = setting("kmeet/processed", "where planned messages go")
    failed_folder: str = setting("kmeet/failed", "where rejected messages go")
    poll_interval: int = setting(60, "seconds between passes", minimum=5)
    idle: bool = setting(True, "use IMAP IDLE for push delivery where offered")
    timeout: int = setting(30, "seconds before an IMAP operation gives up", minimum=1)
    allow_insecure: bool = setting(False, 'allow security = "plain" to a host that is not loopback')


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str = setting(help="SMTP server name")
    port: int = setting(587, "SMTP port", minimum=1)
    security: str = setting(
        "starttls", "ssl, starttls or plain (plain: loopback only)", choices=SECURITY_MODES
    )
    username: str | None = setting(None, "SMTP login; leave out for a server without AUTH")
    password: Secret | None = setting(None, "SMTP password (prefer password_file)")
    password_file: str | None = setting(None, "file holding the SMTP password")
    from_address: str = setting(help="address the replies come from")
    from_name: str = setting("kMeet", "display name of the replies")
    timeout: int = setting(30, "seconds before an SMTP operation gives up", minimum=1)
    allow_insecure: bool = setting(False, 'allow security = "plain" to a host that is not loopback')


@dataclass(frozen=True, kw_only=True)
class RoomSettings:
    """[kmeet.room]: the settings of every planned room."""

    start_audio_muted: bool = setting(False, "participants join muted")
    enable_recording: bool = setting(False, "allow recording (needs drive_id)")
    drive_id: int | None = setting(None, "kDrive that receives recordings")
    enable_moderator_video: bool = setting(True, "moderator video on")
    start_audio_only: bool = setting(False, "join with audio only")
    lobby_enabled: bool = setting(False, "participants wait in a lobby")
    password_enabled: bool = setting(
        False, "room needs a password (generated, sent to the requester only)"
    )
    e2ee_enabled: bool = setting(True, "end-to-end encryption")


@dataclass(frozen=True, kw_only=True)
class KmeetSettings:
    api_url: str = setting("https://api.infomaniak.com", "Infomaniak API base URL")
    calendar_api_url: str = setting(
        "https://calendar.infomaniak.com", "Infomaniak Calendar API base URL"
    )
    token: Secret = setting(help="API token (prefer token_file)")
    token_file: str | None = setting(None, "file holding the API token")
    calendar_id: int = setting(help="calendar that gets the events")
    hostname: str = setting("kmeet.infomaniak.com", "the kMeet instance")
    timezone: str = setting("Europe/Zurich", "zone for floating times and plain requests")
    default_duration: int = setting(60, "minutes, when no end is given", minimum=1)
    language: str = setting(
        "en",
        "language of replies when the request's own is unclear",
        choices=("en", "fr", "de", "it"),
    )
    timeout: int = setting(30, "seconds before an API call gives up", minimum=1)
    delete_cancelled_rooms: bool = setting(
        False, "remove the room of a cancelled meeting (undocumented API call)"
    )
    max_rooms_per_day: int = setting(
        200, "rooms planned in any 24 hours, all senders together", minimum=1
    )
    retry_for: int = setting(
        86400, "seconds a temporary failure is retried before giving up", minimum=60
    )
    max_parallel: int = setting(
        4, "API requests at once; messages in hand: one more than this", minimum=1
    )
    max_requests_per_second: float = setting(
        20.0, "API requests begun per second, all messages together", minimum=0.1
    )
    allow_insecure: bool = setting(False, "allow http:// API URLs to a host that is not loopback")
    room: RoomSettings  # the [kmeet.room] section, declared above


@dataclass(frozen=True, kw_only=True)
class SenderSettings:
    allow: tuple[str, ...] = setting((), "glob patterns of addresses allowed to plan rooms")
    require_authenticated: bool = setting(
        False, "count a request only if a trusted server authenticated its sender"
    )
    trusted_authserv_ids: tuple[str, ...] = setting(
        (), "authserv-ids whose Authentication-Results headers are trusted"
    )
    max_rooms_per_hour: int = setting(20, "rooms one sender may plan in any hour", minimum=1)
    max_refusals_per_hour: int = setting(
        3, "refusals one sender is sent in any hour; then silence", minimum=0
    )

    def allows(self, address: str) -> bool:
        """True when `address` matches one of the glob patterns (case-insensitive)."""
        address = address.strip().lower()
        return any(fnmatch.fnmatchcase(address, pattern.lower()) for pattern in self.allow)


@dataclass(frozen=True, kw_only=True)
class LimitSettings:
    max_message_size: int = setting(
        52_428_800, "bytes; larger messages are rejected unread", minimum=1024
    )
    max_calendar_size: int = setting(1_048_576, "bytes of one calendar part", minimum=1024)
    max_events: int = setting(50, "events in one message", minimum=1)
    max_attendees: int = setting(100, "attendees passed to the API", minimum=1)
    max_nesting: int = setting(3, "forwarded messages inside forwarded messages", minimum=0)
    max_parts: int = setting(500, "MIME parts of one message", minimum=10)
    cpu_seconds: int = setting(1, "CPU seconds reading one message may take", minimum=1)


@dataclass(frozen=True, kw_only=True)
class StateSection:
    """[state] as the file writes it; `Settings.state_path` is its path, resolved."""

    path: str = setting("/var/lib/kmeet-bridge/state.db", "SQLite state database")


@dataclass(frozen=True, kw_only=True)
class MetricsSection:
    """[metrics] as the file writes it; `Settings.metrics_listen` is its address, read."""

    listen: str | None = setting(
        None, '"host:port" serving Prometheus metrics for `run`; off when absent'
    )


# The file's sections, in the order of the example file, and the dataclass whose
# fields declare each one's keys.
SECTIONS: dict[str, type] = {
    "imap": ImapSettings,
    "smtp": SmtpSettings,
    "kmeet": KmeetSettings,
    "kmeet.room": RoomSettings,
    "senders": SenderSettings,
    "limits": LimitSettings,
    "state": StateSection,
    "metrics": MetricsSection,
}


def _options(section: type) -> dict[str, Option]:
    """The keys a section's dataclass declares, as Options, in field order."""
    hints = get_type_hints(section)
    options = {}
    for spec in fields(section):
        if _DECLARED not in spec.metadata:
            continue  # not a key: KmeetSettings.room is a section of its own
        hint = hints[spec.name]
        kinds = (
            [k for k in get_args(hint) if k is not NoneType]
            if isinstance(hint, UnionType)
            else [hint]
        )
        (kind,) = kinds  # one type per key, optionally "| None"
        kind = get_origin(kind) or kind  # tuple[str, ...] -> tuple
        secret = kind is Secret
        default = None if spec.default is MISSING else spec.default
        toml_type = {Secret: str, tuple: list}.get(kind, kind)
        if toml_type not in _KINDS:
            raise TypeError(f"{section.__name__}.{spec.name}: no TOML type for {hint}")
        options[spec.name] = Option(
            type=toml_type,
            default=default,
            required=spec.default is MISSING and not secret,
            secret=secret,
            **spec.metadata[_DECLARED],
        )
    return options


# Every key, derived from the dataclasses above: what validation, the error
# messages and the example-file test read.
SCHEMA: dict[str, dict[str, Option]] = {name: _options(cls) for name, cls in SECTIONS.items()}

SECRET_ENV = {
    "imap": "KMEET_BRIDGE_IMAP_PASSWORD",
    "smtp": "KMEET_BRIDGE_SMTP_PASSWORD",
    "kmeet": "KMEET_BRIDGE_TOKEN",
}
SECRET_CREDENTIAL = {"imap": "imap-password", "smtp": "smtp-password", "kmeet": "api-token"}
SECRET_KEY = {"imap": "password", "smtp": "password", "kmeet": "token"}


@dataclass(frozen=True)
class Settings:
    imap: ImapSettings
    smtp: SmtpSettings
    kmeet: KmeetSettings
    senders: SenderSettings
    state_path: Path
    source: Path | None = None
    limits: LimitSettings = LimitSettings()
    # The files that hold a secret (*_file, and this file when a secret is inline),
    # for `check`'s warnings.
    secret_files: tuple[Path, ...] = ()
    metrics_listen: tuple[str, int] | None = None  # [metrics] listen: (host, port)


def default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load(path: Path, environ: Mapping[str, str] | None = None, *, secrets: bool = True) -> Settings:
    """Read, validate and resolve the configuration file at `path`.

    With `secrets=False` no password or token is looked up (for `parse`, which
    uses no network and must work without them)."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} does not exist; copy config.example.toml there "
            f"or name another file with --config or ${CONFIG_ENV}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file {path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    return from_mapping(data, environ, source=path, secrets=secrets)


def from_mapping(
    data: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    source: Path | None = None,
    *,
    secrets: bool = True,
) -> Settings:
    """Validate an already-parsed TOML document."""
    environ = os.environ if environ is None else environ
    values = _validate(data)
    base = source.parent if source else Path.cwd()
    secret_files = _secret_files(values, source, base)

    imap = values["imap"]
    smtp = values["smtp"]
    kmeet = values["kmeet"]
    for section in ("imap", "smtp"):
        _check_security(values[section], section)
    _check_zone(kmeet["timezone"])
    room = values["kmeet.room"]
    if room["enable_recording"] and room["drive_id"] is None:
        raise ConfigError(
            "[kmeet.room] enable_recording = true needs drive_id (the kDrive that receives "
            "the recordings)"
        )
    for pattern in values["senders"]["allow"]:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ConfigError(
                f"[senders] allow must be a list of address patterns such as "
                f'"*@example.com", got {pattern!r}'
            )
    trusted = values["senders"]["trusted_authserv_ids"]
    if any(not isinstance(name, str) or not name.strip() for name in trusted):
        raise ConfigError(
            '[senders] trusted_authserv_ids must be a list of server names such as "mx.example.com"'
        )
    if values["senders"]["require_authenticated"] and not trusted:
        raise ConfigError(
            "[senders] require_authenticated = true needs trusted_authserv_ids: the names "
            "your receiving mail server writes at the start of its Authentication-Results "
            'headers, such as "mx.example.com"'
        )
    for section in ("imap", "kmeet"):
        values[section][SECRET_KEY[section]] = (
            _resolve_secret(values[section], section, environ, base, required=True)
            if secrets
            else Secret("")
        )
    smtp_password = (
        _resolve_secret(smtp, "smtp", environ, base, required=False) if secrets else None
    )
    if secrets and smtp["username"] and smtp_password is None:
        raise ConfigError(
            "[smtp] username is set but no password was found: set password_file "
            "(or password, or $KMEET_BRIDGE_SMTP_PASSWORD)"
        )
    for key in ("api_url", "calendar_api_url"):
        url = kmeet[key]
        if not url.lower().startswith(("https://", "http://")):
            raise ConfigError(f'[kmeet] {key} must be an http(s) URL, got "{url}"')
        if _plain_http(url) and not kmeet["allow_insecure"]:
            raise ConfigError(
                f'[kmeet] {key} = "{url}" sends the API token unencrypted; plain http is only '
                'allowed to a loopback host. Use "https://" (or set [kmeet] allow_insecure = '
                "true if you really must)"
            )
        kmeet[key] = url.rstrip("/")

    return Settings(
        imap=ImapSettings(**imap),
        smtp=SmtpSettings(**{**smtp, "password": smtp_password}),
        kmeet=KmeetSettings(**kmeet, room=RoomSettings(**room)),
        senders=SenderSettings(**values["senders"]),
        state_path=_relative_to(base, StateSection(**values["state"]).path),
        source=source,
        limits=LimitSettings(**values["limits"]),
        metrics_listen=_listen_address(MetricsSection(**values["metrics"]).listen),
        secret_files=secret_files,
    )


def _secret_files(
    values: dict[str, dict[str, Any]], source: Path | None, base: Path
) -> tuple[Path, ...]:
    """The files that hold a secret: each *_file, and the config file itself when
    it has a secret inline."""
    inline = any(values[section][key] is not None for section, key in SECRET_KEY.items())
    files = [source] if source is not None and inline else []
    for section, key in SECRET_KEY.items():
        name = values[section][f"{key}_file"]
        if name is not None:
            files.append(_relative_to(base, name))
    return tuple(files)


def _listen_address(value: str | None) -> tuple[str, int] | None:
    """ "127.0.0.1:9464", "[::1]:9464" or ":9464" (every address) -> (host, port)."""
    if value is None:
        return None
    host, colon, port = value.rpartition(":")
    host = host.strip("[]")
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f'[metrics] listen must be "host:port", such as "127.0.0.1:9464", got "{value}"'
        )
    if host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise ConfigError(
                    f'[metrics] listen must name an IP address (or localhost), got "{host}"'
                ) from None
    return host or "0.0.0.0", int(port)


def _validate(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every section and key against SCHEMA; fill in defaults. Each section
    comes back as the keyword arguments of its dataclass."""
    known_sections = {name.split(".")[0] for name in SCHEMA}
    for name in data:
        if name not in known_sections:
            raise ConfigError(
                f"unknown section [{name}]; the sections are " + ", ".join(f"[{s}]" for s in SCHEMA)
            )
    values: dict[str, dict[str, Any]] = {}
    for section, options in SCHEMA.items():
        table: Any = data
        for part in section.split("."):
            table = table.get(part, {}) if isinstance(table, Mapping) else None
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{section}] must be a table")
        subsections = {name.split(".", 1)[1] for name in SCHEMA if name.startswith(f"{section}.")}
        for key in table:
            if key not in options and key not in subsections:
                raise ConfigError(
                    f"[{section}] has an unknown key {key!r}; known keys: " + ", ".join(options)
                )
        values[section] = {
            key: _value(section, key, option, table.get(key)) for key, option in options.items()
        }
    return values


def _value(section: str, key: str, option: Option, raw: Any) -> Any:
    if raw is None:
        if option.required:
            raise ConfigError(f"[{section}] {key} is missing; expected {option.help}")
        return option.default
    expected = option.type
    if expected is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)  # a number: `5` and `5.0` alike
    # TOML booleans are ints to Python; never accept one for the other.
    ok = isinstance(raw, expected) and not (expected is int and isinstance(raw, bool))
    if not ok:
        kind = _KINDS[expected]
        if option.secret:
            raise ConfigError(f"[{section}] {key} must be {kind} (its value is not shown)")
        shown = f'"{raw}"' if isinstance(raw, str) else _toml_repr(raw)
        raise ConfigError(f"[{section}] {key} must be {kind}, got {shown}")
    if expected is float and not math.isfinite(raw):
        raise ConfigError(f"[{section}] {key} must be a finite number, got {_toml_repr(raw)}")
    if option.choices and raw not in option.choices:
        raise ConfigError(
            f"[{section}] {key} must be one of "
            + ", ".join(f'"{c}"' for c in option.choices)
            + f', got "{raw}"'
        )
    if option.minimum is not None and raw < option.minimum:
        raise ConfigError(
            f"[{section}] {key} must be at least {_toml_repr(option.minimum)}, "
            f"got {_toml_repr(raw)}"
        )
    if expected is str and not raw.strip():
        raise ConfigError(f"[{section}] {key} must not be empty")
    return tuple(raw) if expected is list else raw  # settings hold lists as tuples


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # inf, -inf, nan: as TOML spells them
    return repr(value)


def _check_security(section_values: dict[str, Any], section: str) -> None:
    if (
        section_values["security"] == "plain"
        and not is_loopback(section_values["host"])
        and not section_values["allow_insecure"]
    ):
        raise ConfigError(
            f'[{section}] security = "plain" sends the password unencrypted; it is only '
            f'allowed to a loopback host, not "{section_values["host"]}". Use "ssl" or '
            '"starttls" (or set allow_insecure = true if you really must)'
        )


def permission_warnings(settings: Settings) -> list[str]:
    """Sentences for `check`: a file holding a secret (a *_file, or the config file
    with an inline secret), or the state database (it holds a protected room's
    password until its reply is sent), that group or others can read. A config
    file without secrets may be readable: the service's dynamic user has to read it."""
    warnings = []
    for path in (*settings.secret_files, settings.state_path):
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077:
            warnings.append(
                f"{path} can be read by group or others (mode {mode:04o}); run: chmod 600 {path}"
            )
    return warnings


def insecure_warnings(settings: Settings) -> list[str]:
    """Sentences for `check`: transport choices that weaken the setup."""
    warnings = []
    for name, section in (("imap", settings.imap), ("smtp", settings.smtp)):
        if section.security == "plain" and not is_loopback(section.host):
            warnings.append(
                f'[{name}] security = "plain" to {section.host}: the password and the mail '
                "cross the network unencrypted (allow_insecure = true)"
            )
    for key in ("api_url", "calendar_api_url"):
        url = getattr(settings.kmeet, key)
        if _plain_http(url):
            warnings.append(
                f"[kmeet] {key} = {url}: the API token crosses the network unencrypted "
                "(allow_insecure = true)"
            )
    if not settings.senders.require_authenticated:
        warnings.append(
            "[senders] require_authenticated is off: anybody can write an allowed address "
            "into From and have rooms planned and replies sent to it; turn it on with "
            "trusted_authserv_ids (see the README, Security)"
        )
    return warnings


def _plain_http(url: str) -> bool:
    """An http:// URL to a host that is not loopback."""
    if not url.lower().startswith("http://"):
        return False
    host = urlsplit(url).hostname or ""
    return not is_loopback(host)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'[kmeet] timezone must be an IANA time zone name such as "Europe/Zurich", got "{name}"'
        ) from None


def _resolve_secret(
    values: dict[str, Any],
    section: str,
    environ: Mapping[str, str],
    base: Path,
    *,
    required: bool,
) -> Secret | None:
    key = SECRET_KEY[section]
    inline, file_name = values.get(key), values.get(f"{key}_file")
    if inline is not None and file_name is not None:
        raise ConfigError(f"[{section}] sets both {key} and {key}_file; keep only one")
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        path = Path(credentials) / SECRET_CREDENTIAL[section]
        if path.exists():
            return Secret(_read_secret_file(path, f"systemd credential {path.name}"))
    if inline is not None:
        return Secret(inline)
    if file_name is not None:
        return Secret(_read_secret_file(_relative_to(base, file_name), f"[{section}] {key}_file"))
    env_name = SECRET_ENV[section]
    if environ.get(env_name):
        return Secret(environ[env_name].strip())
    if not required:
        return None
    raise ConfigError(
        f"[{section}] no {key} given: set {key}_file (or {key}), the environment variable "
        f"${env_name}, or the systemd credential {SECRET_CREDENTIAL[section]}"
    )


def _read_secret_file(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{what}: file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8 text") from None
    if not value:
        raise ConfigError(f"{what}: {path} is empty")
    return value


def _relative_to(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
