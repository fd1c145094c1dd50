"""The background loop that posts due notices and resumes interrupted checks.

Its work lives in the database (see `Engine.deliver_due_notices`), so this loop holds nothing worth
keeping: any number of processes may run it, and a restart loses nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from bot.engine.conversation import Engine
from bot.threads import run_in_background

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, engine: Engine, interval: timedelta):
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """One pass: post what is due, resume what was interrupted, forget old event ids.
        Returns the number of notices posted."""
        posted = 0
        try:
            posted = self.engine.deliver_due_notices()
            self.engine.resume_interrupted_checks()
            self.engine.forget_old_events()
        except Exception:  # one bad pass must not stop the loop; the next pass retries from the database
            log.exception("scheduler pass failed")
        return posted

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="eco-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        run_in_background()
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval.total_seconds())

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
