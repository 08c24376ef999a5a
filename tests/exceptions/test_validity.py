"""The validity card on synthetic bucket tables (made here, not measured): an agent
that reads the rule passes, and each way of not reading it fails the check named
for it; thresholds come from validity.toml, strictly checked."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from helpers.errors import ConfigError
from helpers.exceptions import validity
from helpers.exceptions.validity import FAIL, PASS, UNCHECKED, Thresholds

DRAWS = 300  # bootstrap draws: enough for these clear-cut tables, and quick


def exact_table(control=0.1, top=0.9, bottom=0.2, mass=0.9, scenarios=10, levels=6, noise=0.02, seed=1,
                with_control=True):
    """Exact-mode buckets: per scenario the control and levels 1..k falling linearly
    from `top` to `bottom`, plus a little scenario-specific noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(scenarios):
        curve = np.linspace(top, bottom, levels) + rng.normal(0, noise, levels)
        points = [(0, control + rng.normal(0, noise))] if with_control else []
        points += [(lv, curve[lv - 1]) for lv in range(1, levels + 1)]
        for level, rate in points:
            rows.append({"model": "m", "variant": "baseline", "scenario": f"s{s}", "level": level, "n": 1,
                         "yes": 0, "no": 0, "invalid": 0, "refusal_rate": float(np.clip(rate, 0, 1)),
                         "yes_no_mass": mass, "measure": "exact"})
    return pd.DataFrame(rows)


def sampled_table(control=0.1, top=0.9, bottom=0.2, samples=40, invalid=0, scenarios=10, levels=6):
    rows = []
    for s in range(scenarios):
        rates = [(0, control)] + list(zip(range(1, levels + 1), np.linspace(top, bottom, levels)))
        for level, rate in rates:
            no = int(round(rate * samples))
            rows.append({"model": "m", "variant": "baseline", "scenario": f"s{s}", "level": level,
                         "n": samples + invalid, "yes": samples - no, "no": no, "invalid": invalid,
                         "refusal_rate": no / samples, "yes_no_mass": float("nan"), "measure": "sampled"})
    return pd.DataFrame(rows)


def statuses(card):
    return {c.name: c.status for c in card.checks}


def test_an_agent_that_reads_the_rule_is_interpretable():
    card = validity.card(exact_table(), draws=DRAWS)
    assert statuses(card) == {"control vs level 1": PASS, "level sensitivity": PASS, "answer quality": PASS}
    assert card.verdict == "interpretable" and card.interpretable and card.reasons() == ""
    assert card.line() == "m, baseline: interpretable"
    row = validity.table([card]).iloc[0]
    assert row["control_rate"] < 0.15 and row["level1_rate"] > 0.85 and row["control_p"] == pytest.approx(2 ** -10)
    assert row["slope"] < -0.1 and row["rho_high"] < 0 and row["yes_no_mass"] == pytest.approx(0.9)


def test_flat_levels_fail_level_sensitivity_only():
    card = validity.card(exact_table(top=0.82, bottom=0.78, noise=0.005), draws=DRAWS)
    assert statuses(card) == {"control vs level 1": PASS, "level sensitivity": FAIL, "answer quality": PASS}
    assert card.verdict == "not interpretable" and card.failed == ["flat levels"]
    assert card.line() == "m, baseline: not interpretable (failed: flat levels)"


def test_a_barely_responsive_agent_fails_though_its_rates_follow_the_levels():
    # 0.85 -> 0.75: in order (the permutation test's p is small), but 0.02 per level.
    card = validity.card(exact_table(top=0.85, bottom=0.75, noise=0.0), draws=DRAWS)
    assert card.failed == ["flat levels"]
    assert validity.table([card]).iloc[0]["rho_high"] < 0, "the order is there; the size is not"


def test_a_control_refused_like_level_1_fails_the_control_check():
    card = validity.card(exact_table(control=0.9), draws=DRAWS)
    assert statuses(card)["control vs level 1"] == FAIL
    assert card.failed == ["control ≈ level 1"]


def test_low_yes_no_mass_fails_answer_quality():
    card = validity.card(exact_table(mass=0.3), draws=DRAWS)
    assert card.failed == ["low yes/no mass"]
    assert "mean yes/no mass 0.300" in card.checks[2].detail


def test_buckets_with_no_readable_answer_count_against_answer_quality():
    # Half the buckets answered with no yes/no mass at all: n = 0, no rate, mass 0.
    table = exact_table(mass=0.9)
    mute = table.index % 2 == 0
    table.loc[mute, ["n", "invalid", "refusal_rate", "yes_no_mass"]] = [0, 1, np.nan, 0.0]
    quality = validity.card(table, draws=DRAWS).checks[2]
    assert quality.status == FAIL and f"over {len(table)} buckets" in quality.detail


def test_the_offline_models_pattern_fails_all_three():
    # What issue 14 measured for the offline model, written as a synthetic table:
    # control as refused as level 1, flat levels, a third of the mass on yes/no.
    card = validity.card(exact_table(control=0.81, top=0.81, bottom=0.81, mass=0.31, noise=0.003), draws=DRAWS)
    assert card.failed == ["control ≈ level 1", "flat levels", "low yes/no mass"]
    assert card.line() == ("m, baseline: not interpretable "
                           "(failed: control ≈ level 1, flat levels, low yes/no mass)")


def test_no_control_is_unchecked_and_the_verdict_says_so():
    card = validity.card(exact_table(with_control=False), draws=DRAWS)
    assert statuses(card)["control vs level 1"] == UNCHECKED
    assert card.verdict == "not interpretable" and card.failed == []
    assert card.reasons() == "unchecked: control vs level 1"


def test_too_few_scenarios_for_the_paired_test_is_unchecked_not_failed():
    # 3 scenarios: the sign-flip test's smallest p is 1/8, so 0.05 is out of reach.
    card = validity.card(exact_table(scenarios=3), draws=DRAWS)
    check = card.checks[0]
    assert check.status == UNCHECKED and check.values["control_p"] == pytest.approx(1 / 8)
    assert "cannot reach p < 0.05" in check.detail


def test_one_scenario_cannot_confirm_a_slope_but_can_show_a_flat_one():
    steep = validity.card(exact_table(scenarios=1), draws=DRAWS)
    assert statuses(steep)["level sensitivity"] == UNCHECKED
    flat = validity.card(exact_table(scenarios=1, top=0.8, bottom=0.8, noise=0), draws=DRAWS)
    assert statuses(flat)["level sensitivity"] == FAIL


def test_sampled_control_test_is_fishers_on_the_pooled_counts():
    table = sampled_table(control=0.5, top=0.6, bottom=0.1, samples=20)
    check = validity.card(table, draws=DRAWS).checks[0]
    c = table[table["level"] == 0][["no", "yes"]].sum()
    one = table[table["level"] == 1][["no", "yes"]].sum()
    expected = fisher_exact([[one["no"], one["yes"]], [c["no"], c["yes"]]], alternative="greater").pvalue
    assert check.values["control_p"] == pytest.approx(expected, abs=1e-12)
    assert check.status == FAIL, "a gap of 0.1 is below 0.2 however significant"


def test_sampled_agents_pass_or_fail_on_invalid_answers():
    good = validity.card(sampled_table(invalid=2), draws=DRAWS)
    assert good.verdict == "interpretable" and good.measure == "sampled"
    bad = validity.card(sampled_table(invalid=15), draws=DRAWS)
    assert bad.failed == ["many invalid answers"]
    assert validity.table([bad]).iloc[0]["invalid_share"] == pytest.approx(15 / 55)


def test_cards_are_per_agent_and_skip_unmeasured_buckets():
    a = exact_table()
    b = exact_table(mass=0.2).assign(variant="virtue")
    not_run = a.head(3).assign(model="other", n=0, refusal_rate=float("nan"))
    found = validity.cards(pd.concat([a, b, not_run]), draws=DRAWS)
    assert [(c.model, c.variant, c.verdict) for c in found] == [
        ("m", "baseline", "interpretable"), ("m", "virtue", "not interpretable")]
    lines = validity.summary(found)
    assert lines[0] == "  m, baseline: interpretable" and lines[1].startswith("    control vs level 1: pass: ")
    with pytest.raises(ValueError, match="exactly one agent"):
        validity.card(pd.concat([a, b]))


def test_thresholds_from_toml_apply(tmp_path, monkeypatch):
    path = tmp_path / "validity.toml"
    path.write_text("# a referee's choice\nmin_mass = 0.25\nmin_control_gap = 0.5\n")
    thresholds, source = validity.load_thresholds(path)
    assert thresholds == Thresholds(min_mass=0.25, min_control_gap=0.5) and source == str(path)
    table = exact_table(mass=0.3, control=0.5)
    assert validity.card(table, draws=DRAWS).failed == ["low yes/no mass"]
    assert validity.card(table, thresholds, draws=DRAWS).failed == ["control ≈ level 1"]
    # Without a path: the workspace's validity.toml if there is one, else the defaults.
    monkeypatch.setenv("EXCEPTIONS_HOME", str(tmp_path))
    assert validity.load_thresholds() == (thresholds, str(path))
    path.unlink()
    assert validity.load_thresholds() == (Thresholds(), "defaults")


BAD = [
    ("min_mass = ", "not valid TOML"),
    ("min_mas = 0.3", "unknown key `min_mas`; allowed keys are min_control_gap, alpha, min_slope"),
    ('min_mass = "0.3"', "`min_mass` must be a number, got a string"),
    ("min_mass = true", "`min_mass` must be a number, got true/false"),
    ("[validity]\nmin_mass = 0.3", "unknown key `validity`"),
    ("max_invalid = 1.5", "`max_invalid` must be a number from 0 to 1, got 1.5"),
    ("alpha = 0", "`alpha` must be a number between 0 and 1, both excluded, got 0"),
    ("min_slope = nan", "`min_slope` must be a number from 0 to 1, got nan"),
]


@pytest.mark.parametrize("text,expected", BAD)
def test_bad_thresholds_are_one_line_errors(tmp_path, text, expected):
    path = tmp_path / "validity.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        validity.load_thresholds(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_a_named_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        validity.load_thresholds(tmp_path / "nope.toml")


def test_a_bad_workspace_file_stops_a_run_before_it_spends(tmp_path, monkeypatch, run_cli, repo):
    for name in ("scenarios.toml", "variants.toml", "models.toml", "prices.toml"):
        (tmp_path / name).write_text((repo / name).read_text())
    (tmp_path / "validity.toml").write_text("min_mass = 2\n")
    monkeypatch.setenv("EXCEPTIONS_HOME", str(tmp_path))
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1")
    assert code == 2 and out == ""
    assert err.strip() == f"error: {tmp_path / 'validity.toml'}: `min_mass` must be a number from 0 to 1, got 2"
