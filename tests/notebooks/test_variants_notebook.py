"""notebooks/02_ethical_frameworks.py exports offline (as `make report` does), here
with small arguments: Figure 2 and the heatmap, the significance counts per
framework beside the paper-reported ones, the answer viewer and the count of
answers that state no decision."""

from pathlib import Path

import pytest
from marimo_html import apart_notes, callouts, errors, export, images, output_text, rows_with, validity_cards

REPO = Path(__file__).resolve().parents[2]
FRAMEWORKS = ["baseline", "consequentialist", "deontological", "virtue"]
pytestmark = pytest.mark.slow


def test_frameworks_notebook_exports_with_the_offline_model(tmp_path):
    page = export(REPO / "notebooks/02_ethical_frameworks.py", tmp_path / "02.html",
                  "--scenario", "grocery_prices", "--level", "1,6", "--examples", "1", "--max-tokens", "12")
    text = output_text(page)
    assert errors(page) == []
    # The illustrative human data, then a validity card per framework; no error.
    kinds = [c for c in callouts(page) if c not in apart_notes(page)]
    assert kinds[0][0] == "warn" and kinds[1:] == validity_cards(page) and len(kinds) == 1 + len(FRAMEWORKS)
    assert [kind for kind, _ in apart_notes(page)] == ["warn"]  # the paper's figures apart, and why
    # Four variants x two levels and the control, one forward pass each, all made by the real model here.
    assert "calls: 12 made, 0 cached, 0 failed" in text
    assert images(page) == 2  # Figure 2 and the significance heatmap
    buckets = rows_with(page, "se_note")
    assert sorted((b["variant"], b["level"]) for b in buckets) == sorted(
        (v, lv) for v in FRAMEWORKS for lv in (0, 1, 6))
    side = rows_with(page, "source")
    ours = {r["variant"]: r for r in side if r["source"] == "this workspace vs human (illustrative data)"}
    assert set(ours) == set(FRAMEWORKS) and all(r["buckets"] == 2 and 0 <= r["significant"] <= 2 for r in ours.values())
    paper = [r for r in side if r["source"].startswith("paper-reported")]
    assert {r["variant"] for r in paper} == set(FRAMEWORKS) and "gpt-4o" in {r["model"] for r in paper}
    # The viewer shows each framework's exact prompt and one sampled, parsed answer per variant.
    assert "Base your decision on virtue ethics. Answer Yes or No." in text
    assert text.count("parsed decision:") == 4
    invalid = [r for r in rows_with(page, "invalid_share") if "answers" in r]  # not the validity table
    assert {r["variant"] for r in invalid} == set(FRAMEWORKS) and all(r["answers"] == 1 for r in invalid)
