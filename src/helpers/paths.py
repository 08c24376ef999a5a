"""Where things live. Every path the workspace reads or writes is defined here.

The workspace root is the repository checkout (found from this file when the
package is installed in editable mode) unless EXCEPTIONS_HOME says otherwise.
The cache can be moved on its own with EXCEPTIONS_CACHE (tests point it at a
temporary folder). These are functions, not constants, so that a change of the
environment variables takes effect without re-importing.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def home() -> Path:
    """The workspace root: EXCEPTIONS_HOME, else the checkout, else the cwd."""
    if env := os.environ.get("EXCEPTIONS_HOME"):
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "scenarios.toml").is_file():
        return checkout
    return Path.cwd()


def cache_dir() -> Path:
    """Root of everything cached: model calls, converted model weights, adapters."""
    if env := os.environ.get("EXCEPTIONS_CACHE"):
        return Path(env).expanduser().resolve()
    return home() / "cache"


def calls_cache_dir() -> Path:
    return cache_dir() / "calls"


def models_dir() -> Path:
    """Converted model weights; EXCEPTIONS_MODELS moves them apart from the call cache."""
    if env := os.environ.get("EXCEPTIONS_MODELS"):
        return Path(env).expanduser().resolve()
    return cache_dir() / "models"


def default_scenarios() -> Path:
    return home() / "scenarios.toml"


def prices_file() -> Path:
    return home() / "prices.toml"


def batches_dir() -> Path:
    """Records of submitted Batch API jobs, so a restarted run resumes polling."""
    return cache_dir() / "batches"


def adapters_dir() -> Path:
    """LoRA adapters of the offline model, one folder per content hash of data + settings."""
    return cache_dir() / "adapters"


def finetune_dir() -> Path:
    """OpenAI fine-tuning jobs in flight (so a restart resumes polling) and the
    registry of fine-tuned models (registry.json)."""
    return cache_dir() / "finetune"


def finetune_registry() -> Path:
    return finetune_dir() / "registry.json"


def tiktoken_dir() -> Path:
    return cache_dir() / "tiktoken"


def paper_reported_file() -> Path:
    return PACKAGE_DATA / "paper_reported.csv"



def data_dir() -> Path:
    """Human data the workspace collects or is given: EXCEPTIONS_DATA, else data/."""
    if env := os.environ.get("EXCEPTIONS_DATA"):
        return Path(env).expanduser().resolve()
    return home() / "data"


def survey_db() -> Path:
    """The survey's SQLite file: EXCEPTIONS_SURVEY_DB, else data/survey.sqlite."""
    if env := os.environ.get("EXCEPTIONS_SURVEY_DB"):
        return Path(env).expanduser().resolve()
    return data_dir() / "survey.sqlite"


def human_responses_file() -> Path:
    """The default human-responses file: the survey exports here and the notebooks
    compare with it when it exists (otherwise they use illustrative data)."""
    return data_dir() / "human_responses.csv"


def moralexceptqa_file() -> Path:
    """MoralExceptQA's complete_file.csv: EXCEPTIONS_MORALEXCEPTQA, else the shared
    copy next to the checkout (../shared/data/moralexceptqa/). Never committed."""
    if env := os.environ.get("EXCEPTIONS_MORALEXCEPTQA"):
        return Path(env).expanduser().resolve()
    return home().parent / "shared" / "data" / "moralexceptqa" / "complete_file.csv"
