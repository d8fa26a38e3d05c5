"""The rooms of one message's meetings: new ones, series joined, reschedules,
within the rate limits and for the meeting's owners only.

`Planning.plan` is the contract: given one meeting a message asks for, it
returns the room the meeting has now and how this message changed it
(updates.py classifies: new, unchanged, occurrence of a known series, updated,
replanned), recording every step of store.py's protocol around the API call.
It raises:
- `Refused` (`OverLimit` past a rate limit): this meeting is not planned or
  changed for this sender; the problem says why, in words for the reply;
- `KMeetError`: the API refused this one event for good;
- `Deferral`: the API is down or busy, the message waits;
- `TokenRefused`: the API refused the token, the pass stops.

With several workers, rooms being planned right now count towards the rate
limits in advance (`_take_room_slot`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kmeet_bridge import failpoints
from kmeet_bridge.config import Settings
from kmeet_bridge.invitations import ownership, updates
from kmeet_bridge.kmeet import (
    KMeetError,
    NotAuthorised,
    effective_room,
    new_room_password,
    room_body,
    room_options_of,
)
from kmeet_bridge.mail import headers
from kmeet_bridge.models import EventProblem, MeetingRequest, Outcome, PlannedMeeting
from kmeet_bridge.steps.availability import Availability, waits_for
from kmeet_bridge.steps.handling import Deferral, MessageContext, PlannerPort, TokenRefused
from kmeet_bridge.steps.recording import Records
from kmeet_bridge.store import UNFINISHED, MeetingDetails, MeetingRecord, PlanNote, Store

# One message's steps log as the bridge (see availability.py).
log = logging.getLogger("kmeet_bridge.bridge")


class Refused(Exception):
    """This meeting is not planned or changed for this sender; the problem says why."""

    def __init__(self, problem: EventProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class OverLimit(Refused):
    """A rate limit stops this room; the problem says until when."""


class _RoomsInFlight(Exception):
    """A rate limit is reached only if rooms being planned right now succeed."""


class Planning:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        planner: PlannerPort,
        services: Availability,
        records: Records,
        clock: Callable[[], datetime],
        progress: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.planner = planner
        self.services = services
        self.records = records
        self.clock = clock
        self.progress = progress
        # The rooms being planned right now, by sender, which the rate limits
        # count in advance (several workers).
        self._rooms_changed = threading.Condition()
        self._rooms_in_flight: Counter[str] = Counter()

    def plan(self, meeting: MeetingRequest, ctx: MessageContext) -> PlannedMeeting:
        """The room for one meeting, and how this message changes it (updates.py)."""
        known = self.store.meeting(meeting.key)
        if known is not None and known.room is not None and known.status in UNFINISHED:
            # A reschedule interrupted before its new room was recorded: the old
            # room still stands, and the message is still a reschedule.
            known = replace(known, status="planned")
        series = self.store.meeting(meeting.series_key) if meeting.series_key else None
        body = room_body(meeting, self.settings.kmeet)
        status, changes = updates.classify(meeting, body, known, series)
        self._check_role(ctx, series if status == "occurrence" else known, status)
        if status == "unchanged":
            assert known is not None and known.room is not None
            note = self.store.plan_note(ctx.key, meeting.key)
            if note is not None:
                # This very message planned or changed the meeting, and its reply was
                # interrupted (a crash, SMTP down): answer as it would have, password
                # included, without planning anything again.
                log.info("meeting %s: resuming this message's reply (%s)", meeting.key, note.status)
                return PlannedMeeting(
                    meeting,
                    known.room,
                    note.status,
                    note.changes,
                    note.previous_url,
                    note.password,
                )
            log.info("meeting %s already has room %s; reusing it", meeting.key, known.room.url)
            return PlannedMeeting(meeting, known.room, status)
        if status == "occurrence":
            assert series is not None
            return self._join_series(meeting, series, ctx)
        if status == "new":
            return self._new_room(meeting, ctx, PlanNote(ctx.key, status))
        assert known is not None and known.room is not None
        if status == "replanned":
            planned = self._new_room(
                meeting, ctx, PlanNote(ctx.key, status, changes, known.room.url)
            )
            log.info(
                "meeting %s moved past its room's end: new room %s", meeting.key, planned.room.url
            )
            return planned
        # "updated": the room stays, the details change.
        note = PlanNote(ctx.key, status, changes)
        self.store.update_meeting(
            meeting.key, meeting_details(meeting, body), note, ownership.attendee_addresses(meeting)
        )
        log.info("meeting %s updated; room %s kept", meeting.key, known.room.url)
        return PlannedMeeting(meeting, known.room, status, changes)

    def _join_series(
        self, meeting: MeetingRequest, series: MeetingRecord, ctx: MessageContext
    ) -> PlannedMeeting:
        """An occurrence of a known series: it uses the series' room."""
        assert series.room is not None
        body = room_body(meeting, self.settings.kmeet)
        self.store.link_meeting(
            meeting.key,
            meeting_details(meeting, body),
            room=series.room,
            room_ends=series.room_ends,
            message_id=ctx.message_id,
            note=PlanNote(ctx.key, "occurrence"),
            owners=series.owners,  # an occurrence belongs to its series' owners
        )
        return PlannedMeeting(meeting, series.room, "occurrence")

    def _new_room(
        self, meeting: MeetingRequest, ctx: MessageContext, note: PlanNote
    ) -> PlannedMeeting:
        """A new room, within the rate limits (OverLimit when past them)."""
        # Not a contextmanager: it would set __traceback__ on the frozen _Deferral.
        sender = self._take_room_slot(ctx)
        try:
            return self._plan_room(meeting, ctx, note)
        finally:
            self._give_back_room_slot(sender)

    def _plan_room(
        self, meeting: MeetingRequest, ctx: MessageContext, note: PlanNote
    ) -> PlannedMeeting:
        """Plan a room through the API, recording before and after the call (step 2
        of store.py's protocol). A password-protected room's password is recorded
        with the note only until the reply carrying it is accepted."""
        protected = effective_room(meeting, self.settings.kmeet).password_enabled
        password = new_room_password() if protected else None
        body = room_body(meeting, self.settings.kmeet, password=password)
        details = meeting_details(meeting, body)
        owners = ownership.owners_of(meeting, ctx.sender or "")
        # Step 2a: 'prepared'. A kill from here to 2b leaves nothing in doubt.
        in_doubt = self.store.prepare_planning(meeting.key, details, ctx.message_id, owners)
        if in_doubt:
            log.warning(
                "meeting %s is in doubt: an earlier API call was interrupted without an "
                "answer, so a second room may exist in the Infomaniak calendar; planning it "
                "again",
                meeting.key,
            )
        failpoints.reached("before-plan")
        self.progress()
        try:
            room = self.services.call_api(
                lambda: self.planner.plan(body),  # step 2c
                # Step 2b: 'planning', once the request's turn has come (a kill while
                # it waits leaves nothing in doubt). From here to 2d, a kill does.
                sending=lambda: self.store.begin_planning(
                    meeting.key, details, ctx.message_id, owners
                ),
                # A 429 planned nothing: no doubt while the pause is waited out.
                refused=lambda: self.store.abandon_planning(meeting.key),
            )
        except NotAuthorised as exc:
            self.store.abandon_planning(meeting.key)
            self.records.record(ctx, Outcome.DEFERRED, str(exc), next_attempt=self.clock())
            raise TokenRefused(str(exc)) from None
        except KMeetError as exc:
            if not exc.in_doubt:
                # The API clearly planned nothing: forget the attempt. Otherwise the
                # 'planning' record stays, and the next attempt is flagged in doubt.
                self.store.abandon_planning(meeting.key)
            if exc.transient:
                raise Deferral(str(exc), exc.retry_after, waits_for(exc)) from None
            raise
        # Step 2d: the room and how this message changed the meeting, together.
        self.store.finish_planning(
            meeting.key,
            room,
            meeting.end,
            details,
            replace(note, password=password),
            owners.attendees,
        )
        self.store.log_room(headers.mailbox_of(ctx.sender or ""), self.clock())
        failpoints.reached("after-plan")
        log.info("meeting %s planned: %s", meeting.key, room.url)
        return PlannedMeeting(meeting, room, note.status, note.changes, note.previous_url, password)

    # -- the rate limits ----------------------------------------------------------

    def _take_room_slot(self, ctx: MessageContext) -> str:
        """_check_rate, counting the rooms other workers are planning right now as
        planned: when one of those decides whether this one fits (it may yet
        fail), wait for it. Returns the sender the slot is counted for, to give
        it back once this room is logged or has failed."""
        sender = headers.mailbox_of(ctx.sender or "")
        with self._rooms_changed:
            while True:
                try:
                    self._check_rate(ctx, self._rooms_in_flight)
                    break
                except _RoomsInFlight:
                    self._rooms_changed.wait()
            self._rooms_in_flight[sender] += 1
        return sender

    def _give_back_room_slot(self, sender: str) -> None:
        with self._rooms_changed:
            self._rooms_in_flight[sender] -= 1
            if not self._rooms_in_flight[sender]:
                del self._rooms_in_flight[sender]
            self._rooms_changed.notify_all()

    def _check_rate(self, ctx: MessageContext, in_flight: Counter[str] | None = None) -> None:
        """Raise OverLimit when one more room would pass [senders] max_rooms_per_hour
        for this sender or [kmeet] max_rooms_per_day in total; _RoomsInFlight when
        it would only count the rooms `in_flight` (by headers.mailbox_of)."""
        now = self.clock()
        windows = (
            (
                "sender_rate_limited",
                self.settings.senders.max_rooms_per_hour,
                timedelta(hours=1),
                headers.mailbox_of(ctx.sender or ""),
            ),
            ("daily_rate_limited", self.settings.kmeet.max_rooms_per_day, timedelta(days=1), None),
        )
        for code, limit, window, sender in windows:
            planned = self.store.rooms_since(now - window, sender)
            pending = 0
            if in_flight:
                pending = in_flight[sender] if sender is not None else in_flight.total()
            if len(planned) + pending >= limit:
                if pending:
                    raise _RoomsInFlight
                # Free again once the oldest counted room leaves the window.
                after = _local_time(planned[len(planned) - limit] + window, self.settings)
                raise OverLimit(
                    EventProblem(
                        "",
                        f"{len(planned)} rooms were planned within the last "
                        f"{'hour' if sender is not None else '24 hours'}, the most allowed",
                        f"Please send your request again after {after}.",
                        code=code,
                        params=(("limit", str(limit)), ("after", after)),
                    )
                )

    # -- whose meeting ------------------------------------------------------------

    def _check_role(self, ctx: MessageContext, record: MeetingRecord | None, status: str) -> None:
        """Raise Refused unless the sender may do what the message does to a
        meeting already recorded (`record`): owners anything, attendees get the
        link, nobody else anything (ownership.py)."""
        if record is None:
            return  # a new meeting: whoever plans it owns it
        role = ownership.role(record.owners, ctx.sender or "")
        if role == ownership.OWNER or (
            role == ownership.ATTENDEE and status in ("unchanged", "occurrence")
        ):
            return
        log.warning(
            "message %s: %s may not %s meeting %s; it stays as planned",
            ctx.label,
            ctx.sender,
            "change" if role == ownership.ATTENDEE else "have the link of",
            record.key,
        )
        raise Refused(ownership.not_theirs(role))


def meeting_details(meeting: MeetingRequest, body: dict) -> MeetingDetails:
    return MeetingDetails(
        meeting.title,
        body["starting_at"],
        body["ending_at"],
        meeting.timezone,
        meeting.sequence,
        room_options_of(body),  # kept for a change by answer (meeting_changes.py)
        meeting.language,
    )


def _local_time(moment: datetime, settings: Settings) -> str:
    """A moment as people read it: in [kmeet] timezone, with the zone named."""
    local = moment.astimezone(ZoneInfo(settings.kmeet.timezone))
    return f"{local:%Y-%m-%d %H:%M} ({settings.kmeet.timezone})"
