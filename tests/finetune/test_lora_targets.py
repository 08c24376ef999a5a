"""LoRA's target modules found from a model's structure: tiny randomly initialised
models of several architectures, built here from their transformers configs (no
download), and the real offline model, whose default must resolve to the very
settings (hence adapter ids) it had before detection existed."""

from dataclasses import asdict

import pytest
import torch
import transformers as tf

from helpers.errors import UserError
from helpers.finetune import lora, targets

BASE = "local/smollm2-135m-instruct"
SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=128, pad_token_id=0, bos_token_id=1, eos_token_id=2)
LLAMA_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
LLAMA_MLP = ("gate_proj", "up_proj", "down_proj")

# config, blocks' path, attention targets, MLP targets
ARCHITECTURES = {
    "llama": (lambda: tf.LlamaConfig(**SMALL), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "qwen2": (lambda: tf.Qwen2Config(**SMALL), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "qwen3": (lambda: tf.Qwen3Config(**SMALL, head_dim=8), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "mistral": (lambda: tf.MistralConfig(**SMALL), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "gemma": (lambda: tf.GemmaConfig(**SMALL, head_dim=8), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "gemma2": (lambda: tf.Gemma2Config(**SMALL, head_dim=8), "model.layers", LLAMA_ATTENTION, LLAMA_MLP),
    "phi3": (lambda: tf.Phi3Config(**SMALL), "model.layers", ("o_proj", "qkv_proj"), ("gate_up_proj", "down_proj")),  # its order
    # GPT-2: transformers' Conv1D layers, and a c_proj in both attention and MLP.
    "gpt2": (lambda: tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=128, bos_token_id=1, eos_token_id=2),
             "transformer.h", ("c_attn", "attn.c_proj"), ("c_fc", "mlp.c_proj")),
    "gpt_neox": (lambda: tf.GPTNeoXConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, vocab_size=128, bos_token_id=1, eos_token_id=2),
                 "gpt_neox.layers", ("query_key_value", "dense"), ("dense_h_to_4h", "dense_4h_to_h")),
    "opt": (lambda: tf.OPTConfig(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                                 vocab_size=128, word_embed_proj_dim=32, pad_token_id=0, bos_token_id=1,
                                 eos_token_id=2),
            "model.decoder.layers", ("k_proj", "v_proj", "q_proj", "out_proj"), ("fc1", "fc2")),
    "mpt": (lambda: tf.MptConfig(d_model=32, n_heads=4, n_layers=2, vocab_size=128), "transformer.blocks",
            ("Wqkv", "out_proj"), ("up_proj", "down_proj")),
}


def tiny(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(ARCHITECTURES[kind][0]()).float()


def adapted_modules(model) -> set[str]:
    """Names of the modules peft put LoRA weights into."""
    return {name.removesuffix(".lora_A").removeprefix("base_model.model.")
            for name, _ in model.named_modules() if name.endswith(".lora_A")}


@pytest.mark.parametrize("kind", ARCHITECTURES)
def test_attention_and_mlp_projections_are_found_for_each_architecture(kind):
    _, blocks, attention, mlp = ARCHITECTURES[kind]
    model = tiny(kind)
    layout = targets.layout_of(model)
    assert (layout.blocks, layout.depth, layout.attention, layout.mlp) == (blocks, 2, attention, mlp)
    assert targets.resolve("auto", layout) == attention
    assert targets.resolve("all-linear", layout) == attention + mlp
    assert layout.conv1d == (kind == "gpt2") and not layout.mixture_of_experts
    assert layout.parameters == sum(p.numel() for p in model.parameters())

    # peft, given the resolved names, adapts exactly those layers of every block.
    names = {full for full, _ in model.named_modules()}
    settings = lora.LoraSettings(target_modules=attention, top_layers=None)
    peft_model = lora.adapt(tiny(kind), settings, layout)
    want = {f"{blocks}.{i}.{rel}" for i in range(2) for rel in _relative(model, blocks, attention)}
    assert want <= names and adapted_modules(peft_model) == want
    every = lora.adapt(tiny(kind), lora.LoraSettings(target_modules=attention + mlp, top_layers=None), layout)
    assert adapted_modules(every) == want | {f"{blocks}.{i}.{rel}" for i in range(2)
                                             for rel in _relative(model, blocks, mlp)}


def _relative(model, blocks: str, names: tuple[str, ...]) -> set[str]:
    """Paths inside block 0 of the modules these target names match."""
    prefix = f"{blocks}.0."
    return {full.removeprefix(prefix) for full, _ in model.named_modules() if full.startswith(prefix)
            and any(full == prefix + n or full.endswith("." + n) for n in names)}


@pytest.mark.parametrize("kind", ["llama", "gpt2", "opt"])
def test_top_layers_adapts_only_the_last_blocks_whatever_the_blocks_are_called(kind):
    _, blocks, attention, _ = ARCHITECTURES[kind]
    model = tiny(kind)
    layout = targets.layout_of(model)
    adapted = adapted_modules(lora.adapt(model, lora.LoraSettings(target_modules=attention, top_layers=1), layout))
    assert adapted and all(name.startswith(f"{blocks}.1.") for name in adapted)


def test_given_names_are_checked_and_put_in_the_models_order():
    layout = targets.layout_of(tiny("llama"))
    # Any order, any spelling of the list: one tuple, so one adapter id.
    assert targets.resolve(("v_proj", "q_proj"), layout) == ("q_proj", "v_proj")
    assert lora.LoraSettings(target_modules="v_proj, q_proj").target_modules == ("v_proj", "q_proj")
    assert lora.LoraSettings(target_modules=["q_proj", "q_proj"]).target_modules == ("q_proj",)
    assert targets.resolve(("mlp.down_proj",), layout) == ("mlp.down_proj",)
    for bad in [("qkv",), ("self_attn",), ("q_proj", "lm")]:
        with pytest.raises(UserError, match="is not a linear layer of LlamaForCausalLM \\(its blocks' linear "
                                            "layers: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"):
            targets.resolve(bad, layout)
    with pytest.raises(UserError, match="target modules 'every': use auto or all-linear"):
        targets.resolve("every", layout)
    with pytest.raises(UserError, match="`target_modules` has an invalid value"):
        lora.LoraSettings(target_modules=" , ")


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(4, 8), torch.nn.Linear(8, 4)


class _NoAttention(torch.nn.Module):
    """A model whose blocks hold no attention module the detection knows."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([_Block(), _Block()])


def test_a_model_without_recognisable_attention_asks_for_the_names_in_one_line():
    layout = targets.layout_of(_NoAttention())
    assert layout.attention == () and layout.mlp == ("fc1", "fc2")
    with pytest.raises(UserError) as caught:
        targets.resolve("auto", layout)
    message = str(caught.value)
    assert message == ("could not find the attention projections of _NoAttention (linear layers in its blocks: "
                       "fc1, fc2); pass them with --target-modules NAME,NAME (LoraSettings.target_modules)")
    assert targets.resolve(("fc2",), layout) == ("fc2",)  # given, they are used
    with pytest.raises(UserError, match="found no list of transformer blocks"):
        targets.layout_of(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_mixture_of_experts_mlps_are_not_guessed():
    config = tf.MixtralConfig(**SMALL, num_local_experts=4, num_experts_per_tok=2)
    layout = targets.layout_of(tf.AutoModelForCausalLM.from_config(config))
    assert layout.mixture_of_experts and targets.resolve("auto", layout) == LLAMA_ATTENTION
    with pytest.raises(UserError, match="mixture-of-experts MLP, whose layers are not detected"):
        targets.resolve("all-linear", layout)


def test_the_option_text_is_parsed_once():
    assert targets.parse(" auto ") == "auto" and targets.parse("all-linear") == "all-linear"
    assert targets.parse("q_proj,v_proj,q_proj") == ("q_proj", "v_proj")
    with pytest.raises(UserError, match="--target-modules ','"):
        targets.parse(",")


@pytest.mark.slow
def test_the_offline_models_defaults_resolve_to_the_settings_it_always_had():
    layout = lora.layout(BASE)
    assert (layout.architecture, layout.blocks, layout.depth) == ("LlamaForCausalLM", "model.layers", 30)
    assert layout.attention == LLAMA_ATTENTION and layout.mlp == LLAMA_MLP
    # These are the hash inputs of the adapter id; before target detection the
    # defaults were exactly these (q/k/v/o_proj, the last 15 layers, bf16 where
    # the CPU computes it natively), so every existing adapter keeps its id.
    resolved = asdict(lora.resolve(lora.LoraSettings(), BASE))
    assert resolved == {"rank": 8, "alpha": 16, "dropout": 0.05, "learning_rate": 1e-3, "epochs": 3,
                        "batch_size": 8, "max_steps": None, "max_length": 256,
                        "target_modules": LLAMA_ATTENTION, "top_layers": 15, "seed": 0,
                        "precision": "bf16" if lora.native_bf16() else "fp32"}
    same = lora.LoraSettings(target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), top_layers=15)
    assert lora.adapter_id(b"x", BASE, same) == lora.adapter_id(b"x", BASE, lora.LoraSettings())
    assert lora.adapter_id(b"x", BASE, lora.LoraSettings(target_modules="all-linear")) != \
        lora.adapter_id(b"x", BASE, lora.LoraSettings())
    with pytest.raises(UserError, match="`top_layers` is 31, but the model has 30 layers"):
        lora.resolve(lora.LoraSettings(top_layers=31), BASE)
    assert lora.resolve(lora.LoraSettings(top_layers="all"), BASE).top_layers is None
