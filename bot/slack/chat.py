"""The engine's `Chat` and `Directory` ports, implemented with slack_sdk's WebClient."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.content import Message
from bot.engine.ports import ChatError
from bot.slack import render


def _call(method, **kwargs):
    """Call the Web API; every failure becomes a ChatError naming Slack's reason (or that Slack was unreachable)."""
    try:
        return method(**kwargs)
    except SlackApiError as error:
        raise ChatError(str(error.response.get("error", "unknown_error"))) from None
    except OSError as error:  # connection refused, timeouts, DNS: urllib raises OSError subclasses
        raise ChatError(f"slack_unreachable:{type(error).__name__}") from None


class SlackChat:
    def __init__(self, client: WebClient):
        self.client = client

    def post(self, channel: str, message: Message, *, thread: str | None = None) -> str:
        response = _call(
            self.client.chat_postMessage,
            channel=channel,
            thread_ts=thread,
            text=render.fallback_text(message),
            blocks=render.blocks(message),
            metadata=render.metadata(message),
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def update(self, channel: str, message_id: str, message: Message) -> None:
        _call(
            self.client.chat_update,
            channel=channel,
            ts=message_id,
            text=render.fallback_text(message),
            blocks=render.blocks(message),
        )

    def whisper(self, channel: str, user: str, message: Message, *, thread: str | None = None) -> None:
        _call(
            self.client.chat_postEphemeral,
            channel=channel,
            user=user,
            thread_ts=thread,
            text=render.fallback_text(message),
            blocks=render.blocks(message),
        )

    def direct(self, user: str, message: Message) -> str:
        opened = _call(self.client.conversations_open, users=user)
        return self.post(opened["channel"]["id"], message)


class SlackDirectory:
    def __init__(self, client: WebClient):
        self.client = client

    def group_members(self, group_id: str) -> frozenset[str]:
        response = _call(self.client.usergroups_users_list, usergroup=group_id)
        return frozenset(response.get("users", []))
