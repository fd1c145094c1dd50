"""Several `eco-bot run --mode http` replicas as real subprocesses sharing one database, for the tests of
tests/test_replicas.py: the processes (started, killed with SIGKILL, restarted), a fake Slack that can hold a
call's answer back (so that a process can be killed at a real point of its work, with no hook in the bot), rows
seeded straight into the database, and what the tests read back (notice rows, tagged posts).

Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.store.db import open_database, session_factory, upgrade
from bot.store.models import Connection, Notice
from tests.fakes.slack_api import Call, FakeSlack, Params, ParamsPredicate
from tests.processes import BotProcess

SIGNING_SECRET = "replica-test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-replica-test-token"
TEAM = "T1"
CHANNEL = "C1"
REQUESTER = "UREQ1"
APPROVER = "UAPPROVER1"
NOTICE_EVENT = "eco_notice"
STARTUP_TIMEOUT = 30.0
HOLD_LIMIT = 60.0  # a held answer is let go after this long whatever happens (a test that forgot to release)


# --- a fake Slack that can hold an answer back -----------------------------------------------------


@dataclass
class Hold:
    """Matching calls are answered as usual (recorded, a posted message stored) but their HTTP answer is kept
    back until `release()`: to the caller, the request hangs, as when the answer is lost on the way."""

    method: str
    when: ParamsPredicate | None
    remaining: int | None
    drop: bool = False  # instead of answering late, never answer: the connection is closed
    calls: list[Call] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, params: Params) -> bool:
        if self.method != method or self.remaining == 0:
            return False
        return self.when is None or bool(self.when(params))

    def wait_arrived(self, timeout: float) -> Call:
        """The first call held (fails when none came within `timeout`)."""
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no {self.method} call to hold arrived within {timeout}s")
        return self.calls[0]

    def release(self) -> None:
        self.released.set()


class HoldingSlack(FakeSlack):
    """FakeSlack plus `hold(method, when=...)` (the answer comes late) and `drop(method, when=...)` (it never
    comes: the call took effect, the connection is closed without an answer)."""

    def __init__(self) -> None:
        super().__init__()
        self._holds: list[Hold] = []
        self._dropping = threading.local()

    def start(self) -> "HoldingSlack":
        super().start()
        server = self._server
        assert server is not None
        fake = self

        class Handler(server.RequestHandlerClass):  # type: ignore[name-defined,misc]
            def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
                if getattr(fake._dropping, "now", False):
                    fake._dropping.now = False
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                super()._send(status, headers, body)

        server.RequestHandlerClass = Handler
        return self

    def drop(self, method: str, *, when: ParamsPredicate | None = None, times: int | None = 1) -> Hold:
        hold = Hold(method, when, times, drop=True)
        with self._lock:
            self._holds.append(hold)
        return hold

    def hold(self, method: str, *, when: ParamsPredicate | None = None, times: int | None = 1) -> Hold:
        hold = Hold(method, when, times)
        with self._lock:
            self._holds.append(hold)
        return hold

    def release_all(self) -> None:
        with self._lock:
            holds = list(self._holds)
        for hold in holds:
            hold.release()

    def stop(self) -> None:
        self.release_all()  # no server thread stays parked on a held answer
        super().stop()

    def _handle_api(self, method: str, params: Params, token: str | None, *, token_in_header: bool = True) -> tuple:
        answer = super()._handle_api(method, params, token, token_in_header=token_in_header)
        with self._lock:
            hold = next((h for h in self._holds if h.matches(method, params)), None)
            if hold is not None:
                if hold.remaining is not None:
                    hold.remaining -= 1
                hold.calls.append(next(c for c in reversed(self._calls) if c.params is params))
        if hold is not None:
            hold.arrived.set()
            if hold.drop:
                self._dropping.now = True  # read by this thread's handler when it would send the answer
            else:
                hold.released.wait(HOLD_LIMIT)
        return answer


# --- the processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Replica(BotProcess):
    """One `eco-bot run --mode http` on its own loopback port, with its own folder for its output."""

    def __init__(self, root: Path, name: str, fake: FakeSlack, database_url: str, **variables: str) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.base_url}/slack/events"
        workdir = root / name
        workdir.mkdir(parents=True, exist_ok=False)
        env = {
            "ECO_SLACK_API_URL": fake.api_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DATABASE_URL": database_url,
            "ECO_SCHEDULER_INTERVAL": "1s",
            "ECO_APPROVERS": APPROVER,
            **variables,
        }
        super().__init__(workdir, ["run", "--mode", "http", "--port", str(self.port), "--host", "127.0.0.1"], **env)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever the process was doing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False


class Replicas:
    """The replicas of one test; every failure explained with all their stderr; all stopped at the end."""

    def __init__(self, root: Path, fake: FakeSlack) -> None:
        self.root = root
        self.fake = fake
        self.started: list[Replica] = []
        self._names = itertools.count(1)

    def start(self, database_url: str, *, wait: bool = True, **variables: str) -> Replica:
        replica = Replica(self.root, f"replica{next(self._names)}", self.fake, database_url, **variables)
        self.started.append(replica)
        if wait:
            self.wait_healthy(replica)
        return replica

    def start_many(self, count: int, database_url: str, **variables: str) -> list[Replica]:
        """Start `count` at once (they start in parallel), then wait for all of them."""
        replicas = [self.start(database_url, wait=False, **variables) for _ in range(count)]
        for replica in replicas:
            self.wait_healthy(replica)
        return replicas

    def wait_healthy(self, replica: Replica, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not replica.healthy():
            if replica.process.poll() is not None:
                pytest.fail(f"{replica.name} exited with {replica.process.returncode} before it was healthy{self.stderr()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{replica.name} was not healthy within {timeout}s{self.stderr()}")
            time.sleep(0.05)

    def claimant(self, claimed_by: str | None) -> Replica | None:
        """The replica a notice's `claimed_by` names (a worker id carries the process id as one of its fields)."""
        fields = (claimed_by or "").split(":")
        return next((r for r in self.started if str(r.pid) in fields), None)

    def stderr(self) -> str:
        parts = []
        for replica in self.started:
            state = "running" if replica.process.poll() is None else f"exited with {replica.process.returncode}"
            parts.append(f"\n--- {replica.name} (pid {replica.pid}, {state}) stderr ---\n{replica.stderr()}")
        return "".join(parts)

    @contextmanager
    def explained(self) -> Iterator[None]:
        """Any assertion failing inside carries every replica's stderr and the calls the fake Slack received."""
        try:
            yield
        except AssertionError as error:
            raise AssertionError(f"{error}{self.stderr()}\n--- fake Slack calls ---\n{self.calls_summary()}") from None

    def calls_summary(self, last: int = 30) -> str:
        """The fake Slack's calls, the last `last` in full (a test of hundreds of posts would drown the rest)."""
        lines = self.fake.describe_calls().splitlines()
        if len(lines) <= last:
            return "\n".join(lines)
        return "\n".join([f"  ... {len(lines) - last} earlier calls ...", *(line[:400] for line in lines[-last:])])

    def assert_no_tracebacks(self) -> None:
        """No replica logged an unexpected error (a scheduler pass, a listener, a notice that failed)."""
        failed = [r.name for r in self.started if "Traceback" in r.stderr()]
        assert not failed, f"a traceback in the log of {', '.join(failed)}"

    def stop_all(self) -> None:
        for replica in self.started:
            replica.ensure_stopped()


# --- the database --------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def migrated(database_url: str) -> Engine:
    """The database at the latest migration, as `eco-bot run` leaves it."""
    database = open_database(database_url)
    upgrade(database)
    return database


_thread_numbers = itertools.count(1)


def new_thread_ts() -> str:
    """A thread root's ts, years before any the fake Slack hands out (the time of the post, as on Slack)."""
    return f"1600000000.{next(_thread_numbers):06d}"


def seed_connections(database: Engine, fake: FakeSlack, count: int, *, step: str, **fields: Any) -> list[Connection]:
    """`count` connection rows as the engine leaves them at `step` (one transaction), each with its thread's root
    message in the fake Slack."""
    at = now()
    made = []
    for _ in range(count):
        values: dict[str, Any] = {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "thread_ts": new_thread_ts(),
            "requester_id": REQUESTER,
            "label": "Acme prod",
            "step": step,
            "version": 1,
            "external_id": f"eco-replica-test-{next(_thread_numbers):08d}-external-id",
            "created_at": at,
            "updated_at": at,
        }
        values.update(fields)
        made.append(Connection(**values))
    with session_factory(database).begin() as session:
        session.add_all(made)
    for connection in made:
        fake.add_message(connection.channel_id, connection.thread_ts, user="UBOT", bot_id="BBOT", text="Eco connection")
    return made


def seed_connection(database: Engine, fake: FakeSlack, *, step: str, **fields: Any) -> Connection:
    return seed_connections(database, fake, 1, step=step, **fields)[0]


def notices(database: Engine) -> list[Notice]:
    with session_factory(database)() as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def notice(database: Engine, connection_id: int, kind: str) -> Notice:
    with session_factory(database)() as session:
        found = session.scalar(select(Notice).where(Notice.connection_id == connection_id, Notice.kind == kind))
    assert found is not None, f"no notice {kind} for connection {connection_id}"
    return found


def wait_sent(database: Engine, connection_id: int, kind: str, *, timeout: float, what: str) -> Notice:
    """The notice once it is recorded as sent (its row may not exist yet: the engine schedules some itself)."""

    def sent() -> Notice | None:
        with session_factory(database)() as session:
            return session.scalar(
                select(Notice).where(Notice.connection_id == connection_id, Notice.kind == kind, Notice.state == "sent")
            )

    return wait_until(sent, timeout=timeout, what=what)


def connection(database: Engine, connection_id: int) -> Connection:
    with session_factory(database)() as session:
        found = session.get(Connection, connection_id)
    assert found is not None, f"no connection {connection_id}"
    return found


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy (returned); fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(poll)


# --- what Slack received ---------------------------------------------------------------------------


def notice_tag(params: Params) -> tuple[int, str] | None:
    """The (connection id, notice kind) a post's metadata names, or None for a post that is not a notice."""
    metadata = params.get("metadata") or {}
    if metadata.get("event_type") != NOTICE_EVENT:
        return None
    payload = metadata.get("event_payload") or {}
    return int(payload.get("connection_id")), str(payload.get("notice"))


def tagged(connection_id: int, kind: str) -> ParamsPredicate:
    return lambda params: notice_tag(params) == (connection_id, kind)


def notice_posts(fake: FakeSlack) -> dict[tuple[int, str], list[Call]]:
    """Every notice post Slack accepted, by (connection id, kind)."""
    posts: dict[tuple[int, str], list[Call]] = defaultdict(list)
    for call in fake.calls("chat.postMessage"):
        key = notice_tag(call.params)
        if key is not None and call.ok:
            posts[key].append(call)
    return dict(posts)
