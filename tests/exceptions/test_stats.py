"""The statistics, checked against statsmodels/scipy and hand calculations."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from helpers.exceptions import stats


def responses(decisions_by_bucket, model="m", variant="baseline"):
    rows = []
    for (scenario, level), decisions in decisions_by_bucket.items():
        for i, d in enumerate(decisions):
            rows.append({"model": model, "variant": variant, "scenario": scenario, "level": level,
                         "mode": "sample", "sample": i, "status": "ok" if d != "failed" else "failed",
                         "decision": d if d != "failed" else None})
    return pd.DataFrame(rows)


def rates_table(matrix, model="m", variant="baseline", n=100):
    # Includes `n` like the real refusal_rates() table, so name clashes would show.

    """Sampled-mode bucket table with given refusal rates (rows scenarios, cols levels)."""
    rows = []
    for s, row in enumerate(matrix):
        for lv, rate in enumerate(row, start=1):
            no = round(rate * n)
            rows.append({"model": model, "variant": variant, "scenario": f"s{s}", "level": lv,
                         "n": n, "yes": n - no, "no": no, "refusal_rate": no / n, "measure": "sampled"})
    return pd.DataFrame(rows)


def human_table(matrix, n=100):
    return pd.DataFrame([{"scenario": f"s{s}", "level": lv, "refusal_rate": r, "n": n}
                         for s, row in enumerate(matrix) for lv, r in enumerate(row, start=1)])


# --- refusal_rates -----------------------------------------------------------

def test_refusal_rate_counts_se_and_wilson_by_hand():
    table = stats.refusal_rates(responses({("a", 1): ["no"] * 3 + ["yes"] + ["invalid"] + ["failed"] * 2}))
    row = table.iloc[0]
    # n counts answers received (valid or not); failed calls are not answers.
    assert (row["n"], row["yes"], row["no"], row["invalid"], row["failed"]) == (5, 1, 3, 1, 2)
    assert row["refusal_rate"] == 0.75  # invalid and failed are in neither part of eq. 1
    assert row["se"] == pytest.approx(math.sqrt(0.75 * 0.25 / 4))
    low, high = proportion_confint(3, 4, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["measure"] == "sampled"


def test_exact_mode_bucket_has_no_se_and_says_why():
    rows = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "a", "level": 1, "mode": "exact",
                          "sample": 0, "status": "ok", "p_refusal": 0.8, "yes_no_mass": 0.4}])
    row = stats.refusal_rates(rows).iloc[0]
    assert row["refusal_rate"] == 0.8 and np.isnan(row["se"]) and row["measure"] == "exact"
    assert "no SE" in row["se_note"]


def test_exact_chain_buckets_are_tested_as_draws_not_as_a_known_probability():
    # One exact single-turn bucket and one exact chain bucket (3 sampled reasonings)
    # with the same mean P(no) = 0.9, against humans refusing 20 of 50.
    def row(variant, sample, p, reasoning):
        return {"model": "m", "variant": variant, "scenario": "a", "level": 1, "mode": "exact",
                "sample": sample, "status": "ok", "p_refusal": p, "yes_no_mass": 0.5, "reasoning": reasoning}
    table = stats.refusal_rates(pd.DataFrame(
        [row("baseline", 0, 0.9, None)] + [row("cot", i, p, ["why", "how"]) for i, p in enumerate((0.8, 0.9, 1.0))]))
    assert list(table["chains"]) == [0, 3]
    human = pd.DataFrame({"scenario": ["a"], "level": [1], "yes": [30], "no": [20]})
    out = stats.compare(table, human).set_index("variant")
    assert (out.loc["baseline", "z"], out.loc["baseline", "p"]) == pytest.approx(stats.one_sample_test(0.9, 20, 50))
    # The chain bucket is 3 draws at rate 0.9: far less certain than a known 0.9.
    z, p = proportions_ztest([0.9 * 3, 20], [3, 50])
    assert (out.loc["cot", "z"], out.loc["cot", "p"]) == pytest.approx((z, p))
    assert out.loc["cot", "model_n"] == 3 and out.loc["cot", "p"] > out.loc["baseline", "p"]


def test_all_invalid_bucket_has_no_rate():
    row = stats.refusal_rates(responses({("a", 1): ["invalid", "invalid"]})).iloc[0]
    assert np.isnan(row["refusal_rate"]) and row["invalid"] == 2


def test_refusal_rates_ignore_row_order():
    data = responses({("a", 1): ["no", "yes", "no"], ("a", 2): ["yes", "yes"], ("b", 1): ["no"]})
    one = stats.refusal_rates(data).sort_values(["scenario", "level"]).reset_index(drop=True)
    two = stats.refusal_rates(data.sample(frac=1, random_state=3)).sort_values(["scenario", "level"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(one, two)


# --- proportion tests --------------------------------------------------------

counts = st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=300, deadline=None)
@given(counts, counts)
def test_proportion_test_matches_statsmodels(a, b):
    (k1, n1), (k2, n2) = a, b
    z, p = stats.proportion_test(k1, n1, k2, n2)
    if (k1 + k2) in (0, n1 + n2):
        assert (z, p) == (0.0, 1.0)
        return
    z_ref, p_ref = proportions_ztest([k1, k2], [n1, n2])
    assert z == pytest.approx(z_ref, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(p_ref, rel=1e-7, abs=1e-300)


def test_proportion_test_hand_case():
    # 30/50 vs 10/50: pooled 0.4, SE sqrt(0.24 * 0.04) = 0.09798
    z, p = stats.proportion_test(30, 50, 10, 50)
    assert z == pytest.approx(0.4 / math.sqrt(0.4 * 0.6 * 0.04))
    assert p == pytest.approx(2 * norm.sf(z))


@pytest.mark.parametrize("k1,n1,k2,n2,expected", [
    (0, 10, 0, 20, (0.0, 1.0)),      # both 0/n: identical, no evidence of a difference
    (10, 10, 20, 20, (0.0, 1.0)),    # both n/n
])
def test_proportion_test_degenerate(k1, n1, k2, n2, expected):
    assert stats.proportion_test(k1, n1, k2, n2) == expected


def test_zero_versus_all_is_highly_significant():
    z, p = stats.proportion_test(0, 50, 50, 50)
    assert z == pytest.approx(-1 / math.sqrt(0.25 * 0.04)) and p < 1e-20


@pytest.mark.parametrize("args", [(1, 0, 1, 5), (6, 5, 1, 5), (-1, 5, 1, 5)])
def test_proportion_test_rejects_impossible_counts(args):
    with pytest.raises(ValueError):
        stats.proportion_test(*args)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 0.99), counts)
def test_one_sample_test_matches_statsmodels_with_null_variance(p0, kn):
    k, n = kn
    z, p = stats.one_sample_test(p0, k, n)
    z_ref, p_ref = proportions_ztest(k, n, value=p0, prop_var=p0)
    assert -z == pytest.approx(z_ref, rel=1e-9, abs=1e-12)  # ours is signed model - human
    assert p == pytest.approx(p_ref, rel=1e-7, abs=1e-300)


def test_one_sample_test_at_certainty():
    assert stats.one_sample_test(1.0, 10, 10) == (0.0, 1.0)
    assert stats.one_sample_test(1.0, 9, 10) == (math.inf, 0.0)


# --- compare, summarize, mean absolute difference ----------------------------

def test_compare_counts_direction_and_adjustments():
    model = rates_table([[0.9, 0.9, 0.5], [0.2, 0.6, 0.6]])
    human = human_table([[0.5, 0.9, 0.5], [0.6, 0.6, 0.6]])
    out = stats.compare(model, human)
    assert len(out) == 6
    by = out.set_index(["scenario", "level"])
    assert by.loc[("s0", 1), "direction"] == "model stricter"
    assert by.loc[("s1", 1), "direction"] == "model laxer"
    assert by.loc[("s0", 2), "direction"] == "not significant" and by.loc[("s0", 2), "p"] == 1.0
    z, p = stats.proportion_test(90, 100, 50, 100)
    assert by.loc[("s0", 1), "z"] == pytest.approx(z) and by.loc[("s0", 1), "p"] == pytest.approx(p)
    for method in ("holm", "fdr_bh"):
        expected = multipletests(out["p"], method=method)[1]
        assert out[f"p_{method}"].to_numpy() == pytest.approx(expected)
    summary = stats.summarize(out).iloc[0]
    assert (summary["buckets"], summary["significant"], summary["model_stricter"], summary["model_laxer"]) == (6, 2, 1, 1)
    assert summary["mean_abs_diff"] == pytest.approx((0.4 + 0.4) / 6)


def test_compare_accepts_individual_human_responses():
    model = rates_table([[1.0, 0.0]])
    people = pd.DataFrame({"scenario": ["s0"] * 6, "level": [1, 1, 1, 2, 2, 2],
                           "decision": ["no", "no", "yes", "yes", "yes", "no"]})
    out = stats.compare(model, people).set_index("level")
    assert out.loc[1, "human_rate"] == pytest.approx(2 / 3) and out.loc[1, "human_n"] == 3
    z, p = stats.proportion_test(100, 100, 2, 3)
    assert out.loc[1, "p"] == pytest.approx(p)


def test_compare_only_matched_buckets_and_row_order_free():
    model = rates_table([[0.9, 0.8], [0.7, 0.6]])
    human = human_table([[0.5, 0.4]])
    out = stats.compare(model, human)
    assert set(out["scenario"]) == {"s0"}
    shuffled = stats.compare(model.sample(frac=1, random_state=1), human.sample(frac=1, random_state=2))
    key = ["scenario", "level"]
    pd.testing.assert_frame_equal(out.sort_values(key).reset_index(drop=True),
                                  shuffled.sort_values(key).reset_index(drop=True))


def test_mean_absolute_difference_by_hand():
    model = rates_table([[0.9, 0.8, 0.7]])
    human = human_table([[0.5, 0.8, 0.9]])
    assert stats.mean_absolute_difference(model, human) == pytest.approx((0.4 + 0 + 0.2) / 3)
    with pytest.raises(ValueError, match="one agent"):
        stats.mean_absolute_difference(pd.concat([model, model.assign(model="m2")]), human)


# --- level permutation test ---------------------------------------------------

def brute_force(model, human):
    m, h = np.asarray(model, float), np.asarray(human, float)
    k = m.shape[1]
    observed = np.abs(m - h).mean()
    null = [np.abs(m[:, list(p)] - h).mean() for p in itertools.permutations(range(k))]
    return observed, sum(d <= observed + 1e-12 for d in null) / len(null)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 5).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.integers(0, 20), min_size=k, max_size=k), min_size=1, max_size=4),
    st.lists(st.lists(st.integers(0, 20), min_size=k, max_size=k), min_size=4, max_size=4))))
def test_permutation_test_matches_brute_force(data):
    model_rows, human_rows = data
    human_rows = human_rows[: len(model_rows)]
    model = [[x / 20 for x in row] for row in model_rows]
    human = [[x / 20 for x in row] for row in human_rows]
    result = stats.level_permutation_test(rates_table(model, n=20), human_table(human, n=20))
    observed, p = brute_force(model, human)
    assert result.observed == pytest.approx(observed)
    assert result.p_value == pytest.approx(p)
    assert result.method == "exact" and result.permutations == math.factorial(len(model[0]))


def test_identical_distinct_rates_give_zero_distance_and_p_one_over_k_factorial():
    rates = [[0.9, 0.7, 0.5, 0.4, 0.2, 0.1], [0.95, 0.8, 0.6, 0.5, 0.3, 0.05]]
    result = stats.level_permutation_test(rates_table(rates), human_table(rates))
    assert result.observed == 0 and result.p_value == pytest.approx(1 / 720)
    assert len(result.null) == 720 and result.null.min() == 0


def test_flat_model_cannot_beat_permutations():
    # A model that ignores the level matches every permutation equally: p = 1.
    result = stats.level_permutation_test(rates_table([[0.9] * 4]), human_table([[0.9, 0.6, 0.3, 0.1]]))
    assert result.p_value == 1.0


def test_monte_carlo_above_eight_levels_is_stated_and_seeded():
    k = 9
    model = [[i / k for i in range(k)]] * 2
    a = stats.level_permutation_test(rates_table(model), human_table(model), draws=2000, seed=1)
    b = stats.level_permutation_test(rates_table(model), human_table(model), draws=2000, seed=1)
    assert a.method == "monte carlo" and a.permutations == 2000
    assert a.p_value == b.p_value == pytest.approx(1 / 2001, abs=2 / 2001)
    assert np.array_equal(a.null, b.null)


def test_permutation_test_uses_only_complete_scenarios():
    model = rates_table([[0.9, 0.5], [0.8, 0.4]])
    human = human_table([[0.9, 0.5], [0.8, 0.4]]).iloc[:3]  # s1 misses level 2
    result = stats.level_permutation_test(model, human)
    assert result.scenarios == ["s0"]
