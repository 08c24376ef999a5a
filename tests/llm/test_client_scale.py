"""The client against a server that answers many requests at once (a vLLM or SGLang
cluster): without --concurrency it must keep more than 16 in flight, and every
answer it is sent is stored."""

import pytest

from helpers.exceptions import experiment, scenarios
from helpers.llm.engine import Limits
from helpers.llm.throttle import ADAPTIVE_MAX
from helpers.testing.server import FakeOpenAI


@pytest.mark.slow
def test_the_adaptive_throttle_climbs_past_sixteen_on_a_server_that_scales(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "cache"))
    # Half a second per answer however many are asked at once: throughput grows with
    # every request added, as on a GPU server that batches them.
    with FakeOpenAI(latency=0.5) as server:
        config = experiment.RunConfig(models=("openai/served-model",), mode="sample", samples=6,
                                      base_url=server.base_url, control=False)
        # max_n=1: one answer per request, so each answer is a request in flight.
        result = experiment.run(config, scenarios.load_scenarios(), limits=Limits(max_n=1))
        stats = dict(server.stats)
    wanted = len(result.responses)
    assert result.stats.made == wanted == stats["completions"] and (result.responses["status"] == "ok").all()
    # 4, 8, 16, then 32 at once: each doubling doubled the answers per second.
    assert stats["most_in_flight"] > ADAPTIVE_MAX

