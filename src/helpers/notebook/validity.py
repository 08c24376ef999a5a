"""The validity card of notebooks 01-05: per agent (model x variant), whether its
refusal rates can be read as decisions about exceptions at all, shown right after
the run and before any comparison with people (helpers.exceptions.validity).

`assess(buckets)` returns a Validity that later cells use: `.view()` the cards,
`.table()` one row per agent, `.verdict(model, variant)` and `.interpretable(...)`
to put a comparison under its agent's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.exceptions import reference, validity
from helpers.exceptions.validity import FAIL, PASS, Card, Thresholds
from helpers.notebook.tables import table as ui_table

_MARKS = {PASS: "pass", FAIL: "**fail**"}


@dataclass(frozen=True)
class Validity:
    """The cards of a run's agents and the thresholds they were judged by."""

    cards: list[Card]
    thresholds: Thresholds
    source: str  # "defaults" or the validity.toml it read

    def table(self) -> pd.DataFrame:
        return validity.table(self.cards)

    def _card(self, model: str, variant: str) -> Card | None:
        return next((c for c in self.cards if (c.model, c.variant) == (model, variant)), None)

    def verdict(self, model: str, variant: str = "baseline") -> str:
        """The agent's verdict; "not measured" for an agent without a card."""
        found = self._card(model, variant)
        return found.verdict if found else "not measured"

    def interpretable(self, model: str, variant: str = "baseline") -> bool:
        found = self._card(model, variant)
        return bool(found and found.interpretable)

    def tag(self, model: str, variant: str) -> str:
        """" (validity: not interpretable: failed ...)" for a summary line; "" for an
        interpretable agent or one without a card."""
        found = self._card(model, variant)
        if found is None or found.interpretable:
            return ""
        return f" (validity: **{found.verdict}**" + (f": {found.reasons()})" if found.reasons() else ")")

    @property
    def comparable(self) -> bool:
        """Every agent of the run is interpretable: only then may the paper's figures
        stand beside its comparison with people."""
        return bool(self.cards) and all(c.interpretable for c in self.cards)

    def paper_note(self) -> str:
        """What a comparison cell says instead of quoting the paper beside a run with a
        not-interpretable agent ("" when every agent is interpretable)."""
        if self.comparable:
            return ""
        failing = [c for c in self.cards if not c.interpretable] or self.cards
        names = ", ".join(f"**{c.model}** (`{c.variant}`)" for c in failing) or "no agent measured yet"
        verb = "is" if len(failing) == 1 else "are"
        return (f"**Under the validity verdict:** {names} {verb} **not interpretable** (see the validity card), "
                "so the comparison with people above is computed for inspection only. The paper's figures "
                "are shown apart below, not as a benchmark for these numbers.")

    def beside_paper(self, table: pd.DataFrame):
        """A table of this run's rows and the paper's: as one table when every agent is
        interpretable; else this run's rows, then the paper's apart under paper_note.
        The paper's part is its rows whose `source` is paper-reported, or its columns
        named paper-reported (finetune.evaluation.beside_paper)."""
        import marimo as mo

        def shown(frame: pd.DataFrame):
            return ui_table(frame.round(3), selection=None, page_size=max(len(frame), 1))

        if self.comparable:
            return shown(table)
        if "source" in table:
            paper_rows = table["source"].astype(str).str.startswith(reference.LABEL)
            ours, paper = table[~paper_rows], table[paper_rows]
        else:
            columns = [c for c in table.columns if str(c).startswith(reference.LABEL)]
            keys = [c for c in ("model", "agent", "kind", "split", "trained_on") if c in table.columns]
            ours, paper = table.drop(columns=columns), table[keys + columns]
        return mo.vstack([shown(ours), mo.callout(mo.md(self.paper_note()), kind="warn"), shown(paper)])

    def lines(self) -> str:
        """Markdown bullets, one verdict per agent, for a comparison cell to quote."""
        return "\n".join(f"- {c.model}, `{c.variant}`: **{c.verdict}**"
                         + (f" ({c.reasons()})" if c.reasons() else "") for c in self.cards)

    def view(self):
        """A callout per agent (danger: a check failed; warn: a check could not be
        run; success: interpretable) and the numbers in one table."""
        import marimo as mo

        if not self.cards:
            return mo.md("## Validity card\n\n_No measured buckets yet: the cards follow the run._")
        intro = mo.md(
            "## Validity card: can these rates be read as decisions about exceptions?\n\n"
            "Measured on this run, before any comparison with people. Each agent must refuse its "
            "**control** (the same situation with no violation, level 0) clearly less than the largest "
            "exception, refuse less as the exception shrinks, and give real yes/no answers. "
            f"Thresholds ({self.source}): {self.thresholds.describe()}. An agent that is "
            "**not interpretable** is still compared with people below, but its numbers are not comparable "
            "with the paper's: a failed check means its rate does not track the rule, an unchecked one "
            "that this run cannot tell.")
        callouts = [mo.callout(mo.md(_card_markdown(c)), kind=_kind(c)) for c in self.cards]
        shown = self.table().round(3)
        return mo.vstack([intro, *callouts, ui_table(shown, selection=None, page_size=max(len(shown), 1))])


def _kind(found: Card) -> str:
    if found.interpretable:
        return "success"
    return "danger" if found.failed else "warn"


def _card_markdown(found: Card) -> str:
    reasons = f": {found.reasons()}" if found.reasons() else ""
    checks = "\n".join(f"- *{c.name}* ({_MARKS.get(c.status, c.status)}): {c.detail}" for c in found.checks)
    return f"**{found.model}, `{found.variant}` ({found.measure}): {found.verdict}**{reasons}\n\n{checks}"


def assess(buckets: pd.DataFrame, thresholds: Thresholds | None = None) -> Validity:
    """Validity cards of a run's measured buckets (stats.refusal_rates rows, n > 0),
    judged by `thresholds` or the workspace's validity.toml (else the defaults)."""
    source = "given"
    if thresholds is None:
        thresholds, source = validity.load_thresholds()
    return Validity(validity.cards(buckets, thresholds), thresholds, source)
