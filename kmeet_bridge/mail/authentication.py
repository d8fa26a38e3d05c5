"""Was the sender really the sender? Reading Authentication-Results (RFC 8601).

The `From:` header is trivially forged. A receiving mail server checks SPF,
DKIM and DMARC and records the verdict in an `Authentication-Results` header
that starts with its own name (the authserv-id). Anybody can write such a
header into the mail they send, so only headers whose authserv-id is one of
`[senders] trusted_authserv_ids` count, and of those only the topmost one: a
receiving server prepends its header, so a forged one with the same id sits
below it (RFC 8601 section 5 also asks the server to remove such forgeries).
When that topmost trusted header cannot be read, the sender is not
authenticated: the headers below it prove nothing.

What counts, always for the domain of the one From address (headers.py
refuses a message with two From headers or several addresses in one):

- `dmarc=pass` with `header.from` naming exactly that domain;
- `dkim=pass` with a signing domain (`header.d`, else the domain of
  `header.i`) that is that domain or a parent of it;
- `spf=pass` with `smtp.mailfrom` (the envelope sender) in that domain or a
  parent of it. The HELO name never counts: DMARC does not align on it, and
  it names a machine, not whoever wrote the From line.

"A parent of it" is DMARC's relaxed alignment without a public suffix list
(mail.example.com is covered by a signature for example.com); a sibling
(other.example.com) is not. A domain property that is not a host name
(letters, digits, hyphens between dots) never aligns.

`authres` (a maintained parser) reads the header's grammar. It rejects some
forms real servers write, so the header is first brought into a form it
reads (`_readable`): comments are removed (an unclosed one runs to the end of
the header, as the grammar has it, so nothing inside it is ever read as a
result), IP-literal values (`smtp.helo=[203.0.113.5]`) are quoted, and
non-ASCII characters (SMTPUTF8 envelope senders) become `~`, which no host
name contains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import Message

import authres

HEADER = "Authentication-Results"

_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_IP_LITERAL = re.compile(r"=(\s*)(\[[^\]\s\"]*\])")


def sender_authenticated(
    message: Message, sender: str, trusted_ids: Sequence[str]
) -> tuple[bool, str]:
    """(True, how) when a trusted server vouches for `sender`; (False, why not)."""
    domain = sender.rpartition("@")[2].lower()
    trusted = {name.strip().lower() for name in trusted_ids if name.strip()}
    if not trusted:
        return False, "no trusted authserv-id is configured ([senders] trusted_authserv_ids)"
    topmost = _topmost_trusted(message, trusted)
    if topmost is None:
        return False, "no Authentication-Results header from a trusted server"
    server, header = topmost
    if header is None:
        return False, f"the Authentication-Results header of {server} could not be read"
    for result in header.results:
        if str(result.result).lower() != "pass":
            continue
        method = str(result.method).lower()
        if method == "dmarc" and _aligned(_property(result, "header", "from"), domain, exact=True):
            return True, f"DMARC passed for {domain} ({server})"
        if method == "dkim" and _aligned(_signing_domain(result), domain):
            return True, f"DKIM passed for {domain} ({server})"
        if method == "spf" and _aligned(_domain_of(_property(result, "smtp", "mailfrom")), domain):
            return True, f"SPF passed for {domain} ({server})"
    return False, f"{server} did not confirm DMARC, DKIM or SPF for {domain}"


def _topmost_trusted(
    message: Message, trusted: set[str]
) -> tuple[str, authres.AuthenticationResultsHeader | None] | None:
    """The authserv-id and parsed header (None: unreadable) of the first header
    whose authserv-id is trusted; None when there is no such header."""
    for raw in _raw_headers(message):
        text = _readable(raw)
        server = text.partition(";")[0].strip().lower()
        if server not in trusted:
            continue  # another server's, or the sender's own: read no further into it
        try:
            return server, authres.AuthenticationResultsHeader.parse(f"{HEADER}: {text}")
        except Exception:  # authres raises its own SyntaxError and others on garbage
            return server, None
    return None


def _raw_headers(message: Message) -> list[str]:
    """Every Authentication-Results value, unparsed, top first."""
    wanted = HEADER.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


def _readable(raw: str) -> str:
    """`raw` unfolded, without comments, IP literals quoted, non-ASCII as `~`."""
    text = _without_comments(" ".join(raw.split()))
    text = _IP_LITERAL.sub(r'=\1"\2"', text)
    return "".join(char if char.isascii() else "~" for char in text)


def _without_comments(text: str) -> str:
    """`text` with its (nested) comments removed; quoted strings are kept as they
    are. A comment never closed runs to the end."""
    kept: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
            if not depth:
                kept.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                kept.append(char)
            continue
        if quoted:
            quoted = char != '"'
            kept.append(char)
        elif char == "(":
            depth += 1
        elif depth:
            if char == ")":
                depth -= 1
        else:
            quoted = char == '"'
            kept.append(char)
    return " ".join("".join(kept).split())


def _property(result: authres.AuthenticationResult, kind: str, name: str) -> str:
    for prop in result.properties:
        if str(prop.type).lower() == kind and str(prop.name).lower() == name:
            return str(prop.value)
    return ""


def _signing_domain(result: authres.AuthenticationResult) -> str:
    return _property(result, "header", "d") or _domain_of(_property(result, "header", "i"))


def _domain_of(value: str) -> str:
    """The domain of `user@domain` (or of a bare domain)."""
    return value.rpartition("@")[2]


def _aligned(named: str, domain: str, *, exact: bool = False) -> bool:
    """`named` is a host name, and `domain` itself or (unless `exact`) a
    subdomain of it; case and a trailing dot aside."""
    name = named.strip().lower().removesuffix(".")
    if _HOST_NAME.fullmatch(name) is None:
        return False
    return domain == name or (not exact and domain.endswith("." + name))
