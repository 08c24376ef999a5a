"""helpers.testing.hostile: each stand-in does at the HTTP level what it says."""

import json
import threading
import time

import httpx
import openai
import pytest

from helpers.testing import hostile

BODY = {"model": "m", "messages": [{"role": "user", "content": "Buy? Answer Yes or No."}]}


def post(server, timeout=5.0, **extra):
    return httpx.post(f"{server.base_url}/chat/completions", json={**BODY, **extra}, timeout=timeout)


def sdk(server, **kwargs):
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, **kwargs)


@pytest.mark.parametrize("behaviour", hostile.BEHAVIOURS)
def test_every_stand_in_lists_models_and_closes_quickly(behaviour):
    with hostile.serve(behaviour) as server:
        assert [m.id for m in sdk(server).models.list()] == ["hostile-model"]
        assert server.requests == 0, "only chat requests are counted"
        start = time.monotonic()
    assert time.monotonic() - start < 1


def test_ok_is_a_valid_completion_honouring_n_and_logprobs():
    with hostile.serve("ok") as server:
        reply = sdk(server).chat.completions.create(**BODY, n=3, logprobs=True, top_logprobs=2)
        assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
        assert [c.index for c in reply.choices] == [0, 1, 2]
        assert all(c.message.role == "assistant" and c.message.content == "Yes" for c in reply.choices)
        assert reply.choices[0].finish_reason == "stop"
        assert [t.token for t in reply.choices[0].logprobs.content[0].top_logprobs] == ["Yes", "No"]
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
        plain = sdk(server).chat.completions.create(**BODY)
        assert len(plain.choices) == 1 and plain.choices[0].logprobs is None
        assert server.requests == 2 and server.bodies[0]["n"] == 3


def test_one_choice_ignores_n():
    with hostile.serve("one_choice") as server:
        reply = sdk(server).chat.completions.create(**BODY, n=5)
        assert len(reply.choices) == 1 and reply.choices[0].message.content == "Yes"


@pytest.mark.parametrize("behaviour,check", [
    ("choices_string", lambda b: b["choices"] == "oops" and b["object"] == "chat.completion"),
    ("null_body", lambda b: b is None),
    ("top_list", lambda b: isinstance(b, list) and b[0]["object"] == "chat.completion"),
    ("content_number", lambda b: b["choices"][0]["message"]["content"] == 42),
    ("usage_strings", lambda b: b["usage"]["completion_tokens"] == "many" and b["choices"]),
])
def test_odd_bodies_come_with_status_200(behaviour, check):
    with hostile.serve(behaviour) as server:
        response = post(server)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert check(response.json())
        assert server.requests == 1


def test_bad_json_says_json_and_is_not():
    with hostile.serve("bad_json") as server:
        response = post(server)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


def test_error_500_is_openai_shaped():
    with hostile.serve("error_500") as server:
        with pytest.raises(openai.InternalServerError) as caught:
            sdk(server).chat.completions.create(**BODY)
        assert caught.value.status_code == 500 and caught.value.type == "server_error"
        assert server.requests == 1


@pytest.mark.parametrize("value", ["3600", "inf", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_retry_after_sends_the_header_as_given(value):
    with hostile.serve("retry_after", retry_after=value) as server:
        response = post(server)
        assert response.status_code == 429 and response.headers["retry-after"] == value
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        with pytest.raises(openai.RateLimitError):
            sdk(server).chat.completions.create(**BODY)
        assert server.requests == 2


def test_trickle_sends_headers_at_once_then_a_byte_per_interval():
    with hostile.serve("trickle", interval=0.2) as server:
        # A read timeout longer than the interval never fires: each byte resets it.
        with httpx.stream("POST", f"{server.base_url}/chat/completions", json=BODY, timeout=0.5) as response:
            start = time.monotonic()
            assert response.status_code == 200
            total = int(response.headers["content-length"])
            times = []
            for chunk in response.iter_raw():
                times.append(time.monotonic() - start)
                assert len(chunk) == 1
                if len(times) == 4:
                    break
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert total > 100 and all(0.15 < gap < 0.5 for gap in gaps), gaps
        assert server.requests == 1


def test_trickle_and_hang_do_not_hold_up_close():
    for behaviour in ("trickle", "hang"):
        server = hostile.serve(behaviour, interval=0.1).start()
        errors = []

        def ask():
            try:
                post(server, timeout=30).read()
            except httpx.HTTPError as caught:
                errors.append(caught)

        thread = threading.Thread(target=ask)
        thread.start()
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        start = time.monotonic()
        server.close()
        assert time.monotonic() - start < 1, behaviour
        thread.join(5)
        assert isinstance(errors[0], httpx.RemoteProtocolError), (behaviour, errors)


def test_hang_never_answers():
    with hostile.serve("hang") as server:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            post(server, timeout=0.3)
        assert time.monotonic() - start < 2
        with pytest.raises(openai.APITimeoutError):
            sdk(server, timeout=0.3).chat.completions.create(**BODY)
        assert server.requests == 2


def test_refused_refuses():
    with hostile.refused() as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        with pytest.raises(httpx.ConnectError):
            post(server)
        with pytest.raises(openai.APIConnectionError):
            sdk(server).chat.completions.create(**BODY)


def test_an_unknown_behaviour_is_an_error():
    with pytest.raises(ValueError, match="one of ok, one_choice"):
        hostile.serve("sulk")
