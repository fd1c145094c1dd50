"""The engine's `Chat` and `Directory` ports, implemented with slack_sdk's WebClient."""

from __future__ import annotations

import threading
from datetime import datetime

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.content import Message, Paragraph, Tag, ThreadLink
from bot.engine.ports import ChatError
from bot.slack import render

GROUP_CACHE_SECONDS = 60.0


def _call(method, **kwargs):
    """Call the Web API; every failure becomes a ChatError naming Slack's reason (or that Slack was unreachable),
    with Retry-After when Slack rate-limited the call."""
    try:
        return method(**kwargs)
    except SlackApiError as error:
        retry_after = None
        if error.response.status_code == 429:
            retry_after = _seconds(error.response.headers.get("Retry-After") or error.response.headers.get("retry-after"))
        raise ChatError(str(error.response.get("error", "unknown_error")), retry_after=retry_after) from None
    except OSError as error:  # connection refused, timeouts, DNS: urllib raises OSError subclasses
        # Slack may have acted on a call whose answer never came back.
        raise ChatError(f"slack_unreachable:{type(error).__name__}", delivered=None) from None


def _seconds(value: object) -> float:
    try:
        return max(float(str(value)), 1.0)
    except ValueError:
        return 30.0  # no usable Retry-After: back off as long as Slack's own short limits last


class SlackChat:
    def __init__(self, client: WebClient):
        self.client = client
        # Notices are posted with no retries at all: a 429 goes back to the scheduler, which moves the notice by
        # Retry-After instead of holding a worker asleep, and a post whose answer was lost is not re-sent blindly
        # (the notice's tag is looked for first).
        self.notice_client = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[])
        self._workspace: tuple[str, str] | None = None  # (team id, URL), from the first auth.test that answered

    def post(self, channel: str, message: Message, *, thread: str | None = None) -> str:
        response = _call(
            (self.notice_client if message.tag else self.client).chat_postMessage,
            channel=channel,
            thread_ts=thread,
            text=render.fallback_text(message),
            # Thread links become permalinks on the workspace's URL (only when the message has one: no auth.test
            # for the posts of the conversation itself).
            blocks=render.blocks(message, workspace_url=self._workspace_url(None) if _links_a_thread(message) else None),
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
        return self.post(self.direct_channel(user), message)

    def direct_channel(self, user: str) -> str:
        return str(_call(self.client.conversations_open, users=user)["channel"]["id"])

    def find_tagged(self, channel: str, tag: Tag, *, thread: str | None = None, since: datetime | None = None) -> str | None:
        """Reads the thread (conversations.replies) or the channel's history since `since` (conversations.history),
        page by page, with the metadata Slack only returns when asked for."""
        cursor = None
        while True:
            if thread is not None:
                page = _call(
                    self.notice_client.conversations_replies,
                    channel=channel, ts=thread, include_all_metadata=True, limit=200, cursor=cursor,
                )
            else:
                oldest = f"{since.timestamp() - 1:.6f}" if since else None  # a second early: clocks differ
                page = _call(
                    self.notice_client.conversations_history,
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor,
                )
            for found in page.get("messages") or []:
                if render.has_tag(found, tag):
                    return str(found["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def publish_home(self, team: str, user: str, message: Message) -> None:
        view = {"type": "home", "blocks": render.blocks(message, workspace_url=self._workspace_url(team))}
        _call(self.client.views_publish, user_id=user, view=view)

    def _workspace_url(self, team: str | None) -> str | None:
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
        return url if team in (team_id, None) and url else None


def _links_a_thread(message: Message) -> bool:
    return any(isinstance(part, ThreadLink) for block in message.blocks if isinstance(block, Paragraph) for part in block.line)


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
