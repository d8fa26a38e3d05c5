"""Cancellations of meetings this bridge planned: who may, what is recorded,
and the room removed when configured to.

`Cancelling` is the contract: `cancellable` says whether a cancellation is the
bridge's to answer at all (a meeting it planned), `refusal` whether this sender
may cancel it (owners only), and `cancel` records it and removes the room when
`[kmeet] delete_cancelled_rooms` says so; one cancelled occurrence of a series
never removes the series' room. `cancel` raises `Deferral` when the API is
down or busy and `TokenRefused` when it refuses the token; a room the API will
not remove for good stays, and the cancellation says so.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from kmeet_bridge.config import Settings
from kmeet_bridge.invitations import ownership
from kmeet_bridge.kmeet import KMeetError, NotAuthorised
from kmeet_bridge.models import Cancellation, CancelledMeeting, EventProblem, Room
from kmeet_bridge.steps.availability import Availability, waits_for
from kmeet_bridge.steps.handling import Deferral, MessageContext, PlannerPort, TokenRefused
from kmeet_bridge.store import UNFINISHED, Store

# One message's steps log as the bridge (see availability.py).
log = logging.getLogger("kmeet_bridge.bridge")


class Cancelling:
    def __init__(
        self, settings: Settings, store: Store, planner: PlannerPort, services: Availability
    ) -> None:
        self.settings = settings
        self.store = store
        self.planner = planner
        self.services = services

    def cancellable(self, cancellation: Cancellation) -> bool:
        """Whether the meeting (or its series) was planned here, with a room."""
        for key in (cancellation.key, cancellation.series_key):
            known = self.store.meeting(key) if key else None
            if known is not None and known.room is not None:
                # UNFINISHED with a room: a reschedule was interrupted; the room stands.
                return known.status in ("planned", "cancelled", *UNFINISHED)
        return False

    def refusal(self, cancellation: Cancellation, ctx: MessageContext) -> EventProblem | None:
        """Why the sender may not cancel the meeting, or None: owners only."""
        record = self.store.meeting(cancellation.key)
        if record is None and cancellation.series_key:
            record = self.store.meeting(cancellation.series_key)
        if record is None:
            return None
        role = ownership.role(record.owners, ctx.sender or "")
        if role == ownership.OWNER:
            return None
        log.warning(
            "message %s: %s may not cancel meeting %s; it stays as planned",
            ctx.label,
            ctx.sender,
            record.key,
        )
        return replace(ownership.not_theirs(role), subject=cancellation.title, key=cancellation.key)

    def cancel(self, cancellation: Cancellation) -> CancelledMeeting:
        """Record a cancellation; remove the room when configured to. One cancelled
        occurrence of a series never removes the series' room."""
        known = self.store.meeting(cancellation.key)
        if known is None and cancellation.series_key:
            series = self.store.meeting(cancellation.series_key)
            return CancelledMeeting(cancellation, series.room if series else None)
        assert known is not None
        removed = False
        if (
            known.status == "planned"
            and self.settings.kmeet.delete_cancelled_rooms
            and cancellation.series_key is None  # an occurrence shares the series' room
            and known.room is not None
            and known.room.id is not None
        ):
            removed = self._delete_room(known.room)
        if known.status != "cancelled":
            self.store.cancel_meeting(cancellation.key)
        return CancelledMeeting(cancellation, known.room, removed)

    def _delete_room(self, room: Room) -> bool:
        room_id = room.id
        assert room_id is not None
        try:
            self.services.call_api(lambda: self.planner.delete_room(room_id))
        except NotAuthorised as exc:
            raise TokenRefused(str(exc)) from None
        except KMeetError as exc:
            if exc.transient:
                raise Deferral(
                    f"the room could not be removed: {exc}", exc.retry_after, waits_for(exc)
                ) from None
            if exc.status == 404:
                return True  # already gone
            log.warning("room %s could not be removed: %s", room.url, exc)
            return False
        log.info("room %s removed", room.url)
        return True


def cancel_detail(cancelled: CancelledMeeting) -> str:
    """What became of a cancelled meeting, as the state's event row says it."""
    if cancelled.room_removed and cancelled.room is not None:
        return f"cancelled, room removed: {cancelled.room.url}"
    return "cancelled"
