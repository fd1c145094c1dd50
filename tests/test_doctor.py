"""`eco-bot doctor` as an operator runs it: a real subprocess against the fake Slack Web API, the fake AWS (the
session's AWS_* variables), a template served over HTTPS on 127.0.0.1, and a real SQLite or PostgreSQL database.

Each broken deployment must fail its own named line with its fix, let the independent checks still run, and exit
non-zero; a good one passes every line with exit 0. No secret may reach the output, and the doctor changes nothing
(it neither migrates nor creates a database).
"""

from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from bot.aws.template import template_text
from bot.doctor import manifest_bot_scopes, principal_item
from bot.engine.content import Status, plain
from bot.store.db import alembic_config, open_database, upgrade
from tests.aws_world import BOT_PRINCIPAL
from tests.test_cli import REPO, eco_bot

MANIFEST_SCOPES = yaml.safe_load((REPO / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
BOT_TOKEN = "xoxb-doctor-secret-token"
SIGNING_SECRET = "doctor-signing-secret-value"
APP_TOKEN = "xapp-doctor-secret-app-token"
DB_PASSWORD = "hunter2-doctor-password"
UNREACHABLE_DB = f"postgresql+psycopg://eco:{DB_PASSWORD}@127.0.0.1:1/eco"  # nothing listens on port 1


# --- the template host: HTTPS on loopback, because ECO_TEMPLATE_URL must be https:// ----------------------------


@pytest.fixture(scope="module")
def template_host(tmp_path_factory) -> tuple[str, Path]:
    """Serves this version's template at /eco-connect.yaml and 404s anything else; returns (base URL, the
    self-signed certificate the doctor is told to trust through SSL_CERT_FILE)."""
    cert, key = _self_signed_certificate(tmp_path_factory.mktemp("tls"))
    body = template_text().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/eco-connect.yaml"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# --- running the doctor ------------------------------------------------------------------------------------------


def migrate(url: str, revision: str = "head") -> str:
    engine = open_database(url)
    try:
        if revision == "head":
            upgrade(engine)
        else:
            config = alembic_config(engine)
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
    finally:
        engine.dispose()  # so the PostgreSQL fixture can drop the database
    return url


@pytest.fixture
def deployment(tmp_path, fake_slack, template_host, aws) -> dict[str, str]:
    """A good deployment's variables (the database is the test's to add); the fake Slack grants the manifest's scopes."""
    fake_slack.oauth_scopes = list(MANIFEST_SCOPES)
    base_url, cert = template_host
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "ECO_SLACK_API_URL": fake_slack.api_url,
        "ECO_APPROVERS": "UAPPROVER1",
        "ECO_TEMPLATE_URL": f"{base_url}/eco-connect.yaml",
        "SSL_CERT_FILE": str(cert),
        "DATABASE_URL": migrate(f"sqlite:///{tmp_path / 'deployment.db'}"),  # not the database fixtures' file
    }


def table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def doctor(tmp_path: Path, env: dict[str, str], *args: str, **changes: str):
    result = eco_bot(tmp_path, "doctor", *args, **{**env, **changes})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def lines(stdout: str) -> dict[str, tuple[str, str, str]]:
    """The checklist by check name: (status, what was found, fix)."""
    found: dict[str, tuple[str, str, str]] = {}
    last = None
    for text in stdout.splitlines():
        if match := re.match(r"^\[(\w+)\] +(.+?): (.*)$", text):
            last = match.group(2)
            found[last] = (match.group(1), match.group(3), "")
        elif last and (fix := re.match(r"^ +fix: (.*)$", text)):
            found[last] = (*found[last][:2], fix.group(1))
    return found


# --- a good deployment -------------------------------------------------------------------------------------------


def test_a_good_deployment_passes_every_line_on_sqlite_and_postgresql(tmp_path, deployment, database_url):
    result = doctor(tmp_path, deployment, DATABASE_URL=migrate(database_url))

    checks = lines(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {status for status, _, _ in checks.values()} == {"PASS"}, result.stdout
    assert set(checks) == {"Settings", "Approvers", "Slack token", "Slack scopes", "AWS identity", "Trusted principal",
                           "Template URL", "Database", "Database migrations"}
    assert BOT_PRINCIPAL in checks["Trusted principal"][1]
    assert "Acme" in checks["Slack token"][1] and "serves this version's template" in checks["Template URL"][1]
    assert result.stdout.rstrip().endswith("Ready: 9 passed.")


def test_json_output_lists_every_check(tmp_path, deployment):
    report = json.loads(doctor(tmp_path, deployment, "--json").stdout)

    assert report["ok"] is True
    assert {check["status"] for check in report["checks"]} == {"pass"}
    assert "Slack scopes" in {check["name"] for check in report["checks"]}


def test_without_a_template_url_it_warns_and_still_exits_0(tmp_path, deployment):
    result = doctor(tmp_path, deployment, ECO_TEMPLATE_URL="")

    status, found, fix = lines(result.stdout)["Template URL"]
    assert result.returncode == 0
    assert status == "WARN" and "list the stack parameters to enter by hand" in found
    assert "eco-bot template publish" in fix


# --- Slack -------------------------------------------------------------------------------------------------------


def test_a_refused_token_fails_its_line_and_the_other_checks_still_run(tmp_path, deployment, fake_slack):
    fake_slack.fail("auth.test", "invalid_auth")

    result = doctor(tmp_path, deployment)

    checks = lines(result.stdout)
    assert result.returncode == 1
    assert checks["Slack token"][0] == "FAIL" and "invalid_auth" in checks["Slack token"][1]
    assert "Bot User OAuth Token" in checks["Slack token"][2]
    assert checks["Slack scopes"][0] == "PENDING"
    # A bad token stops nothing else.
    assert checks["Database migrations"][0] == checks["AWS identity"][0] == checks["Template URL"][0] == "PASS"
    assert "Not ready:" in result.stdout


def test_missing_scopes_are_named_with_how_to_grant_them(tmp_path, deployment, fake_slack):
    fake_slack.oauth_scopes = [scope for scope in MANIFEST_SCOPES if scope not in ("im:write", "usergroups:read")]

    result = doctor(tmp_path, deployment)

    status, found, fix = lines(result.stdout)["Slack scopes"]
    assert result.returncode == 1
    assert status == "FAIL" and "im:write, usergroups:read" in found
    assert "reinstall the app" in fix


# --- the template ------------------------------------------------------------------------------------------------


def test_a_template_url_that_404s_fails(tmp_path, deployment, template_host):
    result = doctor(tmp_path, deployment, ECO_TEMPLATE_URL=f"{template_host[0]}/gone.yaml")

    status, found, fix = lines(result.stdout)["Template URL"]
    assert result.returncode == 1
    assert status == "FAIL" and "answered 404" in found
    assert "eco-bot template publish" in fix and "readable by other accounts" in fix


# --- the database ------------------------------------------------------------------------------------------------


def test_an_unreachable_database_fails_without_showing_its_password(tmp_path, deployment):
    result = doctor(tmp_path, deployment, DATABASE_URL=UNREACHABLE_DB)

    checks = lines(result.stdout)
    assert result.returncode == 1
    assert checks["Database"][0] == "FAIL" and "Cannot connect to postgresql+psycopg://eco:***@127.0.0.1:1/eco" in checks["Database"][1]
    assert "Check DATABASE_URL" in checks["Database"][2]
    assert checks["Database migrations"][0] == "PENDING"
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_an_empty_database_is_reported_not_migrated_and_left_empty(tmp_path, deployment, database_url):
    if database_url.startswith("sqlite"):
        sqlite3.connect(database_url.removeprefix("sqlite:///")).close()  # an empty file: reachable, no schema

    result = doctor(tmp_path, deployment, DATABASE_URL=database_url)

    status, found, fix = lines(result.stdout)["Database migrations"]
    assert result.returncode == 1
    assert status == "FAIL" and found.startswith("Not migrated")
    assert "eco-bot db upgrade" in fix
    assert table_names(database_url) == []  # the doctor looked; it did not migrate


def test_a_database_behind_the_latest_migration_says_to_upgrade(tmp_path, deployment, sqlite_url):
    script = ScriptDirectory.from_config(alembic_config())
    older = script.get_revision(script.get_current_head()).down_revision
    if older is None:
        pytest.skip("only one migration exists: no older revision to be at")

    result = doctor(tmp_path, deployment, DATABASE_URL=migrate(sqlite_url, str(older)))

    status, found, fix = lines(result.stdout)["Database migrations"]
    assert result.returncode == 1
    assert status == "FAIL" and found.startswith(f"Behind: at {older}")
    assert "eco-bot db upgrade" in fix


def test_a_missing_sqlite_file_is_not_created(tmp_path, deployment):
    missing = tmp_path / "nowhere" / "eco-bot.db"

    result = doctor(tmp_path, deployment, DATABASE_URL=f"sqlite:///{missing}")

    status, found, fix = lines(result.stdout)["Database"]
    assert result.returncode == 1
    assert status == "FAIL" and "No SQLite database file" in found and "eco-bot db upgrade" in fix
    assert not missing.parent.exists()


# --- settings ----------------------------------------------------------------------------------------------------


def test_an_invalid_variable_fails_one_line_and_only_the_checks_needing_it_are_not_run(tmp_path, deployment):
    result = doctor(tmp_path, deployment, DATABASE_URL=f"mysql://eco:{DB_PASSWORD}@db.internal/eco")

    checks = lines(result.stdout)
    assert result.returncode == 1
    assert checks["Setting DATABASE_URL"][0] == "FAIL" and "sqlite://" in checks["Setting DATABASE_URL"][1]
    assert "Correct DATABASE_URL" in checks["Setting DATABASE_URL"][2]
    assert checks["Database"] == ("PENDING", "Not checked: DATABASE_URL is invalid.", "")
    assert checks["Slack token"][0] == checks["Template URL"][0] == "PASS"
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_no_secret_is_ever_printed(tmp_path, deployment, fake_slack, aws):
    # Every error path at once: a refused token, an unreachable database with a password, a missing scope list.
    fake_slack.fail("auth.test", "invalid_auth")
    keys = aws.environment()
    secrets = [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, DB_PASSWORD, keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"]]

    for args in ((), ("--json",)):
        result = doctor(tmp_path, deployment, *args, SLACK_APP_TOKEN=APP_TOKEN, DATABASE_URL=UNREACHABLE_DB)
        output = result.stdout + result.stderr
        assert result.returncode == 1
        assert [secret for secret in secrets if secret in output] == []


# --- pure parts ----------------------------------------------------------------------------------------------------


def test_the_manifest_scopes_are_read_and_a_broken_manifest_gives_none():
    assert manifest_bot_scopes((REPO / "manifest.yml").read_text()) == MANIFEST_SCOPES
    assert manifest_bot_scopes("oauth_config: {scopes: {bot: [a, b]}}") == ["a", "b"]
    assert manifest_bot_scopes("not: [a manifest") == [] and manifest_bot_scopes("- a list") == []


def test_a_configured_principal_the_bot_does_not_act_as_is_a_warning():
    session = "arn:aws:iam::111122223333:role/EcoBot"  # what principal_from_identity makes of a session
    assert principal_item("arn:aws:iam::111122223333:role/ops/EcoBot", session).status is Status.PASS  # a path
    assert principal_item("arn:aws:iam::111122223333:root", session).status is Status.PASS
    other = principal_item("arn:aws:iam::444455556666:role/EcoBot", session)
    assert other.status is Status.WARN and "refuse its AssumeRole" in plain(other.detail)


def test_an_unknown_eco_variable_is_a_failed_line(tmp_path: Path, fake_slack):
    (tmp_path / ".env").write_text("ECO_APROVERS=U1\n")
    result = eco_bot(tmp_path, "doctor", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     ECO_SLACK_API_URL=fake_slack.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 1
    assert "[FAIL]    Unknown setting: ECO_APROVERS is not a setting of this bot (did you mean ECO_APPROVERS?)." in result.stdout
