"""Cancellations: METHOD:CANCEL, STATUS:CANCELLED, one occurrence, and messages that mix."""

from __future__ import annotations

import pytest

from kmeet_bridge.models import Cancellation, NotARequest
from tests.test_invites import event, ics, message, run
from tests.test_invites_series import SERIES, calendar

KEY = "ics:olga@example.com:meeting-1@example.org:"
PLANNED = event("DTSTART:20270701T080000Z", "DURATION:PT1H")


def test_method_cancel_cancels_the_meeting() -> None:
    result = run(message(ics(*event("SEQUENCE:2", "DTSTART:20270701T080000Z"), method="CANCEL")))
    assert result.cancellations == (
        Cancellation(key=KEY, title="Weekly sync", uid="meeting-1@example.org", sequence=2),
    )
    assert (result.meetings, result.problems) == ((), ())
    assert result.rule == "METHOD:CANCEL: a cancellation"


def test_cancelled_occurrence_names_its_series() -> None:
    lines = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        "DTSTART;TZID=Europe/Zurich:20270315T100000",
        "SEQUENCE:1",
    )
    (cancelled,) = run(message(ics(*lines, method="CANCEL"))).cancellations
    # 10:00 CET on 15 March is 09:00 UTC
    assert cancelled == Cancellation(
        key=KEY + "20270315T090000Z",
        title="Weekly sync",
        uid="meeting-1@example.org",
        sequence=1,
        recurrence_id="20270315T090000Z",
        series_key=KEY,
    )


def test_every_event_of_a_cancel_is_a_cancellation() -> None:
    occurrence = event(
        "RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        "DTSTART;TZID=Europe/Zurich:20270316T140000",
    )
    result = run(message(calendar(SERIES, occurrence, method="CANCEL")))
    assert [(c.key, c.recurrence_id, c.series_key) for c in result.cancellations] == [
        (KEY, None, None),
        (KEY + "20270315T090000Z", "20270315T090000Z", KEY),
    ]


@pytest.mark.parametrize(
    ("method", "rule"),
    [
        ("REQUEST", "event with STATUS:CANCELLED (METHOD:REQUEST): a cancellation"),
        ("PUBLISH", "event with STATUS:CANCELLED (METHOD:PUBLISH): a cancellation"),
        (None, "event with STATUS:CANCELLED (no METHOD): a cancellation"),
    ],
)
def test_status_cancelled_in_a_request_is_a_cancellation(method: str | None, rule: str) -> None:
    lines = event("STATUS:CANCELLED", "SEQUENCE:1", "DTSTART:20270701T080000Z")
    result = run(message(ics(*lines, method=method)))
    assert result.cancellations == (
        Cancellation(key=KEY, title="Weekly sync", uid="meeting-1@example.org", sequence=1),
    )
    assert result.meetings == ()
    assert result.rule == rule


def test_status_cancelled_series_is_a_cancellation_of_the_series() -> None:
    lines = [*SERIES, "STATUS:CANCELLED"]
    (cancelled,) = run(message(calendar(tuple(lines)))).cancellations
    assert (cancelled.key, cancelled.recurrence_id) == (KEY, None)


def test_status_cancelled_occurrence_sent_alone_cancels_that_occurrence() -> None:
    lines = event(
        "RECURRENCE-ID:20270315T090000Z",
        "DTSTART:20270315T090000Z",
        "STATUS:CANCELLED",
    )
    (cancelled,) = run(message(ics(*lines))).cancellations
    assert (cancelled.key, cancelled.series_key) == (KEY + "20270315T090000Z", KEY)


def test_all_day_event_can_still_be_cancelled() -> None:
    lines = event("DTSTART;VALUE=DATE:20270701")
    (cancelled,) = run(message(ics(*lines, method="CANCEL"))).cancellations
    assert cancelled.key == KEY


def test_outlook_prefix_is_dropped_from_the_title() -> None:
    lines = [
        "UID:meeting-1@example.org",
        "SUMMARY;LANGUAGE=en-US:Canceled: Weekly sync",
        "ORGANIZER;CN=Olga Organizer:mailto:olga@example.com",
        "DTSTART:20270701T080000Z",
    ]
    (cancelled,) = run(message(ics(*lines, method="CANCEL"))).cancellations
    assert cancelled.title == "Weekly sync"


def test_cancel_without_uid_uses_the_uid_a_request_would_have_been_given() -> None:
    lines = [
        "SUMMARY:No UID here",
        "ORGANIZER:MAILTO:Organizer@Example.com",
        "DTSTART:20270701T080000Z",
    ]
    (planned,) = run(message(ics(*lines, "DTEND:20270701T090000Z"))).meetings
    (cancelled,) = run(message(ics(*lines, method="CANCEL"))).cancellations
    assert (
        cancelled.key
        == planned.key
        == ("ics:organizer@example.com:derived-2eea5a6f1ef167506b04e246717ff333:")
    )


def test_cancel_that_names_no_event_is_a_problem() -> None:
    lines = ["SUMMARY:Something", "ORGANIZER:mailto:olga@example.com"]
    result = run(message(ics(*lines, method="CANCEL")))
    (problem,) = result.problems
    assert problem.reason == (
        'The cancellation of "Something" does not say which event it cancels '
        "(it has no UID and no start time)."
    )
    assert result.cancellations == ()


def test_request_and_cancel_of_different_events_in_one_message() -> None:
    other = event("DTSTART:20270702T080000Z", uid="meeting-2@example.org")
    result = run(message(ics(*PLANNED), ics(*other, method="CANCEL")))
    assert [m.key for m in result.meetings] == [KEY]
    assert [c.key for c in result.cancellations] == ["ics:olga@example.com:meeting-2@example.org:"]
    assert result.rule == (
        "calendar part with METHOD:REQUEST: an invitation to plan; with 1 cancellation"
    )


def test_the_later_of_a_request_and_a_cancel_of_the_same_event_wins() -> None:
    request = ics(*event("SEQUENCE:1", "DTSTART:20270701T080000Z", "DURATION:PT1H"))
    cancel = ics(*event("SEQUENCE:2", "DTSTART:20270701T080000Z"), method="CANCEL")
    result = run(message(request, cancel))
    assert (len(result.meetings), len(result.cancellations)) == (0, 1)
    older = ics(*event("SEQUENCE:0", "DTSTART:20270701T080000Z"), method="CANCEL")
    result = run(message(request, older))
    assert (len(result.meetings), len(result.cancellations)) == (1, 0)


def test_duplicate_cancellations_keep_the_highest_sequence() -> None:
    first = ics(*event("SEQUENCE:1", "DTSTART:20270701T080000Z"), method="CANCEL")
    second = ics(*event("SEQUENCE:3", "DTSTART:20270701T080000Z"), method="CANCEL")
    result = run(message(first, (second, "invite.ics")))
    assert [c.sequence for c in result.cancellations] == [3]
    assert result.rule == (
        "METHOD:CANCEL: a cancellation; two calendar parts with the same event: read once"
    )


def test_reply_next_to_a_cancel_is_ignored() -> None:
    cancel = ics(*event("DTSTART:20270701T080000Z"), method="CANCEL")
    reply = ics(*event("DTSTART:20270701T080000Z"), method="REPLY")
    result = run(message(reply, cancel))
    assert len(result.cancellations) == 1
    assert result.rule == "METHOD:CANCEL: a cancellation; the METHOD:REPLY part is ignored"


def test_answers_alone_are_still_not_requests() -> None:
    reply = ics(*event("DTSTART:20270701T080000Z"), method="REPLY")
    counter = ics(*event("DTSTART:20270701T090000Z"), method="COUNTER")
    with pytest.raises(NotARequest, match=r"METHOD:COUNTER, METHOD:REPLY"):
        run(message(reply, counter))
