"""Every report notebook, built the way `make report` builds it (marimo's export, then
the static page, then the front page), opens from file:// in Chromium with the
network cut: no request leaves the machine, the figures are real images and the
headline numbers the notebook computed are on the page.

The notebooks run with small arguments (one scenario, one training step) so the
module stays within a few minutes; `make report` runs them in full.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium_page, needs_chromium, only_local
from marimo_html import session

from helpers import paths

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GAMES = ["--train-size", "12", "--train-epochs", "1", "--samples", "1"]
NOTEBOOKS = {
    "01_baseline": ["--scenario", "grocery_prices"],
    "02_ethical_frameworks": ["--scenario", "grocery_prices", "--level", "1,6", "--examples", "1", "--max-tokens", "12"],
    "03_chain_of_thought": ["--scenario", "hospitality", "--level", "6", "--examples", "1", "--max-tokens", "12",
                            "--reasoning-tokens", "12"],
    "04_fine_tuning": ["--labels-size", "3", "--explanations-size", "2", "--max-steps", "1"],
    "05_transfer_learning": ["--scenario", "grocery_prices,hospitality,customer_service",
                             "--train-scenario", "grocery_prices", "--explanations-size", "2", "--max-steps", "1"],
    "06_moralexceptqa": [],
    "07_economic_games": GAMES,
    "08_moral_applications": [*GAMES, "--rounds", "2"],
}
CARD = re.compile(r'class="exceptions-headline" data-headline="([^"]*)"')

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def _run(command: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def built(tmp_path_factory, models_dir) -> Path:
    """reports/ as `make report` leaves it, from the notebooks' small runs."""
    root = tmp_path_factory.mktemp("built")
    out = root / "reports"
    (out / "interactive").mkdir(parents=True)
    # A module fixture runs before the per-test environment: make it hermetic here
    # (own cache, records and data; no credentials from the shell).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EXCEPTIONS_"))}
    env.update(EXCEPTIONS_CACHE=str(root / "cache"), EXCEPTIONS_RECORDS=str(root / "records"),
               EXCEPTIONS_DATA=str(root / "data"), EXCEPTIONS_MODELS=str(models_dir),
               EXCEPTIONS_MORALEXCEPTQA=str(paths.moralexceptqa_file()))
    for name, args in NOTEBOOKS.items():
        exported = out / "interactive" / f"{name}.html"
        _run([str(BIN / "marimo"), "export", "html", "--no-include-code", f"notebooks/{name}.py", "-o", str(exported),
              *(["--", *args] if args else [])], env)
        _run([sys.executable, "-m", "helpers", "report", "page", str(exported), "-o", str(out / f"{name}.html")], env)
    _run([sys.executable, "-m", "helpers", "report", "index", *(str(out / f"{n}.html") for n in NOTEBOOKS),
          "-o", str(out / "index.html")], env)
    return out


def card(built: Path, name: str) -> dict | None:
    """The headline the notebook computed, read from marimo's own export."""
    page = (built / "interactive" / f"{name}.html").read_text()
    for cell in session(page)["cells"]:
        for out in cell.get("outputs", []):
            found = CARD.search(str((out.get("data") or {}).get("text/html", "")))
            if found:
                return json.loads(html.unescape(found.group(1)))
    return None


def open_offline(browser, path: Path):
    """Open a file:// page with every other request aborted; returns (page, aborted URLs)."""
    context = browser.new_context()
    aborted = only_local(context)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, aborted


def loaded_images(page) -> list[int]:
    """naturalWidth of every <img> once each has finished loading (0: broken)."""
    return page.evaluate("""() => Promise.all([...document.images].map(img => img.complete
        ? img.naturalWidth : new Promise(done => { img.onload = () => done(img.naturalWidth);
                                                    img.onerror = () => done(0); })))""")


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_report_opens_offline_with_its_figures_and_headline(built, name):
    headline = card(built, name)
    with chromium_page() as browser:
        page, aborted = open_offline(browser, built / f"{name}.html")
        text = page.inner_text("body")
        widths = loaded_images(page)
    assert aborted == []
    assert "regenerate" in text.lower() and "make report" in text  # the footer
    if name == "06_moralexceptqa" and not paths.moralexceptqa_file().is_file():
        # Without the study's file the notebook says so in one line, and so does its report.
        assert "MoralExceptQA" in text and headline is None
        return
    assert headline is not None, f"{name} shows no headline card"
    assert widths and all(w > 0 for w in widths), widths
    for figure in headline["figures"]:
        assert figure["value"] in text, figure
    assert headline["verdict"]["status"] in text
    for model in headline["models"]:
        assert model in text


def test_front_page_opens_offline_with_a_row_per_report(built):
    with chromium_page() as browser:
        page, aborted = open_offline(browser, built / "index.html")
        text = page.inner_text("body")
        widths = loaded_images(page)
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert aborted == []
    for name in NOTEBOOKS:
        assert f"{name}.html" in links
        headline = card(built, name)
        if headline:
            assert headline["title"] in text
            for figure in headline["figures"]:
                assert figure["value"] in text, (name, figure)
    targets = [built / link for link in links if not re.match(r"^[a-z]+:", link)]
    assert targets and all(t.is_file() for t in targets), [t for t in targets if not t.is_file()]
    # A thumbnail per report with a figure, each a real image.
    assert len(widths) >= sum(1 for n in NOTEBOOKS if card(built, n)) - 1 and all(w > 0 for w in widths)


def test_marimos_own_export_needs_the_network(built):
    """Why reports are rendered statically: marimo's export loads its frontend from a CDN
    (marimo issue #575), so offline it makes requests that fail and shows no figure."""
    with chromium_page() as browser:
        page, aborted = open_offline(browser, built / "interactive" / "01_baseline.html")
        shown = page.evaluate("() => document.querySelectorAll('img').length")
    assert aborted and all("cdn.jsdelivr.net" in url for url in aborted)
    assert shown == 0
