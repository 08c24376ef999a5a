"""`python -m helpers ...` with bad values: one line `error: ...`, exit status 2,
nothing on stdout, and a message naming the option, the value and what is allowed.

Each bad value is followed by an argument that would fail differently (a missing
file) if the check under test were removed, so a removed check fails the test
quickly instead of starting a run.
"""

from fractions import Fraction

import pytest

MISSING = "/nonexistent/none.toml"
RUN = ["--scenarios", MISSING]  # would fail as "file not found" after parsing
GAMES = ["--games", MISSING]
FINETUNE = ["--base", "openai/gpt-4o", "--jsonl", "/nonexistent/none.jsonl"]

SAMPLES = "must be a whole number from 1 to 100,000"

BAD_VALUES = [
    # floats must be finite and in range: nan would compare false with every bound
    (["run", "--max-cost", "nan"], "--max-cost must be a finite number of 0 or more, got nan"),
    (["run", "--max-cost", "inf"], "--max-cost must be a finite number of 0 or more, got inf"),
    (["run", "--max-cost", "-1"], "--max-cost must be a finite number of 0 or more, got -1"),
    (["run", "--timeout", "nan"], "--timeout must be a number above 0 and at most 3,600, got nan"),
    (["run", "--timeout", "0"], "--timeout must be a number above 0 and at most 3,600, got 0"),
    (["estimate", "--timeout", "1e9"], "--timeout must be a number above 0 and at most 3,600, got 1e9"),
    (["run", "--rpm", "nan"], "--rpm must be a finite number above 0, got nan"),
    (["run", "--rpm", "inf"], "--rpm must be a finite number above 0, got inf"),
    (["estimate", "--rpm", "0"], "--rpm must be a finite number above 0, got 0"),
    (["run", "--tpm", "nan"], "--tpm must be a finite number above 0, got nan"),
    (["run", "--tpm", "-5"], "--tpm must be a finite number above 0, got -5"),
    (["run", "--temperature", "3"], "--temperature must be a number from 0 to 2, got 3"),
    (["run", "--temperature", "-0.1"], "--temperature must be a number from 0 to 2, got -0.1"),
    (["run", "--temperature", "nan"], "--temperature must be a number from 0 to 2, got nan"),
    (["run", "--poll-seconds", "-1"], "--poll-seconds must be a number from 0 to 3,600, got -1"),
    # counts: huge (a MemoryError before), zero, negative, not whole
    (["run", "--samples", "100000000"], f"--samples {SAMPLES}, got 100000000"),
    (["estimate", "--samples", "100001"], f"--samples {SAMPLES}, got 100001"),
    (["run", "--samples", "0"], f"--samples {SAMPLES}, got 0"),
    (["run", "--samples", "-3"], f"--samples {SAMPLES}, got -3"),
    (["run", "--samples", "abc"], f"--samples {SAMPLES}, got 'abc'"),
    (["run", "--samples", "2.5"], f"--samples {SAMPLES}, got '2.5'"),
    (["run", "--max-tokens", "0"], "--max-tokens must be a whole number from 1 to 100,000, got 0"),
    (["run", "--reasoning-tokens", "-1"], "--reasoning-tokens must be a whole number from 1 to 100,000, got -1"),
    (["run", "--concurrency", "0"], "--concurrency must be a whole number from 1 to 1,000, got 0"),
    (["run", "--concurrency", "100000"], "--concurrency must be a whole number from 1 to 1,000, got 100000"),
    (["run", "--retries", "-1"], "--retries must be a whole number from 0 to 100, got -1"),
    (["run", "--level", "0"], "--level must be a whole number of 1 or more, got 0"),
    (["run", "--level", "-2"], "--level must be a whole number of 1 or more, got -2"),
    (["run", "--mode", "fast"], "--mode must be one of exact, sample, got 'fast'"),
    (["run", "--responses", "answers.json"], "--responses answers.json: use a .csv or .parquet file name"),
    # games
    (["games", "run", "--samples", "0"], f"--samples {SAMPLES}, got 0"),
    (["games", "run", "--samples", "100000000"], f"--samples {SAMPLES}, got 100000000"),
    (["games", "run", "--temperature", "inf"], "--temperature must be a number from 0 to 2, got inf"),
    (["games", "run", "--max-tokens", "-8"], "--max-tokens must be a whole number from 1 to 100,000, got -8"),
    (["games", "run", "--kappa", "1.5"], "--kappa must be a number from 0 to 1, got 1.5"),
    (["games", "run", "--out", "a.txt"], "--out a.txt: use a .csv or .parquet file name"),
    (["games", "optimal", "--kappa", "nan"], "--kappa must be a number from 0 to 1, got 'nan'"),
    (["games", "optimal", "--kappa", "-0.1"], "--kappa must be a number from 0 to 1, got -0.1"),
    (["games", "synth", "--kappa", "0.5", "--size", "0", "--out", "a.jsonl"],
     "--size must be a whole number from 1 to 100,000, got 0"),
    (["games", "synth", "--kappa", "0.5", "--size", "100000000", "--out", "a.jsonl"],
     "--size must be a whole number from 1 to 100,000, got 100000000"),
    (["games", "synth", "--kappa", "0.5", "--seed", "-1", "--out", "a.jsonl"],
     "--seed must be a whole number from 0 to 4,294,967,295, got -1"),
    (["games", "synth", "--kappa", "0.5", "--ties", "coin", "--out", "a.jsonl"],
     "--ties must be one of skip, random, got 'coin'"),
    (["games", "synth", "--kappa", "0.5", "--out", "a.csv"], "--out a.csv: use a .jsonl file name"),
    # finetune
    (["finetune", "--kind", "stories"], "--kind must be one of labels, labels-50, explanations, got 'stories'"),
    (["finetune", "--size", "0"], "--size must be a whole number from 1 to 100,000, got 0"),
    (["finetune", "--epochs", "0"], "--epochs must be a whole number from 1 to 100, got 0"),
    (["finetune", "--epochs", "1000"], "--epochs must be a whole number from 1 to 100, got 1000"),
    (["finetune", "--learning-rate", "nan"], "--learning-rate must be a number above 0 and at most 1, got nan"),
    (["finetune", "--learning-rate", "0"], "--learning-rate must be a number above 0 and at most 1, got 0"),
    (["finetune", "--rank", "0"], "--rank must be a whole number from 1 to 1,024, got 0"),
    (["finetune", "--max-steps", "-1"], "--max-steps must be a whole number from 1 to 1,000,000, got -1"),
    (["finetune", "--poll-seconds", "nan"], "--poll-seconds must be a number from 0 to 3,600, got nan"),
]


def _complete(argv: list[str]) -> list[str]:
    tail = {"run": RUN, "estimate": RUN, "games": GAMES, "finetune": FINETUNE}[argv[0]]
    return [*argv, *tail]


@pytest.mark.parametrize("argv, message", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_values_are_one_line_errors(run_cli, argv, message):
    code, out, err = run_cli(*_complete(argv))
    assert (code, out) == (2, "")
    assert err == f"error: {message}\n"


@pytest.mark.parametrize("argv, expected", [
    (["run", "--out", "x.txt"], "error: --out x.txt: use a .csv or .parquet file name"),
    (["run", "--scenario", "nope"], "error: unknown scenario id 'nope'; known ids are academic_integrity"),
    (["run", "--model", "gpt-4o"], "error: model 'gpt-4o' must be named provider/model"),
    (["run", "--variant", "stoic"], "error: unknown variant 'stoic'"),
    (["run", "--level", "7"], "error: --level 7: the chosen scenarios have levels 1 to 6"),
    (["run", "--bad"], "error: unrecognized arguments: --bad (see `python -m helpers --help`)"),
    (["games", "synth", "--kappa", "0.5"],
     "error: the following arguments are required: --out (see `python -m helpers games synth --help`)"),
    ([], "error: the following arguments are required: command (see `python -m helpers --help`)"),
])
def test_cli_argument_errors_are_one_line(run_cli, argv, expected):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == ""
    assert err.startswith(expected) and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, value", [
    (["run", "--samples", "100000", "--temperature", "2", "--max-cost", "0", "--rpm", "0.5", "--timeout", "3600"],
     {"samples": 100_000, "temperature": 2.0, "max_cost": 0.0, "rpm": 0.5, "timeout": 3600.0}),
    (["run", "--level", "1", "--level", "6", "--model", "openai/a", "--model", "openai/b"],
     {"levels": [1, 6], "models": ["openai/a", "openai/b"]}),
    (["games", "optimal", "--kappa", "1/3", "--kappa", "0.3"], {"kappas": [Fraction(1, 3), Fraction(3, 10)]}),
    (["games", "optimal"], {"kappas": (0, Fraction(1, 2), 1)}),
])
def test_values_at_the_limits_are_accepted(argv, value):
    from helpers.cli.main import _parser

    args = vars(_parser().parse_args(argv))
    assert {k: args[k] for k in value} == value


def test_help_states_the_caps(capsys):
    from helpers.cli.main import _parser

    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--samples N answers per bucket in sample mode" in text
    assert "(a whole number from 1 to 100,000; default 10)" in text
    assert "(a number from 0 to 2; default 1)" in text
