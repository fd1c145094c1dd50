"""The bot as deployed by default: `eco-bot run` in Socket Mode, as a real subprocess.

With SLACK_APP_TOKEN set (and no SLACK_SIGNING_SECRET) the bot picks Socket Mode by itself, calls
`apps.connections.open` on the fake Web API with its app token, opens a websocket to the URL it gets back
(the fake Socket Mode endpoint), and from then on receives Slack's requests as envelopes on that socket,
acknowledging each one by its envelope_id. All traffic stays on 127.0.0.1.

One bot process serves the first four tests (its start is most of the cost); the SIGTERM test stops it, so
it comes last among them. Then: a refused app token (its own short-lived process), and the fake's
apps.connections.open rules, in-process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSigner
from tests.fakes.socket_mode import FakeSocketMode, payload_from_http_body
from tests.harness import message_text
from tests.processes import BotProcess, process_env

BOT_TOKEN = "xoxb-socket-test-token"
APP_TOKEN = "xapp-1-A1-socket-test-token"
STARTUP_TIMEOUT = 60.0
CHANNEL = "C1"
FIRST_QUESTION = "Reply in this thread with the bucket"


class SocketModeBot(BotProcess):
    """`eco-bot run` with no --mode: with an app token and no signing secret it must pick Socket Mode."""

    def __init__(self, workdir: Path, slack: FakeSlack) -> None:
        super().__init__(
            workdir,
            ["run"],
            ECO_SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            DATABASE_URL=f"sqlite:///{workdir / 'eco-bot.db'}",
        )


def wait_until_connected(bot: SocketModeBot, endpoint: FakeSocketMode, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait for the bot's websocket; fail with its stderr if it exits or never connects."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bot.fail_if_exited("before connecting")
        try:
            endpoint.wait_for_connection(timeout=0.2)
            return
        except AssertionError:
            pass  # not yet
    pytest.fail(f"the bot did not open a Socket Mode connection within {timeout}s:\n{bot.stderr()}")


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def endpoint(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as fake:
        slack.socket_mode_url = fake.url
        yield fake


@pytest.fixture(scope="module")
def socket_bot(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack, endpoint: FakeSocketMode) -> Iterator[SocketModeBot]:
    bot = SocketModeBot(tmp_path_factory.mktemp("socket-mode"), slack)
    try:
        wait_until_connected(bot, endpoint)
        yield bot
    finally:
        bot.ensure_stopped()


def slash_command(text: str, *, response_url: str, user_id: str = "UREQ1") -> dict[str, Any]:
    """The payload of a `slash_commands` envelope: the same fields Slack posts over HTTP."""
    body, _ = SlackSigner("unused: Socket Mode payloads are not signed").slash_command(
        text, user_id=user_id, channel_id=CHANNEL, response_url=response_url
    )
    return payload_from_http_body(body)


# --- the running process -------------------------------------------------------------------------


def test_without_mode_or_signing_secret_the_bot_connects_in_socket_mode_with_its_app_token(
    socket_bot: SocketModeBot, slack: FakeSlack, endpoint: FakeSocketMode
) -> None:
    with socket_bot.explained():
        opens = slack.calls("apps.connections.open")
        assert opens, f"apps.connections.open was never called:\n{slack.describe_calls()}"
        assert [(call.token, call.ok) for call in opens] == [(APP_TOKEN, True)]
        assert {call.token for call in slack.calls("auth.test")} == {BOT_TOKEN}

        (connection,) = endpoint.connections()
        url = urlsplit(endpoint.url)
        assert connection.path == f"{url.path}?{url.query}"  # the URL apps.connections.open handed out
        assert connection.is_open
        assert endpoint.sent()[0]["type"] == "hello"
        assert "connecting to Slack in Socket Mode" in socket_bot.stderr()


def test_a_help_command_envelope_is_acked_and_answered_through_the_response_url(
    socket_bot: SocketModeBot, slack: FakeSlack, endpoint: FakeSocketMode
) -> None:
    envelope_id = endpoint.send("slash_commands", slash_command("help", response_url=slack.response_url("sm-help")))

    with socket_bot.explained():
        ack = endpoint.wait_for_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id}  # an empty ack(); the answer goes to the response_url
        answer = slack.wait_for_response("sm-help")[0].body
        assert "/eco connect" in json.dumps(answer)
        assert answer["response_type"] == "ephemeral"


def test_a_connect_command_envelope_posts_the_root_message_and_the_first_question_in_its_thread(
    socket_bot: SocketModeBot, slack: FakeSlack, endpoint: FakeSocketMode
) -> None:
    envelope_id = endpoint.send("slash_commands", slash_command("connect smoke", response_url=slack.response_url("sm-connect")))

    with socket_bot.explained():
        assert endpoint.wait_for_ack(envelope_id)["envelope_id"] == envelope_id
        (root,) = slack.wait_for(
            "chat.postMessage", lambda params: params.get("channel") == CHANNEL and not params.get("thread_ts")
        )
        assert root.ok and "smoke" in message_text(root.params)
        thread_ts = root.response["ts"]
        slack.wait_for(
            "chat.postMessage",
            lambda params: params.get("thread_ts") == thread_ts and FIRST_QUESTION in message_text(params),
        )
        started = slack.wait_for_response("sm-connect")[0].body
        assert "Started connection #" in json.dumps(started)


def test_sigterm_stops_the_bot_within_ten_seconds_with_exit_code_zero(
    socket_bot: SocketModeBot, endpoint: FakeSocketMode
) -> None:
    code = socket_bot.terminate()

    with socket_bot.explained():
        assert code == 0
        # The socket goes with the process (abruptly, code 1006: the CLI does not close the handler).
        assert endpoint.wait_for_disconnect(timeout=2).close_code is not None
        assert "Traceback" not in socket_bot.stderr()
        output = socket_bot.stderr() + socket_bot.stdout()
        assert APP_TOKEN not in output and BOT_TOKEN not in output


# --- a refused app token ------------------------------------------------------------------------


def _run_to_exit(tmp_path: Path, fake_slack: FakeSlack, app_token: str) -> subprocess.CompletedProcess[str]:
    env = process_env(
        ECO_SLACK_API_URL=fake_slack.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=app_token,
        DATABASE_URL=f"sqlite:///{tmp_path / 'eco-bot.db'}",
    )
    return subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _assert_one_line_naming_the_app_token(result: subprocess.CompletedProcess[str], token: str) -> None:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert any(line.startswith("eco-bot: ") and "SLACK_APP_TOKEN" in line for line in result.stderr.splitlines()), result.stderr
    assert token not in result.stderr


def test_an_app_token_slack_refuses_ends_the_command_with_one_line_naming_it(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.socket_mode_url = "ws://127.0.0.1:9/link/?ticket=never-used&app_id=A1"
    fake_slack.fail("apps.connections.open", "invalid_auth")
    revoked = "xapp-1-revoked-token"

    result = _run_to_exit(tmp_path, fake_slack, revoked)

    assert fake_slack.calls("apps.connections.open")[0].response["error"] == "invalid_auth"
    _assert_one_line_naming_the_app_token(result, revoked)


def test_a_bot_token_pasted_as_the_app_token_is_refused_before_any_call(tmp_path: Path, fake_slack: FakeSlack) -> None:
    pasted_bot_token = "xoxb-pasted-where-the-app-token-goes"

    result = _run_to_exit(tmp_path, fake_slack, pasted_bot_token)

    _assert_one_line_naming_the_app_token(result, pasted_bot_token)
    assert "xapp-" in result.stderr and not fake_slack.calls()


# --- the fakes' side of the handshake, in-process ------------------------------------------------


def test_apps_connections_open_wants_an_app_token_in_the_authorization_header() -> None:
    with FakeSlack() as fake:
        fake.socket_mode_url = "ws://127.0.0.1:9/link/?ticket=t&app_id=A1"

        assert WebClient(base_url=fake.api_url).apps_connections_open(app_token=APP_TOKEN)["url"] == fake.socket_mode_url
        with pytest.raises(SlackApiError) as bot_token:
            WebClient(base_url=fake.api_url).apps_connections_open(app_token=BOT_TOKEN)
        with pytest.raises(SlackApiError) as as_parameter:  # token=xapp-... in the form body, no header
            WebClient(base_url=fake.api_url).api_call("apps.connections.open", data={"token": APP_TOKEN})

    assert bot_token.value.response["error"] == "not_allowed_token_type"
    assert as_parameter.value.response["error"] == "invalid_auth"
