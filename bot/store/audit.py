"""The audit trail's queries: one way in (`record_audit`) and two ways out, nothing that changes a row.

The trail is append-only. This module is the only code that touches `audit_events`, and it offers no update
and no delete (a test holds it to that); on PostgreSQL a trigger refuses them as well (migration 0003).

`audit_for_connection` answers a person and filters on their team; `audit_since` is the operator's export and
reads every team, streaming, so that a large trail is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.engine.content import shorten
from bot.store.models import AuditEvent

BOT_ACTOR = "eco-bot"  # the actor of what the bot does by itself: checks, notices, resumed work
DETAIL_LIMIT = 300
STREAM_CHUNK = 500  # rows fetched at a time by the export

Outcome = Literal["done", "refused", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("done", "refused", "failed")


def record_audit(
    session: Session,
    *,
    team_id: str,
    connection_id: int | None,
    step: str | None,
    actor_id: str,
    action: str,
    outcome: Outcome,
    detail: str,
    at: datetime,
) -> None:
    """Append one event in the caller's transaction: it commits, or rolls back, with the change it describes."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    # A plain INSERT rather than the unit of work: an event is never read back or changed in the transaction that
    # writes it, and every step and notice writes one.
    session.execute(
        insert(AuditEvent).values(
            team_id=team_id,
            connection_id=connection_id,
            step=step,
            actor_id=actor_id,
            action=action,
            outcome=outcome,
            # Shortened here too, whatever the caller passed: a long detail must never fail the insert (and with it
            # the change it records), and the trail is a summary, not a copy of what people typed.
            detail=shorten(detail, DETAIL_LIMIT),
            at=at,
        )
    )


def audit_for_connection(session: Session, team_id: str, connection_id: int, *, limit: int) -> list[AuditEvent]:
    """A connection's newest `limit` events, oldest first (the order they happened in)."""
    newest = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.team_id == team_id, AuditEvent.connection_id == connection_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(newest))


def audit_since(session: Session, since: datetime | None = None) -> Iterator[AuditEvent]:
    """Every event (of every team) at or after `since`, in the order they were recorded, fetched in chunks.

    The session must stay open while the result is read: rows arrive as they are consumed (a server-side cursor
    on PostgreSQL).
    """
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    # The session's identity map holds rows weakly, so the ones already written out are let go.
    yield from session.scalars(query.execution_options(yield_per=STREAM_CHUNK))
