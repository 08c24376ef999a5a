"""The illustrative generator: the paper's design, anchored curves, labelled, reproducible."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from helpers.humans import illustrative, quality
from helpers.humans import responses as human
from helpers.exceptions import reference
from helpers.humans.illustrative import EXPLANATIONS, illustrative_curves, illustrative_responses
from helpers.exceptions.scenarios import load_scenarios, parse_scenarios


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO / "scenarios.toml")


@pytest.fixture(scope="module")
def responses(scenarios):
    return illustrative_responses(scenarios)


def test_the_papers_design(responses, scenarios):
    assert responses["participant_id"].nunique() == 303
    # Every participant answers every scenario exactly once.
    per_person = responses.groupby("participant_id")["scenario"].agg(["size", "nunique"])
    assert (per_person["size"] == len(scenarios)).all() and (per_person["nunique"] == len(scenarios)).all()
    # Levels are uniform: 303 draws per scenario over 6 levels.
    for scenario, group in responses.groupby("scenario"):
        counts = group["level"].value_counts().reindex(range(1, 7), fill_value=0)
        assert chisquare(counts).pvalue > 0.001, scenario
    # The order of scenarios differs between participants.
    orders = responses.groupby("participant_id")["scenario"].apply(tuple)
    assert orders.nunique() > 290


def test_labelled_and_in_the_human_format(responses, scenarios):
    assert list(responses.columns[:7]) == human.COLUMNS
    assert set(responses["study"]) == {"illustrative"}
    assert responses["participant_id"].str.startswith("illustrative-").all()
    checked = human.validate_human(responses, scenarios)
    assert len(checked) == len(responses)


def test_same_seed_same_data_other_seed_other_data(scenarios, responses):
    pd.testing.assert_frame_equal(illustrative_responses(scenarios), responses)
    other = illustrative_responses(scenarios, seed=7)
    assert not other["decision"].equals(responses["decision"])


def test_curves_pass_through_every_paper_reported_rate(scenarios):
    curves = illustrative_curves(scenarios).set_index(["scenario", "level"])
    marks = reference.human_marks()
    assert len(marks) >= 4
    for mark in marks.itertuples():
        assert curves.loc[(mark.scenario, mark.level), "refusal_probability"] == pytest.approx(mark.refusal_rate)
        assert curves.loc[(mark.scenario, mark.level), "anchored"]
    assert curves["anchored"].sum() == len(marks)


def test_curves_fall_with_the_level_and_the_sample_follows(scenarios, responses):
    curves = illustrative_curves(scenarios)
    for scenario, group in curves.groupby("scenario"):
        assert (np.diff(group.sort_values("level")["refusal_probability"]) < 0).all(), scenario
    # Pooled over scenarios (about 500 answers per level) the sampled rates fall too.
    pooled = responses.assign(no=responses["decision"] == "no").groupby("level")["no"].mean()
    assert (np.diff(pooled.to_numpy()) < 0).all()
    # Each bucket's sampled rate lies near its curve (4 SE is rare by chance).
    rates = human.bucket_rates(responses).merge(curves, on=["scenario", "level"])
    se = np.sqrt(rates["refusal_probability"] * (1 - rates["refusal_probability"]) / rates["n"])
    assert ((rates["refusal_rate"] - rates["refusal_probability"]).abs() < 4 * se).all()


def test_explanations_are_short_and_fit_the_decision(responses):
    words = responses["explanation"].str.split().str.len()
    assert words.between(5, 20).all()
    for (decision, _), texts in EXPLANATIONS.items():
        used = responses[responses["explanation"].isin(texts)]
        assert set(used["decision"]) == {decision}


def test_timestamps_are_iso_and_increase_within_a_participant(responses):
    stamps = pd.to_datetime(responses["timestamp"], format="ISO8601")
    ordered = responses.assign(t=stamps).sort_values(["participant_id", "position"])
    assert ordered.groupby("participant_id")["t"].apply(lambda t: t.is_monotonic_increasing).all()


def test_any_scenario_set_and_size():
    other = parse_scenarios('''
[[scenarios]]
id = "parking"
title = "Parking"
prompt = "You are {value} late. Waive the fine?"
levels = ["an hour", "ten minutes", "one minute"]
''')
    table = illustrative_responses(other, participants=40, seed=1)
    assert len(table) == 40 and set(table["level"]) <= {1, 2, 3}
    curve = illustrative_curves(other, seed=1)["refusal_probability"].to_numpy()
    assert (np.diff(curve) < 0).all() and not illustrative_curves(other)["anchored"].any()
    with pytest.raises(ValueError, match="at least 1"):
        illustrative_responses(other, participants=0)


def test_quality_columns_are_there_and_agree_with_each_other(responses):
    assert list(responses.columns) == human.COLUMNS + ["position"] + illustrative.QUALITY
    assert (responses["excl_fast"] == (responses["seconds"] < illustrative.MIN_SECONDS)).all()
    assert (responses["excl_paste"] == (responses["pasted_chars"] > 0)).all()
    assert (responses["excl_paste"] == (responses["paste_count"] > 0)).all()
    pasted = responses[responses["excl_paste"]]
    assert (pasted["pasted_chars"] == pasted["explanation"].str.len()).all()  # the whole explanation
    failed = responses["attention_passed"] < responses["attention_total"]
    assert (responses["excl_attention"] == failed).all() and (responses["excluded"] == failed).all()
    # An attention check belongs to the participant: every answer of theirs carries it.
    assert (responses.groupby("participant_id")["excl_attention"].nunique() == 1).all()
    # Time on a question is never more than the time since the previous answer.
    stamps = pd.to_datetime(responses["timestamp"], format="ISO8601")
    ordered = responses.assign(t=stamps).sort_values(["participant_id", "position"])
    gaps = ordered.groupby("participant_id")["t"].diff().dt.total_seconds()
    assert (ordered["seconds"][gaps.notna()] <= gaps[gaps.notna()]).all()


def test_each_flag_is_drawn_about_as_often_as_stated(responses):
    people = responses.groupby("participant_id")["excl_attention"].first()
    for observed, rate, n in [(people.mean(), illustrative.CARELESS, len(people)),
                              (responses["excl_fast"].mean(), illustrative.FAST, len(responses)),
                              (responses["excl_paste"].mean(), illustrative.PASTED, len(responses))]:
        assert abs(observed - rate) < 4 * np.sqrt(rate * (1 - rate) / n) and observed > 0


def test_the_quality_stream_leaves_the_other_columns_as_they_were(scenarios, responses, monkeypatch):
    # Every flag drawn true changes every quality draw; the answers must not move.
    for name in ("CARELESS", "FAST", "PASTED"):
        monkeypatch.setattr(illustrative, name, 1.0)
    flagged = illustrative_responses(scenarios)
    assert flagged["excl_attention"].all() and flagged["excl_fast"].all() and flagged["excl_paste"].all()
    answers = human.COLUMNS + ["position"]
    pd.testing.assert_frame_equal(flagged[answers], responses[answers])


def test_the_filter_can_be_tried_on_the_illustrative_set(tmp_path, scenarios, responses):
    again = human.load_human(human.write_human(responses, tmp_path / "illustrative.csv"), scenarios)
    pd.testing.assert_frame_equal(again[illustrative.QUALITY[-4:]], responses[illustrative.QUALITY[-4:]])
    kept, note = quality.apply_exclusions(again, ["attention", "fast", "paste"])
    dropped = responses[["excl_attention", "excl_fast", "excl_paste"]].any(axis=1)
    assert len(kept) == int((~dropped).sum()) and 0 < dropped.sum() < len(responses)
    assert note.endswith(f"{int(dropped.sum())} of {len(responses)} answers "
                         f"({responses.loc[dropped, 'participant_id'].nunique()} participants) dropped; "
                         f"{len(kept)} kept")
