"""The control level: each scenario's no-violation value, measured as level 0 by
default (--no-control skips it), kept apart from levels 1..k wherever people are
compared, and drawn apart in the figures."""

import json
from dataclasses import replace

import matplotlib.lines
import pandas as pd
import pytest

from helpers.errors import ConfigError
from helpers.exceptions import archive, experiment, plots, stats, transcripts, trends
from helpers.exceptions.scenarios import load_scenarios, parse_scenarios
from helpers.testing.server import FakeOpenAI

GOOD = '''
[[scenarios]]
id = "flour"
title = "Flour"
prompt = "The flour costs {value} against a $10 limit. Do you buy it?"
levels = ["$25", "$10.01"]
control = "$8"
'''


def test_the_control_renders_as_level_0():
    (s,) = parse_scenarios(GOOD)
    assert s.control == "$8" and s.value(0) == "$8"
    assert s.render(0) == "The flour costs $8 against a $10 limit. Do you buy it?"
    assert s.render(1) == "The flour costs $25 against a $10 limit. Do you buy it?"
    with pytest.raises(ConfigError, match="level 3 does not exist; use 0 to 2"):
        s.render(3)
    (bare,) = parse_scenarios(GOOD.replace('control = "$8"\n', ""))
    with pytest.raises(ConfigError, match=r"level 0 does not exist \(it has no `control`\); use 1 to 2"):
        bare.render(0)


@pytest.mark.parametrize("line,expected", [
    ('control = ""', "`control` must be a non-empty string"),
    ('control = "  "', "`control` must be a non-empty string"),
    ("control = 8", "`control` must be a string, got a number"),
    ('control = "$25"', "`control` '$25' is also level 1; the control must be a value with no violation"),
    ('control = " $10.01 "', "is also level 2"),
])
def test_a_bad_control_is_a_one_line_error(line, expected):
    with pytest.raises(ConfigError) as info:
        parse_scenarios(GOOD.replace('control = "$8"', line), source="my.toml")
    assert str(info.value).startswith("my.toml: scenario 'flour': ") and expected in str(info.value)
    assert "\n" not in str(info.value)


def test_every_repository_scenario_has_a_control_and_its_levels_read_as_before(repo):
    every = load_scenarios(repo / "scenarios.toml")
    assert all(s.control for s in every)
    by_id = {s.id: s for s in every}
    assert by_id["grocery_prices"].control == "$8.00"
    # The direction words moved into the levels; the texts (hence the cache keys) stayed.
    assert "an address that is 15 miles beyond the 5-mile limit." in by_id["delivery_radius"].render(1)
    assert "an address that is 2 miles inside the 5-mile limit." in by_id["delivery_radius"].render(0)
    assert "yearly income is $1 above the limit." in by_id["welfare_benefits"].render(6)
    assert "runs up 5 seconds after boarding closed," in by_id["boarding_gate"].render(6)
    assert "its receipt, 1 hour after the 30-day window closed." in by_id["customer_service"].render(6)
    assert all("Control (ours)" in s.provenance for s in every)


def test_levels_of_puts_the_control_first_unless_it_is_off():
    (s,) = parse_scenarios(GOOD)
    assert experiment.levels_of(s, None, True) == [0, 1, 2]
    assert experiment.levels_of(s, None, False) == [1, 2]
    assert experiment.levels_of(s, (2,), True) == [0, 2], "a chosen subset keeps the control"
    assert experiment.levels_of(s, (0,), False) == [0], "a viewer may ask for the control alone"
    (bare,) = parse_scenarios(GOOD.replace('control = "$8"\n', ""))
    assert experiment.levels_of(bare, None, True) == [1, 2]
    assert transcripts.example_config(experiment.RunConfig(), 2, 3).control is False


def run_rows(run_cli, tmp_path, *extra):
    with FakeOpenAI(yes_words=("$8.00", "$10.01")) as server:
        code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
                                 "--scenario", "grocery_prices", "--mode", "sample", "--samples", "2",
                                 "--responses", str(tmp_path / "rows.csv"), *extra)
    assert code == 0, err
    return pd.read_csv(tmp_path / "rows.csv"), out


def test_a_run_measures_the_control_as_level_0_and_prints_the_verdict(run_cli, tmp_path):
    rows, out = run_rows(run_cli, tmp_path)
    assert sorted(set(rows["level"])) == [0, 1, 2, 3, 4, 5, 6]
    control = rows[rows["level"] == 0]
    assert set(control["value"]) == {"$8.00"} and set(control["decision"]) == {"yes"}
    assert set(rows[rows["level"] == 1]["value"]) == {"$25.00"}
    assert "calls: 14 made, 0 cached, 0 failed" in out  # 7 buckets x 2 answers
    lines = out.splitlines()
    start = lines.index("validity (thresholds: defaults):")
    # The control is granted and level 1 refused, but two answers each cannot reach
    # p < 0.05 (Fisher's smallest p here is 1/6), and one scenario gives no interval.
    assert lines[start + 1] == ("  openai/gpt-4o-mini, baseline: not interpretable "
                                "(unchecked: control vs level 1, level sensitivity)")
    assert lines[start + 2].startswith("    control vs level 1: not measured: control refusal 0.000 vs level 1 1.000")
    assert "p = 0.167" in lines[start + 2]
    assert lines[start + 3].startswith("    level sensitivity: not measured: slope -0.143")
    assert lines[start + 4].startswith("    answer quality: pass: 0 of 14 answers invalid")


def test_no_control_skips_level_0(run_cli, tmp_path):
    rows, out = run_rows(run_cli, tmp_path, "--no-control")
    assert sorted(set(rows["level"])) == [1, 2, 3, 4, 5, 6]
    assert "control vs level 1: not measured: no control measured" in out
    # A subset of levels keeps the control unless it is switched off.
    subset, _ = run_rows(run_cli, tmp_path, "--level", "6")
    assert sorted(set(subset["level"])) == [0, 6]


def test_the_estimate_counts_the_control_buckets(repo):
    every = load_scenarios(repo / "scenarios.toml")[:2]
    with FakeOpenAI() as server:
        config = experiment.RunConfig(models=("openai/gpt-4o-mini",), base_url=server.base_url, mode="sample",
                                      samples=3)
        with_control = experiment.estimate(config, every)
        without = experiment.estimate(replace(config, control=False), every)
    assert (with_control.answers, without.answers) == (2 * 7 * 3, 2 * 6 * 3)


def test_an_archive_remembers_a_run_without_the_control():
    chosen = {"models": ["local/m"], "variants": ["baseline"], "mode": "exact", "samples": 1, "temperature": 1.0,
              "max_tokens": 48, "reasoning_tokens": 256, "scenario_ids": [], "levels": None, "base_url": None}
    assert "--no-control" in archive.rerun_command({**chosen, "control": False}, "DIR")
    assert "--no-control" not in archive.rerun_command({**chosen, "control": True}, "DIR")
    assert "--no-control" not in archive.rerun_command(chosen, "DIR"), "older manifests had no controls to skip"


# --- downstream: level 0 has no human side and is not a level of the curve ---------

def model_rates(control_rate=0.0):
    rows = [{"model": "m", "variant": "baseline", "scenario": s, "level": lv, "n": 10, "yes": 0, "no": 0,
             "invalid": 0, "refusal_rate": rate, "se": 0.0, "yes_no_mass": 0.9, "measure": "exact", "chains": 0}
            for s in ("a", "b", "c") for lv, rate in [(0, control_rate), *[(k, 1 - k / 10) for k in range(1, 7)]]]
    return pd.DataFrame(rows)


def human():
    return pd.DataFrame([{"scenario": s, "level": lv, "yes": 10 + lv, "no": 30 - lv}
                         for s in ("a", "b", "c") for lv in range(1, 7)])


def test_comparisons_with_people_leave_the_control_out():
    with_control, without = model_rates(), model_rates()[lambda t: t["level"] > 0]
    compared = stats.compare(with_control, human())
    assert 0 not in set(compared["level"]) and len(compared) == 18
    assert stats.mean_absolute_difference(with_control, human()) == stats.mean_absolute_difference(without, human())
    assert stats.level_permutation_test(with_control, human()).p_value == \
        stats.level_permutation_test(without, human()).p_value
    # A control refused at 1.0 would bend a slope that counted it; it is not counted.
    assert trends.level_sensitivity(model_rates(1.0), draws=50).slope == \
        trends.level_sensitivity(without, draws=50).slope


def test_fine_tuning_summaries_start_at_level_1():
    from helpers.finetune import evaluation

    rates = model_rates(0.5).assign(split="base", kind="base", trained_on="", agent="m (base)", group="m (base)")
    drops = evaluation.level_drop(rates, human())
    assert drops["model_drop"].iloc[0] == pytest.approx(0.5), "level 1 (0.9) to level 6 (0.4), not from the control"
    assert evaluation.gap_table(rates, human())["buckets"].iloc[0] == 18, "the buckets compared with people"


def test_the_figure_draws_the_control_apart(repo):
    scen = load_scenarios(repo / "scenarios.toml")[:2]
    rows = model_rates()[lambda t: t["scenario"] == "a"].drop(columns="scenario")
    rates = pd.concat([rows.assign(scenario=s.id) for s in scen])
    rates = rates[~((rates["scenario"] == scen[1].id) & (rates["level"] == 0))]  # the second: no control measured
    fig = plots.figure1(rates, scen, columns=2)
    first, second = [ax for ax in fig.axes if ax.get_visible()]
    assert [t.get_text() for t in first.get_xticklabels()] == ["C", "1", "2", "3", "4", "5", "6"]
    assert [t.get_text() for t in second.get_xticklabels()] == ["1", "2", "3", "4", "5", "6"]
    # The curve joins levels 1..6 only; the control is its own unjoined marker.
    lines = [ln for ln in first.get_lines() if ln.get_linestyle() != "None" and len(ln.get_xdata()) > 1]
    curve = [list(ln.get_xdata()) for ln in lines if ln.get_color() != "grey"]
    assert [1, 2, 3, 4, 5, 6] in curve and not any(0 in x for x in curve)
    markers = [ln for ln in first.get_lines() if ln.get_marker() == "D"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [0]
    assert any(isinstance(ln, matplotlib.lines.Line2D) and list(ln.get_xdata()) == [0.5, 0.5]
               for ln in first.get_lines()), "a dotted separator at 0.5"
    assert "control (no violation)" in [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert first.get_xlabel() == "level (1 = most severe; C = control)"


def test_a_transcript_names_the_control(repo):
    (s,) = load_scenarios(repo / "scenarios.toml")[:1]
    rows = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": s.id, "level": 0, "sample": 0,
                          "status": "ok", "mode": "sample", "decision": "yes", "text": "Yes.", "reasoning": None}])
    text = transcripts.bucket_markdown(rows, s, 0)
    assert text.startswith("### Grocery prices, control, no violation ($8.00)")
    assert "costs $8.00. Do you buy the flour?" in text
    assert json.dumps(text)  # plain text
