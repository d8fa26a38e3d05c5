"""A real Dovecot IMAP server for the tests, run as an ordinary process.

The server gets its own configuration, sockets, state, log and Maildir under
one temporary directory, listens on a free port on 127.0.0.1 (without TLS,
unless given a certificate), and authenticates from passwd-files written by
`add_user`. Nothing on the machine
outside that directory is read or changed (the stock /etc/dovecot is ignored).

Running as root needs three things Dovecot insists on:

- imap-login refuses to run as root, so the login processes run as the
  unprivileged `dovenull` (or `nobody`) user, chrooted into `base_dir/login`
  as Dovecot does by default; the chroot is what lets them reach their sockets
  inside a private (0700) temporary directory.
- mail processes refuse to run as root ("Mail access not allowed for root"), and
  passwd-file rejects UID 0, so mail is accessed as `nobody` (`mail_uid`,
  `mail_gid`, `first_valid_uid`).
- `nobody` cannot traverse pytest's private temporary directory, so the mail
  processes are chrooted into `<tmpdir>/mail` (`mail_chroot`), which `nobody`
  owns; homes in the passwd-files are relative to that chroot.

As an ordinary user, every process runs as that user and nothing is chrooted.

Each user has a passwd-file of their own: Dovecot re-reads a changed
passwd-file at most once a second, so appending users to one shared file would
make a user added right after another login invisible for up to a second. A new
file per user is read on first use.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmeet_bridge.config import ImapSettings, Secret

if TYPE_CHECKING:
    from .smtp_sink import Certificate

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# Unix socket paths are limited to 108 bytes; Dovecot's longest name under base_dir is ~40.
MAX_BASE_DIR = 60
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_counter = itertools.count(1)


class DovecotNotInstalled(RuntimeError):
    """The dovecot binary is missing: the IMAP tests cannot run."""


class DovecotFailed(RuntimeError):
    """Dovecot did not start or stop; the message carries the end of its log."""


def find_dovecot() -> str:
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in DOVECOT_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise DovecotNotInstalled(
        "Dovecot is not installed (no dovecot in $PATH, /usr/sbin or /usr/local/sbin); "
        "the IMAP tests need it: apt-get install dovecot-imapd"
    )


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Dovecot:
    """One Dovecot instance rooted in `tmpdir`; see the module docstring."""

    def __init__(
        self, tmpdir: Path, *, separator: str | None = None, certificate: Certificate | None = None
    ) -> None:
        self.tmpdir = Path(tmpdir)
        self.host = HOST
        self.port = 0
        # With a certificate: STARTTLS on `port` and implicit TLS on `ssl_port`.
        self.certificate = certificate
        self.ssl_port = 0
        # None keeps Dovecot's default for Maildir++, which is ".".
        self.separator = separator
        self.binary = find_dovecot()
        self.as_root = os.geteuid() == 0
        self.config_path = self.tmpdir / "dovecot.conf"
        self.log_path = self.tmpdir / "dovecot.log"
        self.users_dir = self.tmpdir / "users"
        self.mail_dir = self.tmpdir / "mail"
        self._process: subprocess.Popen[bytes] | None = None
        self._short_base_dir: Path | None = None
        self._prepare()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if self._process is not None:
            raise DovecotFailed("Dovecot is already running")
        if not self.port:
            self.port = free_port(self.host)
        if self.certificate is not None and not self.ssl_port:
            self.ssl_port = free_port(self.host)
        self.config_path.write_text(self._config(), encoding="utf-8")
        output = (self.tmpdir / "dovecot.out").open("ab")
        with output:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the test run is not sent to Dovecot
            )
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # Dovecot's clean shutdown
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise DovecotFailed(
                    f"Dovecot did not stop within {STOP_TIMEOUT:.0f}s; killed it\n{self.log_tail()}"
                ) from None

    def restart(self) -> None:
        """Stop and start again on the same port, with the same users and mail."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """Stop the server and remove what lives outside `tmpdir`."""
        self.stop()
        if self._short_base_dir is not None:
            shutil.rmtree(self._short_base_dir, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in (self.log_path, self.tmpdir / "dovecot.out"):
            with contextlib.suppress(OSError):
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                parts.append(f"--- {path.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    # -- users ---------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Create a user with an empty INBOX; returns (username, password)."""
        if name is None:
            name = f"user{next(_counter)}-{secrets.token_hex(3)}"
        if password is None:
            password = secrets.token_urlsafe(12)
        if not USERNAME.match(name):
            raise ValueError(f"user name {name!r} must match {USERNAME.pattern}")
        if any(ch in password for ch in ":\r\n"):
            raise ValueError("a passwd-file password cannot contain ':' or line breaks")
        passwd = self.users_dir / name
        if passwd.exists():
            raise ValueError(f"user {name} already exists")
        home = self.mail_dir / "home" / name
        home.mkdir(parents=True)
        if self.as_root:
            os.chown(home, *self._mail_ids())
            home_field = f"/home/{name}"  # inside the mail chroot
        else:
            home_field = str(home)
        # user:password:uid:gid:gecos:home:shell:extra -- uid/gid come from mail_uid/mail_gid.
        line = f"{name}:{{PLAIN}}{password}::::{home_field}::\n"
        passwd.write_bytes(line.encode("utf-8"))
        passwd.chmod(0o600)
        return name, password

    def imap_settings(self, user: str, password: str, **overrides: object) -> ImapSettings:
        values: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "security": "plain",
            "username": user,
            "password": Secret(password),
            "folder": "INBOX",
            "processed_folder": "kmeet/processed",
            "failed_folder": "kmeet/failed",
            "poll_interval": 60,
            "timeout": 10,
        }
        values.update(overrides)
        return ImapSettings(**values)  # type: ignore[arg-type]

    # -- inspecting mailboxes (stdlib imaplib, independent of kmeet_bridge.mail.mailbox) --

    @contextlib.contextmanager
    def session(self, user: str, password: str) -> Iterator[imaplib.IMAP4]:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            _ok(client.login(user, password), "LOGIN")
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(
        self, user: str, password: str, folder: str, raw: bytes, flags: Iterable[str] = ()
    ) -> int:
        """APPEND `raw` to `folder` (created if missing); returns the new UID."""
        with self.session(user, password) as client:
            if folder.upper() != "INBOX" and not _exists(client, folder):
                _ok(client.create(_quote(folder)), "CREATE")
            flag_list = f"({' '.join(flags)})" if flags else None
            typ, data = client.append(_quote(folder), flag_list, None, raw)
            _ok((typ, data), "APPEND")
        match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        if not match:
            raise AssertionError(f"APPEND answered without APPENDUID: {data!r}")
        return int(match.group(1))

    def uids(self, user: str, password: str, folder: str) -> list[int]:
        with self.session(user, password) as client:
            _ok(client.select(_quote(folder), readonly=True), "EXAMINE")
            typ, data = client.uid("SEARCH", "ALL")
            _ok((typ, data), "UID SEARCH")
        return [int(uid) for uid in (data[0] or b"").split()]

    def flags(self, user: str, password: str, folder: str, uid: int) -> set[str]:
        """The message's flags, without the per-session \\Recent."""
        with self.session(user, password) as client:
            _ok(client.select(_quote(folder), readonly=True), "EXAMINE")
            typ, data = client.uid("FETCH", str(uid), "(FLAGS)")
            _ok((typ, data), "UID FETCH")
        for item in data:
            if isinstance(item, bytes) and re.search(rb"\bUID %d\b" % uid, item):
                return {f.decode() for f in imaplib.ParseFlags(item)} - {"\\Recent"}
        raise AssertionError(f"UID {uid} is not in {folder}")

    def fetch(self, user: str, password: str, folder: str, uid: int) -> bytes:
        """The message's exact bytes (BODY.PEEK[], so no flag changes)."""
        with self.session(user, password) as client:
            _ok(client.select(_quote(folder), readonly=True), "EXAMINE")
            typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            _ok((typ, data), "UID FETCH")
        for item in data:
            if isinstance(item, tuple) and re.search(rb"\bUID %d\b" % uid, item[0]):
                return item[1]
        raise AssertionError(f"UID {uid} is not in {folder}")

    def folders(self, user: str, password: str) -> list[str]:
        """Every folder name, as the server spells it (with its own separator)."""
        with self.session(user, password) as client:
            typ, data = client.list()
            _ok((typ, data), "LIST")
        return sorted(_list_name(item) for item in data if item)

    def store(self, user: str, password: str, folder: str, uid: int, flags: Iterable[str]) -> None:
        """Add flags to a message, as another mail client would."""
        with self.session(user, password) as client:
            _ok(client.select(_quote(folder)), "SELECT")
            _ok(client.uid("STORE", str(uid), "+FLAGS", f"({' '.join(flags)})"), "UID STORE")

    # -- internals -----------------------------------------------------------------

    def _prepare(self) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.users_dir.mkdir(exist_ok=True)
        (self.mail_dir / "home").mkdir(parents=True, exist_ok=True)
        (self.tmpdir / "state").mkdir(exist_ok=True)
        if self.as_root:
            uid, gid = self._mail_ids()
            for path in (self.mail_dir, self.mail_dir / "home"):
                os.chown(path, uid, gid)
            self.mail_dir.chmod(0o700)
        base = self.tmpdir / "run"
        if len(str(base)) > MAX_BASE_DIR:
            self._short_base_dir = Path(tempfile.mkdtemp(prefix="dovecot-"))
            base = self._short_base_dir
        base.mkdir(exist_ok=True)
        self.base_dir = base

    def _mail_ids(self) -> tuple[int, int]:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid

    def _login_user(self) -> str:
        for name in ("dovenull", "nobody"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        raise DovecotFailed("no unprivileged user (dovenull or nobody) for Dovecot's login")

    def _config(self) -> str:
        users = f"{self.users_dir}/%u"
        lines = [
            "protocols = imap",
            f"listen = {self.host}",
            *self._tls_settings(),
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            # Tests log in with wrong passwords on purpose: no 2 s delay (2.3 still batches
            # failures every 0.5 s) and no growing per-IP penalty (anvil-auth-penalty below).
            "auth_failure_delay = 0",
            f"base_dir = {self.base_dir}",
            f"state_dir = {self.tmpdir / 'state'}",
            f"log_path = {self.log_path}",
            "mail_location = maildir:~/Maildir",
            "mail_fsync = never",  # a throwaway store: speed over durability
            "namespace inbox {",
            "  inbox = yes",
            *([f"  separator = {self.separator}"] if self.separator else []),
            "}",
            "passdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {users}",
            "}",
            "userdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {users}",
            "}",
        ]
        services: dict[str, list[str]] = {
            "imap-login": [
                "inet_listener imap {",
                f"  port = {self.port}",
                "}",
                "inet_listener imaps {",
                f"  port = {self.ssl_port}",
                *(["  ssl = yes"] if self.certificate else []),
                "}",
            ],
            "anvil": ["unix_listener anvil-auth-penalty {", "  mode = 0", "}"],
        }
        if self.as_root:
            uid, gid = self._mail_ids()
            lines += [
                f"default_login_user = {self._login_user()}",
                "default_internal_user = root",
                f"mail_uid = {uid}",
                f"mail_gid = {gid}",
                f"first_valid_uid = {uid}",
                f"first_valid_gid = {gid}",
                f"mail_chroot = {self.mail_dir}",
                f"valid_chroot_dirs = {self.mail_dir}",
            ]
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            lines += [
                f"default_login_user = {me}",
                f"default_internal_user = {me}",
                f"default_internal_group = {grp.getgrgid(os.getegid()).gr_name}",
                f"first_valid_uid = {os.geteuid()}",
                f"first_valid_gid = {os.getegid()}",
            ]
            # chroot needs root: turn it off for every service that has one by default.
            for service in ("imap-login", "anvil", "ipc", "old-stats", "aggregator"):
                services.setdefault(service, []).append("chroot =")
        for service, settings in services.items():
            lines += [f"service {service} {{", *(f"  {line}" for line in settings), "}"]
        return "\n".join(lines) + "\n"

    def _tls_settings(self) -> list[str]:
        if self.certificate is None:
            return ["ssl = no"]
        return [
            "ssl = yes",  # offered (STARTTLS, imaps), not required: LOGIN works either way
            f"ssl_cert = <{self.certificate.cert_file}",
            f"ssl_key = <{self.certificate.key_file}",
        ]

    def _wait_until_serving(self) -> None:
        """Wait for an IMAP greeting: the listener exists and imap-login answers."""
        deadline = time.monotonic() + START_TIMEOUT
        last_error = ""
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DovecotFailed(
                    f"Dovecot exited with status {self._process.returncode} while starting\n"
                    f"{self.log_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    greeting = sock.recv(1024)
                if greeting.startswith(b"* OK"):
                    return
                last_error = f"greeting {greeting!r}"
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.05)
        raise DovecotFailed(
            f"Dovecot did not answer on {self.host}:{self.port} within {START_TIMEOUT:.0f}s "
            f"({last_error})\n{self.log_tail()}"
        )


def _ok(result: tuple[str, Sequence[Any]], command: str) -> None:
    typ, data = result
    if typ != "OK":
        raise AssertionError(f"IMAP {command} failed: {typ} {data!r}")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _exists(client: imaplib.IMAP4, folder: str) -> bool:
    typ, data = client.list('""', _quote(folder))
    _ok((typ, data), "LIST")
    return any(item for item in data)


def _list_name(item: bytes | tuple[bytes, bytes]) -> str:
    if isinstance(item, tuple):  # a name sent as a literal
        return item[1].decode()
    match = re.match(rb'\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$', item)
    if not match:
        raise AssertionError(f"cannot read LIST line {item!r}")
    name = match.group("name")
    if name.startswith(b'"') and name.endswith(b'"'):
        name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
    return name.decode()
