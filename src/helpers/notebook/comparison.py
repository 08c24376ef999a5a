"""The human side of a notebook's comparison: which human data it uses (a file,
the survey's export, or the illustrative set), the note that says so, and the
lines that sum up a model-vs-human test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import humans
from helpers.exceptions import Scenario, gaps, stats, trends


@dataclass(frozen=True)
class HumanSide:
    """Human responses (one row per participant x scenario) and their label,
    e.g. "human (illustrative data)" or "human (human_responses.csv; excl. attention)".

    exclusions: what the --exclude filter dropped (helpers.humans.quality's note),
    said in the data note; the label names the rules, so every figure's human line
    and every table's human_data column carries the filter."""

    data: pd.DataFrame
    label: str
    exclusions: str = ""

    def __post_init__(self) -> None:
        # By content, not by the label: a mix of generated and real rows is refused
        # here too, and generated rows under a real-looking label get said to be so.
        if humans.is_illustrative(self.data, self.label) and "illustrative" not in self.label:
            object.__setattr__(self, "label", f"{self.label} (illustrative data)")

    @classmethod
    def load(cls, path: str | Path | None, scenarios: list[Scenario], exclude=()) -> HumanSide:
        """--human FILE, else data/human_responses.csv, else the illustrative set,
        without the answers the --exclude rules flag (the analysis copy only)."""
        return cls(*humans.filtered_human(path, scenarios, exclude))

    @property
    def illustrative(self) -> bool:
        """Generated answers, not people's: by the rows' marks (study, participant ids)
        or the label (__post_init__ keeps the two in step)."""
        return "illustrative" in self.label

    def only(self, participants) -> HumanSide:
        """The same data restricted to these participant ids (e.g. the held-out ones)."""
        return HumanSide(self.data[self.data["participant_id"].isin(set(participants))], self.label, self.exclusions)

    def note(self, *, trained_on: bool = False):
        """The callout naming the data; a warning when they are not real people.
        trained_on: the notebook fine-tunes on them too (04, 05)."""
        import marimo as mo

        text = humans.data_note(self.data, self.label, trained_on=trained_on, exclusions=self.exclusions)
        return mo.callout(mo.md(text), kind="warn" if self.illustrative else "info")

    def rates(self) -> pd.DataFrame:
        """Refusal rate per (scenario, level): the human line of the figures."""
        return humans.bucket_rates(self.data)

    def figure_args(self) -> dict:
        """The human line's arguments of every plots.figureN: rates and label."""
        return {"human": self.rates(), "human_label": self.label}

    def title(self, text: str, tag: str = " (humans: illustrative data)") -> str:
        """A figure title that says when its human line is illustrative."""
        return text + (tag if self.illustrative else "")

    def compare(self, measured: pd.DataFrame) -> pd.DataFrame:
        """stats.compare of measured buckets with these people, labelled with them."""
        return stats.compare(measured, self.data).assign(human_data=self.label)

    def describe(self) -> str:
        return humans.describe(self.data)

    def references(self, measured: pd.DataFrame, permutations: dict | None = None) -> pd.DataFrame:
        """reference_table of measured buckets against these people."""
        return reference_table(measured, self.data, permutations)


def summary_lines(summary: pd.DataFrame, human_label: str, permutations: dict | None = None,
                  validity=None) -> str:
    """One markdown line per (model, variant) of stats.summarize: the mean absolute
    difference and the significant buckets by the paper's z-test (unadjusted, Holm,
    Benjamini-Hochberg) and by the exact test, which the stricter/laxer counts follow.

    permutations: level_permutation_test results by (model, variant), added where given.
    validity: the run's notebook.validity.Validity; a not-interpretable agent's line
    says so first.
    """
    lines = []
    for r in summary.itertuples():
        tag = validity.tag(r.model, r.variant) if validity is not None else ""
        line = (f"- **{r.model}**, `{r.variant}`{tag}: mean absolute difference from {human_label} "
                f"**{r.mean_abs_diff:.1%}** over {r.buckets} buckets; significantly different in "
                f"**{r.significant} of {r.buckets}** by the paper's z-test (Holm {r.significant_holm}, "
                f"Benjamini-Hochberg {r.significant_fdr_bh}) and **{r.significant_exact} of {r.buckets}** "
                f"by the exact test ({r.model_stricter} stricter, {r.model_laxer} laxer)")
        untested = r.buckets - getattr(r, "tested", r.buckets)
        if untested:
            line += f"; {untested} of the {r.buckets} not tested (counted as not significant)"
        if permutations is not None:
            test = permutations.get((r.model, r.variant))
            line += (f"; level-permutation test p = {test.p_value:.3f} ({test.permutations} permutations)"
                     if test is not None else "; the level-permutation test needs every level of an act")
        lines.append(line)
    return "\n".join(lines) or "- no bucket has both a model rate and a human rate yet"


# Said wherever a gap or a permutation test is shown: what each number can and cannot show.
READING = (
    "How to read these: the **z-test** is the paper's (pooled SE, unadjusted at 5%) and stays its "
    "headline count; the **exact test** beside it (binomial where the model's rate is a probability, "
    "Fisher where both sides are samples) is the one the stricter/laxer counts use, because the z-test "
    "finds differences that are not there near 0 and 1 with about 50 people per bucket. "
    "A mean absolute gap means little alone: the **noise floor** is the gap a model with exactly the "
    "people's rates would still show against this sample of people, and a **flat** model refusing at "
    "the people's mean rate everywhere is the gap of a model that ignores the scenario and the level; "
    "the 95% interval resamples participants (and the model's answers when sampled). "
    "The **level-permutation test** asks only whether the model's rates follow the people's order of "
    "levels: it tests ordering, not closeness, so a model that barely moves can pass it. The "
    "**Spearman** correlation and the **slope** of model rate on human rate (1 = moves with people, "
    "0 = ignores them), with scenario-bootstrap intervals, say how far it follows them."
)


def _interval(estimate, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(estimate.value)} [{fmt.format(estimate.low)}, {fmt.format(estimate.high)}]"


def reference_table(measured: pd.DataFrame, human: pd.DataFrame, permutations: dict | None = None) -> pd.DataFrame:
    """Per agent (model, variant): the mean absolute gap with its bootstrap interval,
    noise floor and flat baseline (gaps.gap_table), how the agent's rates move with the
    people's (trends.level_agreement: Spearman and slope with intervals), and the
    level-permutation p where given. Agents with no bucket matched are left out."""
    table = gaps.gap_table(measured, human)
    rows = []
    for r in table.itertuples():
        part = measured[(measured["model"] == r.model) & (measured["variant"] == r.variant)]
        try:
            follow = trends.level_agreement(part, human)
            spearman, slope = _interval(follow.spearman), _interval(follow.slope)
        except ValueError:  # too few buckets for a trend
            spearman = slope = "n/a"
        test = (permutations or {}).get((r.model, r.variant))
        rows.append({"model": r.model, "variant": r.variant, "buckets": r.buckets,
                     "mean |gap|": f"{r.observed:.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]",
                     "noise floor": f"{r.noise_floor:.1%}", "flat model": f"{r.flat:.1%} (at {r.flat_rate:.1%})",
                     "Spearman vs people": spearman, "slope vs people": slope,
                     "permutation p": "" if test is None else f"{test.p_value:.3f}"})
    return pd.DataFrame(rows)


def permutation_tests(measured: pd.DataFrame, human: pd.DataFrame) -> dict:
    """stats.level_permutation_test per agent (model, variant), for the agents with a
    scenario measured at every level (the test needs whole curves)."""
    tests = {}
    for agent, part in measured.groupby(["model", "variant"], sort=False):
        try:
            tests[agent] = stats.level_permutation_test(part, human)
        except ValueError:  # no scenario measured at all its levels yet
            pass
    return tests
