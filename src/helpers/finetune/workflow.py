"""`python -m helpers finetune`: human answers -> dataset -> a fine-tuned model's name.

    python -m helpers finetune --kind explanations --scenario grocery_prices --size 50 \\
        --base local/smollm2-135m-instruct
    python -m helpers finetune --human data/human_responses.csv --kind labels \\
        --scenario hospitality --base openai/gpt-4o-mini-2024-07-18 --dry-run

It builds the dataset (helpers.finetune.datasets), validates it and prints what training
would take, then trains: a LoRA adapter on the CPU for local/ bases
(helpers.finetune.lora), a job on OpenAI's service for openai/ bases
(helpers.finetune.openai_jobs). The last line printed is the new model's name.
Without --human it uses data/human_responses.csv if present, else the
generated illustrative answers (and says so). Both kinds of model are
recorded in the registry (helpers.finetune.registry).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
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


# -- notebooks 04 and 05 -------------------------------------------------------

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


class TrainingProgress:
    """A marimo progress bar over every step of several trainings."""

    def __init__(self, total_steps: int, title: str = "Training LoRA adapters"):
        self.total, self.title, self._bar = max(1, total_steps), title, None

    def __call__(self, scenario: str, step: int, total: int, loss: float) -> None:
        import marimo as mo

        if self._bar is None:
            self._context = mo.status.progress_bar(total=self.total, title=self.title, remove_on_exit=True)
            self._bar = self._context.__enter__()
        self._bar.update(increment=1, subtitle=f"{scenario}: step {step}/{total}, loss {loss:.3f}")

    def close(self) -> None:
        if self._bar is not None:
            self._context.__exit__(None, None, None)
            self._bar = None


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


# -- the CLI subcommand ------------------------------------------------------

def add_parser(commands) -> None:
    """Register `finetune` on the CLI's subcommands (called from cli.py)."""
    cmd = commands.add_parser("finetune", help="fine-tune a model on human answers; prints its name last")
    cmd.add_argument("--human", type=Path, default=None,
                     help="human-responses file (.csv/.parquet); default data/human_responses.csv, "
                          "else illustrative (generated) answers")
    cmd.add_argument("--kind", choices=sft.KINDS,
                     help="labels: answer Yes/No only; explanations: the decision and the participant's reason")
    cmd.add_argument("--jsonl", type=Path, default=None, metavar="FILE",
                     help="train on a prepared chat fine-tuning JSONL (e.g. from `games synth`) instead of "
                          "human answers; --human/--kind/--scenario/--size then do not apply")
    cmd.add_argument("--scenario", action="append", dest="scenario_ids", metavar="ID",
                     help="train on this scenario (repeat to pool several; default: all, pooled)")
    cmd.add_argument("--scenarios", type=Path, default=None, help="scenarios TOML file")
    cmd.add_argument("--size", type=int, default=None,
                     help="examples to draw (default: the paper's 303 labels / 50 explanations, or all there are)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the draw and of training")
    cmd.add_argument("--base", required=True, metavar="MODEL",
                     help="local/smollm2-135m-instruct (LoRA on the CPU) or openai/<model> (OpenAI's service)")
    cmd.add_argument("--dry-run", action="store_true",
                     help="validate, count tokens and price the training, then stop")
    cmd.add_argument("--out", type=Path, default=None, help="where to write the JSONL dataset")
    cmd.add_argument("--epochs", type=int, default=None,
                     help=f"passes over the data (local default {lora.LoraSettings.epochs}; OpenAI default auto)")
    cmd.add_argument("--learning-rate", type=float, default=None, help="local: LoRA learning rate")
    cmd.add_argument("--rank", type=int, default=None, help="local: LoRA rank")
    cmd.add_argument("--max-steps", type=int, default=None, help="local: stop after this many steps")
    cmd.add_argument("--base-url", default=None, help="OpenAI-compatible server for openai/ bases")
    cmd.add_argument("--suffix", default=None, help="OpenAI: a name part for the ft: model")
    cmd.add_argument("--poll-seconds", type=float, default=30.0, help="OpenAI: seconds between status checks")


def _local_settings(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {"epochs": args.epochs, "learning_rate": args.learning_rate, "rank": args.rank,
              "max_steps": args.max_steps}
    return {k: v for k, v in chosen.items() if v is not None}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    """Run `finetune`; UserErrors propagate to the CLI, which prints one line."""
    from helpers.humans import responses as human_data
    from helpers.exceptions import scenarios as scenario_files
    from helpers.llm.models import OPENAI_URL, parse_model

    spec = parse_model(args.base, args.base_url)
    if spec.provider == "openai" and (args.learning_rate or args.rank or args.max_steps):
        raise UserError("--learning-rate, --rank and --max-steps apply to local bases; "
                        "OpenAI takes --epochs only here")
    if args.jsonl is not None:
        data = prepared_dataset(args.jsonl, args.seed)
        if any(v is not None for v in (args.human, args.kind, args.scenario_ids, args.size, args.out)):
            raise UserError("--jsonl trains on the file as it is; drop --human, --kind, --scenario, --size and --out")
    else:
        if args.kind is None:
            raise UserError("say what to train on: --kind labels|explanations (human answers) or --jsonl FILE")
        every = scenario_files.load_scenarios(args.scenarios)
        chosen = scenario_files.select(every, args.scenario_ids) if args.scenario_ids else every
        # The whole file, not the selection: the illustrative answers to a scenario
        # must be the same ones the notebooks train on.
        answers, label = human_data.human_or_illustrative(args.human, every)
        if ILLUSTRATIVE in label:
            _say("note: no human data given: training on ILLUSTRATIVE (generated) answers, not real people's")
        data = prepare_dataset(answers, label, chosen, args.kind, scenario_ids=[s.id for s in chosen],
                               size=args.size, seed=args.seed, out=args.out)
    label = data.human_label
    if spec.provider == "local":
        settings = lora.LoraSettings(**{**_local_settings(args), "seed": args.seed})
        report = sft.validate(data.path, spec.name, epochs=settings.epochs)
        steps = lora.planned_steps(report.examples, settings)
        print(report.table())
        print(f"{'optimiser steps':<16} {steps} (batch {settings.batch_size}); "
              f"about {lora.estimated_time(steps)} on two CPU cores (idle to busy)")
    else:
        report = sft.validate(data.path, spec.name, epochs=args.epochs)
        print(report.table())
    print(f"{'training data':<16} {label}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if args.dry_run:
        print("dry run: nothing was uploaded or trained")
        return 0
    if spec.provider == "local":
        result = train_local(data, base=spec.name, progress=lora.print_progress, **_local_settings(args))
        how = "found in the cache, not retrained" if result.cached else f"trained in {result.seconds:.0f} s"
        print(f"adapter {result.adapter_id}: {how}; loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} "
              f"over {result.steps} steps")
        print(result.model_name)
        return 0
    from helpers.finetune import openai_jobs as finetune_openai

    hyper = {"n_epochs": args.epochs} if args.epochs else None
    name = finetune_openai.finetune(data.path, spec.name, base_url=args.base_url, hyperparameters=hyper,
                                    suffix=args.suffix, seed=args.seed, poll_seconds=args.poll_seconds,
                                    metadata=data.metadata(), progress=_say)
    if spec.base_url != OPENAI_URL:
        print(f"note: this model lives on {spec.base_url}; pass --base-url {spec.base_url} to use it")
    print(name)
    return 0
