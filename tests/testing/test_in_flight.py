"""The test server's `most_in_flight`: the most chat completions it answered at once,
which tells a test how many requests a client kept in flight."""

import concurrent.futures

import openai

from helpers.testing.server import FakeOpenAI


def test_the_server_counts_the_most_requests_it_answered_at_once():
    with FakeOpenAI(latency=0.3) as server:
        client = openai.OpenAI(api_key="unused", base_url=server.base_url, max_retries=0)

        def ask(_: int) -> None:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            list(pool.map(ask, range(5)))
        after_five = server.stats["most_in_flight"]
        ask(0)  # one alone afterwards leaves the most where it was
        assert after_five == 5 == server.stats["most_in_flight"]
