"""The store's version 2 parts on a real SQLite file: platform ids kept apart,
resuming by platform id, attention checks, game choices, when each step was
shown, the exclusion variables, spreadsheet-safe CSV, the codebook, and an
older file upgraded without losing an answer."""

import io
import random
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers.economics.games import load_games
from helpers.errors import UserError
from helpers.exceptions.scenarios import load_scenarios
from helpers.survey import export
from helpers.survey.settings import AttentionCheck, StudySettings
from helpers.survey.steps import CheckStep, GameStep, Question
from helpers.survey.store import SCHEMA_VERSION, Quality, SurveyStore

REPO = Path(__file__).resolve().parents[2]
CHECKS = (AttentionCheck("colour", 2, "Pick 'Orange'.", ("Green", "Orange"), "Orange"),
          AttentionCheck("day", 99, "Pick 'Thursday'.", ("Monday", "Thursday"), "Thursday"))
PROLIFIC = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "study-77", "SESSION_ID": "sess-1"}


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO / "scenarios.toml")[:3]


@pytest.fixture(scope="module")
def games():
    return load_games(REPO / "games.toml")[:2]


@pytest.fixture
def store(tmp_path):
    return SurveyStore(tmp_path / "survey.sqlite")


def settings(**changes):
    base = dict(study="prolific-pilot", platform="prolific", modules=("scenarios", "games"), checks=CHECKS,
                exclude=("attention", "paste"), min_seconds=5.0, consent_version="v3")
    return StudySettings(**{**base, **changes})


def test_steps_put_checks_after_their_question_and_games_last(store, scenarios, games):
    study = settings()
    person = store.register(scenarios, study, games=games, platform=PROLIFIC, device="mobile")
    steps = store.steps(person, scenarios, games, study)
    kinds = [s.kind for s in steps]
    n_games = sum(len(g.settings) for g in games)
    assert kinds == ["scenario", "scenario", "check", "scenario", "check"] + ["game"] * n_games
    assert [s.key for s in steps if s.kind == "check"] == ["check:colour", "check:day"]
    assert len({s.key for s in steps}) == len(steps)
    game_steps = [s for s in steps if isinstance(s, GameStep)]
    assert {(s.setting.game.id, s.setting.index) for s in game_steps} == {
        (g.id, s.index) for g in games for s in g.settings}
    assert all(s.prompt == s.setting.render() for s in game_steps)
    # The order is drawn once: the same participant gets the same steps again.
    assert [s.key for s in store.steps(person, scenarios, games, study)] == [s.key for s in steps]
    assert person.device == "mobile" and person.consent_version == "v3"


def test_a_module_left_out_is_not_asked(store, scenarios, games):
    only_games = settings(modules=("games",))
    person = store.register(scenarios, only_games, games=games)
    steps = store.steps(person, scenarios, games, only_games)
    assert [s.kind for s in steps[:2]] == ["check", "check"] and {s.kind for s in steps[2:]} == {"game"}
    with pytest.raises(UserError, match="nothing to ask"):
        store.register([], settings(modules=("scenarios",)), games=games)


def test_the_same_platform_id_resumes_and_raw_ids_stay_in_their_own_table(store, scenarios, games):
    study = settings()
    first = store.register(scenarios, study, games=games, platform=PROLIFIC)
    again = store.register(scenarios, study, games=games, platform={**PROLIFIC, "SESSION_ID": "sess-2"})
    assert again == first and store.find_platform(study, PROLIFIC) == first
    other_study = settings(study="another")
    assert store.find_platform(other_study, PROLIFIC) is None
    assert store.register(scenarios, other_study, games=games, platform=PROLIFIC) != first
    with sqlite3.connect(store.path) as conn:
        raw = conn.execute("SELECT platform_id, params FROM platform_ids WHERE participant_id = ?",
                           (first.participant_id,)).fetchone()
    assert raw[0] == PROLIFIC["PROLIFIC_PID"] and "STUDY_ID=study-77" in raw[1]
    files = export.tables(store, study)
    assert PROLIFIC["PROLIFIC_PID"] in files["platform_ids.csv"]["platform_id"].tolist()
    for name in ("answers.csv", "participants.csv", "games.csv", "checks.csv"):
        assert not files[name].astype(str).apply(lambda c: c.str.contains("5f1a2b3c")).any().any(), name


def walk(store, person, scenarios, games, study, *, check_choice="right", paste=False):
    """Answer every step as the server would, marking each shown first."""
    for step in store.steps(person, scenarios, games, study):
        store.mark_shown(person, step)
        if isinstance(step, Question):
            quality = Quality(edits=12, paste_count=1 if paste else 0, pasted_chars=40 if paste else 0)
            assert store.record(person, step, "yes", "typed", quality)
        elif isinstance(step, CheckStep):
            wrong = next(o for o in step.check.options if o != step.check.answer)
            assert store.record_check(person, step, step.check.answer if check_choice == "right" else wrong)
        else:
            assert store.record_game(person, step, step.setting.actions()[0].id)
    assert store.next_step(person, store.steps(person, scenarios, games, study)) is None
    store.complete(person)


def test_the_export_carries_timings_quality_and_exclusion_variables(store, scenarios, games):
    study = settings()
    careful, careless, paster = (store.register(scenarios, study, games=games, rng=random.Random(i))
                                 for i in range(3))
    walk(store, careful, scenarios, games, study)
    walk(store, careless, scenarios, games, study, check_choice="wrong")
    walk(store, paster, scenarios, games, study, paste=True)
    files = export.tables(store, study)
    answers = files["answers.csv"].set_index("participant_id")
    assert len(answers) == 9 and list(files["answers.csv"].columns) == list(export.CODEBOOK["answers.csv"])
    assert (answers["seconds"] >= 0).all() and (answers["seconds"] < 60).all()
    # Answered at once after being shown: all flagged fast (min_seconds 5), but `fast`
    # is not in this study's rule, so it does not make them excluded.
    assert set(answers["excl_fast"]) == {"true"}
    assert answers.loc[careful.participant_id, "excluded"].tolist() == ["false"] * 3
    assert answers.loc[careless.participant_id, "excl_attention"].tolist() == ["true"] * 3
    assert answers.loc[careless.participant_id, "excluded"].tolist() == ["true"] * 3
    assert answers.loc[paster.participant_id, "excl_paste"].tolist() == ["true"] * 3
    assert answers.loc[paster.participant_id, "excl_attention"].tolist() == ["false"] * 3
    assert answers.loc[paster.participant_id, "excluded"].tolist() == ["true"] * 3
    assert answers.loc[careful.participant_id, "attention_passed"].tolist() == [2] * 3
    assert answers.loc[careless.participant_id, "attention_passed"].tolist() == [0] * 3
    assert set(answers["attention_total"]) == {2} and set(answers["completed"]) == {"true"}
    assert set(answers["consent_version"]) == {"v3"} and set(answers["edits"]) == {12}
    people = files["participants.csv"]
    assert len(people) == 3 and (people["total_seconds"] >= 0).all() and set(people["platform"]) == {""}
    played = files["games.csv"]
    assert len(played) == 3 * sum(len(g.settings) for g in games)
    assert set(played.loc[played["participant_id"] == careless.participant_id, "excluded"]) == {"true"}
    assert len(files["checks.csv"]) == 6 and files["checks.csv"]["passed"].sum() == 4
    # With no rule, nobody is excluded, but every flag is still there.
    lenient = export.tables(store, settings(exclude=()))["answers.csv"]
    assert set(lenient["excluded"]) == {"false"} and (lenient["excl_attention"] == "true").sum() == 3


def test_a_repeated_check_or_game_answer_keeps_the_first(store, scenarios, games):
    study = settings()
    person = store.register(scenarios, study, games=games)
    steps = store.steps(person, scenarios, games, study)
    check = next(s for s in steps if isinstance(s, CheckStep))
    game = next(s for s in steps if isinstance(s, GameStep))
    assert store.record_check(person, check, "Orange") and not store.record_check(person, check, "Green")
    first, second = [a.id for a in game.setting.actions()][:2]
    assert store.record_game(person, game, first) and not store.record_game(person, game, second)
    with pytest.raises(UserError, match="choose one of the options"):
        store.record_game(person, game, "<b>nine</b>")
    with pytest.raises(UserError, match="choose one of the options"):
        store.record_check(person, check, "Purple")
    files = export.tables(store, study)
    assert files["checks.csv"]["choice"].tolist() == ["Orange"] and files["games.csv"]["choice"].tolist() == [first]


def test_csv_cells_are_inert_in_a_spreadsheet_and_the_database_keeps_the_text(store, scenarios):
    study = settings(modules=("scenarios",))
    person = store.register(scenarios, study)
    typed = ['=HYPERLINK("http://x.test","click")', "+1+2", "-2+3", "@SUM(A1)", "a\x00b", "plain"]
    for question, text in zip(store.questions(person, scenarios), typed):
        store.record(person, question, "no", text)
    data = export.bundle(store, study)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted([*export.CODEBOOK, "codebook.csv"])
        answers = pd.read_csv(archive.open("answers.csv"), dtype=str, keep_default_na=False)
        codebook = pd.read_csv(archive.open("codebook.csv"))
    # Three scenarios, so the first three texts: each behind an apostrophe.
    assert set(answers["explanation"]) == {"'" + text for text in typed[:3]}
    for cell in answers.to_numpy().ravel():
        assert not cell.startswith(export.FORMULA_STARTS) or cell.lstrip("-").replace(".", "").isdigit()
        assert "\x00" not in cell
    with sqlite3.connect(store.path) as conn:
        stored = {r[0] for r in conn.execute("SELECT explanation FROM answers")}
    assert stored == set(typed[:3])  # three scenarios: three answers, exactly as typed
    # Every column of every file is in the codebook, and nothing else.
    for name, table in export.tables(store, study).items():
        assert list(codebook.loc[codebook["file"] == name, "column"]) == list(table.columns)


def test_safe_cell_rules():
    assert export.safe_cell("=1+1") == "'=1+1" and export.safe_cell("\t=1") == "'\t=1"
    assert export.safe_cell("a\x00=b") == "a=b" and export.safe_cell("\x00=b") == "'=b"
    assert export.safe_cell("fine") == "fine" and export.safe_cell(3) == 3


VERSION_1 = """
CREATE TABLE participants (participant_id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, study TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE assignments (participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    position INTEGER NOT NULL, scenario TEXT NOT NULL, level INTEGER NOT NULL CHECK (level >= 1),
    PRIMARY KEY (participant_id, position), UNIQUE (participant_id, scenario));
CREATE TABLE answers (participant_id TEXT NOT NULL, scenario TEXT NOT NULL, level INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('yes', 'no')), explanation TEXT NOT NULL, prompt TEXT NOT NULL,
    answered_at TEXT NOT NULL, PRIMARY KEY (participant_id, scenario),
    FOREIGN KEY (participant_id, scenario) REFERENCES assignments (participant_id, scenario));
"""


def test_a_version_1_file_is_copied_aside_and_upgraded_without_losing_an_answer(tmp_path, scenarios):
    path = tmp_path / "survey.sqlite"
    with sqlite3.connect(path) as conn:  # what the survey of issue 9 wrote
        conn.executescript(VERSION_1)
        conn.execute("INSERT INTO participants VALUES ('p-000000000001', 'abcdefghjkmn', 'old', "
                     "'2026-01-01T10:00:00+00:00')")
        for position, s in enumerate(scenarios, start=1):
            conn.execute("INSERT INTO assignments VALUES ('p-000000000001', ?, ?, 2)", (position, s.id))
            conn.execute("INSERT INTO answers VALUES ('p-000000000001', ?, 2, 'no', ?, ?, "
                         "'2026-01-01T10:01:00+00:00')", (s.id, f"old reason {position}", s.render(2)))
    store = SurveyStore(path)
    assert store.progress() == {"participants": 1, "completed": 1, "answers": 3}  # reading upgrades
    backup = tmp_path / "survey.sqlite.v1-backup"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 3
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    answers = export.answers_table(store, settings(study="old", exclude=("attention", "fast", "paste")))
    assert answers["explanation"].tolist() == [f"old reason {i}" for i in (1, 2, 3)]
    # Signals that were not recorded are empty, and flag nothing.
    assert answers["edits"].isna().all() and answers["seconds"].isna().all()
    assert set(answers["excluded"]) == {"false"}
    # The old participant carries on under the new schema.
    person = store.find("abcd-efgh-jkmn")
    assert person.participant_id == "p-000000000001" and person.consent_version is None
    new = store.register(scenarios, settings(study="old", modules=("scenarios",)))
    assert store.record(new, store.questions(new, scenarios)[0], "yes", "new reason")
    assert store.progress()["answers"] == 4


def test_a_file_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "survey.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("CREATE TABLE participants (x)")
    with pytest.raises(UserError, match="newer version of the workspace"):
        SurveyStore(path).progress()


def test_the_published_answers_filter_in_the_notebooks(store, scenarios, games):
    """The export's flags are what --exclude reads: published, loaded as the notebooks
    load it, and filtered, the careless participant's answers are the ones dropped."""
    from helpers.humans.source import filtered_human

    study = settings()
    careful, careless = (store.register(scenarios, study, games=games, rng=random.Random(i)) for i in range(2))
    walk(store, careful, scenarios, games, study)
    walk(store, careless, scenarios, games, study, check_choice="wrong")
    written = dict(export.publish(store, scenarios, study, games))
    assert sorted(p.name for p in written) == ["human_games.csv", "human_responses.csv"]
    kept, label, note = filtered_human(None, scenarios, ["attention"])
    assert set(kept["participant_id"]) == {careful.participant_id}
    assert label == "human (human_responses.csv; excl. attention)"
    assert "3 of 6 answers (1 participant) dropped; 3 kept" in note
    # The game choices load as notebook 07 loads them (the prompt column checked against games.toml).
    from helpers.economics.humans import load_human_games

    played = load_human_games(written_path(written, "human_games.csv"), games)
    assert len(played) == 2 * sum(len(g.settings) for g in games)
    assert set(played.loc[played["participant_id"] == careless.participant_id, "excluded"]) == {True}


def written_path(written, name):
    return next(p for p in written if p.name == name)
