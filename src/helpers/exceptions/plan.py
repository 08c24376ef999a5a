"""Every answer a run of the exceptions study needs, as Units of helpers.llm.

Single-turn variants are planned here, one Bucket per model x variant x
scenario x level; multi-turn variants (chain of thought) are walked round by
round in chains.py, because each turn's request holds the answers before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.exceptions.design import RunConfig, levels_of
from helpers.exceptions.prompting import build_messages
from helpers.exceptions.scenarios import Scenario
from helpers.llm import CachedModel, CallCache, Unit


@dataclass
class Bucket:
    model: CachedModel
    scenario: Scenario
    level: int
    units: list[Unit]
    variant: str = "baseline"


def models_of(config: RunConfig, cache: CallCache) -> list[CachedModel]:
    return [CachedModel.named(name, cache, base_url=config.base_url, timeout=config.timeout,
                              options=config.model_options())
            for name in config.models]


def plan(config: RunConfig, scenarios: list[Scenario], cache: CallCache) -> list[Bucket]:
    """Every bucket of the run's single-turn variants with the answers it needs."""
    kind = "yes_no" if config.mode == "exact" else "generate"
    count = 1 if config.mode == "exact" else config.samples
    chained = config.chain_variants()
    single = [v for v in config.variants if v not in chained]
    buckets = []
    for model in models_of(config, cache):
        for variant in single:
            for scenario in scenarios:
                for level in levels_of(scenario, config.levels, config.control):
                    messages = build_messages(scenario, level, variant, variants_file=config.variants_file)
                    units = model.units(kind, messages, range(count), temperature=config.temperature,
                                        max_tokens=config.max_tokens)
                    buckets.append(Bucket(model, scenario, level, units, variant))
    return buckets
