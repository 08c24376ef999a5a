"""A notebook open in a real browser reads the cache for free and makes calls
only when the run button is clicked."""

from pathlib import Path

import pytest
from browser import chromium_page, marimo_server, needs_chromium

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def test_baseline_waits_for_the_run_button(tmp_path, models_dir):
    env = {"EXCEPTIONS_CACHE": str(tmp_path / "cache"), "EXCEPTIONS_MODELS": str(models_dir)}
    with marimo_server(REPO / "notebooks/01_baseline.py", env) as url, chromium_page() as browser:
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("70 calls are not cached yet").wait_for(timeout=90_000)  # 60 buckets, 10 controls
        assert page.get_by_text("calls: 0 made, 0 cached, 0 failed").count() == 1
        page.get_by_role("button", name="Run the missing calls").click()
        page.get_by_text("calls: 70 made, 0 cached, 0 failed").wait_for(timeout=240_000)
        # The figure is drawn once answers exist.
        assert page.locator("img[src^='data:image/png']").count() >= 1
        # A new session (a reload) reads the cache instead of calling again.
        page.reload()
        page.get_by_text("calls: 0 made, 70 cached, 0 failed").wait_for(timeout=90_000)
