"""marimo's table element (mo.ui.table) as a real <table>.

Its rows are a JSON string in data-data (marimo 0.2x: the rows of the first page;
older versions sometimes a data: URL or a URL of a file the kernel served). Every cell
is escaped: tables hold what participants and models wrote, which is text to show,
never markup to render.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import urllib.parse
from html import escape
from typing import Any

from bs4 import Tag

from helpers.reports import attributes

MAX_ROWS = 200  # a report is read, not searched; the interactive copy has the widget


def render(tag: Tag) -> str:
    rows, problem = _rows(attributes.value(tag, "data"))
    label = attributes.plain(attributes.value(tag, "label"))
    caption = f"<caption>{escape(label)}</caption>" if label else ""
    if rows is None:
        return f'<p class="note">[table not embedded in this export: {escape(problem)}]</p>'
    columns = _columns(tag, rows)
    shown = rows[:MAX_ROWS]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>" for row in shown)
    table = (f'<div class="table-wrap"><table class="data">{caption}<thead><tr>{head}</tr></thead>'
             f"<tbody>{body}</tbody></table></div>")
    return table + _note(len(shown), len(rows), attributes.value(tag, "total-rows"))


def _rows(data: Any) -> tuple[list[dict] | None, str]:
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("data:"):
            return _from_data_url(text)
        if text[:1] in "[{":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                return None, f"its rows are not valid JSON ({exc.msg})"
        else:
            return None, f"its rows are in a separate file ({text[:80]}) the export does not contain"
    if isinstance(data, dict):  # column-oriented: {"column": [values...]}
        data = [dict(zip(data, values)) for values in zip(*data.values())] if data else []
    if not isinstance(data, list):
        return None, "it has no rows"
    return [row if isinstance(row, dict) else {"value": row} for row in data], ""


def _from_data_url(url: str) -> tuple[list[dict] | None, str]:
    header, _, payload = url.partition(",")
    mime = header[5:].split(";")[0].lower()
    try:
        raw = base64.b64decode(payload) if ";base64" in header.lower() else urllib.parse.unquote_to_bytes(payload)
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, "its rows are an unreadable data: URL"
    if mime == "text/csv":
        return list(csv.DictReader(io.StringIO(text))), ""
    if mime in {"application/json", "text/json", "text/plain"}:
        return _rows(text)
    return None, f"its rows are {mime or 'an unknown format'}, which a static page cannot show"


def _columns(tag: Tag, rows: list[dict]) -> list[str]:
    """marimo's column order (data-field-types), then any other key the rows have."""
    columns: list[str] = []
    for entry in attributes.value(tag, "field-types") or []:
        if isinstance(entry, list) and entry and isinstance(entry[0], str):
            columns.append(entry[0])
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return [c for c in columns if c != "_marimo_row_id"]


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{escape(_text(value))}</td>' if numeric else f"<td>{escape(_text(value))}</td>"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else str(value)  # NaN as marimo's table shows it
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _note(shown: int, embedded: int, total: Any) -> str:
    notes = []
    if isinstance(total, int) and total > embedded:
        notes.append(f"{embedded} of {total} rows are in the export (marimo keeps the table's first page); "
                     f"open the notebook for the others")
    if embedded > shown:
        notes.append(f"the first {shown} of them shown here, {embedded - shown} more rows not shown")
    return f'<p class="note">{escape("; ".join(notes))}.</p>' if notes else ""
