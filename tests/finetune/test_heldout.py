"""Fine-tuned models are judged on people they never saw: a seeded, reproducible
participant split; training records only from its training side; in-scenario
comparisons only with its held-out side; labels-50 as big as explanations-50."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import finetune, humans
from helpers.errors import UserError
from helpers.exceptions import scenarios, stats
from helpers.finetune import evaluation as sft_eval
from helpers.finetune import split as people_split
from helpers.finetune.evaluation import FineTuned
from helpers.notebook import finetuning
from helpers.notebook.comparison import HumanSide

LABEL = "human (illustrative data)"


@pytest.fixture(scope="module")
def every(repo_root):
    return scenarios.load_scenarios(repo_root / "scenarios.toml")


@pytest.fixture(scope="module")
def repo_root():
    from pathlib import Path
    return Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def human(every):
    return humans.illustrative_responses(every)


def test_the_split_is_reproducible_and_disjoint(human):
    a = people_split.split_participants(human)
    assert a == people_split.split_participants(human.sample(frac=1, random_state=5))  # row order does not matter
    assert a == people_split.split_participants(human.assign(explanation=""))  # nor other columns
    assert a.seed == people_split.SPLIT_SEED == 0 and a.train_fraction == people_split.TRAIN_FRACTION == 0.5
    assert not a.training & a.evaluation
    assert a.training | a.evaluation == set(human["participant_id"])
    assert len(a.training) == 152 and len(a.evaluation) == 151  # round(0.5 * 303)
    other = people_split.split_participants(human, seed=1)
    assert other.training != a.training and len(other.training) == 152
    assert len(people_split.split_participants(human, train_fraction=0.8).training) == 242


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.floats(0.01, 0.99), st.integers(0, 10_000))
def test_both_sides_are_never_empty(n, fraction, seed):
    table = pd.DataFrame({"participant_id": [f"p{i}" for i in range(n)]})
    split = people_split.split_participants(table, seed=seed, train_fraction=fraction)
    assert split.training and split.evaluation and len(split.training) + len(split.evaluation) == n


@pytest.mark.parametrize("fraction, ids, message", [
    (1.0, ["a", "b"], "must be above 0 and below 1"),
    (0.0, ["a", "b"], "must be above 0 and below 1"),
    (0.5, ["a", "a"], "needs at least 2"),
])
def test_split_errors_are_one_line(fraction, ids, message):
    with pytest.raises(UserError, match=message):
        people_split.split_participants(pd.DataFrame({"participant_id": ids}), train_fraction=fraction)


@pytest.mark.parametrize("kind", finetune.KINDS)
def test_training_records_come_only_from_training_participants(human, every, kind):
    split = people_split.split_participants(human)
    data = finetune.prepare_dataset(human, LABEL, every, kind, scenario_ids=["hospitality"], split=split)
    assert data.participants and data.participants <= split.training
    assert not data.participants & split.evaluation
    meta = data.metadata()
    assert meta["split_seed"] == 0 and meta["train_fraction"] == 0.5 and meta["evaluation_participants"] == 151
    assert people_split.split_from_metadata(human, meta, "this model") == split
    # Without a split given, prepare_dataset uses the documented default one.
    same = finetune.prepare_dataset(human, LABEL, every, kind, scenario_ids=["hospitality"])
    assert same.split == split and same.path.read_bytes() == data.path.read_bytes()


def test_labels_is_every_training_answer_and_labels_50_the_explanations_answers(human, every):
    split = people_split.split_participants(human)
    made = {kind: finetune.prepare_dataset(human, LABEL, every, kind, scenario_ids=["grocery_prices"], split=split)
            for kind in finetune.KINDS}
    assert made["labels-50"].size == made["explanations"].size == 50
    assert made["labels-50"].participants == made["explanations"].participants  # the same answers
    assert made["labels"].size == len(split.training)  # each participant answers each scenario once
    bare = finetune.read_jsonl(made["labels-50"].path)
    explained = finetune.read_jsonl(made["explanations"].path)
    assert [e["messages"][0] for e in bare] == [e["messages"][0] for e in explained]
    assert {e["messages"][1]["content"] for e in bare} <= {"Yes", "No"}


def test_a_split_from_other_human_data_is_refused(human, every):
    data = finetune.prepare_dataset(human, LABEL, every, "explanations", scenario_ids=["hospitality"])
    other = humans.illustrative_responses(every, participants=40)
    with pytest.raises(UserError, match="was trained on other human data"):
        people_split.split_from_metadata(other, data.metadata(), "openai/ft:x")
    with pytest.raises(UserError, match="records no participant split"):
        people_split.split_from_metadata(human, {"kind": "labels"}, "openai/ft:x")


def test_in_scenario_comparison_uses_only_held_out_participants(fake_openai, human, every):
    split = people_split.split_participants(human)
    data = finetune.prepare_dataset(human, LABEL, every, "explanations", scenario_ids=["hospitality"], split=split)
    chosen = scenarios.select(every, ["hospitality", "grocery_prices"])
    model = FineTuned("openai/ft:gpt-4o:org:illustrative:1", "explanations", ("hospitality",), True, split)
    evaluation = sft_eval.evaluate([model], chosen, base_model="openai/gpt-4o", base_url=fake_openai.base_url)
    assert evaluation.people == split

    # The human side of the in-scenario comparison: no one whose answers trained the model.
    compared = evaluation.held_out(human)
    assert set(compared["participant_id"]).isdisjoint(data.participants)
    assert set(compared["participant_id"]) == split.evaluation
    side = finetuning.held_out(HumanSide(human, LABEL), evaluation)
    assert set(side.data["participant_id"]).isdisjoint(data.participants) and side.illustrative
    # Transfer and the base row compare with everyone (no answer to those scenarios was trained on).
    assert set(sft_eval.comparison_humans(human, "transfer", split)["participant_id"]) == set(human["participant_id"])

    # The gap table really uses them: its in-scenario gap is the one against the
    # held-out people, not the one against everybody.
    table = sft_eval.gap_table(evaluation.rates, human, evaluation.people).set_index(["agent", "split"])
    agent = model.label({s.id: s.title for s in every})
    row = table.loc[(agent, "in-scenario")]
    rates = evaluation.rates[(evaluation.rates["split"] == "in-scenario")]

    def gap(people):
        merged = rates.merge(stats.human_counts(people), on=["scenario", "level"])
        return float((merged["refusal_rate"] - merged["human_rate"]).abs().mean())

    assert row["mean_abs_diff"] == pytest.approx(gap(split.evaluation_rows(human)))
    assert row["mean_abs_diff"] != pytest.approx(gap(human))  # the two groups differ, so the test can fail
    assert row["compared_with"] == "151 held-out participants"
    assert table.loc[(agent, "transfer"), "compared_with"] == "all 303 participants"
    # The kinds' summary compares every kind, the base model too, with the held-out people.
    summary = sft_eval.kind_summary(evaluation.rates, human, evaluation.people).set_index("model")
    assert summary.loc["SFT explanations (illustrative)", "mean_abs_diff"] == pytest.approx(row["mean_abs_diff"])
    assert "151 held-out participants" in finetuning.held_out_note(evaluation, transfer=True)
    assert "all participants" in finetuning.held_out_note(evaluation, transfer=True)


def test_models_of_different_splits_are_not_evaluated_together(human, every):
    a = people_split.split_participants(human)
    b = people_split.split_participants(human, seed=9)
    models = [FineTuned("openai/ft:a", "labels", ("hospitality",), True, a),
              FineTuned("openai/ft:b", "labels", ("hospitality",), True, b)]
    with pytest.raises(UserError, match="different participant splits"):
        sft_eval.evaluate(models, every, base_model=None)


def test_the_illustrative_mark_reaches_dataset_names_and_sidecars(human, every, tmp_path):
    import json

    from helpers import paths

    data = finetune.prepare_dataset(human, "human (answers.csv)", every, "labels", scenario_ids=["hospitality"])
    assert data.illustrative and "-illustrative-" in data.path.name  # by the rows, not by the label
    meta = json.loads(paths.meta_sidecar(data.path).read_text(encoding="utf-8"))
    assert meta["illustrative"] is True and meta["data"] == "illustrative"
    again = finetune.prepared_dataset(data.path, seed=0)
    assert again.illustrative and again.metadata()["split_seed"] == 0
    assert np.isclose(again.metadata()["train_fraction"], 0.5)


def test_a_dataset_never_mixes_illustrative_and_real_answers(human, every):
    real = human.head(30).assign(participant_id=lambda t: "p" + t["participant_id"].str[-3:], study="workshop")
    with pytest.raises(UserError, match="rows are illustrative .* and the others are real"):
        finetune.prepare_dataset(pd.concat([real, human]), "human (merged.csv)", every, "labels",
                                 scenario_ids=["hospitality"])
