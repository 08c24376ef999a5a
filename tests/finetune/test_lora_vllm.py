"""The saved adapter is peft's standard layout, in a form vLLM loads: trained on
the real offline model, it reloads with peft into a fresh base with the logits of
the model that was trained, and passes our mirror of vLLM's loading checks (vLLM
itself needs a GPU and is not run here; helpers.finetune.vllm says what was read)."""

import json
import shutil
import warnings

import pytest
import torch
import transformers as tf
from safetensors import safe_open
from safetensors.torch import save_file

from helpers.errors import UserError
from helpers.finetune import lora, targets
from helpers.finetune import vllm
from helpers.llm import local_model

from test_lora import yes_dataset

BASE = "local/smollm2-135m-instruct"
SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=128, pad_token_id=0, bos_token_id=1, eos_token_id=2)
PROMPTS = ["Can I return this after 31 days?", "The limit is 20 items; I have 21. May I use the fast lane?",
           "Yes or no: is 3 minutes late too late?"]


def saved_tiny_adapter(folder, config=None, **settings):
    """A LoRA adapter of a tiny random model, saved the way training saves it."""
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(config or tf.LlamaConfig(**SMALL)).float()
    layout = targets.layout_of(model)
    chosen = lora.LoraSettings(**{"target_modules": targets.resolve("auto", layout), "top_layers": 1, **settings})
    lora.adapt(model, chosen, layout).save_pretrained(str(folder))
    return folder


def rewrite_config(folder, **changes):
    path = folder / "adapter_config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_a_standard_adapter_passes_and_each_thing_vllm_refuses_is_named(tmp_path):
    good = saved_tiny_adapter(tmp_path / "good")
    assert vllm.check_vllm_layout(good, "LlamaForCausalLM") == []
    with safe_open(str(good / "adapter_model.safetensors"), framework="pt") as f:
        keys = sorted(f.keys())
    # Only the adapted (last) layer's tensors: vLLM adapts no module it has no tensors for.
    assert keys[0] == "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight" and len(keys) == 8
    cases = {
        "modules_to_save": ({"modules_to_save": ["lm_head"]}, "modules_to_save is ['lm_head']; vLLM only supports none"),
        "dora": ({"use_dora": True}, "use_dora is true; vLLM does not support DoRA"),
        "rank": ({"r": 1024}, "rank 1024 is above vLLM's largest --max-lora-rank (512)"),
        "bias": ({"bias": "all"}, "bias is 'all'; vLLM serves adapters without bias terms"),
        "patterns": ({"rank_pattern": {"q_proj": 4}}, "rank_pattern/alpha_pattern are set"),
        "type": ({"peft_type": "IA3"}, "peft_type is IA3"),
    }
    for name, (change, message) in cases.items():
        bad = tmp_path / name
        shutil.copytree(good, bad)
        rewrite_config(bad, **change)
        problems = vllm.check_vllm_layout(bad, "LlamaForCausalLM")
        assert len(problems) == 1 and problems[0].startswith(message), (name, problems)
        assert "\n" not in problems[0]
    config = json.loads((good / "adapter_config.json").read_text())
    # peft's layer selection is in the config; vLLM drops keys it does not know.
    assert config["layers_to_transform"] == [1] and config["layers_pattern"] == "layers"

    # Tensors vLLM would not know, or modules its Llama has no LoRA for.
    extra = tmp_path / "extra"
    shutil.copytree(good, extra)
    save_file({"base_model.model.model.embed_tokens.weight": torch.zeros(2, 2)}, extra / "adapter_model.safetensors")
    assert vllm.check_vllm_layout(extra, "LlamaForCausalLM") == [
        "tensor 'base_model.model.model.embed_tokens.weight' is not a lora_A/lora_B weight; vLLM would not know it"]
    other = tmp_path / "other"
    shutil.copytree(good, other)
    save_file({"base_model.model.model.layers.1.attn.c_fc.lora_A.weight": torch.zeros(2, 2)},
              other / "adapter_model.safetensors")
    assert vllm.check_vllm_layout(other, "LlamaForCausalLM")[0].startswith(
        "modules c_fc are not LoRA layers of vLLM's LlamaForCausalLM")
    assert vllm.check_vllm_layout(other, "SomethingElseForCausalLM") == []  # names not checked: unknown to us
    (other / "adapter_config.json").unlink()
    assert vllm.check_vllm_layout(other) == [f"no adapter_config.json in {other}"]


def test_gpt2_adapters_are_flagged(tmp_path):
    gpt2 = tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=128)
    folder = saved_tiny_adapter(tmp_path / "gpt2", gpt2)
    assert vllm.check_vllm_layout(folder)[0].startswith("fan_in_fan_out is true (Conv1D layers, as in GPT-2)")


def test_max_lora_rank_is_one_of_vllms_choices():
    assert [vllm.max_lora_rank(r) for r in (1, 2, 8, 9, 300, 512)] == [1, 8, 8, 16, 320, 512]
    with pytest.raises(UserError, match="LoRA rank 513 is above vLLM's largest --max-lora-rank \\(512\\)"):
        vllm.max_lora_rank(513)


def logits(model, tokenizer) -> torch.Tensor:
    """Next-token logits at every position of a few chat prompts, in fp32."""
    rows = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                return_tensors="pt", return_dict=True)["input_ids"]
            rows.append(model(input_ids=ids).logits[0].float())
    return torch.cat(rows)


@pytest.fixture
def directory_base(model_directory):
    """The shipped model as a directory, named by path."""
    return f"local/path:{model_directory}"


@pytest.mark.slow
def test_an_adapter_of_a_directory_model_reloads_with_the_same_logits_and_answers(repo, tmp_path, directory_base,
                                                                                   run_cli):
    from peft import PeftModel

    path = yes_dataset(repo, tmp_path / "yes.jsonl")
    name = directory_base.removeprefix("local/")
    tokenizer = local_model.load_tokenizer(name)
    kept = {}

    def keep(model):
        model.eval()
        kept["logits"] = logits(model, tokenizer)

    result = lora.train_adapter(path, base=directory_base, seed=0, batch_size=2, max_steps=3, learning_rate=2e-2,
                                on_trained=keep)
    assert result.model_name == f"{directory_base}+{result.adapter_id}"
    fresh = tf.AutoModelForCausalLM.from_pretrained(local_model.checkpoint_dir(name), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        reloaded = PeftModel.from_pretrained(fresh, str(result.path)).eval()
    assert (logits(reloaded, tokenizer) - kept["logits"]).abs().max() <= 1e-6
    assert vllm.check_vllm_layout(result.path) == []
    # The adapted directory model is a model like any other: the CLI measures it.
    code, out, err = run_cli("run", "--model", result.model_name, "--scenario", "grocery_prices",
                             "--level", "1", "--mode", "exact", "--no-control")
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "calls: 1 made, 0 cached, 0 failed"


@pytest.mark.slow
def test_a_trained_adapter_reloads_into_a_fresh_base_with_the_same_logits(repo, tmp_path):
    from peft import PeftModel

    path = yes_dataset(repo, tmp_path / "yes.jsonl")
    tokenizer = local_model.load_tokenizer(BASE.removeprefix("local/"))
    kept = {}

    def keep(model):
        model.eval()
        kept["logits"] = logits(model, tokenizer)

    # A large learning rate so the adapter moves the logits far from the base's.
    result = lora.train_adapter(path, base=BASE, seed=0, batch_size=2, max_steps=3, learning_rate=2e-2,
                                on_trained=keep)
    assert not result.cached and set(kept) == {"logits"}
    folder = result.path
    assert {"adapter_config.json", "adapter_model.safetensors", "meta.json"} <= {p.name for p in folder.iterdir()}

    fresh = tf.AutoModelForCausalLM.from_pretrained(local_model.checkpoint_dir(BASE.removeprefix("local/")),
                                                    dtype=torch.float32)
    plain = logits(fresh.eval(), tokenizer)
    with warnings.catch_warnings():  # peft asks transformers about a renamed attribute
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        reloaded = PeftModel.from_pretrained(fresh, str(folder)).eval()
    again = logits(reloaded, tokenizer)
    assert (kept["logits"] - plain).abs().max() > 1e-2  # the adapter changed the model
    assert (again - kept["logits"]).abs().max() <= 1e-6  # and peft reloads exactly that

    # The layout vLLM loads: LoRA A/B of the four attention projections of layers 15-29 only.
    assert vllm.check_vllm_layout(folder) == []
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["r"] == 8 and sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert not config.get("modules_to_save") and config["bias"] == "none" and not config["use_dora"]
    with safe_open(str(folder / "adapter_model.safetensors"), framework="pt") as f:
        keys = list(f.keys())
    layers = {int(k.split(".")[4]) for k in keys}
    assert len(keys) == 15 * 4 * 2 and layers == set(range(15, 30))
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["architecture"] == "LlamaForCausalLM" and meta["device"] == "cpu"
    assert meta["loss_on"] == "learned tokens" and meta["gradient_checkpointing"] is False
    base_dir = local_model.checkpoint_dir(BASE.removeprefix("local/"))
    assert vllm.serve_command(folder, base_dir, "yes-adapter") == (
        f"vllm serve {base_dir.resolve()} --enable-lora --lora-modules yes-adapter={folder.resolve()} "
        "--max-lora-rank 8")


@pytest.mark.slow
def test_checkpointing_trains_the_same_adapter(repo, tmp_path, monkeypatch):
    path = yes_dataset(repo, tmp_path / "yes.jsonl")
    runs = {}
    for mode in ("off", "on"):
        monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / f"cache-{mode}"))  # train twice, not find
        runs[mode] = lora.train_adapter(path, seed=0, batch_size=2, max_steps=2, learning_rate=5e-3,
                                        gradient_checkpointing=mode)
    off, on = runs["off"], runs["on"]
    assert not off.cached and not on.cached and off.adapter_id == on.adapter_id
    assert (off.meta["gradient_checkpointing"], on.meta["gradient_checkpointing"]) == (False, True)
    assert on.losses == pytest.approx(off.losses, rel=1e-4)
