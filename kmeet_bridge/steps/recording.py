"""What became of one message, in the state database (store.py's protocol,
steps 5 and 6 and the outcome rows).

`Records` is the contract between the bridge's steps and the messages table:
it records an outcome (`record`, `ignore`, `defer`), files a message with its
intent recorded before the move (`file`), and settles a UID that left the
folder (`gone`). It decides nothing about a message: bridge.py says which of
these happens, and when.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from kmeet_bridge import failpoints
from kmeet_bridge.config import Settings
from kmeet_bridge.models import Outcome
from kmeet_bridge.pacing.health import NAMES
from kmeet_bridge.steps.handling import Deferral, MailboxPort, MessageContext
from kmeet_bridge.store import FilingRecord, Store

# One message's steps log as the bridge (see availability.py).
log = logging.getLogger("kmeet_bridge.bridge")

BACKOFF_FIRST = 60.0  # seconds before the first retry of a deferred message
BACKOFF_MAX = 3600.0  # never wait longer than this between two retries


class Records:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def record(
        self,
        ctx: MessageContext,
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

    def ignore(self, ctx: MessageContext, reason: str) -> Outcome:
        # Nothing to undo or repeat: the message stays where it is, and a kill
        # before this record only makes the next pass ignore it again.
        self.record(ctx, Outcome.IGNORED, reason)
        log.info("message %s ignored: %s", ctx.label, reason)
        return Outcome.IGNORED

    def waited_too_long(self, ctx: MessageContext) -> bool:
        """Whether the message was first seen `[kmeet] retry_for` ago or longer:
        then it is answered instead of deferred once more."""
        now = self.clock()
        previous = self.store.message(ctx.folder, ctx.uidvalidity, ctx.uid)
        first_seen = previous.first_seen if previous else now
        return now - first_seen >= timedelta(seconds=self.settings.kmeet.retry_for)

    def defer(self, ctx: MessageContext, deferral: Deferral) -> Outcome:
        """Leave the message where it is, to be retried after a backoff, or, when
        a service is down, as soon as it is back."""
        now = self.clock()
        previous = self.store.message(ctx.folder, ctx.uidvalidity, ctx.uid)
        first_seen = previous.first_seen if previous else now
        attempts = (previous.attempts if previous else 0) + 1
        if deferral.service is not None:
            # No retry time of its own: it is due as soon as the service is back, or
            # when retry_for runs out, to be answered.
            deadline = first_seen + timedelta(seconds=self.settings.kmeet.retry_for)
            self.record(
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
        self.record(ctx, Outcome.DEFERRED, deferral.reason, next_attempt=now + delay)
        log.warning(
            "message %s deferred (attempt %d, next in %ds): %s",
            ctx.label,
            attempts,
            delay.total_seconds(),
            deferral.reason,
        )
        return Outcome.DEFERRED

    def file(
        self, mailbox: MailboxPort, ctx: MessageContext, outcome: Outcome, reason: str
    ) -> Outcome:
        """Step 5: the intent, the move, the outcome; each recorded before the next,
        so that a kill in between neither loses the message nor its outcome."""
        target = (
            self.settings.imap.processed_folder
            if outcome == Outcome.PLANNED
            else self.settings.imap.failed_folder
        )
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
        self.record(ctx, outcome, reason, plans_of=ctx.key)
        failpoints.reached("after-record")
        if outcome == Outcome.PLANNED:
            log.info("message %s planned: %s", ctx.label, reason)
        else:
            log.warning("message %s rejected: %s", ctx.label, reason)
        return outcome

    def gone(self, folder: str, uidvalidity: int, uid: int) -> Outcome | None:
        """A UID to look at that is no longer in the folder: its outcome, when a
        move of its own took it away (step 5 interrupted), or ignored; None when
        it was filed and recorded already."""
        filing = self.store.filing(folder, uidvalidity, uid)
        previous = self.store.message(folder, uidvalidity, uid)
        location = f"{folder}:{uidvalidity}:{uid}"
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


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter, capped; the API's Retry-After wins when longer."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=round(delay))
