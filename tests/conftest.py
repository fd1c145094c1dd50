"""Shared fixtures: a real PostgreSQL and a SQLite database, a moto server for AWS, a fake Slack Web API,
and the running bot. Nothing here reaches a host other than loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.sandbox.world import AwsWorld, CustomerAccount
from tests.databases import throwaway_postgres
from tests.fakes.slack_api import FakeSlack
from tests.harness import RunningBot, bot_settings

# The PostgreSQL server the suite creates its throwaway databases in (.ci/run starts it).


@pytest.fixture(scope="session", autouse=True)
def aws_environment() -> Iterator[AwsWorld]:
    """The fake AWS on loopback (moto behind the gateway, and the billing fake), and boto3's standard variables
    pointing at it, for the whole run."""
    world = AwsWorld().start()
    saved = {key: os.environ.get(key) for key in _AWS_VARIABLES}
    os.environ.update(world.environment(), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    yield world
    world.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_COST_AND_USAGE_REPORT_SERVICE",
    "AWS_ENDPOINT_URL_BCM_DATA_EXPORTS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture
def aws(aws_environment: AwsWorld) -> Iterator[AwsWorld]:
    """A clean fake AWS for one test: empty accounts, no faults, an empty call log."""
    aws_environment.reset()
    yield aws_environment


@pytest.fixture
def bare_customer(aws: AwsWorld) -> CustomerAccount:
    """The customer's account with only a bucket, `acme-cur` in us-east-1 (and the call log cleared after making it)."""
    account = CustomerAccount.open()
    account.create_bucket("acme-cur")
    aws.clear()
    return account


@pytest.fixture
def customer(aws: AwsWorld) -> CustomerAccount:
    """A customer set up as Eco's procedure says, before launching the stack: the bucket `acme-cur` in us-east-1
    with the policy that lets AWS billing deliver, and the legacy report `eco-cur` (hourly, resource IDs, data
    refresh, Athena, Parquet, overwrite) delivering to `acme-cur/cur`, not delivered yet."""
    account = CustomerAccount.open()
    account.create_bucket("acme-cur")
    account.allow_cur_delivery("acme-cur")
    account.create_report("eco-cur", "acme-cur", "cur")
    aws.clear()
    return account


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on an ephemeral loopback port that records every call."""
    with FakeSlack() as fake:
        yield fake


def _postgres_database() -> Iterator[str]:
    with throwaway_postgres("eco_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database: a SQLite file, then a fresh PostgreSQL database (the test runs on both)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'eco-bot.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite database file, for tests that are about behaviour rather than the database."""
    return f"sqlite:///{tmp_path / 'eco-bot.db'}"


@pytest.fixture
def make_bot(fake_slack: FakeSlack, aws: AwsWorld) -> Iterator:
    """Start the bot (HTTP mode, on loopback) with the test's settings; stopped at the end of the test."""
    bots: list[RunningBot] = []

    def start(database_url: str, **overrides: str) -> RunningBot:
        bot = RunningBot(bot_settings(database_url, fake_slack, **overrides), fake_slack)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(make_bot, sqlite_url: str) -> RunningBot:
    """The bot on SQLite with the default test settings (window 2 s, one approver)."""
    return make_bot(sqlite_url)
