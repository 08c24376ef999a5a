"""Where things live. Every path the workspace reads or writes is defined here.

The workspace root is the repository checkout (found from this file when the
package is installed in editable mode) unless EXCEPTIONS_HOME says otherwise.
Three folders under it hold what the workspace writes, by how much they matter:

- cache/ (EXCEPTIONS_CACHE): derived, safe to delete (model answers are paid for,
  though: see cache/README.md);
- records/ (EXCEPTIONS_RECORDS): what cannot be rebuilt, such as which paid-for
  fine-tuned model came from which data and the OpenAI jobs still running; never
  delete it (see records/README.md);
- data/ (EXCEPTIONS_DATA): human data collected or given.

Tests point all three at a temporary folder. These are functions, not constants,
so that a change of the environment variables takes effect without re-importing.
"""

from __future__ import annotations

import os
import shutil
import sys
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


def default_variants() -> Path:
    return home() / "variants.toml"


def validity_file() -> Path:
    """The validity card's thresholds (validity.toml); optional: the defaults without it."""
    return home() / "validity.toml"


def prices_file() -> Path:
    return home() / "prices.toml"


def models_file() -> Path:
    """How openai/ models take requests and when they shut down (models.toml)."""
    return home() / "models.toml"


def games_file() -> Path:
    """The economic games (games.toml) at the workspace root."""
    return home() / "games.toml"


def records_dir() -> Path:
    """Root of the records that cannot be rebuilt: EXCEPTIONS_RECORDS, else records/."""
    if env := os.environ.get("EXCEPTIONS_RECORDS"):
        return Path(env).expanduser().resolve()
    return home() / "records"


def batches_dir() -> Path:
    """Records of submitted Batch API jobs, so a restarted run resumes polling
    instead of paying for the same requests again. Older checkouts kept them in
    cache/batches/; those are moved here the first time this is asked for."""
    folder = records_dir() / "batches"
    _adopt_folder(cache_dir() / "batches", folder)
    return folder


def adapters_dir() -> Path:
    """LoRA adapters of the offline model, one folder per content hash of data + settings."""
    return cache_dir() / "adapters"


def finetune_dir() -> Path:
    """Derived fine-tuning files (the training datasets); the records of jobs and
    models are under records_dir() (finetune_jobs_dir(), finetune_registry())."""
    return cache_dir() / "finetune"


def finetune_datasets_dir() -> Path:
    """Training files written from human answers, named by a hash of their content."""
    return finetune_dir() / "datasets"


def synthetic_dir() -> Path:
    """Synthetic fine-tuning data of the economic study (regenerated from a seed)."""
    return cache_dir() / "synthetic"


def finetune_jobs_dir() -> Path:
    """OpenAI fine-tuning jobs this workspace created, one JSON file each, so a
    restart resumes polling instead of paying for a second job. Moved here from
    cache/finetune/jobs/ the first time this is asked for."""
    folder = records_dir() / "finetune" / "jobs"
    _adopt_folder(cache_dir() / "finetune" / "jobs", folder)
    return folder


def finetune_registry() -> Path:
    """The registry of fine-tuned models (which data made which model). Moved here
    from cache/finetune/registry.json the first time this is asked for."""
    path = records_dir() / "finetune" / "registry.json"
    _adopt(cache_dir() / "finetune" / "registry.json", path)
    return path


def meta_sidecar(data_file: str | Path) -> Path:
    """The `<file>.meta.json` next to a training file that says what its data are."""
    return Path(f"{data_file}.meta.json")


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


def study_file() -> Path:
    """The survey's study settings (consent, platform, attention checks): study.toml."""
    return home() / "study.toml"


def human_games_file() -> Path:
    """The default human game-choices file: the survey exports the games module's
    choices here and notebook 07 compares with it when it exists (otherwise with
    illustrative choices)."""
    return data_dir() / "human_games.csv"


def moralexceptqa_file() -> Path:
    """MoralExceptQA's complete_file.csv: EXCEPTIONS_MORALEXCEPTQA, else the shared
    copy next to the checkout (../shared/data/moralexceptqa/). Never committed."""
    if env := os.environ.get("EXCEPTIONS_MORALEXCEPTQA"):
        return Path(env).expanduser().resolve()
    return home().parent / "shared" / "data" / "moralexceptqa" / "complete_file.csv"


# -- records kept under cache/ by older checkouts ------------------------------
# Records used to live in cache/, which its README calls safe to delete. They are
# moved the first time they are asked for: never overwritten (a hard link refuses
# an existing name), an identical copy at both places kept once, and two different
# files at the same name both kept, with one line on stderr saying so. Two
# processes may do this at once; whichever loses the race finds the work done.

_reported: set[Path] = set()  # conflicts already reported by this process


def _adopt_folder(old: Path, new: Path) -> None:
    """Move every record file of folder `old` into folder `new`."""
    if not old.is_dir() or _same_place(old, new):
        return
    try:
        items = sorted(old.iterdir())
    except FileNotFoundError:  # another process emptied and removed it meanwhile
        return
    for item in items:
        if item.is_file() and not item.name.startswith("."):  # dot files are unfinished writes
            _adopt(item, new / item.name)
    try:
        old.rmdir()  # only once empty: a kept conflict stays where the user can see it
    except OSError:
        pass


def _adopt(old: Path, new: Path) -> None:
    """Move one record from `old` to `new` unless that would lose or overwrite anything."""
    if not old.is_file() or _same_place(old, new):
        return
    new.parent.mkdir(parents=True, exist_ok=True)
    try:
        if not new.exists() and _place(old, new):
            old.unlink(missing_ok=True)
            return
        if new.is_file() and new.read_bytes() == old.read_bytes():
            old.unlink(missing_ok=True)  # the same record at both places: keep one
            return
    except FileNotFoundError:  # another process moved it meanwhile
        return
    if old not in _reported:
        _reported.add(old)
        print(f"note: {old} and {new} are different records; kept both and using {new}: "
              f"compare them, then delete {old} or merge it by hand", file=sys.stderr)


def _place(old: Path, new: Path) -> bool:
    """Put a copy of `old` at `new` if nothing is there yet; False if something is."""
    try:
        os.link(old, new)  # atomic, and fails rather than overwrite
        return True
    except FileExistsError:
        return False
    except OSError:  # another file system, or one without hard links
        pass
    # Copy beside the target first, so that `new` never holds half a record.
    partial = new.with_name(f".{new.name}.moving{os.getpid()}")
    shutil.copy2(old, partial)
    try:
        os.link(partial, new)
    except FileExistsError:
        return False
    except OSError:
        if new.exists():
            return False
        partial.replace(new)
    finally:
        partial.unlink(missing_ok=True)
    return True


def _same_place(old: Path, new: Path) -> bool:
    return old.resolve() == new.resolve()
