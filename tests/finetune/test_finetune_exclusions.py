"""Fine-tuning under --exclude (notebooks 04 and 05): the flagged answers neither
train a model nor stand among the held-out people it is compared with, and the
training data's label, which follows every model into the registry, names the filter."""

import json

from helpers import humans, paths
from helpers.finetune.prepare import prepare_dataset
from helpers.notebook import finetuning


def test_the_flagged_participants_neither_train_nor_are_compared_with(tmp_path):
    study, training = finetuning.open_training({"exclude": "attention"})
    assert study.human.label == "human (illustrative data; excl. attention)"
    every = humans.illustrative_responses(study.scenarios)
    flagged = set(every.loc[every["excl_attention"], "participant_id"])
    assert flagged and not flagged & set(study.human.data["participant_id"])
    first = study.scenarios[0].id
    plan = finetuning.plan_training(study, training, {"labels": 10}, [first], epochs=1)
    people = plan.people.training | plan.people.evaluation
    assert not flagged & people and len(people) == every["participant_id"].nunique() - len(flagged)

    data = prepare_dataset(study.human.data, study.human.label, study.scenarios, "labels", scenario_ids=[first],
                           size=10, split=plan.people, out=tmp_path / "labels-illustrative.jsonl")
    assert data.participants and not data.participants & flagged
    meta = json.loads(paths.meta_sidecar(data.path).read_text())
    assert meta["human_data"] == "human (illustrative data; excl. attention)" and meta["illustrative"]

    note = humans.data_note(study.human.data, study.human.label, trained_on=True, exclusions=study.human.exclusions)
    assert "Training data and comparison: **human (illustrative data; excl. attention)**" in note
    assert f"{len(every) - len(study.human.data)} of {len(every)} answers ({len(flagged)} participants) dropped" in note
    assert "The models are trained on the kept answers and compared with them" in note
