"""The human-responses format (strict loading, writing) and the data the notebooks pick (humans.source)."""

import grimp
import pandas as pd
import pytest

from helpers.humans import responses as human
from helpers.humans import source
from helpers import paths
from helpers.exceptions import stats
from helpers.errors import ConfigError
from helpers.exceptions.scenarios import parse_scenarios

SCENARIOS = parse_scenarios('''
[[scenarios]]
id = "flour"
title = "Flour"
prompt = "The flour costs {value}. Buy it?"
levels = ["$25", "$12", "$10.01"]

[[scenarios]]
id = "radius"
title = "Radius"
prompt = "The address is {value} outside. Deliver?"
levels = ["15 miles", "1 mile", "0.01 miles"]
''')

HEADER = "participant_id,scenario,level,decision,explanation,timestamp,study"
GOOD_ROWS = [
    "p1,flour,3,yes,only a cent over,2024-12-05T14:03:00Z,pilot",
    "p1,radius,1,no,way too far,2024-12-05T14:04:10+00:00,pilot",
    "p2,flour,1,No,,2024-12-05T15:00:00,pilot",
]


def write_csv(tmp_path, rows, header=HEADER, name="responses.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_loads_a_valid_csv(tmp_path):
    table = human.load_human(write_csv(tmp_path, GOOD_ROWS), SCENARIOS)
    assert list(table.columns) == human.COLUMNS
    assert table["decision"].tolist() == ["yes", "no", "no"]  # "No" normalised
    assert table["level"].tolist() == [3, 1, 1] and table["level"].dtype.kind == "i"
    assert table.loc[2, "explanation"] == ""  # an empty explanation is allowed


def test_extra_columns_are_kept(tmp_path):
    rows = [r + ",extra" for r in GOOD_ROWS]
    table = human.load_human(write_csv(tmp_path, rows, HEADER + ",note"), SCENARIOS)
    assert list(table.columns) == human.COLUMNS + ["note"]
    assert set(table["note"]) == {"extra"}


def test_parquet_round_trip(tmp_path):
    table = human.load_human(write_csv(tmp_path, GOOD_ROWS), SCENARIOS)
    out = human.write_human(table.assign(position=[1, 2, 1]), tmp_path / "r.parquet")
    again = human.load_human(out, SCENARIOS)
    pd.testing.assert_frame_equal(again[human.COLUMNS], table[human.COLUMNS])
    assert again["position"].tolist() == [1, 2, 1]


def test_csv_round_trip_keeps_text_exactly(tmp_path):
    tricky = 'comma, "quotes"\nand a new line <b>not html</b>'
    table = pd.DataFrame([{"participant_id": "p1", "scenario": "flour", "level": 2, "decision": "yes",
                           "explanation": tricky, "timestamp": "2025-01-01T10:00:00+00:00", "study": "s"}])
    again = human.load_human(human.write_human(table, tmp_path / "r.csv"), SCENARIOS)
    assert again.loc[0, "explanation"] == tricky


BAD = [
    # (rows, header, expected message fragment)
    (GOOD_ROWS, HEADER.replace(",study", ""), "missing column `study`"),
    ([], HEADER, "no rows"),
    (["p1,bread,1,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "row 1, field `scenario`: unknown scenario 'bread'"),
    (["p1,flour,4,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "row 1, field `level`: '4' is not a level of 'flour'; use a whole number from 1 to 3"),
    (["p1,flour,0,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "row 1, field `level`: '0'"),
    (["p1,flour,1.5,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "field `level`: '1.5'"),
    (["p1,flour,two,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "field `level`: 'two'"),
    (GOOD_ROWS[:1] + ["p2,flour,1,,x,2024-12-05T14:03:00Z,s"], HEADER, "row 2, field `decision`: missing; write yes or no"),
    (["p1,flour,1,maybe,x,2024-12-05T14:03:00Z,s"], HEADER, "row 1, field `decision`: 'maybe' is not yes or no"),
    (["p1,flour,1,yes,x,yesterday,s"], HEADER, "row 1, field `timestamp`: 'yesterday' is not ISO 8601"),
    (["p1,flour,1,yes,x,,s"], HEADER, "row 1, field `timestamp`: missing"),
    (["p1,flour,1,yes,x,2024-12-05T14:03:00Z,"], HEADER, "row 1, field `study`: missing"),
    ([",flour,1,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "row 1, field `participant_id`: missing"),
    (["ann@example.org,flour,1,yes,x,2024-12-05T14:03:00Z,s"], HEADER, "looks like an e-mail address"),
    (GOOD_ROWS + ["p1,flour,2,no,x,2024-12-05T14:09:00Z,pilot"], HEADER,
     "row 4, field `scenario`: participant 'p1' answered 'flour' already in row 1"),
]


@pytest.mark.parametrize("rows, header, message", BAD)
def test_bad_files_give_one_line_naming_file_row_and_field(tmp_path, rows, header, message):
    path = write_csv(tmp_path, rows, header)
    with pytest.raises(ConfigError) as err:
        human.load_human(path, SCENARIOS)
    text = str(err.value)
    assert message in text
    assert str(path) in text and "\n" not in text


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        human.load_human(tmp_path / "absent.csv", SCENARIOS)
    with pytest.raises(ConfigError, match="must be a .csv or .parquet file"):
        human.load_human(tmp_path / "data.xlsx", SCENARIOS)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        human.load_human(tmp_path / "empty.csv", SCENARIOS)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError, match="cannot be read as parquet"):
        human.load_human(tmp_path / "broken.parquet", SCENARIOS)
    with pytest.raises(ConfigError, match="write human responses to a .csv or .parquet"):
        human.write_human(pd.DataFrame(columns=human.COLUMNS), tmp_path / "x.json")


def test_parquet_rows_are_checked_too(tmp_path):
    table = pd.DataFrame([{"participant_id": "p1", "scenario": "flour", "level": 9, "decision": "yes",
                           "explanation": "", "timestamp": "2025-01-01T10:00:00Z", "study": "s"}])
    table.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ConfigError, match=r"bad.parquet: row 1, field `level`: '9'"):
        human.load_human(tmp_path / "bad.parquet", SCENARIOS)


def test_loaded_responses_plug_into_the_statistics(tmp_path):
    table = human.load_human(write_csv(tmp_path, GOOD_ROWS), SCENARIOS)
    model = pd.DataFrame([{"model": "m", "variant": "baseline", "scenario": "flour", "level": 1,
                           "refusal_rate": 0.5, "yes": 5, "no": 5, "measure": "sampled"}])
    comparison = stats.compare(model, table)
    assert comparison.loc[0, "human_rate"] == 1.0 and comparison.loc[0, "human_n"] == 1
    assert stats.mean_absolute_difference(model, table) == pytest.approx(0.5)
    rates = human.bucket_rates(table).set_index(["scenario", "level"])
    assert rates.loc[("flour", 3), "refusal_rate"] == 0.0 and rates.loc[("radius", 1), "n"] == 1


def test_human_or_illustrative_prefers_a_given_file(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS, name="mine.csv")
    table, label = source.human_or_illustrative(path, SCENARIOS)
    assert label == "human (mine.csv)" and "illustrative" not in label
    assert len(table) == 3


def test_human_or_illustrative_uses_the_default_file_when_it_exists(tmp_path):
    default = paths.human_responses_file()
    assert default.parent == tmp_path / "data"  # conftest keeps tests off the checkout's data/
    default.parent.mkdir()
    default.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    table, label = source.human_or_illustrative(None, SCENARIOS)
    assert label == "human (human_responses.csv)" and len(table) == 3


def test_human_or_illustrative_falls_back_to_labelled_illustrative_data():
    table, label = source.human_or_illustrative(None, SCENARIOS)
    assert "illustrative" in label
    assert set(table["study"]) == {"illustrative"}
    assert table["participant_id"].nunique() == 303


def test_a_bad_user_file_is_an_error_not_a_silent_fallback(tmp_path):
    path = write_csv(tmp_path, ["p1,bread,1,yes,x,2024-12-05T14:03:00Z,s"])
    with pytest.raises(ConfigError, match="unknown scenario 'bread'"):
        source.human_or_illustrative(path, SCENARIOS)


def test_data_note_says_which_data_and_what_illustrative_means():
    table = pd.DataFrame({"participant_id": ["p1", "p1", "p2"], "study": ["s", "s", "s"]})
    assert source.data_note(table, "human (mine.csv)") == \
        "Human data used here: **human (mine.csv)**: 2 participants, 3 answers, study: s."
    note = source.data_note(table, "human (illustrative data)", trained_on=True)
    assert note.startswith("Training data and comparison: **human (illustrative data)**")
    assert "not real people" in note and "trained on these generated answers" in note


def test_the_format_does_not_depend_on_where_the_data_come_from():
    """responses (the format) <- illustrative <- source: one way, no circle."""
    graph = grimp.build_graph("helpers", cache_dir=None)
    assert not graph.chain_exists("helpers.humans.responses", "helpers.humans.illustrative")
    assert not graph.chain_exists("helpers.humans.responses", "helpers.humans.source")
    assert not graph.chain_exists("helpers.humans.illustrative", "helpers.humans.source")
    assert graph.chain_exists("helpers.humans.source", "helpers.humans.illustrative")


def test_the_package_exports_what_notebooks_call():
    from helpers import humans

    assert humans.human_or_illustrative is source.human_or_illustrative
    assert humans.data_note is source.data_note and humans.bucket_rates is human.bucket_rates
