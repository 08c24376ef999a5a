"""Is a saved LoRA adapter in a layout vLLM loads? A check of our own, mirroring
what vLLM's loader checks (vLLM itself is not installed here: it needs a GPU).

    problems = vllm.check_vllm_layout("cache/adapters/<id>")   # [] when vLLM should load it
    vllm.max_lora_rank(8)      # 8: the --max-lora-rank to serve a rank-8 adapter with
    vllm.serve_command(folder, base_dir, name)

What it mirrors, read in vllm-project/vllm (docs/vllm-lora.md lists the files):
- vllm/lora/peft_helper.py (PEFTHelper): adapter_config.json must give `r`,
  `lora_alpha` and `target_modules`; other keys it does not know are dropped
  (so peft's `layers_to_transform` and `layers_pattern` are ignored, not refused);
  `modules_to_save` must be empty and `use_dora` false; the rank must not exceed
  --max-lora-rank; `bias` other than "none" needed a flag in older versions and
  is not offered in newer ones.
- vllm/config/lora.py: --max-lora-rank is one of 1, 8, 16, 32, 64, 128, 256,
  320, 512 (MaxLoRARanks).
- vllm/lora/lora_model.py (LoRAModel.from_local_checkpoint): the tensors in
  adapter_model.safetensors are the source of truth; each is named
  `base_model.model.<module>.lora_A.weight` or `.lora_B.weight`, and the last
  part of <module> must be one of the model's LoRA-capable linear layers, else
  the adapter is refused ("expected target modules in ... but received ...").
  Modules with no tensors (layers a `layers_to_transform` adapter leaves alone)
  are simply not adapted (vllm/lora/model_manager.py, activate_adapter).
- vllm/lora/utils.py: every linear layer of vLLM's implementation of a model
  supports LoRA; for the Llama family its fused qkv_proj and gate_up_proj are
  unpacked to the checkpoint's q/k/v_proj and gate/up_proj
  (packed_modules_mapping in vllm/model_executor/models/qwen2.py, gemma2.py).
- vLLM never reads peft's `fan_in_fan_out`, so adapters of transformers' Conv1D
  layers (GPT-2) would be loaded transposed; its GPT-2 does not implement LoRA
  anyway (vllm/model_executor/models/gpt2.py: SupportsPP only).
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers.errors import UserError

MAX_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # vllm/config/lora.py, MaxLoRARanks
CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
# The LoRA-capable layer names (after unpacking) of the architectures whose vLLM
# code was read: Llama-style blocks with q/k/v/o and gate/up/down projections.
LLAMA_STYLE = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
VLLM_MODULES = {arch: LLAMA_STYLE for arch in (
    "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
    "GemmaForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM")}


def max_lora_rank(rank: int) -> int:
    """The smallest --max-lora-rank vLLM accepts that serves an adapter of this rank."""
    for choice in MAX_LORA_RANKS:
        if rank <= choice:
            return choice
    raise UserError(f"LoRA rank {rank} is above vLLM's largest --max-lora-rank ({MAX_LORA_RANKS[-1]})")


def _module_of(key: str) -> str | None:
    """The adapted module of a tensor name the way vLLM parses it, or None if vLLM
    would not know the name (parse_fine_tuned_lora_name)."""
    parts = key.split(".")
    if len(parts) < 3 or parts[-1] != "weight" or parts[-2] not in ("lora_A", "lora_B"):
        return None
    start = 2 if key.startswith("base_model.model.") else 0
    return ".".join(parts[start:-2])


def check_vllm_layout(folder: str | Path, architecture: str | None = None) -> list[str]:
    """One-line reasons vLLM would refuse (or mis-load) the adapter in `folder`;
    [] when it is in the layout vLLM loads. architecture: the base model's class
    (default: what meta.json records); names of modules are checked against the
    architectures in VLLM_MODULES, and only that they are plain linear-layer names
    for others."""
    folder = Path(folder)
    config_file, weights_file = folder / CONFIG, folder / WEIGHTS
    if not config_file.is_file():
        return [f"no {CONFIG} in {folder}"]
    if not weights_file.is_file():
        return [f"no {WEIGHTS} in {folder} (vLLM also reads .bin/.pt, which peft no longer writes)"]
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{config_file}: not JSON ({exc})"]
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type is {config.get('peft_type')}; vLLM's LoRA loader takes LoRA adapters only")
    missing = [k for k in ("r", "lora_alpha", "target_modules") if k not in config]
    if missing:
        problems.append(f"{CONFIG} lacks {', '.join(missing)} (PEFTHelper requires r, lora_alpha, target_modules)")
    rank = config.get("r")
    if isinstance(rank, int) and rank > MAX_LORA_RANKS[-1]:
        problems.append(f"rank {rank} is above vLLM's largest --max-lora-rank ({MAX_LORA_RANKS[-1]})")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save is {config['modules_to_save']}; vLLM only supports none")
    if config.get("use_dora"):
        problems.append("use_dora is true; vLLM does not support DoRA")
    if config.get("bias", "none") != "none":
        problems.append(f"bias is '{config['bias']}'; vLLM serves adapters without bias terms")
    if config.get("fan_in_fan_out"):
        problems.append("fan_in_fan_out is true (Conv1D layers, as in GPT-2); vLLM ignores it and has no "
                        "LoRA for such models")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        problems.append("rank_pattern/alpha_pattern are set; vLLM uses one rank and alpha for every layer")
    problems += _check_tensors(weights_file, architecture or _architecture(folder))
    return problems


def _architecture(folder: Path) -> str | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8")).get("architecture")
    except (OSError, json.JSONDecodeError):
        return None


def _check_tensors(weights_file: Path, architecture: str | None) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(weights_file), framework="pt") as f:
        keys = list(f.keys())
    if not keys:
        return [f"{weights_file.name} holds no tensors"]
    unknown = [k for k in keys if _module_of(k) is None]
    if unknown:
        return [f"tensor '{unknown[0]}' is not a lora_A/lora_B weight; vLLM would not know it"]
    names = {_module_of(k).rsplit(".", 1)[-1] for k in keys}
    allowed = VLLM_MODULES.get(architecture or "")
    if allowed is not None and not names <= allowed:
        return [f"modules {', '.join(sorted(names - allowed))} are not LoRA layers of vLLM's {architecture} "
                f"({', '.join(sorted(allowed))})"]
    return []


def serve_command(adapter_folder: str | Path, base_folder: str | Path, name: str) -> str:
    """The `vllm serve` line that serves this adapter as `name` on its base."""
    config = json.loads((Path(adapter_folder) / CONFIG).read_text(encoding="utf-8"))
    return (f"vllm serve {Path(base_folder).resolve()} --enable-lora "
            f"--lora-modules {name}={Path(adapter_folder).resolve()} --max-lora-rank {max_lora_rank(config['r'])}")
