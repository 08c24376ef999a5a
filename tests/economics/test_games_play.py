"""Games through the workspace's call machinery: the OpenAI protocol against a
real local HTTP server (answers scripted per prompt), the cache, and the
parsing of every answer into an action or `invalid`."""

import pytest
from games_openai import ScriptedOpenAI

from helpers.economics import measures
from helpers.economics import play
from helpers.llm.asking import AskConfig
from helpers.economics.games import all_settings, load_games


def selfish(prompt: str) -> str:
    """A scripted homo economicus, with one kind of answer it cannot phrase."""
    if "secretly picks" in prompt:
        return "Y. It pays more whatever the other does."
    if "Do you accept or reject" in prompt:
        return "accept"
    if "multiplied by 2 and split" in prompt:
        return "Let me think about the pot first."  # unparseable: counted invalid
    if "send back 50% of what they get" in prompt:
        return "I send 10"  # 50% of 3 times back: sending pays even for pure self-interest
    return "0"


@pytest.fixture
def settings(repo):
    return all_settings(load_games(repo / "games.toml"))


def test_every_game_over_the_openai_protocol(settings):
    with ScriptedOpenAI(selfish) as server:
        config = AskConfig(models=("openai/econ",), samples=3, temperature=0.7, base_url=server.base_url)
        answers, result = play.play(config, settings)
        # Three samples of a prompt share one request (n = 3); each is its own cache entry.
        assert len(server.completions()) == len(settings)
        assert {r["body"]["n"] for r in server.completions()} == {3}
        assert {r["body"]["max_tokens"] for r in server.completions()} == {8}
        assert result.stats.line() == f"calls: {3 * len(settings)} made, 0 cached, 0 failed"
        again, second = play.play(config, settings)
        assert len(server.completions()) == len(settings), "a rerun makes no calls"
        assert second.stats.line() == f"calls: 0 made, {3 * len(settings)} cached, 0 failed"
    assert answers.equals(again)
    assert len(answers) == 3 * len(settings)
    invalid = answers[answers["action"] == "invalid"]
    assert set(invalid["item"]) == {"public_goods#3"} and invalid["cooperation"].isna().all()
    decisions = play.decisions(settings)
    rates = measures.cooperation_rates(answers, decisions).set_index("item")
    assert rates.loc["public_goods#3", "n"] == 0 and rates.loc["public_goods#3", "invalid"] == 3
    assert rates.loc["prisoners_dilemma#1", "cooperation"] == 0.0
    assert rates.loc["ultimatum_responder#1", "cooperation"] == 1.0
    # A consistent homo economicus: every valid answer is optimal at κ = 0.
    agree = measures.agreement(answers, decisions, 0.0).iloc[0]
    assert agree["optimal_share"] == 1.0 and agree["invalid_share"] == pytest.approx(3 / len(answers))
    fit = measures.implied_kappa(answers, decisions)
    assert fit.kappa <= 0.05 and fit.ci_low == 0.0


def test_cache_only_reads_make_no_calls(settings):
    with ScriptedOpenAI(selfish) as server:
        config = AskConfig(models=("openai/econ",), samples=2, base_url=server.base_url)
        answers, result = play.play(config, settings[:4], make_calls=False)
        assert server.completions() == []
    assert (answers["status"] == "not run").all() and answers["action"].isna().all()
    assert result.stats.missing == 8


def test_cli_run_prints_rates_and_kappa(run_cli, tmp_path):
    with ScriptedOpenAI(selfish) as server:
        out = tmp_path / "answers.csv"
        code, stdout, err = run_cli("games", "run", "--model", "openai/econ", "--base-url", server.base_url,
                                    "--game", "dictator", "--samples", "2", "--kappa", "0", "--out", str(out))
    assert code == 0, err
    assert "dictator#3" in stdout and "optimal_share" in stdout
    assert stdout.strip().splitlines()[-1] == "calls: 6 made, 0 cached, 0 failed"
    assert len(out.read_text().splitlines()) == 7
