"""The engine's view of the outside world: chat, the workspace directory, AWS and the clock.

Each port is a Protocol; adapters (Slack, the terminal, boto3) implement them and tests may substitute
their own. The engine imports nothing from Slack or boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.engine.content import Item, Message
from bot.engine.identifiers import RoleArn


class ChatError(Exception):
    """The chat service refused a call. `code` is its machine-readable reason (e.g. `not_in_channel`)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Chat(Protocol):
    def post(self, channel: str, message: Message, *, thread: str | None = None) -> str:
        """Post a message and return its id (Slack: ts)."""

    def update(self, channel: str, message_id: str, message: Message) -> None:
        """Replace a message the bot posted earlier."""

    def whisper(self, channel: str, user: str, message: Message, *, thread: str | None = None) -> None:
        """Show a message to one user only (Slack: ephemeral)."""

    def direct(self, user: str, message: Message) -> str:
        """Send a direct message to a user."""

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
