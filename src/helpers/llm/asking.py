"""Ask any model a list of prompts and get one row per answer: the service for
studies whose prompts are plain texts (the economic games, the dilemmas, the
pricing game).

The answers come through the one fetcher (fetch.py): cached under keys derived
from the request, missing ones made concurrently and paced (retries, rate
limits, costs), failed calls counted and retried on the next run;
`make_calls=False` reads only the cache.

Answers are sampled (`generate` calls): each is parsed by its caller, and an
unparseable one is counted as invalid, never as a choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from helpers.llm.cache import CallStats, open_cache
from helpers.llm.engine import Limits, Progress
from helpers.llm.fetch import Fetcher
from helpers.llm.naming import DEFAULT_MODEL
from helpers.llm.units import REASONING_BUDGET, CachedModel, ModelOptions, Unit, check_sampling

ANSWER_COLUMNS = ["model", "prompt", "sample", "status", "text", "prompt_tokens",
                  "completion_tokens", "cost_usd"]


@dataclass(frozen=True)
class AskConfig:
    """How to sample answers; the notebooks and the CLI both build one."""

    models: tuple[str, ...] = (DEFAULT_MODEL,)
    samples: int = 3
    temperature: float = 1.0
    max_tokens: int = 8  # the choice opens the answer; a few tokens read it
    base_url: str | None = None
    timeout: float = 60.0
    reasoning_effort: str | None = None  # sent to openai/ models that take it; None: their default
    reasoning_budget: int = REASONING_BUDGET  # thinking tokens per answer on top of max_tokens
    capabilities: tuple[tuple[str, object], ...] = ()  # --capability overrides

    def __post_init__(self) -> None:
        check_sampling(self.models, self.samples, self.temperature, self.max_tokens, self.timeout)
        self.model_options()

    def model_options(self) -> ModelOptions:
        return ModelOptions(self.reasoning_effort, self.reasoning_budget, self.capabilities)


@dataclass
class AskResult:
    answers: pd.DataFrame  # one row per model x prompt x sample (ANSWER_COLUMNS)
    stats: CallStats = field(default_factory=CallStats)


def _messages(prompt: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt


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
    with open_cache() as cache:
        fetcher = Fetcher.with_listener(cache, progress, limits=limits, make_calls=make_calls)
        planned: list[tuple[int, Unit]] = []
        for name in config.models:
            model = CachedModel.named(name, cache, base_url=config.base_url, timeout=config.timeout,
                                      options=config.model_options())
            for p, prompt in enumerate(prompts):
                indices = range(config.samples) if sample_of is None else [sample_of[p]]
                planned += [(p, u) for u in model.units("generate", _messages(prompt), indices,
                                                         temperature=config.temperature,
                                                         max_tokens=config.max_tokens)]
        fetcher.expect(len(planned))
        found = fetcher.fetch([u for _, u in planned])
        rows = [_row(p, unit, found[unit.key], fetcher) for p, unit in planned]
        stats = fetcher.stats()
    return AskResult(pd.DataFrame(rows, columns=ANSWER_COLUMNS), stats)


def _row(p: int, unit: Unit, result: dict | None, fetcher: Fetcher) -> dict:
    row = {"model": unit.model.spec.name, "prompt": p, "sample": unit.sample}
    if result is None:
        row["status"] = "failed" if fetcher.failed(unit.key) else "not run"
    else:
        row.update(status="ok", text=result["text"], prompt_tokens=result["prompt_tokens"],
                   completion_tokens=result["completion_tokens"], cost_usd=result.get("cost_usd", 0.0))
    return row
