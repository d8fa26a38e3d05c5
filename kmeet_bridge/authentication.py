"""Was the sender really the sender? Reading Authentication-Results (RFC 8601).

The `From:` header is trivially forged. A receiving mail server checks SPF,
DKIM and DMARC and records the verdict in an `Authentication-Results` header
that starts with its own name (the authserv-id). Anybody can write such a
header into the mail they send, so only headers whose authserv-id is one of
`[senders] trusted_authserv_ids` count, and of those only the topmost one: a
receiving server prepends its header, so a forged one with the same id sits
below it (RFC 8601 section 5 also asks the server to remove such forgeries).

A sender counts as authenticated when that header says DMARC passed, or DKIM
passed for the From domain, or SPF passed for it. "For the From domain" means
the same domain or a parent of it (mail.example.com is covered by a signature
for example.com): the relaxed alignment DMARC itself uses, without a public
suffix list. `authres` (a maintained parser) reads the header's grammar,
comments and quoting, which a regular expression would get wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message

import authres

HEADER = "Authentication-Results"


def sender_authenticated(
    message: Message, sender: str, trusted_ids: Sequence[str]
) -> tuple[bool, str]:
    """(True, how) when a trusted server vouches for `sender`; (False, why not)."""
    domain = sender.rpartition("@")[2].lower()
    trusted = {name.strip().lower() for name in trusted_ids if name.strip()}
    if not trusted:
        return False, "no trusted authserv-id is configured ([senders] trusted_authserv_ids)"
    header = _topmost_trusted(message, trusted)
    if header is None:
        return False, "no Authentication-Results header from a trusted server"
    for result in header.results:
        method, verdict = str(result.method).lower(), str(result.result).lower()
        if verdict != "pass":
            continue
        if method == "dmarc":
            return True, f"DMARC passed ({header.authserv_id})"
        if method == "dkim" and _aligned(_property(result, "header", "d"), domain):
            return True, f"DKIM passed for {domain} ({header.authserv_id})"
        if method == "spf" and _aligned(_mailfrom_domain(result), domain):
            return True, f"SPF passed for {domain} ({header.authserv_id})"
    return False, f"{header.authserv_id} did not confirm DMARC, DKIM or SPF for {domain}"


def _topmost_trusted(
    message: Message, trusted: set[str]
) -> authres.AuthenticationResultsHeader | None:
    for raw in message.get_all(HEADER) or ():
        try:
            header = authres.AuthenticationResultsHeader.parse(f"{HEADER}: {raw}")
        except Exception:  # authres raises its own SyntaxError and others on garbage
            continue
        if str(header.authserv_id).lower() in trusted:
            return header
    return None


def _property(result: object, kind: str, name: str) -> str:
    for prop in getattr(result, "properties", ()):
        if str(prop.type).lower() == kind and str(prop.name).lower() == name:
            return str(prop.value or "")
    return ""


def _mailfrom_domain(result: object) -> str:
    value = _property(result, "smtp", "mailfrom") or _property(result, "smtp", "helo")
    return value.rpartition("@")[2]


def _aligned(signer: str, domain: str) -> bool:
    signer = signer.strip().strip(".").lower()
    return bool(signer) and (domain == signer or domain.endswith("." + signer))
