"""The table of parameters itself: every number has a range, no entry point takes
a flag twice, and the command line's defaults are the library's defaults."""

import argparse

import pytest

from helpers.cli import params
from helpers.cli.option import Option

GROUPS = {name: value for name, value in vars(params).items()
          if isinstance(value, tuple) and value and all(isinstance(o, Option) for o in value)}
ENTRY_POINTS = {
    "run": params.RUN_AND_ESTIMATE + params.RUN_ONLY, "estimate": params.RUN_AND_ESTIMATE,
    "archive export": params.ARCHIVE_EXPORT,
    "finetune": params.FINETUNE_CLI, "games optimal": params.GAMES_COMMON + params.GAMES_OPTIMAL,
    "games synth": params.GAMES_COMMON + params.GAMES_SYNTH, "games run": params.GAMES_COMMON + params.GAMES_RUN,
    "NotebookParams": params.NOTEBOOK + params.TRAINING, "EconParams": params.ECONOMICS,
}


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_each_entry_point_takes_each_flag_once(name):
    options = ENTRY_POINTS[name]
    assert len({o.name for o in options}) == len(options)
    assert len({o.key for o in options}) == len(options)


def test_every_number_has_a_range_and_every_count_a_cap():
    numbers = {o.name: o for group in GROUPS.values() for o in group if o.kind in ("int", "float", "kappa")}
    assert numbers, "the table has numeric parameters"
    assert [n for n, o in numbers.items() if o.low is None] == []
    # --level's upper bound depends on the scenarios file, checked once it is loaded
    uncapped = sorted(n for n, o in numbers.items() if o.kind == "int" and o.high is None)
    assert uncapped == ["level"]


def test_same_flag_different_meaning_has_its_own_help():
    assert params.EXCEPTION_SAMPLES.help != params.GAME_SAMPLES.help
    assert "bucket" in params.EXCEPTION_SAMPLES.help and "game setting" in params.GAME_SAMPLES.help
    assert (params.EXCEPTION_SAMPLES.default, params.GAME_SAMPLES.default) == (10, 3)
    assert dict((o.name, o.default) for o in params.ECONOMICS)["samples"] == 2
    assert dict((o.name, o.default) for o in params.NOTEBOOK)["samples"] == 10


def _args(*argv: str) -> argparse.Namespace:
    from helpers.cli.main import _parser

    return _parser().parse_args(list(argv))


def test_run_without_options_is_the_library_default_run():
    from helpers.cli.run import setup
    from helpers.exceptions.experiment import RunConfig
    from helpers.llm.engine import Limits

    _, config, limits = setup(_args("run"))
    assert config == RunConfig()
    assert limits == Limits()


def test_games_run_without_options_is_the_library_default_ask():
    from helpers.llm.asking import AskConfig

    args = _args("games", "run")
    built = AskConfig(models=tuple(args.models), samples=args.samples, temperature=args.temperature,
                      max_tokens=args.max_tokens, base_url=args.base_url)
    assert built == AskConfig()


def test_repeated_flags_replace_the_default_instead_of_adding_to_it():
    assert _args("run").models == ("local/smollm2-135m-instruct",)
    assert _args("run", "--model", "openai/a").models == ["openai/a"]
    assert _args("run", "--variant", "cot", "--variant", "virtue").variants == ["cot", "virtue"]
    assert _args("run").variants == ("baseline",)


def test_switches_are_off_unless_given():
    assert _args("run").batch is False and _args("run", "--batch").batch is True
    assert _args("games", "synth", "--kappa", "0", "--out", "a.jsonl").labels_only is False


@pytest.mark.parametrize("option", [o for group in GROUPS.values() for o in group if o.kind in ("int", "float")],
                         ids=lambda o: o.name)
def test_help_states_what_a_number_may_be(option):
    assert option.allowed() in option.help_text()
