"""`python -m helpers finetune`: builds the dataset, validates and prices it, trains
(LoRA on the offline model, or a job on the OpenAI protocol test server) and
prints the new model's name last; bad arguments are one line."""

import pytest

from helpers.finetune import registry

BASE = "local/smollm2-135m-instruct"


@pytest.mark.slow
def test_cli_trains_a_local_model_and_prints_its_name_last(run_cli, repo):
    code, out, err = run_cli("finetune", "--kind", "explanations", "--scenario", "grocery_prices",
                             "--size", "2", "--seed", "3", "--base", BASE, "--max-steps", "1")
    assert code == 0, err
    name = out.strip().splitlines()[-1]
    assert name.startswith(f"{BASE}+illustrative-") and "ILLUSTRATIVE" in err and "step 1/1" in err
    assert "examples         2" in out and "human (illustrative data)" in out
    entry = registry.find(name)
    assert entry["provider"] == "local" and entry["illustrative"] and entry["scenarios"] == ["grocery_prices"]
    assert entry["size"] == 2 and entry["seed"] == 3 and entry["kind"] == "explanations"
    assert entry["split_seed"] == 0 and entry["train_fraction"] == 0.5 and entry["evaluation_participants"] == 151
    # How to serve it with vLLM: its base's converted checkpoint, the adapter's folder.
    (serve,) = [line for line in out.splitlines() if line.startswith("vLLM")]
    adapter = name.split("+")[1]
    assert f"--lora-modules {adapter}=" in serve and serve.endswith("--max-lora-rank 8")
    assert "vllm serve " in serve and "smollm2-135m-instruct --enable-lora" in serve
    code, out, err = run_cli("run", "--model", name, "--scenario", "grocery_prices")
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "calls: 7 made, 0 cached, 0 failed"  # the control and 6 levels
    # The same command again finds the adapter instead of training.
    code, out, err = run_cli("finetune", "--kind", "explanations", "--scenario", "grocery_prices",
                             "--size", "2", "--seed", "3", "--base", BASE, "--max-steps", "1")
    assert out.strip().splitlines()[-1] == name and "found in the cache" in out and "step 1" not in err


@pytest.mark.parametrize("argv, message", [
    (["--kind", "labels", "--base", "local/smollm2-135m-instruct", "--size", "5000"], "asked for 5000 examples"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--rank", "4"], "apply to local bases"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--target-modules", "q_proj"], "apply to local bases"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--gradient-checkpointing", "on"], "apply to local bases"),
    (["--kind", "labels", "--base", "local/smollm2-135m-instruct", "--top-layers", "x", "--dry-run"],
     "--top-layers x: give a number of layers (1 or more), half or all"),
    (["--kind", "labels", "--base", "local/smollm2-135m-instruct", "--gradient-checkpointing", "yes"],
     "--gradient-checkpointing must be one of auto, on, off"),
    (["--kind", "labels", "--base", "local/smollm2-135m-instruct", "--scenario", "nope"], "nope"),
    (["--kind", "stories", "--base", "local/smollm2-135m-instruct"], "--kind must be one of labels, labels-50, explanations, got 'stories'"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--train-fraction", "1"], "--train-fraction must be a number above 0 and at most 0.99, got 1"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--train-fraction", "0"], "above 0 and at most 0.99, got 0; the others are held out"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--out", "x.jsonl", "--dry-run"],
     "the file name must say so; name it e.g. x-illustrative.jsonl"),
    (["--kind", "labels"], "the following arguments are required: --base"),
    (["--kind", "labels", "--base", "openai/gpt-4o", "--human", "missing.csv"], "file not found"),
])
def test_cli_argument_errors(run_cli, argv, message):
    code, _, err = run_cli("finetune", *argv)
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and message in last


def test_cli_dry_run_prices_openai_training_without_a_key(run_cli, fake_openai):
    code, out, err = run_cli("finetune", "--kind", "labels", "--scenario", "hospitality",
                             "--base", "openai/gpt-4o-2024-08-06", "--dry-run")
    assert code == 0, err
    # The labels of every training participant (152 of the 303), not of everyone.
    assert "examples         152" in out and "epochs           3" in out
    assert "152 in the examples, drawn from 152 training participants; 151 held out" in out
    assert "(estimate)" in out and out.strip().endswith("dry run: nothing was uploaded or trained")
    assert fake_openai.requests == []


def test_cli_knows_a_saved_illustrative_file_by_its_rows(run_cli, tmp_path):
    from helpers import humans
    from helpers.exceptions import scenarios

    saved = humans.write_human(humans.illustrative_responses(scenarios.load_scenarios()), tmp_path / "people.csv")
    out = tmp_path / "hosp-illustrative.jsonl"
    code, stdout, err = run_cli("finetune", "--human", str(saved), "--kind", "labels-50", "--scenario", "hospitality",
                                "--base", "openai/gpt-4o-2024-08-06", "--dry-run", "--out", str(out))
    assert code == 0, err
    assert "human (illustrative data, from people.csv): its rows are generated" in err and "ILLUSTRATIVE" in err
    assert "training data    human (illustrative data, from people.csv)" in stdout
    assert "examples         50" in stdout  # labels-50: the explanations' default size


def test_cli_trains_on_the_openai_protocol_server(run_cli, fake_openai):
    code, out, err = run_cli("finetune", "--kind", "explanations", "--scenario", "hospitality",
                             "--base", "openai/gpt-4o-mini-2024-07-18", "--base-url", fake_openai.base_url,
                             "--poll-seconds", "0", "--suffix", "hosp")
    assert code == 0, err
    name = out.strip().splitlines()[-1]
    # Trained on illustrative answers: the model's own name says so.
    assert name.startswith("openai/ft:gpt-4o-mini-2024-07-18:test-org:illustrative-hosp:")
    assert "running -> succeeded" in err
    assert registry.find(name)["illustrative"] and registry.find(name)["training_participants"] == 152


@pytest.mark.slow  # counts tokens with the offline model's tokenizer (converted on first use)
def test_cli_and_notebooks_draw_the_same_illustrative_answers(run_cli, tmp_path):
    from helpers import finetune, humans
    from helpers.exceptions import scenarios

    out = tmp_path / "grocery-illustrative.jsonl"
    code, _, err = run_cli("finetune", "--kind", "explanations", "--scenario", "grocery_prices", "--size", "5",
                           "--base", BASE, "--dry-run", "--out", str(out))
    assert code == 0, err
    every = scenarios.load_scenarios()
    answers, label = humans.human_or_illustrative(None, every)
    same = finetune.prepare_dataset(answers, label, every, "explanations", scenario_ids=["grocery_prices"],
                                    size=5, seed=0)
    assert out.read_bytes() == same.path.read_bytes()
    assert same.path.name.startswith("explanations-grocery_prices-n5-s0-illustrative-")


def test_cli_trains_on_a_prepared_jsonl_such_as_synthetic_games_data(run_cli, fake_openai, tmp_path):
    data = tmp_path / "moralis.jsonl"
    code, _, err = run_cli("games", "synth", "--kappa", "0.5", "--size", "12", "--seed", "1", "--out", str(data))
    assert code == 0, err
    code, out, err = run_cli("finetune", "--jsonl", str(data), "--base", "local/smollm2-135m-instruct",
                             "--dry-run")
    assert code == 0, err
    assert "examples         12" in out and "synthetic data (moralis.jsonl)" in out
    code, out, err = run_cli("finetune", "--jsonl", str(data), "--base", "openai/gpt-4o-mini-2024-07-18",
                             "--base-url", fake_openai.base_url, "--poll-seconds", "0")
    assert code == 0, err
    name = out.strip().splitlines()[-1]
    assert name.startswith("openai/ft:gpt-4o-mini-2024-07-18:")
    (upload,) = [r for r in fake_openai.requests if r["path"] == "/v1/files"]
    assert upload["body"]["file"]["bytes"] == data.stat().st_size, "the file went up as it is"
    assert registry.find(name)["human_data"] == "synthetic data (moralis.jsonl)"


@pytest.mark.parametrize("argv, message", [
    (["--base", "openai/gpt-4o"], "--kind labels|labels-50|explanations (human answers) or --jsonl FILE"),
    (["--jsonl", "nowhere.jsonl", "--base", "openai/gpt-4o"], "--jsonl nowhere.jsonl: file not found"),
])
def test_cli_needs_something_to_train_on(run_cli, argv, message):
    code, _, err = run_cli("finetune", *argv)
    assert code == 2 and message in err.strip().splitlines()[-1]


def test_cli_jsonl_excludes_the_human_data_options(run_cli, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n')
    code, _, err = run_cli("finetune", "--jsonl", str(data), "--kind", "labels", "--base", "openai/gpt-4o")
    assert code == 2 and "drop --human, --kind, --scenario, --size and --out" in err


@pytest.mark.slow
def test_cli_dry_run_says_which_layers_lora_adapts(run_cli):
    base = ["finetune", "--kind", "explanations", "--scenario", "grocery_prices", "--size", "2", "--base", BASE,
            "--dry-run"]
    code, out, err = run_cli(*base)
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("LoRA")]
    assert line.startswith("LoRA             rank 8 on q_proj, k_proj, v_proj, o_proj of the last 15 layers; cpu, ")
    assert line.endswith("gradient checkpointing off") and "two CPU cores" in out
    code, out, err = run_cli(*base, "--target-modules", "all-linear", "--top-layers", "all",
                             "--gradient-checkpointing", "on")
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("LoRA")]
    assert "gate_proj, up_proj, down_proj of every layer" in line and line.endswith("gradient checkpointing on")
    code, _, err = run_cli(*base, "--target-modules", "qkv")
    assert code == 2 and err.strip().splitlines()[-1] == (
        "error: target module 'qkv' is not a linear layer of LlamaForCausalLM (its blocks' linear layers: "
        "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)")
