"""`python -m helpers`: scripted runs from the shell.

    python -m helpers run --model local/smollm2-135m-instruct --mode exact
    python -m helpers run --model openai/gpt-4o-mini --mode sample --samples 20 --out out.csv

Every problem with the arguments or the input files is one line on stderr
(`error: ...`) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .errors import UserError

TABLE_COLUMNS = ["model", "variant", "scenario", "level", "n", "refusal_rate", "se",
                 "invalid", "failed", "yes_no_mass"]


class _Parser(argparse.ArgumentParser):
    # argparse prints usage plus a message; keep it to the one line we promise.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m helpers", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="measure refusal rates for every bucket")
    run.add_argument("--model", action="append", dest="models", metavar="M",
                     help="provider/model, repeatable (default: local/smollm2-135m-instruct)")
    run.add_argument("--variant", default="baseline", help="prompt variant (default: baseline)")
    run.add_argument("--mode", default="exact", choices=["exact", "sample"],
                     help="exact: first-token probabilities; sample: parsed sampled answers")
    run.add_argument("--samples", type=int, default=10, help="answers per bucket in sample mode")
    run.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    run.add_argument("--max-tokens", type=int, default=48, help="answer length limit (sample mode)")
    run.add_argument("--scenarios", type=Path, default=None, help="scenarios TOML file")
    run.add_argument("--scenario", action="append", dest="scenario_ids", metavar="ID",
                     help="only this scenario id (repeatable)")
    run.add_argument("--base-url", default=None,
                     help="OpenAI-compatible server for openai/ models (or OPENAI_BASE_URL)")
    run.add_argument("--out", type=Path, default=None, help="write the bucket table (.csv or .parquet)")
    return parser


def _write(table: pd.DataFrame, out: Path) -> None:
    if out.suffix == ".csv":
        table.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        raise UserError(f"--out {out}: use a .csv or .parquet file name")


def cmd_run(args: argparse.Namespace) -> int:
    from . import experiment, scenarios, stats
    from .models import DEFAULT_MODEL

    if args.out is not None and args.out.suffix not in (".csv", ".parquet"):
        raise UserError(f"--out {args.out}: use a .csv or .parquet file name")
    chosen = scenarios.select(scenarios.load_scenarios(args.scenarios), args.scenario_ids)
    config = experiment.RunConfig(
        models=tuple(args.models or [DEFAULT_MODEL]), variant=args.variant, mode=args.mode,
        samples=args.samples, temperature=args.temperature, max_tokens=args.max_tokens,
        base_url=args.base_url,
    )
    result = experiment.run(config, chosen)
    table = stats.refusal_rates(result.responses)
    with pd.option_context("display.max_rows", None, "display.width", 200,
                           "display.float_format", "{:.3f}".format):
        print(table[TABLE_COLUMNS].to_string(index=False))
    if args.out is not None:
        _write(table, args.out)
        print(f"wrote {len(table)} buckets to {args.out}")
    print(result.stats.line())
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return {"run": cmd_run}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: answers received so far are cached; rerun to continue", file=sys.stderr)
        return 130
