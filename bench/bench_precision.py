"""Benchmark: calls needed to pin down one bucket, exact mode vs sampling.

One bucket (grocery prices at level 6, the paper's $10.01 flour) with the real
offline model. Exact mode reads P(no) / (P(yes) + P(no)) from one forward pass.
Sampling draws answers at temperature 1 and counts them; to be comparable with
exact mode each sampled answer is its first token (max_tokens 1), which is
exactly what the exact probability describes. The table shows the sampled
estimate converging on the exact value, and the calls each way needs for a
standard error of 0.01. Target: exact needs at least 100x fewer calls than
1,000 samples.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_precision.py [--samples N]`.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-precision-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")  # no answer is a cache hit
# ...but the converted weights are reused from the workspace (bench_offline times that).
os.environ.setdefault("EXCEPTIONS_MODELS", str(Path(__file__).resolve().parents[1] / "cache" / "models"))

from helpers.exceptions import experiment
from helpers.exceptions import scenarios
from helpers.exceptions import stats  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--scenario", default="grocery_prices")
    parser.add_argument("--level", type=int, default=6)
    args = parser.parse_args()
    chosen = scenarios.select(scenarios.load_scenarios(), [args.scenario])
    exact_cfg = experiment.RunConfig(mode="exact", levels=(args.level,))
    start = time.perf_counter()
    exact = stats.refusal_rates(experiment.run(exact_cfg, chosen).responses).iloc[0]
    exact_seconds = time.perf_counter() - start
    sample_cfg = experiment.RunConfig(mode="sample", samples=args.samples, temperature=1.0,
                                      max_tokens=1, levels=(args.level,))
    start = time.perf_counter()
    sampled = stats.refusal_rates(experiment.run(sample_cfg, chosen).responses).iloc[0]
    sample_seconds = time.perf_counter() - start

    p = exact["refusal_rate"]
    valid_share = (sampled["yes"] + sampled["no"]) / args.samples
    target_se = 0.01
    # Answers needed for SE <= 0.01 by sampling: p(1-p)/0.01^2 valid ones, and only
    # a share of the draws is a yes or a no at all.
    needed = math.ceil(p * (1 - p) / target_se**2 / max(valid_share, 1e-9))
    print(f"bucket: {args.scenario}, level {args.level}, model local/smollm2-135m-instruct")
    print(f"{'':<34}{'calls':>8}{'refusal':>10}{'SE':>8}{'seconds':>9}")
    print(f"{'exact (first-token probability)':<34}{1:>8}{p:>10.4f}{0:>8.3f}{exact_seconds:>9.1f}")
    print(f"{'sampled, temperature 1':<34}{args.samples:>8}{sampled['refusal_rate']:>10.4f}"
          f"{sampled['se']:>8.4f}{sample_seconds:>9.1f}")
    print(f"sampled answers that were yes/no: {valid_share:.1%} (exact mode's yes/no mass: {exact['yes_no_mass']:.1%})")
    print(f"|sampled - exact| = {abs(sampled['refusal_rate'] - p):.4f} "
          f"= {abs(sampled['refusal_rate'] - p) / sampled['se']:.2f} SE")
    print(f"calls for SE <= {target_se}: exact 1, sampling about {needed:,} ({needed:,}x)")
    print(f"{args.samples:,} samples vs exact: {args.samples}x the calls (target >= 100x)")


if __name__ == "__main__":
    main()
