"""A fake of the Slack Web API for tests: a real HTTP server on 127.0.0.1.

This module owns the Slack side of every outbound call the bot makes. A real
``slack_sdk.WebClient(base_url=fake.api_url)`` talks to it over loopback, so the
SDK's own request encoding, retry handlers and error handling are exercised, not
mocked away. The fake:

* records every Web API call (``Call``) and every post to a ``response_url``;
* answers the methods the bot uses the way Slack does (``{"ok": true, ...}``),
  keeps the messages it was sent so ``conversations.replies`` can return them;
* fails on demand (``fail``) and rate-limits on demand (``rate_limit``);
* refuses calls without a bot/app token, like Slack's ``not_authed``;
* answers ``apps.connections.open`` (Socket Mode) with ``socket_mode_url``, only
  for an app-level token sent in the Authorization header, as Slack does.
* reports ``oauth_scopes`` (when set) in the ``x-oauth-scopes`` response header
  of every answered call, as Slack reports the token's granted scopes.

It binds 127.0.0.1 on an ephemeral port and never contacts anything else.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit

Params = Dict[str, Any]
ParamsPredicate = Callable[[Params], bool]

# Fields that WebClient sends as JSON strings inside form bodies; decoded so that
# tests see the same Python objects whether the call went as form or JSON.
JSON_STRING_FIELDS = ("blocks", "metadata", "view", "attachments")

ACCEPTED_TOKEN_PREFIXES = ("xoxb-", "xapp-")
APP_TOKEN_PREFIX = "xapp-"
# Methods that only an app-level token may call, and only from the Authorization header.
APP_TOKEN_METHODS = ("apps.connections.open",)

# Generated message timestamps are the time of the post, as on Slack (conversations.history's `oldest` compares
# them with the clock), moved on by at least TS_STEP_MICROS so that they never collide within one fake.
TS_STEP_MICROS = 100


@dataclass
class Call:
    """One Web API call as the fake received it, and what it answered."""

    method: str
    params: Params
    token: Optional[str]
    at: float
    status: int = 200
    response: Dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class ResponsePost:
    """One post to a ``response_url`` (what Bolt's ``respond()`` sends)."""

    name: str
    body: Any
    at: float


@dataclass
class _FailureRule:
    """A scripted failure: which calls it hits, how it answers, how often."""

    method: str
    error: str
    status: int = 200
    retry_after: Optional[int] = None
    when: Optional[ParamsPredicate] = None
    remaining: Optional[int] = None  # None means "every matching call"

    def matches(self, method: str, params: Params) -> bool:
        if self.method != method or self.remaining == 0:
            return False
        return self.when is None or bool(self.when(params))


def _is_true(value: Any) -> bool:
    """Slack flags arrive as true/"true"/"1" depending on how the SDK encoded them."""
    return value is True or str(value).lower() in ("1", "true")


def _format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class _Server(ThreadingHTTPServer):
    # Several bot processes post at once (replica tests, benchmarks): http.server's default listen backlog of 5
    # would reset connections that Slack itself would have accepted.
    request_queue_size = 128


class FakeSlack:
    """A loopback Slack Web API. Use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: List[Call] = []
        self._responses: List[ResponsePost] = []
        self._rules: List[_FailureRule] = []
        # Messages the bot posted, by (channel, ts), in posting order.
        self._messages: Dict[tuple, Dict[str, Any]] = {}
        self._next_ts = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

        # Configurable state that tests may set directly.
        self.usergroups: Dict[str, List[str]] = {}
        self.users: Dict[str, Dict[str, Any]] = {}
        self.auth_info: Dict[str, Any] = {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "eco-connect",
            "team_id": "T1",
            "user_id": "UBOT",
            "bot_id": "BBOT",
            "is_enterprise_install": False,
        }
        # What apps.connections.open answers as ``url``: the Socket Mode endpoint to connect to
        # (tests.fakes.socket_mode.FakeSocketMode.url). None: the method fails, naming this attribute.
        self.socket_mode_url: Optional[str] = None
        # The scopes the token holds, sent as Slack does in the ``x-oauth-scopes`` header of each answered
        # call (what `eco-bot doctor` compares with manifest.yml). None: no such header.
        self.oauth_scopes: Optional[List[str]] = None
        # Seconds each chat.postMessage waits before answering, standing in for Slack's round trip (benchmarks
        # set it; 0: answer at once). Concurrent posts wait side by side, as they would on Slack.
        self.post_delay: float = 0.0

    # ----- lifecycle -------------------------------------------------------

    def start(self) -> "FakeSlack":
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True  # a hung client must not block interpreter exit
        self._server = server
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The WebClient ``base_url``; ends in ``/api/``."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A ``response_url`` whose posts are recorded under ``name``."""
        return f"{self.base_url}/response/{name}"

    # ----- scripting ---------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        when: Optional[ParamsPredicate] = None,
        times: Optional[int] = None,
    ) -> None:
        """Answer matching calls with HTTP 200 ``{"ok": false, "error": error}``."""
        self._add_rule(_FailureRule(method=method, error=error, when=when, remaining=times))

    def rate_limit(
        self,
        method: str,
        retry_after: int = 1,
        times: Optional[int] = 1,
        *,
        when: Optional[ParamsPredicate] = None,
    ) -> None:
        """Answer matching calls with HTTP 429, ``Retry-After`` and ``ratelimited``."""
        rule = _FailureRule(
            method=method, error="ratelimited", status=429, retry_after=retry_after, when=when, remaining=times
        )
        self._add_rule(rule)

    def clear_failures(self) -> None:
        with self._lock:
            self._rules.clear()

    def add_message(self, channel: str, ts: str, **fields: Any) -> Dict[str, Any]:
        """Seed a message the bot did not post (say, a user's thread root) for conversations.replies."""
        message = {"type": "message", "ts": ts, **fields}
        with self._lock:
            self._messages[(channel, ts)] = message
        return message

    def _add_rule(self, rule: _FailureRule) -> None:
        with self._lock:
            self._rules.append(rule)

    # ----- inspection --------------------------------------------------------

    def calls(self, method: Optional[str] = None) -> List[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def responses(self, name: Optional[str] = None) -> List[ResponsePost]:
        with self._lock:
            return [r for r in self._responses if name is None or r.name == name]

    def messages(self, channel: Optional[str] = None) -> List[Dict[str, Any]]:
        """Messages the fake holds (posted or seeded), as copies, in ts order."""
        with self._lock:
            found = [
                copy.deepcopy(message)
                for (message_channel, _), message in self._messages.items()
                if channel is None or message_channel == channel
            ]
        return sorted(found, key=lambda m: float(m["ts"]))

    def wait_for(
        self,
        method: str,
        predicate: Optional[ParamsPredicate] = None,
        timeout: float = 10.0,
        count: int = 1,
    ) -> List[Call]:
        """Wait until ``count`` calls of ``method`` match ``predicate`` (on params); return all matches."""

        def matching() -> List[Call]:
            return [c for c in self.calls(method) if predicate is None or predicate(c.params)]

        found = _poll(matching, count, timeout)
        if len(found) < count:
            raise AssertionError(
                f"expected {count} {method} call(s) matching, got {len(found)} within {timeout}s; "
                f"recorded calls:\n{self.describe_calls()}"
            )
        return found

    def wait_for_response(
        self,
        name: str,
        predicate: Optional[Callable[[Any], bool]] = None,
        timeout: float = 10.0,
        count: int = 1,
    ) -> List[ResponsePost]:
        """Wait until ``count`` posts to ``response_url(name)`` match ``predicate`` (on the body)."""

        def matching() -> List[ResponsePost]:
            return [r for r in self.responses(name) if predicate is None or predicate(r.body)]

        found = _poll(matching, count, timeout)
        if len(found) < count:
            listing = "\n".join(f"  {r.name}: {r.body!r}" for r in self.responses()) or "  (none)"
            raise AssertionError(
                f"expected {count} post(s) to response_url {name!r}, got {len(found)} within {timeout}s; "
                f"recorded response posts:\n{listing}"
            )
        return found

    def describe_calls(self) -> str:
        lines = [
            f"  {c.method} -> {c.status} {c.response.get('error', 'ok')} params={c.params!r}" for c in self.calls()
        ]
        return "\n".join(lines) or "  (none)"

    def reset(self) -> None:
        """Forget recorded calls and response posts. Messages, rules and configuration stay."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()

    # ----- request handling (called from server threads) ---------------------

    def _handle_api(
        self, method: str, params: Params, token: Optional[str], *, token_in_header: bool = True
    ) -> tuple:
        """Return (status, headers, body) for one Web API call and record it.

        ``token_in_header``: the token came as ``Authorization: Bearer``, not as a ``token`` parameter.
        """
        if method == "chat.postMessage" and self.post_delay > 0:
            time.sleep(self.post_delay)
        status, headers, body = self._answer(method, params, token, token_in_header)
        with self._lock:
            self._calls.append(Call(method, params, token, time.time(), status, body))
        return status, headers, body

    def _answer(self, method: str, params: Params, token: Optional[str], token_in_header: bool = True) -> tuple:
        if not token or not token.startswith(ACCEPTED_TOKEN_PREFIXES):
            return 200, {}, {"ok": False, "error": "not_authed"}
        if method in APP_TOKEN_METHODS:
            # Slack: a bot token is the wrong type for this method; an app token must come in the
            # Authorization header ("passing it as a POST parameter will result in an error").
            if not token.startswith(APP_TOKEN_PREFIX):
                return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
            if not token_in_header:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
        rule = self._take_rule(method, params)
        if rule is not None:
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            return rule.status, headers, {"ok": False, "error": rule.error}
        handler = _METHOD_HANDLERS.get(method)
        body = handler(self, params) if handler else {"ok": True}
        scopes = self.oauth_scopes
        return 200, ({"x-oauth-scopes": ",".join(scopes)} if scopes is not None else {}), body

    def _take_rule(self, method: str, params: Params) -> Optional[_FailureRule]:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, params):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def _record_response_post(self, name: str, body: Any) -> None:
        with self._lock:
            self._responses.append(ResponsePost(name, body, time.time()))

    def _new_ts(self) -> str:
        with self._lock:
            micros = max(self._next_ts, int(time.time() * 1_000_000))
            self._next_ts = micros + TS_STEP_MICROS
        return _format_ts(micros)

    # ----- method answers ----------------------------------------------------

    def _auth_test(self, params: Params) -> Dict[str, Any]:
        return {"ok": True, **self.auth_info}

    def _chat_post_message(self, params: Params) -> Dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        # Posting to a user id lands in the bot's DM with that user, as on Slack.
        channel = _dm_channel_for(channel)
        message = self._bot_message(params, self._new_ts())
        with self._lock:
            self._messages[(channel, message["ts"])] = message
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, params: Params) -> Dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        edited = {"user": self.auth_info["user_id"], "ts": self._new_ts()}
        with self._lock:
            stored = self._messages.get((channel, ts))
            if stored is not None:
                # Keep the stored copy current so conversations.replies shows the edit.
                editable = ("text", "blocks", "metadata", "attachments")
                stored.update({key: copy.deepcopy(params[key]) for key in editable if key in params})
                stored["edited"] = edited
            message = copy.deepcopy(stored) if stored is not None else self._bot_message(params, ts)
        return {"ok": True, "channel": channel, "ts": ts, "text": params.get("text", ""), "message": message}

    def _chat_post_ephemeral(self, params: Params) -> Dict[str, Any]:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._new_ts()}

    def _chat_get_permalink(self, params: Params) -> Dict[str, Any]:
        channel, ts = params.get("channel", ""), str(params.get("message_ts", ""))
        link = f"{self.auth_info['url']}archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_open(self, params: Params) -> Dict[str, Any]:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": params["channel"]}}
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(users)
        return {"ok": True, "channel": {"id": channel_id}}

    def _conversations_replies(self, params: Params) -> Dict[str, Any]:
        channel, ts = params.get("channel"), str(params.get("ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        in_channel = self.messages(channel)
        # Asking with a reply's ts returns its whole thread, as on Slack.
        root_ts = next((m.get("thread_ts", ts) for m in in_channel if m["ts"] == ts), ts)
        root = [m for m in in_channel if m["ts"] == root_ts]
        replies = [m for m in in_channel if m.get("thread_ts") == root_ts and m["ts"] != root_ts]
        if root and replies:
            root[0].update(thread_ts=root_ts, reply_count=len(replies))
        thread = root + replies
        # Like Slack, metadata only comes back when asked for.
        if not _is_true(params.get("include_all_metadata")):
            for message in thread:
                message.pop("metadata", None)
        return {"ok": True, "messages": thread, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, params: Params) -> Dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        # Like Slack: the channel's top-level messages (thread replies stay in their threads), newest first.
        history = [
            m for m in self.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"] and float(m["ts"]) > oldest
        ]
        history.sort(key=lambda m: float(m["ts"]), reverse=True)
        if not _is_true(params.get("include_all_metadata")):
            for message in history:
                message.pop("metadata", None)
        return {"ok": True, "messages": history, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _usergroups_users_list(self, params: Params) -> Dict[str, Any]:
        group = params.get("usergroup")
        with self._lock:
            members = self.usergroups.get(group)
            members = list(members) if members is not None else None
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": members}

    def _users_info(self, params: Params) -> Dict[str, Any]:
        user_id = params.get("user")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        user = {
            "id": user_id,
            "team_id": self.auth_info["team_id"],
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": False,
            "tz": "Europe/Berlin",
            "profile": {"display_name": user_id.lower(), "real_name": f"User {user_id}"},
        }
        user.update(copy.deepcopy(self.users.get(user_id, {})))
        return {"ok": True, "user": user}

    def _apps_connections_open(self, params: Params) -> Dict[str, Any]:
        if not self.socket_mode_url:
            return {"ok": False, "error": "fake_socket_mode_url_not_set"}
        return {"ok": True, "url": self.socket_mode_url}

    def _views_publish(self, params: Params) -> Dict[str, Any]:
        view = params.get("view") if isinstance(params.get("view"), dict) else {}
        return {"ok": True, "view": {"id": "V" + self._new_ts().replace(".", ""), **view}}

    def _views_open(self, params: Params) -> Dict[str, Any]:
        # Slack refuses a modal without a trigger_id from a recent interaction (they expire after 3 seconds).
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = params.get("view") if isinstance(params.get("view"), dict) else {}
        return {"ok": True, "view": {"id": "V" + self._new_ts().replace(".", ""), **view}}

    def _bot_message(self, params: Params, ts: str) -> Dict[str, Any]:
        """The message object Slack stores for a bot post: the bot's ids plus what was sent."""
        message: Dict[str, Any] = {
            "type": "message",
            "user": self.auth_info["user_id"],
            "bot_id": self.auth_info["bot_id"],
            "app_id": "A1",
            "team": self.auth_info["team_id"],
            "ts": ts,
            "text": params.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                message[key] = copy.deepcopy(params[key])
        return message


_METHOD_HANDLERS: Dict[str, Callable[[FakeSlack, Params], Dict[str, Any]]] = {
    "apps.connections.open": FakeSlack._apps_connections_open,
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.replies": FakeSlack._conversations_replies,
    "conversations.history": FakeSlack._conversations_history,
    "usergroups.users.list": FakeSlack._usergroups_users_list,
    "users.info": FakeSlack._users_info,
    "views.publish": FakeSlack._views_publish,
    "views.open": FakeSlack._views_open,
}


def _dm_channel_for(channel: str) -> str:
    return "D" + channel if channel.startswith(("U", "W")) else channel


def _poll(matching: Callable[[], list], count: int, timeout: float) -> list:
    """Re-evaluate ``matching`` until it yields ``count`` items or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        found = matching()
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


# ----- HTTP plumbing -----------------------------------------------------------


def parse_params(query: str, body: bytes, content_type: str) -> Params:
    """Merge query-string and body parameters the way Slack reads them."""
    params: Params = dict(parse_qsl(query, keep_blank_values=True))
    if not body:
        return params
    if content_type.startswith("application/json"):
        params.update(json.loads(body.decode("utf-8")))
    else:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in JSON_STRING_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            params[key] = json.loads(value)
    return params


def _bearer_token(authorization: Optional[str]) -> Optional[str]:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    return None


def _make_handler(fake: FakeSlack) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._dispatch()

        def do_GET(self) -> None:
            self._dispatch()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; the fake records calls itself

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            if url.path.startswith("/api/"):
                self._api(url.path[len("/api/") :], url.query, raw, content_type)
            elif url.path.startswith("/response/"):
                self._response_url(url.path[len("/response/") :], raw, content_type)
            else:
                self._send(404, {}, {"ok": False, "error": "unknown_path"})

        def _api(self, method: str, query: str, raw: bytes, content_type: str) -> None:
            try:
                params = parse_params(query, raw, content_type)
            except (ValueError, UnicodeDecodeError):
                self._send(200, {}, {"ok": False, "error": "invalid_json"})
                return
            header_token = _bearer_token(self.headers.get("Authorization"))
            token = header_token or params.get("token")
            self._send(*fake._handle_api(method, params, token, token_in_header=header_token is not None))

        def _response_url(self, name: str, raw: bytes, content_type: str) -> None:
            try:
                body: Any = json.loads(raw.decode("utf-8")) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            fake._record_response_post(name, body)
            self._send(200, {}, {"ok": True})

        def _send(self, status: int, headers: Dict[str, str], body: Dict[str, Any]) -> None:
            payload = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
