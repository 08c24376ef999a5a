"""Read a `marimo export html` file: the notebook's cells in order, with their code
and what each displayed when the export ran.

The export keeps both in one JSON object, `window.__MARIMO_MOUNT_CONFIG__`:
"notebook" (each cell's code and name) and "session" (each cell's outputs and console
streams, keyed by the same cell ids), beside "filename" and marimo's "version".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.errors import UserError

MARKER = "__MARIMO_MOUNT_CONFIG__"
NOT_AN_EXPORT = "export the notebook with `marimo export html NOTEBOOK.py -o FILE.html` (or `make report`)"


@dataclass(frozen=True)
class Cell:
    id: str
    name: str
    code: str
    outputs: tuple[dict[str, Any], ...]
    console: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Export:
    filename: str
    marimo_version: str
    title: str | None  # the app's own title (marimo.App(app_title=...)), when it set one
    cells: tuple[Cell, ...] = field(default=())

    @property
    def has_code(self) -> bool:
        """False for exports made with --no-include-code (their cells carry no code)."""
        return any(cell.code.strip() for cell in self.cells)


def read(path: str | Path) -> Export:
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; name the exported HTML file")
    if not path.is_file():
        raise UserError(f"{path}: no such file; {NOT_AN_EXPORT}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it as text ({exc.__class__.__name__}); {NOT_AN_EXPORT}") from None
    return parse(text, str(path))


def parse(text: str, source: str = "the page") -> Export:
    config = _mount_config(text, source)
    session = config.get("session") if isinstance(config.get("session"), dict) else None
    if session is None or not isinstance(session.get("cells"), list):
        raise UserError(f"{source} is a marimo page without the outputs of a run (no session); {NOT_AN_EXPORT}")
    notebook = config.get("notebook") if isinstance(config.get("notebook"), dict) else {}
    app = config.get("appConfig") if isinstance(config.get("appConfig"), dict) else {}
    return Export(filename=str(config.get("filename") or Path(source).name),
                  marimo_version=str(config.get("version") or "unknown"),
                  title=app.get("app_title") or None,
                  cells=_cells(notebook.get("cells") or [], session["cells"]))


def _mount_config(text: str, source: str) -> dict[str, Any]:
    at = text.find(MARKER)
    start = text.find("Object.freeze(", at) if at >= 0 else -1
    if start < 0:
        raise UserError(f"{source} is not a marimo HTML export (no {MARKER}); {NOT_AN_EXPORT}")
    try:
        # The object is JSON (marimo writes it with json.dumps), NaN included.
        config, _ = json.JSONDecoder().raw_decode(text, start + len("Object.freeze("))
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}: marimo's embedded notebook data is cut off or damaged "
                        f"({exc.msg} at character {exc.pos}); {NOT_AN_EXPORT}") from None
    if not isinstance(config, dict):
        raise UserError(f"{source}: marimo's embedded notebook data is not an object; {NOT_AN_EXPORT}")
    return config


def _cells(notebook_cells: list, session_cells: list) -> tuple[Cell, ...]:
    """The notebook's order (the file's), each with its session; session cells the
    notebook does not list (an export written without code may list none) follow."""
    sessions = {c.get("id"): c for c in session_cells if isinstance(c, dict)}
    ordered: list[Cell] = []
    seen: set[str] = set()
    for code_cell in notebook_cells:
        if not isinstance(code_cell, dict) or code_cell.get("id") in seen:
            continue
        cell_id = str(code_cell.get("id"))
        seen.add(cell_id)
        ordered.append(_cell(cell_id, code_cell, sessions.get(cell_id, {})))
    for cell_id, run in sessions.items():
        if cell_id not in seen:
            ordered.append(_cell(str(cell_id), {}, run))
    return tuple(ordered)


def _cell(cell_id: str, code_cell: dict, run: dict) -> Cell:
    def items(key: str) -> tuple[dict, ...]:
        return tuple(x for x in run.get(key) or [] if isinstance(x, dict))

    return Cell(id=cell_id, name=str(code_cell.get("name") or ""), code=str(code_cell.get("code") or ""),
                outputs=items("outputs"), console=items("console"))
