"""notebooks/02_ethical_frameworks.py exports offline (as `make report` does), here
with small arguments: Figure 2, the significance counts per framework beside the
paper-reported ones, the answer viewer and the invalid-answer count."""

from pathlib import Path

import pytest
from marimo_html import errors, export, images, output_text

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_frameworks_notebook_exports_with_the_offline_model(tmp_path):
    page = export(REPO / "notebooks/02_ethical_frameworks.py", tmp_path / "02.html",
                  "--scenario", "grocery_prices", "--level", "1,6", "--examples", "1", "--max-tokens", "12")
    text = output_text(page)
    assert errors(page) == []
    assert "Cannot" not in text
    # Four variants x two levels, one forward pass each, all made by the real model here.
    assert "calls: 8 made, 0 cached, 0 failed" in text
    assert images(page) >= 2  # Figure 2 and the significance heatmap
    for variant in ("baseline", "consequentialist", "deontological", "virtue"):
        assert f"local/smollm2-135m-instruct , {variant} : significantly different from human (illustrative data) in" in text
    assert "paper-reported (the paper's participants)" in text and "gpt-4o" in text
    assert "not real people" in text
    # The viewer shows each framework's exact prompt and a sampled, parsed answer.
    assert "Base your decision on virtue ethics. Answer Yes or No." in text
    assert text.count("parsed decision:") == 4
    assert "Answers that state no decision" in text
