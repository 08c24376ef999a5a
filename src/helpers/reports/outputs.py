"""One cell output of a marimo export as static HTML.

An output is a MIME bundle ({"text/html": ...}, {"image/png": ...}, marimo's own
"application/vnd.marimo+mimebundle" holding several) or an error. HTML and markdown
(which marimo has already rendered to HTML) go through elements.convert, for marimo's
custom elements, then sanitize.clean; images become <img> with data: URIs; text is
escaped into <pre>.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from typing import Any

from bs4 import BeautifulSoup

from helpers.reports import elements, sanitize
from helpers.reports.headline import CLASS as HEADLINE

# Cells that did not run because a cell above them stopped (mo.stop): nothing to show.
SKIPPED = {"ancestor-stopped", "ancestor-prevented"}
FIGURE_CLASS = "figure"  # index.py finds a report's figures by it
IMAGES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif", "image/webp")
# When a bundle offers several, the first of these is shown (a figure over its text).
PREFERRED = (*IMAGES, "text/html", "text/markdown", "application/json", "text/latex", "text/csv", "text/plain")


def render(output: dict[str, Any]) -> str:
    """The output as an HTML fragment ("" when it shows nothing)."""
    if output.get("type") == "error":
        return _error(output)
    data = output.get("data")
    return _bundle(data) if isinstance(data, dict) else ""


def _bundle(data: dict[str, Any]) -> str:
    sizes = data.get("__metadata__") if isinstance(data.get("__metadata__"), dict) else {}
    for mime in PREFERRED:
        if mime in data:
            return _one(mime, data[mime], sizes.get(mime))
    if "application/vnd.marimo+error" in data:  # errors as data, as some marimo versions store them
        errors = data["application/vnd.marimo+error"]
        return "".join(_error({"type": "error", "ename": e.get("type"), "evalue": e.get("msg")})
                       for e in (errors if isinstance(errors, list) else []) if isinstance(e, dict))
    if "application/vnd.marimo+mimebundle" in data:
        inner = data["application/vnd.marimo+mimebundle"]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except json.JSONDecodeError:
                inner = {}
        return _bundle(inner) if isinstance(inner, dict) else ""
    kinds = ", ".join(sorted(k for k in data if not k.startswith("__")))
    return f'<p class="note">[output of type {escape(kinds)}: see the interactive version]</p>' if kinds else ""


def _one(mime: str, value: Any, size: Any = None) -> str:
    if mime in IMAGES:
        return image(mime, value, size)
    if mime in {"text/html", "text/markdown"}:
        return html(str(value))
    if mime == "application/json":
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        return f"<pre>{escape(text)}</pre>"
    text = str(value)
    return f'<pre class="text">{escape(text)}</pre>' if text.strip() else ""


def html(markup: str) -> str:
    soup = BeautifulSoup(markup, "html.parser")
    for card in soup.find_all(class_=HEADLINE):
        card.decompose()  # the page shows the headline card as its own box at the top
    elements.convert(soup)
    sanitize.clean(soup)
    return str(soup)


def image(mime: str, value: Any, size: Any = None) -> str:
    """An <img>; at the size marimo shows it when the bundle says (matplotlib draws
    at twice that for sharp screens), else the image's own, never wider than the page."""
    uri = data_uri(mime, value)
    if not uri:
        return ""
    dims = ""
    if isinstance(size, dict) and all(isinstance(size.get(k), (int, float)) and size[k] > 0 for k in ("width", "height")):
        dims = f' width="{round(size["width"])}" height="{round(size["height"])}"'
    return f'<img class="{FIGURE_CLASS}" alt="figure" src="{escape(uri)}"{dims}>'


def data_uri(mime: str, value: Any) -> str | None:
    """A data: URI for the image, whether marimo stored one already or the bare payload."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("data:"):
        return text if re.match(r"data:image/[\w.+-]+[;,]", text) else None
    if mime == "image/svg+xml":  # the SVG markup itself; inside <img> it can neither run nor fetch
        return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"data:{mime};base64,{text}"


def _error(output: dict[str, Any]) -> str:
    if output.get("ename") in SKIPPED:
        return ""
    what = " ".join(str(output.get(k) or "") for k in ("ename", "evalue")).strip() or "an error"
    return f'<div class="callout callout-danger cell-error">This cell raised an error: {escape(what)}</div>'
