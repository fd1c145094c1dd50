"""Builds the running bot from its settings: database, Slack client, AWS verifier, engine, Bolt app and
scheduler. Called once at start (and by tests, with their own settings); nothing is built at import time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from sqlalchemy import Engine as Database

from bot.aws.verifier import AwsVerifier
from bot.engine.conversation import Engine, policy_from
from bot.engine.ports import Clock, SystemClock
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.slack.chat import SlackChat, SlackDirectory
from bot.store.db import SchemaError, open_database, schema_problem, session_factory, upgrade
from bot.threads import run_in_background
from bot.workers import EngineProxy, Workers


@dataclass
class Service:
    """The running bot. With worker processes (ECO_WORKER_PROCESSES), `engine` and `scheduler` are None here: they
    live in the workers, and the Bolt app calls the engine through `bot.workers.EngineProxy`. A worker's own
    Service has an engine and a scheduler but no app."""

    settings: Settings
    database: Database
    engine: Engine | None
    app: App | None
    scheduler: Scheduler | None
    executor: ThreadPoolExecutor | None = None
    workers: Workers | None = None

    def start(self) -> None:
        """Start the background work: the worker processes (each with its scheduler), or this process's scheduler."""
        if self.workers is not None:
            self.workers.start()
        elif self.scheduler is not None:
            self.scheduler.start()

    def close(self) -> None:
        """Stop taking scheduled work, let the work under way finish within ECO_SHUTDOWN_TIMEOUT (listeners
        already acknowledged, notices being posted), release this process's claims, release the database."""
        deadline = time.monotonic() + self.settings.shutdown_timeout.total_seconds()
        if self.scheduler is not None:
            self.scheduler.stop(timeout=0)  # no new pass; the engine's close below waits for the deliveries under way
        if self.engine is not None:
            self.engine.stop_claiming()  # and the pass under way claims nothing more while the listeners drain
        if self.executor is not None:
            _shutdown(self.executor, deadline)
        if self.workers is not None:
            self.workers.close(timeout=max(deadline - time.monotonic(), 0.0))
        if self.engine is not None:
            self.engine.close(timeout=max(deadline - time.monotonic(), 0.0))
        self.database.dispose()


def _shutdown(executor: ThreadPoolExecutor, deadline: float) -> None:
    """Let an executor's work finish until `deadline`; past it, stop waiting (the command line then ends the process
    without it: what a listener had claimed in the database is resumed by a replica)."""
    executor.shutdown(wait=False, cancel_futures=True)
    for thread in list(getattr(executor, "_threads", ())):
        thread.join(max(deadline - time.monotonic(), 0.0))


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
    try:
        if migrate:
            upgrade(database)
        problem = schema_problem(database)
        if problem:  # never serve on a schema this code was not written for: it would fail request by request
            raise SchemaError(problem)
    except BaseException:
        database.dispose()
        raise
    client = slack_client(settings)
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eco-listener", initializer=run_in_background)
    if settings.worker_processes:
        workers = Workers(settings, settings.worker_processes)
        app = build_bolt_app(engine=EngineProxy(workers), client=client, signing_secret=signing_secret, executor=executor)
        return Service(settings, database, None, app, None, executor, workers)
    engine = _engine(settings, database, client, clock=clock, boto_session=boto_session)
    app = build_bolt_app(engine=engine, client=client, signing_secret=signing_secret, executor=executor)
    return Service(settings, database, engine, app, Scheduler(engine, settings.scheduler_interval), executor)


def build_worker_service(settings: Settings) -> Service:
    """A worker process's part (see `bot.workers`): an engine and its scheduler on the already migrated database."""
    database = open_database(settings.database_url)
    engine = _engine(settings, database, slack_client(settings))
    return Service(settings, database, engine, None, Scheduler(engine, settings.scheduler_interval))


def _engine(
    settings: Settings,
    database: Database,
    client: WebClient,
    *,
    clock: Clock | None = None,
    boto_session: boto3.Session | None = None,
) -> Engine:
    return Engine(
        sessions=session_factory(database),
        chat=SlackChat(client),
        verifier=AwsVerifier(session=boto_session, trusted_principal_arn=settings.trusted_principal_arn),
        directory=SlackDirectory(client),
        policy=policy_from(settings),
        clock=clock or SystemClock(),
    )
