"""Benchmark of the scheduler's notices: finding due ones among many, and posting a thousand due together.

Part 1, finding. A throwaway database (PostgreSQL with 1,000,000 connections, SQLite with 100,000), migrated
by `bot.store.db.upgrade`, holds one notice per connection in the mix a long-lived workspace has: nearly all
sent long ago, some pending in the future, a few dropped, a few hundred due now, a few claimed by a replica
that died (lease run out) and a few claimed by one still alive. It times
`repository.claim_due_notices(limit=50)`, rolled back after each call so that every run sees the same due set,
and prints the plan of exactly the SQL the call sends (captured from the driver): EXPLAIN ANALYZE on
PostgreSQL, EXPLAIN QUERY PLAN on SQLite, with a verdict on whether the due-notices index is used (on
PostgreSQL also for the generic plan a prepared statement may switch to). The baseline, from the same run, is
the same call with that index dropped (inside the rolled-back transaction).
Target: p50 under 20 ms, and no sequential scan of `notices`.

Part 2, posting. 1,000 connections waiting for an answer, each with an `answer_reminder:<version>` notice due
now (a reminder needs no AWS call: the only calls are to the fake Slack). The real service
(`bot.service.build_service`) runs its scheduler against the suite's FakeSlack, which waits a fixed time per
chat.postMessage to stand in for Slack's round trip. Prints the time from the scheduler's start until the fake
has recorded 1,000 tagged posts (metadata event_type `eco_notice`), the posts per notice (each exactly once),
what each claim returned (never more than its limit), the lower bound 1,000 x pacing / workers, and the
process's memory (VmRSS, and VmHWM: the peak during the delivery). The baseline, from the same run, is the
same delivery with no pacing: the bot's own work per notice.
Target: all posted within ECO_SCHEDULER_INTERVAL plus the pacing. A notice that falls due just after a pass
waits one interval and then the whole next pass, so the pass must fit in the pacing (1,000 x pacing, the
generous reading: the posts one after another).

    .venv/bin/python bench/notices.py [--sqlite-only] [--rows 1000000] [--runs 200] [--pacing 0.005]

Loopback only: PostgreSQL at 127.0.0.1:5432 (ECO_TEST_POSTGRES_URL, as the tests), the fake Slack on an
ephemeral 127.0.0.1 port. Every database it makes is dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the fakes live in tests/

from tests.databases import throwaway_postgres  # noqa: E402  (after the path above)

DUE_NOW = 300  # notices due at the moment of the claim: "a few hundred"
LAPSED_CLAIMS = 20  # claimed by a replica that died: lease run out, claimable again
HELD_CLAIMS = 20  # claimed by a live replica: due, but not claimable
CLAIM_LIMIT = 50
OWNER = "bench-replica"
LEASE = timedelta(minutes=2)
KINDS = ("window_end", "window_end_dm", "answer_reminder:1", "approval_reminder:1")
BATCH = 20_000  # rows per executemany on SQLite

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
TEAM = "T1"


# --- throwaway databases ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(dialect: str) -> Iterator[str]:
    """A new empty database's URL: a SQLite file in a temporary folder, or `eco_bench_<random>` on the local
    PostgreSQL (dropped at the end even if the bench fails half-way)."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="eco-bench-") as folder:
            yield f"sqlite:///{folder}/eco-bot.db"
        return
    with throwaway_postgres("eco_bench") as url:
        yield url


def migrated(url: str):
    from bot.store.db import open_database, upgrade

    engine = open_database(url)
    upgrade(engine)
    return engine


# --- part 1: a large table of notices ---------------------------------------------------------------------------
#
# The mix, by connection number g (1..rows); PostgreSQL builds it server-side in `_PG_NOTICES`, SQLite from
# `notice_row`, the same rules in both:
#   g % due_every == 0     pending, due in the last hour            (~DUE_NOW rows)
#   g % claim_every == 1   claimed, lease ran out a minute ago      (~LAPSED_CLAIMS rows)
#   g % claim_every == 2   claimed, lease still running             (~HELD_CLAIMS rows)
#   g % 20 == 2            pending, due within the coming week      (~5 %)
#   g % 100 == 3           dropped long ago                         (~1 %)
#   otherwise              sent, 1 to 365 days ago                  (the rest)

_PG_CONNECTIONS = """
INSERT INTO connections (id, team_id, channel_id, thread_ts, requester_id, step, version, external_id,
                         approval_round, created_at, updated_at)
SELECT g, 'T' || (g % 200), 'C' || (g % 5000), (1700000000 + g)::text || '.000100', 'U' || (g % 20000),
       'complete', 3, md5(g::text), 0, :now - make_interval(days => 2 + g % 365), :now - make_interval(days => 1 + g % 365)
FROM generate_series(1, :rows) AS g
"""

_PG_NOTICES = """
WITH mix AS (
    SELECT g, CASE WHEN g % :due_every = 0 THEN 'due'
                   WHEN g % :claim_every = 1 THEN 'lapsed'
                   WHEN g % :claim_every = 2 THEN 'held'
                   WHEN g % 20 = 2 THEN 'future'
                   WHEN g % 100 = 3 THEN 'dropped'
                   ELSE 'sent' END AS category,
           :now - make_interval(days => 1 + g % 365, secs => g % 86400) AS long_ago
    FROM generate_series(1, :rows) AS g
)
INSERT INTO notices (id, team_id, connection_id, kind, due_at, state, claimed_by, lease_until, attempts,
                     posted_ts, sent_at)
SELECT g, 'T' || (g % 200), g, (ARRAY[:kind0, :kind1, :kind2, :kind3])[1 + g % 4],
       CASE category WHEN 'due' THEN :now - make_interval(secs => 1 + g % 3600)
                     WHEN 'lapsed' THEN :now - make_interval(secs => 600 + g % 60)
                     WHEN 'held' THEN :now - make_interval(secs => 30)
                     WHEN 'future' THEN :now + make_interval(secs => 60 + g % 604800)
                     ELSE long_ago END,
       CASE category WHEN 'due' THEN 'pending' WHEN 'future' THEN 'pending'
                     WHEN 'lapsed' THEN 'claimed' WHEN 'held' THEN 'claimed' ELSE category END,
       CASE category WHEN 'lapsed' THEN 'replica-gone' WHEN 'held' THEN 'replica-alive' END,
       CASE category WHEN 'lapsed' THEN :now - make_interval(secs => 60) WHEN 'held' THEN :now + make_interval(secs => 90) END,
       CASE category WHEN 'sent' THEN 1 WHEN 'lapsed' THEN 1 WHEN 'held' THEN 1 ELSE 0 END,
       CASE category WHEN 'sent' THEN (1700000000 + g)::text || '.000200' END,
       CASE category WHEN 'sent' THEN long_ago + make_interval(secs => 2) END
FROM mix
"""


def mix_steps(rows: int) -> tuple[int, int]:
    return max(rows // DUE_NOW, 3), max(rows // max(LAPSED_CLAIMS, HELD_CLAIMS), 3)


def fill_postgres(engine, rows: int, now: datetime) -> None:
    """Generated by the server (INSERT .. SELECT generate_series): a million rows in seconds, not minutes."""
    from sqlalchemy import text

    due_every, claim_every = mix_steps(rows)
    kinds = {f"kind{i}": kind for i, kind in enumerate(KINDS)}
    with engine.begin() as connection:
        connection.execute(text(_PG_CONNECTIONS), {"now": now, "rows": rows})
        connection.execute(
            text(_PG_NOTICES), {"now": now, "rows": rows, "due_every": due_every, "claim_every": claim_every, **kinds}
        )
        for table in ("connections", "notices"):  # later inserts (none here) would reuse ids otherwise
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :rows)"), {"rows": rows})
    # VACUUM cannot run in a transaction; it also sets the visibility map, as on a table autovacuum has seen.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE connections, notices"))


def notice_row(g: int, rows: int, now: datetime) -> dict:
    """Notice of connection g, by the rules above (the same as `_PG_NOTICES`)."""
    due_every, claim_every = mix_steps(rows)
    long_ago = now - timedelta(days=1 + g % 365, seconds=g % 86400)
    row = {"id": g, "team_id": f"T{g % 200}", "connection_id": g, "kind": KINDS[g % 4], "claimed_by": None,
           "lease_until": None, "attempts": 0, "posted_ts": None, "sent_at": None}
    if g % due_every == 0:
        row.update(state="pending", due_at=now - timedelta(seconds=1 + g % 3600))
    elif g % claim_every == 1:
        row.update(state="claimed", due_at=now - timedelta(seconds=600 + g % 60), claimed_by="replica-gone",
                   lease_until=now - timedelta(seconds=60), attempts=1)
    elif g % claim_every == 2:
        row.update(state="claimed", due_at=now - timedelta(seconds=30), claimed_by="replica-alive",
                   lease_until=now + timedelta(seconds=90), attempts=1)
    elif g % 20 == 2:
        row.update(state="pending", due_at=now + timedelta(seconds=60 + g % 604800))
    elif g % 100 == 3:
        row.update(state="dropped", due_at=long_ago)
    else:
        row.update(state="sent", due_at=long_ago, attempts=1, posted_ts=f"{1700000000 + g}.000200",
                   sent_at=long_ago + timedelta(seconds=2))
    return row


def connection_row(g: int, now: datetime) -> dict:
    return {"id": g, "team_id": f"T{g % 200}", "channel_id": f"C{g % 5000}", "thread_ts": f"{1700000000 + g}.000100",
            "requester_id": f"U{g % 20000}", "step": "complete", "version": 3, "external_id": f"{g:032x}",
            "approval_round": 0, "created_at": now - timedelta(days=2 + g % 365),
            "updated_at": now - timedelta(days=1 + g % 365)}


def fill_sqlite(engine, rows: int, now: datetime) -> None:
    """executemany in large batches through SQLAlchemy Core, so that times are stored exactly as the bot stores them."""
    from sqlalchemy import insert, text

    from bot.store.models import Connection, Notice

    for model, make in ((Connection, lambda g: connection_row(g, now)), (Notice, lambda g: notice_row(g, rows, now))):
        for start in range(1, rows + 1, BATCH):
            with engine.begin() as connection:
                connection.execute(insert(model.__table__), [make(g) for g in range(start, min(start + BATCH, rows + 1))])
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def notice_states(engine) -> str:
    from sqlalchemy import func, select

    from bot.store.models import Notice

    with engine.connect() as connection:
        counts = connection.execute(select(Notice.state, func.count()).group_by(Notice.state)).all()
    return ", ".join(f"{state} {count:,}" for state, count in sorted(counts, key=lambda c: -c[1]))


def due_index_name() -> str:
    """The index the claim should read: the model's index on notices that covers due_at (named, not guessed)."""
    from bot.store.models import Notice

    names = [index.name for index in Notice.__table__.indexes if "due_at" in index.columns]
    if len(names) != 1:
        raise SystemExit(f"expected one index over notices.due_at in the model, found {names}")
    return names[0]


def time_claims(engine, now: datetime, runs: int, *, drop_index: str | None = None) -> tuple[list[float], int]:
    """Seconds per claim_due_notices call (BEGIN and the call; the rollback after it is not counted), and the most
    notices one call claimed (never more than the limit, if the claim is right). Rolled back so that every run finds the same due notices."""
    from sqlalchemy import text

    from bot.store import repository
    from bot.store.db import session_factory

    sessions = session_factory(engine)
    timings: list[float] = []
    claimed = 0
    for _ in range(runs):
        with sessions() as session:
            if drop_index:
                # Dropped inside the transaction that the rollback undoes: the baseline needs no second database.
                session.execute(text(f"DROP INDEX {drop_index}"))
            started = time.perf_counter()
            notices = repository.claim_due_notices(session, now=now, owner=OWNER, lease=LEASE, limit=CLAIM_LIMIT)
            timings.append(time.perf_counter() - started)
            claimed = max(claimed, len(notices))
            session.rollback()
    return timings, claimed


def captured_claim_sql(engine, now: datetime) -> list[tuple[str, object]]:
    """The distinct statements one claim sends to the database, with their parameters, as the driver got them."""
    from sqlalchemy import event

    from bot.store import repository
    from bot.store.db import session_factory

    seen: dict[str, object] = {}

    def record(_connection, _cursor, statement, parameters, _context, _executemany) -> None:
        if "notices" in statement and not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT")):
            seen.setdefault(statement, parameters)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_factory(engine)() as session:
            repository.claim_due_notices(session, now=now, owner=OWNER, lease=LEASE, limit=CLAIM_LIMIT)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return list(seen.items())


def explain(engine, statement: str, parameters, *, drop_index: str | None = None) -> list[str]:
    """The plan of one captured statement. On PostgreSQL EXPLAIN ANALYZE runs it, so it is rolled back."""
    from sqlalchemy import text

    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as connection:
        if drop_index:
            connection.execute(text(f"DROP INDEX {drop_index}"))
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
        connection.rollback()
    return [row[0] for row in rows] if postgres else [row[-1] for row in rows]


def generic_plan(engine, statement: str, parameters: dict) -> list[str]:
    """PostgreSQL: the plan the claim may switch to once prepared (psycopg prepares a statement on its fifth run,
    and the server may then keep one plan for any parameters). Such a plan is made without the bound values, so
    it can use a partial index only if the query names the index's condition in literals."""
    import psycopg

    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))  # psycopg numbers them $1, $2, .. so
    as_prepared = re.sub(r"%\((\w+)\)s", lambda match: f"${names.index(match[1]) + 1}", statement)
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        raw.execute(statement, parameters, prepare=True)
        name = raw.execute("SELECT name FROM pg_prepared_statements WHERE statement = %s", [as_prepared]).fetchone()[0]
        values = [parameters[key] for key in names]
        with psycopg.ClientCursor(raw) as cursor:  # EXECUTE takes its arguments as literals
            cursor.execute(f"EXPLAIN (COSTS OFF) EXECUTE {name}({', '.join(['%s'] * len(values))})", values)
            plan = [row[0] for row in cursor.fetchall()]
        connection.rollback()
    return plan


def index_verdict(plan: list[str], index: str) -> str:
    """Whether a plan reads notices through `index`, or scans the whole table."""
    text_ = "\n".join(plan)
    full_scan = "Seq Scan on notices" in text_ or re.search(r"\bSCAN notices\b(?! USING)", text_) is not None
    if full_scan:
        return f"NO: full scan of notices (index {index} not used)"
    return f"yes: uses {index}" if index in text_ else f"NO: {index} not named in the plan"


@dataclass
class FindFigures:
    dialect: str
    rows: int
    states: str
    claimed: int
    with_index: list[float]
    without_index: list[float]
    plans: list[tuple[str, list[str], str]]  # (statement, plan, verdict)
    baseline_plan: list[str]
    generic_verdict: str  # PostgreSQL only
    sizes: str


def relation_sizes(engine, index: str) -> str:
    """PostgreSQL: how large the notices table and the due-notices index are (a partial index stays small)."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return ""
    with engine.connect() as connection:
        table, idx = connection.execute(
            text("SELECT pg_size_pretty(pg_table_size('notices')), pg_size_pretty(pg_relation_size(:index))"),
            {"index": index},
        ).one()
    return f"notices table {table}, index {index} {idx}"


def find_due(dialect: str, rows: int, runs: int) -> FindFigures:
    index = due_index_name()
    with throwaway_database(dialect) as url:
        engine = migrated(url)
        try:
            now = datetime.now(UTC).replace(microsecond=0)
            started = time.perf_counter()
            (fill_postgres if dialect == "postgresql" else fill_sqlite)(engine, rows, now)
            print(f"  [{dialect}] {rows:,} connections and notices written in {time.perf_counter() - started:.1f} s",
                  flush=True)
            time_claims(engine, now, 5)  # warm-up: pool, statement caches, the table's pages
            with_index, claimed = time_claims(engine, now, runs)
            baseline_runs = max(runs // 10, 10)  # each takes a full scan: fewer runs keep the bench short
            without_index, _ = time_claims(engine, now, baseline_runs, drop_index=index)
            captured = captured_claim_sql(engine, now)
            plans = []
            for statement, parameters in captured:
                plan = explain(engine, statement, parameters)
                plans.append((statement, plan, index_verdict(plan, index)))
            finder = captured[0]  # the statement that searches for due notices comes first
            baseline_plan = explain(engine, finder[0], finder[1], drop_index=index)
            generic = index_verdict(generic_plan(engine, *finder), index) if dialect == "postgresql" else ""
            return FindFigures(dialect, rows, notice_states(engine), claimed, with_index, without_index, plans,
                               baseline_plan, generic, relation_sizes(engine, index))
        finally:
            engine.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report_find(figures: FindFigures) -> bool:
    ms = lambda seconds: f"{seconds * 1000:8.2f} ms"  # noqa: E731
    p50 = statistics.median(figures.with_index)
    print(f"finding due notices, {figures.dialect}: {figures.rows:,} connections; notices: {figures.states}")
    if figures.sizes:
        print(f"  sizes: {figures.sizes}")
    print(f"  claim_due_notices(limit={CLAIM_LIMIT}) with the index    p50 {ms(p50)}   p99 "
          f"{ms(percentile(figures.with_index, 0.99))}   ({len(figures.with_index)} runs, at most {figures.claimed} claimed per call)")
    print(f"  baseline: same call, index dropped     p50 {ms(statistics.median(figures.without_index))}   p99 "
          f"{ms(percentile(figures.without_index, 0.99))}   ({len(figures.without_index)} runs)")
    for statement, plan, verdict in figures.plans:
        print(f"  statement: {' '.join(statement.split())}")
        print(f"  plan ({verdict}):")
        for line in plan:
            print(f"    {line}")
    if figures.generic_verdict:
        print(f"  generic plan, as a prepared statement may come to use: {figures.generic_verdict}")
    print("  plan without the index (baseline):")
    for line in figures.baseline_plan:
        print(f"    {line}")
    uses_index = all(verdict.startswith("yes") for _, _, verdict in figures.plans[:1])
    print(f"  target: p50 < 20 ms and the index used -> {'met' if p50 < 0.020 and uses_index else 'NOT met'}")
    return p50 < 0.020 and uses_index


# --- part 2: a thousand notices due together ----------------------------------------------------------------------


def memory() -> dict[str, str]:
    """This process's resident memory now (VmRSS) and at its peak (VmHWM), as the kernel reports them."""
    figures = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = " ".join(value.split())
    return figures


def reset_peak_memory() -> None:
    """Start VmHWM afresh, so that the figure after the delivery is the delivery's peak, not part 1's."""
    with contextlib.suppress(OSError):  # Linux >= 4.0; elsewhere the peak is the process's
        Path("/proc/self/clear_refs").write_text("5")


def keep_aws_local() -> None:
    """A reminder makes no AWS call. Should anything try one anyway, it goes to a closed loopback port and fails
    there, instead of leaving the machine."""
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
    })


def seed_waiting(engine, count: int, now: datetime) -> None:
    """`count` connections asked for their bucket a day ago and never answered, each with its reminder due now
    (`answer_reminder:<version>`: the version the question was asked at, which the connection is still at)."""
    from sqlalchemy import insert

    from bot.store.models import Connection, Notice

    asked = now - timedelta(days=1, minutes=1)
    connections = [
        {"id": g, "team_id": TEAM, "channel_id": f"C{g % 20:04d}", "thread_ts": f"{1700000000 + g}.000100",
         "requester_id": f"U{g:05d}", "step": "awaiting_bucket", "version": 2, "external_id": f"{g:032x}",
         "approval_round": 0, "created_at": asked, "updated_at": asked}
        for g in range(1, count + 1)
    ]
    notices = [
        {"id": g, "team_id": TEAM, "connection_id": g, "kind": "answer_reminder:2", "due_at": now - timedelta(seconds=1),
         "state": "pending", "attempts": 0}
        for g in range(1, count + 1)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Connection.__table__), connections)
        connection.execute(insert(Notice.__table__), notices)


def tagged_posts(fake) -> Counter:
    """chat.postMessage calls answered ok and tagged as notices, counted per (connection id, notice kind)."""
    counts: Counter = Counter()
    for call in fake.calls("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        if call.ok and metadata.get("event_type") == "eco_notice":
            payload = metadata.get("event_payload") or {}
            counts[(payload.get("connection_id"), payload.get("notice"))] += 1
    return counts


@contextlib.contextmanager
def claim_sizes() -> Iterator[list[int]]:
    """The number of notices each claim returns, in this process (a wrapper around the repository function the
    engine calls; nothing is changed on disk). A claim must never return more than its limit: the pass's bound
    (batches x limit) and the lease both rest on it."""
    from bot.store import repository

    sizes: list[int] = []
    original = repository.claim_due_notices

    def counted(*args, **kwargs):
        claimed = original(*args, **kwargs)
        sizes.append(len(claimed))
        return claimed

    repository.claim_due_notices = counted
    try:
        yield sizes
    finally:
        repository.claim_due_notices = original


def wait_for_posts(fake, count: int, started: float, deadline: float) -> float | None:
    """Seconds from `started` until `count` tagged posts were recorded; None if the deadline passed first."""
    while time.perf_counter() - started < deadline:
        # Counting all posts is cheap; the tags are read only once there are enough (polling shares the GIL
        # with the bot's workers and the fake, so it must stay light).
        if len(fake.calls("chat.postMessage")) >= count and sum(tagged_posts(fake).values()) >= count:
            return time.perf_counter() - started
        time.sleep(0.02)
    return None


@dataclass
class PostFigures:
    dialect: str
    interval: float
    pacing: float
    workers: int
    elapsed: float | None  # None: not all posted before the deadline
    deadline: float
    posts: Counter
    claims: list[int]  # notices returned by each claim, in order
    states: str
    other_calls: Counter
    memory_before: dict[str, str]
    memory_after: dict[str, str]


def post_due(dialect: str, count: int, pacing: float, interval: str | None) -> PostFigures:
    """Seed `count` due reminders, start the real service's scheduler, and time it until all are posted."""
    from bot.service import build_service
    from bot.settings import load_settings
    from tests.fakes.slack_api import FakeSlack

    keep_aws_local()
    fake = FakeSlack().start()
    fake.post_delay = pacing
    with throwaway_database(dialect) as url:
        values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "DATABASE_URL": url,
                  "ECO_SLACK_API_URL": fake.api_url, "ECO_APPROVERS": "UAPPROVER1"}
        if interval:
            values["ECO_SCHEDULER_INTERVAL"] = interval
        settings = load_settings(None, **values)
        service = build_service(settings, signing_secret=SIGNING_SECRET)
        try:
            seed_waiting(service.database, count, datetime.now(UTC))
            fake.reset()  # forget auth.test from the start: only the scheduler's calls count
            workers = service.engine.policy.notice_workers
            # Wait as long as the claim allows (one interval plus the pacing of every post in turn), and a little more.
            deadline = settings.scheduler_interval.total_seconds() + count * pacing + 10
            reset_peak_memory()
            before = memory()
            with claim_sizes() as claims:
                started = time.perf_counter()
                service.start()
                elapsed = wait_for_posts(fake, count, started, deadline)
                after = memory()
                service.scheduler.stop(timeout=60)  # lets the pass in progress finish before counting
            posts = tagged_posts(fake)
            others = Counter(c.method for c in fake.calls() if c.method != "chat.postMessage")
            return PostFigures(dialect, settings.scheduler_interval.total_seconds(), pacing, workers, elapsed, deadline,
                               posts, claims, notice_states(service.database), others, before, after)
        finally:
            service.close()
            fake.stop()


def report_post(paced: PostFigures, bare: PostFigures, count: int) -> bool:
    """Figures with the pacing, and the baseline without it (the bot's own work per notice)."""
    seconds = lambda value: f"{value:6.2f} s" if value is not None else "  not all posted"  # noqa: E731
    posted = sum(paced.posts.values())
    duplicates = sum(n - 1 for figures in (paced, bare) for n in figures.posts.values() if n > 1)
    lower_bound = count * paced.pacing / paced.workers
    print(f"posting {count:,} notices due together, {paced.dialect}: ECO_SCHEDULER_INTERVAL {paced.interval:.0f} s, "
          f"{paced.workers} delivery workers, pacing {paced.pacing * 1000:.0f} ms per chat.postMessage")
    print(f"  lower bound {count:,} x pacing / workers      {seconds(lower_bound)}")
    rate = f"({count / paced.elapsed:.0f} notices/s)" if paced.elapsed else f"(deadline {paced.deadline:.0f} s)"
    print(f"  measured, scheduler start -> last post  {seconds(paced.elapsed)}   {rate}")
    print(f"  baseline, same with no pacing           {seconds(bare.elapsed)}")
    print(f"  tagged posts {posted:,} for {len(paced.posts):,} notices; duplicates {duplicates} (both runs); "
          f"notices afterwards: {paced.states}; other Slack calls: {dict(paced.other_calls) or 'none'}")
    claims = [n for n in paced.claims if n]
    print(f"  claims that returned notices (limit {CLAIM_LIMIT} each): {len(claims)}, the largest {max(claims, default=0):,}"
          + ("" if max(claims, default=0) <= CLAIM_LIMIT else "  <- MORE THAN THE LIMIT"))
    print(f"  memory: before VmRSS {paced.memory_before.get('VmRSS')}; after VmRSS {paced.memory_after.get('VmRSS')}, "
          f"peak during delivery VmHWM {paced.memory_after.get('VmHWM')}")
    # A notice falling due just after a pass waits one interval, then the next pass's whole length.
    bound = paced.interval + count * paced.pacing
    ok = paced.elapsed is not None and duplicates == 0 and len(paced.posts) == count
    worst = f"{paced.interval + paced.elapsed:.1f} s" if paced.elapsed is not None else "over the deadline"
    met = ok and paced.interval + paced.elapsed <= bound
    print(f"  target: all posted once within interval + pacing ({paced.interval:.0f} s + {count:,} x "
          f"{paced.pacing * 1000:.0f} ms = {bound:.1f} s; worst case here interval + measured = {worst}) -> "
          f"{'met' if met else 'NOT met'}")
    return met and max(claims, default=0) <= CLAIM_LIMIT


# --- main ------------------------------------------------------------------------------------------------------------


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    options.add_argument("--rows", type=int, default=1_000_000,
                         help="connections in PostgreSQL (default 1,000,000); SQLite gets a tenth")
    options.add_argument("--runs", type=int, default=200, help="timed claims per database (default 200)")
    options.add_argument("--notices", type=int, default=1000, help="notices due together in part 2 (default 1000)")
    options.add_argument("--pacing", type=float, default=0.005, help="seconds per chat.postMessage (default 0.005)")
    options.add_argument("--interval", default=None, help="ECO_SCHEDULER_INTERVAL for part 2 (default: the bot's)")
    args = options.parse_args()

    dialects = ["sqlite"] if args.sqlite_only else ["sqlite", "postgresql"]
    results = []
    for dialect in dialects:
        rows = args.rows if dialect == "postgresql" else max(args.rows // 10, 1000)
        results.append(report_find(find_due(dialect, rows, args.runs)))
        print(flush=True)
    for dialect in dialects:
        paced = post_due(dialect, args.notices, args.pacing, args.interval)
        bare = post_due(dialect, args.notices, 0.0, args.interval)
        results.append(report_post(paced, bare, args.notices))
        print(flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
