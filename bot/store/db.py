"""Database engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL.

`open_database` builds the engine with each dialect's settings; `upgrade` applies Alembic migrations
(under an advisory lock on PostgreSQL so that replicas starting together do not race); `is_healthy`
answers the health check.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATION_LOCK_ID = 0x0EC0_C0DE  # any fixed number shared by every replica


def open_database(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take over so that writes begin IMMEDIATE
        # and a conditional UPDATE is an atomic compare-and-swap across processes. Reads (see `read_sessions`)
        # begin DEFERRED: in WAL mode they read a snapshot without waiting for the writer.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800, pool_size=5, max_overflow=5)


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # autocommit at the driver; SQLAlchemy's "begin" hook opens transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "eco_read_only"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for reading only, on the same database as `sessions`. On SQLite they do not take the write lock
    (so a read never queues behind a write); elsewhere they are ordinary sessions."""
    bind = sessions.kw["bind"]
    return sessionmaker(bind.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration, pointing at the packaged `migrations/` folder."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration. On PostgreSQL, one replica at a time. A database migrated by a newer
    release is refused with a SchemaError (this code cannot know what those migrations changed)."""
    problem = schema_problem(engine)
    if problem is None:
        return
    if "newer" in problem:
        raise SchemaError(problem)
    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '60s'"))
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            try:
                connection.commit()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                connection.rollback()  # a failed migration leaves the transaction aborted
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.execute(text("RESET lock_timeout"))  # the connection goes back to the pool
                connection.commit()
    else:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def is_at_head(engine: Engine) -> bool:
    """Whether the database has every migration this code knows."""
    return schema_problem(engine) is None


class SchemaError(Exception):
    """The database's schema is not the one this code was written for; the message says what to do."""


def schema_problem(engine: Engine) -> str | None:
    """Why this code must not serve on this database's schema, or None when the schema is at this code's head."""
    script = ScriptDirectory.from_config(alembic_config())
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # only reading the revision: no "Context impl ..." lines in the log
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        quiet.setLevel(level)
    heads = set(script.get_heads())
    if current == heads:
        return None
    known = {revision.revision for revision in script.walk_revisions()}
    at = ", ".join(sorted(current)) or "empty (no migrations applied)"
    if current - known:
        return (
            f"the database schema ({at}) is newer than this release knows (head {', '.join(sorted(heads))}): "
            "a newer release migrated it; deploy that release here too"
        )
    return (
        f"the database schema is behind this release (database: {at}; this release needs {', '.join(sorted(heads))}): "
        "run `eco-bot db upgrade`, or start the bot without --no-migrate"
    )


def is_healthy(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not healthy"; the reason goes to the log
        log.warning("database health check failed: %s", type(error).__name__)
        return False
