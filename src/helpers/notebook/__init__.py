"""What the notebooks (notebooks/*.py) are built from, so that their cells stay one short step each:

- gate: `checked(fn, ...)`, which turns a UserError into a callout (or, in a script
  run, `error: ...` and exit 2), and `spends_without_click`, when calls need no click;
- shutdowns: `shutdown_callout(models)`, the warning about openai/ models OpenAI
  shuts down, wherever a notebook knows its models;
- progress: one marimo progress bar for runs, trainings and games;
- one module per recurring step of a study's notebooks: runs and answers (01-03, 06),
  validity (the validity card, 01-05), comparison (the human side, 01-05), finetuning
  (04, 05), econ_agents (07, 08);
- params, training, economics: the notebooks' typed command-line parameters;
- tables: `table`, every row in an export; headline: the card `make report` reads.
"""

from helpers.notebook.gate import checked, error_callout, refuse, spends_without_click
from helpers.notebook.progress import ProgressBar
from helpers.notebook.shutdowns import shutdown_callout
from helpers.notebook.tables import table

__all__ = ["ProgressBar", "checked", "error_callout", "refuse", "shutdown_callout", "spends_without_click", "table"]
