"""The spend gate of every notebook: when calls may be made, and UserErrors shown
instead of raised."""

from __future__ import annotations

from helpers.errors import UserError
from helpers.notebook.progress import NotebookProgress


def spends_without_click(meta) -> bool:
    """True when nobody can click a button, so calls are made straight away.

    `meta` is mo.app_meta(). A script run has mode "script". `marimo export html`
    runs the notebook in an "edit" session but with no browser behind it, so
    there is no HTTP request; a notebook open in a browser (edit or run mode)
    always has one, and there calls wait for the run button.
    """
    if meta.mode not in ("edit", "run"):
        return True
    return meta.request is None


def attempt(fn, *args, **kwargs):
    """Call fn; return a UserError instead of raising it, for a notebook to show."""
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        return exc


def run_with_progress(config, scenarios, **kwargs):
    """experiment.run with a progress bar in the notebook; UserErrors are returned."""
    from helpers.exceptions import experiment

    bar = NotebookProgress()
    try:
        return attempt(experiment.run, config, scenarios, progress=bar, **kwargs)
    finally:
        bar.close()
