"""Fine-tune the offline model on the CPU: LoRA (peft) on a chat fine-tuning JSONL.

    result = train_adapter("explanations.jsonl", seed=0)
    result.model_name   # "local/smollm2-135m-instruct+<adapter id>", usable anywhere
    result.losses       # training loss per optimisation step

The adapter id is the first 16 hex digits of a SHA-256 over the training file's
bytes, the base model (name and weights hash) and every setting that changes
training, after "illustrative-" when the data are the generated illustrative
answers (so local/smollm2-135m-instruct+illustrative-<hex> says so wherever it
is named). The adapter is saved in cache/adapters/<id>/ with meta.json (data
hash, settings, losses, time), so the same data and settings a second time
load it instead of training again. Only assistant turns are learned (the
prompt tokens are masked out of the loss), as on OpenAI's service.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from helpers.llm import local_model
from helpers.finetune import datasets as sft
from helpers.errors import UserError

TRAINING_SCHEMA = 1  # bump when a change to the training code changes the adapters it makes
DEFAULT_BASE = f"local/{local_model.DEFAULT_LOCAL}"
# Seconds per optimiser step with the default settings (a batch of 8 explanation
# examples, about 900 tokens), measured by bench/bench_lora.py on this project's
# 2-core machine: with the cores to itself, and while other jobs kept both busy
# (load average about 5). For estimates only.
SECONDS_PER_STEP = (1.1, 9.5)


@dataclass(frozen=True)
class LoraSettings:
    """Everything besides the data that decides what an adapter learns."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    learning_rate: float = 1e-3
    epochs: int = 3
    batch_size: int = 8
    max_steps: int | None = None  # stop after this many steps even if epochs remain
    max_length: int = 256  # tokens per example; longer ones are cut (and counted)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # Adapt only the last N transformer layers (None: all). Gradients then stop at
    # the lowest adapted layer, so the upper half (15 of SmolLM2's 30) trains about
    # a third faster than all layers (bench/bench_lora.py), at some cost in fit.
    top_layers: int | None = 15
    seed: int = 0
    # Matrix products in bfloat16 (LoRA weights stay fp32) where the CPU computes
    # bf16 natively, about 1.7x less CPU per step; "auto" resolves to bf16 or fp32
    # before hashing, so the adapter id says which arithmetic made it.
    precision: str = "auto"

    def __post_init__(self) -> None:
        checks = {"rank": self.rank >= 1, "alpha": self.alpha > 0, "epochs": self.epochs >= 1,
                  "batch_size": self.batch_size >= 1, "max_length": self.max_length >= 16,
                  "learning_rate": 0 < self.learning_rate < 1, "dropout": 0 <= self.dropout < 1,
                  "max_steps": self.max_steps is None or self.max_steps >= 1,
                  "top_layers": self.top_layers is None or self.top_layers >= 1,
                  "precision": self.precision in ("auto", "bf16", "fp32")}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise UserError(f"LoRA setting `{bad[0]}` has an invalid value {getattr(self, bad[0])!r}")


@dataclass
class AdapterResult:
    model_name: str  # local/<base>+<adapter id>
    adapter_id: str
    path: Path
    losses: list[float]  # mean loss of each optimisation step
    steps: int
    examples: int
    seconds: float  # training time (of the original training when cached)
    cached: bool  # True when the adapter was found and nothing was trained
    settings: LoraSettings
    data_sha256: str
    truncated: int = 0  # examples longer than max_length
    meta: dict[str, Any] = field(default_factory=dict)


def native_bf16() -> bool:
    """Does this CPU compute bfloat16 natively (AVX-512 BF16 or AMX)? Elsewhere
    bf16 is emulated and slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve(settings: LoraSettings) -> LoraSettings:
    """Settings with precision "auto" replaced by what this machine will use."""
    if settings.precision != "auto":
        return settings
    return replace(settings, precision="bf16" if native_bf16() else "fp32")


def planned_steps(examples: int, settings: LoraSettings) -> int:
    """Optimisation steps a training run will take."""
    steps = math.ceil(examples / settings.batch_size) * settings.epochs
    return steps if settings.max_steps is None else min(steps, settings.max_steps)


def estimated_time(steps: int) -> str:
    """A rough training time for this many default-sized steps on a 2-core CPU,
    from idle to busy cores, e.g. '0.4-3.3 min'."""
    low, high = (steps * s / 60 for s in SECONDS_PER_STEP)
    return f"{low:.1f}-{high:.1f} min"


def _base_name(base: str) -> str:
    provider, _, name = base.partition("/")
    if provider != "local" or not name:
        raise UserError(f"LoRA trains local models; got base '{base}' (use {DEFAULT_BASE}, "
                        "or `finetune --base openai/...` for OpenAI's service)")
    if local_model.split_name(name)[1] is not None:
        raise UserError(f"base '{base}' already has an adapter; train on the plain base model")
    local_model.check_name(name)
    return name


def adapter_id(data: bytes, base: str, settings: LoraSettings) -> str:
    """The content hash that names an adapter: data bytes + base weights + settings."""
    name = _base_name(base)
    settings = resolve(settings)
    weights = local_model.gguf_path(name)
    from helpers.llm.naming import file_sha256

    payload = {"schema": TRAINING_SCHEMA, "base": name, "weights": local_model.weights_sha256(name),
               "data": hashlib.sha256(data).hexdigest(), "settings": asdict(settings)}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode(tokenizer, messages: list[dict[str, Any]], max_length: int) -> tuple[list[int], list[int], bool]:
    """Token ids and labels (-100 where no loss is taken) for one conversation.

    Each learnable assistant turn is located by templating the conversation up
    to it: the tokens it adds are the ones learned, including its end marker.
    """
    def template(upto: list[dict[str, Any]], prompt: bool) -> list[int]:
        clean = [{"role": m["role"], "content": m["content"]} for m in upto]
        return list(tokenizer.apply_chat_template(clean, tokenize=True, add_generation_prompt=prompt,
                                                  return_dict=True)["input_ids"])

    ids = template(messages, False)
    labels = [-100] * len(ids)
    for i, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight", 1) == 0:
            continue
        prefix, upto = template(messages[:i], True), template(messages[: i + 1], False)
        if ids[: len(prefix)] != prefix or ids[: len(upto)] != upto:
            raise UserError("the model's chat template does not extend a conversation turn by turn; "
                            "cannot tell which tokens to learn")
        labels[len(prefix): len(upto)] = upto[len(prefix):]
    truncated = len(ids) > max_length
    return ids[:max_length], labels[:max_length], truncated


def _batches(encoded, batch_size: int, epochs: int, seed: int, pad_id: int):
    """(input_ids, attention_mask, labels) tensors, reshuffled every epoch."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(encoded), generator=generator).tolist()
        for start in range(0, len(order), batch_size):
            chunk = [encoded[i] for i in order[start:start + batch_size]]
            width = max(len(ids) for ids, _, _ in chunk)
            ids = torch.full((len(chunk), width), pad_id)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            labels = torch.full((len(chunk), width), -100)
            for row, (i, lab, _) in enumerate(chunk):
                ids[row, : len(i)], mask[row, : len(i)], labels[row, : len(lab)] = (
                    torch.tensor(i), 1, torch.tensor(lab))
            yield ids, mask, labels


def _loss(causal_lm, ids, mask, labels):
    """Mean next-token loss over the learned tokens. The output layer (a 49k-word
    vocabulary) is applied only where a token is learned, which saves a large
    share of each step on short answers; the value equals transformers' loss."""
    import torch.nn.functional as F

    hidden = causal_lm.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal_lm.lm_head(hidden[:, :-1][keep]).float()  # the softmax in fp32 even under bf16
    return F.cross_entropy(logits, targets[keep])


def _load_cached(folder: Path, model_name: str, settings: LoraSettings) -> AdapterResult:
    meta = json.loads((folder / local_model.ADAPTER_META).read_text(encoding="utf-8"))
    return AdapterResult(model_name, meta["adapter_id"], folder, meta["losses"], meta["steps"],
                         meta["examples"], meta["seconds"], True, settings, meta["data_sha256"],
                         meta.get("truncated", 0), meta)


def _settings(settings: LoraSettings | None, seed: int, overrides: dict[str, Any]) -> LoraSettings:
    try:
        chosen = LoraSettings(**{**asdict(settings or LoraSettings()), "seed": seed, **overrides})
    except TypeError as exc:
        raise UserError(f"unknown LoRA setting: {exc}") from None
    return resolve(replace(chosen, target_modules=tuple(chosen.target_modules)))


ILLUSTRATIVE_PREFIX = "illustrative-"


def _named(ident: str, illustrative: bool) -> str:
    return f"{ILLUSTRATIVE_PREFIX}{ident}" if illustrative else ident


def find_adapter(jsonl_path: str | Path, *, base: str = DEFAULT_BASE, seed: int = 0,
                 settings: LoraSettings | None = None, illustrative: bool = False,
                 **overrides: Any) -> AdapterResult | None:
    """The adapter train_adapter would return for these arguments if it is in the
    cache already, else None; never trains (for showing cached results for free).
    illustrative: the data are illustrative (train_adapter reads it from metadata)."""
    settings = _settings(settings, seed, overrides)
    path = Path(jsonl_path)
    if not path.is_file():
        raise UserError(f"{path}: no such training file")
    ident = _named(adapter_id(path.read_bytes(), base, settings), illustrative)
    folder = local_model.adapter_path(ident)
    if not (folder / local_model.ADAPTER_META).is_file():
        return None
    return _load_cached(folder, f"local/{_base_name(base)}{local_model.ADAPTER_SEP}{ident}", settings)


def train_adapter(jsonl_path: str | Path, *, base: str = DEFAULT_BASE, seed: int = 0,
                  settings: LoraSettings | None = None,
                  progress: Callable[[int, int, float], None] | None = None,
                  metadata: dict[str, Any] | None = None, **overrides: Any) -> AdapterResult:
    """Train (or find) a LoRA adapter of a local model on a chat fine-tuning JSONL.

    jsonl_path: examples {"messages": [..., {"role": "assistant", ...}]} (sft.write_jsonl).
    base: the local model to adapt. seed: LoRA initialisation, shuffling, dropout.
    settings / overrides: LoraSettings, or its fields as keywords (rank=4, epochs=2, ...).
    progress(step, total_steps, loss) is called after every step. metadata: stored
    in meta.json as is (e.g. kind, scenarios, the data's provenance); with
    "illustrative": true the adapter id starts "illustrative-".
    Returns an AdapterResult; `.cached` says whether training was skipped.
    """
    settings = _settings(settings, seed, overrides)
    base_name = _base_name(base)
    path = Path(jsonl_path)
    report = sft.validate(path, base, epochs=settings.epochs)
    data = path.read_bytes()
    ident = _named(adapter_id(data, base, settings), bool((metadata or {}).get("illustrative")))
    model_name = f"local/{base_name}{local_model.ADAPTER_SEP}{ident}"
    folder = local_model.adapter_path(ident)
    if (folder / local_model.ADAPTER_META).is_file():
        return _load_cached(folder, model_name, settings)
    return _train(sft.read_jsonl(path), base_name, ident, model_name, folder, settings,
                  report.sha256, progress, metadata or {})


def _train(examples, base_name: str, ident: str, model_name: str, folder: Path, settings: LoraSettings,
           data_sha256: str, progress, metadata: dict[str, Any]) -> AdapterResult:
    import peft
    import torch
    from transformers import AutoModelForCausalLM

    local_model._quiet_transformers()
    tokenizer = local_model.load_tokenizer(base_name)
    encoded = [_encode(tokenizer, e["messages"], settings.max_length) for e in examples]
    truncated = sum(t for _, _, t in encoded)
    empty = [i for i, (_, labels, _) in enumerate(encoded, start=1) if all(v == -100 for v in labels)]
    if empty:
        raise UserError(f"example {empty[0]}: its prompt fills all {settings.max_length} tokens, leaving no "
                        "answer to learn; raise max_length or shorten the prompt")
    total = planned_steps(len(encoded), settings)
    torch.manual_seed(settings.seed)  # LoRA's initial weights and dropout draw from it
    model = AutoModelForCausalLM.from_pretrained(local_model.checkpoint_dir(base_name), dtype=torch.float32)
    depth = model.config.num_hidden_layers
    if settings.top_layers is not None and settings.top_layers > depth:
        raise UserError(f"LoRA setting `top_layers` is {settings.top_layers}, but the model has {depth} layers")
    layers = None if settings.top_layers is None else list(range(depth - settings.top_layers, depth))
    config = peft.LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                             target_modules=list(settings.target_modules), layers_to_transform=layers,
                             task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft asks transformers about a renamed attribute; nothing to act on
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = peft.get_peft_model(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    # Linear decay to zero over the run: large early steps, a settled end.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / total)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    losses: list[float] = []
    start = time.perf_counter()
    causal_lm = model.get_base_model()  # the same modules, with the LoRA layers inside
    for ids, mask, labels in _batches(encoded, settings.batch_size, settings.epochs, settings.seed, pad):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.precision == "bf16"):
            loss = _loss(causal_lm, ids, mask, labels)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(len(losses), total, losses[-1])
        if len(losses) >= total:
            break
    seconds = time.perf_counter() - start
    meta = {"adapter_id": ident, "model": model_name, "base": base_name, "data_sha256": data_sha256,
            "settings": asdict(settings), "losses": losses, "steps": len(losses), "examples": len(encoded),
            "truncated": truncated, "seconds": round(seconds, 2), "created": time.time(),
            "schema": TRAINING_SCHEMA, "threads": torch.get_num_threads(),
            "versions": {"torch": torch.__version__, "peft": peft.__version__}, "metadata": metadata}
    _save(model, folder, meta)
    return AdapterResult(model_name, ident, folder, losses, len(losses), len(encoded), seconds, False,
                         settings, data_sha256, truncated, meta)


def _save(model, folder: Path, meta: dict[str, Any]) -> None:
    # A temporary folder renamed at the end: an interrupted run never leaves an
    # adapter that a later run would trust; meta.json is written last.
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / local_model.ADAPTER_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process trained the same adapter first; keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def print_progress(step: int, total: int, loss: float) -> None:
    """A progress callback for scripts: one line per step on stderr."""
    print(f"step {step}/{total}  loss {loss:.4f}", file=sys.stderr, flush=True)
