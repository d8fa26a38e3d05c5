"""kmeet_bridge.mail.mailer against a real SMTP server (aiosmtpd) on loopback."""

# The fixtures are imported by name, so each test parameter "redefines" one.

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from kmeet_bridge.config import Secret
from kmeet_bridge.mail.mailer import (
    Mailer,
    MailerError,
    MailLoginFailed,
    MailRejected,
    MailTransient,
    recipients,
)
from tests.support.dovecot import free_port
from tests.support.fixtures_servers import ImapAccount
from tests.support.smtp_sink import Certificate, SmtpSink

pytestmark = pytest.mark.integration

SinkFactory = Callable[..., SmtpSink]
PASSWORD = "s3cret-Pa55phrase"


def reply(bcc: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "kMeet <meet@example.com>"
    message["To"] = "Alice Example <alice@example.com>, bob@example.org"
    message["Cc"] = "carol@example.net"
    if bcc:
        message["Bcc"] = bcc
    message["Subject"] = "Re: Weekly sync"
    message["Message-ID"] = "<reply-1@example.com>"
    message.set_content("Your room: https://kmeet.infomaniak.com/123456789\n")
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """What a client puts on the wire for `message` (CRLF line ends)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


# -- sending ------------------------------------------------------------------------


def test_send_uses_the_exact_envelope_and_bytes(smtp_sink: SmtpSink) -> None:
    message = reply()
    Mailer(smtp_sink.smtp_settings()).send(message)
    [received] = smtp_sink.wait_for(1)
    assert received.mail_from == "meet@example.com"
    assert received.rcpt_tos == ("alice@example.com", "bob@example.org", "carol@example.net")
    assert received.raw == wire_bytes(message)
    assert received.message["Subject"] == "Re: Weekly sync"
    assert received.login is None


def test_bcc_gets_the_message_but_not_the_header(smtp_sink: SmtpSink) -> None:
    message = reply(bcc="dave@example.com")
    Mailer(smtp_sink.smtp_settings()).send(message)
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == (
        "alice@example.com",
        "bob@example.org",
        "carol@example.net",
        "dave@example.com",
    )
    assert b"dave@example.com" not in received.raw
    del message["Bcc"]
    assert received.raw == wire_bytes(message)


def test_the_callers_message_is_left_as_it_was(smtp_sink: SmtpSink) -> None:
    message = reply(bcc="dave@example.com")
    before = wire_bytes(message)
    Mailer(smtp_sink.smtp_settings()).send(message)
    assert wire_bytes(message) == before


def test_recipients_are_listed_once_in_order() -> None:
    message = reply(bcc="Alice <ALICE@example.com>, erin@example.net")
    assert recipients(message) == [
        "alice@example.com",
        "bob@example.org",
        "carol@example.net",
        "erin@example.net",
    ]


def test_a_message_without_recipients_is_rejected(smtp_sink: SmtpSink) -> None:
    message = EmailMessage()
    message["From"] = "meet@example.com"
    message["Message-ID"] = "<lonely@example.com>"
    with pytest.raises(MailRejected) as raised:
        Mailer(smtp_sink.smtp_settings()).send(message)
    assert str(raised.value) == "message <lonely@example.com> has no recipients"
    assert smtp_sink.messages == []


def test_login_with_the_right_password(make_smtp_sink: SinkFactory) -> None:
    sink = make_smtp_sink(auth=("meet@example.com", PASSWORD))
    Mailer(sink.smtp_settings()).send(reply())
    [received] = sink.wait_for(1)
    assert received.login == "meet@example.com"
    assert received.raw == wire_bytes(reply())


def test_a_wrong_password_fails_without_showing_it(make_smtp_sink: SinkFactory) -> None:
    sink = make_smtp_sink(auth=("meet@example.com", PASSWORD))
    settings = sink.smtp_settings(password=Secret("Wr0ng-Pa55word"))
    with pytest.raises(MailLoginFailed) as raised:
        Mailer(settings).send(reply())
    assert str(raised.value) == (
        f"cannot log in to SMTP server 127.0.0.1:{sink.port} as meet@example.com: "
        "535 5.7.8 Authentication credentials invalid; check [smtp] username and password"
    )
    assert "Wr0ng-Pa55word" not in repr(raised.value)
    assert sink.messages == []


def test_a_server_that_requires_auth_refuses_an_anonymous_sender(
    make_smtp_sink: SinkFactory,
) -> None:
    sink = make_smtp_sink(auth=("meet@example.com", PASSWORD))
    settings = sink.smtp_settings(username=None, password=None)
    with pytest.raises(MailRejected) as raised:
        Mailer(settings).send(reply())
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{sink.port} refused sending the message: "
        "530 5.7.0 Authentication required"
    )


# -- the server says no -------------------------------------------------------------


def test_451_on_data_is_transient_and_the_next_try_succeeds(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(451)
    mailer = Mailer(smtp_sink.smtp_settings())
    with pytest.raises(MailTransient) as raised:
        mailer.send(reply())
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{smtp_sink.port} refused sending the message: "
        "451 4.3.0 failure injected by the test"
    )
    assert smtp_sink.messages == []
    mailer.send(reply())
    assert [m.raw for m in smtp_sink.wait_for(1)] == [wire_bytes(reply())]


def test_550_on_data_is_rejected(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(550, text="5.7.1 message refused by policy")
    with pytest.raises(MailRejected) as raised:
        Mailer(smtp_sink.smtp_settings()).send(reply())
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{smtp_sink.port} refused sending the message: "
        "550 5.7.1 message refused by policy"
    )
    assert smtp_sink.messages == []


def test_451_on_mail_from_is_transient(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(451, stage="mail")
    with pytest.raises(MailTransient):
        Mailer(smtp_sink.smtp_settings()).send(reply())
    assert smtp_sink.messages == []


@pytest.mark.parametrize(("code", "kind"), [(450, MailTransient), (550, MailRejected)])
def test_every_recipient_refused(smtp_sink: SmtpSink, code: int, kind: type[MailerError]) -> None:
    smtp_sink.fail_next(code, times=3, stage="rcpt", text="no such user")
    with pytest.raises(kind) as raised:
        Mailer(smtp_sink.smtp_settings()).send(reply())
    assert type(raised.value) is kind
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{smtp_sink.port} refused every recipient: "
        f"alice@example.com ({code} no such user), bob@example.org ({code} no such user), "
        f"carol@example.net ({code} no such user)"
    )
    assert smtp_sink.messages == []


def test_one_refused_recipient_is_logged_and_the_others_get_the_message(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_sink.fail_next(550, stage="rcpt", text="5.1.1 no such user")
    with caplog.at_level(logging.WARNING, logger="kmeet_bridge.mail.mailer"):
        Mailer(smtp_sink.smtp_settings()).send(reply())
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ("bob@example.org", "carol@example.net")
    assert received.raw == wire_bytes(reply())
    assert caplog.messages == [
        f"SMTP server 127.0.0.1:{smtp_sink.port} refused recipient alice@example.com of "
        "message <reply-1@example.com>: 550 5.1.1 no such user"
    ]


def test_connection_refused_is_transient(smtp_sink: SmtpSink) -> None:
    port = free_port()
    with pytest.raises(MailTransient) as raised:
        Mailer(smtp_sink.smtp_settings(port=port)).send(reply())
    assert (
        str(raised.value) == f"cannot connect to SMTP server 127.0.0.1:{port}: connection refused"
    )


def test_plain_to_a_remote_host_is_refused_before_connecting(smtp_sink: SmtpSink) -> None:
    with pytest.raises(MailerError) as raised:
        Mailer(smtp_sink.smtp_settings(host="smtp.example.com")).send(reply())
    assert str(raised.value) == (
        '[smtp] security = "plain" is only allowed to a loopback host, not "smtp.example.com"'
    )


# -- TLS ----------------------------------------------------------------------------


def test_starttls_with_a_trusted_certificate_and_login(
    make_smtp_sink: SinkFactory, tls_certificate: Certificate
) -> None:
    sink = make_smtp_sink(
        tls="starttls", certificate=tls_certificate, auth=("meet@example.com", PASSWORD)
    )
    mailer = Mailer(sink.smtp_settings(), ssl_context=tls_certificate.client_context())
    assert mailer.check() == (
        f"SMTP server 127.0.0.1:{sink.port} (starttls): logged in as meet@example.com"
    )
    mailer.send(reply())
    [received] = sink.wait_for(1)
    assert received.raw == wire_bytes(reply())


def test_implicit_tls_with_a_trusted_certificate(
    make_smtp_sink: SinkFactory, tls_certificate: Certificate
) -> None:
    sink = make_smtp_sink(tls="ssl", certificate=tls_certificate)
    Mailer(sink.smtp_settings(), ssl_context=tls_certificate.client_context()).send(reply())
    [received] = sink.wait_for(1)
    assert received.rcpt_tos == ("alice@example.com", "bob@example.org", "carol@example.net")


def test_an_untrusted_certificate_is_refused(
    make_smtp_sink: SinkFactory, tls_certificate: Certificate
) -> None:
    sink = make_smtp_sink(tls="starttls", certificate=tls_certificate)
    with pytest.raises(MailerError) as raised:
        Mailer(sink.smtp_settings()).send(reply())  # the system trust store lacks the test CA
    assert type(raised.value) is MailerError
    assert str(raised.value) == (
        f"the TLS certificate of SMTP server 127.0.0.1:{sink.port} cannot be trusted: "
        "unable to get local issuer certificate"
    )
    assert sink.messages == []


def test_starttls_is_required_when_configured(smtp_sink: SmtpSink) -> None:
    with pytest.raises(MailerError) as raised:
        Mailer(smtp_sink.smtp_settings(security="starttls")).send(reply())
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{smtp_sink.port} does not offer STARTTLS, and security = "
        '"starttls" never sends mail unencrypted; check [smtp] port and security ("ssl" is '
        "usually port 465)"
    )
    assert smtp_sink.messages == []


# -- check and the full loop --------------------------------------------------------


def test_check_without_login(smtp_sink: SmtpSink) -> None:
    assert Mailer(smtp_sink.smtp_settings()).check() == (
        f"SMTP server 127.0.0.1:{smtp_sink.port} (plain): no login configured"
    )
    assert smtp_sink.messages == []


def test_the_sink_can_deliver_into_dovecot(
    make_smtp_sink: SinkFactory, imap_account: ImapAccount
) -> None:
    account = imap_account
    sink = make_smtp_sink(deliver_to=(account.dovecot, account.user, account.password, "INBOX"))
    Mailer(sink.smtp_settings()).send(reply())
    [received] = sink.wait_for(1)
    assert account.uids("INBOX") == [1]
    assert account.fetch("INBOX", 1) == received.raw == wire_bytes(reply())
