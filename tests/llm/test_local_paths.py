"""Any local model, end to end with the real offline weights: the shipped model
written out as a transformers directory (save_pretrained), the shipped GGUF file by
its path, and a name added in models.toml all answer as local/smollm2-135m-instruct
does; --device/--dtype place the weights. Slow: it loads the model several times."""

import re

import pandas as pd
import pytest
import torch

from helpers.errors import UserError
from helpers.llm import devices, local_model, tokens

pytestmark = pytest.mark.slow

DEFAULT = "local/smollm2-135m-instruct"
# One scenario, two buckets and the control: enough to compare answers, cheap to make.
SELECT = ("--scenario", "grocery_prices", "--level", "1", "--level", "6")


@pytest.fixture
def written_dir(model_directory):
    return model_directory


def answers(run_cli, tmp_path, *args: str) -> pd.DataFrame:
    out = tmp_path / f"answers{len(list(tmp_path.iterdir()))}.csv"
    code, _, err = run_cli("run", *SELECT, *args, "--responses", str(out))
    assert code == 0, err
    return pd.read_csv(out, keep_default_na=False)


def same_answers(first: pd.DataFrame, second: pd.DataFrame, column: str) -> None:
    by = ["variant", "scenario", "level", "sample"]
    a, b = first.sort_values(by).reset_index(drop=True), second.sort_values(by).reset_index(drop=True)
    assert len(a) == len(b) > 0
    assert (a[by] == b[by]).all().all()
    if column == "p_refusal":
        assert (a[column] - b[column]).abs().max() < 1e-6
    else:
        assert list(a[column]) == list(b[column])


def test_a_transformers_directory_answers_as_the_shipped_model(written_dir, run_cli, tmp_path):
    """The issue's "done when": local/path:<dir> gives local/smollm2-135m-instruct's answers."""
    by_path = f"local/path:{written_dir}"
    exact = answers(run_cli, tmp_path, "--model", by_path, "--model", DEFAULT, "--mode", "exact")
    assert set(exact["model"]) == {by_path, DEFAULT}
    same_answers(exact[exact.model == by_path], exact[exact.model == DEFAULT], "p_refusal")
    # A sample's seed comes from its cache key, which holds the model's identity, so
    # sampled texts of two names differ by design; greedy texts must not.
    greedy = answers(run_cli, tmp_path, "--model", by_path, "--model", DEFAULT, "--mode", "sample",
                     "--temperature", "0", "--samples", "1", "--max-tokens", "12")
    texts = greedy[greedy.model == DEFAULT]["text"]
    assert texts.str.len().gt(0).all()
    same_answers(greedy[greedy.model == by_path], greedy[greedy.model == DEFAULT], "text")


def test_a_gguf_file_by_path_answers_as_the_shipped_model_without_a_second_conversion(run_cli, tmp_path,
                                                                                     models_dir):
    gguf = local_model.gguf_path(local_model.DEFAULT_LOCAL)
    by_path = f"local/path:{gguf}"
    exact = answers(run_cli, tmp_path, "--model", by_path, "--model", DEFAULT)
    same_answers(exact[exact.model == by_path], exact[exact.model == DEFAULT], "p_refusal")
    assert local_model.checkpoint_dir(f"path:{gguf}") == models_dir / local_model.DEFAULT_LOCAL
    assert not list(models_dir.glob("gguf-*"))


def test_a_name_added_in_models_toml_answers_as_its_directory(written_dir, run_cli, tmp_path, monkeypatch, repo):
    # A workspace like the repository's, whose models.toml names one more model.
    home = tmp_path / "home"
    home.mkdir()
    for toml in repo.glob("*.toml"):
        (home / toml.name).write_text(toml.read_text())
    with open(home / "models.toml", "a") as fh:
        fh.write(f'\n[local.smol-copy]\npath = "{written_dir}"\nlicence = "Apache-2.0"\n')
    monkeypatch.setenv("EXCEPTIONS_HOME", str(home))
    exact = answers(run_cli, tmp_path, "--model", "local/smol-copy", "--model", f"local/path:{written_dir}")
    same_answers(exact[exact.model == "local/smol-copy"], exact[exact.model != "local/smol-copy"], "p_refusal")


def test_token_counts_and_tokenizers_work_for_every_kind_of_name(written_dir):
    messages = [{"role": "user", "content": "May I return this after 31 days?"}]
    gguf = local_model.gguf_path(local_model.DEFAULT_LOCAL)
    counts = {name: tokens.count_local(name, messages)
              for name in (local_model.DEFAULT_LOCAL, f"path:{written_dir}", f"path:{gguf}")}
    assert len(set(counts.values())) == 1 and counts[local_model.DEFAULT_LOCAL] > 10
    assert local_model.load_tokenizer(f"path:{written_dir}").chat_template == \
        local_model.load_tokenizer().chat_template


def test_a_directory_without_a_chat_template_is_a_one_line_error(written_dir, tmp_path, run_cli):
    import shutil

    copy = tmp_path / "base-model"
    shutil.copytree(written_dir, copy)
    (copy / "chat_template.jinja").unlink()
    code, _, err = run_cli("run", *SELECT, "--model", f"local/path:{copy}")
    assert code == 2
    assert err.strip() == (f"error: local/path:{copy}: the tokenizer of {copy} has no chat template, so prompts "
                           "cannot be written in its chat format; use the model's instruct/chat version, or add "
                           "its template as chat_template.jinja")


def test_dtype_places_the_weights_and_keys_their_answers_apart(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv(devices.DTYPE_ENV, raising=False)
    code, out, err = run_cli("run", *SELECT)
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "calls: 3 made, 0 cached, 0 failed"
    code, out, err = run_cli("run", *SELECT, "--device", "cpu", "--dtype", "bf16")
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "calls: 3 made, 0 cached, 0 failed", "bf16 answers are not fp32's"
    code, out, _ = run_cli("run", *SELECT, "--device", "cpu")  # the device is not in the key
    assert out.strip().splitlines()[-1] == "calls: 0 made, 3 cached, 0 failed"
    with devices.chosen(dtype="bf16"):
        model = local_model.load()
    assert {p.dtype for p in model.model.parameters()} == {torch.bfloat16}
    assert model.placement == devices.Placement("cpu", "bf16")
    assert {p.dtype for p in local_model.load().model.parameters()} == {torch.float32}


def test_a_detected_gpu_is_where_the_weights_go(monkeypatch):
    # This machine has no GPU, so the move itself fails; that it is attempted is the test.
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    monkeypatch.delenv(devices.DTYPE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert devices.placement() == devices.Placement("cuda", "bf16")
    with pytest.raises((AssertionError, RuntimeError), match=re.compile("cuda", re.I)):
        local_model.load_weights(local_model.DEFAULT_LOCAL)


def test_a_gguf_transformers_cannot_read_is_a_one_line_error(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(UserError) as caught:
        local_model.load_tokenizer(f"path:{broken}")
    message = str(caught.value)
    assert message.startswith(f"local/path:{broken}: transformers cannot read the GGUF file {broken} (")
    assert message.endswith("use the model's transformers directory (config.json and safetensors) instead")
