"""Approval: the Approve and Reject buttons of a connection's approval request, who may press them, and how
several approvers' clicks are counted (once each, on every database). Part of the `Engine` (a mixin: it
uses the engine's sessions, chat, policy and helpers)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from bot.engine import script
from bot.engine.content import Message, plain, shorten
from bot.engine.identifiers import Invalid, parse_decision_ref
from bot.engine.notices import APPROVAL_REMINDER as REMINDER
from bot.engine.ports import Actor
from bot.engine.steps import AFTER_APPROVAL, AFTER_REJECTION, APPROVAL_FOR, STEPS, Step
from bot.settings import Approvers
from bot.store import repository as repo
from bot.store.models import Connection, Decision

log = logging.getLogger(__name__)



class _Raced(Exception):
    """A fenced write found the connection changed since it was read."""


class Approvals:
    # --- approval ------------------------------------------------------------------------------

    def decide(
        self, actor: Actor, value: str, decision: str, reason: str | None = None, *, message_id: str | None = None
    ) -> Message | None:
        """Approve or Reject was pressed (a rejection comes with its reason; `message_id` is the request message the
        button was on, when the chat says so). Returns a private refusal, or
        None when it took effect. Several approvers may click at once: each approval is a decision row plus a
        fenced bump of the connection's version, retried on conflict, so every click counts once and the
        request is settled exactly once, on every database."""
        reason = " ".join((reason or "").split())
        if decision == "reject" and not reason:
            self._audit(None, actor.team, None, actor.user, "reject", "refused", f"no reason given (value {shorten(value)!r})")
            return Message.text("A rejection needs a reason, so that the requester knows what to correct. Nothing was changed.")
        for _attempt in range(5):
            connection, refusal = self._decidable(actor, value)
            if refusal is not None:
                self._audit(None, actor.team, connection, actor.user, decision, "refused", _refusal_detail(refusal, value))
                return refusal
            assert connection is not None
            if self._try_decide(actor, connection, decision, reason, message_id):
                return None
        self._audit(None, actor.team, None, actor.user, decision, "refused", f"too many decisions at once (value {shorten(value)!r})")
        return Message.text("Too many people decided at once; press the button again. Nothing was changed.")

    def reject_refusal(self, actor: Actor, value: str) -> Message | None:
        """Before asking a rejecter for a reason: whether they may reject at all (so nobody types in vain)."""
        connection, refusal = self._decidable(actor, value)
        if refusal is not None:
            self._audit(None, actor.team, connection, actor.user, "reject", "refused", _refusal_detail(refusal, value))
        return refusal

    def _decidable(self, actor: Actor, value: str) -> tuple[Connection | None, Message | None]:
        """The connection a button names, if `actor` may decide on it now; else a refusal (with the connection
        when the button names one of ours, for the audit trail). Fails closed."""
        reference = parse_decision_ref(value)
        # Read, then decide who may, then write: the approver check may ask Slack (group members), and no
        # transaction is held open across that call. The fenced writes make the gap harmless.
        with self.reads() as session:
            connection = None if isinstance(reference, Invalid) else repo.get_connection(session, actor.team, reference[0])
        if connection is None or isinstance(reference, Invalid):
            log.warning("refused a decision by %s: unknown connection %r", actor.user, value[:40])
            return None, Message.text("That button does not belong to a connection in this workspace. Nothing was changed.")
        if connection.step not in APPROVAL_FOR:
            return connection, Message.text(
                f"Connection #{connection.id} is not waiting for approval (it is {STEPS[Step(connection.step)].label}). Nothing was changed."
            )
        if reference[1] is not None and reference[1] != connection.approval_round:
            return connection, Message.text(
                f"That approval request of connection #{connection.id} was replaced by a newer one: use the buttons of the latest. Nothing was changed."
            )
        refusal = self._approval_refusal(actor.user, connection)
        if refusal:
            log.info("refused a decision on #%s by %s: %s", connection.id, actor.user, refusal)
            return connection, Message.text(refusal, " Nothing was changed.")
        if any(d.user_id == actor.user and d.round == connection.approval_round for d in connection.decisions):
            return connection, Message.text(f"You have already decided on this request of connection #{connection.id}. Nothing was changed.")
        return connection, None

    def _try_decide(self, actor: Actor, connection: Connection, decision: str, reason: str, message_id: str | None) -> bool:
        """One attempt: True when it took effect, False when someone else changed the connection first (the
        caller reads it again and retries)."""
        from_step = Step(connection.step)
        what, round_ = APPROVAL_FOR[from_step], connection.approval_round
        now = self.clock.now()
        try:
            with self.sessions.begin() as session:
                repo.add_decision(
                    session, connection, user_id=actor.user, decision=decision, now=now, round=round_, step=what, reason=reason or None
                )
                approvals = repo.approvals(session, connection, round_)
                changes: dict = {}
                if decision == "reject":  # back to the question: the requester corrects the answer and resubmits
                    to_step = AFTER_REJECTION[from_step]
                    changes = {"bucket": None} if what == "bucket" else {"role_arn": None, "account_id": None}
                elif len(approvals) >= self.policy.required_approvals:
                    to_step = AFTER_APPROVAL[from_step]
                    if to_step is Step.PROCESSING:
                        changes["window_ends_at"] = now + self.policy.processing_window
                else:
                    to_step = from_step  # still waiting for more: the version bump alone is the fence
                if not repo.transition(session, connection, to_step, now, **changes):
                    raise _Raced  # another decision landed first: roll this one back, read again, retry
                settled = to_step is not from_step
                if settled:
                    repo.drop_pending_notices(session, connection, kind=f"{REMINDER}:{round_}")
                    self._schedule_follow_ups(session, connection, now)
                detail = shorten(reason) if decision == "reject" else f"{len(approvals)} of {self.policy.required_approvals} approvals"
                self._audit(session, actor.team, connection, actor.user, decision, "done", detail, step=from_step)
        except (_Raced, IntegrityError):
            return False
        self._after_decision(
            connection, what=what, decision=decision, actor=actor, reason=reason, approvals=approvals, settled=settled,
            message_id=message_id,
        )  # fmt: skip
        return True

    def _after_decision(
        self,
        connection: Connection,
        *,
        what: str,
        decision: str,
        actor: Actor,
        reason: str,
        approvals: list[Decision],
        settled: bool,
        message_id: str | None,
    ) -> None:
        """What people see after a decision: the request updated, and the thread told what happens next."""
        # The request's id is saved just after it is posted; a click that lands in between still names its message.
        ts = connection.approval_message_ts or message_id
        if not settled:
            if ts:
                self._update(connection.channel_id, ts, self._approval_message(connection, approvals))
            self._refresh_root(connection)
            return
        if ts:
            with self.reads() as session:
                decisions = repo.round_decisions(session, connection, connection.approval_round)
            self._update(connection.channel_id, ts, script.approval_decided(connection, what=what, decisions=decisions))
        if decision == "reject":
            self._post(connection, script.rejected(connection, actor.user, what=what, reason=reason))
        elif connection.step == Step.PROCESSING:
            self._post(connection, script.processing_started(connection, self.policy.processing_window))
        elif connection.step == Step.AWAITING_ROLE:
            self._ask_role(connection)
        self._refresh_root(connection)

    def _approval_refusal(self, user: str, connection: Connection) -> str | None:
        """Why `user` may not decide on `connection`, or None. Fails closed: anything unknown is a refusal."""
        if not self.policy.approvers:
            return "No approver is configured (ECO_APPROVERS is empty), so nobody can approve yet."
        if user == connection.requester_id and not self.policy.allow_self_approval:
            return "You started this connection; another approver must decide on it."
        if not self._is_approver(user):
            return "Only the approvers named in ECO_APPROVERS may approve or reject connections."
        return None

    def _is_approver(self, user: str) -> bool:
        return self._is_member(user, self.policy.approvers)

    def _is_member(self, user: str, people: Approvers) -> bool:
        """Whether `user` is named in `people`, directly or through a user group. Fails closed."""
        if user in people.users:
            return True
        for group in sorted(people.groups):
            try:
                if user in self.directory.group_members(group):
                    return True
            except Exception as error:  # an unreadable group grants nothing
                log.warning("could not read members of user group %s (%s): treated as not a member", group, error)
        return False


def _refusal_detail(refusal: Message, value: str) -> str:
    """A refused Approve or Reject: what the clicker was told, and the button's value (shortened: it may be forged)."""
    return f"{plain(refusal.summary).removesuffix(' Nothing was changed.')} (value {shorten(value)!r})"
