"""Turns the engine's `Message` into Slack Block Kit and mrkdwn.

All text is escaped here (`&`, `<`, `>`), so `<!channel>` or `<@U123>` typed by a user is shown, never
acted on. Only `Mention`, `Link` and `ThreadLink`, which the engine builds from validated values, become live
markup. A `ThreadLink` becomes the thread's permalink when the caller knows the workspace's URL (from
`auth.test`), else an `app_redirect` link that opens the channel.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any
from urllib.parse import quote, urlencode

from bot.engine.content import (
    Bold,
    ButtonKind,
    Buttons,
    Checklist,
    Code,
    Heading,
    Inline,
    Link,
    Mention,
    Message,
    Paragraph,
    Rich,
    Status,
    Tag,
    Text,
    ThreadLink,
    Time,
)

ACTION_IDS = {ButtonKind.APPROVE: "eco_approve", ButtonKind.REJECT: "eco_reject"}
ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
    Status.PENDING: "⏳",
    Status.TODO: "▫️",
    Status.CURRENT: "👉",
}
SECTION_LIMIT = 3000  # Slack refuses section text longer than this
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
# What Slack ids and workspace URLs look like; anything else gets the link that needs neither.
_CHANNEL_ID = re.compile(r"[A-Z0-9]{2,32}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_WORKSPACE_URL = re.compile(r"https://[a-z0-9.-]+\.slack(-gov)?\.com/")


def escape(text: str) -> str:
    """Slack's three control characters, per https://api.slack.com/reference/surfaces/formatting#escaping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bold(value: str) -> str:
    # An asterisk inside would end the bold early; a look-alike keeps the text readable.
    return "*" + escape(value).replace("*", "∗") + "*"


def _code(value: str) -> str:
    # A backtick inside would end the code span early; a look-alike keeps the value readable.
    return "`" + escape(value).replace("`", "ˋ") + "`"


def thread_url(channel: str, thread: str, workspace_url: str | None = None) -> str:
    """The thread's permalink (the form `chat.getPermalink` answers with) on the workspace's URL; without a
    usable URL, `app_redirect`, which Slack documents for opening a channel (it cannot open a thread)."""
    if workspace_url and _WORKSPACE_URL.fullmatch(workspace_url) and _CHANNEL_ID.fullmatch(channel) and _TS.fullmatch(thread):
        return f"{workspace_url}archives/{channel}/p{thread.replace('.', '')}"
    return "https://slack.com/app_redirect?" + urlencode({"channel": channel}, quote_via=quote)


def inline(part: Inline, workspace_url: str | None = None) -> str:
    match part:
        case Text(value):
            return escape(value)
        case Bold(value):
            return _bold(value)
        case Code(value):
            return _code(value)
        case Mention(user_id):
            return f"<@{user_id}>"
        case Link(url, label):
            return f"<{escape(url).replace('|', '%7C')}|{escape(label).replace('|', '¦')}>"
        case ThreadLink(channel, thread, label):
            return inline(Link(thread_url(channel, thread, workspace_url), label))
        case Time(at):
            fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"
    raise TypeError(f"unknown inline piece {part!r}")


def mrkdwn(line: Rich, workspace_url: str | None = None) -> str:
    return "".join(inline(part, workspace_url) for part in line)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blocks(message: Message, *, workspace_url: str | None = None) -> list[dict[str, Any]]:
    """`workspace_url` (auth.test's `url`) turns thread links into permalinks; see `thread_url`."""
    out: list[dict[str, Any]] = []
    for block in message.blocks:
        match block:
            case Heading(text):
                out.append({"type": "header", "text": {"type": "plain_text", "text": _truncate(text, HEADER_LIMIT)}})
            case Paragraph(line):
                out.append(_section(mrkdwn(line, workspace_url)))
            case Checklist(items):
                lines = []
                for item in items:
                    line = f"{ICONS[item.status]} {_bold(item.name)}"
                    if item.detail:
                        line += f": {mrkdwn(item.detail, workspace_url)}"
                    if item.fix:
                        line += f"\n      ↳ _Fix:_ {mrkdwn(item.fix, workspace_url)}"
                    lines.append(line)
                out.extend(_section(chunk) for chunk in _chunks(lines, SECTION_LIMIT))
            case Buttons(buttons):
                out.append(
                    {
                        "type": "actions",
                        "block_id": "eco_decision",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": ACTION_IDS[button.kind],
                                "text": {"type": "plain_text", "text": button.label},
                                "value": button.value,
                                **({"style": "primary"} if button.kind is ButtonKind.APPROVE else {"style": "danger"}),
                            }
                            for button in buttons
                        ],
                    }
                )
    return out


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Join lines into as few texts of at most `limit` characters as fit: a long checklist spans several
    sections instead of being cut off (a single over-long line is still truncated by `_section`)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, SECTION_LIMIT)}}


def fallback_text(message: Message) -> str:
    """The notification text (also what screen readers and old clients show)."""
    return _truncate(mrkdwn(message.summary), FALLBACK_LIMIT)


NOTICE_EVENT = "eco_notice"


def metadata(message: Message) -> dict[str, Any] | None:
    """Slack message metadata naming the notice a post delivers (connection and kind), so that the post can be
    recognised in its thread or channel later."""
    if message.tag is None:
        return None
    return {"event_type": NOTICE_EVENT, "event_payload": {"connection_id": message.tag.connection_id, "notice": message.tag.kind}}


def has_tag(found: dict[str, Any], tag: Tag) -> bool:
    """Whether a message returned by conversations.replies/history carries `tag` in its metadata."""
    data = found.get("metadata") or {}
    payload = data.get("event_payload") or {}
    return (
        data.get("event_type") == NOTICE_EVENT
        and str(payload.get("connection_id")) == str(tag.connection_id)
        and payload.get("notice") == tag.kind
    )


# --- the rejection form ------------------------------------------------------------------------------

REJECT_CALLBACK = "eco_reject_reason"
REASON_BLOCK = "reason"
REASON_LIMIT = 500


def reject_modal(value: str, channel: str, message: str | None = None) -> dict[str, Any]:
    """The modal asking a rejecter why; it carries the button's value, channel and message back in private_metadata."""
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": json.dumps({"value": value, "channel": channel, "message": message or ""}),
        "title": {"type": "plain_text", "text": "Reject the connection"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why? The requester reads this in the thread, to correct it."},
                "element": {"type": "plain_text_input", "action_id": REASON_BLOCK, "multiline": True, "max_length": REASON_LIMIT},
            }
        ],
    }


def reject_reason(view: dict[str, Any]) -> str:
    value = (((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}).get(REASON_BLOCK) or {}
    return " ".join(str(value.get("value") or "").split())[:REASON_LIMIT]


def reject_metadata(view: dict[str, Any]) -> tuple[str, str, str]:
    """The button value, channel and message the modal was opened for ("" when the metadata is not ours)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
        return str(data.get("value") or ""), str(data.get("channel") or ""), str(data.get("message") or "")
    except (ValueError, AttributeError):
        return "", "", ""
