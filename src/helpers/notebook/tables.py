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
        options["page_size"] = max(len(data), options.get("page_size") or 10, 1)
    return mo.ui.table(data, **options)
