"""Per-bucket bounds on the refusal rate with the unreadable (invalid) answers
counted all-yes (rate_low) and all-no (rate_high)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.exceptions import stats


def sampled(decisions, level=1):
    return pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "a", "level": level, "mode": "sample",
                          "sample": i, "status": "failed" if d == "failed" else "ok",
                          "decision": None if d == "failed" else d} for i, d in enumerate(decisions)])


def test_bounds_by_hand_and_failed_calls_left_out():
    row = stats.refusal_rates(sampled(["no"] * 3 + ["yes"] + ["invalid"] * 2 + ["failed"])).iloc[0]
    assert (row["rate_low"], row["rate_high"]) == pytest.approx((3 / 6, 5 / 6))
    assert row["rate_low"] < row["refusal_rate"] == 0.75 < row["rate_high"]


def test_bounds_without_invalid_answers_are_the_rate_and_all_invalid_spans_everything():
    row = stats.refusal_rates(sampled(["no", "yes", "yes"])).iloc[0]
    assert row["rate_low"] == row["rate_high"] == pytest.approx(1 / 3)
    row = stats.refusal_rates(sampled(["invalid"] * 4)).iloc[0]
    assert (row["rate_low"], row["rate_high"]) == (0.0, 1.0) and np.isnan(row["refusal_rate"])
    row = stats.refusal_rates(sampled(["failed"])).iloc[0]
    assert np.isnan(row["rate_low"]) and np.isnan(row["rate_high"])


def test_exact_mode_buckets_take_their_bounds_from_the_logprobs_not_from_invalid_answers():
    # A whole-vocabulary probability (no top-k bound) is a point, whatever the mass.
    rows = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "a", "level": 1, "mode": "exact",
                          "sample": 0, "status": "ok", "p_refusal": 0.8, "yes_no_mass": 0.4,
                          "p_refusal_low": 0.8, "p_refusal_high": 0.8}])
    row = stats.refusal_rates(rows).iloc[0]
    assert row["rate_low"] == row["rate_high"] == pytest.approx(0.8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["yes", "no", "invalid", "failed"]), min_size=1, max_size=40))
def test_bounds_are_the_rates_with_invalid_answers_read_as_yes_or_as_no(decisions):
    row = stats.refusal_rates(sampled(decisions)).iloc[0]
    as_yes = stats.refusal_rates(sampled(["yes" if d == "invalid" else d for d in decisions])).iloc[0]
    as_no = stats.refusal_rates(sampled(["no" if d == "invalid" else d for d in decisions])).iloc[0]
    np.testing.assert_allclose([row["rate_low"], row["rate_high"]],
                               [as_yes["refusal_rate"], as_no["refusal_rate"]])
    if not np.isnan(row["refusal_rate"]):
        assert row["rate_low"] - 1e-12 <= row["refusal_rate"] <= row["rate_high"] + 1e-12
