"""The front page, reports/index.html: one row per report with its section, title,
headline figures, validity verdict and a thumbnail of its main figure, linking to the
report and to its interactive version. It reads the rendered pages (page.py leaves
their facts in a data attribute), so it runs no notebook and needs no export.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from helpers.errors import UserError
from helpers.reports import headline, provenance
from helpers.reports.images import FIGURE_CLASS
from helpers.reports.page import REPORT_ATTRIBUTE
from helpers.reports.style import CSS
from helpers.reports.thumbnails import thumbnail

BODY = re.compile(rf'<body {REPORT_ATTRIBUTE}="([^"]*)"')
IMG = re.compile(r"<img\b[^>]*>")
FIGURE = re.compile(rf'\bclass="{FIGURE_CLASS}"')
SRC = re.compile(r'\bsrc="(data:image/[^"]+)"')
RENDER_FIRST = "render it first with `python -m helpers report page EXPORT.html -o PAGE.html` (or `make report`)"


@dataclass(frozen=True)
class Entry:
    path: Path
    title: str
    section: str
    card: headline.Headline | None
    interactive: str | None  # relative to the report
    thumbnail: str | None
    generated: str
    version: str


def read(path: str | Path) -> Entry:
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; name the report pages, e.g. reports/01_baseline.html")
    if not path.is_file():
        raise UserError(f"{path}: no such report; {RENDER_FIRST}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc.__class__.__name__}); {RENDER_FIRST}") from None
    # page.py wrote the body tag and the figures' <img> tags; matching them is ten
    # times faster than parsing a page whose figures are megabytes of base64.
    found = BODY.search(text)
    try:
        meta = json.loads(html.unescape(found.group(1))) if found else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise UserError(f"{path} is not a report page (a marimo export? those are the interactive copies); "
                        f"{RENDER_FIRST}")
    card = _card(meta)
    return Entry(path=path, title=str(meta.get("title") or path.stem), section=str(meta.get("section") or ""),
                 card=card, interactive=meta.get("interactive") if isinstance(meta.get("interactive"), str) else None,
                 thumbnail=_main_figure(text, meta.get("figure")), generated=str(meta.get("generated") or ""),
                 version=str(meta.get("version") or ""))


def _card(meta: dict[str, Any]) -> headline.Headline | None:
    if meta.get("headline_problem"):
        return headline.Headline(problem=str(meta["headline_problem"]))
    raw = meta.get("headline")
    return headline.parse(json.dumps(raw)) if isinstance(raw, dict) else None


def _main_figure(text: str, chosen: Any) -> str | None:
    """The card's chosen figure (1-based), else the report's first."""
    figures = [src.group(1) for img in IMG.finditer(text)
               if FIGURE.search(img.group(0)) and (src := SRC.search(img.group(0)))]
    if not figures:
        return None
    index = chosen - 1 if isinstance(chosen, int) and 0 < chosen <= len(figures) else 0
    return thumbnail(html.unescape(figures[index]))


def render(reports: list[str | Path], out: str | Path) -> str:
    """The front page's HTML, with links relative to where it will be written."""
    if not reports:
        raise UserError("no reports given: name the rendered pages, e.g. reports/01_baseline.html")
    entries = [read(p) for p in reports]
    folder = Path(out).resolve().parent
    rows = "".join(_row(entry, folder) for entry in entries)
    versions = sorted({e.version for e in entries if e.version})
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Reports: Teaching AI to Handle Exceptions</title><style>{CSS}</style></head>"
            f'<body class="index-page">'
            f"<h1>Reports</h1><p>One report per section of the paper, made by the workspace's notebooks. "
            f"Each opens offline; its interactive version needs internet.</p>"
            f'<table class="index"><thead><tr><th>Main figure</th><th>Section</th><th>Report</th>'
            f"<th>Headline</th><th>Validity</th></tr></thead><tbody>{rows}</tbody></table>"
            f'<footer class="provenance"><dl><dt>Workspace version</dt><dd>{escape(", ".join(versions) or "unknown")}</dd>'
            f"<dt>Generated</dt><dd>{escape(provenance.generated())}</dd>"
            f"<dt>Regenerate</dt><dd><code>make report</code></dd></dl></footer></body></html>\n")


def _row(entry: Entry, folder: Path) -> str:
    link = _relative(entry.path.resolve(), folder)
    thumb = (f'<a href="{escape(link)}"><img class="thumb" alt="main figure of {escape(entry.title)}" '
             f'src="{escape(entry.thumbnail)}"></a>') if entry.thumbnail else '<span class="note">no figure</span>'
    links = [f'<a href="{escape(link)}">report</a>']
    if entry.interactive:
        target = _relative((entry.path.resolve().parent / entry.interactive).resolve(), folder)
        links.append(f'<a href="{escape(target)}">interactive version</a> (needs internet)')
    card = entry.card
    if card is None:
        summary = '<span class="note">no headline</span>'
    elif card.problem:
        summary = f'<span class="note">headline card unreadable: {escape(card.problem)}</span>'
    else:
        summary = headline.figures_list(card) or '<span class="note">no headline figures</span>'
    detail = (f'<div class="verdict-detail">{escape(card.verdict_detail)}</div>'
              if card and card.verdict_detail else "")
    return (f"<tr><td>{thumb}</td><td>{escape(entry.section)}</td>"
            f'<td><div class="title"><a href="{escape(link)}">{escape(entry.title)}</a></div>'
            f'<div class="links">{" · ".join(links)}</div></td>'
            f"<td>{summary}</td><td>{headline.verdict_badge(card)}{detail}</td></tr>")


def _relative(target: Path, folder: Path) -> str:
    return Path(os.path.relpath(target, folder)).as_posix()
