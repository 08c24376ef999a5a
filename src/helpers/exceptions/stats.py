"""The paper's statistics, as pure functions on tidy tables (no plotting here).

Refusal rate (paper, eq. 1): no / (yes + no). Invalid answers and failed calls
are counted and shown but are in neither the numerator nor the denominator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

BUCKET = ["model", "variant", "scenario", "level"]
SE_NOTES = {
    "sampled": "binomial SE sqrt(p(1-p)/(yes+no)); 95% Wilson interval",
    "exact": "no SE: an exact probability from one forward pass, not a sample",
    "exact_chains": "SE of the mean over {n} sampled reasoning chains, each read as an exact probability",
    "top": "no SE: the likelier answer of one forward pass, not a sample",
    "top_chains": "SE (at most) of the share of {n} sampled reasoning chains whose likelier answer is no",
}
# What an exact-mode bucket's refusal_rate is (the `estimand` column; sampled buckets
# say "sampled"): the mean probability, or the share of rows whose likelier first
# token is no, i.e. what temperature 0 gives: the paper's setting for GPT-4o and 4o-mini.
ESTIMANDS = {"probability": "probability", "most_likely": "most likely"}
ESTIMAND_LABELS = {"probability": "refusal rate (exact: P(no) / P(yes or no))",
                   "most likely": "refusal rate (exact: likelier answer, as at T = 0)",
                   "sampled": "refusal rate (sampled answers)"}


def refusal_rates(responses: pd.DataFrame, estimand: str = "probability") -> pd.DataFrame:
    """One row per bucket (model, variant, scenario, level).

    Columns: n (answers received; in exact mode, answers with some yes/no mass),
    yes, no, invalid (exact mode: answers with no yes/no mass at all), failed,
    not_run, refusal_rate, se, ci_low, ci_high, yes_no_mass (exact mode), measure
    ('sampled' or 'exact'), se_note saying what the SE means, and the tokens and
    dollars the bucket's answers cost (cost_usd is NaN when any price is unknown).

    Exact mode has two estimands, both always in the table: the mean refusal
    probability and `rate_top`, the share of answers whose likelier first token is no
    (temperature 0's answer; 0 or 1 for a one-answer bucket). `estimand` says which
    refusal_rate holds ('probability' by default, or 'most_likely'; see
    use_estimand); `rate_low` .. `rate_high` is refusal_rate's interval where an
    endpoint's top-k logprobs left a word out (`bounded` answers), a point otherwise.
    In sampled buckets `rate_low` .. `rate_high` is the rate over all answers had every
    invalid one been a yes .. a no (see _sampled_bucket).
    """
    rows = []
    for key, group in responses.groupby(BUCKET, sort=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(BUCKET, key))
        row.update(
            n=len(ok),
            failed=int((group["status"] == "failed").sum()),
            not_run=int((group["status"] == "not run").sum()),
        )
        for column in ("prompt_tokens", "completion_tokens"):
            row[column] = float(ok[column].sum()) if column in ok else 0.0
        # A bucket's cost is known only if every answer's is.
        costs = ok["cost_usd"] if "cost_usd" in ok else pd.Series(dtype=float)
        row["cost_usd"] = float(costs.sum()) if costs.notna().all() else float("nan")
        exact = (group["mode"] == "exact").all()
        if exact:
            row.update(_exact_bucket(ok))
        else:
            row.update(_sampled_bucket(ok["decision"]), estimand="sampled")
        rows.append(row)
    columns = BUCKET + ["n", "yes", "no", "invalid", "failed", "not_run", "refusal_rate",
                        "se", "ci_low", "ci_high", "rate_low", "rate_high", "rate_top", "estimand", "bounded",
                        "yes_no_mass", "measure", "se_note", "chains",
                        "prompt_tokens", "completion_tokens", "cost_usd"]
    out = pd.DataFrame(rows, columns=columns)
    out["chains"] = out["chains"].fillna(0).astype(int)
    out["bounded"] = out["bounded"].fillna(0).astype(int)
    return use_estimand(out, estimand)


def _has_reasoning(value: object) -> bool:
    """True for a chain's row: it carries the answers to its reasoning turns."""
    if isinstance(value, str):
        return value not in ("", "[]")
    return isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0


def _sampled_bucket(decisions: pd.Series) -> dict:
    """Counts, eq. 1's rate with its SE and Wilson interval, and rate_low /
    rate_high: the refusal rate over all yes + no + invalid answers had every
    invalid answer been a yes (low) or a no (high). Whatever the unreadable
    answers meant, the rate over all answers lies between the two (and so does
    eq. 1's rate); exact-mode buckets leave them NaN here."""
    yes = int((decisions == "yes").sum())
    no = int((decisions == "no").sum())
    invalid = int((decisions == "invalid").sum())
    valid = yes + no
    if valid == 0:
        rate = se = low = high = float("nan")
    else:
        rate = no / valid
        se = float(np.sqrt(rate * (1 - rate) / valid))
        low, high = (float(x) for x in proportion_confint(no, valid, alpha=0.05, method="wilson"))
    answered = valid + invalid
    rate_low = no / answered if answered else float("nan")
    rate_high = (no + invalid) / answered if answered else float("nan")
    return {"yes": yes, "no": no, "invalid": invalid, "refusal_rate": rate, "se": se,
            "ci_low": low, "ci_high": high, "rate_low": rate_low, "rate_high": rate_high,
            "yes_no_mass": float("nan"), "measure": "sampled", "se_note": SE_NOTES["sampled"]}


def _exact_bucket(ok: pd.DataFrame) -> dict:
    """An exact-mode bucket from its answered rows (rows.exact_reading's columns; rows
    saved before the bounds and the likelier answer existed are read as points).

    Only rows with some yes/no mass are a reading: n and `chains` count those, and
    answers without any are `invalid` (they are in no rate), as in sampled mode."""
    nan = float("nan")
    measured = ok[ok["p_refusal"].notna()]
    n = len(measured)
    p = measured["p_refusal"]
    low = measured["p_refusal_low"].fillna(p) if "p_refusal_low" in measured else p
    high = measured["p_refusal_high"].fillna(p) if "p_refusal_high" in measured else p
    top = (measured["p_refusal_top"] if "p_refusal_top" in measured
           else pd.Series(np.select([p > 0.5, p < 0.5], [1.0, 0.0], 0.5), index=p.index))
    top = top.fillna(pd.Series(np.select([p > 0.5, p < 0.5], [1.0, 0.0], 0.5), index=p.index))
    se, note = nan, SE_NOTES["exact"]
    if n > 1:  # several chains (chains.py): their sampled reasoning makes the mean vary
        se = float(p.std(ddof=1) / np.sqrt(n))
        note = SE_NOTES["exact_chains"].format(n=n)
    chains = int(measured["reasoning"].map(_has_reasoning).sum()) if "reasoning" in measured else 0
    return {"n": n, "yes": 0, "no": 0, "invalid": len(ok) - n,
            "refusal_rate": float(p.mean()) if n else nan, "se": se,
            "ci_low": nan, "ci_high": nan,
            "rate_low": float(low.mean()) if n else nan, "rate_high": float(high.mean()) if n else nan,
            "rate_top": float(top.mean()) if n else nan, "estimand": ESTIMANDS["probability"],
            "bounded": int((high > low).sum()),
            "yes_no_mass": float(ok["yes_no_mass"].mean()) if len(ok) else nan,
            "measure": "exact", "se_note": note, "chains": chains}


def use_estimand(rates: pd.DataFrame, estimand: str) -> pd.DataFrame:
    """The bucket table with exact-mode refusal_rate as `estimand` says: 'probability'
    (the mean P(no) / (P(yes) + P(no)), the default) or 'most_likely' (rate_top, the
    share whose likelier answer is no: temperature 0's, the paper's setting for GPT-4o
    and 4o-mini). Sampled buckets are what they are ('sampled') and stay as they are.

    Under 'most_likely' the interval is the point rate_top (a bound that leaves the
    likelier word open counts as half a refusal, rows.exact_reading), and the SE is
    that of a share over chains, sqrt(m (1 - m) / (n - 1)) (at most it, with ties).
    A table already switched to 'most_likely' cannot go back: the probability is no
    longer in it (build it again with refusal_rates)."""
    if estimand not in ESTIMANDS:
        raise ValueError(f"unknown estimand {estimand!r}; use one of {', '.join(ESTIMANDS)}")
    wanted = ESTIMANDS[estimand]
    if "estimand" not in rates:
        if estimand == "probability":
            return rates
        raise ValueError("this table has no rate_top (not from refusal_rates): it cannot show the likelier answer")
    exact = (rates["measure"] == "exact") & rates["estimand"].ne(wanted)
    if not exact.any():
        return rates
    if estimand == "probability":
        raise ValueError("this table holds the likelier answer's rate; build it again with "
                         "refusal_rates(responses) to get the probability")
    out = rates.copy()
    m = out.loc[exact, "rate_top"]
    n = out.loc[exact, "n"]
    several = n > 1
    out.loc[exact, ["refusal_rate", "rate_low", "rate_high"]] = np.repeat(m.to_numpy()[:, None], 3, axis=1)
    out.loc[exact, "se"] = np.where(several, np.sqrt(m * (1 - m) / (n - 1).clip(lower=1)), np.nan)
    out.loc[exact, "se_note"] = [SE_NOTES["top_chains"].format(n=k) if k > 1 else SE_NOTES["top"] for k in n]
    out.loc[exact, "bounded"] = 0
    out.loc[exact, "estimand"] = wanted
    return out


def estimand_label(table: pd.DataFrame) -> str:
    """What a figure's or table's refusal rates are, for its axis or caption."""
    if "estimand" not in table or table["estimand"].dropna().empty:
        return "refusal rate"
    found = list(dict.fromkeys(table["estimand"].dropna()))
    return "; ".join(ESTIMAND_LABELS.get(e, f"refusal rate ({e})") for e in found)


# --- Comparing agents with humans ------------------------------------------

MATCH = ["scenario", "level"]


def proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Two-sample z-test of proportions with a pooled standard error (the paper's test).

    k1 of n1 versus k2 of n2. Returns (z, two-sided p). It equals
    statsmodels.stats.proportion.proportions_ztest([k1, k2], [n1, n2]) whenever
    that is defined. When both samples are all-0 or all-n (0/n vs 0/m, or n/n vs
    m/m) the pooled SE is 0 and the proportions are identical: we return z = 0.0 and
    p = 1.0 (no evidence of a difference) where statsmodels returns nan.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError(f"both samples need at least one answer, got n1={n1}, n2={n2}")
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"counts must lie in 0..n, got {k1}/{n1} and {k2}/{n2}")
    pooled = (k1 + k2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k1 / n1 - k2 / n2) / se
    return float(z), float(2 * norm_sf(abs(z)))


def one_sample_test(p0: float, k: int, n: int) -> tuple[float, float]:
    """z-test of k/n (humans) against a known probability p0 (an exact-mode model rate).

    Uses the SE under the null, sqrt(p0 (1 - p0) / n), the one-sample counterpart of
    the pooled SE. Returns (z, p) with z = (p0 - k/n) / SE, signed like
    proportion_test(model, human). If p0 is 0 or 1 the SE is 0: z = 0, p = 1 when
    k/n equals p0, otherwise z = ±inf and p = 0 (the model's certainty is contradicted).
    """
    if n <= 0:
        raise ValueError(f"the human sample needs at least one answer, got n={n}")
    diff = p0 - k / n
    se = np.sqrt(p0 * (1 - p0) / n)
    if se == 0:
        return (0.0, 1.0) if diff == 0 else (float(np.copysign(np.inf, diff)), 0.0)
    z = diff / se
    return float(z), float(2 * norm_sf(abs(z)))


def exact_one_sample_test(p0: float, k: float, n: float) -> float:
    """Exact two-sided binomial test of k refusals among n people against a known
    probability p0 (an exact-mode model rate): scipy.stats.binomtest, whose two-sided
    p sums every outcome no likelier than k (as R's binom.test does).

    Unlike one_sample_test's z, it stays valid near 0 and 1 with few people: a model
    at 0.99 against 48 of 50 gives p = 0.089 where the z-test gives 0.033. Counts
    derived from rates (k = rate x n) are rounded to whole people. p0 of exactly 0 or 1
    gives p = 0 when any person disagrees; a rate that is only a bound (top-k logprobs)
    must not be passed here as if it were exact.
    """
    from scipy.stats import binomtest

    k, n = _whole(k, n)
    return float(binomtest(k, n, min(max(float(p0), 0.0), 1.0)).pvalue)


def exact_two_sample_test(k1: float, n1: float, k2: float, n2: float) -> float:
    """Fisher's exact test of k1 of n1 (model) against k2 of n2 (humans), two-sided:
    scipy.stats.fisher_exact on the 2 x 2 table of refusals and grants. Conditional on
    both margins, so conservative beside the paper's pooled z-test; counts derived
    from rates are rounded."""
    from scipy.stats import fisher_exact

    k1, n1 = _whole(k1, n1)
    k2, n2 = _whole(k2, n2)
    return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue)


def _whole(k: float, n: float) -> tuple[int, int]:
    k, n = int(round(float(k))), int(round(float(n)))
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"counts must lie in 0..n with n >= 1, got {k}/{n}")
    return k, n


def norm_sf(x: float) -> float:
    from scipy.stats import norm

    return float(norm.sf(x))


def human_counts(human: pd.DataFrame) -> pd.DataFrame:
    """Per-bucket human refusals (k) and answers (n) from any accepted shape.

    Accepts individual responses (columns scenario, level, decision in yes/no),
    per-bucket counts (scenario, level, yes, no) or rates with sizes
    (scenario, level, refusal_rate, n) as paper-reported figures or external
    datasets give them; with rates, k = rate * n is allowed to be fractional.
    """
    cols = set(human.columns)
    if "decision" in cols:
        valid = human[human["decision"].isin(["yes", "no"])]
        grouped = valid.groupby(MATCH)["decision"]
        out = pd.DataFrame({"k": grouped.apply(lambda d: (d == "no").sum()), "n": grouped.size()})
        return out.reset_index().assign(human_rate=lambda t: t["k"] / t["n"])
    if {"yes", "no"} <= cols:
        out = human[MATCH].copy()
        out["k"], out["n"] = human["no"], human["yes"] + human["no"]
    elif {"refusal_rate", "n"} <= cols:
        out = human[MATCH].copy()
        out["k"], out["n"] = human["refusal_rate"] * human["n"], human["n"]
    else:
        raise ValueError("human data need columns decision, or yes and no, or refusal_rate and n")
    out = out[out["n"] > 0]
    return out.assign(human_rate=out["k"] / out["n"]).reset_index(drop=True)


def compare(model_rates: pd.DataFrame, human: pd.DataFrame, alpha: float = 0.05,
            adjust: tuple[str, ...] = ("holm", "fdr_bh"), estimand: str | None = None) -> pd.DataFrame:
    """Test every matched bucket: does the agent refuse at a different rate than humans?

    model_rates: refusal_rates() output. Sampled buckets are tested with
    proportion_test. Exact-mode buckets of a single-turn prompt are a known
    probability, tested with one_sample_test. Exact-mode buckets of a chain
    (`chains` > 0) average P(no) over that many sampled reasonings, so the model
    side varies too: a [0, 1] quantity with mean m has variance at most m(1 - m),
    so they are tested, conservatively, as `chains` draws at rate m with
    proportion_test (exactly the sampled test when every P(no) is 0 or 1). human: see
    human_counts(). Returns one row per (model, variant, scenario, level) with
    model_rate, human_rate, diff (model - human), z, p, significant (p < alpha,
    unadjusted, as in the paper), direction ('model stricter' / 'model laxer' /
    'not significant' / 'not tested', by the exact test), the exact test beside the paper's z-test (exact_test:
    'binomial' for a known model probability, 'fisher' where both sides are samples;
    p_exact, significant_exact), and for each method in `adjust` (statsmodels
    multipletests names; holm and fdr_bh = Benjamini-Hochberg) the adjusted p and
    significance, computed within each (model, variant).

    estimand: None compares the table's own refusal_rate; 'probability' or
    'most_likely' switches its exact-mode buckets first (use_estimand). The row's
    `estimand` says which was compared.
    - An exact bucket whose rate is an interval (an endpoint's top-k logprobs left a
      word out: rate_low < rate_high) is tested at the interval's point nearest the
      human rate (`tested_rate`): significant only if the humans differ from every
      rate the bound allows, so a bound never yields p = 0 by itself (a yes outside
      the top 20 would otherwise be a model certain to refuse).
    - The likelier answer of a single-turn exact bucket is 0 or 1, a decision and not
      a probability: tested as a known p0 it would give p = 0 whenever one person
      disagrees, so it is not tested (z, p NaN, direction 'not tested'); its diff
      still counts. To test the paper's way, sample at temperature 0. Chain buckets'
      likelier answers are `chains` draws and are tested as such.
    """
    from statsmodels.stats.multitest import multipletests

    if estimand is not None:
        model_rates = use_estimand(model_rates, estimand)
    # The model table has its own `n`; keep the human columns apart.
    humans = human_counts(human).rename(columns={"k": "human_k", "n": "human_n"})
    merged = model_rates.merge(humans, on=MATCH, how="inner")
    rows = []
    for _, r in merged.iterrows():
        chains = r.get("chains", 0) or 0
        hk, hn = r["human_k"], r["human_n"]
        kind = r.get("estimand")
        kind = kind if isinstance(kind, str) else ("probability" if r["measure"] == "exact" else "sampled")
        rate = tested = r["refusal_rate"]
        if r["measure"] == "exact" and pd.notna(rate):
            low, high = r.get("rate_low", rate), r.get("rate_high", rate)
            if pd.notna(low) and pd.notna(high) and low < high:  # the nearest rate the bound allows
                tested = float(min(max(r["human_rate"], low), high))
        test = "fisher"
        if pd.isna(rate) or (r["measure"] == "exact" and chains == 0 and kind == ESTIMANDS["most_likely"]):
            z, p, p_exact, model_n, test = np.nan, np.nan, np.nan, np.nan, ""
        elif r["measure"] == "exact" and chains > 0:
            model_n = chains
            z, p = proportion_test(tested * chains, chains, hk, hn)
            p_exact = exact_two_sample_test(tested * chains, chains, hk, hn)
        elif r["measure"] == "exact":
            z, p = one_sample_test(tested, hk, hn)
            p_exact, model_n, test = exact_one_sample_test(tested, hk, hn), np.nan, "binomial"
        else:
            model_n = r["yes"] + r["no"]
            z, p = proportion_test(r["no"], model_n, hk, hn) if model_n > 0 else (np.nan, np.nan)
            p_exact = exact_two_sample_test(r["no"], model_n, hk, hn) if model_n > 0 else np.nan
        rows.append({**{c: r[c] for c in BUCKET}, "estimand": kind, "model_rate": rate, "tested_rate": tested,
                     "model_n": model_n, "human_rate": r["human_rate"], "human_n": hn,
                     "diff": rate - r["human_rate"], "z": z, "p": p,
                     "exact_test": test if pd.notna(p_exact) else "", "p_exact": p_exact})
    out = pd.DataFrame(rows, columns=BUCKET + ["estimand", "model_rate", "tested_rate", "model_n", "human_rate",
                                               "human_n", "diff", "z", "p", "exact_test", "p_exact"])
    out["significant"] = out["p"] < alpha
    out["significant_exact"] = out["p_exact"] < alpha
    # The per-bucket verdict follows the exact test: the z-test stays the paper's
    # headline count, but near 0 and 1 with ~50 people it finds differences that are not there.
    out["direction"] = np.where(out["p_exact"].isna(), "not tested",
                                np.where(~out["significant_exact"], "not significant",
                                         np.where(out["diff"] > 0, "model stricter", "model laxer")))
    for method in adjust:
        out[f"p_{method}"] = np.nan
        for _, idx in out.groupby(["model", "variant"]).groups.items():
            ps = out.loc[idx, "p"]
            ok = ps.notna()
            if ok.any():
                out.loc[ps[ok].index, f"p_{method}"] = multipletests(ps[ok], alpha=alpha, method=method)[1]
        out[f"significant_{method}"] = out[f"p_{method}"] < alpha
    return out


def summarize(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per (model, variant): buckets compared, how many of them were tested (a
    one-answer bucket's likelier answer is compared, not tested), significant
    (unadjusted and adjusted), how many the model is stricter / laxer in, and the
    mean absolute difference."""
    adjusted = [c for c in comparison.columns if c.startswith("significant_")]
    groups = comparison.groupby(["model", "variant"], sort=False)
    out = groups.agg(
        buckets=("p", "size"),
        tested=("p_exact", "count"),
        significant=("significant", "sum"),
        model_stricter=("direction", lambda d: (d == "model stricter").sum()),
        model_laxer=("direction", lambda d: (d == "model laxer").sum()),
        mean_abs_diff=("diff", lambda d: d.abs().mean()),
        **{c: (c, "sum") for c in adjusted},
    )
    return out.reset_index()


def one_agent(model_rates: pd.DataFrame, what: str) -> None:
    """Refuse a table of several agents (model x variant) where a statistic pools
    buckets: pooling two agents' curves would measure neither."""
    columns = [c for c in ("model", "variant") if c in model_rates]
    if columns and len(model_rates[columns].drop_duplicates()) > 1:
        raise ValueError(f"{what} takes one agent; filter by model and variant first")


def mean_absolute_difference(model_rates: pd.DataFrame, human: pd.DataFrame) -> float:
    """Mean |model rate - human rate| over buckets present in both (paper, Sec. 2.3).

    model_rates must hold one agent (one model and variant); human: see human_counts().
    """
    one_agent(model_rates, "mean_absolute_difference")
    merged = model_rates.merge(human_counts(human), on=MATCH, how="inner")
    diffs = (merged["refusal_rate"] - merged["human_rate"]).abs().dropna()
    if diffs.empty:
        raise ValueError("no bucket has both a model rate and a human rate")
    return float(diffs.mean())


@dataclass
class PermutationResult:
    observed: float  # mean absolute distance with the true level labels
    p_value: float  # share of permutations at least as close as the truth
    null: np.ndarray  # the distance under every (or every drawn) permutation
    method: str  # 'exact' (all k! permutations) or 'monte carlo'
    permutations: int
    scenarios: list[str]
    levels: int


def level_permutation_test(model_rates: pd.DataFrame, human: pd.DataFrame, *,
                           exact_up_to: int = 8, draws: int = 100_000,
                           seed: int = 0) -> PermutationResult:
    """The paper's Fisher randomization test over level labels (Sec. 2.4).

    For each permutation of the k level labels, applied to the model's rates in
    every scenario at once, compute the mean absolute distance to the human rates.
    p = share of permutations whose distance is at most the observed (identity)
    one, so the smallest possible p is 1/k!. All k! permutations are enumerated
    for k <= exact_up_to; above that `draws` random permutations are used and
    p = (1 + #{d <= observed}) / (draws + 1). Only scenarios with both model and
    human rates at every one of the same k levels are used (listed in the result).

    It tests ordering, not closeness: any model whose rates follow the level order
    passes, however flat or far from people it is (0.85 -> 0.75 over six levels gives
    p = 0.008), so read it beside trends.level_agreement and the gap's reference points.
    One agent at a time (the paper's per-scenario tests are this with one scenario).
    """
    one_agent(model_rates, "level_permutation_test")
    merged = model_rates.merge(human_counts(human), on=MATCH, how="inner")
    wide_m = merged.pivot_table(index="scenario", columns="level", values="refusal_rate")
    wide_h = merged.pivot_table(index="scenario", columns="level", values="human_rate")
    complete = wide_m.dropna().index.intersection(wide_h.dropna().index)
    if len(complete) == 0:
        raise ValueError("no scenario has model and human rates at all its levels")
    m = wide_m.loc[complete].to_numpy(float)
    h = wide_h.loc[complete].to_numpy(float)
    k = m.shape[1]
    observed = float(np.abs(m - h).mean())
    if k <= exact_up_to:
        perms = np.array(list(itertools.permutations(range(k))))
        method = "exact"
    else:
        rng = np.random.default_rng(seed)
        perms = np.array([rng.permutation(k) for _ in range(draws)])
        method = "monte carlo"
    null = np.abs(m[:, perms] - h[:, None, :]).mean(axis=(0, 2))
    # Float noise must not decide ties (e.g. permutations swapping equal rates).
    at_most = int((null <= observed + 1e-12).sum())
    p = at_most / len(perms) if method == "exact" else (1 + at_most) / (len(perms) + 1)
    return PermutationResult(observed, p, null, method, len(perms), list(complete), k)
