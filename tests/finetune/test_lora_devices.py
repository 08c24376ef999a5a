"""Where LoRA trains and how: the device and arithmetic chosen by detection (the
GPU path is selected here by making torch report a GPU, the third-party boundary),
gradient checkpointing that changes memory but not the maths, and the loss on
learned tokens only that equals the loss on the model's own logits."""

from dataclasses import replace

import pytest
import torch
import transformers as tf

from helpers.errors import UserError
from helpers.finetune import lora, targets

BASE = "local/smollm2-135m-instruct"
SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=128, pad_token_id=0, bos_token_id=1, eos_token_id=2)


def fake_gpu(monkeypatch, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def tiny_llama(seed=0, **extra):
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(tf.LlamaConfig(**SMALL, **extra)).float()


def batch(seed=1, rows=3, width=12):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 128, (rows, width), generator=g)
    mask = torch.ones_like(ids)
    mask[0, -3:] = 0  # a padded row
    labels = ids.clone()
    labels[:, :5] = -100  # the prompt is not learned
    labels[mask == 0] = -100
    return ids, mask, labels


def test_the_plan_follows_the_detected_device_and_the_models_size(monkeypatch):
    layout = targets.layout_of(tiny_llama())
    assert lora.plan(layout) == lora.Plan("cpu", False)
    big = replace(layout, parameters=3_200_000_000)  # a 3B model: checkpointing pays for itself
    assert lora.plan(big) == lora.Plan("cpu", True)
    assert lora.plan(big, "off").checkpointing is False and lora.plan(layout, "on").checkpointing is True
    with pytest.raises(UserError, match="gradient checkpointing 'yes': use one of auto, on, off"):
        lora.plan(layout, "yes")
    fake_gpu(monkeypatch, bf16=True)
    assert lora.plan(layout).device == "cuda"
    monkeypatch.setenv("EXCEPTIONS_DEVICE", "cpu")  # the device option still wins
    assert lora.plan(layout).device == "cpu"


@pytest.mark.slow
def test_precision_auto_resolves_by_the_device_before_hashing(monkeypatch):
    cpu = lora.resolve(lora.LoraSettings(), BASE).precision
    assert cpu == ("bf16" if lora.native_bf16() else "fp32")
    fake_gpu(monkeypatch, bf16=True)
    assert lora.resolve(lora.LoraSettings(), BASE).precision == "bf16"
    fake_gpu(monkeypatch, bf16=False)  # an older GPU: fp32, and bf16 cannot be asked for
    assert lora.resolve(lora.LoraSettings(), BASE).precision == "fp32"
    with pytest.raises(UserError, match="this GPU does not compute bfloat16"):
        lora.resolve(lora.LoraSettings(precision="bf16"), BASE)
    # The id says which arithmetic made the adapter.
    assert lora.adapter_id(b"x", BASE, lora.LoraSettings(precision="fp32")) == \
        lora.adapter_id(b"x", BASE, lora.LoraSettings())


def one_step(checkpointing: bool):
    """Loss and LoRA gradients of one training step (dropout on) of a tiny model."""
    model = tiny_llama()
    layout = targets.layout_of(model)
    settings = lora.LoraSettings(target_modules=targets.resolve("all-linear", layout), top_layers=None,
                                 dropout=0.3)
    torch.manual_seed(5)
    peft_model = lora.adapt(model, settings, layout, checkpointing)
    # LoRA's B starts at zero; move it off so gradients reach A and the base's path.
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    calls = []
    layer = peft_model.get_base_model().model.layers[0]
    layer.self_attn.q_proj.base_layer.register_forward_hook(lambda *a: calls.append(1))
    torch.manual_seed(7)  # the dropout masks
    loss = lora._loss(peft_model.get_base_model(), *batch())
    loss.backward()
    grads = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads, len(calls)


def test_gradient_checkpointing_changes_memory_not_the_maths():
    plain_loss, plain, plain_calls = one_step(False)
    ckpt_loss, ckpt, ckpt_calls = one_step(True)
    # It really recomputed: the first block ran again in the backward pass.
    assert (plain_calls, ckpt_calls) == (1, 2)
    assert ckpt_loss == pytest.approx(plain_loss, rel=1e-6)
    assert plain.keys() == ckpt.keys() and len(plain) == 2 * 2 * 7  # A and B, 2 layers, 7 projections
    for name in plain:
        assert torch.allclose(plain[name], ckpt[name], rtol=1e-5, atol=1e-7), name
    assert any(g.abs().sum() > 0 for g in plain.values())


@pytest.mark.parametrize("config", [
    tf.LlamaConfig(**SMALL),
    tf.Gemma2Config(**SMALL, head_dim=8, final_logit_softcapping=3.0),  # a cap after the output layer
    tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=128),  # transformer.h, Conv1D
    tf.Qwen2Config(**SMALL, tie_word_embeddings=False),
], ids=["llama", "gemma2-softcap", "gpt2", "qwen2-untied"])
def test_the_learned_token_loss_equals_the_models_own_loss(config):
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(config).float().eval()
    ids, mask, labels = batch()
    with torch.no_grad():
        short = lora._loss(model, ids, mask, labels)
        full = lora._loss(model, ids, mask, labels, full=True)
        own = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert float(short) == pytest.approx(float(own), rel=1e-5)
    assert float(full) == pytest.approx(float(own), rel=1e-5)
    assert lora.first_batch_check(model, ids, mask, labels)


def test_a_model_that_scales_its_logits_gets_the_full_loss():
    # Cohere multiplies the output layer's logits by logit_scale: the shortcut would
    # learn from the wrong softmax, so the first-batch check turns it off.
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(tf.CohereConfig(**SMALL, logit_scale=0.25)).float()
    ids, mask, labels = batch()
    assert not lora.first_batch_check(model, ids, mask, labels)
    assert model.training  # the check leaves the mode as it found it
    with torch.no_grad():
        model.eval()
        own = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        assert float(lora._loss(model, ids, mask, labels, full=True)) == pytest.approx(float(own), rel=1e-5)
        assert float(lora._loss(model, ids, mask, labels)) != pytest.approx(float(own), rel=1e-3)
