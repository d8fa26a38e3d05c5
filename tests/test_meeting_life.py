"""A meeting's life end to end (Dovecot, SMTP sink, API simulator): updates,
reschedules, cancellations, series and their exceptions, several events."""

from __future__ import annotations

from tests.support.harness import BridgeEnv, invitation, parse, rows, text_of

UID = "budget-2027@example.com"


def room_url(env: BridgeEnv, index: int) -> str:
    rooms = list(env.simulator.rooms.values())
    return f"https://kmeet.infomaniak.com/{rooms[index]['name']}"


def once(env: BridgeEnv, expected: str) -> None:
    result = env.command("once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pass finished: {expected}"


def test_an_update_within_the_planned_time_keeps_the_room(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(invitation(uid=UID, start="20270315T140000", end="20270315T150000"))
    once(env, "1 planned")
    update = invitation(
        uid=UID,
        start="20270315T140000",
        end="20270315T144500",
        sequence=1,
        title="Budget review (short)",
    )
    env.deliver(update)

    once(env, "1 planned")

    assert len(env.simulator.planned_bodies) == 1
    first, second = env.smtp.messages
    url = room_url(env, 0)
    text = text_of(second.message)
    assert url in text_of(first.message) and url in text
    assert second.message["In-Reply-To"] == parse(update)["Message-ID"]
    assert "This meeting has been updated. The link stays the same." in text
    assert "- Title: Budget review → Budget review (short)" in text
    assert ("- Time: was 14:00–15:00, now 14:00–14:45 (Monday, 15 March 2027, Zurich time)") in text
    assert rows(env, "SELECT title, ending_at, sequence, status FROM meetings") == [
        ("Budget review (short)", "2027-03-15 14:45:00", 1, "planned")
    ]
    assert len(env.uids("kmeet/processed")) == 2


def test_a_reschedule_past_the_rooms_end_gets_a_new_room_and_says_so(
    bridge_env: BridgeEnv,
) -> None:
    env = bridge_env
    env.deliver(invitation(uid=UID, start="20270315T140000", end="20270315T150000"))
    once(env, "1 planned")
    env.deliver(invitation(uid=UID, start="20270322T090000", end="20270322T100000", sequence=1))

    once(env, "1 planned")

    bodies = env.simulator.planned_bodies
    assert [(b["starting_at"], b["ending_at"]) for b in bodies] == [
        ("2027-03-15 14:00:00", "2027-03-15 15:00:00"),
        ("2027-03-22 09:00:00", "2027-03-22 10:00:00"),
    ]
    old, new = room_url(env, 0), room_url(env, 1)
    assert old != new
    text = text_of(env.smtp.messages[1].message)
    assert "The meeting link has changed. Please use the new link below." in text
    assert f"New join link: {new}" in text
    assert f"Please do not use the old link ({old}) for this meeting any more" in text
    [(room, status)] = rows(env, "SELECT room, status FROM meetings")
    assert new in room and status == "planned"


def test_the_same_update_twice_changes_nothing_more(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(invitation(uid=UID, start="20270315T140000", end="20270315T150000"))
    env.deliver(invitation(uid=UID, start="20270322T090000", end="20270322T100000", sequence=1))
    # An older copy arriving last must not undo the reschedule.
    env.deliver(
        invitation(
            uid=UID,
            start="20270315T140000",
            end="20270315T150000",
            message_id="<late-copy@example.com>",
        )
    )

    once(env, "3 planned")

    assert len(env.simulator.planned_bodies) == 2
    last = text_of(env.smtp.messages[2].message)
    assert "This meeting has already been scheduled. Here is its link again." in last
    assert room_url(env, 1) in last


def test_cancellation_is_acknowledged_and_the_room_kept_by_default(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(invitation(uid=UID, start="20270315T140000", end="20270315T150000"))
    once(env, "1 planned")
    env.deliver(
        invitation(
            uid=UID,
            start="20270315T140000",
            end="20270315T150000",
            sequence=1,
            method="CANCEL",
            extra="STATUS:CANCELLED",
        )
    )

    once(env, "1 planned")

    assert [r.method for r in env.simulator.requests if r.method == "DELETE"] == []
    text = text_of(env.smtp.messages[1].message)
    assert "Cancelled: Budget review" in text
    assert f"The meeting link {room_url(env, 0)} will no longer be used." in text
    assert rows(env, "SELECT status FROM meetings") == [("cancelled",)]
    assert rows(env, "SELECT event, outcome FROM message_events WHERE uid = 2") == [
        (f"ics:alice@example.com:{UID}:", "cancelled")
    ]


def test_cancellation_removes_the_room_when_configured(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.write_config(kmeet={"delete_cancelled_rooms": True})
    env.deliver(invitation(uid=UID, start="20270315T140000", end="20270315T150000"))
    once(env, "1 planned")
    room_id = next(iter(env.simulator.rooms))
    env.deliver(
        invitation(
            uid=UID, start="20270315T140000", end="20270315T150000", sequence=1, method="CANCEL"
        )
    )

    once(env, "1 planned")

    deletes = [r.path for r in env.simulator.requests if r.method == "DELETE"]
    assert deletes == [f"/1/kmeet/rooms/{room_id}"]
    assert "The kMeet meeting room has been removed." in text_of(env.smtp.messages[1].message)


def test_cancellation_of_an_unknown_meeting_is_ignored(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    raw = invitation(
        uid="someone-else@example.com",
        start="20270315T140000",
        end="20270315T150000",
        method="CANCEL",
    )
    env.deliver(raw)

    once(env, "1 ignored")

    assert env.smtp.messages == []
    assert env.folder_messages("INBOX") == [raw]
    assert rows(env, "SELECT outcome, reason FROM messages") == [
        ("ignored", "cancellation of a meeting this bridge did not plan")
    ]


SERIES = "FREQ=WEEKLY;COUNT=10;BYDAY=MO"


def test_a_series_gets_one_room_and_its_exception_reuses_it(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(
        invitation(
            uid="standup@example.com",
            start="20270301T100000",
            end="20270301T103000",
            title="Stand-up",
            extra=f"RRULE:{SERIES}",
        )
    )
    once(env, "1 planned")
    [body] = env.simulator.planned_bodies
    assert (body["starting_at"], body["ending_at"], body["timezone"]) == (
        "2027-03-01 10:00:00",
        "2027-03-01 10:30:00",
        "Europe/Zurich",
    )
    text = text_of(env.smtp.messages[0].message)
    assert "Repeats every Monday at 10:00, 10 times" in text
    attachment = next(p for p in env.smtp.messages[0].message.iter_attachments())
    assert "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO" in attachment.get_content()

    # One occurrence moved to Tuesday: the series' room, no API call.
    env.deliver(
        invitation(
            uid="standup@example.com",
            start="20270316T140000",
            end="20270316T143000",
            title="Stand-up",
            sequence=1,
            extra="RECURRENCE-ID;TZID=Europe/Zurich:20270315T100000",
        )
    )
    once(env, "1 planned")

    assert len(env.simulator.planned_bodies) == 1
    text = text_of(env.smtp.messages[1].message)
    assert "This meeting of the series uses the link of the whole series" in text
    assert room_url(env, 0) in text


def test_several_events_each_get_an_outcome_in_one_reply(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    ics_events = (
        "BEGIN:VEVENT\r\nUID:talk@example.com\r\nDTSTAMP:20261201T080000Z\r\n"
        "DTSTART;TZID=Europe/Zurich:20270410T090000\r\nDTEND;TZID=Europe/Zurich:20270410T100000"
        "\r\nSUMMARY:Talk\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:offsite@example.com\r\nDTSTAMP:20261201T080000Z\r\n"
        "DTSTART;VALUE=DATE:20270411\r\nSUMMARY:Offsite day\r\nEND:VEVENT\r\n"
    )
    raw = (
        "From: Alice Example <alice@example.com>\r\nTo: meet@example.com\r\n"
        "Subject: Two things\r\nMessage-ID: <two-things@example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/calendar; charset="utf-8"; method=PUBLISH\r\n\r\n'
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp//Calendar 1.0//EN\r\n"
        "METHOD:PUBLISH\r\n" + ics_events + "END:VCALENDAR\r\n"
    ).encode()
    env.deliver(raw)

    once(env, "1 planned")

    assert [b["title"] for b in env.simulator.planned_bodies] == ["Talk"]
    [reply] = env.smtp.messages
    text = text_of(reply.message)
    assert room_url(env, 0) in text
    assert "Not scheduled: Offsite day" in text
    assert [outcome for _, outcome in rows(env, "SELECT event, outcome FROM message_events")] == [
        "planned",
        "rejected",
    ]


def test_an_outlook_meeting_edited_then_cancelled(bridge_env: BridgeEnv) -> None:
    """The corpus life-cycle files of outlook_request.eml, one pass each."""
    env = bridge_env
    steps = [
        ("outlook_request.eml", ("2027-03-15 14:00:00", "2027-03-15 15:30:00")),
        ("update_request.eml", ("2027-03-15 16:00:00", "2027-03-15 17:30:00")),
        ("reschedule_request.eml", ("2027-03-22 14:00:00", "2027-03-22 15:30:00")),
    ]
    for name, _ in steps:
        env.deliver_corpus(name)
        once(env, "1 planned")
    # Both edits end later than the room they had: each got a fresh room.
    assert [(b["starting_at"], b["ending_at"]) for b in env.simulator.planned_bodies] == [
        times for _, times in steps
    ]
    assert all(b["timezone"] == "Europe/Berlin" for b in env.simulator.planned_bodies)
    env.deliver_corpus("cancel_request.eml")
    once(env, "1 planned")
    texts = [text_of(r.message) for r in env.smtp.messages]
    assert "The meeting link has changed" in texts[1] and "The meeting link has changed" in texts[2]
    assert "Cancelled: Quarterly planning review" in texts[3]
    assert rows(env, "SELECT status FROM meetings") == [("cancelled",)]
    assert len(env.uids("kmeet/processed")) == 4


def test_a_google_series_and_its_moved_occurrence(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver_corpus("series_request.eml")
    once(env, "1 planned")
    env.deliver_corpus("series_exception.eml")
    once(env, "1 planned")

    [body] = env.simulator.planned_bodies
    assert (body["starting_at"], body["ending_at"], body["timezone"]) == (
        "2027-03-01 10:00:00",
        "2027-03-01 11:00:00",
        "Europe/Zurich",
    )
    first, second = (text_of(r.message) for r in env.smtp.messages)
    assert "Repeats every Monday at 10:00, 10 times" in first
    assert room_url(env, 0) in second
    assert "This meeting of the series uses the link of the whole series" in second
