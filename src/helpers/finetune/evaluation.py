"""Measuring fine-tuned models against humans (paper, Sec. 2.4, Figures 3 and 4).

Every fine-tuned model is measured in up to two splits, plus the base model:
- `in-scenario`: on the scenario(s) it was trained on (Figure 3);
- `transfer`: only on scenarios it was NOT trained on (Figure 4); `unseen_scenarios`
  is the one place that decides this split, and it never includes a training scenario;
- `base`: the model before fine-tuning, on every scenario.

Whom each split is compared with is decided in one place, `comparison_humans`:
in-scenario rows (and the base model beside them) only with the participants
held out of training (helpers.finetune.split), never with the people whose
answers trained the model; transfer and base rows with everyone, since no
answer to those scenarios was trained on.

`gap_table` gives, per model and split, the mean absolute difference from the
human refusal rates, the base model's difference on the very same buckets, and
for transfer the Fisher randomization test over level permutations (does the
model follow the human level structure, or merely refuse less?).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.exceptions import experiment
from helpers.exceptions import stats
from helpers.llm.cache import CallStats
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario
from helpers.finetune.split import ParticipantSplit

SPLITS = ("in-scenario", "transfer", "base")
ILLUSTRATIVE_TAG = " (illustrative)"


@dataclass(frozen=True)
class FineTuned:
    """A fine-tuned model and what it was trained on."""

    model: str  # provider/model, e.g. local/smollm2-135m-instruct+<adapter> or openai/ft:...
    kind: str  # labels | explanations
    trained_on: tuple[str, ...]  # scenario ids
    illustrative: bool  # trained on generated, not real, human answers
    people: ParticipantSplit | None = None  # whose answers trained it; None: none of the comparison's people

    def label(self, titles: dict[str, str] | None = None) -> str:
        """The name tables and figures show, e.g. 'SFT explanations: Grocery prices (illustrative)'."""
        titles = titles or {}
        on = ", ".join(titles.get(s, s) for s in self.trained_on)
        return f"SFT {self.kind}: {on}" + (ILLUSTRATIVE_TAG if self.illustrative else "")

    @property
    def group(self) -> str:
        """The name of all models of this kind, e.g. 'SFT explanations (illustrative)'."""
        return f"SFT {self.kind}" + (ILLUSTRATIVE_TAG if self.illustrative else "")


def unseen_scenarios(trained_on: Iterable[str], scenario_ids: Iterable[str]) -> list[str]:
    """The scenarios a model may be evaluated on for transfer: every one it was not trained on."""
    seen = set(trained_on)
    unseen = [s for s in scenario_ids if s not in seen]
    if not unseen:
        raise UserError(f"a model trained on {', '.join(sorted(seen))} has no other scenario to "
                        "transfer to; choose more scenarios")
    return unseen


def comparison_humans(human: pd.DataFrame, split: str, people: ParticipantSplit | None) -> pd.DataFrame:
    """The human answers a comparison of `split` uses: in-scenario, only the
    participants `people` held out of training; transfer and base, everyone.
    people None: the models were trained on none of these people (e.g. an
    openai/ft: model from elsewhere), so everyone is fair in every split."""
    if split not in SPLITS:
        raise UserError(f"unknown split '{split}'; use one of {', '.join(SPLITS)}")
    if split == "in-scenario" and people is not None:
        return people.evaluation_rows(human)
    return human


def transfer_plan(models: list[FineTuned], scenario_ids: list[str]) -> dict[str, list[str]]:
    """Model name -> the scenarios of its transfer split."""
    return {m.model: unseen_scenarios(m.trained_on, scenario_ids) for m in models}


@dataclass
class Evaluation:
    rates: pd.DataFrame  # stats.refusal_rates rows + split, kind, trained_on, agent
    stats: list[CallStats] = field(default_factory=list)
    people: ParticipantSplit | None = None  # the participant split the models were trained with

    def held_out(self, human: pd.DataFrame) -> pd.DataFrame:
        """The human answers in-scenario comparisons use (comparison_humans)."""
        return comparison_humans(human, "in-scenario", self.people)

    @property
    def missing(self) -> int:
        """Answers not in the cache and not made (a run without make_calls)."""
        return sum(s.missing for s in self.stats)


def _measure(model: str, chosen: list[Scenario], config: dict, make_calls: bool,
             extra: dict, result: Evaluation) -> None:
    run = experiment.run(experiment.RunConfig(models=(model,), **config), chosen, make_calls=make_calls)
    result.stats.append(run.stats)
    rates = stats.refusal_rates(run.responses)
    result.rates = pd.concat([result.rates, rates.assign(**extra)], ignore_index=True)


def evaluate(models: list[FineTuned], scenarios: list[Scenario], *, base_model: str | None,
             splits: Iterable[str] = ("in-scenario", "transfer"), make_calls: bool = True,
             **config) -> Evaluation:
    """Measure each fine-tuned model in the chosen splits, and the base model on
    every scenario (if given). config: experiment.RunConfig fields (mode,
    samples, temperature, base_url, ...). All calls go through the cache."""
    splits = tuple(splits)
    unknown = [s for s in splits if s not in SPLITS[:2]]
    if unknown:
        raise UserError(f"unknown split '{unknown[0]}'; use in-scenario or transfer")
    by_id = {s.id: s for s in scenarios}
    titles = {s.id: s.title for s in scenarios}
    splits_used = {m.people for m in models}
    if len(splits_used) > 1:
        raise UserError("these models were trained with different participant splits; evaluate each split's "
                        "models on its own, so every in-scenario comparison has one held-out group")
    result = Evaluation(pd.DataFrame(), people=next(iter(splits_used), None))
    for m in models:
        missing = [s for s in m.trained_on if s not in by_id]
        if missing:
            raise UserError(f"{m.model} was trained on scenario '{missing[0]}', which is not in the scenario list")
        ids = {"in-scenario": list(m.trained_on),
               "transfer": unseen_scenarios(m.trained_on, by_id) if "transfer" in splits else []}
        extra = {"kind": m.kind, "trained_on": ",".join(m.trained_on), "agent": m.label(titles), "group": m.group}
        for split in splits:
            _measure(m.model, [by_id[s] for s in ids[split]], config, make_calls, {**extra, "split": split}, result)
    if base_model is not None:
        _measure(base_model, scenarios, config, make_calls,
                 {"kind": "base", "trained_on": "", "agent": f"{base_model} (base)",
                  "group": f"{base_model} (base)", "split": "base"}, result)
    return result


def _mad(rows: pd.DataFrame, human: pd.DataFrame) -> float:
    merged = rows.merge(stats.human_counts(human), on=["scenario", "level"])
    diffs = (merged["refusal_rate"] - merged["human_rate"]).abs().dropna()
    return float(diffs.mean()) if len(diffs) else float("nan")


def gap_table(rates: pd.DataFrame, human: pd.DataFrame, people: ParticipantSplit | None = None) -> pd.DataFrame:
    """Per model and split: buckets, mean |model - human|, the base model's on the
    same buckets (against the same people), and (transfer split) the level
    permutation test. people: the split the models were trained with
    (Evaluation.people); in-scenario rows are compared with its held-out
    participants only (comparison_humans), `compared_with` says how many."""
    measured = rates[(rates["n"] > 0) & (rates["level"] >= 1)]  # the controls (level 0) have no human side
    base = measured[measured["split"] == "base"]
    rows = []
    for (agent, split), part in measured.groupby(["agent", "split"], sort=False):
        humans = comparison_humans(human, split, people)
        row = {"agent": agent, "split": split, "kind": part["kind"].iloc[0],
               "trained_on": part["trained_on"].iloc[0], "scenarios": part["scenario"].nunique(),
               "buckets": len(part), "compared_with": _who(humans, human, split, people),
               "mean_abs_diff": _mad(part, humans)}
        same = base.merge(part[["scenario", "level"]], on=["scenario", "level"])
        row["base_mean_abs_diff"] = _mad(same, humans) if len(same) else np.nan
        if split == "transfer":
            try:
                test = stats.level_permutation_test(part, human)
                row.update(permutation_p=test.p_value, permutations=test.permutations,
                           observed_distance=test.observed)
            except ValueError:  # no scenario with every level measured
                row.update(permutation_p=np.nan, permutations=0, observed_distance=np.nan)
        rows.append(row)
    columns = ["agent", "split", "kind", "trained_on", "scenarios", "buckets", "compared_with", "mean_abs_diff",
               "base_mean_abs_diff", "permutation_p", "permutations", "observed_distance"]
    return pd.DataFrame(rows).reindex(columns=columns)


def _who(humans: pd.DataFrame, human: pd.DataFrame, split: str, people: ParticipantSplit | None) -> str:
    """Whom a gap_table row compares with, in words, e.g. '151 held-out participants'."""
    if "participant_id" not in humans.columns:
        return "held-out participants" if split == "in-scenario" and people is not None else "all participants"
    count = humans["participant_id"].nunique()
    held = split == "in-scenario" and people is not None
    return f"{count} held-out participants" if held else f"all {count} participants"


def overall_gaps(table: pd.DataFrame, kind: str = "explanations") -> pd.DataFrame:
    """In-scenario vs transfer vs base: the mean over models of each model's gap
    (how the paper averages its five models: 15.9% vs 24.5% vs 42.7%)."""
    rows = []
    for split in SPLITS:
        part = table[(table["split"] == split) & ((table["kind"] == kind) | (split == "base"))]
        if len(part):
            rows.append({"split": split, "models": len(part), "buckets": int(part["buckets"].sum()),
                         "mean_abs_diff": float(part["mean_abs_diff"].mean())})
    return pd.DataFrame(rows, columns=["split", "models", "buckets", "mean_abs_diff"])


def figure_rates(rates: pd.DataFrame, splits: Iterable[str], by: str = "agent") -> pd.DataFrame:
    """Rows of the given splits, each model named by its `agent` label (one per
    model) or its `group` (one per kind), ready for plots.figure3 / figure4
    (which name agents by model and variant)."""
    part = rates[rates["split"].isin(list(splits)) & (rates["n"] > 0)]
    return part.assign(model=part[by], variant="baseline")


def level_drop(rates: pd.DataFrame, human: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """How much each model's refusal rate falls from the most to the least severe
    level, averaged over scenarios, beside the humans' fall on the same scenarios:
    a model can move towards the human average and still ignore the level."""
    part = rates[(rates["n"] > 0) & (rates["level"] >= 1)]  # from level 1, not the control (0)
    humans = stats.human_counts(human)
    rows = []
    for name, group in part.groupby(by, sort=False):
        drops, human_drops = [], []
        for scenario, one in group.groupby("scenario"):
            one = one.sort_values("level")
            h = humans[humans["scenario"] == scenario].set_index("level")["human_rate"]
            first, last = one["level"].iloc[0], one["level"].iloc[-1]
            if len(one) > 1 and first in h and last in h:
                drops.append(one["refusal_rate"].iloc[0] - one["refusal_rate"].iloc[-1])
                human_drops.append(h[first] - h[last])
        rows.append({by: name, "scenarios": len(drops), "model_drop": np.mean(drops) if drops else np.nan,
                     "human_drop": np.mean(human_drops) if human_drops else np.nan})
    return pd.DataFrame(rows)


# The paper's Figure 3 figures (GPT-4o, its own participants), by our kind names.
PAPER_VARIANTS = {"base": ("baseline_sft_set", "baseline"), "labels": ("sft_labels", "sft_labels"),
                  "explanations": ("sft_explanations", "sft_explanations")}


def kind_summary(rates: pd.DataFrame, human: pd.DataFrame, people: ParticipantSplit | None = None) -> pd.DataFrame:
    """Base vs labels vs labels-50 vs explanations (in-scenario): buckets,
    significantly different buckets (unadjusted 5%, as in the paper; Holm and BH
    beside) and the mean gap, one row per kind of model, pooled over scenarios as
    the paper pools them. Every kind, the base model too, is compared with the
    same people: the held-out participants of `people` (comparison_humans)."""
    frame = figure_rates(rates, ["in-scenario", "base"], by="group")
    comparison = stats.compare(frame, comparison_humans(human, "in-scenario", people))
    summary = stats.summarize(comparison)
    kinds = frame.drop_duplicates("model").set_index("model")["kind"]
    return summary.assign(kind=summary["model"].map(kinds)).drop(columns="variant")


def beside_paper(summary: pd.DataFrame, human_label: str) -> pd.DataFrame:
    """kind_summary next to the paper-reported GPT-4o counts and gaps (Sec. 2.4)."""
    from helpers.exceptions import reference

    table = reference.paper_reported()
    table = table[table["agent"] == "gpt-4o"]
    rows = []
    for r in summary.itertuples():
        sig_variant, mad_variant = PAPER_VARIANTS.get(r.kind, ("", ""))  # labels-50 is not in the paper
        sig = table[(table["metric"] == "significant_buckets") & (table["variant"] == sig_variant)]
        mad = table[(table["metric"] == "mean_abs_diff") & (table["variant"] == mad_variant)]
        rows.append({"model": r.model, f"significant (vs {human_label})": f"{r.significant}/{r.buckets}",
                     f"mean |gap| (vs {human_label})": r.mean_abs_diff,
                     "paper-reported GPT-4o: significant": (f"{sig['value'].iloc[0]:.0f}/{sig['denominator'].iloc[0]:.0f}"
                                                            if len(sig) else ""),
                     "paper-reported GPT-4o: mean |gap|": float(mad["value"].iloc[0]) if len(mad) else np.nan})
    return pd.DataFrame(rows)
