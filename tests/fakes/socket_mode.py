"""A fake of Slack's Socket Mode endpoint for tests: a real websocket server on 127.0.0.1.

In Socket Mode an app does not receive HTTP requests. It calls ``apps.connections.open`` with its
app-level token (``xapp-...``), gets back a ``wss://`` URL, opens a websocket to it, and Slack pushes every
request down that socket. This module plays the Slack side of that socket, speaking the protocol
described at https://docs.slack.dev/apis/events-api/using-socket-mode/:

* on connect, Slack sends ``{"type": "hello", "num_connections": ..., "connection_info": {"app_id": ...}}``;
* each request is an envelope ``{"envelope_id": ..., "type": "slash_commands" | "events_api" |
  "interactive", "payload": {...}, "accepts_response_payload": bool}`` whose payload is what the HTTP
  request would have carried (see ``payload_from_http_body``);
* the app acknowledges each envelope within 3 s by sending ``{"envelope_id": ...}`` back, optionally
  with a ``payload`` (the response Slack shows, for envelopes that accept one);
* pings and pongs are websocket control frames, answered by the websockets library itself.

Give ``FakeSocketMode.url`` to ``FakeSlack.socket_mode_url`` and a real slack_sdk / Bolt Socket Mode
client connects here over plain ``ws://`` (the SDK's builtin client uses TLS only for port 443). The fake
records every connection and every message the app sends; it binds 127.0.0.1 on an ephemeral port and
never contacts anything else.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

ENVELOPE_TYPES = ("slash_commands", "events_api", "interactive")
# Slack lets the app answer slash commands and interactions in the ack; Events API acks are bare.
ACCEPTS_RESPONSE_PAYLOAD = {"slash_commands": True, "interactive": True, "events_api": False}


@dataclass
class SocketConnection:
    """One websocket connection the app opened."""

    number: int  # 1 for the first connection, in order of arrival
    path: str  # request path with its query, e.g. /link/?ticket=...&app_id=A1
    headers: Dict[str, str]
    opened_at: float
    closed_at: Optional[float] = None
    close_code: Optional[int] = None  # 1000 for a clean close by the app, 1006 for a dropped socket
    websocket: Optional[ServerConnection] = field(default=None, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass
class Received:
    """One text message the app sent (acks, typically), decoded when it was JSON."""

    connection: int
    message: Any
    raw: str
    at: float


class FakeSocketMode:
    """A loopback Socket Mode endpoint. Use as a context manager or call start()/stop()."""

    def __init__(self, app_id: str = "A1") -> None:
        self.app_id = app_id
        self.ticket = uuid.uuid4().hex
        self._changed = threading.Condition()
        self._connections: List[SocketConnection] = []
        self._received: List[Received] = []
        self._sent: List[Dict[str, Any]] = []
        self._server: Optional[Server] = None
        self._thread: Optional[threading.Thread] = None

    # ----- lifecycle -------------------------------------------------------

    def start(self) -> "FakeSocketMode":
        if self._server is not None:
            return self
        # compression=None: Slack's endpoint does not negotiate permessage-deflate, nor does the SDK ask.
        # close_timeout bounds stop() when a client never answers the closing handshake.
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, close_timeout=2)
        self._thread = threading.Thread(target=self._server.serve_forever, name="FakeSocketMode", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close open connections (code 1001, going away, as Slack does on a deploy) and the server."""
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeSocketMode":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What ``apps.connections.open`` answers, shaped like Slack's ``wss://.../link/?ticket=...``."""
        if self._server is None:
            raise RuntimeError("FakeSocketMode is not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={self.ticket}&app_id={self.app_id}"

    # ----- sending Slack's side ----------------------------------------------

    def send(
        self,
        envelope_type: str,
        payload: Dict[str, Any],
        *,
        accepts_response_payload: Optional[bool] = None,
        envelope_id: Optional[str] = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push one envelope to the newest open connection; returns its ``envelope_id``.

        ``retry_attempt``/``retry_reason`` are only put on ``events_api`` envelopes, as Slack does.
        """
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}; Slack sends one of {ENVELOPE_TYPES}")
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = ACCEPTS_RESPONSE_PAYLOAD[envelope_type]
        envelope: Dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self.send_raw(envelope)
        return envelope_id

    def send_raw(self, message: Dict[str, Any]) -> None:
        """Push any JSON message (a ``disconnect`` warning, say) to the newest open connection."""
        connection = self._newest_open()
        if connection is None or connection.websocket is None:
            raise RuntimeError(f"no open Socket Mode connection to send to; connections: {self.connections()}")
        connection.websocket.send(json.dumps(message))
        with self._changed:
            self._sent.append(message)

    # ----- inspection --------------------------------------------------------

    def connections(self) -> List[SocketConnection]:
        with self._changed:
            return list(self._connections)

    def received(self) -> List[Received]:
        with self._changed:
            return list(self._received)

    def sent(self) -> List[Dict[str, Any]]:
        """Every message this fake pushed (hellos and envelopes), in order."""
        with self._changed:
            return list(self._sent)

    def wait_for_connection(self, timeout: float = 10.0, count: int = 1) -> SocketConnection:
        """Wait until ``count`` connections have been opened (hello sent); return the newest."""
        found = self._wait(lambda: self._connections if len(self._connections) >= count else None, timeout)
        if found is None:
            raise AssertionError(f"expected {count} Socket Mode connection(s) within {timeout}s, got {self.connections()}")
        return found[-1]

    def wait_for_disconnect(self, timeout: float = 5.0) -> SocketConnection:
        """Wait until no connection is open (the app closed or dropped it); return the last one to close."""

        def closed() -> Optional[SocketConnection]:
            if not self._connections or any(c.is_open for c in self._connections):
                return None
            return max(self._connections, key=lambda c: c.closed_at or 0.0)

        found = self._wait(closed, timeout)
        if found is None:
            raise AssertionError(f"a Socket Mode connection was still open after {timeout}s: {self.connections()}")
        return found

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Dict[str, Any]:
        """The app's acknowledgement of ``envelope_id`` (the whole message, ``payload`` included if any)."""

        def ack() -> Optional[Dict[str, Any]]:
            for item in self._received:
                if isinstance(item.message, dict) and item.message.get("envelope_id") == envelope_id:
                    return item.message
            return None

        found = self._wait(ack, timeout)
        if found is None:
            listing = "\n".join(f"  #{r.connection}: {r.raw}" for r in self.received()) or "  (none)"
            raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s; messages from the app:\n{listing}")
        return found

    def _wait(self, check: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = check()
                remaining = deadline - time.monotonic()
                if result is not None or remaining <= 0:
                    return result
                self._changed.wait(remaining)

    def _newest_open(self) -> Optional[SocketConnection]:
        with self._changed:
            return next((c for c in reversed(self._connections) if c.is_open), None)

    # ----- the server side of one connection (runs in a server thread) -------

    def _handle(self, websocket: ServerConnection) -> None:
        with self._changed:
            connection = SocketConnection(
                number=len(self._connections) + 1,
                path=websocket.request.path if websocket.request else "",
                headers=dict(websocket.request.headers.raw_items()) if websocket.request else {},
                opened_at=time.time(),
                websocket=websocket,
            )
            open_count = sum(1 for c in self._connections if c.is_open) + 1
        hello = {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            websocket.send(json.dumps(hello))
            with self._changed:
                # Recorded only now, so that nothing is sent to this connection before its hello.
                self._connections.append(connection)
                self._sent.append(hello)
                self._changed.notify_all()
            for raw in websocket:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                try:
                    message: Any = json.loads(text)
                except ValueError:
                    message = None
                with self._changed:
                    self._received.append(Received(connection.number, message, text, time.time()))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass  # the app went away without a closing handshake; recorded below
        finally:
            with self._changed:
                connection.closed_at = time.time()
                connection.close_code = websocket.close_code
                if connection not in self._connections:
                    self._connections.append(connection)
                self._changed.notify_all()


def payload_from_http_body(body: str) -> Dict[str, Any]:
    """The Socket Mode ``payload`` for a request Slack would otherwise have sent over HTTP.

    Slash commands: the form fields as a dict. Interactions (a form with one ``payload`` field): that JSON.
    Events API (a JSON body): the ``event_callback`` object. So the builders in ``slack_requests`` serve both.
    """
    text = body.strip()
    if text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if set(fields) == {"payload"}:
        return json.loads(fields["payload"])
    return fields
