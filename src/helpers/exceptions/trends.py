"""Does a refusal rate move with something, and how much: Spearman's rank
correlation and a least-squares slope, each with a bootstrap interval.

Two uses: level_sensitivity (does an agent's refusal fall as the exception gets
smaller?) and level_agreement (do its rates rise and fall with people's?). The
level-permutation test only says whether rates follow the level order; these say
how strongly, so a barely responsive model (0.85 -> 0.75) is seen as one.

Buckets of one scenario share the scenario's wording and people, so they are not
independent: the intervals resample whole scenarios (a cluster bootstrap).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.exceptions import stats

DRAWS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A statistic and its percentile bootstrap interval (NaN where undefined,
    e.g. the rank correlation of a constant)."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def __str__(self) -> str:
        if np.isnan(self.value):
            return "undefined"
        return f"{self.value:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


@dataclass(frozen=True)
class Trend:
    """y against x over `points` buckets in `clusters` scenarios."""

    spearman: Estimate
    slope: Estimate  # change in y per unit of x
    points: int
    clusters: int
    draws: int
    x: str
    y: str


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")  # a constant has no ranks to correlate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    if np.ptp(y) == 0:
        return 0.0  # exactly; a fit would give float noise whose "interval" excludes 0
    return float(np.polyfit(x, y, 1)[0])


def trend(x, y, clusters, *, x_name: str = "x", y_name: str = "y", draws: int = DRAWS,
          seed: int = 0, confidence: float = CONFIDENCE) -> Trend:
    """Spearman's rho and the slope of y on x, with intervals from `draws` resamples
    of the clusters (scenarios) with replacement."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    clusters = np.asarray(clusters)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y, clusters = x[keep], y[keep], clusters[keep]
    if len(x) == 0:
        raise ValueError(f"no bucket has both {x_name} and {y_name}")
    names = np.unique(clusters)
    members = [np.flatnonzero(clusters == c) for c in names]
    rng = np.random.default_rng(seed)
    rhos, slopes = np.empty(draws), np.empty(draws)
    for i in range(draws):
        rows = np.concatenate([members[j] for j in rng.integers(len(members), size=len(members))])
        rhos[i], slopes[i] = _spearman(x[rows], y[rows]), _slope(x[rows], y[rows])
    tail = 100 * (1 - confidence) / 2

    def estimate(value: float, drawn: np.ndarray) -> Estimate:
        if np.isnan(value) or np.isnan(drawn).all():
            return Estimate(value, float("nan"), float("nan"))
        low, high = np.nanpercentile(drawn, [tail, 100 - tail])
        return Estimate(value, float(low), float(high))

    return Trend(estimate(_spearman(x, y), rhos), estimate(_slope(x, y), slopes),
                 points=len(x), clusters=len(names), draws=draws, x=x_name, y=y_name)


def level_sensitivity(model_rates: pd.DataFrame, **options) -> Trend:
    """One agent's refusal rate against the exception level (1 = the largest
    exception; a control level 0, if any, is left out). A sensible agent refuses less
    as the exception shrinks: a negative rho and slope whose intervals exclude 0."""
    stats.one_agent(model_rates, "level_sensitivity")
    rows = model_rates[model_rates["level"] >= 1]
    return trend(rows["level"], rows["refusal_rate"], rows["scenario"], x_name="level",
                 y_name="refusal rate", **options)


def level_agreement(model_rates: pd.DataFrame, human: pd.DataFrame, **options) -> Trend:
    """One agent's refusal rates against people's over the buckets both have: rho
    near 1 and slope near 1 mean the agent moves with people, not only in their order."""
    stats.one_agent(model_rates, "level_agreement")
    merged = model_rates.merge(stats.human_counts(human), on=stats.MATCH, how="inner")
    merged = merged[merged["level"] >= 1]
    return trend(merged["human_rate"], merged["refusal_rate"], merged["scenario"],
                 x_name="human rate", y_name="model rate", **options)
