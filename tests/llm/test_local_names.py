"""Which weights a local/ name means: the built-in model, [local.<name>] tables of
models.toml, and local/path:<dir or .gguf>; each bad one a one-line error. Fast: no
model is loaded (the files here are small stand-ins for a model's)."""

import hashlib
import json
import os
import re
import subprocess
import shutil
import sys
from pathlib import Path

import pytest

from helpers.errors import ConfigError, UserError
from helpers.llm import capabilities, local_model, local_registry
from helpers.llm.naming import identity, parse_model

SRC = Path(__file__).resolve().parents[2] / "src"
ADAPTER = "0123456789abcdef"


def fake_model(folder: Path, *, template: str = "{{ messages }}", weights: bytes = b"w" * 64) -> Path:
    """A folder with what a transformers model directory has (not loadable: never loaded here)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "tokenizer_config.json").write_text("{}")
    (folder / "chat_template.jinja").write_text(template)
    (folder / "generation_config.json").write_text('{"eos_token_id": 2}')
    return folder


def home_with(tmp_path: Path, monkeypatch, toml: str) -> Path:
    """A workspace whose models.toml is `toml` (EXCEPTIONS_HOME)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "models.toml").write_text(toml)
    monkeypatch.setenv("EXCEPTIONS_HOME", str(home))
    return home


# -- adapters after '+' --------------------------------------------------------------------

@pytest.mark.parametrize("name, split", [
    ("smollm2-135m-instruct", ("smollm2-135m-instruct", None)),
    (f"smollm2-135m-instruct+{ADAPTER}", ("smollm2-135m-instruct", ADAPTER)),
    (f"smollm2-135m-instruct+illustrative-{ADAPTER}", ("smollm2-135m-instruct", f"illustrative-{ADAPTER}")),
    ("smollm2-135m-instruct+xyz", ("smollm2-135m-instruct", "xyz")),  # then a one-line error
    ("path:/m/a+b", ("path:/m/a+b", None)),  # a '+' of the path's own
    (f"path:/m/a+b+{ADAPTER}", ("path:/m/a+b", ADAPTER)),
    (f"path:/m/dir+illustrative-{ADAPTER}", ("path:/m/dir", f"illustrative-{ADAPTER}")),
])
def test_an_adapter_is_split_off_only_when_it_is_an_adapter_id(name, split):
    assert local_model.split_name(name) == split


def test_an_adapter_on_a_path_model_is_found_whichever_way_the_path_is_spelled(tmp_path, monkeypatch):
    model = fake_model(tmp_path / "my+model")
    folder = local_model.adapter_path(ADAPTER)
    folder.mkdir(parents=True)
    (folder / local_model.ADAPTER_META).write_text(json.dumps({"base": f"path:{model}"}))
    monkeypatch.chdir(tmp_path)
    assert local_model.check_name(f"path:my+model+{ADAPTER}").path == model
    assert local_model.check_name(f"path:{model}+{ADAPTER}").path == model
    other = fake_model(tmp_path / "other")
    with pytest.raises(UserError, match=re.escape(f"adapter {ADAPTER} was trained on local/path:{model}, "
                                                  f"not local/path:{other}")):
        local_model.check_name(f"path:{other}+{ADAPTER}")
    with pytest.raises(UserError, match=r"no adapter fedcba9876543210 in .*; train it with `python -m helpers "
                                        r"finetune --base local/path:my\+model"):
        local_model.check_name("path:my+model+fedcba9876543210")


# -- models by path ---------------------------------------------------------------------------

def test_a_directory_by_absolute_relative_and_home_relative_path(tmp_path, monkeypatch):
    model = fake_model(tmp_path / "models" / "tiny")
    monkeypatch.chdir(tmp_path / "models")
    monkeypatch.setenv("HOME", str(tmp_path))
    for spelled in (str(model), "tiny", "./tiny", "~/models/tiny"):
        source = local_model.check_name(f"path:{spelled}")
        assert (source.path, source.kind) == (model, "dir")
        assert parse_model(f"local/path:{spelled}").model == f"path:{spelled}"


def _error(name: str) -> str:
    with pytest.raises(UserError) as caught:
        local_model.check_name(name)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bad_paths_are_one_line_errors_naming_the_path_and_the_fix(tmp_path):
    assert _error(f"path:{tmp_path}/nowhere") == (
        f"local/path:{tmp_path}/nowhere: {tmp_path}/nowhere does not exist; "
        "give the path of a transformers model directory or a .gguf file")
    assert "no path after 'path:'; write local/path:/dir/of/the/model" in _error("path:")
    (tmp_path / "empty").mkdir()
    assert f"{tmp_path}/empty is not a transformers model directory (no config.json)" in _error(f"path:{tmp_path}/empty")
    half = fake_model(tmp_path / "half")
    (half / "model.safetensors").unlink()
    assert f"{half} has config.json but no weights (*.safetensors or *.bin)" in _error(f"path:{half}")
    (tmp_path / "notes.txt").write_text("hi")
    assert "notes.txt is a file but not a .gguf model" in _error(f"path:{tmp_path}/notes.txt")
    (tmp_path / "fake.gguf").write_text("not really")
    assert "fake.gguf is not a GGUF file (it does not start with 'GGUF')" in _error(f"path:{tmp_path}/fake.gguf")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    assert "dangling does not exist" in _error(f"path:{tmp_path}/dangling")


def test_old_pytorch_weights_count_as_weights(tmp_path):
    model = fake_model(tmp_path / "old")
    (model / "model.safetensors").rename(model / "pytorch_model.bin")
    assert local_model.check_name(f"path:{model}").kind == "dir"


def _without_root_powers() -> list[str]:
    """A command prefix under which file permissions hold: none for a user, and for
    root (who reads everything) setpriv dropping the capabilities that let it."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: permissions cannot be made to hold")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_model_is_a_one_line_error(tmp_path):
    model = fake_model(tmp_path / "locked")
    os.chmod(model / "model.safetensors", 0)
    code = ("import sys\nfrom helpers.errors import UserError\nfrom helpers.llm import local_model\n"
            "try:\n    local_model.check_name('path:' + sys.argv[1])\nexcept UserError as e:\n    print(e)\n")
    done = subprocess.run([*_without_root_powers(), sys.executable, "-c", code, str(model)],
                          env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True)
    assert done.stdout.strip() == (f"local/path:{model}: cannot read {model}/model.safetensors (Permission denied); "
                                   "give the path of a transformers model directory or a .gguf file"), done.stderr


# -- the registry in models.toml ---------------------------------------------------------------

def test_a_registered_name_means_its_path_relative_to_models_toml(tmp_path, monkeypatch):
    home = home_with(tmp_path, monkeypatch,
                     '[local.tiny-chat]\npath = "weights/tiny"\nlicence = "MIT"\norigin = "made by a test"\n')
    model = fake_model(home / "weights" / "tiny")
    monkeypatch.chdir(tmp_path)  # not the folder of models.toml
    source = local_model.check_name("tiny-chat")
    assert (source.path, source.kind, source.origin) == (model, "dir", "made by a test")
    assert parse_model("local/tiny-chat").model == "tiny-chat"
    # The file is read again once it changes.
    (home / "models.toml").write_text('[local.tiny-chat]\npath = "elsewhere"\n')
    assert "elsewhere does not exist; fix `path` of [local.tiny-chat] in" in _error("tiny-chat")


def test_an_unknown_name_lists_what_there_is_and_how_to_add_one(tmp_path, monkeypatch):
    home_with(tmp_path, monkeypatch, '[local.mine]\npath = "/m"\n')
    assert _error("llama") == (
        "unknown local model 'llama'; available: local/smollm2-135m-instruct, local/mine, or "
        f"local/path:<model directory or .gguf file>; add a name as [local.llama] with a path in "
        f"{tmp_path}/home/models.toml")


@pytest.mark.parametrize("toml, message", [
    ('[local.x]\npath = "/m"\nlicense = "MIT"\n', "[local.x]: unknown key `license`; allowed keys are path, licence, origin"),
    ('[local.x]\nlicence = "MIT"\n', '[local.x]: no `path`; add path = "/dir/of/the/model" or "/file.gguf"'),
    ('[local.x]\npath = ""\n', "[local.x]: no `path`"),
    ('[local.x]\npath = 3\n', "[local.x]: `path` must be a string, got 3"),
    ('[local.smollm2-135m-instruct]\npath = "/m"\n', "smollm2-135m-instruct is built in; give your model another name"),
    ('[local."a b"]\npath = "/m"\n', "[local.a b]: the name must be letters, digits"),
    ('[local."a+b"]\npath = "/m"\n', "[local.a+b]: the name must be letters, digits"),
    ('local = 3\n', "`local` must be tables [local.NAME] with a `path`"),
    ('[local]\nx = "/m"\n', "[local.x]: expected a table with `path"),
])
def test_bad_registry_tables_are_one_line_errors_wherever_models_toml_is_read(tmp_path, monkeypatch, toml, message):
    path = home_with(tmp_path, monkeypatch, toml) / "models.toml"
    for read in (lambda: local_registry.registered(path), lambda: capabilities.load_rules(path),
                 lambda: parse_model("local/x")):
        with pytest.raises(ConfigError) as caught:
            read()
        assert message in str(caught.value) and str(path) in str(caught.value)
        assert "\n" not in str(caught.value)


def test_the_repositorys_models_toml_still_reads(repo):
    rules = capabilities.load_rules(repo / "models.toml")
    assert rules.patterns and local_registry.registered(repo / "models.toml") == {}


# -- identity: what the cache keys hold ---------------------------------------------------------

def test_the_shipped_models_identity_is_what_it_was_before(monkeypatch):
    # As on the branch's base: provider, name and the GGUF file's SHA-256, no dtype or device,
    # so every cache key of a default run is unchanged.
    monkeypatch.delenv("EXCEPTIONS_DEVICE", raising=False)
    monkeypatch.delenv("EXCEPTIONS_DTYPE", raising=False)
    gguf = local_model.gguf_path(local_model.DEFAULT_LOCAL)
    assert identity(parse_model("local/smollm2-135m-instruct")) == {
        "provider": "local", "model": "smollm2-135m-instruct",
        "weights": hashlib.sha256(gguf.read_bytes()).hexdigest()}


def test_a_directorys_identity_is_its_content_wherever_it_lies(tmp_path, monkeypatch):
    one = fake_model(tmp_path / "one")
    two = fake_model(tmp_path / "elsewhere" / "two")
    monkeypatch.chdir(tmp_path)
    first = identity(parse_model(f"local/path:{one}"))
    assert first == identity(parse_model("local/path:one")) == identity(parse_model(f"local/path:{two}"))
    assert first["model"] == "path" and len(first["weights"]) == 64
    # Unread files (a README) change nothing.
    (two / "README.md").write_text("# notes")
    assert identity(parse_model(f"local/path:{two}")) == first


@pytest.mark.parametrize("change", [
    lambda d: (d / "model.safetensors").write_bytes(b"v" * 64),  # other weights
    lambda d: (d / "chat_template.jinja").write_text("{{ other }}"),  # the prompt renders otherwise
    lambda d: (d / "tokenizer_config.json").write_text('{"bos_token": "<s>"}'),
    lambda d: (d / "generation_config.json").write_text('{"eos_token_id": 3}'),  # generate() stops elsewhere
    lambda d: (d / "config.json").write_text('{"model_type": "llama", "rope_theta": 1}'),
    lambda d: (d / "merges.txt").write_text("a b"),
    lambda d: (d / "model-00002-of-00002.safetensors").write_bytes(b"more"),
])
def test_what_changes_a_directory_models_answers_changes_its_identity(tmp_path, change):
    model = fake_model(tmp_path / "m")
    before = identity(parse_model(f"local/path:{model}"))
    change(model)
    os.utime(model, None)
    assert identity(parse_model(f"local/path:{model}"))["weights"] != before["weights"]


def test_a_directorys_weights_hash_lists_each_files_own_hash(tmp_path):
    model = fake_model(tmp_path / "m")
    files = local_model.identity_files(model)
    assert files == ["chat_template.jinja", "config.json", "generation_config.json", "model.safetensors",
                     "tokenizer.json", "tokenizer_config.json"]
    listing = {f: hashlib.sha256((model / f).read_bytes()).hexdigest() for f in files}
    blob = json.dumps(listing, sort_keys=True, separators=(",", ":")).encode()
    assert local_model.weights_sha256(f"path:{model}") == hashlib.sha256(blob).hexdigest()
    # .bin files are what transformers loads only when there are no safetensors.
    (model / "training_args.bin").write_bytes(b"x")
    assert "training_args.bin" not in local_model.identity_files(model)


def test_a_gguf_by_path_is_identified_by_the_files_sha256(tmp_path):
    gguf = local_model.gguf_path(local_model.DEFAULT_LOCAL)
    assert identity(parse_model(f"local/path:{gguf}")) == {
        "provider": "local", "model": "path", "weights": hashlib.sha256(gguf.read_bytes()).hexdigest()}
