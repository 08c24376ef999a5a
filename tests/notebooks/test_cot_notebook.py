"""notebooks/03_chain_of_thought.py exports offline (as `make report` does), here
with small arguments: baseline vs cot vs human, the paper-reported figures beside
ours, and every turn of a chain in the viewer."""

from pathlib import Path

import pytest
from marimo_html import errors, export, images, output_text

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_cot_notebook_exports_with_the_offline_model(tmp_path):
    page = export(REPO / "notebooks/03_chain_of_thought.py", tmp_path / "03.html",
                  "--scenario", "hospitality", "--level", "6", "--examples", "1",
                  "--max-tokens", "12", "--reasoning-tokens", "12")
    text = output_text(page)
    assert errors(page) == []
    assert "Cannot" not in text
    # baseline: one forward pass; cot: two sampled reasoning turns and the final pass.
    assert "calls: 4 made, 0 cached, 0 failed" in text
    assert "1 reasoning sample(s) back each bucket" in text
    assert images(page) >= 1
    assert "local/smollm2-135m-instruct , cot : mean absolute difference from human (illustrative data)" in text
    assert "local/smollm2-135m-instruct , baseline : mean absolute difference from human (illustrative data)" in text
    # The paper's 4o-mini figures sit beside ours, labelled.
    assert "paper-reported (the paper's participants)" in text and "0.406" in text and "0.453" in text
    # The viewer shows the three turns of the run's chain and the final probability.
    assert "This run's conversations (exact mode)" in text
    assert "Next, work out step by step how the policy applies" in text
    assert "final turn: P(no) / (P(yes) + P(no)) =" in text
    assert "Sampled answers (for reading only" in text and text.count("parsed decision:") == 2
