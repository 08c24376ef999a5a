"""`make lab` in a real Chromium with every non-local request aborted: the launcher
shows the marimo and Reports tiles, "Open marimo Editor" lists the workspace's
notebooks, a notebook opens and runs in the venv (its cells import helpers), a
static report opens in JupyterLab's HTML viewer, and the Reports tile serves pages
whose links work. Nothing leaves the machine."""

import base64
import io

import pytest
from PIL import Image  # matplotlib's dependency
from browser import chromium_page, needs_chromium, only_local
from lab_server import make_lab, stand_in_reports

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "steelblue").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_launcher_notebook_and_report(tmp_path, models_dir):
    report = ('<!doctype html><title>t</title><h1>Static report</h1>'
              f'<img alt="figure" src="data:image/png;base64,{png(40, 30)}">')
    index = '<!doctype html><title>i</title><h1>Front page</h1><a href="report.html">section</a>'
    with stand_in_reports({"index.html": index, "report.html": report}) as folder:
        with make_lab(tmp_path / "lab", {"EXCEPTIONS_MODELS": str(models_dir)}) as lab, \
                chromium_page() as browser:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            aborted = only_local(context, (lab.url + "/", "data:", "blob:"))
            page = context.new_page()
            page.goto(f"{lab.url}/lab?token={lab.token}")
            cards = page.locator(".jp-LauncherCard")
            cards.first.wait_for(timeout=120_000)
            titles = {card.inner_text().strip() for card in cards.all()}
            assert {"New marimo Notebook", "Open marimo Editor", "Reports [↗]"} <= titles

            # The Reports tile opens reports/ in a new tab, where a front page's links work.
            with context.expect_page() as opened:
                page.locator(".jp-LauncherCard", has_text="Reports").click(timeout=120_000)
            reports = opened.value
            # What it shows first depends on reports/ (a listing, or a front page that
            # make report wrote), so only where it points is checked here.
            reports.wait_for_load_state(timeout=60_000)
            assert reports.url.startswith(f"{lab.url}/reports"), reports.url
            reports.goto(f"{lab.url}/{folder}/index.html")
            reports.get_by_role("link", name="section").click()
            reports.get_by_text("Static report").wait_for(timeout=30_000)
            assert reports.get_by_alt_text("figure").bounding_box()["width"] == 40

            # The editor tile opens marimo's file list of the checkout in a new tab.
            with context.expect_page() as opened:
                page.locator(".jp-LauncherCard", has_text="Open marimo Editor").click()
            editor = opened.value
            editor.get_by_text("notebooks", exact=True).click(timeout=120_000)
            with context.expect_page() as opened:  # marimo opens a notebook in a new tab
                editor.get_by_text("01_baseline.py", exact=True).click(timeout=30_000)
            notebook = opened.value
            # marimo's editor opens a notebook without running it; run all cells. They
            # import helpers from the venv and stop at the notebook's own run button
            # before calling the model.
            notebook.get_by_role("heading", name="2.1 Baseline refusal rates").wait_for(timeout=120_000)
            notebook.get_by_test_id("chrome-controls-bottom-right").get_by_test_id("run-button").click()
            notebook.get_by_text("calls are not cached yet").first.wait_for(timeout=240_000)

            # A report from the file browser opens in the HTML viewer (a sandboxed
            # iframe without scripts), image included.
            page.goto(f"{lab.url}/lab/tree/{folder}/report.html?token={lab.token}")
            frame = page.frame_locator(".jp-HTMLViewer iframe")
            frame.get_by_text("Static report").wait_for(timeout=60_000)
            box = frame.get_by_alt_text("figure").bounding_box()
            assert box and (box["width"], box["height"]) == (40, 30)

            context.close()
    assert aborted == []
