"""How complex a message's MIME structure may be, checked on its raw bytes
before any parser sees it.

The standard library's email parser recurses once per nested multipart or
message part, and walking a parsed tree recurses again: 2,000 nested
`multipart/mixed` parts reach Python's recursion limit. So the raw message is
scanned first, in one linear pass with no recursion, for two upper bounds:

- containers: Content-Type headers naming `multipart/...` or `message/...`.
  A part can only be nested inside a container, so this bounds the depth of
  every tree a parser can build from the message;
- parts: lines that start with "--", the only lines that can open a part.

Over either bound the message is refused unparsed. Real mail stays far below:
an Outlook invitation has two containers and five parts.
"""

from __future__ import annotations

import re

# Containers: deep enough for an invitation forwarded a few times over, far
# from the ~1,000 frames of Python's recursion limit.
MAX_CONTAINERS = 64
_CONTAINER = re.compile(
    rb"^content-type[ \t]*:[ \t]*(?:\r?\n[ \t]+)*\"?(?:multipart|message)/", re.IGNORECASE | re.M
)
_DELIMITER = re.compile(rb"^--", re.M)


def structure_problem(raw: bytes, max_parts: int) -> tuple[str, str, str] | None:
    """(reason, what, limit) when `raw` is too complex to parse, else None.
    `what` is "containers" or "parts", for the reply's wording."""
    containers = sum(1 for _ in _CONTAINER.finditer(raw))
    if containers > MAX_CONTAINERS:
        return (
            f"the message has {containers} multipart or message parts, more than the "
            f"{MAX_CONTAINERS} read here",
            "containers",
            str(MAX_CONTAINERS),
        )
    parts = sum(1 for _ in _DELIMITER.finditer(raw))
    if parts > max_parts:
        return (
            f"the message has about {parts} parts, more than the {max_parts} read here",
            "parts",
            str(max_parts),
        )
    return None
