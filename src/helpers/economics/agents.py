"""The agents the economic notebooks compare: the base model, and the offline
model fine-tuned (LoRA) on synthetic data of homo economicus or homo moralis.

Fine-tuning goes through helpers.finetune.lora.train_adapter (adapters are cached by a
hash of their data and settings, so a second run trains nothing). The data are
synthetic (helpers.economics.synthetic), written under cache/synthetic/. If this checkout
has no helpers.finetune.lora, `lora_status()` says so and the notebooks carry on with
the base model alone.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from helpers import paths
from helpers.economics import synthetic
from helpers.errors import UserError
from helpers.economics.games import Game
from helpers.economics.games import format_number as fmt
from helpers.llm import DEFAULT_MODEL
from helpers.economics.preferences import as_kappa


@dataclass(frozen=True)
class TrainPlan:
    """What to fine-tune: the synthetic set and the LoRA settings that matter here."""

    size: int = 64  # examples per agent type
    seed: int = 0
    explain: bool = False  # labels only by default: short sequences train fast on a CPU
    epochs: int = 2
    max_steps: int | None = None
    # Small batches and a brisk rate: at the same compute as batches of 8, twice the
    # updates taught the 135M model the answer format (measured: invalid answers fell
    # from most to a few percent after 32 steps on 64 examples).
    batch_size: int = 4
    learning_rate: float = 2e-3

    def overrides(self) -> dict:
        """LoRA settings that differ from helpers.finetune.lora's defaults (rank, layers, ...)."""
        length = {"max_length": 384} if self.explain else {}  # derivations run to ~300 tokens
        return {"epochs": self.epochs, "max_steps": self.max_steps, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, **length}


@dataclass
class Agent:
    label: str  # shown in tables and legends
    model: str  # a model name usable everywhere ("local/...+<adapter>")
    kappa: float | None  # the κ it was trained towards; None for the base model
    losses: list[float] = field(default_factory=list)
    data: Path | None = None
    seconds: float = 0.0
    cached: bool = False


def base_agent(model: str = DEFAULT_MODEL) -> Agent:
    return Agent(f"base: {model}", model, None)


def agent_label(kappa: float | Fraction) -> str:
    return f"SFT on synthetic {synthetic.agent_name(kappa)}"


def lora_status() -> str | None:
    """None when LoRA fine-tuning is available here, else why not (one line)."""
    try:
        lora = importlib.import_module("helpers.finetune.lora")
    except ImportError as exc:
        return f"LoRA fine-tuning is not available in this checkout (helpers.finetune.lora: {exc})"
    if not hasattr(lora, "train_adapter"):
        return "LoRA fine-tuning is not available: helpers.finetune.lora has no train_adapter"
    return None


def write_data(games: list[Game], kappa: float | Fraction, plan: TrainPlan) -> Path:
    """Generate and write the synthetic set for κ (deterministic for a plan)."""
    kappa = as_kappa(kappa)
    examples = synthetic.generate(games, kappa, plan.size, plan.seed, explain=plan.explain)
    path = synthetic.default_path(kappa, plan.size, plan.seed, plan.explain)
    return synthetic.write(examples, path, kappa=kappa, seed=plan.seed, explain=plan.explain)


def fine_tune(games: list[Game], kappa: float | Fraction, plan: TrainPlan = TrainPlan(), *,
              train: bool = True, progress: Callable[[int, int, float], None] | None = None) -> Agent | None:
    """The offline model fine-tuned on synthetic data for κ.

    train=False only looks for an adapter trained earlier with the same data and
    settings (free and instant) and returns None if there is none.
    """
    if (why := lora_status()) is not None:
        raise UserError(why)
    from helpers.finetune import lora

    kappa = as_kappa(kappa)
    path = write_data(games, kappa, plan)
    if train:
        metadata = {"data": "synthetic", "kappa": fmt(kappa), "agent": synthetic.agent_name(kappa)}
        result = lora.train_adapter(path, seed=plan.seed, progress=progress, metadata=metadata,
                                    **plan.overrides())
    else:
        result = _cached(lora, path, plan)
        if result is None:
            return None
    return Agent(agent_label(kappa), result.model_name, float(kappa), list(result.losses), path,
                 float(result.seconds), bool(result.cached))


def _cached(lora, path: Path, plan: TrainPlan):
    """The adapter trained earlier on this data with these settings, or None."""
    if hasattr(lora, "find_adapter"):
        return lora.find_adapter(path, seed=plan.seed, **plan.overrides())
    # Without find_adapter: recompute the content hash the way train_adapter does.
    from helpers.llm import local_model

    settings = lora.LoraSettings(seed=plan.seed, **plan.overrides())
    settings = lora.resolve(settings) if hasattr(lora, "resolve") else settings
    ident = lora.adapter_id(path.read_bytes(), lora.DEFAULT_BASE, settings)
    if not (local_model.adapter_path(ident) / local_model.ADAPTER_META).is_file():
        return None
    return lora.train_adapter(path, seed=plan.seed, **plan.overrides())  # loads, never trains


def describe(agents: list[Agent]) -> list[dict]:
    """Rows for a table of the agents (no losses, just what they are)."""
    return [{"agent": a.label, "model": a.model, "kappa": a.kappa,
             "training steps": len(a.losses), "final loss": a.losses[-1] if a.losses else None,
             "data": str(a.data) if a.data else "", "trained now": bool(a.losses) and not a.cached}
            for a in agents]


def training_line(agents: list[Agent]) -> str:
    """"N fine-tuned agent(s): X loaded from the cache, Y trained now (Z s)"."""
    tuned = [a for a in agents if a.kappa is not None]
    cached = sum(a.cached for a in tuned)
    seconds = sum(a.seconds for a in tuned if not a.cached)
    return (f"{len(tuned)} fine-tuned agent(s): {cached} loaded from the cache, {len(tuned) - cached} "
            f"trained now ({seconds:.0f} s of training).")


def data_meta(agent: Agent) -> dict:
    """The synthetic set's sidecar (κ, seed, "synthetic")."""
    if agent.data is None:
        return {}
    return json.loads(paths.meta_sidecar(agent.data).read_text(encoding="utf-8"))
