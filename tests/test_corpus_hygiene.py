"""The corpus keeps its promises (tests/corpus/README.md): described, CRLF, example
domains only, well-formed MIME, meetings in 2027."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import icalendar
import pytest

from kmeet_bridge.invitations.invites import calendar_parts
from tests.test_invites import CORPUS, load

MESSAGES = sorted(CORPUS.glob("*.eml"))
EXAMPLE = re.compile(r"(?:^|\.)example\.(?:com|org|net)$", re.IGNORECASE)
ADDRESS = re.compile(r"[\w.+-]+@((?:[\w-]+\.)+[A-Za-z]{2,})\b")
# Vocabularies named in real clients' HTML (Google's schema.org markup): not addresses.
VOCABULARIES = {"schema.org", "www.w3.org"}
LINK = re.compile(r"https?://([^/\s\"'<>?#:]+)", re.IGNORECASE)


def decoded_text(path: Path) -> str:
    """The headers and every decoded text part of a message, one string."""
    message = load(path)
    texts = [str(value) for _, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() in ("text", "application") and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return re.sub(r"\r?\n[ \t]", "", "\n".join(texts))  # unfold iCalendar lines


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_message_is_described_in_the_readme(path: Path) -> None:
    assert f"`{path.name}`" in (CORPUS / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_message_has_crlf_line_ends_only(path: Path) -> None:
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_message_uses_example_domains_only(path: Path) -> None:
    # Decoded parts are searched too: base64 and quoted-printable hide addresses.
    text = decoded_text(path)
    domains = {match.group(1).rstrip(".") for match in ADDRESS.finditer(text)}
    hosts = {match.group(1) for match in LINK.finditer(text)}
    others = {domain for domain in domains | hosts if not EXAMPLE.search(domain)}
    assert others - VOCABULARIES == set()


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_message_is_well_formed_mime(path: Path) -> None:
    message = load(path)
    assert [part.defects for part in message.walk() if part.defects] == []


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_events_are_in_2027(path: Path) -> None:
    for data in calendar_parts(load(path)):
        try:
            calendar = icalendar.Calendar.from_ical(data.decode("utf-8"))
        except ValueError:
            continue  # broken on purpose (broken_ics.eml)
        for event in calendar.walk("VEVENT"):
            start = event.decoded("DTSTART", None)
            if isinstance(start, str):  # broken on purpose (broken_ics.eml): its text
                start = datetime.strptime(start, "%Y-%m-%d %H:%M")
            assert start is not None and start.year == 2027, event.get("SUMMARY")
