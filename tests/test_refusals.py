"""Every refusal: the person gets a clear, specific answer, and nothing in the database changes.

Each test drives the running bot with signed Slack requests, takes a snapshot of the conversation's
tables before the refused action and compares it after the answer arrived.
"""

from __future__ import annotations

import time

import pytest

from bot.sandbox.world import CustomerAccount
from tests.harness import APPROVER, CHANNEL, OUTSIDER, REQUESTER, RunningBot, Thread, message_text, start_connection


def _to_approval(bot: RunningBot, customer: CustomerAccount, thread: Thread):
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur", name=f"eco-{connection.id}")
    bot.reply(role_arn, thread=thread.ts)
    connection = bot.wait_for_step("awaiting_approval")
    approval = thread.wait_for_post("waiting for approval")[0]
    # The root checklist is updated last: once it shows the approval step, the bot has finished its writes.
    bot.fake.wait_for("chat.update", lambda p: p.get("ts") == thread.ts and "Waiting for: approvers" in message_text(p))
    return connection, approval.response["ts"]


def _refusal_text(bot: RunningBot, response_name: str) -> str:
    post = bot.fake.wait_for_response(response_name)[0].body
    assert post.get("response_type") == "ephemeral"
    return post["text"]


# --- approvals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clicker", "action", "expected"),
    [
        (OUTSIDER, "eco_approve", "Only the approvers named in ECO_APPROVERS"),
        (OUTSIDER, "eco_reject", "Only the approvers named in ECO_APPROVERS"),
        (REQUESTER, "eco_approve", "You started this connection"),
    ],
    ids=["outsider-approves", "outsider-rejects", "requester-approves-own"],
)
def test_who_may_not_decide_is_refused_and_nothing_changes(make_bot, sqlite_url, customer, clicker, action, expected):
    # The requester is an approver too: self-approval is still refused while ECO_ALLOW_SELF_APPROVAL is off.
    bot = make_bot(sqlite_url, ECO_APPROVERS=f"{APPROVER},{REQUESTER}")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    before = bot.snapshot()

    status, name = bot.click(action, str(connection.id), user=clicker, message_ts=approval_ts)

    assert status == 200
    assert expected in _refusal_text(bot, name)
    assert bot.snapshot() == before
    assert not [c for c in bot.fake.calls("chat.update") if c.params.get("ts") == approval_ts]


def test_self_approval_when_allowed(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVERS=REQUESTER, ECO_ALLOW_SELF_APPROVAL="true")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    bot.click("eco_approve", str(connection.id), user=REQUESTER, message_ts=approval_ts)
    bot.wait_for_step("processing")


def test_without_approvers_the_step_says_so_and_waits(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVERS="")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    assert "No approver is configured" in message_text(thread.wait_for_post("waiting for approval")[0].params)
    before = bot.snapshot()

    for user in (REQUESTER, OUTSIDER):
        _, name = bot.click("eco_approve", str(connection.id), user=user, message_ts=approval_ts)
        assert "No approver is configured" in _refusal_text(bot, name)

    time.sleep(0.5)  # scheduler passes: it never approves by itself
    assert bot.snapshot() == before


def test_a_member_of_an_approver_group_may_approve(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVERS="S0APPROVERS")
    bot.fake.usergroups["S0APPROVERS"] = ["UGROUPMEMBER"]
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    bot.click("eco_approve", str(connection.id), user="UGROUPMEMBER", message_ts=approval_ts)
    bot.wait_for_step("processing")
    assert bot.fake.calls("usergroups.users.list")[0].params["usergroup"] == "S0APPROVERS"


def test_a_group_that_cannot_be_read_grants_nothing(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_APPROVERS="S0APPROVERS")
    bot.fake.usergroups["S0APPROVERS"] = ["UGROUPMEMBER"]
    bot.fake.fail("usergroups.users.list", "missing_scope")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    before = bot.snapshot()

    _, name = bot.click("eco_approve", str(connection.id), user="UGROUPMEMBER", message_ts=approval_ts)

    assert "Only the approvers" in _refusal_text(bot, name)
    assert bot.snapshot() == before


@pytest.mark.parametrize(
    ("value", "team"),
    [("999", "T1"), ("1; DROP TABLE connections", "T1"), ("", "T1"), ("1", "T2OTHER")],
    ids=["unknown-id", "tampered-value", "empty-value", "other-workspace"],
)
def test_a_click_for_a_connection_that_is_not_ours_is_refused(make_bot, sqlite_url, customer, value, team):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    _, approval_ts = _to_approval(bot, customer, thread)
    before = bot.snapshot()

    _, name = bot.click("eco_approve", value, user=APPROVER, message_ts=approval_ts, team=team)

    assert "does not belong to a connection in this workspace" in _refusal_text(bot, name)
    assert bot.snapshot() == before


def test_a_double_click_approves_once(make_bot, database_url, customer):
    bot = make_bot(database_url, ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)

    first = bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval_ts)
    second = bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval_ts)

    assert first[0] == second[0] == 200
    bot.wait_for_step("processing")
    thread.wait_for_post("Eco is now processing")
    time.sleep(0.5)
    assert len([c for c in thread.posts() if "Eco is now processing" in message_text(c.params)]) == 1
    assert len(bot.snapshot()["decisions"]) == 1
    assert [n[3] for n in bot.snapshot()["notices"] if n[3] == "window_end"] == ["window_end"]
    # The click that lost is told why it did nothing.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (refusals := [r.body["text"] for n in (first[1], second[1]) for r in bot.fake.responses(n)]):
        time.sleep(0.05)
    assert len(refusals) == 1 and ("not waiting for approval" in refusals[0] or "already decided" in refusals[0])


def test_a_decided_connection_refuses_more_clicks(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url, ECO_PROCESSING_WINDOW="1h")
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval_ts)
    bot.wait_for_step("processing")
    thread.wait_for_post("Eco is now processing")
    before = bot.snapshot()

    _, name = bot.click("eco_reject", str(connection.id), user=APPROVER, message_ts=approval_ts)

    assert "is not waiting for approval (it is processing)" in _refusal_text(bot, name)
    assert bot.snapshot() == before and not bot.fake.calls("views.open")


# --- answers in the thread ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("AcmeCur", "uppercase"),
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("192.168.1.1", "IP address"),
        ("my..bucket", "two adjacent dots"),
        ("-bucket", "begin and end with a letter or a digit"),
        ("xn--bucket", "reserved prefix xn--"),
        ("bucket-s3alias", "reserved suffix -s3alias"),
        ("аcme-cur", "look-alike"),  # Cyrillic а
        ("<!channel>", "only lowercase letters"),
        ("x" * 10_000, "10,000 characters"),
        ("", "empty"),
        ("acme cur", "no spaces"),
    ],
    ids=["uppercase", "2-chars", "64-chars", "ip", "double-dot", "leading-hyphen", "xn--", "s3alias", "lookalike",
         "channel-ping", "10kB", "empty", "space"],
)
def test_an_invalid_bucket_name_is_refused_and_nothing_changes(bot: RunningBot, answer, expected):
    thread = start_connection(bot)
    before = bot.snapshot()

    bot.reply(answer, thread=thread.ts)

    refusal = message_text(thread.wait_for_post("Nothing was changed")[0].params)
    assert expected in refusal
    assert "<!channel>" not in refusal and "<@" not in refusal.replace(f"<@{REQUESTER}>", "")
    assert len(refusal) < 2000  # a 10 kB paste is not echoed back
    assert bot.snapshot() == before
    assert not bot.fake.calls("chat.update")


def test_a_mention_typed_as_an_answer_pings_nobody(bot: RunningBot):
    thread = start_connection(bot)
    bot.reply("<@U0BOSS> <!here>", thread=thread.ts)
    refusal = thread.wait_for_post("Nothing was changed")[0].params
    text = message_text(refusal)
    assert "<@U0BOSS>" not in text and "<!here>" not in text
    assert "&lt;@U0BOSS&gt;" in text


def test_a_bucket_that_does_not_exist_is_named_and_asked_again(bot: RunningBot, aws):
    thread = start_connection(bot)
    bot.reply("no-such-bucket-here", thread=thread.ts)
    result = bot.fake.wait_for("chat.update", lambda p: "did not pass" in message_text(p))[0]
    assert "No bucket named `no-such-bucket-here` exists" in message_text(result.params)
    connection = bot.wait_for_step("awaiting_bucket")
    assert connection.bucket is None and connection.pending_answer is None
    assert bot.connection().version == 3  # claimed, then released: the answer can be sent again


def test_a_bucket_outside_us_east_1_is_refused_with_the_fix(bot: RunningBot, customer: CustomerAccount):
    customer.create_bucket("acme-cur-eu", region="eu-west-1")
    thread = start_connection(bot)
    bot.reply("acme-cur-eu", thread=thread.ts)
    result = message_text(bot.fake.wait_for("chat.update", lambda p: "did not pass" in message_text(p))[0].params)
    assert "`eu-west-1`" in result and "create a new bucket in us-east-1" in result
    assert bot.wait_for_step("awaiting_bucket").bucket is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("arn:aws:iam::111122223333:user/bob", "names an IAM user, not a role"),
        ("arn:aws-cn:iam::111122223333:role/Eco", "standard aws partition"),
        ("arn:aws:iam::11112222333:role/Eco", "exactly 12 digits"),
        ("arn:aws:iam::111122223333:role/" + "r" * 65, "at most 64 characters"),
        ("arn:aws:iam::111122223333:role/Eco Role", "no spaces"),
        ("the role is ready", "no spaces"),
    ],
    ids=["user-arn", "aws-cn", "11-digit-account", "65-char-name", "inner-space", "prose"],
)
def test_an_invalid_role_arn_is_refused_and_nothing_changes(bot: RunningBot, customer, answer, expected):
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")
    thread.wait_for_post("reply here with the RoleArn")
    before = bot.snapshot()

    bot.reply(answer, thread=thread.ts)

    assert expected in message_text(thread.wait_for_post("Nothing was changed")[0].params)
    assert bot.snapshot() == before


def test_a_role_arn_with_a_trailing_newline_is_accepted(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur")
    bot.reply(f"  {role_arn}\n", thread=thread.ts)
    assert bot.wait_for_step("awaiting_approval").role_arn == role_arn


# --- events that are not answers -------------------------------------------------------------------


def test_a_retried_event_is_handled_once(bot: RunningBot):
    thread = start_connection(bot)
    bot.reply("Not A Bucket", thread=thread.ts, event_id="Ev0RETRY1")
    thread.wait_for_post("Nothing was changed")
    bot.reply("Not A Bucket", thread=thread.ts, event_id="Ev0RETRY1", retry_num=1)
    time.sleep(0.5)
    assert len([c for c in thread.posts() if "Nothing was changed" in message_text(c.params)]) == 1


@pytest.mark.parametrize(
    "extra",
    [{"bot_id": "B0OTHER"}, {"subtype": "message_changed"}, {"subtype": "channel_join"}],
    ids=["bot-message", "edit", "join"],
)
def test_messages_that_are_not_a_person_answering_are_ignored(bot: RunningBot, extra):
    thread = start_connection(bot)
    before, calls = bot.snapshot(), len(bot.fake.calls())
    bot.reply("acme-cur", thread=thread.ts, **extra)
    time.sleep(0.5)
    assert bot.snapshot() == before and len(bot.fake.calls()) == calls


def test_a_badly_signed_request_is_refused(bot: RunningBot):
    from tests.fakes.slack_requests import SlackSigner, post

    body, headers = SlackSigner("not-the-secret").slash_command(
        "connect", user_id=REQUESTER, channel_id=CHANNEL, response_url=bot.fake.response_url("forged")
    )
    status, _ = post(bot.events_url, body, headers)
    assert status == 401
    assert bot.snapshot()["connections"] == [] and not bot.fake.calls("chat.postMessage")


# --- commands ------------------------------------------------------------------------------------------


def test_connect_where_the_bot_cannot_post_explains_how_to_fix_it(bot: RunningBot):
    bot.fake.fail("chat.postMessage", "not_in_channel", when=lambda p: p.get("channel") == "C0NOTIN")
    text = bot.answer("connect", channel="C0NOTIN")
    assert "I am not a member of this channel" in text and "/invite" in text
    assert bot.snapshot()["connections"] == []


def test_connect_in_an_archived_channel(bot: RunningBot):
    bot.fake.fail("chat.postMessage", "is_archived")
    assert "archived" in bot.answer("connect")
    assert bot.snapshot()["connections"] == []


def test_a_label_that_is_too_long_starts_nothing(bot: RunningBot):
    assert "at most 80 characters" in bot.answer("connect " + "x" * 81)
    assert bot.snapshot()["connections"] == [] and not bot.fake.calls("chat.postMessage")


def test_cancel_is_for_the_requester_or_an_approver(bot: RunningBot):
    start_connection(bot)
    before = bot.snapshot()
    assert "Only the person who started connection #1 or an approver" in bot.answer("cancel 1", user=OUTSIDER)
    assert bot.snapshot() == before
    assert "no connection `42`" in bot.answer("cancel 42").replace("There is no", "no")
    assert "Say which connection" in bot.answer("cancel")

    assert "#1 is cancelled" in bot.answer("cancel 1")
    assert bot.connection().step == "cancelled"
    assert "already cancelled" in bot.answer("cancel 1", user=APPROVER)


def test_status_and_help(bot: RunningBot):
    start_connection(bot, "Acme <!channel> prod")
    listing = bot.answer("status")
    assert "#1 Acme &lt;!channel&gt; prod" in listing and "waiting for the bucket name" in listing
    one = bot.answer("status 1")
    assert "the CUR bucket name" in one
    assert "There is no connection" in bot.answer("status 7", team="T2OTHER")
    for text in ("help", "", "frobnicate"):
        assert "/eco connect" in bot.answer(text)
    assert "I do not know that command" in bot.answer("frobnicate")


def test_a_direct_message_to_the_bot_explains_where_connections_happen(bot: RunningBot):
    body, headers = bot.signer.message_event("hi, can you connect my account?", user_id=REQUESTER, channel_id="D0DIRECT",
                                             ts="1700000001.000100", channel_type="im")
    from tests.fakes.slack_requests import post

    assert post(bot.events_url, body, headers)[0] == 200
    answer = bot.fake.wait_for("chat.postMessage", lambda p: p.get("channel") == "D0DIRECT")[0]
    assert "type /eco connect in a channel" in message_text(answer.params) and "thread_ts" not in answer.params
    assert bot.snapshot()["connections"] == []
