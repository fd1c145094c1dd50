"""The `eco-bot` command line: `run`, `shell`, `doctor`, `db upgrade`, `audit export`, `verify` and `template [publish]`.

Configuration problems end the command with one line naming the variable (no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from sqlalchemy.exc import OperationalError

from bot.settings import SettingsError, load_settings
from bot.store.db import SchemaError

log = logging.getLogger("eco-bot")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="eco-bot", description="Connect AWS accounts to Eco from Slack.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (applies pending migrations first)")
    run.add_argument("--mode", choices=("socket", "http"), help="default: socket when SLACK_APP_TOKEN is set, else http")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode port (default 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode address (default 0.0.0.0)")
    run.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations (they run as a release step: `eco-bot db upgrade`); refuse to start if the schema is behind",
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")
    template = commands.add_parser("template", help="print the CloudFormation template customers launch")
    template_commands = template.add_subparsers(dest="template_command")
    publish = template_commands.add_parser("publish", help="upload the template to S3 and print the URL for ECO_TEMPLATE_URL")
    publish.add_argument("--bucket", required=True, help="the S3 bucket to upload to")
    publish.add_argument("--prefix", default="", help="key prefix (folder) in the bucket")
    shell = commands.add_parser("shell", help="the conversation in this terminal (no Slack needed); --demo adds a fake AWS")
    shell.add_argument("--demo", action="store_true", help="a fake AWS in this process with two customer accounts to connect")
    shell.add_argument("--window", help="processing window, e.g. 30s (demo default 30s; else ECO_PROCESSING_WINDOW)")
    shell.add_argument("--user", help="the Slack user ID you type as (switch with `as <ID>`)")
    verify = commands.add_parser(
        "verify", help="run a connection's checks against AWS from a terminal (exit 1 when a check does not pass)"
    )
    verify.add_argument("--bucket", required=True, help="the bucket the Cost and Usage Report is delivered to")
    verify.add_argument("--role-arn", required=True, help="the RoleArn output of the customer's stack")
    verify.add_argument("--external-id", required=True, help="the connection's external ID")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    doctor = commands.add_parser(
        "doctor", help="check the deployment: settings, Slack token and scopes, AWS identity, template URL, database"
    )
    doctor.add_argument("--json", action="store_true", help="print the results as JSON")
    audit = commands.add_parser("audit", help="the audit trail: every action and decision on connections")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_commands.add_parser("export", help="write the audit trail to stdout (streamed), for a compliance team")
    export.add_argument("--since", help="only events at or after this date (YYYY-MM-DD, UTC) or ISO 8601 date and time")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="JSON lines (default) or CSV with a header")
    return root


def configure_logging(process: str = "") -> None:
    """The log format and levels of every eco-bot process (`process` names a worker process in each line)."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s %(name)s{process}: %(message)s")
    # slack_sdk's debug logs carry request bodies; keep them (and any token) out of the log.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials in ..." on every start is noise


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging()
    try:
        if args.command == "template":
            return _template(args)
        if args.command == "shell":
            return _shell(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "doctor":
            from bot import doctor

            logging.getLogger().setLevel(logging.WARNING)  # the checklist is the output; keep the log quiet
            return doctor.main(as_json=args.json)
        if args.command == "audit":
            from bot import audit_export

            return audit_export.main(since=args.since, fmt=args.format)
        if args.command == "db":
            return _db_upgrade()
        return _run(args)
    except (SettingsError, SchemaError) as error:
        print(f"eco-bot: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        # The URL is not repeated: it may carry a password.
        print(f"eco-bot: cannot reach the database named by DATABASE_URL ({_first_line(error.orig)}).", file=sys.stderr)
        return 3
    except OSError as error:  # a database folder that cannot be made, a port already taken, ...
        where = f": {error.filename}" if error.filename else ""
        print(f"eco-bot: {error.strerror or error}{where}", file=sys.stderr)
        return 3


def _template(args: argparse.Namespace) -> int:
    from bot.aws import commands

    if args.template_command != "publish":
        from bot.aws.template import template_text

        sys.stdout.write(template_text())
        return 0
    try:
        url = commands.publish_template(args.bucket, args.prefix)
    except commands.UsageError as error:
        print(f"eco-bot: {error}", file=sys.stderr)
        return 2
    print(url)
    print(
        "Set ECO_TEMPLATE_URL to this URL. CloudFormation fetches it from the customer's account, so the object "
        "must be readable by other accounts (a bucket policy allowing s3:GetObject on it).",
        file=sys.stderr,
    )
    return 0


def _shell(args: argparse.Namespace) -> int:
    from bot.settings import parse_duration
    from bot.terminal.session import run_shell

    logging.getLogger().setLevel(logging.WARNING)  # the conversation is the output
    try:
        window = parse_duration(args.window) if args.window else None
    except ValueError as error:
        raise SettingsError(f"--window: {error}") from None
    return run_shell(load_settings(), demo=args.demo, window=window, user=args.user)


def _verify(args: argparse.Namespace) -> int:
    import os

    from bot.aws import commands

    logging.getLogger().setLevel(logging.WARNING)  # the report is the output; keep the log quiet
    try:
        sections = commands.verify(
            args.bucket, args.role_arn, args.external_id, principal=os.environ.get("ECO_TRUSTED_PRINCIPAL_ARN") or None
        )
    except commands.UsageError as error:
        print(f"eco-bot: {error}", file=sys.stderr)
        return 2
    commands.write_report(sections, sys.stdout, as_json=args.json)
    return 1 if commands.failed(sections) else 0


def _db_upgrade() -> int:
    from bot.store.db import open_database, upgrade

    settings = load_settings()
    upgrade(open_database(settings.database_url))
    log.info("database is at the latest migration")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    mode = args.mode or ("socket" if settings.slack_app_token else "http")
    settings.token("SLACK_BOT_TOKEN")
    if mode == "http":
        signing_secret: str | None = settings.token("SLACK_SIGNING_SECRET")
    else:
        settings.token("SLACK_APP_TOKEN")
        signing_secret = None  # Socket Mode payloads arrive over an authenticated websocket, unsigned

    from slack_bolt.error import BoltError

    from bot.service import build_service

    try:
        service = build_service(settings, signing_secret=signing_secret, migrate=not args.no_migrate)
    except BoltError as error:  # Bolt's auth.test at start: the token was refused
        raise SettingsError(f"Slack did not accept SLACK_BOT_TOKEN ({_slack_reason(error)}).") from None
    except OSError as error:
        raise SettingsError(f"cannot reach the Slack Web API at ECO_SLACK_API_URL ({type(error).__name__}).") from None
    # SIGTERM (a deploy, a container stop) ends the process like Ctrl-C does, through the finally below.
    signal.signal(signal.SIGTERM, _interrupt)
    # A request thread waiting to acknowledge gets the interpreter sooner from the threads doing conversations' work
    # (5 ms by default): p99 of a thread reply's ack under 50 conversations fell from ~24 to ~17 ms (bench/ack.py).
    sys.setswitchinterval(0.001)
    service.start()
    server = None
    try:
        if mode == "http":
            from bot.slack.http import make_server

            server = make_server(service.app, service.database, host=args.host, port=args.port)
            log.info("serving Slack on http://%s:%s/slack/events (health: /healthz)", args.host, server.effective_port)
            server.run()
        else:
            _serve_socket_mode(service.app, settings.token("SLACK_APP_TOKEN"))
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if server is not None:
            server.close()  # stop accepting requests before draining the work already taken
        service.close()
    _exit_within_bound()
    return 0


def _exit_within_bound() -> None:
    """End the process now if work outlived ECO_SHUTDOWN_TIMEOUT (a call to AWS or Slack that does not answer).

    Python would otherwise wait for every pool thread at exit, however long it takes. What such a thread was doing
    is safe to abandon: its notice claims were released, and a check it was running is resumed by a replica.
    """
    # Daemon threads count too: Python's exit joins every thread-pool worker, daemon or not.
    stragglers = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    for thread in stragglers:  # threads that are only finishing up (the scheduler's last wait) end in moments
        thread.join(0.1)
    stragglers = [t for t in stragglers if t.is_alive()]
    if not stragglers:
        return
    log.warning("exiting with %d task(s) unfinished after ECO_SHUTDOWN_TIMEOUT; others will take them over", len(stragglers))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _serve_socket_mode(app, app_token: str) -> None:
    """Connect to Slack over Socket Mode and serve until interrupted, closing the socket on the way out."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token)
    log.info("connecting to Slack in Socket Mode")
    try:
        handler.connect()
    except SlackApiError as error:  # apps.connections.open refused the app-level token
        raise SettingsError(f"Slack did not accept SLACK_APP_TOKEN ({error.response.get('error', 'refused')}).") from None
    try:
        threading.Event().wait()  # the handler's own threads serve; this one waits for SIGTERM or Ctrl-C
    finally:
        handler.close()  # a clean close: Slack sends what is in flight to another connection


def _first_line(error: BaseException | None) -> str:
    return (str(error) or type(error).__name__).strip().splitlines()[0] if error else "no answer"


def _slack_reason(error: Exception) -> str:
    text = str(error)
    for code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
        if code in text:
            return code
    return "auth.test failed"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
