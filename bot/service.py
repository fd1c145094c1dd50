"""Builds the running bot from its settings: database, Slack client, AWS verifier, engine, Bolt app and
scheduler. Called once at start (and by tests, with their own settings); nothing is built at import time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from sqlalchemy import Engine as Database

from bot.aws.verifier import AwsVerifier
from bot.engine.conversation import Engine, Policy
from bot.engine.ports import Clock, SystemClock
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.slack.chat import SlackChat, SlackDirectory
from bot.store.db import open_database, session_factory, upgrade


@dataclass
class Service:
    settings: Settings
    database: Database
    engine: Engine
    app: App
    scheduler: Scheduler
    executor: ThreadPoolExecutor

    def close(self) -> None:
        """Stop taking scheduled work, let listeners already running finish, release the database."""
        self.scheduler.stop()
        self.executor.shutdown(wait=True)
        self.engine.close()
        self.database.dispose()


def slack_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.token("SLACK_BOT_TOKEN"),
        base_url=settings.slack_api_url,
        timeout=15,
        # Slack's 429s carry Retry-After; honour it instead of failing the step.
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def build_service(
    settings: Settings,
    *,
    signing_secret: str | None,
    clock: Clock | None = None,
    boto_session: boto3.Session | None = None,
    migrate: bool = True,
) -> Service:
    database = open_database(settings.database_url)
    if migrate:
        upgrade(database)
    client = slack_client(settings)
    engine = Engine(
        sessions=session_factory(database),
        chat=SlackChat(client),
        verifier=AwsVerifier(session=boto_session, trusted_principal_arn=settings.trusted_principal_arn),
        directory=SlackDirectory(client),
        policy=Policy(
            processing_window=settings.processing_window,
            approvers=settings.approvers,
            allow_self_approval=settings.allow_self_approval,
            requesters=settings.requesters,
            allowed_channels=settings.allowed_channels,
            required_approvals=settings.required_approvals,
            approval_steps=settings.approval_steps,
            approval_reminder=settings.approval_reminder,
            template_url=settings.template_url,
        ),
        clock=clock or SystemClock(),
    )
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eco-listener")
    app = build_bolt_app(engine=engine, client=client, signing_secret=signing_secret, executor=executor)
    return Service(settings, database, engine, app, Scheduler(engine, settings.scheduler_interval), executor)
