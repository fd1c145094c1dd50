"""The bot as deployed: `eco-bot run --mode http` as a real subprocess on a loopback port, talking to the
fake Slack Web API, answering Slack's signed requests and the health check, and stopping cleanly on
SIGTERM. Plus the health check's 503 when the database does not answer (in-process, for speed).

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from slack_bolt import App

from bot.slack.http import wsgi_app
from bot.store.db import open_database
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSigner, post
from tests.processes import BotProcess

SIGNING_SECRET = "process-test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-process-test-token"
STARTUP_TIMEOUT = 60.0
UNREACHABLE_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


class HttpBot(BotProcess):
    """`eco-bot run --mode http` on a free loopback port."""

    def __init__(self, workdir: Path, fake_slack: FakeSlack) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.base_url}/slack/events"
        super().__init__(
            workdir,
            ["run", "--mode", "http", "--port", str(self.port), "--host", "127.0.0.1"],
            ECO_SLACK_API_URL=fake_slack.api_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            DATABASE_URL=f"sqlite:///{workdir / 'eco-bot.db'}",
            ECO_SCHEDULER_INTERVAL="1s",
        )

    def health(self) -> tuple[int, str]:
        return http_get(f"{self.base_url}/healthz")

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> dict:
        """Poll /healthz until it answers 200; fail with the process's stderr if it never does."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.fail_if_exited("before it was healthy")
            try:
                status, body = self.health()
                if status == 200:
                    return json.loads(body)
                last = f"{status} {body}"
            except OSError as error:  # not listening yet
                last = repr(error)
            time.sleep(0.1)
        pytest.fail(f"/healthz did not answer 200 within {timeout}s (last: {last}):\n{self.stderr()}")


@pytest.fixture
def bot_process(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[HttpBot]:
    """The bot started as a subprocess and healthy; killed at the end if a test left it running."""
    bot = HttpBot(tmp_path, fake_slack)
    try:
        bot.wait_until_healthy()
        yield bot
    finally:
        bot.ensure_stopped()


# --- the running process -------------------------------------------------------------------------


def test_healthz_answers_ok_once_started(bot_process: HttpBot) -> None:
    status, body = bot_process.health()

    assert status == 200
    assert json.loads(body)["status"] == "ok"


def test_a_signed_help_command_is_answered_through_the_response_url(
    bot_process: HttpBot, fake_slack: FakeSlack
) -> None:
    body, headers = SlackSigner(SIGNING_SECRET).slash_command(
        "help", user_id="UREQ1", channel_id="C1", response_url=fake_slack.response_url("help")
    )

    status, _ = post(bot_process.events_url, body, headers)

    assert status == 200, bot_process.stderr()
    answer = fake_slack.wait_for_response("help")[0].body
    assert "/eco connect" in json.dumps(answer)


def test_a_request_signed_with_another_secret_is_refused(bot_process: HttpBot, fake_slack: FakeSlack) -> None:
    body, headers = SlackSigner("not-the-signing-secret").slash_command(
        "help", user_id="UREQ1", channel_id="C1", response_url=fake_slack.response_url("forged")
    )

    status, _ = post(bot_process.events_url, body, headers)

    assert status == 401
    assert fake_slack.responses("forged") == []


def test_an_unsigned_request_is_refused(bot_process: HttpBot, fake_slack: FakeSlack) -> None:
    body, headers = SlackSigner(SIGNING_SECRET).slash_command(
        "help", user_id="UREQ1", channel_id="C1", response_url=fake_slack.response_url("unsigned")
    )
    unsigned = {key: value for key, value in headers.items() if not key.startswith("X-Slack-")}

    status, _ = post(bot_process.events_url, body, unsigned)

    assert status == 401
    assert fake_slack.responses("unsigned") == []


def test_sigterm_stops_the_bot_with_exit_code_zero(bot_process: HttpBot) -> None:
    code = bot_process.terminate()

    assert code == 0, bot_process.stderr()
    assert "Traceback" not in bot_process.stderr()


def test_the_log_never_shows_the_token_or_the_signing_secret(bot_process: HttpBot, fake_slack: FakeSlack) -> None:
    body, headers = SlackSigner(SIGNING_SECRET).slash_command(
        "help", user_id="UREQ1", channel_id="C1", response_url=fake_slack.response_url("help")
    )
    post(bot_process.events_url, body, headers)
    fake_slack.wait_for_response("help")

    bot_process.terminate()

    output = bot_process.stderr() + bot_process.stdout()
    assert BOT_TOKEN not in output
    assert SIGNING_SECRET not in output


# --- the health check, in-process ----------------------------------------------------------------


def healthz_environ() -> dict:
    environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}
    setup_testing_defaults(environ)  # the rest of a valid WSGI environ, naming 127.0.0.1
    return environ


def call_wsgi(application, environ: dict) -> tuple[str, dict[str, str], bytes]:
    started: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        started.update(status=status, headers=dict(headers))

    body = b"".join(application(environ, start_response))
    return started["status"], started["headers"], body


def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    database = open_database(UNREACHABLE_DATABASE_URL)
    bolt = App(token_verification_enabled=False, signing_secret="x", token="xoxb-x")
    try:
        started = time.monotonic()
        status, headers, body = call_wsgi(wsgi_app(bolt, database), healthz_environ())
        elapsed = time.monotonic() - started
    finally:
        database.dispose()

    assert status.startswith("503")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] != "ok"
    assert elapsed < 10
