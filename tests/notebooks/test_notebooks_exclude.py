"""`--exclude` in an exported notebook: the survey export's flagged answers leave the
comparison, the note says how many and why, and the human label of the figure, the
tables and the headline card carries the filter. The file itself is not changed."""

import csv
import re
from pathlib import Path

import pytest
from marimo_html import callouts, errors, export, images, output_text, rows_with

from helpers.exceptions.scenarios import load_scenarios

REPO = Path(__file__).resolve().parents[2]
# The export's columns (human-responses format plus data quality), in its order.
HEADER = ["participant_id", "scenario", "level", "decision", "explanation", "timestamp", "study", "position",
          "prompt", "consent_version", "shown_at", "seconds", "edits", "paste_count", "pasted_chars", "device",
          "attention_passed", "attention_total", "total_seconds", "completed",
          "excl_attention", "excl_fast", "excl_paste", "excluded"]


def small_scenarios(tmp_path: Path, count: int = 3) -> Path:
    blocks = (REPO / "scenarios.toml").read_text().split("[[scenarios]]")
    path = tmp_path / "small.toml"
    path.write_text("[[scenarios]]".join(blocks[:count + 1]))
    return path


def survey_export(path: Path, scenarios, people: int, careless: set[int]) -> Path:
    """An answers file as the survey exports it: every participant answers every
    scenario; those in `careless` failed an attention check, and one answer of
    participant 2 was pasted (flagged, but not by the attention rule)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for person in range(1, people + 1):
            failed = person in careless
            for position, scenario in enumerate(scenarios, start=1):
                level = (person + position) % len(scenario.levels) + 1
                pasted = 40 if (person, position) == (2, 1) else 0
                writer.writerow([f"p{person:02d}", scenario.id, level, "no" if level <= 3 else "yes", "a reason",
                                 f"2026-12-01T10:{person:02d}:{position * 10:02d}Z", "excl-test", position,
                                 "the prompt", "2026-12-1", f"2026-12-01T10:{person:02d}:{position * 10 - 8:02d}Z",
                                 "8.0", "", str(int(pasted > 0)), str(pasted), "desktop", 1 - failed, 2, "",
                                 "true", str(failed).lower(), "false", str(pasted > 0).lower(),
                                 str(failed).lower()])
    return path


@pytest.mark.slow
def test_the_baseline_states_its_exclusions_beside_the_comparison(tmp_path):
    small = small_scenarios(tmp_path)
    scenarios = load_scenarios(small)
    answers = survey_export(tmp_path / "answers.csv", scenarios, people=6, careless={4})
    before = answers.read_bytes()
    label = "human (answers.csv; excl. attention)"
    page = export(REPO / "notebooks/01_baseline.py", tmp_path / "01.html", "--scenarios", str(small),
                  "--human", str(answers), "--exclude", "attention", "--no-control")
    text = output_text(page)
    assert errors(page) == [] and "calls: 18 made, 0 cached, 0 failed" in text  # 3 scenarios x 6 levels
    kind, note = callouts(page)[0]
    assert kind == "info" and note.startswith(f"Human data used here: {label} : 5 participants, 15 answers")
    assert re.search(r"Exclusions: excluding failed attention check \( ?excl_attention ?true\): 3 of 18 answers "
                     r"\(1 participant\) dropped; 15 kept\. Every number and figure below uses the kept answers", note)
    assert images(page) >= 1 and f"Model vs {label}" in text  # the heading under the figure
    compared = rows_with(page, "human_rate")
    assert {r["human_data"] for r in compared} == {label}
    assert sum(r["human_n"] for r in compared) == 15  # every kept answer, no dropped one
    assert f"mean absolute difference from {label}" in text  # the summary lines
    assert f"mean absolute gap from {label}" in text  # the headline card
    assert answers.read_bytes() == before  # dropped from the analysis, never from the file
