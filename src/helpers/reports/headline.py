"""The headline card: what a report found, in a few figures, with its validity verdict.

A notebook shows it as one output, `<div class="exceptions-headline" data-headline='JSON'>`
(the fields: docs/reports.md). The report puts it at the top of the page and the front
page shows it in the report's row. The card is a contract between the notebooks and the
reports, so a damaged one is reported on the page, never a reason to lose the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

from bs4 import BeautifulSoup

from helpers.reports.exported import Export

CLASS = "exceptions-headline"
KINDS = ("measured", "paper-reported", "illustrative", "synthetic", "human")
VERDICTS = ("interpretable", "not interpretable", "mixed", "not applicable")


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    kind: str


@dataclass(frozen=True)
class Source:
    what: str
    kind: str
    detail: str


@dataclass(frozen=True)
class Headline:
    section: str = ""
    title: str = ""
    verdict: str = ""
    verdict_detail: str = ""
    figures: tuple[Figure, ...] = ()
    models: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    figure: int | None = None  # which of the report's figures is its main one (1-based); None: the first
    problem: str = ""  # why the card could not be read, when it could not
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def find(export: Export) -> Headline | None:
    """The first headline card any cell shows, or None."""
    for cell in export.cells:
        for output in cell.outputs:
            data = output.get("data")
            markup = data.get("text/html") if isinstance(data, dict) else None
            if isinstance(markup, str) and CLASS in markup:
                card = BeautifulSoup(markup, "html.parser").find(class_=CLASS)
                if card is not None:
                    return parse(card.get("data-headline"))
    return None


def parse(text: Any) -> Headline:
    try:
        raw = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as exc:
        return Headline(problem=f"its data-headline is not JSON ({exc.msg})")
    if not isinstance(raw, dict):
        return Headline(problem="it has no data-headline object")
    verdict = raw.get("verdict") if isinstance(raw.get("verdict"), dict) else {}
    figure = raw.get("figure")
    return Headline(section=_text(raw.get("section")), title=_text(raw.get("title")),
                    verdict=_text(verdict.get("status")), verdict_detail=_text(verdict.get("detail")),
                    figures=tuple(Figure(_text(f.get("label")), _text(f.get("value")), _text(f.get("kind")))
                                  for f in _dicts(raw.get("figures"))),
                    models=tuple(_text(m) for m in raw.get("models") or [] if isinstance(m, str)),
                    sources=tuple(Source(_text(s.get("what")), _text(s.get("kind")), _text(s.get("detail")))
                                  for s in _dicts(raw.get("sources"))),
                    figure=figure if isinstance(figure, int) and not isinstance(figure, bool) and figure > 0 else None,
                    raw=raw)


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def slug(text: str) -> str:
    """A CSS class for a verdict or a kind ("not interpretable" -> "not-interpretable")."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "unknown"


def verdict_badge(card: Headline | None) -> str:
    if card is None or not card.verdict:
        return '<span class="verdict verdict-none">no verdict</span>'
    return f'<span class="verdict verdict-{slug(card.verdict)}">{escape(card.verdict)}</span>'


def figures_list(card: Headline) -> str:
    items = "".join(f'<li><span class="figure-label">{escape(f.label)}</span>: <strong>{escape(f.value)}</strong> '
                    f'<span class="kind kind-{slug(f.kind)}">{escape(f.kind or "kind not stated")}</span></li>'
                    for f in card.figures)
    return f'<ul class="headline-figures">{items}</ul>' if items else ""


def box(card: Headline) -> str:
    """The card as the box at the top of a report."""
    if card.problem:
        return f'<section class="headline"><p class="note">Headline card unreadable: {escape(card.problem)}.</p></section>'
    detail = f' <span class="verdict-detail">{escape(card.verdict_detail)}</span>' if card.verdict_detail else ""
    return (f'<section class="headline verdict-box-{slug(card.verdict)}" aria-label="headline">'
            f'<p class="headline-verdict">Validity: {verdict_badge(card)}{detail}</p>'
            f"{figures_list(card)}</section>")
