"""Which layers of a causal language model a LoRA adapter adapts, found from the model.

    layout = targets.checkpoint_layout(folder)   # from config.json alone, no weights loaded
    layout.attention        # ("q_proj", "k_proj", "v_proj", "o_proj") for Llama, Qwen2, Gemma, Mistral
    layout.mlp              # ("gate_proj", "up_proj", "down_proj")
    targets.resolve("auto", layout)          # the attention projections
    targets.resolve("all-linear", layout)    # attention and MLP projections
    targets.resolve(("q_proj", "v_proj"), layout)   # checked against the model

The repeated transformer blocks are the longest list of modules of one class
(model.layers for Llama-style models, transformer.h for GPT-2). Inside a block,
every linear layer (torch Linear, or transformers' Conv1D in GPT-2) under a
submodule whose class is an attention class is an attention projection; the
other linear layers of the block are the MLP's. Each is named by the shortest
end of its path that picks out that layer and nothing else in the model (the
way peft matches target_modules): `q_proj` for Llama, but `attn.c_proj` for
GPT-2, whose MLP has a `c_proj` too. Names are listed in the order the model
defines them, so the same layers always hash to the same adapter id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from helpers.errors import UserError

AUTO = "auto"  # the attention projections (the default: what the paper-scale recipes adapt)
ALL_LINEAR = "all-linear"  # attention and MLP projections
CHOICES = (AUTO, ALL_LINEAR)
HINT = "pass them with --target-modules NAME,NAME (LoraSettings.target_modules)"


@dataclass(frozen=True)
class Layout:
    """What LoRA needs to know about a model's structure."""

    architecture: str  # the model class, e.g. LlamaForCausalLM
    blocks: str  # path of the list of transformer blocks, e.g. model.layers
    depth: int  # number of blocks
    attention: tuple[str, ...]  # target names of the attention projections, in model order
    mlp: tuple[str, ...]  # target names of the other linear layers of a block
    linear: tuple[str, ...]  # full names of every linear layer in the model (to check given names)
    parameters: int  # parameter count (decides gradient checkpointing)
    mixture_of_experts: bool  # the MLP is a mixture of experts (not detected, only its attention)
    conv1d: bool  # the projections are transformers' Conv1D (GPT-2): weights stored transposed

    @property
    def layers_pattern(self) -> str:
        """The name peft's layers_pattern wants: the last part of the blocks' path."""
        return self.blocks.rsplit(".", 1)[-1]


def _is_linear(module) -> bool:
    import torch

    return isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D"


def _blocks(model) -> tuple[str, object]:
    """(path, ModuleList) of the transformer blocks: the longest list of one class,
    preferring one as long as the config's layer count."""
    import torch

    config = getattr(model, "config", None)
    text = config.get_text_config() if config is not None and hasattr(config, "get_text_config") else config
    wanted = getattr(text, "num_hidden_layers", None)
    found = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0 \
                and len({type(m) for m in module}) == 1:
            found.append((len(module) == wanted, len(module), name, module))
    if not found:
        raise UserError(f"{type(model).__name__}: found no list of transformer blocks to adapt; {HINT}")
    _, _, name, module = max(found, key=lambda f: (f[0], f[1]))
    return name, module


def _is_attention(block, relative: str) -> bool:
    """Is the linear layer at `relative` (inside a block) inside an attention module?"""
    parts = relative.split(".")
    module = block
    for part in parts[:-1]:
        module = getattr(module, part)
        kind = type(module).__name__.lower()
        if "attention" in kind or "attn" in kind:
            return True
    return False


def _shortest_name(relative: str, blocks: str, depth: int, modules: set[str]) -> str:
    """The shortest end of `relative` that matches only this layer of the blocks
    (peft: a target matches a module whose name is it or ends with '.' + it)."""
    own = {f"{blocks}.{i}.{relative}" for i in range(depth)}
    parts = relative.split(".")
    for k in range(1, len(parts) + 1):
        suffix = ".".join(parts[-k:])
        hits = {m for m in modules if m == suffix or m.endswith("." + suffix)}
        if hits <= own:
            return suffix
    return f"{blocks}.{relative}"  # unreachable for well-formed models; still exact


def layout_of(model) -> Layout:
    """The layout of a model object (real or on the meta device)."""
    blocks, layers = _blocks(model)
    modules = {name for name, _ in model.named_modules()}
    linear = tuple(name for name, m in model.named_modules() if _is_linear(m))
    attention: list[str] = []
    mlp: list[str] = []
    expert = False
    for block in layers:
        for relative, module in block.named_modules():
            kind = type(module).__name__.lower()
            if "moe" in kind or "expert" in kind or "sparse" in kind:
                expert = True
            if not _is_linear(module):
                continue
            if any(part.isdigit() for part in relative.split(".")):
                expert = True  # numbered experts: not detected, they are given or left alone
                continue
            group = attention if _is_attention(block, relative) else mlp
            if relative not in group:
                group.append(relative)
    depth = len(layers)
    name = lambda rel: _shortest_name(rel, blocks, depth, modules)  # noqa: E731
    conv1d = any(type(m).__name__ == "Conv1D" for m in model.modules())
    return Layout(type(model).__name__, blocks, depth, tuple(map(name, attention)), tuple(map(name, mlp)),
                  linear, sum(p.numel() for p in model.parameters()), expert, conv1d)


def checkpoint_layout(folder: Path) -> Layout:
    """The layout of the transformers checkpoint in `folder`, built from its
    config.json on the meta device (no weights are read). Remembered per folder
    and config.json modification time."""
    config = Path(folder) / "config.json"
    try:
        stamp = config.stat().st_mtime_ns
    except OSError:
        raise UserError(f"{folder}: no config.json; not a transformers model directory") from None
    return _checkpoint_layout(str(folder), stamp)


@lru_cache(maxsize=16)
def _checkpoint_layout(folder: str, stamp: int) -> Layout:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(folder)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{folder}: transformers cannot build a causal language model from its config.json "
                        f"({first})") from None
    return layout_of(model)


def _explicit(names: tuple[str, ...], layout: Layout) -> tuple[str, ...]:
    """Given names, each checked to match a linear layer, in the model's order."""
    position: dict[str, int] = {}
    for name in names:
        hits = [i for i, full in enumerate(layout.linear) if full == name or full.endswith("." + name)]
        if not hits:
            known = ", ".join(layout.attention + layout.mlp) or "none found"
            raise UserError(f"target module '{name}' is not a linear layer of {layout.architecture} "
                            f"(its blocks' linear layers: {known})")
        position[name] = hits[0]
    return tuple(sorted(position, key=position.get))


def resolve(spec: str | tuple[str, ...], layout: Layout) -> tuple[str, ...]:
    """The target module names for "auto", "all-linear" or given names."""
    if spec == AUTO:
        if not layout.attention:
            others = ", ".join(layout.mlp) or "none"
            raise UserError(f"could not find the attention projections of {layout.architecture} "
                            f"(linear layers in its blocks: {others}); {HINT}")
        return layout.attention
    if spec == ALL_LINEAR:
        if layout.mixture_of_experts:
            raise UserError(f"{layout.architecture} has a mixture-of-experts MLP, whose layers are not "
                            f"detected; use --target-modules auto (attention only), or {HINT}")
        return resolve(AUTO, layout) + layout.mlp
    if isinstance(spec, str):
        raise UserError(f"target modules '{spec}': use {' or '.join(CHOICES)}, or names such as q_proj,v_proj")
    return _explicit(tuple(spec), layout)


def parse(text: str) -> str | tuple[str, ...]:
    """The --target-modules option: "auto", "all-linear" or comma-separated names."""
    text = text.strip()
    if text in CHOICES:
        return text
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise UserError(f"--target-modules '{text}': give {' or '.join(CHOICES)}, or names such as q_proj,v_proj")
    return names
