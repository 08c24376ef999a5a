"""Benchmark: chain of thought with the offline model, per bucket.

One `cot` bucket (grocery_prices, level 6, one chain) is measured in exact mode
at several reasoning lengths and in sample mode, each from an empty call cache
(the model's converted weights are reused), then once more from the cache.
Generated tokens per second are the chain's completion tokens over its time.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_cot.py [--reasoning 48 256]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-cot-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")
os.environ.setdefault("EXCEPTIONS_MODELS", str(Path(__file__).resolve().parents[1] / "cache" / "models"))

from helpers.exceptions import experiment
from helpers.llm import local_model
from helpers.exceptions import scenarios  # noqa: E402


def measure(label: str, config, chosen) -> None:
    start = time.perf_counter()
    result = experiment.run(config, chosen)
    seconds = time.perf_counter() - start
    rows = result.responses
    tokens = int(rows["completion_tokens"].sum())
    print(f"{label:<44} {seconds:8.2f} s  {result.stats.made:3d} calls  {tokens:4d} tokens  "
          f"{tokens / seconds:5.1f} tok/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reasoning", type=int, nargs="+", default=[48, 256], help="reasoning-turn lengths")
    args = parser.parse_args()
    chosen = scenarios.select(scenarios.load_scenarios(), ["grocery_prices"])
    local_model.load()  # the load is not part of a bucket's time
    for reasoning in args.reasoning:
        config = experiment.RunConfig(variants=("cot",), mode="exact", samples=1, levels=(6,),
                                      reasoning_tokens=reasoning)
        measure(f"exact, 1 chain, reasoning <= {reasoning} tokens", config, chosen)
    sample = experiment.RunConfig(variants=("cot",), mode="sample", samples=1, levels=(1,),
                                  reasoning_tokens=args.reasoning[0], max_tokens=48)
    measure(f"sample, 1 chain, reasoning <= {args.reasoning[0]}, final <= 48", sample, chosen)
    start = time.perf_counter()
    again = experiment.run(sample, chosen)
    print(f"{'the same chain again (3 cache hits)':<44} {time.perf_counter() - start:8.2f} s  "
          f"{again.stats.made:3d} calls")
    print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
