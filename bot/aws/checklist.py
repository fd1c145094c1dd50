"""The role step's checklist while it runs: the names of its lines in reading order, which may stay pending,
a thread-safe board the concurrent checks write to, and how an AWS error becomes a line (pending with the
reason unless the check knows better). Nothing here calls AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws import requirements as need
from bot.engine.content import Item, Rich, Status, rich

THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
     "SlowDown", "RequestThrottled", "RequestThrottledException", "ProvisionedThroughputExceededException"}
)
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403", "Forbidden"})

# --- the role step's checklist, in the order people read it ---------------------------------------
ASSUME = "Eco can assume the role with this connection's external ID"
NO_EXTERNAL_ID = "The role refuses callers without the external ID"
ACCOUNT = "The role belongs to the account in its ARN"
ORGANIZATION = "The account's place in its organization"
REPORT = "A legacy Cost and Usage Report delivers to the bucket"
DELIVERY = "AWS's last delivery of the report"
BUCKET_POLICY = "The bucket policy lets AWS billing deliver the report"
LISTING = "The role can list the report's files"
READING = "The role can read the report's files"
DATA = "Report data has arrived"
COST_EXPLORER = "Cost Explorer answers through the role"
ROLE_CHECKS: tuple[str, ...] = (
    ASSUME, NO_EXTERNAL_ID, ACCOUNT, ORGANIZATION, REPORT,
    *(r.name for r in need.REPORT_REQUIREMENTS),
    DELIVERY, BUCKET_POLICY, LISTING, READING, DATA, COST_EXPLORER,
)  # fmt: skip
# The end of the processing window asks one question, "can Eco read data now?": the role and the report chain.
ARRIVAL_CHECKS: tuple[str, ...] = (
    ASSUME, REPORT, *(r.name for r in need.REPORT_REQUIREMENTS), DELIVERY, LISTING, READING, DATA,
)  # fmt: skip
# Lines that may stay pending without holding the step: they describe data still on its way, or extras.
NOT_REQUIRED = frozenset({ORGANIZATION, DELIVERY, READING, DATA, COST_EXPLORER})

UPDATE_STACK = "Update the stack from the link in this thread (the current template grants it)."
T = TypeVar("T")
Line = tuple[Status, Rich, Rich]

def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def error_headers(error: ClientError) -> dict[str, str]:
    return error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}


# --- a checklist that fills in while the checks run ----------------------------------------------


@dataclass
class RunStats:
    """How long a run took, for benchmarks: the whole step, each check, and each chain of dependent calls."""

    wall: float = 0.0
    checks: dict[str, float] = field(default_factory=dict)
    chains: dict[str, float] = field(default_factory=dict)


class Board:
    """The role step's checklist while it runs: thread-safe, in a fixed order, each line 'checking' until set."""

    def __init__(self, names: tuple[str, ...], stats: RunStats | None = None):
        self._lock = threading.Lock()
        self._items = {name: Item(name, Status.CURRENT, rich("Checking…"), required=name not in NOT_REQUIRED) for name in names}
        self._started: dict[str, float] = {}
        self._origin = time.monotonic()
        self._changed = False
        self.stats = stats or RunStats()

    def begin(self, *names: str) -> None:
        now = time.monotonic()
        with self._lock:
            for name in names:
                self._started.setdefault(name, now)

    def set(self, name: str, status: Status, detail: Rich = (), fix: Rich = ()) -> None:
        now = time.monotonic()
        with self._lock:
            if self._items[name].status is not Status.CURRENT:
                return  # first answer wins (a late answer after the deadline is dropped)
            self._items[name] = Item(name, status, detail, fix, required=name not in NOT_REQUIRED)
            self.stats.checks[name] = now - self._started.get(name, self._origin)
            self._changed = True

    def skip(self, names: tuple[str, ...] | list[str], reason: str) -> None:
        for name in names:
            self.set(name, Status.PENDING, rich(reason))

    def open_lines(self) -> list[str]:
        with self._lock:
            return [name for name, item in self._items.items() if item.status is Status.CURRENT]

    def take_changes(self) -> bool:
        with self._lock:
            changed, self._changed = self._changed, False
            return changed

    def items(self) -> list[Item]:
        with self._lock:
            return list(self._items.values())


Progress = Callable[[list[Item]], None]


def ask(board: Board, name: str, call: Callable[[], T], answers: dict[str, Line] | None = None) -> T | None:
    """Make the AWS call behind check `name`. On an error, write the line `answers` gives for its code ("denied"
    stands for every access-denied code), else a could-not-check line, and return None."""
    try:
        return call()
    except ClientError as error:
        code = error_code(error)
        answers = answers or {}
        line = answers.get(code) or (answers.get("denied") if code in DENIED else None)
        board.set(name, *(line or could_not(error)))
    except BotoCoreError as error:
        board.set(name, *could_not(error))
    return None


def could_not(error: Exception) -> tuple[Status, Rich, Rich]:
    """A check that could not run: pending, with the reason. Never a pass."""
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in THROTTLED:
            return Status.PENDING, rich(f"Could not check: AWS throttled the call ({code}) even after retries."), rich("Reply again in a minute to retry.")
        return Status.PENDING, rich(f"Could not check: AWS answered {code}."), rich("Reply again to retry.")
    return Status.PENDING, rich(f"Could not check: AWS did not answer ({type(error).__name__})."), rich("Reply again to retry.")


def could_not_item(name: str, error: Exception) -> Item:
    status, detail, fix = could_not(error)
    return Item(name, status, detail, fix)


