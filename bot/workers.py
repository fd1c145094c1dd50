"""Worker processes: with ECO_WORKER_PROCESSES > 0, the work after each acknowledgement (the conversation, the AWS
checks, the posts) and the scheduler run in child processes, and the process that serves Slack only acknowledges.

Why: one Python process runs one thread at a time. When it both answers Slack and does the conversations' work,
an acknowledgement waits its turn behind that work (bench/ack.py measures it); in a worker process it does not.

Each worker builds its own engine from the settings (its own database pool, Slack client and AWS clients), runs
its own scheduler (notices are claimed in the database, so several schedulers are as safe as several replicas), and
lowers its scheduling priority so that the serving process runs first. The serving process calls the engine
through `EngineProxy`, which has the engine's methods and runs each in a worker; arguments and answers (actors,
strings, messages) are plain picklable values. Workers are spawned, never forked: the serving process has threads.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)

WORKER_NICE = 5

_service = None  # in a worker process: its Service (engine, scheduler, database)


def _start_worker(settings: Settings) -> None:
    """A worker process's initializer: build the engine, start the scheduler, close both when the process ends."""
    global _service
    from multiprocessing.util import Finalize

    from bot.cli import configure_logging
    from bot.service import build_worker_service

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    configure_logging(f"[worker {os.getpid()}]")
    with contextlib.suppress(OSError):  # not permitted: the worker runs at the usual priority
        os.nice(WORKER_NICE)
    _service = build_worker_service(settings)
    _service.start()
    # Runs when the pool shuts the worker down: stop claiming, finish or release claims, close the database.
    Finalize(None, _service.close, exitpriority=10)
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), name="eco-parent-watch", daemon=True).start()


def _end_with_parent(parent: int) -> None:
    """A worker whose serving process died (SIGKILL, out of memory) gives back its claims and ends, instead of
    lingering with nobody to send it work."""
    while os.getppid() == parent:
        time.sleep(1.0)
    log.warning("the serving process is gone; this worker stops")
    try:
        if _service is not None:
            _service.close()
    finally:
        os._exit(0)


def _call(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    assert _service is not None, "not a worker process"
    return getattr(_service.engine, method)(*args, **kwargs)


def _ready(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


class Workers:
    """The pool of worker processes and the proxy that runs engine calls in them."""

    def __init__(self, settings: Settings, count: int):
        self.count = count
        self._closing = threading.Event()
        self.pool = ProcessPoolExecutor(
            max_workers=count, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(settings,)
        )

    def start(self, timeout: float = 120.0) -> None:
        """Start every worker now and wait until each has built its engine: a broken configuration fails the start,
        not the first request."""
        started = time.monotonic()
        # The pool starts a process only when no worker is idle: tasks that wait a moment make it start them all.
        pids = set(self.pool.map(_ready, range(self.count * 2), timeout=timeout))
        log.info("%d worker process(es) ready in %.1fs", len(pids), time.monotonic() - started)
        threading.Thread(target=self._watch, name="eco-workers-watch", daemon=True).start()

    def _watch(self) -> None:
        """A worker that dies (killed, out of memory) breaks the pool for good: stop this replica cleanly, as if
        deployed, so that the orchestrator starts a fresh one while the other replicas serve."""
        while not self._closing.wait(1.0):
            # The pool's own records (CPython's ProcessPoolExecutor keeps them since 3.8): its processes, and whether
            # it has noticed one die.
            processes = list(getattr(self.pool, "_processes", {}).values())
            if getattr(self.pool, "_broken", False) or any(not p.is_alive() for p in processes):
                log.critical("a worker process died; stopping this replica so that a fresh one takes over")
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def close(self, timeout: float) -> None:
        """Let the workers finish what they run, close their engines (releasing claims), and end; stop them if they
        take longer than `timeout`."""
        self._closing.set()
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(deadline - time.monotonic(), 0.0))
        for process in processes:
            if process.is_alive():
                log.warning("worker %s still busy after ECO_SHUTDOWN_TIMEOUT; stopped", process.pid)
                process.kill()
                process.join(1.0)


class EngineProxy:
    """The engine's interface, each call run in a worker process. The Slack adapter uses it like the engine."""

    def __init__(self, workers: Workers):
        self._workers = workers

    def __getattr__(self, method: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            # A dead worker makes this raise BrokenProcessPool; `Workers._watch` stops the replica.
            return self._workers.pool.submit(_call, method, args, kwargs).result()

        return call
