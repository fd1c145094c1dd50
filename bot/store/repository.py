"""The queries the conversation engine needs, each scoped by Slack team and each write fenced.

Queries that answer a person filter on their team; the scheduler claims due notices across teams and then
reads each connection under the notice's own team.

A transition is an `UPDATE .. WHERE id = :id AND version = :seen AND step = :from`: it applies once
whatever the number of retries, double clicks or replicas racing for it. Idempotent inserts (event ids,
notices) use the dialect's `ON CONFLICT DO NOTHING`; recording a Home viewer is an upsert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, raiseload

from bot.engine.content import Item, plain
from bot.store.models import CheckResult, Connection, Decision, HomeViewer, Notice, SlackEvent


def _dialect_insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def _insert_ignoring_conflicts(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless it exists (by any unique key); True when this call inserted it."""
    table = model.__table__
    # RETURNING tells reliably whether a row went in (rowcount after ON CONFLICT differs between drivers).
    statement = _dialect_insert(session)(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return session.execute(statement).first() is not None


def record_event(session: Session, *, event_id: str, team_id: str, now: datetime) -> bool:
    """Remember an incoming event id. False means it was seen before (a retry or a second delivery)."""
    return _insert_ignoring_conflicts(session, SlackEvent, {"event_id": event_id, "team_id": team_id, "received_at": now})


def forget_events(session: Session, *, before: datetime) -> int:
    """Drop event ids older than any retry Slack would still send."""
    return session.execute(delete(SlackEvent).where(SlackEvent.received_at < before)).rowcount


def get_connection(session: Session, team_id: str, connection_id: int, *, history: bool = True) -> Connection | None:
    """A connection of the team. `history=False` skips its check results and decisions (two more queries), for a
    caller that reads only the connection's own fields, such as a notice."""
    statement = select(Connection).where(Connection.team_id == team_id, Connection.id == connection_id)
    if not history:
        statement = statement.options(raiseload(Connection.checks), raiseload(Connection.decisions))
    return session.scalar(statement)


def connections_of(session: Session, notices: list[Notice]) -> dict[int, Connection]:
    """The connections a batch of notices is about, in one query, without their history (see `get_connection`);
    each matched on the notice's team as well as its id."""
    if not notices:
        return {}
    found = session.scalars(
        select(Connection)
        .where(Connection.id.in_({n.connection_id for n in notices}))
        .options(raiseload(Connection.checks), raiseload(Connection.decisions))
    )
    teams = {n.connection_id: n.team_id for n in notices}
    return {c.id: c for c in found if teams.get(c.id) == c.team_id}


def find_by_thread(session: Session, team_id: str, channel_id: str, thread_ts: str) -> Connection | None:
    return session.scalar(
        select(Connection).where(
            Connection.team_id == team_id, Connection.channel_id == channel_id, Connection.thread_ts == thread_ts
        )
    )


def list_connections(session: Session, team_id: str, *, limit: int = 25) -> list[Connection]:
    return list(
        session.scalars(
            select(Connection)
            .where(Connection.team_id == team_id, Connection.thread_ts.is_not(None))
            .order_by(Connection.id.desc())
            .limit(limit)
        )
    )


def count_connections(session: Session, team_id: str) -> int:
    """How many connections `list_connections` could show, for "and N more"."""
    return session.scalar(
        select(func.count()).select_from(Connection).where(Connection.team_id == team_id, Connection.thread_ts.is_not(None))
    ) or 0


def record_home_viewer(session: Session, *, team_id: str, user_id: str, now: datetime) -> None:
    """Remember that a user opened the Home tab now (one row per user: a later visit moves its time on)."""
    statement = _dialect_insert(session)(HomeViewer).values(team_id=team_id, user_id=user_id, opened_at=now)
    session.execute(
        statement.on_conflict_do_update(index_elements=["team_id", "user_id"], set_={"opened_at": statement.excluded.opened_at})
    )


def home_viewers(session: Session, team_id: str, *, since: datetime, limit: int) -> list[str]:
    """The users of a team who opened the Home tab since `since`, most recent first."""
    return list(
        session.scalars(
            select(HomeViewer.user_id)
            .where(HomeViewer.team_id == team_id, HomeViewer.opened_at >= since)
            .order_by(HomeViewer.opened_at.desc(), HomeViewer.user_id)
            .limit(limit)
        )
    )


def stale_checks(session: Session, steps: tuple[str, ...], older_than: datetime) -> list[Connection]:
    """Connections whose check was interrupted (the process died mid-check)."""
    return list(
        session.scalars(select(Connection).where(Connection.step.in_(steps), Connection.updated_at < older_than))
    )


def transition(session: Session, seen: Connection, to_step: str, now: datetime, **changes: Any) -> bool:
    """Move a connection on from the step and version it was read at. False: someone else moved it first."""
    result = session.execute(
        update(Connection)
        .where(
            Connection.id == seen.id,
            Connection.team_id == seen.team_id,
            Connection.version == seen.version,
            Connection.step == seen.step,
        )
        .values(step=to_step, version=seen.version + 1, updated_at=now, **changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    seen.step, seen.version, seen.updated_at = to_step, seen.version + 1, now
    for name, value in changes.items():
        setattr(seen, name, value)
    return True


def set_message_ids(session: Session, connection: Connection, **ids: str) -> None:
    """Record the chat ids of messages posted for a connection (its thread, its approval request): an update of
    those columns alone, which never undoes a transition made meanwhile."""
    session.execute(
        update(Connection)
        .where(Connection.id == connection.id, Connection.team_id == connection.team_id)
        .values(**ids)
        .execution_options(synchronize_session=False)
    )
    for name, value in ids.items():
        setattr(connection, name, value)


def replace_checks(session: Session, connection: Connection, step: str, items: list[Item], now: datetime) -> None:
    session.query(CheckResult).filter(
        CheckResult.connection_id == connection.id, CheckResult.step == step
    ).delete(synchronize_session=False)
    session.add_all(
        CheckResult(
            team_id=connection.team_id,
            connection_id=connection.id,
            step=step,
            position=position,
            name=item.name,
            status=str(item.status),
            detail=plain(item.detail) + (f" Fix: {plain(item.fix)}" if item.fix else ""),
            checked_at=now,
        )
        for position, item in enumerate(items)
    )


def add_decision(
    session: Session,
    connection: Connection,
    *,
    user_id: str,
    decision: str,
    now: datetime,
    round: int = 0,
    step: str = "role",
    reason: str | None = None,
) -> None:
    """A decision in an approval round; flushed at once, so a second one by the same user fails right here."""
    session.add(
        Decision(
            team_id=connection.team_id,
            connection_id=connection.id,
            user_id=user_id,
            decision=decision,
            decided_at=now,
            round=round,
            step=step,
            reason=reason,
        )
    )
    session.flush()


def round_decisions(session: Session, connection: Connection, round: int) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.connection_id == connection.id, Decision.team_id == connection.team_id, Decision.round == round)
            .order_by(Decision.id)
        )
    )


def approvals(session: Session, connection: Connection, round: int) -> list[Decision]:
    """The approvals of one round, in the order they were given (each by a different user)."""
    return [d for d in round_decisions(session, connection, round) if d.decision == "approve"]


def schedule_notice(session: Session, connection: Connection, *, kind: str, due_at: datetime) -> bool:
    return _insert_ignoring_conflicts(
        session,
        Notice,
        {"team_id": connection.team_id, "connection_id": connection.id, "kind": kind, "due_at": due_at, "state": "pending", "attempts": 0},
    )


OPEN_STATES = ("pending", "claimed")


def _claimable(now: datetime):
    """Due notices nobody holds: pending ones, and claimed ones whose claimant's lease ran out (it died)."""
    # The states are written into the SQL, not bound: a planner can only match the partial index
    # ix_notices_open_due (WHERE state IN ('pending', 'claimed')) against literals (SQLite, PostgreSQL's generic plans).
    open_states = bindparam("open_states", list(OPEN_STATES), expanding=True, literal_execute=True, unique=True)
    return and_(
        Notice.state.in_(open_states),
        Notice.due_at <= now,
        or_(Notice.state == "pending", Notice.lease_until < now),
    )


def claim_due_notices(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int = 50) -> list[Notice]:
    """Claim up to `limit` due notices for `owner`, the earliest due first, in one statement.

    PostgreSQL: the candidates are locked with FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment
    each take different rows instead of queueing behind one another. SQLite has no SKIP LOCKED; the same
    conditional UPDATE runs inside BEGIN IMMEDIATE (see `bot.store.db`), which makes it an atomic
    compare-and-swap across processes.
    """
    candidates = select(Notice.id).where(_claimable(now)).order_by(Notice.due_at, Notice.id).limit(limit)
    claim = update(Notice).values(state="claimed", claimed_by=owner, lease_until=now + lease, attempts=Notice.attempts + 1)
    if session.get_bind().dialect.name == "postgresql":
        # Picked once, in a materialized CTE: inside `id IN (subquery)` the planner may run the subquery again for
        # every row, and the LIMIT then no longer bounds the claim.
        picked = candidates.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        claim = claim.where(Notice.id == picked.c.id)
    else:
        claim = claim.where(Notice.id.in_(candidates.scalar_subquery()), _claimable(now))
    statement = claim.returning(Notice).execution_options(synchronize_session=False)
    claimed = list(session.scalars(statement))
    return sorted(claimed, key=lambda notice: (notice.due_at, notice.id))


def _fenced(notice: Notice, owner: str):
    """Writes about a claimed notice apply only while `owner` still holds it: a claimant whose lease ran out
    and was taken over changes nothing."""
    return update(Notice).where(Notice.id == notice.id, Notice.claimed_by == owner, Notice.state == "claimed")


def _write_fenced(session: Session, notice: Notice, owner: str, **values: Any) -> bool:
    result = session.execute(_fenced(notice, owner).values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    for name, value in values.items():
        setattr(notice, name, value)
    return True


def still_holds(session: Session, notice: Notice, *, owner: str) -> bool:
    """Whether `owner` still holds the claim, locking the row for the rest of the transaction (so that the
    change made under the claim and the claim itself commit together)."""
    return _write_fenced(session, notice, owner, claimed_by=owner)


def mark_attempt(session: Session, notice: Notice, *, owner: str, now: datetime) -> bool:
    """Record, before posting, that a post is being attempted."""
    return _write_fenced(session, notice, owner, attempted_at=now)


def finish_notice(session: Session, notice: Notice, *, owner: str, state: str, now: datetime, posted_ts: str | None = None) -> bool:
    """Record the outcome of a claimed notice (sent with its ts, dropped, failed); fenced on the claimant."""
    values: dict[str, Any] = {"state": state, "lease_until": None}
    if state == "sent":
        values.update(posted_ts=posted_ts, sent_at=now)
    return _write_fenced(session, notice, owner, **values)


def postpone_notice(session: Session, notice: Notice, *, owner: str, until: datetime, posted: bool | None) -> bool:
    """Give a claimed notice back, due again at `until`. `posted=False` when the chat service said for sure that
    nothing was posted (a 429, a refusal), so the next attempt need not look for an earlier post; None when it is
    unknown (a timeout), so it must."""
    values: dict[str, Any] = {"state": "pending", "claimed_by": None, "lease_until": None, "due_at": until}
    if posted is False:
        values["attempted_at"] = None
    return _write_fenced(session, notice, owner, **values)


def release_claims(session: Session, *, owner: str, keep: frozenset[int] = frozenset()) -> int:
    """On shutdown: give back the notices `owner` holds, due at once, for another process to take; those in `keep`
    stay claimed until their lease runs out. An attempted one keeps its `attempted_at`, so its taker looks for the
    post before posting."""
    condition = [Notice.claimed_by == owner, Notice.state == "claimed"]
    if keep:
        condition.append(Notice.id.not_in(keep))
    return session.execute(
        update(Notice).where(*condition).values(state="pending", claimed_by=None, lease_until=None).execution_options(synchronize_session=False)
    ).rowcount


def drop_pending_notices(
    session: Session,
    connection: Connection,
    *,
    kind: str | None = None,
    families: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
) -> None:
    """Drop a connection's notices not sent yet, in one statement: all of them, those of one `kind`, or those of
    some `families` of kinds (`answer_reminder` covers `answer_reminder:<n>`), all but those in `keep`."""
    condition = [Notice.connection_id == connection.id, Notice.state == "pending"]
    if kind is not None:
        condition.append(Notice.kind == kind)
    if families:
        condition.append(or_(*(Notice.kind.startswith(f"{family}:", autoescape=True) for family in families)))
    if keep:
        condition.append(Notice.kind.not_in(keep))
    session.execute(update(Notice).where(*condition).values(state="dropped").execution_options(synchronize_session=False))
