"""The human-data notebooks under `marimo export html` (what `make report` runs):
the survey exports harmlessly, MoralExceptQA runs offline from the shared copy
(or says in one line that it is missing), and a study collected in the survey
flows into 01_baseline's comparison with no edits."""

import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.humans import moralexceptqa
from helpers import paths
from helpers.humans import survey
from helpers.exceptions.scenarios import load_scenarios

REPO = Path(__file__).resolve().parents[2]
MARIMO = str(Path(sys.executable).parent / "marimo")


def export(notebook: str, out: Path, *args: str, **env: str) -> str:
    proc = subprocess.run([MARIMO, "export", "html", str(REPO / "notebooks" / notebook), "-o", str(out),
                           *(["--", *args] if args else [])],
                          capture_output=True, text=True, timeout=900, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out.read_text()


def plain(html: str) -> str:
    """The export's text with markup and JSON escapes dropped, for phrase searches."""
    # Cell outputs sit in JSON strings, where tags are escaped as \u003C ... \u003E.
    text = re.sub(r"\\u003C.*?\\u003E", " ", html).replace("\\n", " ")
    return " ".join(text.split())


def small_scenarios(tmp_path: Path, count: int = 3) -> Path:
    """The first `count` scenarios of scenarios.toml in a file of their own."""
    text = (REPO / "scenarios.toml").read_text()
    blocks = text.split("[[scenarios]]")
    path = tmp_path / "small.toml"
    path.write_text("[[scenarios]]".join(blocks[:count + 1]))
    return path


def rows(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall())
                for t in ("participants", "assignments", "answers")}


def test_survey_export_with_no_database_writes_nothing(tmp_path):
    html = plain(export("../apps/survey.py", tmp_path / "survey.html"))
    assert "Organiser: responses so far" in html and "no answers yet" in html
    assert "0 participants consented" in html
    assert not paths.data_dir().exists()  # no database, no folder, no participant


def test_survey_export_shows_counts_and_changes_nothing(tmp_path):
    store = survey.SurveyStore()
    scenarios = load_scenarios(REPO / "scenarios.toml")
    rng = random.Random(5)
    for person in [store.register(scenarios, "class-a", rng=rng) for _ in range(2)]:
        for question in store.questions(person, scenarios)[:4]:
            store.record(person, question, "yes", "fine")
    before = rows(store.path)
    html = plain(export("../apps/survey.py", tmp_path / "survey.html"))
    assert "2 participants consented, 0 finished, 8 answers saved" in html
    assert rows(store.path) == before
    assert not paths.human_responses_file().exists()  # no export without the organiser's click


@pytest.mark.slow
def test_moralexceptqa_runs_offline_from_the_shared_copy(tmp_path):
    if not paths.moralexceptqa_file().is_file():
        pytest.skip(f"MoralExceptQA is not at {paths.moralexceptqa_file()}")
    html = export("06_moralexceptqa.py", tmp_path / "06.html")
    text = plain(html)
    assert "calls: 54 made, 0 cached, 0 failed" in text  # the real offline model, 9 acts x 6 levels
    assert moralexceptqa.LICENCE in text
    assert "MoralExceptQA: Jin, Levine, Gonzalez Adauto" in html  # the attribution (inside a callout)
    assert re.search(r"local/smollm2-135m-instruct : mean absolute difference \d+\.\d% over 54 buckets", text)
    assert re.search(r"level-permutation test p = \d\.\d{3} \(720 permutations\)", text)
    assert len(re.findall(r"data:image/png;base64,", html)) >= 1


def test_moralexceptqa_missing_is_one_line_not_a_crash(tmp_path):
    absent = tmp_path / "nowhere" / "complete_file.csv"
    html = export("06_moralexceptqa.py", tmp_path / "06.html", EXCEPTIONS_MORALEXCEPTQA=str(absent))
    # The message sits in a callout (escaped inside an attribute), as one line.
    assert f"MoralExceptQA not available: MoralExceptQA file not found at {absent}; download" in html
    assert "Traceback" not in html and "calls:" not in plain(html)


@pytest.mark.slow
def test_a_survey_study_flows_into_the_baseline_comparison(tmp_path):
    small = small_scenarios(tmp_path)
    scenarios = load_scenarios(small)
    store = survey.SurveyStore()
    rng = random.Random(6)
    for person in [store.register(scenarios, "flow-test", rng=rng) for _ in range(4)]:
        for question in store.questions(person, scenarios):
            store.record(person, question, "no" if question.level <= 3 else "yes", "reason")
    store.export(scenarios)  # what the organiser's button does
    html = export("01_baseline.py", tmp_path / "01.html", "--scenarios", str(small))
    text = plain(html)
    assert "calls: 18 made, 0 cached, 0 failed" in text
    assert "4 participants, 12 answers, study: flow-test" in html  # the callout naming the data
    assert "vs human (human_responses.csv): mean absolute difference" in text
    assert "human (illustrative data)" not in text


def test_moralexceptqa_with_an_api_model(tmp_path):
    if not paths.moralexceptqa_file().is_file():
        pytest.skip(f"MoralExceptQA is not at {paths.moralexceptqa_file()}")
    from helpers.testing.server import FakeOpenAI

    # The protocol server says Yes only when the vignette is the threat (level 6).
    with FakeOpenAI(yes_words=("kill Hank's son",)) as server:
        html = export("06_moralexceptqa.py", tmp_path / "06.html",
                      "--model", "openai/gpt-4o-mini", "--base-url", server.base_url)
        requests = server.completions()
    assert len(requests) == 54
    text = plain(html)
    assert "calls: 54 made, 0 cached, 0 failed" in text
    assert re.search(r"openai/gpt-4o-mini : mean absolute difference \d+\.\d% over 54 buckets", text)
