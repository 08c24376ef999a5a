"""Cache keys are honest: every output-affecting parameter changes the key,
nothing else does, and the API key never enters a key or the cache."""

import pytest

from helpers.llm.cache import cache_key
from helpers.llm.models import identity, parse_model

MESSAGES = [{"role": "user", "content": "Flour costs $10.01. Buy? Answer Yes or No."}]
IDENTITY = {"provider": "openai", "endpoint": "http://127.0.0.1:1/v1", "model": "m"}
PARAMS = {"temperature": 1.0, "max_tokens": 48}
BASE = cache_key(IDENTITY, "generate", MESSAGES, PARAMS, 0)


@pytest.mark.parametrize("changed", [
    cache_key({**IDENTITY, "endpoint": "http://127.0.0.1:2/v1"}, "generate", MESSAGES, PARAMS, 0),
    cache_key({**IDENTITY, "model": "m2"}, "generate", MESSAGES, PARAMS, 0),
    cache_key({**IDENTITY, "provider": "local"}, "generate", MESSAGES, PARAMS, 0),
    cache_key(IDENTITY, "yes_no", MESSAGES, PARAMS, 0),
    cache_key(IDENTITY, "generate", [{"role": "user", "content": "Flour costs $10.02."}], PARAMS, 0),
    cache_key(IDENTITY, "generate", [{"role": "system", "content": MESSAGES[0]["content"]}], PARAMS, 0),
    cache_key(IDENTITY, "generate", MESSAGES, {**PARAMS, "temperature": 0.0}, 0),
    cache_key(IDENTITY, "generate", MESSAGES, {**PARAMS, "max_tokens": 49}, 0),
    cache_key(IDENTITY, "generate", MESSAGES, PARAMS, 1),
], ids=["endpoint", "model", "provider", "kind", "message text", "role", "temperature",
        "max_tokens", "sample index"])
def test_each_output_affecting_parameter_changes_the_key(changed):
    assert changed != BASE


def test_key_is_stable_and_ignores_dict_order():
    reordered = {"max_tokens": 48, "temperature": 1.0}
    assert cache_key(dict(reversed(list(IDENTITY.items()))), "generate", MESSAGES, reordered, 0) == BASE


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
                                 "--scenario", "grocery_prices", "--mode", "sample", "--samples", "2")
        assert code == 0, err
        assert all(r["headers"]["authorization"] == f"Bearer {secret}" for r in server.completions())
    assert out.strip().endswith("calls: 12 made, 0 cached, 0 failed")
    stored = list((tmp_path / "cache").rglob("*"))
    assert any(p.is_file() for p in stored)
    for path in stored:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
