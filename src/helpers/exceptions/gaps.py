"""The mean absolute difference between an agent and people, with the reference
points that make it readable.

A gap of 0.20 means little alone. Beside it:
- a noise floor: the gap that sampling people alone produces, i.e. what a model
  whose rates were exactly the population's would score against a sample of this
  size (mean |resampled human rate - human rate|);
- a flat baseline: the gap of a model that refuses at the people's mean rate in
  every bucket, knowing nothing of scenarios or levels;
- a bootstrap interval of the gap itself, resampling participants (whole people,
  with all their answers) and, for sampled agents, the agent's answers too. A
  resampled gap is biased upwards by about the noise floor (|x + noise| is larger
  than |x| on average), so plain percentiles can sit wholly above the observed gap;
  the interval is the percentile interval shifted by the bootstrap's estimate of
  that bias (mean of the resampled gaps - observed), clipped at 0. Near the noise
  floor any interval of a mean absolute difference is rough: read the gap against
  the floor there, not the interval.

Human data as individual responses (participant_id, scenario, level, decision)
are resampled by participant; as counts or rates per bucket, binomially per bucket
(which assumes the buckets' people are independent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from helpers.exceptions import stats
from helpers.exceptions.trends import CONFIDENCE, DRAWS


@dataclass(frozen=True)
class Gap:
    observed: float  # mean |agent - people| over the matched buckets
    ci_low: float
    ci_high: float
    noise_floor: float  # the gap of a model with the population's exact rates
    flat: float  # the gap of a model refusing at flat_rate everywhere
    flat_rate: float  # the people's mean refusal rate over the matched buckets
    buckets: int
    draws: int
    resampled: str  # what the interval resamples

    def row(self) -> dict:
        return asdict(self)


def _human_draws(human: pd.DataFrame, buckets: pd.DataFrame, draws: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Resampled human rates, draws x buckets (NaN where a draw has nobody)."""
    if {"participant_id", "decision"} <= set(human.columns):
        answered = human[human["decision"].isin(["yes", "no"])]
        index = pd.MultiIndex.from_frame(buckets[stats.MATCH])
        people = answered["participant_id"].astype(str).unique()
        rows = pd.Index(people).get_indexer(answered["participant_id"].astype(str))
        cols = index.get_indexer(pd.MultiIndex.from_frame(answered[stats.MATCH]))
        keep = cols >= 0
        said_no = np.zeros((len(people), len(index)))
        said = np.zeros((len(people), len(index)))
        np.add.at(said, (rows[keep], cols[keep]), 1)
        np.add.at(said_no, (rows[keep], cols[keep]), (answered["decision"].to_numpy()[keep] == "no"))
        # Resampling people with replacement = multinomial weights on them.
        weights = rng.multinomial(len(people), np.full(len(people), 1 / len(people)), size=draws)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (weights @ said_no) / (weights @ said), "participants"
    n = np.round(buckets["human_n"].to_numpy(float)).astype(int)
    k = rng.binomial(n, buckets["human_rate"].to_numpy(float), size=(draws, len(n)))
    return k / n, "bucket counts (binomial)"


def _agent_draws(buckets: pd.DataFrame, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Resampled agent rates: sampled buckets (and exact chains) redrawn from their
    counts; an exact single-turn probability is not a sample and stays fixed."""
    rate = buckets["refusal_rate"].to_numpy(float)
    sampled = (buckets["measure"] == "sampled").to_numpy()
    size = np.where(sampled, buckets["yes"] + buckets["no"], buckets.get("chains", 0)).astype(int)
    drawn = np.tile(rate, (draws, 1))
    varies = size > 0
    if varies.any():
        drawn[:, varies] = rng.binomial(size[varies], rate[varies], size=(draws, int(varies.sum()))) / size[varies]
    return drawn, bool(varies.any())


def gap(model_rates: pd.DataFrame, human: pd.DataFrame, *, draws: int = DRAWS, seed: int = 0,
        confidence: float = CONFIDENCE) -> Gap:
    """The gap of one agent (model x variant) from people, with its reference points."""
    stats.one_agent(model_rates, "gap")
    humans = stats.human_counts(human).rename(columns={"k": "human_k", "n": "human_n"})
    buckets = model_rates.merge(humans, on=stats.MATCH, how="inner")
    buckets = buckets[buckets["refusal_rate"].notna()].reset_index(drop=True)
    if buckets.empty:
        raise ValueError("no bucket has both a model rate and a human rate")
    people = buckets["human_rate"].to_numpy(float)
    agent = buckets["refusal_rate"].to_numpy(float)
    rng = np.random.default_rng(seed)
    people_drawn, how = _human_draws(human, buckets, draws, rng)
    agent_drawn, agent_varies = _agent_draws(buckets, draws, rng)
    gaps = np.nanmean(np.abs(agent_drawn - people_drawn), axis=1)
    floor = np.nanmean(np.abs(people_drawn - people), axis=1)
    tail = 100 * (1 - confidence) / 2
    observed = float(np.abs(agent - people).mean())
    bias = float(np.nanmean(gaps)) - observed
    low, high = (max(0.0, float(q) - bias) for q in np.nanpercentile(gaps, [tail, 100 - tail]))
    flat_rate = float(people.mean())
    return Gap(observed=observed, ci_low=float(low), ci_high=float(high),
               noise_floor=float(np.nanmean(floor)), flat=float(np.abs(flat_rate - people).mean()),
               flat_rate=flat_rate, buckets=len(buckets), draws=draws,
               resampled=how + (" and the agent's answers" if agent_varies else ""))


def gap_table(model_rates: pd.DataFrame, human: pd.DataFrame, **options) -> pd.DataFrame:
    """gap() for every agent (model, variant) in model_rates, one row each."""
    rows = []
    for (model, variant), part in model_rates.groupby(["model", "variant"], sort=False):
        try:
            rows.append({"model": model, "variant": variant, **gap(part, human, **options).row()})
        except ValueError:  # nothing matched for this agent yet
            continue
    return pd.DataFrame(rows, columns=["model", "variant", *Gap.__dataclass_fields__])
