"""The human-data notebooks under `marimo export html` (what `make report` runs):
MoralExceptQA runs offline from the shared copy (or says in one line that it is
missing), and a study collected in the survey flows into 01_baseline's
comparison with no edits."""

import random
import re
from pathlib import Path

import pytest
from marimo_html import callouts, errors, export, images, output_text, rows_with

from helpers import paths
from helpers.exceptions.scenarios import load_scenarios
from helpers.humans import moralexceptqa
from helpers.survey import export as survey_export
from helpers.survey.settings import StudySettings
from helpers.survey.store import SurveyStore

REPO = Path(__file__).resolve().parents[2]


def exported(notebook: str, out: Path, *args: str, **env: str) -> str:
    return export(REPO / notebook, out, *args, env=env)


def small_scenarios(tmp_path: Path, count: int = 3) -> Path:
    """The first `count` scenarios of scenarios.toml in a file of their own."""
    text = (REPO / "scenarios.toml").read_text()
    blocks = text.split("[[scenarios]]")
    path = tmp_path / "small.toml"
    path.write_text("[[scenarios]]".join(blocks[:count + 1]))
    return path


@pytest.mark.slow
def test_moralexceptqa_runs_offline_from_the_shared_copy(tmp_path):
    if not paths.moralexceptqa_file().is_file():
        pytest.skip(f"MoralExceptQA is not at {paths.moralexceptqa_file()}")
    page = exported("notebooks/06_moralexceptqa.py", tmp_path / "06.html")
    text = output_text(page)
    assert errors(page) == []
    assert "calls: 54 made, 0 cached, 0 failed" in text  # the real offline model, 9 acts x 6 levels
    kind, attribution = callouts(page)[0]
    assert kind == "info" and "MoralExceptQA: Jin, Levine, Gonzalez Adauto" in attribution
    assert moralexceptqa.LICENCE in text
    compared = rows_with(page, "human_rate")
    assert len(compared) == 54 and {r["human_data"] for r in compared} == {"MoralExceptQA"}
    assert re.search(r"over 54 buckets; significantly different in \d+ of 54", text)
    assert re.search(r"level-permutation test p = \d\.\d{3} \(720 permutations\)", text)
    assert images(page) == 1


def test_moralexceptqa_missing_is_one_line_not_a_crash(tmp_path):
    absent = tmp_path / "nowhere" / "complete_file.csv"
    page = exported("notebooks/06_moralexceptqa.py", tmp_path / "06.html", EXCEPTIONS_MORALEXCEPTQA=str(absent))
    assert callouts(page) == [("danger", f"error: MoralExceptQA file not found at {absent}; download complete_file.csv "
                                         "(github.com/feradauto/MoralCoT, input_data/) and pass its path "
                                         "(--moralexceptqa FILE or EXCEPTIONS_MORALEXCEPTQA)")]
    assert errors(page) == [] and "Traceback" not in page and "calls:" not in output_text(page)


@pytest.mark.slow
def test_a_survey_study_flows_into_the_baseline_comparison(tmp_path):
    small = small_scenarios(tmp_path)
    scenarios = load_scenarios(small)
    store, study = SurveyStore(), StudySettings(study="flow-test")
    rng = random.Random(6)
    for person in [store.register(scenarios, study, rng=rng) for _ in range(4)]:
        for question in store.questions(person, scenarios):
            store.record(person, question, "no" if question.level <= 3 else "yes", "reason")
    survey_export.publish(store, scenarios, study)  # what the organiser's publish button does
    page = exported("notebooks/01_baseline.py", tmp_path / "01.html", "--scenarios", str(small))
    text = output_text(page)
    assert "calls: 21 made, 0 cached, 0 failed" in text  # 3 scenarios x (6 levels + the control)
    assert callouts(page)[0] == ("info", "Human data used here: human (human_responses.csv) : "
                                         "4 participants, 12 answers, study: flow-test. No exclusions applied "
                                         "(the data has excl_attention, excl_fast, excl_paste, excluded); "
                                         "--exclude chooses which to apply.")  # the survey's export carries them
    assert len(callouts(page)) == 2 and "not interpretable" in callouts(page)[1][1]  # the validity card
    compared = rows_with(page, "human_rate")
    assert {r["human_data"] for r in compared} == {"human (human_responses.csv)"}
    assert sum(r["human_n"] for r in compared) == 12  # every answer collected is in a compared bucket


def test_moralexceptqa_with_an_api_model(tmp_path):
    if not paths.moralexceptqa_file().is_file():
        pytest.skip(f"MoralExceptQA is not at {paths.moralexceptqa_file()}")
    from helpers.testing.server import FakeOpenAI

    # The protocol server says Yes only when the vignette is the threat (level 6).
    with FakeOpenAI(yes_words=("kill Hank's son",)) as server:
        page = exported("notebooks/06_moralexceptqa.py", tmp_path / "06.html",
                        "--model", "openai/gpt-4o-mini", "--base-url", server.base_url)
        requests = server.completions()
    assert len(requests) == 54
    assert "calls: 54 made, 0 cached, 0 failed" in output_text(page)
    rates = {(r["scenario"], r["level"]): r["model_rate"] for r in rows_with(page, "human_rate")}
    # The server's answers, read back: Yes (no refusal) at the threat, No below it.
    assert len(rates) == 54 and all((rate < 0.5) == (level == 6) for (_, level), rate in rates.items())
