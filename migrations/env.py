"""Alembic environment: runs migrations on the connection the bot hands over, or on DATABASE_URL.

`render_as_batch` lets SQLite alter tables; the metadata's naming convention keeps constraint names stable.
"""

from alembic import context
from sqlalchemy import Connection

from bot.store.db import open_database
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    # The alembic command line (for developers): read DATABASE_URL the way the bot does.
    from bot.settings import load_settings

    engine = open_database(load_settings().database_url)
    with engine.begin() as connection:
        run_on(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
