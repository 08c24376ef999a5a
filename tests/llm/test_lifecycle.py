"""Shutdown dates of openai/ models: read from GET /v1/models once per endpoint per
day (kept in the cache's meta entries, never with the key), else models.toml; one
warning line per model with a date, before `run`, `estimate` and `games run`."""

import json
import threading

import pytest

from helpers.llm import lifecycle, open_cache
from helpers.testing.server import FakeOpenAI
from helpers.testing.transport import Background, answer, read_body

TOML = "models.toml, from OpenAI's deprecations page"


class Listing:
    """A stand-in for an endpoint's GET /v1/models on 127.0.0.1 that counts what it is
    asked: `reply` is the listing ({id: shutdown_date, None, or ... for no field}),
    or an HTTP status, or raw bytes."""

    def __init__(self, reply):
        self.reply = reply
        self.asked: list[dict] = []  # the headers of each GET /v1/models
        self._lock = threading.Lock()
        self._http = Background(self._app)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}/v1"

    def __enter__(self):
        self._http.start()
        return self

    def __exit__(self, *exc):
        self._http.close()

    async def _app(self, scope, receive, send):
        await read_body(receive)
        if (scope["method"], scope["path"].rstrip("/")) != ("GET", "/v1/models"):
            return await answer(send, 404, {"error": {"message": "no such path"}})
        with self._lock:
            self.asked.append({k.decode(): v.decode() for k, v in scope["headers"]})
        if isinstance(self.reply, int):
            return await answer(send, self.reply, {"error": {"message": "not found"}})
        if isinstance(self.reply, bytes):
            return await answer(send, 200, self.reply)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "x",
                 **({} if when is ... else {"shutdown_date": when})} for m, when in self.reply.items()]
        await answer(send, 200, {"object": "list", "data": data})


@pytest.fixture
def day(monkeypatch):
    def set_day(text: str) -> None:
        monkeypatch.setenv("EXCEPTIONS_TODAY", text)

    set_day("2026-12-05")
    return set_day


def test_the_listing_is_asked_once_per_endpoint_per_day(day):
    with Listing({"gpt-4o-mini": "2027-01-14"}) as server, Listing({"gpt-4o-mini": "2027-03-01"}) as other:
        first = lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url)
        assert first == [f"openai/gpt-4o-mini shuts down on 2027-01-14 (in 40 days; GET {server.base_url}/models "
                         "on 2026-12-05): `python -m helpers archive export ...` keeps its answers usable after that"]
        assert len(server.asked) == 1
        assert server.asked[0]["x-exceptions-check"] == "shutdown-dates"
        # A second run the same day reads the cache's meta entry and asks nothing.
        assert lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url) == first
        assert len(server.asked) == 1
        # Another endpoint is asked on its own.
        assert "2027-03-01 (in 86 days" in lifecycle.warnings(["openai/gpt-4o-mini"], base_url=other.base_url)[0]
        assert (len(server.asked), len(other.asked)) == (1, 1)
        day("2026-12-06")  # the next day asks again
        assert "(in 39 days; GET" in lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url)[0]
        assert len(server.asked) == 2


def test_a_date_gets_a_line_and_no_date_none(day):
    listed = {"gpt-4o-mini": "2027-02-01", "gpt-6-luna": None, "gpt-4o": None}
    with Listing(listed) as server:
        lines = lifecycle.warnings(["openai/gpt-4o-mini", "openai/gpt-6-luna", "openai/gpt-4o",
                                    "local/smollm2-135m-instruct"], base_url=server.base_url)
    # gpt-4o has a date in models.toml, but the endpoint's null (none announced) wins.
    assert len(lines) == 1 and lines[0].startswith("openai/gpt-4o-mini shuts down on 2027-02-01 (in 58 days; GET")


def test_a_past_date_says_new_calls_fail_and_cached_answers_work(day):
    with Listing({"gpt-4o-mini": "2027-01-14"}) as server:
        day("2027-01-15")
        (line,) = lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url)
    assert line == (f"openai/gpt-4o-mini was shut down on 2027-01-14 (GET {server.base_url}/models on 2027-01-15): "
                    "new calls will fail; its cached answers still work")
    day("2026-12-05")  # o3-mini is in no listing: models.toml's date, already past
    (line,) = lifecycle.warnings(["openai/o3-mini"])
    assert line == f"openai/o3-mini was shut down on 2026-10-23 ({TOML}): new calls will fail; its cached answers still work"


@pytest.mark.parametrize("reply", [404, 500, b"<html>not json</html>", b'{"data": "no list"}', b"[1, 2]", {}],
                         ids=["404 (lists no models)", "500", "not JSON", "data not a list", "not an object",
                              "model not listed"])
def test_without_a_usable_listing_models_toml_says_it(day, reply):
    with Listing(reply) as server:
        for _ in range(2):
            lines = lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url)
            assert lines == [f"openai/gpt-4o-mini shuts down on 2027-01-14 (in 40 days; {TOML}): "
                             "`python -m helpers archive export ...` keeps its answers usable after that"]
        assert len(server.asked) == 1, "a failed listing is not asked again that day"


def test_a_server_that_is_down_falls_back_without_a_traceback(day, run_cli):
    with Listing({}) as server:
        url = server.base_url
    code, out, err = run_cli("estimate", "--model", "openai/gpt-4o-mini", "--base-url", url,
                             "--scenario", "hospitality", "--level", "1")
    assert code == 0, err
    assert f"warning: openai/gpt-4o-mini shuts down on 2027-01-14 (in 40 days; {TOML})" in err
    assert "Traceback" not in err and "answers needed" in out


def test_a_fine_tune_takes_its_own_date_else_its_base(day):
    listed = {"gpt-4o-mini": "2027-01-14", "ft:gpt-4o-mini:org:own:1": "2027-01-20"}
    with Listing(listed) as server:
        own, other = lifecycle.warnings(["openai/ft:gpt-4o-mini:org:own:1", "openai/ft:gpt-4o-mini:org:new:2"],
                                        base_url=server.base_url)
    assert own.startswith("openai/ft:gpt-4o-mini:org:own:1 shuts down on 2027-01-20")
    assert other.startswith("openai/ft:gpt-4o-mini:org:new:2 shuts down on 2027-01-14")
    # Not on a listing at all: its base's entry in models.toml.
    (line,) = lifecycle.warnings(["openai/ft:gpt-4o-2024-08-06:org:x:9"])
    assert line.startswith(f"openai/ft:gpt-4o-2024-08-06:org:x:9 shuts down on 2027-01-14 (in 40 days; {TOML})")


def test_a_server_of_ones_own_shuts_nothing_down(day):
    # vLLM and llama.cpp list their models without a shutdown_date.
    with Listing({"Qwen/Qwen2.5-0.5B-Instruct": ..., "gpt-4o-mini": ...}) as server:
        assert lifecycle.warnings(["openai/Qwen/Qwen2.5-0.5B-Instruct"], base_url=server.base_url) == []
        assert server.asked == [], "a name models.toml does not know is not asked about"
        assert lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url) == []
        assert len(server.asked) == 1


def test_local_models_ask_nothing_and_open_nothing(day, monkeypatch, tmp_path):
    with Listing({"gpt-4o-mini": "2027-01-14"}) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert lifecycle.warnings(["local/smollm2-135m-instruct"]) == []
        assert not (tmp_path / "cache" / "calls").exists(), "no cache was opened"
        assert lifecycle.warnings(["local/smollm2-135m-instruct", "openai/gpt-4o-mini"])
        assert len(server.asked) == 1, "the stand-in would have seen a request"


@pytest.mark.slow  # reads the offline model's tokenizer (converted on first use)
def test_an_estimate_of_local_models_warns_of_nothing(day, monkeypatch, run_cli):
    with Listing({"gpt-4o-mini": "2027-01-14"}) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code, out, err = run_cli("estimate", "--model", "local/smollm2-135m-instruct", "--scenario", "hospitality")
        assert code == 0, err
        assert server.asked == [] and "warning" not in err


def test_run_and_games_run_print_the_warning_on_stderr(day, run_cli):
    with FakeOpenAI(catalogue={"gpt-4o-mini": {"shutdown_date": "2027-02-01"}}) as server:
        code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
                                 "--scenario", "hospitality", "--level", "1")
        assert code == 0, err
        warned = f"warning: openai/gpt-4o-mini shuts down on 2027-02-01 (in 58 days; GET {server.base_url}/models"
        assert warned in err
        code, out, err = run_cli("games", "run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
                                 "--game", "prisoners_dilemma", "--samples", "1")
        assert code == 0, err
        assert warned in err


def test_no_key_for_openai_itself_reads_models_toml_and_asks_nothing(day, run_cli):
    code, out, err = run_cli("estimate", "--model", "openai/gpt-4o-mini", "--scenario", "hospitality",
                             "--level", "1")
    assert code == 0, err
    assert f"warning: openai/gpt-4o-mini shuts down on 2027-01-14 (in 40 days; {TOML})" in err
    with open_cache() as cache:
        assert cache.get(lifecycle._meta_key(lifecycle.OPENAI_URL, lifecycle.today())) is None


def test_the_key_is_sent_but_never_stored(day, monkeypatch, tmp_path):
    key = "sk-lifecycle-NEVER-STORED-5f3a9c"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with Listing({"gpt-4o-mini": "2027-01-14"}) as server:
        assert lifecycle.warnings(["openai/gpt-4o-mini"], base_url=server.base_url)
        assert server.asked[0]["authorization"] == f"Bearer {key}", "the key went to the endpoint"
    with open_cache() as cache:
        kept = cache.get(lifecycle._meta_key(server.base_url, lifecycle.today()))
    assert kept["models"] == {"gpt-4o-mini": {"shutdown_date": "2027-01-14"}}
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert any(p.name == "cache.db" for p in files)
    assert not [p for p in files if key.encode() in p.read_bytes()]
    assert key not in json.dumps(kept)


@pytest.mark.parametrize("value", ["2027-13-01", "tomorrow", "05/12/2026"])
def test_a_bad_today_is_one_line(run_cli, monkeypatch, value):
    monkeypatch.setenv("EXCEPTIONS_TODAY", value)
    code, out, err = run_cli("estimate", "--model", "openai/gpt-4o-mini", "--scenario", "hospitality")
    assert (code, out) == (2, "")
    assert err == (f"error: EXCEPTIONS_TODAY={value!r} is not a date: write YYYY-MM-DD "
                   "(e.g. EXCEPTIONS_TODAY=2027-01-15), or unset it to use today's date\n")


def test_without_exceptions_today_it_is_the_real_date(monkeypatch):
    from datetime import date

    monkeypatch.delenv("EXCEPTIONS_TODAY", raising=False)
    assert lifecycle.today() == date.today()
