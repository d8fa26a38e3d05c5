"""Authentication-Results: only a trusted server's verdict counts."""

from __future__ import annotations

import email
import email.policy

import pytest

from kmeet_bridge.authentication import sender_authenticated

TRUSTED = ["mx.example.com"]


def message(*results: str) -> email.message.Message:
    lines = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    raw = f"{lines}From: Alice <alice@example.com>\r\nSubject: kmeet\r\n\r\nhello\r\n"
    return email.message_from_string(raw, policy=email.policy.default)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (
            ["mx.example.com; dmarc=pass header.from=example.com"],
            (True, "DMARC passed (mx.example.com)"),
        ),
        (
            ["mx.example.com; dkim=pass header.d=example.com header.s=s1; dmarc=fail"],
            (True, "DKIM passed for example.com (mx.example.com)"),
        ),
        (
            ["mx.example.com; spf=pass smtp.mailfrom=bounce@example.com"],
            (True, "SPF passed for example.com (mx.example.com)"),
        ),
        (
            ["MX.Example.COM; spf=pass smtp.mailfrom=example.com"],
            (True, "SPF passed for example.com (mx.example.com)"),
        ),
        # A signature for another domain says nothing about the From address.
        (
            ["mx.example.com; dkim=pass header.d=elsewhere.example.net"],
            (False, "mx.example.com did not confirm DMARC, DKIM or SPF for example.com"),
        ),
        (
            ["mx.example.com; spf=pass smtp.mailfrom=x@notexample.com"],
            (False, "mx.example.com did not confirm DMARC, DKIM or SPF for example.com"),
        ),
        (
            ["mx.example.com; dmarc=fail; dkim=fail header.d=example.com; spf=softfail"],
            (False, "mx.example.com did not confirm DMARC, DKIM or SPF for example.com"),
        ),
        # Written by the sender: another authserv-id counts for nothing.
        (
            ["attacker.example.net; dmarc=pass header.from=example.com"],
            (False, "no Authentication-Results header from a trusted server"),
        ),
        # A forgery with the trusted id sits below the server's own header.
        (
            [
                "mx.example.com; dmarc=fail header.from=example.com",
                "mx.example.com; dmarc=pass header.from=example.com",
            ],
            (False, "mx.example.com did not confirm DMARC, DKIM or SPF for example.com"),
        ),
        (["garbage ;;; ==", "mx.example.com; dmarc=pass"], (True, "DMARC passed (mx.example.com)")),
        ([], (False, "no Authentication-Results header from a trusted server")),
    ],
)
def test_verdicts(results: list[str], expected: tuple[bool, str]) -> None:
    assert sender_authenticated(message(*results), "alice@example.com", TRUSTED) == expected


def test_subdomain_sender_is_covered_by_the_parent_signature() -> None:
    msg = message("mx.example.com; dkim=pass header.d=example.com")
    assert sender_authenticated(msg, "bob@mail.example.com", TRUSTED) == (
        True,
        "DKIM passed for mail.example.com (mx.example.com)",
    )


def test_nothing_trusted_configured() -> None:
    msg = message("mx.example.com; dmarc=pass")
    assert sender_authenticated(msg, "alice@example.com", []) == (
        False,
        "no trusted authserv-id is configured ([senders] trusted_authserv_ids)",
    )
