"""Measures: cooperation rates, incentive sensitivity, and the implied-κ
estimator recovering a known κ from choices simulated under its own model."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from helpers.economics import measures
from helpers.economics.games import all_settings, load_games
from helpers.economics.play import decisions as decisions_of


@pytest.fixture(scope="module")
def decisions():
    from pathlib import Path

    return decisions_of(all_settings(load_games(Path(__file__).resolve().parents[2] / "games.toml")))


@pytest.mark.parametrize("kappa,temperature", [(0.0, 0.05), (0.35, 0.05), (0.35, 0.2), (0.7, 0.1), (1.0, 0.05)])
def test_implied_kappa_recovers_a_known_kappa(decisions, kappa, temperature):
    simulated = measures.simulate(decisions, kappa, temperature, per_item=40, seed=11)
    fit = measures.implied_kappa(simulated, decisions)
    assert fit.n == 40 * len(decisions)
    assert abs(fit.kappa - kappa) <= 0.05
    assert fit.ci_low <= kappa <= fit.ci_high
    assert fit.ci_high - fit.ci_low < 0.15
    assert fit.method == "likelihood ratio"


def test_interval_covers_the_truth_in_most_replications(decisions):
    # A 95% interval should miss rarely; 20 replications with at most 3 misses.
    covered = 0
    for seed in range(20):
        fit = measures.implied_kappa(measures.simulate(decisions, 0.45, 0.15, per_item=15, seed=seed), decisions)
        covered += fit.ci_low <= 0.45 <= fit.ci_high
    assert covered >= 17


def random_answers(decisions, per_item, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for item, dec in decisions.items():
        for i in range(per_item):
            a = dec.actions[rng.integers(len(dec.actions))]
            rows.append({"model": "coin", "item": item, "game": item.split("#")[0], "setting": "x",
                         "sample": i, "status": "ok", "action": a.id, "cooperation": float(a.cooperation)})
    return pd.DataFrame(rows)


def test_random_choices_are_flagged_as_unidentified(decisions):
    fits = [measures.implied_kappa(random_answers(decisions, 20, seed), decisions) for seed in range(10)]
    # Uniform random answers are rarely explained better than by chance, and
    # then the interval spans almost every κ.
    flagged = [f for f in fits if f.p_uniform > 0.05]
    assert len(flagged) >= 8
    assert all("κ is not identified" in f.note for f in flagged)
    assert sum(f.ci_high - f.ci_low > 0.9 for f in fits) >= 8
    informative = measures.implied_kappa(measures.simulate(decisions, 0.3, 0.1, per_item=20, seed=0), decisions)
    assert informative.p_uniform < 1e-6 and informative.note == ""


def test_few_answers_are_flagged(decisions):
    few = measures.simulate(decisions, 0.3, 0.1, per_item=1, seed=0).head(5)
    assert "only 5 valid answers" in measures.implied_kappa(few, decisions).note


def test_bootstrap_interval(decisions):
    simulated = measures.simulate(decisions, 0.6, 0.1, per_item=20, seed=4)
    fit = measures.implied_kappa(simulated, decisions, method="bootstrap", bootstrap=40, seed=1)
    assert fit.method == "bootstrap (40 draws)"
    assert fit.ci_low <= fit.kappa <= fit.ci_high
    assert fit.ci_low <= 0.6 <= fit.ci_high


def with_junk(table: pd.DataFrame) -> pd.DataFrame:
    junk = table.head(30).assign(action="invalid", cooperation=np.nan)
    failed = table.head(5).assign(status="failed", action=None, cooperation=np.nan)
    return pd.concat([table, junk, failed], ignore_index=True)


def test_invalid_answers_and_failures_are_never_choices(decisions):
    simulated = measures.simulate(decisions, 0.3, 0.1, per_item=10, seed=2)
    clean = measures.implied_kappa(simulated, decisions)
    dirty = measures.implied_kappa(with_junk(simulated), decisions)
    assert (dirty.kappa, dirty.n, dirty.loglik) == (clean.kappa, clean.n, clean.loglik)
    rates = measures.cooperation_rates(with_junk(simulated), decisions).set_index("item")
    first = simulated["item"].iloc[0]
    assert rates.loc[first, "invalid"] == 10 and rates.loc[first, "failed"] == 5
    assert rates.loc[first, "n"] == 10


def table(rows):
    return pd.DataFrame([{"model": m, "item": i, "game": i.split("#")[0], "setting": i.split("#")[1],
                          "sample": k, "status": "ok", "action": a, "cooperation": c}
                         for k, (m, i, a, c) in enumerate(rows)])


def test_cooperation_rates_by_hand(decisions):
    rows = [("m", "prisoners_dilemma#1", "cooperate", 1.0)] * 3 + [("m", "prisoners_dilemma#1", "defect", 0.0)] + \
        [("m", "dictator#2", "10", 1.0), ("m", "dictator#2", "4", 0.4), ("m", "dictator#2", "0", 0.0)]
    rates = measures.cooperation_rates(table(rows), decisions).set_index("item")
    pd1 = rates.loc["prisoners_dilemma#1"]
    assert pd1["n"] == 4 and pd1["cooperation"] == 0.75
    low, high = proportion_confint(3, 4, method="wilson")
    assert (pd1["ci_low"], pd1["ci_high"]) == pytest.approx((low, high))
    dic = rates.loc["dictator#2"]
    assert dic["cooperation"] == pytest.approx(1.4 / 3)
    assert dic["se"] == pytest.approx(np.std([1.0, 0.4, 0.0], ddof=1) / np.sqrt(3))


def test_incentive_sensitivity(decisions):
    # A homo moralis agent (κ = 0.5) contributes in the cheap public goods
    # settings and not in the dear ones: cooperation falls with κ*.
    moral = measures.simulate(decisions, 0.5, 0.02, per_item=20, seed=0, model="moral")
    fixed = table([("fixed", f"public_goods#{s}", "10", 0.5) for s in (1, 2, 3, 4) for _ in range(5)])
    result = measures.incentive_sensitivity(pd.concat([moral, fixed]), decisions).set_index(["model", "game"])
    pg = result.loc[("moral", "public_goods")]
    assert pg["slope_threshold"] < -0.5 and pg["p_threshold"] < 0.01
    assert pg["slope_gain"] > 0.5  # cheaper cooperation (higher own gain) -> more of it
    assert result.loc[("fixed", "public_goods"), "slope_threshold"] == 0.0
    # The dictator's own cost per point is the same in every setting: no gain slope.
    assert np.isnan(result.loc[("moral", "dictator"), "slope_gain"])
    assert result.loc[("moral", "dictator"), "slope_threshold"] < 0


def test_thresholds_and_gains(decisions):
    assert measures.cooperation_threshold(decisions["public_goods#2"]) == pytest.approx(0.5)
    assert measures.cooperation_threshold(decisions["dictator#1"]) == 1.0
    assert measures.cooperation_threshold(decisions["trust_investor#3"]) == 0.0
    assert measures.own_gain(decisions["public_goods#1"]) == pytest.approx(1.2 / 4 - 1)
    assert measures.own_gain(decisions["ultimatum_responder#2"]) == pytest.approx(0.3)


def test_agreement_and_predictions(decisions):
    econ = measures.simulate(decisions, 0.0, 0.01, per_item=5, seed=0, model="econ")
    result = measures.agreement(econ, decisions, 0.0).iloc[0]
    assert result["optimal_share"] == pytest.approx(1.0) and result["invalid_share"] == 0
    assert measures.agreement(econ, decisions, 0.9).iloc[0]["optimal_share"] < 0.6
    predicted = measures.predicted_cooperation(decisions, [0.0, 0.5]).set_index(["item", "kappa"])
    assert predicted.loc[("public_goods#2", 0.5), "cooperation"] == 0.5  # a tie of all amounts
    assert predicted.loc[("public_goods#3", 0.5), "cooperation"] == 1.0


def test_no_valid_answers():
    fit = measures.implied_kappa(pd.DataFrame(columns=["model", "item", "game", "setting", "sample", "status",
                                                       "action", "cooperation"]), {})
    assert fit.n == 0 and np.isnan(fit.kappa) and fit.note == "no valid answers"
