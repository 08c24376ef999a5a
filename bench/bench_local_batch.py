"""Benchmark batched local inference against one prompt at a time (the offline
model, SmolLM2-135M-Instruct, on this machine's CPU).

- exact mode, the 60-bucket grid (10 scenarios x 6 levels, no controls): the
  scoring as it was before batching (one full forward pass per prompt), the new
  code at one row per batch, batched, and a whole `run` through the engine;
- sample mode, the same 32 answers (4 samples of 8 buckets, up to 48 tokens, at
  temperature 1): as before batching (transformers' generate after
  torch.manual_seed, one at a time), batched, and a whole `run`;
- chain of thought: the turns of 4 chains of one bucket batched together, and
  one at a time (`--concurrency 1`);
- tokens per second of each, and the peak resident memory.

Each measurement is repeated (REPEATS, interleaved; an argument sets another
count) and printed as its best (least disturbed), median and range, with the
load average after each repeat: on a shared machine other processes slow some
repeats down, and two threads waiting on each other suffer most from it.
Prints figures for the README; asserts nothing. Run with `make bench` (an empty
call cache, so nothing is a cache hit; the converted model in cache/models is
reused).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")

from helpers import paths  # noqa: E402

if "EXCEPTIONS_MODELS" not in os.environ:  # reuse the checkout's converted model (conversion is bench_offline's)
    os.environ["EXCEPTIONS_MODELS"] = str(paths.home() / "cache" / "models")

import torch  # noqa: E402

from helpers.exceptions import experiment, scenarios  # noqa: E402
from helpers.exceptions.prompting import build_messages  # noqa: E402
from helpers.llm import Limits, local_meter, local_model  # noqa: E402

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3  # `python bench/bench_local_batch.py 5` repeats 5 times
ANSWER_TOKENS = 48
SAMPLES = 4  # per bucket
SAMPLE_BUCKETS = 8
CHAINS = 4  # chain-of-thought chains of one bucket, their turns batched together


def span(values: list[float], unit: str, digits: int = 2, best=min) -> str:
    """best (the least disturbed repeat), median and range of one measurement."""
    return (f"best {best(values):.{digits}f}, median {statistics.median(values):.{digits}f} {unit} "
            f"(range {min(values):.{digits}f} .. {max(values):.{digits}f})")


def old_score(model, prompts) -> None:
    """Scoring as it was before batching: the whole prompt, every position's logits."""
    for messages in prompts:
        inputs = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                     return_dict=True)
        with torch.no_grad():
            model.model(**inputs).logits[0, -1].float().softmax(-1)


def old_generate(model, prompts, seeds) -> None:
    """Sampling as it was before batching: transformers' generate after torch.manual_seed, one at a time."""
    for messages, seed in zip(prompts, seeds):
        inputs = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                     return_dict=True)
        with torch.no_grad():
            torch.manual_seed(seed)
            model.model.generate(**inputs, max_new_tokens=ANSWER_TOKENS, do_sample=True, temperature=1.0, top_p=1.0,
                                 top_k=0, pad_token_id=model.tokenizer.eos_token_id)


def measure(label: str, fn, count: int, unit: str, results: dict) -> None:
    """Run fn once; record seconds and count/second under label."""
    before = local_meter.snapshot()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    work = local_meter.since(before).get(MODEL)
    entry = results.setdefault(label, {"seconds": [], "rate": [], "tokens_s": [], "load": [], "unit": unit})
    entry["seconds"].append(seconds)
    entry["rate"].append(count / seconds)
    entry["load"].append(os.getloadavg()[0])
    if work is not None:
        entry["tokens_s"].append(work.tokens_per_second)


def fresh_cache() -> None:
    """An empty call cache, so a run makes every answer (the loaded model stays loaded)."""
    shutil.rmtree(paths.calls_cache_dir(), ignore_errors=True)


MODEL = local_model.DEFAULT_LOCAL


def main() -> None:
    model = local_model.load(MODEL)
    chosen = scenarios.load_scenarios()
    grid = [build_messages(s, level) for s in chosen for level in range(1, len(s.levels) + 1)]
    buckets = grid[::len(grid) // SAMPLE_BUCKETS][:SAMPLE_BUCKETS]
    sample_prompts = [m for m in buckets for _ in range(SAMPLES)]
    seeds = list(range(1000, 1000 + len(sample_prompts)))
    answers = len(sample_prompts)
    sample_buckets = scenarios.select(chosen, [s.id for s in chosen[:4]])
    run_levels = (1, 6)  # 4 scenarios x 2 levels x SAMPLES = the same count of answers as above

    grocery = scenarios.select(chosen, ["grocery_prices"])
    chains = experiment.RunConfig(variants=("cot",), mode="exact", samples=CHAINS, levels=(6,), reasoning_tokens=48,
                                  control=False)

    model.yes_no_many(grid[:4])  # warm up
    results: dict[str, dict] = {}
    for _ in range(REPEATS):
        measure("exact, 60 buckets: before batching (one full pass each)", lambda: old_score(model, grid),
                60, "buckets/s", results)
        measure("exact, 60 buckets: new code, 1 per batch", lambda: model.yes_no_many(grid, max_rows=1, share=False),
                60, "buckets/s", results)
        measure("exact, 60 buckets: batched", lambda: model.yes_no_many(grid), 60, "buckets/s", results)
        fresh_cache()
        measure("exact, 60 buckets: `run` through the engine",
                lambda: experiment.run(experiment.RunConfig(mode="exact", control=False), chosen),
                60, "buckets/s", results)
        measure(f"sample, {answers} answers x {ANSWER_TOKENS} tokens: before batching (generate, one at a time)",
                lambda: old_generate(model, sample_prompts, seeds), answers, "answers/s", results)
        measure(f"sample, {answers} answers x {ANSWER_TOKENS} tokens: batched",
                lambda: model.generate_many(sample_prompts, seeds, temperature=1.0, max_tokens=ANSWER_TOKENS),
                answers, "answers/s", results)
        fresh_cache()
        config = experiment.RunConfig(mode="sample", samples=SAMPLES, max_tokens=ANSWER_TOKENS, levels=run_levels,
                                      control=False)
        measure(f"sample, {answers} answers: `run` through the engine",
                lambda: experiment.run(config, sample_buckets), answers, "answers/s", results)
        for label, limits in (("batched", None), ("--concurrency 1 (unbatched)", Limits(concurrency=1))):
            fresh_cache()
            measure(f"chain of thought, {CHAINS} chains (exact, reasoning <= 48): {label}",
                    lambda: experiment.run(chains, grocery, **({"limits": limits} if limits else {})),
                    CHAINS, "chains/s", results)

    for label, entry in results.items():
        print(label)
        print(f"    {span(entry['seconds'], 's')}")
        print(f"    {span(entry['rate'], entry['unit'], best=max)}")
        if entry["tokens_s"]:
            print(f"    {span(entry['tokens_s'], 'tokens/s', 0, best=max)}")
        print(f"    load average (1 min) after each repeat: {', '.join(f'{x:.1f}' for x in entry['load'])}")

    def ratio(fast: str, slow: str) -> str:
        best = max(results[fast]["rate"]) / max(results[slow]["rate"])
        median = statistics.median(results[fast]["rate"]) / statistics.median(results[slow]["rate"])
        return f"{best:.1f}x at best, {median:.1f}x at the medians"

    sample = f"sample, {answers} answers x {ANSWER_TOKENS} tokens: "
    print(f"sample mode, batched vs before batching (answers/s): "
          f"{ratio(sample + 'batched', sample + 'before batching (generate, one at a time)')}")
    print(f"exact grid, batched vs before batching: "
          f"{ratio('exact, 60 buckets: batched', 'exact, 60 buckets: before batching (one full pass each)')}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<62} {peak_mib:8.0f} MiB")
    print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, python {sys.version.split()[0]}, "
          f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
