import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers.testing.server import FakeOpenAI  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    # The GGUF -> fp32 conversion is tested once per session, not per test.
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def model_directory(tmp_path_factory, models_dir) -> Path:
    """The shipped model written as a transformers directory, as a user would have a
    downloaded open model (written once per session; tests must not change it)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from helpers.llm import local_model

    folder = tmp_path_factory.mktemp("open-model") / "SmolLM2-135M-Instruct"
    mp = pytest.MonkeyPatch()
    mp.setenv("EXCEPTIONS_MODELS", str(models_dir))
    try:
        converted = local_model.checkpoint_dir(local_model.DEFAULT_LOCAL)
    finally:
        mp.undo()
    AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32).save_pretrained(folder)
    AutoTokenizer.from_pretrained(converted).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch, models_dir):
    """Every test gets its own empty call cache and records, a fixed today, and no credentials from the shell."""
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXCEPTIONS_RECORDS", str(tmp_path / "records"))
    monkeypatch.setenv("EXCEPTIONS_MODELS", str(models_dir))
    # Shutdown warnings and the fine-tuning cut-off depend on the date: tests see the
    # day models.toml's dates were read, not a clock that would fail them next month.
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2026-12-05")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture(autouse=True)
def hermetic_human_data(tmp_path, monkeypatch):
    """Human data (the survey database, data/human_responses.csv) live in tmp_path,
    so no test reads or writes the checkout's data/ folder."""
    monkeypatch.setenv("EXCEPTIONS_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("EXCEPTIONS_SURVEY_DB", raising=False)
    yield


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def repo():
    return REPO


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def scenarios_toml(*blocks: str) -> str:
    return "\n".join(blocks)


@pytest.fixture
def run_cli(capsys):
    """Run `python -m helpers` in-process; returns (exit code, stdout, stderr)."""
    from helpers.cli.main import main

    def _run(*argv: str):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
