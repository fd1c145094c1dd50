"""Benchmark of the role step's verification: wall time against its slowest chain of dependent calls.

Runs the real AwsVerifier against the test suite's fake AWS (moto behind the enforcing gateway, plus the
CUR / Data Exports fake), all on loopback, with a per-call latency added to stand in for AWS's round
trip (local calls take a millisecond, which would hide whether the checks overlap). Prints, for the
median of several runs: the step's wall time, its slowest chain (AssumeRole -> CUR definitions -> list
-> read), the ratio of the two (the target is at most 1.5), the slowest single check, and the number of
AWS calls. As a baseline measured in the same run it also prints the sum of all chains: what the step
would take if the same calls ran one after another.

    .venv/bin/python bench/verify.py [--runs 15] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the fakes live in tests/

EXTERNAL_ID = "eco-bench-external-id"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=15)
    options.add_argument("--latency", type=float, default=0.05, help="seconds added to every AWS call (default 0.05)")
    args = options.parse_args()

    from bot.sandbox.world import BOT_PRINCIPAL, AwsWorld, CustomerAccount

    world = AwsWorld()
    world.start()
    os.environ.update(world.environment())
    try:
        from bot.aws.verifier import AwsVerifier, RunStats
        from bot.engine.identifiers import parse_role_arn

        customer = CustomerAccount.open()
        customer.create_bucket("acme-cur")
        customer.allow_cur_delivery("acme-cur")
        customer.create_report("eco-cur", "acme-cur", "cur")
        world.deliver_report(customer.account_id, "eco-cur")
        role = parse_role_arn(customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur", principal=BOT_PRINCIPAL))
        verifier = AwsVerifier()
        verifier.check_role(role, EXTERNAL_ID, "acme-cur")  # warm-up: boto3 loads its service models once

        world.latency(args.latency)
        runs: list[tuple[RunStats, int, list]] = []
        for _ in range(args.runs):
            world.gateway.clear()
            world.billing.clear()
            stats = RunStats()
            items = verifier.check_role(role, EXTERNAL_ID, "acme-cur", stats=stats)
            runs.append((stats, len(world.calls()), items))
        world.latency(0)
    finally:
        world.stop()

    not_passing = [i.name for i in runs[-1][2] if i.status.value not in ("pass",)]
    walls = [s.wall for s, _, _ in runs]
    slowest_chain = [max(s.chains.values()) for s, _, _ in runs]
    sequential = [sum(s.chains.values()) for s, _, _ in runs]
    ratios = [w / c for w, c in zip(walls, slowest_chain, strict=True)]
    check_name, check_time = max(runs[len(runs) // 2][0].checks.items(), key=lambda kv: kv[1])
    chain_name = max(runs[len(runs) // 2][0].chains.items(), key=lambda kv: kv[1])[0]
    ms = lambda seconds: f"{seconds * 1000:7.1f} ms"  # noqa: E731

    print(f"role step verification: {args.runs} runs, {args.latency * 1000:.0f} ms added per AWS call, median figures")
    print(f"  wall time of the step          {ms(statistics.median(walls))}   (p90 {ms(sorted(walls)[int(len(walls) * 0.9) - 1])})")
    print(f"  slowest chain ({chain_name:<14})  {ms(statistics.median(slowest_chain))}")
    print(f"  wall / slowest chain           {statistics.median(ratios):7.2f}      (target <= 1.5; worst run {max(ratios):.2f})")
    print(f"  slowest single check           {ms(check_time)}   ({check_name})")
    print(f"  AWS calls per step             {statistics.median(c for _, c, _ in runs):7.0f}")
    print(f"  baseline: same calls in series {ms(statistics.median(sequential))}")
    print(f"  lines not passing: {', '.join(not_passing) or 'none'}")
    return 0 if statistics.median(ratios) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
