"""A real SMTP server for the tests: aiosmtpd on a free loopback port.

It records every message it accepts (envelope and exact bytes), can require
AUTH, can speak STARTTLS or implicit TLS with a throwaway certificate, can be
told to refuse the next MAIL, RCPT or DATA with a given code, can hold the next
DATA unanswered (`hold_data`), and can hand each message to Dovecot so a test
can follow a reply all the way into a mailbox.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import logging
import shutil
import ssl
import subprocess
import threading
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from kmeet_bridge.config import Secret, SmtpSettings

from .dovecot import HOST, free_port

if TYPE_CHECKING:
    from .dovecot import Dovecot

STAGES = ("mail", "rcpt", "data")
SERVER_NAME = "sink.example.net"
# Each authenticated session makes aiosmtpd log a deprecation notice about login_data.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Certificate:
    """A private CA and a server certificate it signed, for 127.0.0.1 and localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A default (verifying) client context that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def make_certificate(directory: Path) -> Certificate:
    """Create a CA and a server certificate with the openssl command-line tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the TLS tests need the openssl command: apt-get install openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_file = directory / "ca.key", directory / "ca.pem"
    key_file, cert_file = directory / "server.key", directory / "server.pem"
    csr, extensions = directory / "server.csr", directory / "server.ext"
    extensions.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
        encoding="ascii",
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_file, "-days", "2",
         "-subj", "/CN=kmeet-bridge test CA"],
        [openssl, "req", "-new", *ec, "-keyout", key_file, "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert_file, "-days", "2", "-extfile", extensions],
    ]  # fmt: skip
    for command in commands:
        subprocess.run([str(arg) for arg in command], check=True, capture_output=True)
    return Certificate(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    login: str | None = None  # the AUTH user, when the client logged in


@dataclass
class _Fault:
    stage: str
    code: int
    text: str
    times: int


@dataclass
class _State:
    messages: list[ReceivedMessage] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)
    # hold_data: the next DATA waits, received but unanswered, until release().
    hold: bool = False
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    hold_over: threading.Event = field(default_factory=threading.Event)


class SmtpSink:
    """An SMTP server that keeps what it receives; see the module docstring.

    `tls`: None (plain SMTP), "starttls" (offers STARTTLS and requires it before
    MAIL) or "ssl" (TLS from the first byte); both need `certificate`.
    `auth`: (username, password) to require AUTH PLAIN/LOGIN (allowed without TLS
    on loopback). `deliver_to`: (dovecot, user, password, folder) to APPEND every
    accepted message there before answering 250.
    """

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls: str | None = None,
        certificate: Certificate | None = None,
        deliver_to: tuple[Dovecot, str, str, str] | None = None,
    ) -> None:
        if tls not in (None, "starttls", "ssl"):
            raise ValueError(f"tls must be None, 'starttls' or 'ssl', not {tls!r}")
        if tls and certificate is None:
            raise ValueError("a TLS sink needs a certificate (make_certificate)")
        self.host = HOST
        self.port = 0
        self.auth = auth
        self.tls = tls
        self.certificate = certificate
        self.deliver_to = deliver_to
        self._state = _State()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        # Started again after stop(): the same port, as a server that comes back.
        if not self.port:
            self.port = free_port(self.host)
        kwargs: dict[str, Any] = {"server_hostname": SERVER_NAME, "enable_SMTPUTF8": True}
        if self.auth is not None:
            kwargs.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        if self.tls == "starttls":
            assert self.certificate is not None
            kwargs.update(tls_context=self.certificate.server_context(), require_starttls=True)
        elif self.tls == "ssl":
            assert self.certificate is not None
            kwargs.update(ssl_context=self.certificate.server_context())
        self._controller = _Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what the tests use -----------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._state.condition:
            return list(self._state.messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; returns all of them."""
        state = self._state
        with state.condition:
            if not state.condition.wait_for(lambda: len(state.messages) >= count, timeout):
                raise AssertionError(
                    f"the SMTP sink got {len(state.messages)} messages within {timeout}s, "
                    f"expected {count}"
                )
            return list(state.messages)

    def fail_next(
        self, code: int = 451, times: int = 1, stage: str = "data", text: str | None = None
    ) -> None:
        """Answer the next `times` MAIL, RCPT or DATA commands with `code`."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
        if not 400 <= code <= 599:
            raise ValueError("an SMTP failure code is 4xx or 5xx")
        if text is None:
            text = f"{code // 100}.{'3.0' if code < 500 else '7.1'} failure injected by the test"
        with self._state.condition:
            self._state.faults.append(_Fault(stage, code, text, times))

    def hold_data(self) -> None:
        """Keep the next DATA waiting, the message received but not yet answered,
        until `release()`. If the client goes away meanwhile (killed), the message
        was never accepted and is not recorded, as with a real server."""
        state = self._state
        with state.condition:
            state.hold = True
            for event in (state.held, state.released, state.hold_over):
                event.clear()

    def wait_held(self, timeout: float = 5.0) -> None:
        """Block until a DATA is being held."""
        if not self._state.held.wait(timeout):
            raise AssertionError(f"no DATA reached the SMTP sink within {timeout}s")

    def wait_abandoned(self, timeout: float = 5.0) -> None:
        """Block until the client of the held DATA went away unanswered."""
        if not self._state.hold_over.wait(timeout):
            raise AssertionError(f"the held DATA was not abandoned within {timeout}s")

    def release(self, timeout: float = 5.0) -> None:
        """Let the held DATA go on, and wait until it was answered or abandoned."""
        self._state.released.set()
        if not self._state.hold_over.wait(timeout):
            raise AssertionError(f"the held DATA did not finish within {timeout}s")

    def smtp_settings(self, **overrides: object) -> SmtpSettings:
        values: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "security": self.tls or "plain",
            "username": self.auth[0] if self.auth else None,
            "password": Secret(self.auth[1]) if self.auth else None,
            "from_address": "meet@example.com",
            "from_name": "kMeet",
            "timeout": 10,
        }
        values.update(overrides)
        return SmtpSettings(**values)  # type: ignore[arg-type]

    # -- server side ----------------------------------------------------------

    def _take_hold(self) -> bool:
        with self._state.condition:
            hold, self._state.hold = self._state.hold, False
            return hold

    def _take_fault(self, stage: str) -> str | None:
        with self._state.condition:
            for fault in self._state.faults:
                if fault.stage == stage and fault.times > 0:
                    fault.times -= 1
                    return f"{fault.code} {fault.text}"
        return None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        if isinstance(auth_data, LoginPassword):
            user, password = (part.decode("utf-8", "replace") for part in auth_data)
            if (user, password) == self.auth:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def _record(self, envelope: Envelope, session: Session) -> None:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=parsed,
            login=session.auth_data if session.authenticated else None,
        )
        with self._state.condition:
            self._state.messages.append(received)
            self._state.condition.notify_all()


class _Controller(Controller):
    def factory(self) -> SMTP:
        # AUTH without TLS is deliberate here (loopback only); do not warn on every connection.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()


class _Handler:
    """aiosmtpd hooks; each may answer with an injected failure instead."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.sink._take_fault("mail")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.sink._take_fault("rcpt")
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink._take_hold():
            state = self.sink._state
            try:
                state.held.set()
                while not state.released.is_set():
                    # A lost connection cancels this coroutine: nothing is recorded.
                    await asyncio.sleep(0.01)
            finally:
                state.hold_over.set()
        fault = self.sink._take_fault("data")
        if fault:
            return fault
        if self.sink.deliver_to is not None:
            dovecot, user, password, folder = self.sink.deliver_to
            deliver = functools.partial(
                dovecot.append, user, password, folder, envelope.original_content or b""
            )
            try:  # imaplib blocks: keep it off the event loop
                await asyncio.get_running_loop().run_in_executor(None, deliver)
            except Exception as exc:  # the test sees a 451, as from a real MTA
                return f"451 4.3.0 delivery to Dovecot failed: {exc}"
        self.sink._record(envelope, session)
        return "250 2.0.0 OK: queued"
