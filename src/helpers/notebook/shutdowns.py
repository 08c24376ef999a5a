"""The notebooks' word on openai/ models that OpenAI shuts down (or has): the
lines of helpers.llm.lifecycle.warnings as one warn callout, shown wherever a
notebook knows its model list (a run's report, the economic agents)."""

from __future__ import annotations

import sys
from collections.abc import Iterable


def shutdown_callout(models: Iterable[str], base_url: str | None = None):
    """A warn callout with one line per openai/ model that has a shutdown date, or
    an empty output when none has (local models alone ask nothing). As a script,
    the lines also go to stderr as `warning: ...`, where the CLI prints them."""
    import marimo as mo

    from helpers.llm import lifecycle

    lines = lifecycle.warnings(models, base_url=base_url)
    if not lines:
        return mo.md("")
    if mo.app_meta().mode == "script":  # a script run shows no outputs
        for line in lines:
            print(f"warning: {line}", file=sys.stderr, flush=True)
    return mo.callout(mo.md("\n\n".join(f"**warning:** {line}" for line in lines)), kind="warn")
