"""A table in an export holds every row (marimo's export keeps only a paged table's
first page, and refuses page sizes above 200), so a report shows all 240 buckets."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
from marimo_html import rows_with

NOTEBOOK = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import pandas as pd

    from helpers.notebook import table

    table(pd.DataFrame({"bucket": range(240)}), page_size=25)
    return


if __name__ == "__main__":
    app.run()
'''


def test_an_exported_table_holds_all_its_rows(tmp_path):
    notebook = tmp_path / "tables.py"
    notebook.write_text(NOTEBOOK)
    out = tmp_path / "tables.html"
    marimo = str(Path(sys.executable).parent / "marimo")
    proc = subprocess.run([marimo, "export", "html", str(notebook), "-o", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [int(r["bucket"]) for r in rows_with(out.read_text(), "bucket")] == list(pd.RangeIndex(240))
