"""One report page: a marimo export rendered as static HTML.

Every cell's outputs in the notebook's order, the headline card's box at the top,
code hidden unless asked for, console logs folded away, and a footer saying where
the page came from. The page runs no script and fetches nothing, so it opens the same
from a double-click, a mail attachment or an archive years later.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from bs4 import BeautifulSoup

from helpers.errors import UserError
from helpers.reports import headline, outputs, provenance
from helpers.reports.exported import Cell, Export
from helpers.reports.style import CSS

REPORT_ATTRIBUTE = "data-report"  # the page's facts for the front page (index.py)
REPORT_FORMAT = 1


@dataclass(frozen=True)
class Links:
    interactive: str | None = None  # the marimo export beside the report, relative to it
    index: str | None = None  # the front page, relative to the report


def render(export: Export, *, code: bool = False, links: Links = Links(), root: Path | None = None) -> str:
    """The page's HTML. code=True shows each cell's code (the export must hold it)."""
    if code and not export.has_code:
        raise UserError(f"{export.filename}: the export holds no code (made with --no-include-code); "
                        "export it again without that flag, or render without --code")
    card = headline.find(export)
    cells = [(cell, _outputs(cell)) for cell in export.cells]
    body = "".join(_cell(cell, shown, code) for cell, shown in cells)
    title = _title(export, card, body)
    box = headline.box(card) if card else ""
    body = _after_title(body, box)
    facts = provenance.collect(card, code=code, notebook=export.filename, marimo=export.marimo_version,
                               root=root or _home())
    numbered = re.match(r"\d+(\.\d+)*(?=\s)", title)  # "2.1 Baseline ...": the paper's section
    section = (card.section if card and card.section else "") or (numbered.group(0) if numbered else "")
    meta = {"format": REPORT_FORMAT, "title": title, "section": section,
            "headline": card.raw if card and not card.problem else None,
            "headline_problem": card.problem if card else "",
            "figure": card.figure if card else None, "interactive": links.interactive,
            "notebook": export.filename, "generated": facts.generated, "version": facts.version}
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f'<body {REPORT_ATTRIBUTE}="{escape(json.dumps(meta, ensure_ascii=False))}">'
            f"{_nav(links)}<main>{body}</main>{_footer(facts)}</body></html>\n")


def _home() -> Path:
    from helpers import paths

    return paths.home()


def _outputs(cell: Cell) -> list[str]:
    return [html for html in (outputs.render(o) for o in cell.outputs) if html.strip()]


def _cell(cell: Cell, shown: list[str], code: bool) -> str:
    parts = []
    if code and cell.code.strip():
        name = f" ({escape(cell.name)})" if cell.name and cell.name != "_" else ""
        parts.append(f'<details class="code" open><summary>code{name}</summary>'
                     f"<pre><code>{escape(cell.code)}</code></pre></details>")
    parts.extend(shown)
    parts.extend(_console(cell))
    return f'<section class="cell" id="cell-{escape(cell.id)}">{"".join(parts)}</section>' if parts else ""


def _console(cell: Cell) -> list[str]:
    """What the cell printed: stdout as text, stderr (logs, warnings, tracebacks) folded."""
    streams: dict[str, list[str]] = {"stdout": [], "stderr": []}
    for item in cell.console:
        if item.get("type") == "stream" and item.get("mimetype") != "text/password":
            text = str(item.get("text") or "")
            if item.get("mimetype") == "application/vnd.marimo+traceback":
                text = BeautifulSoup(text, "html.parser").get_text()
            streams["stderr" if item.get("name") == "stderr" else "stdout"].append(text)
    parts = []
    if out := "".join(streams["stdout"]).strip("\n"):
        parts.append(f'<pre class="stdout">{escape(out)}</pre>')
    if err := "".join(streams["stderr"]).strip("\n"):
        parts.append(f'<details class="stderr"><summary>log of this cell ({len(err.splitlines())} lines)</summary>'
                     f"<pre>{escape(err)}</pre></details>")
    return parts


def _title(export: Export, card: headline.Headline | None, body: str) -> str:
    if export.title:
        return export.title
    if card and card.title:
        return f"{card.section} {card.title}".strip()
    if h1 := re.search(r"<h1[^>]*>(.*?)</h1>", body, re.DOTALL):
        if text := BeautifulSoup(h1.group(1), "html.parser").get_text(" ").strip():
            return " ".join(text.split())
    return Path(export.filename).stem


def _after_title(body: str, box: str) -> str:
    """The headline box right below the cell with the notebook's title (its first <h1>),
    unless results come before that; then first."""
    if not box:
        return body
    title = body.find("<h1")
    end = body.find("</section>", title) if title >= 0 else -1
    if end < 0 or "<img" in body[:title] or "<table" in body[:title]:
        return box + body
    end += len("</section>")
    return body[:end] + box + body[end:]


def _nav(links: Links) -> str:
    items = []
    if links.index:
        items.append(f'<a href="{escape(links.index)}">All reports</a>')
    if links.interactive:
        items.append(f'<a href="{escape(links.interactive)}">Interactive version</a> (needs internet: it loads '
                     "marimo's viewer from a public CDN)")
    return f'<nav class="top">{"".join(f"<span>{i}</span>" for i in items)}</nav>' if items else ""


def _footer(facts: provenance.Provenance) -> str:
    rows = [("Workspace version", facts.version), ("Generated", facts.generated), ("Models", facts.models),
            ("Data sources", facts.sources),
            ("Made from", f"{facts.notebook} (marimo {facts.marimo})"),
            ("Regenerate", facts.command)]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{f'<code>{escape(v)}</code>' if k == 'Regenerate' else escape(v)}</dd>"
                    for k, v in rows)
    return f'<footer class="provenance"><dl>{items}</dl></footer>'
