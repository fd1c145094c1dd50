"""`eco-bot shell --demo` as a newcomer runs it, driven through stdin by a real subprocess: the whole
conversation against the demo's embedded fake AWS, from `/eco connect` to the window notice, and the
account with the usual mistakes showing each check failing with its fix. Also the shell's own refusals.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.processes import process_env

TIMEOUT = 60.0


class ShellProcess:
    """`python -m bot shell …` with piped stdin/stdout; a reader thread keeps everything it printed."""

    def __init__(self, workdir: Path, *args: str):
        # The demo runs its own fake AWS: none of the suite's AWS variables is passed on.
        env = {k: v for k, v in process_env().items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "shell", *args],
            cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )  # fmt: skip
        self.output: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """The first line printed from now on that matches `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {timeout}s; the shell printed:\n" + "\n".join(self.output[-60:]))
            self.output.append(line)
            if re.search(pattern, line):
                return line

    def quit(self) -> int:
        self.type("quit")
        code = self.process.wait(timeout=TIMEOUT)
        while not self._lines.empty():
            self.output.append(self._lines.get())
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def shell(tmp_path: Path):
    started: list[ShellProcess] = []

    def start(*args: str) -> ShellProcess:
        started.append(ShellProcess(tmp_path, *args))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def _role_arn(shell: ShellProcess, account: str) -> str:
    return shell.wait_for(rf"^\s+arn:aws:iam::{account}:role/eco/").strip()


def test_the_demo_from_connect_to_the_window_notice(shell):
    demo = shell("--demo", "--window", "3s")
    demo.wait_for("Two customer accounts are ready")

    demo.type("/eco connect Acme")
    demo.wait_for(r"Reply in this thread with the bucket's name")
    demo.type("acme-cur")
    demo.wait_for(r"The bucket acme-cur passed every check")
    role_arn = _role_arn(demo, "111122223333")
    demo.type(role_arn)
    demo.wait_for(r"The role .* passed every check")
    demo.wait_for(r"\[PASS\] +The role refuses callers without the external ID")
    demo.wait_for(r"\[Approve: type `approve 1`\]")

    demo.type("approve 1")  # the requester may not approve their own connection
    demo.wait_for(r"\(only you\) You started this connection; another approver must decide on it")
    demo.type("as UAPPROVER")
    demo.type("approve 1")
    demo.wait_for(r"Eco is now processing")
    # The window's end arrives from the scheduler while the prompt waits: the demo account has data, so it is active.
    demo.wait_for(r"processing window for account 111122223333 has ended and report data is arriving", timeout=20)
    demo.wait_for(r"\(direct message to @UREQUESTER\)")
    demo.type("wait 2")
    demo.type("/eco status 1")
    demo.wait_for(r"Connection #1 Acme: active: report data is arriving")

    assert demo.quit() == 0
    printed = "\n".join(demo.output)
    assert printed.count("(direct message to @UREQUESTER)") == 1
    assert "Traceback" not in printed


def test_the_demo_mistakes_account_shows_each_check_failing_with_its_fix(shell):
    demo = shell("--demo")
    demo.type("/eco connect Oops")
    demo.type("oops-cur-eu")
    demo.wait_for(r"\[FAIL\] +Bucket is in us-east-1: The bucket is in eu-west-1")
    demo.wait_for(r"fix: A bucket cannot move")
    demo.type("oops-cur")
    demo.wait_for(r"The bucket oops-cur passed every check")
    demo.type(_role_arn(demo, "444455556666"))
    demo.wait_for(r"did not pass")
    demo.wait_for(r"Cost Explorer answers through the role")  # the last line of the result
    result = "\n".join(demo.output[-40:])
    failing = {
        "The role refuses callers without the external ID": "confused-deputy",
        "Report is hourly": "Time granularity daily",
        "Report includes resource IDs": "none",
    }
    for name, found in failing.items():
        assert re.search(rf"\[FAIL\] +{re.escape(name)}: .*{re.escape(found)}", result), name
    assert re.search(r"fix: .*Time granularity: Hourly", result)
    assert demo.quit() == 0


def test_the_shell_refuses_what_it_does_not_understand_and_prints_no_escape_codes(shell):
    demo = shell("--demo")
    demo.type("as bob")
    demo.wait_for(r"A Slack user ID looks like UAPPROVER")
    demo.type("wait forever")
    demo.wait_for(r"wait takes a number of seconds")
    demo.type("thread 9")
    demo.wait_for(r"There is no thread 9 on screen")
    demo.type("hello?")
    demo.wait_for(r"No thread yet: start one with /eco connect")
    demo.type("/eco connect \x1b[2Jwiped")
    demo.wait_for(r"Started connection #1")
    demo.type("as UAPPROVER")
    demo.type("reject 1")
    demo.wait_for(r"\(only you\) A rejection needs a reason")
    demo.type("reject 1 not yet")
    demo.wait_for(r"\(only you\) Connection #1 is not waiting for approval")
    assert demo.quit() == 0
    assert "\x1b" not in "\n".join(demo.output)


def test_the_plain_shell_uses_the_configured_database_and_aws(tmp_path: Path, customer):
    """Without --demo: DATABASE_URL and boto3's own configuration (here, the suite's fake AWS)."""
    database = tmp_path / "eco.db"
    script = "/eco connect Piped\nacme-cur\n/eco status\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input=script, cwd=tmp_path, env=process_env(DATABASE_URL=f"sqlite:///{database}"),
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "UREQUESTER> acme-cur" in result.stdout  # piped lines are echoed, so the transcript reads like a session
    assert "The bucket acme-cur passed every check" in result.stdout
    assert re.search(r"\(only you\) \[\w+\] +#1 Piped: .*waiting for the role ARN", result.stdout), result.stdout[-800:]
    import sqlite3

    with sqlite3.connect(database) as db:
        assert db.execute("select label, step, bucket from connections").fetchall() == [("Piped", "awaiting_role", "acme-cur")]
