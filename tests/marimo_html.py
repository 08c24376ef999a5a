"""Read what a `marimo export html` file shows: the text of every cell's output,
and the errors, from the session the export embeds."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

MARIMO = str(Path(sys.executable).parent / "marimo")


def export(notebook: Path, out: Path, *args: str, timeout: int = 600) -> str:
    """Export a notebook (with `-- args`) and return the HTML; fail with marimo's stderr."""
    command = [MARIMO, "export", "html", str(notebook), "-o", str(out)] + (["--", *args] if args else [])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text()


def session(page: str) -> dict:
    start = page.index('"session": {"cells"') + len('"session": ')
    return json.JSONDecoder().raw_decode(page[start:])[0]


def output_text(page: str) -> str:
    """Every cell's displayed text (markdown, callouts, tables' data), one block per output."""
    blocks = []
    for cell in session(page)["cells"]:
        for out in cell.get("outputs", []):
            for value in (out.get("data") or {}).values():
                # Tables and callouts carry their content in attributes (data-data,
                # data-html), which stripping the tags would drop.
                inner = [html.unescape(html.unescape(t)) for t in re.findall(r"data-(?:data|html)='(.*?)'", str(value))]
                text = " ".join([html.unescape(html.unescape(str(value))), *inner])
                blocks.append(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))
    return "\n".join(blocks)


def errors(page: str) -> list[str]:
    """Cells that raised, with what they raised."""
    return [f"{cell['id']}: {json.dumps(out)[:500]}" for cell in session(page)["cells"]
            for out in cell.get("outputs", []) if out.get("type") == "error"]


def images(page: str) -> int:
    return len(re.findall(r"data:image/png;base64,", page))
