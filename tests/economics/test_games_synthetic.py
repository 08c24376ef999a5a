"""Synthetic fine-tuning data: chat JSONL shape, optimal answers, seeds, labels."""

import json

import pytest

from helpers.economics import synthetic
from helpers.errors import UserError
from helpers.economics.games import all_settings, load_games
from helpers.economics.preferences import choose, decision


@pytest.fixture
def games(repo):
    return load_games(repo / "games.toml")


def test_jsonl_shape_and_answers(games, tmp_path):
    examples = synthetic.generate(games, 0.5, 60, seed=3)
    path = synthetic.write(examples, tmp_path / "set.jsonl", kappa=0.5, seed=3, explain=True)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 60
    evaluation_prompts = {s.render() for s in all_settings(games)}
    for line, example in zip(lines, examples):
        record = json.loads(line)
        assert list(record) == ["messages"]
        user, assistant = record["messages"]
        assert set(user) == set(assistant) == {"role", "content"}
        assert (user["role"], assistant["role"]) == ("user", "assistant")
        assert user["content"] == example.setting.render()
        assert user["content"] not in evaluation_prompts, "training draws avoid the evaluation settings"
        best = choose(decision(example.setting), 0.5)
        label = {a.id: a.label for a in example.setting.actions()}[best.best[0]]
        assert not best.tie
        assert assistant["content"] == f"{label}. {best.derivation}"
        assert example.setting.parse(assistant["content"]) == best.best[0]
    meta = json.loads((tmp_path / "set.jsonl.meta.json").read_text())
    assert meta["data"] == "synthetic" and meta["kappa"] == "0.5" and meta["examples"] == 60
    assert meta["agent"] == "homo moralis (κ = 0.5)"
    # Games take turns: 60 examples over 6 games is 10 each.
    assert {g: sum(e.setting.game.id == g for e in examples) for g in meta["games"]} == \
        {g.id: 10 for g in games}


def test_same_seed_same_bytes_other_seed_other_data(games):
    a = synthetic.to_jsonl(synthetic.generate(games, 0.3, 40, seed=1))
    b = synthetic.to_jsonl(synthetic.generate(games, 0.3, 40, seed=1))
    c = synthetic.to_jsonl(synthetic.generate(games, 0.3, 40, seed=2))
    assert a == b and a != c


def test_homo_economicus_answers_selfishly(games):
    for e in synthetic.generate(games, 0, 48, seed=0):
        game = e.setting.game.kind
        if game in ("prisoners_dilemma",):
            assert e.action == "defect"
        elif game in ("public_goods", "dictator", "trust_trustee"):
            assert e.action == "0"
        elif game == "ultimatum_responder":
            assert e.action == "accept"


def test_kappa_changes_the_answers(games):
    econ = synthetic.generate(games, 0, 120, seed=5)
    moral = synthetic.generate(games, 0.8, 120, seed=5)
    level = {id(e): float(next(a.cooperation for a in e.setting.actions() if a.id == e.action))
             for e in econ + moral}
    assert sum(level[id(e)] for e in moral) > sum(level[id(e)] for e in econ) + 20


def test_labels_only(games):
    for e in synthetic.generate(games, 0.4, 12, seed=0, explain=False):
        assert e.messages[1]["content"] in {a.label for a in e.setting.actions()}


def test_ties_random_answers_one_of_the_optima(games):
    # At κ = 1 the trustee's every amount is optimal: skip cannot draw one, random can.
    trustee = [g for g in games if g.kind == "trust_trustee"]
    with pytest.raises(UserError, match="no usable payoff draw"):
        synthetic.generate(trustee, 1, 3, seed=0)
    examples = synthetic.generate(trustee, 1, 30, seed=0, ties="random")
    assert all(e.tie for e in examples)
    assert len({e.action for e in examples}) > 1
    assert all("equally good" in e.messages[1]["content"] for e in examples)


@pytest.mark.parametrize("kwargs,message", [
    ({"kappa": 2}, "κ must lie between 0 and 1"), ({"size": 0}, "--size must be at least 1"),
    ({"ties": "coin"}, "--ties must be one of skip, random"),
])
def test_bad_arguments(games, kwargs, message):
    args = {"kappa": 0.5, "size": 5, **kwargs}
    with pytest.raises(UserError, match=message):
        synthetic.generate(games, args.pop("kappa"), args.pop("size"), **args)


def test_cli_writes_a_set_and_reports_bad_input(run_cli, tmp_path):
    out = tmp_path / "econ.jsonl"
    code, stdout, err = run_cli("games", "synth", "--kappa", "0", "--size", "12", "--out", str(out))
    assert code == 0, err
    assert "wrote 12 synthetic examples of homo economicus" in stdout
    assert len(out.read_text().splitlines()) == 12
    code, _, err = run_cli("games", "synth", "--kappa", "1.5", "--out", str(out))
    assert code == 2 and err.strip() == "error: --kappa must be a number from 0 to 1, got 1.5"
    code, _, err = run_cli("games", "synth", "--kappa", "0.5", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "use a .jsonl file name" in err
    code, _, err = run_cli("games", "synth", "--kappa", "0.5", "--out", str(out), "--game", "chess")
    assert code == 2 and "unknown game id 'chess'" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_optimal_table(run_cli):
    code, out, err = run_cli("games", "optimal", "--kappa", "0", "--kappa", "0.5", "--game", "dictator")
    assert code == 0, err
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    # dictator m = 1, 2, 4: κ = 0 passes nothing; κ = 0.5 ties at m = 2 and gives all at m = 4.
    assert [r[-2] for r in rows] == ["0", "0", "0"]
    assert [r[-1] for r in rows] == ["0", "10|8|6|4|2|0", "10"]


def test_notebook_training_data_is_written_under_the_cache(games, tmp_path):
    from helpers.economics import agents

    plan = agents.TrainPlan(size=12, seed=4)
    path = agents.write_data(games, 0.25, plan)
    assert path.parent == tmp_path / "cache" / "synthetic"
    assert path.name == "synthetic_kappa0.25_labels_n12_seed4.jsonl"
    first = path.read_bytes()
    assert agents.write_data(games, 0.25, plan).read_bytes() == first  # same plan, same bytes
    meta = agents.data_meta(agents.Agent("x", "m", 0.25, data=path))
    assert meta["data"] == "synthetic" and meta["explanations"] is False and meta["examples"] == 12
    assert agents.lora_status() is None  # this checkout has helpers.finetune.lora.train_adapter
