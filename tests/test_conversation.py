"""The whole conversation, end to end, through signed Slack requests, moto and a real database."""

from __future__ import annotations

import threading
import time
import urllib.parse

from sqlalchemy import select

from bot.sandbox.world import BOT_PRINCIPAL, CUSTOMER_ACCOUNT, CustomerAccount
from bot.store.db import session_factory
from bot.store.models import Decision, Notice
from tests.harness import APPROVER, CHANNEL, REQUESTER, TEMPLATE_URL, RunningBot, message_text, start_connection


def test_from_connect_to_the_window_notice(database_url: str, make_bot, aws, customer: CustomerAccount):
    bot: RunningBot = make_bot(database_url)
    fake = bot.fake

    # 1. /eco connect: the root checklist in the channel, the CUR instructions in its thread.
    thread = start_connection(bot, "Acme prod")
    root = fake.calls("chat.postMessage")[0]
    assert root.params["channel"] == CHANNEL and "thread_ts" not in root.params
    root_text = message_text(root.params)
    assert "Acme prod" in root_text and "Cost and Usage Report bucket" in root_text
    intro = message_text(thread.posts()[0].params)
    for required in ("us-east-1", "Hourly", "resource IDs", "Refresh automatically", "Athena", "new bucket"):
        assert required in intro
    assert bot.connection().step == "awaiting_bucket"

    # 2. The bucket, verified with the bot's own identity.
    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")
    results = fake.wait_for("chat.update", lambda params: "passed every check" in message_text(params))[0]
    assert "Bucket is in us-east-1" in message_text(results.params)

    # 3. The quick-create link carries the stack name, the bucket, the external ID and the principal.
    question = thread.wait_for_post("reply here with the RoleArn")[0]
    connection = bot.connection()
    link = _quick_create_link(question.params)
    query = urllib.parse.parse_qs(link.split("#/stacks/quickcreate?", 1)[1])
    assert link.startswith("https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1")
    assert query["templateURL"] == [TEMPLATE_URL]
    assert query["param_CurBucketName"] == ["acme-cur"]
    assert query["param_ExternalId"] == [connection.external_id]
    assert query["param_TrustedPrincipalArn"] == [BOT_PRINCIPAL]
    assert query["stackName"][0].startswith("eco-connect-acme-prod")
    assert len(connection.external_id) >= 32

    # 4. The customer launches the stack from our template; the bot assumes the role it made.
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    bot.reply(f"`{role_arn}`\n", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_approval")
    assert connection.role_arn == role_arn and connection.account_id == CUSTOMER_ACCOUNT
    approval = thread.wait_for_post("waiting for approval")[0]
    buttons = [b for b in approval.params["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("eco_approve", f"{connection.id}:1"), ("eco_reject", f"{connection.id}:1")]

    # 5. An approver approves: the buttons are replaced by who decided, and processing starts.
    status, _ = bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])
    assert status == 200
    decided = fake.wait_for("chat.update", lambda params: params.get("ts") == approval.response["ts"])[0]
    assert not [b for b in decided.params["blocks"] if b["type"] == "actions"]
    assert f"<@{APPROVER}>" in message_text(decided.params)
    thread.wait_for_post("Eco is now processing")
    assert bot.connection().step == "processing"
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")  # AWS delivers the first report files during the window

    # 6-7. The window ends: the data-arrival check passes; a tagged notice in the thread and a direct message to
    # the requester, once each.
    notice = thread.wait_for_post("report data is arriving", timeout=20)[0]
    assert notice.params["metadata"] == {"event_type": "eco_notice", "event_payload": {"connection_id": connection.id, "notice": "window_end"}}
    direct = fake.wait_for("chat.postMessage", lambda params: params.get("channel") == f"D{REQUESTER}")[0]
    assert "report data is arriving" in message_text(direct.params)
    assert fake.wait_for("conversations.open")[0].params["users"] == REQUESTER
    connection = bot.wait_for_step("active")
    time.sleep(0.6)  # a few more scheduler passes: nothing is posted twice
    assert len([c for c in thread.posts() if (c.params.get("metadata") or {}).get("event_payload", {}).get("notice") == "window_end"]) == 1
    assert len([c for c in fake.calls("chat.postMessage") if c.params.get("channel") == f"D{REQUESTER}"]) == 1

    # The root checklist was kept current at every step and ends "active".
    root_updates = thread.root_updates()
    assert len(root_updates) >= 4
    assert "active: report data is arriving" in message_text(root_updates[-1].params)

    with session_factory(bot.database)() as session:
        assert [(d.user_id, d.decision) for d in session.scalars(select(Decision))] == [(APPROVER, "approve")]
        notices = list(session.scalars(select(Notice)))
        # The window notice and the DM were sent once each; the approval reminder and the questions' reminders
        # and expiries were dropped when the answers came in time.
        sent = sorted((n.kind, n.posted_ts) for n in notices if n.state == "sent")
        assert sent == [("window_end", notice.response["ts"]), ("window_end_dm", direct.response["ts"])]
        assert {n.state for n in notices if n.state != "sent"} <= {"dropped", "pending"}
        assert {n.kind.split(":")[0] for n in notices if n.state != "sent"} == {"approval_reminder", "answer_reminder", "expire"}
        assert connection.window_ends_at is not None and connection.window_ends_at.tzinfo is not None


def _quick_create_link(params: dict) -> str:
    text = message_text(params)
    start = text.index("<https://us-east-1.console.aws.amazon.com/") + 1
    return text[start : text.index("|", start)].replace("&amp;", "&")


def test_a_restart_before_the_window_ends_still_sends_the_notice_once(make_bot, sqlite_url, customer):
    first = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="3s")
    thread = start_connection(first)
    first.reply("acme-cur", thread=thread.ts)
    connection = first.wait_for_step("awaiting_role")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    first.reply(role_arn, thread=thread.ts)
    approval = thread.wait_for_post("waiting for approval")[0]
    first.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])
    first.wait_for_step("processing")
    first.stop()  # the process goes away with the notice still due

    second = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="3s")
    second.wait_for_step("needs_attention", timeout=20)  # no report data was delivered
    time.sleep(0.6)
    assert len(thread.wait_for_post("processing window for account")) == 1


def test_two_replies_racing_check_the_bucket_once(database_url, make_bot, customer):
    bot = make_bot(database_url)
    thread = start_connection(bot)
    barrier = threading.Barrier(2)

    def answer(event_id: str) -> None:
        barrier.wait()
        bot.reply("acme-cur", thread=thread.ts, event_id=event_id)

    racers = [threading.Thread(target=answer, args=(f"Ev0RACE{n}",)) for n in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    bot.wait_for_step("awaiting_role")
    thread.wait_for_post("reply here with the RoleArn")
    time.sleep(0.5)
    assert len([c for c in thread.posts() if "Checking bucket" in message_text(c.params)]) == 1
    assert len([c for c in thread.posts() if "reply here with the RoleArn" in message_text(c.params)]) == 1
    assert len(bot.snapshot()["check_results"]) == 3


def test_without_a_template_url_the_parameters_are_listed(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_TEMPLATE_URL="")
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    question = message_text(thread.wait_for_post("reply here with the RoleArn")[0].params)
    connection = bot.connection()
    assert "not configured" in question and "ECO_TEMPLATE_URL" in question
    assert connection.external_id in question and BOT_PRINCIPAL in question and "console.aws.amazon.com" not in question
