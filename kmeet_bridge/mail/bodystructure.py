"""Reading a large message in pieces: its IMAP BODYSTRUCTURE, which parts to
fetch, and a small message rebuilt from those parts.

A message with large attachments next to a small invitation must not be held
in memory whole (imaplib reads every response into memory), so `Mailbox.fetch`
asks for the structure first (RFC 3501, 7.4.2), then for the few sections the
bridge reads, and `rebuild` puts them back together into a valid message:

- every calendar part (the content types and .ics names `invites.py` looks
  for), at any depth, inside forwarded messages too;
- the text body `requests.body_text` would read (the first text/plain that is
  not an attachment, by the rules of `EmailMessage.get_body`; text/html only
  when there is none), at most MAX_TEXT octets of it;
- every forwarded message/rfc822, as its headers at least, so the nesting limit
  counts the same forwarded messages as in the original;
- message/* parts the server did not open (message/global...), up to
  MAX_OPAQUE octets: the email package opens them, and so finds what is inside.

Each fetched part keeps its own MIME header and still-encoded body, so charsets
and transfer encodings reach the bridge untouched; multipart containers are
written anew with the same subtype and parameters (and a fresh boundary).

Everything here is pure: it parses bytes and writes bytes. Odd input raises
`BodyStructureError`, never anything else.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.header import decode_header, make_header

from kmeet_bridge.invitations.invites import CALENDAR_TYPES

# A text body is read for its opening lines (a plain request, the language):
# its start is enough, and a huge one is not worth holding.
MAX_TEXT = 262_144
# Unopened message/* parts are fetched whole, so only when small.
MAX_OPAQUE = 1_048_576
MAX_DEPTH = 64  # parentheses nested deeper than this are not a real structure
_LITERAL = re.compile(rb"\{(\d{1,10})\+?\}\r?\n")
_BODY_KEY = re.compile(r"^BODY\[([^\]]*)\](?:<\d+>)?$", re.IGNORECASE)
# Header fields that describe the body; a rebuilt multipart body brings its own.
_BODY_FIELDS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
_CRLF = b"\r\n"


class BodyStructureError(ValueError):
    """A response that cannot be read as RFC 3501 says it should be written."""


class Atom(str):
    """An unquoted word of a response (NIL aside): a number, a flag, a key."""

    __slots__ = ()


# What a response is made of: strings (quoted or literal) as bytes, atoms,
# NIL as None, parenthesized lists.
Value = bytes | Atom | None | list["Value"]


# --- the response grammar --------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def skip_spaces(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in b" \t":
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_spaces()
        return self.pos >= len(self.data)

    def value(self, depth: int = 0) -> Value:
        self.skip_spaces()
        if self.pos >= len(self.data):
            raise BodyStructureError("the response ends where a value should be")
        char = self.data[self.pos : self.pos + 1]
        if char == b"(":
            return self._list(depth + 1)
        if char == b'"':
            return self._quoted()
        if char == b"{":
            return self._literal()
        if char in (b")", b"\r", b"\n"):
            raise BodyStructureError(f"unexpected {char!r} at offset {self.pos}")
        word = self._atom()
        return None if word.upper() == "NIL" else word

    def _list(self, depth: int) -> list[Value]:
        if depth > MAX_DEPTH:
            raise BodyStructureError(f"lists nested more than {MAX_DEPTH} deep")
        self.pos += 1  # "("
        items: list[Value] = []
        while True:
            self.skip_spaces()
            if self.pos >= len(self.data):
                raise BodyStructureError("a list is never closed")
            if self.data[self.pos : self.pos + 1] == b")":
                self.pos += 1
                return items
            items.append(self.value(depth))

    def _quoted(self) -> bytes:
        out = bytearray()
        pos = self.pos + 1
        data = self.data
        while pos < len(data):
            char = data[pos]
            if char == 0x5C and pos + 1 < len(data):  # backslash: the next octet as is
                out.append(data[pos + 1])
                pos += 2
            elif char == 0x22:
                self.pos = pos + 1
                return bytes(out)
            elif char in b"\r\n":
                break
            else:
                out.append(char)
                pos += 1
        raise BodyStructureError("a quoted string is never closed")

    def _literal(self) -> bytes:
        match = _LITERAL.match(self.data, self.pos)
        if match is None:
            raise BodyStructureError(f"a malformed literal at offset {self.pos}")
        size = int(match.group(1))
        start = match.end()
        if start + size > len(self.data):
            raise BodyStructureError("a literal is longer than the response")
        self.pos = start + size
        return self.data[start : self.pos]

    def _atom(self) -> Atom:
        start = pos = self.pos
        data = self.data
        while pos < len(data) and data[pos : pos + 1] not in (b" ", b"(", b")", b'"', b"{"):
            if data[pos] in b"\r\n\t":
                break
            if data[pos : pos + 1] == b"[":  # a section: "BODY[HEADER.FIELDS (A B)]"
                end = data.find(b"]", pos)
                if end < 0:
                    raise BodyStructureError("a section is never closed")
                pos = end
            pos += 1
        if pos == start:
            raise BodyStructureError(f"unexpected {data[pos : pos + 1]!r} at offset {pos}")
        self.pos = pos
        return Atom(data[start:pos].decode("latin-1"))


def parse_value(data: bytes) -> Value:
    """One value (usually a list) that makes up all of `data`."""
    reader = _Reader(data)
    value = reader.value()
    if not reader.at_end():
        raise BodyStructureError(f"unexpected data after the value at offset {reader.pos}")
    return value


def fetch_items(response: bytes) -> dict[str, Value]:
    """The data items of one untagged FETCH response, as imaplib hands it over
    without its "* " and "FETCH" ("12 (UID 7 FLAGS (\\Seen) ...)"), literals
    in place after their "{n}" line. Keys are upper case ("UID", "BODY[2.MIME]")."""
    reader = _Reader(response)
    number = reader.value()
    if not isinstance(number, Atom) or not number.isdigit():
        raise BodyStructureError("a FETCH response without its message number")
    items = reader.value()
    if not isinstance(items, list) or len(items) % 2 or not reader.at_end():
        raise BodyStructureError("a FETCH response that is not a list of name-value pairs")
    found: dict[str, Value] = {}
    for name, value in zip(items[::2], items[1::2], strict=True):
        if not isinstance(name, Atom):
            raise BodyStructureError(f"a FETCH data item named {name!r}")
        found[name.upper()] = value
    return found


def body_sections(items: Mapping[str, Value]) -> dict[str, bytes]:
    """The BODY[...] items of a FETCH response, by section ("HEADER", "2.MIME",
    "2"; a partial "BODY[2]<0>" is "2"). NIL is the empty string."""
    sections: dict[str, bytes] = {}
    for name, value in items.items():
        match = _BODY_KEY.match(name)
        if match is None:
            continue
        if value is not None and not isinstance(value, bytes):
            raise BodyStructureError(f"{name} is not a string")
        sections[match.group(1).upper()] = value or b""
    return sections


# --- the body structure ----------------------------------------------------------


@dataclass(frozen=True)
class BodyPart:
    """One body part as BODYSTRUCTURE describes it.

    `number` is its IMAP part number ("2.1.3"; "" for a message's multipart
    body, whose parts are numbered from 1). `sole` marks the whole body of a
    message (the top one or a forwarded one): its MIME header is that
    message's header. A forwarded message/rfc822 has `message`, the body of
    the message inside, whose header is section "<number>.HEADER".
    """

    number: str
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()
    id: str | None = None
    encoding: str = ""
    size: int = 0
    disposition: str | None = None
    disposition_params: tuple[tuple[str, str], ...] = ()
    parts: tuple[BodyPart, ...] = ()
    message: BodyPart | None = None
    sole: bool = False

    @property
    def content_type(self) -> str:
        return f"{self.type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        return self.type == "multipart"

    @property
    def is_attachment(self) -> bool:
        return (self.disposition or "").lower() == "attachment"

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def walk(self) -> Iterator[BodyPart]:
        yield self
        for part in self.parts:
            yield from part.walk()
        if self.message is not None:
            yield from self.message.walk()

    def file_names(self) -> list[str]:
        """Every reading of its file name (disposition filename, type name):
        RFC 2231 and encoded words decoded, and as written."""
        names: list[str] = []
        for params in (self.disposition_params, self.params):
            for base in ("filename", "name"):
                names += _param_readings(params, base)
        return names


def parse_bodystructure(value: Value) -> BodyPart:
    """The parsed BODYSTRUCTURE of a message (the value after the word)."""
    try:
        return _body(value, "", sole=True, depth=0)
    except BodyStructureError:
        raise
    except (ValueError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise BodyStructureError(f"an unreadable BODYSTRUCTURE ({exc})") from exc


def _join(prefix: str, index: int) -> str:
    return f"{prefix}.{index}" if prefix else str(index)


def _body(value: Value, prefix: str, *, sole: bool, depth: int) -> BodyPart:
    """The part `value` describes. `prefix` is the number of the part it is in
    (for a message's body: the message's number, "" for the top one)."""
    if depth > MAX_DEPTH:
        raise BodyStructureError(f"parts nested more than {MAX_DEPTH} deep")
    if not isinstance(value, list) or not value:
        raise BodyStructureError(f"a body that is not a list: {value!r:.60}")
    if isinstance(value[0], list):
        return _multipart(value, prefix, depth=depth)
    # A message's single-part body is its part 1 (RFC 3501, 6.4.5).
    number = _join(prefix, 1) if sole else prefix
    if len(value) < 7:
        raise BodyStructureError(f"part {number}: {len(value)} fields, 7 at least")
    kind, subtype = _word(value[0]), _word(value[1])
    size = value[6]
    if not isinstance(size, Atom | bytes) or not _text(size).isdigit():
        raise BodyStructureError(f"part {number}: a size that is not a number: {size!r:.40}")
    inner: BodyPart | None = None
    if kind == "text":
        extension = 8  # after the line count
    elif (
        kind == "message"
        and len(value) >= 10
        and isinstance(value[7], list | type(None))
        and isinstance(value[8], list)
    ):
        # An opened message (message/rfc822): envelope, body, line count.
        inner = _body(value[8], number, sole=True, depth=depth + 1)
        extension = 10
    else:
        extension = 7
    disposition, disposition_params = _disposition(value[extension + 1 : extension + 2])
    return BodyPart(
        number=number,
        type=kind,
        subtype=subtype,
        params=_params(value[2]),
        id=_optional_text(value[3]),
        encoding=(_optional_text(value[5]) or "").lower(),
        size=int(_text(size)),
        disposition=disposition,
        disposition_params=disposition_params,
        message=inner,
        sole=sole,
    )


def _multipart(value: list[Value], number: str, *, depth: int) -> BodyPart:
    children = []
    index = 0
    while index < len(value) and isinstance(value[index], list):
        children.append(value[index])
        index += 1
    subtype = _word(value[index]) if index < len(value) else "mixed"
    parts = tuple(
        _body(child, _join(number, position), sole=False, depth=depth + 1)
        for position, child in enumerate(children, start=1)
    )
    rest = value[index + 1 :]
    disposition, disposition_params = _disposition(rest[1:2])
    return BodyPart(
        number=number,
        type="multipart",
        subtype=subtype,
        params=_params(rest[0]) if rest else (),
        disposition=disposition,
        disposition_params=disposition_params,
        parts=parts,
        sole=False,
    )


def _text(value: Value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise BodyStructureError(f"a list or NIL where a string should be: {value!r:.40}")


def _optional_text(value: Value) -> str | None:
    return None if value is None or isinstance(value, list) else _text(value)


def _word(value: Value) -> str:
    """A media type or subtype, lower case (the email package compares them so)."""
    return _text(value).strip().lower()


def _params(value: Value) -> tuple[tuple[str, str], ...]:
    """A parameter list ("charset" "utf-8" ...); NIL or anything odd: none."""
    if not isinstance(value, list):
        return ()
    pairs = []
    for name, item in zip(value[::2], value[1::2], strict=False):
        if isinstance(name, bytes | Atom) and isinstance(item, bytes | Atom):
            pairs.append((_text(name).strip().lower(), _text(item)))
    return tuple(pairs)


def _disposition(values: list[Value]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """("attachment" ("filename" "a.ics")) -> its type and parameters."""
    if not values or not isinstance(values[0], list) or not values[0]:
        return None, ()
    found = values[0]
    if not isinstance(found[0], bytes | Atom):
        return None, ()
    return _text(found[0]).strip().lower(), _params(found[1] if len(found) > 1 else None)


def _param_readings(params: tuple[tuple[str, str], ...], base: str) -> list[str]:
    """The value of parameter `base`, however written: plain, "name*" (RFC 2231,
    charset'language'%XX), "name*0*", "name*1"... continuations; each reading
    also with its encoded words decoded (common, if not allowed, in names)."""
    values = dict(params)
    readings: list[str] = []
    if base in values:
        readings.append(values[base])
    if f"{base}*" in values:
        readings.append(_rfc2231(values[f"{base}*"]))
    pieces: list[str] = []
    charset = "utf-8"
    for index in range(len(values)):
        if f"{base}*{index}*" in values:
            piece = values[f"{base}*{index}*"]
            if index == 0:
                charset, piece = _split_charset(piece)
            pieces.append(_unquote(piece, charset))
        elif f"{base}*{index}" in values:
            pieces.append(values[f"{base}*{index}"])
        else:
            break
    if pieces:
        readings.append("".join(pieces))
    decoded = []
    for reading in readings:
        with contextlib.suppress(ValueError, LookupError, UnicodeError):
            decoded.append(str(make_header(decode_header(reading))))
    return readings + decoded


def _split_charset(value: str) -> tuple[str, str]:
    """charset'language'text -> (charset, text); no quotes: UTF-8 assumed."""
    parts = value.split("'", 2)
    if len(parts) < 3:
        return "utf-8", value
    return parts[0] or "utf-8", parts[2]


def _unquote(text: str, charset: str) -> str:
    try:
        return urllib.parse.unquote(text, encoding=charset, errors="replace")
    except LookupError:  # an unknown charset: the name's ASCII is what matters
        return urllib.parse.unquote(text, errors="replace")


def _rfc2231(value: str) -> str:
    charset, text = _split_charset(value)
    return _unquote(text, charset)


# --- what to fetch ---------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The parts worth fetching: `leaves` by number, with the most octets to
    read of each (None: all of it), and the forwarded messages kept for their
    headers."""

    leaves: dict[str, int | None] = field(default_factory=dict)
    messages: frozenset[str] = frozenset()
    sole: frozenset[str] = frozenset()  # their MIME header is a message's header

    def sections(self) -> list[str]:
        """The sections a rebuild needs, in the order they are asked for."""
        wanted = ["HEADER"]
        for number in sorted(self.messages | set(self.leaves), key=_number_key):
            if number not in self.sole:  # a sole part's MIME header is HEADER
                wanted.append(f"{number}.MIME")
            wanted.append(f"{number}.HEADER" if number in self.messages else number)
        return list(dict.fromkeys(wanted))

    def fetch_items(self) -> str:
        """The FETCH data items for those sections, without setting \\Seen."""
        items = []
        for section in self.sections():
            limit = self.leaves.get(section)
            partial = f"<0.{limit}>" if limit is not None else ""
            items.append(f"BODY.PEEK[{section}]{partial}")
        return " ".join(items)


def _number_key(number: str) -> tuple[int, ...]:
    return tuple(int(piece) for piece in number.split(".") if piece.isdigit())


def is_calendar(part: BodyPart) -> bool:
    """Whether `invites.py` would read the part as a calendar."""
    if part.is_multipart or part.message is not None or part.type == "message":
        return False
    if part.content_type in CALENDAR_TYPES:
        return True
    return any(name.strip().strip('"').lower().endswith(".ics") for name in part.file_names())


def text_body(top: BodyPart) -> BodyPart | None:
    """The part `requests.body_text` reads: `get_body` for plain, then html;
    a single-part text message is its own body."""
    for preference in ("plain", "html"):
        found = next(_find_body(top, preference), None)
        if found is not None:
            return found
    if not top.is_multipart and top.content_type in ("text/plain", "text/html"):
        return top
    return None


def _find_body(part: BodyPart, subtype: str) -> Iterator[BodyPart]:
    """EmailMessage._find_body for one preference: attachments are skipped,
    messages are not looked into, multipart/related yields its start part only."""
    if part.is_attachment:
        return
    if part.type == "text":
        if part.subtype == subtype:
            yield part
        return
    if not part.is_multipart:
        return
    if part.subtype != "related":
        for child in part.parts:
            yield from _find_body(child, subtype)
        return
    start = part.param("start")
    candidate = next((child for child in part.parts if start and child.id == start), None)
    if candidate is not None or not part.parts:
        yield from _find_body(candidate, subtype) if candidate is not None else ()
    elif start and any(child.is_multipart for child in part.parts):
        # BODYSTRUCTURE gives no Content-ID for a multipart: the start part may
        # be one of them, so every part is looked at (the first match is kept).
        for child in part.parts:
            yield from _find_body(child, subtype)
    else:
        yield from _find_body(part.parts[0], subtype)


def select(top: BodyPart) -> Selection:
    """The parts of the message `top` describes that the bridge reads."""
    leaves: dict[str, int | None] = {}
    messages: set[str] = set()
    sole: set[str] = set()
    body = text_body(top)
    if body is not None:
        leaves[body.number] = MAX_TEXT if body.size > MAX_TEXT else None
    for part in top.walk():
        if part.message is not None:
            messages.add(part.number)
        elif is_calendar(part):
            leaves[part.number] = None  # whole: [limits] max_calendar_size judges it
        elif part.type == "message" and part.size <= MAX_OPAQUE:
            leaves[part.number] = None
    for part in top.walk():
        if part.sole and (part.number in leaves or part.number in messages):
            sole.add(part.number)
    return Selection(leaves, frozenset(messages), frozenset(sole))


# --- the rebuilt message -----------------------------------------------------------


def rebuild(top: BodyPart, selection: Selection, sections: Mapping[str, bytes]) -> bytes:
    """A message with the original header and only the selected parts.

    Raises BodyStructureError when a section the selection needs is missing."""
    writer = _Writer(selection, sections)
    return writer.message(writer.section("HEADER"), top)


class _Writer:
    def __init__(self, selection: Selection, sections: Mapping[str, bytes]) -> None:
        self.selection = selection
        self.sections = sections
        self.kept_cache: dict[int, bool] = {}

    def section(self, name: str) -> bytes:
        found = self.sections.get(name)
        if found is None:
            raise BodyStructureError(f"the server did not send section {name}")
        return found

    def kept(self, part: BodyPart) -> bool:
        """Whether anything of `part` goes into the rebuilt message."""
        key = id(part)
        if key not in self.kept_cache:
            if part.message is not None:
                result = part.number in self.selection.messages
            elif part.is_multipart:
                result = any(self.kept(child) for child in part.parts)
            else:
                result = part.number in self.selection.leaves
            self.kept_cache[key] = result
        return self.kept_cache[key]

    def message(self, header: bytes, body: BodyPart) -> bytes:
        """A message (the top one or a forwarded one): its header, its body."""
        if body.is_multipart:
            boundary = _boundary()
            content_type = _multipart_type(body, boundary)
            head = _without_body_fields(header) + b"MIME-Version: 1.0\r\n" + content_type
            return head + _CRLF + self.multipart(body, boundary)
        header = _header_block(header)
        if body.message is not None and self.kept(body):
            inner = self.message(self.section(f"{body.number}.HEADER"), body.message)
            return header + inner
        if body.number in self.selection.leaves:
            return header + self.leaf_body(body)
        return header

    def multipart(self, part: BodyPart, boundary: str) -> bytes:
        children = [child for child in part.parts if self.kept(child)]
        out = bytearray()
        if not children:
            # A multipart needs a part; an empty one says nothing to anyone.
            out += f"--{boundary}\r\n".encode()
            out += b"Content-Type: text/plain; charset=us-ascii\r\n\r\n\r\n"
        for child in children:
            out += f"--{boundary}\r\n".encode()
            out += self.entity(child)
            out += _CRLF
        out += f"--{boundary}--\r\n".encode()
        return bytes(out)

    def entity(self, part: BodyPart) -> bytes:
        """A part inside a multipart: its MIME header and its content."""
        if part.is_multipart:
            boundary = _boundary()
            head = _multipart_type(part, boundary)
            if part.id:
                head += f"Content-ID: {_clean(part.id)}\r\n".encode()
            return head + _CRLF + self.multipart(part, boundary)
        mime = _header_block(self.section(f"{part.number}.MIME"))
        if part.message is not None:
            inner = self.message(self.section(f"{part.number}.HEADER"), part.message)
            return mime + inner
        return mime + self.leaf_body(part)

    def leaf_body(self, part: BodyPart) -> bytes:
        data = self.section(part.number)
        limit = self.selection.leaves.get(part.number)
        if limit is not None and part.size > limit:
            # Cut at a line end: a half line of base64 or quoted-printable is noise.
            cut = data.rfind(b"\n")
            data = data[: cut + 1] if cut >= 0 else b""
        return data


def _boundary() -> str:
    # Random and long: it cannot occur in the parts by chance.
    return f"=_kmeet_{secrets.token_hex(16)}"


def _clean(text: str) -> str:
    """A value for a header line written here: no line breaks, no quotes."""
    return " ".join(text.replace('"', "").replace("\\", "").split())


def _multipart_type(part: BodyPart, boundary: str) -> bytes:
    """A Content-Type for a rebuilt container: its subtype and parameters
    (multipart/related's start and type matter to get_body), a new boundary."""
    params = "".join(
        f';\r\n\t{name}="{_clean(value)}"'
        for name, value in part.params
        if name != "boundary" and re.fullmatch(r"[a-z0-9!#$%&'*+.^_`|~-]+", name)
    )
    subtype = part.subtype if re.fullmatch(r"[a-z0-9!#$%&'*+.^_`|~-]+", part.subtype) else "mixed"
    return f'Content-Type: multipart/{subtype}{params};\r\n\tboundary="{boundary}"\r\n'.encode()


def _header_block(header: bytes) -> bytes:
    """A header as fetched, ending in exactly one empty line."""
    stripped = header.rstrip(b"\r\n")
    return stripped + b"\r\n\r\n" if stripped else _CRLF


def _without_body_fields(header: bytes) -> bytes:
    """The header's fields, without the empty line after them and without
    Content-Type, Content-Transfer-Encoding and MIME-Version (folded lines too)."""
    kept: list[bytes] = []
    dropping = False
    for line in header.splitlines(keepends=True):
        if not line.strip(b"\r\n"):
            break  # the empty line that ends the header
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().decode("latin-1").lower()
        dropping = name in _BODY_FIELDS
        if not dropping:
            kept.append(line)
    return b"".join(line if line.endswith(b"\n") else line + _CRLF for line in kept)
