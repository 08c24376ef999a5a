"""The renderer's parts on inputs real exports rarely hold: tables past the row cap
or kept elsewhere, crafted active HTML, thumbnails of small or vector figures, and
damaged headline cards."""

import base64
import io
import json
from html import escape

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from helpers.reports import headline, sanitize, tables, thumbnails


def marimo_table(data) -> BeautifulSoup:
    """A <marimo-table> as marimo writes it: data-data is a JSON string of a JSON string."""
    attribute = escape(json.dumps(data if isinstance(data, str) else json.dumps(data)), quote=True)
    return BeautifulSoup(f"<marimo-table data-data='{attribute}' data-label='null'></marimo-table>",
                         "html.parser").find("marimo-table")


def shown_rows(markup: str) -> list[list[str]]:
    soup = BeautifulSoup(markup, "html.parser")
    return [[td.get_text() for td in tr.find_all("td")] for tr in soup.select("tbody tr")]


def test_a_long_table_is_cut_with_a_note():
    markup = tables.render(marimo_table([{"i": i} for i in range(250)]))
    assert shown_rows(markup) == [[str(i)] for i in range(tables.MAX_ROWS)]
    assert "the first 200 of them shown here, 50 more rows not shown" in markup


def test_rows_in_a_data_url_are_read():
    csv_url = "data:text/csv;base64," + base64.b64encode(b"name,score\n<b>x</b>,3\n").decode()
    assert shown_rows(tables.render(marimo_table(csv_url))) == [["<b>x</b>", "3"]]
    json_url = "data:application/json," + '[{"a":1},{"a":2}]'
    assert shown_rows(tables.render(marimo_table(json_url))) == [["1"], ["2"]]


def test_rows_kept_elsewhere_are_said_to_be_missing():
    markup = tables.render(marimo_table("./@file/123-table.json"))
    assert "table not embedded in this export" in markup and "<table" not in markup


@pytest.mark.parametrize("markup,gone", [
    ('<a href=" javascript:alert(1)">x</a>', "javascript"),
    ('<a href="data:text/html,<script>1</script>">x</a>', "data:text/html"),
    ('<svg><use href="https://example.org/s.svg#a"></use></svg>', "example.org"),
    ('<svg><image xlink:href="https://example.org/i.png"></image></svg>', "example.org"),
    ("<style>@import url(https://example.org/x.css);</style>", "example.org"),
    ('<div style="background: u\\rl(https://example.org/b.png)">x</div>', "example.org"),
    ('<video poster="https://example.org/p.png"><source src="https://example.org/v.mp4"></video>', "example.org"),
    ('<meta http-equiv="refresh" content="0;url=https://example.org">', "example.org"),
    ('<form action="https://example.org/post"><button formaction="https://example.org">b</button></form>',
     "example.org"),
    ('<svg><a><animate attributeName="href" values="javascript:alert(1)"/></a></svg>', "javascript"),
    ('<img src="data:text/html;base64,PHNjcmlwdD4=">', "data:text/html"),
])
def test_crafted_active_html_is_neutralised(markup, gone):
    soup = sanitize.fragment(markup)
    assert not soup.find_all(["script", "meta", "style", "animate"])
    for tag in soup.find_all(True):
        assert not any(gone in str(value) for value in tag.attrs.values()), tag


def test_safe_html_is_kept():
    markup = ('<p style="color: red">text <a href="https://example.org/paper">paper</a> <a href="#top">top</a> '
              '<img src="data:image/png;base64,iVBORw0KGgo="></p>')
    assert str(sanitize.fragment(markup)) == str(BeautifulSoup(markup, "html.parser"))


def png(width: int, height: int, mode: str = "RGB") -> str:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def decoded(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_thumbnails_are_320_wide_and_keep_the_aspect():
    small = decoded(thumbnails.thumbnail(png(1600, 400)))
    assert small.size == (320, 80)
    assert decoded(thumbnails.thumbnail(png(100, 50))).size == (100, 50)  # never enlarged
    # Transparency is laid on white, the page's colour, not on black.
    r, g, b = decoded(thumbnails.thumbnail(png(10, 10, "RGBA"))).convert("RGB").getpixel((5, 5))
    assert r > 200 and g > 100 and b > 100


def test_no_thumbnail_from_what_pillow_cannot_draw():
    assert thumbnails.thumbnail("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode()) is None
    assert thumbnails.thumbnail("data:image/png;base64,bm90IGEgcG5n") is None


def test_damaged_headline_cards_are_reported_not_fatal():
    assert headline.parse("{not json").problem.startswith("its data-headline is not JSON")
    assert headline.parse(None).problem == "it has no data-headline object"
    card = headline.parse(json.dumps({"verdict": "bad", "figures": [{"label": "x", "value": 1}, "junk"],
                                      "models": ["m", 3], "figure": True}))
    assert card.problem == "" and card.verdict == "" and card.models == ("m",) and card.figure is None
    assert card.figures == (headline.Figure("x", "1", ""),)
    assert "kind not stated" in headline.figures_list(card)
