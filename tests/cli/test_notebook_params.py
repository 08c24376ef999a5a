"""The notebooks' parameter objects read `mo.cli_args()` through the CLI's
definitions: same types, same ranges, same one-line UserErrors.

The dicts below are what marimo hands over: it has already turned "5" into 5,
"nan" into float('nan'), "true" into True and a repeated flag into a list.
"""

from pathlib import Path

import pytest

from helpers.errors import UserError
from helpers.notebook.economics import EconParams
from helpers.notebook.params import NotebookParams, check_run_arguments
from helpers.notebook.training import TrainingParams

NAN, INF = float("nan"), float("inf")
SAMPLES = "--samples must be a whole number from 1 to 100,000"

NOTEBOOK_BAD = [
    ({"max-cost": NAN}, "--max-cost must be a finite number of 0 or more, got nan"),
    ({"max-cost": INF}, "--max-cost must be a finite number of 0 or more, got inf"),
    ({"max-cost": -1}, "--max-cost must be a finite number of 0 or more, got -1"),
    ({"rpm": NAN}, "--rpm must be a finite number above 0, got nan"),
    ({"rpm": 0}, "--rpm must be a finite number above 0, got 0"),
    ({"temperature": 3}, "--temperature must be a number from 0 to 2, got 3"),
    ({"temperature": -INF}, "--temperature must be a number from 0 to 2, got -inf"),
    ({"samples": 100_000_000}, f"{SAMPLES}, got 100000000"),
    ({"samples": 0}, f"{SAMPLES}, got 0"),
    ({"samples": -4}, f"{SAMPLES}, got -4"),
    ({"samples": 2.5}, f"{SAMPLES}, got '2.5'"),  # int(2.5) would have made it 2
    ({"samples": "x"}, f"{SAMPLES}, got 'x'"),
    ({"samples": True}, f"{SAMPLES}, got 'true'"),
    ({"samples": ""}, f"--samples needs a value: a whole number from 1 to 100,000"),
    ({"samples": [1, 2]}, "--samples was given 2 times (1, 2); give it once"),
    ({"max-tokens": 0}, "--max-tokens must be a whole number from 1 to 100,000, got 0"),
    ({"reasoning-tokens": 10**9}, "--reasoning-tokens must be a whole number from 1 to 100,000, got 1000000000"),
    ({"examples": 0}, "--examples must be a whole number from 1 to 1,000, got 0"),
    ({"level": "1,0"}, "--level must be a whole number of 1 or more, got 0"),
    ({"level": [1, -6]}, "--level must be a whole number of 1 or more, got -6"),
    ({"level": "one"}, "--level must be a whole number of 1 or more, got 'one'"),
    ({"mode": "fast"}, "--mode must be one of exact, sample, got 'fast'"),
    ({"exclude": "speed"}, "--exclude must be one of attention, fast, paste, study, got 'speed'"),
    ({"exclude": "attention,Paste"}, "--exclude must be one of attention, fast, paste, study, got 'Paste'"),
    ({"exclude": ""}, "--exclude needs a value"),
    ({"model": ""}, "--model needs a value"),
    ({"scenarios": ""}, "--scenarios needs a value"),
    ({"sampels": 5}, "unknown notebook argument --sampels (did you mean --samples?); known: --base-url,"),
    # marimo reads `--samples -1` as two flags, --samples and --1
    ({"samples": "", "1": ""}, "unknown notebook argument -1 (a value starting with '-' reads as a flag: "
                               "write --option=-1); known: --base-url,"),
]

TRAINING_BAD = [
    ({"labels-size": 0}, "--labels-size must be a whole number from 1 to 100,000, got 0"),
    ({"explanations-size": 10**8}, "--explanations-size must be a whole number from 1 to 100,000, got 100000000"),
    ({"epochs": 0}, "--epochs must be a whole number from 1 to 100, got 0"),
    ({"train-fraction": 1}, "--train-fraction must be a number above 0 and at most 0.99, got 1; the others are "
                            "held out for in-scenario comparisons, so some must be"),
    ({"split-seed": -1}, "--split-seed must be a whole number from 0 to 4,294,967,295, got -1"),
    ({"epochs": NAN}, "--epochs must be a whole number from 1 to 100, got 'nan'"),
    ({"max-steps": -1}, "--max-steps must be a whole number from 1 to 1,000,000, got -1"),
    ({"seed": -1}, "--seed must be a whole number from 0 to 4,294,967,295, got -1"),
    ({"seed": 2**32}, "--seed must be a whole number from 0 to 4,294,967,295, got 4294967296"),
]

ECON_BAD = [
    ({"kapa": 0.3}, "unknown notebook argument --kapa (did you mean --kappa?)"),
    ({"kappa": 0}, "--kappa must be a number above 0 and at most 1, got 0; κ = 0, homo economicus, is always measured"),
    ({"kappa": 2}, "--kappa must be a number above 0 and at most 1, got 2; κ = 0"),
    ({"kappa": NAN}, "--kappa must be a number above 0 and at most 1, got 'nan'"),
    ({"samples": 0}, f"{SAMPLES}, got 0"),
    ({"samples": 10**9}, f"{SAMPLES}, got 1000000000"),
    ({"temperature": NAN}, "--temperature must be a number from 0 to 2, got nan"),
    ({"max-tokens": -8}, "--max-tokens must be a whole number from 1 to 100,000, got -8"),
    ({"rounds": "x"}, "--rounds must be a whole number from 1 to 1,000, got 'x'"),
    ({"rounds": 0}, "--rounds must be a whole number from 1 to 1,000, got 0"),
    ({"sessions": 10**6}, "--sessions must be a whole number from 1 to 1,000, got 1000000"),
    ({"train-size": 0}, "--train-size must be a whole number from 1 to 100,000, got 0"),
    ({"train-epochs": -1}, "--train-epochs must be a whole number from 1 to 100, got -1"),
    ({"train-steps": 0}, "--train-steps must be a whole number from 1 to 1,000,000, got 0"),
    ({"rpm": INF}, "--rpm must be a finite number above 0, got inf"),
    ({"seed": -1}, "--seed must be a whole number from 0 to 4,294,967,295, got -1"),
    ({"explain": "maybe"}, "--explain must be true or false, got 'maybe'"),
    ({"finetune": 2}, "--finetune must be true or false, got '2'"),
]


@pytest.mark.parametrize("args, message", NOTEBOOK_BAD, ids=[str(a) for a, _ in NOTEBOOK_BAD])
def test_notebook_params_reject(args, message):
    with pytest.raises(UserError) as caught:
        NotebookParams.from_cli(args)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("args, message", TRAINING_BAD, ids=[str(a) for a, _ in TRAINING_BAD])
def test_training_params_reject(args, message):
    with pytest.raises(UserError) as caught:
        TrainingParams.from_cli(args)
    assert str(caught.value) == message


@pytest.mark.parametrize("args, message", ECON_BAD, ids=[str(a) for a, _ in ECON_BAD])
def test_econ_params_reject(args, message):
    with pytest.raises(UserError) as caught:
        EconParams.from_cli(args)
    assert str(caught.value).startswith(message)


def test_notebook_defaults_and_values():
    p = NotebookParams.from_cli({})
    assert (p.models, p.mode, p.samples, p.temperature, p.max_cost, p.rpm) == (
        ("local/smollm2-135m-instruct",), "exact", 10, 1.0, 5.0, None)
    assert (p.variants, p.scenario_ids, p.levels, p.max_tokens, p.reasoning_tokens, p.examples) == (
        (), (), None, 48, 256, 2)
    assert p.scenarios.name == "scenarios.toml" and p.exclude == ()
    assert not hasattr(p, "study")  # the study name belongs to the survey server (survey serve --study)
    # notebook 03's own defaults, merged under the command line's, as the notebooks do
    p = NotebookParams.from_cli({"variant": "baseline,cot", "samples": 1, "level": "1,6",
                                 "reasoning-tokens": 48, "model": ["openai/a", "openai/b,openai/c"],
                                 "max-cost": 0, "rpm": 0.5, "scenarios": "mine.toml", "epochs": 3})
    assert p.variants == ("baseline", "cot") and p.levels == (1, 6) and p.samples == 1
    assert p.models == ("openai/a", "openai/b", "openai/c")
    assert (p.max_cost, p.rpm, p.scenarios, p.reasoning_tokens) == (0.0, 0.5, Path("mine.toml"), 48)
    assert NotebookParams.from_cli({"exclude": "attention,paste"}).exclude == ("attention", "paste")
    assert NotebookParams.from_cli({"exclude": ["study", "fast"]}).exclude == ("study", "fast")


def test_training_defaults_values_and_overrides():
    t = TrainingParams.from_cli({"model": "ignored/here"})
    assert (t.labels_size, t.explanations_size, t.epochs, t.max_steps, t.seed, t.train_scenarios) == (
        303, 50, 2, None, 0, ())
    assert (t.split_seed, t.train_fraction) == (0, 0.5)
    t = TrainingParams.from_cli({"train-scenario": "grocery_prices,hospitality", "max-steps": 4, "seed": 7})
    assert (t.train_scenarios, t.max_steps, t.seed) == (("grocery_prices", "hospitality"), 4, 7)
    assert t.settings() == {"epochs": 2, "max_steps": 4}
    assert TrainingParams.from_cli({}, epochs=5).epochs == 5
    assert TrainingParams.from_cli({"epochs": 1}, epochs=5).epochs == 1


def test_econ_defaults_and_values():
    from helpers.economics.agents import TrainPlan

    p = EconParams.from_cli({})
    assert (p.models, p.kappa, p.samples, p.max_tokens, p.finetune, p.rounds, p.sessions) == (
        (), 0.5, 2, 8, True, 6, 1)
    assert p.train == TrainPlan()  # the table's defaults are the plan's
    p = EconParams.from_cli({"kappa": 0.3, "samples": 4, "train-size": 24, "explain": True,
                             "model": "openai/gpt-4o-mini", "rounds": 3, "finetune": False})
    assert (p.kappa, p.samples, p.train.size, p.train.explain, p.rounds, p.finetune) == (0.3, 4, 24, True, 3, False)
    assert p.models == ("openai/gpt-4o-mini",)
    assert EconParams.from_cli({"kappa": "1/3"}).kappa == pytest.approx(1 / 3)
    assert EconParams.from_cli({"explain": ""}).train.explain is True  # a bare --explain


# The same bad value, typed on the command line and given to a notebook: the same words.
SHARED = [("samples", "0"), ("samples", "1000000000"), ("samples", "2.5"), ("samples", "-1"), ("temperature", "nan"), ("max-tokens", "0"),
          ("reasoning-tokens", "-1"), ("rpm", "inf"), ("max-cost", "nan"), ("level", "0"), ("mode", "fast")]


@pytest.mark.parametrize("name, text", SHARED)
def test_cli_and_notebook_say_the_same(run_cli, name, text):
    from marimo._cli.parse_args import parse_args  # how marimo reads a notebook's arguments

    code, _, err = run_cli("run", f"--{name}={text}", "--scenarios", "/nonexistent/none.toml")
    with pytest.raises(UserError) as caught:
        # "--samples -1" would read as two flags in marimo, so the notebook form is --samples=-1
        NotebookParams.from_cli(parse_args([f"--{name}={text}"]))
    assert code == 2 and err == f"error: {caught.value}\n"


def test_check_run_arguments_needs_levels_the_scenarios_have(repo):
    from helpers.exceptions.scenarios import load_scenarios

    scenarios = load_scenarios(repo / "scenarios.toml")
    check_run_arguments(NotebookParams.from_cli({"level": "1,6"}), scenarios)
    with pytest.raises(UserError, match="--level 7: the scenarios have levels 1 to 6"):
        check_run_arguments(NotebookParams.from_cli({"level": 7}), scenarios)
    with pytest.raises(UserError, match="unknown scenario id 'nope'"):
        check_run_arguments(NotebookParams.from_cli({"scenario": "nope"}), scenarios)

