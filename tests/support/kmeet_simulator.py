"""A simulator of the Infomaniak kMeet API, served over real HTTP on loopback.

It follows /work/shared/kmeet-api.md: bearer token, `POST /1/kmeet/rooms` with
every documented field validated (422 and an error envelope otherwise),
`GET /api/pim/calendar`, and the undocumented `GET /1/kmeet/rooms/{id}/settings`
and `DELETE /1/kmeet/rooms/{id}`. It is deliberately strict: a field the
documentation does not list is refused too, so that a typo in the client
(which the real API might silently ignore, losing a setting) fails a test.

Tests tell it to misbehave (`fail_next`, `answer_next`, `drop_next`,
`set_delay`, `start_outage` ... `end_outage`) and read back what it received
(`requests`, with when each arrived and was answered, `rooms`,
`planned_bodies`, `peak_in_flight`).

Standalone, for demos and benchmarks:

    python -m tests.support.kmeet_simulator --port 8080 --token TOKEN [--latency 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import zoneinfo
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TOKEN = "simulator-token-0123456789abcdef"
DEFAULT_CALENDARS: tuple[dict[str, Any], ...] = (
    {"id": 72618, "name": "Meetings", "color": "#0098ff", "is_default": True, "readonly": False},
    {"id": 72619, "name": "Team", "color": "#e91e63", "is_default": False, "readonly": False},
)
ROOMS_PATH = "/1/kmeet/rooms"
CALENDARS_PATH = "/api/pim/calendar"
ATTENDEE_STATES = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED")
OPTION_FLAGS = (
    "start_audio_muted",
    "enable_recording",
    "enable_moderator_video",
    "start_audio_only",
    "lobby_enabled",
    "password_enabled",
    "e2ee_enabled",
)
BODY_FIELDS = (
    "calendar_id",
    "starting_at",
    "ending_at",
    "timezone",
    "hostname",
    "title",
    "description",
    "attendees",
    "options",
)
ATTENDEE_FIELDS = ("address", "state", "organizer", "name")
OPTION_FIELDS = ("subject", *OPTION_FLAGS, "drive_id", "password")
WALL_CLOCK = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
WALL_CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"
HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

NOT_AUTHORIZED = {"code": "not_authorized", "description": "Authorization required", "context": {}}
DEFAULT_ERRORS: dict[int, dict[str, Any]] = {
    400: {"code": "bad_request", "description": "Bad request", "context": {}},
    401: NOT_AUTHORIZED,
    403: {"code": "forbidden", "description": "Access denied", "context": {}},
    404: {"code": "not_found", "description": "Not found", "context": {}},
    422: {
        "code": "validation_failed",
        "description": "The given data was invalid",
        "context": {},
        "errors": [],
    },
    429: {"code": "too_many_requests", "description": "Too many requests", "context": {}},
    500: {"code": "internal_error", "description": "Internal server error", "context": {}},
}
# What a load balancer in front of the API answers: HTML, not an envelope.
PROXY_PAGE = "<html><body><h1>{status} {phrase}</h1></body></html>"


def envelope_of(error: Mapping[str, Any]) -> dict[str, Any]:
    """The API's error envelope around one error object."""
    return {"result": "error", "error": dict(error)}


@dataclass
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the parsed body, None when there is none or it is not JSON
    notes: list[str] = field(default_factory=list)  # e.g. "options sent as a bare object"
    status: int | None = None  # what the simulator answered; None when dropped
    received_at: float = 0.0  # time.monotonic() when the request was read
    answered_at: float | None = None  # time.monotonic() when the answer was written


@dataclass
class _Canned:
    """A queued misbehaviour: an answer to give, or a connection to drop."""

    times: int
    drop: bool = False
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def validate_room_body(
    body: Any, calendar_ids: Iterable[int]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Check a `POST /1/kmeet/rooms` body the way kmeet-api.md describes it.

    Returns (errors, notes): errors in the API's per-field shape, notes about
    accepted but noteworthy forms (a bare options object).
    """
    errors: list[dict[str, Any]] = []
    notes: list[str] = []

    def fail(attribute: str, code: str, description: str) -> None:
        errors.append(
            {"code": code, "description": description, "context": {"attribute": attribute}}
        )

    if not isinstance(body, Mapping):
        fail("body", "validation_object", "The body must be a JSON object")
        return errors, notes
    for key in body:
        if key not in BODY_FIELDS:
            fail(key, "validation_unknown", f"{key} is not a known field")

    calendar_id = body.get("calendar_id")
    if calendar_id is None:
        fail("calendar_id", "validation_required", "calendar_id is required")
    elif not _is_int(calendar_id):
        fail("calendar_id", "validation_integer", "calendar_id must be an integer")
    elif calendar_id not in set(calendar_ids):
        fail("calendar_id", "validation_exists", "calendar_id must be one of your calendars")

    times = {}
    for key in ("starting_at", "ending_at"):
        value = body.get(key)
        if value is None:
            fail(key, "validation_required", f"{key} is required")
        elif not isinstance(value, str) or not WALL_CLOCK.match(value):
            fail(key, "validation_date_format", f"{key} must be a date like YYYY-MM-DD HH:MM:SS")
        else:
            try:
                times[key] = datetime.strptime(value, WALL_CLOCK_FORMAT)
            except ValueError:
                fail(key, "validation_date", f"{key} is not a valid date")
    if len(times) == 2 and times["ending_at"] <= times["starting_at"]:
        fail("ending_at", "validation_after", "ending_at must be a date after starting_at")

    zone = body.get("timezone")
    if zone is None:
        fail("timezone", "validation_required", "timezone is required")
    elif not isinstance(zone, str) or not _is_zone(zone):
        fail("timezone", "validation_timezone", "timezone must be a valid time zone")

    hostname = body.get("hostname")
    if hostname is None:
        fail("hostname", "validation_required", "hostname is required")
    elif not isinstance(hostname, str) or not HOSTNAME.match(hostname):
        fail("hostname", "validation_string", "hostname must be a host name")

    title = body.get("title")
    if title is None:
        fail("title", "validation_required", "title is required")
    elif not isinstance(title, str) or not title.strip():
        fail("title", "validation_string", "title must be a non-empty string")

    description = body.get("description")
    if description is not None and not isinstance(description, str):
        fail("description", "validation_string", "description must be a string")

    if "attendees" in body:
        _validate_attendees(body["attendees"], fail)

    options = body.get("options")
    if options is None:
        fail("options", "validation_required", "options is required")
    elif isinstance(options, Mapping):
        notes.append("options sent as a bare object")
        _validate_options(options, "options", fail)
    elif not isinstance(options, list) or len(options) != 1:
        fail("options", "validation_array", "options must be an array holding one object")
    elif not isinstance(options[0], Mapping):
        fail("options.0", "validation_object", "options.0 must be an object")
    else:
        _validate_options(options[0], "options.0", fail)
    return errors, notes


def _validate_attendees(attendees: Any, fail: Any) -> None:
    if not isinstance(attendees, list):
        fail("attendees", "validation_array", "attendees must be an array")
        return
    for index, attendee in enumerate(attendees):
        where = f"attendees.{index}"
        if not isinstance(attendee, Mapping):
            fail(where, "validation_object", f"{where} must be an object")
            continue
        for key in attendee:
            if key not in ATTENDEE_FIELDS:
                fail(f"{where}.{key}", "validation_unknown", f"{where}.{key} is not a known field")
        address = attendee.get("address")
        if address is None:
            fail(f"{where}.address", "validation_required", f"{where}.address is required")
        elif not isinstance(address, str) or not EMAIL.match(address):
            fail(f"{where}.address", "validation_email", f"{where}.address must be an email")
        state = attendee.get("state")
        if state is None:
            fail(f"{where}.state", "validation_required", f"{where}.state is required")
        elif state not in ATTENDEE_STATES:
            fail(
                f"{where}.state",
                "validation_in",
                f"{where}.state must be one of " + ", ".join(ATTENDEE_STATES),
            )
        if "organizer" in attendee and not isinstance(attendee["organizer"], bool):
            fail(f"{where}.organizer", "validation_boolean", f"{where}.organizer must be a boolean")
        if "name" in attendee and not isinstance(attendee["name"], str):
            fail(f"{where}.name", "validation_string", f"{where}.name must be a string")


def _validate_options(options: Mapping[str, Any], where: str, fail: Any) -> None:
    for key in options:
        if key not in OPTION_FIELDS:
            fail(f"{where}.{key}", "validation_unknown", f"{where}.{key} is not a known field")
    if "subject" in options and not isinstance(options["subject"], str):
        fail(f"{where}.subject", "validation_string", f"{where}.subject must be a string")
    for flag in OPTION_FLAGS:
        if flag in options and not isinstance(options[flag], bool):
            fail(f"{where}.{flag}", "validation_boolean", f"{where}.{flag} must be a boolean")
    drive_id = options.get("drive_id")
    if options.get("enable_recording") is True and drive_id is None:
        fail(
            f"{where}.drive_id",
            "validation_required_if",
            f"{where}.drive_id is required when enable_recording is true",
        )
    if drive_id is not None and not _is_int(drive_id):
        fail(f"{where}.drive_id", "validation_integer", f"{where}.drive_id must be an integer")
    password = options.get("password")
    if options.get("password_enabled") is True and not password:
        fail(
            f"{where}.password",
            "validation_required_if",
            f"{where}.password is required when password_enabled is true",
        )
    if password is not None and not isinstance(password, str):
        fail(f"{where}.password", "validation_string", f"{where}.password must be a string")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _now() -> str:
    return datetime.now(UTC).strftime(WALL_CLOCK_FORMAT)


def _room_name(taken: set[str]) -> str:
    letters = string.ascii_lowercase
    while True:
        name = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
        if name not in taken:
            return name


class KMeetSimulator:
    """The API on a free loopback port. Use as a context manager, or start()/stop().

    `url` serves as both `api_url` and `calendar_api_url`. Misbehaviours queue
    up in call order (`fail_next(500)` then `answer_next(...)`: the first
    request gets the 500, the next the canned answer); `set_delay` applies to
    every request until `reset()`. `reset()` clears queued misbehaviours and
    the delay, not the recorded requests and rooms.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        calendars: Iterable[Mapping[str, Any] | tuple[int, str]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        verbose: bool = False,
    ) -> None:
        self.token = token
        self.calendars = [
            dict(item) if isinstance(item, Mapping) else {"id": item[0], "name": item[1]}
            for item in (DEFAULT_CALENDARS if calendars is None else calendars)
        ]
        self.host = host
        self.latency = latency
        self.verbose = verbose
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._queue: deque[_Canned] = deque()
        self._outage: _Canned | None = None  # every request gets this, until end_outage()
        self._delay = latency
        self._requests: list[RecordedRequest] = []
        self._rooms: dict[int, dict[str, Any]] = {}
        self._planned: list[dict[str, Any]] = []
        self._names: set[str] = set()
        self._next_id = 155910
        self._next_event = 4242
        self._connections: set[socket.socket] = set()
        self._in_flight = 0  # requests read and not yet answered (or dropped)
        self._peak_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> KMeetSimulator:
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._stopping.clear()
        self._server = ThreadingHTTPServer((self.host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits for one poll
            name="kmeet-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive connections
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> KMeetSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what it saw ----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def rooms(self) -> dict[int, dict[str, Any]]:
        """Rooms planned and not deleted, by id: the answer's data plus `body`."""
        with self._lock:
            return {number: dict(room) for number, room in self._rooms.items()}

    @property
    def peak_in_flight(self) -> int:
        """The most requests the simulator held at once (read, not yet answered)."""
        with self._lock:
            return self._peak_in_flight

    @property
    def planned_bodies(self) -> list[dict[str, Any]]:
        """The bodies of every successful plan, in order (deleted rooms included)."""
        with self._lock:
            return list(self._planned)

    # --- misbehaviour ---------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        envelope: Mapping[str, Any] | None = None,
        raw_body: bytes | None = None,
    ) -> None:
        """Answer the next `times` requests with `status`.

        The body is `envelope` (a whole JSON document) when given, else
        `raw_body` (sent as text/html), else a realistic default: the API's
        error envelope, or an HTML proxy page for 502/503/504.
        """
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if envelope is not None:
            body, content_type = _dump(envelope), "application/json"
        elif raw_body is not None:
            body, content_type = raw_body, "text/html"
        elif status in (502, 503, 504) or (status not in DEFAULT_ERRORS and status >= 500):
            page = PROXY_PAGE.format(status=status, phrase=_phrase(status))
            body, content_type = page.encode(), "text/html"
        else:
            error = DEFAULT_ERRORS.get(status, {"code": "error", "description": "Error"})
            body, content_type = _dump(envelope_of(error)), "application/json"
        self._enqueue(
            _Canned(times, status=status, body=body, content_type=content_type, headers=headers)
        )

    def answer_next(
        self,
        status: int,
        json_body: Any,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests with `json_body` (bytes or str: sent as is)."""
        if isinstance(json_body, bytes | str):
            raw = json_body.encode() if isinstance(json_body, str) else json_body
            canned = _Canned(times, status=status, body=raw, content_type="text/plain")
        else:
            canned = _Canned(times, status=status, body=_dump(json_body))
        canned.headers.update(headers or {})
        self._enqueue(canned)

    def drop_next(self, times: int = 1) -> None:
        """Close the connection without an answer, after reading the request."""
        self._enqueue(_Canned(times, drop=True))

    def start_outage(self, status: int = 503, *, retry_after: str | None = None) -> None:
        """Answer every request (probes included) with `status`, as `fail_next`
        would, until `end_outage()` or `reset()`; queued misbehaviours wait."""
        self.fail_next(status, retry_after=retry_after)
        with self._lock:
            self._outage = self._queue.pop()

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None

    def set_delay(self, seconds: float) -> None:
        """Wait `seconds` before answering every request, until reset()."""
        with self._lock:
            self._delay = seconds

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._outage = None
            self._delay = self.latency

    def _enqueue(self, canned: _Canned) -> None:
        if canned.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queue.append(canned)

    def _take(self) -> tuple[_Canned | None, float]:
        with self._lock:
            if self._outage is not None:
                return self._outage, self._delay
            canned = None
            if self._queue:
                canned = self._queue[0]
                canned.times -= 1
                if canned.times == 0:
                    self._queue.popleft()
            return canned, self._delay

    # --- the API --------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _route(self, request: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON answer, extra headers) for an authorised or not request."""
        if not self._authorised(request.headers.get("authorization", "")):
            return 401, envelope_of(NOT_AUTHORIZED), {"WWW-Authenticate": "Bearer"}
        path = request.path.rstrip("/") or "/"
        if path == ROOMS_PATH:
            if request.method == "POST":
                return self._plan(request)
            return _method_not_allowed()
        if path == CALENDARS_PATH:
            if request.method == "GET":
                return 200, {"result": "success", "data": {"calendars": self.calendars}}, {}
            return _method_not_allowed()
        match = re.fullmatch(ROOMS_PATH + r"/(\d+)(/settings)?", path)
        if match:
            number, settings = int(match.group(1)), bool(match.group(2))
            if settings and request.method == "GET":
                return self._settings(number)
            if not settings and request.method == "DELETE":
                return self._delete(number)
            return _method_not_allowed()
        return 404, envelope_of(DEFAULT_ERRORS[404]), {}

    def _authorised(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            credentials.strip().encode(), self.token.encode()
        )

    def _plan(self, request: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            error = {
                "code": "unsupported_media_type",
                "description": "The body must be sent as application/json",
                "context": {},
            }
            return 415, envelope_of(error), {}
        if request.json is None:
            errors = [
                {
                    "code": "validation_json",
                    "description": "The body is not valid JSON",
                    "context": {"attribute": "body"},
                }
            ]
            notes: list[str] = []
        else:
            errors, notes = validate_room_body(request.json, [c["id"] for c in self.calendars])
        request.notes.extend(notes)
        if errors:
            failure = dict(DEFAULT_ERRORS[422], errors=errors)
            return 422, envelope_of(failure), {}
        body = request.json
        options = body["options"] if isinstance(body["options"], list) else [body["options"]]
        public = [{k: v for k, v in item.items() if k != "password"} for item in options]
        with self._lock:
            number, event = self._next_id, self._next_event
            self._next_id += 1
            self._next_event += 1
            name = _room_name(self._names)
            self._names.add(name)
            now = _now()
            data = {
                "id": number,
                "name": name,
                "code": "".join(secrets.choice(string.digits) for _ in range(10)),
                "user_id": 1,
                "event_id": event,
                "created_at": now,
                "updated_at": now,
                "ending_at": body["ending_at"],
                "hostname": body["hostname"],
                "options": public,
            }
            self._rooms[number] = dict(data, body=body)
            self._planned.append(body)
        return 200, {"result": "success", "data": data}, {}

    def _settings(self, number: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            room = self._rooms.get(number)
        if room is None:
            return 404, envelope_of(DEFAULT_ERRORS[404]), {}
        data = {key: value for key, value in room.items() if key != "body"}
        return 200, {"result": "success", "data": data}, {}

    def _delete(self, number: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            room = self._rooms.pop(number, None)
        if room is None:
            return 404, envelope_of(DEFAULT_ERRORS[404]), {}
        return 200, {"result": "success", "data": True}, {}


def _method_not_allowed() -> tuple[int, dict[str, Any], dict[str, str]]:
    error = {"code": "method_not_allowed", "description": "Method not allowed", "context": {}}
    return 405, envelope_of(error), {}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _dump(document: Any) -> bytes:
    return json.dumps(document).encode()


class _Handler(BaseHTTPRequestHandler):
    simulator: KMeetSimulator  # set on the subclass made by start()
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    server_version = "kmeet-simulator"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection does not hold a thread forever
    # Headers and body go out in two writes; with Nagle's algorithm the body
    # then waits for the client's delayed ACK, ~40 ms added to every answer.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.simulator._lock:
            self.simulator._connections.add(self.connection)

    def finish(self) -> None:
        with self.simulator._lock:
            self.simulator._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        simulator = self.simulator
        with simulator._lock:
            simulator._in_flight += 1
            simulator._peak_in_flight = max(simulator._peak_in_flight, simulator._in_flight)
        try:
            self._answer()
        finally:
            with simulator._lock:
                simulator._in_flight -= 1

    def _answer(self) -> None:
        simulator = self.simulator
        body = self._read_body()
        path, _, query = self.path.partition("?")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            json=parsed,
            received_at=time.monotonic(),
        )
        simulator._record(request)
        canned, delay = simulator._take()
        if canned is not None and canned.drop:
            self._drop()
            return
        if delay > 0 and simulator._stopping.wait(delay):
            self._drop()
            return
        if canned is not None:
            request.status = canned.status
            self._send(canned.status, canned.body, canned.content_type, canned.headers)
            request.answered_at = time.monotonic()
            return
        status, answer, headers = simulator._route(request)
        request.status = status
        self._send(status, _dump(answer), "application/json", headers)
        request.answered_at = time.monotonic()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) and closed the connection
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.simulator.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.kmeet_simulator",
        description="Serve a simulator of the Infomaniak kMeet API on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token to accept")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--calendar",
        action="append",
        metavar="ID=NAME",
        help="a calendar to offer (repeatable; default: 72618=Meetings, 72619=Team)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    calendars = None
    if args.calendar:
        calendars = []
        for item in args.calendar:
            number, _, name = item.partition("=")
            if not number.isdigit():
                parser.error(f"--calendar takes ID=NAME, got {item!r}")
            calendars.append((int(number), name or f"Calendar {number}"))
    simulator = KMeetSimulator(
        args.token,
        calendars,
        host=args.host,
        port=args.port,
        latency=args.latency,
        verbose=not args.quiet,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with simulator:
        print(f"kMeet API simulator on {simulator.url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
