"""Every parameter a user can pass, defined once: type, default, allowed values, help.

The subcommands of `python -m helpers` build their argparse options from these
definitions, and the notebooks' parameter objects (helpers.notebook) read
`mo.cli_args()` through the same ones, so a value gets the same conversion, the
same range check and the same error wherever it is typed.

Where one flag means different things in the two studies it has two definitions
(EXCEPTION_SAMPLES = answers per bucket, GAME_SAMPLES = answers per game
setting). Where an entry point keeps its own default for the same meaning, the
group below says so with `.but(default=...)`. Upper bounds are there so that a
typo fails at once instead of as a MemoryError or a week-long run.
"""

from __future__ import annotations

from fractions import Fraction

from helpers.cli.option import Option
from helpers.finetune.datasets import KINDS as TRAINING_KINDS
from helpers.finetune.split import SPLIT_SEED as DEFAULT_SPLIT_SEED
from helpers.finetune.split import TRAIN_FRACTION as DEFAULT_TRAIN_FRACTION
from helpers.finetune.lora import LoraSettings
from helpers.humans.quality import RULES as EXCLUSION_RULES
from helpers.llm import DEFAULT_MODEL
from helpers.llm.capabilities import EFFORTS, parse_override
from helpers.llm.devices import DEVICES, DTYPES
from helpers.llm.throttle import ADAPTIVE_START, SERVER_MOST
from helpers.llm.units import REASONING_BUDGET

MAX_COUNT = 100_000  # answers per bucket or setting, examples per data set: a stated cap
MAX_TOKENS = 100_000  # per answer or reasoning turn
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit

# -- models and how to reach them ---------------------------------------------------
MODEL = Option("model", "str", "provider/model, repeatable", default=(DEFAULT_MODEL,), repeat=True,
               metavar="M", dest="models")
BASE_URL = Option("base-url", "str", "OpenAI-compatible server for openai/ models (or OPENAI_BASE_URL)",
                  metavar="URL")
TEMPERATURE = Option("temperature", "float", "sampling temperature", default=1.0, low=0, high=2, metavar="T")
RPM = Option("rpm", "float", "requests per minute per model, your account's limit; unpaced if not given",
             low=0, above=True)
TPM = Option("tpm", "float", "tokens per minute per model; unpaced if not given", low=0, above=True)
CONCURRENCY = Option("concurrency", "int", "requests in flight at once per server; found by measuring "
                     f"throughput ({ADAPTIVE_START} at first, up to {SERVER_MOST:,}) if not given; for a local/ "
                     "model, also the most prompts it batches at once", low=1,
                     high=SERVER_MOST)
RETRIES = Option("retries", "int", "retries per call before it counts as failed", default=5, low=0, high=100)
TIMEOUT = Option("timeout", "float", "seconds a whole request may take before it fails", default=60.0, low=0, above=True,
                 high=3_600, metavar="S")
POLL_SECONDS = Option("poll-seconds", "float", "seconds between status checks of a batch or fine-tuning job",
                      default=30.0, low=0, high=3_600, metavar="S")
REASONING_EFFORT = Option("reasoning-effort", "choice", "how much an openai/ reasoning model reasons before it "
                          "answers (sent as reasoning_effort; models.toml lists what each takes); its default "
                          "if not given", choices=EFFORTS, metavar="E")
REASONING_BUDGET = Option("reasoning-budget", "int", "tokens an openai/ reasoning model may spend reasoning per "
                          "answer, on top of --max-tokens (billed as output)", default=REASONING_BUDGET, low=0,
                          high=MAX_TOKENS)
CAPABILITY = Option("capability", "str", "override models.toml for this run's openai/ models, repeatable, e.g. "
                    "token_limit=max_completion_tokens or logprobs=no", default=(), repeat=True,
                    metavar="KEY=VALUE", dest="capabilities")
DEVICE = Option("device", "choice", "where local/ models run; auto: cuda if torch sees a GPU, else cpu "
                "(default EXCEPTIONS_DEVICE, else auto)", choices=DEVICES)
DTYPE = Option("dtype", "choice", "precision of local/ models; auto: bf16 on a GPU (fp16 where it has no bf16), "
               "fp32 on the CPU; all but fp32 go into the cache key (default EXCEPTIONS_DTYPE, else auto)",
               choices=DTYPES)
MAX_COST = Option("max-cost", "float", "refuse to start if the run could cost more than D dollars, "
                  "every answer max-tokens long; no limit if not given", low=0, metavar="D")

# -- the exceptions study ---------------------------------------------------------
SCENARIOS = Option("scenarios", "path", "scenarios TOML file (default scenarios.toml)")
SCENARIO = Option("scenario", "str", "only this scenario id, repeatable (default every scenario; "
                  "finetune pools them)", default=(), repeat=True, metavar="ID", dest="scenario_ids")
LEVEL = Option("level", "int", "only this level, 1 = most severe, repeatable; every level if not given "
               "(the control, level 0, is measured either way unless --no-control)",
               low=1, repeat=True, dest="levels")
NO_CONTROL = Option("no-control", "bool", "skip each scenario's control (level 0: the same situation with no "
                    "violation), which runs measure by default for the validity card", default=False)
VARIANT = Option("variant", "str", "prompt variant from variants.toml, repeatable", default=("baseline",),
                 repeat=True, metavar="V", dest="variants")
VARIANTS_FILE = Option("variants", "path", "variants TOML file (default variants.toml)", dest="variants_file")
MODE = Option("mode", "choice", "exact: first-token probabilities; sample: parsed sampled answers",
              default="exact", choices=("exact", "sample"))
EXCEPTION_SAMPLES = Option("samples", "int", "answers per bucket in sample mode, and chains per bucket "
                           "for multi-turn variants such as cot", default=10, low=1, high=MAX_COUNT)
ANSWER_TOKENS = Option("max-tokens", "int", "answer length limit in sample mode", default=48, low=1,
                       high=MAX_TOKENS)
REASONING_TOKENS = Option("reasoning-tokens", "int", "length limit of each reasoning turn of a multi-turn "
                          "variant such as cot", default=256, low=1, high=MAX_TOKENS)
BATCH = Option("batch", "bool", "use OpenAI's Batch API (half price, slower)", default=False)
TABLE_OUT = Option("out", "path", "write the bucket table (.csv or .parquet)", suffixes=(".csv", ".parquet"))
ARCHIVE_OUT = Option("out", "path", "the folder to write the archive to (new, or empty)", required=True,
                     metavar="DIR")
RESPONSES_OUT = Option("responses", "path", "write every answer, one row each (.csv or .parquet)",
                       suffixes=(".csv", ".parquet"))
EXAMPLES = Option("examples", "int", "sampled answers per variant shown in an answer viewer", default=2,
                  low=1, high=1_000)
HUMAN = Option("human", "path", "human-responses file (.csv/.parquet); default data/human_responses.csv, "
               "else illustrative (generated) answers")
EXCLUDE = Option("exclude", "choice", "leave out the human answers the survey's export flags, comma-separated or "
                 "repeatable: attention (the participant failed an attention check), fast (answered faster than "
                 "the study's minimum), paste (pasted text), study (the study's own rule); the filter is stated "
                 "beside every figure, and no file is changed (default none)", default=(),
                 choices=tuple(EXCLUSION_RULES), repeat=True, metavar="RULES")
MORALEXCEPTQA = Option("moralexceptqa", "path", "MoralExceptQA's complete_file.csv "
                       "(default ../shared/data/moralexceptqa/)")

# -- the survey server -------------------------------------------------------------
SURVEY_STUDY = Option("study", "str", "the study name stored with each participant (default: study.toml's "
                      "[study] id, else survey)")
SURVEY_SETTINGS = Option("settings", "path", "study settings TOML (default study.toml; built-in defaults if absent)",
                         suffixes=(".toml",))
HOST = Option("host", "str", "address to listen on; 0.0.0.0 serves the room's network", default="127.0.0.1",
              metavar="ADDR")
PORT = Option("port", "int", "port to listen on", default=2718, low=1, high=65_535)
CAPACITY = Option("capacity", "int", "participants at once the server is sized for (open files, connections); "
                  "more get a 'busy, retry' answer", default=200, low=1, high=10_000)

# -- fine-tuning ----------------------------------------------------------------------
SEED = Option("seed", "int", "random seed of the data draw and of training", default=0, low=0, high=MAX_SEED)
BASE = Option("base", "str", "local/<model>, e.g. local/smollm2-135m-instruct (LoRA on this machine: a GPU if torch "
              "sees one, else the CPU), or openai/<model> (OpenAI's service, no new jobs after models.toml's "
              "fine_tuning_ends)",
              required=True, metavar="MODEL")
KIND = Option("kind", "choice", "labels: answer Yes/No only; explanations: the decision and the "
              "participant's reason; labels-50: Yes/No of the very answers explanations draws (same size)",
              choices=TRAINING_KINDS)
SPLIT_SEED = Option("split-seed", "int", "seed of the participant split: who may train, who is held out for "
                    "in-scenario comparisons", default=DEFAULT_SPLIT_SEED, low=0, high=MAX_SEED)
TRAIN_FRACTION = Option("train-fraction", "float", "share of participants whose answers may train (the rest are "
                        "held out to compare with)", default=DEFAULT_TRAIN_FRACTION, low=0, above=True, high=0.99,
                        why="the others are held out for in-scenario comparisons, so some must be")
JSONL = Option("jsonl", "path", "train on a prepared chat fine-tuning JSONL (e.g. from `games synth`) instead "
               "of human answers; --human/--kind/--scenario/--size then do not apply")
TRAINING_SIZE = Option("size", "int", "examples to draw from the training participants; if not given, the "
                       "paper's 303 labels / 50 explanations (and labels-50), or all there are", low=1, high=MAX_COUNT)
DATASET_OUT = Option("out", "path", "where to write the JSONL dataset")
EPOCHS = Option("epochs", "int", f"passes over the data; if not given, {LoraSettings.epochs} for local "
                "bases and OpenAI's auto", low=1, high=100)
LEARNING_RATE = Option("learning-rate", "float", "local: LoRA learning rate", low=0, above=True, high=1)
RANK = Option("rank", "int", "local: LoRA rank", low=1, high=1_024)
MAX_STEPS = Option("max-steps", "int", "local: stop after this many optimiser steps", low=1, high=1_000_000)
TARGET_MODULES = Option("target-modules", "str", "local: the layers LoRA adapts: auto (the model's attention "
                        "projections, found from its structure), all-linear (those and the MLP's), or names "
                        "such as q_proj,v_proj", metavar="auto|all-linear|A,B")
TOP_LAYERS = Option("top-layers", "str", "local: adapt only the last N transformer layers, half (the default: the "
                    "upper half) or all", metavar="N|half|all")
GRADIENT_CHECKPOINTING = Option("gradient-checkpointing", "choice", "local: recompute activations in the backward "
                                "pass to save memory (auto: for models of 1B parameters and more; the adapter is "
                                "the same either way; default auto)", choices=("auto", "on", "off"))
DRY_RUN = Option("dry-run", "bool", "validate, count tokens and price the training, then stop", default=False)
SUFFIX = Option("suffix", "str", "OpenAI: a name part for the ft: model")
LABELS_SIZE = Option("labels-size", "int", "labels: answers per scenario, at most; every training participant's "
                     "if fewer (the paper: 303, all of its participants)", default=303, low=1,
                     high=MAX_COUNT)
EXPLANATIONS_SIZE = Option("explanations-size", "int", "explanations and labels-50: answers per scenario (the paper: 50)",
                           default=50, low=1, high=MAX_COUNT)
TRAIN_SCENARIO = Option("train-scenario", "str", "notebook 05: train one model on each of these scenarios",
                        default=(), repeat=True, metavar="ID", dest="train_scenarios")

# -- the economics study ------------------------------------------------------------
GAMES_FILE = Option("games", "path", "games TOML file (default games.toml)")
GAME = Option("game", "str", "only this game id, repeatable", repeat=True, metavar="ID", dest="game_ids")
KAPPAS = Option("kappa", "kappa", "κ, repeatable (0.3 or 1/3)", low=0, high=1, repeat=True, dest="kappas",
                default=(Fraction(0), Fraction(1, 2), Fraction(1)))
AGENT_KAPPA = Option("kappa", "kappa", "the agent's κ: 0 = homo economicus, above 0 = homo moralis",
                     low=0, high=1, required=True)
CHECK_KAPPA = Option("kappa", "kappa", "also report agreement with this κ's optimal choices", low=0, high=1)
MORALIS_KAPPA = Option("kappa", "kappa", "the homo moralis agent's κ", default=Fraction(1, 2), low=0, above=True,
                       high=1, why="κ = 0, homo economicus, is always measured")
GAME_SAMPLES = Option("samples", "int", "answers per game setting", default=3, low=1, high=MAX_COUNT)
GAME_TOKENS = Option("max-tokens", "int", "answer length limit; the choice opens the answer", default=8,
                     low=1, high=MAX_TOKENS)
SYNTH_SIZE = Option("size", "int", "number of examples", default=200, low=1, high=MAX_COUNT)
LABELS_ONLY = Option("labels-only", "bool", "answers without the derivation", default=False)
TIES = Option("ties", "choice", "tied optima: draw again (skip) or answer one at random", default="skip",
              choices=("skip", "random"))
SYNTH_OUT = Option("out", "path", "output .jsonl file", suffixes=(".jsonl",), required=True)
ANSWERS_OUT = Option("out", "path", "write the answers (.csv or .parquet)", suffixes=(".csv", ".parquet"))
OTHER_MODEL = Option("model", "str", "another agent to measure besides the offline ones (e.g. openai/gpt-6-luna), "
                     "repeatable", default=(), repeat=True, metavar="M", dest="models")
TRAIN_SIZE = Option("train-size", "int", "synthetic examples per agent type", default=64, low=1, high=MAX_COUNT)
TRAIN_EPOCHS = Option("train-epochs", "int", "passes over the synthetic data", default=2, low=1, high=100)
TRAIN_STEPS = Option("train-steps", "int", "stop training after this many optimiser steps", low=1,
                     high=1_000_000)
EXPLAIN = Option("explain", "bool", "train on the derivations too, not only the answers", default=False)
FINETUNE = Option("finetune", "bool", "fine-tune the agents (false: measure the base model only)", default=True)
ROUNDS = Option("rounds", "int", "rounds of repeated duopoly pricing", default=6, low=1, high=1_000)
SESSIONS = Option("sessions", "int", "sessions per pair of firms", default=1, low=1, high=1_000)
HUMAN_GAMES = Option("human-games", "path", "human game-choices file (.csv/.parquet) for notebook 07's human arm; "
                     "default data/human_games.csv, else illustrative (generated) choices",
                     suffixes=(".csv", ".parquet"))

# -- which entry point takes which (in --help order) ----------------------------------
RUN_AND_ESTIMATE = (MODEL, VARIANT, VARIANTS_FILE, MODE, EXCEPTION_SAMPLES, TEMPERATURE, ANSWER_TOKENS,
                    REASONING_TOKENS, REASONING_EFFORT, REASONING_BUDGET, CAPABILITY, SCENARIOS, SCENARIO, LEVEL,
                    NO_CONTROL, BASE_URL, RPM, TPM, CONCURRENCY, RETRIES, TIMEOUT, BATCH, DEVICE, DTYPE)
RUN_ONLY = (MAX_COST, POLL_SECONDS, TABLE_OUT, RESPONSES_OUT)
# An export takes the run's options, so the run's command line selects its answers
# (the pacing options among them change nothing: no call is made).
ARCHIVE_EXPORT = RUN_AND_ESTIMATE + (ARCHIVE_OUT,)
FINETUNE_CLI = (HUMAN, KIND, JSONL, SCENARIO, SCENARIOS, TRAINING_SIZE, SEED, SPLIT_SEED, TRAIN_FRACTION, BASE, DRY_RUN,
                DATASET_OUT, EPOCHS, LEARNING_RATE, RANK, MAX_STEPS, TARGET_MODULES, TOP_LAYERS,
                GRADIENT_CHECKPOINTING, BASE_URL, SUFFIX, POLL_SECONDS, DEVICE, DTYPE)
GAMES_COMMON = (GAMES_FILE, GAME)
SURVEY_SERVE = (SURVEY_STUDY, SURVEY_SETTINGS, SCENARIOS, GAMES_FILE, HOST, PORT, CAPACITY)
GAMES_OPTIMAL = (KAPPAS,)
GAMES_SYNTH = (AGENT_KAPPA, SYNTH_SIZE, SEED, LABELS_ONLY, TIES, SYNTH_OUT)
GAMES_RUN = (MODEL, GAME_SAMPLES, TEMPERATURE, GAME_TOKENS, REASONING_EFFORT, REASONING_BUDGET, CAPABILITY,
             BASE_URL, CHECK_KAPPA, ANSWERS_OUT, DEVICE, DTYPE)

# The notebooks keep their own defaults where a click should be cheap: a $5 spending
# guard on by default, and the notebook's own choice of variants. Notebooks 07-08
# ask 2 answers per setting (the CLI 3) because `make report` plays every setting
# with every agent.
NOTEBOOK = (MODEL, SCENARIOS, MODE, EXCEPTION_SAMPLES, TEMPERATURE, BASE_URL,
            MAX_COST.but(default=5.0, help="refuse runs estimated above D dollars"), RPM, HUMAN, EXCLUDE,
            MORALEXCEPTQA, VARIANT.but(default=()), SCENARIO, LEVEL, NO_CONTROL, ANSWER_TOKENS, REASONING_TOKENS,
            EXAMPLES, REASONING_EFFORT, REASONING_BUDGET)
TRAINING = (LABELS_SIZE, EXPLANATIONS_SIZE, EPOCHS.but(default=2, help="passes over the data"), MAX_STEPS, SEED,
            SPLIT_SEED, TRAIN_FRACTION, TRAIN_SCENARIO)
ECONOMICS = (OTHER_MODEL, BASE_URL, GAMES_FILE, MORALIS_KAPPA, GAME_SAMPLES.but(default=2),
             TEMPERATURE, GAME_TOKENS, TRAIN_SIZE, TRAIN_EPOCHS, TRAIN_STEPS, EXPLAIN, FINETUNE, ROUNDS, SESSIONS,
             RPM, SEED, REASONING_EFFORT, REASONING_BUDGET, HUMAN_GAMES)


def capability_overrides(texts) -> tuple:
    """The --capability KEY=VALUE options as (key, value) pairs, each checked (one-line errors)."""
    return tuple(parse_override(text) for text in texts or ())
