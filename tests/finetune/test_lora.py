"""LoRA on the real offline model: a few real training steps on the CPU, an
adapter that changes the model's yes/no probabilities, found in the cache the
second time, and usable as a model name like any other."""

import json

import pytest

from helpers.exceptions import experiment
from helpers.llm import local_model
from helpers.finetune import lora
from helpers import llm as models
from helpers.exceptions import scenarios
from helpers.finetune import datasets as sft
from helpers.errors import UserError
from helpers.exceptions.prompting import build_messages

BASE = "local/smollm2-135m-instruct"


def grocery(repo):
    return scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices"])


def yes_dataset(repo, path, n=8):
    """Every level of the grocery scenario, answered Yes with a reason."""
    (scenario,) = grocery(repo)
    examples = [{"messages": [*build_messages(scenario, 1 + i % 6),
                              {"role": "assistant", "content": "Yes. It is close enough to the limit."}]}
                for i in range(n)]
    return sft.write_jsonl(examples, path)


@pytest.mark.slow
def test_a_few_real_steps_change_the_answers_and_the_second_call_trains_nothing(repo, tmp_path):
    path = yes_dataset(repo, tmp_path / "yes.jsonl")
    steps = []
    result = lora.train_adapter(path, seed=0, batch_size=2, max_steps=3, learning_rate=5e-3,
                                progress=lambda s, t, loss: steps.append((s, t, loss)))
    assert not result.cached and result.steps == 3 and len(result.losses) == 3
    assert [s for s, _, _ in steps] == [1, 2, 3] and {t for _, t, _ in steps} == {3}
    assert all(0 < loss < 20 for loss in result.losses)
    assert result.losses[-1] < result.losses[0]  # it learns the answer it is shown
    assert result.model_name == f"{BASE}+{result.adapter_id}"
    assert result.path == local_model.adapter_path(result.adapter_id)
    assert (result.path / "adapter_model.safetensors").is_file()
    meta = json.loads((result.path / "meta.json").read_text())
    assert meta["losses"] == result.losses and meta["data_sha256"] == sft.file_sha256(path)
    assert meta["settings"]["max_steps"] == 3 and meta["base"] == "smollm2-135m-instruct"

    # The adapted model is measured like any other, through the cache.
    chosen = grocery(repo)
    levels = {"control": False}  # levels 1..6: the comparison below is level by level
    base_rows = experiment.run(experiment.RunConfig(models=(BASE,), **levels), chosen).responses
    # estimate takes the name too: tokens from the base tokenizer, $0, nothing cached yet.
    guess = experiment.estimate(experiment.RunConfig(models=(result.model_name,), **levels), chosen)
    assert (guess.answers, guess.cached, guess.cost) == (6, 0, 0)
    assert guess.prompt_tokens == base_rows["prompt_tokens"].sum()
    tuned = experiment.run(experiment.RunConfig(models=(result.model_name,), **levels), chosen)
    assert tuned.stats.made == 6
    # Trained only on "Yes", it refuses less than the base model at every level.
    drop = base_rows["p_refusal"].to_numpy() - tuned.responses["p_refusal"].to_numpy()
    assert (drop > 0.05).all(), drop
    again = experiment.run(experiment.RunConfig(models=(result.model_name,), **levels), chosen)
    assert (again.stats.made, again.stats.cached) == (0, 6)

    # The adapter's weights are part of the model's identity in cache keys.
    identity = models.identity(models.parse_model(result.model_name))
    base_identity = models.identity(models.parse_model(BASE))
    assert identity["model"] == result.model_name.removeprefix("local/")
    assert identity["weights"] == base_identity["weights"]
    assert len(identity["adapter"]) == 64 and "adapter" not in base_identity

    # Same data and settings: found in the cache, nothing trained.
    second = lora.train_adapter(path, seed=0, batch_size=2, max_steps=3, learning_rate=5e-3,
                                progress=lambda *a: pytest.fail("trained again"))
    assert second.cached and second.model_name == result.model_name and second.losses == result.losses


@pytest.mark.slow  # the settings resolve against the model's checkpoint (converted once per session)
def test_adapter_ids_hash_data_and_settings(repo, tmp_path):
    data = yes_dataset(repo, tmp_path / "a.jsonl").read_bytes()
    plain = lora.adapter_id(data, BASE, lora.LoraSettings())
    assert len(plain) == 16 and plain == lora.adapter_id(data, BASE, lora.LoraSettings())
    assert plain != lora.adapter_id(data + b"\n", BASE, lora.LoraSettings())
    assert plain != lora.adapter_id(data, BASE, lora.LoraSettings(seed=1))
    assert plain != lora.adapter_id(data, BASE, lora.LoraSettings(rank=4))


@pytest.mark.parametrize("name, message", [
    ("local/smollm2-135m-instruct+xyz", "the adapter after '\\+' must be 16 hex digits"),
    ("local/smollm2-135m-instruct+0123456789abcdef", "no adapter 0123456789abcdef in .*; train it with"),
    ("local/tiny+0123456789abcdef", "unknown local model 'tiny'"),
])
def test_bad_adapter_names_are_one_line(name, message, run_cli):
    with pytest.raises(UserError, match=message):
        models.parse_model(name)
    code, _, err = run_cli("run", "--model", name, "--scenario", "grocery_prices")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"base": "openai/gpt-4o"}, "LoRA trains local models"),
    ({"rank": 0}, "LoRA setting `rank` has an invalid value 0"),
    ({"learning_rate": 2.0}, "`learning_rate` has an invalid value"),
    ({"warmup": 3}, "unknown LoRA setting"),
])
def test_bad_training_requests(repo, tmp_path, kwargs, message):
    path = yes_dataset(repo, tmp_path / "a.jsonl")
    with pytest.raises(UserError, match=message):
        lora.train_adapter(path, **kwargs)
