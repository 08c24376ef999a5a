"""`python -m helpers run` and `estimate`: measure the exceptions design, or price it first."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from helpers.errors import UserError

TABLE_COLUMNS = ["model", "variant", "scenario", "level", "n", "refusal_rate", "se",
                 "invalid", "failed", "yes_no_mass"]


def add_run_arguments(cmd: argparse.ArgumentParser) -> None:
    """The arguments `run` and `estimate` share, so an estimate is of the same run."""
    cmd.add_argument("--model", action="append", dest="models", metavar="M",
                     help="provider/model, repeatable (default: local/smollm2-135m-instruct)")
    cmd.add_argument("--variant", action="append", dest="variants", metavar="V",
                     help="prompt variant from variants.toml, repeatable (default: baseline)")
    cmd.add_argument("--variants", type=Path, default=None, dest="variants_file", metavar="FILE",
                     help="variants TOML file (default: variants.toml)")
    cmd.add_argument("--mode", default="exact", choices=["exact", "sample"],
                     help="exact: first-token probabilities; sample: parsed sampled answers")
    cmd.add_argument("--samples", type=int, default=10, help="answers per bucket in sample mode; chains per bucket for multi-turn variants (cot)")
    cmd.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    cmd.add_argument("--max-tokens", type=int, default=48, help="answer length limit (sample mode)")
    cmd.add_argument("--reasoning-tokens", type=int, default=256,
                     help="length limit of each reasoning turn of a multi-turn variant (cot)")
    cmd.add_argument("--scenarios", type=Path, default=None, help="scenarios TOML file")
    cmd.add_argument("--scenario", action="append", dest="scenario_ids", metavar="ID",
                     help="only this scenario id (repeatable)")
    cmd.add_argument("--level", action="append", dest="levels", type=int, metavar="N",
                     help="only this level, 1 = most severe (repeatable; default: every level)")
    cmd.add_argument("--base-url", default=None,
                     help="OpenAI-compatible server for openai/ models (or OPENAI_BASE_URL)")
    cmd.add_argument("--rpm", type=float, default=None, help="requests per minute per model (your account's limit)")
    cmd.add_argument("--tpm", type=float, default=None, help="tokens per minute per model")
    cmd.add_argument("--concurrency", type=int, default=16, help="requests in flight at once")
    cmd.add_argument("--retries", type=int, default=5, help="retries per call before it counts as failed")
    cmd.add_argument("--timeout", type=float, default=60.0, help="seconds before a request times out")
    cmd.add_argument("--batch", action="store_true", help="use OpenAI's Batch API (half price, slower)")


def add_parsers(commands) -> None:
    """Register `run` and `estimate` on the CLI's subcommands."""
    run = commands.add_parser("run", help="measure refusal rates for every bucket")
    add_run_arguments(run)
    run.add_argument("--max-cost", type=float, default=None, metavar="D",
                     help="refuse to start if the run could cost more than D dollars (every answer max-tokens long)")
    run.add_argument("--poll-seconds", type=float, default=30.0, help="batch polling interval")
    run.add_argument("--out", type=Path, default=None, help="write the bucket table (.csv or .parquet)")
    run.add_argument("--responses", type=Path, default=None, metavar="FILE",
                     help="write every answer, one row each (.csv or .parquet)")
    est = commands.add_parser("estimate", help="calls, tokens, dollars and time of a run; spends nothing")
    add_run_arguments(est)


def _write(table: pd.DataFrame, out: Path) -> None:
    if out.suffix not in (".csv", ".parquet"):
        raise UserError(f"{out}: use a .csv or .parquet file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}; choose another path") from None


def _setup(args: argparse.Namespace):
    from helpers.exceptions import experiment
    from helpers.exceptions import scenarios
    from helpers.llm.engine import Limits
    from helpers.llm.models import DEFAULT_MODEL

    chosen = scenarios.select(scenarios.load_scenarios(args.scenarios), args.scenario_ids)
    for level in args.levels or []:
        if not any(1 <= level <= len(s.levels) for s in chosen):
            raise UserError(f"--level {level}: the chosen scenarios have levels 1 to "
                            f"{max(len(s.levels) for s in chosen)}")
    config = experiment.RunConfig(
        models=tuple(args.models or [DEFAULT_MODEL]), variants=tuple(args.variants or ["baseline"]),
        variants_file=args.variants_file, mode=args.mode, samples=args.samples,
        temperature=args.temperature, max_tokens=args.max_tokens,
        reasoning_tokens=args.reasoning_tokens, base_url=args.base_url, timeout=args.timeout,
        levels=tuple(args.levels) if args.levels else None,
    )
    limits = Limits(rpm=args.rpm, tpm=args.tpm, concurrency=args.concurrency, max_retries=args.retries)
    for message in config.warnings():
        print(f"warning: {message}", file=sys.stderr)
    return chosen, config, limits


def cmd_estimate(args: argparse.Namespace) -> int:
    from helpers.exceptions import experiment

    chosen, config, limits = _setup(args)
    guess = experiment.estimate(config, chosen, limits, batch=args.batch)
    print(guess.table())
    for note in guess.notes:
        print(f"note: {note}")
    return 0


class _TerminalProgress:
    """A tqdm bar on stderr: answers done, with made/cached/failed/retrying/cost."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, state) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=state.total, unit="answer", file=sys.stderr, leave=False,
                            disable=None, mininterval=0.5)  # disable=None: only on a terminal
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

    for flag, path in (("--out", args.out), ("--responses", args.responses)):
        if path is not None and path.suffix not in (".csv", ".parquet"):
            raise UserError(f"{flag} {path}: use a .csv or .parquet file name")
    if args.max_cost is not None and args.max_cost < 0:
        raise UserError(f"--max-cost must be 0 or more, got {args.max_cost}")
    chosen, config, limits = _setup(args)
    bar = _TerminalProgress()
    try:
        result = experiment.run(config, chosen, limits=limits, batch=args.batch,
                                max_cost=args.max_cost, progress=bar, poll_seconds=args.poll_seconds)
    finally:
        bar.close()
    table = stats.refusal_rates(result.responses)
    with pd.option_context("display.max_rows", None, "display.width", 200,
                           "display.float_format", "{:.3f}".format):
        print(table[TABLE_COLUMNS].to_string(index=False))
    if args.out is not None:
        _write(table, args.out)
        print(f"wrote {len(table)} buckets to {args.out}")
    if args.responses is not None:
        _write(result.responses, args.responses)
        print(f"wrote {len(result.responses)} answers to {args.responses}")
    spent = result.progress
    cost = f"${table['cost_usd'].sum():.4f}" if table["cost_usd"].notna().all() else "unknown"
    print(f"tokens: {int(table['prompt_tokens'].sum())} prompt, {int(table['completion_tokens'].sum())} "
          f"completion; cost of these answers: {cost}; retries: {spent.retries}")
    print(result.stats.line())
    return 0
