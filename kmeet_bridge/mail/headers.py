"""Read what the bridge needs from an incoming message's headers.

Pure helpers over `email.message.EmailMessage` (parsed with `email.policy.default`).
Incoming mail is hostile input: the standard library's header parser raises on
some malformed values (an `IndexError` on `From: a@`, for one), so every helper
here catches that and answers None (or an empty value) instead of raising.
"""

from __future__ import annotations

import email.policy
import re
import unicodedata
from email.header import decode_header, make_header
from email.message import Message

# A line break that folds a header onto the next line.
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
# A msg-id as RFC 5322 writes it: printable ASCII inside angle brackets.
_MSG_ID = re.compile(r"<[!-;=?-~]+>")
# Longer identifiers are not real message ids; echoing them back would only
# produce unfoldable header lines in the reply.
_MAX_MSG_ID = 900
# Characters that never belong to a usable address (quoting aside, which the
# bridge does not need to support).
_ADDRESS_FORBIDDEN = set('<>()[]\\,;:"')
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
_BULK_PRECEDENCE = ("bulk", "junk", "list")


def one_line(value: str) -> str:
    """`value` as a single, clean header line.

    Line breaks (including the Unicode ones) and control characters become
    spaces, runs of whitespace collapse, and lone surrogates left by undecodable
    8-bit bytes become U+FFFD so the text can always be encoded again.
    """
    chars = []
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc":  # the Unicode line breaks are whitespace to split() below
            chars.append(" ")
        elif category == "Cs":
            chars.append("\ufffd")
        else:
            chars.append(char)
    return " ".join("".join(chars).split())


def _raw_values(msg: Message, name: str) -> list[str]:
    """Every value of header `name` as it stands in the message, unparsed.

    Used for headers whose syntax is a bare token or a list of ids, so the
    structured parsers (and their exceptions) never get involved.
    """
    wanted = name.lower()
    try:
        return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]
    except Exception:
        return []


def _first_raw(msg: Message, name: str) -> str | None:
    values = _raw_values(msg, name)
    return values[0] if values else None


def _token(msg: Message, name: str) -> str | None:
    """The first value's leading token, lowercased: `Auto-Replied; x=y` -> `auto-replied`."""
    value = _first_raw(msg, name)
    if value is None:
        return None
    return one_line(value).split(";", 1)[0].strip().lower()


def _usable_address(username: str, domain: str) -> str | None:
    if not username or not domain:
        return None
    address = f"{username}@{domain.lower()}"
    if address.count("@") != 1 or _ADDRESS_FORBIDDEN.intersection(address):
        return None
    for char in address:
        # isspace() covers the line breaks; Cf holds invisible ones (U+200B, U+202E).
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            return None
    return address


def _from_addresses(msg: Message, name: str = "From") -> list[tuple[str, str]]:
    """(local part, domain) of each address of the first `name` header (From,
    Reply-To).

    The raw value is parsed by `email.policy.default`'s address parser, whatever
    policy the message was read with (a compat32 message holds plain strings)."""
    raw = _first_raw(msg, name)
    if raw is None:
        return []
    try:
        header = email.policy.default.header_factory(name, _UNFOLD.sub("", raw))
        return [(str(a.username), str(a.domain)) for a in header.addresses]
    except Exception:
        return []


def _first_from(msg: Message) -> tuple[str, str] | None:
    """(local part, domain) of the first From address, as parsed; None if none."""
    addresses = _from_addresses(msg)
    return addresses[0] if addresses and addresses[0][0] else None


def reply_to_address(msg: Message) -> str | None:
    """The Reply-To address (domain lowercased) when the header names exactly
    one usable address, else None."""
    if len(_raw_values(msg, "Reply-To")) != 1:
        return None
    addresses = _from_addresses(msg, "Reply-To")
    return _usable_address(*addresses[0]) if len(addresses) == 1 else None


def sender_address(msg: Message) -> str | None:
    """The From address with its domain lowercased, or None when there is no
    usable one. The local part keeps its case: only the domain is case-blind.

    A message with two From headers, or several addresses in one, has no
    sender: which of them wrote it cannot be told, and the receiving server's
    DMARC verdict may be about another one than the bridge would answer."""
    if len(_raw_values(msg, "From")) != 1:
        return None
    addresses = _from_addresses(msg)
    return _usable_address(*addresses[0]) if len(addresses) == 1 else None


def mailbox_of(address: str) -> str:
    """The mailbox `address` delivers to, as limits count it: lowercased, without
    a `+tag` (alice+1@example.com and Alice@example.com are one person)."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


def message_id(msg: Message) -> str | None:
    """The Message-ID with its angle brackets (`<id@host>`), or None.

    Comments and folding around the id are dropped. A value without brackets is
    kept when it is a single printable token, since some mailers write them so.
    """
    value = _first_raw(msg, "Message-ID")
    if value is None:
        return None
    value = one_line(value)
    found = _MSG_ID.search(value)
    if found:
        candidate = found.group(0)
    elif value and all("!" <= char <= "~" for char in value):
        candidate = value
    else:
        return None
    return candidate if len(candidate) <= _MAX_MSG_ID else None


def references(msg: Message) -> list[str]:
    """The ids listed in the References header, in order, without duplicates;
    anything that is not a well-formed `<id>` is skipped."""
    seen: list[str] = []
    for value in _raw_values(msg, "References"):
        for found in _MSG_ID.findall(value):
            if len(found) <= _MAX_MSG_ID and found not in seen:
                seen.append(found)
    return seen


def in_reply_to(msg: Message) -> list[str]:
    """The ids named by In-Reply-To (usually one), as `references` reads them."""
    seen: list[str] = []
    for value in _raw_values(msg, "In-Reply-To"):
        for found in _MSG_ID.findall(value):
            if len(found) <= _MAX_MSG_ID and found not in seen:
                seen.append(found)
    return seen


def subject(msg: Message) -> str:
    """The Subject, RFC 2047 decoded, on one line; "" when there is none."""
    try:
        header = msg.get("Subject")
        return "" if header is None else one_line(str(header))
    except Exception:
        pass
    # The structured parser gave up: decode the raw value the lenient way.
    raw = _first_raw(msg, "Subject")
    if raw is None:
        return ""
    try:
        return one_line(str(make_header(decode_header(raw))))
    except Exception:
        return one_line(raw)


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def is_auto_generated(msg: Message) -> bool:
    """`Auto-Submitted: auto-generated`: how calendar servers send real invitations,
    and how scripts send everything else."""
    return _token(msg, "Auto-Submitted") == "auto-generated"


def automatic_reason(msg: Message, own_address: str) -> str | None:
    """Why `msg` must never be answered or planned from, or None.

    Checked in order of how much harm answering would do: our own mail first
    (a reply loop), then automatic replies, bounces and list traffic.
    """
    sender = sender_address(msg)
    if sender is not None and sender.casefold() == own_address.strip().casefold():
        return "The message comes from the bridge's own address."

    auto_submitted = _token(msg, "Auto-Submitted")
    # Calendar servers (Google Calendar among them) send genuine invitations
    # marked "auto-generated"; whether such a message is a request is for the
    # caller to decide from its content, so it is not a reason by itself.
    # Auto-replies ("auto-replied") and anything else but "no" are.
    if auto_submitted and auto_submitted not in ("no", "auto-generated"):
        return f"The message was sent automatically (Auto-Submitted: {_short(auto_submitted)})."

    # MAILER-DAEMON often writes no domain at all, so look at the parsed local part.
    first = _first_from(msg)
    if first is not None and first[0].lower() in _BOUNCE_SENDERS:
        return "The message is a delivery report from a mail server."
    return_path = _first_raw(msg, "Return-Path")
    if return_path is not None and "".join(return_path.split()) == "<>":
        return "The message is a bounce (empty Return-Path)."
    try:
        content_type = msg.get_content_type()
    except Exception:
        content_type = ""
    if content_type == "multipart/report":
        return "The message is a delivery or read report."

    for name in ("X-Autoreply", "X-Autorespond"):
        if _first_raw(msg, name) is not None:
            return f"The message is an automatic reply ({name} header)."

    precedence = _token(msg, "Precedence")
    if precedence in _BULK_PRECEDENCE:
        return f"The message is bulk or list mail (Precedence: {precedence})."
    if _first_raw(msg, "List-Id") is not None:
        return "The message comes from a mailing list (List-Id header)."
    return None
