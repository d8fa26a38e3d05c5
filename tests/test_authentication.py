"""Authentication-Results: only a trusted server's verdict counts."""

from __future__ import annotations

import email
import email.policy

import pytest

from kmeet_bridge.mail.authentication import _readable, sender_authenticated

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
            (True, "DMARC passed for example.com (mx.example.com)"),
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
        (
            ["garbage ;;; ==", "mx.example.com; dmarc=pass header.from=example.com"],
            (True, "DMARC passed for example.com (mx.example.com)"),
        ),
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


# -- issue 13: the verdict must be about the From domain, from the topmost header --------

NOT_CONFIRMED = (False, "mx.example.com did not confirm DMARC, DKIM or SPF for example.com")


@pytest.mark.parametrize(
    "result",
    [
        # DMARC passed, but for the domain the attacker controls.
        "mx.example.com; dmarc=pass header.from=attacker.test",
        # ... or for a parent or child of the From domain: DMARC names the From domain itself.
        "mx.example.com; dmarc=pass header.from=mail.example.com",
        # A DMARC pass that does not say for which domain cannot be checked.
        "mx.example.com; dmarc=pass",
        # The HELO name is never aligned with From (DMARC ignores it).
        "mx.example.com; spf=pass smtp.helo=example.com",
        # A pass without the property that names the domain.
        "mx.example.com; dkim=pass header.s=s1",
        "mx.example.com; spf=pass",
        # Properties of another kind with the right name do not count.
        "mx.example.com; dkim=pass smtp.d=example.com",
        "mx.example.com; spf=pass header.mailfrom=example.com",
        "mx.example.com; dkim=pass header.b=example.com",
        # A pass for another method names no sender domain.
        "mx.example.com; arc=pass header.d=example.com; iprev=pass smtp.mailfrom=example.com",
        # Not a pass.
        "mx.example.com; dkim=neutral header.d=example.com; spf=none smtp.mailfrom=example.com",
        "mx.example.com; dmarc=fail header.from=example.com",
        # Not a host name: garbage in a domain property never aligns.
        "mx.example.com; dkim=pass header.d=example..com",
        "mx.example.com; dkim=pass header.d=.",
        "mx.example.com; dkim=pass header.d=exa_mple.com",
    ],
)
def test_passes_that_say_nothing_about_the_from_domain(result: str) -> None:
    assert sender_authenticated(message(result), "alice@example.com", TRUSTED) == NOT_CONFIRMED


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("mx.example.com; dmarc=pass header.from=EXAMPLE.com.", "DMARC passed for example.com"),
        (
            "mx.example.com; dmarc=pass (p=none) policy.dmarc=none header.from=example.com",
            "DMARC passed for example.com",
        ),
        # Gmail names the signing identity, not the domain.
        (
            "mx.example.com; dkim=pass header.i=@example.com header.s=x",
            "DKIM passed for example.com",
        ),
        # With both, d= (the signing domain) is what counts.
        ("mx.example.com; dkim=pass header.d=attacker.test header.i=@example.com", None),
        ("mx.example.com; spf=pass smtp.mailfrom=example.com", "SPF passed for example.com"),
        # A fail before a pass does not hide the pass.
        (
            "mx.example.com; dkim=fail header.d=example.com; dkim=pass header.d=example.com",
            "DKIM passed for example.com",
        ),
    ],
)
def test_passes_aligned_with_the_from_domain(result: str, expected: str | None) -> None:
    verdict = sender_authenticated(message(result), "alice@example.com", TRUSTED)
    if expected is None:
        assert verdict == NOT_CONFIRMED
    else:
        assert verdict == (True, f"{expected} (mx.example.com)")


def test_dmarc_for_the_subdomain_sender_names_the_subdomain() -> None:
    msg = message("mx.example.com; dmarc=pass header.from=mail.example.com")
    assert sender_authenticated(msg, "bob@mail.example.com", TRUSTED) == (
        True,
        "DMARC passed for mail.example.com (mx.example.com)",
    )
    msg = message("mx.example.com; dmarc=pass header.from=example.com")
    assert sender_authenticated(msg, "bob@mail.example.com", TRUSTED)[0] is False


UNREADABLE = (
    False,
    "the Authentication-Results header of mx.example.com could not be read",
)


@pytest.mark.parametrize(
    "top",
    [
        "mx.example.com; dmarc=fail header.from=example.com",
        "mx.example.com; spf=pass smtp.helo=[203.0.113.5]; dmarc=fail header.from=example.com",
        "mx.example.com; spf=fail smtp.mailfrom=jörg@example.com; dmarc=fail header.from=x.test",
        "mx.example.com; dmarc=fail (unbalanced header.from=example.com",
        "mx.example.com (comment; dmarc=pass header.from=example.com",
    ],
)
def test_a_forged_pass_below_the_trusted_header_never_counts(top: str) -> None:
    forged = "mx.example.com; dmarc=pass header.from=example.com"
    verdict = sender_authenticated(message(top, forged), "alice@example.com", TRUSTED)
    assert verdict[0] is False


@pytest.mark.parametrize(
    "top",
    [
        "mx.example.com; dmarc=pass header.from=example.com; ===",
        "mx.example.com; dmarc=pass header.from=example.com; dkim",
        "mx.example.com; dmarc=pass header.from=example.com, x",
        "mx.example.com",
    ],
)
def test_an_unreadable_trusted_header_means_not_authenticated(top: str) -> None:
    forged = "mx.example.com; dmarc=pass header.from=example.com"
    assert sender_authenticated(message(top, forged), "alice@example.com", TRUSTED) == UNREADABLE


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        # An IP-literal HELO (a host without a name), read as the literal it is.
        (
            "mx.example.com; spf=none smtp.helo=[203.0.113.5]; dkim=pass header.d=example.com",
            "DKIM passed for example.com",
        ),
        # A non-ASCII (SMTPUTF8) envelope sender.
        (
            "mx.example.com; spf=pass smtp.mailfrom=jörg@example.com",
            "SPF passed for example.com",
        ),
        # A comment that is never closed runs to the end of the header.
        (
            "mx.example.com; dkim=pass header.d=example.com; spf=fail (no closing parenthesis",
            "DKIM passed for example.com",
        ),
        # Folded over several lines, with comments and quoted values.
        (
            "mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected)\r\n"
            ' header.d=example.com header.s="s1"',
            "DKIM passed for example.com",
        ),
        ('mx.example.com; spf=pass smtp.mailfrom="a(b"@example.com', "SPF passed for example.com"),
    ],
)
def test_real_world_forms_of_the_trusted_header_are_read(top: str, expected: str) -> None:
    verdict = sender_authenticated(message(top), "alice@example.com", TRUSTED)
    assert verdict == (True, f"{expected} (mx.example.com)")


def test_a_pass_hidden_in_an_unclosed_comment_does_not_count() -> None:
    msg = message("mx.example.com; dkim=fail (see dkim=pass header.d=example.com")
    assert sender_authenticated(msg, "alice@example.com", TRUSTED) == NOT_CONFIRMED


def test_the_first_trusted_header_decides_even_among_several_trusted_ids() -> None:
    msg = message(
        "filter.example.com; dmarc=fail header.from=example.com",
        "mx.example.com; dmarc=pass header.from=example.com",
    )
    trusted = ["mx.example.com", "filter.example.com"]
    assert sender_authenticated(msg, "alice@example.com", trusted) == (
        False,
        "filter.example.com did not confirm DMARC, DKIM or SPF for example.com",
    )


def test_untrusted_headers_above_are_skipped_even_when_unreadable() -> None:
    msg = message(
        "relay.example.net (unclosed; dmarc=fail",
        "   ",
        "(comment only",
        "mx.example.com; dmarc=pass header.from=example.com",
    )
    assert sender_authenticated(msg, "alice@example.com", TRUSTED) == (
        True,
        "DMARC passed for example.com (mx.example.com)",
    )


def test_blank_trusted_ids_are_ignored_and_ids_compare_case_blind() -> None:
    msg = message("MX.example.com; dmarc=pass header.from=example.com")
    assert sender_authenticated(msg, "alice@example.com", [" ", " Mx.Example.Com "]) == (
        True,
        "DMARC passed for example.com (mx.example.com)",
    )
    assert sender_authenticated(msg, "alice@example.com", ["  "]) == (
        False,
        "no trusted authserv-id is configured ([senders] trusted_authserv_ids)",
    )


def test_a_header_that_mentions_a_trusted_id_later_is_not_trusted() -> None:
    msg = message("relay.example.net mx.example.com; dmarc=pass header.from=example.com")
    assert sender_authenticated(msg, "alice@example.com", TRUSTED) == (
        False,
        "no Authentication-Results header from a trusted server",
    )


def test_the_domain_is_after_the_last_at_sign() -> None:
    msg = message("mx.example.com; dmarc=pass header.from=example.com")
    assert sender_authenticated(msg, '"a@b.example.net"@example.com', TRUSTED) == (
        True,
        "DMARC passed for example.com (mx.example.com)",
    )


def test_a_domain_that_is_no_host_name_never_aligns() -> None:
    # "~" stands for what was not ASCII: it matches no From domain, even one with "~".
    msg = message("mx.example.com; spf=pass smtp.mailfrom=a@bücher.example")
    assert sender_authenticated(msg, "a@b~cher.example", TRUSTED)[0] is False
    msg = message("mx.example.com; dkim=pass header.d=exa_mple.com")
    assert sender_authenticated(msg, "a@exa_mple.com", TRUSTED)[0] is False
    msg = message("mx.example.com; dmarc=pass header.from=exa_mple.com")
    assert sender_authenticated(msg, "a@exa_mple.com", TRUSTED)[0] is False


def test_the_authserv_id_ends_at_the_first_semicolon() -> None:
    msg = message("mx.example.com; dmarc=pass header.from=example.com; spf=none")
    assert sender_authenticated(msg, "a@example.com", TRUSTED)[0] is True


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("mx; spf=pass smtp.helo=[203.0.113.5]", 'mx; spf=pass smtp.helo="[203.0.113.5]"'),
        (
            "mx; spf=pass smtp.helo= [IPv6:2001:db8::1]",
            'mx; spf=pass smtp.helo= "[IPv6:2001:db8::1]"',
        ),
        (
            "mx; spf=pass smtp.mailfrom=jörg@bücher.example",
            "mx; spf=pass smtp.mailfrom=j~rg@b~cher.example",
        ),
        ("mx;\r\n\tdkim=pass (a (nested) comment) header.d=x", "mx; dkim=pass header.d=x"),
        ("mx; dkim=pass (escaped \\) paren) header.d=x", "mx; dkim=pass header.d=x"),
        ("mx; dkim=pass (escaped \\( paren) header.d=x", "mx; dkim=pass header.d=x"),
        ('mx; spf=pass smtp.mailfrom="a\\"(b"@x', 'mx; spf=pass smtp.mailfrom="a\\"(b"@x'),
        ('mx; spf=pass smtp.mailfrom="a\\\\"(comment)@x', 'mx; spf=pass smtp.mailfrom="a\\\\"@x'),
        # A backslash outside quotes and comments escapes nothing.
        ("mx; a\\(b (c\\\\) d", "mx; a\\"),
        ("mx; a\\b (c) d", "mx; a\\b d"),
        ("mx; dkim=fail (never closed dkim=pass header.d=x", "mx; dkim=fail"),
        ("(a comment first) mx; dkim=pass", "mx; dkim=pass"),
    ],
)
def test_the_header_is_brought_into_a_readable_form(raw: str, readable: str) -> None:
    assert _readable(raw) == readable
