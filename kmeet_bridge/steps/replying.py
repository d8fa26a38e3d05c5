"""The reply to one message: written, sent once, and remembered.

`Replying` is the contract between the bridge's steps and the sender: it
composes the answer (replies.py does the wording), sends it at most once per
message (`answer`: a reply the SMTP server accepted is recorded at once, so that
a kill never leads to a second one), falls silent to a person told no too often
(`[senders] max_refusals_per_hour`), and says who else is told of a change
(`planners_to_tell`). A reply that cannot be sent now raises `Deferral`: the
message waits for the SMTP server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage

from kmeet_bridge import failpoints
from kmeet_bridge.config import Settings
from kmeet_bridge.invitations import ownership
from kmeet_bridge.mail import headers
from kmeet_bridge.mail.mailer import MailerError, MailRejected
from kmeet_bridge.models import CancelledMeeting, EventProblem, Outcome, PlannedMeeting
from kmeet_bridge.pacing.health import SMTP, Health
from kmeet_bridge.replies import replies
from kmeet_bridge.steps.availability import smtp_reason
from kmeet_bridge.steps.handling import Deferral, MailerPort, MessageContext
from kmeet_bridge.store import Store

# One message's steps log as the bridge (see availability.py).
log = logging.getLogger("kmeet_bridge.bridge")


class Replying:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        mailer: MailerPort,
        health: Health,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.mailer = mailer
        self.health = health
        self.clock = clock
        self._refusing = threading.Lock()  # see answer

    # -- what is said -----------------------------------------------------------

    def compose(
        self,
        ctx: MessageContext,
        planned: Sequence[PlannedMeeting],
        cancelled: Sequence[CancelledMeeting],
        problems: Sequence[EventProblem],
        told: Sequence[str] = (),
    ) -> EmailMessage:
        """The reply to a message that planned, changed or cancelled meetings, or
        could not: one line per event; `told` on Cc."""
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

    def rejection(
        self,
        ctx: MessageContext,
        reason: str,
        hint: str,
        *,
        code: str = "",
        params: tuple[tuple[str, str], ...] = (),
    ) -> EmailMessage:
        """The reply to a message refused as a whole: why, and what to do."""
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

    def planners_to_tell(
        self,
        ctx: MessageContext,
        planned: Sequence[PlannedMeeting],
        cancelled: Sequence[CancelledMeeting],
    ) -> list[str]:
        """Who had a meeting this message changed planned, when that is not its
        sender (the organiser changed it): they get the reply too."""
        keys = [p.meeting.key for p in planned if p.status not in ("new", "unchanged")]
        keys += [c.cancellation.key for c in cancelled]
        records = [self.store.meeting(key) for key in keys]
        return ownership.to_tell((r.owners for r in records if r), ctx.sender or "")

    # -- sending it once --------------------------------------------------------

    def answer(
        self,
        ctx: MessageContext,
        outcome: Outcome,
        reason: str,
        reply: Callable[[], EmailMessage | None],
    ) -> str:
        """Step 4: send the reply `reply` writes, unless an earlier attempt already
        got it accepted or the sender was told no too often. Returns the
        message's reason, with why it got no reply if so; Deferral when the SMTP
        server cannot take it now."""
        if self.store.reply_sent(ctx.key):
            return reason
        if outcome != Outcome.REJECTED:
            self._write_and_send(ctx, outcome, reply)
            return reason
        # Counted and sent as one step, so that parallel workers do not all slip
        # under [senders] max_refusals_per_hour together.
        with self._refusing:
            silence = self._refusals_exhausted(ctx)
            if silence:
                return f"{reason}; {silence}"
            self._write_and_send(ctx, outcome, reply)
        return reason

    def forget_passwords(self, ctx: MessageContext) -> None:
        """Answered, or never will be: a room password is not kept a moment longer."""
        self.store.forget_passwords(ctx.key)

    def _write_and_send(
        self, ctx: MessageContext, outcome: Outcome, reply: Callable[[], EmailMessage | None]
    ) -> None:
        answer = reply()
        if answer is not None:
            self._send(ctx, answer, kind=str(outcome))

    def _refusals_exhausted(self, ctx: MessageContext) -> str:
        """Why no reply saying no is sent this time, or "": past [senders]
        max_refusals_per_hour to the same person, the bridge falls silent, so that
        forged mail cannot turn it into a mail cannon (the message is still filed)."""
        limit = self.settings.senders.max_refusals_per_hour
        person = headers.mailbox_of(ctx.sender or "")
        sent = self.store.refusals_since(self.clock() - timedelta(hours=1), person)
        if len(sent) < limit:
            return ""
        return f"no reply: {len(sent)} refusals were sent to {person} within the last hour"

    def _send(self, ctx: MessageContext, reply: EmailMessage, *, kind: str) -> None:
        smtp = self.health.smtp
        if smtp.down:  # held back, without a connection, until a probe gets through
            raise Deferral(f"the reply could not be sent: {smtp.detail}", service=SMTP)
        try:
            self.mailer.send(reply)
        except MailRejected as exc:
            # The server refused the recipient for good: retrying cannot help.
            log.error("reply to %s for %s refused: %s", reply["To"], ctx.label, exc)
            return
        except MailerError as exc:
            # Down, 4xx, or a login or TLS setting to fix: the message waits for it.
            smtp.failed(smtp_reason(exc), self.clock(), detail=str(exc))
            raise Deferral(f"the reply could not be sent: {exc}", service=SMTP) from None
        smtp.succeeded(self.clock())
        # Right after the server's 250 (a kill in between is the one way to a
        # second reply): recorded, and the room password erased from the notes.
        self.store.record_reply(
            ctx.key, kind=kind, recipient=str(reply["To"]), reply_id=reply["Message-ID"]
        )
        if kind == Outcome.REJECTED:
            self.store.log_refusal(headers.mailbox_of(ctx.sender or ""), self.clock())
        failpoints.reached("after-reply")
