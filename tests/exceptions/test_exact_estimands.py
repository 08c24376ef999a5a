"""Exact mode's two estimands (the probability and the likelier answer) and the
interval a top-k logprobs list leaves: per answer (rows), per bucket (stats) and in
the tests against humans."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportions_ztest

from helpers.exceptions import plots, stats
from helpers.exceptions.design import RunConfig
from helpers.exceptions.rows import _exact, exact_reading
from helpers.exceptions.scenarios import load_scenarios

NAN = float("nan")


# --- one answer --------------------------------------------------------------

def test_both_words_read_is_a_point_and_the_likelier_word_is_the_decision():
    row = exact_reading(0.3, 0.45, 0.001)
    assert row["p_refusal"] == row["p_refusal_low"] == row["p_refusal_high"] == pytest.approx(0.6)
    assert row["bound"] == "none" and row["yes_no_mass"] == pytest.approx(0.75)
    # A 0.6 reads 0.6 as a probability but 1 as the likelier answer (temperature 0's).
    assert (row["top_decision"], row["p_refusal_top"]) == ("no", 1.0)
    assert exact_reading(0.45, 0.3, 0.001)["p_refusal_top"] == 0.0


def test_a_yes_outside_the_top_k_is_an_interval_never_certainty():
    row = exact_reading(0.0, 0.9, 0.001)  # Yes not listed; the 20th token has 0.001
    assert row["p_refusal_low"] == pytest.approx(0.9 / 0.901) and row["p_refusal_high"] == 1.0
    assert row["p_refusal"] == pytest.approx((0.9 / 0.901 + 1) / 2) and row["p_refusal"] < 1
    assert row["bound"] == "top-k" and row["top_decision"] == "no"


def test_a_no_outside_the_top_k_is_an_interval_never_zero():
    row = exact_reading(0.7, 0.0, 0.01)
    assert row["p_refusal_low"] == 0.0 and row["p_refusal_high"] == pytest.approx(0.01 / 0.71)
    assert 0 < row["p_refusal"] < row["p_refusal_high"] and row["top_decision"] == "yes"


def test_a_bound_equal_to_the_word_read_leaves_the_likelier_answer_open():
    # The only word read is itself the k-th token: the missing one may be as likely.
    row = exact_reading(0.0, 0.02, 0.02)
    assert (row["top_decision"], row["p_refusal_top"]) == ("tie", 0.5)
    assert exact_reading(0.25, 0.25, 0.0)["top_decision"] == "tie"


def test_the_whole_vocabulary_read_has_no_bound_even_for_a_word_at_zero():
    row = exact_reading(0.0, 0.5, 0.0)
    assert (row["p_refusal"], row["p_refusal_low"], row["p_refusal_high"], row["bound"]) == (1.0, 1.0, 1.0, "none")


def test_no_yes_no_mass_is_no_reading():
    row = exact_reading(0.0, 0.0, 0.001)
    assert all(math.isnan(row[c]) for c in ("p_refusal", "p_refusal_low", "p_refusal_high", "p_refusal_top"))
    assert row["top_decision"] is None and row["yes_no_mass"] == 0.0


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(1e-6, 0.2), st.floats(0, 1), st.booleans())
def test_the_interval_holds_every_value_the_missing_word_may_take(yes, no, bound, where, drop_yes):
    yes, no = (0.0, max(no, 1e-9)) if drop_yes else (max(yes, 1e-9), 0.0)
    if yes + no > 1:
        return
    row = exact_reading(yes, no, bound)
    missing = where * bound  # any value the bound allows
    truth = no / (no + missing) if drop_yes else missing / (missing + yes)
    assert row["p_refusal_low"] - 1e-12 <= truth <= row["p_refusal_high"] + 1e-12
    assert row["p_refusal_low"] <= row["p_refusal"] <= row["p_refusal_high"]
    assert 0 < row["p_refusal"] < 1  # a bound never reads as certainty


def test_answers_cached_before_the_bound_was_stored_still_read():
    # The offline model read every token: a point.
    local = _exact({"p_yes": 0.2, "p_no": 0.3}, whole_vocabulary=True)
    assert local["bound"] == "none" and local["p_refusal"] == pytest.approx(0.6)
    # An endpoint's old answer with Yes missing: only 1 - P(no) bounds Yes.
    old = _exact({"p_yes": 0.0, "p_no": 0.9}, whole_vocabulary=False)
    assert old["bound"] == "no k-th value"
    assert (old["p_refusal_low"], old["p_refusal_high"]) == pytest.approx((0.9, 1.0))
    assert old["p_refusal"] == pytest.approx(0.95)
    # Both words read: nothing to bound, whatever the age of the answer.
    assert _exact({"p_yes": 0.1, "p_no": 0.3}, whole_vocabulary=False)["bound"] == "none"
    new = _exact({"p_yes": 0.0, "p_no": 0.9, "p_unlisted": 0.001, "top_k": 20}, whole_vocabulary=False)
    assert new["bound"] == "top-k" and new["p_refusal_low"] == pytest.approx(0.9 / 0.901)


# --- one bucket --------------------------------------------------------------

def exact_rows(readings, variant="baseline", scenario="a", level=1, reasoning=None):
    rows = []
    for i, (p_yes, p_no, bound) in enumerate(readings):
        rows.append({"model": "m", "variant": variant, "scenario": scenario, "level": level, "mode": "exact",
                     "sample": i, "status": "ok", "reasoning": reasoning, **exact_reading(p_yes, p_no, bound)})
    return pd.DataFrame(rows)


def test_bucket_shows_both_estimands_and_the_interval():
    table = stats.refusal_rates(exact_rows([(0.3, 0.45, 0.0)]))
    row = table.iloc[0]
    assert row["refusal_rate"] == pytest.approx(0.6) and row["rate_top"] == 1.0
    assert row["estimand"] == "probability" and row["rate_low"] == row["rate_high"] == pytest.approx(0.6)
    assert row["bounded"] == 0
    top = stats.use_estimand(table, "most_likely").iloc[0]
    assert (top["refusal_rate"], top["rate_low"], top["rate_high"], top["estimand"]) == (1.0, 1.0, 1.0, "most likely")
    assert np.isnan(top["se"]) and "likelier answer" in top["se_note"]
    same = stats.refusal_rates(exact_rows([(0.3, 0.45, 0.0)]), estimand="most_likely")
    pd.testing.assert_frame_equal(same, stats.use_estimand(table, "most_likely"))


def test_bucket_interval_is_the_mean_of_its_answers_intervals():
    chain = ["why", "then"]
    table = stats.refusal_rates(exact_rows([(0.0, 0.9, 0.001), (0.3, 0.45, 0.0)], variant="cot", reasoning=chain))
    row = table.iloc[0]
    assert row["rate_low"] == pytest.approx((0.9 / 0.901 + 0.6) / 2) and row["rate_high"] == pytest.approx(0.8)
    assert row["bounded"] == 1 and row["chains"] == 2 and row["rate_top"] == 1.0


def test_answers_without_yes_no_mass_are_not_counted_in_n():
    chain = ["why", "then"]
    table = stats.refusal_rates(exact_rows([(0.2, 0.6, 0.0), (0.0, 0.0, 0.0), (0.4, 0.4, 0.0)],
                                           variant="cot", reasoning=chain))
    row = table.iloc[0]
    assert (row["n"], row["invalid"], row["chains"]) == (2, 1, 2)
    assert row["refusal_rate"] == pytest.approx((0.75 + 0.5) / 2)
    assert row["se"] == pytest.approx(np.std([0.75, 0.5], ddof=1) / math.sqrt(2))
    assert row["yes_no_mass"] == pytest.approx((0.8 + 0 + 0.8) / 3)  # the mass of every answer received
    # The chain test counts 2 draws, not 3.
    out = stats.compare(table, pd.DataFrame({"scenario": ["a"], "level": [1], "yes": [30], "no": [20]}))
    assert out.loc[0, "model_n"] == 2
    # A bucket of nothing but mass 0 has no rate and n = 0.
    empty = stats.refusal_rates(exact_rows([(0.0, 0.0, 0.0)])).iloc[0]
    assert empty["n"] == 0 and empty["invalid"] == 1 and np.isnan(empty["refusal_rate"])


def test_rows_saved_before_the_estimands_still_make_a_bucket():
    rows = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "a", "level": 1, "mode": "exact",
                          "sample": 0, "status": "ok", "p_refusal": 0.3, "yes_no_mass": 0.5}])
    row = stats.refusal_rates(rows).iloc[0]
    assert (row["refusal_rate"], row["rate_low"], row["rate_high"], row["rate_top"]) == (0.3, 0.3, 0.3, 0.0)


def test_estimand_switch_is_checked():
    table = stats.refusal_rates(exact_rows([(0.3, 0.45, 0.0)]))
    with pytest.raises(ValueError, match="unknown estimand"):
        stats.use_estimand(table, "mode")
    with pytest.raises(ValueError, match="build it again"):
        stats.use_estimand(stats.use_estimand(table, "most_likely"), "probability")


def test_sampled_buckets_keep_their_rate_under_either_estimand():
    rows = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "a", "level": 1, "mode": "sample",
                          "sample": i, "status": "ok", "decision": d} for i, d in enumerate(["no", "yes", "no"])])
    table = stats.refusal_rates(rows, estimand="most_likely")
    assert table.loc[0, "refusal_rate"] == pytest.approx(2 / 3) and table.loc[0, "estimand"] == "sampled"


# --- against humans ----------------------------------------------------------

HUMANS_48_OF_50 = pd.DataFrame({"scenario": ["a"], "level": [1], "yes": [2], "no": [48]})


def test_a_bound_is_tested_at_its_end_nearest_the_humans_never_as_certainty():
    table = stats.refusal_rates(exact_rows([(0.0, 0.9, 0.001)]))  # Yes outside the top 20
    out = stats.compare(table, HUMANS_48_OF_50).iloc[0]
    low = 0.9 / 0.901
    assert out["tested_rate"] == pytest.approx(low) and out["model_rate"] == pytest.approx((low + 1) / 2)
    assert out["p_exact"] == pytest.approx(binomtest(48, 50, low).pvalue, rel=1e-9)
    z_ref, p_ref = proportions_ztest(48, 50, value=low, prop_var=low)
    assert out["p"] == pytest.approx(p_ref, rel=1e-7)
    # Read as certainty, the same answer would give p = 0 against these people.
    assert stats.exact_one_sample_test(1.0, 48, 50) == 0.0 and out["p_exact"] > 0


def test_humans_inside_the_interval_are_no_evidence_of_a_difference():
    table = stats.refusal_rates(exact_rows([(0.0, 0.02, 0.02)]))  # interval [0.5, 1]
    out = stats.compare(table, HUMANS_48_OF_50).iloc[0]
    assert out["tested_rate"] == pytest.approx(0.96) and out["p"] == 1.0
    assert out["p_exact"] == pytest.approx(binomtest(48, 50, 0.96).pvalue) and not out["significant_exact"]


def test_the_likelier_answer_of_one_forward_pass_is_compared_but_not_tested():
    table = stats.refusal_rates(exact_rows([(0.3, 0.45, 0.0)]))
    out = stats.compare(table, HUMANS_48_OF_50, estimand="most_likely").iloc[0]
    assert out["estimand"] == "most likely" and out["model_rate"] == 1.0 and out["diff"] == pytest.approx(0.04)
    assert np.isnan(out["p"]) and np.isnan(out["p_exact"]) and out["direction"] == "not tested"
    assert stats.compare(table, HUMANS_48_OF_50).loc[0, "estimand"] == "probability"


def test_chains_likelier_answers_are_tested_as_draws():
    chain = ["why", "then"]
    table = stats.refusal_rates(exact_rows([(0.3, 0.45, 0.0), (0.3, 0.45, 0.0), (0.6, 0.2, 0.0)],
                                           variant="cot", reasoning=chain))
    out = stats.compare(table, HUMANS_48_OF_50, estimand="most_likely").iloc[0]
    z, p = proportions_ztest([2, 48], [3, 50])
    assert (out["model_rate"], out["model_n"]) == pytest.approx((2 / 3, 3))
    assert (out["z"], out["p"]) == pytest.approx((z, p))


# --- what the run says -------------------------------------------------------

def test_warning_no_longer_claims_exact_mode_measures_temperature_zero():
    (warning,) = RunConfig(mode="sample", temperature=0, samples=5).warnings()
    assert "measures the same thing" not in warning
    assert "does not measure the same" in warning and "rate_top" in warning and "probability" in warning


def test_figures_name_their_estimand(repo):
    scen = load_scenarios(repo / "scenarios.toml")[:1]
    rows = pd.concat([exact_rows([(0.3, 0.45, 0.0)], scenario=scen[0].id, level=lv) for lv in (1, 2)])
    table = stats.refusal_rates(rows)
    ylabel = plots.figure1(table, scen).axes[0].get_ylabel()
    assert "P(no)" in ylabel
    assert "likelier answer" in plots.figure1(stats.use_estimand(table, "most_likely"), scen).axes[0].get_ylabel()
    assert stats.estimand_label(pd.DataFrame({"refusal_rate": [0.5]})) == "refusal rate"
