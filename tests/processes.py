"""`eco-bot` as a real subprocess, the way an operator runs it: a controlled environment, output to files
(so the process can never block on a full pipe), SIGTERM to stop, and its stderr in every failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SHUTDOWN_TIMEOUT = 10.0


def process_env(**variables: str) -> dict[str, str]:
    """This process's environment (with the session's AWS_* variables for moto) minus any bot
    configuration, plus `variables`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "ECO_")) and key != "DATABASE_URL"}
    env.update(variables)
    return env


class BotProcess:
    """`python -m bot <args>` in `workdir`, started at construction."""

    def __init__(self, workdir: Path, args: list[str], **variables: str) -> None:
        self._stdout_path = workdir / "bot.stdout"
        self._stderr_path = workdir / "bot.stderr"
        argv = [sys.executable, "-m", "bot", *args]
        with open(self._stdout_path, "wb") as stdout, open(self._stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(argv, cwd=workdir, env=process_env(**variables), stdout=stdout, stderr=stderr)

    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self._stdout_path.read_text(errors="replace")

    def fail_if_exited(self, while_: str) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the bot exited with {self.process.returncode} {while_}:\n{self.stderr()}")

    @contextmanager
    def explained(self) -> Iterator[None]:
        """Any assertion failing inside carries the bot's stderr."""
        try:
            yield
        except AssertionError as error:
            state = "running" if self.process.poll() is None else f"exited with {self.process.returncode}"
            raise AssertionError(f"{error}\n--- eco-bot ({state}) stderr ---\n{self.stderr()}") from None

    def terminate(self, timeout: float = SHUTDOWN_TIMEOUT) -> int:
        """SIGTERM, then the exit code; fails (after killing it) if the process outlives `timeout`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the bot did not exit within {timeout}s of SIGTERM:\n{self.stderr()}")

    def ensure_stopped(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
