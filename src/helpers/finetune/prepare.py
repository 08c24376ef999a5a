"""Training files ready for fine-tuning, and what each one holds.

A `Dataset` is a JSONL file on disk plus what it was made from (kind, scenarios,
size, seed, the participant split and a label saying whose answers they are).
It is made from human answers (prepare_dataset, through helpers.finetune.datasets),
drawing only from the split's training participants (helpers.finetune.split), or
taken as someone else prepared it (prepared_dataset, e.g. the economic study's
synthetic data). The label follows every model trained on it into the registry,
so a model trained on illustrative answers is never mistaken for one trained on
people's: such a dataset has "illustrative" in its file name and its sidecar
`<file>.meta.json`, and the models trained on it in their names (lora, openai_jobs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import paths
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario
from helpers.finetune import datasets as sft
from helpers.finetune.split import METADATA_KEYS, ParticipantSplit, split_participants
from helpers.humans import is_illustrative

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
    split: ParticipantSplit | None = None  # None: a prepared file, not drawn from human answers here
    participants: frozenset[str] = frozenset()  # whose answers the examples are
    carried: dict[str, Any] = field(default_factory=dict)  # a prepared file's split, from its sidecar

    @property
    def illustrative(self) -> bool:
        return ILLUSTRATIVE in self.human_label

    def metadata(self) -> dict[str, Any]:
        split = self.split.metadata() if self.split else self.carried
        # `data` is what prepared_dataset reads back from the sidecar: drawn human
        # answers say whether they are illustrative; prepared files keep their own.
        data = {"data": ILLUSTRATIVE if self.illustrative else "human"} if self.split else {}
        return {"kind": self.kind, "scenarios": list(self.scenarios), "size": self.size, "seed": self.seed,
                "human_data": self.human_label, "illustrative": self.illustrative, **data, **split}


def default_size(kind: str, available: int) -> int:
    """The paper's size for this kind (303 labels, 50 explanations), or all there are."""
    return min(sft.PAPER_SIZE[kind], available)


def prepare_dataset(human: pd.DataFrame, human_label: str, scenarios: list[Scenario], kind: str, *,
                    scenario_ids: list[str] | None = None, size: int | None = None, seed: int = 0,
                    out: Path | None = None, split: ParticipantSplit | None = None) -> Dataset:
    """Build a dataset and write it as JSONL (default: under paths.finetune_datasets_dir()),
    with its metadata in the sidecar `<file>.meta.json`.

    scenario_ids: one id = a per-scenario dataset, several = pooled, None = all.
    size: None = the paper's size for the kind, or every usable answer if fewer.
    split: whose answers may train (default: split_participants(human) with its
    documented seed and fraction); the examples come from its training
    participants only. Illustrative answers (by their rows' marks) make an
    illustrative dataset whatever the label says, and an `out` name that does
    not say "illustrative" is refused.
    """
    if kind not in sft.KINDS:
        raise UserError(f"unknown dataset kind '{kind}'; use one of {', '.join(sft.KINDS)}")
    if is_illustrative(human, human_label) and ILLUSTRATIVE not in human_label:
        human_label = f"{human_label} ({ILLUSTRATIVE} data)"
    split = split or split_participants(human)
    pool = split.training_rows(human)
    ids = list(scenario_ids) if scenario_ids else [s.id for s in scenarios]
    if size is None:
        size = default_size(kind, len(sft.usable_answers(pool, kind, ids))) or None
    rows = sft.select_answers(pool, scenarios, kind, scenario_ids=ids, size=size, seed=seed)
    examples = sft.examples_from(rows, scenarios, kind)
    illustrative = ILLUSTRATIVE in human_label
    if out is None:
        # The content's hash in the name: other answers never overwrite a file
        # that the registry says a model was trained on.
        digest = hashlib.sha256("".join(sft.dumps(e) + "\n" for e in examples).encode()).hexdigest()[:8]
        where = ids[0] if len(ids) == 1 else f"pooled{len(ids)}"
        tag = ILLUSTRATIVE if illustrative else "human"
        out = paths.finetune_datasets_dir() / f"{kind}-{where}-n{len(examples)}-s{seed}-{tag}-{digest}.jsonl"
    elif illustrative and ILLUSTRATIVE not in Path(out).name:
        raise UserError(f"--out {out}: these answers are illustrative (generated), so the file name must say so; "
                        f"name it e.g. {Path(out).stem}-{ILLUSTRATIVE}{Path(out).suffix or '.jsonl'}")
    sft.write_jsonl(examples, out)
    used = frozenset(rows["participant_id"].astype(str)) if "participant_id" in rows else frozenset()
    data = Dataset(Path(out), kind, tuple(ids), len(examples), seed, human_label, split, used)
    paths.meta_sidecar(out).write_text(json.dumps(data.metadata(), indent=1) + "\n", encoding="utf-8")
    return data


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
    # prepare_dataset's sidecar says "illustrative" or "human"; a prepared file of
    # illustrative answers stays illustrative (and so does its model's name).
    lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    carried = {k: v for k, v in meta.items() if k in METADATA_KEYS} if isinstance(meta, dict) else {}
    return Dataset(path, "prepared", (), lines, seed, f"{what} data ({path.name})", carried=carried)
