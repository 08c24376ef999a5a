"""The load bench's participant client (bench/survey_load_client.py) against the real
survey server: 10 participants at once, each from a Prolific study link through
consent, every scenario, the attention checks and a game to the completion page,
and every answer the server acknowledged is in the SQLite file as sent. Speed is
the bench's business (bench/bench_survey_load.py), not this test's."""

import asyncio
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from survey_load_client import crowd  # noqa: E402
from survey_load_server import SurveyServer, compare, stored, write_study  # noqa: E402

from helpers.economics.games import load_games  # noqa: E402
from helpers.survey.settings import load_settings  # noqa: E402

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GAME = "prisoners_dilemma"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One server, 10 participants at once; (outcomes, database path, settings)."""
    folder = tmp_path_factory.mktemp("load")
    settings_path = write_study(folder, games=True, games_subset=[GAME])
    settings = load_settings(settings_path)
    checks = {c.prompt: c.answer for c in settings.checks}
    with SurveyServer(folder, settings_path) as server:
        outcomes, timings = asyncio.run(crowd(server.base, 10, checks=checks, completion=settings.completion_code))
    return outcomes, server.db, settings, timings


def test_every_participant_reaches_the_completion_page(run):
    outcomes, _, _, timings = run
    assert [o.problem for o in outcomes if o.problem] == []
    assert all(o.started and o.finished and o.code for o in outcomes)
    assert not timings.errors


def test_every_acknowledged_answer_is_stored_as_sent(run):
    outcomes, db, settings, _ = run
    games = [g for g in load_games(REPO / "games.toml") if g.id == GAME]
    steps = 10 + len(settings.checks) + sum(len(g.settings) for g in games)
    held = stored(db)
    sent = {o.code: o.answers for o in outcomes}
    assert compare(sent, held, {}) == []
    assert all(len(o.answers) == steps for o in outcomes)
    assert sum(len(v) for v in held.values()) == 10 * steps
    with closing(sqlite3.connect(db)) as conn:
        passed = conn.execute("SELECT COUNT(*), SUM(passed) FROM checks").fetchone()
        platform = conn.execute("SELECT COUNT(*), COUNT(DISTINCT platform_id) FROM platform_ids").fetchone()
    assert passed == (10 * len(settings.checks), 10 * len(settings.checks))  # checks answered as asked
    assert platform == (10, 10)  # the study link's PROLIFIC_PID reached the server


def test_a_lost_or_changed_answer_is_reported(run, tmp_path):
    """The bench's FAIL: the comparison names a missing row and a changed text."""
    outcomes, db, _, _ = run
    copy = tmp_path / "copy.sqlite"
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    with closing(sqlite3.connect(copy)) as conn:
        lost, changed = conn.execute("SELECT participant_id, scenario FROM answers LIMIT 2").fetchall()
        conn.execute("DELETE FROM answers WHERE participant_id = ? AND scenario = ?", lost)
        conn.execute("UPDATE answers SET explanation = 'edited' WHERE participant_id = ? AND scenario = ?", changed)
        conn.commit()
    problems = compare({o.code: o.answers for o in outcomes}, stored(copy), {})
    assert len(problems) == 2
    assert any("acknowledged, not stored" in p for p in problems)
    assert any("stored 'edited'" in p for p in problems)
