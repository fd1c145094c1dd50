"""`eco-bot doctor`: a checklist of the deployment, to run before `eco-bot run`.

This module owns the checks and their wording. Each check is a small function returning checklist `Item`s
(name, status, what was found, the fix). The checks are independent: the settings are read variable by
variable, so one bad variable fails its own line and only the checks that need it are reported as not run;
Slack, AWS, the template URL and the database are then asked concurrently, each with a short timeout.

The doctor changes nothing: it never migrates the database and never creates a SQLite file. Secrets (the Slack
tokens and signing secret, AWS keys, a database password) are never put in a line, and the output is scrubbed of
their values as a second guard.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import boto3
import yaml

from bot.engine.content import Code, Item, Status, plain, rich
from bot.settings import README_HINT, Settings, unknown_variables
from bot.terminal import render

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"
HTTP_TIMEOUT = 5.0  # seconds, for Slack, the template URL and a PostgreSQL connection
TEMPLATE_READ_LIMIT = 1 << 20  # the packaged template is a few kB; never read an unbounded body

SETTINGS = "Settings"
APPROVERS = "Approvers"
SLACK_TOKEN = "Slack token"
SLACK_SCOPES = "Slack scopes"
AWS_IDENTITY = "AWS identity"
PRINCIPAL = "Trusted principal"
TEMPLATE = "Template URL"
DATABASE = "Database"
MIGRATIONS = "Database migrations"

SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
UPGRADE = rich("Run ", Code("eco-bot db upgrade"), " (", Code("eco-bot run"), " also migrates before it starts).")


def not_run(name: str, why: str) -> Item:
    return Item(name, Status.PENDING, rich(f"Not checked: {why}."))


# --- settings ----------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """The settings, with every invalid variable replaced by its default and named in `invalid`."""

    settings: Settings | None
    invalid: dict[str, str] = field(default_factory=dict)  # variable -> what is wrong
    env_file: str | None = ".env"

    def unusable(self, *variables: str) -> str | None:
        """Why a check needing `variables` cannot run, or None when it can."""
        if self.settings is None:
            return "the settings could not be read"
        bad = [v for v in variables if v in self.invalid]
        return f"{' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} invalid" if bad else None


def load(env_file: str | None = ".env") -> Loaded:
    """Read the settings like `load_settings`, but keep going past invalid variables to find them all."""
    from pydantic import ValidationError

    invalid: dict[str, str] = {}
    defaults: dict[str, object] = {}
    for _ in range(len(Settings.model_fields) + 1):
        try:
            return Loaded(Settings(_env_file=env_file, **defaults), invalid, env_file)  # type: ignore[call-arg]
        except ValidationError as error:
            for problem in error.errors():
                field_name = _field_name(problem.get("loc", ()))
                if field_name is None:
                    return Loaded(None, {"settings": str(problem.get("msg", "invalid"))})
                variable = Settings.model_fields[field_name].alias or field_name.upper()
                message = str(problem.get("msg", "invalid value")).removeprefix("Value error, ")
                invalid[variable] = "expected true or false" if problem.get("type") == "bool_parsing" else message
                defaults[variable] = Settings.model_fields[field_name].get_default(call_default_factory=True)
    return Loaded(None, invalid)


def _field_name(location: tuple) -> str | None:
    if not location:
        return None
    key = str(location[0])
    if key in Settings.model_fields:
        return key
    return next((name for name, info in Settings.model_fields.items() if info.alias == key), None)


def check_settings(loaded: Loaded) -> list[Item]:
    if loaded.settings is None:
        detail = "; ".join(f"{k}: {v}" for k, v in loaded.invalid.items()) or "unreadable"
        return [Item(SETTINGS, Status.FAIL, rich(detail), rich(f"Correct the configuration ({README_HINT})."))]
    settings = loaded.settings
    items = [
        Item(
            f"Setting {variable}",
            Status.FAIL,
            rich(message.rstrip(".") + "."),
            rich(f"Correct {variable} in the environment or .env ({README_HINT})."),
        )
        for variable, message in loaded.invalid.items()
    ]
    if settings.slack_bot_token is None and "SLACK_BOT_TOKEN" not in loaded.invalid:
        items.append(
            Item(
                "Setting SLACK_BOT_TOKEN",
                Status.FAIL,
                rich("Not set: the bot cannot run without it."),
                rich("Copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page."),
            )
        )
    if settings.slack_app_token is None and settings.slack_signing_secret is None and not (
        {"SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} & loaded.invalid.keys()
    ):
        items.append(
            Item(
                "Setting SLACK_APP_TOKEN or SLACK_SIGNING_SECRET",
                Status.FAIL,
                rich("Neither is set: Socket Mode needs SLACK_APP_TOKEN, HTTP mode SLACK_SIGNING_SECRET."),
                rich("Set the one for your mode, from the app's Basic Information page."),
            )
        )
    items += [
        Item("Unknown setting", Status.FAIL, rich(problem, "."), rich("Correct or remove it: `eco-bot run` refuses to start with it."))
        for problem in unknown_variables(loaded.env_file)
    ]
    if not items:
        mode = "Socket Mode (SLACK_APP_TOKEN is set)" if settings.slack_app_token else "HTTP mode"
        items.append(Item(SETTINGS, Status.PASS, rich(f"Valid; `eco-bot run` will start in {mode}.")))
    if settings.approvers:
        users, groups = len(settings.approvers.users), len(settings.approvers.groups)
        items.append(Item(APPROVERS, Status.PASS, rich(f"{users} user(s) and {groups} user group(s) may approve.")))
    elif "ECO_APPROVERS" not in loaded.invalid:
        items.append(
            Item(
                APPROVERS,
                Status.WARN,
                rich("ECO_APPROVERS is empty: every connection will wait at the approval step."),
                rich("Set ECO_APPROVERS to Slack user IDs (U…) or user-group IDs (S…)."),
            )
        )
    return items


# --- Slack -------------------------------------------------------------------------------------------


def manifest_bot_scopes(text: str) -> list[str]:
    """The bot scopes manifest.yml asks for (`oauth_config.scopes.bot`); empty when it names none."""
    try:
        manifest = yaml.safe_load(text) or {}
        scopes = manifest.get("oauth_config", {}).get("scopes", {}).get("bot", [])
    except (yaml.YAMLError, AttributeError):
        return []
    return [str(scope) for scope in scopes] if isinstance(scopes, list) else []


def check_slack(settings: Settings) -> list[Item]:
    """auth.test with SLACK_BOT_TOKEN, and the scopes Slack says it holds against those manifest.yml asks for."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    assert settings.slack_bot_token is not None
    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=HTTP_TIMEOUT)
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "refused") if isinstance(error.response.data, dict) else "refused"
        return [
            Item(
                SLACK_TOKEN,
                Status.FAIL,
                rich("Slack refused SLACK_BOT_TOKEN (", Code(str(code)), ")."),
                rich(
                    "Copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page; "
                    "if the app was uninstalled or the token revoked, reinstall the app to the workspace first."
                ),
            ),
            not_run(SLACK_SCOPES, "the token was refused"),
        ]
    except (SlackClientError, OSError) as error:
        return [
            Item(
                SLACK_TOKEN,
                Status.FAIL,
                rich("Could not reach the Slack Web API at ", Code(settings.slack_api_url), f" ({type(error).__name__})."),
                rich("Check ECO_SLACK_API_URL (normally https://slack.com/api/) and that this host may reach it."),
            ),
            not_run(SLACK_SCOPES, "Slack did not answer"),
        ]
    who = rich(
        "Accepted: bot user ", Code(str(response.get("user", "?"))), " in workspace ", Code(str(response.get("team", "?"))),
        f" ({response.get('team_id', '?')}).",
    )
    return [Item(SLACK_TOKEN, Status.PASS, who), _scopes_item(response.headers)]


def _scopes_item(headers: dict) -> Item:
    granted_header = next((v for k, v in (headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
    try:
        wanted = manifest_bot_scopes(MANIFEST.read_text(encoding="utf-8"))
    except OSError:
        wanted = []
    if granted_header is None:
        return Item(SLACK_SCOPES, Status.WARN, rich("Slack did not say which scopes the token holds (no x-oauth-scopes header)."))
    granted = {scope.strip() for scope in str(granted_header).split(",") if scope.strip()}
    if not wanted:
        return Item(
            SLACK_SCOPES,
            Status.WARN,
            rich("Granted: ", ", ".join(sorted(granted)) or "none", f". Not compared: no bot scopes read from {MANIFEST}."),
        )
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        return Item(
            SLACK_SCOPES,
            Status.FAIL,
            rich(f"The token lacks {len(missing)} of the {len(wanted)} scopes manifest.yml asks for: ", ", ".join(missing), "."),
            rich(
                "Add them under OAuth & Permissions → Bot Token Scopes (or paste manifest.yml again under App Manifest), "
                "then reinstall the app to the workspace: a token gains new scopes only on reinstall."
            ),
        )
    return Item(SLACK_SCOPES, Status.PASS, rich(f"All {len(wanted)} bot scopes manifest.yml asks for are granted."))


# --- AWS ---------------------------------------------------------------------------------------------


def check_aws(session: boto3.Session, configured_principal: str | None, principal_unusable: str | None) -> list[Item]:
    """The bot's identity through boto3's standard chain, and the principal customers' roles will trust."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from bot.aws.verifier import CLIENT_CONFIG, ECO_REGION, principal_from_identity

    try:
        arn = session.client("sts", region_name=session.region_name or ECO_REGION, config=CLIENT_CONFIG).get_caller_identity()["Arn"]
    except NoCredentialsError:
        identity = Item(
            AWS_IDENTITY,
            Status.FAIL,
            rich("boto3 found no AWS credentials."),
            rich(
                "Give the bot an AWS identity through boto3's standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "a profile in ~/.aws, or an instance or task role (README, 'Setting it up', step 3)."
            ),
        )
        arn = None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        identity = Item(
            AWS_IDENTITY,
            Status.FAIL,
            rich("AWS refused the bot's credentials (", Code(code), ")."),
            rich("Replace or renew the credentials boto3 finds (environment, ~/.aws, or the instance or task role)."),
        )
        arn = None
    except BotoCoreError as error:
        identity = Item(
            AWS_IDENTITY,
            Status.FAIL,
            rich(f"Could not reach AWS STS ({type(error).__name__})."),
            rich("Check this host's access to AWS (and AWS_ENDPOINT_URL, if set)."),
        )
        arn = None
    else:
        identity = Item(AWS_IDENTITY, Status.PASS, rich("The bot acts as ", Code(arn), "."))
    if principal_unusable:
        return [identity, not_run(PRINCIPAL, principal_unusable)]
    derived = principal_from_identity(arn) if arn else None
    return [identity, principal_item(configured_principal, derived)]


def principal_item(configured: str | None, derived: str | None) -> Item:
    """What customers' roles will trust; a configured principal the bot does not act as is a warning."""
    if configured is None:
        if derived is None:
            return not_run(PRINCIPAL, "the bot's AWS identity is unknown and ECO_TRUSTED_PRINCIPAL_ARN is not set")
        return Item(
            PRINCIPAL,
            Status.PASS,
            rich("Customers' roles will trust ", Code(derived), " (the bot's identity; set ECO_TRUSTED_PRINCIPAL_ARN if its role has a path)."),
        )
    found = rich("Customers' roles will trust ", Code(configured), " (ECO_TRUSTED_PRINCIPAL_ARN).")
    if derived is None or acts_as(derived, configured):
        return Item(PRINCIPAL, Status.PASS, found)
    return Item(
        PRINCIPAL,
        Status.WARN,
        found + rich(" The bot acts as ", Code(derived), ", so AWS would refuse its AssumeRole into those roles."),
        rich("Set ECO_TRUSTED_PRINCIPAL_ARN to the bot's own role (with its path), or run the bot as that principal."),
    )


def acts_as(derived: str, configured: str) -> bool:
    """Whether a caller whose principal is `derived` is `configured`: the same account, and `configured` is the
    account's root or the same role or user (a session ARN drops the role's path, so only names are compared)."""
    if derived.count(":") < 5 or configured.count(":") < 5:
        return False
    (*_, account, mine), (*_, their_account, theirs) = derived.split(":", 5), configured.split(":", 5)
    if account != their_account:
        return False
    if theirs == "root":
        return True
    return mine.split("/", 1)[0] == theirs.split("/", 1)[0] and mine.rsplit("/", 1)[-1] == theirs.rsplit("/", 1)[-1]


# --- the template ------------------------------------------------------------------------------------


def check_template(url: str | None) -> Item:
    """ECO_TEMPLATE_URL answers a GET with this version's template (CloudFormation fetches it from there)."""
    if url is None:
        return Item(
            TEMPLATE,
            Status.WARN,
            rich("ECO_TEMPLATE_URL is not set: the bot will list the stack parameters to enter by hand instead of a one-click link."),
            rich("Run ", Code("eco-bot template publish --bucket <bucket>"), " and set ECO_TEMPLATE_URL to the URL it prints."),
        )
    from bot.aws.template import template_text

    shown = url.split("?", 1)[0]  # a query string may carry a signature
    publish = rich("Publish it with ", Code("eco-bot template publish --bucket <bucket>"), " and set ECO_TEMPLATE_URL to the URL it prints")
    request = urllib.request.Request(url, headers={"User-Agent": "eco-bot doctor"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            body = response.read(TEMPLATE_READ_LIMIT)
    except urllib.error.HTTPError as error:
        return Item(
            TEMPLATE,
            Status.FAIL,
            rich(Code(shown), f" answered {error.code} {error.reason}."),
            publish + rich("; the object must be readable by other accounts (CloudFormation fetches it from the customer's)."),
        )
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        return Item(
            TEMPLATE,
            Status.FAIL,
            rich("Could not fetch ", Code(shown), f" ({type(reason).__name__}: {str(reason).splitlines()[0] if str(reason) else ''})."),
            rich("Check the URL and that its host answers over HTTPS. ") + publish + rich("."),
        )
    if body != template_text().encode():
        return Item(
            TEMPLATE,
            Status.WARN,
            rich(Code(shown), " answered, but not with this version's template (an older or edited copy)."),
            publish + rich(": each version gets its own URL."),
        )
    return Item(TEMPLATE, Status.PASS, rich(Code(shown), " serves this version's template."))


# --- the database ------------------------------------------------------------------------------------


def check_database(url: str) -> list[Item]:
    """The database answers and is at the latest migration. Read-only: nothing is created or migrated."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import alembic_config

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        # Connecting would create an empty file; the doctor only looks.
        if not Path(parsed.database).expanduser().is_file():
            return [
                Item(DATABASE, Status.FAIL, rich("No SQLite database file at ", Code(parsed.database), "."), UPGRADE),
                not_run(MIGRATIONS, "no database"),
            ]
        engine = create_engine(url)
    else:
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": int(HTTP_TIMEOUT)}
        engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or type(error).__name__).strip().splitlines()
        return [
            Item(
                DATABASE,
                Status.FAIL,
                rich("Cannot connect to ", Code(shown), f" ({reason[0] if reason else 'no answer'})."),
                rich("Check DATABASE_URL, that the database server runs, and that this host may reach it."),
            ),
            not_run(MIGRATIONS, "the database did not answer"),
        ]
    finally:
        engine.dispose()
    reachable = Item(DATABASE, Status.PASS, rich("Connected to ", Code(shown), "."))
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    latest = ", ".join(sorted(heads))
    if current == heads:
        return [reachable, Item(MIGRATIONS, Status.PASS, rich(f"At the latest migration ({latest})."))]
    if not current:
        return [reachable, Item(MIGRATIONS, Status.FAIL, rich(f"Not migrated: the database has no schema yet (latest: {latest})."), UPGRADE)]
    if current - known:
        return [
            reachable,
            Item(
                MIGRATIONS,
                Status.FAIL,
                rich(f"At {', '.join(sorted(current))}, a migration this version does not know (latest here: {latest})."),
                rich("A newer version of the bot migrated this database: run that version (or point DATABASE_URL elsewhere)."),
            ),
        ]
    return [
        reachable,
        Item(MIGRATIONS, Status.FAIL, rich(f"Behind: at {', '.join(sorted(current))}, the latest is {latest}."), UPGRADE),
    ]


# --- running and reporting -----------------------------------------------------------------------------


def run_checks(session: boto3.Session, env_file: str | None = ".env") -> list[Item]:
    """Every check, in a fixed order; the ones that reach out run concurrently (`session` in one thread only)."""
    loaded = load(env_file)
    items = check_settings(loaded)
    settings = loaded.settings
    jobs: list[Callable[[], list[Item]]] = []

    slack_blocked = loaded.unusable("SLACK_BOT_TOKEN", "ECO_SLACK_API_URL") or (
        "SLACK_BOT_TOKEN is not set" if settings is not None and settings.slack_bot_token is None else None
    )
    if slack_blocked:
        jobs.append(lambda: [not_run(SLACK_TOKEN, slack_blocked), not_run(SLACK_SCOPES, slack_blocked)])
    else:
        jobs.append(lambda: check_slack(settings))
    principal = settings.trusted_principal_arn if settings else None
    jobs.append(lambda: check_aws(session, principal, loaded.unusable("ECO_TRUSTED_PRINCIPAL_ARN")))
    template_blocked = loaded.unusable("ECO_TEMPLATE_URL")
    jobs.append(lambda: [not_run(TEMPLATE, template_blocked)] if template_blocked else [check_template(settings.template_url)])
    database_blocked = loaded.unusable("DATABASE_URL")
    if database_blocked:
        jobs.append(lambda: [not_run(DATABASE, database_blocked), not_run(MIGRATIONS, database_blocked)])
    else:
        jobs.append(lambda: check_database(settings.database_url))
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="eco-doctor") as pool:
        for found in [pool.submit(job) for job in jobs]:
            items += found.result()
    return items


def failed(items: Iterable[Item]) -> bool:
    """A failure, or a check that could not run: the deployment is not proven."""
    return any(item.holds_step for item in items)


def summary(items: list[Item]) -> str:
    counts = {status: sum(item.status is status for item in items) for status in Status}
    parts = [f"{counts[Status.PASS]} passed"]
    if counts[Status.WARN]:
        parts.append(f"{counts[Status.WARN]} warning(s)")
    if counts[Status.FAIL]:
        parts.append(f"{counts[Status.FAIL]} failed")
    if counts[Status.PENDING]:
        parts.append(f"{counts[Status.PENDING]} not run")
    if failed(items):
        return f"Not ready: {', '.join(parts)}. See the fixes above."
    return f"Ready: {', '.join(parts)}."


def write_report(items: list[Item], out: TextIO, *, as_json: bool = False, secrets: Iterable[str] = ()) -> None:
    if as_json:
        checks = [{"name": i.name, "status": str(i.status), "found": plain(i.detail), "fix": plain(i.fix)} for i in items]
        text = json.dumps({"ok": not failed(items), "checks": checks}, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "\n".join([*render.checklist(items), "", summary(items)]) + "\n"
    out.write(redact(text, secrets))


def secret_values(session: boto3.Session, env_file: str | None = ".env") -> list[str]:
    """Every secret the bot may hold, from the environment and `.env`, to scrub from the output."""
    from dotenv import dotenv_values
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    sources = [dict(os.environ)]
    if env_file and Path(env_file).is_file():
        sources.append({k: v for k, v in dotenv_values(env_file).items() if v})
    found = [source.get(name) for source in sources for name in SECRET_VARIABLES]
    for source in sources:
        try:
            found.append(make_url(source["DATABASE_URL"]).password if source.get("DATABASE_URL") else None)
        except ArgumentError:
            pass
    try:  # the keys boto3 found elsewhere (~/.aws, a role): never printed, but scrubbed all the same
        credentials = session.get_credentials()  # resolved (and cached) by the AWS check: no second lookup
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            found += [frozen.access_key, frozen.secret_key, frozen.token]
    except Exception as error:  # the AWS check reports credential problems; here they only mean less to scrub
        log.debug("no AWS credentials to scrub: %s", type(error).__name__)
    # Longest first, so a secret containing another is scrubbed whole; very short values would garble the output.
    return sorted({str(value) for value in found if value and len(str(value)) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def main(*, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    session = boto3.Session()
    items = run_checks(session)
    write_report(items, out, as_json=as_json, secrets=secret_values(session))
    return 1 if failed(items) else 0
