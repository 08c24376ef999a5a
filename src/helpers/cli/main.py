"""`python -m helpers`: scripted runs from the shell.

    python -m helpers run --model local/smollm2-135m-instruct --mode exact
    python -m helpers run --model openai/gpt-6-luna --mode sample --samples 20 \
        --reasoning-effort none --out out.csv
    python -m helpers archive export --model openai/gpt-6-luna --mode sample --samples 20 \
        --reasoning-effort none --out answers/
    python -m helpers report page reports/interactive/01_baseline.html -o reports/01_baseline.html
    python -m helpers survey serve --study workshop-1 --host 0.0.0.0

Every problem with the arguments or the input files is one line on stderr
(`error: ...`) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from helpers.cli import archive, finetune, games, report, run, survey
from helpers.errors import UserError


class UserArgumentParser(argparse.ArgumentParser):
    # argparse prints usage plus a message; keep it to the one line we promise.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = UserArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=UserArgumentParser)
    run.add_parsers(commands)
    finetune.add_parser(commands)
    games.add_parser(commands)
    archive.add_parser(commands)
    report.add_parser(commands)
    survey.add_parser(commands)
    return parser


def _placement(args: argparse.Namespace):
    """--device/--dtype hold for the whole command, so cache identities and loading
    agree (devices.chosen); without them nothing changes and no torch is imported."""
    device, dtype = getattr(args, "device", None), getattr(args, "dtype", None)
    if device is None and dtype is None:
        return contextlib.nullcontext()
    from helpers.llm import devices

    return devices.chosen(device, dtype)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        commands = {"run": run.cmd_run, "estimate": run.cmd_estimate, "games": games.main,
                    "finetune": finetune.main, "archive": archive.main, "report": report.main,
                    "survey": survey.main}
        with _placement(args):
            return commands[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: answers received so far are cached; rerun to continue", file=sys.stderr)
        return 130
