"""Notebook 07's human arm in an export: generated choices when there are none, said
to be illustrative in the text, the κ table and the headline card; real-looking
choices passed with --human-games, said to be measured and named by their file.
The agents are the base model alone (--finetune false) to keep the exports short."""

from pathlib import Path

import pandas as pd
import pytest
from marimo_html import callouts, errors, export, output_text, rows_with, run_script

from helpers.economics.games import load_games
from helpers.economics.humans import actions_for_people, write_human_games
from helpers.reports import exported
from helpers.reports import headline as reader

REPO = Path(__file__).resolve().parents[2]
FAST = ["--finetune", "false", "--samples", "1"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    # The second export reads the base model's answers from the first one's cache.
    return tmp_path_factory.mktemp("econ-human-cache")


def exported_07(out: Path, cache: Path, *args: str) -> tuple[str, str, reader.Headline]:
    page = export(REPO / "notebooks" / "07_economic_games.py", out, *FAST, *args, timeout=900,
                  env={"EXCEPTIONS_CACHE": str(cache)})
    assert errors(page) == []
    assert [text for kind, text in callouts(page) if kind == "danger"] == []
    return page, output_text(page), reader.find(exported.parse(page))


def human_row(page: str, label: str) -> dict:
    [row] = [r for r in rows_with(page, "implied κ") if r["agent"] == label]
    return row


def test_without_human_choices_the_arm_is_illustrative(tmp_path, shared_cache):
    page, text, card = exported_07(tmp_path / "07.html", shared_cache)
    label = "human (illustrative data)"
    assert "5. People in the same games" in text and "Not real people" in text
    row = human_row(page, label)
    assert row["valid answers"] == 200 * 19 and row["note"].startswith("illustrative; bootstrap over 200 clusters")
    assert row["95% low"] <= row["implied κ"] <= row["95% high"]
    beside = rows_with(page, f"{label}: cooperation")
    assert len(beside) == 19 and all(r[f"{label}: n"] == 200 for r in beside)
    [figure] = [f for f in card.figures if label in f.label]
    assert figure.kind == "illustrative" and figure.value == (
        f"{row['implied κ']:.2f} [{row['95% low']:.2f}, {row['95% high']:.2f}]")
    assert any(s.what == "human game choices" and s.kind == "illustrative" for s in card.sources)


def test_a_file_of_real_choices_is_measured_and_named(tmp_path, shared_cache):
    games = load_games(REPO / "games.toml")
    rows = []
    for person in range(12):
        for setting in [s for g in games for s in g.settings if g.id in ("prisoners_dilemma", "dictator")]:
            ids = [a for a, _ in actions_for_people(setting)]
            rows.append({"participant_id": f"P{person:02d}", "game": setting.game.id, "setting": setting.index,
                         "choice": ids[(person + setting.index) % len(ids)], "timestamp": "2026-11-20T10:00:00Z",
                         "study": "class-2026", "excluded": "true" if person == 11 else "false"})
    path = write_human_games(pd.DataFrame(rows), tmp_path / "class_games.csv")
    page, text, card = exported_07(tmp_path / "07.html", shared_cache, "--human-games", str(path))
    label = "human (class_games.csv)"
    assert "measured" in text and "Not real people" not in text
    assert "11 participants, 77 choices in 2 games" in text and "flagged `excluded` are left out" in text
    row = human_row(page, label)
    assert row["valid answers"] == 11 * 7 and row["note"].startswith("measured; bootstrap over 11 clusters")
    beside = {(r["game"], r["setting"]): r for r in rows_with(page, f"{label}: cooperation")}
    assert beside["prisoners_dilemma", "1"][f"{label}: n"] == 11 and beside["public_goods", "1"][f"{label}: n"] == 0
    [figure] = [f for f in card.figures if label in f.label]
    assert figure.kind == "measured" and "77 choices of 11 people" in figure.label
    assert any(s.what == "human game choices" and s.kind == "human" and "class_games.csv" in s.detail
               for s in card.sources)


def test_a_bad_human_games_file_is_one_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("participant_id,game,setting,choice,timestamp,study\nP1,chicken,1,swerve,2026-11-20T10:00:00Z,x\n")
    # As a script: the human arm's cell comes before any model is loaded, and stops the run.
    done = run_script(REPO / "notebooks" / "07_economic_games.py", *FAST, "--human-games", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {path}: row 1, field `game`: unknown game 'chicken'; the games file has prisoners_dilemma, "
        "public_goods, dictator, ultimatum_responder, trust_investor, trust_trustee")
