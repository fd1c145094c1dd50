"""The engine's `Chat` and `Directory` ports, implemented with slack_sdk's WebClient."""

from __future__ import annotations

import threading

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.content import Message
from bot.engine.ports import ChatError
from bot.slack import render

GROUP_CACHE_SECONDS = 60.0


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
        self._workspace: tuple[str, str] | None = None  # (team id, URL), from the first auth.test that answered

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

    def publish_home(self, team: str, user: str, message: Message) -> None:
        view = {"type": "home", "blocks": render.blocks(message, workspace_url=self._workspace_url(team))}
        _call(self.client.views_publish, user_id=user, view=view)

    def _workspace_url(self, team: str) -> str | None:
        """The workspace's URL (`https://acme.slack.com/`), for thread permalinks: one auth.test, remembered,
        instead of a chat.getPermalink per connection. None (links open the channel instead) when Slack does
        not answer, or the token belongs to another workspace than `team`."""
        if self._workspace is None:
            try:
                answer = _call(self.client.auth_test)
            except ChatError:
                return None  # asked again next time: a passing failure must not cost the permalinks for good
            self._workspace = (str(answer.get("team_id") or ""), str(answer.get("url") or ""))
        team_id, url = self._workspace
        return url if team_id == team and url else None


class SlackDirectory:
    """User-group members from Slack, remembered briefly: a burst of clicks costs one call per group, and a
    member removed from a group loses their rights within GROUP_CACHE_SECONDS. Failures are not remembered."""

    def __init__(self, client: WebClient, *, ttl: float = GROUP_CACHE_SECONDS):
        self.client = client
        self._members: TTLCache[str, frozenset[str]] = TTLCache(maxsize=256, ttl=ttl)
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._members.get(group_id)
        if cached is not None:
            return cached
        response = _call(self.client.usergroups_users_list, usergroup=group_id)
        members = frozenset(response.get("users", []))
        with self._lock:
            self._members[group_id] = members
        return members
