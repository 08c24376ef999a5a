"""The human game-choices format (strict loader, writer), the illustrative people,
and the human arm's measures: the agents' estimator recovers a known κ from
choices drawn by people who all have it, and tells it from another."""

import pandas as pd
import pytest

from helpers.economics import play
from helpers.economics.games import all_settings, load_games
from helpers.economics.human_arm import human_cooperation, human_games_or_illustrative, human_kappa, HumanGames
from helpers.economics.human_illustrative import Type, illustrative_human_games, illustrative_people
from helpers.economics.humans import (COLUMNS, load_human_games, prompt_for_people, validate_human_games,
                                      write_human_games)
from helpers.errors import ConfigError
from helpers.humans.provenance import is_illustrative
from helpers import paths


@pytest.fixture(scope="module")
def games():
    return load_games(paths.home() / "games.toml")


def rows(*records):
    return pd.DataFrame([dict(zip(COLUMNS, r)) for r in records], columns=COLUMNS)


GOOD = ("p-1", "prisoners_dilemma", "1", "cooperate", "2026-03-02T10:00:00Z", "class-2026")


def test_a_good_file_round_trips(tmp_path, games):
    table = rows(GOOD, ("p-1", "dictator", "2", "4.0", "2026-03-02T10:01:00Z", "class-2026"),
                 ("p-2", "ultimatum_responder", "3", "reject", "2026-03-02T10:02:00+01:00", "class-2026"))
    table["seconds"] = ["3.5", "", "12"]
    table["excluded"] = ["false", "true", ""]
    for name in ("choices.csv", "choices.parquet"):
        loaded = load_human_games(write_human_games(table, tmp_path / name), games)
        assert loaded[COLUMNS[:4]].values.tolist() == [["p-1", "prisoners_dilemma", 1, "cooperate"],
                                                      ["p-1", "dictator", 2, "4"],  # 4.0 is the amount 4
                                                      ["p-2", "ultimatum_responder", 3, "reject"]]
        assert loaded["seconds"].tolist()[0] == 3.5 and pd.isna(loaded["seconds"][1])
        assert loaded["excluded"].tolist()[:2] == [False, True] and pd.isna(loaded["excluded"][2])
        assert not is_illustrative(loaded)


@pytest.mark.parametrize("change,message", [
    ({"game": "chicken"}, r"row 1, field `game`: unknown game 'chicken'; the games file has prisoners_dilemma"),
    ({"setting": "9"}, r"row 1, field `setting`: '9' is not a setting of 'prisoners_dilemma'; use a whole number "
                       r"from 1 to 4"),
    ({"setting": "1.5"}, r"field `setting`: '1.5' is not a setting"),
    ({"choice": "X"}, r"row 1, field `choice`: 'X' is not a choice of 'prisoners_dilemma' setting 1; write one of "
                      r"cooperate, defect"),
    ({"game": "dictator", "choice": "3"}, r"field `choice`: '3' is not a choice of 'dictator' setting 1; write one "
                                          r"of 0, 2, 4, 6, 8, 10"),
    ({"timestamp": "yesterday"}, r"field `timestamp`: 'yesterday' is not ISO 8601"),
    ({"study": ""}, r"field `study`: missing"),
    ({"participant_id": "ann@example.org"}, r"looks like an e-mail address"),
    ({"seconds": "soon"}, r"row 1, field `seconds`: 'soon' is not a number of seconds"),
    ({"excluded": "maybe"}, r"row 1, field `excluded`: 'maybe' is not true or false"),
    ({"prompt": "Pick X or Y."}, r"row 1, field `prompt`: the text shown differs from what the games file renders "
                                 r"for 'prisoners_dilemma' setting 1"),
])
def test_bad_rows_are_one_line_naming_file_row_and_field(tmp_path, games, change, message):
    path = tmp_path / "bad.csv"
    table = rows(GOOD)
    for column, value in change.items():
        table[column] = [value]
    table.to_csv(path, index=False)
    with pytest.raises(ConfigError, match=message) as caught:
        load_human_games(path, games)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))


def test_missing_column_duplicate_and_mixed_rows(tmp_path, games):
    path = tmp_path / "choices.csv"
    rows(GOOD).drop(columns="choice").to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"missing column `choice`; the required columns are participant_id, "):
        load_human_games(path, games)
    with pytest.raises(ConfigError, match=r"row 2, field `setting`: participant 'p-1' chose in 'prisoners_dilemma' "
                                          r"setting 1 already in row 1"):
        validate_human_games(rows(GOOD, GOOD), games)
    with pytest.raises(ConfigError, match=r"1 of 2 rows are illustrative"):
        validate_human_games(rows(GOOD, ("illustrative-001", *GOOD[1:])), games)
    with pytest.raises(ConfigError, match=r"\.txt: human game choices must be a \.csv or \.parquet file"):
        load_human_games(tmp_path / "choices.txt", games)
    with pytest.raises(ConfigError, match="file not found"):
        load_human_games(tmp_path / "none.csv", games)


def test_the_prompt_column_may_hold_the_text_people_saw(games):
    table = rows(GOOD)
    table["prompt"] = [prompt_for_people(games[0].settings[0])]
    assert validate_human_games(table, games)["choice"].tolist() == ["cooperate"]


def test_illustrative_choices_are_marked_valid_and_fixed_by_their_seed(games):
    table = illustrative_human_games(games, participants=30)
    assert (table["study"] == "illustrative").all()
    assert table["participant_id"].str.startswith("illustrative-").all()
    assert table["timestamp"].str.startswith("2000-01-01").all()
    assert len(table) == 30 * len(all_settings(games))
    assert is_illustrative(validate_human_games(table, games))
    assert table.equals(illustrative_human_games(games, participants=30))
    assert not table.equals(illustrative_human_games(games, participants=30, seed=7))
    people = illustrative_people(400)
    shares = people["type"].value_counts(normalize=True)
    assert shares["self-interested"] == pytest.approx(0.3, abs=0.07)
    assert (people.loc[people["type"] == "self-interested", "kappa"] == 0).all()


def test_the_default_is_the_exported_file_else_illustrative(tmp_path, games):
    generated = human_games_or_illustrative(None, games)
    assert (generated.label, generated.kind, generated.path) == ("human (illustrative data)", "illustrative", None)
    exported = paths.human_games_file()  # tests keep data/ under tmp_path
    table = rows(GOOD, ("p-2", *GOOD[1:3], "defect", *GOOD[4:]))
    table["excluded"] = ["false", "true"]
    write_human_games(table, exported)
    real = human_games_or_illustrative(None, games)
    assert (real.label, real.kind, real.path) == ("human (human_games.csv)", "measured", exported)
    assert len(real.used) == 1 and "1 choices of 1 participants flagged `excluded` are left out" in real.describe()
    copied = write_human_games(illustrative_human_games(games, participants=3), tmp_path / "mine.csv")
    assert human_games_or_illustrative(copied, games).label == "human (illustrative data, from mine.csv)"


def people_with(kappa, games, participants=80, seed=11):
    table = illustrative_human_games(games, participants, seed, types=(Type("one", 1.0, kappa, kappa),),
                                     temperature=0.1, spread=0.0)
    return HumanGames(table, "people", True)


def test_the_estimator_recovers_a_known_kappa_and_tells_it_from_another(games):
    decisions = play.decisions(all_settings(games))
    fits = {k: human_kappa(people_with(k, games), games, decisions) for k in (0.0, 0.4, 0.8)}
    for kappa, fit in fits.items():
        assert fit.ci_low <= kappa <= fit.ci_high, (kappa, fit)
        assert fit.method == "bootstrap over 80 clusters of `participant_id` (200 draws)"
        assert "likelihood-ratio interval" in fit.note
    assert fits[0.0].ci_high < 0.4 < fits[0.8].ci_low


def test_people_who_differ_get_a_wider_interval_than_independent_choices(games):
    decisions = play.decisions(all_settings(games))
    fit = human_kappa(human_games_or_illustrative(None, games), games, decisions)
    low, high = (float(x) for x in fit.note.rsplit("[", 1)[1].rstrip("]").split(", "))
    assert fit.ci_high - fit.ci_low > high - low  # the clustered interval is the honest, wider one


def test_human_cooperation_per_setting(games):
    decisions = play.decisions(all_settings(games))
    people = people_with(0.0, games, participants=40)
    rates = human_cooperation(people, games, decisions).set_index("item")
    assert (rates["n"] == 40).all() and len(rates) == len(decisions)
    # Homo economicus accepts a positive offer and defects in the prisoner's dilemma (at τ = 0.1 a
    # 0.3-stake advantage is taken 95% of the time; the offer of 1 in 10, 0.1 stakes, only 73%).
    assert rates.loc["ultimatum_responder#2", "cooperation"] > 0.8
    assert rates.loc["prisoners_dilemma#1", "cooperation"] < 0.2
    assert (rates["ci_low"] <= rates["cooperation"]).all() and (rates["cooperation"] <= rates["ci_high"]).all()


def test_the_notebook_takes_a_human_games_file_by_name():
    from helpers.errors import UserError
    from helpers.notebook.economics import EconParams

    assert EconParams.from_cli({}).human_games is None
    assert EconParams.from_cli({"human-games": "data/mine.parquet"}).human_games.name == "mine.parquet"
    with pytest.raises(UserError, match=r"--human-games mine.xlsx: use a .csv or .parquet file name"):
        EconParams.from_cli({"human-games": "mine.xlsx"})
