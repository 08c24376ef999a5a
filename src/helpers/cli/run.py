"""`python -m helpers run` and `estimate`: measure the exceptions design, or price it first."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd

from helpers.cli.option import add_options
from helpers.cli.params import RUN_AND_ESTIMATE, RUN_ONLY, capability_overrides
from helpers.errors import UserError

TABLE_COLUMNS = ["model", "variant", "scenario", "level", "n", "refusal_rate", "se",
                 "invalid", "failed", "yes_no_mass"]
# Exact mode's other estimand and the probability's interval (top-k logprobs), after refusal_rate.
EXACT_COLUMNS = ["rate_top", "rate_low", "rate_high"]
EXACT_NOTE = ("exact mode: refusal_rate is the mean P(no) / (P(yes) + P(no)); rate_top is the share whose "
              "likelier answer is no (what temperature 0 gives, the paper's setting for GPT-4o and 4o-mini)")


def add_parsers(commands) -> None:
    """Register `run` and `estimate` on the CLI's subcommands; they share their
    run options, so an estimate is of the same run."""
    run = commands.add_parser("run", help="measure refusal rates for every bucket")
    add_options(run, RUN_AND_ESTIMATE + RUN_ONLY)
    est = commands.add_parser("estimate", help="calls, tokens, dollars and time of a run; spends nothing")
    add_options(est, RUN_AND_ESTIMATE)


def _write(table: pd.DataFrame, out: Path) -> None:
    # The name's suffix (.csv or .parquet) was checked when the arguments were read.
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}; choose another path") from None


def setup(args: argparse.Namespace, *, warn: bool = True):
    """(the chosen scenarios, the RunConfig, the pacing Limits) of run-style arguments;
    `run`, `estimate` and `archive export` select the same answers from the same options.
    warn: print the run's warnings, shutdown dates included (which may ask the
    endpoint's GET /models); `archive export` asks no server, so it does not."""
    from helpers.exceptions import experiment
    from helpers.exceptions import scenarios
    from helpers.llm import lifecycle
    from helpers.llm.engine import Limits

    chosen = scenarios.select(scenarios.load_scenarios(args.scenarios), args.scenario_ids)
    for level in args.levels or []:
        if not any(1 <= level <= len(s.levels) for s in chosen):
            raise UserError(f"--level {level}: the chosen scenarios have levels 1 to "
                            f"{max(len(s.levels) for s in chosen)}")
    config = experiment.RunConfig(
        models=tuple(args.models), variants=tuple(args.variants),
        variants_file=args.variants_file, mode=args.mode, samples=args.samples,
        temperature=args.temperature, max_tokens=args.max_tokens,
        reasoning_tokens=args.reasoning_tokens, base_url=args.base_url, timeout=args.timeout,
        levels=tuple(args.levels) if args.levels else None, reasoning_effort=args.reasoning_effort,
        reasoning_budget=args.reasoning_budget, capabilities=capability_overrides(args.capabilities),
        control=not args.no_control,
    )
    limits = Limits(rpm=args.rpm, tpm=args.tpm, concurrency=args.concurrency, max_retries=args.retries)
    if warn:
        for message in config.warnings() + lifecycle.warnings(config.models, base_url=config.base_url):
            print(f"warning: {message}", file=sys.stderr)
    return chosen, config, limits


def cmd_estimate(args: argparse.Namespace) -> int:
    from helpers.exceptions import experiment

    chosen, config, limits = setup(args)
    guess = experiment.estimate(config, chosen, limits, batch=args.batch)
    print(guess.table())
    for note in guess.notes:
        print(f"note: {note}")
    return 0


class _TerminalProgress:
    """A tqdm bar on stderr: answers done, with made/cached/failed/retrying/cost.

    The engine reports every answer; the bar is drawn at most every half second
    (and when the last answer is in): drawing it for each of 60,000 answers cost
    70 us apiece on a terminal, a few percent of the client's time per request."""

    INTERVAL = 0.5

    def __init__(self) -> None:
        self.bar = None
        self.drawn = -math.inf

    def __call__(self, state) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=state.total, unit="answer", file=sys.stderr, leave=False,
                            disable=None, mininterval=self.INTERVAL)  # disable=None: only on a terminal
        now = time.monotonic()
        if now - self.drawn < self.INTERVAL and state.done < state.total:
            return
        self.drawn = now
        self.bar.n = state.done
        self.bar.set_postfix(made=state.made, cached=state.cached, failed=state.failed,
                             retrying=state.retrying, cost=f"${state.cost:.4f}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_run(args: argparse.Namespace) -> int:
    from helpers.exceptions import experiment
    from helpers.exceptions import stats
    from helpers.exceptions import validity

    from helpers.llm import local_meter

    thresholds, source = validity.load_thresholds()  # a bad validity.toml fails before anything is spent
    chosen, config, limits = setup(args)
    bar = _TerminalProgress()
    local_work = local_meter.snapshot()
    try:
        result = experiment.run(config, chosen, limits=limits, batch=args.batch,
                                max_cost=args.max_cost, progress=bar, poll_seconds=args.poll_seconds)
    finally:
        bar.close()
    table = stats.refusal_rates(result.responses)
    exact = (table["measure"] == "exact").any()
    columns = TABLE_COLUMNS[:6] + EXACT_COLUMNS + TABLE_COLUMNS[6:] if exact else TABLE_COLUMNS
    with pd.option_context("display.max_rows", None, "display.width", 200,
                           "display.float_format", "{:.3f}".format):
        print(table[columns].to_string(index=False))
    if exact:
        print(f"note: {EXACT_NOTE}")
        bounded = int(table["bounded"].sum())
        if bounded:
            print(f"note: {bounded} answer{'s' if bounded != 1 else ''} left yes or no out of the endpoint's top "
                  "logprobs: refusal_rate is the middle of rate_low .. rate_high there (tests use the end "
                  "nearest the humans)")
    # The validity card of each agent, right under its rates; the run still ends with its calls line.
    if cards := validity.cards(table, thresholds):
        print(f"validity (thresholds: {source}):")
        print("\n".join(validity.summary(cards)))
    if args.out is not None:
        _write(table, args.out)
        print(f"wrote {len(table)} buckets to {args.out}")
    if args.responses is not None:
        _write(result.responses, args.responses)
        print(f"wrote {len(result.responses)} answers to {args.responses}")
    spent = result.progress
    cost = f"${table['cost_usd'].sum():.4f}" if table["cost_usd"].notna().all() else "unknown"
    thinking = int(result.responses["reasoning_tokens"].sum())  # part of the completion tokens
    of_them = f" ({thinking} of them reasoning)" if thinking else ""
    print(f"tokens: {int(table['prompt_tokens'].sum())} prompt, {int(table['completion_tokens'].sum())} "
          f"completion{of_them}; cost of these answers: {cost}; retries: {spent.retries}")
    for line in local_meter.lines(local_work):  # each local model's speed and memory in this run
        print(line)
    print("\n".join(result.stats.lines()))
    # 1: some answers failed or were not kept (the lines above say why; a rerun makes them).
    return 0 if result.stats.complete else 1
