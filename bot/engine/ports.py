"""The engine's view of the outside world: chat, the workspace directory, AWS and the clock.

Each port is a Protocol; adapters (Slack, the terminal, boto3) implement them and tests may substitute
their own. The engine imports nothing from Slack or boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.engine.content import Item, Message, Tag
from bot.engine.identifiers import RoleArn


class ChatError(Exception):
    """The chat service refused a call. `code` is its machine-readable reason (e.g. `not_in_channel`)."""

    def __init__(self, code: str, *, retry_after: float | None = None, delivered: bool | None = False):
        super().__init__(code)
        self.code = code
        # Rate limited: the service's Retry-After, in seconds.
        self.retry_after = retry_after
        # Whether the call may have taken effect anyway: False when the service answered with a refusal,
        # None when it did not answer (a timeout: a post may have gone through).
        self.delivered = delivered


class Chat(Protocol):
    def post(self, channel: str, message: Message, *, thread: str | None = None) -> str:
        """Post a message and return its id (Slack: ts)."""

    def update(self, channel: str, message_id: str, message: Message) -> None:
        """Replace a message the bot posted earlier."""

    def whisper(self, channel: str, user: str, message: Message, *, thread: str | None = None) -> None:
        """Show a message to one user only (Slack: ephemeral)."""

    def direct(self, user: str, message: Message) -> str:
        """Send a direct message to a user."""

    def direct_channel(self, user: str) -> str:
        """The channel of the bot's direct messages with a user (opened if need be)."""

    def find_tagged(self, channel: str, tag: Tag, *, thread: str | None = None, since: datetime | None = None) -> str | None:
        """The id of a message the bot posted with `tag` (in `thread`, or in the channel since `since`), or None.
        How a notice that may have been posted by a process that died is recognised instead of posted twice."""

    def publish_home(self, team: str, user: str, message: Message) -> None:
        """Show `message` as the bot's home page for one user of a workspace (Slack: the App Home tab)."""


class Directory(Protocol):
    def group_members(self, group_id: str) -> frozenset[str]:
        """The user IDs in a user group. Raises on any failure: the caller treats that as 'not a member'."""


class Verifier(Protocol):
    """Checks a connection's answers against AWS. Each call returns checklist lines; never raises."""

    def check_bucket(self, bucket: str) -> list[Item]: ...

    def check_role(
        self, role: RoleArn, external_id: str, bucket: str, progress: Callable[[list[Item]], None] | None = None
    ) -> list[Item]:
        """The role step's checks; `progress` (if given) receives the checklist so far as lines finish."""

    def check_arrival(self, role: RoleArn, external_id: str, bucket: str) -> list[Item]:
        """Whether report data has arrived and can be read through the role (the end of the processing window)."""

    def trusted_principal(self) -> str | None:
        """The ARN the customer's role must trust, or None when it cannot be determined."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who did something, and where: the workspace, the channel and the user."""

    team: str
    user: str
    channel: str
