"""Cache keys are honest: they are derived from the request actually sent, so every
output-affecting setting changes the key (a changed constant in a request body
included), nothing else does, and the API key never enters a key or the cache."""

import pytest

from helpers.llm import CachedModel, open_cache, parse_model
from helpers.llm import local_backend, openai_backend
from helpers.llm.naming import identity

MESSAGES = [{"role": "user", "content": "Flour costs $10.01. Buy? Answer Yes or No."}]
URL = "http://127.0.0.1:1/v1"


def key(model="openai/m", kind="generate", messages=MESSAGES, sample=0, url=URL, **settings):
    settings = {"temperature": 1.0, "max_tokens": 48, **settings}
    with open_cache() as cache:
        spec = parse_model(model, url if model.startswith("openai/") else None)
        return CachedModel(spec, cache).unit(kind, messages, sample, **settings).key


@pytest.mark.parametrize("changed", [
    lambda: key(url="http://127.0.0.1:2/v1"),
    lambda: key(model="openai/m2"),
    lambda: key(kind="yes_no"),
    lambda: key(messages=[{"role": "user", "content": "Flour costs $10.02."}]),
    lambda: key(messages=[{"role": "system", "content": MESSAGES[0]["content"]}]),
    lambda: key(temperature=0.0),
    lambda: key(max_tokens=49),
    lambda: key(sample=1),
], ids=["endpoint", "model", "kind", "message text", "role", "temperature", "max_tokens", "sample index"])
def test_each_output_affecting_setting_changes_the_key(changed):
    assert changed() != key()


def test_a_changed_constant_in_the_request_body_changes_the_key(monkeypatch):
    before = key(kind="yes_no")
    monkeypatch.setattr(openai_backend, "YES_NO_TOP_LOGPROBS", 5)
    assert key(kind="yes_no") != before


def test_the_local_sampling_knobs_are_in_the_key(monkeypatch):
    before = key(model="local/smollm2-135m-instruct")
    monkeypatch.setattr(local_backend, "TOP_P", 0.9)
    assert key(model="local/smollm2-135m-instruct") != before


def test_settings_a_request_does_not_send_leave_the_key_alone():
    # A first-token read sends neither temperature nor max_tokens.
    assert key(kind="yes_no", temperature=0.3, max_tokens=7) == key(kind="yes_no")


def test_timeouts_and_the_key_order_leave_the_key_alone():
    with open_cache() as cache:
        spec = parse_model("openai/m", URL)
        a = CachedModel(spec, cache, timeout=5).unit("generate", MESSAGES, 0, max_tokens=48, temperature=1.0)
        b = CachedModel(spec, cache, timeout=500).unit("generate", MESSAGES, 0, temperature=1.0, max_tokens=48)
    assert a.key == b.key


def test_samples_of_one_request_share_its_digest():
    with open_cache() as cache:
        units = CachedModel(parse_model("openai/m", URL), cache).units("generate", MESSAGES, range(3))
    assert len({u.prompt for u in units}) == 1 and len({u.key for u in units}) == 3


def test_identity_has_no_api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-appear")
    ident = identity(parse_model("openai/gpt-4o-mini", "http://127.0.0.1:9/v1"))
    assert ident == {"provider": "openai", "endpoint": "http://127.0.0.1:9/v1", "model": "gpt-4o-mini"}


def test_local_identity_pins_the_weights():
    ident = identity(parse_model("local/smollm2-135m-instruct"))
    assert ident["provider"] == "local" and len(ident["weights"]) == 64


def test_api_key_reaches_the_server_but_never_the_cache(tmp_path, monkeypatch, run_cli):
    from helpers.testing.server import FakeOpenAI

    secret = "sk-test-DO-NOT-STORE-4242"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with FakeOpenAI(api_key=secret) as server:
        code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
                                 "--scenario", "grocery_prices", "--no-control", "--mode", "sample", "--samples", "2")
        assert code == 0, err
        assert all(r["headers"]["authorization"] == f"Bearer {secret}" for r in server.completions())
    assert out.strip().endswith("calls: 12 made, 0 cached, 0 failed")
    stored = list((tmp_path / "cache").rglob("*"))
    assert any(p.is_file() for p in stored)
    for path in stored:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
