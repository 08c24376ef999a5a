"""`python -m helpers survey serve`: the human survey's web server.

    python -m helpers survey serve --study workshop-1 --host 0.0.0.0 --port 2718
    python -m helpers survey serve --settings study.toml --capacity 300

Registered in cli/main.py; the options are defined in cli/params.py; `make survey`
calls it. The server itself is helpers.survey (serve.py, app.py); how to run a
study with it is docs/survey.md.
"""

from __future__ import annotations

import argparse

from helpers.cli.option import add_options
from helpers.cli.params import SURVEY_SERVE


def add_parser(commands) -> None:
    """Add the `survey` command and its subcommands to the CLI's subparsers."""
    survey = commands.add_parser("survey", help="the human survey: serve it to participants and the organiser")
    sub = survey.add_subparsers(dest="survey_command", required=True, parser_class=type(survey))
    add_options(sub.add_parser("serve", help="serve the survey (participants' pages and the organiser's page)"),
                SURVEY_SERVE)


def main(args: argparse.Namespace) -> int:
    from helpers.survey.keys import OrganiserKey
    from helpers.survey.serve import open_survey, serve

    key, key_text, generated = OrganiserKey.from_env()
    survey = open_survey(args.settings, args.study, args.scenarios, args.games, key=key)
    serve(survey, host=args.host, port=args.port, capacity=args.capacity, key_text=key_text,
          key_generated=generated)
    return 0
