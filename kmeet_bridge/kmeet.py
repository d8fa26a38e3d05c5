"""Infomaniak kMeet API client: plan a conference, list calendars.

`room_body` turns a `MeetingRequest` into the documented `POST /1/kmeet/rooms`
body (pure, no I/O). `KMeetClient` sends it and turns the answer into a `Room`,
or into one of the errors below. The client never retries: every error says
whether retrying can help (`transient`) and whether the API may already have
acted on the request (`in_doubt`), and the bridge decides.

The API token never appears in an error message, a repr or a log line: error
texts are built here, anything that comes from the network is scrubbed of the
token, and httpx exceptions (which hold the request and its headers) are not
chained to ours.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from kmeet_bridge import __version__
from kmeet_bridge.config import KmeetSettings, RoomSettings
from kmeet_bridge.models import ATTENDEE_STATES, MeetingRequest, Room, RoomOptions, Unplannable

log = logging.getLogger(__name__)

ROOMS_PATH = "/1/kmeet/rooms"
CALENDARS_PATH = "/api/pim/calendar"
WALL_CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"
USER_AGENT = f"kmeet-bridge/{__version__}"
ROOM_FLAGS = (
    "start_audio_muted",
    "enable_recording",
    "enable_moderator_video",
    "start_audio_only",
    "lobby_enabled",
    "password_enabled",
    "e2ee_enabled",
)

TOKEN_ADVICE = (
    "create a token with the kMeet and calendar scopes in the Infomaniak Manager "
    "(API tokens) and put it in [kmeet] token_file"
)
RETRY_ADVICE = "try again later; if it keeps failing, check the network and [kmeet] api_url"
IN_DOUBT_ADVICE = (
    "the meeting may have been planned: look in the Infomaniak Calendar before planning it again"
)
MAX_TEXT = 300  # longest piece of API-supplied text quoted in a message

# Error codes of the API's error envelope, by what they mean to us. Only
# not_authorized and validation_failed are documented; the others are the
# usual spellings, so that an envelope on a 200 is not mistaken for an
# unknown answer.
AUTH_CODES = frozenset(
    {
        "not_authorized",
        "unauthorized",
        "unauthenticated",
        "forbidden",
        "access_denied",
        "invalid_token",
        "token_invalid",
        "token_expired",
    }
)
VALIDATION_CODES = frozenset(
    {
        "validation_failed",
        "validation_error",
        "invalid_request",
        "invalid_parameters",
        "bad_request",
        "unprocessable_entity",
    }
)
RATE_CODES = frozenset({"too_many_requests", "rate_limited", "rate_limit_exceeded"})
TRANSIENT_CODES = frozenset(
    {
        "internal_error",
        "internal_server_error",
        "server_error",
        "service_unavailable",
        "maintenance",
        "timeout",
        "gateway_timeout",
    }
)

_HOSTNAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[0-9]{1,5})?$"
)
# A room name is one URL path segment: nothing that could change the URL's meaning.
_ROOM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,254}$")


# --- errors -----------------------------------------------------------------


class KMeetError(Exception):
    """Something went wrong talking to the Infomaniak API.

    `str()` is one line that says what happened and what to do. `transient`
    says whether retrying later can help; `in_doubt` says the API may already
    have acted on the request (never retry a plan automatically then: it could
    plan the meeting twice). `status` and `code` are the HTTP status and the
    API's error code, when there were any; `retry_after` the seconds a 429 or
    503 asked to wait (Retry-After), when it said.
    """

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        in_doubt: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.in_doubt = in_doubt
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class NotAuthorised(KMeetError):
    """The token was refused (401/403 or an authorisation error code)."""


class ValidationFailed(KMeetError):
    """The API rejected the body (422 or a validation error code).

    `description` is the API's own description, `errors` the per-field errors
    (a list of objects with at least `description`), when it gave any.
    """

    def __init__(
        self,
        message: str,
        *,
        description: str = "",
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.description = description
        self.errors = errors or []


class RateLimited(KMeetError):
    """Too many requests (429)."""

    transient = True


class TransientError(KMeetError):
    """The API could not be reached or failed on its side (5xx, timeout, dropped connection)."""

    transient = True


class UnexpectedAnswer(KMeetError):
    """An answer the client cannot use: not JSON, an unknown error, no room name."""


# --- the request body -------------------------------------------------------


def room_body(
    meeting: MeetingRequest, settings: KmeetSettings, *, password: str | None = None
) -> dict[str, Any]:
    """The `POST /1/kmeet/rooms` body for `meeting`, exactly as documented.

    Times are wall-clock times in the meeting's own zone. `password` is the
    hook for per-meeting room passwords: when given it goes into the options
    (the API requires one when `password_enabled` is true).

    Raises `Unplannable` for a meeting the API could only refuse: an unknown
    time zone, or an end that is not after the start.
    """
    zone = _zone(meeting.timezone)
    start = _in_zone(meeting.start, zone)
    end = _in_zone(meeting.end, zone)
    if end.timestamp() <= start.timestamp():
        raise Unplannable(
            f"the meeting ends ({end.strftime(WALL_CLOCK_FORMAT)}) before it starts "
            f"({start.strftime(WALL_CLOCK_FORMAT)}, {meeting.timezone})",
            "send it again with an end time after the start time",
        )
    body: dict[str, Any] = {
        "calendar_id": settings.calendar_id,
        "starting_at": start.strftime(WALL_CLOCK_FORMAT),
        "ending_at": end.strftime(WALL_CLOCK_FORMAT),
        "timezone": meeting.timezone,
        "hostname": settings.hostname,
        "title": meeting.title,
    }
    if meeting.description:
        body["description"] = meeting.description
    attendees = _attendees(meeting)
    if attendees:
        body["attendees"] = attendees
    body["options"] = [_options(meeting.title, effective_room(meeting, settings), password)]
    return body


def room_options_of(body: dict[str, Any]) -> RoomOptions:
    """The room settings a `room_body` asks for, every one decided: what the
    state keeps of a room, so that a later room for the same meeting (an answer
    moving it past the room's end) is planned with the same settings."""
    options = body["options"][0]
    return RoomOptions(**{name: bool(options[name]) for name in _REQUESTABLE})


_REQUESTABLE = ("lobby_enabled", "password_enabled", "e2ee_enabled", "enable_recording")


# No look-alike characters (0/O, 1/l/I): people read it from an email and type it.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_room_password() -> str:
    """A strong room password: 16 characters (about 92 bits) from `secrets`, in
    four groups so it can be read out and typed."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def effective_room(meeting: MeetingRequest, settings: KmeetSettings) -> RoomSettings:
    """`[kmeet.room]` with the meeting's own choices on top. Recording can only be
    turned off by a request: turning it on needs the drive the administrator chose."""
    wanted = meeting.options
    room = settings.room
    return replace(
        room,
        lobby_enabled=_choose(wanted.lobby_enabled, room.lobby_enabled),
        password_enabled=_choose(wanted.password_enabled, room.password_enabled),
        e2ee_enabled=_choose(wanted.e2ee_enabled, room.e2ee_enabled),
        enable_recording=room.enable_recording and wanted.enable_recording is not False,
    )


def _choose(wanted: bool | None, configured: bool) -> bool:
    return configured if wanted is None else wanted


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unplannable(
            f'the time zone "{name}" is not a known IANA time zone name',
            'use a zone name such as "Europe/Zurich"',
        ) from None


def _in_zone(moment: datetime, zone: ZoneInfo) -> datetime:
    # A naive time is read as wall-clock time in the meeting's zone, never as the
    # machine's local time (which is what astimezone() would assume).
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _attendees(meeting: MeetingRequest) -> list[dict[str, Any]]:
    seen: set[str] = set()
    attendees: list[dict[str, Any]] = []
    for attendee in meeting.attendees:
        address = attendee.address.strip()
        if not address or address.lower() in seen:
            continue  # the API would refuse an empty address; a duplicate adds nothing
        seen.add(address.lower())
        state = attendee.state.strip().upper()
        # One odd PARTSTAT (e.g. IN-PROCESS) must not make the API refuse the whole meeting.
        entry: dict[str, Any] = {
            "address": address,
            "state": state if state in ATTENDEE_STATES else "NEEDS-ACTION",
        }
        if attendee.organizer:
            entry["organizer"] = True
        if attendee.name:
            entry["name"] = attendee.name
        attendees.append(entry)
    return attendees


def _options(title: str, room: RoomSettings, password: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"subject": title}
    for flag in ROOM_FLAGS:
        options[flag] = bool(getattr(room, flag))
    if room.enable_recording and room.drive_id is not None:
        options["drive_id"] = room.drive_id
    if password is not None:
        options["password"] = password
    return options


# --- the client -------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """An Infomaniak Calendar, as `kmeet-bridge calendars` lists it."""

    id: int
    name: str


class KMeetClient:
    """Synchronous client of the Infomaniak API. No retries: see the module doc."""

    def __init__(
        self,
        settings: KmeetSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        observe: Callable[[str, str, float], None] | None = None,
    ) -> None:
        """`observe(method, status, seconds)` hears of every request once it has
        its answer: the HTTP status, or "none" when no answer came (metrics.py)."""
        self._observe = observe
        token = settings.token.reveal()
        _check_token(token)
        self._settings = settings
        self._token = token
        seconds = float(settings.timeout)
        self._timeout = seconds
        self._http = httpx.Client(
            timeout=httpx.Timeout(seconds, connect=min(10.0, seconds)),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            transport=transport,
            follow_redirects=False,  # a redirect means a wrong api_url; say so instead
        )

    def __repr__(self) -> str:
        return f"KMeetClient(api_url={self._settings.api_url!r})"

    def __enter__(self) -> KMeetClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def plan(self, body: Mapping[str, Any]) -> Room:
        """Plan a conference (`POST /1/kmeet/rooms`); `body` comes from `room_body`."""
        result, data = self._call("POST", self._settings.api_url, ROOMS_PATH, dict(body))
        # result "asynchronous" is not explained by the API documentation. We read it
        # as "accepted, finishing in the background": with a room name the URL is
        # known and the room exists or will, so the meeting counts as planned. Without
        # a name nothing usable came back, yet the API may have planned something, so
        # _room raises UnexpectedAnswer with in_doubt=True and transient=False: an
        # automatic retry could plan the same meeting twice.
        return self._room(data, body, result)

    def delete_room(self, room_id: int) -> None:
        """Remove a planned room (`DELETE /1/kmeet/rooms/{id}`).

        Not in the reference documentation, only seen in public client code, so
        the bridge calls it only with `[kmeet] delete_cancelled_rooms = true`.
        A 404 (already gone) raises KMeetError with status 404."""
        self._call("DELETE", self._settings.api_url, f"{ROOMS_PATH}/{int(room_id)}")

    def list_calendars(self) -> list[Calendar]:
        """The calendars the token can see (`GET /api/pim/calendar`)."""
        _, data = self._call("GET", self._settings.calendar_api_url, CALENDARS_PATH)
        items = data.get("calendars") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise UnexpectedAnswer(
                "the Infomaniak Calendar API answered without a list of calendars; "
                "check [kmeet] calendar_api_url"
            )
        calendars = []
        for item in items:
            number = _int_or_none(item.get("id")) if isinstance(item, Mapping) else None
            if number is None:
                log.debug("skipping a calendar entry without a numeric id")
                continue
            name = item.get("name")
            calendars.append(Calendar(id=number, name=name if isinstance(name, str) else ""))
        return calendars

    # --- one request --------------------------------------------------------

    def _call(self, method: str, base: str, path: str, body: Any = None) -> tuple[str, Any]:
        """Send one request; return (result, data) of a usable answer or raise."""
        failure: KMeetError | None = None
        started = time.monotonic()
        try:
            response = self._http.request(method, base + path, json=body)
        except httpx.HTTPError as exc:
            failure = self._transport_failure(method, path, exc)
        except httpx.InvalidURL:
            failure = KMeetError(
                f"{self._clean(base)} is not a usable URL; check [kmeet] api_url and "
                "calendar_api_url"
            )
        if self._observe is not None:
            status = "none" if failure is not None else str(response.status_code)
            self._observe(method, status, time.monotonic() - started)
        if failure is not None:
            # Raised outside the except block on purpose: the httpx exception holds
            # the request, headers and token included, so it must not become our
            # exception's __context__.
            log.debug("%s %s failed: %s", method, path, failure)
            raise failure
        log.debug(
            "%s %s -> %s in %.2f s",
            method,
            path,
            response.status_code,
            time.monotonic() - started,
        )
        return self._answer(method, path, response)

    def _transport_failure(self, method: str, path: str, exc: httpx.HTTPError) -> KMeetError:
        # The request reached the server and the answer was lost: a POST may have
        # been carried out.
        sent = isinstance(exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError)
        in_doubt = sent and method != "GET"
        where = f"{method} {path}"
        doubt = "; the request may have been carried out" if in_doubt else ""
        if isinstance(exc, httpx.ConnectTimeout):
            what = f"could not be reached within {min(10.0, self._timeout):g} s"
        elif isinstance(exc, httpx.TimeoutException):
            what = f"did not answer within {self._timeout:g} s"
        elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            what = "closed the connection without a complete answer"
        elif isinstance(exc, httpx.NetworkError | httpx.ProxyError):
            what = f"could not be reached ({self._clean(str(exc)) or type(exc).__name__})"
        elif isinstance(exc, httpx.DecodingError):  # an answer came, but garbled
            return UnexpectedAnswer(
                f"the Infomaniak API sent an answer that could not be decoded ({where})"
                + (f"; {IN_DOUBT_ADVICE}" if method != "GET" else ""),
                in_doubt=method != "GET",
            )
        else:
            return KMeetError(
                f"the request to the Infomaniak API ({where}) could not be made "
                f"({self._clean(str(exc)) or type(exc).__name__}); check [kmeet] api_url"
            )
        return TransientError(
            f"the Infomaniak API {what} ({where}{doubt}); {RETRY_ADVICE}", in_doubt=in_doubt
        )

    def _answer(self, method: str, path: str, response: httpx.Response) -> tuple[str, Any]:
        status = response.status_code
        payload = _json_or_none(response)
        is_envelope = isinstance(payload, Mapping) and payload.get("result") == "error"
        code, description, errors = _envelope(payload) if is_envelope else (None, "", [])
        found = _Found(
            where=f"{method} {path}",
            status=status,
            code=self._clean(code or "") or None,
            description=self._clean(description),
            errors=self._scrub(errors),
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
        if status >= 300:
            raise self._status_error(method, found, response.headers.get("Location"))

        # A 2xx from here on. For a POST the API may have acted, so an unusable
        # answer is in doubt.
        in_doubt = method != "GET"
        doubt = f"; {IN_DOUBT_ADVICE}" if in_doubt else ""
        if not isinstance(payload, Mapping):
            raise UnexpectedAnswer(
                f"the Infomaniak API answered HTTP {status} with something that is not a JSON "
                f"object ({found.where}); check [kmeet] api_url{doubt}",
                status=status,
                in_doubt=in_doubt,
            )
        if is_envelope:
            said = f" ({found.description})" if found.description else ""
            nothing = "; nothing was planned" if in_doubt else ""
            raise _for_code(found) or UnexpectedAnswer(
                f"the Infomaniak API reported an unknown error {found.code or '(no code)'}"
                f"{said} ({found.where}){nothing}; check the API status and the [kmeet] settings",
                status=status,
                code=found.code,
            )
        result = payload.get("result")
        if result not in ("success", "asynchronous"):
            raise UnexpectedAnswer(
                f"the Infomaniak API answered with an unknown result "
                f"{self._clean(str(result))!r} ({found.where}){doubt}",
                status=status,
                in_doubt=in_doubt,
            )
        return str(result), payload.get("data")

    def _status_error(self, method: str, found: _Found, location: str | None) -> KMeetError:
        """The error for a 3xx, 4xx or 5xx: by status first, then by the envelope's code."""
        status, said = found.status, f": {found.description}" if found.description else ""
        if status == 429:
            return _rate_limited(found)
        if status in (401, 403):
            return _not_authorised(found)
        if status == 422:
            return _validation_failed(found)
        if status >= 500 or status == 408:
            # A 503 may say how long the API expects to be down; other statuses' are ignored.
            wait = found.retry_after if status == 503 else None
            asked = f" (the API asked to wait {wait:g} s)" if wait is not None else ""
            return TransientError(
                f"the Infomaniak API failed on its side (HTTP {status}{said}, {found.where}); "
                f"{RETRY_ADVICE}{asked}",
                retry_after=wait,
                status=status,
                code=found.code,
                # A gateway timeout: the API behind it may have carried the request out.
                in_doubt=status == 504 and method != "GET",
            )
        moved = f", redirected to {self._clean(location)}" if location and status < 400 else ""
        return _for_code(found) or KMeetError(
            f"the Infomaniak API refused the request (HTTP {status}{said}{moved}, "
            f"{found.where}); check [kmeet] api_url and calendar_api_url",
            status=status,
            code=found.code,
        )

    def _room(self, data: Any, body: Mapping[str, Any], result: str) -> Room:
        name = data.get("name") if isinstance(data, Mapping) else None
        if not isinstance(name, str) or not _ROOM_NAME.match(name):
            shown = "no room name" if name in (None, "") else "an unusable room name"
            raise UnexpectedAnswer(
                f'the Infomaniak API answered "{result}" with {shown}, so no meeting URL can '
                f"be built; {IN_DOUBT_ADVICE}",
                in_doubt=True,
            )
        answered = data.get("hostname")
        hostname = answered if isinstance(answered, str) and answered else body.get("hostname")
        if not isinstance(hostname, str) or not _HOSTNAME.match(hostname):
            raise UnexpectedAnswer(
                f'the Infomaniak API answered "{result}" with an unusable hostname, so no '
                f"meeting URL can be built; {IN_DOUBT_ADVICE}",
                in_doubt=True,
            )
        code = data.get("code")
        ending_at = data.get("ending_at")
        return Room(
            url=f"https://{hostname}/{name}",
            name=name,
            hostname=hostname,
            id=_int_or_none(data.get("id")),
            code=str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None,
            event_id=_int_or_none(data.get("event_id")),
            ending_at=ending_at if isinstance(ending_at, str) else None,
            e2ee_enabled=_asked_e2ee(body),
        )

    # --- keeping the token out of every text --------------------------------

    def _clean(self, text: str) -> str:
        """API- or network-supplied text fit for a one-line message, without the token."""
        text = " ".join(text.split())
        if self._token:
            text = text.replace(self._token, "********")
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(self._token, "********") if self._token else value
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, dict):
            return {key: self._scrub(item) for key, item in value.items()}
        return value


def _check_token(token: str) -> None:
    # httpx would fail on such a header with an error that carries the value.
    if (
        not token
        or not token.isascii()
        or not token.isprintable()
        or any(c.isspace() for c in token)
    ):
        raise NotAuthorised(
            "the API token is empty or contains characters that cannot be sent (spaces, "
            f"line breaks, non-ASCII); {TOKEN_ADVICE}"
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None


def _envelope(payload: Any) -> tuple[str | None, str, list[dict[str, Any]]]:
    """(code, description, per-field errors) of an error envelope."""
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None, "", []
    code = error.get("code")
    description = error.get("description")
    return (
        code if isinstance(code, str) else None,
        description if isinstance(description, str) else "",
        _field_errors(error.get("errors")),
    )


def _field_errors(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        return [dict(item) for item in raw if isinstance(item, Mapping)]
    if isinstance(raw, Mapping):  # {"field": ["message", ...]}, the other usual shape
        flat = []
        for attribute, messages in raw.items():
            for message in messages if isinstance(messages, list) else [messages]:
                flat.append({"description": str(message), "context": {"attribute": attribute}})
        return flat
    return []


def _field_summary(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors[:5]:
        text = item.get("description")
        context = item.get("context")
        attribute = context.get("attribute") if isinstance(context, Mapping) else None
        if isinstance(text, str) and text:
            parts.append(
                text if not attribute or str(attribute) in text else f"{attribute}: {text}"
            )
        elif attribute:
            parts.append(f"{attribute} is invalid")
    summary = "; ".join(" ".join(p.split()) for p in parts)
    if len(summary) > MAX_TEXT:
        summary = summary[: MAX_TEXT - 3] + "..."
    return summary + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")


@dataclass(frozen=True)
class _Found:
    """What an answer said, already scrubbed of the token."""

    where: str  # "POST /1/kmeet/rooms"
    status: int
    code: str | None
    description: str
    errors: list[dict[str, Any]]
    retry_after: float | None


def _for_code(found: _Found) -> KMeetError | None:
    """The error an envelope's code stands for, whatever the HTTP status; None if unknown."""
    if found.code in AUTH_CODES:
        return _not_authorised(found)
    if found.code in VALIDATION_CODES:
        return _validation_failed(found)
    if found.code in RATE_CODES:
        return _rate_limited(found)
    if found.code in TRANSIENT_CODES:
        said = f": {found.description}" if found.description else ""
        return TransientError(
            f"the Infomaniak API failed on its side ({found.code}{said}, {found.where}); "
            f"{RETRY_ADVICE}",
            status=found.status,
            code=found.code,
        )
    return None


def _not_authorised(found: _Found) -> NotAuthorised:
    said = ", ".join(part for part in (found.code, found.description) if part)
    return NotAuthorised(
        f"the API token was refused (HTTP {found.status}{': ' + said if said else ''}, "
        f"{found.where}); {TOKEN_ADVICE}",
        status=found.status,
        code=found.code,
    )


def _validation_failed(found: _Found) -> ValidationFailed:
    said = found.description or "no description"
    fields = _field_summary(found.errors)
    return ValidationFailed(
        f"the Infomaniak API rejected the request (HTTP {found.status}, {found.where}): {said}"
        f"{' - ' + fields if fields else ''}; check the meeting's times and the [kmeet] "
        "settings (calendar_id, hostname, [kmeet.room])",
        description=found.description,
        errors=found.errors,
        status=found.status,
        code=found.code,
    )


def _rate_limited(found: _Found) -> RateLimited:
    wait = f"retry in {found.retry_after:g} s" if found.retry_after is not None else "retry later"
    said = f": {found.description}" if found.description else ""
    return RateLimited(
        f"the Infomaniak API is limiting the request rate (HTTP {found.status}{said}, "
        f"{found.where}); {wait}",
        retry_after=found.retry_after,
        status=found.status,
        code=found.code,
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, from a Retry-After of seconds or an HTTP-date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _asked_e2ee(body: Mapping[str, Any]) -> bool | None:
    """Whether the room was asked with end-to-end encryption (the API does not
    say it back)."""
    options = body.get("options")
    if isinstance(options, list) and options and isinstance(options[0], Mapping):
        value = options[0].get("e2ee_enabled")
        return value if isinstance(value, bool) else None
    return None
