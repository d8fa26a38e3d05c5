"""One message -> one outcome. The only place that orders the steps.

A pass selects the folder, finds the UIDs above the last one looked at (plus
deferred messages whose retry time has come) and handles each:

    fetch (PEEK) -> automatic mail? -> extract -> sender allowed? -> plan
    -> reply -> move -> record

Each step with a side effect is recorded in the state database before the
next one starts (see store.py), so a crash at any point is resumed without a
second room and without a second reply.
"""

from __future__ import annotations

import email
import email.policy
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from kmeet_bridge import headers, invites, replies, requests
from kmeet_bridge.config import Settings
from kmeet_bridge.kmeet import KMeetError, NotAuthorised, room_body
from kmeet_bridge.mailbox import MailboxError
from kmeet_bridge.mailer import MailerError, MailTransient
from kmeet_bridge.models import (
    IncomingMessage,
    MeetingRequest,
    NotARequest,
    Outcome,
    Room,
    Unplannable,
)
from kmeet_bridge.store import Store

log = logging.getLogger(__name__)

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"
BACKOFF_FIRST = 60.0  # seconds before the first retry of a deferred message
BACKOFF_MAX = 3600.0  # never wait longer than this between two retries


class MailboxPort(Protocol):
    def select(self, folder: str) -> int: ...
    def new_uids(self, after_uid: int) -> list[int]: ...
    def fetch(self, uid: int) -> IncomingMessage | None: ...
    def move(self, uid: int, target: str) -> None: ...


class MailerPort(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class PlannerPort(Protocol):
    def plan(self, body: dict) -> Room: ...


class TokenRefused(Exception):
    """The API refused the token: planning stops until the configuration is fixed."""


@dataclass
class PassReport:
    counts: Counter[Outcome] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.counts[o]} {o}" for o in Outcome if self.counts[o]]
        return ", ".join(parts) if parts else "nothing new"


@dataclass(frozen=True)
class _Deferral(Exception):
    reason: str
    retry_after: float | None = None


class Bridge:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        mailbox: Callable[[], AbstractContextManager[MailboxPort]],
        mailer: MailerPort,
        planner: PlannerPort,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.open_mailbox = mailbox
        self.mailer = mailer
        self.planner = planner
        self.clock = clock

    # -- a pass ---------------------------------------------------------------

    def run_pass(self, stop: threading.Event | None = None) -> PassReport:
        """Handle every new or due message once. Raises MailboxError when the
        mailbox cannot be read and TokenRefused when the API refuses the token."""
        report = PassReport()
        folder = self.settings.imap.folder
        try:
            with self.open_mailbox() as mailbox:
                uidvalidity = mailbox.select(folder)
                last = self.store.folder_position(folder, uidvalidity)
                new = mailbox.new_uids(last)
                due = self.store.due_deferred(folder, uidvalidity, self.clock())
                for uid in sorted(set(new) | set(due)):
                    if stop is not None and stop.is_set():
                        log.info("stopping: the remaining messages wait for the next pass")
                        break
                    outcome = self.handle(mailbox, folder, uidvalidity, uid)
                    if outcome is not None:
                        report.counts[outcome] += 1
                    if uid in new:
                        self.store.advance_folder(folder, uidvalidity, uid)
        except TokenRefused as exc:
            report.errors.append(str(exc))
            self.store.record_pass(f"stopped: {exc}", ok=False)
            raise
        except Exception as exc:
            self.store.record_pass(f"failed: {exc}", ok=False)
            raise
        self.store.record_pass(report.summary(), ok=True)
        return report

    # -- one message ----------------------------------------------------------

    def handle(
        self, mailbox: MailboxPort, folder: str, uidvalidity: int, uid: int
    ) -> Outcome | None:
        incoming = mailbox.fetch(uid)
        if incoming is None:
            log.info("message %s:%s is no longer in the folder; nothing to do", folder, uid)
            return None
        message = email.message_from_bytes(incoming.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        context = _MessageContext(
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            message=message,
            message_id=headers.message_id(message),
            sender=headers.sender_address(message),
            subject=headers.subject(message),
        )
        try:
            return self._decide(mailbox, context)
        except (TokenRefused, MailboxError):
            raise
        except Exception as exc:
            # A bug or a strange part must not block the messages behind it.
            log.exception("message %s failed unexpectedly", context.label)
            return self._reject(
                mailbox,
                context,
                f"the bridge failed on this message ({type(exc).__name__})",
                "Please send the request again; if it keeps failing, tell the administrator.",
                reply=False,
            )

    def _decide(self, mailbox: MailboxPort, ctx: _MessageContext) -> Outcome:
        own = self.settings.smtp.from_address
        automatic = headers.automatic_reason(ctx.message, own)
        if automatic:
            return self._ignore(ctx, automatic)
        try:
            meetings = self.extract(ctx.message)
        except NotARequest as exc:
            return self._ignore(ctx, str(exc))
        except Unplannable as exc:
            return self._reject(mailbox, ctx, exc.reason, exc.hint)
        if ctx.sender is None or not self.settings.senders.allows(ctx.sender):
            return self._reject(
                mailbox,
                ctx,
                f"sender {ctx.sender or '(unreadable From)'} is not allowed",
                "",
                reply=False,
            )
        try:
            planned = [(meeting, self._room_for(meeting, ctx)) for meeting in meetings]
        except _Deferral as deferral:
            return self._defer(mailbox, ctx, deferral)
        except KMeetError as exc:
            return self._reject(
                mailbox,
                ctx,
                f"the kMeet API refused to plan the meeting: {exc}",
                "Check the times and the title of the invitation and send it again.",
            )
        return self._answer_planned(mailbox, ctx, planned)

    def extract(self, message: EmailMessage) -> list[MeetingRequest]:
        """The meetings a message asks for (pure; also used by `parse`)."""
        return extract_meetings(message, self.settings, self.clock())

    # -- planning -------------------------------------------------------------

    def _room_for(self, meeting: MeetingRequest, ctx: _MessageContext) -> Room:
        """The room for a meeting: the one already planned for the same identity,
        or a new one from the API."""
        known = self.store.meeting(meeting.key)
        if known is not None and known.status == "planned" and known.room is not None:
            log.info("meeting %s already has room %s; reusing it", meeting.key, known.room.url)
            return known.room
        body = room_body(meeting, self.settings.kmeet)
        in_doubt = self.store.begin_planning(
            meeting.key,
            title=meeting.title,
            starting_at=body["starting_at"],
            ending_at=body["ending_at"],
            timezone=meeting.timezone,
            sequence=meeting.sequence,
            message_id=ctx.message_id,
        )
        if in_doubt:
            log.warning(
                "meeting %s: an earlier API call was interrupted without an answer; a second "
                "room may exist in the Infomaniak calendar",
                meeting.key,
            )
        try:
            room = self.planner.plan(body)
        except NotAuthorised as exc:
            self.store.abandon_planning(meeting.key)
            self._record(ctx, Outcome.DEFERRED, str(exc), next_attempt=self.clock())
            raise TokenRefused(str(exc)) from None
        except KMeetError as exc:
            if not exc.in_doubt:
                # The API clearly planned nothing: forget the attempt. Otherwise the
                # 'planning' record stays, and the next attempt is flagged in doubt.
                self.store.abandon_planning(meeting.key)
            if exc.transient:
                raise _Deferral(str(exc), getattr(exc, "retry_after", None)) from None
            raise
        self.store.finish_planning(meeting.key, room)
        log.info("meeting %s planned: %s", meeting.key, room.url)
        return room

    # -- outcomes -------------------------------------------------------------

    def _answer_planned(
        self,
        mailbox: MailboxPort,
        ctx: _MessageContext,
        planned: list[tuple[MeetingRequest, Room]],
    ) -> Outcome:
        if not self.store.reply_sent(ctx.key):
            reply = replies.compose_planned(
                ctx.message,
                planned,
                from_address=self.settings.smtp.from_address,
                from_name=self.settings.smtp.from_name,
                now=self.clock(),
            )
            try:
                self._send(ctx, reply, kind="planned")
            except _Deferral as deferral:
                return self._defer(mailbox, ctx, deferral)
        mailbox.move(ctx.uid, self.settings.imap.processed_folder)
        urls = ", ".join(room.url for _, room in planned)
        self._record(ctx, Outcome.PLANNED, urls)
        log.info("message %s planned: %s", ctx.label, urls)
        return Outcome.PLANNED

    def _reject(
        self,
        mailbox: MailboxPort,
        ctx: _MessageContext,
        reason: str,
        hint: str,
        *,
        reply: bool = True,
    ) -> Outcome:
        if reply and not self.store.reply_sent(ctx.key):
            answer = replies.compose_rejection(
                ctx.message,
                reason,
                hint,
                from_address=self.settings.smtp.from_address,
                from_name=self.settings.smtp.from_name,
                now=self.clock(),
            )
            try:
                self._send(ctx, answer, kind="rejected")
            except _Deferral as deferral:
                return self._defer(mailbox, ctx, deferral)
        mailbox.move(ctx.uid, self.settings.imap.failed_folder)
        self._record(ctx, Outcome.REJECTED, reason)
        log.warning("message %s rejected: %s", ctx.label, reason)
        return Outcome.REJECTED

    def _ignore(self, ctx: _MessageContext, reason: str) -> Outcome:
        self._record(ctx, Outcome.IGNORED, reason)
        log.info("message %s ignored: %s", ctx.label, reason)
        return Outcome.IGNORED

    def _defer(self, mailbox: MailboxPort, ctx: _MessageContext, deferral: _Deferral) -> Outcome:
        now = self.clock()
        previous = self.store.message(ctx.folder, ctx.uidvalidity, ctx.uid)
        first_seen = previous.first_seen if previous else now
        attempts = (previous.attempts if previous else 0) + 1
        if now - first_seen >= timedelta(seconds=self.settings.kmeet.retry_for):
            hours = self.settings.kmeet.retry_for / 3600
            return self._reject(
                mailbox,
                ctx,
                f"it could not be planned for {hours:g} hours: {deferral.reason}",
                "Please send the request again later.",
            )
        delay = retry_delay(attempts, deferral.retry_after)
        self._record(ctx, Outcome.DEFERRED, deferral.reason, next_attempt=now + delay)
        log.warning(
            "message %s deferred (attempt %d, next in %ds): %s",
            ctx.label,
            attempts,
            delay.total_seconds(),
            deferral.reason,
        )
        return Outcome.DEFERRED

    def _send(self, ctx: _MessageContext, reply: EmailMessage, *, kind: str) -> None:
        try:
            self.mailer.send(reply)
        except MailTransient as exc:
            raise _Deferral(f"the reply could not be sent: {exc}") from None
        except MailerError as exc:
            # The server refused the recipient for good: retrying cannot help.
            log.error("reply to %s for %s refused: %s", reply["To"], ctx.label, exc)
            return
        self.store.record_reply(
            ctx.key, kind=kind, recipient=str(reply["To"]), reply_id=reply["Message-ID"]
        )

    def _record(
        self,
        ctx: _MessageContext,
        outcome: Outcome,
        reason: str,
        next_attempt: datetime | None = None,
    ) -> None:
        self.store.record_message(
            folder=ctx.folder,
            uidvalidity=ctx.uidvalidity,
            uid=ctx.uid,
            outcome=outcome,
            reason=reason,
            message_id=ctx.message_id,
            sender=ctx.sender,
            subject=ctx.subject,
            next_attempt=next_attempt,
            now=self.clock(),
        )


@dataclass(frozen=True)
class _MessageContext:
    folder: str
    uidvalidity: int
    uid: int
    message: EmailMessage
    message_id: str | None
    sender: str | None
    subject: str

    @property
    def key(self) -> str:
        """Identity of the message for replies: survives a move to another folder."""
        return self.message_id or f"{self.folder}:{self.uidvalidity}:{self.uid}"

    @property
    def label(self) -> str:
        return f"{self.folder}:{self.uid} {self.message_id or ''}".strip()


def extract_meetings(
    message: EmailMessage, settings: Settings, now: datetime
) -> list[MeetingRequest]:
    """An invitation first; a plain "kmeet" request when there is none."""
    kmeet = settings.kmeet
    try:
        return invites.extract(
            message,
            default_timezone=kmeet.timezone,
            default_duration=kmeet.default_duration,
            now=now,
        )
    except NotARequest:
        if not requests.is_request(message):
            raise
    return requests.extract(
        message, default_timezone=kmeet.timezone, default_duration=kmeet.default_duration, now=now
    )


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter, capped; the API's Retry-After wins when longer."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=round(delay))
