"""Reference points for the gap (noise floor, flat model, bootstrap interval) and
the trends read beside the level-permutation test."""

import numpy as np
import pandas as pd
import pytest

from helpers.exceptions import gaps, stats, trends

RNG = np.random.default_rng(7)
SCENARIOS = [f"s{i}" for i in range(8)]
TRUE = {(s, lv): 0.9 - 0.15 * (lv - 1) + 0.01 * i for i, s in enumerate(SCENARIOS) for lv in range(1, 7)}


def people(per_bucket=50):
    """Individual answers: each participant answers one level of every scenario."""
    rows = []
    for person in range(per_bucket * 6):
        for s in SCENARIOS:
            level = 1 + (person + SCENARIOS.index(s)) % 6
            rows.append({"participant_id": f"p{person}", "scenario": s, "level": level,
                         "decision": "no" if RNG.random() < TRUE[(s, level)] else "yes"})
    return pd.DataFrame(rows)


def exact_agent(rates, model="m", variant="v"):
    return pd.DataFrame([{"model": model, "variant": variant, "scenario": s, "level": lv, "refusal_rate": r,
                          "measure": "exact", "yes": 0, "no": 0, "chains": 0} for (s, lv), r in rates.items()])


def test_reference_points_by_their_definitions():
    humans = people()
    observed = stats.human_counts(humans).set_index(["scenario", "level"])["human_rate"]
    flat = exact_agent({key: 0.8 for key in TRUE})
    result = gaps.gap(flat, humans, draws=500)
    assert result.observed == pytest.approx((observed - 0.8).abs().mean())
    assert result.flat_rate == pytest.approx(observed.mean())
    assert result.flat == pytest.approx((observed - observed.mean()).abs().mean())
    # Sampling noise of ~50 people per bucket: E|p_hat - p| = sqrt(2/pi) sqrt(p(1-p)/n), averaged.
    expected = np.mean([np.sqrt(2 / np.pi) * np.sqrt(p * (1 - p) / 50) for p in observed])
    assert result.noise_floor == pytest.approx(expected, rel=0.2)
    assert result.ci_low <= result.observed <= result.ci_high and result.resampled == "participants"


def test_the_interval_holds_the_observed_gap_even_for_a_model_equal_to_the_sample():
    # Percentiles of resampled gaps sit above a gap near 0 (the noise floor biases them
    # upwards); shifting them by that bias corrects it, and nothing goes below 0.
    humans = people()
    observed = stats.human_counts(humans).set_index(["scenario", "level"])["human_rate"]
    same = gaps.gap(exact_agent(observed.to_dict()), humans, draws=500)
    assert same.observed == pytest.approx(0) and same.ci_low == 0 and same.ci_low <= same.observed <= same.ci_high
    near = gaps.gap(exact_agent({k: min(1.0, v + 0.03) for k, v in observed.items()}), humans, draws=500)
    assert near.ci_low <= near.observed <= near.ci_high


def test_a_model_at_the_true_rates_scores_near_the_floor_and_a_flat_one_far_above():
    humans = people()
    truth = gaps.gap(exact_agent(TRUE), humans, draws=500)
    flat = gaps.gap(exact_agent({key: 0.7 for key in TRUE}), humans, draws=500)
    assert truth.observed < 1.5 * truth.noise_floor
    assert flat.observed > 3 * flat.noise_floor


def test_counts_are_resampled_binomially_and_sampled_agents_too():
    counts = pd.DataFrame([{"scenario": s, "level": lv, "no": round(40 * p), "yes": 40 - round(40 * p)}
                           for (s, lv), p in TRUE.items()])
    agent = exact_agent(TRUE).assign(measure="sampled", yes=20, no=lambda t: 0)
    agent["no"] = (agent["refusal_rate"] * 100).round().astype(int)
    agent["yes"] = 100 - agent["no"]
    result = gaps.gap(agent, counts, draws=300)
    assert result.resampled == "bucket counts (binomial) and the agent's answers"
    assert gaps.gap(agent, counts, draws=300, seed=3) == gaps.gap(agent, counts, draws=300, seed=3)


def test_several_agents_are_refused_and_tabled_one_by_one():
    humans = people()
    both = pd.concat([exact_agent(TRUE), exact_agent(TRUE, variant="w")])
    for pooled in (gaps.gap, stats.level_permutation_test, trends.level_agreement):
        with pytest.raises(ValueError, match="one agent"):
            pooled(both, humans)
    with pytest.raises(ValueError, match="one agent"):
        stats.mean_absolute_difference(both, humans)
    table = gaps.gap_table(both, humans, draws=100)
    assert list(table["variant"]) == ["v", "w"] and table["observed"].nunique() == 1


def test_a_barely_responsive_model_passes_the_permutation_test_but_its_trend_shows_it():
    humans = people()
    barely = exact_agent({(s, lv): 0.85 - 0.02 * (lv - 1) for s, lv in TRUE})
    assert stats.level_permutation_test(barely, humans).p_value < 0.05
    sensitivity = trends.level_sensitivity(barely)
    assert sensitivity.slope.value == pytest.approx(-0.02)
    agreement = trends.level_agreement(barely, humans)
    assert agreement.spearman.value > 0.8 and agreement.slope.high < 0.3  # ordered, yet 1/7 of people's swing


def test_a_flat_model_has_no_rank_correlation_and_a_zero_slope():
    flat = trends.level_sensitivity(exact_agent({key: 0.81 for key in TRUE}))
    assert np.isnan(flat.spearman.value) and str(flat.spearman) == "undefined"
    assert flat.slope.value == pytest.approx(0.0) and not flat.slope.excludes_zero()


def test_trend_intervals_resample_scenarios_and_are_seeded():
    x = np.tile(np.arange(1, 7), 5)
    y = -0.1 * x + np.repeat(np.linspace(0, 0.4, 5), 6)
    result = trends.trend(x, y, np.repeat(list("abcde"), 6), draws=200, seed=1)
    assert result.slope.value == pytest.approx(-0.1) and result.slope.excludes_zero()
    assert result.spearman.value < 0 and (result.points, result.clusters) == (30, 5)
    assert result == trends.trend(x, y, np.repeat(list("abcde"), 6), draws=200, seed=1)


def test_paper_reported_permutation_ps_below_the_exact_floor_say_so():
    from helpers.exceptions.reference import paper_reported

    table = paper_reported()
    ps = table[table["metric"] == "permutation_p"]
    below = ps[ps["value"] < 1 / ps["denominator"]]
    assert len(below) >= 1
    assert below["note"].str.contains("p <= 0.0014", regex=False).all()
    assert not ps.drop(below.index)["note"].str.contains("p <= 0.0014", regex=False).any()
