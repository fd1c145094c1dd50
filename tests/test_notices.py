"""Notices in one process: reminders and expiry of an unanswered question, the window's outcome in the thread,
to the requester and to ECO_NOTIFY_CHANNEL, a post found by its tag instead of posted twice, claims that two
claimants never share, and the claims a stopping process gives back. (Several real processes: test_replicas.)
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from bot.sandbox.world import CUSTOMER_ACCOUNT, AwsWorld, CustomerAccount
from bot.store import repository as repo
from bot.store.db import open_database, session_factory, upgrade
from bot.store.models import Connection, Notice
from tests.harness import APPROVER, REQUESTER, RunningBot, Thread, message_text, start_connection


def _notices(bot: RunningBot) -> dict[str, tuple]:
    with bot.database.connect() as connection:
        rows = connection.execute(select(Notice.kind, Notice.state, Notice.posted_ts)).all()
    return {kind: (state, ts) for kind, state, ts in rows}


def _tagged(bot: RunningBot, kind: str) -> list:
    """The posts the fake Slack took for notices of `kind` (`answer_reminder` covers `answer_reminder:<n>`)."""

    def notice(params: dict) -> str:
        return ((params.get("metadata") or {}).get("event_payload") or {}).get("notice") or ""

    return [
        c for c in bot.fake.calls("chat.postMessage")
        if c.status == 200 and (notice(c.params) == kind or notice(c.params).startswith(f"{kind}:"))
    ]  # fmt: skip


# --- an unanswered question ------------------------------------------------------------------------------


def test_an_unanswered_question_is_reminded_once_then_expires(make_bot, sqlite_url):
    bot = make_bot(sqlite_url, ECO_REMINDER_AFTER="1s", ECO_EXPIRE_AFTER="3s")
    thread = start_connection(bot)

    reminder = thread.wait_for_post("waiting for the bucket name", timeout=10)[0]
    assert f"<@{REQUESTER}>" in message_text(reminder.params)  # it mentions the requester
    assert "expires at" in message_text(reminder.params)
    expired = thread.wait_for_post("This connection expired", timeout=10)[0]
    assert "bucket name was not given within 3s" in message_text(expired.params)
    assert "/eco connect" in message_text(expired.params)
    assert bot.wait_for_step("expired").step == "expired"
    time.sleep(0.6)
    assert len(_tagged(bot, "answer_reminder")) == 1 and len(_tagged(bot, "expire")) == 1
    assert "expired" in message_text(thread.root_updates()[-1].params)

    # A late answer changes nothing; /eco connect starts afresh.
    bot.reply("acme-cur", thread=thread.ts)
    time.sleep(0.3)
    assert bot.connection(1).step == "expired"
    assert "Started connection #2" in bot.answer("connect")
    assert bot.connection(2).step == "awaiting_bucket"


def test_an_answered_question_is_not_reminded(make_bot, sqlite_url, customer: CustomerAccount):
    bot = make_bot(sqlite_url, ECO_REMINDER_AFTER="2s", ECO_EXPIRE_AFTER="4s")
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")  # a new question: its own reminder, 2s from now

    reminder = thread.wait_for_post("waiting for the role ARN", timeout=10)[0]

    assert not _tagged(bot, "answer_reminder:1")  # the bucket question's reminder was dropped, not posted
    assert _notices(bot)["answer_reminder:1"] == ("dropped", None)
    assert _notices(bot)[reminder.params["metadata"]["event_payload"]["notice"]] == ("sent", reminder.response["ts"])


# --- the end of the window -------------------------------------------------------------------------------


def _to_processing(bot: RunningBot, customer: CustomerAccount) -> tuple[Thread, Connection]:
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    bot.reply(customer.launch_stack(external_id=connection.external_id, bucket="acme-cur"), thread=thread.ts)
    approval = thread.wait_for_post("waiting for approval")[0]
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])
    return thread, bot.wait_for_step("processing")


def test_data_arriving_makes_the_connection_active_and_is_summed_up_in_the_notify_channel(
    make_bot, sqlite_url, aws: AwsWorld, customer: CustomerAccount
):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="3s", ECO_NOTIFY_CHANNEL="CNOTIFY1")
    thread, connection = _to_processing(bot, customer)
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")

    notice = thread.wait_for_post("report data is arriving", timeout=20)[0]
    summary = bot.fake.wait_for("chat.postMessage", lambda p: p.get("channel") == "CNOTIFY1", timeout=10)[0]
    bot.fake.wait_for("chat.postMessage", lambda p: p.get("channel") == f"D{REQUESTER}", timeout=10)

    assert bot.wait_for_step("active").step == "active"
    assert "Checklist" not in message_text(notice.params) and "Report data has arrived" not in message_text(notice.params)
    line = summary.params["text"]
    assert "active, report data is arriving" in line and CUSTOMER_ACCOUNT in line and "\n" not in line
    assert f"archives/C1/p{thread.ts.replace('.', '')}" in message_text(summary.params)  # a permalink to the thread
    assert "thread_ts" not in summary.params  # one line in the channel, not a thread
    time.sleep(0.6)
    assert [len(_tagged(bot, kind)) for kind in ("window_end", "window_end_dm", "window_end_summary")] == [1, 1, 1]


def test_no_data_needs_attention_with_what_to_fix(make_bot, sqlite_url, customer: CustomerAccount):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="2s")
    thread, connection = _to_processing(bot, customer)

    notice = thread.wait_for_post("cannot read report data yet", timeout=20)[0]

    text = message_text(notice.params)
    assert f"/eco verify {connection.id}" in text and "Report data has arrived" in text
    assert bot.wait_for_step("needs_attention").step == "needs_attention"
    direct = bot.fake.wait_for("chat.postMessage", lambda p: p.get("channel") == f"D{REQUESTER}", timeout=10)[0]
    assert "no readable report data" in message_text(direct.params)
    assert not [c for c in bot.fake.calls("chat.postMessage") if c.params.get("channel", "").startswith("CNOTIFY")]
    # The outcome is stored with the connection: /eco status shows it.
    assert "needs attention" in bot.answer(f"status {connection.id}")


def test_a_connection_that_needs_attention_becomes_active_when_verify_finds_data(
    make_bot, sqlite_url, aws: AwsWorld, customer: CustomerAccount
):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="2s")
    thread, connection = _to_processing(bot, customer)
    bot.wait_for_step("needs_attention", timeout=20)
    bot.answer(f"verify {connection.id}")  # the setup passes, but no data yet: it stays as it is
    bot.fake.wait_for("chat.update", lambda p: "passes every check again" in message_text(p))  # its progress message
    assert bot.connection().step == "needs_attention"
    assert not [c for c in thread.posts() if "is active now" in message_text(c.params)]

    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")  # the customer's fix: data arrives
    bot.answer(f"verify {connection.id}")

    assert bot.wait_for_step("active").step == "active"
    thread.wait_for_post(f"connection #{connection.id} Acme prod is active now")
    assert bot.audit_trail(connection.id)[-1][1:6] == (
        "needs_attention", "eco-bot", "window_check", "done", "report data is arriving (checked again by /eco verify)"
    )


# --- posted once, whatever happened before ----------------------------------------------------------------


def test_a_notice_claimed_again_after_its_post_went_through_is_not_posted_twice(make_bot, sqlite_url):
    bot = make_bot(sqlite_url, ECO_REMINDER_AFTER="1h")
    thread = start_connection(bot)
    kind = "answer_reminder:1"
    # A replica posted the reminder, tagged, and died before recording it: the row is claimed, its lease over.
    earlier = bot.fake.add_message(
        "C1", "1800000000.000100", thread_ts=thread.ts, text="reminder",
        metadata={"event_type": "eco_notice", "event_payload": {"connection_id": 1, "notice": kind}},
    )  # fmt: skip
    past = datetime.now(UTC) - timedelta(minutes=5)
    with bot.database.begin() as connection:
        connection.execute(
            update(Notice)
            .where(Notice.kind == kind)
            .values(state="claimed", claimed_by="dead-replica", lease_until=past, attempted_at=past, due_at=past)
        )

    deadline = time.monotonic() + 10
    while _notices(bot)[kind][0] != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)

    assert _notices(bot)[kind] == ("sent", earlier["ts"])
    assert not _tagged(bot, kind)  # found by its tag in the thread, not posted again
    lookups = bot.fake.calls("conversations.replies")
    assert lookups and lookups[0].params["ts"] == thread.ts and lookups[0].params["include_all_metadata"] in (True, "true", "1", 1)


def test_a_notice_whose_post_was_lost_is_posted_once_after_looking(make_bot, sqlite_url):
    bot = make_bot(sqlite_url, ECO_REMINDER_AFTER="1h")
    thread = start_connection(bot)
    kind = "answer_reminder:1"
    past = datetime.now(UTC) - timedelta(minutes=5)
    with bot.database.begin() as connection:  # attempted, but the post never reached Slack
        connection.execute(
            update(Notice)
            .where(Notice.kind == kind)
            .values(state="claimed", claimed_by="dead-replica", lease_until=past, attempted_at=past, due_at=past)
        )

    posted = thread.wait_for_post("waiting for the bucket name", timeout=10)[0]

    assert bot.fake.calls("conversations.replies")[0].at <= posted.at  # looked before posting
    time.sleep(0.6)
    assert len(_tagged(bot, kind)) == 1 and _notices(bot)[kind] == ("sent", posted.response["ts"])


# --- claims ------------------------------------------------------------------------------------------------


@pytest.fixture
def notice_database(database_url: str):
    database = open_database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def _seed_due(database, count: int) -> datetime:
    now = datetime.now(UTC)
    with session_factory(database).begin() as session:
        for number in range(count):
            connection = Connection(
                team_id="T1", channel_id="C1", thread_ts=f"1600000000.{number:06d}", requester_id=REQUESTER, step="awaiting_bucket",
                version=1, external_id=f"eco-{number}", created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(connection)
            session.flush()
            repo.schedule_notice(session, connection, kind="answer_reminder:1", due_at=now - timedelta(seconds=number % 7))
    return now


def test_concurrent_claimants_never_share_a_notice(notice_database):
    now = _seed_due(notice_database, 200)
    sessions = session_factory(notice_database)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claimant(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while True:
            with sessions.begin() as session:
                batch = repo.claim_due_notices(session, now=now, owner=name, lease=timedelta(minutes=2), limit=7)
            if not batch:
                break
            assert len(batch) <= 7  # the limit bounds each claim (PostgreSQL could re-run an IN subquery per row)
            mine += [notice.id for notice in batch]
        claimed[name] = mine

    threads = [threading.Thread(target=claimant, args=(f"replica-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    every = [notice_id for ids in claimed.values() for notice_id in ids]
    assert len(every) == 200 and len(set(every)) == 200
    with sessions() as session:
        owners = dict(session.execute(select(Notice.id, Notice.claimed_by)).all())
    assert all(owners[notice_id] == name for name, ids in claimed.items() for notice_id in ids)


def test_a_claim_is_taken_over_only_after_its_lease_and_a_lapsed_claimant_writes_nothing(notice_database):
    now = _seed_due(notice_database, 1)
    sessions = session_factory(notice_database)
    with sessions.begin() as session:
        [first] = repo.claim_due_notices(session, now=now, owner="a", lease=timedelta(seconds=30))
    with sessions.begin() as session:
        assert repo.claim_due_notices(session, now=now + timedelta(seconds=29), owner="b", lease=timedelta(seconds=30)) == []
    with sessions.begin() as session:
        [taken] = repo.claim_due_notices(session, now=now + timedelta(seconds=31), owner="b", lease=timedelta(seconds=30))
    with sessions.begin() as session:
        assert not repo.mark_attempt(session, first, owner="a", now=now)
        assert not repo.finish_notice(session, first, owner="a", state="sent", now=now, posted_ts="1.1")
    with sessions.begin() as session:
        assert repo.finish_notice(session, taken, owner="b", state="sent", now=now, posted_ts="2.2")
    with sessions() as session:
        assert session.execute(select(Notice.state, Notice.posted_ts, Notice.attempts)).one() == ("sent", "2.2", 2)


def test_one_claim_takes_at_most_its_limit_on_a_table_without_statistics(notice_database):
    now = _seed_due(notice_database, 120)  # freshly filled: no ANALYZE yet, the plan the bench caught

    with session_factory(notice_database).begin() as session:
        claimed = repo.claim_due_notices(session, now=now, owner="one", lease=timedelta(minutes=2), limit=50)

    assert len(claimed) == 50
    assert [n.due_at for n in claimed] == sorted(n.due_at for n in claimed)  # the earliest due first


def test_the_due_notice_query_reads_the_open_notices_index(notice_database):
    """The plan of the very statement `claim_due_notices` sends (captured, then EXPLAINed with its parameters)."""
    now = _seed_due(notice_database, 5)
    sent: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "WITH")):
            sent.append((statement, parameters))

    event.listen(notice_database, "before_cursor_execute", capture)
    try:
        with session_factory(notice_database)() as session:
            repo.claim_due_notices(session, now=now, owner="planner", lease=timedelta(minutes=2))
            session.rollback()
    finally:
        event.remove(notice_database, "before_cursor_execute", capture)
    [(statement, parameters)] = sent

    with notice_database.begin() as connection:
        if notice_database.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show its choice
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
        else:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    assert "ix_notices_open_due" in str(plan), plan


def test_a_stopping_process_gives_back_its_claims(notice_database):
    now = _seed_due(notice_database, 3)
    sessions = session_factory(notice_database)
    with sessions.begin() as session:
        claimed = repo.claim_due_notices(session, now=now, owner="stopping", lease=timedelta(minutes=2))
        repo.mark_attempt(session, claimed[0], owner="stopping", now=now)
    with sessions.begin() as session:
        assert repo.release_claims(session, owner="stopping") == 3
    with sessions() as session:
        rows = session.execute(select(Notice.id, Notice.state, Notice.claimed_by, Notice.attempted_at)).all()
    assert [(state, owner) for _, state, owner, _ in rows] == [("pending", None)] * 3
    # The attempted one keeps its mark: its taker looks for the post first.
    assert [notice_id for notice_id, *_, attempted in rows if attempted is not None] == [claimed[0].id]
    with sessions.begin() as session:  # and another replica takes them at once, lease or not
        assert len(repo.claim_due_notices(session, now=now, owner="other", lease=timedelta(minutes=2))) == 3


def test_a_stopping_process_keeps_the_claim_of_a_post_still_in_flight(notice_database):
    """A post sent to Slack and not answered yet keeps its claim until the lease runs out: a taker must look for it
    only once Slack has had time to take it."""
    now = _seed_due(notice_database, 2)
    sessions = session_factory(notice_database)
    with sessions.begin() as session:
        in_flight, idle = repo.claim_due_notices(session, now=now, owner="stopping", lease=timedelta(minutes=2))

    with sessions.begin() as session:
        assert repo.release_claims(session, owner="stopping", keep=frozenset({in_flight.id})) == 1

    with sessions() as session:
        states = dict(session.execute(select(Notice.id, Notice.state)).all())
    assert states == {in_flight.id: "claimed", idle.id: "pending"}
