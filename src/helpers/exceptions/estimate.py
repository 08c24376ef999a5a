"""What a run would make and cost, before anything is spent.

Requests are grouped exactly as the run would group them (helpers.llm.group);
prompt tokens are counted with the model's tokenizer; completion tokens are a
measured expectation where answers of the same requests are cached, and the
max_tokens bound otherwise. Chains are walked through the cache first and
their remaining turns projected.

A self-hosted server (an openai/ model with another --base-url) is counted with
its own tokenizer where it offers one, calibrated on the prompt tokens it
recorded for cached answers, and timed on their measured seconds (served.py);
the notes say how, and how sure that is.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.exceptions import chains
from helpers.exceptions.design import RunConfig
from helpers.exceptions.plan import Bucket, plan
from helpers.exceptions.scenarios import Scenario
from helpers.exceptions.self_hosted import Served
from helpers.llm.throttle import ADAPTIVE_MAX
from helpers.llm import (OPENAI_URL, Call, Fetcher, Limits, Unit, completion_bound, group, open_cache, prices,
                         prompt_tokens)
from helpers.llm.fetch import token_limit

# Seconds per local call when the cache has no timing yet, in batches (the offline
# model on 2 cores, bench/bench_local_batch.py: 60 buckets in 4.6 s; 32 answers of up
# to 48 tokens in 10.8 s). One at a time they were 0.31 s and 0.047 s per token.
LOCAL_SECONDS = {"yes_no": 0.08, "generate_per_token": 0.007}
ASSUMED_LATENCY = 1.0  # seconds per API request when no rate limit is given
# Reasoning tokens per answer assumed by effort when no cached answer of the model at
# that effort measures them: a stated guess for a short yes/no question, capped by
# --reasoning-budget. The bound (and --max-cost) always take the whole budget.
ASSUMED_REASONING = {"minimal": 64, "low": 256, "medium": 1024, "high": 3072, "xhigh": 4096, "max": 4096}


def self_hosted(call: Call) -> bool:
    spec = call.model.spec
    return spec.provider == "openai" and spec.base_url != OPENAI_URL


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
    reasoning_tokens: int = 0  # expected, part of completion_tokens (billed as output)
    reasoning_max: int = 0  # the budget of every answer that reasons

    def table(self) -> str:
        def dollars(value: float | None) -> str:
            return "unknown (no price in prices.toml)" if value is None else f"${value:.4f}"

        basis = (f"expected from {self.calibrated_on} cached answers" if self.calibrated_on
                 else "no cached answers to calibrate on: the bound")
        rows = [("answers needed", f"{self.answers}"), ("already cached", f"{self.cached}"),
                ("requests to make", f"{self.calls}"), ("prompt tokens", f"{self.prompt_tokens}"),
                ("completion tokens", f"{self.completion_tokens} ({basis}); at most {self.completion_max}"),
                *([("reasoning tokens", f"{self.reasoning_tokens} of those expected; at most {self.reasoning_max}")]
                  if self.reasoning_max else []),
                ("cost", f"{dollars(self.cost)} expected; at most {dollars(self.cost_max)}"),
                ("time", f"{self.seconds / 60:.1f} min ({self.seconds:.0f} s)")]
        return "\n".join(f"{k:<18} {v}" for k, v in rows)


def _answer_lengths(buckets: list[Bucket], found: dict) -> dict[tuple[str, int], tuple[float, float, int]]:
    """Mean completion and reasoning tokens (and how many answers) per (model, token
    limit) among the sampled answers of this plan already in the cache: measured lengths."""
    sums: dict[tuple[str, int], list[float]] = {}
    for bucket in buckets:
        for unit in bucket.units:
            result = found.get(unit.key)
            if unit.kind == "generate" and result is not None:
                entry = sums.setdefault((bucket.model.spec.name, token_limit(unit.body)), [0.0, 0.0, 0])
                entry[0] += result["completion_tokens"]
                entry[1] += result.get("reasoning_tokens") or 0.0
                entry[2] += 1
    return {k: (total / count, reasoning / count, count) for k, (total, reasoning, count) in sums.items()}


def _reasoning(unit: Unit) -> tuple[int, int] | None:
    """(assumed reasoning tokens, the budget) of one answer of a model that reasons at
    the run's effort, else None."""
    model = unit.model
    if unit.kind != "generate" or model.caps is None or not model.caps.reasons(model.options.reasoning_effort):
        return None
    budget = model.options.reasoning_budget
    effort = model.caps.effort(model.options.reasoning_effort) or "medium"
    return min(budget, ASSUMED_REASONING.get(effort, budget)), budget


def estimate(config: RunConfig, scenarios: list[Scenario], limits: Limits = Limits(),
             batch: bool = False) -> Estimate:
    """What the run would make and cost; makes no calls and spends nothing.

    Prompt tokens are counted with the model's tokenizer. Completion tokens are an
    expectation where answers of the same prompts are cached (their mean length)
    and the max_tokens bound otherwise; both the expectation and the bound are given.
    """
    table = prices.load_prices()
    with open_cache() as cache:
        buckets = plan(config, scenarios, cache)
        units = [u for b in buckets for u in b.units]
        reader = Fetcher(cache, make_calls=False)
        found = reader.lookup(units)
        missing = {k for k, v in found.items() if v is None}
        lengths = _answer_lengths(buckets, found)
        calls = group((u for u in units if u.key in missing), limits)
        # Chains: walk the cached turns, then project the rest; a later turn's prompt
        # also carries the reasoning answers not written yet (reasoning_tokens each).
        chain_list = chains.plan_chains(config, scenarios, cache)
        walked = Fetcher(cache, make_calls=False)
        chains.walk(chain_list, walked)
        projected = chains.projected_calls(chain_list, config.reasoning_tokens)
        answered = _answered(buckets, found, chains.answered_turns(chain_list))
        notes: list[str] = []
        prompt = completion = completion_max = reasoning = reasoning_max = 0
        cost: float | None = 0.0
        cost_max: float | None = 0.0
        seconds_by_model: dict[str, float] = {}
        servers: dict[str, Served] = {}
        try:
            for call, unknown in [(call, 0) for call in calls] + projected:
                spec, unit = call.model.spec, call.units[0]
                server = None
                if self_hosted(call):
                    if spec.name not in servers:
                        servers[spec.name] = Served.open(unit, [(u, r) for u, r in answered
                                                                if u.model.spec.name == spec.name], limits)
                    server = servers[spec.name]
                p = (server.prompt_tokens(call) if server else prompt_tokens(call)) + unknown
                bound = completion_bound(call)
                c = bound
                thinking = _reasoning(unit)
                measured = lengths.get((spec.name, token_limit(unit.body))) if unit.kind == "generate" else None
                if measured is not None and unknown == 0:
                    c = min(bound, round(measured[0] * len(call.units)))
                    r = round(measured[1] * len(call.units))
                elif thinking is not None:  # the visible answer's bound plus the assumed reasoning
                    r = thinking[0] * len(call.units)
                    c = min(bound, unit.settings["max_tokens"] * len(call.units) + r)
                    notes.append(f"{spec.name}: reasoning assumed at {thinking[0]} tokens per answer (effort "
                                 f"{unit.model.caps.effort(unit.model.options.reasoning_effort)}; no cached answers "
                                 f"to measure it); the bound allows {thinking[1]} (--reasoning-budget)")
                else:
                    r = 0
                if thinking is not None:
                    reasoning, reasoning_max = reasoning + r, reasoning_max + thinking[1] * len(call.units)
                prompt, completion, completion_max = prompt + p, completion + c, completion_max + bound
                price = prices.price_for(spec.provider, spec.model, table)
                if price is None:
                    cost = cost_max = None
                    notes.append(f"no price for {spec.name} in prices.toml")
                elif cost is not None and cost_max is not None:
                    cost += price.cost(p, c, batch=batch)
                    cost_max += price.cost(p, bound, batch=batch)
                seconds_by_model[spec.name] = (seconds_by_model.get(spec.name, 0.0)
                                               + _call_seconds(call, p + c, limits, server))
        finally:
            for server in servers.values():
                server.close()
        for server in servers.values():
            notes.extend(server.notes())
    if batch and (calls or projected):
        notes.append("Batch API: results arrive within 24 hours; the time above is for online calls")
        if projected:
            notes.append("Batch API with a multi-turn variant: one batch per turn, each up to 24 hours")
    answers = sum(len(b.units) for b in buckets)
    return Estimate(answers + chains.turns_wanted(chain_list), answers - len(missing) + walked.progress.cached,
                    len(calls) + len(projected),
                    prompt, completion, completion_max, cost, cost_max,
                    max(seconds_by_model.values(), default=0.0),
                    sum(count for _, _, count in lengths.values()), sorted(set(notes)), reasoning, reasoning_max)


def _answered(buckets: list[Bucket], found: dict, turns: list[tuple[Unit, dict]]) -> list[tuple[Unit, dict]]:
    """The plan's cached answers (and the chains' answered turns), each once, with a
    unit that asked for it."""
    seen: set[str] = set()
    answered = []
    single = [(u, found[u.key]) for b in buckets for u in b.units if found.get(u.key) is not None]
    for unit, result in single + turns:
        if unit.key not in seen:
            seen.add(unit.key)
            answered.append((unit, result))
    return answered


def _call_seconds(call: Call, call_tokens: int, limits: Limits, server: Served | None = None) -> float:
    unit = call.units[0]
    if call.model.spec.provider == "local":
        if unit.kind == "yes_no":
            return LOCAL_SECONDS["yes_no"]
        return LOCAL_SECONDS["generate_per_token"] * token_limit(unit.body) * len(call.units)
    if server is not None:
        per_request = server.request_seconds(call, ASSUMED_LATENCY)
    else:  # OpenAI's API: assumed 16 in flight; its rate limits (--rpm, below) usually bind first
        per_request = ASSUMED_LATENCY / (limits.concurrency or ADAPTIVE_MAX)
    if limits.rpm:
        per_request = max(per_request, 60.0 / limits.rpm)
    if limits.tpm:
        per_request = max(per_request, 60.0 * call_tokens / limits.tpm)
    return per_request
