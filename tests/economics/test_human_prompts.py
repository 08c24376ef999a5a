"""What a person is shown in a game is what an agent is sent: the agents' path
(play.play over the OpenAI protocol, against a real HTTP server on 127.0.0.1)
records every request, and each request's messages must be exactly one user
message holding prompt_for_people of its setting, for every setting of games.toml.
The survey page displays prompt_for_people, so this pins both sides."""

import json

import pytest
from games_openai import ScriptedOpenAI

from helpers.economics import play
from helpers.economics.games import all_settings, load_games
from helpers.economics.humans import actions_for_people, prompt_for_people
from helpers.llm.asking import AskConfig


@pytest.fixture
def settings(repo):
    return all_settings(load_games(repo / "games.toml"))


def test_people_read_what_agents_are_sent(settings):
    with ScriptedOpenAI(lambda prompt: "0") as server:
        play.play(AskConfig(models=("openai/econ",), samples=1, base_url=server.base_url), settings)
        sent = [json.dumps(r["body"]["messages"], sort_keys=True) for r in server.completions()]
    shown = [json.dumps([{"role": "user", "content": prompt_for_people(s)}], sort_keys=True) for s in settings]
    assert len(set(shown)) == len(settings) == 19, "every setting's text differs, so the match is one to one"
    assert sorted(sent) == sorted(shown)


def test_the_choices_a_person_sees_are_the_prompts_answers(settings):
    for setting in settings:
        offered = actions_for_people(setting)
        assert sorted(offered) == sorted((a.id, a.label) for a in setting.actions())
        # The buttons come in the order the prompt lists the answers ("X or Y", "0, 2, ... or 10").
        assert setting.choices_text().replace(" or ", ", ").split(", ") == [label for _, label in offered]
        assert all(label in prompt_for_people(setting) for _, label in offered)
    pd = settings[0]
    assert actions_for_people(pd) == [("cooperate", "X"), ("defect", "Y")]
    assert [a for a, _ in actions_for_people(next(s for s in settings if s.game.id == "dictator"))] == [
        "0", "2", "4", "6", "8", "10"]
