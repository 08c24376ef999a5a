"""Notebooks 07 and 08 export offline with the offline model (small arguments
to keep the test quick), and their command-line parameters are validated."""

from pathlib import Path

import pytest
from marimo_html import callouts, errors, export, images, output_text, rows_with

from helpers.economics.agents import lora_status
from helpers.errors import UserError
from helpers.notebook.economics import EconParams

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--train-size", "12", "--train-epochs", "1", "--samples", "1"]


def test_params_from_cli():
    p = EconParams.from_cli({"kappa": "0.3", "samples": "4", "train-size": "24", "explain": "true",
                             "model": "openai/gpt-4o-mini", "rounds": "3"})
    assert (p.kappa, p.samples, p.train.size, p.train.explain, p.rounds) == (0.3, 4, 24, True, 3)
    assert p.models == ("openai/gpt-4o-mini",)
    assert EconParams.from_cli({}).train.explain is False


@pytest.mark.parametrize("args,message", [
    ({"kapa": "0.3"}, "unknown notebook argument --kapa"), ({"kappa": "2"}, "--kappa must be .*, got 2"),
    ({"kappa": "0"}, "--kappa must be .*, got 0"),
    ({"samples": "0"}, "--samples must be"), ({"rounds": "x"}, "--rounds"),
    ({"explain": "maybe"}, "true or false, got 'maybe'"),
])
def test_bad_params(args, message):
    with pytest.raises(UserError, match=message):
        EconParams.from_cli(args)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    # One cache for both exports: 08 reuses the adapters 07 trained, as under `make report`.
    return tmp_path_factory.mktemp("econ-cache")


def exported(notebook: str, out: Path, cache: Path, *args: str) -> tuple[str, str]:
    page = export(REPO / "notebooks" / notebook, out, *args, timeout=1800, env={"EXCEPTIONS_CACHE": str(cache)})
    assert errors(page) == []
    assert [text for kind, text in callouts(page) if kind == "danger"] == []
    return page, output_text(page)


@pytest.mark.slow
def test_07_exports_with_the_offline_model(tmp_path, shared_cache):
    page, text = exported("07_economic_games.py", tmp_path / "07.html", shared_cache, *SMALL)
    tuned = lora_status() is None
    agents = 3 if tuned else 1
    # 19 payoff settings x the agents (base, and κ = 0 and κ = 0.5 fine-tuned) x 1 answer.
    assert f"calls: {19 * agents} made, 0 cached, 0 failed" in text
    kappas = [r for r in rows_with(page, "implied κ") if not r["agent"].startswith("human")]
    assert len(kappas) == agents and all(r["valid answers"] <= 19 for r in kappas)
    assert [r["agent"] for r in rows_with(page, "implied κ")][-1] == "human (illustrative data)"
    assert len(rows_with(page, "optimal_share_kappa0")) == agents
    if tuned:
        assert "2 fine-tuned agent(s): 0 loaded from the cache, 2 trained now" in text
        assert {r["agent"] for r in rows_with(page, "training steps")} == {
            "SFT on synthetic homo economicus", "SFT on synthetic homo moralis (κ = 0.5)"}
        assert list((shared_cache / "synthetic").glob("*.jsonl.meta.json"))
    else:
        assert "Fine-tuning unavailable" in text
    assert images(page) == (4 if tuned else 3)  # theory, (losses,) cooperation, κ profiles


@pytest.mark.slow
def test_08_exports_with_the_offline_model(tmp_path, shared_cache):
    page, text = exported("08_moral_applications.py", tmp_path / "08.html", shared_cache, *SMALL, "--rounds", "2")
    agents = 3 if lora_status() is None else 1
    # 6 dilemmas of the default family x agents x 1 answer.
    assert f"calls: {6 * agents} made, 0 cached, 0 failed" in text
    assert len(rows_with(page, "swerves from κ")) == 6
    benchmarks = [r["benchmark"] for r in rows_with(page, "benchmark")]
    assert len(benchmarks) == 3 and any("Bertrand-Nash" in b for b in benchmarks)
    pricing = rows_with(page, "profit_gain")
    assert len(pricing) == agents
    assert images(page) == 3  # the moralis prices, the dilemma shares, the price paths
    if agents == 3:
        assert "2 fine-tuned agent(s): 2 loaded from the cache, 0 trained now" in text
