"""Benchmark: a cached rerun of 60,000 answers against raw diskcache reads of the same keys.

The answers are made for real first (the paper's scale: 10 scenarios x 6 levels x
1,000 samples, against the OpenAI-compatible test server on 127.0.0.1), then the
same run is repeated: every answer is a cache hit. Target: the rerun takes at most
2x the time of reading the same keys straight from diskcache.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_cache.py [--samples N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")

import diskcache  # noqa: E402

from helpers import paths  # noqa: E402
from helpers.exceptions import experiment, scenarios  # noqa: E402
from helpers.exceptions.plan import plan  # noqa: E402
from helpers.llm import open_cache  # noqa: E402
from helpers.testing.server import FakeOpenAI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1000, help="answers per bucket (60 buckets)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    chosen = scenarios.load_scenarios()
    with FakeOpenAI() as server:
        config = experiment.RunConfig(models=("openai/gpt-4o-mini",), mode="sample",
                                      samples=args.samples, base_url=server.base_url)
        start = time.perf_counter()
        first = experiment.run(config, chosen)
        populate = time.perf_counter() - start
    answers = first.stats.made
    with open_cache() as cache:
        keys = [u.key for b in plan(config, chosen, cache) for u in b.units]

    def raw_reads() -> None:
        with diskcache.Cache(str(paths.calls_cache_dir())) as raw:  # diskcache itself, no wrapper
            for key in keys:
                raw.get(key)

    def rerun() -> None:
        result = experiment.run(config, chosen)  # the server is gone: any call would fail
        assert result.stats.cached == len(keys) and result.stats.made == 0

    timings: dict[str, list[float]] = {"raw": [], "rerun": []}
    for _ in range(args.repeats):  # interleaved, so machine load hits both alike
        for name, fn in (("raw", raw_reads), ("rerun", rerun)):
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)
    raw, again = statistics.median(timings["raw"]), statistics.median(timings["rerun"])
    print(f"{'answers made and cached (first run)':<46} {answers:>10,}   {populate:6.1f} s")
    print(f"{'raw diskcache reads of the same keys':<46} {len(keys):>10,}   {raw:6.2f} s (median of {args.repeats})")
    print(f"{'rerun through experiment.run (all cached)':<46} {len(keys):>10,}   {again:6.2f} s (median of {args.repeats})")
    print(f"{'rerun / raw reads (target <= 2.0)':<46} {again / raw:>10.2f}x")


if __name__ == "__main__":
    main()
