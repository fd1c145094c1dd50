"""Tests of the Slack test doubles themselves: the fake Web API and the signed request builders.

Every Web API test goes through a real slack_sdk WebClient, so these also pin down
that the fake speaks the wire format the SDK actually uses.
"""

import json
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSigner, post

SECRET = "test-signing-secret"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Trip* to Berlin"}}]
METADATA = {"event_type": "eco_request", "event_payload": {"request_id": "R42"}}


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake):
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def test_binds_loopback_on_an_ephemeral_port(fake):
    assert fake.api_url.startswith("http://127.0.0.1:")
    assert fake.api_url.endswith("/api/")
    assert fake.response_url("r1").startswith(fake.api_url[: -len("api/")] + "response/")


def test_auth_test_identifies_the_bot(client, fake):
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"], answer["team"]) == ("UBOT", "BBOT", "T1", "Acme")
    assert fake.calls("auth.test")[0].token == "xoxb-test"


def test_post_message_timestamps_are_unique_and_increasing(client):
    before = time.time()
    stamps = [client.chat_postMessage(channel="C1", text=f"n{i}")["ts"] for i in range(5)]
    assert before - 1 <= float(stamps[0]) <= time.time() + 1  # the time of the post, as on Slack
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)


def test_post_message_records_and_echoes_blocks_and_metadata(client, fake):
    answer = client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS, metadata=METADATA, thread_ts="1.0")

    assert answer["channel"] == "C1"
    assert answer["message"]["blocks"] == BLOCKS
    assert answer["message"]["metadata"] == METADATA
    assert answer["message"]["thread_ts"] == "1.0"
    (call,) = fake.calls("chat.postMessage")
    assert call.params["blocks"] == BLOCKS
    assert call.params["metadata"] == METADATA
    assert call.ok


def test_form_encoded_json_fields_are_decoded(client, fake):
    # api_call(params=...) sends a form body, where blocks arrive as a JSON string.
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(BLOCKS)})
    assert fake.calls("chat.postMessage")[0].params["blocks"] == BLOCKS


def test_default_answers(client, fake):
    fake.usergroups["S123"] = ["U1", "U2"]

    assert client.chat_update(channel="C1", ts="5.0", text="new")["ts"] == "5.0"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert client.usergroups_users_list(usergroup="S123")["users"] == ["U1", "U2"]
    assert client.users_info(user="U7")["user"]["id"] == "U7"
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]
    assert client.api_call("reactions.add", params={"channel": "C1", "name": "x", "timestamp": "1.0"})["ok"]


def test_unknown_usergroup_is_no_such_subteam(client):
    with pytest.raises(SlackApiError) as raised:
        client.usergroups_users_list(usergroup="SNOPE")
    assert raised.value.response["error"] == "no_such_subteam"


def test_fail_hits_only_matching_calls_and_only_n_times(client, fake):
    fake.fail("chat.postMessage", "not_in_channel", when=lambda p: p.get("channel") == "CNOTIN", times=1)

    assert client.chat_postMessage(channel="C1", text="fine")["ok"]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="CNOTIN", text="no")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="CNOTIN", text="now it works")["ok"]
    assert [c.ok for c in fake.calls("chat.postMessage")] == [True, False, True]


def test_rate_limit_is_retried_after_retry_after(fake):
    client = WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler()])
    fake.rate_limit("chat.postMessage", retry_after=1, times=1)

    assert client.chat_postMessage(channel="C1", text="eventually")["ok"]
    limited, succeeded = fake.calls("chat.postMessage")
    assert (limited.status, limited.response["error"]) == (429, "ratelimited")
    assert succeeded.ok
    assert succeeded.at - limited.at >= 1.0


def test_rate_limit_without_retry_handler_surfaces_retry_after(client, fake):
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_conversations_replies_returns_thread_with_metadata(client, fake):
    root = client.chat_postMessage(channel="C1", text="root", metadata=METADATA)["ts"]
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=root, metadata=METADATA)["ts"]
    client.chat_postMessage(channel="C1", text="elsewhere")
    client.chat_postMessage(channel="C2", text="other channel", thread_ts=root)

    messages = client.conversations_replies(channel="C1", ts=root, include_all_metadata=True)["messages"]

    assert [m["ts"] for m in messages] == [root, reply]
    assert all(m["metadata"] == METADATA for m in messages)
    assert messages[0]["reply_count"] == 1


def test_conversations_replies_hides_metadata_unless_asked(client):
    root = client.chat_postMessage(channel="C1", text="root", metadata=METADATA)["ts"]
    (message,) = client.conversations_replies(channel="C1", ts=root)["messages"]
    assert "metadata" not in message


def test_conversations_replies_includes_seeded_user_root(client, fake):
    fake.add_message("C1", "1699999999.000100", user="U1", text="user root")
    client.chat_postMessage(channel="C1", text="bot reply", thread_ts="1699999999.000100")
    messages = client.conversations_replies(channel="C1", ts="1699999999.000100")["messages"]
    assert [m["text"] for m in messages] == ["user root", "bot reply"]


def test_calls_without_bot_token_are_not_authed(fake):
    for token in (None, "xoxp-user-token"):
        with pytest.raises(SlackApiError) as raised:
            WebClient(token=token, base_url=fake.api_url).chat_postMessage(channel="C1", text="x")
        assert raised.value.response["error"] == "not_authed"


def test_wait_for_polls_until_the_call_arrives_and_explains_timeouts(client, fake):
    client.chat_postMessage(channel="C1", text="one")
    (call,) = fake.wait_for("chat.postMessage", lambda p: p["text"] == "one", timeout=1)
    assert call.params["channel"] == "C1"

    with pytest.raises(AssertionError, match="chat.postMessage -> 200 ok"):
        fake.wait_for("chat.postMessage", count=2, timeout=0.1)


def test_reset_forgets_calls_but_not_messages(client, fake):
    root = client.chat_postMessage(channel="C1", text="root")["ts"]
    fake.reset()
    assert fake.calls() == []
    assert client.conversations_replies(channel="C1", ts=root)["messages"][0]["text"] == "root"


def test_response_url_records_what_is_posted(fake):
    status, _ = post(fake.response_url("cmd1"), json.dumps({"text": "done"}), {"Content-Type": "application/json"})
    assert status == 200
    assert [r.body for r in fake.responses("cmd1")] == [{"text": "done"}]
    assert fake.wait_for_response("cmd1", lambda b: b["text"] == "done", timeout=1)


def test_signed_requests_verify_and_tampering_is_caught(fake):
    signer = SlackSigner(SECRET)
    verifier = SignatureVerifier(SECRET)
    built = [
        signer.slash_command("new trip", user_id="U1", channel_id="C1", response_url=fake.response_url("c")),
        signer.message_event("hello", user_id="U1", channel_id="C1", ts="1.000100", thread_ts="1.000000"),
        signer.block_action("approve", "R42", user_id="U2", channel_id="C1", message_ts="1.0", response_url="x"),
        signer.app_home_opened("U1"),
    ]
    for body, headers in built:
        assert verifier.is_valid_request(body, headers)
        assert not verifier.is_valid_request(body.replace("U1", "U9").replace("U2", "U9"), headers)
    assert not SignatureVerifier("other-secret").is_valid_request(*built[0])


def test_request_shapes_match_what_slack_sends():
    signer = SlackSigner(SECRET)

    body, headers = signer.slash_command("hi", user_id="U1", channel_id="C1", response_url="http://r")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    assert (form["command"], form["text"], form["response_url"]) == ("/eco", "hi", "http://r")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"

    body, headers = signer.message_event("m", user_id="U1", channel_id="C1", ts="2.0", event_id="Ev1", retry_num=1)
    envelope = json.loads(body)
    assert envelope["event_id"] == "Ev1"
    assert envelope["authorizations"][0]["user_id"] == "UBOT"
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert json.loads(signer.message_event("m", user_id="U1", channel_id="C1", ts="3.0")[0])["event_id"] != "Ev1"

    body, _ = signer.block_action("approve", "R42", user_id="U2", channel_id="C1", message_ts="1.0",
                                  response_url="http://r", thread_ts="0.5")
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "approve" and payload["actions"][0]["value"] == "R42"
    assert payload["container"]["thread_ts"] == "0.5"


def test_stale_timestamps_are_refused_by_the_verifier():
    signed = SlackSigner(SECRET).sign("{}", "application/json", timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request("{}", signed)
