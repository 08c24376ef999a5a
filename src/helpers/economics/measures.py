"""Measures of economic behaviour from parsed answers (pure functions on tables).

Input: a tidy answers table with one row per answer and the columns `model`,
`item` (a decision: "game#setting" or a dilemma), `game`, `setting`, `status`
("ok", "failed", "not run"), `action` (an action id or "invalid") and
`cooperation` (0..1, NaN when invalid), plus a dict item -> preferences.Decision.
Invalid answers and failed calls are counted and shown, never used as choices.

- cooperation_rates: mean cooperation level per model x item, with a 95% CI
  (Wilson for two-action choices, normal approximation for amounts).
- incentive_sensitivity: per model x game, OLS slopes of the cooperation level
  (i) on the own-payoff gain from the most cooperative action over the least
  cooperative one (in stakes: what self-interest says), and (ii) on the
  setting's threshold κ* (the smallest κ at which the most cooperative action is
  optimal: what homo moralis needs). HC1 standard errors over answers.
- implied_kappa: the κ that best explains the choices under a logit choice model

      P(a) = exp(u_κ(a) / (τ · stake)) / Σ_b exp(u_κ(b) / (τ · stake)),
      u_κ(a) = (1 - κ) π(a, y) + κ π(a, a),

  by maximum likelihood over a κ grid (0, 0.01, ..., 1), the temperature τ
  profiled out over a log grid. The 95% interval is likelihood-ratio (all κ with
  2 (ℓ_max - ℓ_profile(κ)) <= 3.84) or a percentile bootstrap over answers, or
  over clusters of answers (`cluster`: e.g. participants, who each answer many
  items, so their answers are not independent draws).
  Large τ means choices barely follow utility at all, and then every κ fits;
  p_uniform tests the fitted model against uniform random choice (likelihood
  ratio, 2 df): when it is large, read no κ into the interval.
- agreement: the share of valid answers that are optimal for a given κ.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.stats import chi2
from statsmodels.stats.proportion import proportion_confint

from helpers.economics.preferences import Decision, choose, optimal_cooperation, switch_points

KAPPA_GRID = np.round(np.linspace(0, 1, 101), 2)
TEMPERATURE_GRID = np.geomspace(0.002, 50, 80)
LR_CRITICAL = float(chi2.ppf(0.95, df=1))  # 3.84
SMALL_SAMPLE = 20  # fewer valid answers than this and the fit says its interval is rough


def valid(answers: pd.DataFrame) -> pd.DataFrame:
    """Answers that name an allowed action (status ok, action not invalid)."""
    return answers[(answers["status"] == "ok") & (answers["action"] != "invalid")]


def cooperation_rates(answers: pd.DataFrame, decisions: dict[str, Decision]) -> pd.DataFrame:
    """One row per model x item: n valid, invalid, failed, mean cooperation, SE, 95% CI."""
    rows = []
    for (model, item), group in answers.groupby(["model", "item"], sort=False):
        ok = valid(group)
        levels = ok["cooperation"].astype(float)
        binary = len(decisions[item].actions) == 2
        n = len(levels)
        row = {"model": model, "item": item, "game": group["game"].iloc[0],
               "setting": group["setting"].iloc[0], "n": n,
               "invalid": int(((group["status"] == "ok") & (group["action"] == "invalid")).sum()),
               "failed": int((group["status"] == "failed").sum()),
               "not_run": int((group["status"] == "not run").sum())}
        if n == 0:
            row.update(cooperation=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan)
        else:
            mean = float(levels.mean())
            if binary:
                se = float(np.sqrt(mean * (1 - mean) / n))
                low, high = proportion_confint(int(round(levels.sum())), n, alpha=0.05, method="wilson")
            else:
                se = float(levels.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
                low, high = (max(0.0, mean - 1.96 * se), min(1.0, mean + 1.96 * se)) if n > 1 else (np.nan, np.nan)
            row.update(cooperation=mean, se=se, ci_low=float(low), ci_high=float(high))
        rows.append(row)
    columns = ["model", "item", "game", "setting", "n", "invalid", "failed", "not_run",
               "cooperation", "se", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)


def cooperation_threshold(dec: Decision) -> float:
    """κ*: the smallest κ in [0, 1] at which the most cooperative action is optimal."""
    top = max(dec.actions, key=lambda a: a.cooperation).id
    for kappa in [Fraction(0), *switch_points(dec), Fraction(1)]:
        if top in choose(dec, kappa).best:
            return float(kappa)
    return float("nan")


def own_gain(dec: Decision) -> float:
    """Own-payoff gain of the most over the least cooperative action, in stakes."""
    top = max(dec.actions, key=lambda a: a.cooperation).id
    bottom = min(dec.actions, key=lambda a: a.cooperation).id
    return float((dec.selfish[top] - dec.selfish[bottom]) / dec.stake)


def _slope(x: pd.Series, y: pd.Series) -> dict:
    import statsmodels.api as sm

    if x.nunique() < 2 or len(y) < 3:
        return {"slope": np.nan, "se": np.nan, "p": np.nan}
    if y.nunique() < 2:  # every answer the same: no movement at all, exactly
        return {"slope": 0.0, "se": 0.0, "p": np.nan}
    fit = sm.OLS(y.to_numpy(float), sm.add_constant(x.to_numpy(float))).fit(cov_type="HC1")
    return {"slope": float(fit.params[1]), "se": float(fit.bse[1]), "p": float(fit.pvalues[1])}


def incentive_sensitivity(answers: pd.DataFrame, decisions: dict[str, Decision]) -> pd.DataFrame:
    """Per model x game: how cooperation moves with payoffs across the settings.

    slope_gain > 0: more cooperation where cooperating costs the model less
    (self-interest). slope_threshold < 0: less cooperation where more moral
    weight is needed for cooperation to pay (homo moralis). NaN where the game's
    settings do not vary that quantity (e.g. the dictator's own cost per point).
    """
    ok = valid(answers).copy()
    ok["gain"] = ok["item"].map({k: own_gain(d) for k, d in decisions.items()})
    ok["threshold"] = ok["item"].map({k: cooperation_threshold(d) for k, d in decisions.items()})
    rows = []
    for (model, game), group in ok.groupby(["model", "game"], sort=False):
        y = group["cooperation"].astype(float)
        gain, threshold = _slope(group["gain"], y), _slope(group["threshold"], y)
        rows.append({"model": model, "game": game, "n": len(group), "settings": group["item"].nunique(),
                     "slope_gain": gain["slope"], "se_gain": gain["se"], "p_gain": gain["p"],
                     "slope_threshold": threshold["slope"], "se_threshold": threshold["se"],
                     "p_threshold": threshold["p"]})
    return pd.DataFrame(rows, columns=["model", "game", "n", "settings", "slope_gain", "se_gain", "p_gain",
                                       "slope_threshold", "se_threshold", "p_threshold"])


# --- implied κ -----------------------------------------------------------------

@dataclass
class KappaFit:
    kappa: float  # maximum-likelihood κ on the grid
    ci_low: float
    ci_high: float
    temperature: float  # τ at the maximum
    loglik: float
    n: int  # valid answers used
    method: str  # "likelihood ratio" or "bootstrap (B draws)"
    profile: pd.DataFrame  # kappa, loglik (τ profiled out), inside (in the LR set)
    p_uniform: float = float("nan")  # LR test against choosing uniformly at random (df = 2)
    note: str = ""


def _design(decisions: dict[str, Decision]):
    """Per item: normalised selfish and kantian utility arrays, action order."""
    design = {}
    for item, dec in decisions.items():
        ids = [a.id for a in dec.actions]
        s = np.array([float(dec.selfish[a] / dec.stake) for a in ids])
        k = np.array([float(dec.kantian[a] / dec.stake) for a in ids])
        design[item] = (ids, s, k)
    return design


def _counts(answers: pd.DataFrame, design) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    ok = valid(answers)
    blocks = []
    for item, group in ok.groupby("item", sort=False):
        if item not in design:
            continue
        ids, s, k = design[item]
        counts = group["action"].value_counts()
        n = np.array([counts.get(a, 0) for a in ids], dtype=float)
        if n.sum() > 0:
            blocks.append((s, k, n))
    return blocks


def _log_probabilities(blocks, kappas=KAPPA_GRID, temperatures=TEMPERATURE_GRID) -> np.ndarray:
    """log P(action) for every (κ, τ) pair and every action of every block, the blocks'
    actions side by side: shape (len(kappas), len(temperatures), total actions)."""
    kap = kappas[:, None, None]
    tau = temperatures[None, :, None]
    parts = []
    for s, k, _ in blocks:
        u = ((1 - kap) * s[None, None, :] + kap * k[None, None, :]) / tau
        u = u - u.max(axis=2, keepdims=True)
        parts.append(u - np.log(np.exp(u).sum(axis=2, keepdims=True)))
    return np.concatenate(parts, axis=2)


def _loglik_grid(blocks, kappas=KAPPA_GRID, temperatures=TEMPERATURE_GRID) -> np.ndarray:
    """Log-likelihood for every (κ, τ) pair: array of shape (len(kappas), len(temperatures))."""
    if not blocks:
        return np.zeros((len(kappas), len(temperatures)))
    return _log_probabilities(blocks, kappas, temperatures) @ np.concatenate([n for _, _, n in blocks])


def implied_kappa(answers: pd.DataFrame, decisions: dict[str, Decision], *, method: str = "lr",
                  bootstrap: int = 200, seed: int = 0, cluster: str | None = None) -> KappaFit:
    """Maximum-likelihood κ of one model's answers, with a 95% interval.

    method: "lr" (profile likelihood ratio) or "bootstrap" (percentile interval
    over `bootstrap` resamples of the answers within each item, seeded; with
    `cluster`, a column of `answers`, resamples of whole clusters instead).
    """
    design = _design(decisions)
    blocks = _counts(answers, design)
    n = int(sum(b[2].sum() for b in blocks))
    if n == 0:
        empty = pd.DataFrame({"kappa": KAPPA_GRID, "loglik": np.nan, "inside": False})
        return KappaFit(np.nan, np.nan, np.nan, np.nan, np.nan, 0, method, empty, note="no valid answers")
    grid = _loglik_grid(blocks)
    profile = grid.max(axis=1)
    best = int(np.argmax(profile))
    tau = float(TEMPERATURE_GRID[int(np.argmax(grid[best]))])
    inside = 2 * (profile[best] - profile) <= LR_CRITICAL
    table = pd.DataFrame({"kappa": KAPPA_GRID, "loglik": profile, "inside": inside})
    notes = []
    if method == "lr":
        low, high = float(KAPPA_GRID[inside].min()), float(KAPPA_GRID[inside].max())
        if not np.all(inside[inside.argmax(): len(inside) - inside[::-1].argmax()]):
            notes.append("the likelihood-ratio set is not an interval; its hull is shown")
        label = "likelihood ratio"
    elif method == "bootstrap" and cluster is not None:
        clusters, blocks_by = _cluster_counts(answers, design, cluster)
        low, high = _cluster_bootstrap(clusters, blocks_by, bootstrap, seed)
        label = f"bootstrap over {clusters} clusters of `{cluster}` ({bootstrap} draws)"
    elif method == "bootstrap":
        low, high = _bootstrap(blocks, bootstrap, seed)
        label = f"bootstrap ({bootstrap} draws)"
    else:
        raise ValueError(f"method must be 'lr' or 'bootstrap', got {method!r}")
    if n < SMALL_SAMPLE:
        notes.append(f"only {n} valid answers: the interval rests on a large-sample approximation")
    uniform = float(sum(-(b[2].sum()) * np.log(len(b[2])) for b in blocks))
    p_uniform = float(chi2.sf(max(0.0, 2 * (profile[best] - uniform)), df=2))
    if p_uniform > 0.05:
        notes.append("choices are not explained better than by uniform random choice (p_uniform > 0.05): "
                     "κ is not identified")
    return KappaFit(float(KAPPA_GRID[best]), low, high, tau, float(profile[best]), n, label, table,
                    p_uniform, "; ".join(notes))


def _bootstrap(blocks, draws: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(draws):
        resampled = []
        for s, k, n in blocks:
            total = int(n.sum())
            resampled.append((s, k, rng.multinomial(total, n / total).astype(float)))
        estimates.append(KAPPA_GRID[int(np.argmax(_loglik_grid(resampled).max(axis=1)))])
    return float(np.quantile(estimates, 0.025)), float(np.quantile(estimates, 0.975))


def _cluster_counts(answers: pd.DataFrame, design, cluster: str):
    """(number of clusters, per item (s, k, counts: clusters x actions))."""
    ok = valid(answers)
    ok = ok[ok["item"].isin(design)]
    index = {c: i for i, c in enumerate(dict.fromkeys(ok[cluster]))}
    blocks = []
    for item, group in ok.groupby("item", sort=False):
        ids, s, k = design[item]
        counts = np.zeros((len(index), len(ids)))
        np.add.at(counts, (group[cluster].map(index).to_numpy(), group["action"].map(ids.index).to_numpy()), 1)
        blocks.append((s, k, counts))
    return len(index), blocks


def _cluster_bootstrap(clusters: int, blocks, draws: int, seed: int) -> tuple[float, float]:
    """Percentile interval of the ML κ over resamples of whole clusters. The choice
    probabilities do not change between resamples, only the counts, so they are
    computed once and each resample is one matrix product."""
    logp = _log_probabilities(blocks)
    counts = np.concatenate([n for _, _, n in blocks], axis=1)  # clusters x all actions
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(draws):
        weight = np.bincount(rng.integers(0, clusters, size=clusters), minlength=clusters).astype(float)
        estimates.append(KAPPA_GRID[int(np.argmax((logp @ (weight @ counts)).max(axis=1)))])
    return float(np.quantile(estimates, 0.025)), float(np.quantile(estimates, 0.975))


def implied_kappas(answers: pd.DataFrame, decisions: dict[str, Decision], **kwargs) -> pd.DataFrame:
    """implied_kappa for every model: model, kappa, ci_low, ci_high, temperature, n,
    p_uniform, method, note."""
    rows = []
    for model, group in answers.groupby("model", sort=False):
        fit = implied_kappa(group, decisions, **kwargs)
        rows.append({"model": model, "kappa": fit.kappa, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                     "temperature": fit.temperature, "n": fit.n, "p_uniform": fit.p_uniform,
                     "method": fit.method, "note": fit.note})
    return pd.DataFrame(rows, columns=["model", "kappa", "ci_low", "ci_high", "temperature", "n",
                                       "p_uniform", "method", "note"])


def simulate(decisions: dict[str, Decision], kappa: float, temperature: float, per_item: int,
             seed: int = 0, model: str = "simulated") -> pd.DataFrame:
    """Answers drawn from the logit choice model (for checks of the estimator).

    Returns an answers table (status ok, no invalid answers) with the columns the
    measures read; `model` names the simulated agent.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for item, (ids, s, k) in _design(decisions).items():
        u = ((1 - kappa) * s + kappa * k) / temperature
        p = np.exp(u - u.max())
        p /= p.sum()
        level = {a.id: float(a.cooperation) for a in decisions[item].actions}
        game, _, setting = item.partition("#")
        for i, j in enumerate(rng.choice(len(ids), size=per_item, p=p)):
            rows.append({"model": model, "item": item, "game": game, "setting": setting, "sample": i,
                         "status": "ok", "action": ids[j], "cooperation": level[ids[j]]})
    return pd.DataFrame(rows)


def agreement(answers: pd.DataFrame, decisions: dict[str, Decision], kappa: float) -> pd.DataFrame:
    """Per model: share of valid answers that are optimal for κ, and the invalid share."""
    best = {item: set(choose(dec, Fraction(str(kappa))).best) for item, dec in decisions.items()}
    rows = []
    for model, group in answers.groupby("model", sort=False):
        ok = valid(group)
        hits = sum(a in best[i] for i, a in zip(ok["item"], ok["action"]))
        answered = int((group["status"] == "ok").sum())
        rows.append({"model": model, "kappa": kappa, "valid": len(ok),
                     "optimal_share": hits / len(ok) if len(ok) else np.nan,
                     "invalid_share": 1 - len(ok) / answered if answered else np.nan})
    return pd.DataFrame(rows, columns=["model", "kappa", "valid", "optimal_share", "invalid_share"])


def predicted_cooperation(decisions: dict[str, Decision], kappas: list[float]) -> pd.DataFrame:
    """The optimal cooperation level per item for each κ (mean over tied actions)."""
    return pd.DataFrame([{"item": item, "kappa": kappa,
                          "cooperation": float(optimal_cooperation(dec, Fraction(str(kappa))))}
                         for item, dec in decisions.items() for kappa in kappas])
