"""The real offline model (SmolLM2-135M-Instruct) end to end on one game:
prompts, sampled answers, parsing, cache, measures. Slow: loads the model."""

import pytest

from helpers.economics import measures
from helpers.economics import play
from helpers.llm.asking import AskConfig
from helpers.economics.games import load_games, select

pytestmark = pytest.mark.slow


def test_offline_model_plays_the_ultimatum_game_then_reads_the_cache(repo):
    settings = select(load_games(repo / "games.toml"), ["ultimatum_responder"])[0].settings
    config = AskConfig(samples=2, max_tokens=6)
    answers, result = play.play(config, settings)
    assert result.stats.line() == "calls: 6 made, 0 cached, 0 failed"
    assert (answers["status"] == "ok").all()
    assert answers["text"].str.len().gt(0).all()
    assert set(answers["action"]) <= {"accept", "reject", "invalid"}
    # Each answer's action is exactly what the documented rule reads from its text.
    for row, setting in zip(answers.itertuples(), [s for s in settings for _ in range(2)]):
        assert row.action == setting.parse(row.text)
    assert answers["completion_tokens"].le(6).all() and answers["prompt_tokens"].gt(50).all()
    again, second = play.play(config, settings)
    assert second.stats.line() == "calls: 0 made, 6 cached, 0 failed"
    assert again.equals(answers)
    rates = measures.cooperation_rates(answers, play.decisions(settings))
    assert list(rates["n"] + rates["invalid"]) == [2, 2, 2]
