"""One message -> one outcome. The only place that orders the steps.

A pass selects the folder, finds the UIDs above the last one looked at (plus
deferred messages whose retry time has come) and handles each:

    fetch the header (PEEK) -> automatic mail? sender allowed? authenticated?
    -> fetch the rest -> extract (within a CPU budget) -> plan -> reply -> move
    -> record -> advance the folder position

An answer to one of the bridge's own replies is recognised before the extract
step and changes that reply's meeting through the same steps
(meeting_changes.py).

The checks that need the header only come first, so that a message from a
stranger costs one small fetch and is filed without any of its body being
downloaded, parsed or expanded. What an allowed sender's message costs is
bounded by the readers' limits ([limits]; mime_limits.py, requests.py,
invites.py) and, as a backstop, by a CPU time budget per message (budget.py).
The message is recorded as being read before it is read: if the process is
stopped meanwhile twice (the watchdog, the memory limit), the next pass rejects
it instead of reading it again.

`Bridge` says when each step happens; what a step does is one delegate's,
each with its contract in its module docstring:

    reading.py      what the message asks for, the language to answer in (pure)
    planning.py     rooms: new ones, series joined, reschedules, rate limits, owners
    cancelling.py   cancellations: who may, the room removed when configured to
    replying.py     the reply: written, sent once, silence after too many refusals
    recording.py    the message's rows: outcome, deferral, filing (the move)
    availability.py the servers as the steps reach them: probes, API calls, outages
    handling.py     what they share: the message's context, the ports, Deferral

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
  goes to a service that is down (`Availability.probe`, at the start of a
  pass, when one is due; a 503's Retry-After counts for the service); once it
  is back, every message waiting for it is handled in UID order. Past
  `[kmeet] retry_for` the message is rejected with a reply that explains why;
- a 429: the message is deferred and retried with backoff
  (`recording.retry_delay`, the Retry-After honoured). A 429 also pauses every
  API call of the bridge; a pause of a few seconds is waited out and the call
  made again once within the pass, a longer one defers every message that
  needs the API until it is over, without calling it (throttle.py);
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
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage

from kmeet_bridge import failpoints
from kmeet_bridge.config import Settings
from kmeet_bridge.kmeet import KMeetError
from kmeet_bridge.limits import budget, mime_limits
from kmeet_bridge.mail import headers
from kmeet_bridge.mail.authentication import sender_authenticated
from kmeet_bridge.mail.mailbox import MailboxError
from kmeet_bridge.models import EventProblem, Extraction, NotARequest, Outcome, PlannedMeeting
from kmeet_bridge.pacing.health import API, SMTP, Health, recorded_outage
from kmeet_bridge.pacing.parallel import KeyOrder, side_by_side
from kmeet_bridge.pacing.throttle import Throttle
from kmeet_bridge.replies import replies
from kmeet_bridge.requests.language import detect_language
from kmeet_bridge.steps.availability import Availability, imap_reason
from kmeet_bridge.steps.cancelling import Cancelling, cancel_detail
from kmeet_bridge.steps.handling import (
    Deferral,
    MailboxPort,
    MailerPort,
    MessageContext,
    PlannerPort,
    TokenRefused,
)
from kmeet_bridge.steps.meeting_changes import MeetingChanges, Reading
from kmeet_bridge.steps.planning import Planning, Refused
from kmeet_bridge.steps.reading import extract_meetings, reply_language
from kmeet_bridge.steps.recording import Records
from kmeet_bridge.steps.replying import Replying
from kmeet_bridge.store import Store

log = logging.getLogger(__name__)

MAX_ERROR_TEXT = 300  # longest error text kept in a failed message's reason
SPARE_WORKERS = 1  # workers beyond [kmeet] max_parallel in a pass with several
# Readings of one message stopped by the process ending, after which the message
# is rejected instead of read again: two, so that a kill loop ends at once and a
# message that was only being read while another caused a crash is read again.
MAX_INTERRUPTED_READINGS = 2


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


class Bridge:
    """Handles the messages of a pass, each through its steps in order (see the
    module docstring); what a step does is its delegate's: `records` (the
    message's rows, filing), `planning` (rooms), `cancelling`, `replying` and
    `services` (the servers' health, the API calls)."""

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
        # In a pass with several workers: who waits for whom (parallel.py).
        self._key_order: KeyOrder | None = None
        # The steps' delegates: each does one kind of work; this class says when.
        self.services = Availability(self.health, self.throttle, planner, mailer, store, clock)
        self.records = Records(settings, store, clock)
        self.planning = Planning(
            settings, store, planner, self.services, self.records, clock, self.progress
        )
        self.cancelling = Cancelling(settings, store, planner, self.services)
        self.replying = Replying(settings, store, mailer, self.health, clock)
        self.changes = MeetingChanges(self)  # answers to the bridge's replies

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
        self.services.probe()
        self.services.announce()  # a service back is said before the messages it releases
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
            self.health.imap.failed(imap_reason(exc), self.clock(), detail=str(exc))
            self.store.record_pass(f"failed: {exc}", ok=False, now=self.clock())
            raise
        except Exception as exc:
            self.store.record_pass(f"failed: {exc}", ok=False, now=self.clock())
            raise
        finally:
            self.services.announce()
        self.store.record_pass(report.summary(), ok=True, now=self.clock())
        return report

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
        """Handle `uids` with `workers` threads (parallel.side_by_side), each over
        an IMAP connection of its own (the first uses `mailbox`).

        Messages that share a meeting wait for each other (`KeyOrder`, through
        `_claim`); the folder position moves past a UID only once every UID up to
        it has its outcome. An error that ends a pass one at a time (the token
        refused, the mailbox or the state database failing) ends this one too,
        once the other workers have finished the message in hand."""
        folder, uidvalidity, last = position

        def counted(outcome: Outcome | None) -> None:
            if outcome is not None:
                report.count(outcome)

        def advance(uid: int) -> None:
            if uid > last:
                self.store.advance_folder(folder, uidvalidity, uid)

        self._key_order = KeyOrder(uids)
        try:
            finished = side_by_side(
                uids,
                workers,
                self._key_order,
                first=mailbox,
                another=lambda stack: self._worker_mailbox(stack, folder, uidvalidity),
                handle=lambda box, uid: self.handle(box, folder, uidvalidity, uid),
                handled=counted,
                reached=advance,
                stop=stop,
            )
        finally:
            self._key_order = None
        if not finished:
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
        """One message's journey: `_check_sender` (the header only) -> `_read`
        (fetch, extract) -> `_decide` (plan, change, cancel) -> `_finish` (reply,
        file, record). Its outcome; None when it was settled before."""
        # Step 1: the header alone first (BODY.PEEK[HEADER], so that even an ignored
        # message stays unread): who sent it decides whether anything more of the
        # message is downloaded or read. A stranger's mail costs a header.
        self.progress()
        head = mailbox.fetch_header(uid)
        if head is None:
            return self._gone(folder, uidvalidity, uid)
        context: MessageContext | None = None
        try:
            header = email.message_from_bytes(head.raw, policy=email.policy.default)
            assert isinstance(header, EmailMessage)
            context = MessageContext(
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
                context = MessageContext(folder, uidvalidity, uid, EmailMessage(), None, None, "")
            return self._fail(mailbox, context, exc)

    def _check_sender(self, mailbox: MailboxPort, ctx: MessageContext) -> Outcome | None:
        """The checks that need the header only, before anything else is read:
        automatic mail is ignored; a sender who is not allowed, or not
        authenticated, is filed without a reply. None: read the message."""
        automatic = headers.automatic_reason(ctx.message, self.settings.smtp.from_address)
        if automatic:
            return self.records.ignore(ctx, automatic)
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

    def _read(self, mailbox: MailboxPort, ctx: MessageContext) -> Outcome | None:
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
        answer: Reading | None = None
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
                # An answer to the bridge's reply changes its meeting (meeting_changes.py).
                answer = self.changes.read(message, ctx.language)
                if answer is None:
                    try:
                        extraction = self.extract(message)
                    except NotARequest as exc:
                        return self.records.ignore(ctx, str(exc))
                    ctx = replace(
                        ctx,
                        language=reply_language(message, extraction, self.settings.kmeet.language),
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
        if answer is not None:
            return self.changes.apply(mailbox, ctx, answer)
        return self._decide(mailbox, ctx, extraction)

    def _gone(self, folder: str, uidvalidity: int, uid: int) -> Outcome | None:
        """A UID to look at that is no longer in the folder (recording.py)."""
        self._claim(uid, {("message", f"{folder}:{uidvalidity}:{uid}")})
        return self.records.gone(folder, uidvalidity, uid)

    def _fail(self, mailbox: MailboxPort, ctx: MessageContext, exc: Exception) -> Outcome:
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
                return self.replying.rejection(ctx, "", "", code="internal")
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

    def _decide(self, mailbox: MailboxPort, ctx: MessageContext, extraction: Extraction) -> Outcome:
        """Step 2 and 3: plan, change or cancel what the message asks for, event by
        event (a refused event is a problem for the reply, not the message's end);
        then answer, file and record."""
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
        cancellations = [c for c in extraction.cancellations if self.cancelling.cancellable(c)]
        if not (extraction.meetings or cancellations or extraction.problems):
            return self.records.ignore(ctx, "cancellation of a meeting this bridge did not plan")
        problems = list(extraction.problems)
        planned: list[PlannedMeeting] = []
        try:
            for meeting in extraction.meetings:
                try:
                    planned.append(self.planning.plan(meeting, ctx))
                except Refused as refusal:
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
                refusal = self.cancelling.refusal(cancellation, ctx)
                if refusal is None:
                    cancelled.append(self.cancelling.cancel(cancellation))
                else:
                    problems.append(refusal)
        except Deferral as deferral:
            return self._defer(mailbox, ctx, deferral)
        told = self.replying.planners_to_tell(ctx, planned, cancelled)
        events = (
            [(p.meeting.key, "planned", f"{p.status}: {p.room.url}") for p in planned]
            + [(c.cancellation.key, "cancelled", cancel_detail(c)) for c in cancelled]
            + [(p.key or p.subject, "rejected", p.reason) for p in problems]
        )
        # Step 3: what became of each event, rewritten on every attempt.
        self.store.record_events(ctx.folder, ctx.uidvalidity, ctx.uid, events)
        if not planned and not cancelled:
            reason = "; ".join(f"{p.subject}: {p.reason}" for p in problems)
            return self._finish(
                mailbox,
                ctx,
                Outcome.REJECTED,
                reason,
                lambda: self.replying.compose(ctx, (), (), problems),
            )
        summary = "; ".join(detail for _, _, detail in events)
        return self._finish(
            mailbox,
            ctx,
            Outcome.PLANNED,
            summary,
            lambda: self.replying.compose(ctx, planned, cancelled, problems, told),
        )

    def extract(self, message: EmailMessage) -> Extraction:
        """What a message asks for (pure; also used by `parse`)."""
        return extract_meetings(message, self.settings, self.clock())

    # -- refusals before planning -----------------------------------------------

    def _unauthenticated(self, ctx: MessageContext) -> str:
        """Why the sender does not count as authenticated, or "" when it does (or
        when [senders] require_authenticated is off)."""
        senders = self.settings.senders
        if not senders.require_authenticated or ctx.sender is None:
            return ""
        ok, why = sender_authenticated(ctx.message, ctx.sender, senders.trusted_authserv_ids)
        return "" if ok else f"sender {ctx.sender} is not authenticated: {why}"

    def _too_large(self, mailbox: MailboxPort, ctx: MessageContext) -> Outcome:
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

    # -- outcomes -------------------------------------------------------------

    def _reject(
        self,
        mailbox: MailboxPort,
        ctx: MessageContext,
        reason: str,
        hint: str,
        *,
        reply: bool = True,
        code: str = "",
        params: tuple[tuple[str, str], ...] = (),
        final: bool = False,
    ) -> Outcome:
        def rejection() -> EmailMessage:
            return self.replying.rejection(ctx, reason, hint, code=code, params=params)

        return self._finish(
            mailbox, ctx, Outcome.REJECTED, reason, rejection if reply else None, final=final
        )

    def _defer(self, mailbox: MailboxPort, ctx: MessageContext, deferral: Deferral) -> Outcome:
        """Leave the message where it is, to be retried after a backoff or when the
        service it needs is back; past `[kmeet] retry_for`, reject it with a reply
        that says why."""
        if not self.records.waited_too_long(ctx):
            return self.records.defer(ctx, deferral)
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

    def _finish(
        self,
        mailbox: MailboxPort,
        ctx: MessageContext,
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
        if reply is not None:
            try:
                reason = self.replying.answer(ctx, outcome, reason, reply)
            except Deferral as deferral:
                if not final:
                    return self._defer(mailbox, ctx, deferral)
                log.warning("message %s: %s; filed without it", ctx.label, deferral.reason)
                reason = f"{reason}; no reply could be sent"
        self.replying.forget_passwords(ctx)
        # Step 5: the intent, the move, the outcome.
        return self.records.file(mailbox, ctx, outcome, reason)


def _keys(ctx: MessageContext, extraction: Extraction) -> set[Hashable]:
    """What a message touches that another may touch too: its meetings (and their
    series), and its own key (a copy of the same message shares its reply)."""
    keys: set[Hashable] = {("message", ctx.key)}
    touched = [(m.key, m.series_key) for m in extraction.meetings]
    touched += [(c.key, c.series_key) for c in extraction.cancellations]
    keys.update(("meeting", key) for pair in touched for key in pair if key)
    return keys
