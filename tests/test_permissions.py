"""Who may start connections, and where; what /eco help tells each person; group membership read from
Slack briefly remembered; and an unknown ECO_* variable refused at start. Every refusal changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from tests.harness import APPROVER, OUTSIDER, REQUESTER, RunningBot
from tests.test_cli import assert_one_line_error, eco_bot


def test_only_ecos_requesters_may_start_and_a_refusal_changes_nothing(make_bot, sqlite_url):
    bot: RunningBot = make_bot(sqlite_url, ECO_REQUESTERS=f"{REQUESTER},S0FINOPS")
    bot.fake.usergroups["S0FINOPS"] = ["UFINOPS1"]
    before = bot.snapshot()

    answer = bot.answer("connect Sneaky", user=OUTSIDER)

    assert "Only the people named in ECO_REQUESTERS may start connections. Nothing was started." in answer
    assert bot.snapshot() == before and not bot.fake.calls("chat.postMessage")
    assert "Started connection #1" in bot.answer("connect Mine", user=REQUESTER)
    assert "Started connection #2" in bot.answer("connect Through a group", user="UFINOPS1")


def test_connections_start_only_in_the_allowed_channels(make_bot, sqlite_url):
    bot: RunningBot = make_bot(sqlite_url, ECO_ALLOWED_CHANNELS="C1,CFINOPS")
    before = bot.snapshot()

    answer = bot.answer("connect Elsewhere", channel="CRANDOM")

    assert "only in the channels named in ECO_ALLOWED_CHANNELS: C1, CFINOPS" in answer
    assert bot.snapshot() == before
    assert "Started connection #1" in bot.answer("connect Here", channel="CFINOPS")


def test_help_tells_each_person_what_they_may_do(make_bot, sqlite_url):
    bot: RunningBot = make_bot(sqlite_url, ECO_REQUESTERS=REQUESTER)
    assert "You may: start a connection here; not approve or reject connections" in bot.answer("help", user=REQUESTER)
    approver = bot.answer("help", user=APPROVER)
    assert "not start a connection here" in approver and "approve or reject connections started by others" in approver
    assert "cancel the connections you started, and any other" in approver


def test_group_members_are_remembered_briefly_and_failures_are_not(make_bot, sqlite_url):
    bot: RunningBot = make_bot(sqlite_url, ECO_REQUESTERS="S0FINOPS")
    bot.fake.usergroups["S0FINOPS"] = ["UFINOPS1"]
    bot.fake.fail("usergroups.users.list", "missing_scope", times=1)
    assert "Only the people named in ECO_REQUESTERS" in bot.answer("connect", user="UFINOPS1")  # fails closed
    assert "Started connection #1" in bot.answer("connect", user="UFINOPS1")  # the failure was not remembered
    assert "Started connection #2" in bot.answer("connect", user="UFINOPS1")
    assert len(bot.fake.calls("usergroups.users.list")) == 2  # the failed call and one remembered answer


@pytest.mark.parametrize(
    ("variable", "expected"),
    [("ECO_APROVERS", "did you mean ECO_APPROVERS?"), ("ECO_WHATEVER", "ECO_WHATEVER is not a setting of this bot")],
)
def test_an_unknown_eco_variable_is_refused(monkeypatch, variable, expected):
    monkeypatch.setenv(variable, "U1")
    with pytest.raises(SettingsError, match=expected.replace("?", r"\?")):
        load_settings(None)


def test_an_unknown_variable_in_the_env_file_stops_the_start_in_one_line(tmp_path: Path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-x\nECO_REQUESTRS=U1\n")
    result = eco_bot(tmp_path, "run", "--mode", "http")
    assert_one_line_error(result, "ECO_REQUESTRS", "ECO_REQUESTERS")


def test_channel_and_requester_lists_take_ids_only():
    with pytest.raises(SettingsError, match="ECO_ALLOWED_CHANNELS: '#finops' is not a Slack channel ID"):
        load_settings(None, ECO_ALLOWED_CHANNELS="#finops")
    with pytest.raises(SettingsError, match="ECO_REQUESTERS"):
        load_settings(None, ECO_REQUESTERS="alice")
