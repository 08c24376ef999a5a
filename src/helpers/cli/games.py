"""`python -m helpers games ...`: optimal choices, synthetic data, measured play.

    python -m helpers games optimal --kappa 0 --kappa 0.5
    python -m helpers games synth --kappa 0.3 --size 200 --seed 0 --out data/moralis_0.3.jsonl
    python -m helpers games run --model local/smollm2-135m-instruct --samples 3 --kappa 0.5

Registered in cli.py; every bad argument is a one-line `error: ...` (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from helpers.errors import UserError


def _kappa(text: str):
    from helpers.economics.preferences import as_kappa

    return as_kappa(text)


def add_parser(commands) -> None:
    """Add the `games` command and its subcommands to cli.py's subparsers."""
    games = commands.add_parser("games", help="economic games: optimal choices, synthetic data, measured play")
    sub = games.add_subparsers(dest="games_command", required=True, parser_class=type(games))
    for name, text in (("optimal", "optimal action(s) of homo moralis in every game setting"),
                       ("synth", "write synthetic fine-tuning data (chat JSONL) for one κ"),
                       ("run", "ask models every game setting; cooperation and implied κ")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--games", type=Path, default=None, help="games TOML file (default: games.toml)")
        cmd.add_argument("--game", action="append", dest="game_ids", metavar="ID",
                         help="only this game id (repeatable)")
        if name == "optimal":
            cmd.add_argument("--kappa", action="append", type=_kappa, dest="kappas", metavar="K",
                             help="κ in [0, 1], repeatable (default: 0, 0.5, 1)")
        if name == "synth":
            cmd.add_argument("--kappa", type=_kappa, required=True, metavar="K",
                             help="the agent's κ: 0 = homo economicus, above 0 = homo moralis")
            cmd.add_argument("--size", type=int, default=200, help="number of examples (default 200)")
            cmd.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
            cmd.add_argument("--labels-only", action="store_true", help="answers without the derivation")
            cmd.add_argument("--ties", default="skip", choices=["skip", "random"],
                             help="tied optima: draw again (skip) or answer one at random")
            cmd.add_argument("--out", type=Path, required=True, help="output .jsonl file")
        if name == "run":
            cmd.add_argument("--model", action="append", dest="models", metavar="M",
                             help="provider/model, repeatable (default: local/smollm2-135m-instruct)")
            cmd.add_argument("--samples", type=int, default=3, help="answers per setting (default 3)")
            cmd.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
            cmd.add_argument("--max-tokens", type=int, default=8, help="answer length limit")
            cmd.add_argument("--base-url", default=None, help="OpenAI-compatible server for openai/ models")
            cmd.add_argument("--kappa", type=_kappa, default=None, metavar="K",
                             help="also report agreement with this κ's optimal choices")
            cmd.add_argument("--out", type=Path, default=None, help="write the answers (.csv or .parquet)")


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

    kappas = args.kappas or [_kappa("0"), _kappa("0.5"), _kappa("1")]
    rows = []
    for game in _load(args):
        for setting in game.settings:
            dec = decision(setting)
            row = {"game": game.id, "setting": setting.index, "payoffs": setting.describe(),
                   "switch at κ": ", ".join(format_number(k) for k in switch_points(dec)) or "-"}
            for kappa in kappas:
                best = choose(dec, kappa).best
                labels = {a.id: a.label for a in dec.actions}
                row[f"κ={format_number(kappa)}"] = "|".join(labels[b] for b in best)
            rows.append(row)
    _print(pd.DataFrame(rows))
    return 0


def cmd_synth(args) -> int:
    from helpers.economics import synthetic

    if args.out.suffix != ".jsonl":
        raise UserError(f"--out {args.out}: use a .jsonl file name")
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
    from helpers.llm.asking import AskConfig
    from helpers.llm.models import DEFAULT_MODEL

    if args.out is not None and args.out.suffix not in (".csv", ".parquet"):
        raise UserError(f"--out {args.out}: use a .csv or .parquet file name")
    settings = games.all_settings(_load(args))
    config = AskConfig(models=tuple(args.models or [DEFAULT_MODEL]), samples=args.samples,
                       temperature=args.temperature, max_tokens=args.max_tokens, base_url=args.base_url)
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
    print(result.stats.line())
    return 0


def main(args: argparse.Namespace) -> int:
    """Run a `games` subcommand (called from cli.main)."""
    return {"optimal": cmd_optimal, "synth": cmd_synth, "run": cmd_run}[args.games_command](args)
