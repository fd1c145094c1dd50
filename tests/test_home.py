"""The App Home tab: opening it publishes the workspace's connections (and no other workspace's), a step
refreshes it for whoever opened it lately, the empty state says how to start, user text is escaped, and a
Home that Slack refuses never holds up the conversation.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.engine import script
from bot.engine.home import HOME_CONNECTIONS
from bot.sandbox.world import CUSTOMER_ACCOUNT, CustomerAccount
from bot.slack.render import blocks, thread_url
from bot.store.db import session_factory
from bot.store.models import Connection, HomeViewer
from tests.fakes.slack_api import Call
from tests.fakes.slack_requests import post
from tests.harness import APPROVER, REQUESTER, TEAM, RunningBot, message_text, start_connection

OTHER_TEAM = "T2"
WORKSPACE_URL = "https://acme.slack.com/"  # what the fake's auth.test answers for T1


def open_home(bot: RunningBot, user: str, *, team: str = TEAM, tab: str = "home") -> None:
    body, headers = bot.signer.app_home_opened(user, team, tab=tab)
    status, _ = post(bot.events_url, body, headers)
    assert status == 200


def homes(bot: RunningBot, user: str, contains: str = "", count: int = 1, timeout: float = 10.0) -> list[Call]:
    """Wait for `count` Home views published to `user` whose text contains `contains`."""
    return bot.fake.wait_for(
        "views.publish",
        lambda params: params.get("user_id") == user and contains in message_text(params["view"]),
        timeout=timeout,
        count=count,
    )


def home_text(call: Call) -> str:
    assert call.params["view"]["type"] == "home"
    return message_text(call.params["view"])


def test_opening_home_lists_this_workspaces_connections(database_url: str, make_bot):
    bot: RunningBot = make_bot(database_url)
    first = start_connection(bot, "Acme prod")
    second = start_connection(bot, "Acme dev")
    start_connection(bot, "Other team's", team=OTHER_TEAM)

    open_home(bot, REQUESTER)
    text = home_text(homes(bot, REQUESTER)[-1])

    assert "Eco connections in this workspace" in text
    assert text.index("#2 Acme dev") < text.index("#1 Acme prod")  # newest first
    assert "Other team" not in text
    assert text.count("account not known yet") == 2
    assert text.count("waiting for the bucket name") == 2
    assert text.count("Waiting for: the CUR bucket name, as a reply in the thread") == 2
    assert text.count("started just now") == 2 and f"<@{REQUESTER}>" in text
    assert text.count("👉") == 2  # the current-step icon
    for thread in (first, second):
        assert f"<{WORKSPACE_URL}archives/{thread.channel}/p{thread.ts.replace('.', '')}|open its thread>" in text

    # The other workspace sees only its own; the token's workspace is not its, so links just open the channel.
    open_home(bot, REQUESTER, team=OTHER_TEAM)
    other = bot.fake.wait_for("views.publish", lambda params: "Other team" in message_text(params["view"]))[0]
    assert "Acme" not in home_text(other)
    assert "<https://slack.com/app_redirect?channel=C1|open its thread>" in home_text(other)

    # Opening it again moves the visit on: one row per user and workspace.
    open_home(bot, REQUESTER)
    homes(bot, REQUESTER, "Acme prod", count=2)
    with session_factory(bot.database)() as session:
        viewers = session.execute(select(HomeViewer.team_id, HomeViewer.user_id)).all()
    assert sorted(viewers) == [(TEAM, REQUESTER), (OTHER_TEAM, REQUESTER)]


def test_a_step_refreshes_home_for_those_who_opened_it(make_bot, sqlite_url, customer: CustomerAccount):
    bot: RunningBot = make_bot(sqlite_url)
    thread = start_connection(bot, "Acme prod")
    long_ago = datetime.now(UTC) - timedelta(days=8)
    with bot.database.begin() as connection:
        connection.execute(
            insert(HomeViewer),
            [
                {"team_id": TEAM, "user_id": "ULONGAGO", "opened_at": long_ago},  # not looked for a week
                {"team_id": OTHER_TEAM, "user_id": "UELSEWHERE", "opened_at": datetime.now(UTC)},
            ],
        )
    open_home(bot, APPROVER)
    homes(bot, APPROVER, "waiting for the bucket name")

    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")
    homes(bot, APPROVER, "waiting for the role ARN")

    connection = bot.connection()
    bot.reply(customer.launch_stack(external_id=connection.external_id, bucket="acme-cur"), thread=thread.ts)
    approval = thread.wait_for_post("waiting for approval")[0]
    text = home_text(homes(bot, APPROVER, "approvers to press Approve")[-1])
    assert f"account `{CUSTOMER_ACCOUNT}`" in text and "account not known yet" not in text

    bot.click("eco_approve", str(connection.id), user=APPROVER, message_ts=approval.response["ts"])
    homes(bot, APPROVER, "Eco's initial processing window to end")
    homes(bot, APPROVER, "needs attention", timeout=20)  # the window ends (no data yet): a step the scheduler takes

    published_to = {call.params["user_id"] for call in bot.fake.calls("views.publish")}
    assert published_to == {APPROVER}


def test_the_messages_tab_publishes_nothing(bot: RunningBot):
    start_connection(bot)
    open_home(bot, REQUESTER, tab="messages")
    open_home(bot, APPROVER)
    homes(bot, APPROVER)
    time.sleep(0.3)
    assert [call.params["user_id"] for call in bot.fake.calls("views.publish")] == [APPROVER]


def test_an_empty_workspace_says_how_to_start(bot: RunningBot):
    open_home(bot, REQUESTER)
    text = home_text(homes(bot, REQUESTER)[0])
    assert "No connections yet" in text and "/eco connect [label]" in text and "/invite @Eco Connect" in text


def test_a_label_is_shown_never_acted_on(bot: RunningBot):
    start_connection(bot, "<!channel> prod <@U999>")
    open_home(bot, REQUESTER)
    text = home_text(homes(bot, REQUESTER)[0])
    assert "&lt;!channel&gt; prod &lt;@U999&gt;" in text
    assert "<!channel>" not in text and "<@U999>" not in text


def test_a_refused_home_does_not_hold_up_the_conversation(bot: RunningBot, customer: CustomerAccount):
    bot.fake.fail("views.publish", "internal_error")
    thread = start_connection(bot)
    open_home(bot, APPROVER)
    bot.fake.wait_for("views.publish")

    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")
    thread.wait_for_post("reply here with the RoleArn")
    bot.fake.wait_for("chat.update", lambda params: params.get("ts") == thread.ts and "the role ARN from" in message_text(params))
    refused = bot.fake.wait_for("views.publish", count=2)  # tried on opening, and again after the step
    assert not any(call.ok for call in refused)


# --- the content, without Slack ----------------------------------------------------------------------


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def connection(number: int, *, age: timedelta, step: str = "awaiting_bucket", **fields) -> Connection:
    return Connection(
        **{"label": None, **fields}, id=number, team_id=TEAM, channel_id="C1", thread_ts=f"1700000000.{number:06d}",
        requester_id=REQUESTER, step=step, version=1, external_id="x", created_at=NOW - age, updated_at=NOW,
        checks=[], decisions=[],
    )


def test_each_entry_says_its_age_status_and_account():
    text = message_text({"blocks": blocks(script.home([
        connection(3, age=timedelta(minutes=42)),
        connection(2, age=timedelta(hours=3, minutes=59), step="complete", account_id="123456789012"),
        connection(1, age=timedelta(days=2, hours=1), step="rejected"),
    ], NOW))})
    assert "👉 *#3*" in text and "started 42 min ago" in text
    assert "✅ *#2*: account `123456789012` · connected · started 3 h ago" in text
    assert "❌ *#1*" in text and "rejected · started 2 days ago" in text
    assert text.count("Waiting for:") == 1  # finished connections wait for nothing


def test_a_full_home_stays_within_slacks_100_blocks_and_says_how_many_more():
    many = [connection(n, age=timedelta(hours=1), label="x" * 80) for n in range(HOME_CONNECTIONS, 0, -1)]
    rendered = blocks(script.home(many, NOW, total=HOME_CONNECTIONS + 7), workspace_url=WORKSPACE_URL)
    assert len(rendered) <= 100
    assert "And 7 older connections not shown here" in rendered[-1]["text"]["text"]


def test_a_thread_link_needs_a_slack_workspace_url_and_slack_ids():
    assert thread_url("C1", "1700000000.000100", WORKSPACE_URL) == f"{WORKSPACE_URL}archives/C1/p1700000000000100"
    for channel, ts, url in (
        ("C1", "1700000000.000100", "https://evil.example/"),
        ("C1", "1700000000.000100", None),
        ("C1|x>", "1700000000.000100", WORKSPACE_URL),
        ("C1", "../x", WORKSPACE_URL),
    ):
        assert thread_url(channel, ts, url).startswith("https://slack.com/app_redirect?channel=")
