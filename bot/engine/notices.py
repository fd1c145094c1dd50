"""Notices: what the bot posts on its own, later — the end of the processing window (in the thread, to the
requester and to ECO_NOTIFY_CHANNEL), reminders (to approvers, to a requester who has not answered) and expiry.
Part of the `Engine` (a mixin: it uses the engine's sessions, chat, verifier, policy and helpers).

Each notice is a database row, one per (connection, kind), so any number of replicas may run the scheduler and
each notice is posted once:

1. Claim: a replica takes due rows with a lease (`repository.claim_due_notices`); every later write about a row
   is fenced on the claim, so a replica whose lease ran out and was taken over changes nothing.
2. Prepare: the notice is dropped if it no longer applies (the connection moved on). A notice that changes the
   connection (the window's end, an expiry) makes that change in one transaction with a check of the claim.
3. Post, tagged: the post carries message metadata naming the notice, and `attempted_at` is written before it.
   A row claimed again with `attempted_at` set (the replica died, or Slack's answer was lost) first looks for
   its tag in the thread or channel and records the post it finds instead of posting twice.
4. Record: the post's ts and `sent`, at once. A 429 gives the row back, due again after Retry-After; a refusal
   is retried with backoff, then recorded as failed in the audit trail.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.engine import script
from bot.engine.content import Item, Message, Status, Tag, rich
from bot.engine.identifiers import RoleArn, parse_role_arn
from bot.engine.ports import ChatError
from bot.engine.steps import ANSWER_FOR, APPROVAL_FOR, AWAITING_ANSWER, WINDOW_OUTCOMES, Step
from bot.settings import format_duration
from bot.store import repository as repo
from bot.store.audit import BOT_ACTOR
from bot.store.models import Connection, Notice
from bot.threads import run_in_background

log = logging.getLogger(__name__)

WINDOW_END = "window_end"  # in the thread; it runs the data-arrival check and settles the connection
WINDOW_DM = "window_end_dm"  # to the requester, once the window's outcome is known
WINDOW_SUMMARY = "window_end_summary"  # one line in ECO_NOTIFY_CHANNEL
APPROVAL_REMINDER = "approval_reminder"  # `approval_reminder:<round>`: once per approval request
ANSWER_REMINDER = "answer_reminder"  # `answer_reminder:<version>`: once per question asked
EXPIRY = "expire"  # `expire:<version>`: a question unanswered for ECO_EXPIRE_AFTER
WINDOW_CHECK = "window"  # the check results stored for the window's end

# What each kind is called in the audit trail.
ACTIONS = {
    WINDOW_END: "window_notice",
    WINDOW_DM: "window_direct_message",
    WINDOW_SUMMARY: "window_summary",
    APPROVAL_REMINDER: "approval_reminder",
    ANSWER_REMINDER: "answer_reminder",
    EXPIRY: "expiry_notice",
}
MAX_REFUSALS = 6  # a notice Slack keeps refusing (channel archived, bot removed) is given up after this many
BACKOFF_MOST = timedelta(hours=1)
BATCHES_PER_PASS = 20  # claims per scheduler pass, so a pass ends even while new notices keep falling due


@dataclass(frozen=True)
class Delivery:
    """What a claimed notice posts, and where."""

    channel: str
    thread: str | None
    message: Message


class Notices:
    def _start_notices(self, workers: int) -> None:
        # Posting is I/O (Slack, and AWS for the window's end): a few workers keep a burst of due notices from
        # queueing behind one slow check, without overrunning Slack's per-channel pacing.
        self._notice_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eco-notice", initializer=run_in_background)
        self._stopping = threading.Event()
        # Notices whose post has been sent to Slack and not answered yet: on shutdown their claims are kept until the
        # lease runs out rather than released, so that a taker looking for the post looks after Slack has it.
        self._posting: set[int] = set()
        self._posting_lock = threading.Lock()

    def stop_claiming(self) -> None:
        """Claim no more notices (the first thing a stopping process does; deliveries under way go on)."""
        self._stopping.set()

    def stop_notices(self, timeout: float) -> int:
        """Stop claiming, give the deliveries under way up to `timeout` seconds, then release whatever this process
        still holds (for another replica, at once). Returns how many claims were released."""
        self.stop_claiming()
        finished = threading.Event()
        threading.Thread(target=lambda: (self._notice_pool.shutdown(wait=True), finished.set()), daemon=True).start()
        if not finished.wait(timeout):
            log.warning("notices still being delivered after %.0fs; releasing their claims", timeout)
        with self._posting_lock:
            in_flight = frozenset(self._posting)
        try:
            with self.sessions.begin() as session:
                released = repo.release_claims(session, owner=self.worker_id, keep=in_flight)
        except Exception as error:  # the database is gone: the claims lapse with their lease instead
            log.warning("could not release notice claims (%s); they lapse after ECO_NOTICE_LEASE", type(error).__name__)
            return 0
        if released:
            log.info("released %d notice claim(s) for another replica", released)
        return released

    def deliver_due_notices(self, *, limit: int = 50) -> int:
        """Claim what is due, in batches, and deliver it. Returns how many notices were delivered."""
        delivered = 0
        for _ in range(BATCHES_PER_PASS):
            if self._stopping.is_set():
                break
            with self.sessions.begin() as session:
                notices = repo.claim_due_notices(
                    session, now=self.clock.now(), owner=self.worker_id, lease=self.policy.notice_lease, limit=limit
                )
            if not notices:
                break
            with self.reads() as session:
                connections = repo.connections_of(session, notices)
            try:
                about = [connections.get(notice.connection_id) for notice in notices]
                delivered += sum(self._notice_pool.map(self._deliver_one, notices, about))
            except RuntimeError:  # shutting down: this batch was claimed after stop_notices released the rest
                with self.sessions.begin() as session:
                    repo.release_claims(session, owner=self.worker_id)
                break
        return delivered

    def _deliver_one(self, notice: Notice, connection: Connection | None) -> bool:
        try:
            delivery = self._prepare(notice, connection) if connection is not None else self._drop(notice)
            return delivery is not None and self._send(notice, connection, delivery)
        except ChatError as error:
            return self._not_posted(notice, connection, error)
        except Exception:  # one notice must not stop the others; it is retried after a backoff
            log.exception("notice %s (%s) failed", notice.id, notice.kind)
            self._give_back(notice, self._backoff(notice), posted=None)
            return False

    # --- what each kind of notice says --------------------------------------------------------------

    def _prepare(self, notice: Notice, connection: Connection) -> Delivery | None:
        """What to post for a claimed notice; None when there is nothing to post (it was dropped)."""
        kind, _, key = notice.kind.partition(":")
        if kind == WINDOW_END:
            return self._window_end(notice, connection)
        if kind in (WINDOW_DM, WINDOW_SUMMARY):
            if connection.step not in WINDOW_OUTCOMES:
                return self._drop(notice)
            if kind == WINDOW_DM:
                channel = self.chat.direct_channel(connection.requester_id)
                return Delivery(channel, None, script.window_ended_direct(connection))
            if not self.policy.notify_channel:
                return self._drop(notice)
            return Delivery(self.policy.notify_channel, None, script.window_summary(connection))
        if kind == APPROVAL_REMINDER:
            if connection.step not in APPROVAL_FOR or key != str(connection.approval_round):
                return self._drop(notice)
            message = script.approval_reminder(
                connection,
                what=APPROVAL_FOR[Step(connection.step)],
                approvers=sorted(self.policy.approvers.users),
                waiting_since=notice.due_at - self.policy.approval_reminder,
            )
            return self._in_thread(connection, message)
        if kind in (ANSWER_REMINDER, EXPIRY):
            if connection.step not in AWAITING_ANSWER or key != str(connection.version):
                return self._drop(notice)  # the question was answered (or asked again) since
            if kind == ANSWER_REMINDER:
                asked = notice.due_at - self.policy.reminder_after
                message = script.answer_reminder(connection, waiting_since=asked, expires_at=asked + self.policy.expire_after)
                return self._in_thread(connection, message)
            return self._expire(notice, connection)
        log.warning("notice %s has an unknown kind %r; dropped", notice.id, notice.kind)
        return self._drop(notice)

    def _window_end(self, notice: Notice, connection: Connection) -> Delivery | None:
        """Re-run the data-arrival check and settle the connection: active, or needs attention (with the fixes).
        Settled once, under the claim: a notice claimed again after that posts what was settled."""
        if connection.step == Step.PROCESSING:
            items = self._arrival_items(connection)
            active = all(item.status in (Status.PASS, Status.WARN) for item in items)
            now = self.clock.now()
            with self.sessions.begin() as session:
                if not repo.still_holds(session, notice, owner=self.worker_id):
                    return None
                if not repo.transition(session, connection, Step.ACTIVE if active else Step.NEEDS_ATTENTION, now):
                    return self._drop(notice)
                repo.replace_checks(session, connection, WINDOW_CHECK, items, now)
                repo.schedule_notice(session, connection, kind=WINDOW_DM, due_at=now)
                if self.policy.notify_channel:
                    repo.schedule_notice(session, connection, kind=WINDOW_SUMMARY, due_at=now)
                self._audit(
                    session, connection.team_id, connection, BOT_ACTOR, "window_check",
                    "done" if active else "failed", "report data is arriving" if active else _not_passing(items),
                    step=Step.PROCESSING,
                )  # fmt: skip
            self._refresh_root(connection)
        elif connection.step in WINDOW_OUTCOMES:
            with self.reads() as session:
                stored = repo.get_connection(session, connection.team_id, connection.id)
                items = [_stored_item(check) for check in stored.checks if check.step == WINDOW_CHECK] if stored else []
        else:
            return self._drop(notice)
        return self._in_thread(connection, script.window_ended(connection, items))

    def _arrival_items(self, connection: Connection) -> list[Item]:
        role = parse_role_arn(connection.role_arn or "")
        if not isinstance(role, RoleArn) or not connection.bucket:
            return [Item("The connection has a role and a bucket", Status.FAIL, rich("It has none to check."))]
        return self.verifier.check_arrival(role, connection.external_id, connection.bucket)

    def _expire(self, notice: Notice, connection: Connection) -> Delivery | None:
        was = Step(connection.step)
        with self.sessions.begin() as session:
            if not repo.still_holds(session, notice, owner=self.worker_id):
                return None
            if not repo.transition(session, connection, Step.EXPIRED, self.clock.now()):
                return self._drop(notice)  # answered at the last moment
            repo.drop_pending_notices(session, connection)
            self._audit(session, connection.team_id, connection, BOT_ACTOR, "expire", "done",
                        f"no {ANSWER_FOR[was]} given within {format_duration(self.policy.expire_after)}", step=was)  # fmt: skip
        self._refresh_root(connection)
        return self._in_thread(connection, script.expired(connection, question=was, waited=self.policy.expire_after))

    @staticmethod
    def _in_thread(connection: Connection, message: Message) -> Delivery:
        return Delivery(connection.channel_id, connection.thread_ts, message)

    # --- posting, once ---------------------------------------------------------------------------

    def _send(self, notice: Notice, connection: Connection, delivery: Delivery) -> bool:
        """Post once. Raises ChatError when Slack did not take it (see `_not_posted`)."""
        tag = Tag(notice.kind, notice.connection_id)
        if notice.attempted_at is not None:  # an earlier attempt may have gone through: look before posting
            found = self.chat.find_tagged(delivery.channel, tag, thread=delivery.thread, since=notice.attempted_at)
            if found:
                self._record_sent(notice, connection, found, "found the post of an earlier attempt")
                return True
        with self.sessions.begin() as session:
            if not repo.mark_attempt(session, notice, owner=self.worker_id, now=self.clock.now()):
                return False  # our lease ran out and another replica has it now
        with self._posting_lock:
            self._posting.add(notice.id)
        try:
            ts = self.chat.post(delivery.channel, replace(delivery.message, tag=tag), thread=delivery.thread)
            self._record_sent(notice, connection, ts, "")
        finally:
            with self._posting_lock:
                self._posting.discard(notice.id)
        return True

    def _record_sent(self, notice: Notice, connection: Connection, ts: str, detail: str) -> None:
        with self.sessions.begin() as session:
            if repo.finish_notice(session, notice, owner=self.worker_id, state="sent", now=self.clock.now(), posted_ts=ts):
                self._audit(session, notice.team_id, connection, BOT_ACTOR, _action(notice), "done", detail)

    def _not_posted(self, notice: Notice, connection: Connection | None, error: ChatError) -> bool:
        """Slack did not take the post: due again after Retry-After when rate-limited, after a growing backoff
        otherwise, and given up (recorded as failed) when Slack keeps refusing it."""
        action = _action(notice)
        if error.retry_after is not None:
            log.info("%s for #%s rate-limited; due again in %.0fs", action, notice.connection_id, error.retry_after)
            self._give_back(notice, timedelta(seconds=error.retry_after), posted=False)
            return False
        refused = error.delivered is False
        if refused and notice.attempts >= MAX_REFUSALS:
            with self.sessions.begin() as session:
                if repo.finish_notice(session, notice, owner=self.worker_id, state="failed", now=self.clock.now()):
                    self._audit(session, notice.team_id, connection, BOT_ACTOR, action, "failed",
                                f"not posted ({error.code}) after {notice.attempts} attempts; given up")  # fmt: skip
            return False
        log.warning("%s for #%s not posted (%s); will retry", action, notice.connection_id, error.code)
        with self.sessions.begin() as session:
            # posted=None when Slack did not answer: the post may have gone through, so it is looked for first.
            if repo.postpone_notice(session, notice, owner=self.worker_id, until=self.clock.now() + self._backoff(notice),
                                    posted=False if refused else None):  # fmt: skip
                self._audit(session, notice.team_id, connection, BOT_ACTOR, action, "failed", f"not posted ({error.code}); will retry")
        return False

    def _backoff(self, notice: Notice) -> timedelta:
        """The next pass, then twice as long after each further attempt, up to an hour."""
        return min(self.policy.notice_retry * 2 ** max(notice.attempts - 1, 0), BACKOFF_MOST)

    def _give_back(self, notice: Notice, after: timedelta, *, posted: bool | None) -> None:
        with self.sessions.begin() as session:
            repo.postpone_notice(session, notice, owner=self.worker_id, until=self.clock.now() + after, posted=posted)

    def _drop(self, notice: Notice) -> None:
        """The notice no longer applies (the connection moved on, or is gone)."""
        with self.sessions.begin() as session:
            repo.finish_notice(session, notice, owner=self.worker_id, state="dropped", now=self.clock.now())
        return None

    # --- scheduling ------------------------------------------------------------------------------

    def _schedule_follow_ups(self, session, connection: Connection, now: datetime) -> None:
        """The notices a step brings, in the transaction that entered it: a reminder for an approval request, a
        reminder and an expiry for a question, the window-end notice for processing. The reminder and expiry of
        an earlier question go: they would be dropped when due anyway, and open rows are what the scheduler reads."""
        asking = connection.step in AWAITING_ANSWER
        # Keyed by version: a question asked again (after a failed check or a rejection) gets its own pair.
        reminder, expiry = f"{ANSWER_REMINDER}:{connection.version}", f"{EXPIRY}:{connection.version}"
        repo.drop_pending_notices(session, connection, families=(ANSWER_REMINDER, EXPIRY), keep=(reminder, expiry) if asking else ())
        if connection.step in APPROVAL_FOR:
            kind = f"{APPROVAL_REMINDER}:{connection.approval_round}"
            repo.schedule_notice(session, connection, kind=kind, due_at=now + self.policy.approval_reminder)
        elif asking:
            repo.schedule_notice(session, connection, kind=reminder, due_at=now + self.policy.reminder_after)
            repo.schedule_notice(session, connection, kind=expiry, due_at=now + self.policy.expire_after)
        elif connection.step == Step.PROCESSING and connection.window_ends_at is not None:
            repo.schedule_notice(session, connection, kind=WINDOW_END, due_at=connection.window_ends_at)


def _action(notice: Notice) -> str:
    return ACTIONS.get(notice.kind.partition(":")[0], notice.kind)


def _stored_item(check) -> Item:
    return Item(check.name, Status(check.status), rich(check.detail) if check.detail else ())


def _not_passing(items: list[Item]) -> str:
    return "not passing: " + "; ".join(item.name for item in items if item.status not in (Status.PASS, Status.WARN))
