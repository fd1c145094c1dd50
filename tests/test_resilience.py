"""What must survive: a check interrupted by a dead process, Slack answering 429, and secrets kept out of logs."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from bot.sandbox.world import CustomerAccount
from bot.store.models import Connection, Notice, SlackEvent
from tests.harness import APPROVER, BOT_TOKEN, SIGNING_SECRET, RunningBot, message_text, start_connection


def test_a_check_interrupted_by_a_restart_is_resumed(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    # A process claimed the answer, then died before it could record the result.
    with bot.database.begin() as connection:
        connection.execute(
            update(Connection).values(
                step="checking_bucket",
                pending_answer="acme-cur",
                version=Connection.version + 1,
                updated_at=datetime.now(UTC) - timedelta(minutes=10),
            )
        )

    thread.wait_for_post("I was restarted while checking")
    resumed = bot.wait_for_step("awaiting_role")
    assert resumed.bucket == "acme-cur" and resumed.pending_answer is None
    time.sleep(0.5)  # later scheduler passes find nothing more to resume
    assert len([c for c in thread.posts() if "Checking bucket" in message_text(c.params)]) == 1


def test_a_check_still_within_its_time_is_left_alone(bot: RunningBot):
    thread = start_connection(bot)
    with bot.database.begin() as connection:
        connection.execute(update(Connection).values(step="checking_bucket", pending_answer="acme-cur", updated_at=datetime.now(UTC)))
    time.sleep(0.6)
    assert bot.connection().step == "checking_bucket"
    assert not [c for c in thread.posts() if "I was restarted" in message_text(c.params)]


def test_a_rate_limited_window_notice_is_posted_after_retry_after_once(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="1s")
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    bot.reply(customer.launch_stack(external_id=connection.external_id, bucket="acme-cur"), thread=thread.ts)
    approval = thread.wait_for_post("waiting for approval")[0]
    bot.fake.rate_limit("chat.postMessage", retry_after=2, times=1, when=_window_notice)
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])

    bot.wait_for_step("needs_attention", timeout=20)
    bot.fake.wait_for("chat.postMessage", lambda p: _window_notice(p), count=2, timeout=20)
    time.sleep(0.6)  # more scheduler passes: nothing is posted twice
    attempts = [c for c in bot.fake.calls("chat.postMessage") if _window_notice(c.params)]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 2.0  # moved by Retry-After, not retried at the next pass
    with bot.database.connect() as connection:
        assert connection.execute(select(Notice.state, Notice.posted_ts).where(Notice.kind == "window_end")).one() == (
            "sent", attempts[1].response["ts"]
        )


def _window_notice(params: dict) -> bool:
    return ((params.get("metadata") or {}).get("event_payload") or {}).get("notice") == "window_end"


def test_secrets_never_reach_the_logs(bot: RunningBot, customer: CustomerAccount, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    thread = start_connection(bot)
    bot.reply("Not-A-Bucket", thread=thread.ts)  # a refusal is logged nowhere, but is posted
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    bot.reply(customer.launch_stack(external_id=connection.external_id, bucket="acme-cur"), thread=thread.ts)
    approval = thread.wait_for_post("waiting for approval")[0]
    _, refused = bot.click("eco_approve", str(connection.id), user="UNOTALLOWED", message_ts="1.2")  # logs the refusal
    bot.fake.wait_for_response(refused)
    bot.fake.fail("chat.update", "message_not_found", times=1)  # logs a warning on the way
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])
    thread.wait_for_post("Eco is now processing")
    assert "refused a decision" in caplog.text and "could not update message" in caplog.text

    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for secret in (BOT_TOKEN, SIGNING_SECRET, os.environ["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in logged
    for call in bot.fake.calls():
        assert SIGNING_SECRET not in str(call.params) and os.environ["AWS_SECRET_ACCESS_KEY"] not in str(call.params)


def test_processed_event_ids_are_forgotten_after_a_day(bot: RunningBot):
    now = datetime.now(UTC)
    with bot.database.begin() as connection:
        connection.execute(
            insert(SlackEvent),
            [
                {"event_id": "Ev0OLD", "team_id": "T1", "received_at": now - timedelta(days=2)},
                {"event_id": "Ev0RECENT", "team_id": "T1", "received_at": now - timedelta(hours=1)},
            ],
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with bot.database.connect() as connection:
            remaining = {row[0] for row in connection.execute(select(SlackEvent.event_id))}
        if "Ev0OLD" not in remaining:
            break
        time.sleep(0.1)
    assert remaining == {"Ev0RECENT"}
