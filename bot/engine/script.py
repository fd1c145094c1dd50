"""Everything the bot says, as `Message` values. No Slack markup here: adapters render and escape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    ThreadLink,
    Time,
    rich,
    shorten,
)
from bot.engine.identifiers import Invalid
from bot.engine.steps import ANSWER_FOR, PHASES, STEPS, Step
from bot.settings import format_duration
from bot.store.models import AuditEvent, Connection, Decision

COMMANDS = (
    ("/eco connect [label]", "start connecting an AWS account, in a thread of this channel"),
    ("/eco status", "every connection in this workspace: where it stands and what it waits for"),
    ("/eco status <id>", "one connection in detail"),
    ("/eco verify <id>", "check a connection against AWS again and post the results in its thread"),
    ("/eco cancel <id>", "stop a connection (its requester or an approver)"),
    ("/eco audit <id>", "a connection's history: who did what and when (its requester or an approver)"),
    ("/eco help", "this list"),
)


def title(connection: Connection) -> str:
    return f"#{connection.id}" + (f" {connection.label}" if connection.label else "")


# --- the root message ------------------------------------------------------------------------


def root(connection: Connection) -> Message:
    """The live checklist at the top of the thread, rebuilt from the connection at every step."""
    step = Step(connection.step)
    info = STEPS[step]
    items = []
    details = _phase_details(connection)
    for index, name in enumerate(PHASES):
        if info.phase < 0:  # cancelled or expired: stopped wherever it was
            status = Status.PASS if index < _reached_phase(connection) else Status.PENDING
        elif info.failed and index == info.phase:
            status = Status.FAIL
        elif index < info.phase:
            status = Status.PASS
        elif index == info.phase:
            status = Status.CURRENT
        else:
            status = Status.TODO
        items.append(Item(name, status, details.get(index, ()) if status is not Status.TODO else ()))
    if info.finished:
        footer = rich("Status: ", Bold(info.label), ".")
    else:
        footer = rich("Waiting for: ", info.waits_for, ".")
    return Message.of(
        Heading(f"Connecting an AWS account to Eco: {title(connection)}"),
        Paragraph(rich("Started by ", Mention(connection.requester_id), ". Follow the steps in the thread.")),
        Checklist(tuple(items)),
        Paragraph(footer),
        summary=rich(f"Eco connection {title(connection)}: {info.label}"),
    )


def _reached_phase(connection: Connection) -> int:
    if connection.window_ends_at:
        return 3
    if connection.role_arn:
        return 2
    return 1 if connection.bucket else 0


def _phase_details(connection: Connection) -> dict[int, tuple]:
    details: dict[int, tuple] = {}
    if connection.bucket:
        details[0] = rich(Code(connection.bucket))
    if connection.role_arn:
        details[1] = rich(Code(connection.role_arn))
    approvals = [d for d in connection.decisions if d.decision == "approve"]
    rejections = [d for d in connection.decisions if d.decision == "reject"]
    if approvals:
        details[2] = rich("approved by ", Mention(approvals[-1].user_id))
    elif rejections:
        details[2] = rich("rejected by ", Mention(rejections[-1].user_id))
    if connection.window_ends_at:
        verb = "ends" if connection.step == Step.PROCESSING else "ended"
        details[3] = rich(f"{verb} ", Time(connection.window_ends_at))
    return details


# --- the questions ----------------------------------------------------------------------------


def ask_bucket(connection: Connection) -> Message:
    return Message.of(
        Heading("Step 1: a Cost and Usage Report delivered to S3"),
        Paragraph(
            rich(
                "In the AWS console of the account to connect (its management account, or a member account with "
                "its own report), switch to the region ",
                Bold("us-east-1"),
                " and open Billing and Cost Management → Data Exports → Create → ",
                Bold("Legacy CUR export"),
                ". Set:",
            )
        ),
        Checklist(
            (
                Item("Time granularity: Hourly", Status.TODO),
                Item("Include resource IDs: on", Status.TODO),
                Item("Refresh automatically (data refresh settings): on", Status.TODO),
                Item("Report data integration: Amazon Athena (this sets Parquet and overwrite)", Status.TODO),
                Item("S3 bucket: in us-east-1", Status.TODO),
            )
        ),
        Paragraph(
            rich(
                "A ",
                Bold("new bucket"),
                " is recommended: the Athena integration removes the bucket's existing S3 event notifications, "
                "and a dedicated bucket keeps Eco's read access limited to billing data.",
            )
        ),
        Paragraph(rich(Bold("Reply in this thread with the bucket's name"), " (just the name, such as ", Code("acme-cur-reports"), ").")),
        summary="Step 1: reply with the name of the S3 bucket your Cost and Usage Report is delivered to.",
    )


def ask_role(connection: Connection, *, link: str | None, principal: str | None, template_configured: bool) -> Message:
    blocks: list = [Heading("Step 2: a read-only role for Eco")]
    if link:
        blocks.append(
            Paragraph(
                rich(
                    "Open the ",
                    Link(link, "CloudFormation quick-create link"),
                    " (region us-east-1, in the same account as the bucket). Its parameters are filled in: keep them. "
                    "Tick ",
                    Bold("I acknowledge that AWS CloudFormation might create IAM resources"),
                    " and press ",
                    Bold("Create stack"),
                    ".",
                )
            )
        )
    else:
        why = (
            "I could not determine which AWS principal the role must trust (my AWS identity did not answer; "
            "the bot's operator can set ECO_TRUSTED_PRINCIPAL_ARN)."
            if template_configured
            else "The quick-create link is not configured (the bot's operator has not set ECO_TEMPLATE_URL)."
        )
        blocks.append(
            Paragraph(
                rich(
                    why,
                    " Ask the operator for the template (`eco-bot template`), then in CloudFormation (us-east-1) "
                    "create a stack from it with these parameters:",
                )
            )
        )
    blocks.append(
        Checklist(
            (
                Item("ExternalId", Status.TODO, rich(Code(connection.external_id))),
                Item("CurBucketName", Status.TODO, rich(Code(connection.bucket or ""))),
                Item(
                    "TrustedPrincipalArn",
                    Status.TODO,
                    rich(Code(principal)) if principal else rich("unknown: the bot could not determine its AWS identity"),
                ),
            )
        )
    )
    blocks.append(
        Paragraph(
            rich(
                "When the stack shows CREATE_COMPLETE, open its ",
                Bold("Outputs"),
                " tab and ",
                Bold("reply here with the RoleArn value"),
                ".",
            )
        )
    )
    return Message.of(*blocks, summary="Step 2: create the read-only role and reply with its ARN.")


# --- answers and checks ------------------------------------------------------------------------


def refusal(invalid: Invalid, answer: str, what: str) -> Message:
    # Echo the answer (escaped, shortened) unless it is empty or a paste far too long to be one.
    echoed = answer.strip() if len(answer) <= 200 else ""
    shown = (" (", Code(shorten(echoed)), ")") if echoed else ()
    blocks = [Paragraph(rich("That is not a valid ", what, *shown, ": ", invalid.reason))]
    if invalid.fix:
        blocks.append(Paragraph(rich(invalid.fix)))
    blocks.append(Paragraph(rich("Nothing was changed. Reply again with the ", what, ".")))
    return Message.of(*blocks)


def checking(what: str, value: str) -> Message:
    return Message.of(Paragraph(rich("Checking ", what, " ", Code(value), " against AWS…")))


def checking_progress(what: str, value: str, items: list[Item]) -> Message:
    """The checklist so far, while the rest of the checks are still running."""
    done = sum(1 for item in items if item.status is not Status.CURRENT)
    head = rich("Checking ", what, " ", Code(value), f" against AWS… {done} of {len(items)} checks done.")
    return Message.of(Paragraph(head), Checklist(tuple(items)), summary=head)


def check_results(what: str, value: str, items: list[Item], ok: bool) -> Message:
    if ok:
        head = rich("✅ The ", what, " ", Code(value), " passed every check.")
    else:
        head = rich("❌ The ", what, " ", Code(value), " did not pass: fix what is marked below, then reply again with the ", what, ".")
    return Message.of(Paragraph(head), Checklist(tuple(items)), summary=head)


def reverify_started(connection: Connection, user: str) -> Message:
    return Message.text(Mention(user), " asked to check connection ", title(connection), " against AWS again…")


def reverify_results(connection: Connection, items: list[Item], ok: bool) -> Message:
    failing = sum(1 for item in items if item.holds_step)
    if ok:
        head = rich("✅ Connection ", title(connection), " passes every check again.")
    else:
        head = rich("❌ Connection ", title(connection), f" has {failing} check{'s' if failing != 1 else ''} not passing: the fixes are below.")
    return Message.of(Paragraph(head), Checklist(tuple(items)), summary=head)


def reverify_answer(connection: Connection, items: list[Item], ok: bool) -> Message:
    failing = sum(1 for item in items if item.holds_step)
    if ok:
        return Message.text(f"Connection {title(connection)} passed every check again; the results are in its thread.")
    return Message.text(f"Connection {title(connection)} has {failing} check(s) not passing; the results and fixes are in its thread.")


def still_checking(connection: Connection) -> Message:
    return Message.text("I am still checking the previous answer (", Code(connection.pending_answer or ""), "); wait for its result.")


def check_resumed() -> Message:
    return Message.text("I was restarted while checking this answer; checking it again.")


# --- approval ----------------------------------------------------------------------------------


def _approval_heading(what: str) -> Heading:
    return Heading("Approval of the bucket" if what == "bucket" else "Step 3: approval")


def approval_request(
    connection: Connection, *, what: str, required: int, approvals: list[Decision], approvers_configured: bool
) -> Message:
    """The approval request with its buttons; also its later versions, showing the approvals so far."""
    if what == "bucket":
        intro = rich("The Cost and Usage Report bucket ", Code(connection.bucket or "?"), " passed its checks. Approvers must agree before the role step.")
    else:
        intro = rich(
            "Eco will get read-only access to the billing data of account ",
            Code(connection.account_id or "?"),
            " through ",
            Code(connection.role_arn or "?"),
            ". Approvers must agree.",
        )
    blocks: list = [_approval_heading(what), Paragraph(intro)]
    needed = f"{required} approvals from different approvers are needed" if required > 1 else "One approver's approval is needed"
    blocks.append(Paragraph(rich(needed, ".")))
    if approvals:
        so_far: list = ["So far: "]
        for number, decision in enumerate(approvals):
            so_far += [", " if number else "", "✅ ", Mention(decision.user_id), " (", Time(decision.decided_at), ")"]
        so_far.append(f"; {required - len(approvals)} more needed.")
        blocks.append(Paragraph(rich(*so_far)))
    if not approvers_configured:
        blocks.append(
            Paragraph(
                rich(
                    Bold("No approver is configured."),
                    " The bot's operator must list approvers' Slack user IDs or user-group IDs in ECO_APPROVERS "
                    "and restart the bot; this connection waits until then.",
                )
            )
        )
    value = f"{connection.id}:{connection.approval_round}"
    blocks.append(Buttons((Button(ButtonKind.APPROVE, "Approve", value), Button(ButtonKind.REJECT, "Reject", value))))
    return Message.of(*blocks, summary=f"Connection #{connection.id} is waiting for approval of its {what}.")


def approval_decided(connection: Connection, *, what: str, decisions: list[Decision]) -> Message:
    """The request once decided: no buttons; who decided and when (every approver, or the one who rejected)."""
    lines = []
    for decision in decisions:
        verb = "Approved" if decision.decision == "approve" else "Rejected"
        line = rich(f"{'✅' if decision.decision == 'approve' else '❌'} {verb} by ", Mention(decision.user_id), " at ", Time(decision.decided_at))
        if decision.reason:
            line += rich(": ", decision.reason)
        lines.append(Paragraph(line + rich(".")))
    outcome = "rejected" if any(d.decision == "reject" for d in decisions) else "approved"
    return Message.of(_approval_heading(what), *lines, summary=f"Connection #{connection.id}: {what} {outcome}.")


def approval_withdrawn(connection: Connection, what: str = "role") -> Message:
    return Message.of(_approval_heading(what), Paragraph(rich("No longer needed: the connection was cancelled.")))


def approval_reminder(connection: Connection, *, what: str, approvers: list[str], waiting_since: datetime) -> Message:
    who: list = []
    for number, user in enumerate(approvers):
        who += [", " if number else "", Mention(user)]
    return Message.text(
        "⏰ Connection ",
        title(connection),
        f" has been waiting for approval of its {what} since ",
        Time(waiting_since),
        ". ",
        *(who or ["Approvers"]),
        ", please approve or reject it with the buttons above.",
    )


def processing_started(connection: Connection, window: timedelta) -> Message:
    assert connection.window_ends_at is not None
    return Message.text(
        "Approved. Eco is now processing this account's data; that takes up to ",
        format_duration(window),
        ". I will post here when the window ends, at ",
        Time(connection.window_ends_at),
        ", and send ",
        Mention(connection.requester_id),
        " a direct message.",
    )


def rejected(connection: Connection, user: str, *, what: str, reason: str) -> Message:
    answer = "bucket name" if what == "bucket" else "role ARN"
    return Message.text(
        "❌ Rejected by ",
        Mention(user),
        ": ",
        shorten(reason, 500),
        " ",
        Mention(connection.requester_id),
        f", correct it and reply in this thread with the {answer} again (nothing was shared with Eco).",
    )


def window_ended(connection: Connection, items: list[Item]) -> Message:
    """The end of the processing window, in the thread: data is arriving, or what stops it (with the fixes)."""
    account = Code(connection.account_id or "?")
    if connection.step == Step.ACTIVE:
        head = rich("🎉 Eco's processing window for account ", account, " has ended and report data is arriving in ",
                    Code(connection.bucket or "?"), ". The connection is active: its costs are in Eco.")  # fmt: skip
        shown = [item for item in items if item.status is not Status.PASS]  # only what is worth a look
    else:
        head = rich("⚠️ Eco's processing window for account ", account, " has ended, but Eco cannot read report data yet. "
                    "Fix what is marked below, then run /eco verify ", str(connection.id), " to check again.")  # fmt: skip
        shown = items
    blocks: list = [Paragraph(head)]
    if shown:
        blocks.append(Checklist(tuple(shown)))
    return Message.of(*blocks, summary=head)


def now_active(connection: Connection) -> Message:
    """A connection that needed attention passes every check, data included (after /eco verify)."""
    return Message.text(
        "🎉 Report data is arriving for account ", Code(connection.account_id or "?"), ": connection ", title(connection),
        " is active now.",
    )  # fmt: skip


def window_ended_direct(connection: Connection) -> Message:
    if connection.step == Step.ACTIVE:
        return Message.text(
            "Eco connection ", Bold(title(connection)), ": the processing window has ended and report data is arriving "
            "for account ", Code(connection.account_id or "?"), ". The connection is active.",
        )  # fmt: skip
    return Message.text(
        "Eco connection ", Bold(title(connection)), ": the processing window has ended, but no readable report data "
        "has arrived for account ", Code(connection.account_id or "?"), ". The thread says what to fix: ",
        ThreadLink(connection.channel_id, connection.thread_ts or "", "open it"), ".",
    )  # fmt: skip


def window_summary(connection: Connection) -> Message:
    """One line for ECO_NOTIFY_CHANNEL."""
    outcome = "active, report data is arriving" if connection.step == Step.ACTIVE else "needs attention, no readable report data"
    mark = "✅" if connection.step == Step.ACTIVE else "⚠️"
    return Message.text(
        f"{mark} Eco connection ", title(connection), " (account ", Code(connection.account_id or "?"), f"): {outcome}. ",
        ThreadLink(connection.channel_id, connection.thread_ts or "", "Thread"),
    )


def answer_reminder(connection: Connection, *, waiting_since: datetime, expires_at: datetime) -> Message:
    what = ANSWER_FOR[Step(connection.step)]
    return Message.text(
        "⏰ ", Mention(connection.requester_id), ", this connection has been waiting for the ", what, " since ",
        Time(waiting_since), ". Reply here with it when you have it; without an answer the connection expires at ",
        Time(expires_at), ".",
    )  # fmt: skip


def expired(connection: Connection, *, question: Step, waited: timedelta) -> Message:
    """`question`: the step it stopped at (the connection itself is expired by now)."""
    what = ANSWER_FOR[question]
    return Message.text(
        "⌛ This connection expired: the ", what, " was not given within ", format_duration(waited),
        ". Nothing was connected. Run /eco connect to start again.",
    )  # fmt: skip


def cancelled(connection: Connection, user: str) -> Message:
    return Message.text("Connection cancelled by ", Mention(user), ". Run /eco connect to start again.")


# --- commands ------------------------------------------------------------------------------


DIRECT_MESSAGE_NOTE = (
    "I work in channels, so that your team can follow and approve each connection: type /eco connect in a "
    "channel I am a member of, then answer in the thread I open."
)


@dataclass(frozen=True)
class Rights:
    """What one person may do, for /eco help."""

    start: bool = True
    approve: bool = False
    self_approval: bool = False


def help_text(*, note: str | None = None, rights: Rights | None = None) -> Message:
    blocks: list = []
    if note:
        blocks.append(Paragraph(rich(note)))
    blocks.append(Heading("Eco Connect: connect an AWS account to Eco, verified step by step"))
    blocks.append(Checklist(tuple(Item(command, Status.TODO, rich(what)) for command, what in COMMANDS)))
    if rights is not None:
        may = [
            "start a connection here" if rights.start else "not start a connection here (see ECO_REQUESTERS and ECO_ALLOWED_CHANNELS)",
            ("approve or reject connections" + ("" if rights.self_approval else " started by others"))
            if rights.approve
            else "not approve or reject connections (only ECO_APPROVERS may)",
            "cancel the connections you started" + (", and any other" if rights.approve else ""),
        ]
        blocks.append(Paragraph(rich("You may: ", "; ".join(may), ".")))
    return Message.of(*blocks, summary="Eco Connect commands: /eco connect, /eco status, /eco verify, /eco audit, /eco cancel, /eco help")


def status_list(connections: list[Connection]) -> Message:
    if not connections:
        return Message.text("No connections yet in this workspace. Start one with /eco connect.")
    items = []
    for connection in connections:
        info = STEPS[Step(connection.step)]
        detail = rich(info.label, f"; waiting for {info.waits_for}" if info.waits_for else "", "; requested by ", Mention(connection.requester_id))
        items.append(Item(title(connection), _status_of(connection), detail))
    return Message.of(Heading("Eco connections in this workspace"), Checklist(tuple(items)))


def status_one(connection: Connection) -> Message:
    info = STEPS[Step(connection.step)]
    blocks: list = [
        Heading(f"Connection {title(connection)}: {info.label}"),
        Paragraph(rich("Requested by ", Mention(connection.requester_id), "; started ", Time(connection.created_at), ".")),
    ]
    if info.waits_for:
        blocks.append(Paragraph(rich("Waiting for: ", info.waits_for, ".")))
    if connection.window_ends_at and not info.finished:
        blocks.append(Paragraph(rich("Processing window ends ", Time(connection.window_ends_at), ".")))
    checks = [
        Item(f"{check.step}: {check.name}", Status(check.status), rich(check.detail) if check.detail else ())
        for check in connection.checks
    ]
    if checks:
        blocks.append(Checklist(tuple(checks)))
    return Message.of(*blocks)


def _status_of(connection: Connection) -> Status:
    step = Step(connection.step)
    if step in (Step.COMPLETE, Step.ACTIVE):
        return Status.PASS
    if step in (Step.REJECTED, Step.CANCELLED, Step.EXPIRED, Step.NEEDS_ATTENTION):
        return Status.FAIL
    return Status.CURRENT


# --- the audit trail ---------------------------------------------------------------------------

AUDIT_STATUS = {"done": Status.PASS, "refused": Status.WARN, "failed": Status.FAIL}
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,31}")


def audit_trail(connection: Connection, events: list[AuditEvent], *, more: bool) -> Message:
    """`/eco audit <id>`: the connection's recorded events, oldest first, one checklist line each."""
    blocks: list = [Heading(f"History of connection {title(connection)}")]
    if not events:
        blocks.append(Paragraph(rich("Nothing is recorded for it yet.")))
        return Message.of(*blocks, summary=f"History of connection #{connection.id}: nothing recorded yet.")
    shown = "The newest events" if more else "Every action and decision"
    blocks.append(Paragraph(rich(shown, " on it, oldest first: when, who, what and how it ended.")))
    blocks.append(Checklist(tuple(_audit_line(event) for event in events)))
    if more:
        blocks.append(Paragraph(rich("Earlier events are not shown here: the bot's operator exports them all with ", Bold("eco-bot audit export"), ".")))
    return Message.of(*blocks, summary=f"History of connection #{connection.id}: {len(events)} events shown.")


def _audit_line(event: AuditEvent) -> Item:
    # Only an id shaped like Slack's becomes a mention: anything else (the bot, a stray value) stays plain text.
    who = Mention(event.actor_id) if _SLACK_USER.fullmatch(event.actor_id) else f"{event.actor_id} (the bot)"
    detail = rich(Time(event.at), ", by ", who, *((": ", event.detail) if event.detail else ()))
    return Item(f"{event.action}: {event.outcome}", AUDIT_STATUS.get(event.outcome, Status.PENDING), detail)


# --- the Home tab ------------------------------------------------------------------------------


def home(connections: list[Connection], now: datetime, *, total: int | None = None) -> Message:
    """The Home tab: the workspace's connections, newest first, one entry each. `total` counts them all when
    `connections` is only the newest few (a Slack view holds at most 100 blocks)."""
    if not connections:
        return Message.of(
            Heading("Eco connections in this workspace"),
            Paragraph(rich("No connections yet.")),
            Paragraph(
                rich(
                    "To connect an AWS account, type ",
                    Bold("/eco connect [label]"),
                    " in a channel I am a member of (invite me with /invite @Eco Connect) and answer the questions "
                    "in the thread I open.",
                )
            ),
            summary="No Eco connections yet in this workspace.",
        )
    blocks: list = [
        Heading("Eco connections in this workspace"),
        Paragraph(
            rich(
                "Newest first, as of ",
                Time(now),
                ". Start another with ",
                Bold("/eco connect [label]"),
                " in a channel; ",
                Bold("/eco status <id>"),
                " shows one in detail.",
            )
        ),
    ]
    blocks.extend(Checklist((_home_entry(connection, now),)) for connection in connections)
    more = (total or 0) - len(connections)
    if more > 0:
        blocks.append(
            Paragraph(rich(f"And {more} older connection{'s' if more != 1 else ''} not shown here; /eco status <id> shows any of them."))
        )
    return Message.of(*blocks, summary=f"Eco connections in this workspace: {total or len(connections)}")


def _home_entry(connection: Connection, now: datetime) -> Item:
    info = STEPS[Step(connection.step)]
    account = rich("account ", Code(connection.account_id)) if connection.account_id else rich("account not known yet")
    detail = rich(
        *account,
        f" · {info.label} · {_age(connection.created_at, now)} by ",
        Mention(connection.requester_id),
        # A line of its own: what someone has to do next, and where.
        "\n",
        *(rich("Waiting for: ", info.waits_for, " · ") if info.waits_for else ()),
        ThreadLink(connection.channel_id, connection.thread_ts or "", "open its thread"),
    )
    return Item(title(connection), _status_of(connection), detail)


def _age(started: datetime, now: datetime) -> str:
    seconds = max(0, int((now - started).total_seconds()))
    if seconds < 60:
        return "started just now"
    if seconds < 3600:
        return f"started {seconds // 60} min ago"
    if seconds < 86400:
        return f"started {seconds // 3600} h ago"
    days = seconds // 86400
    return f"started {days} day{'s' if days != 1 else ''} ago"


def unknown_connection(reference: str) -> Message:
    return Message.text("There is no connection ", Code(shorten(reference, 20)), " in this workspace. See /eco status.")


def not_posted(code: str) -> Message:
    """Why `/eco connect` could not open its thread here, and how to fix it."""
    reasons = {
        "not_in_channel": "I am not a member of this channel. Invite me (type /invite @Eco Connect) and run /eco connect again.",
        "channel_not_found": (
            "I cannot post in this conversation: it is a private channel I am not in, or a direct message between "
            "other people. Invite me to a channel, or run /eco connect in one I am in."
        ),
        "is_archived": "This channel is archived. Run /eco connect in an active channel.",
        "restricted_action": "This workspace does not let me post here. Run /eco connect in another channel.",
        "restricted_action_read_only_channel": "This channel is read-only for me. Run /eco connect in another channel.",
        "restricted_action_thread_only_channel": "This channel only allows thread replies. Run /eco connect in another channel.",
    }
    reason = reasons.get(code, f"Slack refused my message ({code}). Run /eco connect in a channel I am a member of.")
    return Message.text("I could not start a connection here. ", reason)
