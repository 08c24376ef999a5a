"""Human answers -> a training dataset -> a trained local adapter (the library side
of `python -m helpers finetune`, whose command line lives in helpers.cli.finetune).

Datasets come from helpers.finetune.datasets, local training from
helpers.finetune.lora; OpenAI jobs are in helpers.finetune.openai_jobs. Both kinds of
model are recorded in the registry (helpers.finetune.registry).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.finetune import lora
from helpers import paths
from helpers.finetune import registry
from helpers.finetune import datasets as sft
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario

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
    """Build a dataset and write it as JSONL (default: cache/finetune/datasets/...).

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
        out = paths.finetune_dir() / "datasets" / f"{kind}-{where}-n{len(examples)}-s{seed}-{tag}-{digest}.jsonl"
    sft.write_jsonl(examples, out)
    return Dataset(Path(out), kind, tuple(ids), len(examples), seed, human_label)


def train_local(dataset: Dataset, *, base: str = lora.DEFAULT_BASE,
                progress: Callable[[int, int, float], None] | None = None, **settings: Any) -> lora.AdapterResult:
    """Train (or find) a LoRA adapter on a dataset and register it."""
    result = lora.train_adapter(dataset.path, base=base, seed=dataset.seed, progress=progress,
                                metadata=dataset.metadata(), **settings)
    registry.record({"model": result.model_name, "provider": "local", "base": base,
                     "adapter_id": result.adapter_id, "dataset_sha256": result.data_sha256,
                     "dataset_file": str(dataset.path), "examples": result.examples,
                     "hyperparameters": result.meta["settings"], "steps": result.steps,
                     "final_loss": result.losses[-1],
                     "train_seconds": result.seconds, **dataset.metadata()})
    return result


def train_per_scenario(human: pd.DataFrame, human_label: str, scenarios: list[Scenario], kind: str,
                       scenario_ids: list[str], *, size: int | None = None, seed: int = 0,
                       base: str = lora.DEFAULT_BASE, train: bool = True, progress=None,
                       **settings: Any) -> dict[str, lora.AdapterResult]:
    """One local model per scenario, each trained only on that scenario's answers.

    Adapters already in the cache (same data and settings) are not retrained.
    train=False only looks in the cache: scenarios without an adapter are left
    out of the result. progress(scenario_id, step, total, loss) follows every step.
    """
    results = {}
    for sid in scenario_ids:
        data = prepare_dataset(human, human_label, scenarios, kind, scenario_ids=[sid], size=size, seed=seed)
        if not train:
            found = lora.find_adapter(data.path, base=base, seed=seed, **settings)
            if found is not None:
                results[sid] = found
            continue
        step = (lambda s, t, loss, sid=sid: progress(sid, s, t, loss)) if progress else None
        results[sid] = train_local(data, base=base, progress=step, **settings)
    return results


def planned_total_steps(human: pd.DataFrame, kinds_sizes: list[tuple[str, int]], scenario_ids: list[str],
                        settings: dict[str, Any]) -> int:
    """Steps all the trainings of a notebook will take (for its progress bar)."""
    chosen = lora.LoraSettings(**settings)
    total = 0
    for kind, size in kinds_sizes:
        for sid in scenario_ids:
            total += lora.planned_steps(min(size, len(sft.usable_answers(human, kind, [sid]))), chosen)
    return total


def loss_table(results: dict[str, lora.AdapterResult]) -> pd.DataFrame:
    """One row per trained model: steps, first and last loss, time, cached or not."""
    rows = [{"model": label, "adapter": r.adapter_id, "examples": r.examples, "steps": r.steps,
             "first_loss": r.losses[0], "last_loss": r.losses[-1], "train_seconds": round(r.seconds, 1),
             "precision": r.settings.precision, "from_cache": r.cached} for label, r in results.items()]
    return pd.DataFrame(rows)


def loss_figure(results: dict[str, lora.AdapterResult]):
    """Training loss per step, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for label, r in results.items():
        ax.plot(range(1, len(r.losses) + 1), r.losses, marker="o", ms=2.5, lw=1.2, label=label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (learned tokens)")
    ax.set_title("LoRA training loss per step", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def prepared_dataset(path: Path, seed: int) -> Dataset:
    """A JSONL file someone else prepared (e.g. synthetic games data), taken as it is.

    Its sidecar `<file>.meta.json`, when there is one, names what the data are
    (`games synth` writes "data": "synthetic"); that label follows the model."""
    import json

    if not path.is_file():
        raise UserError(f"--jsonl {path}: file not found")
    meta_file = Path(f"{path}.meta.json")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{meta_file}: not readable JSON ({exc}); fix or remove it") from None
    what = meta.get("data", "prepared") if isinstance(meta, dict) else "prepared"
    lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return Dataset(path, "prepared", (), lines, seed, f"{what} data ({path.name})")
