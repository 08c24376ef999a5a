"""Run the design: models x scenarios x levels (x samples), through the cache.

`plan` lists every answer a run needs (with its cache key), `estimate` prices
what is missing without spending anything, and `run` reads the cache, makes the
missing calls (online through engine.py, or through the Batch API) and returns
one row per answer: the tidy table every analysis starts from.

Two ways to measure a bucket:
- `exact`: one forward pass; the refusal probability is P(no) / (P(yes) + P(no))
  over the answer's first token; `yes_no_mass` = P(yes) + P(no).
- `sample`: n answers at a temperature, each parsed to yes / no / invalid.

A run may hold several prompt variants (variants.toml). Single-turn variants
are planned here; multi-turn ones (chain of thought) are walked turn by turn
in chains.py through the same engine and cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.exceptions import chains
from helpers.llm import engine
from helpers.llm import prices as pricing
from helpers.llm import tokens
from helpers.llm.cache import CachedModel, CallStats, open_cache
from helpers.llm.engine import Call, Limits, Progress, Unit
from helpers.errors import UserError
from helpers.llm.models import parse_model
from helpers.exceptions.prompting import action_of, build_messages, parse_answer
from helpers.exceptions.variants import get_variant
from helpers.exceptions.scenarios import Scenario

MODES = ("exact", "sample")
RESPONSE_COLUMNS = [
    "model", "variant", "scenario", "level", "value", "mode", "sample", "status",
    "decision", "p_refusal", "yes_no_mass", "text", "prompt_tokens", "completion_tokens",
    "cost_usd", "reasoning",
]
# Seconds per local call when the cache has no timing yet (measured by bench/).
LOCAL_SECONDS = {"yes_no": 0.31, "generate_per_token": 0.047}
ASSUMED_LATENCY = 1.0  # seconds per API request when no rate limit is given


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; the CLI and the notebooks both build one.

    variant / variants: the prompt variant(s) by name (variants.toml, or
    variants_file). `variants` runs several at once; when it is empty the run
    has the one `variant`, and when it is given `variant` becomes its first.
    Multi-turn variants run `samples` chains per bucket in both modes, their
    reasoning turns up to `reasoning_tokens` long (see chains.py).
    """

    models: tuple[str, ...] = ("local/smollm2-135m-instruct",)
    variant: str = "baseline"
    mode: str = "exact"
    samples: int = 10
    temperature: float = 1.0
    max_tokens: int = 48
    base_url: str | None = None
    levels: tuple[int, ...] | None = None  # None = every level of each scenario
    timeout: float = 60.0
    variants: tuple[str, ...] = ()
    variants_file: str | Path | None = None
    reasoning_tokens: int = 256

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"unknown mode '{self.mode}'; use one of {', '.join(MODES)}")
        if self.samples < 1:
            raise UserError(f"--samples must be at least 1, got {self.samples}")
        if not 0 <= self.temperature <= 2:
            raise UserError(f"--temperature must be between 0 and 2, got {self.temperature}")
        if self.max_tokens < 1:
            raise UserError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if self.timeout <= 0:
            raise UserError(f"--timeout must be positive, got {self.timeout}")
        if not self.models:
            raise UserError("no model given; pass --model, e.g. --model local/smollm2-135m-instruct")
        if self.reasoning_tokens < 1:
            raise UserError(f"--reasoning-tokens must be at least 1, got {self.reasoning_tokens}")
        # Frozen, so normalise through object.__setattr__: one name -> a tuple, no repeats.
        names = tuple(dict.fromkeys(self.variants or (self.variant,)))
        for name in names:
            get_variant(name, self.variants_file)
        object.__setattr__(self, "variants", names)
        object.__setattr__(self, "variant", names[0])

    def warnings(self) -> list[str]:
        if self.mode == "sample" and self.temperature == 0 and self.samples > 1:
            return [f"temperature 0 with {self.samples} samples: the answers will be near-copies "
                    "(the paper did this for 4o and 4o-mini); exact mode measures the same thing in one call"]
        return []

    def chain_variants(self) -> list[str]:
        return [v for v in self.variants if get_variant(v, self.variants_file).chain]


@dataclass
class Bucket:
    model: CachedModel
    scenario: Scenario
    level: int
    units: list[Unit]
    variant: str = "baseline"


@dataclass
class RunResult:
    responses: pd.DataFrame
    stats: CallStats = field(default_factory=CallStats)
    progress: Progress = field(default_factory=Progress)


def levels_of(scenario: Scenario, wanted) -> list[int]:
    all_levels = range(1, len(scenario.levels) + 1)
    return list(all_levels) if wanted is None else [lv for lv in all_levels if lv in set(wanted)]


def plan(config: RunConfig, scenarios: list[Scenario], cache) -> list[Bucket]:
    """Every bucket of the run's single-turn variants with the answers (cache keys)
    it needs; multi-turn variants are planned by chains.plan_chains."""
    kind = "yes_no" if config.mode == "exact" else "generate"
    count = 1 if config.mode == "exact" else config.samples
    chained = config.chain_variants()
    single = [v for v in config.variants if v not in chained]
    buckets = []
    for name in config.models:
        model = CachedModel(parse_model(name, config.base_url), cache, config.timeout)
        params = model.params(kind, config.temperature, config.max_tokens)
        for variant in single:
            for scenario in scenarios:
                for level in levels_of(scenario, config.levels):
                    messages = build_messages(scenario, level, variant, variants_file=config.variants_file)
                    units = [Unit(key, kind, messages, params, i)
                             for i, key in enumerate(model.keys(kind, messages, params, count))]
                    buckets.append(Bucket(model, scenario, level, units, variant))
    return buckets


def _calls(buckets: list[Bucket], missing: set[str], limits: Limits, count_tokens: bool = True) -> list[Call]:
    """Group missing answers into requests: several samples of one prompt share a
    request through `n` where the endpoint supports it."""
    calls = []
    assigned: set[str] = set()  # identical prompts in two buckets are one answer
    for bucket in buckets:
        todo = [u for u in bucket.units if u.key in missing and u.key not in assigned]
        assigned.update(u.key for u in todo)
        per_call = limits.max_n if (todo and todo[0].kind == "generate"
                                    and bucket.model.spec.provider == "openai") else 1
        for start in range(0, len(todo), per_call):
            chunk = todo[start:start + per_call]
            calls.append(Call(bucket.model, chunk))
    if count_tokens:
        for call in calls:
            call.est_tokens = _prompt_tokens(call) + _completion_bound(call)
    return calls


def _prompt_tokens(call: Call) -> int:
    spec, unit = call.model.spec, call.units[0]
    if spec.provider == "local":
        return tokens.count_local(spec.model, unit.messages)
    return tokens.count_openai(spec.model, unit.messages)


def _completion_bound(call: Call) -> int:
    unit = call.units[0]
    if unit.kind == "yes_no":
        return 0 if call.model.spec.provider == "local" else 1
    return unit.params["max_tokens"] * len(call.units)


@dataclass
class Estimate:
    answers: int
    cached: int
    calls: int  # requests that would be made
    prompt_tokens: int
    completion_tokens: int  # expected: calibrated on cached answers where there are any
    completion_max: int  # upper bound: max_tokens for every sampled answer
    cost: float | None  # expected dollars; None if some model has no price
    cost_max: float | None  # upper bound in dollars, what --max-cost is checked against
    seconds: float
    calibrated_on: int  # cached sampled answers whose lengths calibrate the expectation
    notes: list[str]

    def table(self) -> str:
        def dollars(value: float | None) -> str:
            return "unknown (no price in prices.toml)" if value is None else f"${value:.4f}"

        basis = (f"expected from {self.calibrated_on} cached answers" if self.calibrated_on
                 else "no cached answers to calibrate on: the bound")
        rows = [("answers needed", f"{self.answers}"), ("already cached", f"{self.cached}"),
                ("requests to make", f"{self.calls}"), ("prompt tokens", f"{self.prompt_tokens}"),
                ("completion tokens", f"{self.completion_tokens} ({basis}); at most {self.completion_max}"),
                ("cost", f"{dollars(self.cost)} expected; at most {dollars(self.cost_max)}"),
                ("time", f"{self.seconds / 60:.1f} min ({self.seconds:.0f} s)")]
        return "\n".join(f"{k:<18} {v}" for k, v in rows)


def _answer_lengths(buckets: list[Bucket], found: dict) -> dict[tuple[str, int], tuple[float, int]]:
    """Mean completion tokens (and how many answers) per (model, max_tokens) among the
    sampled answers of this plan already in the cache: a measured answer length."""
    sums: dict[tuple[str, int], list[float]] = {}
    for bucket in buckets:
        for unit in bucket.units:
            result = found.get(unit.key)
            if unit.kind == "generate" and result is not None:
                entry = sums.setdefault((bucket.model.spec.name, unit.params["max_tokens"]), [0.0, 0])
                entry[0] += result["completion_tokens"]
                entry[1] += 1
    return {k: (total / count, count) for k, (total, count) in sums.items()}


def estimate(config: RunConfig, scenarios: list[Scenario], limits: Limits = Limits(),
             batch: bool = False) -> Estimate:
    """What the run would make and cost; makes no calls and spends nothing.

    Prompt tokens are counted with the model's tokenizer. Completion tokens are an
    expectation where answers of the same prompts are cached (their mean length)
    and the max_tokens bound otherwise; both the expectation and the bound are given.
    """
    prices = pricing.load_prices()
    with open_cache() as cache:
        buckets = plan(config, scenarios, cache)
        found = {u.key: cache.get(u.key) for b in buckets for u in b.units}
        missing = {k for k, v in found.items() if v is None}
        lengths = _answer_lengths(buckets, found)
        calls = _calls(buckets, missing, limits)
        # Chains: walk the cached turns, then project the rest; a later turn's prompt
        # also carries the reasoning answers not written yet (reasoning_tokens each).
        chain_list = chains.plan_chains(config, scenarios, cache)
        walked = Progress()
        chains.walk(chain_list, walked)
        projected = chains.projected_calls(chain_list, config.reasoning_tokens)
        notes: list[str] = []
        prompt = completion = completion_max = 0
        cost: float | None = 0.0
        cost_max: float | None = 0.0
        seconds_by_model: dict[str, float] = {}
        for call, unknown in [(call, 0) for call in calls] + projected:
            spec, unit = call.model.spec, call.units[0]
            p, bound = _prompt_tokens(call) + unknown, _completion_bound(call)
            c = bound
            if unit.kind == "generate" and unknown == 0 and (spec.name, unit.params["max_tokens"]) in lengths:
                c = min(bound, round(lengths[spec.name, unit.params["max_tokens"]][0] * len(call.units)))
            prompt, completion, completion_max = prompt + p, completion + c, completion_max + bound
            price = pricing.price_for(spec.provider, spec.model, prices)
            if price is None:
                cost = cost_max = None
                notes.append(f"no price for {spec.name} in prices.toml")
            elif cost is not None and cost_max is not None:
                cost += price.cost(p, c, batch=batch)
                cost_max += price.cost(p, bound, batch=batch)
            seconds_by_model[spec.name] = seconds_by_model.get(spec.name, 0.0) + _call_seconds(call, p + c, limits)
    if batch and (calls or projected):
        notes.append("Batch API: results arrive within 24 hours; the time above is for online calls")
        if projected:
            notes.append("Batch API with a multi-turn variant: one batch per turn, each up to 24 hours")
    answers = sum(len(b.units) for b in buckets)
    return Estimate(answers + chains.turns_wanted(chain_list), answers - len(missing) + walked.cached,
                    len(calls) + len(projected),
                    prompt, completion, completion_max, cost, cost_max,
                    max(seconds_by_model.values(), default=0.0),
                    sum(count for _, count in lengths.values()), sorted(set(notes)))


def _call_seconds(call: Call, call_tokens: int, limits: Limits) -> float:
    unit = call.units[0]
    if call.model.spec.provider == "local":
        if unit.kind == "yes_no":
            return LOCAL_SECONDS["yes_no"]
        return LOCAL_SECONDS["generate_per_token"] * unit.params["max_tokens"] * len(call.units)
    per_request = ASSUMED_LATENCY / limits.concurrency
    if limits.rpm:
        per_request = max(per_request, 60.0 / limits.rpm)
    if limits.tpm:
        per_request = max(per_request, 60.0 * call_tokens / limits.tpm)
    return per_request


def run(config: RunConfig, scenarios: list[Scenario], *, make_calls: bool = True,
        limits: Limits = Limits(), batch: bool = False, max_cost: float | None = None,
        progress: Callable[[Progress], None] | None = None, poll_seconds: float = 30.0) -> RunResult:
    """Measure every bucket. With make_calls=False only cached answers are read
    (nothing is spent) and the rest come back with status 'not run'."""
    if make_calls and max_cost is not None:
        guess = estimate(config, scenarios, limits, batch=batch)
        if guess.cost_max is None:
            raise UserError(f"cannot check --max-cost: {guess.notes[0]}; add it or drop --max-cost")
        # Checked against the bound (every answer max_tokens long), so no run can overspend.
        if guess.cost_max > max_cost:
            raise UserError(f"this run may cost up to ${guess.cost_max:.4f}, above --max-cost ${max_cost:.4f}; "
                            "lower --samples or --max-tokens, or raise the limit")
    prices = pricing.load_prices()
    state = Progress(listeners=[progress] if progress else [])

    def spend(todo: list, missing: set[str]) -> None:
        """Make the missing calls of these buckets (online, or through the Batch API)."""
        model_prices = {b.model.spec.name: pricing.price_for(b.model.spec.provider, b.model.spec.model, prices)
                        for b in todo}
        if batch:
            from helpers.llm import batch as batch_api

            batch_api.run_batches(todo, missing, model_prices, state, poll_seconds)
        else:
            calls = _calls(todo, missing, limits, count_tokens=bool(limits.tpm))
            engine.run_sync(engine.execute(calls, cache, limits, state, model_prices))

    with open_cache() as cache:
        buckets = plan(config, scenarios, cache)
        chain_list = chains.plan_chains(config, scenarios, cache)
        # Each answer is read once: a cached rerun of a large run is bound by these reads.
        found = {u.key: cache.get(u.key) for b in buckets for u in b.units}
        missing = {k for k, v in found.items() if v is None}
        wanted = sum(len(b.units) for b in buckets)  # twin prompts are two answers, one call
        state.total = wanted + chains.turns_wanted(chain_list)
        state.cached = wanted - len(missing)
        state.notify()
        if make_calls and missing:
            spend(buckets, missing)
            found.update((k, cache.get(k)) for k in missing)
        chains_missing = chains.walk(chain_list, state, spend if make_calls else None)
        rows = [row for b in buckets for row in _rows(b, config, found, state.failed_keys)]
        rows += chains.rows(chain_list, config.mode)
    stats = CallStats(made=state.made, cached=state.cached, failed=state.failed,
                      missing=0 if make_calls else len(missing) + chains_missing)
    return RunResult(_in_run_order(pd.DataFrame(rows, columns=RESPONSE_COLUMNS), config), stats, state)


def _in_run_order(responses: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """Rows by model, then variant, in the order the run names them (single-turn
    and multi-turn variants are measured apart); stable within each."""
    if responses.empty:
        return responses
    rank = pd.DataFrame({"model": responses["model"].map({m: i for i, m in enumerate(config.models)}),
                         "variant": responses["variant"].map({v: i for i, v in enumerate(config.variants)})})
    order = rank.sort_values(["model", "variant"], kind="stable").index
    return responses.loc[order].reset_index(drop=True)


def _rows(bucket: Bucket, config: RunConfig, found: dict, failed: set[str]) -> list[dict]:
    base = {"model": bucket.model.spec.name, "variant": bucket.variant, "scenario": bucket.scenario.id,
            "level": bucket.level, "value": bucket.scenario.levels[bucket.level - 1], "mode": config.mode}
    action = action_of(bucket.scenario.render(bucket.level))
    decisions: dict[str, str] = {}  # answers repeat (at temperature 0, all of them): parse each text once
    rows = []
    for unit in bucket.units:
        result = found.get(unit.key)
        row = {**base, "sample": unit.sample}
        if result is None:
            row["status"] = "failed" if unit.key in failed else "not run"
        else:
            row.update(status="ok", prompt_tokens=result["prompt_tokens"],
                       completion_tokens=result["completion_tokens"], cost_usd=result.get("cost_usd", 0.0))
            if unit.kind == "yes_no":
                mass = result["p_yes"] + result["p_no"]
                row.update(p_refusal=result["p_no"] / mass if mass > 0 else float("nan"), yes_no_mass=mass)
            else:
                text = result["text"]
                if text not in decisions:
                    decisions[text] = parse_answer(text, action)
                row.update(decision=decisions[text], text=text)
        rows.append(row)
    return rows
