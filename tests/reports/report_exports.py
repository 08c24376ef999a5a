"""Real marimo exports for the report tests: the sample notebook beside this file
(every element the renderer converts, and hostile HTML) and the baseline notebook on
one scenario with the offline model. Each test module exports them once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from marimo_html import MARIMO

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = HERE / "sample_notebook.py"
BASELINE = REPO / "notebooks/01_baseline.py"
BASELINE_ARGS = ("--scenario", "hospitality")  # 6 levels + the control: 7 offline calls


# A notebook with no headline card: the front page says "no headline" for it.
PLAIN = '''import marimo

app = marimo.App()

with app.setup:
    import marimo as mo
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


@app.cell
def _():
    mo.md("# 1.0 Plain notebook")
    return


@app.cell
def _():
    _fig, _ax = plt.subplots(figsize=(6, 2))
    _ax.plot([0, 1], [1, 0])
    _fig
    return


if __name__ == "__main__":
    app.run()
'''


def plain_notebook(folder: Path) -> Path:
    path = folder / "plain_notebook.py"
    path.write_text(PLAIN)
    return path


def export(notebook: Path, out: Path, *args: str, code: bool, home: Path, models: Path) -> Path:
    """`marimo export html` in a subprocess whose cache, records and data are under home."""
    env = {**os.environ, "EXCEPTIONS_CACHE": str(home / "cache"), "EXCEPTIONS_RECORDS": str(home / "records"),
           "EXCEPTIONS_DATA": str(home / "data"), "EXCEPTIONS_MODELS": str(models),
           "EXCEPTIONS_TODAY": "2026-12-05"}
    command = [MARIMO, "export", "html", "--include-code" if code else "--no-include-code", "-f",
               str(notebook), "-o", str(out)] + (["--", *args] if args else [])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=REPO)
    # The sample notebook's hostile cell prints to stderr on purpose; a failed cell fails here.
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out
