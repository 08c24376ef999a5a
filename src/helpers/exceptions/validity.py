"""Is an agent's refusal rate worth comparing with people's? The validity card.

A refusal rate says something about exceptions only if the agent answers the
question it was asked. Three checks per agent (model x variant), each computed
from the measured bucket table (stats.refusal_rates):

1. control vs level 1: refusal of the control (level 0, the same situation with
   no violation) must be clearly below refusal of the largest exception (level 1):
   at least `min_control_gap` lower and significantly so at `alpha`. An agent that
   refuses to buy flour at $8.00 against a $10 limit as often as at $25 is not
   reading the rule.
2. level sensitivity: refusal must fall as the exception shrinks (levels 1..k):
   Spearman's rho with an interval over scenarios below 0, and a slope of at least
   `min_slope` fall per level (trends.level_sensitivity).
3. answer quality: in exact mode the mean yes/no mass (P(yes) + P(no) of the first
   token) must be at least `min_mass`: below it the "probability of no" is a ratio
   of two small numbers the model barely meant. In sample mode at most
   `max_invalid` of the parsed answers may be invalid: nothing bounds what they
   would have said.

Each check passes, fails, or is "not measured" (no control, too few scenarios or
levels to test, no mass recorded). The verdict is *interpretable* only when every
check passed; a failed check makes it *not interpretable* and is named, and so is an
unchecked one: a card vouches for a comparison with people only on evidence, so a
check that could not be run counts against it (the card says which, so the reader
can tell "failed" from "could not tell").

Thresholds: Thresholds' defaults, or the workspace's optional validity.toml
(load_thresholds; every key optional, unknown keys and bad values are one-line
errors).
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import paths
from helpers.config import read_text, type_name
from helpers.errors import ConfigError
from helpers.exceptions import trends
from helpers.exceptions.scenarios import CONTROL

PASS, FAIL, UNCHECKED = "pass", "fail", "not measured"
INTERPRETABLE, NOT_INTERPRETABLE = "interpretable", "not interpretable"
EXACT_SIGN_FLIPS = 16  # scenarios up to which the paired test enumerates every sign (2^16 = 65,536)


@dataclass(frozen=True)
class Thresholds:
    """When each check passes. The defaults are stated guesses at "clearly", not fits
    to any model: a referee may choose others in validity.toml."""

    # Control vs level 1: level-1 refusal minus control refusal must be at least this.
    # 0.2 = a fifth of the scale: people's flour answers move by about 0.8 between
    # $25 and $10.01; a model that grants a rule-abiding request only 0.2 more often
    # than the worst exception hardly tells them apart.
    min_control_gap: float = 0.2
    # Significance level of the control test; the rank-correlation interval is 1 - alpha.
    alpha: float = 0.05
    # Level sensitivity: refusal must fall by at least this much per level (0.03 per
    # level = 0.15 from level 1 to level 6). A barely responsive 0.85 -> 0.75 fails.
    min_slope: float = 0.03
    # Exact mode: the mean P(yes) + P(no) of the first answer token must be at least this.
    min_mass: float = 0.5
    # Sample mode: at most this share of the parsed answers may be invalid.
    max_invalid: float = 0.2

    def describe(self) -> str:
        return (f"control at least {self.min_control_gap:g} below level 1 at p < {self.alpha:g}; "
                f"refusal falling at least {self.min_slope:g} per level with rho's "
                f"{1 - self.alpha:.0%} interval below 0; yes/no mass at least {self.min_mass:g} (exact) or "
                f"at most {self.max_invalid:.0%} invalid answers (sample)")


# Every threshold lies in [0, 1]; alpha strictly inside it (0 or 1 would decide nothing).
_OPEN = {"alpha"}


def parse_thresholds(text: str, source: str = "validity.toml") -> Thresholds:
    """Thresholds from TOML text: top-level keys of Thresholds, each optional."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    known = [f.name for f in fields(Thresholds)]
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown key `{key}`; allowed keys are {', '.join(known)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: `{key}` must be a number, got {type_name(value)}")
        value = float(value)
        inside = 0 < value < 1 if key in _OPEN else 0 <= value <= 1
        if not inside:
            bounds = "between 0 and 1, both excluded" if key in _OPEN else "from 0 to 1"
            raise ConfigError(f"{source}: `{key}` must be a number {bounds}, got {value:g}")
        values[key] = value
    return replace(Thresholds(), **values)


def load_thresholds(path: str | Path | None = None) -> tuple[Thresholds, str]:
    """(the thresholds, where they came from): `path`, else the workspace's
    validity.toml if there is one, else the defaults."""
    if path is None:
        path = paths.validity_file()
        if not path.is_file():
            return Thresholds(), "defaults"
    path = Path(path)  # named or present: a missing or unreadable file is a one-line error
    return parse_thresholds(read_text(path, "validity.toml"), str(path)), str(path)


@dataclass(frozen=True)
class Check:
    """One check of one agent: its status, the numbers behind it and one line."""

    name: str  # "control vs level 1", "level sensitivity", "answer quality"
    status: str  # PASS, FAIL or UNCHECKED
    detail: str  # what was measured, in one line
    failure: str  # how a failure is named in the verdict ("control ≈ level 1")
    values: dict = field(default_factory=dict)  # numbers for the table


@dataclass(frozen=True)
class Card:
    """The validity card of one agent."""

    model: str
    variant: str
    measure: str  # "exact" or "sampled"
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[str]:
        return [c.failure for c in self.checks if c.status == FAIL]

    @property
    def unchecked(self) -> list[str]:
        return [c.name for c in self.checks if c.status == UNCHECKED]

    @property
    def interpretable(self) -> bool:
        return all(c.status == PASS for c in self.checks)

    @property
    def verdict(self) -> str:
        return INTERPRETABLE if self.interpretable else NOT_INTERPRETABLE

    def reasons(self) -> str:
        """'failed: control ≈ level 1, flat levels; unchecked: answer quality', or ''."""
        parts = []
        if self.failed:
            parts.append("failed: " + ", ".join(self.failed))
        if self.unchecked:
            parts.append("unchecked: " + ", ".join(self.unchecked))
        return "; ".join(parts)

    def line(self) -> str:
        """One line: the agent and its verdict, with the failed and unchecked checks."""
        reasons = self.reasons()
        return f"{self.model}, {self.variant}: {self.verdict}" + (f" ({reasons})" if reasons else "")

    def row(self) -> dict:
        out = {"model": self.model, "variant": self.variant, "measure": self.measure, "verdict": self.verdict,
               "failed": ", ".join(self.failed), "unchecked": ", ".join(self.unchecked)}
        for check in self.checks:
            out.update(check.values)
        return out


# --- the three checks -------------------------------------------------------------

def _sign_flip_p(diffs: np.ndarray, seed: int = 0, draws: int = 100_000) -> float:
    """One-sided paired permutation test of mean(diffs) > 0: under the null each
    scenario's difference is as likely negative as positive. Exact (every sign
    pattern) up to EXACT_SIGN_FLIPS scenarios, Monte Carlo above."""
    n = len(diffs)
    observed = diffs.mean()
    if n <= EXACT_SIGN_FLIPS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = (signs * diffs).mean(axis=1)
        return float((null >= observed - 1e-12).mean())
    rng = np.random.default_rng(seed)
    null = (rng.choice((1.0, -1.0), size=(draws, n)) * diffs).mean(axis=1)
    return float((1 + (null >= observed - 1e-12).sum()) / (draws + 1))


def control_check(rates: pd.DataFrame, thresholds: Thresholds) -> Check:
    """Control (level 0) refusal against level-1 refusal, over the scenarios that
    have both.

    The test depends on what a rate is:
    - sampled buckets are counts of answers drawn independently for a fixed prompt,
      so Fisher's exact test on the counts pooled over scenarios (one-sided: level 1
      refuses more) is valid at any size, with no normal approximation; pooling gives
      every scenario the weight of its answers (equal when samples per bucket are).
    - exact-mode buckets are probabilities with no sampling noise: the only
      replication is across scenarios (other situations, other wordings), so the
      test is a paired one over scenarios, a sign-flip permutation test of the mean
      difference (exact, no assumption about the differences' distribution). With n
      scenarios its smallest p is 2^-n: below five scenarios it cannot reach 0.05,
      and the check is then not measured rather than failed.
    Likewise for sampled answers too few to reach alpha at all (two per bucket: 1/6).
    """
    name, failure = "control vs level 1", "control ≈ level 1"
    both = rates[rates["level"].isin([CONTROL, 1]) & rates["refusal_rate"].notna()]
    wide = both.pivot_table(index="scenario", columns="level", values="refusal_rate")
    if CONTROL not in wide or 1 not in wide:
        why = "no control measured (no scenario has one, or --no-control)" if CONTROL not in wide else \
            "level 1 not measured"
        return Check(name, UNCHECKED, why, failure)
    paired = wide.dropna()
    if paired.empty:
        return Check(name, UNCHECKED, "no scenario has both its control and level 1 measured", failure)
    ids = list(paired.index)
    sampled = (both["measure"] == "sampled").all()
    if sampled:
        part = both[both["scenario"].isin(ids)].groupby("level")[["yes", "no"]].sum()
        c_no, c_yes = int(part.loc[CONTROL, "no"]), int(part.loc[CONTROL, "yes"])
        l_no, l_yes = int(part.loc[1, "no"]), int(part.loc[1, "yes"])
        control, level1 = c_no / (c_no + c_yes), l_no / (l_no + l_yes)
        from scipy.stats import fisher_exact

        p = float(fisher_exact([[l_no, l_yes], [c_no, c_yes]], alternative="greater").pvalue)
        # The smallest p these answer counts allow: level 1 all refused, the control all granted.
        n1, n0 = l_no + l_yes, c_no + c_yes
        smallest = float(fisher_exact([[n1, 0], [0, n0]], alternative="greater").pvalue)
        test = "Fisher's exact, pooled counts, one-sided"
    else:
        diffs = (paired[1] - paired[CONTROL]).to_numpy(float)
        control, level1 = float(paired[CONTROL].mean()), float(paired[1].mean())
        p = _sign_flip_p(diffs)
        test, smallest = "paired sign-flip over scenarios, one-sided", 2.0 ** -len(ids)
    gap = level1 - control
    values = {"control_rate": control, "level1_rate": level1, "control_gap": gap, "control_p": p,
              "control_test": test, "control_scenarios": len(ids)}
    detail = (f"control refusal {control:.3f} vs level 1 {level1:.3f} over {len(ids)} scenario(s), "
              f"a gap of {gap:+.3f} (at least {thresholds.min_control_gap:g} needed); {test}: p = {p:.3g}")
    if gap < thresholds.min_control_gap:
        return Check(name, FAIL, detail, failure, values)
    if p >= thresholds.alpha:
        if smallest >= thresholds.alpha:
            return Check(name, UNCHECKED, detail + f" (with {len(ids)} scenario(s) the test cannot reach "
                         f"p < {thresholds.alpha:g})", failure, values)
        return Check(name, FAIL, detail + f", not below {thresholds.alpha:g}", failure, values)
    return Check(name, PASS, detail, failure, values)


def sensitivity_check(rates: pd.DataFrame, thresholds: Thresholds, **options) -> Check:
    """Refusal against level (1..k) with scenario-bootstrap intervals (trends).

    Passes when the slope falls at least min_slope per level and rho's interval
    lies below 0. A slope too small fails even in one scenario (flatness shows
    there too); a steep enough one in a single scenario is not measured, since an
    interval over scenarios needs two or more."""
    name, failure = "level sensitivity", "flat levels"
    levels = rates[(rates["level"] >= 1) & rates["refusal_rate"].notna()]
    if levels["level"].nunique() < 2:
        return Check(name, UNCHECKED, "fewer than two levels measured", failure)
    trend = trends.level_sensitivity(levels, confidence=1 - thresholds.alpha, **options)
    rho, slope = trend.spearman, trend.slope
    values = {"slope": slope.value, "slope_low": slope.low, "slope_high": slope.high, "rho": rho.value,
              "rho_low": rho.low, "rho_high": rho.high, "sensitivity_scenarios": trend.clusters}
    detail = (f"slope {slope} per level, Spearman rho {rho} over {trend.points} buckets in {trend.clusters} "
              f"scenario(s) ({1 - thresholds.alpha:.0%} intervals); needs a fall of at least "
              f"{thresholds.min_slope:g} per level and rho's interval below 0")
    if not slope.value <= -thresholds.min_slope:
        return Check(name, FAIL, detail, failure, values)
    if trend.clusters < 2:
        return Check(name, UNCHECKED, detail + " (one scenario: no interval over scenarios)", failure, values)
    if not rho.high < 0:  # NaN (undefined rho) fails too
        return Check(name, FAIL, detail, failure, values)
    return Check(name, PASS, detail, failure, values)


def quality_check(rates: pd.DataFrame, thresholds: Thresholds) -> Check:
    """Exact mode: the mean yes/no mass; sample mode: the share of invalid answers.
    Over every measured bucket of the agent, control included."""
    name = "answer quality"
    if (rates["measure"] == "sampled").all():
        answered = rates[["yes", "no", "invalid"]].sum()
        total = int(answered.sum())
        failure = "many invalid answers"
        if total == 0:
            return Check(name, UNCHECKED, "no parsed answers", failure)
        share = float(answered["invalid"] / total)
        values = {"invalid_share": share}
        detail = (f"{int(answered['invalid'])} of {total} answers invalid ({share:.1%}); "
                  f"at most {thresholds.max_invalid:.0%} allowed")
        return Check(name, FAIL if share > thresholds.max_invalid else PASS, detail, failure, values)
    failure = "low yes/no mass"
    mass = rates["yes_no_mass"].dropna() if "yes_no_mass" in rates else pd.Series(dtype=float)
    if mass.empty:
        return Check(name, UNCHECKED, "no yes/no mass recorded", failure)
    mean = float(mass.mean())
    values = {"yes_no_mass": mean}
    detail = (f"mean yes/no mass {mean:.3f} over {len(mass)} buckets (P(yes) + P(no) of the first token); "
              f"at least {thresholds.min_mass:g} needed")
    return Check(name, FAIL if not mean >= thresholds.min_mass else PASS, detail, failure, values)


# --- cards --------------------------------------------------------------------------

def _answered(rates: pd.DataFrame) -> pd.DataFrame:
    """Buckets with any answer back: a reading (n > 0) or only unreadable ones (invalid)."""
    if "n" not in rates:
        return rates
    invalid = rates["invalid"].fillna(0) if "invalid" in rates else 0
    return rates[(rates["n"] > 0) | (invalid > 0)]


def card(rates: pd.DataFrame, thresholds: Thresholds = Thresholds(), **options) -> Card:
    """The card of one agent (one model and variant) from its measured buckets.
    options: trends.trend's (draws, seed)."""
    # A bucket whose every answer was unreadable (no yes/no mass at all, or all invalid)
    # has n = 0 and no rate, yet it is the worst evidence of answer quality: keep it there.
    answered = _answered(rates)
    rates = rates[rates["n"] > 0] if "n" in rates else rates
    pairs = answered[["model", "variant"]].drop_duplicates()
    if len(pairs) != 1:
        raise ValueError("validity.card takes the buckets of exactly one agent (model and variant)")
    model, variant = pairs.iloc[0]
    measure = "sampled" if (rates["measure"] == "sampled").all() else "exact"
    checks = (control_check(rates, thresholds), sensitivity_check(rates, thresholds, **options),
              quality_check(answered, thresholds))
    return Card(str(model), str(variant), measure, checks)


def cards(rates: pd.DataFrame, thresholds: Thresholds = Thresholds(), **options) -> list[Card]:
    """A card per agent (model, variant) with measured buckets, in the table's order."""
    measured = _answered(rates)
    return [card(part, thresholds, **options)
            for _, part in measured.groupby(["model", "variant"], sort=False)]


COLUMNS = ["model", "variant", "measure", "verdict", "failed", "unchecked", "control_rate", "level1_rate",
           "control_gap", "control_p", "control_test", "control_scenarios", "slope", "slope_low", "slope_high",
           "rho", "rho_low", "rho_high", "sensitivity_scenarios", "yes_no_mass", "invalid_share"]


def table(found: list[Card]) -> pd.DataFrame:
    """One row per card: the verdict, what failed or went unchecked, and the numbers."""
    return pd.DataFrame([c.row() for c in found]).reindex(columns=COLUMNS)


def summary(found: list[Card]) -> list[str]:
    """Per agent, the verdict line and one line per check, indented under a
    heading (the CLI prints these below the bucket table, whose rows start with the model)."""
    lines = []
    for c in found:
        lines.append(f"  {c.line()}")
        lines.extend(f"    {check.name}: {check.status}: {check.detail}" for check in c.checks)
    return lines
