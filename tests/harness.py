"""Runs the real bot (Bolt behind waitress, the scheduler, the database) on loopback for scenario tests,
and sends it requests the way Slack does: signed, over HTTP.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, MetaData, select

from bot.service import Service, build_service
from bot.settings import Settings, load_settings
from bot.slack.http import make_server
from bot.store.db import session_factory
from bot.store.models import AuditEvent, Connection
from tests.fakes.slack_api import Call, FakeSlack
from tests.fakes.slack_requests import SlackSigner, post

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
TEAM = "T1"
CHANNEL = "C1"
REQUESTER = "UREQ1"
APPROVER = "UAPPROVER1"
OUTSIDER = "UOUTSIDER1"
TEMPLATE_URL = "https://templates.eco.test/eco-connect.yaml"  # only ever put in a link, never fetched

_sequence = itertools.count(1)


def bot_settings(database_url: str, fake_slack: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": database_url,
        "ECO_SLACK_API_URL": fake_slack.api_url,
        "ECO_PROCESSING_WINDOW": "2s",
        "ECO_APPROVERS": APPROVER,
        "ECO_TEMPLATE_URL": TEMPLATE_URL,
        "ECO_SCHEDULER_INTERVAL": "1s",
    }
    values.update(overrides)
    return load_settings(None, **values)


class RunningBot:
    """The bot as `eco-bot run --mode http` runs it, on an ephemeral loopback port."""

    def __init__(self, settings: Settings, fake_slack: FakeSlack, *, scheduler_period: float = 0.2):
        self.fake = fake_slack
        self.signer = SlackSigner(SIGNING_SECRET)
        self.service: Service = build_service(settings, signing_secret=SIGNING_SECRET)
        self.service.scheduler.interval = type(settings.scheduler_interval)(seconds=scheduler_period)
        self.server = make_server(self.service.app, self.service.database, host="127.0.0.1", port=0)
        self.base_url = f"http://127.0.0.1:{self.server.effective_port}"
        self.events_url = f"{self.base_url}/slack/events"
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.service.start()

    @property
    def database(self) -> Engine:
        return self.service.database

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:
            # Closing waitress's socket from another thread wakes its select() with EBADF: expected on stop.
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        self.server.close()
        self.server.task_dispatcher.shutdown()
        self._thread.join(5)
        self.service.close()

    # --- what people do in Slack ---------------------------------------------------------------

    def command(self, text: str, *, user: str = REQUESTER, channel: str = CHANNEL, team: str = TEAM) -> tuple[int, str]:
        """Type `/eco <text>`. Returns the HTTP status and the name of the response_url for its answer."""
        name = f"cmd{next(_sequence)}"
        body, headers = self.signer.slash_command(
            text, user_id=user, channel_id=channel, team_id=team, response_url=self.fake.response_url(name)
        )
        status, _ = post(self.events_url, body, headers)
        return status, name

    def answer(self, command_text: str, **kwargs: Any) -> str:
        """Type a command and wait for the bot's private answer; returns all its text (fallback and blocks)."""
        status, name = self.command(command_text, **kwargs)
        assert status == 200
        return message_text(self.fake.wait_for_response(name)[0].body)

    def reply(self, text: str, *, thread: str, user: str = REQUESTER, channel: str = CHANNEL, team: str = TEAM,
              event_id: str | None = None, retry_num: int | None = None, **extra: Any) -> int:
        ts = f"{time.time():.6f}"
        body, headers = self.signer.message_event(
            text, user_id=user, channel_id=channel, ts=ts, thread_ts=thread, team_id=team,
            event_id=event_id, retry_num=retry_num, **extra,
        )
        status, _ = post(self.events_url, body, headers)
        return status

    def click(self, action_id: str, value: str, *, user: str, message_ts: str, channel: str = CHANNEL,
              team: str = TEAM) -> tuple[int, str]:
        name = f"click{next(_sequence)}"
        body, headers = self.signer.block_action(
            action_id, value, user_id=user, channel_id=channel, message_ts=message_ts, team_id=team,
            response_url=self.fake.response_url(name),
        )
        status, _ = post(self.events_url, body, headers)
        return status, name

    def reject(self, value: str, *, user: str, message_ts: str, reason: str, channel: str = CHANNEL,
               team: str = TEAM) -> tuple[int, str]:
        """Press Reject, wait for the reason form Slack opens, and submit it with `reason`.
        Returns the HTTP status and body of the submission (Slack shows form errors from that body)."""
        opened_before = len(self.fake.calls("views.open"))
        status, _ = self.click("eco_reject", value, user=user, message_ts=message_ts, channel=channel, team=team)
        assert status == 200
        view = self.fake.wait_for("views.open", count=opened_before + 1)[-1].params["view"]
        return self.submit_reason(view, user=user, reason=reason, team=team)

    def submit_reason(self, view: dict, *, user: str, reason: str, team: str = TEAM) -> tuple[int, str]:
        values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
        body, headers = self.signer.view_submission(
            view["callback_id"], values, user_id=user, private_metadata=view["private_metadata"], team_id=team
        )
        return post(self.events_url, body, headers)

    # --- what the tests look at ------------------------------------------------------------------

    def connection(self, connection_id: int | None = None) -> Connection:
        with session_factory(self.database)() as session:
            query = select(Connection).order_by(Connection.id.desc())
            if connection_id is not None:
                query = query.where(Connection.id == connection_id)
            connection = session.scalars(query).first()
            assert connection is not None, "no connection in the database"
            return connection

    def wait_for_step(self, step: str, connection_id: int | None = None, timeout: float = 15.0) -> Connection:
        deadline = time.monotonic() + timeout
        while True:
            connection = self.connection(connection_id)
            if connection.step == step:
                return connection
            if time.monotonic() > deadline:
                raise AssertionError(f"connection stayed at {connection.step!r}, expected {step!r}\n{self.fake.describe_calls()}")
            time.sleep(0.05)

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of the conversation's tables, to show that a refusal changed nothing."""
        metadata = MetaData()
        metadata.reflect(self.database, only=["connections", "check_results", "decisions", "notices"])
        with self.database.connect() as connection:
            return {
                name: sorted(tuple(row) for row in connection.execute(table.select()))
                for name, table in metadata.tables.items()
            }

    def audit_trail(self, connection_id: int | None = None) -> list[tuple]:
        """The audit trail in the order it was recorded, as (connection_id, step, actor_id, action, outcome, detail):
        apart from `snapshot`, which shows the conversation's state (a refusal changes that, not this)."""
        with session_factory(self.database)() as session:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if connection_id is not None:
                query = query.where(AuditEvent.connection_id == connection_id)
            return [(e.connection_id, e.step, e.actor_id, e.action, e.outcome, e.detail) for e in session.scalars(query)]


@dataclass
class Thread:
    """A connection's thread as the fake Slack saw it."""

    fake: FakeSlack
    channel: str
    ts: str

    def posts(self) -> list[Call]:
        return [c for c in self.fake.calls("chat.postMessage") if c.params.get("thread_ts") == self.ts and c.ok]

    def wait_for_post(self, contains: str, count: int = 1, timeout: float = 15.0) -> list[Call]:
        return self.fake.wait_for(
            "chat.postMessage",
            lambda params: params.get("thread_ts") == self.ts and contains in message_text(params),
            timeout=timeout,
            count=count,
        )

    def root_updates(self) -> list[Call]:
        return [c for c in self.fake.calls("chat.update") if c.params.get("ts") == self.ts]


def message_text(params: dict[str, Any]) -> str:
    """All the text of a posted message: its fallback and every block's text, as Slack would show them."""
    parts = [str(params.get("text") or "")]
    for block in params.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), dict):
                parts.append(element["text"].get("text", ""))
    return "\n".join(parts)


def start_connection(bot: RunningBot, label: str = "Acme prod", **kwargs: Any) -> Thread:
    """`/eco connect` and wait for the root message and the first question."""
    status, name = bot.command(f"connect {label}".strip(), **kwargs)
    assert status == 200
    channel = kwargs.get("channel", CHANNEL)
    root = bot.fake.wait_for(
        "chat.postMessage", lambda params: params.get("channel") == channel and not params.get("thread_ts")
    )[-1]
    thread = Thread(bot.fake, channel, root.response["ts"])
    thread.wait_for_post("Reply in this thread with the bucket")
    bot.fake.wait_for_response(name)
    return thread
