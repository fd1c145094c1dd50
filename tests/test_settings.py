"""The typed settings: defaults, parsing of each variable, one clear `SettingsError` naming the variable,
`.env` files, secrets that never print, and no work done at import time.

Every test starts from an environment with no ECO_*, SLACK_* or DATABASE_URL variable (autouse fixture),
in an empty working directory, so neither the developer's shell nor a stray `.env` can leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import Approvers, SettingsError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::123456789012:role/eco"


def _is_bot_variable(name: str) -> bool:
    upper = name.upper()  # pydantic-settings matches variable names case-insensitively
    return upper.startswith(("ECO_", "SLACK_")) or upper == "DATABASE_URL"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if _is_bot_variable(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- defaults ------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(None)
    assert settings.database_url == "sqlite:///eco-bot.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.processing_window == timedelta(hours=48)
    assert settings.scheduler_interval == timedelta(seconds=30)
    assert settings.approvers == Approvers()
    assert not settings.approvers
    assert settings.allow_self_approval is False
    assert settings.template_url is None
    assert settings.trusted_principal_arn is None


def test_secrets_default_to_unset() -> None:
    settings = load_settings(None)
    assert (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token) == (None, None, None)


# --- durations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("48h", timedelta(hours=48), id="hours"),
        pytest.param("90m", timedelta(minutes=90), id="minutes"),
        pytest.param("5s", timedelta(seconds=5), id="seconds"),
        pytest.param("7d", timedelta(days=7), id="days"),
    ],
)
def test_processing_window_parsed_from_environment(monkeypatch: pytest.MonkeyPatch, raw: str, expected: timedelta) -> None:
    monkeypatch.setenv("ECO_PROCESSING_WINDOW", raw)
    assert load_settings(None).processing_window == expected


def test_scheduler_interval_parsed_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_SCHEDULER_INTERVAL", "5s")
    assert load_settings(None).scheduler_interval == timedelta(seconds=5)


def test_duration_override_by_field_name() -> None:
    assert load_settings(None, processing_window="90m").processing_window == timedelta(minutes=90)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("0s", id="zero"),
        pytest.param("5x", id="unknown-unit"),
        pytest.param("-5m", id="negative"),
        pytest.param("", id="empty"),
        pytest.param("48", id="no-unit"),
        pytest.param("1.5h", id="fraction"),
    ],
)
def test_invalid_processing_window_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ECO_PROCESSING_WINDOW", raw)
    with pytest.raises(SettingsError, match="ECO_PROCESSING_WINDOW") as error:
        load_settings(None)
    assert "such as 48h" in str(error.value)


def test_invalid_duration_override_names_the_variable_not_the_field() -> None:
    with pytest.raises(SettingsError, match="ECO_PROCESSING_WINDOW"):
        load_settings(None, processing_window="5x")


def test_settings_error_points_to_readme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_PROCESSING_WINDOW", "5x")
    with pytest.raises(SettingsError, match="README"):
        load_settings(None)


# --- approvers -----------------------------------------------------------------------------------


def test_approvers_split_into_users_and_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_APPROVERS", "U1AB, S2CD,W3EF")
    approvers = load_settings(None).approvers
    assert approvers.users == frozenset({"U1AB", "W3EF"})
    assert approvers.groups == frozenset({"S2CD"})


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("@bob", id="at-display-name"),
        pytest.param("bob", id="display-name"),
        pytest.param("U1AB, @bob", id="mixed"),
        pytest.param("u1ab", id="lowercase-id"),
    ],
)
def test_approvers_display_names_rejected(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ECO_APPROVERS", raw)
    with pytest.raises(SettingsError, match="ECO_APPROVERS") as error:
        load_settings(None)
    assert "never display names" in str(error.value)


# --- booleans, URLs, ARNs ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_allow_self_approval_parsed(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("ECO_ALLOW_SELF_APPROVAL", raw)
    assert load_settings(None).allow_self_approval is expected


def test_allow_self_approval_maybe_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_ALLOW_SELF_APPROVAL", "maybe")
    with pytest.raises(SettingsError, match="ECO_ALLOW_SELF_APPROVAL: expected true or false"):
        load_settings(None)


def test_template_url_https_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_TEMPLATE_URL", "https://example.com/eco.yaml")
    assert load_settings(None).template_url == "https://example.com/eco.yaml"


def test_template_url_http_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_TEMPLATE_URL", "http://example.com/eco.yaml")
    with pytest.raises(SettingsError, match="ECO_TEMPLATE_URL: expected an https:// URL"):
        load_settings(None)


def test_trusted_principal_arn_aws_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_TRUSTED_PRINCIPAL_ARN", ROLE)
    assert load_settings(None).trusted_principal_arn == ROLE


def test_trusted_principal_arn_aws_cn_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_TRUSTED_PRINCIPAL_ARN", "arn:aws-cn:iam::123456789012:role/eco")
    with pytest.raises(SettingsError, match="ECO_TRUSTED_PRINCIPAL_ARN") as error:
        load_settings(None)
    assert "aws partition" in str(error.value)


def test_slack_api_url_gets_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_SLACK_API_URL", "http://127.0.0.1:9999/api")
    assert load_settings(None).slack_api_url == "http://127.0.0.1:9999/api/"


# --- database URL --------------------------------------------------------------------------------


def test_postgresql_url_normalized_to_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://eco@db:5432/eco")
    assert load_settings(None).database_url == "postgresql+psycopg://eco@db:5432/eco"


def test_psycopg_url_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://eco@db/eco")
    assert load_settings(None).database_url == "postgresql+psycopg://eco@db/eco"


def test_unknown_database_scheme_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://eco@db/eco")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(None)


# --- .env files ----------------------------------------------------------------------------------


def test_env_file_read(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("ECO_PROCESSING_WINDOW=7d\nECO_APPROVERS=U1AB\n", encoding="utf-8")
    settings = load_settings(str(env_file))
    assert settings.processing_window == timedelta(days=7)
    assert settings.approvers.users == frozenset({"U1AB"})


def test_environment_wins_over_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ECO_PROCESSING_WINDOW=7d\n", encoding="utf-8")
    monkeypatch.setenv("ECO_PROCESSING_WINDOW", "90m")
    assert load_settings(str(env_file)).processing_window == timedelta(minutes=90)


def test_no_env_file_when_none(tmp_path: Path) -> None:
    """load_settings(None) ignores a .env in the working directory (the fixture chdirs to tmp_path)."""
    (tmp_path / ".env").write_text("ECO_PROCESSING_WINDOW=7d\n", encoding="utf-8")
    assert load_settings(None).processing_window == timedelta(hours=48)


def test_invalid_value_in_env_file_names_the_variable(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ECO_PROCESSING_WINDOW=soon\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="ECO_PROCESSING_WINDOW"):
        load_settings(str(env_file))


# --- secrets -------------------------------------------------------------------------------------

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token-1234",
    "SLACK_SIGNING_SECRET": "signing-secret-5678",
    "SLACK_APP_TOKEN": "xapp-secret-app-token-9012",
}
DATABASE_PASSWORD = "hunter2-db-password"


@pytest.fixture
def settings_with_secrets(monkeypatch: pytest.MonkeyPatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://eco:{DATABASE_PASSWORD}@db:5432/eco")
    return load_settings(None)


@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_secrets_never_printed(settings_with_secrets, show) -> None:
    printed = show(settings_with_secrets)
    for value in [*SECRETS.values(), DATABASE_PASSWORD]:
        assert value not in printed


@pytest.mark.parametrize("name", list(SECRETS))
def test_token_returns_the_value(settings_with_secrets, name: str) -> None:
    assert settings_with_secrets.token(name) == SECRETS[name]


@pytest.mark.parametrize("name", list(SECRETS))
def test_missing_token_names_the_variable_and_readme(name: str) -> None:
    settings = load_settings(None)
    with pytest.raises(SettingsError, match=name) as error:
        settings.token(name)
    assert "README" in str(error.value)


def test_settings_error_does_not_echo_a_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"mysql://eco:{DATABASE_PASSWORD}@db/eco")
    with pytest.raises(SettingsError, match="DATABASE_URL") as error:
        load_settings(None)
    assert DATABASE_PASSWORD not in str(error.value)


def test_blank_token_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        load_settings(None).token("SLACK_BOT_TOKEN")


# --- import time ---------------------------------------------------------------------------------


def test_import_reads_nothing_from_environment_or_env_file(tmp_path: Path) -> None:
    """A fresh interpreter imports bot.settings with an invalid variable set and an invalid `.env` in its
    working directory: nothing is read (so nothing fails) until load_settings is called.

    (A subprocess rather than importlib.reload: reloading would replace SettingsError and Settings for
    every other test module that already imported them.)
    """
    (tmp_path / ".env").write_text("ECO_APPROVERS=@bob\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not _is_bot_variable(key)}
    env["ECO_PROCESSING_WINDOW"] = "not-a-duration"
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    probe = "import bot.settings; print('imported')"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_loading_in_that_environment_does_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counterpart of the import test: the same variable is refused once settings are loaded."""
    monkeypatch.setenv("ECO_PROCESSING_WINDOW", "not-a-duration")
    with pytest.raises(SettingsError, match="ECO_PROCESSING_WINDOW"):
        load_settings(None)


@pytest.mark.parametrize(
    ("name", "wrong", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xapp-1-an-app-token", "xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxp-a-user-token", "xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-a-bot-token", "xapp-"),
    ],
    ids=["app-token-as-bot-token", "user-token-as-bot-token", "bot-token-as-app-token"],
)
def test_a_token_of_the_wrong_kind_is_named_without_echoing_it(monkeypatch: pytest.MonkeyPatch, name, wrong, expected) -> None:
    monkeypatch.setenv(name, wrong)
    with pytest.raises(SettingsError) as error:
        load_settings(None)
    assert name in str(error.value) and expected in str(error.value)
    assert wrong not in str(error.value)
