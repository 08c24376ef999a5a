"""One cell output of a marimo export as static HTML.

An output is a MIME bundle ({"text/html": ...}, {"image/png": ...}, marimo's own
"application/vnd.marimo+mimebundle" holding several) or an error. elements.bundle
draws the bundle (marimo's custom elements included), then sanitize.clean makes it inert.
"""

from __future__ import annotations

from html import escape
from typing import Any

from helpers.reports import elements, sanitize
from helpers.reports.headline import CLASS as HEADLINE

# Cells that did not run because a cell above them stopped (mo.stop): nothing to show.
SKIPPED = {"ancestor-stopped", "ancestor-prevented"}


def render(output: dict[str, Any]) -> str:
    """The output as an HTML fragment ("" when it shows nothing)."""
    if output.get("type") == "error":
        return error(output.get("ename"), output.get("evalue"))
    data = output.get("data")
    if not isinstance(data, dict):
        return ""
    if "application/vnd.marimo+error" in data:  # errors as data, as some marimo versions store them
        found = data["application/vnd.marimo+error"]
        return "".join(error(e.get("type"), e.get("msg"))
                       for e in (found if isinstance(found, list) else []) if isinstance(e, dict))
    soup = elements.bundle(data)
    for card in soup.find_all(class_=HEADLINE):
        card.decompose()  # the page shows the headline card as its own box at the top
    sanitize.clean(soup)
    return str(soup)


def error(name: Any, message: Any) -> str:
    if name in SKIPPED:
        return ""
    what = " ".join(str(x) for x in (name, message) if x).strip() or "an error"
    return f'<div class="callout callout-danger cell-error">This cell raised an error: {escape(what)}</div>'
