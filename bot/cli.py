"""The `eco-bot` command line: `run`, `db upgrade` and `template`.

Configuration problems end the command with one line naming the variable (no traceback).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from sqlalchemy.exc import OperationalError

from bot.settings import SettingsError, load_settings

log = logging.getLogger("eco-bot")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="eco-bot", description="Connect AWS accounts to Eco from Slack.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (applies pending migrations first)")
    run.add_argument("--mode", choices=("socket", "http"), help="default: socket when SLACK_APP_TOKEN is set, else http")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode port (default 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode address (default 0.0.0.0)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")
    commands.add_parser("template", help="print the CloudFormation template customers launch")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # slack_sdk's debug logs carry request bodies; keep them (and any token) out of the log.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        if args.command == "template":
            from bot.aws.template import template_text

            sys.stdout.write(template_text())
            return 0
        if args.command == "db":
            return _db_upgrade()
        return _run(args)
    except SettingsError as error:
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
        service = build_service(settings, signing_secret=signing_secret)
    except BoltError as error:  # Bolt's auth.test at start: the token was refused
        raise SettingsError(f"Slack did not accept SLACK_BOT_TOKEN ({_slack_reason(error)}).") from None
    except OSError as error:
        raise SettingsError(f"cannot reach the Slack Web API at ECO_SLACK_API_URL ({type(error).__name__}).") from None
    # SIGTERM (a deploy, a container stop) ends the process like Ctrl-C does, through the finally below.
    signal.signal(signal.SIGTERM, _interrupt)
    service.scheduler.start()
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
    return 0


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
