"""Notebook 04 in a real browser: opening it trains nothing; the run button trains
the adapters and measures them."""

from pathlib import Path

import pytest
from browser import chromium_page, marimo_server, needs_chromium

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def test_fine_tuning_waits_for_the_button(tmp_path, models_dir):
    env = {"EXCEPTIONS_CACHE": str(tmp_path / "cache"), "EXCEPTIONS_MODELS": str(models_dir),
           "EXCEPTIONS_DATA": str(tmp_path / "data")}
    args = ("--", "--labels-size", "3", "--explanations-size", "2", "--max-steps", "1")
    with marimo_server(REPO / "notebooks/04_fine_tuning.py", env, *args) as url, chromium_page() as browser:
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("3 models are not trained yet").wait_for(timeout=90_000)
        page.get_by_text("7 answers are not cached yet").wait_for(timeout=90_000)  # the base model's, with the control
        assert not (tmp_path / "cache" / "adapters").exists()  # opening the notebook trained nothing
        page.get_by_role("button", name="Train the missing models and measure them").click()
        page.get_by_text("not trained yet").wait_for(state="detached", timeout=300_000)
        page.get_by_text("answers are not cached yet").wait_for(state="detached", timeout=300_000)
        assert len(list((tmp_path / "cache" / "adapters").glob("illustrative-*/meta.json"))) == 3
        assert page.locator("img[src^='data:image/png']").count() >= 2
