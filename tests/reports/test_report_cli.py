"""`python -m helpers report page|index`: pages and the front page written from real
exports, links relative to where they are written, and every bad path one line."""

import base64
import io
import shutil

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from report_exports import SAMPLE, export, plain_notebook


@pytest.fixture(scope="module")
def exports(tmp_path_factory, models_dir):
    """reports/interactive/{sample,plain}.html, as `make report` lays them out."""
    folder = tmp_path_factory.mktemp("exports")
    interactive = folder / "reports" / "interactive"
    interactive.mkdir(parents=True)
    export(SAMPLE, interactive / "sample.html", code=False, home=folder, models=models_dir)
    export(plain_notebook(folder), interactive / "plain.html", code=False, home=folder, models=models_dir)
    return interactive


@pytest.fixture
def reports(exports, tmp_path):
    folder = tmp_path / "reports"
    shutil.copytree(exports, folder / "interactive")
    return folder


def render_pages(run_cli, reports):
    for name in ("sample", "plain"):
        code, _, err = run_cli("report", "page", str(reports / "interactive" / f"{name}.html"),
                               "-o", str(reports / f"{name}.html"), "--interactive", f"interactive/{name}.html",
                               "--index", "index.html")
        assert code == 0 and err.startswith(f"wrote {reports / name}.html"), err


def size(img) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1]))) as picture:
        return picture.size


def figure_sizes(page) -> list[tuple[int, int]]:
    return [size(img) for img in BeautifulSoup(page.read_text(), "html.parser").find_all("img", class_="figure")]


def test_page_links_its_interactive_copy_and_the_front_page(run_cli, reports):
    render_pages(run_cli, reports)
    soup = BeautifulSoup((reports / "sample.html").read_text(), "html.parser")
    links = {a.get_text(): a["href"] for a in soup.find("nav").find_all("a")}
    assert links == {"All reports": "index.html", "Interactive version": "interactive/sample.html"}
    assert soup.find("section", class_="headline") is not None


def test_index_rows_links_and_thumbnails(run_cli, reports):
    render_pages(run_cli, reports)
    code, _, err = run_cli("report", "index", str(reports / "sample.html"), str(reports / "plain.html"),
                           "-o", str(reports / "index.html"))
    assert code == 0, err
    soup = BeautifulSoup((reports / "index.html").read_text(), "html.parser")
    sample, plain = soup.find("table", class_="index").find("tbody").find_all("tr")
    cells = sample.find_all("td")
    assert cells[1].get_text() == "9.9" and cells[2].find("a").get_text() == "9.9 Sample report"
    assert [a["href"] for a in cells[2].find_all("a")] == ["sample.html", "sample.html", "interactive/sample.html"]
    assert [li.get_text(" ", strip=True) for li in cells[3].find_all("li")] == [
        "mean absolute gap from human (illustrative data) : 29.0% illustrative",
        "significantly different buckets : 39 of 60 measured"]
    assert cells[4].find("span", class_="verdict-not-interpretable").get_text() == "not interpretable"
    # The card names its second figure (the bar chart) as the main one: 320 px wide, its shape kept.
    first, second = figure_sizes(reports / "sample.html")
    assert size(cells[0].find("img")) == (320, round(320 * second[1] / second[0]))
    assert round(320 * first[1] / first[0]) != round(320 * second[1] / second[0])
    cells = plain.find_all("td")
    assert cells[1].get_text() == "1.0" and cells[2].find("a").get_text() == "1.0 Plain notebook"
    assert cells[3].get_text() == "no headline" and cells[4].get_text() == "no verdict"
    (only,) = figure_sizes(reports / "plain.html")
    assert size(cells[0].find("img")) == (320, round(320 * only[1] / only[0]))
    assert not soup.find_all(["script", "link", "iframe"])


def test_index_links_are_relative_to_where_it_is_written(run_cli, reports, tmp_path):
    render_pages(run_cli, reports)
    (tmp_path / "elsewhere").mkdir()
    code, _, err = run_cli("report", "index", str(reports / "sample.html"), "-o", str(tmp_path / "elsewhere/i.html"))
    assert code == 0, err
    soup = BeautifulSoup((tmp_path / "elsewhere/i.html").read_text(), "html.parser")
    assert {a["href"] for a in soup.find_all("a")} == {"../reports/sample.html", "../reports/interactive/sample.html"}


@pytest.mark.parametrize("argv,message", [
    (["report"], "the following arguments are required: page|index"),
    (["report", "page", "{dir}/missing.html", "-o", "{dir}/out.html"], "missing.html: no such file; export"),
    (["report", "page", "{dir}", "-o", "{dir}/out.html"], "is a folder; name the exported HTML file"),
    (["report", "page", "{dir}/notes.html", "-o", "{dir}/out.html"], "notes.html is not a marimo HTML export"),
    (["report", "page", "{dir}/interactive/sample.html", "-o", "{dir}/nowhere/out.html"],
     "folder {dir}/nowhere does not exist"),
    (["report", "page", "{dir}/interactive/sample.html", "-o", "{dir}/interactive/sample.html"],
     "that is the export itself"),
    (["report", "page", "{dir}/interactive/sample.html", "-o", "{dir}/out.html", "--code"],
     "the export holds no code (made with --no-include-code)"),
    (["report", "page", "{dir}/interactive/sample.html"], "required: -o/--out"),
    (["report", "index", "{dir}/interactive/sample.html", "-o", "{dir}/index.html"],
     "sample.html is not a report page"),
    (["report", "index", "{dir}/missing.html", "-o", "{dir}/index.html"], "missing.html: no such report"),
    (["report", "index", "-o", "{dir}/index.html"], "the following arguments are required: REPORT.html"),
])
def test_bad_paths_are_one_line(run_cli, reports, argv, message):
    (reports / "notes.html").write_text("<html><body>notes</body></html>")
    code, out, err = run_cli(*(a.format(dir=reports) for a in argv))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message.format(dir=reports) in err, err
    assert not (reports / "out.html").exists()
