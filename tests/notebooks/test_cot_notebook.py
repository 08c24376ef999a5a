"""notebooks/03_chain_of_thought.py exports offline (as `make report` does), here
with small arguments: baseline vs cot vs human, the paper-reported figures beside
ours, and every turn of a chain in the viewer."""

from pathlib import Path

import pytest
from marimo_html import apart_notes, callouts, errors, export, images, output_text, rows_with, validity_cards

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_cot_notebook_exports_with_the_offline_model(tmp_path):
    page = export(REPO / "notebooks/03_chain_of_thought.py", tmp_path / "03.html",
                  "--scenario", "hospitality", "--level", "6", "--examples", "1",
                  "--max-tokens", "12", "--reasoning-tokens", "12")
    text = output_text(page)
    assert errors(page) == []
    # The illustrative human data, then a validity card per variant; no error.
    kinds = [c for c in callouts(page) if c not in apart_notes(page)]
    assert kinds[0][0] == "warn" and kinds[1:] == validity_cards(page)
    # Not interpretable, so the paper's figures stand apart, under a note saying why.
    assert [kind for kind, _ in apart_notes(page)] == ["warn"]
    assert [text.split(" (exact)")[0] for _, text in kinds[1:]] == [
        "local/smollm2-135m-instruct, baseline", "local/smollm2-135m-instruct, cot"]
    # Level 6 and the control: baseline one forward pass each; cot two sampled
    # reasoning turns and the final pass each.
    assert "calls: 8 made, 0 cached, 0 failed" in text
    assert "1 reasoning sample(s) back each bucket" in text
    assert images(page) == 1
    buckets = {b["variant"]: b for b in rows_with(page, "se_note") if b["level"] == 6}
    assert set(buckets) == {"baseline", "cot"} and buckets["cot"]["chains"] == 1
    # Ours beside the paper's 4o-mini figures, each labelled with its source.
    side = rows_with(page, "source")
    ours = {r["variant"]: r for r in side if r["source"] == "this workspace vs human (illustrative data)"}
    assert set(ours) == {"baseline", "cot"} and all(r["buckets"] == 1 for r in ours.values())
    mini = {r["variant"]: r["mean_abs_diff"] for r in side if r["source"].startswith("paper-reported")
            and r["model"] == "gpt-4o-mini"}
    assert mini == {"baseline": 0.453, "cot": 0.406}
    # The viewer shows the three turns of the run's chain and the final probability.
    assert "This run's conversations (exact mode)" in text
    assert "Next, work out step by step how the policy applies" in text
    assert "final turn: P(no) / (P(yes) + P(no)) =" in text
    assert text.count("parsed decision:") == 2  # one sampled answer per variant
