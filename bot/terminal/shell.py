"""`eco-bot shell`: the conversation in a terminal. The same engine, database and AWS checks as in Slack,
with the terminal as the chat: type `/eco connect`, answer in the thread, switch who is typing to approve,
and see notices arrive while the prompt waits. Works with stdin piped, so it can be scripted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from bot.engine.conversation import Engine
from bot.engine.ports import Actor
from bot.terminal import render
from bot.terminal.chat import TerminalChat

TEAM = "TSHELL"
CHANNEL = "shell"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
MAX_WAIT = 600  # seconds; `wait` is for letting notices arrive, not for parking the shell

HELP = """\
Type what you would type in Slack:
  /eco connect [label]    start a connection (its thread becomes the current one)
  /eco status [id]        /eco verify <id>    /eco cancel <id>    /eco help
  <anything else>         a reply in the current thread (the bucket name, the role ARN)
Shell commands:
  as <USER_ID>            switch who is typing (e.g. as UAPPROVER)
  approve <id>            press Approve on a connection's approval request
  reject <id> <reason>    press Reject, giving the reason the requester will read
  thread <n>              make thread n the current one
  wait <seconds>          let time pass (notices arrive while you wait)
  help, quit"""


class NoDirectory:
    """The terminal has no user groups: a group in ECO_APPROVERS grants nothing here (fails closed)."""

    def group_members(self, group_id: str) -> frozenset[str]:
        raise LookupError("user groups are not available in the terminal")


class Shell:
    def __init__(
        self,
        engine: Engine,
        chat: TerminalChat,
        *,
        user: str,
        after_each: Callable[[], None] | None = None,
    ):
        self.engine = engine
        self.chat = chat
        self.user = user
        self.after_each = after_each or (lambda: None)

    def run(self, lines: Iterable[str], *, echo: bool = False) -> int:
        """Handle `lines` until they end or `quit`. With `echo` (stdin not a terminal) each line is shown."""
        for raw in lines:
            text = raw.rstrip("\r\n")
            if echo:
                self.chat.say(f"{self.user}> {render.safe(text)}")
            if not self.handle(text):
                break
        return 0

    def handle(self, text: str) -> bool:
        """One line typed; False means quit."""
        stripped = text.strip()
        word, _, rest = stripped.partition(" ")
        rest = rest.strip()
        if not stripped:
            return True
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.chat.say(HELP)
        elif word == "as":
            self._switch_user(rest)
        elif word in ("approve", "reject") and rest:
            value, _, reason = rest.partition(" ")  # `reject 3 the role is in the wrong account`
            refusal = self.engine.decide(self._actor(), value, word, reason or None)
            if refusal is not None:
                self.chat.say(*(f"(only you) {line}" for line in render.message(refusal)))
        elif word == "thread":
            self._switch_thread(rest)
        elif word == "wait":
            self._wait(rest)
        elif word == "/eco":
            answer = self.engine.command(self._actor(), rest)
            self.chat.say(*(f"(only you) {line}" for line in render.message(answer)))
        elif self.chat.current_thread is None:
            self.chat.say("No thread yet: start one with /eco connect (type help for more).")
        else:
            self.engine.reply(self._actor(), self.chat.current_thread, text)
        self.after_each()
        return True

    def _actor(self) -> Actor:
        return Actor(team=TEAM, user=self.user, channel=CHANNEL)

    def _switch_user(self, user: str) -> None:
        if not _USER_ID.match(user):
            self.chat.say("A Slack user ID looks like UAPPROVER or U012ABCDEF (capital letters and digits, starting with U or W).")
            return
        self.user = user
        self.chat.say(f"You are now {user}.")

    def _switch_thread(self, number: str) -> None:
        if not self.chat.select_thread(number):
            self.chat.say(f"There is no thread {render.safe(number[:20])} on screen.")

    def _wait(self, seconds: str) -> None:
        try:
            duration = float(seconds or "1")
        except ValueError:
            duration = -1.0
        if not 0 <= duration <= MAX_WAIT:
            self.chat.say(f"wait takes a number of seconds between 0 and {MAX_WAIT}.")
            return
        time.sleep(duration)


def prompt_lines(shell: Shell) -> Iterable[str]:
    """Lines from a terminal, with a prompt naming who is typing."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    while True:
        try:
            yield input(f"{shell.user}> ")
        except EOFError:
            return
