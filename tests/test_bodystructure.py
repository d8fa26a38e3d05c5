"""kmeet_bridge.mail.bodystructure: reading BODYSTRUCTURE and FETCH responses, choosing
the parts to fetch, rebuilding a message from them (pure, no server).

The structures are what Dovecot 2.3 answered for these message shapes, as
imaplib hands them over (literals in place after their "{n}" line).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeet_bridge.mail.bodystructure import (
    MAX_TEXT,
    Atom,
    BodyPart,
    BodyStructureError,
    Selection,
    Value,
    body_sections,
    fetch_items,
    parse_bodystructure,
    parse_value,
    rebuild,
    select,
    text_body,
)
from kmeet_bridge.requests import requests

OUTLOOK = (
    b'((("text" "plain" ("charset" "us-ascii") NIL NIL "quoted-printable" 98 5 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "us-ascii") NIL NIL "quoted-printable" 371 8 NIL NIL NIL NIL)'
    b'("text" "calendar" ("charset" "utf-8" "method" "REQUEST") NIL NIL "base64" 2694 35 NIL NIL '
    b'NIL NIL) "alternative" ("boundary" "_000_AM0PR07MB4412") NIL NIL NIL)'
    b'("application" "ics" ("name" "invite.ics") NIL "invite.ics" "base64" 2694 NIL ("attachment" '
    b'("filename" "invite.ics" "size" "2791" "creation-date" "Fri, 20 Nov 2026 09:15:12 GMT" '
    b'"modification-date" "Fri, 20 Nov 2026 09:15:12 GMT")) NIL NIL) "mixed" '
    b'("boundary" "_004_AM0PR07MB4412") NIL ("en-US") NIL)'
)
FORWARDED = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 71 1 NIL NIL NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 3073 ("Wed, 25 Nov 2026 14:10:03 +0000" '
    b'"Conseil d\'administration" (("Jean Martin" NIL "jean.martin" "example.org")) '
    b'(("Jean Martin" NIL "jean.martin" "example.org")) '
    b'(("Jean Martin" NIL "jean.martin" "example.org")) '
    b'(("Petra Huber" NIL "petra.huber" "example.com")("Luc Bernard" NIL "luc.bernard" '
    b'"example.org")) NIL NIL NIL "<PR3P190MB0921@PR3P190MB0921.example.org>") '
    b'(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 34 1 NIL NIL NIL NIL)'
    b'("text" "calendar" ("charset" "utf-8" "method" "REQUEST") NIL NIL "base64" 2120 28 NIL NIL '
    b'NIL NIL) "alternative" ("boundary" "_000_PR3P190MB0921") NIL ("fr-FR") NIL) 53 NIL '
    b'("attachment" ("filename" "Conseil d\'administration.eml")) NIL NIL) "mixed" '
    b'("boundary" "=-=-fwd-7Qm2Xz4Rt9Lp=-=-") NIL NIL NIL)'
)
NESTED_TWICE = (
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 9 0 NIL NIL NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 377 (NIL "fwd" ((NIL NIL "b" "example.org")) '
    b'((NIL NIL "b" "example.org")) ((NIL NIL "b" "example.org")) NIL NIL NIL NIL NIL) '
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 134 (NIL "invitation" ((NIL NIL "c" "example.net")) '
    b'((NIL NIL "c" "example.net")) ((NIL NIL "c" "example.net")) NIL NIL NIL NIL NIL) '
    b'("text" "calendar" ("method" "REQUEST" "charset" "utf-8") NIL NIL "7bit" 30 1 NIL NIL NIL '
    b'NIL) 5 NIL ("attachment" ("filename" "inv.eml")) NIL NIL) "mixed" ("boundary" "I") NIL NIL '
    b'NIL) 20 NIL NIL NIL NIL) "mixed" ("boundary" "O") NIL NIL NIL)'
)
PLAIN = b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 52 1 NIL NIL NIL NIL)'
SINGLE_CALENDAR = (
    b'("text" "calendar" ("method" "REQUEST" "charset" "us-ascii") NIL NIL "7bit" 32 2 NIL NIL '
    b"NIL NIL)"
)
# The whole body is a forwarded message: part 1 is that message, 1.1 its first part.
TOP_RFC822 = (
    b'("message" "rfc822" NIL NIL NIL "7bit" 101 (NIL "in" NIL NIL NIL NIL NIL NIL NIL NIL) '
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" '
    b'("boundary" "Q") NIL NIL NIL) 8 NIL NIL NIL NIL)'
)
# RFC 2231 names (Dovecot joins continuations into one "filename*"), an 8-bit
# name sent as a literal, an encoded word in a name, a message/global that
# Dovecot does not open, and a forwarded message whose body is one part (4.1).
NAMES = (
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0 NIL NIL NIL NIL)'
    b'("application" "octet-stream" ("name*" "utf-8\'\'%C3%A9t%C3%A9.ics") NIL NIL "7bit" 4 NIL '
    b'("attachment" ("filename*" "utf-8\'\'%C3%A9t%C3%A9.ics")) NIL NIL)'
    b'("application" "octet-stream" ("name" "=?utf-8?q?r=C3=A9union.ics?=") NIL NIL "7bit" 4 NIL '
    b'("attachment" ("filename" {12}\r\nr\xc3\xa9union.ics)) NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 34 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) '
    b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 16 0 NIL NIL NIL NIL) 2 NIL NIL NIL '
    b'NIL)("message" "global" NIL NIL NIL "7bit" 63 NIL NIL NIL NIL) "mixed" ("boundary" "B") NIL '
    b"NIL NIL)"
)
CONTINUATION = (
    b'(("text" "plain" ("name" "notes.txt" "charset" "us-ascii") NIL NIL "7bit" 14 0 NIL '
    b'("attachment" ("filename" "notes.txt")) NIL NIL)'
    b'("text" "html" ("charset" "iso-8859-1") NIL NIL "7bit" 11 0 NIL NIL NIL NIL)'
    b'("application" "octet-stream" NIL NIL NIL "7bit" 4 NIL ("attachment" ("filename*" '
    b'"iso-8859-1\'fr\'r%E9union du lundi.ICS")) NIL NIL) "mixed" ("boundary" "B") NIL NIL NIL)'
)
# The start part of the multipart/related is the multipart/alternative, which
# BODYSTRUCTURE gives no Content-ID for.
RELATED = (
    b'(("image" "png" NIL "<one@example.com>" NIL "base64" 12 NIL NIL NIL NIL)'
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 12 0 NIL NIL NIL NIL) "alternative" '
    b'("boundary" "A") NIL NIL NIL) "related" ("boundary" "R" "start" "<two@example.com>" "type" '
    b'"multipart/alternative") NIL NIL NIL)'
)
# No extension data at all: allowed (BODY instead of BODYSTRUCTURE, some servers).
MINIMAL = (
    b'(("text" "plain" NIL NIL NIL "7bit" 5 1)("application" "pdf" NIL NIL NIL "base64" 900000)'
    b' "mixed")'
)


@dataclass(frozen=True)
class Shape:
    structure: bytes
    parts: list[tuple[str, str, int]]  # (number, content type, size) in walk order
    sections: list[str]


SHAPES = {
    "outlook": Shape(
        OUTLOOK,
        [
            ("", "multipart/mixed", 0),
            ("1", "multipart/alternative", 0),
            ("1.1", "text/plain", 98),
            ("1.2", "text/html", 371),
            ("1.3", "text/calendar", 2694),
            ("2", "application/ics", 2694),
        ],
        ["HEADER", "1.1.MIME", "1.1", "1.3.MIME", "1.3", "2.MIME", "2"],
    ),
    "forwarded": Shape(
        FORWARDED,
        [
            ("", "multipart/mixed", 0),
            ("1", "text/plain", 71),
            ("2", "message/rfc822", 3073),
            ("2", "multipart/alternative", 0),
            ("2.1", "text/plain", 34),
            ("2.2", "text/calendar", 2120),
        ],
        ["HEADER", "1.MIME", "1", "2.MIME", "2.HEADER", "2.2.MIME", "2.2"],
    ),
    "nested twice": Shape(
        NESTED_TWICE,
        [
            ("", "multipart/mixed", 0),
            ("1", "text/plain", 9),
            ("2", "message/rfc822", 377),
            ("2", "multipart/mixed", 0),
            ("2.1", "text/plain", 10),
            ("2.2", "message/rfc822", 134),
            ("2.2.1", "text/calendar", 30),
        ],
        # 2.2.1 is the whole body of the inner message: its header is 2.2.HEADER.
        ["HEADER", "1.MIME", "1", "2.MIME", "2.HEADER", "2.2.MIME", "2.2.HEADER", "2.2.1"],
    ),
    "plain": Shape(PLAIN, [("1", "text/plain", 52)], ["HEADER", "1"]),
    "single calendar": Shape(SINGLE_CALENDAR, [("1", "text/calendar", 32)], ["HEADER", "1"]),
    "top rfc822": Shape(
        TOP_RFC822,
        [("1", "message/rfc822", 101), ("1", "multipart/mixed", 0), ("1.1", "text/plain", 1)],
        ["HEADER", "1.HEADER"],
    ),
    "names": Shape(
        NAMES,
        [
            ("", "multipart/mixed", 0),
            ("1", "text/plain", 2),
            ("2", "application/octet-stream", 4),
            ("3", "application/octet-stream", 4),
            ("4", "message/rfc822", 34),
            ("4.1", "text/plain", 16),
            ("5", "message/global", 63),
        ],
        [
            *("HEADER", "1.MIME", "1", "2.MIME", "2", "3.MIME", "3"),
            *("4.MIME", "4.HEADER", "5.MIME", "5"),
        ],
    ),
    "continuation": Shape(
        CONTINUATION,
        [
            ("", "multipart/mixed", 0),
            ("1", "text/plain", 14),
            ("2", "text/html", 11),
            ("3", "application/octet-stream", 4),
        ],
        # The text/plain is an attachment: the body is the html part.
        ["HEADER", "2.MIME", "2", "3.MIME", "3"],
    ),
    "related": Shape(
        RELATED,
        [
            ("", "multipart/related", 0),
            ("1", "image/png", 12),
            ("2", "multipart/alternative", 0),
            ("2.1", "text/plain", 5),
            ("2.2", "text/html", 12),
        ],
        ["HEADER", "2.1.MIME", "2.1"],
    ),
    "minimal": Shape(
        MINIMAL,
        [("", "multipart/mixed", 0), ("1", "text/plain", 5), ("2", "application/pdf", 900000)],
        ["HEADER", "1.MIME", "1"],
    ),
}


def structure(data: bytes) -> BodyPart:
    return parse_bodystructure(parse_value(data))


@pytest.mark.parametrize("name", SHAPES)
def test_dovecot_structures_are_read_and_the_right_sections_chosen(name: str) -> None:
    shape = SHAPES[name]
    top = structure(shape.structure)
    assert [(p.number, p.content_type, p.size) for p in top.walk()] == shape.parts
    assert select(top).sections() == shape.sections


def test_outlook_parts_keep_their_parameters_and_disposition() -> None:
    top = structure(OUTLOOK)
    calendar, attachment = top.parts[0].parts[2], top.parts[1]
    assert calendar.params == (("charset", "utf-8"), ("method", "REQUEST"))
    assert (calendar.encoding, calendar.disposition) == ("base64", None)
    assert attachment.disposition == "attachment"
    assert ("filename", "invite.ics") in attachment.disposition_params
    assert top.param("boundary") == "_004_AM0PR07MB4412"


@pytest.mark.parametrize(
    ("number", "names"),
    [
        ("2", ["été.ics"]),  # RFC 2231, decoded
        ("3", ["réunion.ics", "=?utf-8?q?r=C3=A9union.ics?="]),  # a literal; an encoded word
    ],
)
def test_file_names_are_read_however_they_are_written(number: str, names: list[str]) -> None:
    part = next(p for p in structure(NAMES).walk() if p.number == number)
    assert set(names) <= set(part.file_names())


def test_rfc2231_continuations_and_charsets_are_decoded() -> None:
    params = (
        ("filename*0*", "iso-8859-1'fr'r%E9union"),
        ("filename*1", " du lundi"),
        ("filename*2*", "%2Eics"),
    )
    part = BodyPart("1", "application", "octet-stream", disposition_params=params)
    assert "réunion du lundi.ics" in part.file_names()
    odd = BodyPart("1", "application", "x", params=(("name*", "x-unknown''a%2Eics"),))
    assert "a.ics" in odd.file_names()


def test_a_text_part_named_ics_counts_as_a_calendar() -> None:
    data = (
        b'(("text" "plain" NIL NIL NIL "7bit" 5 1)'
        b'("text" "plain" ("name" "Meeting.ICS") NIL NIL "7bit" 40 2) "mixed")'
    )
    assert select(structure(data)).sections() == ["HEADER", "1.MIME", "1", "2.MIME", "2"]


def test_a_large_text_body_is_fetched_up_to_max_text_only() -> None:
    data = b'("text" "plain" ("charset" "utf-8") NIL NIL "base64" %d 9000)' % (MAX_TEXT * 40)
    selection = select(structure(data))
    assert selection.fetch_items() == f"BODY.PEEK[HEADER] BODY.PEEK[1]<0.{MAX_TEXT}>"


def test_html_is_the_body_only_without_plain_text() -> None:
    both = structure(
        b'(("text" "html" NIL NIL NIL "7bit" 5 1)("text" "plain" NIL NIL NIL "7bit" 5 1) "mixed")'
    )
    body = text_body(both)
    assert body is not None and body.number == "2"
    html = structure(
        b'(("text" "html" NIL NIL NIL "7bit" 5 1)("image" "png" NIL NIL NIL "base64" 9) "mixed")'
    )
    body = text_body(html)
    assert body is not None and body.number == "1"


# -- FETCH responses ----------------------------------------------------------------


def test_fetch_items_reads_literals_flags_and_partial_sections() -> None:
    response = (
        b"7 (UID 12 RFC822.SIZE 26214400 FLAGS (\\Seen $Forwarded) BODY[HEADER] {19}\r\n"
        b"Subject: Weekly\r\n\r\n BODY[1.MIME] NIL BODY[1]<0> {5}\r\nHello"
        b' BODY[HEADER.FIELDS (FROM)] "From: a"'
        b")"
    )
    items = fetch_items(response)
    assert items["UID"] == "12" and isinstance(items["UID"], Atom)
    assert items["FLAGS"] == ["\\Seen", "$Forwarded"]
    assert body_sections(items) == {
        "HEADER": b"Subject: Weekly\r\n\r\n",
        "1.MIME": b"",
        "1": b"Hello",
        "HEADER.FIELDS (FROM)": b"From: a",
    }


def test_quoted_strings_keep_escaped_quotes_and_backslashes() -> None:
    assert parse_value(b'("a \\"b\\" \\\\ c" NIL x)') == [b'a "b" \\ c', None, "x"]


GARBAGE = [
    b"",
    b"NIL",
    b'"a string"',
    b"()",
    b"(",
    b"(" * 200 + b")" * 200,
    b'("text" "plain")',
    b'("text" "plain" NIL NIL NIL "7bit" many 1)',
    b'("text" "plain" NIL NIL NIL "7bit" (1) 1)',
    b'(("text" "plain" NIL NIL NIL "7bit" 1 1)("image") "mixed")',
    b'("text" "plain" NIL NIL NIL "7bit" {50}\r\nshort)',
    b'("text" "plain" NIL NIL NIL "7bit" {x}\r\n)',
    b'("text" "pl',
    b'("text" "plain" NIL NIL NIL "7bit" 5 1) trailing',
    b'("text" "plain" NIL NIL NIL "7bit" 5 1))',
    b'("message" "rfc822" NIL NIL NIL "7bit" 9 NIL ("text") 1)',
    b'((NIL) "mixed")',
    b'("text" "plain" NIL NIL NIL "7bit" 5 1 NIL ("attachment" ("filename" "a.ics"',
    b"\x00\xff\r\n",
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_is_refused_with_one_error_type(data: bytes) -> None:
    with pytest.raises(BodyStructureError):
        parse_bodystructure(parse_value(data))


@pytest.mark.parametrize(
    "response",
    [b"", b"UID 5", b"5 UID 5", b"5 (UID)", b"5 (UID 5) more", b'5 ("UID" 5)', b"5 (UID 5"],
)
def test_garbage_fetch_responses_are_refused(response: bytes) -> None:
    with pytest.raises(BodyStructureError):
        fetch_items(response)


def test_odd_extension_data_is_ignored() -> None:
    data = (
        b'("application" "ics" ("name") NIL NIL "base64" 10 NIL ("attachment" "odd") NIL NIL '
        b'"extra" (1 2 (3)))'
    )
    part = structure(data)
    assert (part.content_type, part.params) == ("application/ics", ())
    assert (part.disposition, part.disposition_params) == ("attachment", ())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(BodyStructureError):
        parse_bodystructure(parse_value(data))
    with contextlib.suppress(BodyStructureError):
        fetch_items(data)


_atoms = st.sampled_from(["0", "7", "123", "NIL", "text", "x"]).map(Atom)
_strings = st.sampled_from(
    [
        *(b"text", b"plain", b"calendar", b"message", b"rfc822", b"multipart", b"mixed"),
        *(b"a.ics", b"attachment", b"filename", b"name", b"base64", b"5", b"=?utf-8?q?x?="),
        b"utf-8''%FF",
    ]
)
_values: st.SearchStrategy[Value] = st.recursive(
    st.one_of(st.none(), _atoms, _strings),
    lambda children: st.lists(children, max_size=12),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_any_structure_parses_selects_and_rebuilds_or_is_refused(value: Value) -> None:
    try:
        top = parse_bodystructure(value)
    except BodyStructureError:
        return
    selection = select(top)
    sections = {name: b"X-Part: " + name.encode() + b"\r\n\r\n" for name in selection.sections()}
    raw = rebuild(top, selection, sections)
    email.message_from_bytes(raw, policy=email.policy.default)


# -- rebuilding ---------------------------------------------------------------------


HEADER = (
    b"From: Anna Muster <anna@example.com>\r\n"
    b"Subject: Quarterly review\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed;\r\n"
    b'\tboundary="_004_old"\r\n'
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"Message-ID: <q@example.com>\r\n"
    b"\r\n"
)


def test_rebuild_keeps_the_header_and_the_selected_parts_only() -> None:
    top = structure(FORWARDED)
    selection = select(top)
    sections = {
        "HEADER": HEADER,
        "1.MIME": b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
        "1": b"Please plan this.\r\n",
        "2.MIME": b"Content-Type: message/rfc822\r\n"
        b'Content-Disposition: attachment; filename="c.eml"\r\n\r\n',
        "2.HEADER": b"From: jean@example.org\r\nSubject: Conseil\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="_000_old"\r\n\r\n',
        "2.2.MIME": b"Content-Type: text/calendar; method=REQUEST\r\n\r\n",
        "2.2": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    }
    raw = rebuild(top, selection, sections)
    assert b"_004_old" not in raw and b"_000_old" not in raw
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.defects == []
    assert (message["From"], message["Subject"], message["Message-ID"]) == (
        "Anna Muster <anna@example.com>",
        "Quarterly review",
        "<q@example.com>",
    )
    assert message.get_content_type() == "multipart/mixed"
    assert requests.body_text(message) == "Please plan this.\r\n"
    _text, forwarded = message.iter_parts()  # type: ignore[attr-defined]
    assert forwarded.get_content_type() == "message/rfc822"
    assert forwarded.get_filename() == "c.eml"
    inner = forwarded.get_payload()[0]
    assert (inner["Subject"], inner.get_content_type()) == ("Conseil", "multipart/alternative")
    (calendar,) = inner.iter_parts()
    assert calendar.get_payload(decode=True) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def test_rebuild_without_a_section_it_needs_is_refused() -> None:
    top = structure(OUTLOOK)
    with pytest.raises(BodyStructureError, match=r"1\.3\.MIME"):
        rebuild(top, select(top), {"HEADER": HEADER, "1.1.MIME": b"", "1.1": b""})


def test_a_cut_text_body_ends_at_a_line_end() -> None:
    top = structure(b'("text" "plain" NIL NIL NIL "7bit" %d 2)' % (MAX_TEXT * 2))
    data = b"first line\r\nsecond li"
    raw = rebuild(top, select(top), {"HEADER": b"Subject: long\r\n\r\n", "1": data})
    assert raw == b"Subject: long\r\n\r\nfirst line\r\n"


def test_a_message_with_nothing_worth_reading_is_still_a_valid_message() -> None:
    top = structure(b'(("image" "png" NIL NIL NIL "base64" 9000000) "mixed")')
    assert select(top) == Selection({}, frozenset(), frozenset())
    raw = rebuild(top, select(top), {"HEADER": HEADER})
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.defects == [] and message["Subject"] == "Quarterly review"
    assert requests.body_text(message) == ""
