"""Run the design: models x scenarios x levels (x samples), through the cache.

`run` returns one row per response (the tidy table every analysis starts
from) and the call counts. Two ways to measure a bucket:

- `exact`: one forward pass; the refusal probability is P(no) / (P(yes) + P(no))
  over the answer's first token. `yes_no_mass` = P(yes) + P(no) shows how much of
  the model's answer was a yes or a no at all.
- `sample`: n answers at a temperature, each parsed to yes / no / invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from .calls import CachedModel, CallStats, open_cache
from .errors import UserError
from .models import parse_model
from .prompting import build_messages, check_variant, parse_answer
from .scenarios import Scenario

MODES = ("exact", "sample")
RESPONSE_COLUMNS = [
    "model", "variant", "scenario", "level", "value", "mode", "sample", "status",
    "decision", "p_refusal", "yes_no_mass", "text", "prompt_tokens", "completion_tokens",
]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; the CLI and the notebooks both build one."""

    models: tuple[str, ...] = ("local/smollm2-135m-instruct",)
    variant: str = "baseline"
    mode: str = "exact"
    samples: int = 10
    temperature: float = 1.0
    max_tokens: int = 48
    base_url: str | None = None
    levels: tuple[int, ...] | None = None  # None = every level of each scenario

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"unknown mode '{self.mode}'; use one of {', '.join(MODES)}")
        if self.samples < 1:
            raise UserError(f"--samples must be at least 1, got {self.samples}")
        if not 0 <= self.temperature <= 2:
            raise UserError(f"--temperature must be between 0 and 2, got {self.temperature}")
        if self.max_tokens < 1:
            raise UserError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not self.models:
            raise UserError("no model given; pass --model, e.g. --model local/smollm2-135m-instruct")
        check_variant(self.variant)


@dataclass
class RunResult:
    responses: pd.DataFrame
    stats: CallStats = field(default_factory=CallStats)


def _levels(scenario: Scenario, wanted: Iterable[int] | None) -> list[int]:
    all_levels = range(1, len(scenario.levels) + 1)
    return list(all_levels) if wanted is None else [lv for lv in all_levels if lv in set(wanted)]


def run(config: RunConfig, scenarios: list[Scenario], *, make_calls: bool = True,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Measure every bucket. With make_calls=False only cached answers are read
    (nothing is spent); buckets without them come back with status 'not run'."""
    stats = CallStats()
    rows: list[dict] = []
    with open_cache() as cache:
        models = [CachedModel(parse_model(m, config.base_url), cache, stats) for m in config.models]
        jobs = [(m, s, lv) for m in models for s in scenarios for lv in _levels(s, config.levels)]
        for done, (model, scenario, level) in enumerate(jobs, start=1):
            rows.extend(_measure(model, scenario, level, config, make_calls))
            if progress:
                progress(done, len(jobs))
    return RunResult(pd.DataFrame(rows, columns=RESPONSE_COLUMNS), stats)


def _measure(model: CachedModel, scenario: Scenario, level: int, config: RunConfig,
             make_calls: bool) -> list[dict]:
    messages = build_messages(scenario, level, config.variant)
    base = {"model": model.spec.name, "variant": config.variant, "scenario": scenario.id,
            "level": level, "value": scenario.levels[level - 1], "mode": config.mode}
    if config.mode == "exact":
        result = model.yes_no(messages, make_calls=make_calls)
        return [{**base, "sample": 0, **_exact_fields(result, make_calls)}]
    rows = []
    for i in range(config.samples):
        result = model.generate(messages, temperature=config.temperature,
                                max_tokens=config.max_tokens, sample=i, make_calls=make_calls)
        rows.append({**base, "sample": i, **_sample_fields(result, make_calls)})
    return rows


def _status(result: dict | None, make_calls: bool) -> str:
    if result is not None:
        return "ok"
    return "failed" if make_calls else "not run"


def _exact_fields(result: dict | None, make_calls: bool) -> dict:
    if result is None:
        return {"status": _status(result, make_calls)}
    mass = result["p_yes"] + result["p_no"]
    return {"status": "ok", "p_refusal": result["p_no"] / mass if mass > 0 else float("nan"),
            "yes_no_mass": mass, "prompt_tokens": result["prompt_tokens"],
            "completion_tokens": result["completion_tokens"]}


def _sample_fields(result: dict | None, make_calls: bool) -> dict:
    if result is None:
        return {"status": _status(result, make_calls)}
    return {"status": "ok", "decision": parse_answer(result["text"]), "text": result["text"],
            "prompt_tokens": result["prompt_tokens"],
            "completion_tokens": result["completion_tokens"]}
