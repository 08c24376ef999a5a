"""Tables as the notebooks show them.

marimo's HTML export embeds only the rows of a table's first page, so a report made
by `make report` would show 10 of a notebook's 60 buckets. Where nobody can page
through a table (an export or a script run), `table` shows every row on one page;
in the browser it pages as marimo does.
"""

from __future__ import annotations

from helpers.notebook.gate import spends_without_click


def table(data, **options):
    """mo.ui.table without row selection; whole in an export (see the module's doc)."""
    import marimo as mo

    options.setdefault("selection", None)
    if spends_without_click(mo.app_meta()):
        # Not a page size of len(data): marimo refuses page sizes above 200 rows.
        options.pop("page_size", None)
        options["pagination"] = False
    return mo.ui.table(data, **options)
