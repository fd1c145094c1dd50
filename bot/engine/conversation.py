"""The conversation engine: a persisted state machine that takes a connection from `/eco connect` to the
end of Eco's processing window.

It receives what people do (a command, a reply in a thread, a button press) through its public methods
and answers through the `Chat` port; it knows nothing of Slack. Every change of step is a fenced
transition in the database (see `bot.store.repository.transition`), so a retried event, a second reply
racing the first, a double click or a second replica applies it once. Slow work (AWS checks) runs only
after the step has been claimed in the database, and a check interrupted by a restart is resumed.

Every action, decision and refusal is appended to the audit trail (`_audit`), in the transaction of the change
it records when there is one, so that a change is never saved without its record.

Approval (`bot.engine.approvals`) and the Home tab (`bot.engine.home`) are parts of the engine kept in modules
of their own.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.template import quick_create_url, stack_name_for
from bot.engine import script
from bot.engine.approvals import Approvals
from bot.engine.content import Item, Message, Status, shorten
from bot.engine.home import HomeTab
from bot.engine.identifiers import Invalid, RoleArn, parse_bucket_name, parse_connection_ref, parse_role_arn
from bot.engine.notices import Notices
from bot.engine.ports import Actor, Chat, ChatError, Clock, Directory, Verifier
from bot.engine.steps import ANSWER_FOR, APPROVAL_FOR, AWAITING_ANSWER, CHECKING, STEPS, Step
from bot.settings import Approvers, Settings
from bot.store import repository as repo
from bot.store.audit import BOT_ACTOR, Outcome, audit_for_connection, record_audit
from bot.store.db import read_sessions
from bot.store.models import Connection, Decision
from bot.threads import run_in_background

log = logging.getLogger(__name__)

MAX_LABEL = 80
AUDIT_SHOWN = 50  # the newest events /eco audit shows; the export has them all

Progress = Callable[[list[Item]], None]


@dataclass(frozen=True)
class Policy:
    """The settings the engine acts on (a slice of `Settings`, so the engine does not read the environment)."""

    processing_window: timedelta
    approvers: Approvers
    allow_self_approval: bool = False
    requesters: Approvers = Approvers()  # empty: anyone may start a connection
    required_approvals: int = 1  # distinct approvers per approval request
    approval_steps: frozenset[str] = frozenset({"role"})  # after which answers ("bucket", "role") approval is needed
    approval_reminder: timedelta = timedelta(hours=4)  # approvers are reminded once after this long
    reminder_after: timedelta = timedelta(hours=24)  # a question unanswered this long: one reminder
    expire_after: timedelta = timedelta(days=7)  # a question unanswered this long: the conversation expires
    notify_channel: str | None = None  # where the end of a processing window is summed up in one line
    notice_workers: int = 8  # notices delivered at once by one process
    notice_retry: timedelta = timedelta(seconds=30)  # a notice Slack refused is tried again after this, then doubling
    allowed_channels: frozenset[str] = frozenset()  # empty: in any channel
    template_url: str | None = None
    check_timeout: timedelta = timedelta(minutes=5)  # a check older than this was interrupted
    notice_lease: timedelta = timedelta(minutes=2)
    event_memory: timedelta = timedelta(days=1)  # how long processed Slack event ids are remembered
    # After a step, the Home tab is refreshed for the users who opened it this recently, the latest first and
    # this many at most: a step costs at most that many calls, whatever the size of the workspace.
    home_audience: timedelta = timedelta(days=7)
    home_refresh_limit: int = 50


def policy_from(settings: Settings, **overrides: object) -> Policy:
    """The engine's policy from the bot's settings (`overrides` for the shell's demo)."""
    values = {
        "processing_window": settings.processing_window,
        "approvers": settings.approvers,
        "allow_self_approval": settings.allow_self_approval,
        "requesters": settings.requesters,
        "allowed_channels": settings.allowed_channels,
        "required_approvals": settings.required_approvals,
        "approval_steps": settings.approval_steps,
        "approval_reminder": settings.approval_reminder,
        "reminder_after": settings.reminder_after,
        "expire_after": settings.expire_after,
        "notify_channel": settings.notify_channel,
        "notice_lease": settings.notice_lease,
        "notice_retry": settings.scheduler_interval,  # the next pass
        "template_url": settings.template_url,
    }
    values.update(overrides)
    return Policy(**values)  # type: ignore[arg-type]


class Engine(Approvals, HomeTab, Notices):
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        chat: Chat,
        verifier: Verifier,
        directory: Directory,
        policy: Policy,
        clock: Clock,
        worker_id: str | None = None,
    ):
        self.sessions = sessions
        self.reads = read_sessions(sessions)  # for reading only: on SQLite, a read does not wait for the writer
        self.chat = chat
        self.verifier = verifier
        self.directory = directory
        self.policy = policy
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        # Home refreshes fan out to many users: one background worker keeps them off the step's path (and in
        # order), and a team already waiting for a refresh is not queued twice.
        self._home_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eco-home", initializer=run_in_background)
        self._home_queued: set[str] = set()
        self._home_lock = threading.Lock()
        self._start_notices(policy.notice_workers)

    def close(self, timeout: float = 20.0) -> None:
        """Stop delivering notices (releasing this process's claims) and finish the Home refreshes already queued."""
        self.stop_notices(timeout)
        self._home_worker.shutdown(wait=True)

    # --- commands ------------------------------------------------------------------------------

    def command(self, actor: Actor, text: str) -> Message:
        """`/eco <text>`: returns the private answer for the person who typed it."""
        verb, _, rest = text.strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb == "connect":
            return self.start(actor, rest)
        if verb == "status":
            return self.status(actor, rest)
        if verb == "cancel":
            return self.cancel(actor, rest)
        if verb == "verify":
            return self.verify(actor, rest)
        if verb == "audit":
            return self.audit(actor, rest)
        if verb in ("", "help"):
            return script.help_text(rights=self._rights(actor))
        return script.help_text(note="I do not know that command. Here is what I can do:", rights=self._rights(actor))

    def _rights(self, actor: Actor) -> script.Rights:
        """What this person may do here, for /eco help (the same checks as the commands themselves make)."""
        return script.Rights(
            start=self._start_refusal(actor) is None,
            approve=bool(self.policy.approvers) and self._is_approver(actor.user),
            self_approval=self.policy.allow_self_approval,
        )

    def _start_refusal(self, actor: Actor) -> str | None:
        """Why `actor` may not start a connection here, or None. ECO_ALLOWED_CHANNELS, then ECO_REQUESTERS."""
        allowed = self.policy.allowed_channels
        if allowed and actor.channel not in allowed:
            return "Connections are started only in the channels named in ECO_ALLOWED_CHANNELS: " + ", ".join(sorted(allowed)) + "."
        if self.policy.requesters and not self._is_member(actor.user, self.policy.requesters):
            return "Only the people named in ECO_REQUESTERS may start connections."
        return None

    def start(self, actor: Actor, label_text: str) -> Message:
        refusal = self._start_refusal(actor)
        if refusal:
            self._audit(None, actor.team, None, actor.user, "connect", "refused", f"{refusal} (in {actor.channel})")
            return Message.text(refusal, " Nothing was started.")
        label = " ".join(label_text.split())
        if len(label) > MAX_LABEL:
            self._audit(None, actor.team, None, actor.user, "connect", "refused", f"a label of {len(label)} characters")
            return Message.text(f"A label is at most {MAX_LABEL} characters; that one has {len(label)}. Nothing was started.")
        now = self.clock.now()
        with self.sessions.begin() as session:
            connection = Connection(
                team_id=actor.team,
                channel_id=actor.channel,
                requester_id=actor.user,
                label=label or None,
                step=Step.AWAITING_BUCKET,
                version=1,
                # Chosen by us, unique per connection and unguessable: it is what stops another Eco customer
                # from pointing Eco at this account's role (the confused-deputy problem).
                external_id=f"eco-{secrets.token_urlsafe(24)}",
                created_at=now,
                updated_at=now,
                checks=[],
                decisions=[],
            )
            session.add(connection)
        try:
            thread_ts = self.chat.post(actor.channel, script.root(connection))
        except ChatError as error:
            with self.sessions.begin() as session:
                session.delete(session.merge(connection))
                self._audit(session, actor.team, None, actor.user, "connect", "failed", f"not posted in {actor.channel} ({error.code})")
            return script.not_posted(error.code)
        with self.sessions.begin() as session:
            repo.set_message_ids(session, connection, thread_ts=thread_ts)
            self._schedule_follow_ups(session, connection, now)  # the question's reminder and expiry
            self._audit(session, actor.team, connection, actor.user, "connect", "done", f"in {actor.channel}; label: {label or '(none)'}")
        self._post(connection, script.ask_bucket(connection))
        self._refresh_home(actor.team)
        return Message.text(f"Started connection #{connection.id}. Answer the questions in its thread.")

    def status(self, actor: Actor, reference: str) -> Message:
        with self.reads() as session:
            if not reference:
                return script.status_list(repo.list_connections(session, actor.team))
            connection = self._find(session, actor.team, reference)
            if connection is None:
                return script.unknown_connection(reference)
            return script.status_one(connection)

    def cancel(self, actor: Actor, reference: str) -> Message:
        # Read, then decide who may, then write: the approver check may ask Slack, and no transaction is held
        # open across that call. The fenced transition makes the gap harmless.
        connection = self._named(actor, reference, "cancel", "Say which connection to cancel, such as /eco cancel 12 (see /eco status).")
        if isinstance(connection, Message):
            return connection
        if STEPS[Step(connection.step)].finished:
            self._audit(None, actor.team, connection, actor.user, "cancel", "refused", "already finished")
            return Message.text(f"Connection #{connection.id} is already {STEPS[Step(connection.step)].label}.")
        if actor.user != connection.requester_id and not self._is_approver(actor.user):
            self._audit(None, actor.team, connection, actor.user, "cancel", "refused", "not the requester or an approver")
            return Message.text(
                f"Only the person who started connection #{connection.id} or an approver may cancel it. Nothing was changed."
            )
        was = connection.step
        with self.sessions.begin() as session:
            if not repo.transition(session, connection, Step.CANCELLED, self.clock.now()):
                self._audit(session, actor.team, connection, actor.user, "cancel", "refused", "it changed meanwhile")
                return Message.text(f"Connection #{connection.id} changed while you asked; nothing was cancelled. Try again.")
            repo.drop_pending_notices(session, connection)
            self._audit(session, actor.team, connection, actor.user, "cancel", "done", step=was)
        self._post(connection, script.cancelled(connection, actor.user))
        if connection.approval_message_ts and was in APPROVAL_FOR:  # an open request loses its buttons
            self._update(connection.channel_id, connection.approval_message_ts, script.approval_withdrawn(connection, APPROVAL_FOR[Step(was)]))
        self._refresh_root(connection)
        return Message.text(f"Connection #{connection.id} is cancelled.")

    # --- replies in a thread -------------------------------------------------------------------

    def already_seen(self, team: str, event_id: str) -> bool:
        """Record an incoming event id; True when it was processed before (a retry, or another replica)."""
        with self.sessions.begin() as session:
            return not repo.record_event(session, event_id=event_id, team_id=team, now=self.clock.now())

    def forget_old_events(self) -> int:
        """Keep the processed-event table small: Slack retries within minutes, a day is ample."""
        with self.sessions.begin() as session:
            return repo.forget_events(session, before=self.clock.now() - self.policy.event_memory)

    def reply(self, actor: Actor, thread: str, text: str) -> None:
        """A person wrote in a thread. If it is a connection's thread waiting for an answer, that is the answer."""
        with self.sessions.begin() as session:
            connection = repo.find_by_thread(session, actor.team, actor.channel, thread)
            if connection is None:
                return  # not one of our threads
            step = Step(connection.step)
            if step not in AWAITING_ANSWER and step not in CHECKING:
                return  # people may talk in the thread; only a pending question takes answers
            answer: str | RoleArn | Invalid | None = None
            claimed = False
            if step in AWAITING_ANSWER:
                answer = parse_bucket_name(text) if step is Step.AWAITING_BUCKET else parse_role_arn(text)
                if not isinstance(answer, Invalid):
                    # Claim the question before the slow checks: a second reply or replica now finds it taken.
                    claimed = repo.transition(
                        session, connection, AWAITING_ANSWER[step], self.clock.now(), pending_answer=str(answer)
                    )
            self._audit(session, actor.team, connection, actor.user, ANSWERS[step], *_answer_outcome(text, answer, claimed), step=step)
        if isinstance(answer, Invalid):
            what = ANSWER_FOR[step]
            self._post(connection, script.refusal(answer, text, what))
        elif not claimed:  # a check is running, or another reply claimed the question a moment ago
            self._whisper(actor, thread, script.still_checking(connection))
        else:
            self._check(connection)

    def direct_message(self, actor: Actor) -> None:
        """Someone wrote to the bot directly. Connections live in channel threads: say how to start one."""
        self._say(actor.channel, script.help_text(note=script.DIRECT_MESSAGE_NOTE))

    def _check(self, connection: Connection) -> None:
        """Run the claimed step's checks and move on: forward when they pass, back to the question when not."""
        step = Step(connection.step)
        answer = connection.pending_answer or ""
        what = "bucket" if step is Step.CHECKING_BUCKET else "role"
        progress = self._post(connection, script.checking(what, answer))
        show = self._progress(connection.channel_id, progress, lambda items: script.checking_progress(what, answer, items))
        items = self._verify(connection, step, answer, show)
        # A required check that could not run is not a pass: the question is asked again.
        ok = not any(item.holds_step for item in items)
        if not ok:
            to_step, changes = CHECKING[step], {}
        elif step is Step.CHECKING_BUCKET:
            to_step, changes = Step.AWAITING_ROLE, {"bucket": answer}
            if "bucket" in self.policy.approval_steps:
                to_step = Step.AWAITING_BUCKET_APPROVAL
        else:
            # `answer` is the canonical ARN (arn:aws:iam::<account>:role/...), so field 4 is the account.
            to_step, changes = Step.AWAITING_APPROVAL, {"role_arn": answer, "account_id": answer.split(":")[4]}
            if "role" not in self.policy.approval_steps:
                to_step = Step.PROCESSING
        now = self.clock.now()
        if to_step in APPROVAL_FOR:
            changes["approval_round"] = connection.approval_round + 1  # a new request: earlier clicks do not count
        elif to_step is Step.PROCESSING:
            changes["window_ends_at"] = now + self.policy.processing_window
        with self.sessions.begin() as session:
            moved = repo.transition(session, connection, to_step, now, pending_answer=None, **changes)
            if moved:
                repo.replace_checks(session, connection, what, items, now)
                self._schedule_follow_ups(session, connection, now)
                self._audit(session, connection.team_id, connection, BOT_ACTOR, "checks", *_checks_outcome(f"{what} {answer}", items), step=step)
        if not moved:
            log.info("connection %s moved on while its %s was being checked; result dropped", connection.id, what)
            self._audit(None, connection.team_id, connection, BOT_ACTOR, "checks", "failed", f"{what} result dropped: the connection moved on")
            return
        result = script.check_results(what, answer, items, ok)
        if progress:
            self._update(connection.channel_id, progress, result)
        else:
            self._post(connection, result)
        if to_step is Step.AWAITING_ROLE:
            self._ask_role(connection)
        elif to_step in APPROVAL_FOR:
            self._request_approval(connection)
        elif to_step is Step.PROCESSING:
            self._post(connection, script.processing_started(connection, self.policy.processing_window))
        self._refresh_root(connection)

    def _verify(self, connection: Connection, step: Step, answer: str, progress: Progress | None = None) -> list[Item]:
        if step is Step.CHECKING_BUCKET:
            return [Item("Name follows the S3 naming rules", Status.PASS), *self.verifier.check_bucket(answer)]
        role = parse_role_arn(answer)
        assert isinstance(role, RoleArn)  # it was validated before it was claimed
        return [
            Item("ARN is a role in the aws partition", Status.PASS),
            *self.verifier.check_role(role, connection.external_id, connection.bucket or "", progress),
        ]

    def _progress(self, channel: str, message_id: str | None, render: Callable[[list[Item]], Message]) -> Progress | None:
        """A progress display for a running check: the verifier's partial checklist, edited into one message."""
        if message_id is None:
            return None
        return lambda items: self._update(channel, message_id, render(items))

    def verify(self, actor: Actor, reference: str) -> Message:
        """`/eco verify <id>`: run a connection's checks again and post the results in its thread.

        Changes no step: it answers "is it still right?", for instance after the customer fixed something
        or before trusting an old connection. A step that is being checked right now is left alone.
        """
        connection = self._named(actor, reference, "verify", "Say which connection to check again, such as /eco verify 12 (see /eco status).")
        if isinstance(connection, Message):
            return connection
        if Step(connection.step) in CHECKING:
            self._audit(None, actor.team, connection, actor.user, "verify", "refused", "a check is running")
            return script.still_checking(connection)
        if not connection.bucket:
            self._audit(None, actor.team, connection, actor.user, "verify", "refused", "no bucket yet")
            return Message.text(f"Connection #{connection.id} has no bucket yet: answer the question in its thread first.")
        progress = self._post(connection, script.reverify_started(connection, actor.user))
        bucket_items = self._verify(connection, Step.CHECKING_BUCKET, connection.bucket)
        role_items: list[Item] = []
        if connection.role_arn:
            show = self._progress(
                connection.channel_id,
                progress,
                lambda lines: script.checking_progress("connection", f"#{connection.id}", [*bucket_items, *lines]),
            )
            role_items = self._verify(connection, Step.CHECKING_ROLE, connection.role_arn, show)
        items = bucket_items + role_items
        ok = not any(item.holds_step for item in items)
        # A connection that needed attention after its window becomes active once everything passes, data included.
        arrived = connection.step == Step.NEEDS_ATTENTION and bool(role_items) and all(i.status in (Status.PASS, Status.WARN) for i in items)
        activated = False
        now = self.clock.now()
        with self.sessions.begin() as session:
            if repo.get_connection(session, actor.team, connection.id) is not None:
                repo.replace_checks(session, connection, "bucket", bucket_items, now)
                if role_items:
                    repo.replace_checks(session, connection, "role", role_items, now)
                self._audit(session, actor.team, connection, actor.user, "verify", *_checks_outcome("bucket and role" if role_items else "bucket", items))
                if arrived and repo.transition(session, connection, Step.ACTIVE, now):
                    activated = True
                    self._audit(session, actor.team, connection, BOT_ACTOR, "window_check", "done",
                                "report data is arriving (checked again by /eco verify)", step=Step.NEEDS_ATTENTION)  # fmt: skip
        result = script.reverify_results(connection, items, ok)
        if progress:
            self._update(connection.channel_id, progress, result)
        else:
            self._post(connection, result)
        if activated:
            self._post(connection, script.now_active(connection))
            self._refresh_root(connection)
        return script.reverify_answer(connection, items, ok)

    def audit(self, actor: Actor, reference: str) -> Message:
        """`/eco audit <id>`: a connection's history, for its requester and the approvers (a refusal is recorded)."""
        connection = self._named(actor, reference, "audit", "Say which connection's history to show, such as /eco audit 12 (see /eco status).")
        if isinstance(connection, Message):
            return connection
        if actor.user != connection.requester_id and not self._is_approver(actor.user):
            self._audit(None, actor.team, connection, actor.user, "audit", "refused", "not the requester or an approver")
            return Message.text(
                f"Only the requester or an approver may see the history of connection #{connection.id}. Nothing was shown."
            )
        with self.reads() as session:
            events = audit_for_connection(session, actor.team, connection.id, limit=AUDIT_SHOWN + 1)
        return script.audit_trail(connection, events[-AUDIT_SHOWN:], more=len(events) > AUDIT_SHOWN)

    def _ask_role(self, connection: Connection) -> None:
        principal = self.verifier.trusted_principal()
        link = None
        if self.policy.template_url and principal:
            link = quick_create_url(
                template_url=self.policy.template_url,
                stack_name=stack_name_for(connection.id, connection.label),
                bucket=connection.bucket or "",
                external_id=connection.external_id,
                trusted_principal_arn=principal,
            )
        configured = self.policy.template_url is not None
        self._post(connection, script.ask_role(connection, link=link, principal=principal, template_configured=configured))

    def _approval_message(self, connection: Connection, approvals: list[Decision]) -> Message:
        return script.approval_request(
            connection,
            what=APPROVAL_FOR[Step(connection.step)],
            required=self.policy.required_approvals,
            approvals=approvals,
            approvers_configured=bool(self.policy.approvers),
        )

    def _request_approval(self, connection: Connection) -> None:
        ts = self._post(connection, self._approval_message(connection, []))
        if ts:
            with self.sessions.begin() as session:
                # Only this field: a decision may already have moved the connection on (a merge would undo it).
                repo.set_message_ids(session, connection, approval_message_ts=ts)

    def resume_interrupted_checks(self) -> int:
        """Re-run checks that a dead process left half done (their claim is older than the check timeout)."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            stale = repo.stale_checks(session, tuple(CHECKING), now - self.policy.check_timeout)
            # Re-claim each (a transition to the same step bumps the version) so only one process resumes it.
            resumed = [c for c in stale if repo.transition(session, c, c.step, now)]
            for connection in resumed:
                self._audit(session, connection.team_id, connection, BOT_ACTOR, "resume_checks", "done", "interrupted by a restart")
        for connection in resumed:
            self._post(connection, script.check_resumed())
            self._check(connection)
        return len(resumed)

    # --- helpers -------------------------------------------------------------------------------

    def _audit(
        self,
        session: Session | None,
        team: str,
        connection: Connection | None,
        actor: str,
        action: str,
        outcome: Outcome,
        detail: str = "",
        *,
        step: str | None = None,
    ) -> None:
        """Append to the audit trail. With `session`, in its transaction: the record commits, or rolls back, with
        the change it describes. Without (a refusal changes nothing else), in a short transaction of its own, where
        a failure is logged rather than raised so that the person still gets their answer. `step` is where the
        connection stood when it happened, for a caller whose transition has already moved it on."""
        values = {
            "team_id": team,
            "connection_id": connection.id if connection else None,
            "step": str(step or connection.step) if connection else None,
            "actor_id": actor,
            "action": action,
            "outcome": outcome,
            "detail": detail,
            "at": self.clock.now(),
        }
        if session is not None:
            record_audit(session, **values)
            return
        try:
            with self.sessions.begin() as own:
                record_audit(own, **values)
        except Exception:
            log.exception("could not record %s (%s) by %s in the audit trail", action, outcome, actor)

    def _named(self, actor: Actor, reference: str, action: str, usage: str) -> Connection | Message:
        """The connection a command names, or the answer when it names none in this workspace (recorded as a
        refused `action`). `usage` is the answer to a command that names nothing."""
        if not reference:
            return Message.text(usage)
        with self.reads() as session:
            connection = self._find(session, actor.team, reference)
        if connection is None:
            self._audit(None, actor.team, None, actor.user, action, "refused", f"no connection {shorten(reference)} here")
            return script.unknown_connection(reference)
        return connection

    def _find(self, session: Session, team: str, reference: str) -> Connection | None:
        parsed = parse_connection_ref(reference)
        return None if isinstance(parsed, Invalid) else repo.get_connection(session, team, parsed)

    def _post(self, connection: Connection, message: Message) -> str | None:
        """Post in the connection's thread. A chat failure is logged, not raised: the state is already saved."""
        return self._say(connection.channel_id, message, thread=connection.thread_ts)

    def _say(self, channel: str, message: Message, *, thread: str | None = None) -> str | None:
        try:
            return self.chat.post(channel, message, thread=thread)
        except ChatError as error:
            log.warning("could not post in %s: %s", channel, error.code)
            return None

    def _whisper(self, actor: Actor, thread: str, message: Message) -> None:
        try:
            self.chat.whisper(actor.channel, actor.user, message, thread=thread)
        except ChatError as error:
            log.warning("could not answer %s privately: %s", actor.user, error.code)

    def _update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.chat.update(channel, ts, message)
        except ChatError as error:
            log.warning("could not update message %s: %s", ts, error.code)

    def _refresh_root(self, connection: Connection) -> None:
        """After a step: the checklist at the top of the thread, then the Home tab of whoever watches it."""
        with self.reads() as session:
            fresh = repo.get_connection(session, connection.team_id, connection.id)
            if fresh is None or fresh.thread_ts is None:
                return
            message = script.root(fresh)
        self._update(fresh.channel_id, fresh.thread_ts, message)
        self._refresh_home(fresh.team_id)


# --- what the audit trail says about answers and checks ------------------------------------------------

ANSWERS = {
    Step.AWAITING_BUCKET: "answer_bucket",
    Step.CHECKING_BUCKET: "answer_bucket",
    Step.AWAITING_ROLE: "answer_role",
    Step.CHECKING_ROLE: "answer_role",
}


def _answer_outcome(text: str, answer: str | RoleArn | Invalid | None, claimed: bool) -> tuple[Outcome, str]:
    """An answer in a thread: accepted (the validated value), or refused with why (what was typed, shortened)."""
    typed = shorten(text.strip()) or "(empty)"
    if isinstance(answer, Invalid):
        return "refused", f"{typed}: {answer.reason}"
    if claimed:
        return "done", str(answer)
    return "refused", f"{typed}: a check is running"


def _checks_outcome(subject: str, items: list[Item]) -> tuple[Outcome, str]:
    """A check run: done when nothing holds the step (with its warnings counted), failed with what does."""
    holding = [item.name for item in items if item.holds_step]
    if holding:
        return "failed", f"{subject}: {len(holding)} not passing ({'; '.join(holding)})"
    warnings = sum(1 for item in items if item.status is Status.WARN)
    return "done", f"{subject}: passed" + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")
