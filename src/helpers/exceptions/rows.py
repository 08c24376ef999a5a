"""The tidy table every analysis starts from: one response row per answer
(single-turn buckets) or per chain (multi-turn variants)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.exceptions.design import RunConfig
from helpers.exceptions.prompting import action_of, parse_answer

# Exact-mode columns (see exact_reading): p_refusal and its interval p_refusal_low ..
# p_refusal_high, `bound` (why it is an interval), the likelier answer top_decision
# with p_refusal_top (1 if no, 0 if yes, 0.5 if neither is likelier), yes_no_mass.
RESPONSE_COLUMNS = [
    "model", "variant", "scenario", "level", "value", "mode", "sample", "status",
    "decision", "p_refusal", "p_refusal_low", "p_refusal_high", "bound", "top_decision", "p_refusal_top",
    "yes_no_mass", "text", "prompt_tokens", "completion_tokens",
    "cost_usd", "reasoning", "reasoning_tokens",
]
BOUNDS = {
    "none": "both words read (or the whole vocabulary): the refusal probability is a point",
    "top-k": "a word outside the endpoint's top-k logprobs: at most as likely as the k-th token",
    "no k-th value": "a word outside the top-k logprobs of an answer cached before the k-th value was "
                     "stored: bounded only by the probability the other word leaves",
}


def _base(model: str, variant: str, scenario, level: int, mode: str) -> dict[str, Any]:
    return {"model": model, "variant": variant, "scenario": scenario.id, "level": level,
            "value": scenario.value(level), "mode": mode}  # level 0: the control


def exact_reading(p_yes: float, p_no: float, p_unlisted: float | None) -> dict[str, Any]:
    """An exact-mode answer as a row: two estimands and the interval of the first.

    p_yes, p_no: the first token's probabilities as read (0 for a word not read).
    p_unlisted: the most a word that was not read can have (0: the whole vocabulary
    was read; the k-th top logprob for an endpoint; None: not known, i.e. an answer
    cached before it was stored, when only 1 - the other word bounds it).

    - p_refusal_low .. p_refusal_high: P(no) / (P(yes) + P(no)) over every value the
      missing word may take in [0, bound]. When both words were read it is a point.
    - p_refusal: the point if there is one; otherwise the interval's midpoint, so
      that a bound never reads as certainty (a yes outside the top 20 is not a
      refusal probability of exactly 1). `bound` says which case a row is (BOUNDS).
    - top_decision / p_refusal_top: the likelier of yes and no (what temperature 0
      answers when its answer starts with yes or no; the paper's setting for GPT-4o
      and 4o-mini): "no" -> 1, "yes" -> 0; "tie" -> 0.5 when neither is likelier or a
      bound leaves it open (counted as half a refusal, as a coin would break the tie).
    - yes_no_mass: P(yes) + P(no) as read (a lower bound where a word is missing).
    Nothing read of either word (mass 0): no reading at all, every value NaN; such
    rows are not counted in a bucket's n (stats._exact_bucket).
    """
    nan = float("nan")
    mass = p_yes + p_no
    if not mass > 0:
        return {"p_refusal": nan, "p_refusal_low": nan, "p_refusal_high": nan, "bound": "none",
                "top_decision": None, "p_refusal_top": nan, "yes_no_mass": mass}
    # A word not read lies in [0, cap]; a word read is a point.
    def span(p: float, other: float) -> tuple[float, float]:
        if p > 0 or p_unlisted == 0:
            return p, p
        return 0.0, (1.0 - other) if p_unlisted is None else p_unlisted
    yes_low, yes_high = span(p_yes, p_no)
    no_low, no_high = span(p_no, p_yes)
    low = no_low / (no_low + yes_high)  # fewest refusals: least no, most yes
    high = no_high / (no_high + yes_low)
    point = low == high
    bound = "none" if point else ("no k-th value" if p_unlisted is None else "top-k")
    if no_low > yes_high:
        top = "no"
    elif yes_low > no_high:
        top = "yes"
    else:
        top = "tie"
    return {"p_refusal": low if point else (low + high) / 2, "p_refusal_low": low, "p_refusal_high": high,
            "bound": bound, "top_decision": top, "p_refusal_top": {"no": 1.0, "yes": 0.0, "tie": 0.5}[top],
            "yes_no_mass": mass}


def _exact(result: dict[str, Any], whole_vocabulary: bool) -> dict[str, Any]:
    """A stored yes_no result as row fields. Answers cached before `p_unlisted` was
    stored still read: the offline model's read every token (no bound); an
    endpoint's left an unknown k-th value (see exact_reading)."""
    unlisted = result.get("p_unlisted")
    if unlisted is None and whole_vocabulary:
        unlisted = 0.0
    return exact_reading(result["p_yes"], result["p_no"], unlisted)


def _whole_vocabulary(spec) -> bool:
    """The offline model reads its whole next-token distribution; an endpoint lists its top k."""
    return spec.provider == "local"


def bucket_rows(bucket, mode: str, found: dict, failed) -> list[dict[str, Any]]:
    """One row per answer of a single-turn bucket; `failed(key)` tells a failed call
    from one not made."""
    base = _base(bucket.model.spec.name, bucket.variant, bucket.scenario, bucket.level, mode)
    action = action_of(bucket.scenario.render(bucket.level))
    decisions: dict[str, str] = {}  # answers repeat (at temperature 0, all of them): parse each text once
    rows = []
    for unit in bucket.units:
        result = found.get(unit.key)
        row = {**base, "sample": unit.sample}
        if result is None:
            row["status"] = "failed" if failed(unit.key) else "not run"
        else:
            row.update(status="ok", prompt_tokens=result["prompt_tokens"],
                       completion_tokens=result["completion_tokens"], cost_usd=result.get("cost_usd", 0.0),
                       reasoning_tokens=result.get("reasoning_tokens") or 0.0)
            if unit.kind == "yes_no":
                row.update(_exact(result, _whole_vocabulary(bucket.model.spec)))
            else:
                text = result["text"]
                if text not in decisions:
                    decisions[text] = parse_answer(text, action)
                row.update(decision=decisions[text], text=text)
        rows.append(row)
    return rows


def chain_rows(chains, mode: str) -> list[dict[str, Any]]:
    """One row per chain. Tokens and cost add up every turn; `reasoning` holds the
    answers before the decision."""
    out = []
    for chain in chains:
        row = {**_base(chain.model.spec.name, chain.variant.name, chain.scenario, chain.level, mode),
               "sample": chain.sample, "status": chain.status, "reasoning": chain.answers}
        if chain.status == "ok":
            costs = [r.get("cost_usd", 0.0) for r in chain.results]
            row.update(prompt_tokens=sum(r["prompt_tokens"] for r in chain.results),
                       completion_tokens=sum(r["completion_tokens"] for r in chain.results),
                       reasoning_tokens=sum(r.get("reasoning_tokens") or 0.0 for r in chain.results),
                       cost_usd=None if any(c is None for c in costs) else sum(costs))
            final = chain.results[-1]
            if chain.final_kind == "yes_no":
                row.update(_exact(final, _whole_vocabulary(chain.model.spec)))
            else:
                row.update(decision=parse_answer(final["text"], action_of(chain.prompt)), text=final["text"])
        out.append(row)
    return out


def in_run_order(rows: list[dict[str, Any]], config: RunConfig) -> pd.DataFrame:
    """Rows by model, then variant, in the order the run names them (single-turn
    and multi-turn variants are measured apart); stable within each."""
    responses = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    if responses.empty:
        return responses
    rank = pd.DataFrame({"model": responses["model"].map({m: i for i, m in enumerate(config.models)}),
                         "variant": responses["variant"].map({v: i for i, v in enumerate(config.variants)})})
    order = rank.sort_values(["model", "variant"], kind="stable").index
    return responses.loc[order].reset_index(drop=True)
