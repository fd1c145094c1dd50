"""The bot's one typed settings object, read from the environment and an optional `.env` file.

Settings are built once at start (`load_settings`) and passed down; nothing here runs at import time.
An invalid value becomes a `SettingsError` whose message names the variable and what it expects, so the
command line can print one clear line instead of a traceback. Secrets are `SecretStr`: they never print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

README_HINT = "see README.md, section 'Configuration'"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Slack IDs: users start with U or W (enterprise), user groups with S.
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]+$")
# ECO_TEST_* variables belong to the test suite (e.g. ECO_TEST_POSTGRES_URL), not to the bot.
_NOT_SETTINGS_PREFIX = "ECO_TEST_"
APPROVAL_STEPS = frozenset({"bucket", "role"})
# A token pasted into the wrong variable is a common setup mistake; name where the right one is found.
_TOKEN_KINDS = {
    "slack_bot_token": ("xoxb-", "a bot token (OAuth & Permissions, Bot User OAuth Token)"),
    "slack_app_token": ("xapp-", "an app-level token (Basic Information, App-Level Tokens)"),
}
_PRINCIPAL_ARN = re.compile(r"^arn:aws:iam::\d{12}:(root|(role|user)/[\w+=,.@/-]{1,512})$")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def parse_duration(value: str) -> timedelta:
    """Parse `48h`, `90m`, `5s` or `7d` into a positive timedelta."""
    match = _DURATION.match(value or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError("expected a positive whole number followed by s, m, h or d, such as 48h, 90m or 5s")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`, choosing the largest exact unit (for messages)."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Approvers:
    """A list of people by Slack ID (ECO_APPROVERS, ECO_REQUESTERS), split into user IDs and user-group IDs."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)

    @classmethod
    def parse(cls, raw: str) -> Approvers:
        users: set[str] = set()
        groups: set[str] = set()
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            if _USER_ID.match(item):
                users.add(item)
            elif _GROUP_ID.match(item):
                groups.add(item)
            else:
                raise ValueError(
                    f"{item!r} is not a Slack user ID (U… or W…) or user-group ID (S…); "
                    "use IDs, never display names"
                )
        return cls(frozenset(users), frozenset(groups))


class Settings(BaseSettings):
    """Everything the bot reads from its environment. Field aliases are the user-facing variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,  # Approvers
    )

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    # repr=False: a PostgreSQL URL may carry a password.
    database_url: str = Field("sqlite:///eco-bot.db", alias="DATABASE_URL", repr=False)
    slack_api_url: str = Field("https://slack.com/api/", alias="ECO_SLACK_API_URL")
    processing_window: Annotated[timedelta, NoDecode] = Field(timedelta(hours=48), alias="ECO_PROCESSING_WINDOW")
    approvers: Annotated[Approvers, NoDecode] = Field(default_factory=Approvers, alias="ECO_APPROVERS")
    allow_self_approval: bool = Field(False, alias="ECO_ALLOW_SELF_APPROVAL")
    trusted_principal_arn: str | None = Field(None, alias="ECO_TRUSTED_PRINCIPAL_ARN")
    template_url: str | None = Field(None, alias="ECO_TEMPLATE_URL")
    scheduler_interval: Annotated[timedelta, NoDecode] = Field(timedelta(seconds=30), alias="ECO_SCHEDULER_INTERVAL")
    # Empty means anyone may start a connection, anywhere: unlike ECO_APPROVERS, where empty means nobody.
    requesters: Annotated[Approvers, NoDecode] = Field(default_factory=Approvers, alias="ECO_REQUESTERS")
    allowed_channels: Annotated[frozenset[str], NoDecode] = Field(frozenset(), alias="ECO_ALLOWED_CHANNELS")
    required_approvals: int = Field(1, ge=1, le=10, alias="ECO_REQUIRED_APPROVALS")
    approval_steps: Annotated[frozenset[str], NoDecode] = Field(frozenset({"role"}), alias="ECO_APPROVAL_STEPS")
    approval_reminder: Annotated[timedelta, NoDecode] = Field(timedelta(hours=4), alias="ECO_APPROVAL_REMINDER")
    # A question left unanswered: one reminder to the requester, then the conversation expires.
    reminder_after: Annotated[timedelta, NoDecode] = Field(timedelta(hours=24), alias="ECO_REMINDER_AFTER")
    expire_after: Annotated[timedelta, NoDecode] = Field(timedelta(days=7), alias="ECO_EXPIRE_AFTER")
    notify_channel: str | None = Field(None, alias="ECO_NOTIFY_CHANNEL")
    # How long a replica's claim on a notice holds before another replica may take it over (it died).
    notice_lease: Annotated[timedelta, NoDecode] = Field(timedelta(minutes=2), alias="ECO_NOTICE_LEASE")
    shutdown_timeout: Annotated[timedelta, NoDecode] = Field(timedelta(seconds=20), alias="ECO_SHUTDOWN_TIMEOUT")
    # 0: the work after each acknowledgement runs in the serving process; N: in N worker processes (bot/workers.py).
    worker_processes: int = Field(0, ge=0, le=16, alias="ECO_WORKER_PROCESSES")

    @field_validator("approval_steps", mode="before")
    @classmethod
    def _approval_steps(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        steps = frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        unknown = steps - APPROVAL_STEPS
        if unknown or not steps:
            raise ValueError("expected one or both of: bucket, role (the steps after which approval is needed)")
        return steps

    @field_validator(
        "processing_window",
        "scheduler_interval",
        "approval_reminder",
        "reminder_after",
        "expire_after",
        "notice_lease",
        "shutdown_timeout",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("allowed_channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        channels = frozenset(part.strip() for part in value.split(",") if part.strip())
        for channel in channels:
            if not _CHANNEL_ID.match(channel):
                raise ValueError(f"{channel!r} is not a Slack channel ID (C… or G…); use IDs, never #names")
        return channels

    @field_validator("notify_channel")
    @classmethod
    def _notify_channel(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _CHANNEL_ID.match(value.strip()):
            raise ValueError(f"{value!r} is not a Slack channel ID (C… or G…); use the ID, never a #name")
        return value.strip()

    @field_validator("approvers", "requesters", mode="before")
    @classmethod
    def _approvers(cls, value: object) -> object:
        return Approvers.parse(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("expected a SQLAlchemy URL starting with sqlite:// or postgresql+psycopg://")
        # The bare postgresql:// scheme would pick psycopg2, which is not installed; psycopg 3 is.
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("template_url")
    @classmethod
    def _template_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("https://"):
            raise ValueError("expected an https:// URL where the CloudFormation template is hosted")
        return value

    @field_validator("trusted_principal_arn")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _PRINCIPAL_ARN.match(value):
            raise ValueError("expected an IAM role, user or root ARN in the aws partition, e.g. arn:aws:iam::123456789012:role/eco")
        return value

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        prefix, what = _TOKEN_KINDS[info.field_name]
        if value is not None and not value.get_secret_value().startswith(prefix):
            raise ValueError(f"expected {what} starting with {prefix}")
        return value

    @model_validator(mode="after")
    def _expiry_after_reminder(self) -> Settings:
        if self.expire_after <= self.reminder_after:
            raise ValueError("ECO_EXPIRE_AFTER must be longer than ECO_REMINDER_AFTER (the reminder comes before the expiry)")
        return self

    # --- derived views -------------------------------------------------------------------------

    def token(self, name: Literal["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]) -> str:
        """The secret's value, or a SettingsError naming the missing variable."""
        field = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }[name]
        if field is None:
            raise SettingsError(f"{name} is not set: it is required to run the bot in this mode ({README_HINT}).")
        return field.get_secret_value()


def load_settings(env_file: str | None = ".env", **overrides: object) -> Settings:
    """Build the settings once, turning pydantic's report into one line that names the variable.

    An ECO_* variable the bot does not know is refused too: a typo in a permission setting (ECO_APROVERS)
    must not silently leave its default in force.
    """
    unknown = unknown_variables(env_file)
    if unknown:
        raise SettingsError("; ".join(unknown) + f" ({README_HINT}).")
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            variable = _variable_name(item.get("loc", ()))
            message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
            if item.get("type") == "bool_parsing":
                message = "expected true or false"
            problems.append(message if variable == "settings" else f"{variable}: {message}")  # a rule across settings names its own
        raise SettingsError("; ".join(problems) + f" ({README_HINT}).") from None


def _variable_name(location: tuple) -> str:
    if not location:
        return "settings"
    field = Settings.model_fields.get(str(location[0]))
    return (field.alias if field and field.alias else str(location[0])).upper()


def unknown_variables(env_file: str | None = ".env") -> list[str]:
    """One line per ECO_* variable (in the environment or the .env file) that is not a setting."""
    import difflib
    import os

    from dotenv import dotenv_values

    known = sorted(field.alias for field in Settings.model_fields.values() if field.alias and field.alias.startswith("ECO_"))
    names = set(os.environ)
    if env_file and os.path.exists(env_file):
        names |= set(dotenv_values(env_file))
    problems = []
    for name in sorted(n for n in names if n.upper().startswith("ECO_") and not n.upper().startswith(_NOT_SETTINGS_PREFIX)):
        if name.upper() in known:
            continue
        guess = difflib.get_close_matches(name.upper(), known, n=1)
        problems.append(f"{name} is not a setting of this bot" + (f" (did you mean {guess[0]}?)" if guess else ""))
    return problems
