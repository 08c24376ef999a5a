"""Benchmark LoRA fine-tuning of the offline model on the CPU.

Target (issue 7): 50 explanation examples trained in under 5 minutes on 2 CPU
cores. Trains the paper's explanations set (50 illustrative answers of one
scenario, default settings: 3 epochs, batch 8) in a fresh temporary cache,
then asks for it again (a cache hit) and measures the adapted model on all 60
buckets. Prints a table; asserts nothing. The converted base model is reused
from the workspace's cache/models (its conversion is timed in bench_offline.py).

    .venv/bin/python bench/bench_lora.py [--size 50] [--kind explanations] [--scenario grocery_prices]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-lora-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")
os.environ["EXCEPTIONS_DATA"] = str(workdir / "data")  # never the checkout's real answers
os.environ.setdefault("EXCEPTIONS_MODELS", str(Path(__file__).resolve().parents[1] / "cache" / "models"))

from helpers.exceptions import experiment
from helpers import finetune, humans
from helpers.llm import local_model
from helpers.finetune import lora
from helpers.exceptions import scenarios
from helpers.finetune import datasets as sft  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--kind", default="explanations", choices=sft.KINDS)
    parser.add_argument("--scenario", default="grocery_prices")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--top-layers", default=lora.LoraSettings.top_layers,
                        type=lambda t: t if t in (lora.HALF, "all") else int(t),
                        help="adapt only the last N layers, half or all; 0 = all (default: the library default, half)")
    parser.add_argument("--gradient-checkpointing", default="auto", choices=lora.CHECKPOINTING,
                        help="recompute activations in the backward pass (auto: for models of 1B parameters and up)")
    args = parser.parse_args()
    options = {"precision": args.precision, "top_layers": args.top_layers or None,
               "gradient_checkpointing": args.gradient_checkpointing}
    import torch

    local_model.checkpoint_dir(local_model.DEFAULT_LOCAL)  # convert first if needed; not timed
    all_scenarios = scenarios.load_scenarios()
    answers, label = humans.human_or_illustrative(None, all_scenarios)
    data = finetune.prepare_dataset(answers, label, all_scenarios, args.kind, scenario_ids=[args.scenario],
                                    size=args.size, seed=0)
    report = sft.validate(data.path, lora.DEFAULT_BASE, epochs=lora.LoraSettings().epochs)
    # Nothing else runs in this process while it trains; other processes may.
    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    result = lora.train_adapter(data.path, **options)
    train_wall, train_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    load_after = os.getloadavg()[0]
    start = time.perf_counter()
    again = lora.train_adapter(data.path, **options)
    cached_wall = time.perf_counter() - start
    start = time.perf_counter()
    experiment.run(experiment.RunConfig(models=(result.model_name,)), all_scenarios)
    eval_wall = time.perf_counter() - start
    tokens = report.total_tokens * result.settings.epochs
    rows = [
        (f"train {result.examples} {args.kind} examples ({label})", f"{train_wall:.1f} s",
         "target < 300 s: " + ("met" if train_wall < 300 else "NOT met")),
        ("  CPU time of this process (all threads)", f"{train_cpu:.1f} s",
         f"{train_cpu / train_wall:.2f} cores busy on average"),
        (f"  optimiser steps (batch {result.settings.batch_size}, {result.settings.epochs} epochs, "
         f"{result.settings.precision}, {f'last {result.settings.top_layers}' if result.settings.top_layers else 'all'}"
         f" layers, {result.meta['device']}, checkpointing {'on' if result.meta['gradient_checkpointing'] else 'off'})",
         f"{result.steps}",
         f"{result.seconds / result.steps:.2f} s per step"),
        ("  tokens through the model (all epochs)", f"{tokens}",
         f"{result.seconds / tokens * 1000:.2f} s per 1k tokens"),
        ("  training loss, first -> last step", f"{result.losses[0]:.3f} -> {result.losses[-1]:.3f}", ""),
        ("same data and settings again (cache)", f"{cached_wall:.2f} s", f"cached={again.cached}"),
        ("adapted model, exact mode, 60 buckets", f"{eval_wall:.1f} s", "includes loading + merging the adapter"),
        ("peak resident memory", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", ""),
    ]
    for what, figure, note in rows:
        print(f"{what:<52} {figure:>16}   {note}")
    print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, python {sys.version.split()[0]}, "
          f"load average before/after training: {load_before:.1f}/{load_after:.1f} "
          "(other work on the machine slows training)")


if __name__ == "__main__":
    main()
