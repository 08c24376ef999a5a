"""Batched inference on the real offline model (SmolLM2-135M-Instruct on the CPU):
many prompts per forward pass give the scores one prompt at a time gives, and an
answer is the same alone or in a batch, because each row samples from its own
generator seeded with its own seed."""

import pytest
import torch

from helpers.exceptions import experiment, scenarios
from helpers.exceptions.prompting import build_messages
from helpers.llm import Limits, local_meter, local_model

pytestmark = pytest.mark.slow


@pytest.fixture
def model():
    return local_model.load()


@pytest.fixture
def prompts(repo):
    chosen = scenarios.load_scenarios(repo / "scenarios.toml")[:3]
    return [build_messages(s, level) for s in chosen for level in range(0, len(s.levels) + 1)]


def _hf_generate(model, messages, *, temperature, max_tokens, seed, top_p=1.0, top_k=0):
    """What the local model did before batching: transformers' generate after torch.manual_seed."""
    inputs = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
    sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k} \
        if temperature > 0 else {"do_sample": False}
    with torch.no_grad():
        torch.manual_seed(seed)
        out = model.model.generate(**inputs, max_new_tokens=max_tokens,
                                   pad_token_id=model.tokenizer.eos_token_id, **sampling)
    new = out[0, inputs["input_ids"].shape[1]:]
    return {"text": model.tokenizer.decode(new, skip_special_tokens=True).strip(),
            "prompt_tokens": int(inputs["input_ids"].shape[1]), "completion_tokens": int(new.shape[0])}


def _one_pass(model, messages):
    """A score the way it was made before batching: the whole prompt, all logits, one forward pass."""
    inputs = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
    with torch.no_grad():
        probs = model.model(**inputs).logits[0, -1].float().softmax(-1)
    return float(probs[model.yes_ids].sum()), float(probs[model.no_ids].sum())


def test_batched_scores_equal_one_prompt_at_a_time(model, prompts):
    alone = [_one_pass(model, m) for m in prompts]
    for share in (True, False):
        batched = model.yes_no_many(prompts, share=share)
        for (p_yes, p_no), got in zip(alone, batched):
            assert got["p_yes"] == pytest.approx(p_yes, abs=1e-5) and got["p_no"] == pytest.approx(p_no, abs=1e-5)
    # Small batches (a prefix group split across them) give the same, in order.
    small = model.yes_no_many(prompts[::-1], max_rows=4)[::-1]
    assert [r["prompt_tokens"] for r in small] == [r["prompt_tokens"] for r in batched]
    assert [r["p_no"] for r in small] == pytest.approx([r["p_no"] for r in batched], abs=1e-5)
    assert len({round(r["p_no"], 6) for r in batched}) > len(prompts) // 2, "the prompts really differ"


@pytest.mark.parametrize("settings", [{"temperature": 1.0}, {"temperature": 0.7, "top_p": 0.9, "top_k": 40},
                                      {"temperature": 0.0}])
def test_a_batch_of_one_is_what_generate_made_before(model, prompts, settings):
    for seed in (11, 12):
        old = _hf_generate(model, prompts[seed % len(prompts)], max_tokens=40, seed=seed, **settings)
        new = model.generate(prompts[seed % len(prompts)], max_tokens=40, seed=seed, **settings)
        assert new == old


@pytest.mark.parametrize("settings", [{"temperature": 1.0}, {"temperature": 0.0}, {"temperature": 0.7, "top_k": 40}])
def test_an_answer_is_the_same_alone_or_in_a_batch(model, prompts, settings):
    chosen = prompts[:4] + prompts[9:11]
    seeds = [101, 102, 103, 104, 105, 106]
    alone = [model.generate(m, max_tokens=32, seed=s, **settings) for m, s in zip(chosen, seeds)]
    # The same answers among others: other prompts, the same prompt with other seeds, another order.
    crowd = prompts[4:9] + chosen[:3]
    crowd_seeds = [7, 8, 9, 10, 11, 201, 202, 203]
    batched = model.generate_many(crowd + chosen[::-1], crowd_seeds + seeds[::-1], max_tokens=32, **settings)
    assert batched[len(crowd):][::-1] == alone
    if settings["temperature"] > 0:
        # Rows stop on their own: some answers end early (at the end-of-turn token), others run to the limit.
        lengths = {r["completion_tokens"] for r in batched}
        assert len(lengths) > 1 and max(lengths) == 32
        # Another seed, another answer: rows do not share a random stream.
        assert len({r["text"] for r in batched[len(crowd) - 3:len(crowd)]} | {alone[0]["text"]}) > 1


def test_a_run_is_batched_through_the_engine_with_the_same_scores(model, repo, prompts):
    chosen = scenarios.load_scenarios(repo / "scenarios.toml")[:3]
    before = local_meter.snapshot()
    result = experiment.run(experiment.RunConfig(mode="exact"), chosen)
    work = local_meter.since(before)[model.name]
    assert result.stats.made == 21 and work.scored == 21
    assert work.batches < 21 and work.largest > 1, "concurrent calls were gathered into batches"
    assert work.seconds > 0 and work.tokens_per_second > 0 and work.peak_bytes > 100 * 2**20
    rows = result.responses.sort_values(["scenario", "level"])
    for s in chosen:
        for level in range(len(s.levels) + 1):
            row = rows[(rows["scenario"] == s.id) & (rows["level"] == level)].iloc[0]
            p_yes, p_no = _one_pass(model, build_messages(s, level))
            assert row["p_refusal"] == pytest.approx(p_no / (p_yes + p_no), abs=1e-5)
            assert row["yes_no_mass"] == pytest.approx(p_yes + p_no, abs=1e-5)


def test_sample_mode_answers_do_not_depend_on_the_batch(repo, tmp_path, monkeypatch):
    chosen = scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["hospitality"])
    config = experiment.RunConfig(mode="sample", samples=3, max_tokens=12, levels=(2, 6), control=False)
    batched = experiment.run(config, chosen).responses
    # The same run made one answer at a time.
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "fresh"))
    alone = experiment.run(config, chosen, limits=Limits(concurrency=1)).responses
    assert list(batched["text"]) == list(alone["text"])
    assert list(batched["completion_tokens"]) == list(alone["completion_tokens"])


def test_the_run_summary_reports_speed_and_memory(tmp_path, run_cli):
    path = tmp_path / "one.toml"
    path.write_text('[[scenarios]]\nid = "door"\ntitle = "door"\n'
                    'prompt = "The shop closed {value} ago. Do you open the door? "\n'
                    'levels = ["3 minutes", "2 minutes", "1 minute"]\n')
    code, out, err = run_cli("run", "--scenarios", str(path), "--mode", "exact")
    assert code == 0, err
    lines = out.strip().splitlines()
    speed = [line for line in lines if line.startswith("speed of local/smollm2-135m-instruct: ")]
    assert len(speed) == 1 and "3 prompts scored" in speed[0] and "tokens/s" in speed[0]
    assert "peak memory (process RSS)" in speed[0] and speed[0].endswith("MiB on cpu")
    assert lines.index(speed[0]) == len(lines) - 2, "just above the calls line"
