"""HTTP mode: one WSGI application serving Bolt on `POST /slack/events` and `GET /healthz`, run by
waitress (a production WSGI server; Bolt's own `App.start()` is for development only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine
from waitress import create_server

from bot.store.db import is_healthy

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App, database: Engine) -> Callable:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            healthy = is_healthy(database)
            body = json.dumps({"status": "ok" if healthy else "unavailable", "database": "ok" if healthy else "unreachable"}).encode()
            start_response(
                "200 OK" if healthy else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
            )
            return [body]
        return slack(environ, start_response)

    return application


def make_server(app: App, database: Engine, *, host: str, port: int, threads: int = 8):
    """A waitress server (not yet running); `.effective_port` tells the port when 0 was asked for."""
    return create_server(wsgi_app(app, database), host=host, port=port, threads=threads, ident="eco-bot")
