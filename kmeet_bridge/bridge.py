"""One message -> one outcome. The only place that orders the steps.

A pass selects the folder, finds the UIDs above the last one looked at (plus
deferred messages whose retry time has come) and handles each:

    fetch the header (PEEK) -> automatic mail? sender allowed? authenticated?
    -> fetch the rest -> extract (within a CPU budget) -> plan -> reply -> move
    -> record -> advance the folder position

The checks that need the header only come first, so that a message from a
stranger costs one small fetch and is filed without any of its body being
downloaded, parsed or expanded. What an allowed sender's message costs is
bounded by the readers' limits ([limits]; mime_limits.py, requests.py,
invites.py) and, as a backstop, by a CPU time budget per message (budget.py).
The message is recorded as being read before it is read: if the process is
stopped meanwhile twice (the watchdog, the memory limit), the next pass rejects
it instead of reading it again.

Each step with a side effect is recorded in the state database before the next
one starts; store.py's module docstring is the protocol, step by step, and what
a restart does after a kill at each point. The comments below name those steps.
`failpoints.reached` marks the points the crash tests kill the process at.

With `[kmeet] max_parallel` above 1, a pass has that many API requests under
way at once, and handles one message more than that at a time (after the
first, which goes alone), so that the API never waits while a worker fetches,
replies or files: worker threads, each with an IMAP connection of its own,
sharing the store (its lock) and the API throttle. Every message goes through
the same steps; messages that touch the same meeting are handled one after
the other in UID order, and the folder position moves only past UIDs that,
with all before them, have their outcome (parallel.py). Every API call waits
for a free slot and its turn: at most `[kmeet] max_requests_per_second`, all
workers together (throttle.py).

Failures, by kind:
- a service down (network, timeout, 5xx, SMTP 4xx or down): the service is
  marked down (health.py) and the message deferred: it stays where it is and
  waits for the service, without a retry time of its own. Nothing but a probe
  goes to a service that is down (`_probe`, at the start of a pass, when one is
  due; a 503's Retry-After counts for the service); once it is back, every
  message waiting for it is handled in UID order. Past `[kmeet] retry_for` the
  message is rejected with a reply that explains why;
- a 429: the message is deferred and retried with backoff (`retry_delay`, the
  Retry-After honoured). A 429 also pauses every API call of the
  bridge; a pause of a few seconds is waited out and the call made again once
  within the pass, a longer one defers every message that needs the API
  until it is over, without calling it (throttle.py);
- the API refusing one event (422...): that event is rejected with the API's
  explanation;
- the API refusing the token (401/403): TokenRefused ends the pass at once; the
  message and everything behind it stay untouched for the next pass;
- the SMTP server refusing the reply for good (5xx): logged; the message is
  filed without it;
- a bug or a strange part: the message is rejected with the error's type and
  text (the traceback goes to the log), filed in failed_folder, and the pass
  goes on with the next message.
"""

from __future__ import annotations

import email
import email.policy
import logging
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from kmeet_bridge import (
    budget,
    failpoints,
    headers,
    invites,
    mime_limits,
    ownership,
    replies,
    requests,
    updates,
)
from kmeet_bridge.authentication import sender_authenticated
from kmeet_bridge.config import Settings
from kmeet_bridge.health import API, IMAP, NAMES, SMTP, Health, Outage, recorded_outage
from kmeet_bridge.kmeet import (
    Calendar,
    KMeetError,
    NotAuthorised,
    RateLimited,
    TransientError,
    effective_room,
    new_room_password,
    room_body,
)
from kmeet_bridge.language import detect_language
from kmeet_bridge.mailbox import LoginFailed, MailboxError
from kmeet_bridge.mailer import MailerError, MailRejected
from kmeet_bridge.models import (
    LANGUAGES,
    Cancellation,
    CancelledMeeting,
    EventProblem,
    Extraction,
    IncomingMessage,
    ITipAnswer,
    MeetingRequest,
    NotARequest,
    Note,
    Outcome,
    PlannedMeeting,
    Room,
    Unplannable,
)
from kmeet_bridge.parallel import Backlog, KeyOrder
from kmeet_bridge.store import (
    UNFINISHED,
    FilingRecord,
    MeetingDetails,
    MeetingRecord,
    PlanNote,
    Store,
)
from kmeet_bridge.throttle import Throttle

log = logging.getLogger(__name__)
T = TypeVar("T")

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"
BACKOFF_FIRST = 60.0  # seconds before the first retry of a deferred message
BACKOFF_MAX = 3600.0  # never wait longer than this between two retries
MAX_ERROR_TEXT = 300  # longest error text kept in a failed message's reason
SPARE_WORKERS = 1  # workers beyond [kmeet] max_parallel in a pass with several
# Readings of one message stopped by the process ending, after which the message
# is rejected instead of read again: two, so that a kill loop ends at once and a
# message that was only being read while another caused a crash is read again.
MAX_INTERRUPTED_READINGS = 2


class MailboxPort(Protocol):
    def select(self, folder: str) -> int: ...
    def new_uids(self, after_uid: int) -> list[int]: ...
    def fetch_header(self, uid: int) -> IncomingMessage | None: ...
    def fetch(
        self, uid: int, max_size: int | None = None, *, size: int | None = None
    ) -> IncomingMessage | None: ...
    def move(self, uid: int, target: str) -> None: ...


class MailerPort(Protocol):
    def send(self, message: EmailMessage) -> None: ...
    def check(self) -> str: ...  # connect and log in: the probe while SMTP is down


class PlannerPort(Protocol):
    def plan(self, body: dict) -> Room: ...
    def delete_room(self, room_id: int) -> None: ...
    def list_calendars(self) -> list[Calendar]: ...  # read-only: the probe while the API is down


class TokenRefused(Exception):
    """The API refused the token: planning stops until the configuration is fixed."""


@dataclass
class PassReport:
    counts: Counter[Outcome] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Hears of each outcome as it is counted (the metrics); from the worker's thread.
    on_outcome: Callable[[Outcome], None] | None = None

    def count(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def summary(self) -> str:
        parts = [f"{self.counts[o]} {o}" for o in Outcome if self.counts[o]]
        return ", ".join(parts) if parts else "nothing new"


@dataclass(frozen=True)
class _Deferral(Exception):
    reason: str
    retry_after: float | None = None
    service: str | None = None  # the service that is down: the message waits for it


class Bridge:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        mailbox: Callable[[], AbstractContextManager[MailboxPort]],
        mailer: MailerPort,
        planner: PlannerPort,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[], None] | None = None,
        health: Health | None = None,
    ) -> None:
        self.settings = settings
        # Called at every step that shows the pass moving on (daemon.Heartbeat).
        self.progress = progress or (lambda: None)
        self.store = store
        self.open_mailbox = mailbox
        self.mailer = mailer
        self.planner = planner
        self.clock = clock
        # Which services are down (health.py): shared with the daemon, kept across
        # reloads; the messages waiting for one are served as soon as it is back.
        self.health = health or Health()
        for service in (API, SMTP):  # an outage recorded before a restart goes on
            outage = recorded_outage(store.meta, service)
            if outage is not None:
                self.health.services[service].resume(outage, clock())
        # Every API call, from every worker, waits for a slot and its turn
        # (throttle.py). The pause after a 429 runs on this bridge's clock, like the
        # deferrals it goes with.
        self.throttle = Throttle(
            settings.kmeet.max_requests_per_second,
            in_flight=settings.kmeet.max_parallel,
            wall=lambda: self.clock().timestamp(),
        )
        # In a pass with several workers: who waits for whom (parallel.py), and the
        # rooms being planned right now, which the rate limits count in advance.
        self._key_order: KeyOrder | None = None
        self._rooms_changed = threading.Condition()
        self._rooms_in_flight: Counter[str] = Counter()
        self._refusing = threading.Lock()  # see _finish

    # -- a pass ---------------------------------------------------------------

    def run_pass(
        self, stop: threading.Event | None = None, report: PassReport | None = None
    ) -> PassReport:
        """Handle every new or due message once. Raises MailboxError when the
        mailbox cannot be read and TokenRefused when the API refuses the token.
        `report`, when given, is filled in: the caller keeps the counts of a pass
        that raises."""
        report = report if report is not None else PassReport()
        folder = self.settings.imap.folder
        self._probe()
        self._announce()  # a service back is said before the messages it releases
        try:
            with self.open_mailbox() as mailbox:
                uidvalidity = mailbox.select(folder)
                self.health.imap.succeeded(self.clock())
                last = self.store.folder_position(folder, uidvalidity)
                new = mailbox.new_uids(last)
                due = self.store.due_deferred(folder, uidvalidity, self.clock())
                # A move interrupted before its outcome was recorded (step 5): the
                # UID is gone from the folder, so only the state remembers it.
                moving = self.store.interrupted_filings(folder, uidvalidity)
                # Waiting for a service that is up: it came back (or, after a restart,
                # nobody knows yet that it is down). In arrival order with the rest.
                waiting = self.store.waiting_uids(folder, uidvalidity, self.health.up())
                uids = sorted(set(new) | set(due) | set(moving) | set(waiting))
                parallel = self.settings.kmeet.max_parallel
                # One worker more than API requests at once: while one fetches, reads,
                # replies or files, max_parallel requests can still be with the API.
                workers = parallel + SPARE_WORKERS if parallel > 1 else 1
                # Even with several workers the first message goes alone: a refused
                # token, or an API or SMTP server that is down, then costs one
                # message, as in a pass one at a time, not one per worker.
                alone = uids if workers == 1 or len(uids) <= 2 else uids[:1]
                position = (folder, uidvalidity, last)
                if self._handle_in_order(mailbox, position, alone, report, stop) and (
                    rest := uids[len(alone) :]
                ):
                    self._handle_side_by_side(
                        mailbox, position, rest, min(workers, len(rest)), report, stop
                    )
                # A request of this pass got through after another found the service
                # down: what waits for it is served now, not at the next pass.
                released = self.store.waiting_uids(folder, uidvalidity, self.health.up())
                if released and not (stop is not None and stop.is_set()):
                    self._handle_in_order(mailbox, position, released, report, stop)
        except TokenRefused as exc:
            report.errors.append(str(exc))
            self.store.record_pass(f"stopped: {exc}", ok=False, now=self.clock())
            raise
        except MailboxError as exc:
            self.health.imap.failed(_imap_reason(exc), self.clock(), detail=str(exc))
            self.store.record_pass(f"failed: {exc}", ok=False, now=self.clock())
            raise
        except Exception as exc:
            self.store.record_pass(f"failed: {exc}", ok=False, now=self.clock())
            raise
        finally:
            self._announce()
        self.store.record_pass(report.summary(), ok=True, now=self.clock())
        return report

    # -- the services' health (health.py) ---------------------------------------

    def _probe(self) -> None:
        """One cheap request to each service that is down and due for a probe; none
        to a service that is up. A success releases the messages waiting for it."""
        api, smtp = self.health.api, self.health.smtp
        if api.probe_due(self.clock()):
            try:
                self.throttle.send(self.planner.list_calendars)
            except KMeetError as exc:
                if _api_down(exc):
                    api.failed(_api_reason(exc), self.clock(), exc.retry_after)
                    log.debug("the kMeet API is still unavailable: %s", exc)
                else:  # it answers; the real request will say what else is wrong
                    api.succeeded(self.clock())
            else:
                api.succeeded(self.clock())
        if smtp.probe_due(self.clock()):
            try:
                self.mailer.check()
            except MailerError as exc:
                smtp.failed(_smtp_reason(exc), self.clock())
                log.debug("the SMTP server is still unavailable: %s", exc)
            else:
                smtp.succeeded(self.clock())

    def _call_api(self, request: Callable[[], T], **hooks: Callable[[], object]) -> T:
        """`request` through the throttle, unless the API is down: then nothing is
        sent (_Unavailable) and the message waits for the API to come back."""
        api = self.health.api
        if api.down:
            raise _Unavailable(api.detail)
        try:
            result = self.throttle.send(request, **hooks)
        except KMeetError as exc:
            if _api_down(exc):
                api.failed(_api_reason(exc), self.clock(), exc.retry_after, str(exc))
            raise
        api.succeeded(self.clock())
        return result

    def _announce(self) -> None:
        """Each change of a service's health, once: in the log, and in the state
        for `status`; the messages waiting, for systemd's status line."""
        counts = self.store.waiting_counts()
        self.health.note_waiting(counts)
        now = self.clock()
        for event in self.health.take_events():
            if isinstance(event, Outage):
                waiting = None if event.service == IMAP else counts.get(event.service, 0)
                log.warning("%s", event.line(waiting, now))
            else:
                log.info("%s", event.line())
            self.store.set_meta(*event.meta())
            if not isinstance(event, Outage):
                self.store.set_meta(f"outage:{event.service}", None)

    def _handle_in_order(
        self,
        mailbox: MailboxPort,
        position: tuple[str, int, int],
        uids: Sequence[int],
        report: PassReport,
        stop: threading.Event | None,
    ) -> bool:
        """Handle `uids` one at a time, in ascending order; False when `stop` ended it."""
        folder, uidvalidity, last = position
        for uid in uids:
            if stop is not None and stop.is_set():
                log.info("stopping: the remaining messages wait for the next pass")
                return False
            outcome = self.handle(mailbox, folder, uidvalidity, uid)
            if outcome is not None:
                report.count(outcome)
            # Step 6: only now that the message has its outcome; every UID
            # below it was new and handled before it (ascending order).
            if uid > last:
                self.store.advance_folder(folder, uidvalidity, uid)
        return True

    def _handle_side_by_side(
        self,
        mailbox: MailboxPort,
        position: tuple[str, int, int],
        uids: Sequence[int],
        workers: int,
        report: PassReport,
        stop: threading.Event | None,
    ) -> None:
        """Handle `uids` with `workers` threads, each over an IMAP connection of its
        own (IMAP connections are not thread-safe; the first worker uses
        `mailbox`), each taking the lowest UID left when done with one.

        Messages that share a meeting wait for each other (`KeyOrder`); the folder
        position moves past a UID only once every UID up to it has its outcome
        (`Backlog`). An error that ends a pass one at a time (the token refused,
        the mailbox or the state database failing) ends this one too: the other
        workers finish the message in hand, take no other, and the first such
        error is raised. `stop` is honoured the same way."""
        folder, uidvalidity, last = position
        backlog = Backlog(uids)
        order = KeyOrder(uids)
        ending = threading.Event()  # a worker failed: take no more messages
        failures: list[BaseException] = []
        lock = threading.Lock()  # guards report and failures

        def handle_until_done(box: MailboxPort) -> None:
            while not ending.is_set() and not (stop is not None and stop.is_set()):
                uid = backlog.take()
                if uid is None:
                    return
                try:
                    outcome = self.handle(box, folder, uidvalidity, uid)
                finally:
                    order.done(uid)
                if outcome is not None:
                    with lock:
                        report.count(outcome)
                # Step 6, for the longest run of UIDs from the first that are handled.
                reached = backlog.finish(uid)
                if reached is not None and reached > last:
                    self.store.advance_folder(folder, uidvalidity, reached)

        def work(box: MailboxPort | None) -> None:
            try:
                with ExitStack() as stack:
                    if box is None:
                        box = self._worker_mailbox(stack, folder, uidvalidity)
                    if box is not None:
                        handle_until_done(box)
            except BaseException as exc:
                ending.set()
                with lock:
                    failures.append(exc)

        threads = [
            threading.Thread(
                target=work, args=(mailbox if n == 0 else None,), name=f"pass-worker-{n + 1}"
            )
            for n in range(workers)
        ]
        self._key_order = order
        try:
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    thread.join()
            except BaseException:  # Ctrl-C: the messages in hand are finished first
                ending.set()
                for thread in threads:
                    thread.join()
                raise
        finally:
            self._key_order = None
        if failures:
            raise failures[0]
        if backlog.left():
            log.info("stopping: the remaining messages wait for the next pass")

    def _worker_mailbox(
        self, stack: ExitStack, folder: str, uidvalidity: int
    ) -> MailboxPort | None:
        """Another connection with `folder` selected, closed with `stack`; None when
        the server will not have one more (the pass goes on with fewer workers)."""
        try:
            box = stack.enter_context(self.open_mailbox())
            current = box.select(folder)
        except MailboxError as exc:
            log.warning("one worker fewer in this pass: no extra IMAP connection: %s", exc)
            return None
        if current != uidvalidity:
            raise MailboxError(
                f"folder {folder} was renumbered (UIDVALIDITY {uidvalidity} -> {current}) "
                "during the pass"
            )
        return box

    def _claim(self, uid: int, keys: set[Hashable]) -> None:
        """With several workers: wait until no earlier message of the pass may touch
        the same meetings or message key (`keys`), so that such messages are
        handled one after the other in UID order, as one worker would."""
        if self._key_order is not None:
            self._key_order.claim(uid, keys)

    # -- one message ----------------------------------------------------------

    def handle(
        self, mailbox: MailboxPort, folder: str, uidvalidity: int, uid: int
    ) -> Outcome | None:
        # Step 1: the header alone first (BODY.PEEK[HEADER], so that even an ignored
        # message stays unread): who sent it decides whether anything more of the
        # message is downloaded or read. A stranger's mail costs a header.
        self.progress()
        head = mailbox.fetch_header(uid)
        if head is None:
            return self._gone(folder, uidvalidity, uid)
        context: _MessageContext | None = None
        try:
            header = email.message_from_bytes(head.raw, policy=email.policy.default)
            assert isinstance(header, EmailMessage)
            context = _MessageContext(
                folder=folder,
                uidvalidity=uidvalidity,
                uid=uid,
                message=header,
                message_id=headers.message_id(header),
                sender=headers.sender_address(header),
                subject=headers.subject(header),
                language=self.settings.kmeet.language,
                size=head.size,
                complete=False,
            )
            refused = self._check_sender(mailbox, context)
            if refused is not None:
                return refused
            return self._read(mailbox, context)
        except (TokenRefused, MailboxError, sqlite3.Error):
            # The pass cannot go on (token, mailbox, state database): not this message's fault.
            raise
        except Exception as exc:
            # A bug or a strange part must not block the messages behind it.
            if context is None:  # its very headers could not be read
                context = _MessageContext(folder, uidvalidity, uid, EmailMessage(), None, None, "")
            return self._fail(mailbox, context, exc)

    def _check_sender(self, mailbox: MailboxPort, ctx: _MessageContext) -> Outcome | None:
        """The checks that need the header only, before anything else is read:
        automatic mail is ignored; a sender who is not allowed, or not
        authenticated, is filed without a reply. None: read the message."""
        automatic = headers.automatic_reason(ctx.message, self.settings.smtp.from_address)
        if automatic:
            return self._ignore(ctx, automatic)
        refusal = ""
        if ctx.sender is None or not self.settings.senders.allows(ctx.sender):
            refusal = f"sender {ctx.sender or '(unreadable From)'} is not allowed"
        else:
            # Possibly forged: answering could mail a stranger, so no reply.
            refusal = self._unauthenticated(ctx)
        if not refusal:
            return None
        self._claim(ctx.uid, {("message", ctx.key)})
        return self._reject(mailbox, ctx, refusal, "", reply=False)

    def _read(self, mailbox: MailboxPort, ctx: _MessageContext) -> Outcome | None:
        """Fetch the message of an allowed sender and read what it asks for, within
        [limits] cpu_seconds; then decide."""
        limits = self.settings.limits
        where = (ctx.folder, ctx.uidvalidity, ctx.uid)
        # Until the body is read, a reply speaks the language of the subject.
        ctx = replace(ctx, language=detect_language(ctx.subject, self.settings.kmeet.language))
        if ctx.size > limits.max_message_size:
            self._claim(ctx.uid, {("message", ctx.key)})
            return self._too_large(mailbox, ctx)
        if self.store.interrupted_readings(*where) >= MAX_INTERRUPTED_READINGS:
            # Reading it was begun and never finished, again and again: each time
            # the process was stopped (the watchdog, the memory limit) while it
            # read. Reading it once more would only repeat that. (Once is not
            # enough to tell: a crash caused by another message of a pass with
            # several workers stops this one's reading too.)
            self._claim(ctx.uid, {("message", ctx.key)})
            return self._reject(
                mailbox,
                ctx,
                "the bridge was stopped while reading this message",
                "Send the invitation again, or write the request in a new message.",
                code="reading_stopped",
            )
        self.store.begin_reading(*where, self.clock())
        incoming = mailbox.fetch(ctx.uid, limits.max_message_size, size=ctx.size)
        if incoming is None:
            self.store.end_reading(*where)
            return self._gone(*where)
        failpoints.reached(failpoints.WHILE_READING)
        if not incoming.complete:  # it grew past the limit since its header was read
            self._claim(ctx.uid, {("message", ctx.key)})
            return self._too_large(mailbox, replace(ctx, size=incoming.size))
        try:
            with budget.limit(limits.cpu_seconds):
                problem = mime_limits.structure_problem(incoming.raw, limits.max_parts)
                if problem is not None:
                    reason, _, _ = problem
                    self._claim(ctx.uid, {("message", ctx.key)})
                    return self._reject(
                        mailbox,
                        ctx,
                        reason,
                        "Forward the invitation itself, or attach its .ics file.",
                        code="too_complex",
                    )
                message = email.message_from_bytes(incoming.raw, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                ctx = replace(
                    ctx,
                    message=message,
                    language=reply_language(message, None, self.settings.kmeet.language),
                    complete=True,
                )
                try:
                    extraction = self.extract(message)
                except NotARequest as exc:
                    return self._ignore(ctx, str(exc))
                ctx = replace(
                    ctx, language=reply_language(message, extraction, self.settings.kmeet.language)
                )
        except budget.OverBudget as exc:
            self._claim(ctx.uid, {("message", ctx.key)})
            return self._reject(
                mailbox,
                ctx,
                str(exc),
                "Send the invitation of this one meeting only, or a shorter request.",
                code="too_costly",
                params=(("seconds", str(limits.cpu_seconds)),),
            )
        finally:
            self.store.end_reading(*where)
        self.progress()
        return self._decide(mailbox, ctx, extraction)

    def _gone(self, folder: str, uidvalidity: int, uid: int) -> Outcome | None:
        """A UID to look at that is no longer in the folder."""
        filing = self.store.filing(folder, uidvalidity, uid)
        previous = self.store.message(folder, uidvalidity, uid)
        location = f"{folder}:{uidvalidity}:{uid}"
        self._claim(uid, {("message", location)})
        if filing is not None:
            # Step 5 was interrupted after the move: the intent says what the move meant.
            self.store.record_message(
                folder=folder,
                uidvalidity=uidvalidity,
                uid=uid,
                outcome=filing.outcome,
                reason=filing.reason,
                message_id=filing.message_id,
                sender=filing.sender,
                subject=filing.subject,
                now=self.clock(),
                plans_of=location,
            )
            log.warning(
                "message %s:%s %s was moved to %s before an interruption; its outcome is "
                "recorded now: %s: %s",
                folder,
                uid,
                filing.message_id or "",
                filing.target,
                filing.outcome,
                filing.reason,
            )
            return filing.outcome
        if previous is not None and previous.outcome != Outcome.DEFERRED:
            return None  # filed and recorded; only the folder position was behind (step 6)
        # Moved or deleted by someone else before it was handled (or while deferred):
        # it is no longer the bridge's to handle, and must not be retried forever.
        reason = "it left the folder before the bridge could handle it"
        self.store.record_message(
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            outcome=Outcome.IGNORED,
            reason=reason,
            message_id=previous.message_id if previous else None,
            sender=previous.sender if previous else None,
            subject=previous.subject if previous else None,
            now=self.clock(),
            plans_of=location,
        )
        log.warning("message %s:%s ignored: %s", folder, uid, reason)
        return Outcome.IGNORED

    def _fail(self, mailbox: MailboxPort, ctx: _MessageContext, exc: Exception) -> Outcome:
        """A message the code failed on: rejected with the error, filed in
        failed_folder. The traceback goes to the log only."""
        text = " ".join(str(exc).split())
        if len(text) > MAX_ERROR_TEXT:
            text = text[: MAX_ERROR_TEXT - 3] + "..."
        error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        log.error("message %s failed unexpectedly: %s", ctx.label, error, exc_info=exc)
        self._claim(ctx.uid, {("message", ctx.key)})  # held already if it failed after _decide's
        allowed = ctx.sender is not None and self.settings.senders.allows(ctx.sender)

        def rejection() -> EmailMessage | None:
            # The message that broke the code may break the reply too: then none.
            try:
                return self._rejection(ctx, "", "", code="internal")
            except Exception:
                log.exception("no reply could be written for message %s", ctx.label)
                return None

        return self._finish(
            mailbox,
            ctx,
            Outcome.REJECTED,
            f"the bridge failed on this message ({error})",
            rejection if allowed else None,
            final=True,  # failing again later would not help
        )

    def _decide(
        self, mailbox: MailboxPort, ctx: _MessageContext, extraction: Extraction
    ) -> Outcome:
        # From here on the message may reply, plan, change or cancel meetings.
        self._claim(ctx.uid, _keys(ctx, extraction))
        # The sender was checked from the header (_check_sender); the reply's
        # recipient needs the invitation (a calendar server's Reply-To).
        ctx = replace(
            ctx,
            recipient=replies.reply_recipient(
                ctx.message,
                organizers=extraction.organizers,
                allowed=self.settings.senders.allows,
            ),
        )
        # A cancellation is only ours to answer for a meeting this bridge planned.
        cancellations = [c for c in extraction.cancellations if self._cancellable(c)]
        if not (extraction.meetings or cancellations or extraction.problems):
            return self._ignore(ctx, "cancellation of a meeting this bridge did not plan")
        problems = list(extraction.problems)
        planned: list[PlannedMeeting] = []
        try:
            for meeting in extraction.meetings:
                try:
                    planned.append(self._plan(meeting, ctx))
                except _Refused as refusal:
                    problems.append(
                        replace(refusal.problem, subject=meeting.title, key=meeting.key)
                    )
                except KMeetError as exc:  # permanent: this event, not the message
                    problems.append(
                        EventProblem(
                            meeting.title,
                            f"the kMeet API refused to plan it: {exc}",
                            "Check the times and the title of the invitation and send it again.",
                            meeting.key,
                            "api_refused",
                            (("detail", str(exc)),),
                        )
                    )
            cancelled = []
            for cancellation in cancellations:
                refusal = self._cancel_refusal(cancellation, ctx)
                if refusal is None:
                    cancelled.append(self._cancel(cancellation))
                else:
                    problems.append(refusal)
        except _Deferral as deferral:
            return self._defer(mailbox, ctx, deferral)
        told = self._planners_to_tell(ctx, planned, cancelled)
        events = (
            [(p.meeting.key, "planned", f"{p.status}: {p.room.url}") for p in planned]
            + [(c.cancellation.key, "cancelled", _cancel_detail(c)) for c in cancelled]
            + [(p.key or p.subject, "rejected", p.reason) for p in problems]
        )
        # Step 3: what became of each event, rewritten on every attempt.
        self.store.record_events(ctx.folder, ctx.uidvalidity, ctx.uid, events)
        if not planned and not cancelled:
            reason = "; ".join(f"{p.subject}: {p.reason}" for p in problems)
            return self._finish(
                mailbox, ctx, Outcome.REJECTED, reason, lambda: self._reply(ctx, (), (), problems)
            )
        summary = "; ".join(detail for _, _, detail in events)
        return self._finish(
            mailbox,
            ctx,
            Outcome.PLANNED,
            summary,
            lambda: self._reply(ctx, planned, cancelled, problems, told),
        )

    def extract(self, message: EmailMessage) -> Extraction:
        """What a message asks for (pure; also used by `parse`)."""
        return extract_meetings(message, self.settings, self.clock())

    # -- planning -------------------------------------------------------------

    def _plan(self, meeting: MeetingRequest, ctx: _MessageContext) -> PlannedMeeting:
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
            meeting.key, _details(meeting, body), note, ownership.attendee_addresses(meeting)
        )
        log.info("meeting %s updated; room %s kept", meeting.key, known.room.url)
        return PlannedMeeting(meeting, known.room, status, changes)

    def _join_series(
        self, meeting: MeetingRequest, series: MeetingRecord, ctx: _MessageContext
    ) -> PlannedMeeting:
        """An occurrence of a known series: it uses the series' room."""
        assert series.room is not None
        body = room_body(meeting, self.settings.kmeet)
        self.store.link_meeting(
            meeting.key,
            _details(meeting, body),
            room=series.room,
            room_ends=series.room_ends,
            message_id=ctx.message_id,
            note=PlanNote(ctx.key, "occurrence"),
            owners=series.owners,  # an occurrence belongs to its series' owners
        )
        return PlannedMeeting(meeting, series.room, "occurrence")

    def _new_room(
        self, meeting: MeetingRequest, ctx: _MessageContext, note: PlanNote
    ) -> PlannedMeeting:
        """A new room, within the rate limits (_OverLimit when past them)."""
        # Not a contextmanager: it would set __traceback__ on the frozen _Deferral.
        sender = self._take_room_slot(ctx)
        try:
            return self._plan_room(meeting, ctx, note)
        finally:
            self._give_back_room_slot(sender)

    def _plan_room(
        self, meeting: MeetingRequest, ctx: _MessageContext, note: PlanNote
    ) -> PlannedMeeting:
        """Plan a room through the API, recording before and after the call (step 2
        of store.py's protocol). A password-protected room's password is recorded
        with the note only until the reply carrying it is accepted."""
        protected = effective_room(meeting, self.settings.kmeet).password_enabled
        password = new_room_password() if protected else None
        body = room_body(meeting, self.settings.kmeet, password=password)
        details = _details(meeting, body)
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
            room = self._call_api(
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
            self._record(ctx, Outcome.DEFERRED, str(exc), next_attempt=self.clock())
            raise TokenRefused(str(exc)) from None
        except KMeetError as exc:
            if not exc.in_doubt:
                # The API clearly planned nothing: forget the attempt. Otherwise the
                # 'planning' record stays, and the next attempt is flagged in doubt.
                self.store.abandon_planning(meeting.key)
            if exc.transient:
                raise _Deferral(str(exc), exc.retry_after, _waits_for(exc)) from None
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

    # -- limits -----------------------------------------------------------------

    def _take_room_slot(self, ctx: _MessageContext) -> str:
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

    def _check_rate(self, ctx: _MessageContext, in_flight: Counter[str] | None = None) -> None:
        """Raise _OverLimit when one more room would pass [senders] max_rooms_per_hour
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
                raise _OverLimit(
                    EventProblem(
                        "",
                        f"{len(planned)} rooms were planned within the last "
                        f"{'hour' if sender is not None else '24 hours'}, the most allowed",
                        f"Please send your request again after {after}.",
                        code=code,
                        params=(("limit", str(limit)), ("after", after)),
                    )
                )

    def _refusals_exhausted(self, ctx: _MessageContext) -> str:
        """Why no reply saying no is sent this time, or "": past [senders]
        max_refusals_per_hour to the same person, the bridge falls silent, so that
        forged mail cannot turn it into a mail cannon (the message is still filed)."""
        limit = self.settings.senders.max_refusals_per_hour
        person = headers.mailbox_of(ctx.sender or "")
        sent = self.store.refusals_since(self.clock() - timedelta(hours=1), person)
        if len(sent) < limit:
            return ""
        return f"no reply: {len(sent)} refusals were sent to {person} within the last hour"

    def _unauthenticated(self, ctx: _MessageContext) -> str:
        """Why the sender does not count as authenticated, or "" when it does (or
        when [senders] require_authenticated is off)."""
        senders = self.settings.senders
        if not senders.require_authenticated or ctx.sender is None:
            return ""
        ok, why = sender_authenticated(ctx.message, ctx.sender, senders.trusted_authserv_ids)
        return "" if ok else f"sender {ctx.sender} is not authenticated: {why}"

    def _too_large(self, mailbox: MailboxPort, ctx: _MessageContext) -> Outcome:
        """Over [limits] max_message_size: only its header was read, and the sender
        (if allowed) is told why."""
        limit = self.settings.limits.max_message_size
        allowed = ctx.sender is not None and self.settings.senders.allows(ctx.sender)
        mib = 1024 * 1024
        return self._reject(
            mailbox,
            ctx,
            f"the message is {ctx.size / mib:.1f} MiB, more than the {limit / mib:.1f} MiB "
            "read here",
            "Send the invitation again without large attachments.",
            reply=allowed and not self._unauthenticated(ctx),
            code="message_too_large",
            # In bytes: the reply writes them in kB or MB for people.
            params=(("size", str(ctx.size)), ("limit", str(limit))),
        )

    # -- whose meeting ------------------------------------------------------------

    def _check_role(self, ctx: _MessageContext, record: MeetingRecord | None, status: str) -> None:
        """Raise _Refused unless the sender may do what the message does to a
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
        raise _Refused(_not_theirs(role))

    def _cancel_refusal(
        self, cancellation: Cancellation, ctx: _MessageContext
    ) -> EventProblem | None:
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
        return replace(_not_theirs(role), subject=cancellation.title, key=cancellation.key)

    def _planners_to_tell(
        self,
        ctx: _MessageContext,
        planned: Sequence[PlannedMeeting],
        cancelled: Sequence[CancelledMeeting],
    ) -> list[str]:
        """Who had a meeting this message changed planned, when that is not its
        sender (the organiser changed it): they get the reply too."""
        keys = [p.meeting.key for p in planned if p.status not in ("new", "unchanged")]
        keys += [c.cancellation.key for c in cancelled]
        records = [self.store.meeting(key) for key in keys]
        return ownership.to_tell((r.owners for r in records if r), ctx.sender or "")

    # -- cancelling -----------------------------------------------------------

    def _cancellable(self, cancellation: Cancellation) -> bool:
        for key in (cancellation.key, cancellation.series_key):
            known = self.store.meeting(key) if key else None
            if known is not None and known.room is not None:
                # UNFINISHED with a room: a reschedule was interrupted; the room stands.
                return known.status in ("planned", "cancelled", *UNFINISHED)
        return False

    def _cancel(self, cancellation: Cancellation) -> CancelledMeeting:
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
            self._call_api(lambda: self.planner.delete_room(room_id))
        except NotAuthorised as exc:
            raise TokenRefused(str(exc)) from None
        except KMeetError as exc:
            if exc.transient:
                raise _Deferral(
                    f"the room could not be removed: {exc}", exc.retry_after, _waits_for(exc)
                ) from None
            if exc.status == 404:
                return True  # already gone
            log.warning("room %s could not be removed: %s", room.url, exc)
            return False
        log.info("room %s removed", room.url)
        return True

    # -- outcomes -------------------------------------------------------------

    def _reply(
        self,
        ctx: _MessageContext,
        planned: Sequence[PlannedMeeting],
        cancelled: Sequence[CancelledMeeting],
        problems: Sequence[EventProblem],
        told: Sequence[str] = (),
    ) -> EmailMessage:
        answer = replies.compose_reply(
            ctx.message,
            planned=planned,
            cancelled=cancelled,
            problems=problems,
            from_address=self.settings.smtp.from_address,
            from_name=self.settings.smtp.from_name,
            now=self.clock(),
            language=ctx.language,
            recipient=ctx.recipient,
        )
        if told:
            answer["Cc"] = ", ".join(told)  # who had a changed meeting planned
        return answer

    def _finish(
        self,
        mailbox: MailboxPort,
        ctx: _MessageContext,
        outcome: Outcome,
        reason: str,
        reply: Callable[[], EmailMessage | None] | None,
        *,
        final: bool = False,
    ) -> Outcome:
        """Reply (once), file the message, record its outcome: in that order, each
        recorded before the next (steps 4 and 5), so a crash in between repeats
        no reply and loses no message. `final`: a reply that cannot be sent now
        does not defer the message (it is noted in the reason instead)."""
        self.progress()
        # Step 4: `replies` says whether an earlier attempt already got it accepted.
        if reply is not None and not self.store.reply_sent(ctx.key):
            try:
                if outcome == Outcome.REJECTED:
                    # Counted and sent as one step, so that parallel workers do not
                    # all slip under [senders] max_refusals_per_hour together.
                    with self._refusing:
                        reason = self._answer(ctx, outcome, reason, reply)
                else:
                    reason = self._answer(ctx, outcome, reason, reply)
            except _Deferral as deferral:
                if not final:
                    return self._defer(mailbox, ctx, deferral)
                log.warning("message %s: %s; filed without it", ctx.label, deferral.reason)
                reason = f"{reason}; no reply could be sent"
        # Answered, or never will be: a room password is not kept a moment longer.
        self.store.forget_passwords(ctx.key)
        target = (
            self.settings.imap.processed_folder
            if outcome == Outcome.PLANNED
            else self.settings.imap.failed_folder
        )
        # Step 5: the intent, the move, the outcome.
        self.store.begin_filing(
            FilingRecord(
                ctx.folder,
                ctx.uidvalidity,
                ctx.uid,
                target,
                outcome,
                reason,
                ctx.message_id,
                ctx.sender,
                ctx.subject,
            )
        )
        failpoints.reached("before-move")
        mailbox.move(ctx.uid, target)
        failpoints.reached("before-record")
        self._record(ctx, outcome, reason, plans_of=ctx.key)
        failpoints.reached("after-record")
        if outcome == Outcome.PLANNED:
            log.info("message %s planned: %s", ctx.label, reason)
        else:
            log.warning("message %s rejected: %s", ctx.label, reason)
        return outcome

    def _answer(
        self,
        ctx: _MessageContext,
        outcome: Outcome,
        reason: str,
        reply: Callable[[], EmailMessage | None],
    ) -> str:
        """Send the reply (step 4) unless the sender was told no too often; the
        message's reason, with why it got no reply if so."""
        if outcome == Outcome.REJECTED:
            silence = self._refusals_exhausted(ctx)
            if silence:
                return f"{reason}; {silence}"
        answer = reply()
        if answer is not None:
            self._send(ctx, answer, kind=str(outcome))
        return reason

    def _rejection(
        self,
        ctx: _MessageContext,
        reason: str,
        hint: str,
        *,
        code: str = "",
        params: tuple[tuple[str, str], ...] = (),
    ) -> EmailMessage:
        return replies.compose_rejection(
            ctx.message,
            reason,
            hint,
            from_address=self.settings.smtp.from_address,
            from_name=self.settings.smtp.from_name,
            now=self.clock(),
            language=ctx.language,
            code=code,
            params=params,
            recipient=ctx.recipient,
        )

    def _reject(
        self,
        mailbox: MailboxPort,
        ctx: _MessageContext,
        reason: str,
        hint: str,
        *,
        reply: bool = True,
        code: str = "",
        params: tuple[tuple[str, str], ...] = (),
        final: bool = False,
    ) -> Outcome:
        def rejection() -> EmailMessage:
            return self._rejection(ctx, reason, hint, code=code, params=params)

        return self._finish(
            mailbox, ctx, Outcome.REJECTED, reason, rejection if reply else None, final=final
        )

    def _ignore(self, ctx: _MessageContext, reason: str) -> Outcome:
        # Nothing to undo or repeat: the message stays where it is, and a kill
        # before this record only makes the next pass ignore it again.
        self._record(ctx, Outcome.IGNORED, reason)
        log.info("message %s ignored: %s", ctx.label, reason)
        return Outcome.IGNORED

    def _defer(self, mailbox: MailboxPort, ctx: _MessageContext, deferral: _Deferral) -> Outcome:
        """Leave the message where it is, to be retried after a backoff; past
        `[kmeet] retry_for`, reject it with a reply that says why."""
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
                code="retry_exhausted",
                params=(("hours", f"{hours:g}"), ("detail", deferral.reason)),
                final=True,  # the reply itself may be what keeps failing
            )
        if deferral.service is not None:
            # No retry time of its own: it is due as soon as the service is back, or
            # when retry_for runs out, to be answered.
            deadline = first_seen + timedelta(seconds=self.settings.kmeet.retry_for)
            self._record(
                ctx,
                Outcome.DEFERRED,
                deferral.reason,
                next_attempt=deadline,
                waiting_for=deferral.service,
            )
            log.info(
                "message %s waits for the %s (attempt %d): %s",
                ctx.label,
                NAMES[deferral.service],
                attempts,
                deferral.reason,
            )
            return Outcome.DEFERRED
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
        smtp = self.health.smtp
        if smtp.down:  # held back, without a connection, until a probe gets through
            raise _Deferral(f"the reply could not be sent: {smtp.detail}", service=SMTP)
        try:
            self.mailer.send(reply)
        except MailRejected as exc:
            # The server refused the recipient for good: retrying cannot help.
            log.error("reply to %s for %s refused: %s", reply["To"], ctx.label, exc)
            return
        except MailerError as exc:
            # Down, 4xx, or a login or TLS setting to fix: the message waits for it.
            smtp.failed(_smtp_reason(exc), self.clock(), detail=str(exc))
            raise _Deferral(f"the reply could not be sent: {exc}", service=SMTP) from None
        smtp.succeeded(self.clock())
        # Right after the server's 250 (a kill in between is the one way to a
        # second reply): recorded, and the room password erased from the notes.
        self.store.record_reply(
            ctx.key, kind=kind, recipient=str(reply["To"]), reply_id=reply["Message-ID"]
        )
        if kind == Outcome.REJECTED:
            self.store.log_refusal(headers.mailbox_of(ctx.sender or ""), self.clock())
        failpoints.reached("after-reply")

    def _record(
        self,
        ctx: _MessageContext,
        outcome: Outcome,
        reason: str,
        next_attempt: datetime | None = None,
        plans_of: str | None = None,
        waiting_for: str | None = None,
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
            plans_of=plans_of,
            waiting_for=waiting_for,
        )


class _Unavailable(TransientError):
    """A request not sent: the service is down (health.py) and only probes go to it."""


def _api_down(exc: KMeetError) -> bool:
    """Whether an API error means the API is down: transient, and not a 429 (the
    API is up and asks for fewer requests: throttle.py pauses them)."""
    return exc.transient and not isinstance(exc, RateLimited)


def _waits_for(exc: KMeetError) -> str | None:
    return API if _api_down(exc) else None


def _api_reason(exc: KMeetError) -> str:
    return str(exc.status) if exc.status else "no answer"


def _smtp_reason(exc: MailerError) -> str:
    return str(exc.code) if exc.code else "no answer"


def _imap_reason(exc: MailboxError) -> str:
    return "login refused" if isinstance(exc, LoginFailed) else "no answer"


@dataclass(frozen=True)
class _MessageContext:
    folder: str
    uidvalidity: int
    uid: int
    message: EmailMessage
    message_id: str | None
    sender: str | None
    subject: str
    language: str = "en"  # of the replies: see reply_language
    size: int = 0
    complete: bool = True  # False: over [limits] max_message_size, only the header fetched
    recipient: str | None = None  # of the replies, once the message is read: see reply_recipient

    @property
    def key(self) -> str:
        """Identity of the message for its reply and notes: the very message
        (folder, UIDVALIDITY, UID), not its Message-ID, which anybody can copy.
        What a message planned, a room password included, is answered to that
        message alone; an exact copy is another message, answered on its own."""
        return f"{self.folder}:{self.uidvalidity}:{self.uid}"

    @property
    def label(self) -> str:
        return f"{self.folder}:{self.uid} {self.message_id or ''}".strip()


def extract_meetings(message: EmailMessage, settings: Settings, now: datetime) -> Extraction:
    """An invitation first; a plain "kmeet" request when there is none."""
    kmeet = settings.kmeet
    try:
        extraction = invites.extract(
            message,
            default_timezone=kmeet.timezone,
            default_duration=kmeet.default_duration,
            now=now,
            limits=settings.limits,
        )
        return _capped(extraction, settings.limits.max_attendees)
    except ITipAnswer:
        raise  # an attendee's answer, even to a meeting whose title says kmeet
    except NotARequest:
        if not requests.is_request(message):
            raise
        if headers.is_auto_generated(message):
            # Calendar servers send real invitations as auto-generated mail, so those
            # are read above; a plain request written by a machine is not honoured.
            raise NotARequest(
                "an automatically generated message is not a request (Auto-Submitted: "
                "auto-generated); only calendar invitations are read from such mail"
            ) from None
    rule = 'subject names "kmeet": a plain request'
    try:
        meetings = requests.extract(
            message,
            default_timezone=kmeet.timezone,
            default_duration=kmeet.default_duration,
            now=now,
            own_address=settings.smtp.from_address,
            default_language=kmeet.language,
        )
    except requests.RequestProblem as exc:
        subject = headers.subject(message) or "kmeet"
        return Extraction(problems=(exc.event_problem(subject),), rule=f"{rule}, not understood")
    except Unplannable as exc:
        subject = headers.subject(message) or "kmeet"
        return Extraction(problems=(EventProblem(subject, exc.reason, exc.hint),), rule=rule)
    return _capped(Extraction(meetings=tuple(meetings), rule=rule), settings.limits.max_attendees)


def _keys(ctx: _MessageContext, extraction: Extraction) -> set[Hashable]:
    """What a message touches that another may touch too: its meetings (and their
    series), and its own key (a copy of the same message shares its reply)."""
    keys: set[Hashable] = {("message", ctx.key)}
    touched = [(m.key, m.series_key) for m in extraction.meetings]
    touched += [(c.key, c.series_key) for c in extraction.cancellations]
    keys.update(("meeting", key) for pair in touched for key in pair if key)
    return keys


def _capped(extraction: Extraction, max_attendees: int) -> Extraction:
    meetings = tuple(cap_attendees(m, max_attendees) for m in extraction.meetings)
    return replace(extraction, meetings=meetings)


def reply_language(message: EmailMessage, extraction: Extraction | None, default: str) -> str:
    """The language to answer in: the request's own, else the one its text is
    written in (a forwarded invitation), else `[kmeet] language`."""
    if extraction is not None:
        for meeting in extraction.meetings:
            if meeting.language:
                return meeting.language
        for problem in extraction.problems:
            language = dict(problem.params).get("language")
            if language in LANGUAGES:
                return language
    return detect_language(requests.body_text(message), default=default)


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter, capped; the API's Retry-After wins when longer."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=round(delay))


def _cancel_detail(cancelled: CancelledMeeting) -> str:
    if cancelled.room_removed and cancelled.room is not None:
        return f"cancelled, room removed: {cancelled.room.url}"
    return "cancelled"


def _details(meeting: MeetingRequest, body: dict) -> MeetingDetails:
    return MeetingDetails(
        meeting.title, body["starting_at"], body["ending_at"], meeting.timezone, meeting.sequence
    )


class _RoomsInFlight(Exception):
    """A rate limit is reached only if rooms being planned right now succeed."""


class _Refused(Exception):
    """This meeting is not planned or changed for this sender; the problem says why."""

    def __init__(self, problem: EventProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class _OverLimit(_Refused):
    """A rate limit stops this room; the problem says until when."""


def _not_theirs(role: str) -> EventProblem:
    if role == ownership.ATTENDEE:
        return EventProblem(
            "",
            "Only the meeting's organiser, or whoever had it planned, can change or cancel it. "
            "It stays as planned.",
            "Ask the organiser to send the change.",
            code="not_owner",
        )
    return EventProblem(
        "",
        "The meeting was planned by someone else, and does not list you as an attendee.",
        "Ask the meeting's organiser for the link.",
        code="not_yours",
    )


def _local_time(moment: datetime, settings: Settings) -> str:
    """A moment as people read it: in [kmeet] timezone, with the zone named."""
    local = moment.astimezone(ZoneInfo(settings.kmeet.timezone))
    return f"{local:%Y-%m-%d %H:%M} ({settings.kmeet.timezone})"


def cap_attendees(meeting: MeetingRequest, limit: int) -> MeetingRequest:
    """At most `limit` attendees go to the API (the organizer first); a note says
    how many were left out."""
    if len(meeting.attendees) <= limit:
        return meeting
    ordered = sorted(meeting.attendees, key=lambda a: not a.organizer)
    left_out = len(ordered) - limit
    note = f"{len(ordered)} attendees: only the first {limit} are passed to kMeet"
    return replace(
        meeting,
        attendees=tuple(ordered[:limit]),
        notes=(*meeting.notes, f"{note} ({left_out} left out)"),
        reply_notes=(
            *meeting.reply_notes,
            Note("attendees_left_out", (("count", str(len(ordered))), ("limit", str(limit)))),
        ),
    )
