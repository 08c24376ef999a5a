"""The registry of fine-tuned models: which data, base and settings made each one.

One JSON file (paths.finetune_registry()) lists every model trained through
this workspace, OpenAI `ft:` models and local adapters alike, newest last:
model name (usable wherever a model is accepted), provider, base, dataset
SHA-256 and file, hyper-parameters, the endpoint it lives on, and what the
data were (kind, scenarios, size, seed, provenance such as "illustrative").
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from typing import Any

from helpers import paths
from helpers.errors import UserError


def entries() -> list[dict[str, Any]]:
    """Every registered model, oldest first (empty if nothing was trained yet)."""
    path = paths.finetune_registry()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg}); fix or remove the file") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise UserError(f"{path}: expected {{\"models\": [...]}}; fix or remove the file")
    return data["models"]


def record(entry: dict[str, Any]) -> dict[str, Any]:
    """Add (or replace, by model name) one model; written atomically."""
    if not entry.get("model"):
        raise ValueError("a registry entry needs a model name")
    entry = {"registered": time.time(), **entry}
    path = paths.finetune_registry()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):  # two trainings finishing at once must not drop an entry
        models = [e for e in entries() if e.get("model") != entry["model"]] + [entry]
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps({"models": models}, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    return entry


@contextlib.contextmanager
def _locked(path):
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def find(model: str) -> dict[str, Any] | None:
    """The entry of a model name (with or without its provider prefix), or None."""
    for e in reversed(entries()):
        if model in (e.get("model"), e.get("model", "").partition("/")[2]):
            return e
    return None
