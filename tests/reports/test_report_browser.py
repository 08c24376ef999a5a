"""A rendered report and the front page open from file:// in a real Chromium with
every non-file request aborted: none is made, the figures decode, the headline and
the tables show, the hostile text stays text, and all of it needs no JavaScript."""

import time
from pathlib import Path

import pytest
from browser import chromium_page, needs_chromium, only_local
from report_exports import SAMPLE, export, plain_notebook

from helpers.reports import exported, index, page

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def reports(tmp_path_factory, models_dir):
    """reports/{sample,plain}.html and reports/index.html, as `make report` writes them."""
    folder = tmp_path_factory.mktemp("site") / "reports"
    (folder / "interactive").mkdir(parents=True)
    sources = {"sample": SAMPLE, "plain": plain_notebook(folder.parent)}
    for name, notebook in sources.items():
        copy = export(notebook, folder / "interactive" / f"{name}.html", code=False, home=folder.parent,
                      models=models_dir)
        started = time.perf_counter()
        html = page.render(exported.read(copy), links=page.Links(f"interactive/{name}.html", "index.html"))
        print(f"\n{name}: page rendered in {time.perf_counter() - started:.2f} s "
              f"({len(html.encode()) / 1e3:.0f} kB; export {copy.stat().st_size / 1e3:.0f} kB)")
        (folder / f"{name}.html").write_text(html)
    started = time.perf_counter()
    (folder / "index.html").write_text(index.render([folder / "sample.html", folder / "plain.html"],
                                                    folder / "index.html"))
    print(f"index of 2 rendered in {time.perf_counter() - started:.2f} s")
    return folder


def opened(context, path: Path):
    tab = context.new_page()
    tab.goto(path.as_uri(), wait_until="load")
    return tab


def test_report_page_offline(reports):
    with chromium_page() as browser:
        context = browser.new_context()
        aborted = only_local(context)
        tab = opened(context, reports / "sample.html")
        figures = tab.locator("img.figure")
        assert figures.count() == 2
        assert tab.evaluate("[...document.images].filter(i => i.classList.contains('figure'))"
                            ".every(i => i.complete && i.naturalWidth > 0)")
        assert figures.first.bounding_box()["width"] > 100
        headline = tab.locator("section.headline")
        assert headline.is_visible() and "29.0%" in headline.inner_text() and "39 of 60" in headline.inner_text()
        assert tab.locator(".verdict-not-interpretable").first.inner_text() == "not interpretable"
        assert tab.get_by_text("Validity: not interpretable (sample callout)").is_visible()
        # Participant text shows as the characters they typed, and none of it ran.
        assert tab.get_by_text("<script>window.HACKED=1</script>", exact=False).is_visible()
        assert tab.evaluate("window.HACKED") is None
        assert "make report" in tab.locator("footer").inner_text()
        assert aborted == []
        # The counting sees requests: the interactive copy (marimo's export) asks the CDN for its viewer.
        opened(context, reports / "interactive" / "sample.html")
        assert any("cdn.jsdelivr.net" in url for url in aborted)


def test_front_page_offline_and_without_javascript(reports):
    with chromium_page() as browser:
        context = browser.new_context(java_script_enabled=False)
        aborted = only_local(context)
        tab = opened(context, reports / "index.html")
        thumbs = tab.locator("img.thumb")
        assert thumbs.count() == 2
        for i in range(2):
            box = thumbs.nth(i).bounding_box()
            assert box["width"] > 100 and box["height"] > 20  # decoded: a broken image has no such size
        assert tab.get_by_text("not interpretable").first.is_visible()
        assert tab.get_by_text("no headline").is_visible()
        tab.get_by_role("link", name="9.9 Sample report", exact=True).click()
        tab.wait_for_load_state("load")
        assert tab.url == (reports / "sample.html").as_uri()
        assert tab.locator("section.headline").is_visible()
        assert tab.locator("img.figure").first.bounding_box()["width"] > 100
        assert aborted == []
