"""The steps of the fine-tuning notebooks (04: labels, labels-50 or explanations,
05: transfer): their arguments, the participant split and training plan shown
before the button, the trainings with one progress bar, the loss table, and the
measurement of the fine-tuned models next to the base model, compared in-scenario
with the held-out participants only.

Training happens on this machine (LoRA adapters of the offline model, cached in
cache/adapters/); a plan with nothing new to train reads them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from helpers import finetune
from helpers.exceptions import Scenario, select
from helpers.finetune import evaluation as sft_eval
from helpers.finetune.evaluation import Evaluation, FineTuned
from helpers.finetune.split import ParticipantSplit, split_participants
from helpers.notebook.comparison import HumanSide, reference_table
from helpers.notebook.progress import ProgressBar
from helpers.notebook.runs import Study, open_study
from helpers.notebook.tables import table as ui_table
from helpers.notebook.training import TrainingParams


def open_training(cli_args: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
                  ) -> tuple[Study, TrainingParams]:
    """The study (parameters, scenarios, human data) and the training parameters;
    each --train-scenario must be one of the scenarios."""
    args = {**(defaults or {}), **dict(cli_args)}
    study = open_study(args)
    training = TrainingParams.from_cli(args)
    select(study.scenarios, list(training.train_scenarios))
    return study, training


@dataclass(frozen=True)
class TrainingPlan:
    """Which models to train: one per kind of data (size: answers each) and scenario,
    on the training participants of `people` only."""

    sizes: dict[str, int]  # dataset kind (labels, labels-50, explanations) -> answers per model
    scenarios: list[Scenario]  # one model per kind trained on each, on its answers alone
    settings: dict[str, Any]  # LoRA settings (epochs, max_steps)
    seed: int
    steps: int  # optimiser steps of all the trainings, for the progress bar
    people: ParticipantSplit  # who may train; the others are held out for in-scenario comparisons

    @property
    def models(self) -> int:
        return len(self.sizes) * len(self.scenarios)


def plan_training(study: Study, training: TrainingParams, sizes: dict[str, int], scenario_ids: list[str],
                  epochs: int) -> TrainingPlan:
    """The plan for the widgets' choices; a UserError when the human data cannot make it."""
    settings = {**training.settings(), "epochs": epochs}
    chosen = [s for s in study.scenarios if s.id in set(scenario_ids)]
    people = split_participants(study.human.data, seed=training.split_seed, train_fraction=training.train_fraction)
    steps = finetune.planned_total_steps(people.training_rows(study.human.data), list(sizes.items()),
                                         [s.id for s in chosen], settings)
    return TrainingPlan(dict(sizes), chosen, settings, training.seed, steps, people)


@dataclass(frozen=True)
class Trained:
    """The adapters a plan has so far (kind -> scenario id -> adapter)."""

    plan: TrainingPlan
    adapters: dict[str, dict[str, finetune.AdapterResult]]
    illustrative: bool  # trained on the illustrative answers: so are the models
    human_label: str = ""  # whose answers trained them, with any --exclude filter (HumanSide.label)

    @property
    def missing(self) -> int:
        return self.plan.models - sum(len(per) for per in self.adapters.values())

    def models(self) -> list[FineTuned]:
        """The fine-tuned models, as evaluation.evaluate takes them."""
        return [FineTuned(r.model_name, kind, (sid,), self.illustrative, self.plan.people)
                for kind, per in self.adapters.items() for sid, r in per.items()]

    def labelled(self) -> dict[str, finetune.AdapterResult]:
        """Adapters by a readable name, e.g. 'explanations: Grocery prices (illustrative)'."""
        titles = {s.id: s.title for s in self.plan.scenarios}
        tag = " (illustrative)" if self.illustrative else ""
        return {f"{kind}: {titles[sid]}{tag}": r for kind, per in self.adapters.items() for sid, r in per.items()}

    def view(self, *, figure: bool = False):
        """The loss table (figure: and the loss curves), and how many models still
        wait for the button."""
        import marimo as mo

        losses = self.labelled()
        note = f"\n\n**{self.missing} models are not trained yet:** press the button above." if self.missing else ""
        source = f"\n\nTrained on the training participants' answers of **{self.human_label}**." if self.human_label else ""
        shown = [mo.md("## Training" + source + note), ui_table(finetune.loss_table(losses).round(3), selection=None)]
        if figure:
            title = f"LoRA training loss per step\ntrained on {self.human_label}" if self.human_label else None
            shown.append(finetune.loss_figure(losses, title=title) if losses else mo.md("_No training losses yet._"))
        return mo.vstack(shown)


def train(plan: TrainingPlan, human: HumanSide, *, train: bool) -> Trained:
    """Train the plan's models (train=False: only those already in the cache), with
    one progress bar over all their steps."""
    ids = [s.id for s in plan.scenarios]
    with ProgressBar("Training LoRA adapters", total=plan.steps) as bar:
        adapters = {kind: finetune.train_per_scenario(human.data, human.label, plan.scenarios, kind, ids, size=size,
                                                      seed=plan.seed, split=plan.people, train=train,
                                                      progress=bar.scenario_step, **plan.settings)
                    for kind, size in plan.sizes.items()}
    return Trained(plan, adapters, human.illustrative, human.label)


def measure(trained: Trained, study: Study, scenarios: list[Scenario], splits: tuple[str, ...], *,
            make_calls: bool) -> Evaluation:
    """The fine-tuned models in their splits and the base model on every scenario,
    in the study's mode, through the call cache."""
    params = study.params
    return sft_eval.evaluate(trained.models(), scenarios, base_model=finetune.DEFAULT_BASE, splits=splits,
                             make_calls=make_calls, mode=params.mode, samples=params.samples,
                             temperature=params.temperature, control=not params.no_control)


def held_out(human: HumanSide, evaluation: Evaluation) -> HumanSide:
    """The people in-scenario comparisons use: the participants held out of training."""
    return HumanSide(evaluation.held_out(human.data), human.label)


def references(evaluation: Evaluation, human: HumanSide, splits: tuple[str, ...], *, by: str,
               compared_as: str):
    """comparison.reference_table (gap with interval, noise floor, flat model, Spearman
    and slope) for the models of `splits`, named by `by` ('group' or 'agent'), against
    the people a `compared_as` split is compared with (held-out ones for in-scenario)."""
    frame = sft_eval.figure_rates(evaluation.rates, splits, by=by)
    return reference_table(frame, sft_eval.comparison_humans(human.data, compared_as, evaluation.people))


def held_out_note(evaluation: Evaluation, *, transfer: bool = False) -> str:
    """The sentence beside an in-scenario comparison saying whom it compares with
    (and, transfer: that transfer comparisons use everyone)."""
    people = evaluation.people
    text = ("In-scenario comparisons: " + people.sentence() + "." if people is not None
            else "These models were trained on none of these people, so every participant is compared with.")
    if transfer:
        text += (" Transfer comparisons use **all participants** of the unseen scenarios: no answer to those "
                 "scenarios was in any training set.")
    return text


def measured_note(evaluation: Evaluation, mode: str):
    import marimo as mo

    note = f" {evaluation.missing} answers are not cached yet: press the button." if evaluation.missing else ""
    return mo.md(f"Measured in `{mode}` mode through the call cache.{note}")
