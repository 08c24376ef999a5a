"""The headline card: the last cell of every report notebook, saying in a few lines
what the notebook found, whether it can be read at all (the validity verdict), which
models answered and which data stood on the human side.

It is shown as an "In short" box and carries the same facts as JSON in a
`data-headline` attribute: `make report` reads that attribute to put the headline at
the top of the static report, in its footer and on the front page
(reports/index.html), so the numbers there are the ones the notebook computed, never
re-derived or typed in. Fields: see docs/reports.md.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

# The reader (helpers.reports.headline) owns the format's names; the card writes them.
from helpers.reports.headline import CLASS, VERDICTS as STATUSES

VERSION = 1
# What a number is: measured here, quoted from the paper, or computed against
# generated (illustrative or synthetic) data. Every figure on the card says which.
KINDS = ("measured", "paper-reported", "illustrative", "synthetic")


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    kind: str = "measured"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a headline figure's kind is one of {', '.join(KINDS)}, not {self.kind!r}")


@dataclass(frozen=True)
class Source:
    what: str
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"a headline verdict is one of {', '.join(STATUSES)}, not {self.status!r}")


def verdict_of(validity) -> Verdict:
    """The run's verdict from its validity cards (notebook.validity.Validity): one
    status for all agents, the failing agents' reasons as the detail."""
    cards = list(validity.cards)
    if not cards:
        return Verdict("not applicable", "nothing measured yet")
    good = [c for c in cards if c.interpretable]
    bad = [c for c in cards if not c.interpretable]
    status = "interpretable" if not bad else "not interpretable" if not good else "mixed"
    detail = "; ".join(c.line() for c in bad) if bad else f"all {len(cards)} agents pass every check"
    return Verdict(status, detail)


def human_source(human) -> Source:
    """The human side of a comparison (notebook.comparison.HumanSide) as a source."""
    if human.illustrative:
        return Source("human data", "illustrative", human.describe())
    return Source("human data", "human", f"{human.label}: {human.describe()}")


PAPER = Source("paper figures", "paper-reported", "quoted from the paper's text and figures, not measured here")


def gap_figures(summary: pd.DataFrame, human_label: str, *, illustrative: bool, name: str = "model") -> list[Figure]:
    """Per agent of stats.summarize (or finetune's kind_summary): the mean absolute gap
    from people and the buckets the paper's z-test finds different. Against generated
    people the figure is illustrative, whatever the model side."""
    kind = "illustrative" if illustrative else "measured"
    figures = []
    for r in summary.itertuples():
        agent = str(getattr(r, name))
        variant = getattr(r, "variant", "")
        who = f"{agent}, {variant}" if variant and variant != "baseline" else agent
        figures.append(Figure(f"{who}: mean absolute gap from {human_label}",
                              f"{r.mean_abs_diff:.1%}; {r.significant} of {r.buckets} buckets differ (z-test)", kind))
    return figures


def card(section: str, title: str, figures: Iterable[Figure], *, verdict: Verdict | None = None,
         models: Iterable[str] = (), sources: Iterable[Source] = (), figure: int | None = None):
    """The "In short" box with its machine-readable copy (see the module's doc).
    figure: which of the notebook's figures (1-based) the front page shows; the first
    when None or when there are fewer."""
    import marimo as mo

    figures, models, sources = list(figures), [str(m) for m in models], list(sources)
    verdict = verdict or Verdict("not applicable")
    data = {"version": VERSION, "section": section, "title": title, "verdict": asdict(verdict),
            "figures": [asdict(f) for f in figures], "models": models, "sources": [asdict(s) for s in sources]}
    if figure is not None:
        data["figure"] = figure
    e = html.escape
    items = "".join(f"<li>{e(f.label)}: <strong>{e(f.value)}</strong> <em>({e(f.kind)})</em></li>" for f in figures)
    rows = [f"<strong>Validity:</strong> {e(verdict.status)}" + (f" ({e(verdict.detail)})" if verdict.detail else ""),
            "<strong>Models:</strong> " + (e(", ".join(models)) or "none"),
            "<strong>Data:</strong> " + ("; ".join(f"{e(s.what)}: {e(s.kind)}" + (f" ({e(s.detail)})" if s.detail else "")
                                                  for s in sources) or "none")]
    body = (f"<h2>In short: {e(section)} {e(title)}</h2><ul>{items or '<li>no figures yet</li>'}</ul>"
            + "".join(f"<p>{r}</p>" for r in rows))
    # quote=True escapes both quote kinds, so the JSON survives any attribute quoting.
    attribute = html.escape(json.dumps(data, ensure_ascii=False), quote=True)
    return mo.Html(f'<div class="{CLASS}" data-headline="{attribute}">{body}</div>')


def comparison_card(section: str, title: str, run, human, validity):
    """Notebooks 01-03: a run's agents against people, under their validity verdict."""
    from helpers.exceptions import stats

    measured = run.measured
    figures = (gap_figures(stats.summarize(human.compare(measured)), human.label, illustrative=human.illustrative)
               if len(measured) else [])
    return card(section, title, figures, verdict=verdict_of(validity), models=run.config.models,
                sources=[human_source(human), PAPER])


def _agents(evaluation) -> list[str]:
    rates = evaluation.rates
    return list(dict.fromkeys(rates.loc[rates["n"] > 0, "agent"])) if len(rates) else []


def finetune_card(section: str, title: str, summary: pd.DataFrame, evaluation, human, validity):
    """Notebook 04: each kind of training data (base, labels, explanations) against the
    held-out people."""
    figures = gap_figures(summary, f"held-out {human.label}", illustrative=human.illustrative)
    # The training losses come first; the front page shows the refusal curves (Figure 3).
    return card(section, title, figures, verdict=verdict_of(validity), models=_agents(evaluation),
                sources=[human_source(human), PAPER], figure=2)


def transfer_card(section: str, title: str, overall: pd.DataFrame, evaluation, human, validity):
    """Notebook 05: the mean gap on trained, unseen and base scenarios."""
    kind = "illustrative" if human.illustrative else "measured"
    figures = [Figure(f"mean absolute gap from {human.label}, {r.split} ({r.models} models, {r.buckets} buckets)",
                      f"{r.mean_abs_diff:.1%}", kind) for r in overall.itertuples()]
    return card(section, title, figures, verdict=verdict_of(validity), models=_agents(evaluation),
                sources=[human_source(human), PAPER])


def moralexceptqa_card(summary: pd.DataFrame, run, data, validity):
    """Notebook 06: the model against MoralExceptQA's published human shares."""
    figures = gap_figures(summary, "MoralExceptQA's humans", illustrative=False)
    return card("External", "MoralExceptQA", figures, verdict=verdict_of(validity), models=run.config.models,
                sources=[Source("human data", "human", f"MoralExceptQA's published shares, read from {data.path}")])


def _follows_payoffs(fits: dict) -> Verdict:
    """The games' validity: an agent whose valid answers fit no better than choosing
    at random (likelihood-ratio p >= 0.05) has no κ to read."""
    import math

    judged = {agent: f for agent, f in fits.items() if f.n and not math.isnan(f.p_uniform)}
    if not judged:
        return Verdict("not interpretable", "no valid answers to fit a κ to")
    random = [agent for agent, f in judged.items() if f.p_uniform >= 0.05]
    unjudged = [agent for agent in fits if agent not in judged]
    status = "interpretable" if not random and not unjudged else (
        "not interpretable" if len(random) + len(unjudged) == len(fits) else "mixed")
    parts = [f"{agent}: answers fit no better than random (p = {judged[agent].p_uniform:.2f})" for agent in random]
    parts += [f"{agent}: no valid answers" for agent in unjudged]
    return Verdict(status, "; ".join(parts) or "every agent's answers follow the payoffs (p vs random < 0.05)")


def _kappa_figures(fits: dict, what: str) -> list[Figure]:
    return [Figure(f"implied κ of {agent} ({what}, {f.n} valid answers)",
                   f"{f.kappa:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]" if f.n else "no valid answers")
            for agent, f in fits.items()]


SYNTHETIC = Source("training data", "synthetic", "optimal choices of homo economicus (κ = 0) and homo moralis, "
                                                  "generated from games.toml, not human answers")
SIBLING = Source("benchmarks", "synthetic", "the sibling study's theory (homo economicus and homo moralis), "
                                            "computed here; the study's own numbers are not available")


def games_card(fits: dict, models: Iterable[str], target_kappa: float, human=None):
    """Notebook 07: the κ each agent's choices imply, beside the κ it was trained toward
    and, given a human arm (notebook.econ_humans.HumanArm), the people's: "illustrative"
    for generated choices, "measured" for real people's. The verdict judges the agents."""
    figures = _kappa_figures(fits, "one-shot games")
    figures.append(Figure("κ of the synthetic fine-tuning data", f"{target_kappa:g} (and 0)", "synthetic"))
    sources = [SIBLING, SYNTHETIC]
    if human is not None:
        f, data = human.fit, human.data
        people = data.used["participant_id"].nunique()
        value = f"{f.kappa:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]" if f.n else "no valid choices"
        figures.append(Figure(f"implied κ of {human.label} ({f.n} choices of {people} people; interval over "
                              "participants)", value, data.kind))
        sources.append(Source("human game choices", "illustrative" if data.illustrative else "human",
                              data.describe()))
    return card("Sibling study", "Economic preferences in games", figures, verdict=_follows_payoffs(fits),
                models=models, sources=sources)


def applications_card(fits: dict, pricing: pd.DataFrame, models: Iterable[str]):
    """Notebook 08: the dilemmas' implied κ and how collusive the agents' prices are."""
    figures = _kappa_figures(fits, "dilemmas")
    figures += [Figure(f"pricing profit gain of {r.pair} (0 competitive, 1 collusive; {r.valid_rounds} valid rounds)",
                       "not played" if pd.isna(r.profit_gain) else f"{r.profit_gain:.2f}")
                for r in pricing.itertuples()]
    return card("Sibling study", "Moral applications: dilemmas and pricing", figures, verdict=_follows_payoffs(fits),
                models=models, sources=[SIBLING, SYNTHETIC])
