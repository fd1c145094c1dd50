"""Plain-text rendering for a terminal: checklists with a word for each status (no emoji needed), and
every value stripped of control characters so that nothing AWS or a person typed can move the cursor,
recolour the screen or fake a line of output.
"""

from __future__ import annotations

import re

from bot.engine.content import Buttons, Checklist, Heading, Item, Message, Paragraph, Rich, Status, plain

LABELS = {
    Status.PASS: "PASS",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.PENDING: "PENDING",
    Status.TODO: "TODO",
    Status.CURRENT: "RUNNING",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """Text fit to print: control characters (ANSI escapes, bidi overrides, ...) become '?'."""
    return _CONTROL.sub("?", text)


def line(value: Rich) -> str:
    return safe(plain(value))


def checklist(items: list[Item]) -> list[str]:
    """One line per check (`[FAIL] name: what was found`), then its fix indented below."""
    width = max(len(label) for label in LABELS.values()) + 2
    out = []
    for item in items:
        text = f"{f'[{LABELS[item.status]}]':<{width}} {safe(item.name)}"
        if item.detail:
            text += f": {line(item.detail)}"
        out.append(text)
        if item.fix:
            out.append(f"{'':<{width}}   fix: {line(item.fix)}")
    return out


def message(value: Message) -> list[str]:
    """A whole message as lines: headings underlined, paragraphs, checklists, and buttons as the words to type."""
    out: list[str] = []
    for block in value.blocks:
        match block:
            case Heading(text):
                out += [safe(text), "-" * min(len(text), 72)]
            case Paragraph(text):
                out.append(line(text))
            case Checklist(items):
                out += checklist(list(items))
            case Buttons(buttons):
                # The terminal's buttons are words to type: `approve 3` (the value's round is implied).
                out.append("   ".join(f"[{safe(b.label)}: type `{b.kind.value} {safe(b.value.split(':')[0])}{' <reason>' if b.kind.value == 'reject' else ''}`]" for b in buttons))
    return out or [line(value.summary)]
