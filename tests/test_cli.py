"""The `eco-bot` command line as an operator runs it: a real subprocess (`python -m bot ...`, and
`python app.py`) in an empty working directory with a controlled environment.

Configuration mistakes must end the command with a non-zero code and exactly one line on stderr that names
the variable (no traceback, no secret); `template` prints the CloudFormation template; `db upgrade` creates
the schema.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic import command

from bot.store.db import alembic_config, open_database
from bot.store.models import Base
from tests.processes import process_env

REPO = Path(__file__).resolve().parent.parent
APP_PY = REPO / "app.py"
SECRET_BOT_TOKEN = "xoxb-very-secret-value"


def run_command(argv: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=process_env(**variables), capture_output=True, text=True, timeout=120, check=False
    )


def eco_bot(cwd: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`eco-bot <args>`, as `python -m bot` (the console script's entry point)."""
    return run_command([sys.executable, "-m", "bot", *args], cwd, **variables)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *names: str) -> str:
    """The command failed with a single stderr line mentioning every one of `names`; returns that line."""
    assert result.returncode != 0, f"expected a failure, got 0\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    for name in names:
        assert name in lines[0], f"{name!r} not in {lines[0]!r}"
    return lines[0]


# --- configuration errors ------------------------------------------------------------------------


def test_run_without_a_bot_token_names_it_and_the_readme(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "run")

    assert_one_line_error(result, "SLACK_BOT_TOKEN", "README")
    assert result.stdout == ""


def test_http_mode_without_a_signing_secret_names_it(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "run", "--mode", "http", SLACK_BOT_TOKEN=SECRET_BOT_TOKEN)

    assert_one_line_error(result, "SLACK_SIGNING_SECRET")


def test_socket_mode_without_an_app_token_names_it(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "run", "--mode", "socket", SLACK_BOT_TOKEN=SECRET_BOT_TOKEN)

    assert_one_line_error(result, "SLACK_APP_TOKEN")


def test_an_invalid_processing_window_names_the_variable(tmp_path: Path) -> None:
    result = eco_bot(
        tmp_path,
        "run",
        SLACK_BOT_TOKEN=SECRET_BOT_TOKEN,
        SLACK_SIGNING_SECRET="signing-secret",
        ECO_PROCESSING_WINDOW="two days",
    )

    assert_one_line_error(result, "ECO_PROCESSING_WINDOW")


def test_an_invalid_database_url_names_it_without_echoing_the_password(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "db", "upgrade", DATABASE_URL="mysql://eco:hunter2-password@db.internal/eco")

    assert_one_line_error(result, "DATABASE_URL")
    assert "hunter2-password" not in result.stdout + result.stderr


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    # Nothing listens on port 1 of the loopback address.
    url = "postgresql+psycopg://eco:hunter2-password@127.0.0.1:1/eco?connect_timeout=2"
    result = eco_bot(tmp_path, "db", "upgrade", DATABASE_URL=url)

    assert_one_line_error(result, "DATABASE_URL", "cannot reach the database")
    assert "hunter2-password" not in result.stdout + result.stderr


def test_the_bot_token_never_appears_in_the_output(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "run", SLACK_BOT_TOKEN=SECRET_BOT_TOKEN)

    assert_one_line_error(result, "SLACK_SIGNING_SECRET")
    assert SECRET_BOT_TOKEN not in result.stdout
    assert SECRET_BOT_TOKEN not in result.stderr
    assert "very-secret" not in result.stdout + result.stderr


# --- commands that work --------------------------------------------------------------------------


def test_template_prints_the_cloudformation_template(tmp_path: Path) -> None:
    result = eco_bot(tmp_path, "template")

    assert result.returncode == 0, result.stderr
    assert "AWSTemplateFormatVersion" in result.stdout


def test_db_upgrade_creates_the_tables_in_a_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "eco-bot.db"

    result = eco_bot(tmp_path, "db", "upgrade", DATABASE_URL=f"sqlite:///{database}")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert tables >= set(Base.metadata.tables) | {"alembic_version"}
    assert len(version) == 1


def _database_at(tmp_path: Path, revision: str) -> str:
    """A SQLite file migrated up to `revision` (an older release's schema)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_database(url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
    return url


RUN_HTTP = ("run", "--mode", "http", "--port", "0", "--host", "127.0.0.1")
# A Slack API nobody listens on: the schema is judged before any call to Slack.
NO_SLACK = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s" * 32, "ECO_SLACK_API_URL": "http://127.0.0.1:9/api/"}


def test_run_without_migrations_refuses_a_schema_that_is_behind(tmp_path: Path) -> None:
    url = _database_at(tmp_path, "0004")

    result = eco_bot(tmp_path, *RUN_HTTP, "--no-migrate", DATABASE_URL=url, **NO_SLACK)

    line = assert_one_line_error(result, "schema is behind", "0004", "eco-bot db upgrade")
    assert result.returncode == 2, line
    with sqlite3.connect(tmp_path / "old.db") as connection:  # and it migrated nothing
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]


def test_run_refuses_a_schema_migrated_by_a_newer_release(tmp_path: Path) -> None:
    url = _database_at(tmp_path, "head")
    with sqlite3.connect(tmp_path / "old.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")

    result = eco_bot(tmp_path, *RUN_HTTP, DATABASE_URL=url, **NO_SLACK)

    assert_one_line_error(result, "newer than this release", "0099")
    assert result.returncode == 2


# --- app.py --------------------------------------------------------------------------------------


def test_app_py_without_a_token_fails_like_eco_bot_run(tmp_path: Path) -> None:
    via_app_py = run_command([sys.executable, str(APP_PY)], tmp_path)
    via_eco_bot = eco_bot(tmp_path, "run")

    line = assert_one_line_error(via_app_py, "SLACK_BOT_TOKEN", "README")
    assert via_app_py.returncode == via_eco_bot.returncode
    assert line == via_eco_bot.stderr.strip()


def test_app_py_help_describes_the_run_options(tmp_path: Path) -> None:
    result = run_command([sys.executable, str(APP_PY), "--help"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert "--mode" in result.stdout
    assert "--port" in result.stdout
