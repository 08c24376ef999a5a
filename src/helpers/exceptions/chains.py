"""Multi-turn variants (chain of thought): one conversation per sample, one real
model call per turn, each answer fed into the next turn.

The chains of a run advance in rounds: round k asks turn k of every chain still
going, through the same fetcher as single-turn runs (helpers.llm.Fetcher: cache,
concurrency, pacing, retries, failure counting, or the Batch API). Every turn is
cached under a key that holds the conversation so far and the sample's index,
so a rerun walks every chain through the cache and makes no calls, and a chain
interrupted at turn 2 resumes at turn 2.

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

from dataclasses import dataclass, field
from typing import Any

from helpers.exceptions.design import RunConfig, levels_of
from helpers.exceptions.plan import models_of
from helpers.exceptions.scenarios import Scenario
from helpers.exceptions.variants import Variant, get_variant
from helpers.llm import CachedModel, CallCache, Call, Fetcher, Unit


@dataclass
class Chain:
    """One sampled conversation of a multi-turn variant for one bucket."""

    model: CachedModel
    variant: Variant
    scenario: Scenario
    level: int
    sample: int
    final_kind: str  # "yes_no" (exact mode) or "generate"
    reasoning: dict[str, Any]  # temperature and max_tokens of the reasoning turns
    final: dict[str, Any]  # ... and of the last turn
    results: list[dict[str, Any]] = field(default_factory=list)  # one per answered turn
    status: str = "pending"  # then "ok", "failed" or "not run"

    @property
    def prompt(self) -> str:
        return self.scenario.render(self.level)

    @property
    def answers(self) -> list[str]:
        """The texts of the answered reasoning turns (never the final one)."""
        return [r["text"] for r in self.results[:len(self.variant.turns) - 1]]

    def unit_for(self, turn: int, answers: list[str]) -> Unit:
        """Turn `turn` with these earlier answers: the conversation so far, the sample's index."""
        final = turn == len(self.variant.turns) - 1
        kind = self.final_kind if final else "generate"
        messages = self.variant.messages(self.prompt, answers)
        return self.model.unit(kind, messages, self.sample, **(self.final if final else self.reasoning))

    def next_unit(self) -> Unit:
        return self.unit_for(len(self.results), self.answers)


def plan_chains(config: RunConfig, scenarios: list[Scenario], cache: CallCache) -> list[Chain]:
    """Every chain of the run's multi-turn variants: samples x buckets x models."""
    final_kind = "yes_no" if config.mode == "exact" else "generate"
    variants = [get_variant(v, config.variants_file) for v in config.variants]
    reasoning = {"temperature": config.temperature, "max_tokens": config.reasoning_tokens}
    final = {"temperature": config.temperature, "max_tokens": config.max_tokens}
    chains = []
    for model in models_of(config, cache):
        for variant in (v for v in variants if v.chain):
            for scenario in scenarios:
                for level in levels_of(scenario, config.levels, config.control):
                    chains.extend(Chain(model, variant, scenario, level, i, final_kind, reasoning, final)
                                  for i in range(config.samples))
    return chains


def turns_wanted(chains: list[Chain]) -> int:
    return sum(len(c.variant.turns) for c in chains)


def walk(chains: list[Chain], fetcher: Fetcher) -> int:
    """Advance every pending chain as far as the fetcher's cache (and, if it makes
    calls, new calls) allow. Returns how many turns are still missing."""
    for _ in range(max((len(c.variant.turns) for c in chains), default=0)):
        units = [(c, c.next_unit()) for c in chains if c.status == "pending"]
        if not units:
            break
        found = fetcher.fetch([u for _, u in units])  # twin chains share one answer, one call
        for chain, unit in units:
            result = found[unit.key]
            if result is None:
                chain.status = "failed" if fetcher.failed(unit.key) else "not run"
                continue
            chain.results.append(result)
            if len(chain.results) == len(chain.variant.turns):
                chain.status = "ok"
    return sum(len(c.variant.turns) - len(c.results) for c in chains if c.status == "not run")


def answered_turns(chains: list[Chain]) -> list[tuple[Unit, dict[str, Any]]]:
    """Every turn walk() found answered, with its answer (for an estimate to measure on)."""
    answered = []
    for chain in chains:
        texts = [r.get("text", "") for r in chain.results]
        answered.extend((chain.unit_for(turn, texts[:turn]), result) for turn, result in enumerate(chain.results))
    return answered


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
            unknown = turn - done
            unit = chain.unit_for(turn, chain.answers + [""] * unknown)
            projected.append((Call([unit]), unknown * reasoning_tokens))
    return projected
