"""The audit trail: every action, decision and refusal recorded, in order, in the transaction of the change it
records; `/eco audit <id>` for the requester and approvers only; `eco-bot audit export` as JSON lines and CSV;
and the trail is append-only (no code path changes a row, and on PostgreSQL a trigger refuses to).
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.engine.ports import Actor
from bot.sandbox.world import CustomerAccount
from bot.store import audit
from bot.store.db import open_database, session_factory, upgrade
from bot.store.models import AuditEvent, Connection
from tests.harness import APPROVER, OUTSIDER, REQUESTER, RunningBot, Thread, message_text, start_connection
from tests.test_cli import assert_one_line_error, eco_bot


def _to_approval(bot: RunningBot, customer: CustomerAccount, thread: Thread):
    """Answer both questions (as tests/test_refusals.py does) and wait until the bot is done asking for approval."""
    bot.reply("acme-cur", thread=thread.ts)
    connection = bot.wait_for_step("awaiting_role")
    role_arn = customer.launch_stack(external_id=connection.external_id, bucket="acme-cur", name=f"eco-{connection.id}")
    bot.reply(role_arn, thread=thread.ts)
    connection = bot.wait_for_step("awaiting_approval")
    approval = bot.fake.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == thread.ts and _buttons(p))[0]
    # The root checklist is updated last: once it asks for a decision, the bot has finished its writes.
    bot.fake.wait_for("chat.update", lambda p: p.get("ts") == thread.ts and "Approve or Reject" in message_text(p))
    return connection, approval.response["ts"]


def _buttons(params: dict) -> list[dict]:
    return [element for block in params.get("blocks") or [] if block.get("type") == "actions" for element in block["elements"]]


def _approve_value(thread: Thread) -> str:
    """The value the bot put on the Approve button of the thread's latest approval request."""
    for call in reversed(thread.posts()):
        if _buttons(call.params):
            return _buttons(call.params)[0]["value"]
    raise AssertionError("no approval request in the thread")


def _audit_rows(engine: Engine) -> list[AuditEvent]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _wait_for_trail(bot: RunningBot, length: int, connection_id: int | None = None, timeout: float = 10.0) -> list[tuple]:
    """The trail once it has `length` events (the bot records some after its last message), or as it is."""
    deadline = time.monotonic() + timeout
    while len(trail := bot.audit_trail(connection_id)) < length and time.monotonic() < deadline:
        time.sleep(0.05)
    return trail


# --- the trail a conversation leaves -----------------------------------------------------------------


def test_a_whole_conversation_leaves_its_trail_in_order(database_url, make_bot, customer: CustomerAccount):
    bot: RunningBot = make_bot(database_url)
    statements: list[str] = []
    event.listen(bot.database, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))

    thread = start_connection(bot, "Acme prod")
    connection, approval_ts = _to_approval(bot, customer, thread)
    bot.click("eco_approve", _approve_value(thread), user=APPROVER, message_ts=approval_ts)
    bot.wait_for_step("needs_attention", timeout=20)
    trail = _wait_for_trail(bot, 9, connection.id)

    assert [row[1:5] for row in trail] == [
        ("awaiting_bucket", REQUESTER, "connect", "done"),
        ("awaiting_bucket", REQUESTER, "answer_bucket", "done"),
        ("checking_bucket", "eco-bot", "checks", "done"),
        ("awaiting_role", REQUESTER, "answer_role", "done"),
        ("checking_role", "eco-bot", "checks", "done"),
        ("awaiting_approval", APPROVER, "approve", "done"),
        ("processing", "eco-bot", "window_check", "failed"),  # no report data was delivered
        ("needs_attention", "eco-bot", "window_notice", "done"),
        ("needs_attention", "eco-bot", "window_direct_message", "done"),
    ]
    details = [row[5] for row in trail]
    assert details[0] == "in C1; label: Acme prod"
    assert details[1] == "acme-cur" and details[2].startswith("bucket acme-cur: passed")
    assert details[3] == connection.role_arn and details[4].startswith(f"role {connection.role_arn}: passed")
    assert connection.external_id not in "".join(details)  # what lets Eco assume the role is never in the trail
    rows = _audit_rows(bot.database)
    assert {row.team_id for row in rows} == {"T1"}
    assert [row.at for row in rows] == sorted(row.at for row in rows) and rows[0].at.tzinfo is not None
    # Append-only in practice: nothing the bot ran in the whole conversation changed or removed a recorded event.
    assert not [s for s in statements if re.match(r"\s*(UPDATE|DELETE\s+FROM|TRUNCATE)\s+audit_events", s, re.I)]


def test_a_failed_check_cancel_and_verify_are_recorded(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    bot.reply("no-such-bucket-here", thread=thread.ts)
    bot.fake.wait_for("chat.update", lambda p: "did not pass" in message_text(p))
    bot.reply("acme-cur", thread=thread.ts)
    bot.wait_for_step("awaiting_role")
    bot.answer("verify 1")
    assert "is cancelled" not in bot.answer("cancel 1", user=OUTSIDER)
    assert "#1 is cancelled" in bot.answer("cancel 1")
    assert "already cancelled" in bot.answer("cancel 1")

    trail = [row[1:6] for row in _wait_for_trail(bot, 9, 1)]

    assert trail[2][:4] == ("checking_bucket", "eco-bot", "checks", "failed")
    assert re.match(r"bucket no-such-bucket-here: \d+ not passing \(.*Bucket", trail[2][4])
    assert trail[5][:3] == ("awaiting_role", REQUESTER, "verify") and trail[5][4].startswith("bucket: ")
    assert trail[6:] == [
        ("awaiting_role", OUTSIDER, "cancel", "refused", "not the requester or an approver"),
        ("awaiting_role", REQUESTER, "cancel", "done", ""),
        ("cancelled", REQUESTER, "cancel", "refused", "already finished"),
    ]


def test_a_window_notice_slack_refused_is_recorded_and_retried(make_bot, sqlite_url, customer):
    bot = make_bot(sqlite_url)
    notice = lambda params: ((params.get("metadata") or {}).get("event_payload") or {}).get("notice") == "window_end"  # noqa: E731
    bot.fake.fail("chat.postMessage", "internal_error", when=notice, times=1)
    bot.fake.fail("conversations.open", "user_not_found", times=1)
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    bot.click("eco_approve", _approve_value(thread), user=APPROVER, message_ts=approval_ts)
    bot.wait_for_step("needs_attention", timeout=20)

    trail = [row[1:6] for row in _wait_for_trail(bot, 11, connection.id)]

    assert trail[-5][:4] == ("processing", "eco-bot", "window_check", "failed")
    # The thread notice and the direct message are delivered side by side: their records interleave.
    assert sorted(trail[-4:]) == [
        ("needs_attention", "eco-bot", "window_direct_message", "done", ""),
        ("needs_attention", "eco-bot", "window_direct_message", "failed", "not posted (user_not_found); will retry"),
        ("needs_attention", "eco-bot", "window_notice", "done", ""),
        ("needs_attention", "eco-bot", "window_notice", "failed", "not posted (internal_error); will retry"),
    ]


def test_rejections_are_recorded_with_their_reason(bot: RunningBot, customer: CustomerAccount):
    thread = start_connection(bot)
    _, approval_ts = _to_approval(bot, customer, thread)
    value = _approve_value(thread)

    _, name = bot.click("eco_reject", value, user=OUTSIDER, message_ts=approval_ts)
    bot.fake.wait_for_response(name)
    # The reason arrives from Slack's form; the engine is what records it (the form itself is tested elsewhere).
    engine, approver = bot.service.engine, Actor(team="T1", user=APPROVER, channel="C1")
    assert engine.decide(approver, value, "reject", "   ") is not None
    assert engine.decide(approver, value, "reject", "Wrong account <!channel>, use 4444") is None
    bot.wait_for_step("awaiting_role")

    trail = [row[1:6] for row in _wait_for_trail(bot, 8)][-3:]

    assert trail[0][:4] == ("awaiting_approval", OUTSIDER, "reject", "refused") and "Only the approvers" in trail[0][4]
    assert trail[1] == (None, APPROVER, "reject", "refused", f"no reason given (value {value!r})")
    assert trail[2] == ("awaiting_approval", APPROVER, "reject", "done", "Wrong account <!channel>, use 4444")
    assert "Wrong account &lt;!channel&gt;, use 4444" in bot.answer("audit 1")


def test_a_resumed_check_is_recorded(bot: RunningBot, customer: CustomerAccount):
    start_connection(bot)
    # A process claimed the answer, then died before it could record the result (as in tests/test_resilience.py).
    with bot.database.begin() as connection:
        connection.execute(
            update(Connection).values(step="checking_bucket", pending_answer="acme-cur", version=Connection.version + 1,
                                      updated_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    bot.wait_for_step("awaiting_role")

    trail = [row[1:5] for row in _wait_for_trail(bot, 3, 1)]

    assert trail == [
        ("awaiting_bucket", REQUESTER, "connect", "done"),
        ("checking_bucket", "eco-bot", "resume_checks", "done"),
        ("checking_bucket", "eco-bot", "checks", "done"),
    ]


def test_the_record_commits_with_the_change_or_neither_does(make_bot, sqlite_url, customer, monkeypatch):
    """The approval and its record are one transaction: when the record cannot be written, nothing is approved."""
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    connection, approval_ts = _to_approval(bot, customer, thread)
    before, trail = bot.snapshot(), bot.audit_trail()
    from bot.engine import conversation

    def broken(session, **values):
        if values["action"] == "approve" and values["outcome"] == "done":
            raise RuntimeError("the audit table is unavailable")
        audit.record_audit(session, **values)

    monkeypatch.setattr(conversation, "record_audit", broken)
    bot.click("eco_approve", _approve_value(thread), user=APPROVER, message_ts=approval_ts)

    time.sleep(1.0)  # the click is acknowledged before it is handled: give it time to fail
    assert bot.connection().step == "awaiting_approval"
    assert bot.snapshot() == before and bot.audit_trail() == trail


# --- refusals: recorded, and nothing else changes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("clicker", "value", "team", "expected"),
    [
        (OUTSIDER, None, "T1", (1, "awaiting_approval", OUTSIDER, "approve", "refused", "Only the approvers named in ECO_APPROVERS")),
        (APPROVER, "1; DROP TABLE connections", "T1", (None, None, APPROVER, "approve", "refused", "'1; DROP TABLE connections'")),
        (APPROVER, "x" * 500, "T1", (None, None, APPROVER, "approve", "refused", "'" + "x" * 79 + "…'")),
        (APPROVER, None, "T2OTHER", (None, None, APPROVER, "approve", "refused", "does not belong to a connection in this workspace")),
    ],
    ids=["non-approver", "tampered-value", "long-value", "other-workspace"],
)
def test_a_refused_click_is_recorded_and_changes_nothing_else(make_bot, sqlite_url, customer, clicker, value, team, expected):
    bot = make_bot(sqlite_url)
    thread = start_connection(bot)
    _, approval_ts = _to_approval(bot, customer, thread)
    before, trail = bot.snapshot(), bot.audit_trail()

    _, name = bot.click("eco_approve", value or _approve_value(thread), user=clicker, message_ts=approval_ts, team=team)
    bot.fake.wait_for_response(name)

    assert bot.snapshot() == before
    added = bot.audit_trail()[len(trail):]
    assert len(added) == 1 and added[0][:5] == expected[:5] and expected[5] in added[0][5]
    recorded = _audit_rows(bot.database)[-1]
    assert recorded.team_id == team  # a click from another workspace is recorded there, naming nothing of ours


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("AcmeCur", "AcmeCur: "), ("x" * 10_000, "x" * 79 + "…: "), ("", "(empty): ")],
    ids=["uppercase", "10kB", "empty"],
)
def test_a_refused_answer_is_recorded_shortened_and_changes_nothing_else(bot: RunningBot, answer, expected):
    thread = start_connection(bot)
    before, trail = bot.snapshot(), bot.audit_trail()

    bot.reply(answer, thread=thread.ts)
    thread.wait_for_post("Nothing was changed")

    assert bot.snapshot() == before
    added = bot.audit_trail()[len(trail):]
    assert [row[:5] for row in added] == [(1, "awaiting_bucket", REQUESTER, "answer_bucket", "refused")]
    assert added[0][5].startswith(expected) and len(added[0][5]) <= audit.DETAIL_LIMIT


def test_a_refused_connect_is_recorded_with_the_reason(bot: RunningBot):
    bot.fake.fail("chat.postMessage", "not_in_channel", when=lambda p: p.get("channel") == "C0NOTIN")
    bot.answer("connect " + "x" * 81)
    bot.answer("connect", channel="C0NOTIN")

    assert bot.audit_trail() == [
        (None, None, REQUESTER, "connect", "refused", "a label of 81 characters"),
        (None, None, REQUESTER, "connect", "failed", "not posted in C0NOTIN (not_in_channel)"),
    ]
    assert bot.snapshot()["connections"] == []


# --- /eco audit ------------------------------------------------------------------------------------------


def test_the_requester_and_an_approver_may_see_the_history_and_others_may_not(bot: RunningBot):
    start_connection(bot, "Acme <!channel>")
    bot.reply("Not A Bucket", thread=bot.connection().thread_ts)
    _wait_for_trail(bot, 2)

    for user in (REQUESTER, APPROVER):
        history = bot.answer("audit 1", user=user)
        assert "History of connection #1" in history
        assert "connect: done" in history and "answer_bucket: refused" in history
        assert f"<@{REQUESTER}>" in history
        assert "label: Acme &lt;!channel&gt;" in history  # what people typed is escaped
    refused = bot.answer("audit 1", user=OUTSIDER)

    assert "Only the requester or an approver may see the history of connection #1" in refused
    assert "History of" not in refused
    assert bot.audit_trail(1)[-1] == (1, "awaiting_bucket", OUTSIDER, "audit", "refused", "not the requester or an approver")
    assert "audit: refused" in bot.answer("audit 1")  # the refusal shows in the history
    assert "There is no connection" in bot.answer("audit 1", team="T2OTHER")
    assert "Say which connection" in bot.answer("audit")
    assert "/eco audit &lt;id&gt;" in bot.answer("help")


def test_the_history_shows_the_newest_events(bot: RunningBot):
    start_connection(bot)
    with session_factory(bot.database)() as session, session.begin():
        for number in range(60):
            audit.record_audit(
                session, team_id="T1", connection_id=1, step="awaiting_bucket", actor_id=OUTSIDER, action="cancel",
                outcome="refused", detail=f"attempt {number:02d}", at=datetime.now(UTC),
            )

    history = bot.answer("audit 1")

    assert "attempt 59" in history and "attempt 10" in history and "attempt 09" not in history
    assert "Earlier events are not shown here" in history and "eco-bot audit export" in history


# --- the export --------------------------------------------------------------------------------------------

DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def trail_database(database_url: str) -> str:
    """A migrated database holding three events on three days, one of them with a formula for a detail."""
    engine = open_database(database_url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        for offset, (action, detail) in enumerate([("connect", "in C1; label: A"), ("answer_bucket", "=HYPERLINK(1): no"), ("approve", "")]):
            audit.record_audit(
                session, team_id="T1", connection_id=1, step="awaiting_bucket", actor_id=REQUESTER, action=action,
                outcome="done", detail=detail, at=DAY + timedelta(days=offset),
            )
        audit.record_audit(
            session, team_id="T2", connection_id=None, step=None, actor_id=OUTSIDER, action="approve",
            outcome="refused", detail="no connection here for the value '7'", at=DAY + timedelta(days=2, hours=1),
        )
    engine.dispose()
    return database_url


def test_export_as_json_lines(tmp_path: Path, trail_database: str):
    result = eco_bot(tmp_path, "audit", "export", DATABASE_URL=trail_database)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert list(rows[0]) == ["id", "at", "team_id", "connection_id", "step", "actor_id", "action", "outcome", "detail"]
    assert [(r["team_id"], r["action"], r["outcome"]) for r in rows] == [
        ("T1", "connect", "done"), ("T1", "answer_bucket", "done"), ("T1", "approve", "done"), ("T2", "approve", "refused"),
    ]
    assert rows[0]["at"] == "2026-11-20T12:00:00+00:00" and rows[3]["connection_id"] is None
    assert rows[1]["detail"] == "=HYPERLINK(1): no"  # JSON lines are verbatim


@pytest.mark.parametrize(
    ("since", "expected"),
    [("2026-11-21", ["answer_bucket", "approve", "approve"]), ("2026-11-22T12:30:00Z", ["approve"]), ("2026-11-22T13:00:00+01:00", ["approve", "approve"])],
    ids=["date", "utc-datetime", "offset-datetime"],
)
def test_export_since(tmp_path: Path, sqlite_url: str, since, expected):
    engine = open_database(sqlite_url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        for offset, action in enumerate(["connect", "answer_bucket", "approve"]):
            audit.record_audit(session, team_id="T1", connection_id=1, step=None, actor_id=REQUESTER, action=action,
                               outcome="done", detail="", at=DAY + timedelta(days=offset))
        audit.record_audit(session, team_id="T1", connection_id=1, step=None, actor_id=REQUESTER, action="approve",
                           outcome="refused", detail="", at=DAY + timedelta(days=2, hours=1))
    engine.dispose()

    result = eco_bot(tmp_path, "audit", "export", "--since", since, DATABASE_URL=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["action"] for line in result.stdout.splitlines()] == expected


def test_export_as_csv(tmp_path: Path, trail_database: str):
    result = eco_bot(tmp_path, "audit", "export", "--format", "csv", "--since", "2026-11-21", DATABASE_URL=trail_database)

    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "at", "team_id", "connection_id", "step", "actor_id", "action", "outcome", "detail"]
    assert [row[6] for row in rows[1:]] == ["answer_bucket", "approve", "approve"]
    assert rows[1][8] == "'=HYPERLINK(1): no"  # a spreadsheet shows it, never runs it
    assert rows[3][3] == "" and rows[3][4] == "" and rows[3][8] == "no connection here for the value '7'"


def test_export_streams_a_large_trail(tmp_path: Path, database_url: str):
    engine = open_database(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            AuditEvent.__table__.insert(),
            [
                {"team_id": "T1", "connection_id": n % 50, "step": None, "actor_id": "eco-bot", "action": "checks",
                 "outcome": "done", "detail": "x" * 200, "at": DAY + timedelta(seconds=n)}
                for n in range(3 * audit.STREAM_CHUNK + 7)
            ],
        )
    engine.dispose()

    result = eco_bot(tmp_path, "audit", "export", "--format", "csv", DATABASE_URL=database_url)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 + 3 * audit.STREAM_CHUNK + 7


def test_audit_since_reads_in_chunks(sqlite_url: str):
    """The export's query is a stream: rows are fetched a chunk at a time, not all at once."""
    engine = open_database(sqlite_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        events = audit.audit_since(session, None)
        assert inspect.isgenerator(events)
        statement_options: list[dict] = []
        event.listen(engine, "before_execute", lambda _c, _s, _m, _p, options: statement_options.append(dict(options)))
        assert list(events) == []
    assert statement_options and statement_options[-1].get("yield_per") == audit.STREAM_CHUNK
    engine.dispose()


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "27/11/2026"])
def test_export_with_a_bad_since_is_one_line(tmp_path: Path, trail_database: str, since: str):
    result = eco_bot(tmp_path, "audit", "export", "--since", since, DATABASE_URL=trail_database)

    assert_one_line_error(result, "--since", "YYYY-MM-DD")
    assert result.returncode == 2 and result.stdout == ""


def test_export_refuses_a_database_that_is_not_migrated(tmp_path: Path):
    missing = tmp_path / "missing.db"
    result = eco_bot(tmp_path, "audit", "export", DATABASE_URL=f"sqlite:///{missing}")
    assert_one_line_error(result, "no SQLite database file")
    assert not missing.exists()  # the export never creates a database

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = eco_bot(tmp_path, "audit", "export", DATABASE_URL=f"sqlite:///{empty}")
    assert_one_line_error(result, "not at the latest migration", "eco-bot db upgrade")


# --- append-only -------------------------------------------------------------------------------------------


def test_the_audit_module_offers_no_way_to_change_a_row():
    functions = {name for name, value in inspect.getmembers(audit, inspect.isfunction) if value.__module__ == audit.__name__}
    assert functions == {"record_audit", "audit_for_connection", "audit_since"}
    assert not {"update", "delete"} & set(vars(audit))  # not even SQLAlchemy's statements are imported there


def test_the_orm_refuses_to_change_or_delete_an_event(sqlite_url: str):
    engine = open_database(sqlite_url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        audit.record_audit(session, team_id="T1", connection_id=1, step=None, actor_id=REQUESTER, action="connect",
                           outcome="done", detail="", at=DAY)
    for change in (lambda e: setattr(e, "detail", "rewritten"), lambda e: session.delete(e)):
        with session_factory(engine)() as session:
            recorded = session.scalars(select(AuditEvent)).one()
            change(recorded)
            with pytest.raises(TypeError, match="append-only"):
                session.flush()
    assert [row.detail for row in _audit_rows(engine)] == [""]
    engine.dispose()


def test_record_audit_refuses_an_unknown_outcome():
    with pytest.raises(ValueError, match="unknown audit outcome"):
        audit.record_audit(None, team_id="T1", connection_id=None, step=None, actor_id="U1", action="connect",  # type: ignore[arg-type]
                           outcome="maybe", detail="", at=DAY)  # type: ignore[arg-type]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_update_delete_and_truncate(database_url: str):
    engine = open_database(database_url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session, session.begin():
            audit.record_audit(session, team_id="T1", connection_id=1, step=None, actor_id=REQUESTER, action="connect",
                               outcome="done", detail="original", at=DAY)
        for statement in ("UPDATE audit_events SET detail = 'rewritten'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
            with pytest.raises(DBAPIError, match="audit_events is append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        assert [row.detail for row in _audit_rows(engine)] == ["original"]
        with engine.begin() as connection:  # inserting is what the table is for
            connection.execute(text("INSERT INTO audit_events (team_id, actor_id, action, outcome, detail, at) "
                                    "VALUES ('T1', 'eco-bot', 'checks', 'done', '', now())"))
        assert len(_audit_rows(engine)) == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_postgresql_guard_goes_with_a_downgrade_and_comes_back(database_url: str):
    from alembic import command

    from bot.store.db import alembic_config

    engine = open_database(database_url)
    try:
        upgrade(engine)
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_events_append_only'")) == 0
        upgrade(engine)
        with engine.connect() as connection:
            triggers = connection.scalars(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass")).all()
        assert set(triggers) == {"audit_events_no_change", "audit_events_no_truncate"}
    finally:
        engine.dispose()
