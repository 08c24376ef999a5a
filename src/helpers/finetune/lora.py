"""Fine-tune a local model: LoRA (peft) on a chat fine-tuning JSONL, on a GPU if there is one.

    result = train_adapter("explanations.jsonl", seed=0)   # base: the offline model
    result = train_adapter("explanations.jsonl", base="local/path:/models/Llama-3.2-3B-Instruct")
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

Any local model: the layers to adapt are found from the model's structure
(helpers.finetune.targets) or given, and "auto" settings resolve before hashing.
Where it trains (CUDA if torch sees a GPU, else the CPU: helpers.llm.devices) and
whether activations are recomputed (gradient checkpointing) change how fast and in
how much memory, not what is learned, so they are not in the id; the arithmetic
(precision) is. The saved folder is peft's standard layout (adapter_config.json,
adapter_model.safetensors), which vLLM serves (helpers.finetune.vllm, docs/vllm-lora.md).
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

from helpers.llm import devices, local_model
from helpers.finetune import datasets as sft
from helpers.finetune import targets
from helpers.errors import UserError

TRAINING_SCHEMA = 1  # bump when a change to the training code changes the adapters it makes
DEFAULT_BASE = f"local/{local_model.DEFAULT_LOCAL}"
# Seconds per optimiser step with the default settings (a batch of 8 explanation
# examples, about 900 tokens), measured by bench/bench_lora.py on this project's
# 2-core machine: with the cores to itself, and while other jobs kept both busy
# (load average about 5). For estimates only, and only for the offline model on a CPU.
SECONDS_PER_STEP = (1.1, 9.5)
# Gradient checkpointing ("auto") from this many parameters up: a 1B+ model's saved
# activations (of the order of 1 GB per block for a batch of 8 x 256 tokens at 3B)
# outgrow a GPU or this machine's memory, while a small model fits either way and would
# only pay the recomputation: 1.6-1.8x the CPU time per step for SmolLM2 on 2 cores
# (docs/vllm-lora.md), for a peak memory of 2.2 instead of 2.8 GiB.
CHECKPOINT_PARAMETERS = 1_000_000_000
CHECKPOINTING = ("auto", "on", "off")
HALF = "half"


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
    # The linear layers that get adapters: "auto" = the model's attention projections
    # (q/k/v/o_proj in Llama-style models such as SmolLM2), "all-linear" = those and
    # the MLP's, or names ("q_proj,v_proj"). Resolved to names before hashing.
    target_modules: tuple[str, ...] | str = targets.AUTO
    # Adapt only the last N transformer layers ("half": the upper half, 15 of SmolLM2's
    # 30; None or "all": every layer). Gradients then stop at the lowest adapted layer,
    # so the upper half trains about a third faster than all layers
    # (bench/bench_lora.py), at some cost in fit. Resolved to a number before hashing.
    top_layers: int | str | None = HALF
    seed: int = 0
    # Matrix products in bfloat16 (LoRA weights stay fp32) where the device computes
    # bf16 natively (a recent GPU; a CPU with AVX-512 BF16 or AMX: about 1.7x less CPU
    # per step), else fp32; "auto" resolves before hashing, so the adapter id says
    # which arithmetic made it.
    precision: str = "auto"

    def __post_init__(self) -> None:
        # Names may come as a list or "a,b" text; one form (a tuple) keeps hashes equal.
        names = self.target_modules
        if isinstance(names, str) and names.strip() in targets.CHOICES:
            names = names.strip()
        else:
            names = tuple(names.split(",")) if isinstance(names, str) else tuple(names)
            names = tuple(dict.fromkeys(str(n).strip() for n in names if str(n).strip()))
        object.__setattr__(self, "target_modules", names)
        if self.top_layers == "all":
            object.__setattr__(self, "top_layers", None)
        layers = self.top_layers
        checks = {"rank": self.rank >= 1, "alpha": self.alpha > 0, "epochs": self.epochs >= 1,
                  "batch_size": self.batch_size >= 1, "max_length": self.max_length >= 16,
                  "learning_rate": 0 < self.learning_rate < 1, "dropout": 0 <= self.dropout < 1,
                  "max_steps": self.max_steps is None or self.max_steps >= 1,
                  "target_modules": names != (),
                  "top_layers": layers is None or layers == HALF or (type(layers) is int and layers >= 1),
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


def layout(base: str = DEFAULT_BASE) -> targets.Layout:
    """The structure of a local base model (its blocks, attention and MLP layers),
    read from its checkpoint's config.json without loading the weights."""
    return targets.checkpoint_layout(local_model.checkpoint_dir(_base_name(base)))


def _precision(device: str) -> str:
    if device == "cuda":
        return "bf16" if devices.cuda_bf16() else "fp32"
    return "bf16" if native_bf16() else "fp32"


def resolve(settings: LoraSettings, base: str = DEFAULT_BASE) -> LoraSettings:
    """Settings with every "auto" replaced by what training `base` here will use:
    precision by the device (devices.placement()), target modules and top_layers
    by the model's structure. Given values are checked against the model."""
    shape = layout(base)
    precision = settings.precision
    if precision == "auto":
        precision = _precision(devices.placement().device)
    elif precision == "bf16" and devices.placement().device == "cuda" and not devices.cuda_bf16():
        raise UserError("LoRA precision bf16: this GPU does not compute bfloat16; use precision fp32 (or auto)")
    layers = settings.top_layers
    if layers == HALF:
        layers = max(1, shape.depth // 2)
    elif layers is not None and layers > shape.depth:
        raise UserError(f"LoRA setting `top_layers` is {layers}, but the model has {shape.depth} layers")
    return replace(settings, precision=precision, top_layers=layers,
                   target_modules=targets.resolve(settings.target_modules, shape))


@dataclass(frozen=True)
class Plan:
    """How a training run uses this machine; it changes speed and memory, never
    what is learned, so it is not part of the adapter id (meta.json records it)."""

    device: str  # "cuda" or "cpu" (devices.placement(): CUDA when torch sees a GPU)
    checkpointing: bool  # recompute each block's activations in the backward pass


def plan(shape: targets.Layout, gradient_checkpointing: str = "auto") -> Plan:
    """Where to train and whether to checkpoint: "auto" checkpoints models of
    CHECKPOINT_PARAMETERS and more, on any device."""
    if gradient_checkpointing not in CHECKPOINTING:
        raise UserError(f"gradient checkpointing '{gradient_checkpointing}': use one of {', '.join(CHECKPOINTING)}")
    on = {"on": True, "off": False}.get(gradient_checkpointing, shape.parameters >= CHECKPOINT_PARAMETERS)
    return Plan(devices.placement().device, on)


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
    settings = resolve(settings, base)
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
        try:
            out = tokenizer.apply_chat_template(clean, tokenize=True, add_generation_prompt=prompt, return_dict=True)
        except Exception as exc:  # jinja's TemplateError and the tokenizer's ValueError, by model
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"the model's chat template rejects this conversation ({first})") from None
        return list(out["input_ids"])

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


def _pad_id(tokenizer) -> int:
    # Padded positions are masked out of attention and loss, so any id will do
    # when a tokenizer names neither a pad nor an end token.
    return next((i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id) if i is not None), 0)


def _head(causal_lm, hidden):
    """The model's output layer on some hidden states, with the logit soft-capping
    Gemma 2 and 3 apply after it (their forward does the same)."""
    import torch

    logits = causal_lm.get_output_embeddings()(hidden)
    cap = getattr(causal_lm.config.get_text_config(), "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def _loss(causal_lm, ids, mask, labels, full: bool = False):
    """Mean next-token loss over the learned tokens. By default the output layer
    (a 49k-word vocabulary for SmolLM2, up to 256k for Gemma) is applied only where
    a token is learned, which saves a large share of each step on short answers;
    the value equals the loss on the model's own logits, which full=True computes
    (first_batch_check decides which a model gets)."""
    import torch.nn.functional as F

    targets_ = labels[:, 1:]
    keep = targets_ != -100
    if full:
        logits = causal_lm(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, :-1][keep]
    else:
        backbone = causal_lm.base_model
        hidden = backbone(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        logits = _head(causal_lm, hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets_[keep])  # the softmax in fp32 even under bf16


def first_batch_check(causal_lm, ids, mask, labels) -> bool:
    """Does the learned-tokens shortcut give the loss of the model's own logits?
    Checked once per run in fp32 on two rows of the first batch; a model whose
    forward does more after its output layer (a scale, another cap) gets the full
    logits instead, which costs time, never correctness."""
    import torch

    if causal_lm.base_model is causal_lm or causal_lm.get_output_embeddings() is None:
        return False
    was_training = causal_lm.training
    causal_lm.eval()
    try:
        with torch.no_grad():
            rows = slice(0, 2)
            short = _loss(causal_lm, ids[rows], mask[rows], labels[rows])
            full = _loss(causal_lm, ids[rows], mask[rows], labels[rows], full=True)
    except (AttributeError, TypeError):  # a backbone without last_hidden_state or use_cache
        return False
    finally:
        causal_lm.train(was_training)
    return bool(abs(short - full) <= 1e-4 * max(1.0, abs(float(full))))


def _load_cached(folder: Path, model_name: str, settings: LoraSettings) -> AdapterResult:
    meta = json.loads((folder / local_model.ADAPTER_META).read_text(encoding="utf-8"))
    return AdapterResult(model_name, meta["adapter_id"], folder, meta["losses"], meta["steps"],
                         meta["examples"], meta["seconds"], True, settings, meta["data_sha256"],
                         meta.get("truncated", 0), meta)


def _settings(settings: LoraSettings | None, seed: int, overrides: dict[str, Any], base: str) -> LoraSettings:
    try:
        chosen = LoraSettings(**{**asdict(settings or LoraSettings()), "seed": seed, **overrides})
    except TypeError as exc:
        raise UserError(f"unknown LoRA setting: {exc}") from None
    return resolve(chosen, base)


ILLUSTRATIVE_PREFIX = "illustrative-"


def _named(ident: str, illustrative: bool) -> str:
    return f"{ILLUSTRATIVE_PREFIX}{ident}" if illustrative else ident


def find_adapter(jsonl_path: str | Path, *, base: str = DEFAULT_BASE, seed: int = 0,
                 settings: LoraSettings | None = None, illustrative: bool = False,
                 gradient_checkpointing: str = "auto", **overrides: Any) -> AdapterResult | None:
    """The adapter train_adapter would return for these arguments if it is in the
    cache already, else None; never trains (for showing cached results for free).
    illustrative: the data are illustrative (train_adapter reads it from metadata).
    gradient_checkpointing is accepted (and ignored) so that both take the same keywords."""
    settings = _settings(settings, seed, overrides, base)
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
                  metadata: dict[str, Any] | None = None, gradient_checkpointing: str = "auto",
                  on_trained: Callable[[Any], None] | None = None, **overrides: Any) -> AdapterResult:
    """Train (or find) a LoRA adapter of a local model on a chat fine-tuning JSONL.

    jsonl_path: examples {"messages": [..., {"role": "assistant", ...}]} (sft.write_jsonl).
    base: the local model to adapt. seed: LoRA initialisation, shuffling, dropout.
    settings / overrides: LoraSettings, or its fields as keywords (rank=4, epochs=2, ...).
    progress(step, total_steps, loss) is called after every step. metadata: stored
    in meta.json as is (e.g. kind, scenarios, the data's provenance); with
    "illustrative": true the adapter id starts "illustrative-".
    gradient_checkpointing: "auto" (models of 1B parameters and more), "on" or "off";
    the same adapter either way, so it is not part of the id.
    on_trained(peft_model) is called with the trained model once it is saved (not
    when the adapter came from the cache), e.g. to compare it with the saved one.
    Returns an AdapterResult; `.cached` says whether training was skipped.
    """
    settings = _settings(settings, seed, overrides, base)
    base_name = _base_name(base)
    run = plan(layout(base), gradient_checkpointing)
    path = Path(jsonl_path)
    report = sft.validate(path, base, epochs=settings.epochs)
    data = path.read_bytes()
    ident = _named(adapter_id(data, base, settings), bool((metadata or {}).get("illustrative")))
    model_name = f"local/{base_name}{local_model.ADAPTER_SEP}{ident}"
    folder = local_model.adapter_path(ident)
    if (folder / local_model.ADAPTER_META).is_file():
        return _load_cached(folder, model_name, settings)
    return _train(sft.read_jsonl(path), base_name, ident, model_name, folder, settings,
                  report.sha256, progress, metadata or {}, run, on_trained)


def adapt(model, settings: LoraSettings, shape: targets.Layout, checkpointing: bool = False):
    """The peft model: LoRA layers in `model` as the (resolved) settings say, and
    gradient checkpointing switched on if asked. Draws LoRA's initial weights
    from torch's global generator (seed it first)."""
    import peft

    layers = None if settings.top_layers is None else list(range(shape.depth - settings.top_layers, shape.depth))
    config = peft.LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                             target_modules=list(settings.target_modules), layers_to_transform=layers,
                             layers_pattern=shape.layers_pattern if layers is not None else None,
                             fan_in_fan_out=shape.conv1d, task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft asks transformers about a renamed attribute; nothing to act on
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = peft.get_peft_model(model, config)
    if checkpointing:
        causal_lm = model.get_base_model()
        # Non-reentrant checkpointing needs no gradient on the inputs (the base is
        # frozen) and replays dropout with the RNG state of the forward pass, so the
        # gradients are those of a step without it.
        kwargs = {"use_reentrant": False}
        try:
            if hasattr(causal_lm, "activation_checkpointing_enable"):  # transformers 5
                causal_lm.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                causal_lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        except ValueError:
            raise UserError(f"{shape.architecture} does not support gradient checkpointing; "
                            "train with gradient checkpointing off") from None
    model.train()
    return model


def _peak_mib(device: str) -> float:
    import resource

    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the process's peak, in KiB on Linux


def _train(examples, base_name: str, ident: str, model_name: str, folder: Path, settings: LoraSettings,
           data_sha256: str, progress, metadata: dict[str, Any], run: Plan, on_trained=None) -> AdapterResult:
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
    shape = layout(f"local/{base_name}")
    torch.manual_seed(settings.seed)  # LoRA's initial weights and dropout draw from it
    model = AutoModelForCausalLM.from_pretrained(local_model.checkpoint_dir(base_name), dtype=torch.float32)
    model = adapt(model, settings, shape, run.checkpointing).to(run.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    # Linear decay to zero over the run: large early steps, a settled end.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / total)
    pad = _pad_id(tokenizer)
    causal_lm = model.get_base_model()  # the same modules, with the LoRA layers inside
    first = [t.to(run.device) for t in next(_batches(encoded, settings.batch_size, 1, settings.seed, pad))]
    shortcut = first_batch_check(causal_lm, *first)
    if run.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    losses: list[float] = []
    start = time.perf_counter()
    for batch in _batches(encoded, settings.batch_size, settings.epochs, settings.seed, pad):
        ids, mask, labels = (t.to(run.device) for t in batch)
        with torch.autocast(run.device, dtype=torch.bfloat16, enabled=settings.precision == "bf16"):
            loss = _loss(causal_lm, ids, mask, labels, full=not shortcut)
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
            "device": run.device, "gradient_checkpointing": run.checkpointing,
            "loss_on": "learned tokens" if shortcut else "full logits",
            "architecture": shape.architecture, "layers": shape.depth, "parameters": shape.parameters,
            "peak_memory_mib": round(_peak_mib(run.device)),
            "versions": {"torch": torch.__version__, "peft": peft.__version__}, "metadata": metadata}
    _save(model, folder, meta)
    if on_trained is not None:
        on_trained(model)
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
