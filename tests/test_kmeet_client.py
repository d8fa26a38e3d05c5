"""The Infomaniak API client, against the API simulator over real HTTP on loopback."""

# The kmeet_simulator fixture is imported, so test parameters "redefine" it.

from __future__ import annotations

import email.utils
import logging
import re
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from kmeet_bridge import __version__
from kmeet_bridge.config import KmeetSettings
from kmeet_bridge.kmeet import (
    Calendar,
    KMeetClient,
    KMeetError,
    NotAuthorised,
    RateLimited,
    TransientError,
    UnexpectedAnswer,
    ValidationFailed,
    room_body,
)
from kmeet_bridge.models import Attendee, MeetingRequest, Room, Unplannable
from tests.support.fixtures_kmeet import kmeet_settings_for
from tests.support.kmeet_simulator import KMeetSimulator, validate_room_body

ZURICH = ZoneInfo("Europe/Zurich")
ROOM_NAME = re.compile(r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$")
SECRET_TOKEN = "tok-Zq8-DISTINCTIVE-4f1c9e2a7b"


def meeting(
    start: datetime,
    end: datetime | None = None,
    zone: str = "Europe/Zurich",
    **fields: Any,
) -> MeetingRequest:
    values: dict[str, Any] = {
        "key": "uid-1@example.com",
        "title": "Quarterly review",
        "start": start,
        "end": end or start + timedelta(hours=1),
        "timezone": zone,
    }
    values.update(fields)
    return MeetingRequest(**values)


def zurich_meeting(**fields: Any) -> MeetingRequest:
    return meeting(datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH), **fields)


def plan_zurich(simulator: KMeetSimulator, **settings: KmeetSettings) -> Room:
    config = kmeet_settings_for(simulator, **settings)
    with KMeetClient(config) as client:
        return client.plan(room_body(zurich_meeting(), config))


# --- room_body: pure --------------------------------------------------------


OFFLINE = "http://127.0.0.1:9"  # room_body is pure: its settings need no server


@pytest.fixture
def settings() -> KmeetSettings:
    return kmeet_settings_for(OFFLINE)


def test_room_body_is_the_documented_body(settings: KmeetSettings) -> None:
    request = zurich_meeting(
        description="Numbers for Q1",
        attendees=(
            Attendee("alice@example.com", "Alice Example", "ACCEPTED", organizer=True),
            Attendee("bob@example.org"),
        ),
    )
    assert room_body(request, settings) == {
        "calendar_id": 72618,
        "starting_at": "2027-02-03 09:00:00",
        "ending_at": "2027-02-03 10:00:00",
        "timezone": "Europe/Zurich",
        "hostname": "kmeet.infomaniak.com",
        "title": "Quarterly review",
        "description": "Numbers for Q1",
        "attendees": [
            {
                "address": "alice@example.com",
                "state": "ACCEPTED",
                "organizer": True,
                "name": "Alice Example",
            },
            {"address": "bob@example.org", "state": "NEEDS-ACTION"},
        ],
        "options": [
            {
                "subject": "Quarterly review",
                "start_audio_muted": False,
                "enable_recording": False,
                "enable_moderator_video": True,
                "start_audio_only": False,
                "lobby_enabled": False,
                "password_enabled": False,
                "e2ee_enabled": True,
            }
        ],
    }


@pytest.mark.parametrize(
    ("start", "zone", "starting_at", "ending_at"),
    [
        (datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH), "Europe/Zurich", "2027-02-03 09:00:00",
         "2027-02-03 10:00:00"),
        (datetime(2027, 7, 14, 16, 30, tzinfo=ZoneInfo("America/New_York")), "America/New_York",
         "2027-07-14 16:30:00", "2027-07-14 17:30:00"),
        (datetime(2027, 3, 1, 10, 15, tzinfo=ZoneInfo("Asia/Kolkata")), "Asia/Kolkata",
         "2027-03-01 10:15:00", "2027-03-01 11:15:00"),
        # Given in UTC, planned in the meeting's zone: winter (+1) and summer (+2).
        (datetime(2027, 2, 3, 8, 0, tzinfo=UTC), "Europe/Zurich", "2027-02-03 09:00:00",
         "2027-02-03 10:00:00"),
        (datetime(2027, 7, 1, 7, 0, tzinfo=UTC), "Europe/Zurich", "2027-07-01 09:00:00",
         "2027-07-01 10:00:00"),
        # Another zone's offset, converted: 09:00 New York is 15:00 in Zurich.
        (datetime(2027, 2, 3, 9, 0, tzinfo=ZoneInfo("America/New_York")), "Europe/Zurich",
         "2027-02-03 15:00:00", "2027-02-03 16:00:00"),
        # Naive: read as wall-clock time in the meeting's zone, not the machine's.
        (datetime(2027, 2, 3, 9, 0), "Asia/Kolkata", "2027-02-03 09:00:00",
         "2027-02-03 10:00:00"),
    ],
)  # fmt: skip
def test_room_body_times_are_wall_clock_in_the_meetings_zone(
    settings: KmeetSettings, start: datetime, zone: str, starting_at: str, ending_at: str
) -> None:
    body = room_body(meeting(start, zone=zone), settings)
    assert (body["starting_at"], body["ending_at"], body["timezone"]) == (
        starting_at,
        ending_at,
        zone,
    )


def test_room_body_drops_seconds_fractions(settings: KmeetSettings) -> None:
    start = datetime(2027, 2, 3, 9, 0, 30, 999_999, tzinfo=ZURICH)
    body = room_body(meeting(start), settings)
    assert body["starting_at"] == "2027-02-03 09:00:30"


def test_room_body_leaves_out_empty_description_and_attendees(settings: KmeetSettings) -> None:
    body = room_body(zurich_meeting(), settings)
    assert "description" not in body
    assert "attendees" not in body


def test_room_body_attendee_keys_only_when_set(settings: KmeetSettings) -> None:
    request = zurich_meeting(
        attendees=(
            Attendee("carol@example.net", None, "TENTATIVE", organizer=False),
            Attendee("dave@example.com", "", "DECLINED"),
        )
    )
    assert room_body(request, settings)["attendees"] == [
        {"address": "carol@example.net", "state": "TENTATIVE"},
        {"address": "dave@example.com", "state": "DECLINED"},
    ]


def test_room_body_normalises_states_and_skips_empty_and_duplicate_addresses(
    settings: KmeetSettings,
) -> None:
    request = zurich_meeting(
        attendees=(
            Attendee("erin@example.com", state="accepted"),
            Attendee("frank@example.com", state="IN-PROCESS"),
            Attendee("  "),
            Attendee("ERIN@example.com", state="DECLINED"),
        )
    )
    assert room_body(request, settings)["attendees"] == [
        {"address": "erin@example.com", "state": "ACCEPTED"},
        {"address": "frank@example.com", "state": "NEEDS-ACTION"},
    ]


def test_room_body_options_follow_the_room_settings() -> None:
    config = kmeet_settings_for(
        OFFLINE,
        start_audio_muted=True,
        enable_recording=True,
        drive_id=1234,
        enable_moderator_video=False,
        start_audio_only=True,
        lobby_enabled=True,
        e2ee_enabled=False,
    )
    # password_enabled is refused by the config until per-room passwords exist;
    # room_body already supports it.
    config = replace(config, room=replace(config.room, password_enabled=True))
    body = room_body(zurich_meeting(), config, password="correct-horse")
    assert body["options"] == [
        {
            "subject": "Quarterly review",
            "start_audio_muted": True,
            "enable_recording": True,
            "enable_moderator_video": False,
            "start_audio_only": True,
            "lobby_enabled": True,
            "password_enabled": True,
            "e2ee_enabled": False,
            "drive_id": 1234,
            "password": "correct-horse",
        }
    ]


def test_room_body_has_no_drive_id_or_password_unless_asked(settings: KmeetSettings) -> None:
    (options,) = room_body(zurich_meeting(), settings)["options"]
    assert "drive_id" not in options
    assert "password" not in options


def test_room_body_refuses_a_meeting_that_ends_before_it_starts(settings: KmeetSettings) -> None:
    start = datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH)
    with pytest.raises(Unplannable) as caught:
        room_body(meeting(start, start - timedelta(minutes=30)), settings)
    assert caught.value.reason == (
        "the meeting ends (2027-02-03 08:30:00) before it starts "
        "(2027-02-03 09:00:00, Europe/Zurich)"
    )
    with pytest.raises(Unplannable):
        room_body(meeting(start, start), settings)


def test_room_body_refuses_an_unknown_zone(settings: KmeetSettings) -> None:
    with pytest.raises(Unplannable) as caught:
        room_body(meeting(datetime(2027, 2, 3, 9, 0, tzinfo=UTC), zone="Mars/Olympus"), settings)
    assert caught.value.reason == 'the time zone "Mars/Olympus" is not a known IANA time zone name'


# --- planning through the simulator -----------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("start", "zone", "starting_at", "ending_at"),
    [
        (datetime(2027, 2, 3, 9, 0, tzinfo=ZURICH), "Europe/Zurich", "2027-02-03 09:00:00",
         "2027-02-03 10:00:00"),
        (datetime(2027, 11, 7, 1, 30, tzinfo=ZoneInfo("America/New_York")), "America/New_York",
         "2027-11-07 01:30:00", "2027-11-07 02:30:00"),
        (datetime(2027, 3, 1, 10, 15, tzinfo=ZoneInfo("Asia/Kolkata")), "Asia/Kolkata",
         "2027-03-01 10:15:00", "2027-03-01 11:15:00"),
        (datetime(2027, 2, 3, 8, 0, tzinfo=UTC), "Europe/Zurich", "2027-02-03 09:00:00",
         "2027-02-03 10:00:00"),
    ],
)  # fmt: skip
def test_plan_posts_wall_clock_times_the_api_accepts(
    kmeet_simulator: KMeetSimulator, start: datetime, zone: str, starting_at: str, ending_at: str
) -> None:
    config = kmeet_settings_for(kmeet_simulator)
    with KMeetClient(config) as client:
        room = client.plan(room_body(meeting(start, zone=zone), config))
    (posted,) = kmeet_simulator.planned_bodies
    assert (posted["starting_at"], posted["ending_at"], posted["timezone"]) == (
        starting_at,
        ending_at,
        zone,
    )
    assert kmeet_simulator.rooms[room.id]["ending_at"] == ending_at  # type: ignore[index]


@pytest.mark.integration
def test_plan_posts_exactly_the_body_with_token_and_user_agent(
    kmeet_simulator: KMeetSimulator,
) -> None:
    config = kmeet_settings_for(kmeet_simulator, lobby_enabled=True, e2ee_enabled=False)
    request = zurich_meeting(
        description="Numbers for Q1",
        attendees=(
            Attendee("alice@example.com", "Alice Example", "ACCEPTED", organizer=True),
            Attendee("bob@example.org"),
        ),
    )
    body = room_body(request, config)
    with KMeetClient(config) as client:
        client.plan(body)
    (received,) = kmeet_simulator.requests
    assert (received.method, received.path) == ("POST", "/1/kmeet/rooms")
    assert received.json == body
    assert received.notes == []
    assert received.headers["authorization"] == f"Bearer {kmeet_simulator.token}"
    assert received.headers["user-agent"] == f"kmeet-bridge/{__version__}"
    assert received.headers["content-type"] == "application/json"
    assert received.json["options"] == [
        {
            "subject": "Quarterly review",
            "start_audio_muted": False,
            "enable_recording": False,
            "enable_moderator_video": True,
            "start_audio_only": False,
            "lobby_enabled": True,
            "password_enabled": False,
            "e2ee_enabled": False,
        }
    ]
    assert received.json["attendees"] == [
        {
            "address": "alice@example.com",
            "state": "ACCEPTED",
            "organizer": True,
            "name": "Alice Example",
        },
        {"address": "bob@example.org", "state": "NEEDS-ACTION"},
    ]


@pytest.mark.integration
@pytest.mark.parametrize("e2ee", [True, False])
def test_the_room_says_whether_it_was_asked_end_to_end_encrypted(
    kmeet_simulator: KMeetSimulator, e2ee: bool
) -> None:
    # The API does not answer the setting back; the reply needs it to warn
    # guests whose browser cannot join an end-to-end encrypted meeting.
    config = kmeet_settings_for(kmeet_simulator, e2ee_enabled=e2ee)
    with KMeetClient(config) as client:
        room = client.plan(room_body(zurich_meeting(), config))
    assert room.e2ee_enabled is e2ee


@pytest.mark.integration
def test_plan_returns_the_room_the_api_answered(kmeet_simulator: KMeetSimulator) -> None:
    room = plan_zurich(kmeet_simulator)
    (stored,) = kmeet_simulator.rooms.values()
    assert ROOM_NAME.match(room.name)
    assert room == Room(
        url=f"https://kmeet.infomaniak.com/{stored['name']}",
        name=stored["name"],
        hostname="kmeet.infomaniak.com",
        id=stored["id"],
        code=stored["code"],
        event_id=stored["event_id"],
        ending_at="2027-02-03 10:00:00",
        e2ee_enabled=True,  # as asked (the default)
    )
    assert (room.id, room.event_id) == (155910, 4242)


@pytest.mark.integration
def test_plan_with_recording_sends_the_drive(kmeet_simulator: KMeetSimulator) -> None:
    plan_zurich(kmeet_simulator, enable_recording=True, drive_id=987)
    (posted,) = kmeet_simulator.planned_bodies
    assert posted["options"][0]["enable_recording"] is True
    assert posted["options"][0]["drive_id"] == 987


@pytest.mark.integration
def test_plan_builds_the_url_from_the_answered_hostname(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(
        200,
        {
            "result": "success",
            "data": {"id": 7, "name": "abc-defg-hij", "hostname": "meet.example.net",
                     "ending_at": "2027-02-03 10:00:00", "options": []},
        },
    )  # fmt: skip
    room = plan_zurich(kmeet_simulator)
    assert room.url == "https://meet.example.net/abc-defg-hij"
    assert room.hostname == "meet.example.net"
    assert (room.id, room.code, room.event_id) == (7, None, None)


@pytest.mark.integration
def test_plan_falls_back_to_the_configured_hostname(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(200, {"result": "success", "data": {"name": "abc-defg-hij"}})
    room = plan_zurich(kmeet_simulator, hostname="kmeet.example.org")
    assert room.url == "https://kmeet.example.org/abc-defg-hij"


@pytest.mark.integration
def test_asynchronous_with_a_name_counts_as_planned(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(
        200,
        {"result": "asynchronous", "data": {"id": 9, "name": "xyz-abcd-efg",
                                            "hostname": "kmeet.infomaniak.com"}},
    )  # fmt: skip
    room = plan_zurich(kmeet_simulator)
    assert room.url == "https://kmeet.infomaniak.com/xyz-abcd-efg"
    assert room.id == 9


@pytest.mark.integration
def test_asynchronous_without_a_name_is_in_doubt(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(200, {"result": "asynchronous", "data": {"id": 9}})
    with pytest.raises(UnexpectedAnswer) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.in_doubt is True
    assert caught.value.transient is False
    assert "no meeting URL can be built" in str(caught.value)
    assert "asynchronous" in str(caught.value)


@pytest.mark.integration
@pytest.mark.parametrize(
    "answer",
    [
        {"result": "success", "data": {"id": 1, "hostname": "kmeet.infomaniak.com"}},
        {"result": "success", "data": {"id": 1, "name": ""}},
        {"result": "success", "data": {"id": 1, "name": None}},
        {"result": "success", "data": {"id": 1, "name": 12345}},
        {"result": "success", "data": None},
        {"result": "success"},
        # Names that would change the URL's meaning.
        {"result": "success", "data": {"name": "../admin"}},
        {"result": "success", "data": {"name": "abc def"}},
        {"result": "success", "data": {"name": "abc?x=1"}},
        {"result": "success", "data": {"name": "abc", "hostname": "evil.example.com/x"}},
    ],
)
def test_a_success_without_a_usable_name_is_a_clear_error(
    kmeet_simulator: KMeetSimulator, answer: dict[str, Any]
) -> None:
    kmeet_simulator.answer_next(200, answer)
    with pytest.raises(UnexpectedAnswer) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.in_doubt is True
    assert "no meeting URL can be built" in str(caught.value)


@pytest.mark.integration
@pytest.mark.parametrize(
    "answer",
    [b"<html>maintenance</html>", b"", b'["success"]', {"result": "pending", "data": {}}],
)
def test_an_unusable_200_is_unexpected_and_in_doubt(
    kmeet_simulator: KMeetSimulator, answer: Any
) -> None:
    kmeet_simulator.answer_next(200, answer)
    with pytest.raises(UnexpectedAnswer) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.in_doubt is True
    assert caught.value.status == 200


@pytest.mark.integration
def test_the_client_never_retries(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.fail_next(500, times=3)
    with pytest.raises(TransientError):
        plan_zurich(kmeet_simulator)
    assert len(kmeet_simulator.requests) == 1


# --- error paths --------------------------------------------------------------


@pytest.mark.integration
def test_a_wrong_token_is_not_authorised(kmeet_simulator: KMeetSimulator) -> None:
    with pytest.raises(NotAuthorised) as caught:
        plan_zurich(kmeet_simulator, token="not-the-right-token")
    error = caught.value
    assert (error.status, error.code, error.transient) == (401, "not_authorized", False)
    assert str(error) == (
        "the API token was refused (HTTP 401: not_authorized, Authorization required, "
        "POST /1/kmeet/rooms); create a token with the kMeet and calendar scopes in the "
        "Infomaniak Manager (API tokens) and put it in [kmeet] token_file"
    )
    assert kmeet_simulator.planned_bodies == []


@pytest.mark.integration
def test_forbidden_is_not_authorised(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.fail_next(403)
    with pytest.raises(NotAuthorised) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.status == 403
    assert "kMeet and calendar scopes" in str(caught.value)


@pytest.mark.integration
def test_a_body_the_api_refuses_is_validation_failed(kmeet_simulator: KMeetSimulator) -> None:
    with pytest.raises(ValidationFailed) as caught:
        plan_zurich(kmeet_simulator, calendar_id=11111)  # not one of the simulator's
    error = caught.value
    assert (error.status, error.code, error.transient) == (422, "validation_failed", False)
    assert error.description == "The given data was invalid"
    assert error.errors == [
        {
            "code": "validation_exists",
            "description": "calendar_id must be one of your calendars",
            "context": {"attribute": "calendar_id"},
        }
    ]
    assert "The given data was invalid - calendar_id must be one of your calendars" in str(error)


@pytest.mark.integration
def test_validation_failed_quotes_the_apis_own_description(
    kmeet_simulator: KMeetSimulator,
) -> None:
    kmeet_simulator.fail_next(
        422,
        envelope={"result": "error", "error": {"code": "validation_failed",
                                               "description": "The title is too long"}},
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.description == "The title is too long"
    assert caught.value.errors == []
    assert "The title is too long" in str(caught.value)


@pytest.mark.integration
def test_rate_limited_with_retry_after_seconds(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.fail_next(429, retry_after="7")
    with pytest.raises(RateLimited) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.retry_after == 7.0
    assert caught.value.transient is True
    assert caught.value.status == 429
    assert "retry in 7 s" in str(caught.value)


@pytest.mark.integration
def test_rate_limited_with_retry_after_date(kmeet_simulator: KMeetSimulator) -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    kmeet_simulator.fail_next(429, retry_after=email.utils.format_datetime(later, usegmt=True))
    with pytest.raises(RateLimited) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.retry_after is not None
    assert 25.0 <= caught.value.retry_after <= 30.0


@pytest.mark.integration
@pytest.mark.parametrize(("header", "expected"), [(None, None), ("soon", None), ("-3", 0.0)])
def test_rate_limited_without_a_usable_retry_after(
    kmeet_simulator: KMeetSimulator, header: str | None, expected: float | None
) -> None:
    kmeet_simulator.fail_next(429, retry_after=header)
    with pytest.raises(RateLimited) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.retry_after == expected


@pytest.mark.integration
@pytest.mark.parametrize(("status", "expected"), [(503, 600.0), (500, None), (502, None)])
def test_only_a_503_says_how_long_to_wait(
    kmeet_simulator: KMeetSimulator, status: int, expected: float | None
) -> None:
    kmeet_simulator.fail_next(status, retry_after="600")
    with pytest.raises(TransientError) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.retry_after == expected
    assert ("(the API asked to wait 600 s)" in str(caught.value)) == (expected is not None)


@pytest.mark.integration
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(kmeet_simulator: KMeetSimulator, status: int) -> None:
    kmeet_simulator.fail_next(status)  # 500: an envelope; 502-504: a proxy's HTML page
    with pytest.raises(TransientError) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.status == status
    assert caught.value.transient is True
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.in_doubt is (status == 504)


@pytest.mark.integration
def test_a_slow_answer_is_transient_and_in_doubt(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.set_delay(2)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        plan_zurich(kmeet_simulator, timeout=1)
    assert time.monotonic() - started < 1.8
    assert caught.value.in_doubt is True  # the POST reached the API
    assert str(caught.value).startswith(
        "the Infomaniak API did not answer within 1 s (POST /1/kmeet/rooms; "
        "the request may have been carried out)"
    )


@pytest.mark.integration
def test_a_dropped_connection_is_transient(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.drop_next()
    with pytest.raises(TransientError) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.in_doubt is True
    assert "closed the connection without a complete answer" in str(caught.value)
    assert len(kmeet_simulator.requests) == 1  # the request was read before the drop


@pytest.mark.integration
def test_a_refused_connection_is_transient_and_not_in_doubt(
    kmeet_simulator: KMeetSimulator,
) -> None:
    config = replace(kmeet_settings_for(kmeet_simulator), api_url=_closed_port_url())
    with KMeetClient(config) as client, pytest.raises(TransientError) as caught:
        client.plan(room_body(zurich_meeting(), config))
    assert caught.value.in_doubt is False
    assert "could not be reached" in str(caught.value)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("not_authorized", NotAuthorised),
        ("validation_failed", ValidationFailed),
        ("too_many_requests", RateLimited),
        ("service_unavailable", TransientError),
    ],
)
def test_an_error_envelope_on_a_200_is_recognised(
    kmeet_simulator: KMeetSimulator, code: str, kind: type[KMeetError]
) -> None:
    kmeet_simulator.answer_next(
        200, {"result": "error", "error": {"code": code, "description": "Said the API"}}
    )
    with pytest.raises(kind) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.code == code
    assert caught.value.status == 200
    assert "Said the API" in str(caught.value)


@pytest.mark.integration
def test_an_unknown_error_envelope_on_a_200_is_unexpected(
    kmeet_simulator: KMeetSimulator,
) -> None:
    kmeet_simulator.answer_next(
        200, {"result": "error", "error": {"code": "quota_exceeded", "description": "No more"}}
    )
    with pytest.raises(UnexpectedAnswer) as caught:
        plan_zurich(kmeet_simulator)
    assert caught.value.in_doubt is False  # the API said it failed
    assert "quota_exceeded (No more)" in str(caught.value)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, NotAuthorised), (403, NotAuthorised), (422, ValidationFailed), (429, RateLimited)],
)
def test_the_status_decides_without_an_envelope(
    kmeet_simulator: KMeetSimulator, status: int, kind: type[KMeetError]
) -> None:
    kmeet_simulator.fail_next(status, raw_body=b"<html>no envelope here</html>")
    with pytest.raises(kind) as caught:
        plan_zurich(kmeet_simulator)
    assert type(caught.value) is kind
    assert (caught.value.status, caught.value.code) == (status, None)


@pytest.mark.integration
def test_an_unknown_4xx_is_a_plain_error(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.fail_next(404)
    with pytest.raises(KMeetError) as caught:
        plan_zurich(kmeet_simulator)
    assert type(caught.value) is KMeetError
    assert caught.value.transient is False
    assert "HTTP 404: Not found" in str(caught.value)


@pytest.mark.integration
def test_a_token_that_cannot_be_sent_is_refused_before_any_request(
    kmeet_simulator: KMeetSimulator,
) -> None:
    config = kmeet_settings_for(kmeet_simulator, token="tök-SECRETVALUE")
    with pytest.raises(NotAuthorised) as caught:
        KMeetClient(config)
    assert "SECRETVALUE" not in str(caught.value)
    assert kmeet_simulator.requests == []


# --- calendars ----------------------------------------------------------------


@pytest.mark.integration
def test_list_calendars(kmeet_simulator: KMeetSimulator) -> None:
    config = kmeet_settings_for(kmeet_simulator)
    with KMeetClient(config) as client:
        calendars = client.list_calendars()
    assert calendars == [Calendar(72618, "Meetings"), Calendar(72619, "Team")]
    (received,) = kmeet_simulator.requests
    assert (received.method, received.path) == ("GET", "/api/pim/calendar")
    assert received.headers["authorization"] == f"Bearer {kmeet_simulator.token}"


@pytest.mark.integration
def test_list_calendars_of_a_configured_simulator() -> None:
    calendars = [(1, "Board"), {"id": 2, "name": "Support", "color": "#000000"}]
    with KMeetSimulator(calendars=calendars) as simulator:
        config = kmeet_settings_for(simulator)
        with KMeetClient(config) as client:
            assert client.list_calendars() == [Calendar(1, "Board"), Calendar(2, "Support")]


@pytest.mark.integration
def test_list_calendars_skips_entries_without_an_id(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(
        200,
        {"result": "success", "data": {"calendars": [{"name": "No id"}, {"id": "5"}, "junk"]}},
    )
    config = kmeet_settings_for(kmeet_simulator)
    with KMeetClient(config) as client:
        assert client.list_calendars() == [Calendar(5, "")]


@pytest.mark.integration
def test_list_calendars_without_a_list_is_unexpected(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.answer_next(200, {"result": "success", "data": {"items": []}})
    config = kmeet_settings_for(kmeet_simulator)
    with KMeetClient(config) as client, pytest.raises(UnexpectedAnswer):
        client.list_calendars()


@pytest.mark.integration
def test_a_slow_calendar_list_is_transient_and_not_in_doubt(
    kmeet_simulator: KMeetSimulator,
) -> None:
    kmeet_simulator.set_delay(2)
    config = kmeet_settings_for(kmeet_simulator, timeout=1)
    with KMeetClient(config) as client, pytest.raises(TransientError) as caught:
        client.list_calendars()
    assert caught.value.in_doubt is False  # a GET changes nothing


# --- the token never leaks ------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _echo(simulator: KMeetSimulator, status: int, code: str) -> None:
    # An API that quotes the token back must not get it into our messages either.
    simulator.answer_next(
        status,
        {"result": "error", "error": {"code": code, "description": f"bad token {SECRET_TOKEN}",
                                      "errors": [{"description": f"token {SECRET_TOKEN}"}]}},
    )  # fmt: skip


FAULTS: dict[str, Callable[[KMeetSimulator], None]] = {
    "401": lambda sim: sim.fail_next(401),
    "403": lambda sim: sim.fail_next(403),
    "422": lambda sim: sim.fail_next(422),
    "422 echoing the token": lambda sim: _echo(sim, 422, "validation_failed"),
    "401 echoing the token": lambda sim: _echo(sim, 401, "not_authorized"),
    "200 error echoing the token": lambda sim: _echo(sim, 200, "something_new"),
    "500 echoing the token": lambda sim: _echo(sim, 500, "internal_error"),
    "429": lambda sim: sim.fail_next(429, retry_after="7"),
    "500": lambda sim: sim.fail_next(500),
    "503": lambda sim: sim.fail_next(503),
    "slow": lambda sim: sim.set_delay(2),
    "dropped": lambda sim: sim.drop_next(),
    "no name": lambda sim: sim.answer_next(200, {"result": "success", "data": {}}),
    "asynchronous": lambda sim: sim.answer_next(200, {"result": "asynchronous"}),
    "not json": lambda sim: sim.answer_next(200, b"not json " + SECRET_TOKEN.encode()),
    # Headers of answers are not echoed: httpcore's own debug log prints them verbatim.
    "redirect": lambda sim: sim.answer_next(302, {}, headers={"Location": "https://example.com/"}),
}


@pytest.mark.integration
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_token_appears_in_no_error(fault: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with KMeetSimulator(token=SECRET_TOKEN) as simulator:
        FAULTS[fault](simulator)
        with pytest.raises(KMeetError) as caught:
            plan_zurich(simulator, timeout=1)
    _assert_token_absent(caught.value, caplog)


@pytest.mark.integration
def test_the_token_appears_in_no_error_when_wrong_or_unreachable(
    kmeet_simulator: KMeetSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotAuthorised) as caught:
        plan_zurich(kmeet_simulator, token=SECRET_TOKEN)  # the simulator wants another
    _assert_token_absent(caught.value, caplog)

    config = replace(
        kmeet_settings_for(kmeet_simulator, token=SECRET_TOKEN),
        calendar_api_url=_closed_port_url(),
    )
    with KMeetClient(config) as client, pytest.raises(TransientError) as refused:
        client.list_calendars()
    _assert_token_absent(refused.value, caplog)
    assert SECRET_TOKEN not in repr(client)


def _assert_token_absent(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert error.__cause__ is None
    assert error.__context__ is None  # no httpx exception (and its request headers) chained
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [str(vars(error))]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert SECRET_TOKEN not in text


# --- the simulator is strict ---------------------------------------------------


def documented_example() -> dict[str, Any]:
    return {
        "calendar_id": 72618,
        "starting_at": "2020-06-01 20:00:00",
        "ending_at": "2020-06-01 21:00:00",
        "timezone": "Europe/Zurich",
        "hostname": "kmeet.infomaniak.com",
        "title": "example",
        "options": [
            {
                "subject": "example",
                "start_audio_muted": False,
                "enable_recording": False,
                "enable_moderator_video": True,
                "start_audio_only": True,
                "lobby_enabled": False,
                "password_enabled": False,
                "e2ee_enabled": True,
            }
        ],
    }


def post_room(simulator: KMeetSimulator, body: Any, token: str | None = None) -> httpx.Response:
    headers = {} if token == "" else {"Authorization": f"Bearer {token or simulator.token}"}
    return httpx.post(f"{simulator.url}/1/kmeet/rooms", json=body, headers=headers, timeout=5)


def rejected_attributes(response: httpx.Response) -> list[str]:
    assert response.status_code == 422
    document = response.json()
    assert document["result"] == "error"
    assert document["error"]["code"] == "validation_failed"
    assert document["error"]["description"] == "The given data was invalid"
    return [error["context"]["attribute"] for error in document["error"]["errors"]]


@pytest.mark.integration
def test_simulator_accepts_the_documented_example(kmeet_simulator: KMeetSimulator) -> None:
    response = post_room(kmeet_simulator, documented_example())
    assert response.status_code == 200
    document = response.json()
    assert document["result"] == "success"
    data = document["data"]
    assert set(data) == {
        "id", "name", "code", "user_id", "event_id", "created_at", "updated_at",
        "ending_at", "hostname", "options",
    }  # fmt: skip
    assert ROOM_NAME.match(data["name"])
    assert (data["ending_at"], data["hostname"]) == ("2020-06-01 21:00:00", "kmeet.infomaniak.com")
    assert data["options"] == documented_example()["options"]


@pytest.mark.integration
def test_simulator_gives_unique_names_and_increasing_ids(
    kmeet_simulator: KMeetSimulator,
) -> None:
    first = post_room(kmeet_simulator, documented_example()).json()["data"]
    second = post_room(kmeet_simulator, documented_example()).json()["data"]
    assert second["id"] == first["id"] + 1
    assert second["event_id"] == first["event_id"] + 1
    assert first["name"] != second["name"]
    assert list(kmeet_simulator.rooms) == [first["id"], second["id"]]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("change", "attributes"),
    [
        ({"starting_at": "2027-02-03T09:00:00Z"}, ["starting_at"]),
        ({"starting_at": "2027-02-03 09:00"}, ["starting_at"]),
        ({"ending_at": "2027-02-30 10:00:00"}, ["ending_at"]),
        ({"ending_at": "2020-06-01 19:00:00"}, ["ending_at"]),
        ({"ending_at": "2020-06-01 20:00:00"}, ["ending_at"]),
        ({"timezone": "+02:00"}, ["timezone"]),
        ({"timezone": "Mars/Olympus"}, ["timezone"]),
        ({"calendar_id": 11111}, ["calendar_id"]),
        ({"calendar_id": "72618"}, ["calendar_id"]),
        ({"calendar_id": True}, ["calendar_id"]),
        ({"title": ""}, ["title"]),
        ({"hostname": "https://kmeet.infomaniak.com/"}, ["hostname"]),
        ({"description": 5}, ["description"]),
        ({"options": []}, ["options"]),
        ({"options": [{}, {}]}, ["options"]),
        ({"options": ["lobby"]}, ["options.0"]),
        ({"options": [{"lobby_enabled": "yes"}]}, ["options.0.lobby_enabled"]),
        ({"options": [{"e2e_enabled": True}]}, ["options.0.e2e_enabled"]),
        ({"options": [{"enable_recording": True}]}, ["options.0.drive_id"]),
        ({"options": [{"enable_recording": True, "drive_id": "x"}]}, ["options.0.drive_id"]),
        ({"options": [{"password_enabled": True}]}, ["options.0.password"]),
        ({"attendees": {"address": "a@example.com"}}, ["attendees"]),
        ({"attendees": [{"address": "a@example.com", "state": "MAYBE"}]}, ["attendees.0.state"]),
        ({"attendees": [{"address": "a@example.com"}]}, ["attendees.0.state"]),
        ({"attendees": [{"state": "ACCEPTED"}]}, ["attendees.0.address"]),
        ({"attendees": [{"address": "nobody", "state": "ACCEPTED"}]}, ["attendees.0.address"]),
        (
            {"attendees": [{"address": "a@example.com", "state": "ACCEPTED", "organizer": 1}]},
            ["attendees.0.organizer"],
        ),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_simulator_rejects_what_the_documentation_forbids(
    kmeet_simulator: KMeetSimulator, change: dict[str, Any], attributes: list[str]
) -> None:
    body = {**documented_example(), **change}
    assert rejected_attributes(post_room(kmeet_simulator, body)) == attributes
    assert kmeet_simulator.rooms == {}


@pytest.mark.integration
@pytest.mark.parametrize(
    "field", ["calendar_id", "starting_at", "ending_at", "timezone", "hostname", "title", "options"]
)
def test_simulator_requires_every_required_field(
    kmeet_simulator: KMeetSimulator, field: str
) -> None:
    body = documented_example()
    del body[field]
    assert rejected_attributes(post_room(kmeet_simulator, body)) == [field]


@pytest.mark.integration
def test_simulator_rejects_a_body_that_is_not_json(kmeet_simulator: KMeetSimulator) -> None:
    response = httpx.post(
        f"{kmeet_simulator.url}/1/kmeet/rooms",
        content=b"{not json",
        headers={"Authorization": f"Bearer {kmeet_simulator.token}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    assert rejected_attributes(response) == ["body"]


@pytest.mark.integration
def test_simulator_accepts_a_bare_options_object_and_notes_it(
    kmeet_simulator: KMeetSimulator,
) -> None:
    body = documented_example()
    body["options"] = body["options"][0]
    response = post_room(kmeet_simulator, body)
    assert response.status_code == 200
    assert response.json()["data"]["options"] == [body["options"]]
    assert kmeet_simulator.requests[-1].notes == ["options sent as a bare object"]


@pytest.mark.integration
def test_simulator_never_returns_the_password(kmeet_simulator: KMeetSimulator) -> None:
    body = documented_example()
    body["options"][0].update(password_enabled=True, password="s3cret-room")
    data = post_room(kmeet_simulator, body).json()["data"]
    assert "password" not in data["options"][0]
    assert data["options"][0]["password_enabled"] is True


@pytest.mark.integration
@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_simulator_requires_the_bearer_token(kmeet_simulator: KMeetSimulator, token: str) -> None:
    response = post_room(kmeet_simulator, documented_example(), token=token)
    assert response.status_code == 401
    assert response.json() == {
        "result": "error",
        "error": {"code": "not_authorized", "description": "Authorization required", "context": {}},
    }
    calendars = httpx.get(f"{kmeet_simulator.url}/api/pim/calendar")
    assert calendars.status_code == 401
    assert kmeet_simulator.rooms == {}


@pytest.mark.integration
def test_simulator_room_settings_and_delete(kmeet_simulator: KMeetSimulator) -> None:
    auth = {"Authorization": f"Bearer {kmeet_simulator.token}"}
    data = post_room(kmeet_simulator, documented_example()).json()["data"]
    settings_url = f"{kmeet_simulator.url}/1/kmeet/rooms/{data['id']}/settings"
    answer = httpx.get(settings_url, headers=auth).json()
    assert answer["result"] == "success"
    assert answer["data"]["name"] == data["name"]
    assert answer["data"]["options"] == data["options"]
    room_url = f"{kmeet_simulator.url}/1/kmeet/rooms/{data['id']}"
    assert httpx.delete(room_url, headers=auth).json() == {"result": "success", "data": True}
    assert kmeet_simulator.rooms == {}
    assert httpx.get(settings_url, headers=auth).status_code == 404
    assert httpx.delete(room_url, headers=auth).status_code == 404
    assert kmeet_simulator.planned_bodies == [documented_example()]


@pytest.mark.integration
def test_simulator_faults_come_in_order_and_reset(kmeet_simulator: KMeetSimulator) -> None:
    kmeet_simulator.fail_next(500, times=2)
    kmeet_simulator.answer_next(200, {"result": "asynchronous"})
    kmeet_simulator.fail_next(429, retry_after="3")
    statuses = []
    for _ in range(4):
        response = post_room(kmeet_simulator, documented_example())
        statuses.append((response.status_code, response.headers.get("Retry-After")))
    assert statuses == [(500, None), (500, None), (200, None), (429, "3")]
    assert post_room(kmeet_simulator, documented_example()).json()["result"] == "success"
    kmeet_simulator.fail_next(500)
    kmeet_simulator.set_delay(5)
    kmeet_simulator.reset()
    assert post_room(kmeet_simulator, documented_example()).status_code == 200
    assert [r.status for r in kmeet_simulator.requests] == [500, 500, 200, 429, 200, 200]


def test_validate_room_body_directly() -> None:
    errors, notes = validate_room_body(documented_example(), [72618])
    assert (errors, notes) == ([], [])
    errors, _ = validate_room_body([], [72618])
    assert [e["context"]["attribute"] for e in errors] == ["body"]
