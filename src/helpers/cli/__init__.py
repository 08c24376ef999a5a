"""The command line, `python -m helpers run|estimate|finetune|games|archive|report|survey`:
one module per subcommand (run, finetune, games, archive, report, survey), dispatch in main,
and every parameter's type, default, range and help defined once in params (read by
the notebooks too)."""

from helpers.cli.main import main

__all__ = ["main"]
