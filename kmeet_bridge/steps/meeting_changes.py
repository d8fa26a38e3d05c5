"""Changing a meeting by answering the bridge's reply: cancel, move, lengthen,
add people or room options.

The contract, for a message whose sender bridge.py has already let through
(automatic mail ignored, strangers and unauthenticated senders filed from the
header, with no reply):

1. `MeetingChanges.read` recognises an answer: its In-Reply-To, else its
   References from the newest, names the Message-ID of a reply the bridge sent
   (`replies.reply_id`), and that reply was about meetings the state holds
   (the answered message's `message_events`). It comes before the message is
   read as a new request, so a "Re: kmeet ..." subject never plans a second
   room. The answer's first lines (above the quote, as for requests) are read
   by thread_answers.read_answer against the meeting as planned now.
   Not an answer, so read as usual: a message carrying a calendar part (an
   invitation is the organiser's word on a meeting and follows the meeting-life
   rules of updates.py, whatever thread it is in), and an answer to a reply
   about no meeting (a refusal: the answer is a new try at the request).
2. `MeetingChanges.apply` decides and acts, through the bridge's own steps
   (planning, cancelling, replying, filing; `Steps`):
   - "thanks" and the like: recorded (ignored), no reply, whoever sent it;
   - the sender must be the person the reply went to, the meeting's planner
     or, for an invitation, its organiser (ownership.py); another allowed
     sender gets a short refusal (`change_not_owner`);
   - not understood: a reply in the sender's language with examples to copy;
   - cancel: recorded as any cancellation, the room removed when
     `delete_cancelled_rooms` is on; the reply carries a METHOD:CANCEL .ics
     with the same UID and SEQUENCE + 1. For an invitation only the room is
     released: the reply says the calendar event is the organiser's, and
     carries no .ics (a CANCEL with the invitation's UID would remove the
     organiser's event from the sender's calendar);
   - a change (time, length, people, options) of a plain request: the same
     room while the meeting still ends within it (updates.py), else a fresh
     room and the reply says the link changed. New room settings always need
     a fresh room (the API cannot change a planned room's settings). People
     added are recorded as the meeting's attendees (they may then ask for its
     link); the Infomaniak calendar event made with the room is not changed.
     The reply's .ics has the same UID and SEQUENCE + 1;
   - a change of a meeting planned from an invitation: refused; its time and
     people come from the organiser's calendar (`change_invitation`).
   Rate limits count a change that moves, lengthens or re-plans a meeting as
   they count rooms; a cancellation only frees a room and is never held back.

Idempotency: a change writes its note (store.message_plans) in the same
transaction as the change itself, so a message interrupted after it is
answered from the note, never changed twice (a relative "30 minutes longer"
read again would lengthen it again). A copy of an answer (same Message-ID)
that already changed the meeting changes nothing more. A cancellation records
its intent (`message_events`) before it acts.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from kmeet_bridge.invitations import invites, ownership, updates
from kmeet_bridge.kmeet import KMeetError, effective_room, room_body
from kmeet_bridge.mail import headers
from kmeet_bridge.models import (
    Attendee,
    Cancellation,
    CancelledMeeting,
    Change,
    EventProblem,
    MeetingRequest,
    Outcome,
    PlannedMeeting,
    RoomOptions,
    Unplannable,
)
from kmeet_bridge.replies import replies
from kmeet_bridge.replies.wording import say
from kmeet_bridge.requests import requests
from kmeet_bridge.requests.thread_answers import (
    Answer,
    CancelIt,
    ChangeIt,
    MeetingNow,
    NotUnderstood,
    Thanks,
    read_answer,
)
from kmeet_bridge.steps.cancelling import Cancelling, cancel_detail
from kmeet_bridge.steps.handling import Deferral, MessageContext
from kmeet_bridge.steps.planning import Planning, Refused, meeting_details
from kmeet_bridge.store import UNFINISHED, MeetingRecord, PlanNote, Store

if TYPE_CHECKING:
    from kmeet_bridge.config import Settings
    from kmeet_bridge.steps.recording import Records

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"
MAX_THREAD_IDS = 20  # ids of In-Reply-To and References looked up, newest first
# The events (store.message_events) of a message whose reply was about a meeting:
# planned or changed by it, cancelled, or an answer about it that changed nothing
# (its reply asks for another answer: "answer with one line, for example ...").
_ABOUT_MEETINGS = ("planned", "changed", "cancelled", "answered")
_OPTIONS = ("lobby_enabled", "password_enabled", "e2ee_enabled", "enable_recording")


@dataclass(frozen=True)
class Thread:
    """What an answer answers: the message the bridge replied to (its key), whom
    that reply went to, and the meetings it was about, as planned now."""

    answered: str
    recipient: str
    meetings: tuple[MeetingRecord, ...]

    @property
    def from_invitation(self) -> bool:
        return any(meeting.key.startswith("ics:") for meeting in self.meetings)

    @property
    def titles(self) -> str:
        return ", ".join(f'"{meeting.title}"' for meeting in self.meetings)


@dataclass(frozen=True)
class Reading:
    """An answer to the bridge's reply: its thread, and what it asks for (or the
    problem with the time it gives, worded in its language)."""

    thread: Thread
    answer: Answer | EventProblem


class Steps(Protocol):
    """The bridge (bridge.Bridge) and its delegates, whose steps a change goes
    through: the same planning, cancelling, replying and filing as every other
    message."""

    store: Store
    settings: Settings
    records: Records
    planning: Planning
    cancelling: Cancelling

    def clock(self) -> datetime: ...
    def _claim(self, uid: int, keys: set[Hashable]) -> None: ...
    def _reject(
        self, mailbox: Any, ctx: MessageContext, reason: str, hint: str, *, code: str = ""
    ) -> Outcome: ...
    def _finish(
        self, mailbox: Any, ctx: MessageContext, outcome: Outcome, reason: str, reply: Any
    ) -> Outcome: ...
    def _defer(self, mailbox: Any, ctx: MessageContext, deferral: Deferral) -> Outcome: ...


def thread_of(store: Store, message: EmailMessage) -> Thread | None:
    """The bridge's reply `message` answers and the meetings it was about, or None."""
    ids = headers.in_reply_to(message)
    ids += [found for found in reversed(headers.references(message)) if found not in ids]
    # The newest of the bridge's replies about a meeting: one about none (a refused
    # request) does not end the search, a reply to an answer continues the thread.
    for reply_id in ids[:MAX_THREAD_IDS]:
        found = store.reply_by_id([reply_id])
        if found is None:
            continue
        answered, recipient = found
        folder, uidvalidity, uid = answered.rsplit(":", 2)
        events = store.events(folder, int(uidvalidity), int(uid))
        keys = dict.fromkeys(event for event, outcome, _ in events if outcome in _ABOUT_MEETINGS)
        meetings = tuple(record for key in keys if (record := store.meeting(key)) is not None)
        if meetings:
            return Thread(answered, recipient, meetings)
    return None


def reading_of(
    store: Store, message: EmailMessage, *, language: str, default_language: str, now: datetime
) -> Reading | None:
    """What `message` answers and asks for, or None when it is no answer to a
    reply of the bridge about a meeting, or carries a calendar part (read as an
    invitation, the organiser's word). `language`: the message's own, as far as
    known; `default_language`: [kmeet] language."""
    thread = thread_of(store, message)
    if thread is None or invites.calendar_parts(message):
        return None
    meeting = meeting_now(thread.meetings[0], default_language)
    text = requests.request_text(message).text
    try:
        answer: Answer | EventProblem = read_answer(
            text, meeting=meeting, now=now, default_language=language
        )
    except requests.RequestProblem as problem:
        answer = problem.event_problem(thread.meetings[0].title)
    return Reading(thread, answer)


def describe(reading: Reading, sender: str) -> list[str]:
    """What `parse` says of an answer: the meetings it answers about and what it asks."""
    thread, answer = reading.thread, reading.answer
    lines = [
        f"rule: an answer to the bridge's reply about {thread.titles} (In-Reply-To/References)"
    ]
    if isinstance(answer, Thanks):
        return [*lines, "outcome: ignored (asks for no change; no reply)"]
    if not may_change(thread, sender):
        return [
            *lines,
            "outcome: rejected (only whom the reply went to, or an owner, may change it)",
        ]
    if isinstance(answer, EventProblem):
        return [*lines, f"outcome: rejected ({answer.reason})"]
    if isinstance(answer, NotUnderstood):
        return [
            *lines,
            f"outcome: rejected (not understood: {answer.code}; answered with examples)",
        ]
    if isinstance(answer, CancelIt):
        return [
            *lines,
            "outcome: planned (cancel)",
            *(f"  cancel: {m.key}" for m in thread.meetings),
        ]
    if thread.from_invitation:
        return [*lines, "outcome: rejected (an invitation changes in the organiser's calendar)"]
    record = thread.meetings[0]
    meeting = changed_meeting(record, answer)
    utc = "%Y-%m-%d %H:%M"
    lines += [
        "outcome: planned (change)",
        f"  meeting: {record.key}",
        f"  was: {record.starting_at[:16]} - {record.ending_at[:16]} ({record.timezone})",
        f"  now: {meeting.start:{utc}} - {meeting.end:{utc}} ({meeting.timezone})",
    ]
    lines += [f"  attendee: {a.address}" for a in meeting.attendees]
    lines += [
        f"  option: {name}={value}"
        for name, value in vars(answer.options).items()
        if value is not None
    ]
    return lines


def meeting_now(record: MeetingRecord, default_language: str) -> MeetingNow:
    """The meeting as planned now, as the answer's reader sees it."""
    zone = ZoneInfo(record.timezone)
    return MeetingNow(
        title=record.title,
        start=datetime.strptime(record.starting_at, WALL_CLOCK).replace(tzinfo=zone),
        end=datetime.strptime(record.ending_at, WALL_CLOCK).replace(tzinfo=zone),
        timezone=record.timezone,
        attendees=record.owners.attendees,
        options=record.options or RoomOptions(),
        language=record.language or default_language,
        source="invite" if record.key.startswith("ics:") else "request",
    )


def may_change(thread: Thread, sender: str) -> bool:
    """The person the reply went to, or an owner of its meetings (their planner;
    an invitation's organiser) may change them."""
    who = sender.lower()
    if who == thread.recipient.lower():
        return True
    return all(ownership.role(m.owners, who) == ownership.OWNER for m in thread.meetings)


def as_request(record: MeetingRecord, **changes: Any) -> MeetingRequest:
    """The planned meeting `record` as a request (what a change is planned from)."""
    now = meeting_now(record, record.language or "en")
    meeting = MeetingRequest(
        key=record.key,
        title=record.title,
        start=now.start,
        end=now.end,
        timezone=record.timezone,
        attendees=tuple(Attendee(address) for address in record.owners.attendees),
        source=now.source,
        sequence=record.sequence,
        options=record.options or RoomOptions(),
        language=record.language,
    )
    return replace(meeting, **changes)


def changed_meeting(record: MeetingRecord, change: ChangeIt) -> MeetingRequest:
    """The meeting after `change`: one SEQUENCE more, the people added, the
    options asked for on top of the room's."""
    known = set(record.owners.attendees)
    added = [a.lower() for a in change.add_attendees if a.lower() not in known]
    before = record.options or RoomOptions()
    wanted = RoomOptions(
        **{
            name: getattr(change.options, name)
            if getattr(change.options, name) is not None
            else getattr(before, name)
            for name in _OPTIONS
        }
    )
    return as_request(
        record,
        start=change.start,
        end=change.end,
        timezone=change.timezone,
        attendees=tuple(Attendee(a) for a in (*record.owners.attendees, *added)),
        sequence=record.sequence + 1,
        options=wanted,
        language=change.language,
        reply_notes=change.notes,
    )


def option_changes(
    before: MeetingRequest, after: MeetingRequest, settings: Settings, language: str
) -> tuple[Change, ...]:
    """The room settings `after` has that the room of `before` has not, worded."""
    old, new = effective_room(before, settings.kmeet), effective_room(after, settings.kmeet)
    changes = []
    for name in _OPTIONS:
        if getattr(old, name) != getattr(new, name):
            words = [
                say(language, f"option.state.{'on' if getattr(r, name) else 'off'}")
                for r in (old, new)
            ]
            changes.append(Change(f"option.{name}", *words))
    return tuple(changes)


def people_change(record: MeetingRecord, meeting: MeetingRequest) -> tuple[Change, ...]:
    after = [a.address for a in meeting.attendees]
    if after == list(record.owners.attendees):
        return ()
    return (Change("attendees", ", ".join(record.owners.attendees) or "—", ", ".join(after)),)


class MeetingChanges:
    """Answers to the bridge's reply, read and applied through `steps` (the bridge)."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    # -- recognising and reading ------------------------------------------------

    def read(self, message: EmailMessage, language: str) -> Reading | None:
        """The answer `message` gives to one of the bridge's replies, or None when
        it is not one (then it is read as any other message)."""
        settings = self.steps.settings
        return reading_of(
            self.steps.store,
            message,
            language=language,
            default_language=settings.kmeet.language,
            now=self.steps.clock(),
        )

    # -- applying ---------------------------------------------------------------

    def apply(self, mailbox: Any, ctx: Any, reading: Reading) -> Outcome:
        steps, thread = self.steps, reading.thread
        steps._claim(
            ctx.uid, {("message", ctx.key)} | {("meeting", m.key) for m in thread.meetings}
        )
        # With several workers, an earlier message of the pass may have changed the
        # meeting while this one was read: then it is read again, against the change.
        if any(steps.store.meeting(m.key) != m for m in thread.meetings):
            reading = self.read(ctx.message, ctx.language) or reading
            thread = reading.thread
        answer = reading.answer
        # What this answer is about, whatever becomes of it: an answer to its reply
        # (the examples a refusal offers) stays in the thread. Rewritten when it
        # changes or cancels the meeting; kept when an earlier attempt did (a
        # cancellation's intent, see _cancel).
        if not steps.store.events(ctx.folder, ctx.uidvalidity, ctx.uid):
            steps.store.record_events(
                ctx.folder,
                ctx.uidvalidity,
                ctx.uid,
                [(m.key, "answered", type(answer).__name__) for m in thread.meetings],
            )
        language = answer.language if not isinstance(answer, EventProblem) else ctx.language
        language = dict(getattr(answer, "params", ())).get("language", language)
        ctx = replace(ctx, language=language)
        if isinstance(answer, Thanks):
            return steps.records.ignore(
                ctx, f"an answer to the reply about {thread.titles} that asks for no change"
            )
        if not may_change(thread, ctx.sender or ""):
            return steps._reject(
                mailbox,
                ctx,
                f"{ctx.sender} may not change {thread.titles}: only whoever the reply went "
                "to, or the meeting's organiser or planner, may",
                "Ask them to answer instead.",
                code="change_not_owner",
            )
        if isinstance(answer, EventProblem):
            return self._answer_problem(mailbox, ctx, answer)
        if isinstance(answer, NotUnderstood):
            return steps._reject(
                mailbox,
                ctx,
                f"the answer to the reply about {thread.titles} was not understood as a change",
                "Answer with one line, such as: cancel; move to 15:00; 30 minutes longer.",
                # A code the catalogs do not word is answered as not understood.
                code=answer.code if answer.code in replies.PROBLEM_CODES else "change_unclear",
            )
        try:
            if isinstance(answer, CancelIt):
                return self._cancel(mailbox, ctx, thread)
            return self._change(mailbox, ctx, thread, answer)
        except Deferral as deferral:
            return steps._defer(mailbox, ctx, deferral)
        except (Refused, KMeetError) as exc:  # a rate limit; the API refusing the room
            problem = (
                replace(exc.problem, subject=thread.meetings[0].title)
                if isinstance(exc, Refused)
                else EventProblem(
                    thread.meetings[0].title,
                    f"the kMeet API refused to plan it: {exc}",
                    "Check the times and send the change again.",
                    code="api_refused",
                    params=(("detail", str(exc)),),
                )
            )
            return self._answer_problem(mailbox, ctx, problem)

    def _answer_problem(self, mailbox: Any, ctx: Any, problem: EventProblem) -> Outcome:
        """Rejected, with a reply that says what kept the change from being made."""
        return self.steps._finish(
            mailbox,
            ctx,
            Outcome.REJECTED,
            f"{problem.subject}: {problem.reason}",
            lambda: self._reply(ctx, problems=[problem]),
        )

    def _cancel(self, mailbox: Any, ctx: Any, thread: Thread) -> Outcome:
        steps, store = self.steps, self.steps.store
        # Cancelled by this very message before an interruption (its intent below).
        mine = {
            event
            for event, outcome, _ in store.events(ctx.folder, ctx.uidvalidity, ctx.uid)
            if outcome == "cancelled"
        }
        targets = [m for m in thread.meetings if _live(m) or m.key in mine]
        if not targets:
            return self._refuse_cancelled(mailbox, ctx, thread)
        # Step 3 first, as an intent: a restart after the cancellation knows it was this one's.
        store.record_events(
            ctx.folder,
            ctx.uidvalidity,
            ctx.uid,
            [(m.key, "cancelled", "cancelled") for m in targets],
        )
        cancelled, withdrawn = [], []
        for record in targets:
            sequence = record.sequence + (1 if _live(record) else 0)
            cancellation = Cancellation(record.key, record.title, uid="", sequence=sequence)
            done = steps.cancelling.cancel(cancellation)
            if _live(record):
                store.cancel_meeting(record.key, sequence)
            elif done.room is not None and done.room.id is not None:
                removed = steps.settings.kmeet.delete_cancelled_rooms
                done = replace(done, room_removed=removed)
            invitation = record.key.startswith("ics:")
            cancelled.append(replace(done, organisers_event=invitation))
            if not invitation:
                withdrawn.append(as_request(record, sequence=sequence))
        events = [(c.cancellation.key, "cancelled", cancel_detail(c)) for c in cancelled]
        store.record_events(ctx.folder, ctx.uidvalidity, ctx.uid, events)
        told = ownership.to_tell((m.owners for m in targets), ctx.sender or "")
        return steps._finish(
            mailbox,
            ctx,
            Outcome.PLANNED,
            "; ".join(f"{key}: {detail}" for key, _, detail in events),
            lambda: self._reply(ctx, cancelled=cancelled, withdrawn=withdrawn, told=told),
        )

    def _change(self, mailbox: Any, ctx: Any, thread: Thread, change: ChangeIt) -> Outcome:
        steps, store = self.steps, self.steps.store
        active = [replace(m, status="planned") for m in thread.meetings if _live(m)]
        if not active:
            return self._refuse_cancelled(mailbox, ctx, thread)
        if thread.from_invitation:
            return steps._reject(
                mailbox,
                ctx,
                f"{thread.titles} was planned from a calendar invitation; its changes come from "
                "the organiser's calendar",
                "Ask the organiser to change the event; to release the room, answer: cancel",
                code="change_invitation",
            )
        record = active[0]  # a plain request plans one meeting
        try:
            planned = self._planned_change(ctx, record, change)
        except Unplannable as exc:
            problem = EventProblem(record.title, exc.reason, exc.hint)
            return self._answer_problem(mailbox, ctx, problem)
        outcome = "planned" if planned.status == "unchanged" else "changed"
        detail = f"{planned.status}: {planned.room.url}"
        store.record_events(ctx.folder, ctx.uidvalidity, ctx.uid, [(record.key, outcome, detail)])
        told = ownership.to_tell([record.owners], ctx.sender or "")
        return steps._finish(
            mailbox,
            ctx,
            Outcome.PLANNED,
            f"{record.key}: {detail}",
            lambda: self._reply(ctx, planned=[planned], told=told),
        )

    def _planned_change(self, ctx: Any, record: MeetingRecord, change: ChangeIt) -> PlannedMeeting:
        """The meeting after `change`, planned: the room kept, or a fresh one."""
        steps, store, settings = self.steps, self.steps.store, self.steps.settings
        assert record.room is not None
        note = store.plan_note(ctx.key, record.key)
        if note is not None:
            # This very message changed it, and its reply was interrupted: answer as
            # it would have, without changing anything again.
            return PlannedMeeting(
                as_request(record),
                record.room,
                note.status,
                note.changes,
                note.previous_url,
                note.password,
            )
        if ctx.message_id and store.changed_by_copies(ctx.message_id, record.key):
            return PlannedMeeting(as_request(record), record.room, "unchanged")
        current = as_request(record)
        meeting = changed_meeting(record, change)
        body = room_body(meeting, settings.kmeet)
        status, changes = updates.classify(meeting, body, record)
        settings_changed = option_changes(current, meeting, settings, ctx.language)
        changes = (*changes, *people_change(record, meeting), *settings_changed)
        if not changes:
            return PlannedMeeting(
                replace(meeting, sequence=record.sequence), record.room, "unchanged"
            )
        if settings_changed or status == "replanned":
            note = PlanNote(ctx.key, "replanned", changes, record.room.url)
            return steps.planning._new_room(meeting, ctx, note)
        steps.planning._check_rate(ctx)
        note = PlanNote(ctx.key, "updated", changes)
        store.update_meeting(
            record.key, meeting_details(meeting, body), note, ownership.attendee_addresses(meeting)
        )
        store.log_room(headers.mailbox_of(ctx.sender or ""), steps.clock())
        return PlannedMeeting(meeting, record.room, "updated", changes)

    def _refuse_cancelled(self, mailbox: Any, ctx: Any, thread: Thread) -> Outcome:
        return self.steps._reject(
            mailbox,
            ctx,
            f"{thread.titles} has already been cancelled",
            "To plan it again, write a new request.",
            code="change_cancelled",
        )

    def _reply(
        self,
        ctx: Any,
        *,
        planned: Sequence[PlannedMeeting] = (),
        cancelled: Sequence[CancelledMeeting] = (),
        problems: Sequence[EventProblem] = (),
        withdrawn: Sequence[MeetingRequest] = (),
        told: Sequence[str] = (),
    ) -> EmailMessage:
        settings = self.steps.settings
        answer = replies.compose_reply(
            ctx.message,
            planned=planned,
            cancelled=cancelled,
            problems=problems,
            from_address=settings.smtp.from_address,
            from_name=settings.smtp.from_name,
            now=self.steps.clock(),
            language=ctx.language,
            recipient=ctx.recipient,
            withdrawn=withdrawn,
        )
        if told:
            answer["Cc"] = ", ".join(told)  # who had the meeting planned
        return answer


def _live(record: MeetingRecord) -> bool:
    """Planned, or re-planning when interrupted before its new room was recorded:
    the old room still stands (as Planning.plan counts it)."""
    return record.room is not None and record.status in ("planned", *UNFINISHED)
