"""The tidy table every analysis starts from: one response row per answer
(single-turn buckets) or per chain (multi-turn variants)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.exceptions.design import RunConfig
from helpers.exceptions.prompting import action_of, parse_answer

RESPONSE_COLUMNS = [
    "model", "variant", "scenario", "level", "value", "mode", "sample", "status",
    "decision", "p_refusal", "yes_no_mass", "text", "prompt_tokens", "completion_tokens",
    "cost_usd", "reasoning", "reasoning_tokens",
]


def _base(model: str, variant: str, scenario, level: int, mode: str) -> dict[str, Any]:
    return {"model": model, "variant": variant, "scenario": scenario.id, "level": level,
            "value": scenario.value(level), "mode": mode}  # level 0: the control


def _exact(result: dict[str, Any]) -> dict[str, float]:
    mass = result["p_yes"] + result["p_no"]
    return {"p_refusal": result["p_no"] / mass if mass > 0 else float("nan"), "yes_no_mass": mass}


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
                row.update(_exact(result))
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
                row.update(_exact(final))
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
