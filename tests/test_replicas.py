"""The bot in its production shape: several `eco-bot run --mode http` replicas as real processes, one real
PostgreSQL database, one fake Slack, and processes that die (SIGKILL) at real points of their work. Whatever
happens, each notice reaches Slack exactly once, and an event Slack delivers twice is acted on once.

The kill points need no hook in the bot: the fake Slack holds a post's answer back (the message is posted, the
process waits for the answer) and the fake AWS is slowed down (the process waits in the window's data check).
Notices are counted by the metadata tag every notice post carries: (connection id, notice kind).

All traffic stays on 127.0.0.1. Each test takes a few seconds (lease and retry times are set short).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.sandbox.world import CUSTOMER_ACCOUNT, AwsWorld, CustomerAccount
from bot.store import repository as repo
from bot.store.db import session_factory
from bot.store.models import Connection, SlackEvent
from tests.fakes.slack_requests import SlackSigner, post
from tests.harness import message_text
from tests.replicas import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    SIGNING_SECRET,
    TEAM,
    HoldingSlack,
    Replicas,
    connection,
    migrated,
    new_thread_ts,
    notice,
    notice_posts,
    notices,
    now,
    seed_connection,
    seed_connections,
    tagged,
    wait_sent,
    wait_until,
)

pytestmark = pytest.mark.slow

LEASE = "3s"  # ECO_NOTICE_LEASE: how long a dead replica's claim blocks the others
LEASE_SECONDS = 3.0
REMINDER = "approval_reminder:1"
ANSWER_REMINDER = "answer_reminder:3"  # keyed by the connection's version when the question was asked
EXPIRY = "expire:3"
WINDOW_END = "window_end"
WINDOW_DM = "window_end_dm"
NOTICES = 300


@pytest.fixture
def slack() -> Iterator[HoldingSlack]:
    with HoldingSlack() as fake:
        yield fake


@pytest.fixture
def replicas(tmp_path: Path, slack: HoldingSlack) -> Iterator[Replicas]:
    group = Replicas(tmp_path, slack)
    yield group
    group.stop_all()


@pytest.fixture
def migrate() -> Iterator[Callable[[str], Engine]]:
    """Bring a database to the latest migration and open it for the test; closed at the end."""
    opened: list[Engine] = []

    def open_migrated(url: str) -> Engine:
        opened.append(migrated(url))
        return opened[-1]

    yield open_migrated
    for database in opened:
        database.dispose()


postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def awaiting_approval(database, slack, count: int = 1, **fields) -> list[Connection]:
    """Connections whose role passed its checks and that wait for approval round 1."""
    values = dict(
        version=4,
        approval_round=1,
        bucket="acme-cur",
        role_arn=f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/eco-connect-EcoReadOnlyRole",
        account_id=CUSTOMER_ACCOUNT,
    )
    values.update(fields)
    return seed_connections(database, slack, count, step="awaiting_approval", **values)


def schedule(database, connections: list[Connection], kind: str, due_at) -> None:
    with session_factory(database).begin() as session:
        for seeded in connections:
            assert repo.schedule_notice(session, seeded, kind=kind, due_at=due_at)


def launched(customer: CustomerAccount, external_id: str) -> str:
    """The customer launched the stack for this external id; the role ARN it output."""
    return customer.launch_stack(external_id=external_id, bucket="acme-cur")


# --- 1. many notices, three replicas ------------------------------------------------------------------


@postgresql
def test_three_replicas_post_300_due_notices_each_exactly_once(database_url, migrate, slack, replicas):
    database = migrate(database_url)
    # Slack takes a moment to answer each post, as over a real network: long enough for all three replicas to
    # have claimed their share before one of them could post everything alone.
    slack.post_delay = 0.08
    replicas.start_many(3, database_url)

    # Three kinds of notice that need no AWS call, 100 of each: reminders to approvers, reminders to a requester
    # who has not answered the question, and expiries (which also move the connection on, to `expired`).
    third = NOTICES // 3
    approvals = awaiting_approval(database, slack, third)
    questions = seed_connections(database, slack, 2 * third, step="awaiting_bucket", version=3)
    expected = {(c.id, REMINDER) for c in approvals}
    expected |= {(c.id, ANSWER_REMINDER) for c in questions[:third]}
    expected |= {(c.id, EXPIRY) for c in questions[third:]}
    due = now() + timedelta(seconds=1)  # all due at once, with all three replicas awake
    schedule(database, approvals, REMINDER, due)
    schedule(database, questions[:third], ANSWER_REMINDER, due)
    schedule(database, questions[third:], EXPIRY, due)

    most_held: Counter[str] = Counter()  # the most notices each replica held claimed at one moment

    def all_sent() -> bool:
        rows = notices(database)
        for claimant, held in Counter(n.claimed_by for n in rows if n.state == "claimed").items():
            most_held[claimant] = max(most_held[claimant], held)
        return sum(1 for n in rows if n.state == "sent") == NOTICES

    with replicas.explained():
        wait_until(all_sent, timeout=45, what=f"all {NOTICES} notices sent")
        time.sleep(1.5)  # more scheduler passes on every replica: nothing is posted again

        posts = notice_posts(slack)
        assert set(posts) == expected, (
            f"never posted: {sorted(expected - set(posts))[:10]}; not expected: {sorted(set(posts) - expected)[:10]}"
        )
        twice = {key: len(calls) for key, calls in posts.items() if len(calls) != 1}
        assert not twice, f"posted more than once: {twice}"

        rows = notices(database)
        assert len(rows) == NOTICES
        for row in rows:
            assert row.state == "sent", row
            assert row.posted_ts == posts[(row.connection_id, row.kind)][0].response["ts"]
        assert {connection(database, c.id).step for c in questions[third:]} == {"expired"}
        assert {connection(database, c.id).step for c in questions[:third]} == {"awaiting_bucket"}

        claimants = {row.claimed_by for row in rows}
        assert len(claimants) > 1, (
            f"one replica did all the work: {claimants}; the most notices a replica held claimed at once: {dict(most_held)}"
        )
        assert all(replicas.claimant(c) is not None for c in claimants), claimants
        assert all(r.process.poll() is None for r in replicas.started), "a replica died"
        replicas.assert_no_tracebacks()


# --- 2. a replica killed in the middle of a notice ------------------------------------------------------


@postgresql
def test_a_replica_killed_between_post_and_record_is_taken_over_without_a_second_post(database_url, migrate, slack, replicas):
    database = migrate(database_url)
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE=LEASE)
    (seeded,) = awaiting_approval(database, slack)
    held = slack.hold("chat.postMessage", when=tagged(seeded.id, REMINDER))
    schedule(database, [seeded], REMINDER, now())

    with replicas.explained():
        posted = held.wait_arrived(timeout=15)  # Slack has the message; the replica waits for the answer
        row = notice(database, seeded.id, REMINDER)
        assert row.state == "claimed" and row.attempted_at is not None and row.posted_ts is None, row
        claimant = replicas.claimant(row.claimed_by)
        assert claimant is not None, f"no replica's process id in claimed_by {row.claimed_by!r}"
        claimant.kill()
        held.release()  # the answer goes nowhere: its reader is dead
        (survivor,) = [r for r in replicas.started if r is not claimant]

        sent = wait_sent(database, seeded.id, REMINDER, timeout=LEASE_SECONDS + 15, what="the notice taken over and recorded as sent by the other replica")
        time.sleep(1.5)  # more passes: still no second post

        posts = notice_posts(slack)[(seeded.id, REMINDER)]
        assert len(posts) == 1, f"{len(posts)} posts of the notice"
        assert sent.posted_ts == posted.response["ts"], "the recorded ts is not the one of the post Slack has"
        assert replicas.claimant(sent.claimed_by) is survivor
        lookups = [
            c
            for c in slack.calls("conversations.replies")
            if c.params.get("ts") == seeded.thread_ts and c.params.get("channel") == CHANNEL
        ]
        assert lookups, "the taker did not look for the earlier post in the thread"
        assert lookups[0].at >= row.lease_until.timestamp(), "taken over before the dead replica's lease ran out"
        replicas.assert_no_tracebacks()


@postgresql
def test_a_replica_stopped_while_its_post_is_in_flight_keeps_the_claim_and_the_post_is_not_repeated(
    database_url, migrate, slack, replicas
):
    """SIGTERM while Slack has the post but has not answered: the stopping replica does not hand the notice over at
    once (a taker could look before Slack finished the post); the claim lapses with its lease, and the taker finds
    the post by its tag."""
    database = migrate(database_url)
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE=LEASE, ECO_SHUTDOWN_TIMEOUT="1s")
    (seeded,) = awaiting_approval(database, slack)
    held = slack.hold("chat.postMessage", when=tagged(seeded.id, REMINDER))
    schedule(database, [seeded], REMINDER, now())

    with replicas.explained():
        posted = held.wait_arrived(timeout=15)
        row = notice(database, seeded.id, REMINDER)
        claimant = replicas.claimant(row.claimed_by)
        assert claimant is not None and row.attempted_at is not None, row
        assert claimant.terminate(timeout=1.0 + 5.0) == 0
        after_stop = notice(database, seeded.id, REMINDER)
        assert (after_stop.state, after_stop.claimed_by) == ("claimed", row.claimed_by), "an in-flight claim was released"
        held.release()

        sent = wait_sent(database, seeded.id, REMINDER, timeout=LEASE_SECONDS + 15, what="the notice taken over after the lease and recorded as sent")
        time.sleep(1.5)
        assert len(notice_posts(slack)[(seeded.id, REMINDER)]) == 1
        assert sent.posted_ts == posted.response["ts"]


@postgresql
def test_a_post_whose_answer_was_lost_is_found_by_its_tag_and_not_posted_again(database_url, migrate, slack, replicas):
    """Slack took the post but the connection dropped before its answer: the bot cannot know it was posted, gives
    the notice back, and the next attempt finds the post by its tag instead of posting again."""
    database = migrate(database_url)
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE=LEASE)
    (seeded,) = awaiting_approval(database, slack)
    lost = slack.drop("chat.postMessage", when=tagged(seeded.id, REMINDER))
    schedule(database, [seeded], REMINDER, now())

    with replicas.explained():
        posted = lost.wait_arrived(timeout=15)
        sent = wait_sent(database, seeded.id, REMINDER, timeout=20, what="the notice recorded as sent after its answer was lost")
        time.sleep(1.5)

        posts = notice_posts(slack)[(seeded.id, REMINDER)]
        assert len(posts) == 1, f"{len(posts)} posts of the notice"
        assert sent.posted_ts == posted.response["ts"], "the recorded ts is not the one of the post Slack has"
        lookups = [c for c in slack.calls("conversations.replies") if c.params.get("ts") == seeded.thread_ts and c.at > posted.at]
        assert lookups, "the next attempt did not look for the post in the thread"
        assert sent.attempts >= 2, "the notice was not claimed again after the lost answer"
        replicas.assert_no_tracebacks()


@postgresql
def test_a_replica_killed_between_claim_and_post_is_taken_over_and_posts_once(
    database_url, migrate, slack, replicas, aws: AwsWorld, customer: CustomerAccount
):
    database = migrate(database_url)
    external_id = "eco-replica-test-claim-then-die-0123456789"
    role_arn = launched(customer, external_id)
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")  # data has arrived: the window ends with the account active
    seeded = seed_connection(
        database,
        slack,
        step="processing",
        version=6,
        approval_round=1,
        bucket="acme-cur",
        role_arn=role_arn,
        account_id=CUSTOMER_ACCOUNT,
        external_id=external_id,
        window_ends_at=now(),
    )
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE=LEASE)
    # The window's data check starts by assuming the customer's role: that call now takes 8 s.
    aws.clear()
    aws.delay("sts", "AssumeRole", 8.0)
    schedule(database, [seeded], WINDOW_END, now())

    with replicas.explained():
        wait_until(
            lambda: (
                notice(database, seeded.id, WINDOW_END).state == "claimed" and any(c.action == "AssumeRole" for c in aws.calls())
            ),
            timeout=15,
            what="the window notice claimed and its data check waiting on AWS",
        )
        row = notice(database, seeded.id, WINDOW_END)
        assert row.attempted_at is None, "a post was attempted before the data check answered"
        claimant = replicas.claimant(row.claimed_by)
        assert claimant is not None, f"no replica's process id in claimed_by {row.claimed_by!r}"
        claimant.kill()  # in the middle of the check, before anything was posted
        aws.gateway.reset()  # AWS answers promptly again (for the taker)
        (survivor,) = [r for r in replicas.started if r is not claimant]
        assert notice_posts(slack).get((seeded.id, WINDOW_END)) is None

        sent = wait_sent(database, seeded.id, WINDOW_END, timeout=LEASE_SECONDS + 20, what="the window notice taken over and recorded as sent by the other replica")
        time.sleep(1.5)

        posts = notice_posts(slack)[(seeded.id, WINDOW_END)]
        assert len(posts) == 1, f"{len(posts)} posts of the window notice"
        assert posts[0].params.get("thread_ts") == seeded.thread_ts
        assert posts[0].at >= row.lease_until.timestamp(), "taken over before the dead replica's lease ran out"
        assert sent.posted_ts == posts[0].response["ts"]
        assert replicas.claimant(sent.claimed_by) is survivor
        assert connection(database, seeded.id).step == "active"
        replicas.assert_no_tracebacks()


@postgresql
def test_a_replica_stopped_with_sigterm_mid_notice_gives_it_back_at_once(
    database_url, migrate, slack, replicas, aws: AwsWorld, customer: CustomerAccount
):
    """SIGTERM (a deploy): the replica stops taking work, releases the claim it has not attempted yet and exits 0
    within ECO_SHUTDOWN_TIMEOUT; the other replica posts the notice at once, not after the lease (a minute)."""
    database = migrate(database_url)
    external_id = "eco-replica-test-sigterm-mid-notice-0123456"
    role_arn = launched(customer, external_id)
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")
    seeded = seed_connection(
        database,
        slack,
        step="processing",
        version=6,
        approval_round=1,
        bucket="acme-cur",
        role_arn=role_arn,
        account_id=CUSTOMER_ACCOUNT,
        external_id=external_id,
        window_ends_at=now(),
    )
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE="60s", ECO_SHUTDOWN_TIMEOUT="2s")
    aws.clear()
    aws.delay("sts", "AssumeRole", 12.0)  # the claimant waits in the window's data check
    schedule(database, [seeded], WINDOW_END, now())

    with replicas.explained():
        wait_until(
            lambda: (
                notice(database, seeded.id, WINDOW_END).state == "claimed" and any(c.action == "AssumeRole" for c in aws.calls())
            ),
            timeout=15,
            what="the window notice claimed and its data check waiting on AWS",
        )
        claimant = replicas.claimant(notice(database, seeded.id, WINDOW_END).claimed_by)
        assert claimant is not None
        (survivor,) = [r for r in replicas.started if r is not claimant]
        aws.gateway.reset()  # the survivor's check is answered promptly
        stopped_at = time.time()
        code = claimant.terminate(timeout=2.0 + 3.0)  # ECO_SHUTDOWN_TIMEOUT, and some slack
        assert code == 0
        assert "Traceback" not in claimant.stderr()

        sent = wait_sent(database, seeded.id, WINDOW_END, timeout=15, what="the released notice posted by the other replica")
        time.sleep(1.0)
        posts = notice_posts(slack)[(seeded.id, WINDOW_END)]
        assert len(posts) == 1, f"{len(posts)} posts of the window notice"
        assert posts[0].at - stopped_at < 10, "the notice waited for the lease instead of being released"
        assert replicas.claimant(sent.claimed_by) is survivor
        assert connection(database, seeded.id).step == "active"
        replicas.assert_no_tracebacks()


# --- 3. SQLite, one process, killed and restarted ----------------------------------------------------


def test_on_sqlite_a_process_killed_before_the_window_ends_still_sends_the_window_notice_once(
    sqlite_url, migrate, slack, replicas, aws: AwsWorld, customer: CustomerAccount
):
    database = migrate(sqlite_url)
    external_id = "eco-replica-test-sqlite-restart-0123456789"
    role_arn = launched(customer, external_id)
    approval_ts = "1600000001.000001"
    (seeded,) = awaiting_approval(database, slack, role_arn=role_arn, external_id=external_id, approval_message_ts=approval_ts)
    settings = {"ECO_PROCESSING_WINDOW": "4s", "ECO_NOTICE_LEASE": LEASE}
    first = replicas.start(sqlite_url, **settings)

    with replicas.explained():
        # An approver approves: processing starts, and the engine schedules the window's notices itself.
        body, headers = SlackSigner(SIGNING_SECRET).block_action(
            "eco_approve",
            f"{seeded.id}:1",
            user_id=APPROVER,
            channel_id=CHANNEL,
            message_ts=approval_ts,
            team_id=TEAM,
            response_url=slack.response_url("approve"),
        )
        status, _ = post(first.events_url, body, headers)
        assert status == 200
        slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == seeded.thread_ts and "processing" in message_text(p))
        processing = connection(database, seeded.id)
        assert processing.step == "processing" and processing.window_ends_at is not None
        scheduled = {n.kind: n for n in notices(database) if n.connection_id == seeded.id}
        assert WINDOW_END in scheduled and scheduled[WINDOW_END].state == "pending", scheduled
        aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")

        first.kill()  # before the window ends
        assert now() < processing.window_ends_at, "the window ended before the process could be killed"
        assert notice_posts(slack).get((seeded.id, WINDOW_END)) is None

        replicas.start(sqlite_url, **settings)
        sent = wait_sent(database, seeded.id, WINDOW_END, timeout=25, what="the window notice sent by the restarted process")
        wait_sent(database, seeded.id, WINDOW_DM, timeout=10, what="the direct message to the requester sent")
        time.sleep(1.5)

        posts = notice_posts(slack)
        window = posts[(seeded.id, WINDOW_END)]
        assert len(window) == 1, f"{len(window)} window notices"
        assert window[0].params.get("thread_ts") == seeded.thread_ts
        assert window[0].at >= processing.window_ends_at.timestamp()
        assert sent.posted_ts == window[0].response["ts"]
        direct = posts[(seeded.id, WINDOW_DM)]
        assert len(direct) == 1 and direct[0].params["channel"] == f"D{REQUESTER}", direct
        assert connection(database, seeded.id).step == "active"
        replicas.assert_no_tracebacks()


# --- 4. Slack's rate limit ------------------------------------------------------------------------


@postgresql
def test_a_notice_rate_limited_by_slack_comes_after_retry_after_once(database_url, migrate, slack, replicas):
    database = migrate(database_url)
    replicas.start_many(2, database_url, ECO_NOTICE_LEASE=LEASE)
    (seeded,) = awaiting_approval(database, slack)
    slack.rate_limit("chat.postMessage", retry_after=2, times=1, when=tagged(seeded.id, REMINDER))
    schedule(database, [seeded], REMINDER, now())

    with replicas.explained():
        sent = wait_sent(database, seeded.id, REMINDER, timeout=20, what="the rate-limited notice sent")
        time.sleep(1.5)

        attempts = [c for c in slack.calls("chat.postMessage") if tagged(seeded.id, REMINDER)(c.params)]
        limited = [c for c in attempts if c.status == 429]
        accepted = [c for c in attempts if c.ok]
        assert len(limited) == 1 and len(accepted) == 1, f"{len(limited)} answered 429, {len(accepted)} accepted"
        waited = accepted[0].at - limited[0].at
        assert waited >= 2.0, f"posted again {waited:.2f}s after a 429 asking for 2 s"
        assert sent.posted_ts == accepted[0].response["ts"]
        replicas.assert_no_tracebacks()


# --- 5. one event, delivered to two replicas --------------------------------------------------------


@postgresql
def test_the_same_event_delivered_to_two_replicas_is_answered_once(database_url, migrate, slack, replicas, customer):
    database = migrate(database_url)
    first, second = replicas.start_many(2, database_url)
    seeded = seed_connection(database, slack, step="awaiting_bucket")
    body, headers = SlackSigner(SIGNING_SECRET).message_event(
        "acme-cur",
        user_id=REQUESTER,
        channel_id=CHANNEL,
        ts=new_thread_ts(),
        thread_ts=seeded.thread_ts,
        team_id=TEAM,
        event_id="Ev0SAMEEVENT1",
    )
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def deliver(replica) -> None:
        barrier.wait()
        statuses[replica.name] = post(replica.events_url, body, headers)[0]

    senders = [threading.Thread(target=deliver, args=(replica,)) for replica in (first, second)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(15)

    with replicas.explained():
        assert statuses == {first.name: 200, second.name: 200}
        wait_until(
            lambda: connection(database, seeded.id).step == "awaiting_role",
            timeout=20,
            what="the bucket checked and the role asked for",
        )
        slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == seeded.thread_ts and "RoleArn" in message_text(p))
        time.sleep(1.0)

        thread = [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts") == seeded.thread_ts and c.ok]
        checking = [c for c in thread if "Checking bucket" in message_text(c.params)]
        asked = [c for c in thread if "RoleArn" in message_text(c.params)]
        assert len(checking) == 1 and len(asked) == 1, [message_text(c.params)[:60] for c in thread]
        assert slack.calls("chat.postEphemeral") == [], "the second delivery was answered too"
        with session_factory(database)() as session:
            assert session.scalar(select(func.count()).select_from(SlackEvent).where(SlackEvent.event_id == "Ev0SAMEEVENT1")) == 1
        replicas.assert_no_tracebacks()


# --- 6. worker processes ----------------------------------------------------------------------------------


def _worker_processes(pid: int) -> list[int]:
    """The worker processes under `pid` (not multiprocessing's resource tracker, which ends on its own)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending += [int(child) for child in (task / "children").read_text().split()]
        with contextlib.suppress(OSError):
            if "spawn_main" in Path(f"/proc/{current}/cmdline").read_text():
                found.append(current)
    return found


@postgresql
def test_with_worker_processes_the_work_and_the_notices_run_in_the_workers_and_sigterm_ends_them_all(
    database_url, migrate, slack, replicas, aws: AwsWorld, customer: CustomerAccount
):
    """ECO_WORKER_PROCESSES=2: the serving process acknowledges; the workers answer the command, take the decision,
    run the scheduler (the window's notice comes once) and end with the serving process on SIGTERM."""
    database = migrate(database_url)
    external_id = "eco-replica-test-worker-processes-0123456"
    role_arn = launched(customer, external_id)
    approval_ts = "1600000002.000001"
    (seeded,) = awaiting_approval(database, slack, role_arn=role_arn, external_id=external_id, approval_message_ts=approval_ts)
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")
    replica = replicas.start(database_url, ECO_WORKER_PROCESSES="2", ECO_PROCESSING_WINDOW="2s", ECO_SHUTDOWN_TIMEOUT="5s")
    workers = _worker_processes(replica.pid)
    signer = SlackSigner(SIGNING_SECRET)

    with replicas.explained():
        assert len(workers) >= 2, f"worker processes: {workers}"
        body, headers = signer.slash_command("help", user_id=REQUESTER, channel_id=CHANNEL, response_url=slack.response_url("help"))
        assert post(replica.events_url, body, headers)[0] == 200
        assert "/eco connect" in str(slack.wait_for_response("help")[0].body)  # computed in a worker, answered here

        body, headers = signer.block_action(
            "eco_approve", f"{seeded.id}:1", user_id=APPROVER, channel_id=CHANNEL, message_ts=approval_ts, team_id=TEAM,
            response_url=slack.response_url("approve"),
        )  # fmt: skip
        assert post(replica.events_url, body, headers)[0] == 200
        sent = wait_sent(database, seeded.id, WINDOW_END, timeout=30, what="the window notice")
        assert connection(database, seeded.id).step == "active"
        claimant = int(sent.claimed_by.split(":")[1])  # host:pid:random
        assert claimant in workers, f"claimed by {sent.claimed_by}, workers {workers}"
        time.sleep(1.5)
        assert len(notice_posts(slack)[(seeded.id, WINDOW_END)]) == 1

        assert replica.terminate(timeout=5.0 + 5.0) == 0
        time.sleep(0.5)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the serving process"
        replicas.assert_no_tracebacks()
