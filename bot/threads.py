"""Threads that do background work (the conversation after an ack, notices, Home refreshes) yield the CPU to the
threads that answer Slack.

One Python process serves Slack's requests and does the work they start; both need the interpreter's lock, and which
waiting thread gets it next is the operating system's choice. A background thread lowers its own scheduling priority
(a higher nice value, per thread on Linux, inherited by the threads it starts), so that a request thread that is
ready to acknowledge runs first. Nothing is slower when the process is not busy.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10


def run_in_background() -> None:
    """Lower the calling thread's priority (a ThreadPoolExecutor initializer). Best effort: where per-thread
    priorities do not exist, nothing changes."""
    try:
        thread_id = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread_id, min(os.getpriority(os.PRIO_PROCESS, thread_id) + BACKGROUND_NICE, 19))
    except (AttributeError, OSError) as error:  # not Linux, or not permitted: the threads run at the usual priority
        log.debug("could not lower a background thread's priority: %s", error)
