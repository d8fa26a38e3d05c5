"""The pure parts of changing a meeting by answering the bridge's reply, and the
state it reads: no servers."""

from __future__ import annotations

import email
import email.policy
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from kmeet_bridge.config import Settings, from_mapping
from kmeet_bridge.mail import headers
from kmeet_bridge.models import MeetingRequest, Room, RoomOptions
from kmeet_bridge.replies import replies
from kmeet_bridge.replies.wording import say
from kmeet_bridge.requests.thread_answers import ChangeIt, read_answer
from kmeet_bridge.service.cli import DRY_RUN_DEFAULTS
from kmeet_bridge.steps import meeting_changes
from kmeet_bridge.steps.meeting_changes import Thread
from kmeet_bridge.store import MeetingDetails, MeetingRecord, Owners, Store

ZURICH = ZoneInfo("Europe/Zurich")
KEY = "msg:<request@example.com>"
ROOM = Room(
    url="https://kmeet.infomaniak.com/abc", name="abc", hostname="kmeet.infomaniak.com", id=7
)
RECORD = MeetingRecord(
    key=KEY,
    status="planned",
    in_doubt=False,
    title="Budget review",
    starting_at="2027-02-03 09:00:00",
    ending_at="2027-02-03 09:45:00",
    timezone="Europe/Zurich",
    sequence=2,
    room=ROOM,
    owners=Owners("lea@example.com", "lea@example.com", ("lea@example.com",)),
    options=RoomOptions(False, False, True, False),
    language="fr",
)


def message(raw: str) -> EmailMessage:
    parsed = email.message_from_bytes(raw.encode(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def settings() -> Settings:
    """The defaults of a configuration, as `parse` uses them without one."""
    return from_mapping(DRY_RUN_DEFAULTS, {}, secrets=False)


def test_in_reply_to_reads_ids_as_references_does() -> None:
    msg = message("In-Reply-To: junk <a@example.com> (comment) <b@example.com>\n\n")
    assert headers.in_reply_to(msg) == ["<a@example.com>", "<b@example.com>"]
    assert headers.in_reply_to(message("Subject: x\n\n")) == []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state.db") as store:
        details = MeetingDetails(
            "Budget review", "2027-02-03 09:00:00", "2027-02-03 09:45:00", "Europe/Zurich"
        )
        store.prepare_planning(KEY, details, "<request@example.com>", RECORD.owners)
        store.finish_planning(
            KEY,
            ROOM,
            datetime(2027, 2, 3, 8, 45, tzinfo=UTC),
            MeetingDetails(*details.values(), RoomOptions(True, False, True, False), "fr"),
            attendees=RECORD.owners.attendees,
        )
        store.record_events("INBOX", 9, 1, [(KEY, "planned", "new: url")])
        store.record_reply(
            "INBOX:9:1", kind="planned", recipient="lea@example.com", reply_id="<r1@example.com>"
        )
        store.record_events("INBOX", 9, 2, [("Bad", "rejected", "no time")])
        store.record_reply(
            "INBOX:9:2", kind="rejected", recipient="lea@example.com", reply_id="<r2@example.com>"
        )
        yield store


def test_the_state_keeps_each_rooms_settings_and_language(store: Store) -> None:
    record = store.meeting(KEY)
    assert record is not None
    assert (record.options, record.language) == (RoomOptions(True, False, True, False), "fr")


def test_an_answer_is_found_by_in_reply_to_then_by_references_newest_first(store: Store) -> None:
    by_reply = message("In-Reply-To: <r1@example.com>\n\n")
    by_references = message(
        "References: <request@example.com> <r1@example.com> <other@example.com>\n\n"
    )
    for msg in (by_reply, by_references):
        thread = meeting_changes.thread_of(store, msg)
        assert thread is not None
        assert (thread.answered, thread.recipient) == ("INBOX:9:1", "lea@example.com")
        assert [m.key for m in thread.meetings] == [KEY]


def test_no_thread_for_other_mail_or_a_reply_about_no_meeting(store: Store) -> None:
    assert meeting_changes.thread_of(store, message("Subject: kmeet\n\n")) is None
    assert (
        meeting_changes.thread_of(store, message("In-Reply-To: <unknown@example.com>\n\n")) is None
    )
    # Answering a refusal is a new try at the request, read as one.
    assert meeting_changes.thread_of(store, message("In-Reply-To: <r2@example.com>\n\n")) is None


def test_an_answer_with_a_calendar_part_is_not_read_as_a_change(store: Store) -> None:
    raw = (
        "In-Reply-To: <r1@example.com>\nMIME-Version: 1.0\n"
        "Content-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n"
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    kwargs = {"language": "en", "default_language": "en", "now": now}
    assert meeting_changes.reading_of(store, message(raw), **kwargs) is None
    plain = "In-Reply-To: <r1@example.com>\nContent-Type: text/plain\n\ncancel\n"
    reading = meeting_changes.reading_of(store, message(plain), **kwargs)
    assert reading is not None and type(reading.answer).__name__ == "CancelIt"


def test_the_meeting_now_is_read_back_in_its_zone() -> None:
    now = meeting_changes.meeting_now(RECORD, "en")
    assert now.start == datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH)
    assert now.end == datetime(2027, 2, 3, 9, 45, tzinfo=ZURICH)
    assert (now.language, now.source, now.attendees) == ("fr", "request", ("lea@example.com",))
    invitation = meeting_changes.meeting_now(
        MeetingRecord(**{**vars(RECORD), "key": "ics:a@example.com:u:", "language": None}), "de"
    )
    assert (invitation.source, invitation.language) == ("invite", "de")


@pytest.mark.parametrize(
    ("sender", "allowed"),
    [
        ("bob@example.com", True),  # whom the reply went to
        ("BOB@example.com", True),
        ("lea@example.com", True),  # organiser and planner
        ("carl@example.net", False),
        ("lea+x@example.com", False),
    ],
)
def test_who_may_change_a_meeting(sender: str, allowed: bool) -> None:
    thread = Thread("INBOX:9:1", "bob@example.com", (RECORD,))
    assert meeting_changes.may_change(thread, sender) is allowed


def test_a_change_keeps_what_it_does_not_name_and_counts_one_sequence_more() -> None:
    start = datetime(2027, 2, 3, 16, 0, tzinfo=ZURICH)
    change = ChangeIt(
        "fr",
        start,
        datetime(2027, 2, 3, 16, 45, tzinfo=ZURICH),
        "Europe/Zurich",
        add_attendees=("Carl@example.net", "lea@example.com"),
        options=RoomOptions(lobby_enabled=True),
    )
    meeting = meeting_changes.changed_meeting(RECORD, change)
    assert (meeting.key, meeting.title, meeting.start, meeting.sequence) == (
        KEY,
        "Budget review",
        start,
        3,
    )
    assert [a.address for a in meeting.attendees] == ["lea@example.com", "carl@example.net"]
    assert meeting.options == RoomOptions(True, False, True, False)
    people = meeting_changes.people_change(RECORD, meeting)
    assert [(c.what, c.before, c.after) for c in people] == [
        ("attendees", "lea@example.com", "lea@example.com, carl@example.net")
    ]
    before = meeting_changes.as_request(RECORD)
    worded = meeting_changes.option_changes(before, meeting, settings(), "fr")
    assert [(c.what, c.before, c.after) for c in worded] == [
        ("option.lobby_enabled", "désactivé", "activé")
    ]


def test_a_cancellation_ics_replaces_the_event_the_reply_added() -> None:
    meeting = MeetingRequest(
        key=KEY,
        title="Budget review",
        start=datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH),
        end=datetime(2027, 2, 3, 9, 45, tzinfo=ZURICH),
        timezone="Europe/Zurich",
        source="request",
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    published = Calendar.from_ical(replies.calendar_attachment(meeting, ROOM, now=now))
    cancel = Calendar.from_ical(
        replies.calendar_cancellation(
            meeting.__class__(**{**vars(meeting), "sequence": 1}), now=now
        )
    )
    [first], [second] = published.walk("VEVENT"), cancel.walk("VEVENT")
    assert str(cancel["METHOD"]) == "CANCEL"
    assert str(second["UID"]) == str(first["UID"])
    assert (int(first["SEQUENCE"]), int(second["SEQUENCE"])) == (0, 1)
    assert str(second["STATUS"]) == "CANCELLED"
    assert second.decoded("DTSTART") == datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH)


@pytest.mark.parametrize(
    ("language", "opening"),
    [
        ("en", "Your answer did not change the meeting."),
        ("fr", "Votre réponse n’a pas modifié la réunion."),
        ("de", "Ihre Antwort hat die Besprechung nicht geändert."),
        ("it", "La Sua risposta non ha modificato la riunione."),
    ],
)
def test_a_refused_change_says_the_meeting_did_not_change(language: str, opening: str) -> None:
    original = message("From: lea@example.com\nSubject: Re: kmeet\nMessage-ID: <a@example.com>\n\n")
    reply = replies.compose_rejection(
        original,
        "",
        "",
        from_address="meet@example.com",
        from_name="kMeet",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        language=language,
        code="change_unclear",
    )
    body = reply.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith(opening)
    # The examples to copy, each on a line of its own.
    assert sum(1 for line in text.splitlines() if line.startswith("    ")) == 5


def test_an_older_state_gets_the_columns_of_schema_5(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store(path):
        pass
    with sqlite3.connect(path) as db:  # as schema 4 had it
        db.execute("ALTER TABLE meetings DROP COLUMN room_options")
        db.execute("ALTER TABLE meetings DROP COLUMN language")
        db.execute(
            "INSERT INTO meetings(key, status, title, starting_at, ending_at, timezone, "
            "updated_at) VALUES (?, 'planned', 't', '2027-01-01 09:00:00', "
            "'2027-01-01 10:00:00', 'UTC', 'now')",
            (KEY,),
        )
        db.execute("UPDATE meta SET value = '4' WHERE name = 'schema_version'")

    with Store(path) as store:
        record = store.meeting(KEY)
        assert record is not None and (record.options, record.language) == (None, None)
        assert store.meta("schema_version") == "5"
        # A room planned before keeps the configured settings when a change needs a new one.
        assert meeting_changes.meeting_now(record, "it").options == RoomOptions()


@pytest.mark.parametrize("language", ["en", "fr", "de", "it"])
def test_every_example_an_unclear_answer_gets_is_understood(language: str) -> None:
    """The lines to copy are read as what they show, in their own language."""
    meeting = meeting_changes.meeting_now(RECORD, language)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=ZURICH)
    examples = say(language, "problem.change_unclear.hint").splitlines()[1:]
    readings = [
        read_answer(line, meeting=meeting, now=now, default_language=language) for line in examples
    ]
    assert [type(r).__name__ for r in readings] == ["CancelIt", *["ChangeIt"] * 4]
    assert {r.language for r in readings} == {language}
    moved, longer, people, options = readings[1:]
    assert isinstance(moved, ChangeIt) and moved.start != meeting.start
    assert isinstance(longer, ChangeIt) and longer.end - longer.start > meeting.end - meeting.start
    assert isinstance(people, ChangeIt) and len(people.add_attendees) == 1
    assert isinstance(options, ChangeIt) and options.options != RoomOptions()
