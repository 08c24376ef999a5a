"""The fine-tuning notebooks' (04, 05) own arguments, read from `mo.cli_args()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.errors import UserError
from helpers.notebook.params import _items

NOTEBOOK_ARGS = {"labels-size", "explanations-size", "epochs", "max-steps", "seed", "train-scenario"}


@dataclass(frozen=True)
class TrainingParams:
    """The fine-tuning notebooks' own arguments (the rest are NotebookParams').

    Defaults are sized so that `make report` trains within a few minutes on two
    CPU cores; the paper's sizes are --labels-size 303 --explanations-size 50
    (and OpenAI's 'auto' would use 3 epochs for either).
    """

    labels_size: int = 50  # the paper: 303 (every answer to a scenario)
    explanations_size: int = 50
    epochs: int = 2
    max_steps: int | None = None
    seed: int = 0
    train_scenarios: tuple[str, ...] = ()  # notebook 05: the scenarios to train a model on

    @classmethod
    def from_cli(cls, args: dict[str, Any], **defaults: Any) -> TrainingParams:
        """From mo.cli_args(); keys that are not the notebooks' own are ignored here."""
        base = cls(**defaults)
        try:
            steps = args.get("max-steps")
            trained = args.get("train-scenario")
            chosen = cls(
                labels_size=int(args.get("labels-size", base.labels_size)),
                explanations_size=int(args.get("explanations-size", base.explanations_size)),
                epochs=int(args.get("epochs", base.epochs)),
                max_steps=int(steps) if steps is not None else base.max_steps,
                seed=int(args.get("seed", base.seed)),
                train_scenarios=tuple(_items(trained)) if trained is not None else base.train_scenarios,
            )
        except ValueError as exc:
            raise UserError(f"bad notebook argument: {exc}") from None
        for name in ("labels_size", "explanations_size", "epochs"):
            if getattr(chosen, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(chosen, name)}")
        if chosen.max_steps is not None and chosen.max_steps < 1:
            raise UserError(f"--max-steps must be at least 1, got {chosen.max_steps}")
        return chosen

    def settings(self) -> dict[str, Any]:
        """LoRA settings for train_adapter."""
        return {"epochs": self.epochs, **({"max_steps": self.max_steps} if self.max_steps else {})}

    def size(self, kind: str) -> int:
        return self.labels_size if kind == "labels" else self.explanations_size


def _items(value: Any) -> list[str]:
    values = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in values if str(v).strip()]
