"""Benchmark: achieved request rate against a rate-limited server.

The test server on 127.0.0.1 answers each chat completion after 50 ms and allows
1,200 requests per minute (it answers 429 with Retry-After beyond that). The
client is told the same limit (--rpm 1200). Target: at least 90% of the limit,
every answer stored, and no 429 reaching the user (rate-limited requests are
retried, never counted as failed).

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_throughput.py [--requests N]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-rate-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")

from helpers.exceptions import experiment
from helpers.exceptions import scenarios  # noqa: E402
from helpers.llm.engine import Limits  # noqa: E402
from helpers.testing.server import FakeOpenAI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpm", type=int, default=1200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--requests", type=int, default=1200, help="a multiple of 60 (one per bucket and sample)")
    args = parser.parse_args()
    samples = max(1, args.requests // 60)
    chosen = scenarios.load_scenarios()
    with FakeOpenAI(latency=args.latency, rpm=args.rpm) as server:
        config = experiment.RunConfig(models=("openai/gpt-4o-mini",), mode="sample", samples=samples,
                                      base_url=server.base_url)
        # max_n=1: one answer per request, so requests are what the limit counts.
        limits = Limits(rpm=args.rpm, max_n=1, concurrency=32)
        start = time.perf_counter()
        result = experiment.run(config, chosen, limits=limits)
        seconds = time.perf_counter() - start
        served = dict(server.stats)
    achieved = served["completions"] / seconds * 60
    stored = int((result.responses["status"] == "ok").sum())
    print(f"{'server: latency / limit':<40} {args.latency * 1000:.0f} ms / {args.rpm} requests per minute")
    print(f"{'requests answered':<40} {served['completions']}")
    print(f"{'wall time':<40} {seconds:.1f} s")
    print(f"{'achieved rate':<40} {achieved:.0f} per minute = {achieved / args.rpm:.1%} of the limit (target >= 90%)")
    print(f"{'answers stored / wanted':<40} {stored} / {len(result.responses)}")
    print(f"{'429s sent by the server':<40} {served['rate_limited']} (retried: {result.progress.retries})")
    print(f"{'failed calls shown to the user':<40} {result.stats.failed}")


if __name__ == "__main__":
    main()
