"""Train the offline model on prepared datasets and register what was trained.

train_local trains (or finds in the cache) one LoRA adapter through
helpers.finetune.lora and records it in helpers.finetune.registry;
train_per_scenario does that once per scenario, as the paper's per-scenario
models, on the training participants of one split (helpers.finetune.split);
planned_total_steps tells a notebook's progress bar how far it will go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from helpers.exceptions.scenarios import Scenario
from helpers.finetune import datasets as sft
from helpers.finetune import lora, registry
from helpers.finetune.prepare import Dataset, prepare_dataset
from helpers.finetune.split import ParticipantSplit, split_participants


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
                       split: ParticipantSplit | None = None, base: str = lora.DEFAULT_BASE, train: bool = True,
                       progress: Callable[[str, int, int, float], None] | None = None,
                       **settings: Any) -> dict[str, lora.AdapterResult]:
    """One local model per scenario, each trained only on that scenario's answers
    of the split's training participants (split None: the default split).

    size: answers per model, at most (a scenario with fewer usable training
    answers uses them all: notebook 04 asks the paper's 303 labels and gets every
    training participant's). Adapters already in the cache (same data and settings) are not retrained.
    train=False only looks in the cache: scenarios without an adapter are left
    out of the result. progress(scenario_id, step, total, loss) follows every step.
    """
    results = {}
    split = split or split_participants(human)
    pool = split.training_rows(human)
    for sid in scenario_ids:
        available = len(sft.usable_answers(pool, kind, [sid]))
        data = prepare_dataset(human, human_label, scenarios, kind, scenario_ids=[sid], seed=seed, split=split,
                               size=None if size is None else min(size, available) or None)
        if not train:
            found = lora.find_adapter(data.path, base=base, seed=seed, illustrative=data.illustrative, **settings)
            if found is not None:
                results[sid] = found
            continue
        step = (lambda s, t, loss, sid=sid: progress(sid, s, t, loss)) if progress else None
        results[sid] = train_local(data, base=base, progress=step, **settings)
    return results


def planned_total_steps(human: pd.DataFrame, kinds_sizes: list[tuple[str, int]], scenario_ids: list[str],
                        settings: dict[str, Any]) -> int:
    """Steps all the trainings of a notebook will take (for its progress bar).

    human: the answers the datasets draw from (a split's training rows).
    kinds_sizes: (dataset kind, examples asked for) per training round; each
    scenario trains on at most that many of its usable answers.
    """
    chosen = lora.LoraSettings(**settings)
    total = 0
    for kind, size in kinds_sizes:
        for sid in scenario_ids:
            total += lora.planned_steps(min(size, len(sft.usable_answers(human, kind, [sid]))), chosen)
    return total
