"""What the bot says, as plain data that any chat adapter can render.

The engine never writes Slack markup. It builds a `Message` out of blocks (paragraphs, checklists, buttons)
whose text is made of inline pieces. Every piece of text is literal: an adapter escapes it for its own
markup, so nothing a user typed can turn into a mention, a channel ping or a link. Only `Mention`, `Link` and
`ThreadLink` produce live markup, and the engine builds those from validated IDs and URLs, never from user text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

# --- inline pieces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Bold:
    value: str


@dataclass(frozen=True)
class Code:
    """A value shown verbatim (a bucket name, an ARN). Long values are shortened by `shorten`."""

    value: str


@dataclass(frozen=True)
class Mention:
    user_id: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class ThreadLink:
    """A link to a conversation's thread, by the chat's own ids. The adapter knows how its chat addresses a
    thread (Slack: a permalink on the workspace's URL), so the engine never builds a chat URL itself."""

    channel: str
    thread: str
    label: str


@dataclass(frozen=True)
class Time:
    """A moment, rendered in the reader's own time zone where the chat supports it."""

    at: datetime


Inline = Text | Bold | Code | Mention | Link | ThreadLink | Time
Rich = tuple[Inline, ...]


def rich(*parts: Inline | str) -> Rich:
    """Build a line: plain strings become `Text`."""
    return tuple(Text(part) if isinstance(part, str) else part for part in parts)


def shorten(value: str, limit: int = 80) -> str:
    """Keep echoed user input short: a 10 kB paste is not repeated back in full."""
    value = value.replace("\n", " ").replace("\r", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def plain(line: Rich) -> str:
    """The line as plain text (for logs, notification fallbacks and the terminal)."""
    out = []
    for part in line:
        match part:
            case Mention(user_id):
                out.append(f"@{user_id}")
            case Link(url, label):
                out.append(f"{label} ({url})")
            case ThreadLink(_, _, label):
                out.append(label)
            case Time(at):
                out.append(at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
            case _:
                out.append(part.value)
    return "".join(out)


# --- blocks --------------------------------------------------------------------------------------


class Status(StrEnum):
    """The state of one line of a checklist."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    PENDING = "pending"  # not run yet, or could not run
    TODO = "todo"  # a step not reached yet
    CURRENT = "current"  # the step being worked on


@dataclass(frozen=True)
class Item:
    """One checklist line: a name, its status, what was found, and the fix when it is not a pass.

    `required` says whether the step must wait for this line to pass. A few checks may stay pending
    without holding the step (the first report data, for instance, takes up to a day to arrive).
    """

    name: str
    status: Status
    detail: Rich = ()
    fix: Rich = ()
    required: bool = True

    @property
    def holds_step(self) -> bool:
        """True when this line stops the step from moving on: a failure, or a required check not passed."""
        return self.status is Status.FAIL or (self.status is Status.PENDING and self.required)


@dataclass(frozen=True)
class Paragraph:
    line: Rich


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Checklist:
    items: tuple[Item, ...]


class ButtonKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Button:
    kind: ButtonKind
    label: str
    value: str


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]


Block = Paragraph | Heading | Checklist | Buttons


@dataclass(frozen=True)
class Tag:
    """Names a post so that it can be found again in its thread (Slack: message metadata)."""

    kind: str
    connection_id: int


@dataclass(frozen=True)
class Message:
    """A whole message. `summary` is the one-line fallback shown in notifications."""

    summary: Rich
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    tag: Tag | None = None

    @classmethod
    def of(cls, *blocks: Block, summary: Rich | str | None = None, tag: Tag | None = None) -> Message:
        if summary is None:
            first = next((b for b in blocks if isinstance(b, (Paragraph, Heading))), None)
            summary = first.line if isinstance(first, Paragraph) else rich(first.text if first else "")
        elif isinstance(summary, str):
            summary = rich(summary)
        return cls(summary=summary, blocks=tuple(blocks), tag=tag)

    @classmethod
    def text(cls, *parts: Inline | str) -> Message:
        line = rich(*parts)
        return cls(summary=line, blocks=(Paragraph(line),))
