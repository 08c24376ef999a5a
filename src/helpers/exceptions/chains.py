"""Multi-turn variants (chain of thought): one conversation per sample, one real
model call per turn, each answer fed into the next turn.

The chains of a run advance in rounds: round k asks turn k of every chain still
going, through the same engine as single-turn runs (concurrency, pacing,
retries, failure counting, or the Batch API), then reads the answers from the
cache. Every turn is cached under a key that holds the conversation so far and
the sample's index, so a rerun walks every chain through the cache and makes no
calls, and a chain interrupted at turn 2 resumes at turn 2.

- `sample` mode: every turn is generated; the decision is parsed from the last
  answer (prompting.parse_answer). Reasoning turns may use up to
  `reasoning_tokens`, the last one `max_tokens`.
- `exact` mode: the reasoning turns are generated (sampled at the run's
  temperature) and the last turn is read as P(no) / (P(yes) + P(no)) of its first
  token. A bucket's rate is then the mean over `samples` chains, each with its
  own sampled reasoning: `samples` reasoning samples back every bucket.

A turn that fails (after the engine's retries) makes its chain `failed`: counted,
never a refusal, and retried from that turn on the next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.llm.cache import CachedModel
from helpers.llm.engine import Call, Progress, Unit
from helpers.llm.models import parse_model
from helpers.exceptions.prompting import action_of, parse_answer
from helpers.exceptions.scenarios import Scenario
from helpers.exceptions.variants import Variant, get_variant

# spend(buckets, missing_keys): make the missing calls of these buckets (experiment.run provides it).
Spend = Callable[[list, set[str]], None]


@dataclass
class Chain:
    """One sampled conversation of a multi-turn variant for one bucket."""

    model: CachedModel
    variant: Variant
    scenario: Scenario
    level: int
    sample: int
    final_kind: str  # "yes_no" (exact mode) or "generate"
    reasoning_params: dict[str, Any]
    final_params: dict[str, Any]
    results: list[dict[str, Any]] = field(default_factory=list)  # one per answered turn
    status: str = "pending"  # then "ok", "failed" or "not run"

    @property
    def prompt(self) -> str:
        return self.scenario.render(self.level)

    @property
    def answers(self) -> list[str]:
        """The texts of the answered reasoning turns (never the final one)."""
        return [r["text"] for r in self.results[:len(self.variant.turns) - 1]]

    def next_unit(self) -> Unit:
        """The cache entry of the next turn: the conversation so far, the sample's index."""
        turn = len(self.results)
        final = turn == len(self.variant.turns) - 1
        kind = self.final_kind if final else "generate"
        params = self.final_params if final else self.reasoning_params
        messages = self.variant.messages(self.prompt, self.answers)
        return Unit(self.model.key(kind, messages, params, self.sample), kind, messages, params, self.sample)


@dataclass
class RoundBucket:
    """Units that share one prompt; the shape engine and batch code consume."""

    model: CachedModel
    units: list[Unit]


def plan_chains(config, scenarios: list[Scenario], cache) -> list[Chain]:
    """Every chain of the run's multi-turn variants: samples x buckets x models."""
    from helpers.exceptions.experiment import levels_of  # experiment imports this module

    final_kind = "yes_no" if config.mode == "exact" else "generate"
    variants = [get_variant(v, config.variants_file) for v in config.variants]
    chains = []
    for name in config.models:
        model = CachedModel(parse_model(name, config.base_url), cache, config.timeout)
        reasoning = model.params("generate", config.temperature, config.reasoning_tokens)
        final = model.params(final_kind, config.temperature, config.max_tokens)
        for variant in (v for v in variants if v.chain):
            for scenario in scenarios:
                for level in levels_of(scenario, config.levels):
                    chains.extend(Chain(model, variant, scenario, level, i, final_kind, reasoning, final)
                                  for i in range(config.samples))
    return chains


def turns_wanted(chains: list[Chain]) -> int:
    return sum(len(c.variant.turns) for c in chains)


def _round_buckets(units: list[tuple[Chain, Unit]]) -> list[RoundBucket]:
    groups: dict[tuple, RoundBucket] = {}
    seen: set[str] = set()  # two chains with one conversation (twin scenarios) are one answer
    for chain, unit in units:
        if unit.key in seen:
            continue
        seen.add(unit.key)
        shared = (id(chain.model), unit.kind, json.dumps(unit.messages), json.dumps(unit.params, sort_keys=True))
        groups.setdefault(shared, RoundBucket(chain.model, [])).units.append(unit)
    return list(groups.values())


def walk(chains: list[Chain], progress: Progress, spend: Spend | None = None) -> int:
    """Advance every pending chain as far as the cache (and, with `spend`, new calls)
    allow. Returns how many turns are still missing (0 when everything ran)."""
    for _ in range(max((len(c.variant.turns) for c in chains), default=0)):
        units = [(c, c.next_unit()) for c in chains if c.status == "pending"]
        if not units:
            break
        found = {u.key: c.model.lookup(u.key) for c, u in units}  # one read per answer
        missing = {k for k, v in found.items() if v is None}
        # As in experiment.run: twin chains share one missing answer, one call; the twin counts as cached.
        progress.cached += len(units) - len(missing)
        progress.notify()
        if missing and spend is not None:
            spend(_round_buckets([(c, u) for c, u in units if u.key in missing]), missing)
            found.update((u.key, c.model.lookup(u.key)) for c, u in units if u.key in missing)
        for chain, unit in units:
            result = found[unit.key]
            if result is None:
                chain.status = "failed" if unit.key in progress.failed_keys else "not run"
                continue
            chain.results.append(result)
            if len(chain.results) == len(chain.variant.turns):
                chain.status = "ok"
    return sum(len(c.variant.turns) - len(c.results) for c in chains if c.status == "not run")


def projected_calls(chains: list[Chain], reasoning_tokens: int) -> list[tuple[Call, int]]:
    """For an estimate: one Call per turn still to make, with messages as far as
    they are known, and how many unknown answers (up to reasoning_tokens each)
    the prompt will also carry. Call walk() first so cached turns are skipped."""
    projected = []
    for chain in chains:
        if chain.status not in ("pending", "not run"):
            continue
        done = len(chain.results)
        for turn in range(done, len(chain.variant.turns)):
            final = turn == len(chain.variant.turns) - 1
            kind = chain.final_kind if final else "generate"
            params = chain.final_params if final else chain.reasoning_params
            unknown = turn - done
            messages = chain.variant.messages(chain.prompt, chain.answers + [""] * unknown)
            projected.append((Call(chain.model, [Unit("", kind, messages, params, chain.sample)]),
                              unknown * reasoning_tokens))
    return projected


def rows(chains: list[Chain], mode: str) -> list[dict[str, Any]]:
    """One response row per chain, in experiment.RESPONSE_COLUMNS' terms. Tokens and
    cost add up every turn; `reasoning` holds the answers before the decision."""
    out = []
    for chain in chains:
        row: dict[str, Any] = {
            "model": chain.model.spec.name, "variant": chain.variant.name, "scenario": chain.scenario.id,
            "level": chain.level, "value": chain.scenario.levels[chain.level - 1], "mode": mode,
            "sample": chain.sample, "status": chain.status, "reasoning": chain.answers,
        }
        if chain.status == "ok":
            costs = [r.get("cost_usd", 0.0) for r in chain.results]
            row.update(prompt_tokens=sum(r["prompt_tokens"] for r in chain.results),
                       completion_tokens=sum(r["completion_tokens"] for r in chain.results),
                       cost_usd=None if any(c is None for c in costs) else sum(costs))
            final = chain.results[-1]
            if chain.final_kind == "yes_no":
                mass = final["p_yes"] + final["p_no"]
                row.update(p_refusal=final["p_no"] / mass if mass > 0 else float("nan"), yes_no_mass=mass)
            else:
                row.update(decision=parse_answer(final["text"], action_of(chain.prompt)), text=final["text"])
        out.append(row)
    return out
