"""A bad argument to any notebook (or the survey app) is one line naming it, never
a traceback: a danger callout `error: ...` under `marimo export html` (and in the
browser, which runs the same cells), and `error: ...` on stderr with exit status 2
when the notebook runs as a script, as `python -m helpers ...` does.

Every case fails in the notebook's first cell, before any model is loaded or called.
"""

from pathlib import Path

import pytest
from marimo_html import callouts, errors, export, run_script, skipped

REPO = Path(__file__).resolve().parents[2]
RUNS = ["notebooks/01_baseline.py", "notebooks/02_ethical_frameworks.py", "notebooks/03_chain_of_thought.py",
        "notebooks/04_fine_tuning.py", "notebooks/05_transfer_learning.py"]
GAMES = ["notebooks/07_economic_games.py", "notebooks/08_moral_applications.py"]
SAMPLES = "--samples must be"
UNKNOWN = "unknown notebook argument --bogus"
NO_HUMAN = "/nonexistent.csv: file not found"
# A human-responses file from before the survey exported exclusion variables.
OLDER = str(REPO / "tests" / "data" / "human_responses_older.csv")
NO_VARIABLE = "human_responses_older.csv has no exclusion variable `excl_attention`"

# (notebook, arguments, what the message says)
CASES = [
    *[(nb, ["--samples=-5"], SAMPLES) for nb in RUNS],
    *[(nb, ["--human", "/nonexistent.csv"], NO_HUMAN) for nb in RUNS],
    *[(nb, ["--bogus", "1"], UNKNOWN) for nb in RUNS],
    *[(nb, ["--human", OLDER, "--exclude", "attention"], NO_VARIABLE) for nb in RUNS],
    ("notebooks/01_baseline.py", ["--exclude", "attention,bogus"],
     "--exclude must be one of attention, fast, paste, study, got 'bogus'"),
    *[(nb, ["--samples", "-5"], "unknown notebook argument -5") for nb in RUNS[:1] + GAMES[:1]],
    ("notebooks/03_chain_of_thought.py", ["--level", "9"], "--level 9"),
    ("notebooks/05_transfer_learning.py", ["--train-scenario", "nowhere"], "unknown scenario id 'nowhere'"),
    ("notebooks/06_moralexceptqa.py", ["--samples=-5"], SAMPLES),
    ("notebooks/06_moralexceptqa.py", ["--moralexceptqa", "/nonexistent.csv"],
     "MoralExceptQA file not found at /nonexistent.csv"),
    ("notebooks/06_moralexceptqa.py", ["--bogus", "1"], UNKNOWN),
    ("notebooks/06_moralexceptqa.py", ["--exclude", "attention"], "--exclude is for notebooks 01-05"),
    *[(nb, ["--samples=-5"], "--samples must be") for nb in GAMES],
    *[(nb, ["--games", "/nonexistent.toml"], "/nonexistent.toml: file not found") for nb in GAMES],
    *[(nb, ["--bogus", "1"], UNKNOWN) for nb in GAMES],
]
# One export per notebook (an export costs more than a script run), covering every kind of case.
EXPORTED = [
    ("notebooks/01_baseline.py", ["--human", "/nonexistent.csv"], NO_HUMAN),
    ("notebooks/02_ethical_frameworks.py", ["--samples=-5"], SAMPLES),
    ("notebooks/03_chain_of_thought.py", ["--bogus", "1"], UNKNOWN),
    ("notebooks/04_fine_tuning.py", ["--human", "/nonexistent.csv"], NO_HUMAN),
    ("notebooks/05_transfer_learning.py", ["--samples=-5"], SAMPLES),
    ("notebooks/05_transfer_learning.py", ["--human", OLDER, "--exclude", "attention"], NO_VARIABLE),
    ("notebooks/06_moralexceptqa.py", ["--bogus", "1"], UNKNOWN),
    ("notebooks/07_economic_games.py", ["--samples=-5"], SAMPLES),
    ("notebooks/08_moral_applications.py", ["--bogus", "1"], UNKNOWN),
]


def name(case) -> str:
    notebook, args, _ = case
    return f"{Path(notebook).stem}:{' '.join(args)}"


@pytest.mark.slow
@pytest.mark.parametrize("notebook,args,message", CASES, ids=[name(c) for c in CASES])
def test_a_script_run_exits_2_with_one_line(notebook, args, message):
    proc = run_script(REPO / notebook, *args)
    assert proc.returncode == 2, (proc.stdout[-1000:], proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("notebook,args,message", EXPORTED, ids=[name(c) for c in EXPORTED])
def test_an_export_shows_the_error_as_a_callout(notebook, args, message, tmp_path):
    page = export(REPO / notebook, tmp_path / "out.html", *args, timeout=300)
    danger = [text for kind, text in callouts(page) if kind == "danger"]
    assert len(danger) == 1 and danger[0].startswith("error: ") and message in danger[0], callouts(page)
    assert errors(page) == [] and "Traceback" not in page
    assert skipped(page) > 0  # the cells that needed the arguments did not run


def test_every_notebook_has_a_bad_argument_case():
    notebooks = {str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("[0-9]*.py")}
    assert {nb for nb, _, _ in CASES} == notebooks == {nb for nb, _, _ in EXPORTED}
