"""kmeet_bridge.mail.mailbox against a real Dovecot on loopback."""

# The fixtures are imported by name, so each test parameter "redefines" one.

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from kmeet_bridge.mail.mailbox import LoginFailed, Mailbox, MailboxError, MailboxUnavailable
from tests.support.dovecot import Dovecot, free_port
from tests.support.fixtures_servers import ImapAccount
from tests.support.smtp_sink import Certificate

pytestmark = pytest.mark.integration


def message(number: int, subject: str = "Weekly sync") -> bytes:
    return (
        f"From: Alice Example <alice@example.com>\r\n"
        f"To: meet@example.com\r\n"
        f"Subject: {subject} {number}\r\n"
        f"Message-ID: <msg-{number}@example.com>\r\n"
        f"Date: Mon, 02 Sep 2024 09:00:00 +0200\r\n"
        f"\r\n"
        f"Body of message {number}.\r\n"
    ).encode()


def fill(account: ImapAccount, count: int, folder: str = "INBOX") -> list[bytes]:
    raws = [message(n) for n in range(1, count + 1)]
    for raw in raws:
        account.append(folder, raw)
    return raws


def uidvalidity(account: ImapAccount, folder: str) -> int:
    with account.dovecot.session(account.user, account.password) as client:
        typ, data = client.status(folder, "(UIDVALIDITY)")
    assert typ == "OK"
    return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))


# -- reading ------------------------------------------------------------------------


def test_select_returns_the_folder_uidvalidity(imap_account: ImapAccount) -> None:
    fill(imap_account, 1)
    expected = uidvalidity(imap_account, "INBOX")
    with Mailbox(imap_account.settings) as mailbox:
        assert mailbox.select("INBOX") == expected
        assert mailbox.select("INBOX") == expected


def test_new_uids_lists_exactly_the_messages_after_the_given_uid(
    imap_account: ImapAccount,
) -> None:
    fill(imap_account, 3)
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        assert mailbox.new_uids(0) == [1, 2, 3]
        assert mailbox.new_uids(1) == [2, 3]
        # "UID 4:*" matches the highest message (UID 3) even though 3 < 4.
        assert mailbox.new_uids(3) == []
        assert mailbox.new_uids(100) == []
        imap_account.append("INBOX", message(4))
        imap_account.append("INBOX", message(5))
        assert mailbox.new_uids(3) == [4, 5]


def test_new_uids_on_an_empty_folder_is_empty(imap_account: ImapAccount) -> None:
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        assert mailbox.new_uids(0) == []


def test_new_uids_asks_only_for_the_new_range(imap_account: ImapAccount) -> None:
    with imap_account.dovecot.session(imap_account.user, imap_account.password) as client:
        for number in range(1, 41):
            client.append("INBOX", None, None, message(number))
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        client = mailbox._client()
        sent: list[tuple[object, ...]] = []
        original = client._command  # type: ignore[attr-defined]

        def spy(name: str, *args: object) -> object:
            sent.append((name, *args))
            return original(name, *args)

        client._command = spy  # type: ignore[attr-defined]
        assert mailbox.new_uids(38) == [39, 40]
        assert sent == [("NOOP",), ("UID", "SEARCH", "UID 39:*")]


def test_fetch_returns_the_exact_bytes_and_changes_no_flag(imap_account: ImapAccount) -> None:
    plain, flagged = message(1), message(2, subject="Flagged")
    imap_account.append("INBOX", plain)
    imap_account.append("INBOX", flagged, flags=("\\Flagged",))
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        first = mailbox.fetch(1)
        second = mailbox.fetch(2)
    assert first is not None and second is not None
    assert (first.uid, first.folder, first.raw, first.size, first.flags) == (
        1,
        "INBOX",
        plain,
        len(plain),
        (),
    )
    assert (second.uid, second.raw, second.size, second.flags) == (
        2,
        flagged,
        len(flagged),
        ("\\Flagged",),
    )
    assert imap_account.flags("INBOX", 1) == set()  # still unread
    assert imap_account.flags("INBOX", 2) == {"\\Flagged"}


def test_fetch_of_a_uid_that_is_gone_returns_none(imap_account: ImapAccount) -> None:
    fill(imap_account, 1)
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        assert mailbox.fetch(2) is None


def test_reading_before_select_is_a_programming_error(imap_account: ImapAccount) -> None:
    with Mailbox(imap_account.settings) as mailbox, pytest.raises(RuntimeError):
        mailbox.new_uids(0)


# -- moving -------------------------------------------------------------------------


def test_move_creates_the_missing_nested_folder_and_moves_one_message(
    imap_account: ImapAccount,
) -> None:
    raws = fill(imap_account, 3)
    imap_account.store("INBOX", 2, ("\\Flagged",))
    assert imap_account.folders() == ["INBOX"]
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        mailbox.move(2, "kmeet/processed")
        assert mailbox.new_uids(0) == [1, 3]
    # Dovecot's Maildir++ separator is ".": "kmeet/processed" becomes "kmeet.processed".
    assert imap_account.folders() == ["INBOX", "kmeet", "kmeet.processed"]
    assert imap_account.uids("INBOX") == [1, 3]
    assert imap_account.uids("kmeet.processed") == [1]
    assert imap_account.fetch("kmeet.processed", 1) == raws[1]
    assert imap_account.flags("kmeet.processed", 1) == {"\\Flagged"}
    assert [imap_account.fetch("INBOX", uid) for uid in (1, 3)] == [raws[0], raws[2]]
    with imap_account.dovecot.session(imap_account.user, imap_account.password) as client:
        typ, data = client.lsub()
    assert typ == "OK" and data == [b'() "." kmeet.processed']


def test_move_into_an_existing_folder_and_a_repeated_move_are_safe(
    imap_account: ImapAccount,
) -> None:
    raws = fill(imap_account, 2)
    imap_account.append("kmeet.failed", message(9))
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        mailbox.move(1, "kmeet/failed")
        mailbox.move(1, "kmeet/failed")  # already moved: nothing happens
    assert imap_account.uids("INBOX") == [2]
    assert imap_account.uids("kmeet.failed") == [1, 2]
    assert imap_account.fetch("kmeet.failed", 2) == raws[0]


def test_move_without_move_expunges_only_that_uid(imap_account: ImapAccount) -> None:
    raws = fill(imap_account, 3)
    imap_account.store("INBOX", 1, ("\\Deleted",))  # the owner's own pending deletion
    with Mailbox(imap_account.settings, ignore_capabilities=["MOVE"]) as mailbox:
        assert "MOVE" not in mailbox.capabilities and "UIDPLUS" in mailbox.capabilities
        mailbox.select("INBOX")
        mailbox.move(2, "kmeet/processed")
    assert imap_account.uids("INBOX") == [1, 3]
    assert imap_account.flags("INBOX", 1) == {"\\Deleted"}
    assert imap_account.flags("INBOX", 3) == set()
    assert imap_account.uids("kmeet.processed") == [1]
    assert imap_account.fetch("kmeet.processed", 1) == raws[1]
    assert imap_account.flags("kmeet.processed", 1) == set()


def test_move_without_move_or_uidplus_leaves_the_message_flagged_deleted(
    imap_account: ImapAccount, caplog: pytest.LogCaptureFixture
) -> None:
    raws = fill(imap_account, 2)
    ignored = ["MOVE", "UIDPLUS"]
    with (
        caplog.at_level(logging.WARNING, logger="kmeet_bridge.mail.mailbox"),
        Mailbox(imap_account.settings, ignore_capabilities=ignored) as mailbox,
    ):
        mailbox.select("INBOX")
        mailbox.move(2, "kmeet/processed")
    assert imap_account.uids("INBOX") == [1, 2]
    assert imap_account.flags("INBOX", 1) == set()
    assert imap_account.flags("INBOX", 2) == {"\\Deleted"}
    assert imap_account.uids("kmeet.processed") == [1]
    assert imap_account.fetch("kmeet.processed", 1) == raws[1]
    port = imap_account.settings.port
    assert caplog.messages == [
        f"IMAP server 127.0.0.1:{port} offers neither MOVE nor UIDPLUS: UID 2 was copied to "
        "kmeet/processed and left in INBOX flagged \\Deleted (the bridge never expunges the "
        "whole folder)"
    ]


# -- connecting and failing ---------------------------------------------------------


def test_check_describes_the_mailbox(imap_account: ImapAccount) -> None:
    fill(imap_account, 2)
    validity = uidvalidity(imap_account, "INBOX")
    settings = imap_account.settings
    assert Mailbox(settings).check() == (
        f"IMAP server 127.0.0.1:{settings.port} (plain): logged in as {imap_account.user}; "
        f"folder INBOX: 2 messages, UIDVALIDITY {validity}"
    )


def test_wrong_password_gives_login_failed_without_the_password(
    imap_account: ImapAccount,
) -> None:
    settings = imap_account.dovecot.imap_settings(imap_account.user, "Wr0ng-Pa55word")
    mailbox = Mailbox(settings)
    with pytest.raises(LoginFailed) as raised:
        mailbox.connect()
    assert str(raised.value) == (
        f"cannot log in to IMAP server 127.0.0.1:{settings.port} as {imap_account.user}: "
        'authentication failed (the server said "[AUTHENTICATIONFAILED] Authentication '
        'failed"); check [imap] username and password'
    )
    assert "Wr0ng-Pa55word" not in repr(raised.value)
    assert not mailbox.connected


def test_a_utf8_password_logs_in(dovecot: Dovecot) -> None:
    user, password = dovecot.add_user(password="pässwörd-ünïcode")
    with Mailbox(dovecot.imap_settings(user, password)) as mailbox:
        assert mailbox.select("INBOX") > 0


def test_a_missing_folder_is_a_readable_error(imap_account: ImapAccount) -> None:
    with Mailbox(imap_account.settings) as mailbox, pytest.raises(MailboxError) as raised:
        mailbox.select("Requests/kmeet")
    assert type(raised.value) is MailboxError
    assert str(raised.value).startswith(
        f"cannot open folder 'Requests/kmeet' on IMAP server 127.0.0.1:"
        f"{imap_account.settings.port} as {imap_account.user}: Mailbox doesn't exist: "
        "Requests.kmeet"
    )
    assert str(raised.value).endswith("; check the folder names in [imap]")


def test_connection_refused_is_unavailable(dovecot: Dovecot) -> None:
    port = free_port()
    settings = dovecot.imap_settings("nobody@example.com", "secret-pw", port=port)
    with pytest.raises(MailboxUnavailable) as raised:
        Mailbox(settings).connect()
    assert (
        str(raised.value) == f"cannot connect to IMAP server 127.0.0.1:{port}: connection refused"
    )


@pytest.fixture
def silent_server() -> Iterator[tuple[int, threading.Event]]:
    """A TCP port that accepts connections; closes them when the event is set, else stays mute."""
    close_at_once = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if close_at_once.is_set():
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], close_at_once
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_greets_times_out_as_unavailable(
    dovecot: Dovecot, silent_server: tuple[int, threading.Event]
) -> None:
    port, _ = silent_server
    settings = dovecot.imap_settings("meet@example.com", "secret-pw", port=port, timeout=1)
    with pytest.raises(MailboxUnavailable) as raised:
        Mailbox(settings).connect()
    assert str(raised.value) == (
        f"IMAP server 127.0.0.1:{port} did not answer within 1s while connecting"
    )


def test_a_dropped_connection_is_unavailable(
    dovecot: Dovecot, silent_server: tuple[int, threading.Event]
) -> None:
    port, close_at_once = silent_server
    close_at_once.set()
    settings = dovecot.imap_settings("meet@example.com", "secret-pw", port=port)
    with pytest.raises(MailboxUnavailable) as raised:
        Mailbox(settings).connect()
    assert str(raised.value) == (
        f"lost the connection to IMAP server 127.0.0.1:{port} while connecting: socket error: EOF"
    )


def test_plain_to_a_remote_host_is_refused_before_connecting(dovecot: Dovecot) -> None:
    settings = dovecot.imap_settings("meet@example.com", "secret-pw", host="mail.example.com")
    with pytest.raises(MailboxError) as raised:
        Mailbox(settings).connect()
    assert str(raised.value) == (
        '[imap] security = "plain" is only allowed to a loopback host, not "mail.example.com"'
    )


# -- TLS and another hierarchy separator (a second, small Dovecot) -------------------


@pytest.fixture(scope="module")
def tls_dovecot(
    tmp_path_factory: pytest.TempPathFactory, tls_certificate: Certificate
) -> Iterator[Dovecot]:
    server = Dovecot(
        tmp_path_factory.mktemp("dovecot-tls"), separator="/", certificate=tls_certificate
    )
    server.start()
    yield server
    server.close()


def test_ssl_with_a_trusted_certificate(tls_dovecot: Dovecot, tls_certificate: Certificate) -> None:
    user, password = tls_dovecot.add_user()
    settings = tls_dovecot.imap_settings(user, password, security="ssl", port=tls_dovecot.ssl_port)
    mailbox = Mailbox(settings, ssl_context=tls_certificate.client_context())
    assert mailbox.check().startswith(f"IMAP server 127.0.0.1:{tls_dovecot.ssl_port} (ssl): ")


def test_starttls_with_a_trusted_certificate(
    tls_dovecot: Dovecot, tls_certificate: Certificate
) -> None:
    user, password = tls_dovecot.add_user()
    settings = tls_dovecot.imap_settings(user, password, security="starttls")
    mailbox = Mailbox(settings, ssl_context=tls_certificate.client_context())
    assert mailbox.check().startswith(f"IMAP server 127.0.0.1:{tls_dovecot.port} (starttls): ")


def test_an_untrusted_certificate_is_refused(tls_dovecot: Dovecot) -> None:
    user, password = tls_dovecot.add_user()
    settings = tls_dovecot.imap_settings(user, password, security="ssl", port=tls_dovecot.ssl_port)
    with pytest.raises(MailboxError) as raised:
        Mailbox(settings).connect()  # the system trust store does not know the test CA
    assert type(raised.value) is MailboxError
    assert str(raised.value) == (
        f"the TLS certificate of IMAP server 127.0.0.1:{tls_dovecot.ssl_port} cannot be "
        "trusted: unable to get local issuer certificate"
    )


def test_move_uses_the_servers_own_separator(tls_dovecot: Dovecot) -> None:
    user, password = tls_dovecot.add_user()
    raw = message(1)
    tls_dovecot.append(user, password, "INBOX", raw)
    with Mailbox(tls_dovecot.imap_settings(user, password)) as mailbox:
        mailbox.select("INBOX")
        mailbox.move(1, "kmeet/processed")
    assert tls_dovecot.folders(user, password) == ["INBOX", "kmeet", "kmeet/processed"]
    assert tls_dovecot.fetch(user, password, "kmeet/processed", 1) == raw


def test_dovecot_keeps_users_and_mail_across_a_restart(tls_dovecot: Dovecot) -> None:
    user, password = tls_dovecot.add_user()
    tls_dovecot.append(user, password, "INBOX", message(1))
    port = tls_dovecot.port
    tls_dovecot.restart()
    assert tls_dovecot.port == port
    assert tls_dovecot.uids(user, password, "INBOX") == [1]
