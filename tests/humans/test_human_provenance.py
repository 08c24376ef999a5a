"""Illustrative answers cannot pass as real: they are recognised by their rows
wherever they were saved, never mixed with real ones, and dated 2000-01-01."""

from pathlib import Path

import pandas as pd
import pytest

from helpers import humans, paths
from helpers.errors import ConfigError
from helpers.exceptions.scenarios import load_scenarios
from helpers.humans import provenance, source
from helpers.notebook.comparison import HumanSide

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO / "scenarios.toml")


@pytest.fixture(scope="module")
def generated(scenarios):
    return humans.illustrative_responses(scenarios, participants=20)


def real_rows(scenarios, people=3):
    return pd.DataFrame([{"participant_id": f"p{i}", "scenario": s.id, "level": 1, "decision": "no",
                          "explanation": "too far", "timestamp": "2025-03-04T10:00:00+00:00", "study": "workshop"}
                         for i in range(people) for s in scenarios[:2]])


@pytest.mark.parametrize("name", ["answers.csv", "human_responses.csv", "answers.parquet"])
def test_an_illustrative_file_saved_and_reloaded_is_still_illustrative(tmp_path, scenarios, generated, name):
    path = humans.write_human(generated, tmp_path / name)
    table, label = humans.human_or_illustrative(path, scenarios)
    assert label == f"human (illustrative data, from {name})"
    assert humans.is_illustrative(table) and len(table) == len(generated)
    side = HumanSide.load(path, scenarios)
    assert side.illustrative and side.label == label
    assert "not real people" in humans.data_note(table, label)
    assert "(illustrative: generated, not people)" in humans.describe(table)


def test_the_default_file_is_judged_by_its_rows_too(scenarios, generated):
    humans.write_human(generated, paths.human_responses_file())  # conftest points it into tmp
    table, label = humans.human_or_illustrative(None, scenarios)
    assert label == "human (illustrative data, from human_responses.csv)"


@pytest.mark.parametrize("column, value", [("study", "renamed"), ("participant_id", None)])
def test_either_mark_alone_is_enough(tmp_path, scenarios, generated, column, value):
    if value is None:  # ids rewritten, the study left as generated
        changed = generated.assign(participant_id=generated["participant_id"].str.replace("illustrative-", "x"))
    else:  # the study rewritten, the ids left as generated
        changed = generated.assign(**{column: value})
    path = humans.write_human(changed, tmp_path / "edited.csv")
    assert humans.human_or_illustrative(path, scenarios)[1] == "human (illustrative data, from edited.csv)"


def test_real_data_stay_real(tmp_path, scenarios):
    path = humans.write_human(real_rows(scenarios), tmp_path / "workshop.csv")
    table, label = humans.human_or_illustrative(path, scenarios)
    assert label == "human (workshop.csv)" and not humans.is_illustrative(table)
    assert not HumanSide(table, label).illustrative


def test_illustrative_and_real_rows_are_never_mixed(tmp_path, scenarios, generated):
    mixed = pd.concat([real_rows(scenarios), generated], ignore_index=True)
    path = humans.write_human(mixed, tmp_path / "mixed.csv")
    with pytest.raises(ConfigError) as caught:
        humans.load_human(path, scenarios)
    message = str(caught.value)
    assert message.startswith(f"{path}: {len(generated)} of {len(mixed)} rows are illustrative")
    assert "first at row 7" in message and "remove those rows or use separate files" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="rows are illustrative"):
        HumanSide(mixed, "human (pasted together)")


def test_generated_rows_under_a_real_looking_label_are_called_illustrative(generated):
    side = HumanSide(generated, "human (answers.csv)")
    assert side.illustrative and side.label == "human (answers.csv) (illustrative data)"


def test_marks_are_what_the_generator_writes(generated):
    assert set(generated["study"]) == {provenance.STUDY}
    assert generated["participant_id"].str.startswith(provenance.ID_PREFIX).all()
    assert provenance.marked_rows(generated).all()


def test_timestamps_are_obviously_made_up(generated):
    stamps = pd.to_datetime(generated["timestamp"], format="ISO8601")
    assert (stamps.dt.date.astype(str) == "2000-01-01").all()  # nowhere near December 2024
    assert stamps.min() >= pd.Timestamp("2000-01-01T00:00:00Z")


def test_the_source_module_labels_by_content_not_by_name(generated):
    assert source.file_label(generated, "real_people.csv") == "human (illustrative data, from real_people.csv)"
