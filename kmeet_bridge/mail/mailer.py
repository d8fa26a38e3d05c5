"""Sending mail over SMTP (smtplib): one connection per message.

Errors come in three kinds a caller can act on: `MailTransient` (try again
later: the server is down, slow, or answered 4xx), `MailRejected` (the server
said no for good: 5xx), and `MailLoginFailed` (fix the configuration). All are
`MailerError`, and none ever contains the password.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses

from kmeet_bridge.config import SmtpSettings, is_loopback

log = logging.getLogger(__name__)


class MailerError(Exception):
    """The message was not sent; the text says which server and why, `code` the
    SMTP reply code when the server gave one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MailTransient(MailerError):
    """A temporary failure (connection, timeout, 4xx): the same message may succeed later."""


class MailRejected(MailerError):
    """The server refused for good (5xx): sending the same message again will not help."""


class MailLoginFailed(MailerError):
    """The server refused the username or password."""


def recipients(message: EmailMessage) -> list[str]:
    """Addresses from To, Cc and Bcc, in order, each once (compared case-insensitively)."""
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    seen: set[str] = set()
    found: list[str] = []
    for _name, address in getaddresses(fields):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            found.append(address)
    return found


class Mailer:
    """Sends messages through the server in `settings`.

    `ssl_context` replaces the default one (system trust store, certificate and
    host name verified).
    """

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self._ssl_context = ssl_context

    @property
    def where(self) -> str:
        return f"SMTP server {self.settings.host}:{self.settings.port}"

    def send(self, message: EmailMessage) -> None:
        """Send `message` from settings.from_address to its To, Cc and Bcc.

        Bcc is not transmitted (smtplib's send_message drops it from the copy it
        sends). If the server takes the message for some recipients but refuses
        others, the message counts as sent and the refusals are logged: sending
        again would duplicate it for those who got it.
        """
        to = recipients(message)
        if not to:
            raise MailRejected(
                f"message {message.get('Message-ID', '(no Message-ID)')} has no recipients"
            )
        with self._session() as smtp, self._errors("sending the message"):
            refused = smtp.send_message(message, from_addr=self.settings.from_address, to_addrs=to)
        for address, (code, text) in refused.items():
            log.warning(
                "%s refused recipient %s of message %s: %s %s",
                self.where,
                address,
                message.get("Message-ID", "(no Message-ID)"),
                code,
                _decode(text),
            )

    def check(self) -> str:
        """Connect, greet, secure and log in as `send` would; a line for `check` to print."""
        with self._session():
            pass
        login = (
            f"logged in as {self.settings.username}"
            if self.settings.username
            else "no login configured"
        )
        return f"{self.where} ({self.settings.security}): {login}"

    # -- internals -----------------------------------------------------------------

    @contextlib.contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        settings = self.settings
        if (
            settings.security == "plain"
            and not is_loopback(settings.host)
            and not settings.allow_insecure
        ):
            # config.py refuses this already unless allow_insecure: never by accident.
            raise MailerError(
                f'[smtp] security = "plain" is only allowed to a loopback host, '
                f'not "{settings.host}"'
            )
        if self._ssl_context is None and settings.security != "plain":
            # Loading the system trust store costs ~30 ms: once per Mailer, not per
            # reply; plain (loopback) needs none at all.
            self._ssl_context = ssl.create_default_context()
        context = self._ssl_context
        with self._errors("connecting"):
            smtp = self._open(context)
        try:
            with self._errors("greeting"):
                smtp.ehlo()
                if settings.security == "starttls":
                    self._starttls(smtp, context)
            if settings.username:
                self._login(smtp)
            yield smtp
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()

    def _open(self, context: ssl.SSLContext | None) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        if settings.security in ("starttls", "plain"):
            return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        raise MailerError(f"[smtp] security {settings.security!r} is not ssl, starttls or plain")

    def _starttls(self, smtp: smtplib.SMTP, context: ssl.SSLContext | None) -> None:
        if not smtp.has_extn("starttls"):
            raise MailerError(
                f'{self.where} does not offer STARTTLS, and security = "starttls" never sends '
                'mail unencrypted; check [smtp] port and security ("ssl" is usually port 465)'
            )
        smtp.starttls(context=context)
        smtp.ehlo()  # RFC 3207: forget what was learned before TLS

    def _login(self, smtp: smtplib.SMTP) -> None:
        settings = self.settings
        password = settings.password.reveal() if settings.password else ""
        with self._errors("logging in"):
            try:
                smtp.login(settings.username or "", password)
            except smtplib.SMTPAuthenticationError as exc:
                text = f"{exc.smtp_code} {_decode(exc.smtp_error)}"
                if 400 <= exc.smtp_code < 500:  # e.g. 454: the server cannot check right now
                    raise MailTransient(
                        self._scrub(f"{self.where} cannot log in anyone right now: {text}"),
                        code=exc.smtp_code,
                    ) from exc
                raise MailLoginFailed(
                    self._scrub(
                        f"cannot log in to {self.where} as {settings.username}: {text}; "
                        "check [smtp] username and password"
                    ),
                    code=exc.smtp_code,
                ) from exc

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn smtplib and socket errors into MailerError with a readable message."""
        try:
            yield
        except MailerError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            kind = MailTransient if all(400 <= code < 500 for code in codes) else MailRejected
            listed = ", ".join(
                f"{address} ({code} {_decode(text)})"
                for address, (code, text) in exc.recipients.items()
            )
            raise kind(
                self._scrub(f"{self.where} refused every recipient: {listed}"), code=codes[0]
            ) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, DATA refused, AUTH...
            text = f"{exc.smtp_code} {_decode(exc.smtp_error)}"
            raise _by_code(exc.smtp_code)(
                self._scrub(f"{self.where} refused {action}: {text}"),
                code=exc.smtp_code if exc.smtp_code > 0 else None,
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise MailTransient(
                self._scrub(f"{self.where} closed the connection while {action}: {exc}")
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailerError(
                self._scrub(f"{self.where} does not support {action}: {exc}")
            ) from exc
        except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism in common
            raise MailerError(self._scrub(f"{self.where}: {action} failed: {exc}")) from exc
        except TimeoutError as exc:
            raise MailTransient(
                f"{self.where} did not answer within {self.settings.timeout}s while {action}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise MailerError(
                f"the TLS certificate of {self.where} cannot be trusted: "
                f"{exc.verify_message or exc.reason}"
            ) from exc
        except ssl.SSLError as exc:
            raise MailerError(
                f"TLS with {self.where} failed while {action}: {exc.reason or exc}; check "
                '[smtp] port and security ("ssl" is usually port 465, "starttls" port 587)'
            ) from exc
        except socket.gaierror as exc:
            raise MailTransient(
                f"cannot find {self.where}: {exc.strerror or exc}; check [smtp] host"
            ) from exc
        except OSError as exc:
            verb = "connect to" if action == "connecting" else f"reach ({action})"
            raise MailTransient(
                f"cannot {verb} {self.where}: {(exc.strerror or str(exc)).lower()}"
            ) from exc

    def _scrub(self, text: str) -> str:
        password = self.settings.password.reveal() if self.settings.password else ""
        return text.replace(password, "********") if password else text


def _by_code(code: int) -> type[MailerError]:
    # smtplib reports -1 when the server said nothing usable: treat it like a dropped line.
    return MailRejected if 500 <= code < 600 else MailTransient


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
