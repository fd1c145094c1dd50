"""The database schema: connections, their check results, approval decisions, scheduled notices,
processed Slack events, who looks at the Home tab, and the audit trail. Alembic migrations in `migrations/` create exactly this (a test checks for drift).

Every table carries the Slack team id, and every query filters on it. Times are UTC-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so that migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; refuses naive ones (SQLite would silently drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Connection(Base):
    """One attempt to connect an AWS account, tied to its Slack thread."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # the root message; None until posted
    requester_id: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(80))
    step: Mapped[str] = mapped_column(String(32))
    # Every transition is `UPDATE .. WHERE version = :seen`, so a retry or a race applies it once.
    version: Mapped[int] = mapped_column(Integer, default=1)
    external_id: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str | None] = mapped_column(String(63))
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    account_id: Mapped[str | None] = mapped_column(String(12))
    pending_answer: Mapped[str | None] = mapped_column(String(2048))  # the answer being checked
    approval_message_ts: Mapped[str | None] = mapped_column(String(32))
    # Each request for approval is a new round; decisions and buttons name theirs, so a click on an old
    # request (before a rejection and a resubmission) never counts towards the new one.
    approval_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    checks: Mapped[list[CheckResult]] = relationship(
        back_populates="connection", order_by="CheckResult.position", cascade="all, delete-orphan", lazy="selectin"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="connection", order_by="Decision.id", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_connections_team_thread", "team_id", "channel_id", "thread_ts"),
        Index("ix_connections_team_step", "team_id", "step"),
    )


class CheckResult(Base):
    """The latest result of one verification check of a connection's step."""

    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # "bucket" or "role"
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())

    connection: Mapped[Connection] = relationship(back_populates="checks")


class Decision(Base):
    """An approval or rejection, by whom and when, in which approval round, and why (a rejection's reason).
    One per connection, round and user: a double click or a retried payload cannot count twice."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))  # "approve" or "reject"
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    step: Mapped[str] = mapped_column(String(16), default="role", server_default="role")  # what was approved: bucket or role
    reason: Mapped[str | None] = mapped_column(Text)

    connection: Mapped[Connection] = relationship(back_populates="decisions")

    __table_args__ = (UniqueConstraint("connection_id", "round", "user_id"),)


class Notice(Base):
    """A message due at a given time (the end of the processing window, a reminder, an expiry), claimed with a
    lease before it is posted. `attempted_at` is set just before each post: a notice claimed again with it set
    may have been posted by a process that died, so its tag is looked for in the channel before posting again."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, claimed, sent, dropped, failed
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    posted_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("connection_id", "kind"),
        # Only open notices are ever searched, and they are few beside the sent ones: a partial index stays
        # small however many connections there are, and the claim reads it in due order.
        Index(
            "ix_notices_open_due",
            "due_at",
            postgresql_where=text("state IN ('pending', 'claimed')"),
            sqlite_where=text("state IN ('pending', 'claimed')"),
        ),
    )


class SlackEvent(Base):
    """An incoming event id, recorded before acting on it so that a retry is recognised on any replica."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HomeViewer(Base):
    """Someone who opened the bot's Home tab, and when last: whose Home is refreshed after a step."""

    __tablename__ = "home_viewers"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # The refresh after a step reads a team's latest viewers.
    __table_args__ = (Index("ix_home_viewers_team_opened", "team_id", "opened_at"),)


class AuditEvent(Base):
    """One action or decision, as it happened: who, what, when, on which connection and step, and how it ended.

    Append-only: `bot.store.audit.record_audit` inserts rows and nothing updates or deletes them (the ORM refuses
    to, below, and on PostgreSQL a trigger refuses any UPDATE, DELETE or TRUNCATE).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    # No foreign key: the record outlives what it is about, and a refused click may name no connection at all.
    connection_id: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[str | None] = mapped_column(String(32))  # the connection's step when it happened
    actor_id: Mapped[str] = mapped_column(String(32))  # a Slack user id, or "eco-bot" for the bot's own actions
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # done, refused or failed
    detail: Mapped[str] = mapped_column(Text)  # short, never a secret; user text shortened
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    # `/eco audit <id>` reads one connection's newest events.
    __table_args__ = (Index("ix_audit_events_team_connection", "team_id", "connection_id", "id"),)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper, _connection, target: AuditEvent) -> None:
    raise TypeError(f"audit event {target.id} is append-only: it may not be changed or deleted")
