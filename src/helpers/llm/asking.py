"""Ask any model a list of prompts, through the workspace's cache and engine.

experiment.run measures the exception scenarios; the economic games, the
dilemmas and the pricing game need the same service for prompts of their own:
every answer is cached under the same honest key (model identity, messages,
sampling parameters, sample index), missing answers are made concurrently and
paced by engine.execute (retries, rate limits, costs), failed calls are counted
and retried on the next run, and `make_calls=False` reads only the cache.

Answers are sampled (`generate` calls): each is parsed by its caller, and an
unparseable one is counted as invalid, never as a choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from helpers.llm import engine
from helpers.llm import prices as pricing
from helpers.llm.cache import CachedModel, CallStats, open_cache
from helpers.llm.engine import Call, Limits, Progress, Unit
from helpers.errors import UserError
from helpers.llm.models import parse_model

ANSWER_COLUMNS = ["model", "prompt", "sample", "status", "text", "prompt_tokens",
                  "completion_tokens", "cost_usd"]


@dataclass(frozen=True)
class AskConfig:
    """How to sample answers; the notebooks and the CLI both build one."""

    models: tuple[str, ...] = ("local/smollm2-135m-instruct",)
    samples: int = 3
    temperature: float = 1.0
    max_tokens: int = 8  # the choice opens the answer; a few tokens read it
    base_url: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise UserError(f"--samples must be at least 1, got {self.samples}")
        if not 0 <= self.temperature <= 2:
            raise UserError(f"--temperature must be between 0 and 2, got {self.temperature}")
        if self.max_tokens < 1:
            raise UserError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not self.models:
            raise UserError("no model given; pass --model, e.g. --model local/smollm2-135m-instruct")


@dataclass
class AskResult:
    answers: pd.DataFrame  # one row per model x prompt x sample (ANSWER_COLUMNS)
    stats: CallStats = field(default_factory=CallStats)


def _messages(prompt: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt


def _calls(planned, missing: set[str], limits: Limits) -> list[Call]:
    """Requests for the missing answers: identical prompts are one answer, and
    several samples of one prompt share a request (`n`) where the API allows it."""
    groups: dict[tuple, list] = {}
    assigned: set[str] = set()
    for model, p, unit in planned:
        if unit.key in missing and unit.key not in assigned:
            assigned.add(unit.key)
            groups.setdefault((model.spec.name, p), []).append((model, unit))
    calls = []
    for members in groups.values():
        model = members[0][0]
        per_call = limits.max_n if model.spec.provider == "openai" else 1
        for start in range(0, len(members), per_call):
            calls.append(Call(model, [u for _, u in members[start:start + per_call]]))
    return calls


def ask(config: AskConfig, prompts: list[str | list[dict[str, str]]], *, make_calls: bool = True,
        limits: Limits = Limits(), sample_of: list[int] | None = None,
        progress: Callable[[Progress], None] | None = None) -> AskResult:
    """Answers of every model to every prompt, `config.samples` each.

    Prompts are user texts or message lists; the `prompt` column holds the
    prompt's position in the list. sample_of: instead, one answer per prompt,
    with this sample index (a repeated game asks each session's own prompt).
    """
    if sample_of is not None and len(sample_of) != len(prompts):
        raise ValueError("sample_of needs one sample index per prompt")
    state = Progress(listeners=[progress] if progress else [])
    prices = pricing.load_prices()
    with open_cache() as cache:
        planned: list[tuple[CachedModel, int, Unit]] = []
        for name in config.models:
            model = CachedModel(parse_model(name, config.base_url), cache, config.timeout)
            params = model.params("generate", config.temperature, config.max_tokens)
            for p, prompt in enumerate(prompts):
                messages = _messages(prompt)
                indices = range(config.samples) if sample_of is None else [sample_of[p]]
                for i in indices:
                    key = model.key("generate", messages, params, i)
                    planned.append((model, p, Unit(key, "generate", messages, params, i)))
        missing = {u.key for _, _, u in planned if u.key not in cache}
        state.total = len(planned)
        state.cached = len(planned) - len(missing)
        state.notify()
        if make_calls and missing:
            calls = _calls(planned, missing, limits)
            model_prices = {m.spec.name: pricing.price_for(m.spec.provider, m.spec.model, prices)
                            for m, _, _ in planned}
            engine.run_sync(engine.execute(calls, cache, limits, state, model_prices))
        rows = []
        for model, p, unit in planned:
            result = model.lookup(unit.key)
            row = {"model": model.spec.name, "prompt": p, "sample": unit.sample}
            if result is None:
                row["status"] = "failed" if unit.key in state.failed_keys else "not run"
            else:
                row.update(status="ok", text=result["text"], prompt_tokens=result["prompt_tokens"],
                           completion_tokens=result["completion_tokens"],
                           cost_usd=result.get("cost_usd", 0.0))
            rows.append(row)
    stats = CallStats(made=state.made, cached=state.cached, failed=state.failed,
                      missing=0 if make_calls else len(missing))
    return AskResult(pd.DataFrame(rows, columns=ANSWER_COLUMNS), stats)
