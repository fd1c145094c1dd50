"""Alembic migrations on SQLite and PostgreSQL: upgrade to head, round trip to base and back, no drift
between the migrations and the models, idempotent and concurrent upgrades, and the UTCDateTime column
type as the migrated schema stores it.

Every test takes `database_url`, so it runs once on a SQLite file and once on a fresh PostgreSQL database.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import StatementError

from bot.store.db import alembic_config, is_at_head, open_database, session_factory, upgrade
from bot.store.models import Base, SlackEvent

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(database_url: str):
    """An engine on the test's empty database, disposed of afterwards (so PostgreSQL can drop it)."""
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def downgrade_to_base(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def schema_differences(engine: Engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


# --- upgrade and downgrade -----------------------------------------------------------------------


def test_an_empty_database_is_not_at_head(engine: Engine) -> None:
    assert not is_at_head(engine)


def test_upgrade_from_empty_reaches_head_with_every_model_table(engine: Engine) -> None:
    upgrade(engine)

    assert is_at_head(engine)
    assert table_names(engine) == MODEL_TABLES | {"alembic_version"}


def test_downgrade_to_base_leaves_only_the_version_table(engine: Engine) -> None:
    upgrade(engine)

    downgrade_to_base(engine)

    assert table_names(engine) == {"alembic_version"}
    assert current_revisions(engine) == set()
    assert not is_at_head(engine)


def test_upgrade_after_a_downgrade_to_base_reaches_head_again(engine: Engine) -> None:
    upgrade(engine)
    downgrade_to_base(engine)

    upgrade(engine)

    assert is_at_head(engine)
    assert table_names(engine) == MODEL_TABLES | {"alembic_version"}
    assert schema_differences(engine) == []


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    upgrade(engine)

    assert schema_differences(engine) == []


def test_upgrading_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    revisions = current_revisions(engine)
    with session_factory(engine)() as session, session.begin():
        session.add(SlackEvent(event_id="Ev1", team_id="T1", received_at=datetime.now(UTC)))

    upgrade(engine)

    assert current_revisions(engine) == revisions
    assert is_at_head(engine)
    with session_factory(engine)() as session:
        assert session.scalars(select(SlackEvent.event_id)).all() == ["Ev1"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the lock is a PostgreSQL advisory lock
def test_concurrent_upgrades_on_postgresql_both_succeed(database_url: str) -> None:
    """Two replicas starting together: the advisory lock lets one migrate while the other waits (without
    it, both would run CREATE TABLE and one would fail)."""
    engines = [open_database(database_url) for _ in range(2)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def replica(engine: Engine) -> None:
        try:
            start.wait(timeout=10)
            upgrade(engine)
        except BaseException as error:  # collected and asserted on in the main thread
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(engine,)) for engine in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "an upgrade did not finish within 60 s"
        assert errors == []
        assert all(is_at_head(engine) for engine in engines)
        assert schema_differences(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


# --- UTCDateTime ---------------------------------------------------------------------------------


def test_storing_a_naive_datetime_is_refused(engine: Engine) -> None:
    upgrade(engine)
    naive = datetime(2025, 3, 1, 12, 0, 0)

    with session_factory(engine)() as session:
        session.add(SlackEvent(event_id="EvNaive", team_id="T1", received_at=naive))
        with pytest.raises(StatementError, match="naive datetime refused") as raised:
            session.flush()
        assert isinstance(raised.value.orig, ValueError)


def test_an_aware_non_utc_datetime_reads_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    upgrade(engine)
    kolkata = timezone(timedelta(hours=5, minutes=30))
    stored = datetime(2025, 3, 1, 17, 45, 30, 123456, tzinfo=kolkata)
    with session_factory(engine)() as session, session.begin():
        session.add(SlackEvent(event_id="EvAware", team_id="T1", received_at=stored))

    with session_factory(engine)() as session:
        read = session.scalars(select(SlackEvent.received_at).where(SlackEvent.event_id == "EvAware")).one()

    assert read == stored
    assert read.utcoffset() == timedelta(0)
    assert read == datetime(2025, 3, 1, 12, 15, 30, 123456, tzinfo=UTC)
