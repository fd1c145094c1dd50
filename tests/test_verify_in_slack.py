"""The checks as people see them in Slack: the checklist filling in while checks run, a failing role step
that names what is wrong and asks again, and `/eco verify <id>` re-running a connection's checks."""

from __future__ import annotations

from bot.sandbox.world import CustomerAccount
from tests.harness import OUTSIDER, RunningBot, Thread, message_text, start_connection


def _to_role_question(bot: RunningBot, thread: Thread):
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    thread.wait_for_post("reply here with the RoleArn")
    return connection


def test_the_checklist_fills_in_while_the_checks_run(bot: RunningBot, aws, customer: CustomerAccount):
    thread = start_connection(bot)
    connection = _to_role_question(bot, thread)
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    aws.delay("ce", "GetCostAndUsage", 2)  # one slow check: the others finish and are shown before it

    bot.reply(role_arn, thread=thread.ts)

    report_done = "✅ *A legacy Cost and Usage Report delivers to the bucket*"
    explorer_running = "👉 *Cost Explorer answers through the role*: Checking…"
    progress = bot.fake.wait_for(
        "chat.update", lambda p: "checks done" in message_text(p) and report_done in message_text(p) and explorer_running in message_text(p)
    )[0]
    # The same message then becomes the result.
    final = bot.fake.wait_for("chat.update", lambda p: p.get("ts") == progress.params["ts"] and "passed every check" in message_text(p))
    assert final
    bot.wait_for_step("awaiting_approval")


def test_a_failing_role_step_names_the_fix_and_asks_again(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    connection = _to_role_question(bot, thread)
    customer.delete_report("eco-cur")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")

    bot.reply(role_arn, thread=thread.ts)

    result = message_text(bot.fake.wait_for("chat.update", lambda p: "did not pass" in message_text(p))[0].params)
    assert "❌ *A legacy Cost and Usage Report delivers to the bucket*" in result and "Create a new legacy CUR" in result
    connection = bot.wait_for_step("awaiting_role")
    assert connection.role_arn is None and connection.pending_answer is None


def test_eco_verify_reruns_the_checks_in_the_thread_and_changes_no_step(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    connection = _to_role_question(bot, thread)
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    bot.reply(role_arn, thread=thread.ts)
    connection = bot.wait_for_step("awaiting_approval")
    thread.wait_for_post("waiting for approval")
    # Later the customer's bucket policy is removed: AWS billing can no longer deliver.
    customer.session.client("s3").delete_bucket_policy(Bucket="acme-cur")
    before = bot.snapshot()

    answer = bot.answer(f"verify {connection.id}", user=OUTSIDER)

    assert "1 check(s) not passing" in answer and "in its thread" in answer
    posted = thread.wait_for_post("asked to check connection")[0]
    result = bot.fake.wait_for("chat.update", lambda p: p.get("ts") == posted.response["ts"] and "not passing" in message_text(p))[0]
    text = message_text(result.params)
    assert "❌ *The bucket policy lets AWS billing deliver the report*" in text and "billingreports.amazonaws.com" in text
    after = bot.snapshot()
    assert after["connections"] == before["connections"]  # no step, no version change
    assert bot.connection().step == "awaiting_approval"


def test_eco_verify_of_an_unknown_or_unstarted_connection_says_so(bot: RunningBot):
    assert "There is no connection `42`" in bot.answer("verify 42")
    start_connection(bot)
    assert "no bucket yet" in bot.answer(f"verify {bot.connection().id}")
    assert "such as /eco verify 12" in bot.answer("verify")


def test_slack_gets_its_acknowledgement_before_any_check_answers(bot: RunningBot, aws, customer: CustomerAccount):
    thread = start_connection(bot)
    connection = _to_role_question(bot, thread)
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    aws.delay("sts", "AssumeRole", 2)  # the first call of the role step is slow

    status = bot.reply(role_arn, thread=thread.ts)

    assert status == 200
    answered = [c for c in aws.calls() if c.action == "AssumeRole" and c.status]
    assert answered == []  # Slack had its 200 while AWS was still being asked
    bot.wait_for_step("awaiting_approval", timeout=20)
    assert sorted(c.status for c in aws.calls() if c.action == "AssumeRole") == [200, 403]  # with the ID; without it
