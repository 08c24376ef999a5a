"""A self-hosted server's answers are keyed on what it says it serves: restarted
with another chat template it gets fresh answers, never the old ones; down, its
cached answers still read; answers from before fingerprints keep answering."""

import pytest

from helpers.llm import CachedModel, open_cache, parse_model
from helpers.llm.cache import request_digest
from helpers.llm.naming import identity
from helpers.testing.server import FakeOpenAI

ARGS = ("--scenario", "grocery_prices", "--level", "1", "--level", "6", "--no-control", "--mode", "sample",
        "--samples", "3")


def run(run_cli, server_url, *extra):
    return run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server_url, *ARGS, *extra)


def test_another_chat_template_gets_fresh_answers_and_the_old_ones_stay(run_cli):
    with FakeOpenAI() as server:
        code, out, _ = run(run_cli, server.base_url)
        assert code == 0 and "calls: 6 made, 0 cached, 0 failed" in out
        # One check per run (GET /models and one completion), and the day's shutdown dates (GET /models).
        assert len(server.checks) == 3
        code, out, _ = run(run_cli, server.base_url)
        assert "calls: 0 made, 6 cached, 0 failed" in out
        server.framing = 2  # as if restarted with a template that frames each message differently
        code, out, _ = run(run_cli, server.base_url)
        assert code == 0 and "calls: 6 made, 0 cached, 0 failed" in out
        assert "now serves something else under 'gpt-4o-mini'" in out
        server.framing = 0  # back to the first template: its answers were kept apart, not lost
        made = len(server.completions())
        code, out, _ = run(run_cli, server.base_url)
        assert "calls: 0 made, 6 cached, 0 failed" in out and len(server.completions()) == made


def test_a_server_that_is_down_reads_what_it_served_last(run_cli):
    with FakeOpenAI() as server:
        url = server.base_url
        assert run(run_cli, url)[0] == 0
    code, out, err = run(run_cli, url)  # nothing listens there now
    assert code == 0, out + err
    assert "calls: 0 made, 6 cached, 0 failed" in out
    assert "did not say what it serves; reading the answers of what it served when last asked" in out


def test_answers_from_before_the_check_are_adopted_by_the_first_server_seen(run_cli):
    with FakeOpenAI() as server:
        spec = parse_model("openai/gpt-4o-mini", server.base_url)
        # Store three answers the way main 5286d88 keyed them: the identity without
        # "served" (endpoint and name only).
        with open_cache() as cache:
            model = CachedModel(spec, cache)
            assert "served" in model.identity
            for unit in _baseline_units(model):
                old = f"{request_digest(identity(spec), unit.kind, unit.body)}-{unit.sample}"
                cache.add(old, {"text": "Yes.", "prompt_tokens": 9.0, "completion_tokens": 2.0, "created": 0})
        code, out, _ = run(run_cli, server.base_url)
        assert "calls: 3 made, 3 cached, 0 failed" in out, out
        server.framing = 2
        code, out, _ = run(run_cli, server.base_url)
        assert "calls: 6 made, 0 cached, 0 failed" in out, "another server never adopts them"


def _baseline_units(model):
    """The three sampled answers of level 1 of grocery_prices, as the CLI asks them."""
    from helpers.exceptions import scenarios
    from helpers.exceptions.design import RunConfig
    from helpers.exceptions.plan import plan

    chosen = scenarios.select(scenarios.load_scenarios(None), ["grocery_prices"])
    config = RunConfig(models=("openai/gpt-4o-mini",), mode="sample", samples=3, levels=(1,),
                       base_url=model.spec.base_url, control=False)
    (bucket,) = plan(config, chosen, model.cache)
    return bucket.units


@pytest.mark.parametrize("listing", [
    {"data": [{"id": "gpt-4o-mini", "created": 1}, {"id": "other", "created": 2}]},
])
def test_the_fingerprint_ignores_timestamps_and_other_models(listing):
    from helpers.llm.served import _entries

    assert _entries(listing, "gpt-4o-mini") == [{"id": "gpt-4o-mini"}]
    many = {"data": [{"id": f"m{i}"} for i in range(50)]}
    assert _entries(many, "absent") == [], "a router's long, changing list is left out"
