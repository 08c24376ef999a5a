"""`python -m helpers games ...`: optimal choices, synthetic data, measured play.

    python -m helpers games optimal --kappa 0 --kappa 0.5
    python -m helpers games synth --kappa 0.3 --size 200 --seed 0 --out data/moralis_0.3.jsonl
    python -m helpers games run --model local/smollm2-135m-instruct --samples 3 --kappa 0.5

Registered in cli/main.py; the options are defined in cli/params.py; every bad argument is a one-line `error: ...` (exit 2).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from helpers.cli.option import add_options
from helpers.cli.params import GAMES_COMMON, GAMES_OPTIMAL, GAMES_RUN, GAMES_SYNTH, capability_overrides


def add_parser(commands) -> None:
    """Add the `games` command and its subcommands to the CLI's subparsers."""
    games = commands.add_parser("games", help="economic games: optimal choices, synthetic data, measured play")
    sub = games.add_subparsers(dest="games_command", required=True, parser_class=type(games))
    for name, text, options in (
            ("optimal", "optimal action(s) of homo moralis in every game setting", GAMES_OPTIMAL),
            ("synth", "write synthetic fine-tuning data (chat JSONL) for one κ", GAMES_SYNTH),
            ("run", "ask models every game setting; cooperation and implied κ", GAMES_RUN)):
        add_options(sub.add_parser(name, help=text), GAMES_COMMON + options)


def _load(args):
    from helpers.economics import games

    return games.select(games.load_games(args.games), args.game_ids)


def _print(table: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60,
                           "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))


def cmd_optimal(args) -> int:
    from helpers.economics.games import format_number
    from helpers.economics.preferences import choose, decision, switch_points

    rows = []
    for game in _load(args):
        for setting in game.settings:
            dec = decision(setting)
            row = {"game": game.id, "setting": setting.index, "payoffs": setting.describe(),
                   "switch at κ": ", ".join(format_number(k) for k in switch_points(dec)) or "-"}
            for kappa in args.kappas:
                best = choose(dec, kappa).best
                labels = {a.id: a.label for a in dec.actions}
                row[f"κ={format_number(kappa)}"] = "|".join(labels[b] for b in best)
            rows.append(row)
    _print(pd.DataFrame(rows))
    return 0


def cmd_synth(args) -> int:
    from helpers.economics import synthetic

    examples = synthetic.generate(_load(args), args.kappa, args.size, args.seed,
                                  explain=not args.labels_only, ties=args.ties)
    path = synthetic.write(examples, args.out, kappa=args.kappa, seed=args.seed,
                           explain=not args.labels_only, ties=args.ties,
                           games_file=str(args.games or "games.toml"))
    print(f"wrote {len(examples)} synthetic examples of {synthetic.agent_name(args.kappa)} to {path} "
          f"(and {path}.meta.json)")
    return 0


def cmd_run(args) -> int:
    from helpers.economics import games
    from helpers.economics import measures
    from helpers.economics import play
    from helpers.llm import lifecycle
    from helpers.llm.asking import AskConfig

    for message in lifecycle.warnings(args.models, base_url=args.base_url):
        print(f"warning: {message}", file=sys.stderr)
    settings = games.all_settings(_load(args))
    config = AskConfig(models=tuple(args.models), samples=args.samples,
                       temperature=args.temperature, max_tokens=args.max_tokens, base_url=args.base_url,
                       reasoning_effort=args.reasoning_effort, reasoning_budget=args.reasoning_budget,
                       capabilities=capability_overrides(args.capabilities))
    answers, result = play.play(config, settings)
    decisions = play.decisions(settings)
    rates = measures.cooperation_rates(answers, decisions)
    _print(rates[["model", "item", "n", "invalid", "failed", "cooperation", "ci_low", "ci_high"]])
    print()
    _print(measures.implied_kappas(answers, decisions))
    if args.kappa is not None:
        print()
        _print(measures.agreement(answers, decisions, float(args.kappa)))
    if args.out is not None:
        (answers.to_csv if args.out.suffix == ".csv" else answers.to_parquet)(args.out, index=False)
        print(f"wrote {len(answers)} answers to {args.out}")
    print("\n".join(result.stats.lines()))
    # 1: some answers failed or were not kept (the lines above say why; a rerun makes them).
    return 0 if result.stats.complete else 1


def main(args: argparse.Namespace) -> int:
    """Run a `games` subcommand (called from helpers.cli.main)."""
    return {"optimal": cmd_optimal, "synth": cmd_synth, "run": cmd_run}[args.games_command](args)
