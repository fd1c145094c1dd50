"""Throwaway PostgreSQL databases, for the suite and the benchmarks: created empty in the server at
ECO_TEST_POSTGRES_URL and dropped at the end (connections and all), even when what used it failed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get("ECO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """A new empty database named `<prefix>_<random>`; yields its SQLAlchemy URL."""
    admin_url = make_url(POSTGRES_ADMIN_URL)
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
