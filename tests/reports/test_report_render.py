"""The static report page, rendered from real marimo exports: figures are <img> with
data: URIs, tables are real rows with the export's values, callouts and widgets keep
their content, code shows only when asked, hostile text stays text, nothing is
fetched, and the footer says where the page came from."""

import base64
import io
import re
import subprocess
import time

import pytest
from bs4 import BeautifulSoup
from marimo_html import callouts, images, tables
from PIL import Image
from report_exports import BASELINE, BASELINE_ARGS, REPO, SAMPLE, export, plain_notebook

from helpers.errors import UserError
from helpers.reports import exported, page, provenance

HOSTILE = '<script>window.HACKED=1</script><img src=x onerror="window.HACKED=2"><b>bold?</b>'


@pytest.fixture(scope="module")
def sample(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("sample")
    return export(SAMPLE, folder / "sample.html", code=True, home=folder, models=models_dir)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("baseline")
    return export(BASELINE, folder / "01_baseline.html", *BASELINE_ARGS, code=False, home=folder, models=models_dir)


@pytest.fixture(scope="module")
def plain_export(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("plain")
    return export(plain_notebook(folder), folder / "plain.html", code=False, home=folder, models=models_dir)


def rendered(path, **kwargs) -> BeautifulSoup:
    return BeautifulSoup(page.render(exported.read(path), **kwargs), "html.parser")


def footer(soup: BeautifulSoup) -> dict[str, str]:
    items = soup.find("footer").find_all(["dt", "dd"])
    return {dt.get_text(): dd.get_text() for dt, dd in zip(items[::2], items[1::2])}


def table_rows(table) -> list[dict[str, str]]:
    head = [th.get_text() for th in table.find("thead").find_all("th")]
    return [dict(zip(head, (td.get_text() for td in tr.find_all("td")))) for tr in table.find("tbody").find_all("tr")]


def test_reading_an_export_keeps_the_notebook_order_and_code(sample, baseline):
    notebook = exported.read(sample)
    assert notebook.filename == "sample_notebook.py" and notebook.title == "9.9 Sample report"
    assert notebook.marimo_version[0].isdigit() and notebook.has_code
    assert "mo.ui.table(rows" in notebook.cells[6].code  # the file's order: setup, then cell by cell
    assert not exported.read(baseline).has_code  # exported with --no-include-code


@pytest.mark.parametrize("text,message", [
    ("<html><body>hello</body></html>", "is not a marimo HTML export"),
    ('<script>window.__MARIMO_MOUNT_CONFIG__ = Object.freeze({"filename": "x.py", "session": {"cel',
     "cut off or damaged"),
    ('<script>window.__MARIMO_MOUNT_CONFIG__ = Object.freeze({"filename": "x.py"})', "without the outputs of a run"),
])
def test_what_is_not_an_export_is_one_line(tmp_path, text, message):
    path = tmp_path / "page.html"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as caught:
        exported.read(path)
    assert "\n" not in str(caught.value) and "marimo export html" in str(caught.value)


def test_figures_become_images_carried_in_the_page(baseline, sample):
    for path in (baseline, sample):
        soup = rendered(path)
        figures = soup.find_all("img", class_="figure")
        assert len(figures) == images(path.read_text()) > 0
        for img in figures:
            assert img["src"].startswith("data:image/png;base64,")
            with Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1]))) as picture:
                assert picture.width > 0 and picture.height > 0
            # Shown at marimo's size (half the pixels, drawn for sharp screens), never wider than the page.
            assert 0 < int(img["width"]) <= picture.width


def test_tables_become_rows_with_the_exports_values(baseline):
    soup = rendered(baseline)
    exported_tables = tables(baseline.read_text())
    shown = soup.find_all("table", class_="data")
    assert len(shown) == len(exported_tables)
    for table, rows in zip(shown, exported_tables):
        assert len(table_rows(table)) == len(rows)
    (verdict,) = [r for t in shown for r in table_rows(t) if "verdict" in r]
    assert verdict["model"] == "local/smollm2-135m-instruct" and verdict["verdict"] == "not interpretable"
    buckets = [r for t in shown for r in table_rows(t) if "se_note" in r]
    assert sorted(int(r["level"]) for r in buckets) == [0, 1, 2, 3, 4, 5, 6]  # the control, then levels 1-6
    expected = {(b["level"], b["refusal_rate"]) for rows in exported_tables for b in rows if "se_note" in b}
    assert {(int(r["level"]), float(r["refusal_rate"])) for r in buckets} == expected


def test_callouts_keep_their_kind_and_text(baseline, sample):
    for path in (baseline, sample):
        boxes = rendered(path).find_all("div", class_="callout")
        assert [b["data-kind"] for b in boxes] == [kind for kind, _ in callouts(path.read_text())]
    (danger,) = rendered(sample).find_all("div", class_="callout-danger")
    assert danger.get_text(" ", strip=True) == "Validity: not interpretable (sample callout)"


def test_code_is_hidden_unless_asked_for(sample, baseline):
    hidden = rendered(sample)
    assert hidden.find("details", class_="code") is None and "mo.ui.table(rows" not in str(hidden)
    shown = rendered(sample, code=True)
    blocks = shown.find_all("details", class_="code")
    assert len(blocks) == sum(1 for c in exported.read(sample).cells if c.code.strip())
    assert any("mo.ui.table(rows" in b.pre.get_text() for b in blocks)
    assert footer(hidden)["Regenerate"] == "make report" and footer(shown)["Regenerate"] == "make report CODE=1"
    with pytest.raises(UserError, match="holds no code"):
        page.render(exported.read(baseline), code=True)


def test_participant_and_model_text_stays_text(sample):
    html = page.render(exported.read(sample))
    soup = BeautifulSoup(html, "html.parser")
    (answers,) = [t for t in soup.find_all("table", class_="data") if "answer" in t.get_text()]
    rows = table_rows(answers)
    assert rows[0]["answer"] == HOSTILE and rows[0]["rate"] == "0.8771" and rows[0]["n"] == "45"
    assert rows[1] == {"participant": "p2", "answer": "plain & simple", "rate": "NaN", "n": "58"}
    assert "&lt;script&gt;window.HACKED=1&lt;/script&gt;" in html and "<b>bold?</b>" not in html


def test_nothing_runs_and_nothing_is_fetched(sample, baseline):
    for path in (sample, baseline):
        soup = rendered(path, code=path == sample)
        assert not soup.find_all(["script", "iframe", "link", "object", "embed", "base"])
        for tag in soup.find_all(True):
            for name, value in tag.attrs.items():
                text = " ".join(value) if isinstance(value, list) else value
                assert not name.lower().startswith("on"), tag
                if name in {"src", "srcset", "poster", "data", "action", "background"} or (
                        name == "href" and tag.name != "a"):
                    assert text.startswith(("data:image/", "#")), tag
                if name == "style":
                    assert "url(" not in text.replace(" ", "").lower(), tag
                if name == "href" and tag.name == "a":
                    assert not text.strip().lower().startswith(("javascript", "data:")), tag
    soup = rendered(sample)
    # Links only navigate when clicked: kept. A remote image would load with the page: a note instead.
    assert soup.find("a", href="https://example.org/paper").get_text() == "link to the paper"
    assert "[image not embedded in this report: https://example.org/tracker.png]" in soup.get_text()
    assert soup.find("a", string="bad link").get("href") is None
    assert "active content removed" in soup.get_text()


def test_widgets_become_a_settings_line_and_controls_go(sample):
    soup = rendered(sample)
    lines = [p.get_text(" ", strip=True) for p in soup.find_all("p", class_="settings")]
    assert "models : local/smollm2-135m-instruct · levels : 1, 3 · mode : exact · samples : 10 · kappa : 0.5 · " \
           "control : yes" in lines
    assert "rounds : 3 · explain : no · note : a note" in lines  # a dictionary and a form's fields
    text = soup.get_text()
    assert "Run the missing calls" not in text and "Submit" not in text
    assert "[Download the data: a download, available in the interactive version]" in text


def test_a_paged_table_says_how_much_the_export_holds(sample):
    soup = rendered(sample)
    (squares,) = [t for t in soup.find_all("table", class_="data") if "value" in t.get_text()]
    assert [r["value"] for r in table_rows(squares)] == [str(i * i) for i in range(10)]
    assert "10 of 250 rows are in the export" in squares.find_parent("div").find_next_sibling("p").get_text()


def test_console_output_printed_and_logs_folded(sample):
    soup = rendered(sample)
    assert soup.find("pre", class_="stdout").get_text() == "printed to stdout: 42 answers"
    log = soup.find("details", class_="stderr")
    assert not log.has_attr("open") and "a warning on stderr" in log.pre.get_text()


def test_headline_card_on_top_and_in_the_footer(sample, baseline, plain_export):
    soup = rendered(sample)
    box = soup.find("section", class_="headline")
    first_cell = soup.find("section", class_="cell")
    assert first_cell.find("h1").get_text() == "9.9 Sample report" and first_cell.find_next_sibling() is box
    assert box.find("span", class_="verdict-not-interpretable").get_text() == "not interpretable"
    figures = [li.get_text(" ", strip=True) for li in box.find_all("li")]
    assert figures == ["mean absolute gap from human (illustrative data) : 29.0% illustrative",
                       "significantly different buckets : 39 of 60 measured"]
    assert "Headline:" not in soup.get_text()  # the card's own summary is not shown twice
    # With the code shown, the setup cell comes first: the box still follows the title.
    with_code = rendered(sample, code=True)
    assert with_code.find("h1").find_parent("section").find_next_sibling() is with_code.find("section", class_="headline")
    assert soup.title.get_text() == "9.9 Sample report"
    facts = footer(soup)
    assert facts["Models"] == "local/smollm2-135m-instruct"
    assert facts["Data sources"] == ("human data: illustrative (generated, not people); "
                                     "paper figures: paper-reported (quoted from the paper)")
    assert facts["Made from"].startswith("sample_notebook.py (marimo ")
    # The baseline notebook's own card names its model and data.
    assert footer(rendered(baseline))["Models"] == "local/smollm2-135m-instruct"
    # Without a card the footer says so instead of guessing.
    plain = footer(rendered(plain_export))
    assert plain["Models"] == "not stated" and plain["Data sources"] == "not stated"


def test_footer_version_and_date(sample, monkeypatch):
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    facts = footer(rendered(sample, root=REPO))
    assert facts["Workspace version"].split(" ")[0] == head
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", facts["Generated"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert footer(rendered(sample))["Generated"] == "2026-01-01 00:00 UTC"


def test_workspace_version_clean_dirty_or_none(tmp_path):
    assert provenance.workspace_version(tmp_path) == "not a git checkout"
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert provenance.workspace_version(tmp_path) == head
    (tmp_path / "a.txt").write_text("2")
    assert provenance.workspace_version(tmp_path) == f"{head} + uncommitted changes"


def test_rendering_time_and_size(sample, baseline):
    """Measured, not asserted (speed targets live in bench/): printed for the record."""
    for path in (sample, baseline):
        started = time.perf_counter()
        html = page.render(exported.read(path))
        took = time.perf_counter() - started
        print(f"\n{path.name}: rendered in {took:.2f} s; page {len(html.encode()) / 1e3:.0f} kB "
              f"from an export of {path.stat().st_size / 1e3:.0f} kB")
