"""The survey's SQLite store, on a real file: assignments, transactional answers,
resuming, many writers at once, organiser counts and the export (scenario part;
tests/survey/test_survey_quality.py covers checks, games, platform ids and timings)."""

import multiprocessing
import random
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from helpers import paths
from helpers.errors import UserError
from helpers.exceptions import stats
from helpers.exceptions.scenarios import load_scenarios
from helpers.humans import responses as human
from helpers.humans import source
from helpers.survey import export, store as survey
from helpers.survey.codes import format_code, new_code, parse_code
from helpers.survey.settings import StudySettings

REPO = Path(__file__).resolve().parents[2]


def study(name):
    return StudySettings(study=name, checks=())


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO / "scenarios.toml")


@pytest.fixture
def store(tmp_path):
    return survey.SurveyStore(tmp_path / "survey.sqlite")


def answer_all(store, participant, scenarios, decide=lambda q: "yes"):
    for q in store.questions(participant, scenarios):
        assert store.record(participant, q, decide(q), f"reason for {q.scenario.id}")
    store.complete(participant)  # what the server does when no step is left


def test_default_path_is_under_the_data_folder(tmp_path):
    assert survey.SurveyStore().path == paths.data_dir() / "survey.sqlite" == tmp_path / "data" / "survey.sqlite"


def test_a_participant_gets_every_scenario_once_in_random_order(store, scenarios):
    rng = random.Random(1)
    people = [store.register(scenarios, study("pilot"), rng=rng) for _ in range(30)]
    assert len({p.participant_id for p in people}) == 30 and len({p.code for p in people}) == 30
    orders = set()
    for person in people:
        questions = store.questions(person, scenarios)
        assert [q.position for q in questions] == list(range(1, len(scenarios) + 1))
        assert sorted(q.scenario.id for q in questions) == sorted(s.id for s in scenarios)
        assert all(1 <= q.level <= len(q.scenario.levels) for q in questions)
        orders.add(tuple(q.scenario.id for q in questions))
    assert len(orders) == 30
    # Ids and codes are random tokens, nothing personal.
    assert all(p.participant_id.startswith("p-") and parse_code(p.code) == p.code for p in people)


def test_levels_are_drawn_uniformly_and_independently(store, scenarios):
    rng = random.Random(2)
    levels = []
    for _ in range(200):
        person = store.register(scenarios, study("pilot"), rng=rng)
        levels.append([q.level for q in sorted(store.questions(person, scenarios), key=lambda q: q.scenario.id)])
    table = pd.DataFrame(levels)
    for column in table:
        assert chisquare(table[column].value_counts().reindex(range(1, 7), fill_value=0)).pvalue > 0.001
    # Independent across scenarios: no two scenarios' levels are correlated
    # (with 200 participants a correlation's SE is about 0.07).
    correlations = table.corr().to_numpy()
    off_diagonal = correlations[~np.eye(len(correlations), dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.3


def test_registering_twice_with_one_code_makes_one_participant(store, scenarios):
    code = new_code()
    first = store.register(scenarios, study("pilot"), code=code)
    again = store.register(scenarios, study("pilot"), code=code)
    assert first == again
    assert store.progress()["participants"] == 1
    assert store.find(format_code(code).upper()) == first  # typed with dashes, in capitals
    assert store.find("not-a-code") is None and store.find(new_code()) is None


def test_each_answer_is_committed_at_once(store, scenarios):
    person = store.register(scenarios, study("pilot"))
    first = store.questions(person, scenarios)[0]
    assert store.record(person, first, "No", "  too far over  ")
    # Another connection (another server session, a crash right after) sees it.
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT participant_id, scenario, level, decision, explanation, prompt FROM answers").fetchall()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert rows == [(person.participant_id, first.scenario.id, first.level, "no", "too far over", first.prompt)]
    assert store.answered(person) == {f"scenario:{first.scenario.id}"}


def test_the_first_answer_stands(store, scenarios):
    person = store.register(scenarios, study("pilot"))
    question = store.questions(person, scenarios)[0]
    assert store.record(person, question, "yes", "first")
    assert not store.record(person, question, "no", "second click")
    answers = export.answers_table(store, study("pilot"))
    assert answers[["decision", "explanation"]].values.tolist() == [["yes", "first"]]


@pytest.mark.parametrize("decision, explanation, message", [
    (None, "why", "Please choose Yes or No."),
    ("maybe", "why", "Please choose Yes or No."),
    ("yes", "   ", "Please explain your decision"),
    ("yes", "x" * 501, "under 500 characters (it has 501)"),
])
def test_incomplete_answers_are_refused(store, scenarios, decision, explanation, message):
    assert message in survey.check_answer(decision, explanation)
    person = store.register(scenarios, study("pilot"))
    with pytest.raises(UserError, match=message.split(" (")[0][:20]):
        store.record(person, store.questions(person, scenarios)[0], decision, explanation)
    assert store.progress()["answers"] == 0


def test_an_answer_to_a_question_not_assigned_is_refused(store, scenarios):
    person = store.register(scenarios, study("pilot"))
    question = store.questions(person, scenarios)[0]
    wrong = survey.Question(question.position, question.scenario, question.level % 6 + 1)
    with pytest.raises(UserError, match="was not assigned"):
        store.record(person, wrong, "yes", "why")


def test_reading_never_creates_the_database(store, scenarios):
    assert store.find(new_code()) is None
    assert store.progress() == {"participants": 0, "completed": 0, "answers": 0}
    assert sum(row[2] for row in store.counts(scenarios)) == 0
    assert all(table.empty for table in export.tables(store, study("pilot")).values())
    assert not store.path.exists()
    with pytest.raises(UserError, match="no answers to export yet"):
        export.publish(store, scenarios, study("pilot"))


def test_a_changed_scenarios_file_is_reported(store, scenarios):
    person = store.register(scenarios, study("pilot"))
    with pytest.raises(UserError, match="keep the scenarios fixed while a study runs"):
        store.questions(person, scenarios[:3])


def test_organiser_counts_per_bucket(store, scenarios):
    rng = random.Random(3)
    people = [store.register(scenarios, study("pilot"), rng=rng) for _ in range(4)]
    answer_all(store, people[0], scenarios, lambda q: "no" if q.level < 4 else "yes")
    answer_all(store, people[1], scenarios)
    store.record(people[2], store.questions(people[2], scenarios)[0], "yes", "only one")
    counts = pd.DataFrame(store.counts(scenarios), columns=["scenario", "level", "answers", "yes", "no"])
    assert len(counts) == 60 and counts["answers"].sum() == 21
    assert (counts["yes"] + counts["no"] == counts["answers"]).all()
    expected = pd.concat([pd.DataFrame([(q.scenario.id, q.level) for q in store.questions(p, scenarios)])
                          for p in people[:2]]).value_counts()
    for (scenario, level), n in expected.items():
        got = counts[(counts["scenario"] == scenario) & (counts["level"] == level)]["answers"].item()
        assert got >= n
    assert store.progress() == {"participants": 4, "completed": 2, "answers": 21}
    wide = export.bucket_table(store, scenarios)
    assert list(wide.columns) == ["scenario"] + [f"level {i}" for i in range(1, 7)] + ["total"]
    assert wide["total"].sum() == 21 and wide["scenario"].iloc[0] == scenarios[0].title


def test_export_is_the_human_responses_format(store, scenarios, tmp_path):
    rng = random.Random(4)
    people = [store.register(scenarios, study("workshop-1"), rng=rng) for _ in range(2)]
    for person in people:
        answer_all(store, person, scenarios, lambda q: "no" if q.level <= 3 else "yes")
    [(path, rows)] = export.publish(store, scenarios, study("workshop-1"))
    assert path == paths.human_responses_file() and rows == 20
    table = human.load_human(path, scenarios)
    assert list(table.columns) == list(export.CODEBOOK["answers.csv"])
    assert list(table.columns[:len(human.COLUMNS)]) == human.COLUMNS
    assert set(table["study"]) == {"workshop-1"}
    assert set(table["participant_id"]) == {p.participant_id for p in people}
    assert not table.isin([p.code for p in people]).any().any()  # resume codes never leave the database
    assert (table["decision"] == table["level"].map(lambda lv: "no" if lv <= 3 else "yes")).all()
    pd.to_datetime(table["timestamp"], format="ISO8601")
    # The export is what the notebooks compare with, without any editing.
    data, label = source.human_or_illustrative(None, scenarios)
    assert label == "human (human_responses.csv)" and len(data) == 20
    assert stats.human_counts(data)["n"].sum() == 20


def _participant(args):
    """One participant in its own process: consent, then answer everything."""
    path, seed = args
    scenarios = load_scenarios(REPO / "scenarios.toml")
    store = survey.SurveyStore(path)
    rng = random.Random(seed)
    person = store.register(scenarios, study("crowd"), rng=rng)
    for question in store.questions(person, scenarios):
        store.record(person, question, rng.choice(["yes", "no"]), f"seed {seed}")
    store.complete(person)
    return person.participant_id


def test_many_participants_at_once_in_threads(tmp_path, scenarios):
    # The web server answers from a pool of threads in one process.
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "crowd.sqlite"  # a fresh file: creating it is part of the race
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(_participant, [(path, seed) for seed in range(48)]))
    assert len(set(ids)) == 48
    assert survey.SurveyStore(path).progress() == {"participants": 48, "completed": 48, "answers": 480}


def test_many_participants_at_once_in_processes(tmp_path, scenarios):
    path = tmp_path / "crowd.sqlite"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = pool.map(_participant, [(path, seed) for seed in range(16)])
    store = survey.SurveyStore(path)
    assert len(set(ids)) == 16
    assert store.progress() == {"participants": 16, "completed": 16, "answers": 160}
    assert sum(row[2] for row in store.counts(scenarios)) == 160


def test_a_database_that_cannot_be_written_is_one_line(tmp_path, scenarios):
    blocked = survey.SurveyStore(tmp_path)  # a folder where the file should be
    with pytest.raises(UserError, match=r"survey database .*: cannot be opened \(unable to open database file\)$"):
        blocked.register(scenarios, study("pilot"))


def test_a_write_locked_past_the_timeout_is_reported_not_lost_silently(store, scenarios, monkeypatch):
    person = store.register(scenarios, study("pilot"))
    question = store.questions(person, scenarios)[0]
    monkeypatch.setattr(survey, "BUSY_TIMEOUT_MS", 200)
    store.close()  # pooled connections keep the timeout they were opened with
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that never lets go
    try:
        with pytest.raises(UserError, match=r"not saved \(database is locked\); please submit again"):
            store.record(person, question, "yes", "why")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.record(person, question, "yes", "why")  # and it goes through once the lock is gone
