"""The facts every report's footer states: which version of the workspace made it,
when, with which models, from which data, and the command that makes it again."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from helpers.reports.headline import Headline

NOT_STATED = "not stated"


@dataclass(frozen=True)
class Provenance:
    version: str
    generated: str
    models: str
    sources: str
    command: str
    notebook: str
    marimo: str


def collect(card: Headline | None, *, code: bool, notebook: str, marimo: str, root: Path) -> Provenance:
    models = ", ".join(card.models) if card and card.models else NOT_STATED
    sources = "; ".join(_source(s.what, s.kind, s.detail) for s in card.sources) if card and card.sources else NOT_STATED
    return Provenance(version=workspace_version(root), generated=generated(), models=models, sources=sources,
                      command="make report CODE=1" if code else "make report", notebook=notebook, marimo=marimo)


def _source(what: str, kind: str, detail: str) -> str:
    text = f"{what or 'data'}: {kind or 'kind not stated'}"
    return f"{text} ({detail})" if detail else text


def workspace_version(root: Path) -> str:
    """The checkout's commit, short, and whether files differ from it."""
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        # Untracked files count too: a new notebook not yet committed changes what a report shows.
        dirty = _git(root, "status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    if not head:
        return "not a git checkout"
    return f"{head} + uncommitted changes" if dirty else head


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def generated() -> str:
    """Now, in UTC; SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
