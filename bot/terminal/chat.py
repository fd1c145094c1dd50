"""The terminal as the engine's chat: every post, edit, private answer and direct message printed as text.

Channels and threads are labels on the lines (`#demo › thread 1`), message ids are counters, and an edit is
printed again in full with "(updated)". Posts may come from the scheduler's thread while the prompt waits,
so printing is serialized.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from bot.engine.content import Message, Tag
from bot.engine.ports import ChatError
from bot.terminal import render


class TerminalChat:
    """The `Chat` port on a text stream."""

    def __init__(self, out: TextIO, *, on_print: Callable[[], None] | None = None):
        self._out = out
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._threads: dict[str, int] = {}  # message id of a thread's root -> its number on screen
        self._tagged: dict[tuple[str, str | None, Tag], str] = {}  # notices printed, to be found again
        self._on_print = on_print  # e.g. redraw the prompt after output arrived while waiting
        self.current_thread: str | None = None  # where a line that is not a command goes

    def post(self, channel: str, message: Message, *, thread: str | None = None) -> str:
        message_id = f"{next(self._ids)}"
        if message.tag is not None:
            self._tagged[(channel, thread, message.tag)] = message_id
        if channel.startswith("@"):
            self._print(f"(direct message to {channel})", message)
        elif thread is None and message.tag is not None:  # a notice in a channel (ECO_NOTIFY_CHANNEL), not a thread
            self._print(f"#{channel}", message)
        elif thread is None:
            self._threads[message_id] = len(self._threads) + 1
            self.current_thread = message_id  # a new thread (a /eco connect) is where the answers go next
            self._print(f"#{channel} › new thread {self._threads[message_id]}", message)
        else:
            self._print(f"#{channel} › thread {self._threads.get(thread, '?')}", message)
        return message_id

    def update(self, channel: str, message_id: str, message: Message) -> None:
        if not message_id.isdigit():
            raise ChatError("message_not_found")
        where = f"thread {self._threads[message_id]}" if message_id in self._threads else f"message {message_id}"
        self._print(f"#{channel} › {where} (updated)", message)

    def whisper(self, channel: str, user: str, message: Message, *, thread: str | None = None) -> None:
        self._print(f"(only @{user} sees this)", message)

    def direct(self, user: str, message: Message) -> str:
        return self.post(self.direct_channel(user), message)

    def direct_channel(self, user: str) -> str:
        return f"@{user}"

    def find_tagged(self, channel: str, tag: Tag, *, thread: str | None = None, since: datetime | None = None) -> str | None:
        return self._tagged.get((channel, thread, tag))

    def publish_home(self, team: str, user: str, message: Message) -> None:
        """A terminal has no Home tab: `/eco status` shows the same list."""

    def select_thread(self, number: str) -> bool:
        for message_id, shown in self._threads.items():
            if str(shown) == number.strip():
                self.current_thread = message_id
                return True
        return False

    def say(self, *lines: str) -> None:
        """The shell's own output (answers, hints), printed like the rest."""
        with self._lock:
            for text in lines:
                self._out.write(f"{text}\n")
            self._out.flush()
        if self._on_print:
            self._on_print()

    def _print(self, header: str, message: Message) -> None:
        self.say("", f"── {header}", *(f"   {text}" for text in render.message(message)))
