"""Run the exceptions design: models x variants x scenarios x levels (x samples).

`run` reads the cache, makes the missing calls (online through the engine, or
through the Batch API) via one helpers.llm.Fetcher, walks multi-turn variants
through the same fetcher, and returns one row per answer (per chain for
multi-turn variants): the tidy table every analysis starts from.

What a run is: design.RunConfig. What it needs: plan.plan and chains.plan_chains.
What it would cost: estimate.estimate. Its rows: rows.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from helpers.errors import UserError
from helpers.exceptions import chains
from helpers.exceptions.design import MODES, RunConfig, levels_of  # noqa: F401 - the study's entry names
from helpers.exceptions.estimate import Estimate, estimate  # noqa: F401
from helpers.exceptions.plan import plan
from helpers.exceptions.rows import RESPONSE_COLUMNS, bucket_rows, chain_rows, in_run_order  # noqa: F401
from helpers.exceptions.scenarios import Scenario
from helpers.llm import CallStats, Fetcher, Limits, Progress, open_cache


@dataclass
class RunResult:
    responses: pd.DataFrame
    stats: CallStats = field(default_factory=CallStats)
    progress: Progress = field(default_factory=Progress)


def check_cost(config: RunConfig, scenarios: list[Scenario], limits: Limits, batch: bool, max_cost: float) -> None:
    """Refuse a run whose bound (every answer max_tokens long) exceeds max_cost."""
    guess = estimate(config, scenarios, limits, batch=batch)
    if guess.cost_max is None:
        unpriced = next((n for n in guess.notes if n.startswith("no price")), "a model has no price")
        raise UserError(f"cannot check --max-cost: {unpriced}; add it or drop --max-cost")
    if guess.cost_max > max_cost:
        raise UserError(f"this run may cost up to ${guess.cost_max:.4f}, above --max-cost ${max_cost:.4f}; "
                        "lower --samples or --max-tokens, or raise the limit")


def run(config: RunConfig, scenarios: list[Scenario], *, make_calls: bool = True,
        limits: Limits = Limits(), batch: bool = False, max_cost: float | None = None,
        progress: Callable[[Progress], None] | None = None, poll_seconds: float = 30.0) -> RunResult:
    """Measure every bucket. With make_calls=False only cached answers are read
    (nothing is spent) and the rest come back with status 'not run'."""
    if make_calls and max_cost is not None:
        check_cost(config, scenarios, limits, batch, max_cost)
    with open_cache() as cache:
        fetcher = Fetcher.with_listener(cache, progress, limits=limits, make_calls=make_calls,
                                        batch=batch, poll_seconds=poll_seconds)
        buckets = plan(config, scenarios, cache)
        chain_list = chains.plan_chains(config, scenarios, cache)
        units = [u for b in buckets for u in b.units]
        fetcher.expect(len(units) + chains.turns_wanted(chain_list))
        found = fetcher.fetch(units)
        single_missing = fetcher.missing
        chains_missing = chains.walk(chain_list, fetcher)
        rows = [row for b in buckets for row in bucket_rows(b, config.mode, found, fetcher.failed)]
        rows += chain_rows(chain_list, config.mode)
        stats = fetcher.stats(missing=single_missing + chains_missing)
    return RunResult(in_run_order(rows, config), stats, fetcher.progress)
