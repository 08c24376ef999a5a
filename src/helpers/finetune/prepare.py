"""Training files ready for fine-tuning, and what each one holds.

A `Dataset` is a JSONL file on disk plus what it was made from (kind, scenarios,
size, seed and a label saying whose answers they are). It is made from human
answers (prepare_dataset, through helpers.finetune.datasets) or taken as someone
else prepared it (prepared_dataset, e.g. the economic study's synthetic data).
The label follows every model trained on it into the registry, so a model
trained on illustrative answers is never mistaken for one trained on people's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import paths
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario
from helpers.finetune import datasets as sft

ILLUSTRATIVE = "illustrative"


@dataclass
class Dataset:
    """A training file written from human answers, and what it holds."""

    path: Path
    kind: str
    scenarios: tuple[str, ...]
    size: int
    seed: int
    human_label: str  # e.g. "human (illustrative data)" or "human (answers.csv)"

    @property
    def illustrative(self) -> bool:
        return ILLUSTRATIVE in self.human_label

    def metadata(self) -> dict[str, Any]:
        return {"kind": self.kind, "scenarios": list(self.scenarios), "size": self.size, "seed": self.seed,
                "human_data": self.human_label, "illustrative": self.illustrative}


def default_size(kind: str, available: int) -> int:
    """The paper's size for this kind (303 labels, 50 explanations), or all there are."""
    return min(sft.PAPER_SIZE[kind], available)


def prepare_dataset(human: pd.DataFrame, human_label: str, scenarios: list[Scenario], kind: str, *,
                    scenario_ids: list[str] | None = None, size: int | None = None, seed: int = 0,
                    out: Path | None = None) -> Dataset:
    """Build a dataset and write it as JSONL (default: under paths.finetune_datasets_dir()).

    scenario_ids: one id = a per-scenario dataset, several = pooled, None = all.
    size: None = the paper's size for the kind, or every usable answer if fewer.
    """
    if kind not in sft.KINDS:
        raise UserError(f"unknown dataset kind '{kind}'; use one of {', '.join(sft.KINDS)}")
    ids = list(scenario_ids) if scenario_ids else [s.id for s in scenarios]
    if size is None:
        size = default_size(kind, len(sft.usable_answers(human, kind, ids))) or None
    examples = sft.build_examples(human, scenarios, kind, scenario_ids=ids, size=size, seed=seed)
    if out is None:
        # The content's hash in the name: other answers never overwrite a file
        # that the registry says a model was trained on.
        digest = hashlib.sha256("".join(sft.dumps(e) + "\n" for e in examples).encode()).hexdigest()[:8]
        where = ids[0] if len(ids) == 1 else f"pooled{len(ids)}"
        tag = ILLUSTRATIVE if ILLUSTRATIVE in human_label else "human"
        out = paths.finetune_datasets_dir() / f"{kind}-{where}-n{len(examples)}-s{seed}-{tag}-{digest}.jsonl"
    sft.write_jsonl(examples, out)
    return Dataset(Path(out), kind, tuple(ids), len(examples), seed, human_label)


def prepared_dataset(path: Path, seed: int) -> Dataset:
    """A JSONL file someone else prepared (e.g. synthetic games data), taken as it is.

    Its sidecar `<file>.meta.json` (paths.meta_sidecar), when there is one, names
    what the data are (`games synth` writes "data": "synthetic"); that label
    follows the model."""
    if not path.is_file():
        raise UserError(f"--jsonl {path}: file not found")
    meta_file = paths.meta_sidecar(path)
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{meta_file}: not readable JSON ({exc}); fix or remove it") from None
    what = meta.get("data", "prepared") if isinstance(meta, dict) else "prepared"
    lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return Dataset(path, "prepared", (), lines, seed, f"{what} data ({path.name})")
