"""The gates of every notebook: when calls may be made, and what a UserError does.

A UserError (a bad argument, a missing file, a widget value a run cannot take)
is shown, never raised: a danger callout in the browser and in an HTML export,
`error: ...` on stderr and exit status 2 when the notebook runs as a script,
the same as `python -m helpers ...` does.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from helpers.errors import UserError

T = TypeVar("T")

# marimo's script runner (`python notebook.py`, i.e. app.run()) treats mo.stop as
# "skip the rest quietly" and exits 0 without printing the stop's output, so a bad
# argument would go unseen. Any other exception a cell raises is raised again out
# of app.run() (marimo 0.25: ScriptRunner re-raises the cell's own exception), so
# SystemExit ends the process with its status, after the usual flush of stdout and
# stderr; no os._exit is needed. tests/notebooks/test_bad_arguments.py checks it.
EXIT_STATUS = 2


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


def error_callout(message: str):
    """The danger callout a notebook shows for a UserError's message."""
    import marimo as mo

    # Messages name files and fields (`levels`, my_file.csv); as HTML they show as written.
    return mo.callout(mo.Html(f"<p><strong>error:</strong> {html.escape(message)}</p>"), kind="danger")


def refuse(message: str) -> NoReturn:
    """Stop the notebook on `message`: exit 2 as a script, else a callout that stops the cell."""
    import marimo as mo

    if mo.app_meta().mode == "script":
        print(f"error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_STATUS)
    mo.stop(True, error_callout(message))
    raise AssertionError("unreachable: mo.stop(True, ...) raises")  # for type checkers


def checked(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(*args, **kwargs), or, on a UserError, the notebook stops on its message.

    In the browser and under `marimo export html` the cell stops (mo.stop) and
    shows a danger callout `error: <message>`, and the cells that need its
    results do not run; as a script the message goes to stderr as
    `error: <message>` and the process exits with status 2.
    """
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        refuse(str(exc))
