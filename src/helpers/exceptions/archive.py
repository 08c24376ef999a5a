"""The exceptions study's replication archive: every cached answer of a run's
selection (the options of `python -m helpers run`), labelled with its variant,
scenario, level, chain turn and parsed decision (the format: helpers.llm.archive).

"The answers of that run" are found as the run finds them: plan.plan for
single-turn variants, chains.plan_chains and walk for multi-turn ones (each turn's
request holds the answers before it), read through a Fetcher that makes no calls.
No server is asked what it serves either: the last fingerprint recorded in the
cache stands (helpers.llm.served), so an export needs no API key and no server.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.errors import UserError
from helpers.exceptions import chains
from helpers.exceptions.design import RunConfig
from helpers.exceptions.plan import plan
from helpers.exceptions.prompting import action_of, parse_answer
from helpers.exceptions.scenarios import Scenario
from helpers.llm import CachedModel, CallCache, Fetcher, open_cache
from helpers.llm import archive, served
from helpers.llm.naming import OPENAI_URL

STUDY = "exceptions"
LABELS = {"variant": "string", "scenario": "string", "level": "int64", "turn": "int64", "decision": "string"}
SCENARIOS, VARIANTS = "scenarios.toml", "variants.toml"  # the input files' names inside an archive


@dataclass
class Exported:
    manifest: dict[str, Any]
    planned: int  # answers the selection needs (chain turns beyond a missing one included)
    cached: int  # of those, found in the cache (twins, one key for two units, counted twice)


def _labels(variant: str, scenario: Scenario, level: int, turn: int | None, decision: str | None) -> dict:
    return {"variant": variant, "scenario": scenario.id, "level": level, "turn": turn, "decision": decision}


def collect(config: RunConfig, scenarios: list[Scenario],
            cache: CallCache) -> tuple[list[archive.Entry], int, list[CachedModel]]:
    """(the cached answers of the selection as archive entries, the answers it needs,
    its models), read from `cache` alone."""
    served.never_ask(cache)
    fetcher = Fetcher(cache, make_calls=False)
    buckets = plan(config, scenarios, cache)
    chain_list = chains.plan_chains(config, scenarios, cache)
    units = [u for b in buckets for u in b.units]
    found = fetcher.fetch(units)
    chains.walk(chain_list, fetcher)
    entries = []
    for bucket in buckets:
        action = action_of(bucket.scenario.render(bucket.level))
        for unit in bucket.units:
            if (answer := found[unit.key]) is not None:
                decision = parse_answer(answer.get("text", ""), action) if unit.kind == "generate" else None
                labels = _labels(bucket.variant, bucket.scenario, bucket.level, None, decision)
                entries.append(archive.Entry(unit, answer, labels))
    for chain in chain_list:
        last = len(chain.variant.turns) - 1
        for turn, (unit, answer) in enumerate(chains.answered_turns([chain])):
            # Only the last turn decides; the turns before it are the reasoning.
            decision = (parse_answer(answer.get("text", ""), action_of(chain.prompt))
                        if turn == last and unit.kind == "generate" else None)
            labels = _labels(chain.variant.name, chain.scenario, chain.level, turn + 1, decision)
            entries.append(archive.Entry(unit, answer, labels))
    models = [b.model for b in buckets] + [c.model for c in chain_list]
    return entries, len(units) + chains.turns_wanted(chain_list), models


def selection(config: RunConfig, scenarios: list[Scenario], scenario_ids: list[str],
              models: list[CachedModel]) -> dict[str, Any]:
    """The run options that select these answers (what the manifest records)."""
    endpoints = {m.spec.base_url for m in models if m.spec.provider == "openai"}
    return {"models": list(config.models), "variants": list(config.variants), "mode": config.mode,
            "samples": config.samples, "temperature": config.temperature, "max_tokens": config.max_tokens,
            "reasoning_tokens": config.reasoning_tokens, "scenario_ids": list(scenario_ids),
            "scenarios": [s.id for s in scenarios], "levels": list(config.levels) if config.levels else None,
            "base_url": next(iter(endpoints), None), "reasoning_effort": config.reasoning_effort,
            "reasoning_budget": config.reasoning_budget, "control": config.control,
            "capabilities": [[key, list(value) if isinstance(value, tuple) else value]
                             for key, value in config.capabilities]}


def _option_text(value: Any) -> str:
    """A --capability value as typed: lists comma-separated, booleans as true/false."""
    if isinstance(value, bool):
        return str(value).lower()
    return ",".join(value) if isinstance(value, list) else str(value)


def rerun_command(chosen: dict[str, Any], folder: Path | str) -> str | None:
    """The `python -m helpers run` that reads these answers again (with the archive's
    own input files); None if the manifest's selection is not one this code wrote."""
    try:
        argv = ["python", "-m", "helpers", "run"]
        argv += [f for m in chosen["models"] for f in ("--model", m)]
        argv += [f for v in chosen["variants"] for f in ("--variant", v)]
        argv += ["--variants", f"{folder}/{VARIANTS}", "--scenarios", f"{folder}/{SCENARIOS}"]
        argv += [f for s in chosen["scenario_ids"] for f in ("--scenario", s)]
        argv += [f for lv in chosen["levels"] or [] for f in ("--level", str(lv))]
        argv += ["--mode", chosen["mode"], "--samples", str(chosen["samples"]), "--temperature",
                 str(chosen["temperature"]), "--max-tokens", str(chosen["max_tokens"]), "--reasoning-tokens",
                 str(chosen["reasoning_tokens"])]
        # Reasoning options shape the request, hence the key (absent from older manifests).
        if chosen.get("reasoning_effort"):
            argv += ["--reasoning-effort", chosen["reasoning_effort"]]
        if chosen.get("reasoning_budget") is not None:
            argv += ["--reasoning-budget", str(chosen["reasoning_budget"])]
        argv += [f for key, value in chosen.get("capabilities") or []
                 for f in ("--capability", f"{key}={_option_text(value)}")]
        # Older manifests have no `control`: their scenarios.toml had no controls to measure.
        if chosen.get("control") is False:
            argv += ["--no-control"]
        if chosen["base_url"] not in (None, OPENAI_URL):
            argv += ["--base-url", chosen["base_url"]]
        return shlex.join(argv)
    except (KeyError, TypeError):
        return None


README = """\
# Model answers of the exceptions study: a replication archive

Written by `python -m helpers archive export` (exceptions workspace {version}, commit
{commit}) on {created}.

Answers: {answers} ({models}). manifest.json says which run they answer (`selection`),
when they were made and each file's size and SHA-256.

## Files

- `answers.parquet`: one row per answer. `key` is its cache key: the SHA-256 of the
  model's `identity`, the `kind` of call (yes_no: first-token P(yes), P(no); generate:
  a sampled text) and the `request` body as sent but for `n` and `seed` (JSON), then
  `-` and the `sample` index. `seed` is the seed that sample's own request carries (when several samples
  shared one request through `n`, it carried the first one's). `variant`, `scenario`,
  `level` (1 = the most severe exception), `turn` (of a chain of thought; empty for
  one-question variants) and `decision` (parsed from a text that decides: yes, no or
  invalid) label it; `text`, `p_yes`, `p_no`, tokens, `cost_usd` (at the prices of
  the day), `created`, `seconds`, `batch_id`, `response_model`, `system_fingerprint`
  and `finish_reason` come from the answer (empty where it lacks one), and `answer`
  is the whole stored answer as JSON.
- `meta.json`: what the cache knew of the models' servers (a self-hosted server's
  answers are keyed on a fingerprint of what it serves).
- `scenarios.toml`, `variants.toml`: the study's inputs when the answers were exported.

## Use

Read `answers.parquet` with any Parquet reader (pandas, polars, R's arrow). To put the
answers into a workspace's cache, so that runs of this selection read them and make
no calls: `python -m helpers archive import <this folder>` (it checks every file and
key first and never overwrites an answer already there), then

    {rerun}

with `<this folder>` in place of DIR.
"""


def _readme(manifest: dict[str, Any], chosen: dict[str, Any]) -> str:
    workspace = manifest["workspace"]
    models = ", ".join(f"{name} ({count})" for name, count in manifest["models"].items())
    return README.format(version=workspace["version"], commit=workspace["git_commit"] or "unknown",
                         created=manifest["created"], answers=manifest["answers"], models=models,
                         rerun=rerun_command(chosen, "DIR"))


def export(config: RunConfig, scenarios: list[Scenario], out: Path, *, scenario_ids: list[str],
           scenarios_file: Path | None = None) -> Exported:
    """Write every cached answer of this selection to the archive folder `out`."""
    if not paths.calls_cache_dir().is_dir():
        raise UserError(f"there is no answer cache at {paths.calls_cache_dir()}; run the selection first, "
                        "or point EXCEPTIONS_CACHE at the cache that holds its answers")
    with open_cache() as cache:
        entries, planned, models = collect(config, scenarios, cache)
        meta = {key: value for key in sorted({k for m in models for k in m.meta_keys()})
                if (value := cache.get(key)) is not None}
    if not planned:
        raise UserError("this selection needs no answers: check --scenario and --level")
    if not entries:
        raise UserError(f"none of the {planned} answers of this selection is cached, so there is nothing to "
                        "archive; give the options of the run that made them (model, mode, samples, temperature, "
                        "max-tokens, base-url), or run it first")
    chosen = selection(config, scenarios, scenario_ids, models)
    inputs = {SCENARIOS: scenarios_file or paths.default_scenarios(),
              VARIANTS: config.variants_file or paths.default_variants()}
    manifest = archive.write(out, entries, labels=LABELS, meta=meta, inputs={k: Path(v) for k, v in inputs.items()},
                             about={"study": STUDY, "selection": chosen, "planned": planned},
                             readme=lambda m: _readme(m, chosen))
    return Exported(manifest, planned, len(entries))
