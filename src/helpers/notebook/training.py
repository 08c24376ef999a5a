"""The fine-tuning notebooks' (04, 05) own arguments, read from `mo.cli_args()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.cli.option import read_args
from helpers.cli.params import TRAINING


@dataclass(frozen=True)
class TrainingParams:
    """The fine-tuning notebooks' own arguments (the rest are NotebookParams').

    Defaults (helpers.cli.params.TRAINING) are sized so that `make report` trains
    within a few minutes on two CPU cores; the paper's sizes are --labels-size 303
    --explanations-size 50 (and OpenAI's 'auto' would use 3 epochs for either), but
    only the training participants (--train-fraction, default half) may be drawn
    from, so 303 labels need 303 training participants.
    """

    labels_size: int
    explanations_size: int
    epochs: int
    max_steps: int | None
    seed: int
    split_seed: int  # which participants train and which are held out (helpers.finetune.split)
    train_fraction: float
    train_scenarios: tuple[str, ...]  # notebook 05: the scenarios to train a model on

    @classmethod
    def from_cli(cls, args: dict[str, Any], **defaults: Any) -> TrainingParams:
        """From mo.cli_args(); names that are not the notebooks' own are left to
        NotebookParams. `defaults` (field name -> value) replace the table's defaults."""
        options = [o.but(default=defaults.pop(o.key)) if o.key in defaults else o for o in TRAINING]
        if defaults:
            raise TypeError(f"TrainingParams has no field {sorted(defaults)[0]!r}")
        return cls(**read_args(args, options, strict=False))

    def settings(self) -> dict[str, Any]:
        """LoRA settings for train_adapter."""
        return {"epochs": self.epochs, **({"max_steps": self.max_steps} if self.max_steps else {})}

    def size(self, kind: str) -> int:
        return self.labels_size if kind == "labels" else self.explanations_size  # labels-50 too
