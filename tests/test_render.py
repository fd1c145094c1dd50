"""Rendering the engine's `Message` as Slack Block Kit and mrkdwn.

Text that may come from a user is escaped wherever it lands (plain text, bold, code, checklist names,
details and fixes, the notification fallback), so `<!channel>` is shown, never acted on. Only `Mention`,
`Link` and `Time` produce live markup, and a `Link`'s label or URL cannot break out of it. Long text is
cut to Slack's limits, buttons carry the action IDs the app listens for, and a `Tag` becomes metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.content import (
    Bold,
    Button,
    ButtonKind,
    Buttons,
    Checklist,
    Code,
    Heading,
    Item,
    Link,
    Mention,
    Message,
    Paragraph,
    Status,
    Tag,
    Text,
    Time,
    rich,
)
from bot.slack.render import HEADER_LIMIT, SECTION_LIMIT, blocks, fallback_text, has_tag, inline, metadata, mrkdwn

# What a user might type to ping a channel, mention someone, plant a link, or double-decode an entity.
HOSTILE = [
    pytest.param("<!channel>", "&lt;!channel&gt;", id="channel-ping"),
    pytest.param("<@U123>", "&lt;@U123&gt;", id="user-mention"),
    pytest.param("<https://evil|x>", "&lt;https://evil|x&gt;", id="link"),
    pytest.param("&amp;", "&amp;amp;", id="entity"),
]


def section_text(message: Message, index: int = 0) -> str:
    block = blocks(message)[index]
    assert block["type"] == "section"
    return block["text"]["text"]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_text_escaped(typed: str, escaped: str) -> None:
    assert section_text(Message.text("You sent ", typed)) == f"You sent {escaped}"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_bold_escaped(typed: str, escaped: str) -> None:
    assert mrkdwn(rich(Bold(typed))) == f"*{escaped}*"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_code_escaped(typed: str, escaped: str) -> None:
    assert mrkdwn(rich(Code(typed))) == f"`{escaped}`"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_checklist_item_name_escaped(typed: str, escaped: str) -> None:
    text = section_text(Message.of(Checklist((Item(typed, Status.FAIL),))))
    assert text == f"❌ *{escaped}*"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_checklist_item_detail_escaped(typed: str, escaped: str) -> None:
    text = section_text(Message.of(Checklist((Item("Bucket", Status.WARN, detail=rich(typed)),))))
    assert text == f"⚠️ *Bucket*: {escaped}"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_checklist_item_fix_escaped(typed: str, escaped: str) -> None:
    text = section_text(Message.of(Checklist((Item("Bucket", Status.FAIL, fix=rich(typed)),))))
    assert text.endswith(f"_Fix:_ {escaped}")
    assert "<" not in text


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_fallback_text_escaped(typed: str, escaped: str) -> None:
    assert fallback_text(Message.text("You sent ", typed)) == f"You sent {escaped}"


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_fallback_from_heading_escaped(typed: str, escaped: str) -> None:
    assert fallback_text(Message.of(Heading(typed))) == escaped


@pytest.mark.parametrize(("typed", "escaped"), HOSTILE)
def test_explicit_summary_escaped(typed: str, escaped: str) -> None:
    message = Message.of(Paragraph(rich("body")), summary=typed)
    assert fallback_text(message) == escaped


def test_bold_cannot_be_closed_early() -> None:
    assert mrkdwn(rich(Bold("a*b"))) == "*a∗b*"


def test_code_cannot_be_closed_early() -> None:
    assert mrkdwn(rich(Code("a`b"))) == "`aˋb`"


def test_checklist_item_name_cannot_close_bold_early() -> None:
    text = section_text(Message.of(Checklist((Item("#12 prod*billing", Status.PASS),))))
    assert text == "✅ *#12 prod∗billing*"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_renders_without_markup_and_unescapes_to_itself(value: str) -> None:
    rendered = mrkdwn(rich(value))
    assert "<" not in rendered and ">" not in rendered
    assert unescape(rendered) == value


# --- live markup ---------------------------------------------------------------------------------


def test_mention_is_live() -> None:
    assert section_text(Message.text("Approved by ", Mention("U1"))) == "Approved by <@U1>"


def test_link_is_live() -> None:
    assert inline(Link("https://console.aws.amazon.com/", "Open the console")) == (
        "<https://console.aws.amazon.com/|Open the console>"
    )


def test_link_ampersand_in_url_escaped() -> None:
    assert inline(Link("https://x.test/?a=1&b=2", "x")) == "<https://x.test/?a=1&amp;b=2|x>"


@pytest.mark.parametrize(
    ("url", "label"),
    [
        pytest.param("https://ok.test/", "x|<!channel>", id="pipe-in-label"),
        pytest.param("https://ok.test/", "x><!channel>", id="gt-in-label"),
        pytest.param("https://ok.test/a|b", "label", id="pipe-in-url"),
        pytest.param("https://ok.test/a>b<!channel>", "label", id="gt-in-url"),
        pytest.param("https://ok.test/|<https://evil|x>", "y|z>", id="both"),
    ],
)
def test_link_cannot_break_out(url: str, label: str) -> None:
    rendered = inline(Link(url, label))
    assert rendered.startswith("<https://ok.test/")
    assert rendered.endswith(">")
    assert rendered.count("<") == 1
    assert rendered.count(">") == 1
    assert rendered.count("|") == 1


def test_time_renders_slack_date_with_fallback() -> None:
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert inline(Time(at)) == "<!date^1714564800^{date_short_pretty} at {time}|2024-05-01 12:00 UTC>"


def test_time_fallback_is_in_utc_for_other_zones() -> None:
    at = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert inline(Time(at)).endswith("|2024-05-01 12:00 UTC>")


# --- buttons -------------------------------------------------------------------------------------


def test_buttons_carry_action_ids_and_value() -> None:
    message = Message.of(
        Paragraph(rich("Approve connection #7?")),
        Buttons((Button(ButtonKind.APPROVE, "Approve", "7"), Button(ButtonKind.REJECT, "Reject", "7"))),
    )
    actions = blocks(message)[1]
    assert actions["type"] == "actions"
    assert [(e["action_id"], e["value"], e["style"]) for e in actions["elements"]] == [
        ("eco_approve", "7", "primary"),
        ("eco_reject", "7", "danger"),
    ]
    assert [e["text"] for e in actions["elements"]] == [
        {"type": "plain_text", "text": "Approve"},
        {"type": "plain_text", "text": "Reject"},
    ]


# --- Slack's limits ------------------------------------------------------------------------------


def test_long_paragraph_truncated_to_section_limit() -> None:
    text = section_text(Message.text("x" * 5000))
    assert len(text) == SECTION_LIMIT == 3000
    assert text.endswith("…")


def test_paragraph_limit_applies_after_escaping() -> None:
    """1000 '<' become 4000 characters of '&lt;': the limit is on what Slack receives."""
    assert len(section_text(Message.text("<" * 1000))) == SECTION_LIMIT


def test_paragraph_at_limit_kept_whole() -> None:
    assert section_text(Message.text("x" * 3000)) == "x" * 3000


def test_a_long_checklist_spans_several_sections_and_loses_no_line() -> None:
    items = tuple(Item(f"check {n}", Status.PASS, detail=rich("y" * 100)) for n in range(100))
    sections = blocks(Message.of(Checklist(items)))
    assert len(sections) > 1 and all(len(s["text"]["text"]) <= SECTION_LIMIT for s in sections)
    text = "\n".join(s["text"]["text"] for s in sections)
    assert all(f"*check {n}*" in text for n in range(100)) and "…" not in text


def test_one_over_long_line_is_truncated_to_the_section_limit() -> None:
    assert len(section_text(Message.of(Checklist((Item("x", Status.FAIL, detail=rich("y" * 5000)),))))) == SECTION_LIMIT


def test_long_header_truncated() -> None:
    header = blocks(Message.of(Heading("h" * 200)))[0]
    assert header["type"] == "header"
    assert len(header["text"]["text"]) == HEADER_LIMIT == 150
    assert header["text"]["text"].endswith("…")


def test_long_fallback_truncated() -> None:
    assert len(fallback_text(Message.text("z" * 5000))) == 3000


# --- metadata ------------------------------------------------------------------------------------


def test_metadata_from_tag() -> None:
    message = Message.of(Paragraph(rich("The window ended.")), tag=Tag("window_end", 7))
    assert metadata(message) == {"event_type": "eco_notice", "event_payload": {"connection_id": 7, "notice": "window_end"}}


def test_a_tagged_message_is_recognised_by_its_metadata_and_only_by_it() -> None:
    tag = Tag("approval_reminder:2", 7)
    posted = {"ts": "1.000100", "metadata": metadata(Message.of(Paragraph(rich("Reminder")), tag=tag))}

    assert has_tag(posted, tag)
    assert not has_tag(posted, Tag("approval_reminder:3", 7))
    assert not has_tag(posted, Tag("approval_reminder:2", 8))
    assert not has_tag({"ts": "1.000100"}, tag)  # asked without include_all_metadata: no metadata, no match
    assert not has_tag({"metadata": {"event_type": "other_app", "event_payload": {"connection_id": 7, "notice": tag.kind}}}, tag)


def test_no_tag_no_metadata() -> None:
    assert metadata(Message.text("hello")) is None


# --- message builders ----------------------------------------------------------------------------


def test_message_text_is_one_section_and_its_own_fallback() -> None:
    message = Message.text("Hello ", Mention("U1"), Text("!"))
    assert blocks(message) == [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello <@U1>!"}}]
    assert fallback_text(message) == "Hello <@U1>!"


def test_message_of_summary_defaults_to_first_paragraph() -> None:
    message = Message.of(Checklist((Item("a", Status.TODO),)), Paragraph(rich("first")), Paragraph(rich("second")))
    assert fallback_text(message) == "first"
