"""Read what a `marimo export html` file shows, from the session the export embeds:
each cell's output text, its callouts, tables and figures, and the cells that raised.

Tests assert on these (how many figures, which numbers in which table row, which
callout) rather than on the exact wording of the notebooks' prose.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARIMO = str(Path(sys.executable).parent / "marimo")
PYTHON = sys.executable
# Cells that did not run because a cell above them stopped: what mo.stop is for, not a failure.
SKIPPED = {"ancestor-stopped", "ancestor-prevented"}


def export(notebook: Path, out: Path, *args: str, timeout: int = 900, env: dict[str, str] | None = None) -> str:
    """Export a notebook (with `-- args`) and return the HTML; fail with marimo's stderr."""
    command = [MARIMO, "export", "html", str(notebook), "-o", str(out)] + (["--", *args] if args else [])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text()


def run_script(notebook: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python notebook.py args`: the notebook run as a script."""
    return subprocess.run([PYTHON, str(notebook), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ}, cwd=REPO)


def session(page: str) -> dict:
    start = page.index('"session": {"cells"') + len('"session": ')
    return json.JSONDecoder().raw_decode(page[start:])[0]


def _attribute(value: str) -> str:
    """An attribute's value as marimo writes it: an HTML-escaped JSON string (or not)."""
    text = html.unescape(value).replace("&#92;", "\\")
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        return text
    return decoded if isinstance(decoded, str) else json.dumps(decoded)


def _plain(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def _outputs(page: str):
    for cell in session(page)["cells"]:
        for out in cell.get("outputs", []):
            yield cell, out


def output_text(page: str) -> str:
    """Every cell's displayed text (markdown, callouts, tables' data), one line per output."""
    blocks = []
    for _, out in _outputs(page):
        for value in (out.get("data") or {}).values():
            # Tables and callouts carry their content in attributes (data-data, data-html),
            # which stripping the tags would drop.
            inner = [_plain(_attribute(v)) for v in re.findall(r"data-(?:data|html)='(.*?)'", str(value))]
            blocks.append(" ".join([_plain(str(value)), *inner]))
    return "\n".join(blocks)


def callouts(page: str) -> list[tuple[str, str]]:
    """(kind, text) of every callout shown: kind is danger, warn, info, ..."""
    found = []
    for _, out in _outputs(page):
        for value in (out.get("data") or {}).values():
            for body, kind in re.findall(r"<marimo-callout-output data-html='(.*?)' data-kind='(.*?)'", str(value)):
                found.append((_attribute(kind), _plain(_attribute(body))))
    return found


def validity_cards(page: str) -> list[tuple[str, str]]:
    """The validity cards among the callouts (helpers.notebook.validity): (kind, text)."""
    return [(kind, text) for kind, text in callouts(page) if re.search(r"\): (not )?interpretable", text)]


def apart_notes(page: str) -> list[tuple[str, str]]:
    """The callouts that set the paper's figures apart from a not-interpretable run
    (notebook.validity.Validity.beside_paper)."""
    return [(kind, text) for kind, text in callouts(page) if text.startswith("Under the validity verdict")]


def errors(page: str) -> list[str]:
    """Cells that raised, with what they raised (cells skipped below a mo.stop are not errors)."""
    return [f"{cell['id']}: {json.dumps(out)[:500]}" for cell, out in _outputs(page)
            if out.get("type") == "error" and out.get("ename") not in SKIPPED]


def skipped(page: str) -> int:
    """How many cells did not run because a cell above them stopped."""
    return sum(1 for _, out in _outputs(page) if out.get("type") == "error" and out.get("ename") in SKIPPED)


def tables(page: str) -> list[list[dict]]:
    """The rows of every table shown (mo.ui.table), one list per table."""
    found = []
    for _, out in _outputs(page):
        for value in (out.get("data") or {}).values():
            for data in re.findall(r"<marimo-table[^>]*?data-data='(.*?)'", str(value)):
                rows = json.loads(_attribute(data))
                found.append(json.loads(rows) if isinstance(rows, str) else rows)
    return found


def rows_with(page: str, column: str) -> list[dict]:
    """Every row, of any table, that has this column."""
    return [row for table in tables(page) for row in table if column in row]


def images(page: str) -> int:
    """How many figures (PNG images) the outputs show."""
    return sum(str(value).count("data:image/png;base64,")
               for _, out in _outputs(page) for value in (out.get("data") or {}).values())
