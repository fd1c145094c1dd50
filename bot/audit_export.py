"""`eco-bot audit export [--since DATE] [--format jsonl|csv]`: the audit trail, for a compliance team, on stdout.

Rows are streamed from the database (`bot.store.audit.audit_since`), so the size of the trail does not matter.
Read-only: the database is never created or migrated here, and on SQLite the export takes no write lock, so the
bot keeps running while it reads. Needs only DATABASE_URL (no Slack token).

JSON lines are verbatim. In CSV, a value that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
`@`, a tab or a carriage return) gets a leading `'`: the trail records what people typed, and a compliance team
opens it in a spreadsheet.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.engine.content import shorten
from bot.settings import load_settings
from bot.store.audit import audit_since
from bot.store.db import is_at_head
from bot.store.models import AuditEvent

FIELDS = ("id", "at", "team_id", "connection_id", "step", "actor_id", "action", "outcome", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """Why the export cannot run; `status` is the command's exit status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def main(*, since: str | None, fmt: str, out: TextIO | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the export is the output; alembic's notes are noise
    out = out or sys.stdout
    try:
        start = parse_since(since) if since is not None else None
        engine = _open(load_settings().database_url)
        try:
            with Session(engine) as session:
                write(audit_since(session, start), out, fmt)
                out.flush()
        finally:
            engine.dispose()
    except ExportError as error:
        print(f"eco-bot: {error}", file=sys.stderr)
        return error.status
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error of ours. Silence the final flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    return 0


def parse_since(value: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 date and time (UTC when it names no offset)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ExportError(
            f"--since: {shorten(value, 40)!r} is not a date (YYYY-MM-DD) or an ISO 8601 date and time "
            "(such as 2026-11-27T09:30:00Z)",
            2,
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _open(url: str) -> Engine:
    """A plain engine: not the bot's, whose SQLite transactions take the write lock (an export only reads)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        if not Path(parsed.database).expanduser().is_file():  # connecting would create an empty file
            raise ExportError(f"no SQLite database file at {parsed.database}: check DATABASE_URL", 3)
    engine = create_engine(url)
    if not is_at_head(engine):
        engine.dispose()
        raise ExportError("the database is not at the latest migration: run `eco-bot db upgrade` first", 3)
    return engine


def write(events: Iterable[AuditEvent], out: TextIO, fmt: str) -> None:
    """Write the events as JSON lines or CSV (with a header), one at a time as they arrive."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        writer.writerows([_cell(value) for value in _row(event).values()] for event in events)
    else:
        out.writelines(json.dumps(_row(event), ensure_ascii=False) + "\n" for event in events)


def _row(event: AuditEvent) -> dict[str, Any]:
    row = {field: getattr(event, field) for field in FIELDS}
    row["at"] = event.at.isoformat()
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value
