"""The exact tests beside the paper's z-tests, checked against their definitions
(sums of binomial and hypergeometric probabilities) and scipy to 1e-9."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, fisher_exact, hypergeom

from helpers.exceptions import stats


def binomial_by_definition(k, n, p):
    """Two-sided: the probability of every outcome no likelier than k (R's binom.test)."""
    pmf = binom.pmf(np.arange(n + 1), n, p)
    return min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum())


def fisher_by_definition(a, n1, c, n2):
    """Two-sided: every table with the same margins no likelier than the one seen."""
    total, refused = n1 + n2, a + c
    support = np.arange(max(0, refused - n2), min(n1, refused) + 1)
    pmf = hypergeom.pmf(support, total, refused, n1)
    seen = hypergeom.pmf(a, total, refused, n1)
    return min(1.0, pmf[pmf <= seen * (1 + 1e-7)].sum())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 80), data=st.data(), p=st.floats(0.01, 0.99))
def test_binomial_test_is_its_definition(n, data, p):
    k = data.draw(st.integers(0, n))
    assert stats.exact_one_sample_test(p, k, n) == pytest.approx(binomial_by_definition(k, n, p), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(n1=st.integers(1, 60), n2=st.integers(1, 60), data=st.data())
def test_fisher_test_is_its_definition(n1, n2, data):
    a, c = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    assert stats.exact_two_sample_test(a, n1, c, n2) == pytest.approx(fisher_by_definition(a, n1, c, n2), abs=1e-9)


def test_the_z_test_is_anti_conservative_near_certainty():
    # The case: a model at 0.99 against 48 of 50 people.
    z_p = stats.one_sample_test(0.99, 48, 50)[1]
    exact = stats.exact_one_sample_test(0.99, 48, 50)
    assert round(z_p, 3) == 0.033 and round(exact, 3) == 0.089
    assert exact > 0.05 > z_p


def test_certainty_contradicted_is_p_zero_and_agreed_is_one():
    assert stats.exact_one_sample_test(1.0, 49, 50) == 0.0
    assert stats.exact_one_sample_test(1.0, 50, 50) == 1.0


def test_counts_from_rates_are_rounded_and_impossible_ones_refused():
    assert stats.exact_two_sample_test(9.6, 10, 3.2, 10) == stats.exact_two_sample_test(10, 10, 3, 10)
    with pytest.raises(ValueError, match="0..n"):
        stats.exact_two_sample_test(11, 10, 3, 10)


def test_compare_puts_the_exact_test_beside_the_paper_one():
    model = pd.DataFrame([
        {"model": "m", "variant": "v", "scenario": "a", "level": 1, "refusal_rate": 0.9, "yes": 10, "no": 90,
         "measure": "sampled", "chains": 0},
        {"model": "m", "variant": "v", "scenario": "a", "level": 2, "refusal_rate": 0.99, "yes": 0, "no": 0,
         "measure": "exact", "chains": 0},
        {"model": "m", "variant": "v", "scenario": "a", "level": 3, "refusal_rate": 0.5, "yes": 0, "no": 0,
         "measure": "exact", "chains": 8},
    ])
    people = pd.DataFrame({"scenario": ["a"] * 3, "level": [1, 2, 3], "no": [30, 48, 2], "yes": [20, 2, 8]})
    out = stats.compare(model, people).set_index("level")
    assert list(out["exact_test"]) == ["fisher", "binomial", "fisher"]
    assert out.loc[1, "p_exact"] == pytest.approx(fisher_exact([[90, 10], [30, 20]]).pvalue, abs=1e-9)
    assert out.loc[2, "p_exact"] == pytest.approx(binomial_by_definition(48, 50, 0.99), abs=1e-9)
    assert out.loc[3, "p_exact"] == pytest.approx(fisher_exact([[4, 4], [2, 8]]).pvalue, abs=1e-9)
    # The paper's z-test stays where it was; significance is given for both.
    assert out.loc[2, "p"] == pytest.approx(stats.one_sample_test(0.99, 48, 50)[1])
    assert bool(out.loc[2, "significant"]) and not bool(out.loc[2, "significant_exact"])
    assert stats.summarize(out.reset_index())["significant_exact"].iloc[0] == int(out["significant_exact"].sum())
