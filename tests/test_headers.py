"""Reading an incoming message's headers: exact values, and no exception on garbage."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest

from kmeet_bridge.mail import headers

OWN = "meet@example.com"


def parse(header_block: bytes, body: bytes = b"Hello\n") -> EmailMessage:
    message = email.message_from_bytes(header_block + b"\n" + body, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- sender_address ------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_header", "expected"),
    [
        (b"From: alice@example.com\n", "alice@example.com"),
        (b"From: Alice <Alice@EXAMPLE.COM>\n", "Alice@example.com"),
        (b'From: "Doe, John" <john@Example.Org>\n', "john@example.org"),
        (b"From: =?utf-8?q?Z=C3=BCrich_Office?= <zh@example.com>\n", "zh@example.com"),
        # A display name that looks like an address must not win over the real one.
        (b"From: =?utf-8?q?boss=40example.com?= <evil@example.net>\n", "evil@example.net"),
        (b"From: bob@example.net (Bob)\n", "bob@example.net"),
        (b"From: Team: dana@example.org;\n", "dana@example.org"),
    ],
)
def test_sender_address(from_header: bytes, expected: str) -> None:
    assert headers.sender_address(parse(from_header)) == expected


@pytest.mark.parametrize(
    "from_header",
    [
        b"",
        b"From: \n",
        b"From: garbage\n",
        b"From: a@\n",
        b"From: @@@\n",
        b"From: <>\n",
        b"From: (((((\n",
        b"From: =?utf-8?b?!!!?=\n",
        b'From: "unterminated <a@example.com\n',
        b"From: undisclosed-recipients:;\n",
        b'From: "a@b"@example.com\n',
        b"From: MAILER-DAEMON (Mail Delivery System)\n",
        # Several authors: which one the server authenticated cannot be told.
        b"From: boss@partner.example, evil@attacker.test\n",
        b"From: Team: boss@partner.example, evil@attacker.test;\n",
        b"From: boss@partner.example\nFrom: evil@attacker.test\n",
        b"From: boss@partner.example\nFROM: boss@partner.example\n",
    ],
)
def test_sender_address_unusable(from_header: bytes) -> None:
    assert headers.sender_address(parse(from_header)) is None


def test_sender_address_compat32_message() -> None:
    message = email.message_from_bytes(b"From: Alice <Alice@EXAMPLE.COM>\n\nHi\n")
    assert headers.sender_address(message) == "Alice@example.com"
    several = email.message_from_bytes(b"From: a@example.com, b@example.org\n\nHi\n")
    assert headers.sender_address(several) is None
    assert headers.automatic_reason(several, OWN) is None
    bounce = email.message_from_bytes(b"From: MAILER-DAEMON, x@example.org\n\nHi\n")
    assert headers.automatic_reason(bounce, OWN) == (
        "The message is a delivery report from a mail server."
    )


# --- message_id and references ------------------------------------------------------


@pytest.mark.parametrize(
    ("header_block", "expected"),
    [
        (b"Message-ID: <abc.123@example.com>\n", "<abc.123@example.com>"),
        (b"Message-ID:   <abc@example.com>   \n", "<abc@example.com>"),
        (b"Message-ID:\n  <abc@example.com> (added by relay)\n", "<abc@example.com>"),
        (b"Message-Id: <abc@example.com>\n", "<abc@example.com>"),
        (b"Message-ID: abc@example.com\n", "abc@example.com"),
        (b"Message-ID: \n", None),
        (b"Message-ID: two words\n", None),
        (b"Message-ID: =?utf-8?b?!!!?=\n", "=?utf-8?b?!!!?="),
        (b"Message-ID: <" + b"a" * 950 + b"@example.com>\n", None),
        (b"Subject: no id\n", None),
    ],
)
def test_message_id(header_block: bytes, expected: str | None) -> None:
    assert headers.message_id(parse(header_block)) == expected


def test_references_in_order_without_duplicates_or_garbage() -> None:
    message = parse(
        b"References: <a@example.com>\n <b@example.org> garbage <a@example.com>\n"
        b"\t<c@example.net> <not an id>\n"
    )
    assert headers.references(message) == ["<a@example.com>", "<b@example.org>", "<c@example.net>"]


def test_references_missing() -> None:
    assert headers.references(parse(b"Subject: x\n")) == []


# --- subject ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header_block", "expected"),
    [
        (b"Subject: Budget review\n", "Budget review"),
        (b"Subject: =?utf-8?q?Budget_=E2=82=AC_review?=\n", "Budget € review"),
        (b"Subject: Budget\n  review\n\tQ1\n", "Budget review Q1"),
        # An encoded CR LF must not survive as a line break.
        (b"Subject: =?utf-8?q?Hi=0D=0ABcc:_x@example.net?=\n", "Hi Bcc: x@example.net"),
        (b"Subject: =?utf-8?q?a=E2=80=A8b?=\n", "a b"),
        (b"Subject: caf\xe9\n", "caf\ufffd"),
        (b"Subject: =?utf-8?b?!!!?=\n", ""),
        (b"From: alice@example.com\n", ""),
    ],
)
def test_subject(header_block: bytes, expected: str) -> None:
    assert headers.subject(parse(header_block)) == expected


def test_one_line() -> None:
    assert headers.one_line(" a\r\nb\tc\x00d\u2029e\ud800 ") == "a b c d e\ufffd"


# --- automatic_reason ------------------------------------------------------------

NORMAL = b"From: Alice <alice@example.com>\nTo: meet@example.com\nSubject: kmeet\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            b"Auto-Submitted: auto-replied\n",
            "The message was sent automatically (Auto-Submitted: auto-replied).",
        ),
        (
            b"Auto-Submitted: Auto-Notified; owner-email=x@example.com\n",
            "The message was sent automatically (Auto-Submitted: auto-notified).",
        ),
        (b"Return-Path: <>\n", "The message is a bounce (empty Return-Path)."),
        (b"Return-Path: < >\n", "The message is a bounce (empty Return-Path)."),
        (
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
            "The message is a delivery or read report.",
        ),
        (b"X-Autoreply: yes\n", "The message is an automatic reply (X-Autoreply header)."),
        (b"X-Autorespond: 1\n", "The message is an automatic reply (X-Autorespond header)."),
        (b"Precedence: bulk\n", "The message is bulk or list mail (Precedence: bulk)."),
        (b"Precedence: JUNK\n", "The message is bulk or list mail (Precedence: junk)."),
        (b"Precedence: list\n", "The message is bulk or list mail (Precedence: list)."),
        (
            b"List-Id: Team <team.example.com>\n",
            "The message comes from a mailing list (List-Id header).",
        ),
        # Not reasons: a calendar server's invitation, an explicit "no", a first-class mail.
        (b"Auto-Submitted: auto-generated\n", None),
        (b"Auto-Submitted: no\n", None),
        (b"Precedence: first-class\n", None),
        (b"Return-Path: <alice@example.com>\n", None),
        (b"", None),
    ],
)
def test_automatic_reason_headers(extra: bytes, expected: str | None) -> None:
    assert headers.automatic_reason(parse(NORMAL + extra), OWN) == expected


@pytest.mark.parametrize(
    "from_header",
    [
        b"From: MAILER-DAEMON@mx.example.net\n",
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n",
        b"From: MAILER-DAEMON (Mail Delivery System)\n",
        b"From: postmaster@example.org\n",
    ],
)
def test_automatic_reason_bounce_senders(from_header: bytes) -> None:
    message = parse(from_header + b"Subject: Undelivered Mail Returned to Sender\n")
    assert headers.automatic_reason(message, OWN) == (
        "The message is a delivery report from a mail server."
    )


@pytest.mark.parametrize(
    "from_header", [b"From: meet@example.com\n", b"From: kMeet <Meet@Example.COM>\n"]
)
def test_automatic_reason_own_address(from_header: bytes) -> None:
    message = parse(from_header + b"Subject: Re: kmeet\n")
    assert headers.automatic_reason(message, OWN) == (
        "The message comes from the bridge's own address."
    )


def test_automatic_reason_own_address_wins_over_other_reasons() -> None:
    message = parse(b"From: meet@example.com\nAuto-Submitted: auto-replied\n")
    assert headers.automatic_reason(message, OWN) == (
        "The message comes from the bridge's own address."
    )


@pytest.mark.parametrize(
    "header_block",
    [
        b"From: a@\nPrecedence:\nReturn-Path: garbage\nAuto-Submitted:\n",
        b"From: (((((\nContent-Type: multipart/\n",
        b"",
    ],
)
def test_automatic_reason_garbage_does_not_raise(header_block: bytes) -> None:
    assert headers.automatic_reason(parse(header_block), OWN) is None


def test_automatic_reason_unknown_auto_submitted_value_counts_as_automatic() -> None:
    message = parse(b"From: a@\nAuto-Submitted: =?utf-8?b?!!!?=\n")
    assert headers.automatic_reason(message, OWN) == (
        "The message was sent automatically (Auto-Submitted: =?utf-8?b?!!!?=)."
    )


# --- what the tests around identity left open (issue 13) ------------------------------


def from_text(text: str) -> EmailMessage:
    message = email.message_from_string(text + "\n\nHi\n", policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(
    "char",
    [
        "\x01",  # a control character (Cc)
        "\u200b",  # zero-width space (Cf): invisible
        "\u202e",  # right-to-left override (Cf): reorders what is shown
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        " ",
    ],
)
def test_from_addresses_with_invisible_or_control_characters_are_unusable(char: str) -> None:
    assert headers.sender_address(from_text(f'From: "a{char}b"@example.com')) is None
    assert headers.sender_address(from_text(f"From: a{char}b@example.com")) is None
    assert headers.sender_address(from_text("From: ab@example.com")) == "ab@example.com"


def test_from_addresses_with_undecodable_bytes_are_unusable() -> None:
    assert headers.sender_address(parse(b"From: j\xf6rg@example.com\n")) is None
    assert headers.sender_address(parse(b"From: J\xc3\xb6rg <jorg@example.com>\n")) == (
        "jorg@example.com"
    )


def test_the_first_of_repeated_headers_is_read() -> None:
    message = parse(
        b"Message-ID: <first@example.com>\nMessage-ID: <second@example.com>\n"
        b"Subject: first\nSubject: second\n"
        b"References: <a@example.com>\nReferences: <b@example.com> <a@example.com>\n"
        b"Auto-Submitted: auto-generated\nAuto-Submitted: auto-replied\n"
        b"Precedence: bulk\nPrecedence: first-class\n"
    )
    assert headers.message_id(message) == "<first@example.com>"
    assert headers.subject(message) == "first"
    assert headers.references(message) == ["<a@example.com>", "<b@example.com>"]
    assert headers.is_auto_generated(message) is True
    assert headers.automatic_reason(message, OWN) == (
        "The message is bulk or list mail (Precedence: bulk)."
    )


def test_compat32_messages_are_read_like_the_others() -> None:
    def compat(raw: bytes) -> email.message.Message:
        return email.message_from_bytes(raw + b"\n\nHi\n")

    assert headers.sender_address(compat(b"From: a@example.com, b@example.org")) is None
    assert headers.sender_address(compat(b"From: MAILER-DAEMON")) is None
    assert headers.sender_address(compat(b"From: Team: dana@example.org;")) == "dana@example.org"
    assert headers.sender_address(compat(b"From: =?utf-8?q?a=40b?= <c@example.com>")) == (
        "c@example.com"
    )
    assert headers.sender_address(compat(b"From: Alice\n <alice@example.com>")) == (
        "alice@example.com"
    )
    # Folded where the address itself would change if the fold were not undone.
    assert headers.sender_address(compat(b"From: <alice@example.com\n >")) == "alice@example.com"
    assert headers.sender_address(parse(b"From: <alice@example.com\r\n >\n")) == (
        "alice@example.com"
    )
    assert headers.automatic_reason(compat(b'From: "MAILER-DAEMON@x"@example.org'), OWN) is None
    assert headers.automatic_reason(compat(b"From: MAILER-DAEMON"), OWN) == (
        "The message is a delivery report from a mail server."
    )


def test_ids_at_the_length_limit() -> None:
    longest = "<" + "a" * (900 - len("<@example.com>")) + "@example.com>"
    assert len(longest) == 900
    too_long = longest.replace("<", "<b", 1)
    message = parse(f"Message-ID: {longest}\nReferences: {longest} {too_long}\n".encode())
    assert headers.message_id(message) == longest
    assert headers.references(message) == [longest]
    assert headers.message_id(parse(f"Message-ID: {too_long}\n".encode())) is None


def test_a_bare_message_id_may_use_every_printable_character() -> None:
    assert headers.message_id(parse(b"Message-ID: !abc~\n")) == "!abc~"
    assert headers.message_id(parse(b"Message-ID: ab\xffc\n")) is None


def test_is_auto_generated() -> None:
    assert headers.is_auto_generated(parse(b"Auto-Submitted: Auto-Generated; x=y\n")) is True
    assert headers.is_auto_generated(parse(b"Auto-Submitted: auto-replied\n")) is False
    assert headers.is_auto_generated(parse(b"Auto-Submitted: no\n")) is False
    assert headers.is_auto_generated(parse(b"Subject: hi\n")) is False


def test_the_auto_submitted_value_is_its_first_token_shortened() -> None:
    value = "x" * 60
    message = parse(NORMAL + f"Auto-Submitted: {value}; a=b; c=d\n".encode())
    assert headers.automatic_reason(message, OWN) == (
        f"The message was sent automatically (Auto-Submitted: {value})."
    )
    message = parse(NORMAL + f"Auto-Submitted: {value}y\n".encode())
    assert headers.automatic_reason(message, OWN) == (
        f"The message was sent automatically (Auto-Submitted: {value[:59]}…)."
    )


def test_a_subject_the_structured_parser_reads() -> None:
    # The structured parser joins an encoded word to the text before it.
    assert headers.subject(parse(b"Subject: foo=?utf-8?q?bar?=\n")) == "foobar"


class StructuredParserGivesUp(EmailMessage):
    def get(self, name: str, failobj: object = None) -> object:
        if name.lower() == "subject":
            raise ValueError("a header the structured parser cannot read")
        return super().get(name, failobj)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= foo=?utf-8?q?bar?=\n", "Grüße foo bar"),
        (b"Subject: =?x-unknown?q?abc?= \x01 x\n", "=?x-unknown?q?abc?= x"),
        (b"To: meet@example.com\n", ""),
    ],
)
def test_a_subject_the_structured_parser_gives_up_on(raw: bytes, expected: str) -> None:
    message = email.message_from_bytes(
        raw + b"\nHi\n", _class=StructuredParserGivesUp, policy=policy.default
    )
    assert headers.subject(message) == expected


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("Alice+Tag@Example.COM", "alice@example.com"),
        ("alice+a+b@example.com", "alice@example.com"),
        ("alice@example.com", "alice@example.com"),
        ("+x@example.com", "@example.com"),
        ('"a+b@c"@example.com', '"a@example.com'),
    ],
)
def test_mailbox_of(address: str, mailbox: str) -> None:
    assert headers.mailbox_of(address) == mailbox
