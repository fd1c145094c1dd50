"""Benchmark of Slack's acknowledgement: how fast one bot replica answers POST /slack/events under 50 concurrent
conversations, against a bare Bolt app answering the same requests, and how much memory each takes.

Slack waits 3 seconds for the HTTP answer to a slash command or an event, then shows the user an error (commands)
or retries (events); what the bot does after that answer does not count against it. So the figure that matters is
the response time of POST /slack/events, and the question is how much our app adds to what Bolt itself costs.
The baseline is a bare Bolt app (`/eco` acks, `message` does nothing), served the same way as ours: waitress with
8 threads, slack_bolt's WSGI adapter, a listener executor of 8 threads, auth.test once at start. Both run as real
subprocesses on loopback, started with the same environment; the difference between them is our app's overhead:
its listeners, its database, and the work it does after each ack (Slack posts, an S3 check) competing for the
same process.

Each conversation runs in its own channel: `/eco connect`, then (once the bot has posted the thread's root and
its first question) a reply in that thread naming the bucket, which the bot checks against the sandbox AWS
(moto behind the gateway, in this process, on loopback) before asking for the role. The bare app gets the same
two requests per conversation, the reply after the same pause as in our latest round, so both servers see the
same request mix at the same rate. Rounds alternate which server goes first; the percentiles are over every
request of all rounds (one round's p99 of 50 is its slowest answer or two; the per-round line shows that spread).
Also printed: the CPU time each server used per conversation. Memory is VmRSS from /proc/<pid>/status: right after start (idle), the
highest sampled while the rounds ran, and VmHWM (the kernel's high-water mark over the process's life).

The fakes answer at loopback speed unless --latency adds a round trip to every AWS call and chat.postMessage;
they run in this process, which times the requests too (a control run that burnt as much CPU here during the
bare app's rounds did not move its figures beyond their usual spread).

    .venv/bin/python bench/ack.py [--quick] [--rounds 10] [--conversations 50] [--database sqlite|postgresql]
                                  [--latency 0.05]

Exit status 1 when our p99 exceeds 1.3 times the bare app's for either kind of request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the fakes live in tests/

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
TEAM = "T1"
REQUESTER = "UREQ1"
BUCKET = "acme-cur"
TARGET_RATIO = 1.3
# Both servers as `eco-bot run --mode http` serves: waitress threads and Bolt's listener executor.
SERVER_THREADS = 8
LISTENER_THREADS = 8
# The PostgreSQL server the test suite uses (trust auth on loopback); throwaway databases are made in it.
STARTUP_TIMEOUT = 60.0
WORK_TIMEOUT = 60.0  # for the bot to post a conversation's next question
MEMORY_SAMPLE_PERIOD = 0.02


# --- the bare Bolt app (this file, run with --serve-bare PORT) --------------------------------------


def serve_bare(port: int) -> int:
    """The baseline: Bolt behind waitress, listeners that do nothing but ack. Imports nothing of the bot or the
    fakes (this module imports them only where used), so its memory is Bolt's own."""
    from concurrent.futures import ThreadPoolExecutor as Executor

    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress import create_server

    app = App(
        client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["ECO_SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=False,
        listener_executor=Executor(max_workers=LISTENER_THREADS),
    )

    @app.command("/eco")
    def on_command(ack) -> None:
        ack()

    @app.event("message")
    def on_message() -> None:
        pass

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict, start_response: Callable) -> list[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok"}']
        return slack(environ, start_response)

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    server = create_server(application, host="127.0.0.1", port=port, threads=SERVER_THREADS, ident="bare-bolt")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


# --- servers as subprocesses ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a replica with ECO_WORKER_PROCESSES is several processes)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            pending += [int(child) for child in children]
    return found


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid` and its descendants, summed, in KiB."""
    figures = {"VmRSS": 0, "VmHWM": 0}
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in figures:
                figures[name] += int(value.split()[0])
    return figures


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time `pid` and its descendants have used so far (all their threads)."""
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess on a loopback port, output to files (a full pipe would stall it), SIGTERM to stop."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str], port: int) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.events_url = f"{self.url}/slack/events"
        self._stderr = workdir / f"{name}.stderr"
        with open(workdir / f"{name}.stdout", "wb") as stdout, open(self._stderr, "wb") as stderr:
            self.process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=stdout, stderr=stderr)
        self.peak_rss = 0

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.1)
        raise SystemExit(f"{self.name} did not become healthy within {STARTUP_TIMEOUT}s:\n{self.stderr()}")

    def memory(self) -> dict[str, int]:
        return memory_kib(self.process.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    @contextmanager
    def watching_memory(self) -> Iterator[None]:
        """Sample VmRSS while the block runs; the highest sample goes to `peak_rss`."""
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                self.peak_rss = max(self.peak_rss, self.memory()["VmRSS"])
                done.wait(MEMORY_SAMPLE_PERIOD)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            done.set()
            sampler.join()

    def stderr(self) -> str:
        return self._stderr.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(aws: dict[str, str], slack_api_url: str, database_url: str, workers: int = 0) -> dict[str, str]:
    """This environment minus any bot configuration or real AWS credentials, plus the sandbox's and ours.
    Only real settings: the bot refuses ECO_* variables it does not know."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "ECO_", "AWS_")) and key != "DATABASE_URL"
    }
    env.update(
        aws,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        ECO_SLACK_API_URL=slack_api_url,
        DATABASE_URL=database_url,
        # Only ever put into the quick-create link; never fetched.
        ECO_TEMPLATE_URL="https://templates.eco.test/eco-connect.yaml",
        ECO_WORKER_PROCESSES=str(workers),  # the bare app reads no ECO_* variable
    )
    return env


def start_servers(workdir: Path, env: dict[str, str]) -> tuple[Server, Server]:
    ours_port, bare_port = free_port(), free_port()
    ours_argv = [sys.executable, "-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(ours_port)]
    bare_argv = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(bare_port)]
    return Server("eco-bot", ours_argv, workdir, env, ours_port), Server("bare-bolt", bare_argv, workdir, env, bare_port)


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A SQLAlchemy URL: a SQLite file in `workdir`, or a throwaway PostgreSQL database dropped at the end."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'eco-bot.db'}"
        return
    # Imported here, not at the top: the bare app runs from this file, and its memory must be Bolt's alone.
    from tests.databases import throwaway_postgres

    with throwaway_postgres("eco_bench") as url:
        yield url


# --- the fakes ---------------------------------------------------------------------------------------


def make_slack():
    """The suite's FakeSlack, made to wake waiters on each post. Polling its call log (as its wait_for does,
    every 20 ms, copying the whole log) from 50 threads would load this process, and so the latencies it
    measures, with work that is neither server's."""
    from tests.fakes.slack_api import FakeSlack

    class SignallingSlack(FakeSlack):
        def __init__(self) -> None:
            super().__init__()
            self._posted = threading.Condition()
            self._posts: dict[str, list[dict]] = defaultdict(list)  # by channel: ts, thread_ts, params

        def _handle_api(self, method, params, token, *, token_in_header=True):
            status, headers, body = super()._handle_api(method, params, token, token_in_header=token_in_header)
            if method == "chat.postMessage" and status == 200 and body.get("ok"):
                with self._posted:
                    post = {"ts": body["ts"], "thread_ts": params.get("thread_ts"), "params": params}
                    self._posts[body["channel"]].append(post)
                    self._posted.notify_all()
            return status, headers, body

        def wait_for_post(self, channel: str, matches: Callable[[dict], bool], what: str) -> dict:
            def found() -> dict | None:
                return next((post for post in self._posts[channel] if matches(post)), None)

            with self._posted:
                post = self._posted.wait_for(found, WORK_TIMEOUT)
                if post is None:
                    seen = [json.dumps(p["params"].get("text"))[:80] for p in self._posts[channel]]
                    raise RuntimeError(f"no {what} in {channel} within {WORK_TIMEOUT}s; posts there: {seen}")
                return post

    return SignallingSlack()


def start_aws():
    """The sandbox AWS in this process, and a customer's bucket the way Eco's procedure has them make it."""
    from bot.sandbox.world import AwsWorld, CustomerAccount

    world = AwsWorld().start()
    # The customer acts through boto3 in this process: point it at the sandbox, never at a real AWS host.
    os.environ.update(world.environment(), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    customer = CustomerAccount.open()
    customer.create_bucket(BUCKET)
    customer.allow_cur_delivery(BUCKET)
    customer.create_report("eco-cur", BUCKET, "cur")
    return world


# --- conversations --------------------------------------------------------------------------------


@dataclass
class Sample:
    """One conversation's two acknowledgements (seconds) and statuses, and the pause before its reply."""

    command: float
    reply: float
    statuses: tuple[int, int]
    pause: float


class Driver:
    """Plays the people in the conversations: signed requests as Slack sends them, timed from send to answer."""

    def __init__(self, slack) -> None:
        from tests.fakes.slack_requests import SlackSigner, post

        self.slack = slack  # the signalling FakeSlack
        self.signer = SlackSigner(SIGNING_SECRET)
        self._post = post

    def _timed_post(self, url: str, signed: tuple[str, dict]) -> tuple[float, int]:
        body, headers = signed
        started = time.perf_counter()
        status, _ = self._post(url, body, headers)
        return time.perf_counter() - started, status

    def _command(self, server: Server, channel: str) -> tuple[float, int]:
        response_url = self.slack.response_url(f"{server.name}-{channel}")
        signed = self.signer.slash_command(
            f"connect Bench {channel}", user_id=REQUESTER, channel_id=channel, team_id=TEAM, response_url=response_url
        )
        return self._timed_post(server.events_url, signed)

    def _reply(self, server: Server, channel: str, thread_ts: str) -> tuple[float, int]:
        signed = self.signer.message_event(
            BUCKET, user_id=REQUESTER, channel_id=channel, team_id=TEAM, ts=f"{time.time():.6f}", thread_ts=thread_ts
        )
        return self._timed_post(server.events_url, signed)

    def ours(self, server: Server, channel: str) -> Sample:
        """/eco connect; once the bot asked for the bucket in the new thread, answer; wait for its next question
        (so that no round's work spills into the next round)."""
        command, command_status = self._command(server, channel)
        acked = time.perf_counter()
        root = self.slack.wait_for_post(channel, lambda p: p["thread_ts"] is None, "thread root")
        # The first question in the thread comes after the root's ts is stored: a reply before it is not yet
        # in a known thread (and a person could not answer a question not yet asked).
        self.slack.wait_for_post(channel, lambda p: p["thread_ts"] == root["ts"], "bucket question")
        pause = time.perf_counter() - acked
        reply, reply_status = self._reply(server, channel, root["ts"])
        self.slack.wait_for_post(
            channel, lambda p: p["thread_ts"] == root["ts"] and "RoleArn" in json.dumps(p["params"]), "role question"
        )
        return Sample(command, reply, (command_status, reply_status), pause)

    def bare(self, server: Server, channel: str, pause: float) -> Sample:
        """The same two requests, the reply after the same pause as our conversation of the same index had."""
        command, command_status = self._command(server, channel)
        time.sleep(pause)
        reply, reply_status = self._reply(server, channel, f"{time.time():.6f}")
        return Sample(command, reply, (command_status, reply_status), pause)


def run_round(
    driver: Driver, server: Server, ours: bool, label: str, pauses: list[float], conversations: int
) -> tuple[list[Sample], float, float]:
    """`conversations` at once, each in its own channel (one thread each, as 50 people starting together).
    Returns the samples, the round's wall time and the CPU time the server used in it."""
    channels = [f"C{label}{index:03d}" for index in range(conversations)]
    cpu, started = server.cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool, server.watching_memory():
        if ours:
            futures = [pool.submit(driver.ours, server, channel) for channel in channels]
        else:
            futures = [pool.submit(driver.bare, server, channel, pauses[index]) for index, channel in enumerate(channels)]
        samples = [future.result() for future in futures]
    return samples, time.perf_counter() - started, server.cpu() - cpu


# --- figures --------------------------------------------------------------------------------------

KINDS = (("command", "/eco connect"), ("reply", "thread reply"))


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


@dataclass
class Figures:
    """One server's rounds: p50 and p99 of each kind of request, refusals, wall and CPU time."""

    rounds: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    every: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # all rounds' latencies
    refused: int = 0
    walls: list[float] = field(default_factory=list)
    cpu_per_conversation: list[float] = field(default_factory=list)
    memory: dict[str, int] = field(default_factory=dict)  # KiB: idle, peak (sampled), hwm

    def add(self, samples: list[Sample], wall: float, cpu: float) -> None:
        for kind, _ in KINDS:
            self.rounds[kind].append(percentiles([getattr(s, kind) for s in samples]))
            self.every[kind] += [getattr(s, kind) for s in samples]
        self.refused += sum(1 for s in samples for status in s.statuses if status != 200)
        self.walls.append(wall)
        self.cpu_per_conversation.append(cpu / len(samples))

    # Over every request of every round: one round's p99 rests on its slowest request or two, which noise decides.
    def p50(self, kind: str) -> float:
        return percentiles(self.every[kind])[0]

    def p99(self, kind: str) -> float:
        return percentiles(self.every[kind])[1]

    def p99_by_round(self, kind: str) -> str:
        return " ".join(f"{p99 * 1000:.0f}" for _, p99 in self.rounds[kind])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def report(ours: Figures, bare: Figures, args: argparse.Namespace) -> bool:
    """Print the figures; True when our p99 is within the target for both kinds of request."""
    latency = f", {args.latency * 1000:.0f} ms added per AWS call and Slack post" if args.latency else ""
    print(
        f"acknowledgement latency of POST /slack/events, {args.conversations} concurrent conversations, {args.rounds} rounds, "
        f"{args.database}{latency}, {args.workers} worker process(es); percentiles over all {args.rounds * args.conversations} requests of each kind, ms"
    )
    heading = f"{'eco-bot p50':>12}{'p99':>8}{'bare p50':>10}{'p99':>8}{'p99 ratio':>11}"
    print(f"  {'request':<14}{heading}   (target <= {TARGET_RATIO})")
    within = True
    for kind, name in KINDS:
        ratio = ours.p99(kind) / bare.p99(kind)
        within &= ratio <= TARGET_RATIO
        ours_figures = f"{ms(ours.p50(kind)):>12}{ms(ours.p99(kind)):>8}"
        print(f"  {name:<14}{ours_figures}{ms(bare.p50(kind)):>10}{ms(bare.p99(kind)):>8}{ratio:>11.2f}")
    for kind, name in KINDS:
        print(f"  p99 by round, {name}: eco-bot {ours.p99_by_round(kind)}; bare {bare.p99_by_round(kind)}")
    print(f"  answers other than 200: eco-bot {ours.refused}, bare {bare.refused}")
    print(
        f"  server CPU per conversation: eco-bot {ms(statistics.median(ours.cpu_per_conversation))} ms, "
        f"bare {ms(statistics.median(bare.cpu_per_conversation))} ms; round wall time: "
        f"eco-bot {statistics.median(ours.walls):.1f} s, bare {statistics.median(bare.walls):.1f} s"
    )
    print("memory of one replica, MiB: VmRSS idle after start, highest VmRSS sampled under load, VmHWM at the end")
    for name, figures in (("eco-bot", ours), ("bare Bolt", bare)):
        memory = figures.memory
        print(f"  {name:<10} idle {mib(memory['idle']):>6}   under load {mib(memory['peak']):>6}   VmHWM {mib(memory['hwm']):>6}")
    return within


# --- the run --------------------------------------------------------------------------------------


def measure(ours: Server, bare: Server, slack, args: argparse.Namespace) -> tuple[Figures, Figures]:
    """Warm both servers up, then run the rounds, alternating which server goes first."""
    figures = {ours.name: Figures(), bare.name: Figures()}
    time.sleep(1.0)  # let start-up settle (the scheduler's first pass) before taking "idle"
    for server in (ours, bare):
        figures[server.name].memory["idle"] = server.memory()["VmRSS"]

    driver = Driver(slack)
    # Warm-up: database connections, boto3's service models, Bolt's caches. Not counted.
    warm_up = 10 if args.quick else args.conversations
    warm, _, _ = run_round(driver, ours, True, "W", [], warm_up)
    pauses = [s.pause for s in warm] * (args.conversations // warm_up + 1)
    run_round(driver, bare, False, "WB", pauses, warm_up)
    ours.peak_rss = bare.peak_rss = 0

    for number in range(args.rounds):
        # Alternate which goes first, so that drift over the run favours neither.
        for server in (ours, bare) if number % 2 == 0 else (bare, ours):
            is_ours = server is ours
            label = f"{number:02d}{'E' if is_ours else 'B'}"
            samples, wall, cpu = run_round(driver, server, is_ours, label, pauses, args.conversations)
            if is_ours:
                pauses = [s.pause for s in samples]
            figures[server.name].add(samples, wall, cpu)
            time.sleep(0.5)  # let stragglers (the last Home refresh, a log flush) finish before the other server
        print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)
    for server in (ours, bare):
        figures[server.name].memory.update(peak=server.peak_rss, hwm=server.memory()["VmHWM"])
    return figures[ours.name], figures[bare.name]


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=10)
    options.add_argument("--conversations", type=int, default=50)
    options.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    options.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the fakes wait before answering each AWS call and chat.postMessage, standing in for the round "
        "trip to AWS and Slack (default 0: loopback speed)",
    )
    options.add_argument("--workers", type=int, default=0, help="ECO_WORKER_PROCESSES for the bot (default 0: in-process)")
    options.add_argument("--quick", action="store_true", help="2 rounds after a short warm-up")
    options.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the baseline's own process
    args = options.parse_args()
    if args.serve_bare:
        return serve_bare(args.serve_bare)
    if args.quick:
        args.rounds = 2

    world = start_aws()
    slack = make_slack().start()
    world.latency(args.latency)
    slack.post_delay = args.latency
    servers: list[Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="eco-bench-ack-") as folder, database(args.database, Path(folder)) as url:
            try:
                servers += start_servers(Path(folder), server_env(world.environment(), slack.api_url, url, args.workers))
                for server in servers:
                    server.wait_until_healthy()
                ours, bare = measure(*servers, slack, args)
            except Exception:
                for server in servers:
                    print(f"--- {server.name} stderr (end) ---\n{server.stderr()}", file=sys.stderr)
                raise
            finally:
                for server in servers:
                    server.stop()
    finally:
        slack.stop()
        world.stop()
    return 0 if report(ours, bare, args) else 1


if __name__ == "__main__":
    sys.exit(main())
