"""Team approvals: several approvers, approval after the bucket and/or the role, a rejection with its
reason and a resubmission, a reminder, and every racing or stale click counted once or refused. Driven
through signed Slack requests (button clicks and the rejection form) against a real database."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import update

from bot.sandbox.world import CustomerAccount
from bot.store.models import Connection
from tests.harness import APPROVER, OUTSIDER, REQUESTER, RunningBot, Thread, message_text, start_connection

SECOND_APPROVER = "UAPPROVER2"


def _answer_role(bot: RunningBot, customer: CustomerAccount, thread: Thread, *, stack: str = "eco-1") -> str:
    connection = bot.wait_for_step("awaiting_role")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur", name=stack)
    bot.reply(role_arn, thread=thread.ts)
    return role_arn


def _to_role_approval(bot: RunningBot, customer: CustomerAccount, thread: Thread, count: int = 1):
    bot.reply("acme-cur", thread=thread.ts)
    _answer_role(bot, customer, thread, stack=f"eco-{count}")
    bot.wait_for_step("awaiting_approval")
    request = thread.wait_for_post("is waiting for approval", count=count)[-1]
    # The root checklist is updated last: once it shows the approval step, the bot has finished its writes.
    bot.fake.wait_for("chat.update", lambda p: p.get("ts") == thread.ts and "Waiting for: approvers" in message_text(p), count=count)
    return bot.connection(), request.response["ts"]


def _decisions_audited(bot: RunningBot) -> list[tuple[str, str, str]]:
    """(who, action, outcome) of every approve/reject the audit trail recorded, in order."""
    return [(actor, action, outcome) for _, _, actor, action, outcome, _ in bot.audit_trail() if action in ("approve", "reject")]


def _wait_audited(bot: RunningBot, count: int, timeout: float = 10.0) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + timeout
    while len(found := _decisions_audited(bot)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_two_approvals_from_different_approvers_are_needed(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVERS=f"{APPROVER},{SECOND_APPROVER}", ECO_REQUIRED_APPROVALS="2", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)
    assert "2 approvals from different approvers are needed" in message_text(thread.posts()[-1].params)

    bot.click("eco_approve", f"{connection.id}:1", user=APPROVER, message_ts=request_ts)
    bot.fake.wait_for("chat.update", lambda p: p.get("ts") == request_ts and "1 more needed" in message_text(p))
    assert bot.connection().step == "awaiting_approval"
    _, again = bot.click("eco_approve", f"{connection.id}:1", user=APPROVER, message_ts=request_ts)
    assert "already decided" in bot.fake.wait_for_response(again)[0].body["text"]

    bot.click("eco_approve", f"{connection.id}:1", user=SECOND_APPROVER, message_ts=request_ts)
    bot.wait_for_step("processing")
    assert _wait_audited(bot, 3) == [
        (APPROVER, "approve", "done"), (APPROVER, "approve", "refused"), (SECOND_APPROVER, "approve", "done"),
    ]  # fmt: skip
    decided = bot.fake.wait_for("chat.update", lambda p: p.get("ts") == request_ts and "Approved by" in message_text(p))[0]
    assert f"<@{APPROVER}>" in message_text(decided.params) and f"<@{SECOND_APPROVER}>" in message_text(decided.params)
    assert not [b for b in decided.params["blocks"] if b["type"] == "actions"]  # the buttons are gone


def test_two_approvers_racing_each_count_once(make_bot, database_url, customer):
    bot = make_bot(database_url, ECO_APPROVERS=f"{APPROVER},{SECOND_APPROVER}", ECO_REQUIRED_APPROVALS="2", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)
    barrier = threading.Barrier(4)

    def click(user: str) -> None:
        barrier.wait()
        bot.click("eco_approve", f"{connection.id}:1", user=user, message_ts=request_ts)

    clickers = [threading.Thread(target=click, args=(user,)) for user in (APPROVER, SECOND_APPROVER, APPROVER, SECOND_APPROVER)]
    for clicker in clickers:
        clicker.start()
    for clicker in clickers:
        clicker.join()

    bot.wait_for_step("processing")
    thread.wait_for_post("Eco is now processing")
    time.sleep(0.5)
    decisions = bot.snapshot()["decisions"]
    assert sorted(d[3] for d in decisions) == [APPROVER, SECOND_APPROVER]  # each approver once, the double clicks refused
    assert len([c for c in thread.posts() if "Eco is now processing" in message_text(c.params)]) == 1
    assert [n[3] for n in bot.snapshot()["notices"]].count("window_end") == 1
    audited = _wait_audited(bot, 4)
    assert sorted(who for who, _, outcome in audited if outcome == "done") == [APPROVER, SECOND_APPROVER]
    assert len(audited) == 4  # the two extra clicks are recorded as refused (or as refused after a retry)


def test_a_rejection_asks_for_a_reason_posts_it_and_the_requester_resubmits(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)

    status, body = bot.reject(f"{connection.id}:1", user=APPROVER, message_ts=request_ts, reason="Wrong account <!channel>, use prod")
    assert status == 200 and body in ("", "null")

    rejection = message_text(thread.wait_for_post("Rejected by")[0].params)
    assert "Wrong account &lt;!channel&gt;, use prod" in rejection and f"<@{REQUESTER}>" in rejection
    connection = bot.wait_for_step("awaiting_role")
    assert connection.role_arn is None and connection.approval_round == 1
    decided = bot.fake.wait_for("chat.update", lambda p: p.get("ts") == request_ts and "Rejected by" in message_text(p))[0]
    assert "Wrong account" in message_text(decided.params)

    # The requester corrects it and replies again: a new request, in a new round.
    _answer_role(bot, customer, thread, stack="eco-again")
    bot.wait_for_step("awaiting_approval")
    new_request = thread.wait_for_post("is waiting for approval", count=2)[-1]
    assert bot.connection().approval_round == 2
    _, stale = bot.click("eco_approve", f"{connection.id}:1", user=APPROVER, message_ts=request_ts)
    assert "replaced by a newer one" in bot.fake.wait_for_response(stale)[0].body["text"]
    bot.click("eco_approve", f"{connection.id}:2", user=APPROVER, message_ts=new_request.response["ts"])
    bot.wait_for_step("processing")
    assert _wait_audited(bot, 3) == [(APPROVER, "reject", "done"), (APPROVER, "approve", "refused"), (APPROVER, "approve", "done")]
    assert any(detail and "Wrong account" in detail for *_, action, _, detail in bot.audit_trail() if action == "reject")


def test_a_reasonless_rejection_is_refused_in_the_form_and_changes_nothing(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)
    before = bot.snapshot()

    status, body = bot.reject(f"{connection.id}:1", user=APPROVER, message_ts=request_ts, reason="   ")

    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {"reason": "Say why, so that the requester knows what to correct."}}
    assert bot.snapshot() == before
    assert _decisions_audited(bot) == []  # the form kept it from reaching the engine: nothing was decided


def test_a_non_approver_gets_no_rejection_form(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)
    before = bot.snapshot()

    _, name = bot.click("eco_reject", f"{connection.id}:1", user=OUTSIDER, message_ts=request_ts)

    assert "Only the approvers named in ECO_APPROVERS" in bot.fake.wait_for_response(name)[0].body["text"]
    assert not bot.fake.calls("views.open") and bot.snapshot() == before
    assert _wait_audited(bot, 1) == [(OUTSIDER, "reject", "refused")]


def test_a_forged_form_submission_is_checked_like_a_click(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    connection, _ = _to_role_approval(bot, customer, thread)
    before = bot.snapshot()
    view = {"callback_id": "eco_reject_reason", "private_metadata": json.dumps({"value": f"{connection.id}:1", "channel": "C1"})}

    bot.submit_reason(view, user=OUTSIDER, reason="I do not like it")

    refusal = bot.fake.wait_for("chat.postEphemeral", lambda p: p.get("user") == OUTSIDER)[0]
    assert "Only the approvers named in ECO_APPROVERS" in message_text(refusal.params)
    assert bot.snapshot() == before
    assert _wait_audited(bot, 1) == [(OUTSIDER, "reject", "refused")]


def test_approval_after_the_bucket_and_after_the_role(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVAL_STEPS="bucket,role", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_bucket_approval")
    bucket_request = thread.wait_for_post("waiting for approval of its bucket")[0]
    assert "Approval of the bucket" in message_text(bucket_request.params)
    assert not [p for p in thread.posts() if "reply here with the RoleArn" in message_text(p.params)]

    bot.click("eco_approve", f"{connection.id}:1", user=APPROVER, message_ts=bucket_request.response["ts"])
    thread.wait_for_post("reply here with the RoleArn")
    _answer_role(bot, customer, thread)
    connection = bot.wait_for_step("awaiting_approval")
    assert connection.approval_round == 2
    role_request = thread.wait_for_post("waiting for approval of its role")[0]
    bot.click("eco_approve", f"{connection.id}:2", user=APPROVER, message_ts=role_request.response["ts"])
    bot.wait_for_step("processing")


def test_without_role_approval_a_passed_role_starts_processing(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVAL_STEPS="bucket", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_bucket_approval")
    request = thread.wait_for_post("waiting for approval of its bucket")[0]
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=request.response["ts"])
    _answer_role(bot, customer, thread)
    bot.wait_for_step("processing")
    thread.wait_for_post("Eco is now processing")
    assert [n[3] for n in bot.snapshot()["notices"] if n[5] == "pending"] == ["window_end"]


def test_approvers_are_reminded_once_when_a_request_waits(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVAL_REMINDER="1s", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    _to_role_approval(bot, customer, thread)

    reminder = thread.wait_for_post("has been waiting for approval", timeout=20)[0]
    assert f"<@{APPROVER}>" in message_text(reminder.params)
    time.sleep(2.5)  # more scheduler passes: still one reminder
    assert len([p for p in thread.posts() if "has been waiting for approval" in message_text(p.params)]) == 1


def test_no_reminder_once_decided(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVAL_REMINDER="2s", ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, request_ts = _to_role_approval(bot, customer, thread)
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=request_ts)
    bot.wait_for_step("processing")
    time.sleep(3.5)
    assert not [p for p in thread.posts() if "has been waiting for approval" in message_text(p.params)]


def test_an_approver_removed_before_the_click_is_refused(make_bot, sqlite_url, customer):
    first = make_bot(sqlite_url, ECO_APPROVERS=f"{APPROVER},{SECOND_APPROVER}")
    thread = start_connection(first)
    connection, request_ts = _to_role_approval(first, customer, thread)
    first.stop()
    # The operator removes APPROVER from ECO_APPROVERS and redeploys before they click.
    second = make_bot(sqlite_url, ECO_APPROVERS=SECOND_APPROVER)
    before = second.snapshot()

    _, name = second.click("eco_approve", f"{connection.id}:1", user=APPROVER, message_ts=request_ts)

    assert "Only the approvers named in ECO_APPROVERS" in second.fake.wait_for_response(name)[0].body["text"]
    assert second.snapshot() == before
    assert _wait_audited(second, 1) == [(APPROVER, "approve", "refused")]


@pytest.mark.parametrize("value", ["1:x", "1:99999999", "1:2"], ids=["garbage-round", "huge-round", "future-round"])
def test_a_tampered_round_is_refused(make_bot, sqlite_url, customer, value):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    _, request_ts = _to_role_approval(bot, customer, thread)
    before = bot.snapshot()
    _, name = bot.click("eco_approve", value, user=APPROVER, message_ts=request_ts)
    assert "Nothing was changed" in bot.fake.wait_for_response(name)[0].body["text"]
    assert bot.snapshot() == before
    assert _wait_audited(bot, 1) == [(APPROVER, "approve", "refused")]


def test_a_click_before_the_request_was_recorded_still_updates_the_request(make_bot, sqlite_url, customer):
    """The request's id is saved just after it is posted: a click landing in between names its own message."""
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    _, request_ts = _to_role_approval(bot, customer, thread)
    with bot.database.begin() as connection:  # as if the click came before the engine recorded the request's ts
        connection.execute(update(Connection).values(approval_message_ts=None))

    bot.click("eco_approve", "1:1", user=APPROVER, message_ts=request_ts)

    decided = bot.fake.wait_for("chat.update", lambda p: p.get("ts") == request_ts)[0]
    assert not [b for b in decided.params["blocks"] if b["type"] == "actions"]
    assert bot.wait_for_step("processing").step == "processing"
