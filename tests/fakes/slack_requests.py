"""Requests as Slack sends them to the bot, signed with the app's signing secret.

This module owns the inbound side of the Slack fakes: slash commands, Events API
envelopes (``message``, ``app_home_opened``) and ``block_actions`` interactions,
shaped like Slack's own payloads and signed the way Slack signs them, so a Bolt
app verifies and dispatches them exactly as in production. Each builder returns
``(body, headers)``; hand them to ``BoltRequest(body=..., headers=...)`` or send
them over loopback with ``post()``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

Headers = Dict[str, str]
SignedRequest = Tuple[str, Headers]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

API_APP_ID = "A1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_DOMAIN = "acme"
# The legacy verification token Slack still puts in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "legacy-verification-token"


def _unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:12].upper()


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def _now_ts() -> str:
    return f"{time.time():.6f}"


class SlackSigner:
    """Builds signed Slack requests for one app (one signing secret)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._verifier = SignatureVerifier(secret)

    def sign(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: Optional[int] = None,
        retry_num: Optional[int] = None,
    ) -> Headers:
        """Headers Slack sends with ``body``; ``timestamp`` lets a test send a stale request."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self._verifier.generate_signature(timestamp=stamp, body=body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if retry_num is not None:
            # Slack re-delivers events it got no timely 200 for, marking each retry.
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return headers

    # ----- slash commands ----------------------------------------------------

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        team_id: str = "T1",
        command: str = "/eco",
        response_url: str,
        trigger_id: Optional[str] = None,
        channel_name: str = "general",
        user_name: Optional[str] = None,
    ) -> SignedRequest:
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id(),
        }
        body = urlencode(fields)
        return body, self.sign(body, FORM)

    # ----- Events API --------------------------------------------------------

    def message_event(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        ts: str,
        thread_ts: Optional[str] = None,
        team_id: str = "T1",
        event_id: Optional[str] = None,
        subtype: Optional[str] = None,
        bot_id: Optional[str] = None,
        files: Optional[List[Dict[str, Any]]] = None,
        channel_type: str = "channel",
        parent_user_id: Optional[str] = None,
        retry_num: Optional[int] = None,
    ) -> SignedRequest:
        """A ``message`` event; pass the same ``event_id`` with ``retry_num`` to model a Slack retry."""
        event: Dict[str, Any] = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": channel_type,
            "team": team_id,
        }
        if bot_id is None:
            # Typed messages carry a client id and rich_text blocks; bot posts do not.
            event["client_msg_id"] = str(uuid.uuid4())
            event["blocks"] = [_rich_text_block(text)]
        else:
            event.update(bot_id=bot_id, app_id=API_APP_ID)
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            if parent_user_id is not None:
                event["parent_user_id"] = parent_user_id
        if files:
            event.update(files=files, upload=False)
            subtype = subtype or "file_share"  # Slack marks messages with files this way
        if subtype is not None:
            event["subtype"] = subtype
        return self._event(event, team_id=team_id, event_id=event_id, retry_num=retry_num)

    def app_home_opened(
        self,
        user_id: str,
        team_id: str = "T1",
        *,
        event_id: Optional[str] = None,
        tab: str = "home",
    ) -> SignedRequest:
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id,
            "tab": tab,
            "event_ts": _now_ts(),
        }
        return self._event(event, team_id=team_id, event_id=event_id)

    def _event(
        self,
        event: Dict[str, Any],
        *,
        team_id: str,
        event_id: Optional[str],
        retry_num: Optional[int] = None,
    ) -> SignedRequest:
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or _unique("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": _unique("4-"),
        }
        body = json.dumps(envelope)
        return body, self.sign(body, JSON, retry_num=retry_num)

    # ----- interactivity -----------------------------------------------------

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str,
        channel_id: str,
        message_ts: str,
        team_id: str = "T1",
        response_url: str,
        thread_ts: Optional[str] = None,
        block_id: Optional[str] = None,
        message_text: str = "",
        message_blocks: Optional[List[Dict[str, Any]]] = None,
        channel_name: str = "general",
    ) -> SignedRequest:
        """A button click on a bot message, as a form-encoded ``payload=<json>``."""
        block_id = block_id or _unique("b")
        button = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
        message: Dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "team": team_id,
            "ts": message_ts,
            "text": message_text,
            # Without given blocks, the clicked message holds just the clicked button.
            "blocks": message_blocks or [{"type": "actions", "block_id": block_id, "elements": [button]}],
        }
        container: Dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            container["thread_ts"] = thread_ts
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": _trigger_id(),
            "team": {"id": team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel_name},
            "message": message,
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [{**button, "block_id": block_id, "action_ts": _now_ts()}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.sign(body, FORM)


    def view_submission(
        self,
        callback_id: str,
        values: Dict[str, Dict[str, Dict[str, Any]]],
        *,
        user_id: str,
        private_metadata: str = "",
        team_id: str = "T1",
    ) -> SignedRequest:
        """A modal submitted: ``values`` is ``{block_id: {action_id: {"type": ..., "value": ...}}}``, as Slack sends it."""
        payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": _trigger_id(),
            "view": {
                "id": _unique("V"),
                "team_id": team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": _unique("h"),
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.sign(body, FORM)


def _rich_text_block(text: str) -> Dict[str, Any]:
    return {
        "type": "rich_text",
        "block_id": _unique("rt")[:7],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def post(url: str, body: str, headers: Headers, timeout: float = 10.0) -> Tuple[int, str]:
    """POST ``body`` to a loopback URL; return (status, body text), HTTP errors included."""
    request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
