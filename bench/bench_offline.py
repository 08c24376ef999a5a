"""Benchmark the offline model: conversion, load, and per-bucket costs.

Prints figures for the README's performance table; asserts nothing.
Run with `make bench` (uses a fresh temporary cache, so nothing is a cache hit).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")
os.environ["EXCEPTIONS_MODELS"] = str(workdir / "models")

from helpers.exceptions import experiment
from helpers.llm import local_model
from helpers.exceptions import scenarios  # noqa: E402


def timed(label: str, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<48} {seconds:8.2f} s")
    return value, seconds


def main() -> None:
    all_scenarios = scenarios.load_scenarios()
    timed("first use: GGUF -> fp32 conversion + load", lambda: local_model.LocalModel(*local_model.load_weights("smollm2-135m-instruct")))
    timed("later load from cache/models", lambda: local_model.LocalModel(*local_model.load_weights("smollm2-135m-instruct")))
    # Through the engine, batched (bench_local_batch.py sets batched against one at a time).
    exact = experiment.RunConfig(mode="exact")
    buckets = sum(len(experiment.levels_of(s, None, True)) for s in all_scenarios)  # with the controls
    _, secs = timed(f"exact mode, {buckets} buckets (all, with controls)", lambda: experiment.run(exact, all_scenarios))
    print(f"{'  per bucket':<48} {secs / buckets * 1000:8.0f} ms")
    _, secs = timed(f"rerun of the same {buckets} buckets (cache hits)", lambda: experiment.run(exact, all_scenarios))
    sample = experiment.RunConfig(mode="sample", samples=5, max_tokens=48)
    one = scenarios.select(all_scenarios, ["grocery_prices"])
    answers = 5 * len(experiment.levels_of(one[0], None, True))
    _, secs = timed(f"sample mode, {answers // 5} buckets x 5 answers, 48 tokens", lambda: experiment.run(sample, one))
    print(f"{'  per sampled answer (batched)':<48} {secs / answers:8.2f} s")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<48} {peak_mib:8.0f} MiB")
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
