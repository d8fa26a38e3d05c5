"""Large messages read in parts (Mailbox.fetch over PARTIAL_OVER), against a real
Dovecot: the bridge reads the same invitation as from the whole message, without
ever downloading the attachments next to it."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from kmeet_bridge.config import LimitSettings
from kmeet_bridge.invitations.invites import extract
from kmeet_bridge.mail import bodystructure
from kmeet_bridge.mail.mailbox import PARTIAL_OVER, Mailbox
from kmeet_bridge.models import Extraction, IncomingMessage, NotARequest
from kmeet_bridge.requests import requests
from tests.support.dovecot import Dovecot
from tests.support.fixtures_servers import ImapAccount

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "corpus"
NOW = datetime(2026, 12, 1, tzinfo=UTC)  # the corpus's present (tests/corpus/README.md)
MAX_SIZE = 52_428_800  # [limits] max_message_size's default
ATTACHMENT = 9_200_000  # random octets; two of them, base64, make a 25 MB message
HEADERS = ("From", "To", "Subject", "Message-ID", "Date")


# -- building the messages ----------------------------------------------------------


def attachment(name: str, size: int, seed: int) -> bytes:
    """A base64 attachment of random (incompressible) octets, as a MIME entity."""
    data = random.Random(seed).randbytes(size)
    return (
        f'Content-Type: application/octet-stream; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(data).replace(b"\n", b"\r\n")


def add_parts(raw: bytes, *, first: bytes | None = None, last: bytes | None = None) -> bytes:
    """`raw` (a multipart message) with a part added before its first and after its last."""
    boundary = email.message_from_bytes(raw).get_boundary()
    assert boundary is not None
    delimiter = f"--{boundary}".encode()
    if last is not None:
        index = raw.rindex(delimiter + b"--")
        raw = raw[:index] + delimiter + b"\r\n" + last + b"\r\n" + raw[index:]
    if first is not None:
        index = raw.index(delimiter + b"\r\n")
        raw = raw[:index] + delimiter + b"\r\n" + first + b"\r\n" + raw[index:]
    return raw


def outlook_with_attachments() -> bytes:
    """Outlook's invitation (text, html, text/calendar, invite.ics) between two
    large attachments: parts 1 and 4 are the attachments, 2.3 and 3 the invitation."""
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    return add_parts(
        raw,
        first=attachment("report.bin", ATTACHMENT, 1),
        last=attachment("archive.bin", ATTACHMENT, 2),
    )


def forwarded_with_attachments() -> bytes:
    """The same invitation (with one large attachment) forwarded as message/rfc822,
    next to another large attachment: the invitation is 3.1.3 and 3.2."""
    inner = add_parts(
        (CORPUS / "outlook_request.eml").read_bytes(), last=attachment("archive.bin", ATTACHMENT, 2)
    )
    return (
        b"From: Petra Huber <petra.huber@example.com>\r\n"
        b"To: meet@example.com\r\n"
        b"Subject: Fwd: Quarterly planning review\r\n"
        b"Date: Wed, 25 Nov 2026 16:02:47 +0100\r\n"
        b"Message-ID: <fwd-25mb@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="=-=-fwd-big=-=-"\r\n'
        b"\r\n"
        b"--=-=-fwd-big=-=-\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Bitte einen kMeet-Raum f\xc3\xbcr die Sitzung unten einrichten. Danke, Petra\r\n"
        b"\r\n--=-=-fwd-big=-=-\r\n" + attachment("report.bin", ATTACHMENT, 1) + b"\r\n"
        b"--=-=-fwd-big=-=-\r\n"
        b"Content-Type: message/rfc822\r\n"
        b'Content-Disposition: attachment; filename="Quarterly planning review.eml"\r\n'
        b"\r\n" + inner + b"\r\n--=-=-fwd-big=-=---\r\n"
    )


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def read(message: EmailMessage, limits: LimitSettings | None = None) -> Extraction | str:
    """What the bridge reads from an invitation (or why nothing)."""
    try:
        return extract(
            message,
            default_timezone="Europe/Zurich",
            default_duration=60,
            now=NOW,
            **({"limits": limits} if limits else {}),
        )
    except NotARequest as exc:
        return f"not a request: {exc}"


def spy_commands(mailbox: Mailbox) -> list[tuple[object, ...]]:
    """Every command the mailbox sends from now on, as (name, *arguments)."""
    client = mailbox._client()
    sent: list[tuple[object, ...]] = []
    original = client._command  # type: ignore[attr-defined]

    def spy(name: str, *args: object) -> object:
        sent.append((name, *args))
        return original(name, *args)

    client._command = spy  # type: ignore[attr-defined]
    return sent


def fetch_with_commands(
    account: ImapAccount, uid: int, **kwargs: object
) -> tuple[IncomingMessage, list[tuple[object, ...]]]:
    with Mailbox(account.settings) as mailbox:
        mailbox.select("INBOX")
        sent = spy_commands(mailbox)
        fetched = mailbox.fetch(uid, **kwargs)  # type: ignore[arg-type]
        commands = list(sent)  # not the LOGOUT
    assert fetched is not None
    return fetched, commands


# -- the 25 MB messages -------------------------------------------------------------


@dataclass(frozen=True)
class Big:
    account: ImapAccount
    raws: dict[str, bytes]
    uids: dict[str, int]
    small_uid: int


@pytest.fixture(scope="module")
def big(dovecot: Dovecot) -> Iterator[Big]:
    """One mailbox holding both 25 MB messages and a small one, for the module."""
    user, password = dovecot.add_user()
    account = ImapAccount(dovecot, user, password, dovecot.imap_settings(user, password))
    raws = {"attached": outlook_with_attachments(), "forwarded": forwarded_with_attachments()}
    uids = {name: account.append("INBOX", raw) for name, raw in raws.items()}
    small_uid = account.append("INBOX", (CORPUS / "outlook_request.eml").read_bytes())
    yield Big(account, raws, uids, small_uid)


SECTIONS = {
    "attached": ["HEADER", "2.1.MIME", "2.1", "2.3.MIME", "2.3", "3.MIME", "3"],
    "forwarded": [
        *("HEADER", "1.MIME", "1", "3.MIME", "3.HEADER"),
        *("3.1.3.MIME", "3.1.3", "3.2.MIME", "3.2"),
    ],
}


@pytest.mark.parametrize("shape", ["attached", "forwarded"])
def test_a_large_invitation_is_read_in_parts(big: Big, shape: str) -> None:
    raw = big.raws[shape]
    assert len(raw) > 25_000_000
    fetched, sent = fetch_with_commands(big.account, big.uids[shape], max_size=MAX_SIZE)

    assert fetched.complete and fetched.size == len(raw)
    assert len(fetched.raw) < 100_000
    original, rebuilt = parsed(raw), parsed(fetched.raw)
    assert [rebuilt[name] for name in HEADERS] == [original[name] for name in HEADERS]
    expected = read(original)
    assert isinstance(expected, Extraction) and len(expected.meetings) == 1
    assert read(rebuilt) == expected
    if shape == "forwarded":
        assert "of the forwarded message" in " ".join(expected.meetings[0].notes)
        # The nesting limit still sees the forwarded message.
        too_deep = read(original, LimitSettings(max_nesting=0))
        assert read(rebuilt, LimitSettings(max_nesting=0)) == too_deep
        assert isinstance(too_deep, Extraction) and too_deep.problems[0].code == "too_deep"
    assert requests.body_text(rebuilt) == requests.body_text(original)

    # Three round trips: the size, the structure, then every section in one FETCH.
    commands = [" ".join(str(arg) for arg in command) for command in sent]
    assert len(commands) == 3, commands
    assert commands[0] == f"UID FETCH {big.uids[shape]} (UID RFC822.SIZE)"
    assert commands[1] == f"UID FETCH {big.uids[shape]} (UID BODYSTRUCTURE)"
    assert re.findall(r"BODY\.PEEK\[([^\]]*)\]", commands[2]) == SECTIONS[shape]
    print(f"\n{shape}: {len(raw):,} octets on the server, {len(fetched.raw):,} rebuilt")
    print(f"{shape}: {commands[2]}")


MEASURE = r"""
import json, sys
from kmeet_bridge.config import ImapSettings, Secret
from kmeet_bridge.mail.mailbox import Mailbox

job = json.loads(sys.argv[1])
settings = ImapSettings(
    host=job["host"], port=job["port"], security="plain", username=job["user"],
    password=Secret(job["password"]), folder="INBOX", processed_folder="kmeet/processed",
    failed_folder="kmeet/failed", poll_interval=60, timeout=30,
)
with Mailbox(settings) as mailbox:
    mailbox.select("INBOX")
    message = mailbox.fetch(job["uid"], job["max_size"], partial_over=job["partial_over"])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"peak_kib": peak, "raw": len(message.raw), "complete": message.complete}))
"""


def peak_rss(account: ImapAccount, uid: int, partial_over: int | None) -> dict[str, int]:
    """The peak resident memory (VmHWM) of a fresh process that fetches `uid`."""
    job = {
        "host": account.settings.host,
        "port": account.settings.port,
        "user": account.user,
        "password": account.password,
        "uid": uid,
        "max_size": MAX_SIZE,
        "partial_over": partial_over,
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(job)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_reading_in_parts_does_not_hold_the_message_in_memory(big: Big) -> None:
    small = peak_rss(big.account, big.small_uid, PARTIAL_OVER)
    parts = peak_rss(big.account, big.uids["attached"], PARTIAL_OVER)
    whole = peak_rss(big.account, big.uids["attached"], None)
    mib = 1024
    print(
        f"\npeak RSS: small message {small['peak_kib'] / mib:.1f} MiB; 25 MB message in parts "
        f"{parts['peak_kib'] / mib:.1f} MiB ({parts['raw']:,} octets rebuilt); "
        f"whole {whole['peak_kib'] / mib:.1f} MiB"
    )
    assert parts["complete"] and whole["complete"]
    assert parts["peak_kib"] - small["peak_kib"] < 10 * mib
    # The measure can see a message held whole: without parts, it is.
    assert whole["peak_kib"] - small["peak_kib"] > 20 * mib


# -- below the threshold, over the limit, odd structures ----------------------------


def test_a_message_below_the_threshold_is_fetched_whole(imap_account: ImapAccount) -> None:
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    uid = imap_account.append("INBOX", raw)
    fetched, sent = fetch_with_commands(imap_account, uid, max_size=MAX_SIZE)
    assert (fetched.raw, fetched.size, fetched.complete) == (raw, len(raw), True)
    assert [command[-1] for command in sent] == [
        "(UID RFC822.SIZE)",
        "(UID RFC822.SIZE FLAGS BODY.PEEK[])",
    ]


def test_without_limit_nor_threshold_one_fetch_reads_the_whole_message(
    imap_account: ImapAccount,
) -> None:
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    uid = imap_account.append("INBOX", raw)
    fetched, sent = fetch_with_commands(imap_account, uid, partial_over=None)
    assert (fetched.raw, fetched.complete) == (raw, True)
    assert [command[-1] for command in sent] == ["(UID RFC822.SIZE FLAGS BODY.PEEK[])"]


def test_the_size_limit_comes_before_reading_in_parts(imap_account: ImapAccount) -> None:
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    uid = imap_account.append("INBOX", raw)
    fetched, sent = fetch_with_commands(imap_account, uid, max_size=1000, partial_over=0)
    assert not fetched.complete and fetched.size == len(raw)
    assert fetched.raw == raw[: raw.index(b"\r\n\r\n") + 4]
    assert [command[-1] for command in sent] == [
        "(UID RFC822.SIZE)",
        "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER])",
    ]


def test_an_unreadable_structure_falls_back_to_the_header(
    imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (CORPUS / "outlook_request.eml").read_bytes()
    uid = imap_account.append("INBOX", raw)

    def unreadable(value: object) -> bodystructure.BodyPart:
        raise bodystructure.BodyStructureError("a structure from another planet")

    monkeypatch.setattr(bodystructure, "parse_bodystructure", unreadable)
    fetched, _ = fetch_with_commands(imap_account, uid, max_size=MAX_SIZE, partial_over=0)
    # Answered like a message over the size limit: from its header alone.
    assert not fetched.complete and fetched.size == len(raw)
    assert fetched.raw == raw[: raw.index(b"\r\n\r\n") + 4]


def test_a_uid_that_is_gone_is_none(imap_account: ImapAccount) -> None:
    with Mailbox(imap_account.settings) as mailbox:
        mailbox.select("INBOX")
        assert mailbox.fetch(7, partial_over=0) is None


def test_reading_in_parts_keeps_the_flags_and_sets_none(imap_account: ImapAccount) -> None:
    raw = (CORPUS / "forwarded_rfc822.eml").read_bytes()
    uid = imap_account.append("INBOX", raw, flags=("\\Flagged",))
    fetched, _ = fetch_with_commands(imap_account, uid, partial_over=0)
    assert fetched.flags == ("\\Flagged",)
    assert imap_account.flags("INBOX", uid) == {"\\Flagged"}  # still unread


@pytest.mark.parametrize("name", sorted(path.name for path in CORPUS.glob("*.eml")))
def test_every_corpus_message_reads_the_same_in_parts(imap_account: ImapAccount, name: str) -> None:
    uid = imap_account.append("INBOX", (CORPUS / name).read_bytes())
    raw = imap_account.fetch("INBOX", uid)  # as the server keeps it (line ends mended)
    fetched, sent = fetch_with_commands(imap_account, uid, partial_over=0)
    assert len(sent) == 3 and fetched.complete and fetched.size == len(raw)
    original, rebuilt = parsed(raw), parsed(fetched.raw)
    assert [rebuilt[header] for header in HEADERS] == [original[header] for header in HEADERS]
    assert read(rebuilt) == read(original)
    assert requests.body_text(rebuilt) == requests.body_text(original)


def test_a_huge_text_body_is_read_from_its_start(imap_account: ImapAccount) -> None:
    quoted = b"".join(b"> line %d of a very long quoted thread\r\n" % n for n in range(120_000))
    raw = (
        b"From: Anna Muster <anna@example.com>\r\n"
        b"To: meet@example.com\r\n"
        b"Subject: kmeet: Budget review\r\n"
        b"Message-ID: <long@example.com>\r\n"
        b"Date: Tue, 01 Dec 2026 09:00:00 +0100\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"2027-02-03 09:00\r\n\r\nOn Monday, Bob wrote:\r\n" + quoted
    )
    assert len(raw) > 4_000_000
    uid = imap_account.append("INBOX", raw)
    fetched, _ = fetch_with_commands(imap_account, uid, max_size=MAX_SIZE)
    assert fetched.complete and len(fetched.raw) <= bodystructure.MAX_TEXT + 1000
    original, rebuilt = parsed(raw), parsed(fetched.raw)
    assert requests.request_text(rebuilt) == requests.request_text(original)
    assert requests.body_text(original).startswith(requests.body_text(rebuilt))
